"""Plain builders for dunning tests: the reference FR B2B ladder (domain pack §10) and invoices."""

from __future__ import annotations

from datetime import date

from relance.adapters.calendars import closed_days
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor
from relance.domain.policy import Channel, DunningPolicy, PolicyStep, StepCondition

FR = closed_days("FR")

LADDER = DunningPolicy(
    policy_id="fr-b2b",
    name="FR B2B reference ladder",
    steps=(
        PolicyStep("courtesy", -5, Channel.EMAIL, "courtesy"),
        PolicyStep("reminder_1", 1, Channel.EMAIL, "reminder_friendly"),
        PolicyStep("reminder_2", 8, Channel.EMAIL, "reminder_firm", min_days_after_previous=5),
        PolicyStep("call", 15, Channel.CALL_TASK, "call_script", min_days_after_previous=5),
        PolicyStep("formal_notice", 30, Channel.FORMAL_NOTICE, "formal_notice", min_days_after_previous=7,
                   required=True),
        PolicyStep("agency", 45, Channel.AGENCY, "agency_handoff", min_days_after_previous=15),
    ),
)


def a_debtor(emails=("ap@client.example.fr",), undeliverable=(), **kwargs) -> Debtor:
    return Debtor("c1", "d1", "Client SARL", emails=tuple(emails), undeliverable=tuple(undeliverable), **kwargs)


def an_invoice(number="F-1", due_on=date(2025, 11, 28), total=1_200_00, paid=0, currency="EUR", **state) -> Invoice:
    return Invoice("c1", "d1", number, date(2025, 10, 29), due_on, Money(total, currency), Money(paid, currency),
                   **state)


def with_condition(policy: DunningPolicy, step_id: str, condition: StepCondition) -> DunningPolicy:
    from dataclasses import replace

    return replace(policy, steps=tuple(replace(s, condition=condition) if s.step_id == step_id else s
                                       for s in policy.steps))
