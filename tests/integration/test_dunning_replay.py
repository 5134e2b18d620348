"""120 days of the default FR policy on the French fixture: the timeline a finance team would audit, and the
evidence bundle a lawyer would file for a debtor who went through the whole ladder."""

from __future__ import annotations

import contextlib
import csv
import hashlib
import io
import json
import zipfile
from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest

from relance.adapters.calendars import closed_days
from relance.adapters.dynamo import DynamoStore
from relance.adapters.policies import load_packaged_policy
from relance.adapters.rate_tables import load_rules
from relance.domain.calendar import is_business_day
from relance.domain.late_fees import LateFeeClaim, compute_late_fees
from relance.domain.money import Money
from relance_cli import local_lambda
from relance_cli.main import main
from tests.conftest import FIXTURES, fake_aws_account, provisioned_stack, restored_environ
from tests.integration.conftest import CREDITOR, _cli_with_creditor
from tests.integration.test_mail_events import sns_event

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


# --- the evidence bundle of a debtor who went through the whole ladder (issue 8) ----------------------
# These tests come last and reuse the replay's stack: building it takes minutes.

PARTS = {"README.txt", "invoices.csv", "messages.csv", "portal_actions.csv", "payments.csv", "late_fees.csv",
         "late_fees.txt", "audit.jsonl", "audit_verification.txt", "SHA256SUMS"}


def _bounce(message_id: str, debtor_id: str, address: str) -> dict:
    return {"eventType": "Bounce",
            "bounce": {"bounceType": "Permanent", "bounceSubType": "General", "timestamp": "2025-12-29T09:00:00.000Z",
                       "bouncedRecipients": [{"emailAddress": address}]},
            "mail": {"messageId": message_id, "timestamp": "2025-12-29T08:59:00.000Z", "destination": [address],
                     "tags": {"creditor_id": [CREDITOR], "debtor_id": [debtor_id]}}}


def _delivery(message_id: str, debtor_id: str, address: str) -> dict:
    return {"eventType": "Delivery",
            "delivery": {"timestamp": "2025-12-29T08:59:02.000Z", "recipients": [address],
                         "smtpResponse": "250 2.0.0 OK"},
            "mail": {"messageId": message_id, "timestamp": "2025-12-29T08:59:00.000Z", "destination": [address],
                     "tags": {"creditor_id": [CREDITOR], "debtor_id": [debtor_id]}}}


@pytest.fixture(scope="module")
def bundle(replay, tmp_path_factory):
    """After the 120 days, SES's delivery receipt and a bounce on one mail, then `relance evidence` (twice) for a debtor whose formal
    notice left with its PDF."""
    folder = tmp_path_factory.mktemp("evidence")
    cli, store = replay["cli"], replay["store"]
    debtor_id = _whole_ladder_debtor(store, {row["debtor"] for row in replay["timeline"]})
    debtor, invoices = store.debtor_with_invoices(CREDITOR, debtor_id)
    contacts = store.contacts_of(CREDITOR, debtor_id)
    mailed = sorted(c["message_id"] for c in contacts if c.get("message_id"))
    local_lambda.invoke("MailEventsFunction", sns_event(_delivery(mailed[0], debtor_id, debtor.emails[0])))
    local_lambda.invoke("MailEventsFunction", sns_event(_bounce(mailed[0], debtor_id, debtor.emails[0])))
    code, out = cli("evidence", "--creditor", CREDITOR, "--debtor", debtor_id, "-o", str(folder / "bundle.zip"),
                    "--as-of", END.isoformat())
    assert code == 0, out
    again = folder / "again.zip"
    code, out = cli("evidence", "--creditor", CREDITOR, "--debtor", debtor_id, "-o", str(again),
                    "--as-of", END.isoformat())
    assert code == 0, out
    return {"zip": (folder / "bundle.zip").read_bytes(), "again": again.read_bytes(), "debtor": debtor,
            "invoices": invoices, "contacts": contacts, "mailed": mailed, "audit": store.audit_of(CREDITOR, debtor_id)}


def _whole_ladder_debtor(store: DynamoStore, debtor_ids: set[str]) -> str:
    """The first debtor (by id) with a formal notice sent as a PDF and an agency hand-off after it."""
    for debtor_id in sorted(debtor_ids):
        actions = {event["action"] for event in store.audit_of(CREDITOR, debtor_id)}
        if {"reminder_sent", "formal_notice_sent", "agency_handoff"} <= actions:
            return debtor_id
    raise AssertionError("no debtor went through the whole ladder in the replay")


def _files(body: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def _rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig")), delimiter=";"))


def test_the_bundle_holds_every_part_and_the_formal_notice_pdf(bundle):
    files = _files(bundle["zip"])

    notices = sorted(name for name in files if name.endswith("/mise-en-demeure.pdf"))
    sent = sorted(f"documents/{c['business_date']}/mise-en-demeure.pdf" for c in bundle["contacts"]
                  if c.get("channel") == "formal_notice" and c.get("document_keys"))
    assert PARTS <= set(files)
    assert notices == sent
    assert notices
    assert all(files[name].startswith(b"%PDF") for name in notices)
    assert any(name.endswith("/agency-file.json") for name in files)
    assert all(f"{name}: la mise en demeure telle qu'envoyée (PDF)." in files["README.txt"].decode()
               for name in notices)


def test_every_message_carries_its_ses_message_id_and_the_bounce_ses_reported(bundle):
    rows = _rows(_files(bundle["zip"])["messages.csv"])

    by_id = {row["Identifiant SES du message"]: row for row in rows if row["Identifiant SES du message"]}

    assert sorted(by_id) == bundle["mailed"]
    reported = by_id[bundle["mailed"][0]]["Événements SES (remises, rebonds, plaintes)"]
    assert "email_delivered" in reported and "250 2.0.0 OK" in reported
    assert "email_bounced" in reported and "Permanent/General" in reported
    assert {row["Canal"] for row in rows} >= {"email", "call_task", "formal_notice", "agency"}


def test_late_fee_figures_equal_the_law_engine_to_the_cent(bundle):
    rates, rulebook = load_rules()
    rows = _rows(_files(bundle["zip"])["late_fees.csv"])
    overdue = [i for i in bundle["invoices"] if i.is_overdue(END)]
    assert overdue

    for invoice in overdue:
        notice_on = min(date.fromisoformat(c["business_date"]) for c in bundle["contacts"]
                        if c.get("channel") == "formal_notice" and invoice.number in c.get("invoices", []))
        claim = LateFeeClaim(invoice.balance, invoice.due_on, "FR", debtor_kind=bundle["debtor"].kind,
                             formal_notice_on=notice_on)
        expected = compute_late_fees(claim, END, rates, rulebook)
        mine = [row for row in rows if row["Facture"] == invoice.number]
        interest = [Money.from_decimal(Decimal(row["Montant"].replace(",", ".")), "EUR") for row in mine
                    if row["Nature"] == "Pénalités de retard"]
        fee = [row["Montant"] for row in mine if row["Nature"] == "Indemnité forfaitaire de recouvrement"]
        assert sum(m.minor for m in interest) == expected.late_interest.minor, invoice.number
        assert len(interest) == len(expected.segments), invoice.number
        assert fee == [f"{expected.recovery_fee.to_decimal():.2f}".replace(".", ",")], invoice.number
    text = _files(bundle["zip"])["late_fees.txt"].decode()
    assert "articles L441-10 et D441-5 du Code de commerce" in text
    notices = [e for e in bundle["audit"] if e["action"] == "formal_notice_sent"]
    for event in notices:
        for number, line in event["notice"]["lines"].items():
            interest = Money(int(line["interest_minor"]), line["currency"])
            assert f"Facture {number} : principal" in text
            assert f"pénalités {interest.to_decimal():.2f} {interest.currency}" in text


def test_the_audit_excerpt_is_the_debtors_trail_and_the_chain_is_verified(bundle):
    files = _files(bundle["zip"])

    lines = files["audit.jsonl"].decode().splitlines()

    assert len(lines) == len(bundle["audit"])
    assert any('"action":"formal_notice_sent"' in line for line in lines)
    assert any('"action":"email_bounced"' in line for line in lines)
    assert files["audit_verification.txt"].decode().splitlines()[2].startswith("Chaîne vérifiée")


def test_sha256sums_match_and_the_same_day_gives_the_same_bytes(bundle):
    files = _files(bundle["zip"])

    sums = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())

    assert set(sums) == set(files) - {"SHA256SUMS"}
    assert all(hashlib.sha256(files[name]).hexdigest() == digest for name, digest in sums.items())
    assert bundle["zip"] == bundle["again"]
