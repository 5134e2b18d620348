"""Take one debtor's dunning step of the day, once, and record it with its audit event."""

from __future__ import annotations

from collections.abc import Callable, Container
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from relance.adapters import keys
from relance.adapters.dynamo import ContactRecord, DynamoStore, VersionConflict
from relance.adapters.links import IssuedLink
from relance.domain.dunning import DunningDecision, after_step, contact_id, decide, decide_now, replanned
from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor
from relance.domain.policy import Channel, DunningPolicy, PolicyBook
from relance.services.jobs import ReminderJob

MAX_CONFLICT_RETRIES = 3
# A contact left "sending" longer than this belongs to a worker that died (the worker's timeout is 30 s and
# SQS hides a message 180 s): its mail may have left, so the step is recorded without sending it again.
SENDING_LEASE = timedelta(seconds=60)
EMAIL_CHANNELS = {Channel.EMAIL, Channel.FORMAL_NOTICE}
AUDIT_ACTIONS = {  # what the audit trail says happened, per channel
    Channel.EMAIL: "reminder_sent",
    Channel.FORMAL_NOTICE: "formal_notice_sent",
    Channel.CALL_TASK: "call_task_created",
    Channel.LETTER: "letter_task_created",
    Channel.AGENCY: "agency_handoff",
}


class Outcome(StrEnum):
    SENT = "sent"  # an e-mail went out (a reminder, or a formal notice with its letter)
    TASK_CREATED = "task_created"  # a call, a letter to post or an agency file for finance
    ALREADY_DONE = "already_done"
    NOTHING_DUE = "nothing_due"
    OUTSIDE_HOURS = "outside_hours"
    UNKNOWN_DEBTOR = "unknown_debtor"


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    body: bytes


@dataclass(frozen=True, slots=True)
class DunningMail:
    """Everything a dunning e-mail says; the mailer only renders and sends it."""

    creditor: Creditor
    debtor: Debtor
    recipients: tuple[str, ...]
    decision: DunningDecision
    portal_link: str
    contact_id: str
    attachments: tuple[Attachment, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)  # e.g. the formal notice's deadline and totals

    @property
    def language(self) -> str:
        return self.debtor.language


class MailRefused(Exception):
    """The mail provider answered and did not take the mail (throttled, unavailable): nothing left, a retry may send."""


class ContactInProgress(Exception):
    """Another attempt is handing the debtor's mail of the day to the provider right now; retry the job later."""


class Mailer(Protocol):
    def send_dunning_mail(self, mail: DunningMail) -> str:
        """Send the mail; returns the provider's message id, raises MailRefused when the provider refused it."""


class Documents(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> str: ...


class Letters(Protocol):
    """The printed letters and the agency file, from the law engine (relance.domain.letters and agency)."""

    def formal_notice(self, creditor: Creditor, debtor: Debtor, invoices: list[Invoice], on: date,
                      deadline_days: int, reference: str) -> tuple[bytes, dict[str, Any]]: ...

    def reminder_letter(self, creditor: Creditor, debtor: Debtor, invoices: list[Invoice], on: date,
                        template: str, reference: str) -> bytes:
        """The PDF reminder of a `letter` step, in the step template's tone."""

    def agency_file(self, creditor: Creditor, debtor: Debtor, invoices: list[Invoice], on: date,
                    contacts: list[dict[str, Any]]) -> tuple[str, str]: ...


@dataclass(frozen=True)
class Ports:
    """What the service needs from the outside world, built by the entry point."""

    store: DynamoStore
    mailer: Mailer
    documents: Documents
    letters: Letters
    issue_link: Callable[[Debtor, datetime], IssuedLink]  # a fresh portal link and the item that makes it open
    closed_for: Callable[[Creditor], Container[date]]
    policies_for: Callable[[Creditor], PolicyBook]


def take_step(job: ReminderJob, now: datetime, ports: Ports) -> Outcome:
    """Give the debtor the step the policy asks for on the job's business day, at most once.

    The day's contact is claimed ("pending") before anything leaves, marked "sending" just before
    the mail goes to SES and completed after, in one transaction with the invoices' new state, the
    finance task and the audit event. SES refusing the mail puts the claim back to "pending", so a
    retry sends it. A retry that finds "sending" left by a worker that died never sends again: it
    records the step with its mail unconfirmed (docs/architecture/idempotency.md).
    """
    store = ports.store
    creditor = store.get_creditor(job.creditor_id)
    debtor, invoices = store.dunning_view(job.creditor_id, job.debtor_id)
    if creditor is None or debtor is None:
        return Outcome.UNKNOWN_DEBTOR
    closed = ports.closed_for(creditor)
    policy = ports.policies_for(creditor).for_debtor(debtor.kind, debtor.risk_band)
    decision = (decide_now if job.early else decide)(debtor, invoices, policy, job.business_date, closed)
    if decision is None:
        _replan_stale(invoices, policy, job.business_date, store, closed)
        return Outcome.NOTHING_DUE
    if decision.channel in EMAIL_CHANNELS and debtor.reachable_emails and _outside_hours(creditor, policy, now, job):
        return Outcome.OUTSIDE_HOURS
    contact = store.reserve_contact(job.creditor_id, job.debtor_id, job.business_date, decision.step.step_id, now,
                                    decision.channel.value)
    if contact.status == "sent":
        return Outcome.ALREADY_DONE
    if contact.status == "sending" and (contact.sending_at is None or now - contact.sending_at < SENDING_LEASE):
        raise ContactInProgress(f"the contact of {job.debtor_id} on {job.business_date} is being sent")
    done = _perform(decision, creditor, debtor, job, policy, ports, now, contact)
    _record(contact, decision, done, job, now, policy, store, closed)
    return Outcome.SENT if done.message_id or done.unconfirmed else Outcome.TASK_CREATED


@dataclass
class _Done:
    message_id: str | None = None
    documents: list[str] = field(default_factory=list)
    task: dict[str, Any] | None = None
    notice: dict[str, Any] | None = None  # the formal notice's figures per invoice, for the audit trail
    action: str | None = None  # what the audit trail says, when it is not the channel's usual action
    extra_items: list[dict[str, Any]] = field(default_factory=list)  # e.g. the portal link the mail carried
    unconfirmed: bool = False  # the mail went to SES by an attempt that died before SES answered


def _perform(decision: DunningDecision, creditor: Creditor, debtor: Debtor, job: ReminderJob,
             policy: DunningPolicy, ports: Ports, now: datetime, contact: ContactRecord) -> _Done:
    """Do what the step's channel means: mail, letter, task or export."""
    done = _Done()
    reference = contact_id(job.creditor_id, job.debtor_id, job.business_date)
    advancing = [invoice for invoice, _step in decision.advancing]
    day = job.business_date
    attachments: tuple[Attachment, ...] = ()
    extra: dict[str, Any] = {}
    if decision.channel is Channel.FORMAL_NOTICE:
        try:
            pdf, extra = ports.letters.formal_notice(creditor, debtor, advancing, day,
                                                     policy.formal_notice_deadline_days, reference)
        except RelanceError as problem:  # a case the law engine does not settle (e.g. C7: €40 on a GBP invoice)
            done.task = _task(job, "formal_notice_manual", decision, reason=problem.code, detail=str(problem))
            done.action = "formal_notice_referred"  # nothing was sent: finance must draft this one
            return done
        filename = "mise-en-demeure.pdf" if debtor.language == "fr" else "formal-notice.pdf"
        done.documents.append(ports.documents.put(keys.document_key(creditor.creditor_id, debtor.debtor_id, day,
                                                                    filename), pdf, "application/pdf"))
        attachments = (Attachment(filename, "application/pdf", pdf),)
        done.notice = {"deadline_on": extra["deadline_on"].isoformat(), "provisional": extra["provisional"],
                       "lines": extra["lines"]}
        done.task = _task(job, "registered_post", decision, documents=done.documents)
    elif decision.channel is Channel.AGENCY:
        contacts = ports.store.contacts_of(creditor.creditor_id, debtor.debtor_id)
        as_json, as_csv = ports.letters.agency_file(creditor, debtor, advancing, day, contacts)
        for name, body, kind in (("agency-file.json", as_json, "application/json"),
                                 ("agency-file.csv", as_csv, "text/csv")):
            done.documents.append(ports.documents.put(keys.document_key(creditor.creditor_id, debtor.debtor_id, day,
                                                                        name), body.encode(), kind))
        done.task = _task(job, "agency_handoff", decision, documents=done.documents)
        return done
    elif decision.channel is Channel.CALL_TASK:
        done.task = _task(job, "call", decision, phone=debtor.phone, script=decision.step.template)
        return done
    elif decision.channel is Channel.LETTER:  # printed and posted by finance: the portal link is not in it
        pdf = ports.letters.reminder_letter(creditor, debtor, list(decision.listed), day, decision.step.template,
                                            reference)
        filename = "lettre-de-relance.pdf" if debtor.language == "fr" else "reminder-letter.pdf"
        done.documents.append(ports.documents.put(keys.document_key(creditor.creditor_id, debtor.debtor_id, day,
                                                                    filename), pdf, "application/pdf"))
        done.task = _task(job, "post_letter", decision, template=decision.step.template, documents=done.documents)
        return done
    if debtor.reachable_emails:
        if contact.status == "sending":  # a worker died while SES had the mail: it may have left, never send twice
            done.unconfirmed = True
            return done
        link = ports.issue_link(debtor, now)
        mail = DunningMail(creditor, debtor, debtor.reachable_emails, decision, link.url, reference,
                           attachments, extra)
        if not ports.store.mark_sending(contact, now, [link.item]):  # the link opens even if we die after SES
            raise ContactInProgress(f"the contact of {job.debtor_id} on {job.business_date} is being sent")
        try:
            done.message_id = ports.mailer.send_dunning_mail(mail)
        except MailRefused:
            ports.store.release_sending(contact)  # nothing left: the redelivered job sends it
            raise
    return done


def _task(job: ReminderJob, kind: str, decision: DunningDecision, **details: Any) -> dict[str, Any]:
    return {
        "creditor_id": job.creditor_id,
        "debtor_id": job.debtor_id,
        "due_on": job.business_date.isoformat(),
        "kind": kind,
        "step": decision.step.step_id,
        "invoices": [i.number for i in decision.listed],
        "totals": {c: m.minor for c, m in decision.totals.items()},
        **{k: v for k, v in details.items() if v is not None},
    }


def _outside_hours(creditor: Creditor, policy: DunningPolicy, now: datetime, job: ReminderJob) -> bool:
    """True when a mail of today's scheduled job would go out outside the creditor's sending hours.

    The hours govern the automatic schedule; a day an operator asked for (`relance run-day --date`,
    a replay) runs when asked, and another day than today has no time of day to respect anyway.
    """
    local = now.astimezone(ZoneInfo(creditor.timezone))
    if job.forced or local.date() != job.business_date:
        return False
    start, end = policy.sending_hours
    return not start <= local.time() < end


def _record(contact: ContactRecord, decision: DunningDecision, done: _Done, job: ReminderJob, now: datetime,
            policy: DunningPolicy, store: DynamoStore, closed: Container[date]) -> None:
    """Complete the contact; on a concurrent change to an invoice, read again and retry."""
    steps = {invoice.number: step for invoice, step in decision.advancing}
    advancing = [invoice for invoice, _step in decision.advancing]
    for _attempt in range(MAX_CONFLICT_RETRIES):
        try:
            store.complete_contact(
                contact,
                message_id=done.message_id or "",
                invoices=[after_step(i, steps[i.number], job.business_date, policy, closed) for i in advancing],
                listed=[i.number for i in decision.listed],
                totals={currency: amount.minor for currency, amount in decision.totals.items()},
                audit={
                    "action": done.action or AUDIT_ACTIONS[decision.channel],
                    "actor": "engine",
                    "step": decision.step.step_id,
                    "channel": decision.channel.value,
                    "reminder_id": job.reminder_id,
                    "message_id": done.message_id or "",
                    "invoices": [i.number for i in decision.listed],
                    "steps": {number: step.step_id for number, step in steps.items()},
                    "documents": done.documents,
                    "notice": done.notice,
                    **({"mail": "unconfirmed"} if done.unconfirmed else {}),
                },
                now=now,
                task=done.task,
                extra_items=done.extra_items,
            )
            return
        except VersionConflict:
            _debtor, fresh = store.dunning_view(job.creditor_id, job.debtor_id)
            advancing = [i for i in fresh if i.number in steps]
    raise VersionConflict(f"invoices of {job.debtor_id} kept changing while the step was recorded")


def _replan_stale(invoices: list[Invoice], policy: DunningPolicy, today: date, store: DynamoStore,
                  closed: Container[date]) -> None:
    """Move index entries that today brought nothing (paid, paused, conditions) past today, so they are not read again."""
    for invoice in invoices:
        if invoice.next_action_on is None or invoice.next_action_on > today:
            continue
        moved = replanned(invoice, policy, today, closed)
        if moved.next_action_on != invoice.next_action_on:
            try:
                store.update_invoice(moved)
            except VersionConflict:
                continue  # someone else just rewrote it, with its own plan
