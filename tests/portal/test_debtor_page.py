"""What a debtor sees on their account page, in French and English, and what they never see."""

from __future__ import annotations

import dataclasses
from datetime import date
import re

import pytest
from tests.portal.portal_world import (
    DEBTOR_A,
    DEBTOR_B,
    INVOICES_OF_A,
    INVOICES_OF_B,
    TEST_CONFIG,
    World,
    an_invoice,
    eur,
    page_of,
    token_of,
)

from relance_portal import create_app

NOT_VALID_FR = "Ce lien n’est pas valide"


def account_page(client, world: World, debtor=DEBTOR_A, query: str = "", **kwargs):
    """Open the debtor's personal link and follow it to their account page."""
    link = world.link_for(debtor) + (f"?{query}" if query else "")
    return client.get(link, follow_redirects=True, **kwargs)


# Money, dates and statuses in the reader's language


def test_balance_is_written_the_french_way_for_a_french_debtor(client, world):
    response = account_page(client, world)

    assert response.status_code == 200
    assert "12\u202f345,67\u00a0€" in page_of(
        response
    )  # Babel's fr_FR: narrow no-break space, then no-break space
    assert "10\u202f000,00\u00a0€" in page_of(response)


def test_balance_is_written_the_english_way_with_lang_en(client, world):
    response = account_page(client, world, query="lang=en")

    assert response.status_code == 200
    assert "€12,345.67" in page_of(response)
    assert "€10,000.00" in page_of(response)
    assert "12\u202f345,67\u00a0€" not in page_of(response)


def test_each_currency_is_totalled_on_its_own(client, world):
    response = account_page(client, world, query="lang=en")

    assert "£1,200.50" in page_of(response)
    assert "€13,546.17" not in page_of(response)  # EUR and GBP are never added together


def test_dates_are_written_in_the_reader_language(client, world):
    french = page_of(account_page(client, world, query="lang=fr"))
    english = page_of(account_page(client, world, query="lang=en"))

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
    client, world, lang, late_one_day, late_many_days, not_due
):
    html = page_of(account_page(client, world, query=f"lang={lang}"))

    assert late_one_day in html
    assert late_many_days in html
    assert not_due in html


def test_settled_invoices_are_not_listed(client, world):
    html = page_of(account_page(client, world))

    assert "FA-2026-0099" not in html
    assert "FA-2026-0101" in html


def test_page_names_the_creditor_and_how_to_reach_them(client, world):
    html = page_of(account_page(client, world))

    assert "<h1>Votre compte chez Atelier Lumière SAS</h1>" in html
    assert 'href="mailto:compta@atelier-lumiere.example"' in html
    assert 'href="tel:+33123456789"' in html


def test_invoice_table_has_a_caption_and_scoped_headers(client, world):
    html = page_of(account_page(client, world, query="lang=en"))

    assert '<caption id="invoices-caption">Invoices still to be paid, oldest due date first</caption>' in html
    assert '<th scope="col" class="amount">Amount due</th>' in html
    assert '<th scope="row">FA-2026-0101</th>' in html


# Which language a page is shown in


def test_debtor_recorded_language_beats_the_browser_language(client, world):
    response = account_page(client, world, DEBTOR_B, headers={"Accept-Language": "fr-FR,fr;q=0.9"})

    assert '<html lang="en">' in page_of(response)
    assert "€999.99" in page_of(response)


def test_lang_parameter_beats_the_debtor_recorded_language(client, world):
    response = account_page(client, world, DEBTOR_B, query="lang=fr")

    assert '<html lang="fr">' in page_of(response)
    assert "999,99\u00a0€" in page_of(response)


def test_chosen_language_is_kept_for_the_next_pages(client, world):
    account_page(client, world, query="lang=en")

    response = client.get("/account")

    assert '<html lang="en">' in page_of(response)


def test_language_switch_on_the_account_page_keeps_the_session(client, world):
    account_page(client, world)

    response = client.get("/account?lang=en")

    assert response.status_code == 200
    assert "€12,345.67" in page_of(response)


def test_browser_language_decides_when_no_debtor_is_known(client):
    response = client.get("/d/not-a-token", headers={"Accept-Language": "en-GB,en;q=0.8"})

    assert '<html lang="en">' in page_of(response)
    assert "This link is not valid" in page_of(response)


def test_french_is_the_default_language(client):
    response = client.get("/d/not-a-token", headers={"Accept-Language": "de-DE"})

    assert '<html lang="fr">' in page_of(response)
    assert NOT_VALID_FR in page_of(response)


def test_language_switch_links_both_languages_and_marks_the_current_one(client, world):
    html = page_of(account_page(client, world, query="lang=en"))

    assert '<a href="?lang=fr" lang="fr" hreflang="fr">Français</a>' in html
    assert '<a href="?lang=en" lang="en" hreflang="en" aria-current="true">English</a>' in html


# One debtor never sees another's account


@pytest.mark.parametrize(
    ("viewer", "other", "other_invoices"),
    [(DEBTOR_A, DEBTOR_B, INVOICES_OF_B), (DEBTOR_B, DEBTOR_A, INVOICES_OF_A)],
    ids=["A_never_sees_B", "B_never_sees_A"],
)
def test_a_link_shows_nothing_of_another_debtor(client, world, viewer, other, other_invoices):
    html = page_of(account_page(client, world, viewer))

    assert viewer.name.replace("&", "&amp;") in html
    assert other.name not in html and other.name.replace("&", "&amp;") not in html
    for invoice in other_invoices:
        assert invoice.number not in html


# Security of every response


@pytest.mark.parametrize("path", ["account_page", "link", "invalid_link", "unknown_page", "healthz"])
def test_every_response_carries_the_security_headers(signed_in, world, path):
    url = {
        "account_page": "/account",
        "link": world.link_for(DEBTOR_A),
        "invalid_link": "/d/not-a-token",
        "unknown_page": "/nowhere",
        "healthz": "/healthz",
    }[path]

    headers = signed_in.get(url).headers

    assert headers["Content-Security-Policy"] == (
        "default-src 'self'; style-src 'self'; script-src 'self'; img-src 'self' data:; "
        "frame-ancestors 'none'; form-action 'self' https://checkout.stripe.com; base-uri 'none'"
    )
    assert headers["Strict-Transport-Security"].startswith("max-age=")
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert headers["Cache-Control"] == "no-store"


def test_pages_carry_no_inline_style_or_script(client, world):
    html = page_of(account_page(client, world))

    assert "style=" not in html
    assert "<style" not in html
    assert "<script" not in html


def test_session_cookie_is_secure_http_only_and_lax(client, world):
    response = client.get(world.link_for(DEBTOR_A))

    cookie = response.headers["Set-Cookie"]
    assert "; Secure" in cookie
    assert "; HttpOnly" in cookie
    assert "; SameSite=Lax" in cookie


def test_session_cookie_can_be_sent_over_plain_http_for_local_runs(world):
    client = create_app({**TEST_CONFIG, "SESSION_COOKIE_SECURE": False}, world.services()).test_client()

    response = client.get(world.link_for(DEBTOR_A))

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


def test_server_error_shows_a_reference_and_no_stack_trace(world, caplog):
    services = dataclasses.replace(world.services(), accounts=BrokenAccounts())
    client = create_app({**TEST_CONFIG, "PROPAGATE_EXCEPTIONS": False}, services).test_client()

    response = client.get(world.link_for(DEBTOR_A), headers={"Accept-Language": "en"}, follow_redirects=True)

    assert response.status_code == 500
    reference = re.search(r"give them this reference: ([0-9a-f]{32})\.", page_of(response)).group(1)
    assert "Traceback" not in page_of(response)
    assert "unreachable" not in page_of(response)
    assert any(getattr(record, "correlation_id", None) == reference for record in caplog.records)


class BrokenAccess:
    """An access store whose table is unreachable at the first lookup of a link."""

    def find_link(self, token_sha256):
        raise RuntimeError("the table is unreachable")


def test_server_error_logs_never_contain_the_link_token(world, caplog):
    services = dataclasses.replace(world.services(), access=BrokenAccess())
    client = create_app({**TEST_CONFIG, "PROPAGATE_EXCEPTIONS": False}, services).test_client()
    link = world.link_for(DEBTOR_A)

    response = client.get(link)

    assert response.status_code == 500
    assert caplog.records
    assert token_of(link) not in caplog.text
    assert all(token_of(link) not in str(record.__dict__) for record in caplog.records)


def test_logs_of_a_shown_account_name_ids_only(client, world, caplog):
    caplog.set_level("INFO", logger="relance_portal")
    link = world.link_for(DEBTOR_A)

    client.get(link, follow_redirects=True)

    shown = [record for record in caplog.records if record.getMessage() == "Debtor account shown"]
    assert [(record.creditor_id, record.debtor_id) for record in shown] == [("cred-atelier", "debtor-a")]
    assert token_of(link) not in caplog.text
    assert DEBTOR_A.name not in caplog.text
    assert DEBTOR_A.emails[0] not in caplog.text


def test_health_check_answers_ok(client):
    response = client.get("/healthz")

    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}


def test_stylesheet_is_served_locally(client):
    response = client.get("/static/portal.css")

    assert response.status_code == 200
    assert ":focus-visible" in page_of(response)


def test_the_stylesheet_address_changes_with_its_content(client, world, monkeypatch):
    from relance_portal import assets

    html = page_of(account_page(client, world))
    first = re.search(r'href="(/static/portal\.css\?v=[0-9a-f]{12})"', html).group(1)
    assert client.get(first).status_code == 200
    monkeypatch.setattr(assets, "content_hash", lambda filename: "0123456789ab")

    assert 'href="/static/portal.css?v=0123456789ab"' in page_of(account_page(client, world))


def test_static_files_from_a_separate_origin_are_linked_and_allowed_by_the_policy(world):
    config = {**TEST_CONFIG, "STATIC_BASE_URL": "https://static.relance.example/portal/"}
    client = create_app(config, world.services()).test_client()

    response = account_page(client, world)

    assert re.search(r'<link rel="stylesheet" href="https://static\.relance\.example/portal/portal\.[0-9a-f]{12}\.css">',
                     page_of(response))
    assert "style-src 'self' https://static.relance.example;" in response.headers["Content-Security-Policy"]



def test_the_summary_lists_the_ten_oldest_open_invoices_and_links_to_the_others(client, world):
    many = [an_invoice(DEBTOR_A, f"FA-2026-9{n:03d}", issued_on=date(2026, 8, 1), due_on=date(2026, 9, 1 + n),
                       total=eur(100_00)) for n in range(12)]
    world.accounts._invoices = many

    html = page_of(account_page(client, world, query="lang=en"))

    listed = re.findall(r'<th scope="row">(FA-2026-9\d{3})</th>', html)
    assert listed == [f"FA-2026-9{n:03d}" for n in range(10)]  # the oldest due first
    assert "See the 2 other open invoices" in html
    assert "€1,200.00" in html  # the totals still count all twelve
