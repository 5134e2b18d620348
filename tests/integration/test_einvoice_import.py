"""Factur-X / CII / UBL imports and the S3 drop, on the moto stack (issue #9)."""

from __future__ import annotations

import csv
import io
import json
import urllib.parse
import zipfile
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from relance.adapters.aws import client
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.originals import S3OriginalPdfs
from relance.adapters.portal_store import PortalStore
from relance.adapters.s3 import S3Documents
from relance.adapters.wiring import policies_for
from relance.domain.errors import InvalidImportFile
from relance.domain.money import Money
from relance.domain.parties import Creditor
from relance.services import imports
from relance_cli import local_lambda
from relance_cli.outbox import read_outbox
from tests.conftest import FIXTURES

FACTURX = FIXTURES / "facturx"
BASICWL = FACTURX / "Facture_FR_BASICWL.pdf"
UBL = Path(__file__).resolve().parents[1] / "fixtures" / "einvoice" / "ubl_invoice_fr.xml"
MOULIN = "moulin"  # the seller of the French samples: SIRET 99999999800010
DEBTOR = "siren-787878784"  # Ma jolie boutique
FINANCE = "finance@moulin.example.fr"


def closed_for(_creditor):
    return frozenset()


@pytest.fixture
def world(stack):
    """The seller of the French samples as a creditor, with its table, documents bucket and imports bucket."""
    store = PaymentsStore(stack.physical["RelanceTable"])  # a credit note is recorded like a payment
    store.put_creditor(Creditor(MOULIN, "Au bon moulin", siren="999999998", finance_emails=(FINANCE,)))
    documents = S3Documents(stack.physical["DocumentsBucket"])
    return {
        "store": store,
        "portal": PortalStore(stack.physical["RelanceTable"]),
        "documents": documents,
        "originals": S3OriginalPdfs(stack.physical["RelanceTable"], documents),
        "imports_bucket": stack.physical["ImportsBucket"],
        "documents_bucket": stack.physical["DocumentsBucket"],
    }


NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)


def import_bytes(world, content: bytes, name: str, creditor_id: str = MOULIN):
    return imports.import_file(io.BytesIO(content), creditor_id, world["store"], closed_for, policies_for, name=name,
                               originals=world["originals"], payments=world["store"], now=NOW)


def versions_under(bucket: str, prefix: str) -> list[dict]:
    return client("s3").list_object_versions(Bucket=bucket, Prefix=prefix).get("Versions", [])


# --- one Factur-X PDF ----------------------------------------------------------------------------------


def test_factur_x_pdf_stores_invoice_debtor_and_its_original_for_the_portal(world):
    pdf = BASICWL.read_bytes()

    report = import_bytes(world, pdf, "Facture_FR_BASICWL.pdf").to_json()

    assert (report["rows"], report["imported"], report["errors"]) == (1, 1, [])
    assert report["files"] == [{"name": "Facture_FR_BASICWL.pdf", "format": "factur-x", "profile": "BASIC WL",
                                "invoice_number": "FA-2017-0010", "due_from": "document", "outcome": "imported"}]
    debtor, invoices = world["store"].debtor_with_invoices(MOULIN, DEBTOR)
    assert (debtor.name, debtor.company_id, debtor.address) == (
        "Ma jolie boutique", "787878784", "35 rue de la République, 69001 Lyon")
    [invoice] = invoices
    assert (invoice.number, invoice.issued_on, invoice.due_on) == ("FA-2017-0010", date(2017, 11, 13),
                                                                   date(2017, 12, 13))
    assert (invoice.total, invoice.paid) == (Money(671_15, "EUR"), Money(201_00, "EUR"))
    key = world["portal"].original_pdf_key(MOULIN, DEBTOR, "FA-2017-0010")
    assert key.startswith(f"creditors/{MOULIN}/debtors/{DEBTOR}/")  # the portal serves only the debtor's prefix
    assert world["documents"].get(key) == pdf


@pytest.fixture
def portal_lambda(stack):
    """portal_lambda as on a cold start, on the moto stack."""
    import importlib
    import sys

    sys.modules.pop("portal_lambda", None)
    yield importlib.import_module("portal_lambda")
    sys.modules.pop("portal_lambda", None)


def test_the_debtor_portal_serves_the_imported_original_pdf(world, portal_lambda):
    import base64
    from datetime import UTC, datetime

    from relance.adapters.links import issue_link
    from relance.adapters.portal_access import PortalAccessStore
    from tests.portal.test_lambda_adapter import ApiGatewayBrowser

    pdf = BASICWL.read_bytes()
    import_bytes(world, pdf, "Facture_FR_BASICWL.pdf")
    debtor, _ = world["store"].debtor_with_invoices(MOULIN, DEBTOR)
    link = issue_link(debtor, datetime.now(UTC), "http://127.0.0.1:8000")
    PortalAccessStore(world["store"].table_name).put_link(link.item)
    browser = ApiGatewayBrowser(portal_lambda.handler)
    browser.get(urllib.parse.urlsplit(link.url).path)

    response = browser.get("/account/invoices/FA-2017-0010.pdf")

    assert response["statusCode"] == 200
    body = base64.b64decode(response["body"]) if response.get("isBase64Encoded") else response["body"].encode()
    assert body == pdf


def test_reimporting_the_same_pdf_changes_nothing(world):
    pdf = BASICWL.read_bytes()
    import_bytes(world, pdf, "Facture_FR_BASICWL.pdf")
    [before] = world["store"].debtor_with_invoices(MOULIN, DEBTOR)[1]

    again = import_bytes(world, pdf, "Facture_FR_BASICWL.pdf").to_json()

    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 1)
    assert again["files"][0]["outcome"] == "unchanged"
    assert world["store"].debtor_with_invoices(MOULIN, DEBTOR)[1] == [before]
    assert len(versions_under(world["documents_bucket"], f"creditors/{MOULIN}/debtors/{DEBTOR}/originals/")) == 1


def test_original_pdf_survives_later_writes_of_the_invoice(world):
    import_bytes(world, BASICWL.read_bytes(), "Facture_FR_BASICWL.pdf")
    [invoice] = world["store"].debtor_with_invoices(MOULIN, DEBTOR)[1]

    world["store"].update_invoice(replace(invoice, paid=Money(300_00, "EUR")))  # as a payment or a reminder does

    assert world["portal"].original_pdf_key(MOULIN, DEBTOR, "FA-2017-0010") is not None


def test_a_later_pdf_of_the_same_invoice_becomes_the_original_served(world):
    import_bytes(world, (FACTURX / "Facture_FR_MINIMUM.pdf").read_bytes(), "Facture_FR_MINIMUM.pdf")

    report = import_bytes(world, BASICWL.read_bytes(), "Facture_FR_BASICWL.pdf").to_json()

    assert report["unchanged"] == 1  # MINIMUM's legal 30-day term gives the same due date as BASIC WL's
    key = world["portal"].original_pdf_key(MOULIN, DEBTOR, "FA-2017-0010")
    assert world["documents"].get(key) == BASICWL.read_bytes()


def test_an_e_invoice_never_erases_the_debtors_e_mail_on_record(world):
    from relance.domain.parties import Debtor

    world["store"].put_debtor(Debtor(MOULIN, DEBTOR, "Ma jolie boutique", company_id="787878784",
                                     emails=("compta@jolie-boutique.example.fr",)))

    import_bytes(world, BASICWL.read_bytes(), "Facture_FR_BASICWL.pdf")

    debtor, _ = world["store"].debtor_with_invoices(MOULIN, DEBTOR)
    assert debtor.emails == ("compta@jolie-boutique.example.fr",)


def test_invoice_of_another_seller_is_not_stored(world):
    report = import_bytes(world, UBL.read_bytes(), "ubl_invoice_fr.xml").to_json()

    assert report["imported"] == 0
    [error] = report["errors"]
    assert (error["file"], error["code"], error["invoice_number"]) == ("ubl_invoice_fr.xml", "seller_mismatch",
                                                                      "UBL-2025-0042")
    assert world["store"].invoice_owners(MOULIN, ["UBL-2025-0042"]) == {}


# --- a ZIP of mixed files ------------------------------------------------------------------------------


def mixed_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(BASICWL, "2017/Facture_FR_BASICWL.pdf")
        archive.write(FACTURX / "Avoir_FR_type381_BASIC.pdf", "2017/Avoir_FR_type381_BASIC.pdf")
        archive.write(FACTURX / "invalid_no_embedded_xml.pdf", "scan.pdf")
        archive.write(UBL, "ubl_invoice_fr.xml")
        archive.write(FIXTURES / "invoices_bad.csv", "export.csv")
        archive.writestr("__MACOSX/._scan.pdf", b"\x00\x05\x16\x07")
    return buffer.getvalue()


def test_zip_of_mixed_files_imports_the_good_ones_and_names_each_bad_one(world):
    report = import_bytes(world, mixed_zip(), "batch.zip").to_json()

    outcomes = {f["name"]: f["outcome"] for f in report["files"]}
    assert outcomes == {"2017/Facture_FR_BASICWL.pdf": "imported", "2017/Avoir_FR_type381_BASIC.pdf": "credited",
                        "scan.pdf": "error", "ubl_invoice_fr.xml": "error", "export.csv": "read"}
    assert report["imported"] == 1 + 20  # the PDF and the 20 good rows of the CSV
    by_file = {}
    for error in report["errors"]:
        by_file.setdefault(error["file"], []).append(error["code"])
    assert by_file["scan.pdf"] == ["no_invoice_xml"]
    assert by_file["ubl_invoice_fr.xml"] == ["seller_mismatch"]
    assert len(by_file["export.csv"]) == 20
    assert report["skipped"] == []
    assert (report["credit_notes"], report["credited"]) == (1, {"EUR": 233_47})


def test_the_same_zip_twice_counts_every_invoice_once(world):
    import_bytes(world, mixed_zip(), "batch.zip")

    again = import_bytes(world, mixed_zip(), "batch.zip").to_json()

    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 21 + 1)  # and the credit note
    assert "credit_notes" not in again
    [invoice] = world["store"].debtor_with_invoices(MOULIN, DEBTOR)[1]
    assert invoice.balance == Money(470_15 - 233_47, "EUR")  # credited once


def test_plain_csv_report_keeps_its_old_shape(world):
    report = import_bytes(world, (FIXTURES / "invoices_bad.csv").read_bytes(), "invoices_bad.csv").to_json()

    assert set(report) == {"rows", "imported", "updated", "unchanged", "errors", "skipped", "debtors", "open"}
    assert set(report["errors"][0]) == {"line", "field", "code", "message"}


# --- every sample of the shared corpus, against its manifest (issue #9, acceptance 1) -------------------

MANIFEST = list(csv.DictReader((FACTURX / "MANIFEST.csv").open(encoding="utf-8")))
# Each seller of the corpus as a creditor, recognised by the id its invoices carry.
CREDITORS = {
    "Au bon moulin": Creditor(MOULIN, "Au bon moulin", siren="999999998"),
    "Lieferant GmbH": Creditor("rohstoff", "Lieferant GmbH", country="DE", vat_id="DE123456789"),
    "Rohstoff AG Salzgitter": Creditor("rohstoff", "Rohstoff AG Salzgitter", country="DE", vat_id="DE123456789"),
    "Bei Spiel GmbH": Creditor("beispiel", "Bei Spiel GmbH", country="DE", vat_id="DE136695976"),
}


def minor(text: str) -> int:
    """The manifest's decimal string in minor units, independently of the code under test."""
    return int(Decimal(text) * 100)


@pytest.mark.parametrize("sample", [r for r in MANIFEST if r["type_code"] == "380"], ids=lambda r: r["file"])
def test_every_sample_invoice_is_stored_with_the_manifest_fields(world, sample):
    creditor = CREDITORS[sample["seller_name"]]
    world["store"].put_creditor(creditor)

    report = import_bytes(world, (FACTURX / sample["file"]).read_bytes(), sample["file"], creditor.creditor_id)

    assert (report.imported, report.errors) == (1, []), report.to_json()
    [debtor_id] = report.debtor_ids
    debtor, invoices = world["store"].debtor_with_invoices(creditor.creditor_id, debtor_id)
    [invoice] = invoices
    assert debtor.name == sample["buyer_name"]
    assert invoice.number == sample["invoice_number"]
    assert invoice.issued_on == date.fromisoformat(sample["issue_date"])
    if sample["due_date"]:
        assert invoice.due_on == date.fromisoformat(sample["due_date"])
    assert invoice.total == Money(minor(sample["grand_total"]), sample["currency"])
    assert invoice.balance == Money(minor(sample["due_payable"]), sample["currency"])  # what is still owed


@pytest.mark.parametrize("sample", [r for r in MANIFEST if r["expected_error"]], ids=lambda r: r["file"])
def test_every_invalid_sample_is_refused_with_a_clear_error(world, sample):
    report = import_bytes(world, (FACTURX / sample["file"]).read_bytes(), sample["file"]).to_json()

    [error] = report["errors"]
    assert (report["imported"], error["file"]) == (0, sample["file"])
    assert error["code"] in {"unreadable_pdf", "no_invoice_xml"}
    if error["code"] == "unreadable_pdf":  # the manifest names the exception the PDF library raises
        assert sample["expected_error"].split(":")[0] in error["message"]
    assert "PDF" in error["message"]
    assert world["store"].invoice_owners(MOULIN, ["FA-2017-0010"]) == {}


# --- credit notes lower what is owed, once -------------------------------------------------------------

AVOIR = FACTURX / "Avoir_FR_type381_BASIC.pdf"
AVOIR_XML = FACTURX / "xml" / "Avoir_FR_type381_BASIC.xml"


def credit_notes_in_audit(world) -> list[dict]:
    return [e for e in world["store"].audit_of(MOULIN, DEBTOR) if e.get("action") == "credit_note_applied"]


def test_credit_note_reduces_the_invoice_it_refers_to_once_however_often_imported(world):
    import_bytes(world, BASICWL.read_bytes(), "Facture_FR_BASICWL.pdf")

    first = import_bytes(world, AVOIR.read_bytes(), "Avoir_FR_type381_BASIC.pdf").to_json()
    second = import_bytes(world, AVOIR.read_bytes(), "Avoir_FR_type381_BASIC.pdf").to_json()

    assert first["files"][0]["outcome"] == "credited"
    assert first["files"][0]["applied"] == {"FA-2017-0010": 233_47}
    assert (second["files"][0]["outcome"], second["unchanged"], second["errors"]) == ("unchanged", 1, [])
    [invoice] = world["store"].debtor_with_invoices(MOULIN, DEBTOR)[1]
    assert invoice.balance == Money(470_15 - 233_47, "EUR")
    [event] = credit_notes_in_audit(world)
    assert (event["credit_note"], event["allocations"], event["actor"]) == (
        "AV-2017-0005", {"FA-2017-0010": 233_47}, "import:Avoir_FR_type381_BASIC.pdf")
    assert world["store"].debtor_credit(MOULIN, DEBTOR) == {}


def test_credit_note_above_the_balance_settles_the_invoice_and_keeps_the_rest_as_credit(world):
    import_bytes(world, BASICWL.read_bytes(), "Facture_FR_BASICWL.pdf")
    xml = AVOIR_XML.read_bytes().replace(b">233.47<", b">500.00<")

    report = import_bytes(world, xml, "avoir.xml").to_json()

    assert report["files"][0]["credit_kept_minor"] == 500_00 - 470_15
    settled = world["store"].get_invoices(MOULIN, [(DEBTOR, "FA-2017-0010")])["FA-2017-0010"]
    assert settled.balance.is_zero() and settled.next_action_on is None  # no longer chased
    assert world["store"].debtor_credit(MOULIN, DEBTOR) == {"EUR": Money(29_85, "EUR")}


def test_credit_note_naming_no_known_invoice_becomes_the_customers_credit(world):
    import_bytes(world, BASICWL.read_bytes(), "Facture_FR_BASICWL.pdf")
    xml = AVOIR_XML.read_bytes().replace(b"<ram:IssuerAssignedID>FA-2017-0010<",
                                         b"<ram:IssuerAssignedID>FA-1999-0001<")

    report = import_bytes(world, xml, "avoir.xml").to_json()

    assert (report["files"][0]["outcome"], report["files"][0]["applied"]) == ("credited", {})
    [invoice] = world["store"].debtor_with_invoices(MOULIN, DEBTOR)[1]
    assert invoice.balance == Money(470_15, "EUR")  # not spread over invoices it does not name
    assert world["store"].debtor_credit(MOULIN, DEBTOR) == {"EUR": Money(233_47, "EUR")}


def test_credit_note_before_its_invoice_in_a_zip_is_applied_after_it(world):
    archive = zip_of({"a-avoir.pdf": AVOIR.read_bytes(), "b-facture.pdf": BASICWL.read_bytes()})

    report = import_bytes(world, archive, "lot.zip").to_json()

    assert {f["name"]: f["outcome"] for f in report["files"]} == {"a-avoir.pdf": "credited",
                                                                  "b-facture.pdf": "imported"}
    [invoice] = world["store"].debtor_with_invoices(MOULIN, DEBTOR)[1]
    assert invoice.balance == Money(470_15 - 233_47, "EUR")


def test_credit_note_for_a_customer_without_invoices_is_an_error_naming_the_fix(world):
    report = import_bytes(world, AVOIR.read_bytes(), "Avoir_FR_type381_BASIC.pdf").to_json()

    [error] = report["errors"]
    assert (error["code"], error["invoice_number"]) == ("credit_note_unknown_customer", "AV-2017-0005")
    assert "import the invoice it corrects first" in error["message"]
    assert credit_notes_in_audit(world) == []


def test_credit_note_of_another_seller_is_refused(world):
    world["store"].put_creditor(Creditor("other", "Other SAS", siren="000000018"))

    report = import_bytes(world, AVOIR.read_bytes(), "Avoir_FR_type381_BASIC.pdf", "other").to_json()

    assert [e["code"] for e in report["errors"]] == ["seller_mismatch"]


# --- ZIP bombs (no AWS needed) ---------------------------------------------------------------------------


def zip_of(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, body in entries.items():
            archive.writestr(name, body)
    return buffer.getvalue()


def test_zip_unpacking_beyond_the_limit_is_refused_before_anything_is_read(monkeypatch):
    monkeypatch.setattr(imports, "MAX_ZIP_TOTAL_BYTES", 1_000_000)
    bomb = zip_of({"a.csv": b"0" * 600_000, "b.csv": b"0" * 600_000})

    with pytest.raises(InvalidImportFile, match="unpacks to 1,200,000 bytes"):
        imports.check_file(io.BytesIO(bomb), name="bomb.zip")


def test_zip_with_too_many_files_is_refused(monkeypatch):
    monkeypatch.setattr(imports, "MAX_ZIP_ENTRIES", 3)

    with pytest.raises(InvalidImportFile, match="holds 4 files"):
        imports.check_file(io.BytesIO(zip_of({f"{n}.xml": b"<x/>" for n in range(4)})), name="many.zip")


def test_one_oversized_entry_is_an_error_of_that_file_only(monkeypatch):
    monkeypatch.setattr(imports, "MAX_ZIP_ENTRY_BYTES", 100_000)

    report = imports.check_file(io.BytesIO(zip_of({"huge.xml": b" " * 200_000, "ubl.xml": UBL.read_bytes()})),
                                name="mixed.zip").to_json()

    assert [(e["file"], e["code"]) for e in report["errors"]] == [("huge.xml", "entry_too_large")]
    assert report["imported"] == 1


def test_nested_zip_and_workbook_are_refused(monkeypatch):
    nested = imports.check_file(io.BytesIO(zip_of({"inner.zip": zip_of({"a.xml": b"<x/>"})})), name="n.zip")
    assert [e.code for e in nested.errors] == ["nested_archive"]

    with pytest.raises(InvalidImportFile, match="spreadsheet workbook"):
        imports.check_file(io.BytesIO(zip_of({"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<w/>"})))


# --- the S3 drop ---------------------------------------------------------------------------------------


def s3_event(bucket: str, key: str, put: dict, size: int) -> dict:
    """The notification S3 sends for one ObjectCreated:Put (the key URL-encoded, as S3 does)."""
    return {"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "awsRegion": "eu-west-3",
        "eventTime": "2025-12-01T08:15:02.123Z", "eventName": "ObjectCreated:Put",
        "userIdentity": {"principalId": "AWS:AIDAEXAMPLEUPLOADER"},
        "requestParameters": {"sourceIPAddress": "203.0.113.9"},
        "responseElements": {"x-amz-request-id": "C3D13FE58DE4C810",
                             "x-amz-id-2": "FMyUVURIY8/IgAtTv8xRjskZQpcIZ9KG4V5Wp6S7S/JRWeUWerMUE5JgHvANOjpD"},
        "s3": {
            "s3SchemaVersion": "1.0", "configurationId": "FileDropped",
            "bucket": {"name": bucket, "ownerIdentity": {"principalId": "A3NL1KOZZKExample"},
                       "arn": f"arn:aws:s3:::{bucket}"},
            "object": {"key": urllib.parse.quote_plus(key, safe="/"), "size": size,
                       "eTag": put["ETag"].strip('"'), "versionId": put.get("VersionId"),
                       "sequencer": "0055AED6DCD90281E5"},
        },
    }]}


def drop(world, key: str, body: bytes) -> dict:
    put = client("s3").put_object(Bucket=world["imports_bucket"], Key=key, Body=body)
    return s3_event(world["imports_bucket"], key, put, len(body))


def test_dropped_zip_delivered_twice_imports_once_with_one_report_and_one_mail(world):
    key = f"imports/{MOULIN}/2025-12/Lot de factures.zip"
    event = drop(world, key, mixed_zip())

    first = local_lambda.invoke("ImportInvoicesFunction", event)
    second = local_lambda.invoke("ImportInvoicesFunction", event)

    assert first == second
    assert first["results"][key]["status"] == "imported"
    reports = versions_under(world["imports_bucket"], key + ".report.json")
    assert len(reports) == 1
    report = json.loads(client("s3").get_object(Bucket=world["imports_bucket"], Key=key + ".report.json")["Body"]
                        .read())
    assert (report["imported"], report["rows"]) == (21, 44)  # 40 CSV rows, 3 invoice files and the credit note
    assert report["credited"] == {"EUR": 233_47}
    assert {f["name"] for f in report["files"]} >= {"2017/Facture_FR_BASICWL.pdf", "export.csv"}
    mails = [m for m in read_outbox(None, "eu-west-3") if FINANCE in m.recipients]
    assert len(mails) == 1
    assert "Lot de factures.zip" in mails[0].subject and "21" in mails[0].subject
    assert "scan.pdf" in mails[0].text
    assert "1 avoir(s) appliqué(s) : 233.47 EUR" in mails[0].text
    assert world["portal"].original_pdf_key(MOULIN, DEBTOR, "FA-2017-0010") is not None


def test_the_report_written_next_to_a_file_is_never_imported(world):
    event = drop(world, f"imports/{MOULIN}/x.csv.report.json", b'{"rows": 0}')

    result = local_lambda.invoke("ImportInvoicesFunction", event)

    assert result["results"][f"imports/{MOULIN}/x.csv.report.json"] == {"status": "ignored"}
    assert versions_under(world["imports_bucket"], f"imports/{MOULIN}/x.csv.report.json.report.json") == []


def test_a_file_for_an_unknown_creditor_gets_a_report_saying_so(world):
    key = "imports/nobody/facture.pdf"
    event = drop(world, key, BASICWL.read_bytes())

    local_lambda.invoke("ImportInvoicesFunction", event)

    report = json.loads(client("s3").get_object(Bucket=world["imports_bucket"], Key=key + ".report.json")["Body"]
                        .read())
    assert report["error"]["code"] == "creditor.unknown"


def test_without_finance_addresses_the_report_is_written_and_no_mail_sent(world):
    world["store"].put_creditor(Creditor(MOULIN, "Au bon moulin", siren="999999998"))
    key = f"imports/{MOULIN}/facture.pdf"

    local_lambda.invoke("ImportInvoicesFunction", drop(world, key, BASICWL.read_bytes()))

    assert len(versions_under(world["imports_bucket"], key + ".report.json")) == 1
    assert read_outbox(None, "eu-west-3") == []


# --- the command line ----------------------------------------------------------------------------------


def test_cli_imports_a_ubl_invoice_for_its_creditor(relance):
    report = relance.json("import", str(UBL), "--creditor", "acme")  # acme's SIREN is the UBL seller's

    assert (report["imported"], report["errors"]) == (1, [])
    assert report["files"][0]["format"] == "ubl"


def test_cli_imports_a_factur_x_pdf_and_keeps_its_original(relance, stack):
    code, out = relance("creditor", "add", MOULIN, "--name", "Au bon moulin", "--siren", "999999998")
    assert code == 0, out

    report = relance.json("import", str(BASICWL), "--creditor", MOULIN)

    assert report["imported"] == 1
    assert PortalStore(stack.physical["RelanceTable"]).original_pdf_key(MOULIN, DEBTOR, "FA-2017-0010") is not None


def test_cli_dry_run_reads_a_pdf_without_aws(relance):
    report = relance.json("import", str(FACTURX / "invalid_truncated_Facture_FR_MINIMUM.pdf"), "--dry-run")

    assert [(e["file"], e["code"]) for e in report["errors"]] == [
        ("invalid_truncated_Facture_FR_MINIMUM.pdf", "unreadable_pdf")]


def test_cli_without_creditor_imports_for_the_creditor_the_seller_names(relance, stack, tmp_path):
    code, out = relance("creditor", "add", MOULIN, "--name", "Au bon moulin", "--siren", "999999998")
    assert code == 0, out
    archive = tmp_path / "lot.zip"
    archive.write_bytes(zip_of({"avoir.pdf": AVOIR.read_bytes(), "facture.pdf": BASICWL.read_bytes()}))

    report = relance.json("import", str(archive))
    again = relance.json("import", str(archive))

    assert (report["imported"], report["credit_notes"], report["errors"]) == (1, 1, [])
    assert (again["imported"], again["unchanged"], again.get("credit_notes")) == (0, 2, None)
    [invoice] = PaymentsStore(stack.physical["RelanceTable"]).debtor_with_invoices(MOULIN, DEBTOR)[1]
    assert invoice.balance == Money(470_15 - 233_47, "EUR")


def test_cli_without_creditor_refuses_a_seller_it_does_not_know(relance, capsys):
    code, _out = relance("import", str(BASICWL))

    assert code != 0
    message = capsys.readouterr().err
    assert "Au bon moulin" in message and "matches no creditor" in message and "--creditor" in message
