""""Send me a new link": by e-mail address, with one neutral answer whatever happened."""

from __future__ import annotations

import dataclasses

import pytest
from tests.portal.portal_world import CREDITOR, DEBTOR_A, DEBTOR_B, TEST_CONFIG, World, csrf_token_in, page_of

from relance.domain.parties import Creditor
from relance_portal import create_app

NEUTRAL_ANSWER_EN = "If this address is on file, a new personal link has been sent to it."


def the_form(client) -> str:
    response = client.get("/d/new-link?lang=en")
    assert response.status_code == 200
    return page_of(response)


def ask(client, address: str, form: str | None = None, **kwargs):
    form = form or the_form(client)
    return client.post("/d/new-link", data={"csrf_token": csrf_token_in(form), "email": address}, **kwargs)


def test_the_form_asks_for_an_address_with_a_label(client):
    form = the_form(client)

    assert '<label for="email">E-mail address</label>' in form
    assert 'type="email" autocomplete="email"' in form
    assert 'name="csrf_token"' in form


def test_a_known_address_gets_exactly_one_mail_with_a_working_link(client, world, app):
    response = ask(client, DEBTOR_A.emails[0], follow_redirects=True)

    assert response.status_code == 200
    assert NEUTRAL_ANSWER_EN in page_of(response)
    [mail] = world.mailer.links
    assert mail.recipients == DEBTOR_A.emails
    assert mail.debtor.debtor_id == "debtor-a"
    fresh = mail.portal_link.removeprefix("https://portal.example")
    opened = app.test_client().get(fresh, follow_redirects=True)
    assert "Boulangerie Dupont" in page_of(opened)


def test_the_address_is_matched_whatever_its_case_and_spaces(client, world):
    ask(client, "  " + DEBTOR_A.emails[0].upper() + " ")

    assert [mail.recipients for mail in world.mailer.links] == [DEBTOR_A.emails]


def test_the_link_goes_to_the_address_on_record_not_to_the_text_typed(client, world):
    ask(client, DEBTOR_A.emails[0].upper())

    assert world.mailer.links[0].recipients == ("compta@boulangerie-dupont.example.fr",)


def test_an_address_shared_by_debtors_of_two_creditors_mails_each_of_them(sent_to_both):
    world, client = sent_to_both

    ask(client, "shared@example.fr")

    assert sorted((m.creditor.creditor_id, m.debtor.debtor_id) for m in world.mailer.links) == [
        ("cred-atelier", "debtor-a"),
        ("cred-other", "debtor-z"),
    ]


@pytest.fixture
def sent_to_both():
    shared_a = dataclasses.replace(DEBTOR_A, emails=("shared@example.fr",))
    other = dataclasses.replace(DEBTOR_B, creditor_id="cred-other", debtor_id="debtor-z",
                                emails=("Shared@Example.fr",))
    world = World(debtors=(shared_a, other),
                  creditors=(CREDITOR, Creditor(creditor_id="cred-other", legal_name="Autre SAS")))
    return world, create_app(TEST_CONFIG, world.services()).test_client()


def test_known_unknown_and_throttled_addresses_get_identical_answers(world, app):
    answers = {}
    for kind, address in (("known", DEBTOR_A.emails[0]), ("unknown", "nobody@example.org")):
        client = app.test_client()
        answers[kind] = ask(client, address)
    throttled = app.test_client()
    for _ in range(3):
        ask(throttled, DEBTOR_B.emails[0])
    answers["throttled"] = ask(throttled, DEBTOR_B.emails[0])

    assert {kind: a.status_code for kind, a in answers.items()} == dict.fromkeys(answers, 303)
    assert {a.headers["Location"] for a in answers.values()} == {"/d/new-link/sent"}
    assert len({a.get_data() for a in answers.values()}) == 1
    assert all("Set-Cookie" not in a.headers for a in answers.values())
    assert [m.debtor.debtor_id for m in world.mailer.links] == ["debtor-a", "debtor-b", "debtor-b", "debtor-b"]


def test_the_fourth_request_for_an_address_in_an_hour_sends_nothing(client, world):
    form = the_form(client)
    for _ in range(3):
        ask(client, DEBTOR_A.emails[0], form)

    ask(client, DEBTOR_A.emails[0], form)

    assert len(world.mailer.links) == 3


def test_an_address_can_ask_again_the_next_hour(client, world):
    form = the_form(client)
    for _ in range(4):
        ask(client, DEBTOR_A.emails[0], form)
    world.clock.advance(hours=1)

    ask(client, DEBTOR_A.emails[0], form)

    assert len(world.mailer.links) == 4


def test_a_client_address_gets_twenty_requests_an_hour(client, world):
    form = the_form(client)
    for number in range(20):
        ask(client, f"someone-{number}@example.org", form)

    ask(client, DEBTOR_A.emails[0], form)

    assert world.mailer.links == []


def test_requests_from_other_client_addresses_are_counted_apart(app, world):
    form_client = app.test_client()
    form = the_form(form_client)
    for number in range(20):
        ask(form_client, f"someone-{number}@example.org", form, environ_base={"REMOTE_ADDR": "203.0.113.7"})

    ask(form_client, DEBTOR_A.emails[0], form, environ_base={"REMOTE_ADDR": "198.51.100.2"})

    assert len(world.mailer.links) == 1


def test_the_counters_hold_no_address_ip_or_e_mail(client, world):
    ask(client, DEBTOR_A.emails[0])

    held = str(world.access.counters)

    assert DEBTOR_A.emails[0] not in held
    assert "127.0.0.1" not in held


def test_a_revoked_debtor_still_gets_a_fresh_link_with_the_new_version(client, world, app):
    world.revoke(DEBTOR_A)

    ask(client, DEBTOR_A.emails[0])

    [mail] = world.mailer.links
    opened = app.test_client().get(mail.portal_link.removeprefix("https://portal.example"))
    assert opened.status_code == 303


def test_an_address_that_bounced_gets_nothing(world):
    bounced = dataclasses.replace(DEBTOR_A, undeliverable=DEBTOR_A.emails)
    world = World(debtors=(bounced, DEBTOR_B))
    client = create_app(TEST_CONFIG, world.services()).test_client()

    response = ask(client, DEBTOR_A.emails[0])

    assert response.status_code == 303
    assert world.mailer.links == []


def test_something_that_is_not_an_address_is_pointed_out_on_the_field(client, world):
    response = ask(client, "not an address")

    assert response.status_code == 400
    html = page_of(response)
    assert 'aria-invalid="true" aria-describedby="email-error"' in html
    assert 'id="email-error"' in html
    assert world.mailer.links == []


def test_the_form_without_a_csrf_token_is_refused_and_sends_nothing(client, world):
    response = client.post("/d/new-link", data={"email": DEBTOR_A.emails[0]})

    assert response.status_code == 400
    assert "Ce formulaire n’a pas pu être vérifié" in page_of(response)
    assert world.mailer.links == []


def test_the_form_works_over_https_without_a_referer(client, world):
    # Every page sends Referrer-Policy: no-referrer, so browsers post this form without a Referer.
    form = page_of(client.get("/d/new-link", base_url="https://portal.example"))

    response = client.post("/d/new-link", data={"csrf_token": csrf_token_in(form), "email": DEBTOR_A.emails[0]},
                           base_url="https://portal.example")

    assert response.status_code == 303
    assert len(world.mailer.links) == 1


def test_no_address_or_link_in_the_logs(client, world, caplog):
    caplog.set_level("INFO")

    ask(client, DEBTOR_A.emails[0])
    ask(client, "nobody@example.org")

    link = world.mailer.links[0].portal_link
    assert DEBTOR_A.emails[0] not in caplog.text
    assert "nobody@example.org" not in caplog.text
    assert link not in caplog.text and link.rsplit("/", 1)[1] not in caplog.text
    assert all(DEBTOR_A.emails[0] not in str(record.__dict__) for record in caplog.records)
