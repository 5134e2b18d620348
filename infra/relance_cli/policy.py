"""`relance policy`: check a dunning policy file, set it as a creditor's own policy, show a policy's ladders.

A creditor's own policy is stored in versions (relance.adapters.policy_store): `set` adds a version,
never rewrites one, and `show --creditor` prints the policy in force, or any earlier version.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from relance.adapters.policies import load_packaged_policy, load_policy_file
from relance.adapters.policy_store import PolicyConflict, PolicyStore, StoredPolicy
from relance.domain.errors import InvalidPolicy, UnknownPolicy
from relance.domain.money import Money
from relance.domain.parties import Creditor
from relance.domain.policy import DunningPolicy, PolicyBook, PolicySegment, PolicyStep, StepCondition
from relance.domain.policy_documents import policy_to_document

EXIT_OK = 0
EXIT_INVALID = 2

_COLUMNS = ("Step", "Day", "Channel", "Template", "Wait", "Conditions")


def register(subparsers: Any, connect: Callable[[argparse.Namespace], object] | None = None) -> None:
    """Add the `policy` command and its `check`, `set` and `show` sub-commands to the main parser's subparsers.

    `connect` points the process at the stack before `set` and `show --creditor` touch the table (the
    main command passes its own); without it the environment must already name the table.
    """
    parser = subparsers.add_parser(
        "policy",
        help="check a dunning policy file, set a creditor's own policy, show a policy",
        description="Dunning policies as data: the ladder of steps per debtor segment (docs/guide/policy).",
    )
    commands = parser.add_subparsers(dest="policy_command", required=True, metavar="COMMAND")
    connect = connect or _environment_is_the_stack

    check = commands.add_parser("check", help="validate a policy file (YAML or JSON) and list every problem")
    check.add_argument("file", help="the policy document, .yaml, .yml or .json")
    check.add_argument("--json", action="store_true", help="print the result as JSON")
    check.set_defaults(handler=run_check)

    set_ = commands.add_parser(
        "set", help="validate a policy file, then store it as a creditor's own policy (a new version)"
    )
    set_.add_argument("file", help="the policy document, .yaml, .yml or .json")
    set_.add_argument("--creditor", required=True, help="the creditor whose policy this becomes")
    set_.add_argument("--json", action="store_true", help="print the result as JSON")
    set_.set_defaults(handler=run_set, connect=connect)

    show = commands.add_parser(
        "show", help="print a packaged policy's ladders, or the policy a creditor is dunned with"
    )
    show.add_argument("policy_id", nargs="?", help="a packaged policy, e.g. fr-b2b or uk-b2b")
    show.add_argument("--creditor", help="show this creditor's policy in force (its own, else its packaged one)")
    show.add_argument("--version", type=int, help="with --creditor: an earlier version of its own policy")
    show.add_argument("--json", action="store_true", help="print the policy document as JSON")
    show.set_defaults(handler=run_show, connect=connect)


def run_check(args: argparse.Namespace) -> int:
    """Exit 0 and a summary of each ladder when the file is valid, else exit 2 and one line per problem."""
    book, problems = _read(args.file)
    if book is not None:
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
    return _report_invalid(args, problems)


def run_set(args: argparse.Namespace) -> int:
    """Store a valid file as the creditor's next policy version; an invalid one is reported and nothing stored."""
    book, problems = _read(args.file)
    if book is None:
        return _report_invalid(args, problems)
    policies = _policy_store(args)
    if policies is None or _creditor(args) is None:
        return EXIT_INVALID
    try:
        result = policies.set(args.creditor, book, now=datetime.now(UTC), source=Path(args.file).name)
    except PolicyConflict as exc:
        return _fail(str(exc))
    stored = result.stored
    if args.json:
        print(json.dumps({"creditor": args.creditor, "changed": result.changed, **_version_fields(stored)},
                         ensure_ascii=False, indent=2))
    elif result.changed:
        print(f"{args.creditor}: policy {stored.policy_id} stored as version {stored.version} "
              f"({stored.checksum[:19]}…); it applies to the next step of every invoice.")
    else:
        print(f"{args.creditor}: this policy is already version {stored.version}, in force since "
              f"{stored.set_at:%Y-%m-%d %H:%M} UTC; nothing stored.")
    return EXIT_OK


def _read(file: str) -> tuple[PolicyBook | None, list[tuple[str, str]]]:
    """The policy book in `file`, or None and every problem found in it."""
    try:
        return load_policy_file(file), []
    except InvalidPolicy as exc:
        return None, list(exc.problems)
    except OSError as exc:
        return None, [("(file)", f"cannot read {file}: {exc.strerror or exc}")]


def _report_invalid(args: argparse.Namespace, problems: list[tuple[str, str]]) -> int:
    """One line per problem (or JSON), a summary on stderr, exit 2."""
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
    """Print a policy's default ladder and each segment's as readable tables (or its document as JSON)."""
    if args.creditor is None:
        if args.policy_id is None or args.version is not None:
            return _fail("name a packaged policy (e.g. fr-b2b), or a creditor with --creditor [--version N]")
        return _show_packaged(args)
    if args.policy_id is not None:
        return _fail("give a packaged policy id or --creditor, not both")
    return _show_creditor(args)


def _show_packaged(args: argparse.Namespace) -> int:
    try:
        book = load_packaged_policy(args.policy_id)
    except (UnknownPolicy, InvalidPolicy) as exc:
        return _fail(str(exc))
    if args.json:
        print(json.dumps({"source": "packaged", "policy": policy_to_document(book)}, ensure_ascii=False, indent=2))
    else:
        print(_tables(book))
    return EXIT_OK


def _show_creditor(args: argparse.Namespace) -> int:
    """The creditor's version asked for, else its version in force, else the packaged policy its profile names."""
    policies = _policy_store(args)
    creditor = _creditor(args) if policies is not None else None
    if policies is None or creditor is None:
        return EXIT_INVALID
    versions = [stored.version for stored in policies.versions(args.creditor)]
    current = policies.current(args.creditor)
    stored = current if args.version is None else policies.version(args.creditor, args.version)
    if args.version is not None and stored is None:
        known = f"versions {versions[0]} to {versions[-1]}" if versions else "no policy of its own yet"
        return _fail(f"{args.creditor} has no policy version {args.version}: {known}")
    book = stored.book if stored is not None else load_packaged_policy(creditor.policy_id)
    in_force = stored is not None and current is not None and stored.version == current.version
    if args.json:
        fields = _version_fields(stored) if stored is not None else {"policy_id": book.default.policy_id}
        print(json.dumps({"creditor": args.creditor, "source": "custom" if stored else "packaged",
                          "in_force": in_force or stored is None, "versions": versions, **fields,
                          "policy": policy_to_document(book)}, ensure_ascii=False, indent=2))
        return EXIT_OK
    if stored is None:
        print(f"{args.creditor}: packaged policy {creditor.policy_id} (no policy of its own set)\n")
    else:
        status = "in force" if in_force else f"not in force (version {current.version} is)"
        print(f"{args.creditor}: own policy, version {stored.version} of {len(versions)}, {status}; set "
              f"{stored.set_at:%Y-%m-%d %H:%M} UTC from {stored.source or 'a file'}\n")
    print(_tables(book))
    return EXIT_OK


def _tables(book: PolicyBook) -> str:
    return "\n\n".join(_ladder_table(policy, title) for policy, title in _ladders(book))


def _version_fields(stored: StoredPolicy) -> dict[str, Any]:
    return {"version": stored.version, "policy_id": stored.policy_id, "checksum": stored.checksum,
            "set_at": stored.set_at.isoformat(), "file": stored.source}


def _policy_store(args: argparse.Namespace) -> PolicyStore | None:
    """The store of the stack the command line points at; None (and a message) when none is configured."""
    args.connect(args)
    from relance.adapters.settings import load_settings

    try:
        return PolicyStore(load_settings().table_name)
    except RuntimeError as exc:
        _fail(str(exc))
        return None


def _creditor(args: argparse.Namespace) -> Creditor | None:
    """The creditor named by --creditor; None (and a message) when it does not exist."""
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.settings import load_settings

    creditor = DynamoStore(load_settings().table_name).get_creditor(args.creditor)
    if creditor is None:
        _fail(f"no creditor {args.creditor!r}; create it first with `relance creditor add`")
    return creditor


def _environment_is_the_stack(_args: argparse.Namespace) -> None:
    """Without the main command's stack file, the environment (RELANCE_TABLE) already names the table."""


def _fail(message: str) -> int:
    print(f"relance: {message}", file=sys.stderr)
    return EXIT_INVALID


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
