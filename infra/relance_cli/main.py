"""`relance`: the operator's command line, for the local stack and for a deployed one."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import date
from pathlib import Path
from typing import Any

from relance.domain.errors import RelanceError
from relance.domain.money import Money
from relance_cli import (
    api_keys, audit, backoffice, bank_payments, evidence, gdpr, late_fees, plans, policy, static, users,
)
from relance_cli.local_stack import DEFAULT_STACK_FILE, apply_stack_file


class CommandError(Exception):
    """A problem the operator can fix; printed as one line, exit code 2."""


def _stack_file(args: argparse.Namespace) -> Path:
    return Path(args.stack_file or os.environ.get("RELANCE_STACK_FILE") or DEFAULT_STACK_FILE)


def _connect(args: argparse.Namespace) -> dict[str, Any] | None:
    """Point this process at the local stack when there is one, else at the environment's AWS."""
    stack = apply_stack_file(_stack_file(args))
    if stack is None and not os.environ.get("RELANCE_TABLE"):
        raise CommandError(
            "no stack configured: run `make demo` for the local stack, or set RELANCE_TABLE and AWS credentials"
        )
    return stack


def _store():
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.settings import load_settings

    return DynamoStore(load_settings().table_name)


PROGRESS_WIDTH = 30


def _progress_printer(enabled: bool, stream=None, size: int = 0):
    """A callback drawing `[#####-----]  42%   123,456 rows read` on stderr: the share of the file's bytes
    consumed so far (the row count of a CSV is not known before its end) and the rows read."""
    if not enabled:
        return None

    def show(rows: int) -> None:
        bar = ""
        if stream is not None and size:
            try:
                done = min(stream.tell() / size, 1.0)
            except (OSError, ValueError):  # closed or not seekable: the row count alone
                done = None
            if done is not None:
                filled = int(done * PROGRESS_WIDTH)
                bar = f"[{'#' * filled}{'-' * (PROGRESS_WIDTH - filled)}] {done:>4.0%} "
        print(f"\r  {bar}{rows:>10,} rows read", end="", file=sys.stderr, flush=True)

    return show


# --- commands --------------------------------------------------------------------------------


def cmd_provision(args: argparse.Namespace) -> int:
    from relance_cli.local_stack import provision, write_stack_file

    if args.endpoint_url:
        os.environ["AWS_ENDPOINT_URL"] = args.endpoint_url
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-3")
    stack = provision(endpoint_url=args.endpoint_url, parameters={"PortalBaseUrl": args.portal_url})
    path = write_stack_file(stack, _stack_file(args))
    print(f"Local stack ready: {len(stack.physical)} resources from template.yaml; settings in {path}")
    return 0


def cmd_creditor_add(args: argparse.Namespace) -> int:
    from relance.domain.parties import Creditor

    _connect(args)
    creditor = Creditor(
        creditor_id=args.creditor_id, legal_name=args.name, siren=args.siren, timezone=args.timezone,
        country=args.country, language=args.language, contact_email=args.email, contact_phone=args.phone,
        address=args.address, finance_emails=tuple(args.finance_email or ()), vat_id=args.vat_id,
    )
    _store().put_creditor(creditor)
    print(f"Creditor {creditor.creditor_id} saved ({creditor.legal_name}, {creditor.country}, {creditor.timezone}).")
    return 0


def _creditor_of_seller(imports, stream, name: str, store) -> str:
    """The creditor an e-invoice file (PDF, XML, ZIP) belongs to: the one its seller names (SIREN or VAT id)."""
    from relance.domain.einvoice import SellerIds, creditor_seller_ids, same_company

    start = stream.tell()
    _, kind = imports.sniff(stream)
    seller = imports.check_file(stream, name=name).to_json().get("creditor") if kind != imports.CSV else None
    stream.seek(start)
    if not seller:
        raise CommandError("--creditor is required: a CSV, or e-invoices of several sellers, does not say whose "
                           "invoices these are (it is optional with --dry-run)")
    ids = SellerIds(seller["siren"], frozenset(seller["vat_ids"]))
    found = [c.creditor_id for c in store.list_creditors()
             if not ids.is_empty() and same_company(creditor_seller_ids(c.siren, c.vat_id), ids)]
    if len(found) != 1:
        what = "no creditor" if not found else f"several creditors ({', '.join(found)})"
        raise CommandError(f"the seller {seller['name'] or '?'} ({ids.describe()}) matches {what}; "
                           "give --creditor, or add the creditor with `relance creditor add --siren`")
    return found[0]


def cmd_imports(args: argparse.Namespace) -> int:
    """The creditor's split imports (IM3): parts counted out of all, rows so far, the report once written."""
    from relance.adapters.import_chunks_store import DynamoImportLedger
    from relance.adapters.settings import load_settings

    _connect(args)
    ledger = DynamoImportLedger(load_settings().table_name)
    imports = []
    for item in sorted(ledger.imports_of(args.creditor), key=lambda i: i["started_at"]):
        parts = item.get("parts", {})
        imports.append({"key": item["object_key"], "version_id": item.get("version_id"),
                        "started_at": item["started_at"], "status": item["status"],
                        "chunks": item["chunk_count"], "chunks_done": item.get("parts_done", 0),
                        "lines": item["lines"], "rows_done": sum(p["rows"] for p in parts.values()),
                        "errors_so_far": sum(p["errors"] for p in parts.values()),
                        "report_key": item.get("report_key")})
    if args.json:
        print(json.dumps(imports, ensure_ascii=False, indent=2))
        return 0
    if not imports:
        print("no split import for this creditor (files of one part are imported at once)")
    for entry in imports:
        share = entry["chunks_done"] / entry["chunks"]
        bar = "#" * round(20 * share) + "." * (20 - round(20 * share))
        print(f"{entry['key']}  [{bar}] {entry['chunks_done']}/{entry['chunks']} parts, "
              f"{entry['rows_done']:,} of about {entry['lines']:,} lines, {entry['errors_so_far']:,} errors"
              + (f"; report: {entry['report_key']}" if entry["report_key"] else ""))
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    from relance.services import imports

    path = Path(args.file)
    if not path.is_file():
        raise CommandError(f"no such file: {path}")
    show_progress = sys.stderr.isatty() and not args.json
    with path.open("rb") as stream:
        if args.dry_run:  # an e-invoice's seller is not checked: that needs the creditor, hence AWS
            progress = _progress_printer(show_progress, stream, path.stat().st_size)
            report = imports.check_file(stream, progress=progress, name=path.name)
        else:
            from datetime import UTC, datetime

            from relance.adapters.originals import S3OriginalPdfs
            from relance.adapters.payments_store import PaymentsStore
            from relance.adapters.s3 import S3Documents
            from relance.adapters.settings import load_settings
            from relance.adapters.wiring import closed_for, policies_for

            _connect(args)
            store = PaymentsStore(load_settings().table_name)  # a credit note is recorded like a payment
            creditor_id = args.creditor or _creditor_of_seller(imports, stream, path.name, store)
            bucket = os.environ.get("RELANCE_DOCUMENTS_BUCKET")
            originals = S3OriginalPdfs(load_settings().table_name, S3Documents(bucket)) if bucket else None
            report = imports.import_file(
                stream, creditor_id, store, closed_for, policies_for,
                progress=_progress_printer(show_progress, stream, path.stat().st_size),
                name=path.name, originals=originals, payments=store, now=datetime.now(UTC),
                actor=f"cli:{os.environ.get('USER', 'operator')}",
            )
    if show_progress:
        print(file=sys.stderr)
    result = report.to_json()
    if args.json:
        print(json.dumps(result, ensure_ascii=False, indent=2))
    else:
        verb = "would import" if args.dry_run else "imported"
        print(f"{result['rows']} rows: {verb} {result['imported']}, updated {result['updated']}, "
              f"unchanged {result['unchanged']}, {report.error_count()} errors, "
              f"{len(result['skipped']) + report.skipped_not_shown} skipped; "
              f"{result['debtors']} debtors")
        for currency, minor in result["open"].items():
            print(f"  open: {Money(minor, currency)}")
        for currency, minor in result.get("credited", {}).items():
            print(f"  credit notes: {Money(minor, currency)} {'would be ' if args.dry_run else ''}taken off")
        for error in result["errors"]:
            where = f"line {error['line']}, {error['field']}" if error["line"] else error["field"]
            print(f"  {error['file'] + ': ' if 'file' in error else ''}{where}: {error['message']}")
        if report.errors_not_shown:
            print(f"  … and {report.errors_not_shown:,} more errors (the first {len(result['errors']):,} are listed)")
        for skipped in result["skipped"]:
            if "file" in skipped:
                print(f"  {skipped['file']}: skipped ({skipped['detail'] or skipped['reason']})")
            else:
                print(f"  line {skipped['line']}: skipped ({skipped['reason']})")
    return 0


def cmd_run_day(args: argparse.Namespace) -> int:
    from relance.adapters.settings import load_settings
    from relance_cli import local_lambda

    stack = _connect(args)
    local_lambda.VERBOSE = args.verbose
    day = args.date or None
    if stack is None:
        return _run_day_deployed(args, day)
    scan, drained = local_lambda.run_local_day(load_settings().reminder_queue_url, day)
    result = {"date": day or "today", "scan": scan, "jobs": drained.messages, "failed_jobs": drained.failures}
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"Day {result['date']}: {scan['invoices_due']} invoices due for {scan['debtors_queued']} debtors "
              f"({scan['items_read']} index items read); {drained.messages} jobs run, {drained.failures} failed.")
        if scan["closed"]:
            print(f"  not a business day for: {', '.join(scan['closed'])}")
    return 0 if drained.failures == 0 else 1


def _run_day_deployed(args: argparse.Namespace, day: str | None) -> int:
    """On AWS: invoke the daily scan function; its queue's trigger then runs the jobs."""
    from relance.adapters.aws import client

    function = args.function or os.environ.get("RELANCE_DAILY_SCAN_FUNCTION")
    if not function:
        raise CommandError("on a deployed stack, name the scan function: --function NAME "
                           "(the stack output DailyScanFunctionName) or RELANCE_DAILY_SCAN_FUNCTION")
    payload = json.dumps({"business_date": day} if day else {}).encode()
    response = client("lambda").invoke(FunctionName=function, Payload=payload)
    result = json.loads(response["Payload"].read() or b"{}")
    if response.get("FunctionError"):
        raise CommandError(f"the scan failed: {result.get('errorMessage', 'see its logs')}")
    print(json.dumps(result, indent=2) if args.json else
          f"Day {day or 'today'}: {result['invoices_due']} invoices due for {result['debtors_queued']} debtors queued.")
    return 0


def cmd_run_days(args: argparse.Namespace) -> int:
    """Replay the engine day by day on the local stack and print the timeline."""
    from datetime import timedelta

    from relance.adapters.settings import load_settings
    from relance.domain.money import Money
    from relance_cli import local_lambda

    stack = _connect(args)
    if stack is None:
        raise CommandError("run-days replays the local stack; on AWS use run-day --function for one day")
    start, end = date.fromisoformat(args.start), date.fromisoformat(args.end)
    if end < start:
        raise CommandError(f"--to {end} is before --from {start}")
    settings = load_settings()
    failures = 0
    day = start
    while day <= end:
        failures += local_lambda.run_local_day(settings.reminder_queue_url, day.isoformat())[1].failures
        if sys.stderr.isatty() and not args.json:
            print(f"\r  {day.isoformat()}", end="", file=sys.stderr, flush=True)
        day += timedelta(days=1)
    store = _store()
    timeline = [
        {"date": entry["business_date"], "creditor": creditor.creditor_id, "debtor": entry["debtor_id"],
         "step": entry.get("step"), "channel": entry.get("channel"), "invoices": entry.get("invoices", []),
         "steps": entry.get("steps") or {}, "amounts": entry.get("totals", {}),
         "message_id": entry.get("message_id")}
        for creditor in store.list_creditors() for entry in store.journal(creditor.creditor_id, start, end)
    ]
    timeline.sort(key=lambda row: (row["date"], row["creditor"], row["debtor"]))
    if args.json:
        print(json.dumps({"from": start.isoformat(), "to": end.isoformat(), "failed_jobs": failures,
                          "timeline": timeline}, ensure_ascii=False, indent=2))
    else:
        if sys.stderr.isatty():
            print(file=sys.stderr)
        for row in timeline:
            amounts = " + ".join(str(Money(int(m), c)) for c, m in sorted(row["amounts"].items()))
            print(f"{row['date']}  {row['debtor']:<36} {row['step']:<15} {row['channel']:<14} "
                  f"{len(row['invoices']):>3} invoices  {amounts}")
        print(f"{len(timeline)} contacts from {start} to {end}; {failures} failed jobs")
    return 0 if failures == 0 else 1


def cmd_tasks(args: argparse.Namespace) -> int:
    _connect(args)
    tasks = _store().open_tasks(args.creditor)
    if args.json:
        print(json.dumps(tasks, ensure_ascii=False, indent=2, default=str))
    else:
        for task in tasks:
            print(f"{task['SK']}  {task['kind']:<15} {task['debtor_id']:<36} {len(task.get('invoices', []))} invoices")
        print(f"{len(tasks)} open tasks")
    return 0


def cmd_task_done(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from relance.adapters.wiring import closed_for, policies_for
    from relance.services.calls import CallOutcome, record_call_outcome

    _connect(args)
    store = _store()
    creditor = store.get_creditor(args.creditor)
    if creditor is None:
        raise CommandError(f"no creditor {args.creditor!r}")
    now = datetime.now(UTC)
    today = date.fromisoformat(args.today) if args.today else now.astimezone(ZoneInfo(creditor.timezone)).date()
    record_call_outcome(args.creditor, args.task, CallOutcome(args.outcome), today, now, args.actor, store,
                        closed_for, policies_for,
                        promised_on=date.fromisoformat(args.promised_on) if args.promised_on else None,
                        note=args.note)
    print(f"Task {args.task} closed: {args.outcome}.")
    return 0


def cmd_outbox(args: argparse.Namespace) -> int:
    from relance_cli.outbox import read_outbox

    stack = _connect(args)
    if stack is None:
        raise CommandError("the outbox reads the local stack's SES; on AWS, see the SES configuration set's events")
    mails = read_outbox(stack.get("endpoint_url"), stack["region"])[: args.limit]
    if args.json:
        print(json.dumps([
            {"message_id": m.message_id, "to": list(m.recipients), "subject": m.subject, "reminder_id": m.reminder_id,
             "text": m.text} for m in mails
        ], ensure_ascii=False, indent=2))
    else:
        print(f"{len(mails)} mails, newest first")
        for mail in mails:
            print(f"- to {', '.join(mail.recipients)}: {mail.subject}")
    return 0


def cmd_link(args: argparse.Namespace) -> int:
    """`relance link DEBTOR_ID`: issue, store and print a fresh link; `relance link revoke`: revoke them all."""
    from datetime import UTC, datetime

    from relance.adapters.portal_access import PortalAccessStore
    from relance.adapters.settings import load_settings
    from relance.adapters.wiring import link_maker

    if args.debtor_id == "revoke":
        return _revoke_links(args)
    _connect(args)
    store = _store()
    creditor_id = args.creditor
    if not creditor_id:
        creditors = store.list_creditors()
        if len(creditors) != 1:
            raise CommandError("several creditors exist: say which with --creditor")
        creditor_id = creditors[0].creditor_id
    debtor, _invoices = store.debtor_with_invoices(creditor_id, args.debtor_id)
    if debtor is None:
        raise CommandError(f"no debtor {args.debtor_id!r} for creditor {creditor_id!r}")
    settings = load_settings()
    link = link_maker(settings)(debtor, datetime.now(UTC))
    PortalAccessStore(settings.table_name).put_link(link.item)
    print(link.url)
    return 0


def _revoke_links(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from relance.adapters.portal_access import PortalAccessStore
    from relance.adapters.settings import load_settings
    from relance.services.portal_access import revoke_links

    if not args.creditor or not args.debtor:
        raise CommandError("say whose links to revoke: relance link revoke --creditor C --debtor D")
    _connect(args)
    access = PortalAccessStore(load_settings().table_name)
    version = revoke_links(args.creditor, args.debtor, args.actor, datetime.now(UTC), access)
    if version is None:
        raise CommandError(f"no debtor {args.debtor!r} for creditor {args.creditor!r}")
    print(f"Every link and open portal session of {args.debtor} is revoked (link version {version}).")
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from relance_cli import demo

    return demo.run(port=args.port, moto_port=args.moto_port, as_of=args.date, backoffice_port=args.backoffice_port)


# --- parser ----------------------------------------------------------------------------------


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from exc


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="relance", description="Relance operator's command line.")
    parser.add_argument("--stack-file", help="local stack settings (default .relance/stack.json)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    stack = commands.add_parser("stack", help="the local stack").add_subparsers(dest="stack_command", required=True)
    provision = stack.add_parser("provision", help="create template.yaml's resources on moto")
    provision.add_argument("--endpoint-url", help="moto server address, e.g. http://127.0.0.1:5000")
    provision.add_argument("--portal-url", default="http://127.0.0.1:8000", help="where debtors' links point")
    provision.set_defaults(handler=cmd_provision)

    creditor = commands.add_parser("creditor", help="creditors").add_subparsers(dest="creditor_command", required=True)
    add = creditor.add_parser("add", help="create or update a creditor")
    add.add_argument("creditor_id")
    add.add_argument("--name", required=True, help="legal name")
    add.add_argument("--siren")
    add.add_argument("--vat-id", help="intra-community VAT number (e-invoices name their seller by it or the SIREN)")
    add.add_argument("--timezone", default="Europe/Paris")
    add.add_argument("--country", default="FR", help="ISO 3166 code: public holidays come from it")
    add.add_argument("--language", default="fr", choices=["fr", "en"])
    add.add_argument("--email", help="where debtors' replies go")
    add.add_argument("--finance-email", action="append", metavar="ADDRESS",
                     help="who receives the daily alerts digest (repeat for several; none: no digest)")
    add.add_argument("--phone")
    add.add_argument("--address")
    add.set_defaults(handler=cmd_creditor_add)

    importer = commands.add_parser(
        "import", help="import invoices: an accounting export (CSV), Factur-X PDF, CII or UBL XML, or a ZIP of them")
    importer.add_argument("file")
    importer.add_argument("--creditor", help="creditor id (default for e-invoices: the one their seller names; "
                                             "not needed with --dry-run)")
    importer.add_argument("--dry-run", action="store_true", help="parse and validate only; no AWS call")
    importer.add_argument("--json", action="store_true", help="print the report as JSON")
    importer.set_defaults(handler=cmd_import)

    split_imports = commands.add_parser(
        "imports", help="files dropped in S3 and split across SQS chunks: how far each import has got")
    split_imports.add_argument("--creditor", required=True)
    split_imports.add_argument("--json", action="store_true")
    split_imports.set_defaults(handler=cmd_imports)

    run_day = commands.add_parser("run-day", help="run the daily job (local stack)")
    run_day.add_argument("--date", type=_iso_date, help="the business day to run, YYYY-MM-DD (default: today)")
    run_day.add_argument("--json", action="store_true")
    run_day.add_argument("--verbose", action="store_true", help="show the functions' logs and metrics on stderr")
    run_day.add_argument("--function", help="deployed stack: the daily scan function's name")
    run_day.set_defaults(handler=cmd_run_day)

    run_days = commands.add_parser("run-days", help="replay the engine day by day (local stack) and print the timeline")
    run_days.add_argument("--from", dest="start", type=_iso_date, required=True)
    run_days.add_argument("--to", dest="end", type=_iso_date, required=True)
    run_days.add_argument("--json", action="store_true")
    run_days.set_defaults(handler=cmd_run_days)

    tasks = commands.add_parser("tasks", help="finance's open tasks: calls, registered letters, agency files")
    tasks.add_argument("--creditor", required=True)
    tasks.add_argument("--json", action="store_true")
    tasks.set_defaults(handler=cmd_tasks)

    task = commands.add_parser("task", help="close a task").add_subparsers(dest="task_command", required=True)
    done = task.add_parser("done", help="record a call's outcome (it feeds the engine)")
    done.add_argument("task", help="the task key shown by `relance tasks`")
    done.add_argument("--creditor", required=True)
    done.add_argument("--outcome", required=True, choices=["reached", "promise", "dispute", "wrong_number"])
    done.add_argument("--promised-on", type=_iso_date, help="with --outcome promise: the date they will pay by")
    done.add_argument("--note")
    done.add_argument("--actor", default=os.environ.get("USER", "operator"))
    done.add_argument("--today", type=_iso_date, help=argparse.SUPPRESS)
    done.set_defaults(handler=cmd_task_done)

    outbox = commands.add_parser("outbox", help="mails sent through SES on the local stack, newest first")
    outbox.add_argument("--json", action="store_true")
    outbox.add_argument("--limit", type=int, default=1000)
    outbox.set_defaults(handler=cmd_outbox)

    link = commands.add_parser(
        "link", help="print a fresh personal portal link for a debtor, or revoke all of a debtor's links",
        usage="relance link DEBTOR_ID [--creditor C]\n       relance link revoke --creditor C --debtor D",
    )
    link.add_argument("debtor_id", metavar="DEBTOR_ID|revoke",
                      help="the debtor to print a fresh link for; `revoke` ends every link and session of --debtor")
    link.add_argument("--creditor")
    link.add_argument("--debtor", help="with revoke: the debtor whose links stop working at once")
    link.add_argument("--actor", default=os.environ.get("USER", "operator"), help="with revoke: who, for the audit")
    link.set_defaults(handler=cmd_link)

    demo = commands.add_parser("demo", help="run the local demo (moto server + portal); Ctrl-C stops it")
    demo.add_argument("--port", type=int, default=8000)
    demo.add_argument("--moto-port", type=int, default=5000)
    demo.add_argument("--backoffice-port", type=int, help="the finance back office's port (default: --port + 1)")
    demo.add_argument("--date", type=_iso_date, help="run the demo as of this day instead of today")
    demo.set_defaults(handler=cmd_demo)

    late_fees.register(commands)
    policy.register(commands, connect=_connect)
    plans.register(commands, connect=_connect)
    static.register(commands)
    users.register(commands, connect=_connect)
    backoffice.register(commands, connect=_connect)
    audit.register(commands, connect=_connect)
    evidence.register(commands, connect=_connect)
    api_keys.register(commands, connect=_connect)
    bank_payments.register(commands, connect=_connect)
    gdpr.register(commands, connect=_connect)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except (CommandError, RelanceError) as exc:
        print(f"relance: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
