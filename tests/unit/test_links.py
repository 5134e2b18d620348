"""Personal links and one-time codes as plain rules: random tokens kept as digests, expiry, windows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from relance.adapters.links import issue_link, link_record_from, portal_url
from relance.adapters.portal_access import email_index_items
from relance.domain.access import (
    CodeChallenge,
    LinkRecord,
    address_sha256,
    code_digest,
    code_matches,
    format_code,
    is_plausible_address,
    token_sha256,
    typed_code,
    window_start,
)
from relance.domain.parties import Debtor

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DEBTOR = Debtor(creditor_id="acme", debtor_id="siren-000144519", name="Boulangerie Dupont", link_version=3,
                emails=("Compta@Dupont.example.fr", "compta@dupont.example.fr ", "direction@dupont.example.fr"))


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_an_issued_link_is_a_random_token_and_the_item_keeps_only_its_digest():
    issued = issue_link(DEBTOR, NOW, "https://portal.example/")

    token = token_of(issued.url)
    assert issued.url == f"https://portal.example/d/{token}"
    assert len(token) == 43  # secrets.token_urlsafe(32)
    assert issued.item["PK"] == f"LINK#{token_sha256(token)}" and issued.item["SK"] == "LINK"
    assert token not in str(issued.item)


def test_an_issued_link_names_its_debtor_version_and_expiry():
    issued = issue_link(DEBTOR, NOW, "https://portal.example", max_age_days=7)

    record = link_record_from(issued.item)

    assert (record.creditor_id, record.debtor_id, record.link_version) == ("acme", "siren-000144519", 3)
    assert record.issued_at == NOW
    assert record.expires_at == NOW + timedelta(days=7)
    assert issued.item["expires_epoch"] == int((NOW + timedelta(days=7)).timestamp())


def test_links_default_to_thirty_days():
    record = link_record_from(issue_link(DEBTOR, NOW, "https://portal.example").item)

    assert record.expires_at - record.issued_at == timedelta(days=30)


def test_two_links_issued_at_the_same_instant_differ():
    first, second = (issue_link(DEBTOR, NOW, "https://portal.example") for _ in range(2))

    assert token_of(first.url) != token_of(second.url)
    assert first.item["PK"] != second.item["PK"]


@pytest.mark.parametrize(
    ("at", "current_version", "opens"),
    [
        (NOW, 3, True),
        (NOW + timedelta(days=30) - timedelta(seconds=1), 3, True),
        (NOW + timedelta(days=30), 3, False),  # expired
        (NOW, 4, False),  # revoked: finance raised the version
        (NOW, None, False),  # the debtor is gone
    ],
)
def test_a_link_opens_until_it_expires_and_while_its_version_holds(at, current_version, opens):
    record = LinkRecord("acme", "siren-000144519", 3, NOW, NOW + timedelta(days=30))

    assert record.opens_at(at, current_version) is opens


def test_portal_url_joins_base_and_token():
    assert portal_url("https://portal.example/", "abc") == "https://portal.example/d/abc"


def test_an_address_digest_ignores_case_and_spaces():
    assert address_sha256(" Compta@Dupont.example.FR ") == address_sha256("compta@dupont.example.fr")


def test_the_email_index_has_one_item_per_distinct_address_and_no_address():
    items = email_index_items(DEBTOR)

    assert len(items) == 2
    assert {item["SK"] for item in items} == {"acme#siren-000144519"}
    assert {item["PK"] for item in items} == {f"EMAIL#{address_sha256('compta@dupont.example.fr')}",
                                              f"EMAIL#{address_sha256('direction@dupont.example.fr')}"}
    assert "dupont" not in str(items).lower()


@pytest.mark.parametrize(
    ("text", "plausible"),
    [("compta@dupont.example.fr", True), (" Compta@Dupont.FR ", True), ("compta", False), ("@dupont.fr", False),
     ("compta@", False), ("compta@localhost", False), ("a b@dupont.fr", False), ("x" * 250 + "@d.fr", False)],
)
def test_only_text_shaped_like_an_address_is_looked_up(text, plausible):
    assert is_plausible_address(text) is plausible


# One-time codes


def challenge_for(code: str, challenge_id: str = "challenge-1") -> CodeChallenge:
    return CodeChallenge("acme", "siren-000144519", challenge_id, code_digest("secret", challenge_id, code),
                         sent_at=NOW, expires_at=NOW + timedelta(minutes=10))


@given(st.integers(min_value=0, max_value=999_999))
def test_a_code_is_always_six_digits_and_matches_only_itself(number):
    code = format_code(number)

    assert len(code) == 6 and code.isdigit()
    assert code_matches("secret", challenge_for(code), code)
    assert not code_matches("secret", challenge_for(code), format_code((number + 1) % 1_000_000))


def test_a_code_digest_depends_on_the_secret_and_the_challenge():
    assert code_digest("secret", "c1", "123456") != code_digest("other", "c1", "123456")
    assert code_digest("secret", "c1", "123456") != code_digest("secret", "c2", "123456")
    assert not code_matches("secret", challenge_for("123456", "c1"), "654321")


@pytest.mark.parametrize(
    ("text", "code"),
    [("123456", "123456"), (" 123 456 ", "123456"), ("123-456", "123456"), ("12345", None), ("1234567", None),
     ("12345a", None), ("١٢٣٤٥٦", None), ("", None)],
)
def test_a_typed_code_is_read_as_six_digits_or_refused(text, code):
    assert typed_code(text) == code


def test_a_code_cannot_be_guessed_once_expired_replaced_used_or_locked():
    fresh = challenge_for("123456")

    assert fresh.refusal("challenge-1", NOW) is None
    assert fresh.refusal("challenge-1", NOW + timedelta(minutes=10)).reason == "expired"
    assert fresh.refusal("another", NOW).reason == "expired"
    assert dataclasses.replace(fresh, used_at=NOW).refusal("challenge-1", NOW).reason == "expired"
    locked = dataclasses.replace(fresh, attempts=5)
    assert locked.refusal("challenge-1", NOW).reason == "locked"
    assert locked.attempts_left() == 0


# Windows of the request limits


@given(st.datetimes(min_value=datetime(2020, 1, 1), max_value=datetime(2040, 1, 1), timezones=st.just(UTC)))
def test_an_instant_falls_in_the_hour_window_that_starts_on_the_hour(at):
    start = window_start(at)

    assert start <= at < start + timedelta(hours=1)
    assert (start.minute, start.second, start.microsecond) == (0, 0, 0)


# The code mail


@pytest.mark.parametrize(("language", "subject", "words"), [
    ("fr", "Votre code de confirmation — Atelier Lumière SAS", "Il est valable 10 minutes"),
    ("en", "Your confirmation code — Atelier Lumière SAS", "It works for 10 minutes"),
])
def test_the_code_mail_gives_the_code_in_the_debtors_language(language, subject, words):
    from relance.adapters.mail_templates import render_code
    from relance.domain.parties import Creditor
    from relance.services.portal_access import CodeMail

    creditor = Creditor(creditor_id="acme", legal_name="Atelier Lumière SAS")
    debtor = dataclasses.replace(DEBTOR, language=language)

    rendered = render_code(CodeMail(creditor, debtor, debtor.emails, "042917", 10))

    assert rendered.subject == subject
    assert "\n042917\n" in rendered.text
    assert words in rendered.text
    assert "042917" in rendered.html and "042917" not in rendered.subject
    assert "http" not in rendered.text
