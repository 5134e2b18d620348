"""Builds the production adapters from the settings, for the entry points."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Container
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from relance.adapters.calendars import closed_days
from relance.adapters.links import IssuedLink, issue_link
from relance.adapters.settings import Settings, load_settings
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor
from relance.domain.policy import PolicyBook

if TYPE_CHECKING:
    from relance.adapters.policy_store import PolicyStore

_log = logging.getLogger("relance.wiring")


def utc_now() -> datetime:
    """The clock of the deployed entry points."""
    from datetime import UTC

    return datetime.now(UTC)


def closed_for(creditor: Creditor) -> Container[date]:
    """Public holidays of the creditor's country (and subdivision)."""
    return closed_days(creditor.country, creditor.subdivision)


def link_maker(settings: Settings) -> Callable[[Debtor, datetime], IssuedLink]:
    """A function that issues a debtor's fresh personal portal link; the caller stores its item."""

    def issue(debtor: Debtor, now: datetime) -> IssuedLink:
        return issue_link(debtor, now, settings.portal_base_url, settings.link_max_age_days)

    return issue


def policy_source(
    store: PolicyStore | None, ttl_seconds: float, clock: Callable[[], float] = time.monotonic
) -> Callable[[Creditor], PolicyBook]:
    """A function giving a creditor's policy book: its own version in force if it set one, else the packaged one.

    Each creditor's answer is kept `ttl_seconds` (the worker keeps it 5 minutes, so a thousand reminders
    of one creditor read its policy once); a change of the creditor's `policy_id` is seen at once.
    Without a store (no table configured) only the packaged policies exist.
    """
    # Policy documents are read here and only here: entry points that wire calendars or links (the daily scan)
    # do not load the policy parser.
    from relance.adapters.policies import load_packaged_policy

    kept: dict[str, tuple[float, str, PolicyBook]] = {}

    def policies_of(creditor: Creditor) -> PolicyBook:
        now = clock()
        cached = kept.get(creditor.creditor_id)
        if cached is not None and now - cached[0] < ttl_seconds and cached[1] == creditor.policy_id:
            return cached[2]
        stored = store.current(creditor.creditor_id) if store is not None else None
        book = stored.book if stored is not None else load_packaged_policy(creditor.policy_id)
        kept[creditor.creditor_id] = (now, creditor.policy_id, book)
        return book

    return policies_of


def policies_for(creditor: Creditor) -> PolicyBook:
    """The creditor's policy book as it stands now, read afresh: for the command line and one-off callers."""
    return policy_source(_configured_policy_store(), ttl_seconds=0)(creditor)


def _configured_policy_store() -> PolicyStore | None:
    """The policy store of the configured table; None where none is (a dry run: packaged policies only)."""
    from relance.adapters.policy_store import PolicyStore

    try:
        table_name = load_settings().table_name
    except RuntimeError:
        return None
    return PolicyStore(table_name)


class LawLetters:
    """The printed letters (formal notice, reminder letter) and the agency file, figures from the law engine.

    Rates come from the packaged table plus the operator's override file; `provisional` carries
    the last known rate forward and every letter then says so (docs/law/late-fees.md).
    """

    def __init__(self, provisional: bool = False, override_file: str | None = None) -> None:
        self.provisional = provisional
        self.override_file = override_file
        self._law = None

    def _rules(self):
        if self._law is None:
            from relance.adapters.rate_tables import load_rules

            self._law = load_rules(self.override_file, provisional=self.provisional)
        return self._law

    def formal_notice(self, creditor: Creditor, debtor: Debtor, invoices: list[Invoice], on: date,
                      deadline_days: int, reference: str):
        from relance.adapters.pdf_letters import render_formal_notice
        from relance.domain.letters import build_formal_notice

        rates, rulebook = self._rules()
        notice = build_formal_notice(creditor, debtor, invoices, on, deadline_days, rates, rulebook,
                                     debtor.language, reference)
        extra = {
            "deadline_on": notice.deadline_on,
            "total_minor": {total.currency: total.total.minor for total in notice.totals},
            "provisional": notice.provisional,
            "lines": {line.number: {"principal_minor": line.principal.minor, "interest_minor": line.interest.minor,
                                    "indemnity_minor": line.indemnity.minor, "currency": line.currency}
                      for line in notice.lines},
        }
        return render_formal_notice(notice), extra

    def reminder_letter(self, creditor: Creditor, debtor: Debtor, invoices: list[Invoice], on: date, template: str,
                        reference: str) -> bytes:
        """The reminder letter of a `letter` step as a PDF, in the debtor's language and the step's tone."""
        from relance.adapters.pdf_letters import render_reminder_letter
        from relance.domain.letters import build_reminder_letter

        letter = build_reminder_letter(creditor, debtor, invoices, on, template, debtor.language, reference)
        return render_reminder_letter(letter)

    def agency_file(self, creditor: Creditor, debtor: Debtor, invoices: list[Invoice], on: date, contacts: list):
        from relance.domain.agency import ContactSummary, build_agency_file

        summaries = [
            ContactSummary(date.fromisoformat(c["business_date"]), c.get("step", ""), c.get("channel", "email"),
                           c.get("message_id") or None, tuple(c.get("invoices", ())))
            for c in contacts if c.get("status") == "sent"
        ]
        agency = build_agency_file(creditor, debtor, invoices, None, summaries, on)
        return agency.to_json(), agency.to_csv()


def plan_notifier(mailer: Any, links: Any, issue: Callable[[Debtor, datetime], IssuedLink],
                  now: Callable[[], datetime]) -> Callable[[Any], None]:
    """Mails the debtor what became of their plan (services.plans.Notify), with a fresh personal link.

    The decision is already written: a mail that cannot be sent is logged for finance to follow up,
    never raised to the person who decided (the debtor sees the decision on the portal anyway).
    """

    def notify(mail: Any) -> None:
        from dataclasses import replace

        try:
            issued = issue(mail.debtor, now())
            links.put_link(issued.item)
            mailer.send_plan_decision_mail(replace(mail, link=issued.url))
        except Exception:  # noqa: BLE001 - the plan change stands; say so in the logs and carry on
            _log.exception("Plan decision mail not sent", extra={"creditor_id": mail.creditor.creditor_id,
                                                                 "debtor_id": mail.debtor.debtor_id,
                                                                 "plan_id": mail.plan.plan_id,
                                                                 "news": mail.news.value})

    return notify

