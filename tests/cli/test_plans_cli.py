"""`relance plans queue|show|decide|propose` against a local stack on moto: what finance sees and does."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from relance.adapters.plans_store import PlansStore
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor

from relance_cli.local_stack import write_stack_file
from relance_cli.main import main
from tests.integration.conftest import CREDITOR, _cli_with_creditor

NOW = "2026-11-23T10:00:00+00:00"
DEBTOR = Debtor(CREDITOR, "d-1", "Boulangerie Dupont", emails=("ap@dupont.example",))


@pytest.fixture
def relance(stack, tmp_path, capsys):
    """`relance …` on a stack holding creditor acme and two overdue invoices of d-1; returns (exit code, out, err)."""
    _cli_with_creditor(stack, tmp_path)
    stack_file = write_stack_file(stack, tmp_path / "stack.json")
    store = PlansStore(stack.physical["RelanceTable"])
    store.put_new_invoices([
        Invoice(CREDITOR, "d-1", number, due_on - timedelta(days=30), due_on, Money(1_000_00, "EUR"), Money(0, "EUR"),
                last_step="reminder_1", last_step_on=due_on + timedelta(days=1), next_action_on=date(2026, 11, 24))
        for number, due_on in (("F-1", date(2026, 10, 1)), ("F-2", date(2026, 10, 15)))
    ], [DEBTOR])
    capsys.readouterr()

    def run(*argv: str) -> tuple[int, str, str]:
        code = main(["--stack-file", str(stack_file), *argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run


def propose(relance, *extra: str) -> dict:
    code, out, err = relance("plans", "propose", "--creditor", CREDITOR, "--debtor", "d-1", "--now", NOW,
                             "--actor", "phone@acme.example", "--json", *extra)
    assert code == 0, err
    return json.loads(out)


def test_propose_inside_the_rules_is_accepted_at_once(relance):
    code, out, _err = relance("plans", "propose", "--creditor", CREDITOR, "--debtor", "d-1", "--installments", "3",
                              "--first-on", "2026-12-15", "--down-payment", "200.00", "--now", NOW)

    assert code == 0
    assert "accepted at once" in out
    assert "2026-12-15  installment 1   600.00 EUR" in out


def test_queue_lists_a_proposal_outside_the_rules_with_the_rules_it_breaks(relance):
    plan = propose(relance, "--installments", "10", "--first-on", "2026-12-15", "--invoice", "F-1")

    code, out, _err = relance("plans", "queue", "--creditor", CREDITOR)

    assert code == 0
    assert plan["state"] == "proposed" and plan["invoices"] == [{"number": "F-1", "balance_minor": 1_000_00}]
    assert out.splitlines()[0].startswith(f"{plan['plan_id']}  d-1  1000.00 EUR  10 installments to 2027-09-15")
    assert "    breaks max_installments: limit 6, proposed 10" in out
    assert out.splitlines()[-1] == "1 proposals awaiting a decision"


def test_decide_counter_then_show_prints_the_counter_schedule_and_the_history(relance):
    plan_id = propose(relance, "--installments", "10", "--first-on", "2026-12-15")["plan_id"]

    code, out, _err = relance("plans", "decide", plan_id, "--creditor", CREDITOR, "--counter", "--actor",
                              "fin@acme.example", "--message", "4 mois maximum", "--installments", "4",
                              "--first-on", "2026-12-15", "--down-payment", "400", "--now", NOW)
    shown = json.loads(relance("plans", "show", plan_id, "--creditor", CREDITOR, "--debtor", "d-1", "--json")[1])

    assert code == 0 and out == f"Plan {plan_id} is countered (counter by fin@acme.example).\n"
    assert shown["state"] == "countered" and shown["countered"]
    assert [line["amount_minor"] for line in shown["schedule"]] == [400_00] + [400_00] * 4
    assert [(e["event"], e["actor"], e["message"]) for e in shown["history"]] == [
        ("propose", "phone@acme.example", None),
        ("counter", "fin@acme.example", "4 mois maximum")]
    assert relance("plans", "queue", "--creditor", CREDITOR, "--json")[1].strip() == "[]"


def test_a_second_decision_exits_2_saying_the_plan_was_already_decided(relance):
    plan_id = propose(relance, "--installments", "10", "--first-on", "2026-12-15")["plan_id"]
    relance("plans", "decide", plan_id, "--creditor", CREDITOR, "--approve", "--actor", "ana@acme.example")

    code, out, err = relance("plans", "decide", plan_id, "--creditor", CREDITOR, "--reject", "--actor",
                             "bob@acme.example")

    assert code == 2 and out == ""
    assert err == f"relance: plan {plan_id} is already accepted; it can no longer reject\n"


@pytest.mark.parametrize("argv, message", [
    (("decide", "nope", "--creditor", CREDITOR, "--approve", "--actor", "a@b.example"), "no plan 'nope'"),
    (("decide", "p-1", "--creditor", CREDITOR, "--counter", "--actor", "a@b.example"), "--counter needs"),
    (("propose", "--creditor", CREDITOR, "--debtor", "d-1", "--installments", "3", "--first-on", "2026-12-15",
      "--down-payment", "12.345"), "at most 2 decimals"),
    (("propose", "--creditor", CREDITOR, "--debtor", "d-1", "--installments", "3", "--first-on", "2026-12-15",
      "--invoice", "F-9"), "not open, or are disputed or already in a plan: F-9"),
])
def test_bad_input_exits_2_with_one_line(relance, argv, message):
    code, out, err = relance("plans", *argv)

    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1 and message in err
