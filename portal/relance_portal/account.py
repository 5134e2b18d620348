"""The debtor's account pages beyond the summary: invoices, invoice PDF, statement of account (PDF, CSV),
disputing an invoice, promising to pay, and the history of reminders and letters with their documents.

The debtor is always the session's (`current_ref()`); every invoice, dispute and document is looked up
inside that debtor's own account, so another debtor's invoice number is "not found" like an unknown one.
Never logged: names, addresses, messages, file names; ids and outcomes only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    g,
    get_flashed_messages,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from werkzeug.utils import secure_filename

from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.policy import DunningPolicy
from relance.domain.statement import (
    AccruedFees,
    accrued_late_fees,
    build_statement,
    policy_claims_late_fees,
    recently_paid,
    standing_of,
    statement_csv,
)
from relance.services.accounts import DebtorAccount
from relance.services.disputes import (
    MAX_ATTACHMENT_BYTES,
    MAX_MESSAGE_CHARS,
    Attachment,
    DisputeOutcome,
    DisputeReason,
    DisputeRefused,
    DisputeRequest,
    InvoiceNotFound,
    open_dispute,
)
from relance.services.promises import (
    NothingToPromise,
    PromiseRefused,
    promisable,
    promise_to_pay,
    promise_window,
    read_promise_date,
)
from relance_portal.access import (
    code_required,
    current_ref,
    debtor_session,
    session_account,
)
from relance_portal.account_services import account_services_available, current_account_services, iter_document
from relance_portal.i18n import current_language
from relance_portal.services import current_services

bp = Blueprint("account", __name__, url_prefix="/account")
INVOICES_PER_PAGE = 25  # open invoices per page of the list: the page weighs the same for 25 or 5,000
RECENT_INVOICES = 20  # the most recent settled invoices listed as recently paid (AP1c: only those are read)
log = logging.getLogger("relance_portal.account")

# The app refuses bodies over MAX_CONTENT_LENGTH (64 KB: the forms are tiny). The dispute form alone
# carries a file, so its requests may be bigger: set before CSRFProtect reads the form (Flask runs
# URL value preprocessors before any before_request function).
DISPUTE_REQUEST_LIMIT = MAX_ATTACHMENT_BYTES + 64 * 1024


@bp.url_value_preprocessor
def _allow_an_attachment_on_the_dispute_form(endpoint: str | None, _values: dict[str, Any] | None) -> None:
    if endpoint == "account.dispute" and request.method == "POST":
        request.max_content_length = DISPUTE_REQUEST_LIMIT


@bp.app_context_processor
def _summary_helpers() -> dict[str, Any]:
    return {"late_fees_accrued": _late_fees_for_the_summary}


@dataclass(frozen=True, slots=True)
class _Page:
    """The debtor's account as the account pages read it, and today in the creditor's zone."""

    account: DebtorAccount
    today: date  # the account holds the debtor's open invoices only

    @property
    def creditor(self):
        return self.account.creditor

    @property
    def debtor(self):
        return self.account.debtor

    def invoice(self, number: str) -> Invoice:
        """The debtor's invoice `number`, or the 404 page (an invoice of another debtor included)."""
        for invoice in self.account.invoices:
            if invoice.number == number:
                return invoice
        abort(404)

    def policy(self) -> DunningPolicy:
        return current_account_services().policies(self.creditor).for_debtor(self.debtor.kind, self.debtor.risk_band)


# --- invoices ---------------------------------------------------------------------------------------


@bp.get("/invoices")
@debtor_session
def invoices():
    """Open invoices, then the recently paid ones, each with its status in words."""
    page = _page()
    ref = current_ref()
    open_invoices = page.account.open_invoices()
    pages = max(1, -(-len(open_invoices) // INVOICES_PER_PAGE))
    number = min(max(request.args.get("page", 1, type=int) or 1, 1), pages)
    shown = open_invoices[(number - 1) * INVOICES_PER_PAGE:number * INVOICES_PER_PAGE]
    recent = current_account_services().store.recently_settled(ref.creditor_id, ref.debtor_id, RECENT_INVOICES)
    _log("Debtor invoices shown")
    return render_template("account/invoices.html", **_common(page), open_invoices=shown,
                           open_count=len(open_invoices), page_number=number, page_count=pages,
                           paid_invoices=recently_paid(recent))


@bp.get("/invoices/<number>")
@debtor_session
def invoice(number: str):
    """One invoice: dates, amounts, status, and what the debtor can do about it."""
    page = _page()
    found = _invoice_of_this_debtor(page, number)
    _log("Debtor invoice shown")
    return render_template("account/invoice.html", **_common(page), invoice=found)


@bp.get("/invoices/<number>.pdf")
@debtor_session
def invoice_pdf(number: str):
    """The invoice as a PDF: the original when an import stored one, else a copy generated from the record."""
    page = _page()
    found = _invoice_of_this_debtor(page, number)
    services = current_account_services()
    ref = current_ref()
    original = services.store.original_pdf_key(ref.creditor_id, ref.debtor_id, found.number)
    filename = f"{secure_filename(found.number) or 'invoice'}.pdf"
    _log("Debtor invoice PDF sent")
    if original is not None and original.startswith(_debtor_prefix()):
        document = services.documents.open(original)
        return _download(stream_with_context(iter_document(document)), "application/pdf", filename)
    # fpdf2 (with fontTools and Pillow) is the heaviest import of the portal: only PDF downloads load it.
    from relance.adapters.pdf_documents import render_invoice_copy

    body = render_invoice_copy(page.creditor, page.debtor, found, current_language(), page.today)
    return _download(body, "application/pdf", filename)


# --- statement of account -------------------------------------------------------------------------


@bp.get("/statement.pdf")
@debtor_session
def statement_pdf():
    """Every open invoice and the totals per currency as of today, as a PDF."""
    page = _page()
    statement = build_statement(page.creditor, page.debtor, page.account.invoices, page.today)
    _log("Debtor statement sent", format="pdf")
    from relance.adapters.pdf_documents import render_statement  # as in invoice_pdf

    return _download(render_statement(statement, current_language()), "application/pdf",
                     f"statement-{page.today.isoformat()}.pdf")


@bp.get("/statement.csv")
@debtor_session
def statement_csv_file():
    """The same statement as a CSV file a spreadsheet opens in the reader's language."""
    page = _page()
    statement = build_statement(page.creditor, page.debtor, page.account.invoices, page.today)
    _log("Debtor statement sent", format="csv")
    return _download(statement_csv(statement, current_language()), "text/csv; charset=utf-8",
                     f"statement-{page.today.isoformat()}.csv")


# --- dispute an invoice ---------------------------------------------------------------------------


@bp.route("/invoices/<number>/dispute", methods=["GET", "POST"])
@code_required
def dispute(number: str):
    """Tell the creditor what is wrong with an invoice: dunning pauses on it while finance looks."""
    page = _page()
    found = page.invoice(number)
    if request.method == "GET":
        return _dispute_page(page, found, {}, {})
    upload = request.files.get("attachment")
    body = upload.read(MAX_ATTACHMENT_BYTES + 1) if upload is not None and upload.filename else None
    form = {"reason": request.form.get("reason", ""), "message": request.form.get("message", "")}
    asked = DisputeRequest(found.number, form["reason"], form["message"],
                           Attachment(upload.filename or "", body) if upload is not None and body is not None
                           else None)
    ref = current_ref()
    services = current_account_services()
    try:
        outcome = open_dispute(ref.creditor_id, ref.debtor_id, asked, page.today, current_services().now(),
                               services.store, services.documents, page.policy(),
                               services.closed_days(page.creditor))
    except InvoiceNotFound:
        abort(404)
    except DisputeRefused as refused:
        _log("Dispute form refused", level=logging.WARNING, fields=sorted(refused.problems))
        return _dispute_page(page, found, form, refused.problems), 400
    _log("Dispute opened" if outcome is DisputeOutcome.OPENED else "Dispute already open",
         outcome=outcome.value, number=found.number)
    flash(outcome.value, "dispute")
    return redirect(url_for("account.invoice", number=found.number), code=303)


def _dispute_page(page: _Page, found: Invoice, form: dict[str, str], problems: dict[str, str]) -> str:
    return render_template("account/dispute.html", **_common(page), invoice=found, form=form, problems=problems,
                           reasons=list(DisputeReason), max_message=MAX_MESSAGE_CHARS,
                           max_megabytes=MAX_ATTACHMENT_BYTES // (1024 * 1024))


# --- promise to pay -------------------------------------------------------------------------------


@bp.route("/promise", methods=["GET", "POST"])
@code_required
def promise():
    """Promise to pay every overdue invoice by a date: reminders wait until then."""
    page = _page()
    policy = page.policy()
    window = promise_window(policy, page.today)
    covered = promisable(list(page.account.open_invoices()), page.today)
    if request.method == "GET":
        return _promise_page(page, window, covered, {}, {})
    form = {"promised_on": request.form.get("promised_on", ""), "note": request.form.get("note", "")}
    ref = current_ref()
    services = current_account_services()
    try:
        promised_on = read_promise_date(form["promised_on"], policy, page.today)
        promised = promise_to_pay(ref.creditor_id, ref.debtor_id, promised_on, form["note"], page.today,
                                  current_services().now(), services.store, policy,
                                  services.closed_days(page.creditor))
    except PromiseRefused as refused:
        _log("Promise form refused", level=logging.WARNING, fields=sorted(refused.problems))
        return _promise_page(page, window, covered, form, refused.problems), 400
    except NothingToPromise:
        return _promise_page(page, window, [], form, {}), 409
    _log("Payment promised", invoices=len(promised))
    flash("recorded", "promise")
    return redirect(url_for("account.invoices"), code=303)


def _promise_page(page: _Page, window, covered: list[Invoice], form: dict[str, str],
                  problems: dict[str, str]) -> str:
    return render_template("account/promise.html", **_common(page), window=window, covered=covered, form=form,
                           problems=problems)


# --- history and documents ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Document:
    index: int
    key: str

    @property
    def name(self) -> str:
        return self.key.rsplit("/", 1)[-1]


@dataclass(frozen=True, slots=True)
class _Contact:
    business_date: date
    step: str
    channel: str
    invoices: tuple[str, ...]
    documents: tuple[_Document, ...]


@bp.get("/history")
@debtor_session
def history():
    """The reminders and letters the debtor received, newest first, with their documents."""
    page = _page()
    contacts, disputes = _history_of_this_debtor()
    _log("Debtor history shown")
    return render_template("account/history.html", **_common(page), contacts=list(reversed(contacts)),
                           disputes=disputes)


@bp.get("/documents/<int:index>")
@debtor_session
def document(index: int):
    """A letter or attachment of the debtor's own history, by its place in that history (never by key)."""
    _page()
    contacts, disputes = _history_of_this_debtor()
    documents = [d for c in contacts for d in c.documents] + [d for _item, d in disputes if d is not None]
    found = next((d for d in documents if d.index == index), None)
    if found is None or not found.key.startswith(_debtor_prefix()):
        abort(404)
    stored = current_account_services().documents.open(found.key)
    _log("Debtor document sent", index=index)
    return _download(stream_with_context(iter_document(stored)), stored.content_type,
                     secure_filename(found.name) or "document")


def _history_of_this_debtor() -> tuple[list[_Contact], list[tuple[dict[str, Any], _Document | None]]]:
    """The debtor's sent contacts (oldest first) and disputes, their documents numbered in that order."""
    ref = current_ref()
    store = current_account_services().store
    sent = sorted((c for c in store.contacts_of(ref.creditor_id, ref.debtor_id) if c.get("status") == "sent"),
                  key=lambda c: c.get("business_date", ""))
    index = 0
    contacts = []
    for contact in sent:
        documents = []
        for key in contact.get("document_keys") or ():
            documents.append(_Document(index, key))
            index += 1
        contacts.append(_Contact(date.fromisoformat(contact["business_date"]), contact.get("step", ""),
                                 contact.get("channel") or "email", tuple(contact.get("invoices") or ()),
                                 tuple(documents)))
    disputes = []
    for item in sorted(store.disputes_of(ref.creditor_id, ref.debtor_id), key=lambda d: d.get("opened_at", "")):
        attached = None
        if item.get("attachment_key"):
            attached = _Document(index, item["attachment_key"])
            index += 1
        disputes.append((item, attached))
    return contacts, disputes


# --- the summary's late fees ----------------------------------------------------------------------


# The figures are a pure function of the creditor, the debtor, their open invoices, the day and the
# law tables (kept for the process's life, hence their ids): a debtor who goes back to their summary
# the same day does not pay again for the law engine's run over every overdue invoice.
_ACCRUED: dict[tuple[Any, ...], tuple[tuple[AccruedFees, ...], Any, Any]] = {}
_ACCRUED_KEPT = 256


def _late_fees_for_the_summary() -> tuple[AccruedFees, ...]:
    """Late interest and recovery fees accrued today, when the creditor's policy claims them (else nothing)."""
    if not account_services_available():
        return ()
    try:
        page = _page()
        if not policy_claims_late_fees(page.policy()):
            return ()
        rates, rulebook = current_account_services().law()
        key = (page.creditor, page.debtor, tuple(page.account.invoices), page.today, id(rates), id(rulebook))
        if key not in _ACCRUED:
            if len(_ACCRUED) >= _ACCRUED_KEPT:
                _ACCRUED.pop(next(iter(_ACCRUED)))  # the oldest first: insertion order
            fees = accrued_late_fees(page.creditor, page.debtor, page.account.invoices, page.today, rates, rulebook)
            _ACCRUED[key] = (fees, rates, rulebook)  # holding the tables keeps their ids from being reused
        return _ACCRUED[key][0]
    except RelanceError as error:  # no rate published yet, no rules for the creditor's country
        log.warning("Late fees not shown", extra={"reason": error.code})
        return ()


# --- plumbing -------------------------------------------------------------------------------------


def _page() -> _Page:
    """The session debtor's account with their open invoices (read once per request: one item
    whatever the debtor's history) and today in the creditor's time zone."""
    cached = g.get("account_page")
    if cached is not None:
        return cached
    account = session_account(current_account_services().store)
    page = _Page(account, current_services().today(account.creditor.timezone))
    g.account_page = page
    return page


def _invoice_of_this_debtor(page: _Page, number: str) -> Invoice:
    """An open invoice from the account already read, a settled one by its key; 404 for any other."""
    for invoice in page.account.invoices:
        if invoice.number == number:
            return invoice
    ref = current_ref()
    found = current_account_services().store.find_invoice(ref.creditor_id, ref.debtor_id, number)
    if found is None:
        abort(404)
    return found


def _common(page: _Page) -> dict[str, Any]:
    return {"account": page.account, "creditor": page.creditor, "today": page.today, "standing_of": standing_of,
            "notices": dict(get_flashed_messages(with_categories=True))}


def _debtor_prefix() -> str:
    ref = current_ref()
    return f"creditors/{ref.creditor_id}/debtors/{ref.debtor_id}/"


def _download(body, content_type: str, filename: str) -> Response:
    response = Response(body, content_type=content_type)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _log(message: str, level: int = logging.INFO, **extra: Any) -> None:
    ref = current_ref()
    log.log(level, message, extra={"creditor_id": ref.creditor_id, "debtor_id": ref.debtor_id, **extra})
