"""`relance plans`: finance's queue of installment plan proposals, a plan's schedule and history, decisions,
and a proposal on a debtor's behalf (what the portal will call; useful with a debtor on the phone).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from relance.domain.money import MINOR_DIGITS, Money

EXIT_INVALID = 2


class _BadInput(Exception):
    """A problem the operator can fix; printed as one line, exit code 2."""


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object]) -> None:
    """Add `plans queue|show|decide|propose` to the main parser's subparsers; `connect` points at the stack."""
    parser = subparsers.add_parser("plans", help="installment plans: finance's queue, show, decide, propose")
    commands = parser.add_subparsers(dest="plans_command", required=True, metavar="COMMAND")

    queue = commands.add_parser("queue", help="proposals awaiting finance's decision, with the rules they break")
    queue.add_argument("--creditor", required=True)
    queue.add_argument("--json", action="store_true")
    queue.set_defaults(handler=_guarded(run_queue), connect=connect)

    show = commands.add_parser("show", help="a plan's schedule, state and history")
    show.add_argument("plan_id", metavar="PLAN_ID")
    show.add_argument("--creditor", required=True)
    show.add_argument("--debtor", help="the debtor holding the plan (found from the plan id when left out)")
    show.add_argument("--json", action="store_true")
    show.set_defaults(handler=_guarded(run_show), connect=connect)

    decide = commands.add_parser("decide", help="approve, reject or counter a proposal in the queue")
    decide.add_argument("plan_id", metavar="PLAN_ID")
    decide.add_argument("--creditor", required=True)
    decide.add_argument("--debtor", help=argparse.SUPPRESS)
    choice = decide.add_mutually_exclusive_group(required=True)
    choice.add_argument("--approve", dest="decision", action="store_const", const="approve")
    choice.add_argument("--reject", dest="decision", action="store_const", const="reject")
    choice.add_argument("--counter", dest="decision", action="store_const", const="counter",
                        help="propose another schedule (with --installments and --first-on)")
    decide.add_argument("--actor", required=True, help="who decides (finance user's e-mail), for the audit")
    decide.add_argument("--message", help="the reason, shown to the debtor and kept in the audit")
    _schedule_arguments(decide, required=False)
    decide.add_argument("--now", type=_instant, help=argparse.SUPPRESS)
    decide.add_argument("--json", action="store_true")
    decide.set_defaults(handler=_guarded(run_decide), connect=connect)

    propose = commands.add_parser("propose", help="propose a plan for a debtor (accepted at once if inside the rules)")
    propose.add_argument("--creditor", required=True)
    propose.add_argument("--debtor", required=True)
    _schedule_arguments(propose, required=True)
    propose.add_argument("--invoice", action="append", dest="invoices", metavar="NUMBER",
                         help="an invoice the plan covers (repeat); default: every overdue invoice")
    propose.add_argument("--reason", default="", help="why the debtor asks for time")
    propose.add_argument("--actor", default=os.environ.get("USER", "operator"),
                         help="who records it on the debtor's behalf, for the audit")
    propose.add_argument("--now", type=_instant, help=argparse.SUPPRESS)
    propose.add_argument("--json", action="store_true")
    propose.set_defaults(handler=_guarded(run_propose), connect=connect)


def _schedule_arguments(parser: argparse.ArgumentParser, required: bool) -> None:
    parser.add_argument("--installments", type=_count, required=required, metavar="N")
    parser.add_argument("--first-on", type=_day, required=required, metavar="YYYY-MM-DD")
    parser.add_argument("--down-payment", metavar="AMOUNT", help="e.g. 200.00 (default: none)")
    parser.add_argument("--currency", default="EUR", help="of --down-payment (default EUR)")


def _guarded(handler: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except _BadInput as exc:
            print(f"relance: {exc}", file=sys.stderr)
            return EXIT_INVALID

    return run


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from exc


def _instant(text: str) -> datetime:
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected an ISO 8601 instant, got {text!r}") from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _count(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of installments, at least 1, got {text!r}")
    return int(text)


def _money(text: str, currency: str) -> Money:
    currency = currency.upper()
    if currency not in MINOR_DIGITS:
        raise _BadInput(f"unsupported currency {currency!r}; expected one of {', '.join(sorted(MINOR_DIGITS))}")
    try:
        amount = Decimal(text.replace(",", "."))
    except InvalidOperation:
        raise _BadInput(f"expected an amount like 200.00, got {text!r}") from None
    if amount < 0 or amount != amount.quantize(Decimal(1).scaleb(-MINOR_DIGITS[currency])):
        raise _BadInput(f"expected a positive amount with at most {MINOR_DIGITS[currency]} decimals, got {text!r}")
    return Money(int(amount.scaleb(MINOR_DIGITS[currency])), currency)


def _terms(args: argparse.Namespace):
    from relance.services.plans import ScheduleTerms

    down = _money(args.down_payment, args.currency) if args.down_payment else None
    return ScheduleTerms(args.installments, args.first_on, down)


def _store(args: argparse.Namespace):
    from relance.adapters.plans_store import PlansStore
    from relance.adapters.settings import load_settings

    args.connect(args)
    return PlansStore(load_settings().table_name)


def _owner(store: Any, creditor_id: str, plan_id: str, debtor_id: str | None) -> str:
    owner = debtor_id or store.plan_owner(creditor_id, plan_id)
    if owner is None:
        raise _BadInput(f"no plan {plan_id!r} for creditor {creditor_id!r}")
    return owner


def _now(args: argparse.Namespace) -> datetime:
    return args.now or datetime.now(UTC)


# --- commands ------------------------------------------------------------------------------------


def run_queue(args: argparse.Namespace) -> int:
    """Print finance's queue, oldest proposal first, each with the rules it breaks."""
    queue = _store(args).plan_queue(args.creditor)
    rows = [{key: line.get(key) for key in ("plan_id", "debtor_id", "proposed_at", "debt_minor", "currency",
                                            "installments", "last_on", "invoices", "broken_rules", "reason")}
            for line in queue]
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0
    for row in rows:
        debt = Money(row["debt_minor"], row["currency"])
        print(f"{row['plan_id']}  {row['debtor_id']}  {debt}  {row['installments']} installments to {row['last_on']}"
              f"  proposed {row['proposed_at']}")
        for breach in row["broken_rules"]:
            print(f"    breaks {breach['rule']}: limit {breach['limit']}, proposed {breach['proposed']}")
    print(f"{len(rows)} proposals awaiting a decision")
    return 0


def plan_document(stored: Any) -> dict[str, Any]:
    """A stored plan as JSON for the command line: schedule in force, state, rules broken, history."""
    plan = stored.plan
    breaches = plan.evaluation.broken_rules if plan.evaluation else ()
    from relance.adapters.plans_store import display_value

    return {
        "plan_id": plan.plan_id, "creditor_id": stored.creditor_id, "debtor_id": stored.debtor_id,
        "state": plan.state.value, "version": stored.version, "proposed_on": plan.proposed_on.isoformat(),
        "accepted_on": plan.accepted_on.isoformat() if plan.accepted_on else None,
        "invoices": [{"number": i.number, "balance_minor": i.balance.minor} for i in plan.proposal.invoices],
        "currency": plan.currency, "debt_minor": plan.proposal.debt.minor,
        "countered": plan.counter is not None,
        "schedule": [{"number": line.number, "due_on": line.due_on.isoformat(), "amount_minor": line.amount.minor}
                     for line in plan.lines],
        "broken_rules": [{"rule": b.rule.value, "limit": display_value(b.limit),
                          "proposed": display_value(b.proposed)} for b in breaches],
        "reason": plan.proposal.reason or None,
        "history": list(stored.log),
    }


def _print_plan(document: dict[str, Any]) -> None:
    currency = document["currency"]
    print(f"Plan {document['plan_id']} of {document['debtor_id']}: {document['state']}"
          f" ({Money(document['debt_minor'], currency)}, invoices {', '.join(i['number'] for i in document['invoices'])})")
    label = "counter schedule" if document["countered"] else "schedule"
    print(f"  {label}:")
    for line in document["schedule"]:
        name = "down payment" if line["number"] == 0 else f"installment {line['number']}"
        print(f"    {line['due_on']}  {name:<15} {Money(line['amount_minor'], currency)}")
    for breach in document["broken_rules"]:
        print(f"  breaks {breach['rule']}: limit {breach['limit']}, proposed {breach['proposed']}")
    print("  history:")
    for entry in document["history"]:
        message = f"  ({entry['message']})" if entry.get("message") else ""
        print(f"    {entry['at']}  {entry['event']:<20} -> {entry['to_state']:<10} by {entry['actor']}{message}")


def run_show(args: argparse.Namespace) -> int:
    """Print a plan: its schedule in force, its state, the rules it broke and its history."""
    store = _store(args)
    stored = store.find_plan(args.creditor, _owner(store, args.creditor, args.plan_id, args.debtor), args.plan_id)
    if stored is None:
        raise _BadInput(f"no plan {args.plan_id!r} for creditor {args.creditor!r} and debtor {args.debtor!r}")
    document = plan_document(stored)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        _print_plan(document)
    return 0


def run_decide(args: argparse.Namespace) -> int:
    """Approve, reject or counter a proposal; exactly one decision wins when two are taken at once."""
    from relance.adapters.wiring import closed_for, policies_for
    from relance.services.plans import decide_plan

    has_terms = args.installments is not None or args.first_on is not None
    if args.decision == "counter" and (args.installments is None or args.first_on is None):
        raise _BadInput("--counter needs the schedule finance offers: --installments N --first-on YYYY-MM-DD")
    if args.decision != "counter" and (has_terms or args.down_payment):
        raise _BadInput(f"--installments, --first-on and --down-payment go with --counter, not --{args.decision}")
    store = _store(args)
    debtor_id = _owner(store, args.creditor, args.plan_id, args.debtor)
    counter = _terms(args) if args.decision == "counter" else None
    stored = decide_plan(args.creditor, debtor_id, args.plan_id, args.decision, args.actor, args.message,
                         _now(args), store, policies_for, closed_for, counter=counter, notify=_notifier())
    document = plan_document(stored)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
    else:
        print(f"Plan {args.plan_id} is {document['state']} ({args.decision} by {args.actor}).")
    return 0


def run_propose(args: argparse.Namespace) -> int:
    """Propose a plan for a debtor: accepted at once inside the creditor's rules, else queued for finance."""
    from relance.adapters.wiring import closed_for, policies_for
    from relance.services.plans import propose_plan

    store = _store(args)
    stored = propose_plan(args.creditor, args.debtor, args.invoices, _terms(args), args.reason, _now(args), store,
                          policies_for, closed_for, actor=args.actor)
    document = plan_document(stored)
    if args.json:
        print(json.dumps(document, ensure_ascii=False, indent=2))
        return 0
    if document["state"] == "accepted":
        print(f"Plan {document['plan_id']} accepted at once: inside the plan rules; its invoices leave the daily scan.")
    else:
        rules = ", ".join(b["rule"] for b in document["broken_rules"])
        print(f"Plan {document['plan_id']} is in finance's queue: it breaks {rules}.")
    _print_plan(document)
    return 0


def _notifier():
    """Finance's decision mailed to the debtor, as the back office does (none without a sender address)."""
    from relance.adapters.portal_access import PortalAccessStore
    from relance.adapters.ses import SesMailer
    from relance.adapters.settings import load_settings
    from relance.adapters.wiring import link_maker, plan_notifier, utc_now

    settings = load_settings()
    if not settings.sender_address:
        return None
    return plan_notifier(SesMailer(settings.sender_address, settings.configuration_set),
                         PortalAccessStore(settings.table_name), link_maker(settings), utc_now)
