"""What a debtor sees through their personal link, in French and English, and what they never see."""

from __future__ import annotations

import dataclasses
import re

import pytest
from tests.portal.portal_world import (
    DEBTOR_A,
    DEBTOR_B,
    INVOICES_OF_A,
    INVOICES_OF_B,
    TEST_CONFIG,
    build_services,
    link_for,
    ref_of,
)

from relance_portal import create_app

NOT_VALID_FR = "Ce lien n’est pas valide"
USE_LATEST_EMAIL_FR = "Utilisez le lien du dernier courriel que vous avez reçu"
NEUTRAL_ANSWER_EN = "If this link was yours, a new one has been sent to the address we have on file."


def page_of(response) -> str:
    return response.get_data(as_text=True)


def csrf_token_in(html: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


def token_of(link: str) -> str:
    return link.removeprefix("/d/")


def tampered(link: str) -> str:
    token = token_of(link)
    middle = len(token) // 2
    replacement = "A" if token[middle] != "A" else "B"
    return "/d/" + token[:middle] + replacement + token[middle + 1 :]


# Money, dates and statuses in the reader's language


def test_balance_is_written_the_french_way_for_a_french_debtor(client):
    response = client.get(link_for(DEBTOR_A))

    assert response.status_code == 200
    assert "12\u202f345,67\u00a0€" in page_of(
        response
    )  # Babel's fr_FR: narrow no-break space, then no-break space
    assert "10\u202f000,00\u00a0€" in page_of(response)


def test_balance_is_written_the_english_way_with_lang_en(client):
    response = client.get(link_for(DEBTOR_A) + "?lang=en")

    assert response.status_code == 200
    assert "€12,345.67" in page_of(response)
    assert "€10,000.00" in page_of(response)
    assert "12\u202f345,67\u00a0€" not in page_of(response)


def test_each_currency_is_totalled_on_its_own(client):
    response = client.get(link_for(DEBTOR_A) + "?lang=en")

    assert "£1,200.50" in page_of(response)
    assert "€13,546.17" not in page_of(response)  # EUR and GBP are never added together


def test_dates_are_written_in_the_reader_language(client):
    french = page_of(client.get(link_for(DEBTOR_A) + "?lang=fr"))
    english = page_of(client.get(link_for(DEBTOR_A) + "?lang=en"))

    assert "1 oct. 2026" in french
    assert "1 Oct 2026" in english


@pytest.mark.parametrize(
    ("lang", "late_one_day", "late_many_days", "not_due"),
    [
        ("fr", "En retard de 1 jour", "En retard de 53 jours", "Pas encore échue"),
        ("en", "Overdue by 1 day", "Overdue by 53 days", "Not yet due"),
    ],
)
def test_invoice_status_says_how_many_days_late_with_the_right_plural(
    client, lang, late_one_day, late_many_days, not_due
):
    html = page_of(client.get(link_for(DEBTOR_A) + f"?lang={lang}"))

    assert late_one_day in html
    assert late_many_days in html
    assert not_due in html


def test_settled_invoices_are_not_listed(client):
    html = page_of(client.get(link_for(DEBTOR_A)))

    assert "FA-2026-0099" not in html
    assert "FA-2026-0101" in html


def test_page_names_the_creditor_and_how_to_reach_them(client):
    html = page_of(client.get(link_for(DEBTOR_A)))

    assert "<h1>Votre compte chez Atelier Lumière SAS</h1>" in html
    assert 'href="mailto:compta@atelier-lumiere.example"' in html
    assert 'href="tel:+33123456789"' in html


def test_invoice_table_has_a_caption_and_scoped_headers(client):
    html = page_of(client.get(link_for(DEBTOR_A) + "?lang=en"))

    assert '<caption id="invoices-caption">Invoices still to be paid, oldest due date first</caption>' in html
    assert '<th scope="col" class="amount">Amount due</th>' in html
    assert '<th scope="row">FA-2026-0101</th>' in html


# Which language a page is shown in


def test_debtor_recorded_language_beats_the_browser_language(client):
    response = client.get(link_for(DEBTOR_B), headers={"Accept-Language": "fr-FR,fr;q=0.9"})

    assert '<html lang="en">' in page_of(response)
    assert "€999.99" in page_of(response)


def test_lang_parameter_beats_the_debtor_recorded_language(client):
    response = client.get(link_for(DEBTOR_B) + "?lang=fr")

    assert '<html lang="fr">' in page_of(response)
    assert "999,99\u00a0€" in page_of(response)


def test_chosen_language_is_kept_for_the_next_pages(client):
    client.get(link_for(DEBTOR_A) + "?lang=en")

    response = client.get(link_for(DEBTOR_A))

    assert '<html lang="en">' in page_of(response)


def test_browser_language_decides_when_no_debtor_is_known(client):
    response = client.get(tampered(link_for(DEBTOR_A)), headers={"Accept-Language": "en-GB,en;q=0.8"})

    assert '<html lang="en">' in page_of(response)
    assert "This link is not valid" in page_of(response)


def test_french_is_the_default_language(client):
    response = client.get(tampered(link_for(DEBTOR_B)), headers={"Accept-Language": "de-DE"})

    assert '<html lang="fr">' in page_of(response)
    assert NOT_VALID_FR in page_of(response)


def test_language_switch_links_both_languages_and_marks_the_current_one(client):
    html = page_of(client.get(link_for(DEBTOR_A) + "?lang=en"))

    assert '<a href="?lang=fr" lang="fr" hreflang="fr">Français</a>' in html
    assert '<a href="?lang=en" lang="en" hreflang="en" aria-current="true">English</a>' in html


# One debtor never sees another's account


@pytest.mark.parametrize(
    ("viewer", "other", "other_invoices"),
    [(DEBTOR_A, DEBTOR_B, INVOICES_OF_B), (DEBTOR_B, DEBTOR_A, INVOICES_OF_A)],
    ids=["A_never_sees_B", "B_never_sees_A"],
)
def test_a_link_shows_nothing_of_another_debtor(client, viewer, other, other_invoices):
    html = page_of(client.get(link_for(viewer)))

    assert viewer.name.replace("&", "&amp;") in html
    assert other.name not in html and other.name.replace("&", "&amp;") not in html
    for invoice in other_invoices:
        assert invoice.number not in html


def test_a_link_for_a_debtor_of_another_creditor_is_not_valid(client):
    stranger = dataclasses.replace(DEBTOR_A, creditor_id="cred-other")

    response = client.get(link_for(stranger))

    assert response.status_code == 404
    assert NOT_VALID_FR in page_of(response)


# Links that do not open the account


def test_tampered_link_shows_the_not_valid_page(client):
    response = client.get(tampered(link_for(DEBTOR_A)))

    assert response.status_code == 404
    assert NOT_VALID_FR in page_of(response)
    assert USE_LATEST_EMAIL_FR in page_of(response)
    assert "FA-2026-0101" not in page_of(response)


def test_revoked_link_shows_the_not_valid_page(sent_links):
    revoked_a = dataclasses.replace(
        DEBTOR_A, link_version=DEBTOR_A.link_version + 1
    )  # finance revoked A's links
    client = create_app(TEST_CONFIG, build_services(sent_links, debtors=(revoked_a, DEBTOR_B))).test_client()

    response = client.get(link_for(DEBTOR_A))

    assert response.status_code == 404
    assert NOT_VALID_FR in page_of(response)
    assert USE_LATEST_EMAIL_FR in page_of(response)


def test_expired_link_explains_itself_and_offers_a_new_one(client):
    response = client.get(link_for(DEBTOR_A, days_ago=31))

    assert response.status_code == 410
    assert "<h1>Ce lien a expiré</h1>" in page_of(response)
    assert '<button type="submit">M’envoyer un nouveau lien</button>' in page_of(response)
    assert 'name="csrf_token"' in page_of(response)
    assert "FA-2026-0101" not in page_of(response)


def test_links_expire_after_the_configured_number_of_days(sent_links):
    short_lived = create_app(
        {**TEST_CONFIG, "LINK_MAX_AGE_DAYS": 7}, build_services(sent_links)
    ).test_client()
    default = create_app(TEST_CONFIG, build_services(sent_links)).test_client()
    ten_days_old = link_for(DEBTOR_A, days_ago=10)

    assert short_lived.get(ten_days_old).status_code == 410
    assert default.get(ten_days_old).status_code == 200


def test_link_max_age_can_come_from_the_environment(monkeypatch, sent_links):
    monkeypatch.setenv("RELANCE_LINK_MAX_AGE_DAYS", "7")

    client = create_app(TEST_CONFIG, build_services(sent_links)).test_client()

    assert client.get(link_for(DEBTOR_A, days_ago=10)).status_code == 410


# Asking for a fresh link


def test_new_link_request_without_csrf_token_is_refused_and_sends_nothing(client, sent_links):
    expired = link_for(DEBTOR_A, days_ago=31)

    response = client.post("/d/new-link", data={"token": token_of(expired)})

    assert response.status_code == 400
    assert "Ce formulaire n’a pas pu être vérifié" in page_of(response)
    assert sent_links.refs == []


def test_new_link_request_mails_the_debtor_named_by_the_expired_link(client, sent_links):
    expired = link_for(DEBTOR_A, days_ago=31)
    form_page = page_of(client.get(expired + "?lang=en"))

    response = client.post(
        "/d/new-link",
        data={"csrf_token": csrf_token_in(form_page), "token": token_of(expired)},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert sent_links.refs == [ref_of(DEBTOR_A)]
    assert NEUTRAL_ANSWER_EN in page_of(response)


def test_new_link_request_redirects_so_a_reload_does_not_send_twice(client, sent_links):
    expired = link_for(DEBTOR_A, days_ago=31)
    form_page = page_of(client.get(expired))

    response = client.post(
        "/d/new-link", data={"csrf_token": csrf_token_in(form_page), "token": token_of(expired)}
    )

    assert response.status_code == 303
    assert response.headers["Location"] == "/d/new-link/sent"


@pytest.mark.parametrize("kind", ["forged", "revoked"])
def test_new_link_answer_is_the_same_when_nothing_is_sent(sent_links, kind):
    debtors = (
        (dataclasses.replace(DEBTOR_A, link_version=2), DEBTOR_B)
        if kind == "revoked"
        else (DEBTOR_A, DEBTOR_B)
    )
    client = create_app(TEST_CONFIG, build_services(sent_links, debtors=debtors)).test_client()
    expired = link_for(DEBTOR_A, days_ago=31, link_version=1)
    sent_token = token_of(tampered(expired)) if kind == "forged" else token_of(expired)
    form_page = page_of(client.get(link_for(DEBTOR_B, days_ago=31) + "?lang=en"))

    response = client.post(
        "/d/new-link",
        data={"csrf_token": csrf_token_in(form_page), "token": sent_token},
        follow_redirects=True,
    )

    assert response.status_code == 200
    assert NEUTRAL_ANSWER_EN in page_of(response)
    assert sent_links.refs == []


def test_new_link_form_works_over_https_without_a_referer(client, sent_links):
    # Every page sends Referrer-Policy: no-referrer, so browsers post this form without a Referer.
    expired = link_for(DEBTOR_A, days_ago=31)
    form_page = page_of(client.get(expired, base_url="https://portal.example"))

    response = client.post(
        "/d/new-link",
        data={"csrf_token": csrf_token_in(form_page), "token": token_of(expired)},
        base_url="https://portal.example",
    )

    assert response.status_code == 303
    assert sent_links.refs == [ref_of(DEBTOR_A)]


# Security of every response


@pytest.mark.parametrize("path", ["debtor_page", "invalid_link", "unknown_page", "healthz"])
def test_every_response_carries_the_security_headers(client, path):
    url = {
        "debtor_page": link_for(DEBTOR_A),
        "invalid_link": tampered(link_for(DEBTOR_A)),
        "unknown_page": "/nowhere",
        "healthz": "/healthz",
    }[path]

    headers = client.get(url).headers

    assert headers["Content-Security-Policy"] == (
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    )
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_pages_carry_no_inline_style_or_script(client):
    html = page_of(client.get(link_for(DEBTOR_A)))

    assert "style=" not in html
    assert "<style" not in html
    assert "<script" not in html


def test_session_cookie_is_secure_http_only_and_lax(client):
    response = client.get(link_for(DEBTOR_A) + "?lang=en")

    cookie = response.headers["Set-Cookie"]
    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie


def test_session_cookie_can_be_sent_over_plain_http_for_local_runs(sent_links):
    client = create_app(
        {**TEST_CONFIG, "SESSION_COOKIE_SECURE": False}, build_services(sent_links)
    ).test_client()

    response = client.get(link_for(DEBTOR_A) + "?lang=en")

    assert "; Secure" not in response.headers["Set-Cookie"]


# Error pages


def test_unknown_address_shows_the_not_found_page(client):
    response = client.get("/nowhere", headers={"Accept-Language": "en"})

    assert response.status_code == 404
    assert "<h1>Page not found</h1>" in page_of(response)


def test_other_refused_requests_show_a_plain_page(client):
    response = client.delete("/healthz", headers={"Accept-Language": "en"})

    assert response.status_code == 405
    assert "<h1>This request could not be handled</h1>" in page_of(response)


class BrokenAccounts:
    def debtor_account(self, creditor_id, debtor_id):
        raise RuntimeError("the account store is unreachable")


def test_server_error_shows_a_reference_and_no_stack_trace(sent_links, caplog):
    services = dataclasses.replace(build_services(sent_links), accounts=BrokenAccounts())
    client = create_app({**TEST_CONFIG, "PROPAGATE_EXCEPTIONS": False}, services).test_client()
    link = link_for(DEBTOR_A)

    response = client.get(link, headers={"Accept-Language": "en"})

    assert response.status_code == 500
    reference = re.search(r"give them this reference: ([0-9a-f]{32})\.", page_of(response)).group(1)
    assert "Traceback" not in page_of(response)
    assert "unreachable" not in page_of(response)
    assert any(getattr(record, "correlation_id", None) == reference for record in caplog.records)


def test_server_error_logs_never_contain_the_link_token(sent_links, caplog):
    services = dataclasses.replace(build_services(sent_links), accounts=BrokenAccounts())
    client = create_app({**TEST_CONFIG, "PROPAGATE_EXCEPTIONS": False}, services).test_client()
    link = link_for(DEBTOR_A)

    client.get(link)

    assert caplog.records
    assert token_of(link) not in caplog.text
    assert all(token_of(link) not in str(record.__dict__) for record in caplog.records)


def test_logs_of_a_shown_account_name_ids_only(client, caplog):
    caplog.set_level("INFO", logger="relance_portal")
    link = link_for(DEBTOR_A)

    client.get(link)

    shown = [record for record in caplog.records if record.getMessage() == "Debtor account shown"]
    assert [(record.creditor_id, record.debtor_id) for record in shown] == [("cred-atelier", "debtor-a")]
    assert token_of(link) not in caplog.text
    assert DEBTOR_A.name not in caplog.text


def test_health_check_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_stylesheet_is_served_locally(client):
    response = client.get("/static/portal.css")

    assert response.status_code == 200
    assert ":focus-visible" in page_of(response)


def test_static_files_from_a_separate_origin_are_linked_and_allowed_by_the_policy(sent_links):
    config = {**TEST_CONFIG, "STATIC_BASE_URL": "https://static.relance.example/portal/"}
    client = create_app(config, build_services(sent_links)).test_client()

    response = client.get(link_for(DEBTOR_A))

    assert '<link rel="stylesheet" href="https://static.relance.example/portal/portal.css">' in page_of(
        response
    )
    assert "style-src 'self' https://static.relance.example;" in response.headers["Content-Security-Policy"]
