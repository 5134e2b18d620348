"""Hostile input through every door (issue #11): a debtor name and invoice numbers made of markup and template
syntax, shown on the portal, the back office, in mails and in PDF letters; spreadsheet formulas in every CSV
export; open redirects on sign-in; oversized uploads; path traversal in the S3 keys built from user input.

One moto stack for the module: a creditor, a French export with the hostile debtor, a Monday of dunning and a
cheque typed by finance with a formula as its reference.
"""

from __future__ import annotations

import csv
import io
import os
import re
import sys
import importlib
import zipfile
from datetime import date
from urllib.parse import quote, urlsplit

import pytest

from relance_cli.local_stack import write_stack_file
from tests.backoffice.backoffice_world import PASSWORD, csrf_token
from tests.conftest import fake_aws_account, provisioned_stack, restored_environ
from tests.integration.conftest import CREDITOR, MONDAY, LocalStackCli
from tests.portal.test_lambda_adapter import ApiGatewayBrowser, body_of

SCRIPT = "<script>alert(1)</script>"
ATTRIBUTE = '"onmouseover="alert(2)'
TEMPLATE = "{{7*7}}"
HOSTILE_NAME = f"Evil {SCRIPT} {ATTRIBUTE} {TEMPLATE} SARL"
HOSTILE_NUMBERS = ["<img src=x onerror=alert(3)>", "F-{{7*7}}", "../../etc/passwd", "a/b%2Fc"]
RAW_MARKUP = ["<script>alert", "onmouseover=\"alert", "<img src=x"]  # "onerror=alert" alone is text once "<" is escaped
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
# Fullwidth (＝ ＋ － ＠) and small (﹦ ﹢ ﹣ ﹫) forms: a spreadsheet or an import step may normalise them (NFKC).
WIDE_FORMULA_STARTS = ("\uff1d", "\uff0b", "\uff0d", "\uff20", "\ufe66", "\ufe62", "\ufe63", "\ufe6b")
FORMULA_REFERENCE = '=HYPERLINK("http://evil.example","click")'
WIDE_FORMULA_REFERENCE = '\uff1dHYPERLINK("http://evil.example","wide")'
FINANCE = "finance@acme.example"
EVIL_EMAIL = "evil.sarl@example.com"

HEADER = "invoice_number,debtor_name,siren,email,phone,invoice_date,due_date,amount_total,amount_paid,currency\n"


def _csv_cell(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    folder = tmp_path_factory.mktemp("hostile")
    with pytest.MonkeyPatch.context() as monkeypatch, restored_environ(), fake_aws_account(monkeypatch), \
            provisioned_stack(monkeypatch) as stack:
        cli = LocalStackCli(write_stack_file(stack, folder / "stack.json"))
        code, out = cli("creditor", "add", CREDITOR, "--name", "Acme Fournitures SAS", "--siren", "000000018",
                        "--email", "compta@acme.example.fr")
        assert code == 0, out
        rows = "".join(f"{_csv_cell(number)},{_csv_cell(HOSTILE_NAME)},,{EVIL_EMAIL},,2025-09-01,2025-10-01,"
                       f"{100 + n}.00,0.00,EUR\n" for n, number in enumerate(HOSTILE_NUMBERS))
        export = folder / "hostile.csv"
        export.write_text(HEADER + rows, encoding="utf-8")
        imported = cli.json("import", str(export), "--creditor", CREDITOR)
        assert imported["imported"] == len(HOSTILE_NUMBERS), imported
        cli.json("run-day", "--date", MONDAY.isoformat())
        from relance.adapters.cognito import add_user
        from relance.adapters.dynamo import DynamoStore
        from relance.domain.parties import debtor_id_for

        debtor_id = debtor_id_for(None, HOSTILE_NAME)
        add_user(stack.physical["BackOfficeUserPool"], FINANCE, "finance", CREDITOR, PASSWORD)
        yield {"cli": cli, "stack": stack, "debtor_id": debtor_id, "outbox": cli.outbox(),
               "store": DynamoStore(stack.physical["RelanceTable"])}


def _no_raw_markup(page: str, where: str) -> None:
    found = [marker for marker in RAW_MARKUP if marker in page]
    assert not found, f"{where}: unescaped {found}"


# --- stored XSS: mails, portal, back office, PDF letters -------------------------------------------


def test_the_reminder_mail_shows_the_hostile_name_as_text_in_html_and_plain_text(hostile):
    [mail] = [m for m in hostile["outbox"] if EVIL_EMAIL in m["to"]]
    from relance_cli.outbox import read_outbox

    [sent] = [m for m in read_outbox(None, "eu-west-3") if m.message_id == mail["message_id"]]

    _no_raw_markup(sent.html, "mail html")
    assert "&lt;img src=x onerror=alert(3)&gt;" in sent.html and "F-{{7*7}}" in sent.html  # escaped, not evaluated
    assert "<img src=x onerror=alert(3)>" in sent.text and "F-{{7*7}}" in sent.text  # the plain-text part is text
    assert "\n" not in sent.subject and "\r" not in sent.subject


@pytest.fixture(scope="module")
def portal(hostile):
    sys.modules.pop("portal_lambda", None)
    module = importlib.import_module("portal_lambda")
    [mail] = [m for m in hostile["outbox"] if EVIL_EMAIL in m["to"]]
    path = re.search(r"http://127\.0\.0\.1:8000(/d/[A-Za-z0-9_\-]+)", mail["text"]).group(1)
    browser = ApiGatewayBrowser(module.handler)
    assert browser.get(path)["statusCode"] == 200
    yield browser
    sys.modules.pop("portal_lambda", None)


@pytest.mark.parametrize("path", ["/account", "/account/invoices", "/account/history", "/account/pay",
                                  "/account/promise", "/account/plan"]
                         + [f"/account/invoices/{quote(n, safe='')}" for n in HOSTILE_NUMBERS])
def test_portal_pages_show_the_hostile_fields_escaped(portal, path):
    response = portal.get(path, follow=True)

    assert response["statusCode"] in (200, 404), path
    _no_raw_markup(body_of(response), path)


@pytest.fixture(scope="module")
def backoffice(hostile):
    from relance_backoffice import create_app

    app = create_app({"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                      "COGNITO_USER_POOL_ID": os.environ["RELANCE_COGNITO_USER_POOL_ID"],
                      "COGNITO_CLIENT_ID": os.environ["RELANCE_COGNITO_CLIENT_ID"]})
    client = app.test_client()
    page = client.get("/sign-in")
    signed = client.post("/sign-in", data={"username": FINANCE, "password": PASSWORD,
                                           "csrf_token": csrf_token(page.get_data(as_text=True))})
    assert signed.status_code in (302, 303), signed.get_data(as_text=True)[:500]
    return app, client


def _record_cheque_with_a_formula_reference(hostile, backoffice, reference: str = FORMULA_REFERENCE,
                                            nonce: str = "hostile-cheque-1") -> None:
    _app, client = backoffice
    debtor_page = client.get(f"/debtors/{hostile['debtor_id']}").get_data(as_text=True)
    response = client.post(f"/debtors/{hostile['debtor_id']}/payments", data={
        "csrf_token": csrf_token(debtor_page), "amount": "50,00", "currency": "EUR",
        "received_on": date.today().isoformat(), "method": "cheque", "reference": reference,
        "nonce": nonce})
    assert response.status_code == 303, re.findall(r'class="[^"]*error[^"]*"[^>]*>([^<]+)', response.get_data(as_text=True))


@pytest.mark.parametrize("path", ["/dashboard", "/debtors", "/debtors?q=Evil", "/calls", "/disputes", "/bounces",
                                  "/plans", "/payments/unmatched", "DEBTOR"])
def test_back_office_pages_show_the_hostile_fields_escaped(hostile, backoffice, path):
    _app, client = backoffice
    url = f"/debtors/{hostile['debtor_id']}" if path == "DEBTOR" else path

    response = client.get(url)

    assert response.status_code == 200, url
    page = response.get_data(as_text=True)
    _no_raw_markup(page, url)
    if path in ("DEBTOR", "/debtors?q=Evil"):
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and TEMPLATE in page


def _pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(data)).pages)


def test_pdf_letters_print_the_hostile_name_and_numbers_as_plain_text(hostile):
    from relance.adapters.wiring import LawLetters

    store = hostile["store"]
    debtor, invoices = store.debtor_with_invoices(CREDITOR, hostile["debtor_id"])
    creditor = store.get_creditor(CREDITOR)
    letters = LawLetters()

    notice, _extra = letters.formal_notice(creditor, debtor, invoices, MONDAY, 8, "ref-1")
    reminder = letters.reminder_letter(creditor, debtor, invoices, MONDAY, "friendly", "ref-2")

    for pdf in (notice, reminder):
        text = " ".join(_pdf_text(pdf).split())
        assert "<script>alert(1)</script>" in text and TEMPLATE in text  # printed as typed, nothing interpreted
        assert "../../etc/passwd" in text


def test_portal_pdfs_of_hostile_invoices_are_served_and_name_the_file_safely(portal):
    for number in HOSTILE_NUMBERS:
        response = portal.get(f"/account/invoices/{quote(number, safe='')}.pdf", follow=False)
        if response["statusCode"] == 200:
            disposition = response["headers"].get("content-disposition", "")
            assert "/" not in disposition.split("filename=")[-1] and ".." not in disposition


# --- CSV formula injection on every export --------------------------------------------------------


def _cells(data: bytes) -> list[str]:
    text = data.decode("utf-8-sig")
    delimiter = ";" if ";" in text.splitlines()[0] else ","  # Excel's dialect: ";" in French
    return [cell for row in csv.reader(io.StringIO(text), delimiter=delimiter) for cell in row]


def _runs_as_formula(cell: str) -> bool:
    """A spreadsheet runs the cell, as typed or once its first character is normalised (＝ becomes =)."""
    import unicodedata

    return cell.startswith(FORMULA_STARTS) or unicodedata.normalize("NFKC", cell[:1]).startswith(FORMULA_STARTS)


def _formula_free(data: bytes, where: str) -> list[str]:
    cells = _cells(data)
    running = [c for c in cells if _runs_as_formula(c)]
    assert not running, f"{where}: cells a spreadsheet would run: {running[:5]}"
    return cells


def test_the_aged_balance_export_neutralises_formulas(hostile, backoffice):
    _app, client = backoffice

    response = client.get("/exports/aged-balance.csv")

    assert response.status_code == 200
    cells = _formula_free(response.data, "aged balance")
    assert any("Evil" in c for c in cells)


def test_the_collections_export_neutralises_a_reference_typed_as_a_formula(hostile, backoffice):
    _record_cheque_with_a_formula_reference(hostile, backoffice)
    _record_cheque_with_a_formula_reference(hostile, backoffice, WIDE_FORMULA_REFERENCE, "hostile-cheque-wide")
    _app, client = backoffice
    month = date.today().strftime("%Y-%m")

    response = client.get(f"/exports/collections.csv?month={month}")

    assert response.status_code == 200
    cells = _formula_free(response.data, "collections")
    assert "'" + FORMULA_REFERENCE in cells
    assert "'" + WIDE_FORMULA_REFERENCE in cells  # the fullwidth ＝ that a spreadsheet may normalise to =


def test_every_csv_of_the_evidence_bundle_neutralises_formulas(hostile, backoffice):
    _app, client = backoffice

    response = client.get(f"/debtors/{hostile['debtor_id']}/evidence.zip")

    assert response.status_code == 200
    with zipfile.ZipFile(io.BytesIO(response.data)) as bundle:
        names = [n for n in bundle.namelist() if n.endswith(".csv")]
        assert names
        for name in names:
            _formula_free(bundle.read(name), name)


def test_the_debtors_statement_csv_neutralises_formulas(portal):
    response = portal.get("/account/statement.csv")

    assert response["statusCode"] == 200
    import base64

    data = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"].encode()
    _formula_free(data, "statement")


@pytest.mark.parametrize("start", FORMULA_STARTS + WIDE_FORMULA_STARTS)
def test_every_csv_writer_neutralises_each_formula_start(start):
    from relance.domain.agency import _safe
    from relance.domain.statement import csv_safe

    hostile = f"{start}cmd|' /C calc'!A0"

    assert csv_safe(hostile) == "'" + hostile
    assert _safe(hostile) == "'" + hostile


def test_the_agency_file_neutralises_formulas_in_names_and_numbers():
    from relance.domain.agency import build_agency_file
    from relance.domain.invoices import Invoice
    from relance.domain.money import Money
    from relance.domain.parties import Creditor, Debtor

    debtor = Debtor(CREDITOR, "d-1", "=HYPERLINK(\"http://evil.example\")", emails=("@evil.example",),
                    phone="+33 1 99 00", address="-2+3")
    invoice = Invoice(CREDITOR, "d-1", "=1+1", date(2025, 1, 1), date(2025, 2, 1), Money(100_00, "EUR"),
                      Money(0, "EUR"))

    agency = build_agency_file(Creditor(CREDITOR, "@Acme"), debtor, [invoice], None, [], date(2025, 6, 2))

    _formula_free(agency.to_csv().encode(), "agency file")


@pytest.mark.parametrize("start", WIDE_FORMULA_STARTS)
def test_every_export_neutralises_fullwidth_formula_starts_in_every_text_cell(start):
    from relance.domain.aging import aged_balance_csv
    from relance.domain.agency import build_agency_file
    from relance.domain.collections import Collection, collections_csv
    from relance.domain.evidence import _csv as evidence_csv
    from relance.domain.invoices import Invoice
    from relance.domain.money import Money
    from relance.domain.parties import Creditor, Debtor
    from relance.domain.payments import Allocation

    formula = f'{start}HYPERLINK("http://evil.example","x")'
    debtor = Debtor(CREDITOR, "d-1", formula, emails=(f"{start}evil@example.com",), phone=f"{start}33 1 99",
                    address=f"{start}2{start}3")
    invoice = Invoice(CREDITOR, "d-1", f"{start}1{start}1", date(2025, 1, 1), date(2025, 2, 1),
                      Money(100_00, "EUR"), Money(0, "EUR"))
    paid = Collection(date(2025, 3, 1), "d-1", "pay-1", Money(40_00, "EUR"),
                      (Allocation(invoice.number, Money(40_00, "EUR")),), method=formula, reference=formula)
    exports = {
        "aged balance": aged_balance_csv([(debtor, [invoice])], date(2025, 6, 2), "fr"),
        "collections": collections_csv([paid], {"d-1": formula}, "en"),
        "evidence bundle": evidence_csv([formula], [[formula, invoice.number]], "fr"),
        "agency file": build_agency_file(Creditor(CREDITOR, formula), debtor, [invoice], None, [],
                                         date(2025, 6, 2)).to_csv().encode(),
    }

    for where, data in exports.items():
        cells = _formula_free(data, where)
        assert "'" + formula in cells, f"{where}: the hostile cell is missing or changed: {cells[:12]}"


# --- open redirects on sign-in ------------------------------------------------------------------

EVIL_TARGETS = ["//evil.example", "https://evil.example", "https:evil.example", "/\t/evil.example",
                "/\\evil.example", "\\\\evil.example", "/%2F%2Fevil.example", " //evil.example",
                "javascript:alert(1)", "/\n/evil.example", "http:/evil.example"]


def _lands_on_this_site(location: str) -> bool:
    cleaned = re.sub(r"[\t\r\n]", "", location).strip()  # what a browser does to a URL before parsing it
    parts = urlsplit(cleaned.replace("\\", "/"))
    return not parts.scheme and not parts.netloc and cleaned.startswith("/") and not cleaned.startswith("//")


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_the_back_office_sign_in_never_sends_anyone_to_another_site(hostile, target):
    from relance_backoffice import create_app

    app = create_app({"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                      "COGNITO_USER_POOL_ID": os.environ["RELANCE_COGNITO_USER_POOL_ID"],
                      "COGNITO_CLIENT_ID": os.environ["RELANCE_COGNITO_CLIENT_ID"]})
    client = app.test_client()
    page = client.get("/sign-in")

    response = client.post(f"/sign-in?next={quote(target, safe='')}", data={
        "username": FINANCE, "password": PASSWORD, "csrf_token": csrf_token(page.get_data(as_text=True))})

    assert response.status_code in (302, 303)
    assert _lands_on_this_site(response.headers["Location"]), response.headers["Location"]


@pytest.mark.parametrize("target", EVIL_TARGETS)
def test_the_portal_code_page_never_sends_anyone_to_another_site(target):
    from relance_portal.access import safe_next

    assert _lands_on_this_site(safe_next(target))


# --- oversized uploads ----------------------------------------------------------------------------


def test_an_oversized_dispute_attachment_is_refused_before_it_is_read(portal):
    from relance.services.disputes import MAX_ATTACHMENT_BYTES
    from tests.portal.test_lambda_adapter import http_api_event

    boundary = "relance-boundary"
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"attachment\"; filename=\"big.pdf\"\r\n"
            f"Content-Type: application/pdf\r\n\r\n").encode() + b"%PDF-" + b"0" * (MAX_ATTACHMENT_BYTES + 128 * 1024) \
        + f"\r\n--{boundary}--\r\n".encode()
    event = http_api_event(f"/account/invoices/{quote(HOSTILE_NUMBERS[1], safe='')}/dispute", method="POST",
                           body=body.decode("latin-1"), cookies=portal._cookie_list(),
                           headers={"content-type": f"multipart/form-data; boundary={boundary}"})

    response = portal.handler(event, None)

    assert response["statusCode"] == 413


def test_an_oversized_policy_upload_is_refused_with_a_clear_status(hostile, backoffice):
    from relance.adapters.cognito import add_user
    from relance_backoffice import create_app

    add_user(hostile["stack"].physical["BackOfficeUserPool"], "admin@acme.example", "admin", CREDITOR, PASSWORD)
    app = create_app({"SECRET_KEY": "test-secret", "SESSION_COOKIE_SECURE": False,
                      "COGNITO_USER_POOL_ID": os.environ["RELANCE_COGNITO_USER_POOL_ID"],
                      "COGNITO_CLIENT_ID": os.environ["RELANCE_COGNITO_CLIENT_ID"]})
    client = app.test_client()
    page = client.get("/sign-in")
    client.post("/sign-in", data={"username": "admin@acme.example", "password": PASSWORD,
                                  "csrf_token": csrf_token(page.get_data(as_text=True))})
    token = csrf_token(client.get("/admin/policy").get_data(as_text=True))

    too_big = client.post("/admin/policy", data={"csrf_token": token, "document": "#" * (200 * 1024)})
    just_over = client.post("/admin/policy", data={"csrf_token": token, "document": "a" * (49 * 1024)})

    assert too_big.status_code == 413
    assert just_over.status_code == 400


def test_an_oversized_einvoice_is_refused_with_its_reason():
    from relance.domain.einvoice import MAX_DOCUMENT_BYTES, Rejected, read_pdf_invoice, read_xml_invoice

    huge = b"<a>" + b" " * MAX_DOCUMENT_BYTES + b"</a>"

    for result in (read_xml_invoice(huge, None), read_pdf_invoice(huge, None)):
        assert isinstance(result, Rejected) and result.problems[0].code == "file_too_large"


# --- path traversal in S3 keys --------------------------------------------------------------------

TRAVERSALS = ["../../etc/passwd", "..", "/absolute", "a/../../b", "%2F..%2F..%2Fx", "..\\..\\x", "x\x00.pdf",
              "CON", "résumé <script>.pdf", ""]


@pytest.mark.parametrize("name", TRAVERSALS)
def test_a_dispute_attachment_name_stays_one_segment_under_the_debtors_prefix(name):
    from relance.adapters import keys
    from relance.services.disputes import safe_attachment_name

    key = keys.dispute_document_key("acme", "d-1", "0" * 32, safe_attachment_name(name, "pdf"))

    prefix = "creditors/acme/debtors/d-1/disputes/" + "0" * 32 + "/"
    assert key.startswith(prefix)
    leaf = key.removeprefix(prefix)  # S3 has no "..": what matters is one segment under the debtor's prefix
    assert "/" not in leaf and "\\" not in leaf and not leaf.startswith(".") and leaf not in (".", "..")
    assert "%" not in leaf and "\x00" not in leaf


@pytest.mark.parametrize("name", TRAVERSALS + [HOSTILE_NAME])
def test_debtor_ids_made_from_names_cannot_climb_out_of_their_prefix(name):
    from relance.adapters import keys
    from relance.domain.parties import debtor_id_for

    debtor_id = debtor_id_for(None, name or "x")

    assert re.fullmatch(r"name-[a-z0-9-]+-[0-9a-f]{8}", debtor_id)
    assert keys.document_key("acme", debtor_id, MONDAY, "x.pdf").startswith(f"creditors/acme/debtors/{debtor_id}/")


@pytest.mark.parametrize("number", ["../../etc/passwd", "a/b", "..%2F..%2Fx"])
def test_invoice_numbers_never_reach_an_s3_key(number):
    from relance.adapters import keys

    original = keys.original_pdf_object_key("acme", "d-1", "ab" * 32)

    assert number not in original and original.endswith(".pdf")


@pytest.mark.parametrize("path", ["/account/invoices/..%2F..%2Fetc%2Fpasswd", "/account/invoices/%2e%2e",
                                  "/account/documents/-1", "/account/documents/99999"])
def test_the_portal_answers_traversal_paths_with_not_found(portal, path):
    response = portal.get(path, follow=False)

    assert response["statusCode"] == 404, path


@pytest.mark.parametrize("path", ["/debtors/..%2Fother", "/debtors/%2e%2e", "/disputes/..%2F..%2Fx/F-1/attachment",
                                  "/debtors/name-evil-00000000/evidence.zip"])
def test_the_back_office_answers_traversal_paths_with_not_found(backoffice, path):
    _app, client = backoffice

    assert client.get(path).status_code == 404, path
