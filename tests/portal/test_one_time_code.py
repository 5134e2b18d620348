"""Before a change, the debtor types a 6-digit code mailed to the addresses on record."""

from __future__ import annotations

import re

import pytest
from flask import Blueprint
from tests.portal.portal_world import DEBTOR_A, DEBTOR_B, TEST_CONFIG, World, csrf_token_in, page_of

from relance.domain.parties import Debtor
from relance_portal import create_app
from relance_portal.access import code_required

probe = Blueprint("probe", __name__)


@probe.route("/account/change", methods=["GET", "POST"])
@code_required
def change():
    return "changed"


@pytest.fixture
def app(world):
    app = create_app(TEST_CONFIG, world.services())
    app.register_blueprint(probe)
    return app


def ask_for_a_code(client, next_path: str = "/account/change") -> str:
    """Open the code page (which mails the code); its HTML."""
    response = client.get(f"/account/verify?next={next_path}")
    assert response.status_code == 200
    return page_of(response)


def type_code(client, page: str, code: str, next_path: str = "/account/change"):
    return client.post("/account/verify", data={"csrf_token": csrf_token_in(page), "next": next_path,
                                                "code": code, "action": "check"})


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


def test_the_code_goes_to_the_addresses_on_record_in_the_debtors_language(signed_in, world):
    ask_for_a_code(signed_in)

    [mail] = world.mailer.codes
    assert mail.recipients == DEBTOR_A.emails
    assert mail.language == "fr"
    assert re.fullmatch(r"\d{6}", mail.code)
    assert mail.minutes_valid == 10


def test_the_code_form_is_labelled_and_fillable_by_the_phone(signed_in):
    page = ask_for_a_code(signed_in)

    assert '<label for="code">Code reçu par courriel</label>' in page
    assert 'autocomplete="one-time-code"' in page
    assert 'inputmode="numeric"' in page
    assert 'aria-describedby="code-hint"' in page
    assert "Nous vous avons envoyé un code. Il est valable 10 minutes." in page


def test_the_right_code_passes_and_goes_on_to_the_next_page(signed_in, world):
    page = ask_for_a_code(signed_in)

    response = type_code(signed_in, page, world.mailer.codes[-1].code)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account/change"
    assert signed_in.get("/account/change").get_data(as_text=True) == "changed"


def test_a_code_is_asked_for_only_once_per_session(signed_in, world):
    page = ask_for_a_code(signed_in)
    type_code(signed_in, page, world.mailer.codes[-1].code)

    response = signed_in.post("/account/change", data={"csrf_token": csrf_token_in(page)})

    assert response.get_data(as_text=True) == "changed"
    assert len(world.mailer.codes) == 1


def test_a_new_link_starts_a_session_that_needs_a_code_again(signed_in, world):
    page = ask_for_a_code(signed_in)
    type_code(signed_in, page, world.mailer.codes[-1].code)

    signed_in.get(world.link_for(DEBTOR_A))

    assert signed_in.get("/account/change").status_code == 303


@pytest.mark.parametrize(
    "next_path", ["//evil.example", "https://evil.example", "/\\evil.example", "/d/new-link"]
)
def test_an_open_redirect_attempt_lands_on_the_account(signed_in, world, next_path):
    page = ask_for_a_code(signed_in, next_path)

    response = type_code(signed_in, page, world.mailer.codes[-1].code, next_path)

    assert response.status_code == 303
    assert response.headers["Location"] == "/account"


def test_a_wrong_code_is_refused_and_says_how_many_tries_are_left(signed_in, world):
    page = ask_for_a_code(signed_in)

    response = type_code(signed_in, page, wrong(world.mailer.codes[-1].code))

    assert response.status_code == 400
    html = page_of(response)
    assert "Ce n’est pas le code que nous avons envoyé. Il vous reste 4 essais." in html
    assert 'aria-describedby="code-hint code-error"' in html
    assert 'aria-invalid="true"' in html
    assert signed_in.get("/account/change").status_code == 303


def test_five_wrong_codes_lock_the_code_even_against_the_right_one(signed_in, world):
    page = ask_for_a_code(signed_in)
    code = world.mailer.codes[-1].code
    for _ in range(5):
        type_code(signed_in, page, wrong(code))

    response = type_code(signed_in, page, code)

    assert response.status_code == 400
    assert "Ce code a été mal saisi trop de fois" in page_of(response)
    assert signed_in.get("/account/change").status_code == 303


def test_the_fifth_wrong_code_already_says_the_code_is_locked(signed_in, world):
    page = ask_for_a_code(signed_in)
    code = world.mailer.codes[-1].code
    for _ in range(4):
        type_code(signed_in, page, wrong(code))

    response = type_code(signed_in, page, wrong(code))

    assert "Ce code a été mal saisi trop de fois" in page_of(response)


def test_an_expired_code_is_refused(signed_in, world):
    page = ask_for_a_code(signed_in)
    world.clock.advance(minutes=10)

    response = type_code(signed_in, page, world.mailer.codes[-1].code)

    assert response.status_code == 400
    assert "Ce code a expiré ou a été remplacé par un code plus récent" in page_of(response)


def test_a_code_works_once(signed_in, world, app):
    page = ask_for_a_code(signed_in)
    code = world.mailer.codes[-1].code
    with signed_in.session_transaction() as session:
        challenge = session["code_challenge"]
    type_code(signed_in, page, code)
    replay = app.test_client()
    replay.get(world.link_for(DEBTOR_A))
    with replay.session_transaction() as session:
        session["code_challenge"] = challenge  # the same code, typed again in another session

    response = type_code(replay, page_of(replay.get("/account/verify")), code)

    assert response.status_code == 400
    assert replay.get("/account/change").status_code == 303


def test_a_mistyped_code_costs_no_attempt(signed_in, world):
    page = ask_for_a_code(signed_in)

    response = type_code(signed_in, page, "12a")

    assert response.status_code == 400
    assert "Saisissez les 6 chiffres du code reçu par courriel." in page_of(response)
    assert world.access.find_code("cred-atelier", "debtor-a").attempts == 0


def test_spaces_in_a_typed_code_are_ignored(signed_in, world):
    page = ask_for_a_code(signed_in)
    code = world.mailer.codes[-1].code

    response = type_code(signed_in, page, f" {code[:3]} {code[3:]} ")

    assert response.status_code == 303


def test_a_new_code_at_most_once_a_minute(signed_in, world):
    page = ask_for_a_code(signed_in)

    again = signed_in.post("/account/verify", data={"csrf_token": csrf_token_in(page), "action": "resend"})
    world.clock.advance(seconds=61)
    later = signed_in.post("/account/verify", data={"csrf_token": csrf_token_in(page), "action": "resend"})

    assert "Un code a été envoyé il y a moins d’une minute" in page_of(again)
    assert len(world.mailer.codes) == 2
    assert "Nous vous avons envoyé un code" in page_of(later)


def test_a_new_code_replaces_the_previous_one(signed_in, world):
    page = ask_for_a_code(signed_in)
    first = world.mailer.codes[-1].code
    world.clock.advance(seconds=61)
    signed_in.post("/account/verify", data={"csrf_token": csrf_token_in(page), "action": "resend"})
    second = world.mailer.codes[-1].code

    refused = type_code(signed_in, page, first) if first != second else None
    accepted = type_code(signed_in, page, second)

    assert refused is None or refused.status_code == 400
    assert accepted.status_code == 303


def test_at_most_five_codes_an_hour(signed_in, world):
    page = ask_for_a_code(signed_in)
    for _ in range(5):
        world.clock.advance(seconds=61)
        signed_in.post("/account/verify", data={"csrf_token": csrf_token_in(page), "action": "resend"})

    assert len(world.mailer.codes) == 5


def test_a_debtor_without_an_address_is_told_to_contact_the_creditor(world):
    silent = Debtor(creditor_id="cred-atelier", debtor_id="debtor-c", name="Sans Courriel SARL")
    world = World(debtors=(DEBTOR_A, silent))
    client = create_app(TEST_CONFIG, world.services()).test_client()
    client.get(world.link_for(silent))

    page = page_of(client.get("/account/verify"))

    assert "Nous n’avons aucune adresse électronique enregistrée pour vous" in page
    assert world.mailer.codes == []


def test_a_code_of_one_debtor_does_not_open_another(app, world):
    a_client, b_client = app.test_client(), app.test_client()
    a_client.get(world.link_for(DEBTOR_A))
    b_client.get(world.link_for(DEBTOR_B))
    ask_for_a_code(a_client)
    b_page = ask_for_a_code(b_client)
    a_code = world.mailer.codes[0].code
    b_code = world.mailer.codes[1].code

    response = type_code(b_client, b_page, a_code)

    assert response.status_code == (303 if a_code == b_code else 400)


def test_the_code_form_without_a_csrf_token_is_refused(signed_in, world):
    ask_for_a_code(signed_in)

    response = signed_in.post("/account/verify", data={"code": world.mailer.codes[-1].code, "action": "check"})

    assert response.status_code == 400
    assert "Ce formulaire n’a pas pu être vérifié" in page_of(response)
    assert signed_in.get("/account/change").status_code == 303


def test_no_code_in_the_logs(signed_in, world, caplog):
    caplog.set_level("INFO")
    page = ask_for_a_code(signed_in)
    code = world.mailer.codes[-1].code

    type_code(signed_in, page, wrong(code))
    type_code(signed_in, page, code)

    assert code not in caplog.text
    assert all(code not in str(record.__dict__) for record in caplog.records)
    assert DEBTOR_A.emails[0] not in caplog.text
    assert {r.getMessage() for r in caplog.records} >= {"Portal code asked", "Portal code refused",
                                                        "Portal code accepted"}
