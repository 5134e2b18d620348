"""120 days of the default FR policy on the French fixture: the timeline a finance team would audit."""

from __future__ import annotations

import contextlib
import io
import json
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from relance.adapters.calendars import closed_days
from relance.adapters.dynamo import DynamoStore
from relance.adapters.policies import load_packaged_policy
from relance.domain.calendar import is_business_day
from relance.domain.money import Money
from relance_cli.main import main
from tests.conftest import FIXTURES, fake_aws_account, provisioned_stack, restored_environ
from tests.integration.conftest import CREDITOR, _cli_with_creditor

START, END = date(2025, 9, 1), date(2025, 12, 29)
LADDER = load_packaged_policy("fr-b2b").default
ORDER = [s.step_id for s in LADDER.steps]


@pytest.fixture(scope="module")
def replay(tmp_path_factory):
    with pytest.MonkeyPatch.context() as monkeypatch, restored_environ(), fake_aws_account(monkeypatch), \
            provisioned_stack(monkeypatch) as stack:
        cli = _cli_with_creditor(stack, tmp_path_factory.mktemp("replay"))
        cli.json("import", str(FIXTURES / "invoices_fr_excel.csv"), "--creditor", CREDITOR)
        result = cli.json("run-days", "--from", START.isoformat(), "--to", END.isoformat())
        store = DynamoStore(stack.physical["RelanceTable"])
        invoices = {}
        for entry in result["timeline"]:
            _debtor, found = store.debtor_with_invoices(CREDITOR, entry["debtor"])
            invoices.update({i.number: i for i in found})
        audits = {debtor: store.audit_of(CREDITOR, debtor) for debtor in {e["debtor"] for e in result["timeline"]}}
        yield {"result": result, "timeline": result["timeline"], "invoices": invoices, "audits": audits,
               "outbox": cli.outbox(), "tasks": store.open_tasks(CREDITOR), "cli": cli, "store": store}


def test_the_replay_runs_every_job(replay):
    assert replay["result"]["failed_jobs"] == 0
    assert len(replay["timeline"]) > 100


def test_every_contact_falls_on_a_business_day_and_at_most_once_a_day_per_debtor(replay):
    closed = closed_days("FR")
    days = [(row["date"], row["debtor"]) for row in replay["timeline"]]

    assert len(days) == len(set(days))
    assert all(is_business_day(date.fromisoformat(day), closed) for day, _debtor in days)


def test_each_invoice_climbs_the_ladder_in_order_never_twice_and_never_before_its_day(replay):
    per_invoice = defaultdict(list)
    for row in replay["timeline"]:
        for number, step in row["steps"].items():
            per_invoice[number].append((row["date"], step))

    for number, steps in per_invoice.items():
        taken = [step for _day, step in steps]
        assert taken == sorted(taken, key=ORDER.index), number
        assert len(set(taken)) == len(taken), number
        invoice = replay["invoices"][number]
        for day, step in steps:
            assert date.fromisoformat(day) >= invoice.due_on + timedelta(days=LADDER.step(step).offset_days)
        if "agency" in taken:
            assert "formal_notice" in taken, number


def test_the_whole_ladder_is_reached_within_the_120_days(replay):
    reached = {step for row in replay["timeline"] for step in row["steps"].values()}

    assert reached == set(ORDER)


def test_one_message_per_debtor_lists_all_their_invoices(replay):
    mails = [m for m in replay["outbox"] if m["reminder_id"]]
    ids = [m["reminder_id"] for m in mails]

    assert len(ids) == len(set(ids))
    mailed_rows = [r for r in replay["timeline"] if r["message_id"]]
    assert len(mails) == len(mailed_rows)
    assert {m["message_id"] for m in mails} == {r["message_id"] for r in mailed_rows}


def test_calls_formal_notices_and_agency_files_become_tasks_for_finance(replay):
    kinds = {task["kind"] for task in replay["tasks"]}

    assert {"call", "registered_post", "agency_handoff"} <= kinds


def test_a_formal_notice_the_law_engine_cannot_compute_becomes_a_task_naming_why(replay):
    manual = [task for task in replay["tasks"] if task["kind"] == "formal_notice_manual"]

    assert manual  # the fixture's French debtor with a GBP invoice: the €40 in pounds is undefined (C7)
    assert all(task["reason"] == "late_fees.recovery_fee_undefined" for task in manual)
    for task in manual:  # the audit trail says the notice was referred to finance, never that it was sent
        actions = {event["action"] for event in replay["audits"][task["debtor_id"]] if event.get("step") == task["step"]}
        assert actions == {"formal_notice_referred"}


def test_formal_notice_figures_equal_the_late_fees_command(replay, capsys):
    notices = [event for events in replay["audits"].values() for event in events
               if event["action"] == "formal_notice_sent"]
    assert notices
    assert all("notice" in event for event in notices)
    for event in sorted(notices, key=lambda e: e["reminder_id"])[:8]:
        letter_on = event["reminder_id"].rsplit(":", 1)[1]
        for number, line in event["notice"]["lines"].items():
            invoice = replay["invoices"][number]
            principal = Money(int(line["principal_minor"]), line["currency"])
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = main(["late-fees", "--jurisdiction", "FR", "--creditor", "business", "--debtor", "business",
                             "--principal", str(principal.to_decimal()), "--currency", principal.currency,
                             "--due", invoice.due_on.isoformat(), "--as-of", letter_on, "--json"])
            assert code == 0
            expected = json.loads(out.getvalue())
            assert Money.from_decimal(Decimal(expected["interest"]), principal.currency).minor \
                == int(line["interest_minor"]), number
            assert Money.from_decimal(Decimal(expected["indemnity"]), principal.currency).minor \
                == int(line["indemnity_minor"]), number


def test_the_formal_notice_mail_carries_the_pdf_letter(replay):
    notice_mails = [m for m in replay["outbox"] if m["subject"].startswith(("Mise en demeure", "Formal notice"))]

    assert notice_mails
    assert all("Date limite de paiement" in m["text"] or "Payment deadline" in m["text"] for m in notice_mails)


def test_each_debtors_summary_still_equals_their_open_invoices_after_120_days(replay):
    store = replay["store"]
    for debtor_id in replay["audits"]:
        _debtor, summary = store.dunning_view(CREDITOR, debtor_id)
        _debtor, invoices = store.debtor_with_invoices(CREDITOR, debtor_id)
        assert summary == sorted((i for i in invoices if not i.is_settled()), key=lambda i: i.number), debtor_id
