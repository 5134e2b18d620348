"""Builds the production adapters from the settings, for the entry points."""

from __future__ import annotations

from collections.abc import Container
from datetime import date

from relance.adapters.calendars import closed_days
from relance.adapters.links import DebtorRef, make_link_token, portal_url
from relance.adapters.settings import Settings, link_secret
from relance.domain.invoices import Invoice
from relance.domain.parties import Creditor, Debtor
from relance.domain.policy import PolicyBook


def closed_for(creditor: Creditor) -> Container[date]:
    """Public holidays of the creditor's country (and subdivision)."""
    return closed_days(creditor.country, creditor.subdivision)


def link_maker(settings: Settings):
    """A function that gives a debtor's fresh personal portal link."""

    def link_for(debtor: Debtor) -> str:
        ref = DebtorRef(debtor.creditor_id, debtor.debtor_id, debtor.link_version)
        return portal_url(settings.portal_base_url, make_link_token(link_secret(settings), ref))

    return link_for


def policies_for(creditor: Creditor) -> PolicyBook:
    """The creditor's policy book, from the packaged policies (relance/data/policies/<id>.yaml)."""
    from relance.adapters.policies import load_packaged_policy

    return load_packaged_policy(creditor.policy_id)


class LawLetters:
    """The formal notice (PDF) and the agency file, figures from the late-payment law engine.

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

    def agency_file(self, creditor: Creditor, debtor: Debtor, invoices: list[Invoice], on: date, contacts: list):
        from relance.domain.agency import ContactSummary, build_agency_file

        summaries = [
            ContactSummary(date.fromisoformat(c["business_date"]), c.get("step", ""), c.get("channel", "email"),
                           c.get("message_id") or None, tuple(c.get("invoices", ())))
            for c in contacts if c.get("status") == "sent"
        ]
        agency = build_agency_file(creditor, debtor, invoices, None, summaries, on)
        return agency.to_json(), agency.to_csv()
