from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from relance_cli.local_stack import write_stack_file
from relance_cli.main import main
from tests.conftest import FIXTURES, fake_aws_account, provisioned_stack, restored_environ

CREDITOR = "acme"
MONDAY = date(2025, 12, 1)


class LocalStackCli:
    """The `relance` command against the test's moto account; returns exit code and stdout."""

    def __init__(self, stack_file: Path) -> None:
        self.stack_file = stack_file

    def __call__(self, *args: str) -> tuple[int, str]:
        out = io.StringIO()
        import contextlib

        with contextlib.redirect_stdout(out):
            code = main(["--stack-file", str(self.stack_file), *args])
        return code, out.getvalue()

    def json(self, *args: str):
        code, out = self(*args, "--json")
        assert code == 0, out
        return json.loads(out)

    def outbox(self) -> list[dict]:
        return self.json("outbox")


def _cli_with_creditor(stack, folder: Path) -> LocalStackCli:
    cli = LocalStackCli(write_stack_file(stack, folder / "stack.json"))
    code, out = cli("creditor", "add", CREDITOR, "--name", "Acme Fournitures SAS", "--siren", "000000018",
                    "--email", "compta@acme.example.fr")
    assert code == 0, out
    return cli


@pytest.fixture
def relance(stack, tmp_path) -> LocalStackCli:
    """A creditor on a fresh local stack, and the command line to drive it."""
    return _cli_with_creditor(stack, tmp_path)


@pytest.fixture(scope="module")
def monday(tmp_path_factory):
    """The whole French fixture imported, then Monday 1 December 2025 run once: shared by a module's checks."""
    with pytest.MonkeyPatch.context() as monkeypatch, restored_environ(), fake_aws_account(monkeypatch), \
            provisioned_stack(monkeypatch) as stack:
        cli = _cli_with_creditor(stack, tmp_path_factory.mktemp("monday"))
        imported = cli.json("import", str(FIXTURES / "invoices_fr_excel.csv"), "--creditor", CREDITOR)
        day = cli.json("run-day", "--date", MONDAY.isoformat())
        yield {"cli": cli, "stack": stack, "imported": imported, "day": day, "outbox": cli.outbox()}


def small_export(folder: Path, debtors: int = 6) -> Path:
    """The English fixture's rows for its first `debtors` customers: a quick, realistic export."""
    text = (FIXTURES / "invoices_en.csv").read_text(encoding="utf-8")
    reader = csv.DictReader(io.StringIO(text))
    keep: list[str] = []
    rows = []
    for row in reader:
        key = row["siren"] or row["debtor_name"]
        if key not in keep and len(keep) < debtors:
            keep.append(key)
        if key in keep:
            rows.append(row)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=reader.fieldnames, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path = folder / "small.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    return path


def overdue_debtors_with_email(on: date, export: Path = FIXTURES / "invoices_en.csv") -> dict[str, str]:
    """Independently of our parser: debtor key -> e-mail, for the debtors with an unpaid invoice due before `on`."""
    late: dict[str, str] = {}
    with export.open(encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            owed = int(row["amount_total"].replace(".", "")) - int(row["amount_paid"].replace(".", ""))
            if owed > 0 and date.fromisoformat(row["due_date"]) < on and row["email"]:
                late[row["siren"] or row["debtor_name"]] = row["email"]
    return late
