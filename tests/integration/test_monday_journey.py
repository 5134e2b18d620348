"""The whole French fixture imported and Monday 1 December 2025 run once, on moto: what a finance team sees."""

from __future__ import annotations

import csv
import json

from relance.adapters import keys
from relance.adapters.aws import client
from relance.adapters.dynamo import DynamoStore
from tests.conftest import FIXTURES
from tests.integration.conftest import CREDITOR, MONDAY, overdue_debtors_with_email

# --- the whole French fixture, Monday 1 December 2025 (run once for this module) -------------------


def test_a_french_export_imports_every_invoice(monday):
    summary = json.loads((FIXTURES / "invoices_summary.json").read_text())

    report = monday["imported"]

    assert (report["rows"], report["imported"], report["errors"]) == (300, 300, [])
    assert report["debtors"] == summary["debtors"]
    assert report["open"] == summary["open_amount_minor_units"]


def test_the_day_sends_one_reminder_to_each_overdue_debtor(monday):
    expected = overdue_debtors_with_email(MONDAY)

    mails = monday["outbox"]

    assert monday["day"]["failed_jobs"] == 0
    assert len(mails) == len(expected) > 10
    assert sorted(m["to"][0] for m in mails) == sorted(expected.values())


def test_a_reminder_speaks_the_debtors_language_and_lists_every_late_invoice(monday):
    by_recipient = {m["to"][0]: m for m in monday["outbox"]}

    french = by_recipient["finance.agence-boisjoli@example.fr"]
    english = next(m for m in by_recipient.values() if m["subject"].startswith("Friendly reminder"))

    assert french["subject"].startswith("Relance amicale")
    assert "FA-2025-00007" in french["text"] and "FA-2025-00170" in french["text"]
    assert "FA-2025-00105" not in french["text"]  # paid in full
    assert "1\u202f708,08\u00a0€" in french["text"]
    assert "http://127.0.0.1:8000/d/" in french["text"]
    assert "£" in english["text"] and "Total due" in english["text"]


def test_each_reminder_is_recorded_as_a_sent_contact_with_its_audit_event(monday):
    store = DynamoStore(monday["stack"].physical["RelanceTable"])
    mail = monday["outbox"][0]
    debtor_id = mail["reminder_id"].split(":")[1]

    contacts = store.contacts_of(CREDITOR, debtor_id)
    audit = store.audit_of(CREDITOR, debtor_id)

    assert [(c["status"], c["business_date"]) for c in contacts] == [("sent", MONDAY.isoformat())]
    assert [(a["action"], a["actor"], a["reminder_id"]) for a in audit] == [
        ("reminder_sent", "engine", mail["reminder_id"])
    ]
    assert contacts[0]["message_id"] == audit[0]["message_id"]


def test_the_scan_reads_only_the_invoices_with_an_action_due(monday):
    scan = monday["day"]["scan"]
    index = client("dynamodb").query(
        TableName=monday["stack"].physical["RelanceTable"], IndexName="GSI1",
        KeyConditionExpression="GSI1PK = :pk", ExpressionAttributeValues={":pk": {"S": keys.next_action_pk(CREDITOR)}},
    )

    assert scan["items_read"] == scan["invoices_due"] > 0
    assert all(item["next_action_on"]["S"] > MONDAY.isoformat() for item in index["Items"])


def test_the_next_day_reads_only_what_fell_due_since(monday):
    with (FIXTURES / "invoices_en.csv").open(encoding="utf-8") as handle:
        due_monday = [r for r in csv.DictReader(handle) if r["due_date"] == MONDAY.isoformat()
                      and r["amount_total"] != r["amount_paid"]]

    tuesday = monday["cli"].json("run-day", "--date", "2025-12-02")

    assert tuesday["scan"]["items_read"] == tuesday["scan"]["invoices_due"] == len(due_monday)


