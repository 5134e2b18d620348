"""A personal link opens a session and leaves the address bar; refused links all look the same."""

from __future__ import annotations

import dataclasses

import pytest
from flask import Blueprint
from tests.portal.portal_world import DEBTOR_A, DEBTOR_B, TEST_CONFIG, World, page_of, token_of

from relance_portal import create_app
from relance_portal.access import code_required, current_ref, debtor_session, safe_next

NOT_VALID_FR = "Ce lien n’est pas valide"
probe = Blueprint("probe", __name__)


@probe.get("/account/whoami")
@debtor_session
def whoami():
    ref = current_ref()
    return f"{ref.creditor_id}/{ref.debtor_id}/{ref.link_version}"


@probe.route("/account/change", methods=["GET", "POST"])
@code_required
def change():
    return "changed"


@pytest.fixture
def app(world):
    app = create_app(TEST_CONFIG, world.services())
    app.register_blueprint(probe)
    return app


# Opening a link


def test_opening_a_link_lands_on_the_account_without_the_token_in_the_address(client, world):
    link = world.link_for(DEBTOR_A)

    response = client.get(link)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"
    assert token_of(link) not in response.headers["Location"]
    landed = client.get(response.headers["Location"])
    assert landed.status_code == 200
    assert "Boulangerie Dupont" in page_of(landed)


def test_a_link_keeps_working_until_it_expires(client, world):
    link = world.link_for(DEBTOR_A, days_ago=29)

    assert client.get(link).status_code == 303
    assert client.get(link).status_code == 303


def test_opening_a_link_is_audited_with_ids_and_a_digest_prefix_only(client, world):
    link = world.link_for(DEBTOR_A)

    client.get(link)

    [event] = world.access.audit
    assert event["action"] == "portal_opened"
    assert (event["creditor_id"], event["debtor_id"]) == ("cred-atelier", "debtor-a")
    assert len(event["link"]) == 12 and token_of(link) not in str(event)


def test_the_token_itself_is_never_stored(client, world):
    link = world.link_for(DEBTOR_A)

    stored = str(world.access.links)

    assert token_of(link) not in stored
    assert all(len(digest) == 64 for digest in world.access.links)


def test_opening_a_link_starts_a_fresh_session(client, world):
    client.get(world.link_for(DEBTOR_B))
    with client.session_transaction() as session:
        session["code_verified_at"] = "2026-11-23T09:00:00+00:00"  # B had passed a code

    client.get(world.link_for(DEBTOR_A))

    with client.session_transaction() as session:
        assert session["debtor"]["debtor_id"] == "debtor-a"
        assert "code_verified_at" not in session
        assert session.permanent


def test_a_session_ends_thirty_minutes_after_the_last_request(app):
    assert app.permanent_session_lifetime.total_seconds() == 30 * 60


# Links that do not open the account: one page, one status, the same bytes


def refused_links(world: World) -> dict[str, str]:
    revoked = world.link_for(DEBTOR_B)
    world.revoke(DEBTOR_B)
    return {
        "unknown": "/d/" + "x" * 43,
        "expired": world.link_for(DEBTOR_A, days_ago=31),
        "revoked": revoked,
        "another_creditor": world.link_for(dataclasses.replace(DEBTOR_A, creditor_id="cred-other")),
    }


def test_unknown_expired_and_revoked_links_get_byte_identical_answers(client, world):
    links = refused_links(world)

    answers = {kind: client.get(link) for kind, link in links.items()}

    statuses = {kind: answer.status_code for kind, answer in answers.items()}
    bodies = {answer.get_data() for answer in answers.values()}
    headers = {tuple(sorted(answer.headers.items())) for answer in answers.values()}
    assert set(statuses.values()) == {404}, statuses
    assert len(bodies) == 1
    assert len(headers) == 1
    assert NOT_VALID_FR in page_of(answers["expired"])


def test_the_not_valid_page_offers_a_new_link_and_shows_no_account(client, world):
    response = client.get(world.link_for(DEBTOR_A, days_ago=31))

    assert 'href="/d/new-link"' in page_of(response)
    assert "Utilisez le lien du dernier courriel que vous avez reçu" in page_of(response)
    assert "FA-2026-0101" not in page_of(response)


def test_a_refused_link_does_not_open_a_session(client, world):
    client.get(world.link_for(DEBTOR_A, days_ago=31))

    response = client.get("/account")

    assert response.status_code == 404
    assert NOT_VALID_FR in page_of(response)


def test_a_link_expires_after_the_days_it_was_issued_for(client, world):
    short_lived = world.link_for(DEBTOR_A, days_ago=8, max_age_days=7)
    default = world.link_for(DEBTOR_A, days_ago=8)

    assert client.get(short_lived).status_code == 404
    assert client.get(default).status_code == 303


# The session decides who the debtor is


def test_the_account_without_a_session_gets_the_not_valid_page(client):
    response = client.get("/account")

    assert response.status_code == 404
    assert NOT_VALID_FR in page_of(response)


def test_debtor_a_session_cannot_read_debtor_b(signed_in):
    for attempt in ("/account?debtor_id=debtor-b", "/account?debtor=debtor-b&creditor=cred-atelier",
                    "/account/whoami?debtor_id=debtor-b"):
        page = page_of(signed_in.get(attempt))

        assert "Bramble" not in page
        assert "FB-2026-0777" not in page
    assert page_of(signed_in.get("/account/whoami?debtor_id=debtor-b")) == "cred-atelier/debtor-a/1"


def test_a_tampered_session_cookie_is_refused(client, world):
    client.get(world.link_for(DEBTOR_A))
    cookie = client.get_cookie("session")
    client.set_cookie("session", cookie.value[:-2] + ("AA" if not cookie.value.endswith("AA") else "BB"))

    response = client.get("/account")

    assert response.status_code == 404


def test_after_revocation_an_open_session_is_refused_on_its_next_request(signed_in, world):
    assert signed_in.get("/account").status_code == 200

    world.revoke(DEBTOR_A)

    response = signed_in.get("/account")
    assert response.status_code == 404
    assert NOT_VALID_FR in page_of(response)
    assert signed_in.get("/account/whoami").status_code == 404


def test_a_new_link_after_revocation_opens_the_account_again(client, world):
    world.revoke(DEBTOR_A)

    response = client.get(world.link_for(DEBTOR_A), follow_redirects=True)

    assert response.status_code == 200
    assert "Boulangerie Dupont" in page_of(response)


# Changes need a one-time code first


def test_a_change_asks_for_the_code_first_and_comes_back_after(signed_in):
    response = signed_in.get("/account/change?step=2")

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/verify?next=/account/change?step%3D2"


def test_a_change_without_a_session_gets_the_not_valid_page(client):
    assert client.get("/account/change").status_code == 404


@pytest.mark.parametrize(
    ("target", "safe"),
    [
        ("/account/dispute", "/account/dispute"),
        ("/account/plan?invoice=FA-1", "/account/plan?invoice=FA-1"),
        ("/account", "/account"),
        ("//evil.example", "/account"),
        ("//evil.example/account", "/account"),
        ("https://evil.example", "/account"),
        ("https://evil.example/account", "/account"),
        ("/\\evil.example", "/account"),
        ("\\\\evil.example", "/account"),
        ("/account\r\nLocation: https://evil.example", "/account"),
        ("javascript:alert(1)", "/account"),
        ("/d/new-link", "/account"),
        ("/accountant", "/account"),
        ("", "/account"),
        (None, "/account"),
    ],
)
def test_after_the_code_only_a_path_of_the_account_can_be_the_next_page(target, safe):
    assert safe_next(target) == safe
