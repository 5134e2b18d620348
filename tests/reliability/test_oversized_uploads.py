"""Oversized uploads through the doors the earlier hostile-input tests did not cover (issue #11): the ERP API's
request body, and an accounting export given to `relance import` (one huge line; a ZIP entry over its limit,
whatever its header claims). Each gets a clear error naming the limit; nothing is written for what was refused,
and nothing else of the same upload is lost."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import pytest

from relance.services import imports
from relance_cli import local_lambda
from tests.api.conftest import Api, an_invoice, http_event, make_creditors_and_keys
from tests.integration.conftest import CREDITOR
from tests.reliability import invariants

# --- the ERP API ----------------------------------------------------------------------------------------


@pytest.fixture
def api(stack) -> Api:
    """Two creditors with an API key each, on a fresh stack."""
    return Api(make_creditors_and_keys())


def _post_raw(api: Api, body: bytes, *, base64_encoded: bool = False) -> tuple[int, dict]:
    event = http_event("POST", "/v1/invoices", raw_body=body, headers={
        "Authorization": f"Bearer {api.keys['acme']}", "Idempotency-Key": "oversized-1",
        "Content-Type": "application/json"})
    if base64_encoded:
        event["body"], event["isBase64Encoded"] = base64.b64encode(body).decode(), True
    raw = local_lambda.invoke("ApiFunction", event)
    return raw["statusCode"], json.loads(raw["body"])


def _api_wrote_nothing(api: Api) -> None:
    assert api.get("/v1/events").body["events"] == []
    answer = api.post("/v1/invoices", {"invoices": [an_invoice("F-001")]})
    assert answer.status == 200 and answer.body["created"] == 1, answer.body  # F-001 was not stored before


@pytest.mark.parametrize("base64_encoded", [False, True])
def test_an_api_body_over_the_limit_gets_a_413_naming_it_and_nothing_is_written(api, base64_encoded):
    limit = _api_module().MAX_BODY_BYTES
    huge_name = "B" * (limit + 1)  # one field, far over its own 200 characters: refused before it is parsed
    body = json.dumps({"invoices": [an_invoice("F-001", debtor_name=huge_name)]}).encode()

    status, answer = _post_raw(api, body, base64_encoded=base64_encoded)

    assert status == 413
    [error] = answer["errors"]
    assert error["code"] == "body_too_large" and f"{limit:,}" in error["message"]
    _api_wrote_nothing(api)


def test_an_api_body_of_many_invoices_under_the_byte_limit_is_refused_whole_with_422(api):
    body = {"invoices": [an_invoice(f"F-{n:04d}") for n in range(101)]}  # one more than a request may carry

    answer = api.post("/v1/invoices", body)

    assert answer.status == 422
    assert {e["path"] for e in answer.body["errors"]} == {"invoices"}
    _api_wrote_nothing(api)


def test_a_full_request_with_every_text_field_at_its_longest_fits_under_the_limit(stack):
    longest = an_invoice("\U0001f600" * 64, debtor_name="\U0001f600" * 200, siren="\U0001f600" * 32,
                         email="\U0001f600" * 254, phone="\U0001f600" * 40, language="\U0001f600" * 35,
                         currency="\U0001f600" * 8)

    size = len(json.dumps({"invoices": [longest] * 100}).encode())  # escaped as \ud83d\ude00: the worst case

    assert size <= _api_module().MAX_BODY_BYTES, size


def _api_module():
    local_lambda.handler_of("ApiFunction")
    return local_lambda._MODULES["ApiFunction"]


# --- `relance import` -----------------------------------------------------------------------------------

HEADER = "invoice_number,debtor_name,siren,email,phone,invoice_date,due_date,amount_total,amount_paid,currency\n"


def _row(number: str, name: str = "Boulangerie Martin SARL") -> str:
    return f"{number},{name},,compta@martin.example.fr,,2025-10-01,2025-10-31,1200.00,0.00,EUR\n"


def _stored_numbers(stack) -> list[str]:
    return sorted(i["number"] for i in invariants.items(stack.physical["RelanceTable"]) if i.get("entity") == "invoice")


def test_an_export_with_one_line_over_the_limit_reports_it_imports_the_rest_and_a_corrected_file_completes_it(
        relance, stack, tmp_path):
    from relance.domain.csv_invoices import MAX_LINE_BYTES

    export = tmp_path / "export.csv"
    huge = "X" * (MAX_LINE_BYTES + 10)
    export.write_text(HEADER + _row("F-001") + _row("F-002", huge) + _row("F-003"), encoding="utf-8")

    code, out = relance("import", str(export), "--creditor", CREDITOR, "--json")
    report = json.loads(out)

    assert [(e["line"], e["code"]) for e in report["errors"]] == [(3, "line_too_long")]
    assert f"{MAX_LINE_BYTES:,} bytes" in report["errors"][0]["message"]
    assert report["imported"] == 2 and _stored_numbers(stack) == ["F-001", "F-003"]  # the others are not lost
    assert code == 0, out  # a report listing the line, not a crash

    export.write_text(HEADER + _row("F-001") + _row("F-002") + _row("F-003"), encoding="utf-8")
    again = relance.json("import", str(export), "--creditor", CREDITOR)

    assert again["errors"] == [] and again["imported"] == 1 and again["unchanged"] == 2
    assert _stored_numbers(stack) == ["F-001", "F-002", "F-003"]
    invariants.money_adds_up(stack.physical["RelanceTable"])


@pytest.mark.parametrize(("claimed", "code"), [(None, "entry_too_large"), (1_000, "invalid_file")],
                         ids=["honest-header", "header-understates-the-size"])
def test_a_zip_entry_over_its_limit_is_refused_alone_and_the_other_files_are_imported(
        relance, stack, tmp_path, monkeypatch, claimed, code):
    monkeypatch.setattr(imports, "MAX_ZIP_ENTRY_BYTES", 200_000)
    big = (HEADER + "".join(_row(f"B-{n:05d}") for n in range(4_000))).encode()  # about 330 KB
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("big.csv", big)
        archive.writestr("small.csv", HEADER + _row("S-001") + _row("S-002"))
    path = tmp_path / "invoices.zip"
    path.write_bytes(buffer.getvalue() if claimed is None else _understate_sizes(buffer.getvalue(), "big.csv", claimed))

    exit_code, out = relance("import", str(path), "--creditor", CREDITOR, "--json")
    report = json.loads(out)

    assert exit_code == 0, out  # a report, not a traceback: before the fix the crafted ZIP raised BadZipFile
    assert [(e.get("file"), e["code"]) for e in report["errors"]] == [("big.csv", code)], report
    assert "200,000" in report["errors"][0]["message"] or "damaged or hostile" in report["errors"][0]["message"]
    assert _stored_numbers(stack) == ["S-001", "S-002"]  # nothing of the refused file, all of the other


def _understate_sizes(archive: bytes, name: str, claimed: int) -> bytes:
    """The ZIP with `name`'s uncompressed size rewritten to `claimed` in both of its headers (a crafted file)."""
    data = bytearray(archive)
    encoded = name.encode()
    local = data.find(b"PK\x03\x04")  # the first entry's local header: big.csv is written first
    assert data[local + 30:local + 30 + len(encoded)] == encoded
    data[local + 22:local + 26] = claimed.to_bytes(4, "little")
    central = data.find(b"PK\x01\x02")
    assert data[central + 46:central + 46 + len(encoded)] == encoded
    data[central + 24:central + 28] = claimed.to_bytes(4, "little")
    return bytes(data)
