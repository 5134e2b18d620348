"""Printed letters as PDF (the formal notice, the reminder letter), in French or English, with fpdf2 and the
DejaVu fonts shipped in the package.

No system library is needed, so this runs on Lambda as it runs locally. A letter only lays out what
`relance.domain.letters` decided; every amount and date is formatted by `relance.domain.formatting`.
Both letters share the letterhead, the window-envelope address block and the footer.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from importlib import resources

from babel.numbers import format_decimal
from fpdf import FPDF
from fpdf.enums import XPos, YPos
from fpdf.fonts import FontFace

from relance.domain.formatting import babel_locale, format_day, format_money
from relance.domain.letters import FormalNotice, LetterTone, ReminderLetter
from relance.domain.parties import Creditor, Debtor

FONT = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_MARGIN = 20  # mm
_RECIPIENT_X = 110  # mm from the left edge: where a window envelope shows the address
_GREY = (90, 90, 90)
_LIGHT = (235, 235, 235)
_FR_POSTCODE_CITY = re.compile(r"\b\d{5}\s+(?P<city>[^\n,]+)")

_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "registered": "Lettre recommandée avec accusé de réception",
        "company_id": "N° d'identification : {value}",
        "siren": "SIREN {value}",
        "dated_at": "{place}, le {day}",
        "dated": "Le {day}",
        "reference": "Notre référence : {reference}",
        "subject": "Objet : Mise en demeure de payer",
        "salutation": "Madame, Monsieur,",
        "intro": (
            "Malgré nos précédentes relances, les factures détaillées ci-dessous restent impayées à ce jour, "
            "en tout ou partie."
        ),
        "demand": (
            "Par la présente, nous vous mettons en demeure de nous régler la somme totale de {amount} au "
            "plus tard le {deadline}, soit dans un délai de {days} jours à compter de la date de cette "
            "lettre."
        ),
        "and": " et ",
        "col_number": "Facture",
        "col_issued": "Date",
        "col_due": "Échéance",
        "col_principal": "Principal dû",
        "col_interest_b2b": "Pénalités",
        "col_interest_b2c": "Intérêts",
        "col_indemnity": "Indemnité",
        "col_total": "Total",
        "total_row": "Total {currency}",
        "basis_b2b": (
            "Conformément aux {basis}, ces factures portent de plein droit, dès le lendemain de leur "
            "échéance et sans qu'un rappel soit nécessaire, des pénalités de retard, calculées ci-dessus "
            "jusqu'à la date de cette lettre et qui continuent de courir jusqu'au complet paiement, ainsi "
            "que l'indemnité forfaitaire pour frais de recouvrement indiquée pour chaque facture."
        ),
        "basis_b2c": (
            "La présente lettre vaut mise en demeure au sens des {basis} : les sommes dues porteront "
            "intérêts au taux légal à compter du {start}, jusqu'à complet paiement."
        ),
        "consequences_fr": (
            "À défaut de règlement intégral dans ce délai, nous engagerons sans autre avis une procédure "
            "judiciaire de recouvrement, notamment une requête en injonction de payer devant la juridiction "
            "compétente."
        ),
        "consequences": (
            "À défaut de règlement intégral dans ce délai, nous engagerons sans autre avis une procédure "
            "judiciaire de recouvrement devant la juridiction compétente."
        ),
        "already_paid": (
            "Si vous avez réglé ces sommes entre-temps, nous vous prions de ne pas tenir compte de cette "
            "lettre."
        ),
        "contact": "Pour tout règlement ou toute question, vous pouvez nous joindre : {contact}.",
        "closing": (
            "Nous vous prions d'agréer, Madame, Monsieur, l'expression de nos salutations distinguées."
        ),
        "provisional": (
            "Taux provisoire : au moins un taux de référence n'était pas encore publié à la date de cette "
            "lettre ; le dernier taux connu a été reporté. Les pénalités seront recalculées à sa publication."
        ),
        "provisional_mark": " (provisoire)",
        "detail_title": "Détail du calcul des intérêts de retard",
        "detail_rule": (
            "Intérêts simples : base × taux annuel × jours / 365, arrondis au centime pour chaque période à "
            "taux constant, du lendemain de l'échéance au {day} inclus."
        ),
        "detail_none": (
            "Aucun intérêt n'est réclamé à la date de cette lettre ; les intérêts au taux légal courent à "
            "compter du {start}."
        ),
        "col_period": "Période",
        "col_days": "Jours",
        "col_base": "Base",
        "col_rate": "Taux",
        "col_amount": "Montant",
        "col_source": "Source",
        "period": "du {start} au {end}",
        "sources": "Sources des taux",
        "footer": "Réf. {reference} · page {page}/{{nb}}",
    },
    "en": {
        "registered": "By registered letter with acknowledgement of receipt",
        "company_id": "Company no. {value}",
        "siren": "SIREN {value}",
        "dated_at": "{place}, {day}",
        "dated": "{day}",
        "reference": "Our reference: {reference}",
        "subject": "Subject: Formal notice to pay",
        "salutation": "Dear Sir or Madam,",
        "intro": (
            "Despite our previous reminders, the invoices listed below remain unpaid, in full or in part."
        ),
        "demand": (
            "We hereby give you formal notice to pay us the total sum of {amount} by {deadline} at the "
            "latest, that is within {days} days of the date of this letter."
        ),
        "and": " and ",
        "col_number": "Invoice",
        "col_issued": "Date",
        "col_due": "Due date",
        "col_principal": "Principal owed",
        "col_interest_b2b": "Interest",
        "col_interest_b2c": "Interest",
        "col_indemnity": "Fixed fee",
        "col_total": "Total",
        "total_row": "Total {currency}",
        "basis_b2b": (
            "Under {basis}, these invoices bear late-payment interest as of right from the day after their "
            "due date, without any reminder being required, computed above up to the date of this letter and "
            "accruing until payment in full, plus the fixed compensation for recovery costs shown for each "
            "invoice."
        ),
        "basis_b2c": (
            "This letter is a formal notice under {basis}: the sums owed bear interest at the legal rate "
            "from {start} until payment in full."
        ),
        "consequences_fr": (
            "If full payment is not received by that date, we will start court proceedings without further "
            "notice, in particular an application for an order for payment (injonction de payer) before the "
            "competent court."
        ),
        "consequences": (
            "If full payment is not received by that date, we will start court proceedings to recover the "
            "debt without further notice."
        ),
        "already_paid": "If you have paid these sums in the meantime, please disregard this letter.",
        "contact": "To pay or for any question, you can reach us at: {contact}.",
        "closing": "Yours faithfully,",
        "provisional": (
            "Provisional rate: at least one reference rate was not yet published on the date of this letter; "
            "the last known rate was carried forward. The interest will be recalculated once it is published."
        ),
        "provisional_mark": " (provisional)",
        "detail_title": "How the late interest is computed",
        "detail_rule": (
            "Simple interest: base × annual rate × days / 365, rounded to the cent for each period at one "
            "rate, from the day after the due date to {day} inclusive."
        ),
        "detail_none": (
            "No interest is claimed on the date of this letter; interest at the legal rate runs from {start}."
        ),
        "col_period": "Period",
        "col_days": "Days",
        "col_base": "Base",
        "col_rate": "Rate",
        "col_amount": "Amount",
        "col_source": "Source",
        "period": "{start} to {end}",
        "sources": "Rate sources",
        "footer": "Ref. {reference} · page {page}/{{nb}}",
    },
}


def render_formal_notice(notice: FormalNotice) -> bytes:
    """The notice as a one- or two-page A4 PDF letter in the notice's language."""
    language = notice.language if notice.language in _WORDS else "en"
    words = _WORDS[language]
    pdf = _LetterPdf(words, language, words["subject"], notice.reference, notice.creditor, notice.letter_on)
    pdf.add_page()
    _letterhead(pdf, notice.creditor, words)
    _recipient(pdf, notice.creditor, notice.debtor, notice.letter_on, words, language, words["registered"])
    _opening(pdf, notice, language)
    _claim_table(pdf, notice, language)
    _body(pdf, notice, language)
    _computation(pdf, notice, language)
    return bytes(pdf.output())


class _LetterPdf(FPDF):
    """An A4 page with our fonts and a footer carrying the reference and the page number."""

    def __init__(self, words: dict[str, str], language: str, subject: str, reference: str, creditor: Creditor,
                 letter_on: date) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self._words = words
        self._reference = reference
        fonts = resources.files("relance").joinpath("data", "fonts")
        for style, name in _FONT_FILES.items():
            with resources.as_file(fonts.joinpath(name)) as path:
                self.add_font(FONT, style, str(path))
        self.set_margins(_MARGIN, 16, _MARGIN)
        self.set_auto_page_break(auto=True, margin=18)
        self.set_lang(language)
        self.set_title(f"{subject} · {reference}")
        self.set_author(creditor.legal_name)
        self.set_creator("Relance")
        # The letter date, not the clock: the same letter always gives the same bytes.
        self.set_creation_date(datetime.combine(letter_on, time(), tzinfo=UTC))

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(FONT, "", 7.5)
        self.set_text_color(*_GREY)
        text = self._words["footer"].format(reference=self._reference, page=self.page_no())
        self.cell(0, 5, text, align="C")
        self.set_text_color(0, 0, 0)


def _letterhead(pdf: _LetterPdf, creditor: Creditor, words: dict[str, str]) -> None:
    pdf.set_font(FONT, "B", 13)
    pdf.multi_cell(95, 6, creditor.legal_name, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 8.5)
    pdf.set_text_color(*_GREY)
    lines = []
    if creditor.siren:
        lines.append(words["siren"].format(value=creditor.siren))
    lines.extend(_address_lines(creditor.address))
    lines.extend(value for value in (creditor.contact_email, creditor.contact_phone) if value)
    for line in lines:
        pdf.multi_cell(95, 4.2, line, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)
    pdf.set_draw_color(*_GREY)
    pdf.line(_MARGIN, pdf.get_y() + 2, pdf.w - _MARGIN, pdf.get_y() + 2)
    pdf.set_y(pdf.get_y() + 5)


def _recipient(pdf: _LetterPdf, creditor: Creditor, debtor: Debtor, letter_on: date, words: dict[str, str],
               language: str, mention: str | None) -> None:
    """The address block where a window envelope shows it, under `mention` (how the letter is sent), then the date."""
    top = max(pdf.get_y(), 48)
    pdf.set_xy(_RECIPIENT_X, top)
    if mention:
        pdf.set_font(FONT, "", 7.5)
        pdf.set_text_color(*_GREY)
        pdf.multi_cell(0, 4, mention, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_text_color(0, 0, 0)
        pdf.set_y(pdf.get_y() + 1.5)
    pdf.set_x(_RECIPIENT_X)
    pdf.set_font(FONT, "B", 10.5)
    pdf.multi_cell(0, 5, debtor.name, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_font(FONT, "", 9.5)
    if debtor.company_id:
        pdf.multi_cell(0, 4.6, words["company_id"].format(value=debtor.company_id), align="L",
                       new_x=XPos.LEFT, new_y=YPos.NEXT)
    for line in _address_lines(debtor.address):
        pdf.multi_cell(0, 4.6, line, align="L", new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + 6)
    pdf.set_x(_RECIPIENT_X)
    place = _place(creditor.address)
    day = format_day(letter_on, language, "long")
    dated = words["dated_at"].format(place=place, day=day) if place else words["dated"].format(day=day)
    pdf.multi_cell(0, 5, dated, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + 4)


def _opening(pdf: _LetterPdf, notice: FormalNotice, language: str) -> None:
    words = _WORDS[language]
    pdf.set_font(FONT, "", 9.5)
    _paragraph(pdf, words["reference"].format(reference=notice.reference), after=1)
    pdf.set_font(FONT, "B", 11)
    _paragraph(pdf, words["subject"], after=4)
    pdf.set_font(FONT, "", 9.5)
    _paragraph(pdf, words["salutation"], after=2)
    _paragraph(pdf, words["intro"], after=2)
    amounts = words["and"].join(format_money(sums.total, language) for sums in notice.totals)
    demand = words["demand"].format(
        amount=amounts, deadline=format_day(notice.deadline_on, language, "long"), days=notice.deadline_days
    )
    _paragraph(pdf, demand, after=3)


def _claim_table(pdf: _LetterPdf, notice: FormalNotice, language: str) -> None:
    words = _WORDS[language]
    with_indemnity = not notice.is_consumer
    interest = words["col_interest_b2c" if notice.is_consumer else "col_interest_b2b"]
    headings = [words["col_number"], words["col_issued"], words["col_due"], words["col_principal"], interest]
    widths = [30, 21, 21, 29, 23]
    if with_indemnity:
        headings.append(words["col_indemnity"])
        widths.append(21)
    headings.append(words["col_total"])
    widths.append(pdf.epw - sum(widths))
    align = ["LEFT", "LEFT", "LEFT"] + ["RIGHT"] * (len(headings) - 3)
    pdf.set_font(FONT, "", 8.5)
    with pdf.table(
        col_widths=widths, width=pdf.epw, text_align=align, line_height=4.6, align="LEFT",
        borders_layout="HORIZONTAL_LINES", headings_style=FontFace(emphasis="BOLD", fill_color=_LIGHT),
        padding=(1, 1.2), v_align="MIDDLE",
    ) as table:
        table.row(headings)
        for line in notice.lines:
            cells = [line.number, format_day(line.issued_on, language, "short"),
                     format_day(line.due_on, language, "short"),
                     format_money(line.principal, language), format_money(line.interest, language)]
            if with_indemnity:
                cells.append(format_money(line.indemnity, language))
            cells.append(format_money(line.total, language))
            table.row(cells)
        bold = FontFace(emphasis="BOLD")
        for sums in notice.totals:
            row = table.row()
            row.cell(words["total_row"].format(currency=sums.currency), style=bold, colspan=3)
            row.cell(format_money(sums.principal, language), style=bold)
            row.cell(format_money(sums.interest, language), style=bold)
            if with_indemnity:
                row.cell(format_money(sums.indemnity, language), style=bold)
            row.cell(format_money(sums.total, language), style=bold)
    pdf.set_y(pdf.get_y() + 3)


def _body(pdf: _LetterPdf, notice: FormalNotice, language: str) -> None:
    words = _WORDS[language]
    pdf.set_font(FONT, "", 9.5)
    if notice.provisional:
        pdf.set_font(FONT, "B", 9)
        pdf.set_fill_color(255, 243, 205)
        pdf.multi_cell(0, 4.6, words["provisional"], border=1, fill=True, align="L", padding=1.5,
                       new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_fill_color(255, 255, 255)
        pdf.set_y(pdf.get_y() + 2.5)
        pdf.set_font(FONT, "", 9.5)
    start = format_day(notice.letter_on + timedelta(days=1), language, "long")
    basis = words["basis_b2c" if notice.is_consumer else "basis_b2b"]
    _paragraph(pdf, basis.format(basis=notice.legal_basis, start=start), after=2)
    _paragraph(pdf, words["consequences_fr" if notice.jurisdiction == "FR" else "consequences"], after=2)
    _paragraph(pdf, words["already_paid"], after=2)
    phone = notice.creditor.contact_phone and notice.creditor.contact_phone.replace(" ", "\u00a0")
    contact = " · ".join(value for value in (notice.creditor.contact_email, phone) if value)
    if contact:
        _paragraph(pdf, words["contact"].format(contact=contact), after=2)
    _paragraph(pdf, words["closing"], after=6)
    pdf.set_x(_RECIPIENT_X)
    pdf.set_font(FONT, "B", 9.5)
    pdf.multi_cell(0, 5, notice.creditor.legal_name, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + 6)


def _computation(pdf: _LetterPdf, notice: FormalNotice, language: str) -> None:
    words = _WORDS[language]
    start = format_day(notice.letter_on + timedelta(days=1), language, "long")
    segments = [(line, segment) for line in notice.lines for segment in line.segments]
    distinct_sources = {segment.rate_source for _, segment in segments}
    if pdf.will_page_break(24 + 6 * len(segments) + 8 * len(distinct_sources)):
        pdf.add_page()  # keep the computation in one piece, rather than its sources alone on a page
    pdf.set_font(FONT, "B", 10)
    _paragraph(pdf, words["detail_title"], after=1.5)
    pdf.set_font(FONT, "", 8)
    if not segments:
        _paragraph(pdf, words["detail_none"].format(start=start), after=2)
        return
    _paragraph(pdf, words["detail_rule"].format(day=format_day(notice.letter_on, language, "long")), after=2)
    pdf.set_font(FONT, "", 7.5)
    sources: list[str] = []
    with pdf.table(
        col_widths=[21, 46, 10, 24, 34, 22, 13], width=pdf.epw, line_height=4.2, align="LEFT",
        text_align=["LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT", "RIGHT", "CENTER"],
        borders_layout="HORIZONTAL_LINES", headings_style=FontFace(emphasis="BOLD", fill_color=_LIGHT),
        padding=(0.8, 1.2), v_align="MIDDLE",
    ) as table:
        table.row([words["col_number"], words["col_period"], words["col_days"], words["col_base"],
                   words["col_rate"], words["col_amount"], words["col_source"]])
        for line, segment in segments:
            if segment.rate_source not in sources:
                sources.append(segment.rate_source)
            period = words["period"].format(start=format_day(segment.starts_on, language, "short"),
                                            end=format_day(segment.ends_on, language, "short"))
            rate = _percent(segment.annual_rate_percent, language)
            if segment.is_provisional:
                rate += words["provisional_mark"]
            table.row([line.number, period, str(segment.days), format_money(segment.base, language), rate,
                       format_money(segment.amount, language), f"[{sources.index(segment.rate_source) + 1}]"])
    pdf.set_y(pdf.get_y() + 2)
    pdf.set_font(FONT, "B", 7.5)
    _paragraph(pdf, words["sources"], after=0.5)
    pdf.set_font(FONT, "", 7)
    pdf.set_text_color(*_GREY)
    for number, source in enumerate(sources, start=1):
        parts = "\n".join(source.split(" | "))  # a merged segment lists each half-year's rate
        pdf.multi_cell(0, 3.5, f"[{number}] {parts}", align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_text_color(0, 0, 0)


def _paragraph(pdf: FPDF, text: str, after: float) -> None:
    pdf.multi_cell(0, 4.8, text, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_y(pdf.get_y() + after)


def _percent(rate: Decimal, language: str) -> str:
    """`13,15 %` in French, `13.15%` in English."""
    number = format_decimal(rate, format="#,##0.00##", locale=babel_locale(language))
    return f"{number}\u202f%" if language == "fr" else f"{number}%"


def _address_lines(address: str | None) -> list[str]:
    """An address as letter lines: its own line breaks, else one line per comma-separated part."""
    if not address:
        return []
    lines = [line.strip() for line in address.splitlines() if line.strip()]
    if len(lines) == 1:
        lines = [part.strip() for part in lines[0].split(",") if part.strip()]
    return lines


def _place(address: str | None) -> str | None:
    """The town a French address ends with (`75002 Paris` → `Paris`), for "Paris, le …"."""
    if not address:
        return None
    found = list(_FR_POSTCODE_CITY.finditer(address))
    return found[-1].group("city").strip() if found else None



# --- the reminder letter -----------------------------------------------------------------------

_SHARED = ("company_id", "siren", "dated_at", "dated", "reference", "salutation", "col_number", "col_issued",
           "col_due", "total_row", "already_paid", "closing", "footer")

# A reminder, never a formal notice: no deadline, no "formal notice", no threat of proceedings. The
# portal link is personal and expires, so a printed letter gives the creditor's contact details instead.
_REMINDER_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        **{key: _WORDS["fr"][key] for key in _SHARED},
        "subject_friendly": "Objet : Rappel de paiement",
        "subject_firm": "Objet : Relance de paiement",
        "intro_friendly_one": (
            "Sauf erreur de notre part, la facture ci-dessous reste à régler à ce jour. Il s'agit très "
            "probablement d'un simple oubli."
        ),
        "intro_friendly_many": (
            "Sauf erreur de notre part, les factures ci-dessous restent à régler à ce jour. Il s'agit très "
            "probablement d'un simple oubli."
        ),
        "intro_firm_one": "Malgré nos précédents rappels, la facture ci-dessous reste impayée à ce jour.",
        "intro_firm_many": "Malgré nos précédents rappels, les factures ci-dessous restent impayées à ce jour.",
        "ask_friendly": "Nous vous remercions de bien vouloir nous régler la somme de {amount}.",
        "ask_firm": "Nous vous demandons de nous régler sans attendre la somme de {amount}.",
        "and": _WORDS["fr"]["and"],
        "col_amount_due": "Montant dû",
        "late_charges": (
            "Nous vous rappelons que tout retard de paiement fait courir les pénalités de retard et "
            "l'indemnité forfaitaire pour frais de recouvrement prévues par nos conditions générales de "
            "vente et par la loi."
        ),
        "how_to_pay": "Pour régler, ou pour toute question, vous pouvez nous joindre : {contact}.",
        "how_to_pay_by_post": "Pour régler, ou pour toute question, écrivez-nous à l'adresse ci-dessus.",
        "difficulty": (
            "En cas de difficulté, ou si une facture vous semble contestable, contactez-nous : nous pouvons "
            "convenir d'un échéancier ou examiner votre réclamation."
        ),
    },
    "en": {
        **{key: _WORDS["en"][key] for key in _SHARED},
        "subject_friendly": "Subject: Payment reminder",
        "subject_firm": "Subject: Overdue payment reminder",
        "intro_friendly_one": (
            "According to our records, the invoice below is still unpaid. This is most probably an oversight."
        ),
        "intro_friendly_many": (
            "According to our records, the invoices below are still unpaid. This is most probably an oversight."
        ),
        "intro_firm_one": "Despite our previous reminders, the invoice below remains unpaid.",
        "intro_firm_many": "Despite our previous reminders, the invoices below remain unpaid.",
        "ask_friendly": "We would be grateful if you would pay us the sum of {amount}.",
        "ask_firm": "We ask you to pay us the sum of {amount} without further delay.",
        "and": _WORDS["en"]["and"],
        "col_amount_due": "Amount due",
        "late_charges": (
            "Please note that late payment bears the late-payment interest and the fixed compensation for "
            "recovery costs provided for by our terms of sale and by law."
        ),
        "how_to_pay": "To pay, or for any question, you can reach us at: {contact}.",
        "how_to_pay_by_post": "To pay, or for any question, please write to us at the address above.",
        "difficulty": (
            "If you are in difficulty, or if you dispute an invoice, please contact us: we can agree on a "
            "payment plan or look into your claim."
        ),
    },
}


def render_reminder_letter(letter: ReminderLetter) -> bytes:
    """The reminder as a one-page A4 PDF letter (more for a long list) in the letter's language."""
    language = letter.language if letter.language in _REMINDER_WORDS else "en"
    words = _REMINDER_WORDS[language]
    subject = words["subject_friendly" if letter.tone is LetterTone.FRIENDLY else "subject_firm"]
    pdf = _LetterPdf(words, language, subject, letter.reference, letter.creditor, letter.letter_on)
    pdf.add_page()
    _letterhead(pdf, letter.creditor, words)
    _recipient(pdf, letter.creditor, letter.debtor, letter.letter_on, words, language, mention=None)
    _reminder_opening(pdf, letter, words, subject, language)
    _reminder_table(pdf, letter, words, language)
    _reminder_body(pdf, letter, words)
    return bytes(pdf.output())


def _reminder_opening(pdf: _LetterPdf, letter: ReminderLetter, words: dict[str, str], subject: str,
                      language: str) -> None:
    tone = letter.tone.value
    pdf.set_font(FONT, "", 9.5)
    _paragraph(pdf, words["reference"].format(reference=letter.reference), after=1)
    pdf.set_font(FONT, "B", 11)
    _paragraph(pdf, subject, after=4)
    pdf.set_font(FONT, "", 9.5)
    _paragraph(pdf, words["salutation"], after=2)
    _paragraph(pdf, words[f"intro_{tone}_{'one' if len(letter.lines) == 1 else 'many'}"], after=2)
    amounts = words["and"].join(format_money(amount, language) for amount in letter.totals)
    _paragraph(pdf, words[f"ask_{tone}"].format(amount=amounts), after=3)


def _reminder_table(pdf: _LetterPdf, letter: ReminderLetter, words: dict[str, str], language: str) -> None:
    pdf.set_font(FONT, "", 8.5)
    with pdf.table(
        col_widths=[50, 35, 35, pdf.epw - 120], width=pdf.epw, text_align=["LEFT", "LEFT", "LEFT", "RIGHT"],
        line_height=4.6, align="LEFT", borders_layout="HORIZONTAL_LINES",
        headings_style=FontFace(emphasis="BOLD", fill_color=_LIGHT), padding=(1, 1.2), v_align="MIDDLE",
    ) as table:
        table.row([words["col_number"], words["col_issued"], words["col_due"], words["col_amount_due"]])
        for line in letter.lines:
            table.row([line.number, format_day(line.issued_on, language, "short"),
                       format_day(line.due_on, language, "short"), format_money(line.amount_due, language)])
        bold = FontFace(emphasis="BOLD")
        for amount in letter.totals:
            row = table.row()
            row.cell(words["total_row"].format(currency=amount.currency), style=bold, colspan=3)
            row.cell(format_money(amount, language), style=bold)
    pdf.set_y(pdf.get_y() + 3)


def _reminder_body(pdf: _LetterPdf, letter: ReminderLetter, words: dict[str, str]) -> None:
    pdf.set_font(FONT, "", 9.5)
    if letter.mentions_late_charges:
        _paragraph(pdf, words["late_charges"], after=2)
    phone = letter.creditor.contact_phone and letter.creditor.contact_phone.replace(" ", "\u00a0")
    contact = " · ".join(value for value in (letter.creditor.contact_email, phone) if value)
    how_to_pay = words["how_to_pay"].format(contact=contact) if contact else words["how_to_pay_by_post"]
    _paragraph(pdf, how_to_pay, after=2)
    _paragraph(pdf, words["difficulty"], after=2)
    _paragraph(pdf, words["already_paid"], after=2)
    _paragraph(pdf, words["closing"], after=6)
    pdf.set_x(_RECIPIENT_X)
    pdf.set_font(FONT, "B", 9.5)
    pdf.multi_cell(0, 5, letter.creditor.legal_name, align="L", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
