"""`relance policy`: check a dunning policy file, show a packaged policy's ladders as a table."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from relance.adapters.policies import load_packaged_policy, load_policy_file
from relance.domain.errors import InvalidPolicy, UnknownPolicy
from relance.domain.money import Money
from relance.domain.policy import DunningPolicy, PolicyBook, PolicySegment, PolicyStep, StepCondition
from relance.domain.policy_documents import policy_to_document

EXIT_OK = 0
EXIT_INVALID = 2

_COLUMNS = ("Step", "Day", "Channel", "Template", "Wait", "Conditions")


def register(subparsers: Any) -> None:
    """Add the `policy` command and its `check` and `show` sub-commands to the main parser's subparsers."""
    parser = subparsers.add_parser(
        "policy",
        help="check a dunning policy file, or show a packaged policy",
        description="Dunning policies as data: the ladder of steps per debtor segment (docs/guide/policy).",
    )
    commands = parser.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")

    check = commands.add_parser("check", help="validate a policy file (YAML or JSON) and list every problem")
    check.add_argument("file", help="the policy document, .yaml, .yml or .json")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler=run_check)

    show = commands.add_parser("show", help="print a packaged policy's ladders as a table")
    show.add_argument("policy_id", help="a packaged policy, e.g. fr-b2b or uk-b2b")
    show.set_defaults(handler=run_show)


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 and a summary of each ladder when the file is valid, else exit 2 and one line per problem."""
    try:
        book = load_policy_file(args.file)
    except InvalidPolicy as exc:
        problems = list(exc.problems)
    except OSError as exc:
        problems = [("(file)", f"cannot read {args.file}: {exc.strerror or exc}")]
    else:
        if args.json:
            print(
                json.dumps(
                    {"valid": True, "file": args.file, "policy": policy_to_document(book)},
                    ensure_ascii=False,
                    indent=2,
                )
            )
        else:
            ladders = 1 + len(book.segments)
            plural = "s" if ladders > 1 else ""
            print(f"{args.file}: valid policy {book.default.policy_id}, {ladders} ladder{plural}")
            print(f"  {book.default.policy_id} (default): {_summary(book.default)}")
            for segment in book.segments:
                print(f"  {segment.policy.policy_id} ({_audience(segment)}): {_summary(segment.policy)}")
        return EXIT_OK
    if args.json:
        print(
            json.dumps(
                {
                    "valid": False,
                    "file": args.file,
                    "problems": [{"path": path, "message": message} for path, message in problems],
                },
                ensure_ascii=False,
                indent=2,
            )
        )
    else:
        for path, message in problems:
            print(f"{path}: {message}")
        count = len(problems)
        print(
            f"relance: {args.file} is not a valid policy: {count} problem{'s' if count > 1 else ''}",
            file=sys.stderr,
        )
    return EXIT_INVALID


def run_show(args: argparse.Namespace) -> int:
    """Print the packaged policy's default ladder and each segment's as readable tables."""
    try:
        book = load_packaged_policy(args.policy_id)
    except (UnknownPolicy, InvalidPolicy) as exc:
        print(f"relance: {exc}", file=sys.stderr)
        return EXIT_INVALID
    print("\n\n".join(_ladder_table(policy, title) for policy, title in _ladders(book)))
    return EXIT_OK


def _ladders(book: PolicyBook) -> list[tuple[DunningPolicy, str]]:
    ladders = [
        (book.default, f"{book.default.policy_id} — {book.default.name} (default: every other debtor)")
    ]
    for number, segment in enumerate(book.segments, start=1):
        ladders.append(
            (
                segment.policy,
                f"{segment.policy.policy_id} — {segment.policy.name} "
                f"(segment {number}: {_audience(segment)})",
            )
        )
    return ladders


def _ladder_table(policy: DunningPolicy, title: str) -> str:
    start, end = policy.sending_hours
    rows = [_COLUMNS] + [_row(step) for step in policy.steps]
    widths = [max(len(row[column]) for row in rows) for column in range(len(_COLUMNS))]
    lines = [
        title,
        f"e-mails {start:%H:%M}-{end:%H:%M} · promise grace {policy.promise_grace_days} days · "
        f"promises up to {policy.max_promise_days} days · "
        f"formal notice deadline {policy.formal_notice_deadline_days} days",
        "",
    ]
    for index, row in enumerate(rows):
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * width for width in widths))
    lines.append("Day: days from the due date J. Wait: minimum days after the previous step taken.")
    return "\n".join(lines)


def _row(step: PolicyStep) -> tuple[str, ...]:
    conditions = ["required"] if step.required else []
    conditions += _conditions(step.condition)
    return (
        step.step_id,
        _day(step.offset_days),
        step.channel.value,
        step.template,
        str(step.min_days_after_previous),
        "; ".join(conditions) or "-",
    )


def _conditions(condition: StepCondition) -> list[str]:
    parts = [
        f"overdue >= {Money(minor, currency)}" for currency, minor in condition.min_overdue_minor.items()
    ]
    if condition.risk_bands:
        parts.append(f"risk {', '.join(condition.risk_bands)}")
    if condition.debtor_kinds:
        parts.append(f"{', '.join(kind.value for kind in condition.debtor_kinds)} only")
    return parts


def _summary(policy: DunningPolicy) -> str:
    return " · ".join(
        f"{step.step_id} {_day(step.offset_days)} {step.channel.value}" for step in policy.steps
    )


def _audience(segment: PolicySegment) -> str:
    parts = []
    if segment.debtor_kinds:
        parts.append(" or ".join(kind.value for kind in segment.debtor_kinds) + " debtors")
    if segment.risk_bands:
        parts.append("risk " + " or ".join(segment.risk_bands))
    return ", ".join(parts)


def _day(offset_days: int) -> str:
    return "J" if offset_days == 0 else f"J{offset_days:+d}"
