"""Documents the debtor portal generates as PDF: a copy of an invoice and the statement of account.

They share the letterhead, the address block and the fonts of the printed letters (`pdf_letters`).
The invoice copy lists what Relance knows of the invoice (dates, amounts, what is still owed); the
original PDF (Factur-X), when an import stores one, is served instead (issue #9).
"""

from __future__ import annotations

from datetime import date

from fpdf.fonts import FontFace

from relance.adapters.pdf_letters import _WORDS, FONT, _LetterPdf, _letterhead, _paragraph, _recipient
from relance.domain.formatting import format_day, format_money
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor
from relance.domain.statement import Standing, Statement, standing_of

_LIGHT = (235, 235, 235)

_DOCUMENT_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "invoice_subject": "Copie de la facture {number}",
        "invoice_note": (
            "Ce document récapitule la facture telle qu'elle figure dans notre suivi des paiements. "
            "Il ne remplace pas la facture originale."
        ),
        "statement_subject": "Relevé de compte au {day}",
        "statement_intro": "Voici les factures qui restent à régler à ce jour.",
        "statement_empty": "Aucune facture ne reste à régler à ce jour.",
        "issued_on": "Date de la facture", "due_on": "Échéance", "total": "Montant",
        "paid": "Déjà réglé", "balance": "Reste dû", "status": "Statut", "col_total": "Montant",
        "col_paid": "Réglé", "col_balance": "Reste dû", "col_status": "Statut", "total_row": "Total {currency}",
        "overdue_row": "Dont en retard",
        f"standing.{Standing.NOT_DUE}": "À échoir",
        f"standing.{Standing.OVERDUE}": "En retard de {days} j",
        f"standing.{Standing.DISPUTED}": "Contestée",
        f"standing.{Standing.IN_PLAN}": "Échéancier",
        f"standing.{Standing.PROMISED}": "Paiement promis",
        f"standing.{Standing.PAID}": "Réglée",
    },
    "en": {
        "invoice_subject": "Copy of invoice {number}",
        "invoice_note": (
            "This document summarises the invoice as it stands in our payment records. "
            "It does not replace the original invoice."
        ),
        "statement_subject": "Statement of account as of {day}",
        "statement_intro": "These are the invoices still to be paid today.",
        "statement_empty": "No invoice is left to pay today.",
        "issued_on": "Invoice date", "due_on": "Due date", "total": "Amount",
        "paid": "Already paid", "balance": "Balance due", "status": "Status", "col_total": "Amount",
        "col_paid": "Paid", "col_balance": "Balance", "col_status": "Status", "total_row": "Total {currency}",
        "overdue_row": "Of which overdue",
        f"standing.{Standing.NOT_DUE}": "Not yet due",
        f"standing.{Standing.OVERDUE}": "{days} days overdue",
        f"standing.{Standing.DISPUTED}": "Disputed",
        f"standing.{Standing.IN_PLAN}": "Payment plan",
        f"standing.{Standing.PROMISED}": "Payment promised",
        f"standing.{Standing.PAID}": "Paid",
    },
}


def _words(language: str) -> tuple[str, dict[str, str]]:
    language = language if language in _DOCUMENT_WORDS else "en"
    return language, {**_WORDS[language], **_DOCUMENT_WORDS[language]}


def _standing_text(words: dict[str, str], standing: Standing, days: int) -> str:
    return words[f"standing.{standing}"].format(days=days)


def render_invoice_copy(creditor: Creditor, debtor: Debtor, invoice: Invoice, language: str, today: date) -> bytes:
    """A one-page A4 PDF of the invoice as Relance knows it, in `language`."""
    language, words = _words(language)
    subject = words["invoice_subject"].format(number=invoice.number)
    pdf = _LetterPdf(words, language, subject, invoice.number, creditor, today)
    pdf.add_page()
    _letterhead(pdf, creditor, words)
    _recipient(pdf, creditor, debtor, today, words, language, mention=None)
    pdf.set_font(FONT, "B", 11)
    _paragraph(pdf, subject, after=4)
    pdf.set_font(FONT, "", 9.5)
    rows = [
        (words["issued_on"], format_day(invoice.issued_on, language, "long")),
        (words["due_on"], format_day(invoice.due_on, language, "long")),
        (words["total"], format_money(invoice.total, language)),
        (words["paid"], format_money(invoice.paid, language)),
        (words["balance"], format_money(invoice.balance, language)),
        (words["status"], _standing_text(words, standing_of(invoice, today), invoice.days_overdue(today))),
    ]
    with pdf.table(col_widths=[60, pdf.epw - 60], width=pdf.epw, text_align=["LEFT", "RIGHT"], line_height=5,
                   align="LEFT", borders_layout="HORIZONTAL_LINES", first_row_as_headings=False,
                   padding=(1, 1.2)) as table:
        for label, value in rows:
            table.row([label, value])
    pdf.set_y(pdf.get_y() + 4)
    _paragraph(pdf, words["invoice_note"], after=2)
    return bytes(pdf.output())


def render_statement(statement: Statement, language: str) -> bytes:
    """The statement of account as an A4 PDF in `language`: every open invoice, then the totals per currency."""
    language, words = _words(language)
    subject = words["statement_subject"].format(day=format_day(statement.as_of, language, "long"))
    pdf = _LetterPdf(words, language, subject, statement.debtor.debtor_id, statement.creditor, statement.as_of)
    pdf.add_page()
    _letterhead(pdf, statement.creditor, words)
    _recipient(pdf, statement.creditor, statement.debtor, statement.as_of, words, language, mention=None)
    pdf.set_font(FONT, "B", 11)
    _paragraph(pdf, subject, after=4)
    pdf.set_font(FONT, "", 9.5)
    if not statement.lines:
        _paragraph(pdf, words["statement_empty"], after=2)
        return bytes(pdf.output())
    _paragraph(pdf, words["statement_intro"], after=3)
    pdf.set_font(FONT, "", 8)
    with pdf.table(
        col_widths=[30, 20, 20, 25, 25, 25, pdf.epw - 145], width=pdf.epw,
        text_align=["LEFT", "LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "LEFT"], line_height=4.4, align="LEFT",
        borders_layout="HORIZONTAL_LINES", headings_style=FontFace(emphasis="BOLD", fill_color=_LIGHT),
        padding=(1, 1), v_align="MIDDLE",
    ) as table:
        table.row([words["col_number"], words["col_issued"], words["col_due"], words["col_total"],
                   words["col_paid"], words["col_balance"], words["col_status"]])
        for line in statement.lines:
            table.row([line.number, format_day(line.issued_on, language, "short"),
                       format_day(line.due_on, language, "short"), format_money(line.total, language),
                       format_money(line.paid, language), format_money(line.balance, language),
                       _standing_text(words, line.standing, line.days_overdue)])
        bold = FontFace(emphasis="BOLD")
        for sums in statement.totals:
            row = table.row()
            row.cell(words["total_row"].format(currency=sums.currency), style=bold, colspan=5)
            row.cell(format_money(sums.balance, language), style=bold)
            row.cell("")
            row = table.row()
            row.cell(words["overdue_row"], colspan=5)
            row.cell(format_money(sums.overdue, language))
            row.cell("")
    return bytes(pdf.output())
