"""From a French accounting export to one courteous reminder per overdue debtor, on moto."""

from __future__ import annotations

import json
from datetime import date

from relance.adapters.aws import client
from relance.adapters.dynamo import DynamoStore
from relance_cli import local_lambda
from tests.conftest import FIXTURES
from tests.integration.conftest import CREDITOR, MONDAY, overdue_debtors_with_email, small_export

# --- behaviours on a small export ------------------------------------------------------------------


def test_running_the_same_day_twice_sends_nothing_more(relance, tmp_path):
    export = small_export(tmp_path)
    relance.json("import", str(export), "--creditor", CREDITOR)
    relance.json("run-day", "--date", MONDAY.isoformat())
    first = len(relance.outbox())

    relance.json("run-day", "--date", MONDAY.isoformat())

    assert first == len(overdue_debtors_with_email(MONDAY, export)) > 1
    assert len(relance.outbox()) == first


def test_the_schedule_event_delivered_twice_sends_one_mail_per_debtor(relance, stack, tmp_path):
    export = small_export(tmp_path)
    relance.json("import", str(export), "--creditor", CREDITOR)
    event = {"business_date": MONDAY.isoformat()}

    local_lambda.invoke("DailyScanFunction", event)
    local_lambda.invoke("DailyScanFunction", event)
    drained = local_lambda.drain(stack.physical["ReminderQueue"], "SendRemindersFunction")

    expected = overdue_debtors_with_email(MONDAY, export)
    assert drained.messages == 2 * len(expected)
    assert len(relance.outbox()) == len(expected)


def test_every_sqs_record_delivered_twice_sends_one_mail_and_one_audit_event(relance, stack, tmp_path):
    relance.json("import", str(small_export(tmp_path)), "--creditor", CREDITOR)
    local_lambda.invoke("DailyScanFunction", {"business_date": MONDAY.isoformat()})
    queue = stack.physical["ReminderQueue"]
    messages = client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    event = local_lambda.sqs_event(messages, stack.arns["ReminderQueue"], "eu-west-3")

    first = local_lambda.invoke("SendRemindersFunction", event)
    second = local_lambda.invoke("SendRemindersFunction", event)

    assert first == second == {"batchItemFailures": []}
    assert len(relance.outbox()) == len(messages) > 1
    store = DynamoStore(stack.physical["RelanceTable"])
    for message in messages:
        debtor_id = json.loads(message["Body"])["debtor_id"]
        assert [a["action"] for a in store.audit_of(CREDITOR, debtor_id)] == ["reminder_sent"]
        assert [c["status"] for c in store.contacts_of(CREDITOR, debtor_id)] == ["sent"]


def test_a_job_replayed_after_its_idempotency_record_expired_still_sends_nothing(relance, stack, tmp_path):
    relance.json("import", str(small_export(tmp_path)), "--creditor", CREDITOR)
    relance.json("run-day", "--date", MONDAY.isoformat())
    sent = len(relance.outbox())
    dynamodb = client("dynamodb")
    table = stack.physical["IdempotencyTable"]
    for item in dynamodb.scan(TableName=table)["Items"]:  # forget every record, as its TTL would
        dynamodb.delete_item(TableName=table, Key={"id": item["id"]})

    local_lambda.invoke("DailyScanFunction", {"business_date": MONDAY.isoformat()})
    drained = local_lambda.drain(stack.physical["ReminderQueue"], "SendRemindersFunction")

    assert drained.failures == 0
    assert len(relance.outbox()) == sent


def test_no_mail_on_a_public_holiday_nor_a_weekend_then_the_next_business_day_catches_up(relance, tmp_path):
    export = small_export(tmp_path)
    relance.json("import", str(export), "--creditor", CREDITOR)

    christmas = relance.json("run-day", "--date", "2025-12-25")
    saturday = relance.json("run-day", "--date", "2025-12-27")
    assert relance.outbox() == []
    assert christmas["scan"]["closed"] == [CREDITOR] and saturday["scan"]["closed"] == [CREDITOR]

    relance.json("run-day", "--date", "2025-12-26")

    assert len(relance.outbox()) == len(overdue_debtors_with_email(date(2025, 12, 26), export)) > 1


def test_reimporting_the_same_invoices_in_the_other_format_changes_nothing(relance):
    relance.json("import", str(FIXTURES / "invoices_fr_excel.csv"), "--creditor", CREDITOR)

    again = relance.json("import", str(FIXTURES / "invoices_en.csv"), "--creditor", CREDITOR)

    assert (again["imported"], again["updated"], again["unchanged"]) == (0, 0, 300)


def test_a_later_export_with_a_payment_updates_the_invoice_and_spares_the_debtor(relance, tmp_path):
    export = small_export(tmp_path)
    relance.json("import", str(export), "--creditor", CREDITOR)
    text = export.read_text(encoding="utf-8")
    paid = text.replace("2025-01-07,2025-03-08,1708.08,0.00", "2025-01-07,2025-03-08,1708.08,1708.08")
    paid = paid.replace("2025-06-18,2025-07-18,123.10,0.00", "2025-06-18,2025-07-18,123.10,123.10")
    later = tmp_path / "later.csv"
    later.write_text(paid, encoding="utf-8")

    report = relance.json("import", str(later), "--creditor", CREDITOR)
    relance.json("run-day", "--date", MONDAY.isoformat())

    assert (report["updated"], report["unchanged"]) == (2, 16)
    recipients = {m["to"][0] for m in relance.outbox()}
    assert "finance.agence-boisjoli@example.fr" not in recipients
    assert len(recipients) == len(overdue_debtors_with_email(MONDAY, export)) - 1


def test_a_payment_recorded_after_the_scan_stops_the_reminder(relance, stack, tmp_path):
    export = small_export(tmp_path, debtors=1)
    relance.json("import", str(export), "--creditor", CREDITOR)
    local_lambda.invoke("DailyScanFunction", {"business_date": MONDAY.isoformat()})
    settled = export.read_text(encoding="utf-8").replace(",1708.08,0.00,", ",1708.08,1708.08,")
    settled = settled.replace(",123.10,0.00,", ",123.10,123.10,")
    export.write_text(settled, encoding="utf-8")
    relance.json("import", str(export), "--creditor", CREDITOR)

    local_lambda.drain(stack.physical["ReminderQueue"], "SendRemindersFunction")

    assert relance.outbox() == []
