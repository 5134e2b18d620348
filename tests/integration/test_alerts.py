"""Issue 8: risk kept up to date from the table's stream, finance's alerts, and the daily digest, on moto."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import botocore.client
import pytest
from relance.adapters import keys
from relance.adapters.alerts_store import AlertsStore
from relance.adapters.aws import client
from relance.adapters.wiring import closed_for
from relance.domain.alerts import previous_business_day
from relance.domain.calendar import next_business_day
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance_cli import local_lambda
from relance_cli.outbox import read_outbox

CREDITOR = Creditor("acme", "Acme SAS", finance_emails=("finance@acme.example",), language="en")
BACKOFFICE = "http://127.0.0.1:8001"


def paris_today() -> date:
    return datetime.now(ZoneInfo("Europe/Paris")).date()


def an_invoice(number: str, due_on: date, total: int, debtor_id: str = "d1") -> Invoice:
    return Invoice("acme", debtor_id, number, due_on - timedelta(days=30), due_on, Money(total, "EUR"),
                   Money(0, "EUR"))


@pytest.fixture
def calls(monkeypatch):
    """Every AWS operation made, by name (botocore's one entry point for API calls)."""
    made: list[str] = []
    original = botocore.client.BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        made.append(operation_name)
        return original(self, operation_name, api_params)

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", counting)
    return made


@pytest.fixture
def world(stack):
    table = stack.physical["RelanceTable"]
    store = AlertsStore(table)
    store.put_creditor(CREDITOR)
    store.put_new_invoices([an_invoice("F-1", paris_today() - timedelta(days=5), 100_00)],
                           [Debtor("acme", "d1", "Client SARL", emails=("ap@client.example",))])
    local_lambda.drain_debtor_watch()
    return {"table": table, "store": store}


def band_events(store: AlertsStore) -> list[dict]:
    return [event for event in store.audit_of("acme", "d1") if event["action"] == "risk_band_changed"]


def debtor_item(world) -> dict:
    return client("dynamodb").get_item(TableName=world["table"],
                                       Key={"PK": {"S": keys.debtor_pk("acme", "d1")}, "SK": {"S": "DEBTOR"}})["Item"]


def test_a_new_debtor_is_scored_with_reasons_and_no_band_change_is_recorded(world):
    item = debtor_item(world)

    assert item["risk_band"]["S"] == "low" and "risk_score" in item and "risk_reasons" in item
    assert band_events(world["store"]) == []  # a first score sets a band, it changes none


def test_a_change_of_the_debtors_data_moves_the_band_and_writes_one_audit_event(world):
    late = an_invoice("F-2", paris_today() - timedelta(days=120), 50_000_00)
    world["store"].put_new_invoices([late], [])
    world["store"].mark_undeliverable("acme", "d1", "ap@client.example", {"action": "contact.bounced"},
                                      datetime.now(UTC))

    local_lambda.drain_debtor_watch()

    events = band_events(world["store"])
    assert [(e["band_before"], e["band_after"]) for e in events] == [("low", "medium")]
    assert debtor_item(world)["risk_band"]["S"] == "medium"


def test_an_unchanged_recompute_writes_nothing(world, calls):
    debtor = Debtor("acme", "d1", "Client SARL (renamed)", emails=("ap@client.example",))
    world["store"].update_debtor_contact(debtor)  # a change of the item that does not move the score
    calls.clear()

    report = local_lambda.drain_debtor_watch()

    assert report.messages >= 1 and report.failures == 0
    writes = [c for c in calls if c in ("PutItem", "UpdateItem", "TransactWriteItems", "BatchWriteItem")]
    assert writes == []
    assert band_events(world["store"]) == []


def test_a_digest_delivered_twice_sends_one_mail_listing_each_alert_with_its_link(world, calls):
    store = world["store"]
    day = next_business_day(paris_today(), closed_for(CREDITOR))
    since = previous_business_day(day, closed_for(CREDITOR))
    # an open balance above 10 000 € (large_amount) on an invoice entering the > 90 days bucket on `day`
    store.put_new_invoices([an_invoice("F-9", day - timedelta(days=91), 12_000_00)], [])
    # a dispute waiting exactly 7 days on `since` (no alert then) and more than 7 on `day`
    opened = since - timedelta(days=7)
    client("dynamodb").put_item(TableName=world["table"], Item={
        "PK": {"S": keys.tasks_pk("acme")}, "SK": {"S": keys.invoice_dispute_task_sk(opened, "d1", "disp-1")},
        "kind": {"S": "dispute"}, "status": {"S": "open"}, "debtor_id": {"S": "d1"}, "due_on": {"S": opened.isoformat()},
        "dispute_id": {"S": "disp-1"}, "invoices": {"L": [{"S": "F-1"}]}, "creditor_id": {"S": "acme"}})
    # a plan that breaks
    plan_key = keys.plan_key("acme", "d1", "p-1")
    plan = {"PK": {"S": plan_key["PK"]}, "SK": {"S": plan_key["SK"]}, "entity": {"S": "plan"},
            "creditor_id": {"S": "acme"}, "debtor_id": {"S": "d1"}, "plan_id": {"S": "p-1"}, "state": {"S": "active"}}
    client("dynamodb").put_item(TableName=world["table"], Item=plan)
    client("dynamodb").put_item(TableName=world["table"], Item={**plan, "state": {"S": "broken"}})
    local_lambda.drain_debtor_watch()
    calls.clear()

    first = local_lambda.invoke("AlertsDigestFunction", {"business_date": day.isoformat()})
    second = local_lambda.invoke("AlertsDigestFunction", {"business_date": day.isoformat()})

    assert (first["digests_sent"], second["digests_sent"], second["already_sent"]) == (1, 0, 1)
    mails = [m for m in read_outbox(None, "eu-west-3") if "finance@acme.example" in m.recipients]
    assert len(mails) == 1
    text, html = mails[0].text, mails[0].html
    for url in (f"{BACKOFFICE}/debtors/d1", f"{BACKOFFICE}/disputes", f"{BACKOFFICE}/plans/acme/d1/p-1"):
        assert url in text and f'href="{url}"' in html
    # (moto's in-process outbox hands non-ASCII back escaped; the rendering itself is checked in tests/unit)
    assert "12,000.00) is now more than 90 days late." in text and "Invoice F-9 (Client SARL, " in text
    assert "Debtor Client SARL owes " in text and "12,100.00, above your alert threshold." in text
    assert "installment plan p-1 is broken" in text
    assert "has been waiting" in text
    assert "Scan" not in calls
    assert store.pending_alerts("acme") == []  # the outbox is empty once mailed
    assert int(debtor_item(world)["broken_plans"]["N"]) == 1


def test_a_stream_record_delivered_twice_raises_each_alert_once(world):
    store = world["store"]
    store.put_new_invoices([an_invoice("F-5", paris_today() - timedelta(days=3), 20_000_00)], [])
    local_lambda.drain_debtor_watch()
    first = store.alerts_of_day("acme", paris_today())

    local_lambda._STREAM_POSITIONS.clear()  # every checkpoint lost: the whole stream comes again
    local_lambda.drain_debtor_watch()

    again = store.alerts_of_day("acme", paris_today())
    assert [a.alert_id for a, _at in first] == [a.alert_id for a, _at in again]
    assert [a.kind.value for a, _at in again] == ["large_amount"]
    assert len(store.pending_alerts("acme")) == 1


def test_a_debtor_becoming_high_risk_gets_one_alert_and_one_band_event_even_when_the_stream_repeats(world):
    store = world["store"]
    late = an_invoice("F-2", paris_today() - timedelta(days=120), 50_000_00)
    disputed = Invoice("acme", "d1", "F-3", paris_today() - timedelta(days=60), paris_today() - timedelta(days=30),
                       Money(200_00, "EUR"), Money(0, "EUR"), disputed=True)
    store.put_new_invoices([late, disputed], [])
    store.mark_undeliverable("acme", "d1", "ap@client.example", {"action": "contact.bounced"}, datetime.now(UTC))
    for plan_id in ("p-1", "p-2"):  # two broken plans: 15 points, the score reaches 60
        key = keys.plan_key("acme", "d1", plan_id)
        plan = {"PK": {"S": key["PK"]}, "SK": {"S": key["SK"]}, "entity": {"S": "plan"}, "creditor_id": {"S": "acme"},
                "debtor_id": {"S": "d1"}, "plan_id": {"S": plan_id}, "state": {"S": "active"}}
        client("dynamodb").put_item(TableName=world["table"], Item=plan)
        client("dynamodb").put_item(TableName=world["table"], Item={**plan, "state": {"S": "broken"}})

    local_lambda.drain_debtor_watch()
    events = band_events(store)
    local_lambda._STREAM_POSITIONS.clear()
    local_lambda.drain_debtor_watch()

    assert debtor_item(world)["risk_band"]["S"] == "high"
    assert events[-1]["band_after"] == "high" and band_events(store) == events
    kinds = sorted(a.kind.value for a, _at in store.alerts_of_day("acme", paris_today()))
    assert kinds == ["high_risk", "large_amount", "plan_broken", "plan_broken"]
    assert int(debtor_item(world)["broken_plans"]["N"]) == 2
