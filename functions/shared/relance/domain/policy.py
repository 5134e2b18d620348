"""A creditor's dunning policy: the ladder of steps, as validated data (docs/guide/policy.md)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import time
from enum import StrEnum
from typing import TYPE_CHECKING

from relance.domain.parties import PartyKind

if TYPE_CHECKING:  # plans.py builds on the dunning engine, which imports this module
    from relance.domain.plans import PlanPolicy
    from relance.domain.alerts import AlertRules


class Channel(StrEnum):
    EMAIL = "email"
    CALL_TASK = "call_task"
    LETTER = "letter"
    FORMAL_NOTICE = "formal_notice"
    AGENCY = "agency"


@dataclass(frozen=True, slots=True)
class StepCondition:
    """When a step applies; an empty field means "any"."""

    min_overdue_minor: dict[str, int] = field(default_factory=dict)  # per currency: skip the step below this
    risk_bands: tuple[str, ...] = ()  # e.g. ("high",): only for debtors in these bands
    debtor_kinds: tuple[PartyKind, ...] = ()  # e.g. (PartyKind.BUSINESS,)


@dataclass(frozen=True, slots=True)
class PolicyStep:
    """One rung of the ladder."""

    step_id: str  # stable name, e.g. "reminder_1"; recorded on every contact
    offset_days: int  # from the due date; negative = before it
    channel: Channel
    template: str  # the tone: which mail or letter template is used
    min_days_after_previous: int = 0  # spacing from the previous step taken on the same invoice
    required: bool = False  # never skipped: a later step waits until this one was taken (the formal notice)
    condition: StepCondition = field(default_factory=StepCondition)


@dataclass(frozen=True, slots=True)
class DunningPolicy:
    """The ladder and the limits a creditor applies to a segment of debtors."""

    policy_id: str
    name: str
    steps: tuple[PolicyStep, ...]  # ordered by offset
    sending_hours: tuple[time, time] = (time(8, 0), time(19, 0))  # e-mails go out only inside, creditor's zone
    promise_grace_days: int = 3  # a missed promise resumes dunning this many days after the promised date
    max_promise_days: int = 30  # a debtor may promise at most this far ahead
    formal_notice_deadline_days: int = 8  # the deadline written in the formal notice

    def step(self, step_id: str) -> PolicyStep:
        for step in self.steps:
            if step.step_id == step_id:
                return step
        raise KeyError(step_id)

    def index_of(self, step_id: str) -> int:
        return [s.step_id for s in self.steps].index(step_id)


@dataclass(frozen=True, slots=True)
class PolicySegment:
    """A policy for the debtors matching a kind and a risk band (empty = any)."""

    policy: DunningPolicy
    debtor_kinds: tuple[PartyKind, ...] = ()
    risk_bands: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PolicyBook:
    """A creditor's policies: the default and per-segment overrides, the first matching segment wins."""

    default: DunningPolicy
    segments: tuple[PolicySegment, ...] = ()
    plans: PlanPolicy | None = None  # installment plan rules; None = the defaults (relance.domain.plans)
    alerts: AlertRules | None = None  # finance's alert thresholds; None = the defaults (relance.domain.alerts)

    def for_debtor(self, kind: PartyKind, risk_band: str | None) -> DunningPolicy:
        for segment in self.segments:
            if segment.debtor_kinds and kind not in segment.debtor_kinds:
                continue
            if segment.risk_bands and (risk_band or "") not in segment.risk_bands:
                continue
            return segment.policy
        return self.default
