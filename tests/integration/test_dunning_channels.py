"""The ladder's channels on moto: bounces become calls, payments stop dunning, letters are kept."""

from __future__ import annotations

import io
from datetime import UTC, date, datetime

from pypdf import PdfReader
from relance.adapters.aws import client
from relance.adapters.dynamo import DynamoStore
from tests.integration.conftest import CREDITOR, MONDAY, small_export

BOISJOLI = "siren-000144519"  # two open invoices: FA-2025-00007 (due 2025-03-08) and FA-2025-00170 (2025-07-18)


def test_a_bounced_address_turns_the_next_email_step_into_a_call_task(relance, stack, tmp_path):
    relance.json("import", str(small_export(tmp_path, debtors=1)), "--creditor", CREDITOR)
    store = DynamoStore(stack.physical["RelanceTable"])
    store.mark_undeliverable(CREDITOR, BOISJOLI, "finance.agence-boisjoli@example.fr",
                             {"action": "email_bounced", "actor": "ses"}, datetime(2025, 11, 30, tzinfo=UTC))

    relance.json("run-day", "--date", MONDAY.isoformat())

    assert relance.outbox() == []
    tasks = store.open_tasks(CREDITOR)
    assert [(t["kind"], t["debtor_id"], t["step"]) for t in tasks] == [("call", BOISJOLI, "reminder_1")]
    assert tasks[0]["phone"] == "01.99.00.15.10"
    assert "call_task_created" in [a["action"] for a in store.audit_of(CREDITOR, BOISJOLI)]


def test_a_payment_mid_ladder_stops_that_invoice_then_the_debtor(relance, stack, tmp_path):
    export = small_export(tmp_path, debtors=1)
    relance.json("import", str(export), "--creditor", CREDITOR)
    relance.json("run-days", "--from", "2025-12-01", "--to", "2025-12-01")
    export.write_text(export.read_text(encoding="utf-8").replace(",1708.08,0.00,", ",1708.08,1708.08,"),
                      encoding="utf-8")
    relance.json("import", str(export), "--creditor", CREDITOR)

    firm = relance.json("run-days", "--from", "2025-12-02", "--to", "2025-12-12")
    export.write_text(export.read_text(encoding="utf-8").replace(",123.10,0.00,", ",123.10,123.10,"),
                      encoding="utf-8")
    relance.json("import", str(export), "--creditor", CREDITOR)
    after = relance.json("run-days", "--from", "2025-12-13", "--to", "2026-02-27")

    assert [(r["step"], r["invoices"]) for r in firm["timeline"]] == [("formal_notice", ["FA-2025-00170"])]
    assert after["timeline"] == []
    index = client("dynamodb").query(
        TableName=stack.physical["RelanceTable"], IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CRED#{CREDITOR}#NEXT"}})["Items"]
    assert [i for i in index if i["debtor_id"]["S"] == BOISJOLI] == []


def test_the_formal_notice_letter_is_kept_as_sent_and_queued_for_registered_post(relance, stack, tmp_path):
    relance.json("import", str(small_export(tmp_path, debtors=1)), "--creditor", CREDITOR)

    relance.json("run-days", "--from", "2025-12-01", "--to", "2026-01-09")

    store = DynamoStore(stack.physical["RelanceTable"])
    notices = [a for a in store.audit_of(CREDITOR, BOISJOLI) if a["action"] == "formal_notice_sent"]
    assert len(notices) == 1
    pdf = client("s3").get_object(Bucket=stack.physical["DocumentsBucket"], Key=notices[0]["documents"][0])
    assert pdf["Body"].read().startswith(b"%PDF")
    assert notices[0]["documents"][0].startswith(f"creditors/{CREDITOR}/debtors/{BOISJOLI}/")
    assert "registered_post" in [t["kind"] for t in store.open_tasks(CREDITOR)]
    assert any(m["subject"].startswith("Mise en demeure") for m in relance.outbox())
    assert date.fromisoformat(notices[0]["notice"]["deadline_on"]) > MONDAY


LETTER_FIRST = """\
version: 1
policy_id: acme-letters
name: "Acme — a printed letter first"
steps:
  - {id: letter_1, offset_days: 1, channel: letter, template: reminder_friendly}
  - {id: reminder_2, offset_days: 8, channel: email, template: reminder_firm, min_days_after_previous: 5}
"""


def test_a_letter_step_keeps_a_printed_reminder_and_queues_it_for_posting(relance, stack, tmp_path):
    policy_file = tmp_path / "letters.yaml"
    policy_file.write_text(LETTER_FIRST, encoding="utf-8")
    relance.json("policy", "set", "--creditor", CREDITOR, str(policy_file))
    relance.json("import", str(small_export(tmp_path, debtors=1)), "--creditor", CREDITOR)

    relance.json("run-day", "--date", MONDAY.isoformat())

    store = DynamoStore(stack.physical["RelanceTable"])
    [letter] = [a for a in store.audit_of(CREDITOR, BOISJOLI) if a["action"] == "letter_task_created"]
    key = f"creditors/{CREDITOR}/debtors/{BOISJOLI}/{MONDAY.isoformat()}/lettre-de-relance.pdf"
    assert letter["documents"] == [key]
    [task] = [t for t in store.open_tasks(CREDITOR) if t["kind"] == "post_letter"]
    assert (task["step"], task["documents"]) == ("letter_1", [key])
    pdf = client("s3").get_object(Bucket=stack.physical["DocumentsBucket"], Key=key)["Body"].read()
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    assert "FA-2025-00007" in text and "FA-2025-00170" in text and "Agence Boisjoli SNC" in text
    assert "Objet : Rappel de paiement" in text and "http" not in text
    assert relance.outbox() == []  # a letter is posted by finance, not mailed
