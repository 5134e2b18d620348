"""`relance import --dry-run --json`: every defect reported at its line and field, with no AWS at all."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import zipfile
from pathlib import Path

from tests.conftest import FIXTURES

RELANCE = Path(sys.executable).parent / "relance"


def run_relance(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """The console script in a process that cannot reach AWS: no credentials, a dead endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELANCE_"))}
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", AWS_ACCESS_KEY_ID="none", AWS_SECRET_ACCESS_KEY="none",
               RELANCE_STACK_FILE=str(cwd / "no-stack.json"))
    return subprocess.run([str(RELANCE), *args], capture_output=True, text=True, env=env, cwd=cwd, check=False,
                          timeout=120)


def test_dry_run_reports_every_defect_of_the_bad_file_at_its_line_and_field(tmp_path):
    expected = list(csv.DictReader((FIXTURES / "invoices_bad_expected.csv").open(encoding="utf-8")))

    result = run_relance("import", str(FIXTURES / "invoices_bad.csv"), "--dry-run", "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    reported = {(e["line"], e["field"], e["code"]) for e in report["errors"]}
    for row in expected:
        if row["status"] == "error":
            assert (int(row["line"]), row["field"], row["defect"]) in reported, row
    error_lines = {e["line"] for e in report["errors"]}
    assert error_lines == {int(r["line"]) for r in expected if r["status"] == "error"}
    assert report["rows"] == 40
    assert report["imported"] == sum(r["status"] == "ok" for r in expected) == 20


def test_a_windows_1252_export_with_crlf_and_a_totals_line_imports_its_invoices(tmp_path):
    lines = [
        "N° facture;Client;SIREN;Email;Téléphone;Date facture;Échéance;Montant TTC;Déjà réglé;Devise",
        "F-001;Société Générale Fictive;000144519;compta@societe-fictive.example.fr;01 99 00 12 34;"
        "03/11/2025;03/12/2025;1 234,56;0,00;EUR",
        "F-002;Œuvres d'Éléonore SARL;000761163;factures@oeuvres.example.fr;01 99 00 12 35;"
        "04/11/2025;04/12/2025;789,10;100,00;EUR",
        ";TOTAL;;;;;;2 023,66;100,00;",
    ]
    export = tmp_path / "export-cp1252.csv"
    export.write_bytes("\r\n".join(lines).encode("cp1252") + b"\r\n")

    result = run_relance("import", str(export), "--dry-run", "--json", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["rows"], report["imported"], report["errors"]) == (2, 2, [])
    assert report["skipped"] == [{"line": 4, "reason": "totals_line"}]
    assert report["open"] == {"EUR": 123456 + 78910 - 10000}
    assert report["debtors"] == 2


def test_an_import_without_a_stack_says_how_to_get_one(tmp_path):
    result = run_relance("import", str(FIXTURES / "invoices_en.csv"), "--creditor", "acme", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip().startswith("relance: no stack configured")
    assert "Traceback" not in result.stderr


def test_a_missing_file_is_one_clear_line(tmp_path):
    result = run_relance("import", str(tmp_path / "nope.csv"), "--dry-run", cwd=tmp_path)

    assert result.returncode == 2
    assert result.stderr.strip() == f"relance: no such file: {tmp_path / 'nope.csv'}"


def test_run_day_on_a_deployed_stack_asks_which_function_to_invoke(tmp_path):
    env_table = {"RELANCE_TABLE": "relance-prod-RelanceTable"}
    result = subprocess.run([str(RELANCE), "run-day"], capture_output=True, text=True, check=False, timeout=60,
                            cwd=tmp_path, env={**{k: v for k, v in os.environ.items() if not k.startswith("RELANCE_")},
                                               **env_table, "RELANCE_STACK_FILE": str(tmp_path / "none.json")})

    assert result.returncode == 2
    assert "--function NAME" in result.stderr and "Traceback" not in result.stderr


# --- e-invoices: the dry run names the creditor from the seller (issue #9) -------------------------------

FACTURX = FIXTURES / "facturx"
MOULIN = {"name": "Au bon moulin", "siren": "999999998", "vat_ids": ["FR11999999998"]}


def dry_run_json(path: Path, cwd: Path) -> dict:
    result = run_relance("import", str(path), "--dry-run", "--json", cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_dry_run_of_a_factur_x_pdf_takes_the_creditor_from_its_seller(tmp_path):
    report = dry_run_json(FACTURX / "Facture_FR_BASICWL.pdf", tmp_path)

    assert report["creditor"] == MOULIN
    assert (report["rows"], report["imported"], report["errors"]) == (1, 1, [])
    assert report["open"] == {"EUR": 470_15}  # due_payable, not the grand total: 201.00 was prepaid
    assert report["files"][0]["invoice_number"] == "FA-2017-0010"


def test_dry_run_of_a_cii_xml_takes_the_creditor_from_its_seller(tmp_path):
    report = dry_run_json(FACTURX / "xml" / "zugferd_2p0_EXTENDED_Fremdwaehrung.xml", tmp_path)

    assert report["creditor"] == {"name": "Rohstoff AG Salzgitter", "siren": None, "vat_ids": ["DE123456789"]}
    assert report["open"] == {"GBP": 521_91}  # stays in pounds
    assert report["files"][0]["format"] == "cii"


def test_dry_run_of_a_zip_reports_each_file_the_credit_note_and_both_invalid_pdfs(tmp_path):
    archive = tmp_path / "lot.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for name in ("Avoir_FR_type381_BASIC.pdf", "Facture_FR_BASICWL.pdf", "invalid_no_embedded_xml.pdf",
                     "invalid_truncated_Facture_FR_MINIMUM.pdf"):
            bundle.write(FACTURX / name, name)

    report = dry_run_json(archive, tmp_path)

    assert report["creditor"] == MOULIN
    outcomes = {f["name"]: f["outcome"] for f in report["files"]}
    assert outcomes == {"Avoir_FR_type381_BASIC.pdf": "credited", "Facture_FR_BASICWL.pdf": "imported",
                        "invalid_no_embedded_xml.pdf": "error", "invalid_truncated_Facture_FR_MINIMUM.pdf": "error"}
    assert (report["credit_notes"], report["credited"]) == (1, {"EUR": 233_47})
    assert {(e["file"], e["code"]) for e in report["errors"]} == {
        ("invalid_no_embedded_xml.pdf", "no_invoice_xml"), ("invalid_truncated_Facture_FR_MINIMUM.pdf", "unreadable_pdf")}


def test_dry_run_of_files_from_several_sellers_names_no_creditor(tmp_path):
    archive = tmp_path / "two-sellers.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        bundle.write(FACTURX / "Facture_FR_BASICWL.pdf", "a.pdf")
        bundle.write(FACTURX / "MustangGnuaccountingBeispielRE-20201121_508.pdf", "b.pdf")

    report = dry_run_json(archive, tmp_path)

    assert "creditor" not in report
    assert {f["seller"]["name"] for f in report["files"]} == {"Au bon moulin", "Bei Spiel GmbH"}


def test_an_import_on_a_terminal_draws_a_progress_bar_of_the_file_read(tmp_path):
    import pty

    controller, terminal = pty.openpty()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELANCE_"))}
    env.update(AWS_ENDPOINT_URL="http://127.0.0.1:9", RELANCE_STACK_FILE=str(tmp_path / "no-stack.json"))

    result = subprocess.run([str(RELANCE), "import", str(FIXTURES / "invoices_en.csv"), "--dry-run"],
                            stdout=subprocess.PIPE, stderr=terminal, text=True, env=env, cwd=tmp_path,
                            check=False, timeout=120)
    os.close(terminal)
    drawn = os.read(controller, 65536).decode()
    os.close(controller)

    assert result.returncode == 0
    assert "[##############################] 100%" in drawn and "rows read" in drawn
    assert "[" not in result.stdout.splitlines()[0]  # the bar goes to the terminal, not into the output
