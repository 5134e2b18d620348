"""Every import that creates or changes invoices leaves its trace in the audit trail: one `invoices_imported`
event per stored chunk, naming who imported, from which file, and which invoices were new or changed;
chained like every other event, so `relance audit verify` covers it. A re-import that changes nothing and
a dry run leave nothing."""

from __future__ import annotations

from datetime import UTC, datetime

from relance.adapters.audit_chain_store import DynamoAuditChain
from relance.adapters.settings import load_settings
from relance.services.audit_chain import verify_creditor

from relance_cli import local_lambda
from tests.integration.conftest import CREDITOR

HEADER = "invoice_number,debtor_name,siren,email,invoice_date,due_date,amount_total,amount_paid,currency\n"
ROWS = [
    "FA-2025-00901,Agence Boisjoli SNC,000144519,finance@boisjoli.example.fr,2025-11-01,2025-12-01,1708.08,0.00,EUR\n",
    "FA-2025-00902,Agence Boisjoli SNC,000144519,finance@boisjoli.example.fr,2025-11-03,2025-12-03,250.00,0.00,EUR\n",
    "FA-2025-00903,Garage Lefèvre SARL,000325175,compta@lefevre.example.fr,2025-11-04,2025-12-04,99.90,0.00,EUR\n",
]


def _import_events(stack) -> list[dict]:
    from relance.adapters.aws import client
    from relance.adapters.dynamo_codec import from_dynamo

    items = client("dynamodb").query(
        TableName=stack.physical["RelanceTable"], KeyConditionExpression="PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CRED#{CREDITOR}#EVENTS"}})["Items"]
    return [from_dynamo(item) for item in items if item["action"]["S"] == "invoices_imported"]


def test_an_import_records_who_imported_what_from_which_file_once_and_the_chain_verifies(relance, stack, tmp_path):
    export = tmp_path / "ventes-novembre.csv"
    export.write_text(HEADER + "".join(ROWS), encoding="utf-8")

    dry = relance.json("import", str(export), "--creditor", CREDITOR, "--dry-run")
    assert (dry["imported"], _import_events(stack)) == (3, [])  # a dry run writes nothing, no event either

    first = relance.json("import", str(export), "--creditor", CREDITOR)
    again = relance.json("import", str(export), "--creditor", CREDITOR)
    export.write_text(HEADER + ROWS[0] + ROWS[1].replace("250.00,0.00", "250.00,250.00") + ROWS[2], encoding="utf-8")
    changed = relance.json("import", str(export), "--creditor", CREDITOR)

    assert (first["imported"], again["unchanged"], changed["updated"]) == (3, 3, 1)
    events = sorted(_import_events(stack), key=lambda e: e["SK"])
    assert [(e["created"], e["updated"]) for e in events] == [
        (["FA-2025-00901", "FA-2025-00902", "FA-2025-00903"], []),  # the unchanged re-import left nothing
        ([], ["FA-2025-00902"])]
    assert all(e["source"] == "ventes-novembre.csv" and e["actor"].startswith("cli:") for e in events)
    assert events[1]["invoices"] == ["FA-2025-00902"]

    local_lambda.drain_audit_chain()
    result = verify_creditor(CREDITOR, DynamoAuditChain(load_settings().table_name), now=datetime.now(UTC))
    assert result.is_intact and result.events >= 2
