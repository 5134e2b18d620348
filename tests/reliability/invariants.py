"""Checks that must hold after any fault: money adds up, no reminder after the settling payment, at most one
contact per debtor and day, the audit chain verifies, and no personal data reaches the logs.

Each check reads the moto account directly (a Scan is fine here: this is a test, not an access pattern) and
raises AssertionError naming what broke.
"""

from __future__ import annotations

import io
import contextlib
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from relance.adapters.aws import client
from relance.adapters.dynamo_codec import from_dynamo
from relance_cli.outbox import read_outbox

REGION = "eu-west-3"
FIXTURE_IBANS = ("DE89370400440532013000", "DE89 3704 0044 0532 0130 00", "FR7630006000011234567890189")


def items(table_name: str) -> list[dict[str, Any]]:
    """Every item of the table, decoded."""
    found: list[dict[str, Any]] = []
    for page in client("dynamodb").get_paginator("scan").paginate(TableName=table_name):
        found.extend(from_dynamo(raw) for raw in page["Items"])
    return found


def money_adds_up(table_name: str) -> None:
    """Per debtor and currency: what payments brought equals what they allocated to invoices plus the debtor's
    unallocated credit, every allocation matches the payment's own invoices, and no invoice is paid beyond its total."""
    everything = items(table_name)
    received: dict[tuple[str, str], int] = defaultdict(int)
    allocated: dict[tuple[str, str], int] = defaultdict(int)
    kept_as_credit: dict[tuple[str, str], int] = defaultdict(int)
    for item in everything:
        if item.get("entity") != "payment" or item.get("status") != "succeeded":
            continue
        key = (item["debtor_id"], item["currency"])
        refunded = int(item.get("refunded_minor") or 0)
        shares = sum(int(share["minor"]) for share in item.get("allocations") or [])
        credit = int(item.get("credit_minor") or 0)
        assert int(item["amount_minor"]) - refunded == shares + credit, (
            f"payment {item['payment_id']}: {item['amount_minor']} - {refunded} refunded != {shares} allocated + "
            f"{credit} unallocated")
        received[key] += int(item["amount_minor"]) - refunded
        allocated[key] += shares
        kept_as_credit[key] += credit
    for key in received:
        assert received[key] == allocated[key] + kept_as_credit[key], key
    stored_credit = {(item["debtor_id"], name.removeprefix("minor_")): int(value)
                     for item in everything if item.get("entity") == "credit"
                     for name, value in item.items() if name.startswith("minor_")}
    for key in set(stored_credit) | {k for k, v in kept_as_credit.items() if v}:
        assert stored_credit.get(key, 0) == kept_as_credit.get(key, 0), (
            f"{key}: stored credit {stored_credit.get(key, 0)} != unallocated {kept_as_credit.get(key, 0)}")
    for item in everything:
        if item.get("entity") == "invoice":
            assert 0 <= int(item["paid_minor"]) <= int(item["total_minor"]), f"invoice {item['number']} overpaid"


def settled_at(table_name: str) -> dict[tuple[str, str], datetime]:
    """(debtor, invoice number) -> the instant the payment that brought its balance to zero was recorded."""
    everything = items(table_name)
    totals = {(i["debtor_id"], i["number"]): int(i["total_minor"]) for i in everything if i.get("entity") == "invoice"}
    imported = {(i["debtor_id"], i["number"]): int(i["paid_minor"]) for i in everything if i.get("entity") == "invoice"}
    payments = sorted((i for i in everything if i.get("entity") == "audit" and i.get("action") == "payment_received"),
                      key=lambda i: i["at"])
    paid: dict[tuple[str, str], int] = defaultdict(int)
    for event in payments:  # what the payments brought, to find what was paid before them (at import)
        for number, minor in (event.get("allocations") or {}).items():
            paid[(event["debtor_id"], number)] += int(minor)
    running = {key: imported[key] - paid.get(key, 0) for key in imported}
    settled: dict[tuple[str, str], datetime] = {}
    for event in payments:
        for number, minor in (event.get("allocations") or {}).items():
            key = (event["debtor_id"], number)
            running[key] = running.get(key, 0) + int(minor)
            if key in totals and running[key] >= totals[key] and key not in settled:
                settled[key] = datetime.fromisoformat(event["at"])
    return settled


def no_reminder_after_settlement(table_name: str) -> int:
    """No contact was sent about an invoice after the payment that settled it was recorded; returns how many
    (contact, invoice) pairs were checked."""
    settled = settled_at(table_name)
    checked = 0
    for item in items(table_name):
        if item.get("entity") != "contact" or item.get("status") != "sent":
            continue
        sent_at = datetime.fromisoformat(item["sent_at"])
        for number in item.get("invoices") or []:
            paid_at = settled.get((item["debtor_id"], number))
            checked += 1
            assert paid_at is None or sent_at <= paid_at, (
                f"{item['debtor_id']} was contacted at {sent_at} about {number}, settled at {paid_at}")
    return checked


def one_contact_per_debtor_per_day(table_name: str) -> Counter:
    """At most one mail per reminder id (debtor and business day) in SES's outbox, and every mail's contact
    recorded; returns the count of mails per reminder id."""
    mails = [m for m in read_outbox(None, REGION) if m.reminder_id]
    per_contact = Counter(m.reminder_id for m in mails)
    duplicated = {rid: n for rid, n in per_contact.items() if n > 1}
    assert not duplicated, f"more than one mail for the same debtor and day: {duplicated}"
    days = Counter((i["debtor_id"], i["business_date"]) for i in items(table_name) if i.get("entity") == "contact")
    assert all(n == 1 for n in days.values()), days
    return per_contact


def audit_chain_verifies(cli: Any, creditor_id: str) -> None:
    """The creditor's hash chain, once the stream is drained, verifies end to end (`relance audit verify`)."""
    from relance_cli import local_lambda

    local_lambda.drain_audit_chain()
    code, out = cli("audit", "verify", "--creditor", creditor_id)
    assert code == 0, out


def no_personal_data(logs: str, personal: Iterable[str]) -> None:
    """None of the fixtures' e-mails, names or IBANs appears in the captured logs."""
    lowered = logs.lower()
    leaked = sorted({value for value in personal if value and value.lower() in lowered})
    assert not leaked, f"personal data in the logs: {leaked}"


def fixture_personal_data(export_text: str) -> set[str]:
    """The names and e-mail addresses of a CSV export (the English fixture's columns), and test IBANs."""
    import csv

    found: set[str] = set(FIXTURE_IBANS)
    for row in csv.DictReader(io.StringIO(export_text)):
        found.update(value for value in (row.get("debtor_name"), row.get("email")) if value)
    return found


@contextlib.contextmanager
def verbose_lambdas():
    """Send the local handlers' Powertools logs to stderr, where capsys/capfd can read them."""
    from relance_cli import local_lambda

    saved, local_lambda.VERBOSE = local_lambda.VERBOSE, True
    try:
        yield
    finally:
        local_lambda.VERBOSE = saved
