"""The alerts digest e-mail (issue 8): one line per alert in the creditor's language, each with its link."""

from __future__ import annotations

from datetime import date

from relance.adapters.mail_templates import render_alerts_digest
from relance.domain.alerts import Alert, AlertKind
from relance.domain.parties import Creditor
from relance.services.alerts import AlertsDigestMail, DigestLine

DAY = date(2025, 12, 1)


def a_digest(language: str) -> AlertsDigestMail:
    over_90 = Alert("acme", DAY, AlertKind.INVOICE_OVER_90, "d1#F-9", "d1", "/debtors/d1",
                    {"number": "F-9", "days": "91", "amount_minor": "1200000", "currency": "EUR"})
    broken = Alert("acme", DAY, AlertKind.PLAN_BROKEN, "p-1", "d<2>", "/plans/acme/d2/p-1", {"plan_id": "p-1"})
    lines = (DigestLine(over_90, "https://bo.example/debtors/d1"), DigestLine(broken, "https://bo.example/plans/acme/d2/p-1"))
    return AlertsDigestMail(Creditor("acme", "Acme SAS"), ("finance@acme.example",), language, DAY, lines, "id")


def test_the_english_digest_lists_each_alert_with_its_absolute_link():
    mail = render_alerts_digest(a_digest("en"))

    assert mail.subject == "Relance alerts for 1 December 2025 — Acme SAS"
    assert "- Invoice F-9 (d1, €12,000.00) is now more than 90 days late.\n  https://bo.example/debtors/d1" in mail.text
    assert '<a href="https://bo.example/plans/acme/d2/p-1">' in mail.html
    assert "2 new alerts since the last digest" in mail.text


def test_the_french_digest_speaks_french_and_formats_amounts_the_french_way():
    mail = render_alerts_digest(a_digest("fr"))

    assert mail.subject.startswith("Alertes Relance du 1 décembre 2025")
    assert "La facture F-9 (d1, 12\u202f000,00\u00a0€) a maintenant plus de 90 jours de retard." in mail.text
    assert "L’échéancier p-1 du débiteur d<2> est rompu." in mail.text


def test_the_html_digest_escapes_what_comes_from_data():
    mail = render_alerts_digest(a_digest("en"))

    assert "d&lt;2&gt;" in mail.html and "d<2>" not in mail.html


def a_digest_naming(name: str, language: str = "en") -> AlertsDigestMail:
    large = Alert("acme", DAY, AlertKind.LARGE_AMOUNT, "d1#EUR", "d1", "/debtors/d1",
                  {"amount_minor": "1210000", "currency": "EUR"}, debtor_name=name)
    return AlertsDigestMail(Creditor("acme", "Acme SAS"), ("finance@acme.example",), language, DAY,
                            (DigestLine(large, "https://bo.example/debtors/d1"),), "id")


def test_the_digest_names_the_debtor_rather_than_their_id():
    english, french = render_alerts_digest(a_digest_naming("Client SARL")), render_alerts_digest(
        a_digest_naming("Client SARL", "fr"))

    assert "- Debtor Client SARL owes €12,100.00, above your alert threshold." in english.text
    assert "Debtor Client SARL owes €12,100.00" in english.html
    assert "Le débiteur Client SARL doit 12\u202f100,00\u00a0€" in french.text


def test_an_alert_stored_before_names_were_kept_shows_the_debtor_id():
    mail = render_alerts_digest(a_digest("en"))

    assert "Invoice F-9 (d1, €12,000.00)" in mail.text


def test_a_debtor_name_with_a_script_tag_is_escaped_in_the_html_digest():
    mail = render_alerts_digest(a_digest_naming("<script>alert(1)</script> SARL"))

    assert "&lt;script&gt;alert(1)&lt;/script&gt; SARL" in mail.html
    assert "<script>" not in mail.html
