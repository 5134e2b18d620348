"""Policy documents: a creditor's dunning ladder as data (YAML or JSON, version 1) read into a PolicyBook.

Pure: the caller reads the file and hands over the parsed mapping. Every problem is collected
and reported at once, each with its path in the document (`steps[3].offset_days`), the value
received and what is accepted. The format and the rules are described in docs/guide/policy.en.md.

Format version 1, in short:

    version: 1
    policy_id: fr-b2b
    name: ...
    sending_hours: {start: "08:00", end: "19:00"}     # optional, these are the defaults
    promise_grace_days: 3                             # optional
    max_promise_days: 30                              # optional
    formal_notice_deadline_days: 8                    # optional
    steps:
      - {id: courtesy, offset_days: -5, channel: email, template: courtesy}
      - id: formal_notice
        offset_days: 30
        channel: formal_notice
        template: formal_notice
        min_days_after_previous: 7                    # optional, default 0
        required: true                                # optional, default false
        conditions:                                   # optional, empty = any
          min_overdue: {EUR: "50.00"}                 # major units, as a quoted decimal
          risk_bands: [medium, high]
          debtor_kinds: [business]
    segments:                                         # optional; the first matching segment wins
      - policy_id: fr-b2c
        name: ...
        debtor_kinds: [consumer]
        extends: default                              # the default ladder, then:
        overrides: {reminder_2: {template: reminder_firm_consumer}}
        remove_steps: []
      - policy_id: fr-b2b-high-risk
        name: ...
        risk_bands: [high]
        steps: [...]                                  # or a full ladder of its own

A segment inherits the default's limits (sending hours, promise and deadline days) unless it sets them.

Installment plan rules (issue 7), optional, for the whole book:

    plans:
      default:                                        # every key optional; see relance.domain.plans
        max_duration_months: 6                        # or max_duration_days: 180, not both
        max_installments: 6
        min_installment: {EUR: "100.00"}
        min_down_payment_percent: "10"                # a quoted decimal, or a whole number
        max_total: {EUR: "50000.00"}
        late_fees: frozen                             # waived | counted | frozen
        allowed_after_formal_notice: false
        consumer_credit_exemption: true
        grace_days: 7
        reminder_days_before: 3                       # the e-mail before each installment; 0: none
      high: {max_installments: 3}                     # a risk band: the default's rules, then these

A document without `plans:` gets the defaults of relance.domain.plans.
"""

from __future__ import annotations

import difflib
import json
import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, fields, replace
from datetime import time
from decimal import Decimal
from typing import Any

from relance.domain.alerts import DISPUTE_WAITING_DAYS, AlertRules
from relance.domain.errors import InvalidAmount, InvalidPolicy
from relance.domain.money import MINOR_DIGITS, Money
from relance.domain.parties import PartyKind
from relance.domain.plans import DEFAULT_PLAN_RULES, LateFeesDuringPlan, PlanPolicy, PlanRules
from relance.domain.policy import Channel, DunningPolicy, PolicyBook, PolicySegment, PolicyStep, StepCondition

FORMAT_VERSION = 1
RISK_BANDS = ("low", "medium", "high")
DEBTOR_KINDS = tuple(kind.value for kind in PartyKind)
CHANNELS = tuple(channel.value for channel in Channel)
EXTENDABLE = "default"

MIN_OFFSET_DAYS = -30  # a courtesy notice earlier than a month before the due date reads as a new invoice
MAX_OFFSET_DAYS = 365
MAX_SPACING_DAYS = 365
PROMISE_GRACE_DAYS = (0, 60)
MAX_PROMISE_DAYS = (1, 365)
FORMAL_NOTICE_DEADLINE_DAYS = (1, 90)
PLAN_MAX_INSTALLMENTS = (1, 36)
PLAN_MAX_DURATION_MONTHS = (1, 36)
PLAN_MAX_DURATION_DAYS = (1, 1096)  # three years, like 36 months
PLAN_GRACE_DAYS = (1, 60)
PLAN_REMINDER_DAYS_BEFORE = (0, 30)  # 0: no reminder before an installment
LATE_FEES = tuple(choice.value for choice in LateFeesDuringPlan)

# Step ids are recorded on every contact and template names become file names: keep both plain.
_STEP_ID = re.compile(r"[a-z][a-z0-9_]{0,39}")
_TEMPLATE = re.compile(r"[a-z][a-z0-9_]{0,59}")
_POLICY_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")
_HOUR = re.compile(r"([01]\d|2[0-3]):([0-5]\d)")
_DECIMAL = re.compile(r"\d+(\.\d+)?")

_LIMITS = ("sending_hours", "promise_grace_days", "max_promise_days", "formal_notice_deadline_days")
_LIMIT_DEFAULTS = {f.name: f.default for f in fields(DunningPolicy) if f.name in _LIMITS}
_DOCUMENT_KEYS = ("version", "policy_id", "name", *_LIMITS, "steps", "segments", "plans", "alerts")
_ALERT_KEYS = ("dispute_waiting_days", "large_amount")
_PLAN_BANDS = ("default", *RISK_BANDS)
_PLAN_KEYS = (
    "max_duration_months",
    "max_duration_days",
    "max_installments",
    "min_installment",
    "min_down_payment_percent",
    "max_total",
    "late_fees",
    "allowed_after_formal_notice",
    "consumer_credit_exemption",
    "grace_days",
    "reminder_days_before",
)
_PERCENT = re.compile(r"\d+(\.\d{1,2})?")
_SEGMENT_KEYS = (
    "policy_id",
    "name",
    "debtor_kinds",
    "risk_bands",
    *_LIMITS,
    "steps",
    "extends",
    "overrides",
    "remove_steps",
)
_STEP_FIELDS = ("offset_days", "channel", "template", "min_days_after_previous", "required", "conditions")
_STEP_KEYS = ("id", *_STEP_FIELDS)
_CONDITION_KEYS = ("min_overdue", "risk_bands", "debtor_kinds")
_HOURS_KEYS = ("start", "end")

_MISSING = object()


def load_policy_book(document: Mapping[str, Any]) -> PolicyBook:
    """The policy book a version-1 policy document describes; InvalidPolicy lists every problem found."""
    reader = _Reader()
    book = reader.book(document)
    if reader.problems or book is None:
        raise InvalidPolicy(reader.problems or [("(document)", "the document could not be read")])
    return book


def policy_to_document(book: PolicyBook) -> dict[str, Any]:
    """The version-1 document of `book`, every value explicit; load_policy_book gives `book` back."""
    document: dict[str, Any] = {"version": FORMAT_VERSION, **_policy_fields(book.default)}
    document["steps"] = [_step_document(step) for step in book.default.steps]
    if book.segments:
        document["segments"] = [_segment_document(segment) for segment in book.segments]
    if book.plans is not None:
        document["plans"] = _plans_document(book.plans)
    if book.alerts is not None:
        document["alerts"] = {"dispute_waiting_days": book.alerts.dispute_waiting_days,
                              "large_amount": _amounts_document(book.alerts.large_amount_minor)}
    return document


# --- writing ---------------------------------------------------------------------------------


def _policy_fields(policy: DunningPolicy) -> dict[str, Any]:
    start, end = policy.sending_hours
    return {
        "policy_id": policy.policy_id,
        "name": policy.name,
        "sending_hours": {"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M")},
        "promise_grace_days": policy.promise_grace_days,
        "max_promise_days": policy.max_promise_days,
        "formal_notice_deadline_days": policy.formal_notice_deadline_days,
    }


def _plans_document(plans: PlanPolicy) -> dict[str, Any]:
    document = {"default": _plan_rules_document(plans.default)}
    for band in RISK_BANDS:
        if band in plans.risk_bands:
            document[band] = _plan_rules_document(plans.risk_bands[band])
    return document


def _plan_rules_document(rules: PlanRules) -> dict[str, Any]:
    if rules.max_duration_days is not None:
        duration: dict[str, Any] = {"max_duration_days": rules.max_duration_days}
    else:
        duration = {"max_duration_months": rules.max_duration_months}
    return {
        **duration,
        "max_installments": rules.max_installments,
        "min_installment": _amounts_document(rules.min_installment_minor),
        "min_down_payment_percent": str(rules.min_down_payment_percent),
        "max_total": _amounts_document(rules.max_total_minor),
        "late_fees": rules.late_fees.value,
        "allowed_after_formal_notice": rules.allowed_after_formal_notice,
        "consumer_credit_exemption": rules.consumer_credit_exemption,
        "grace_days": rules.grace_days,
        "reminder_days_before": rules.reminder_days_before,
    }


def _amounts_document(amounts: Mapping[str, int]) -> dict[str, str]:
    return {currency: str(Money(minor, currency).to_decimal()) for currency, minor in amounts.items()}


def _segment_document(segment: PolicySegment) -> dict[str, Any]:
    fields_ = _policy_fields(segment.policy)
    document = {"policy_id": fields_.pop("policy_id"), "name": fields_.pop("name")}
    if segment.debtor_kinds:
        document["debtor_kinds"] = [kind.value for kind in segment.debtor_kinds]
    if segment.risk_bands:
        document["risk_bands"] = list(segment.risk_bands)
    return {**document, **fields_, "steps": [_step_document(step) for step in segment.policy.steps]}


def _step_document(step: PolicyStep) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": step.step_id,
        "offset_days": step.offset_days,
        "channel": step.channel.value,
        "template": step.template,
        "min_days_after_previous": step.min_days_after_previous,
        "required": step.required,
    }
    conditions = _condition_document(step.condition)
    if conditions:
        document["conditions"] = conditions
    return document


def _condition_document(condition: StepCondition) -> dict[str, Any]:
    document: dict[str, Any] = {}
    if condition.min_overdue_minor:
        document["min_overdue"] = {
            currency: str(Money(minor, currency).to_decimal())
            for currency, minor in condition.min_overdue_minor.items()
        }
    if condition.risk_bands:
        document["risk_bands"] = list(condition.risk_bands)
    if condition.debtor_kinds:
        document["debtor_kinds"] = [kind.value for kind in condition.debtor_kinds]
    return document


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Placed:
    """A step read from the document, with the path its ladder-level problems are reported under."""

    path: str
    step: PolicyStep


class _Reader:
    """Reads one document, collecting (path, message) problems instead of stopping at the first."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str]] = []

    def fail(self, path: str, message: str) -> None:
        self.problems.append((path or "(document)", message))

    # The document and its segments.

    def book(self, document: Any) -> PolicyBook | None:
        if not isinstance(document, Mapping):
            self.fail(
                "",
                f"expected a mapping of policy fields (version, policy_id, name, steps…), "
                f"got {_shown(document)}",
            )
            return None
        self.keys(document, "", _DOCUMENT_KEYS, required=("version", "policy_id", "name", "steps"))
        self.version(document.get("version", _MISSING))
        policy_id = self.policy_id(document.get("policy_id", _MISSING), "policy_id")
        name = self.name(document.get("name", _MISSING), "name")
        limits = self.limits(document, "", dict(_LIMIT_DEFAULTS))
        before = len(self.problems)
        placed = self.steps(document.get("steps", _MISSING), "steps", limits)
        default_ids = _raw_ids(document.get("steps"))
        default_clean = placed is not None and len(self.problems) == before
        default = None
        if policy_id is not None and name is not None and placed is not None and limits is not None:
            default = DunningPolicy(policy_id, name, tuple(p.step for p in placed), **limits)
        segments = self.segments(
            document.get("segments", []),
            limits or dict(_LIMIT_DEFAULTS),
            placed if default_clean else None,
            default_ids,
        )
        self.unique_policy_ids(policy_id, segments)
        before_plans = len(self.problems)
        plans = self.plans(document["plans"], "plans") if "plans" in document else None
        alerts = self.alerts(document["alerts"], "alerts") if "alerts" in document else None
        if default is None or segments is None or len(self.problems) > before_plans:
            return None
        return PolicyBook(default, tuple(segment for _path, segment in segments), plans, alerts)

    def alerts(self, value: Any, path: str) -> AlertRules | None:
        """Finance's alert thresholds: `dispute_waiting_days` and `large_amount` per currency, both optional."""
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping of alert settings ({', '.join(_ALERT_KEYS)}), got {_shown(value)}")
            return None
        self.keys(value, path, _ALERT_KEYS, required=())
        rules = AlertRules()
        days = rules.dispute_waiting_days
        if "dispute_waiting_days" in value:
            days = self.whole(value["dispute_waiting_days"], _at(path, "dispute_waiting_days"), DISPUTE_WAITING_DAYS)
        amounts = dict(rules.large_amount_minor)
        if "large_amount" in value:
            amounts = self.amounts(value["large_amount"], _at(path, "large_amount"))
        if days is None or amounts is None:
            return None
        return AlertRules(days, amounts)

    def version(self, value: Any) -> None:
        if value is _MISSING:
            return  # reported by keys()
        if type(value) is not int or value != FORMAT_VERSION:
            self.fail(
                "version",
                f"unsupported format version {_shown(value)}; this Relance reads version {FORMAT_VERSION}",
            )

    def segments(
        self,
        value: Any,
        default_limits: dict[str, Any],
        default_ladder: list[_Placed] | None,
        default_ids: list[str],
    ) -> list[tuple[str, PolicySegment]] | None:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail("segments", f"expected a list of segments, got {_shown(value)}")
            return None
        read: list[tuple[str, PolicySegment]] = []
        complete = True
        for index, item in enumerate(value):
            segment = self.segment(item, f"segments[{index}]", default_limits, default_ladder, default_ids)
            if segment is None:
                complete = False
            else:
                read.append((f"segments[{index}]", segment))
        self.unreachable_segments(read)
        return read if complete else None

    def segment(
        self,
        value: Any,
        path: str,
        default_limits: dict[str, Any],
        default_ladder: list[_Placed] | None,
        default_ids: list[str],
    ) -> PolicySegment | None:
        if not isinstance(value, Mapping):
            self.fail(
                path,
                f"expected a mapping (policy_id, name, debtor_kinds or risk_bands, steps or extends), "
                f"got {_shown(value)}",
            )
            return None
        self.keys(value, path, _SEGMENT_KEYS, required=("policy_id", "name"))
        before = len(self.problems)
        policy_id = self.policy_id(value.get("policy_id", _MISSING), _at(path, "policy_id"))
        name = self.name(value.get("name", _MISSING), _at(path, "name"))
        kinds = self.choices(value.get("debtor_kinds", []), _at(path, "debtor_kinds"), DEBTOR_KINDS)
        bands = self.choices(value.get("risk_bands", []), _at(path, "risk_bands"), RISK_BANDS)
        if kinds == () and bands == ():
            self.fail(
                path,
                "a segment must name debtor_kinds or risk_bands (or both); one matching every debtor "
                "would replace the default ladder",
            )
        limits = self.limits(value, path, dict(default_limits))
        placed = self.segment_ladder(value, path, default_ladder, default_ids, limits)
        if len(self.problems) > before or None in (policy_id, name, kinds, bands, limits, placed):
            return None
        policy = DunningPolicy(policy_id, name, tuple(p.step for p in placed), **limits)
        return PolicySegment(policy, tuple(PartyKind(kind) for kind in kinds), tuple(bands))

    def segment_ladder(
        self,
        value: Mapping[str, Any],
        path: str,
        default_ladder: list[_Placed] | None,
        default_ids: list[str],
        limits: dict[str, Any] | None,
    ) -> list[_Placed] | None:
        has_steps, extends = "steps" in value, value.get("extends", _MISSING)
        if has_steps and extends is not _MISSING:
            self.fail(
                _at(path, "extends"),
                "give either a full `steps` list or `extends: default` with overrides, not both",
            )
            return None
        if has_steps:
            for key in ("overrides", "remove_steps"):
                if key in value:
                    self.fail(
                        _at(path, key),
                        f"`{key}` applies only with `extends: default`; this segment has its own `steps`",
                    )
            return self.steps(value["steps"], _at(path, "steps"), limits, _deadline_path(value, path))
        if extends is _MISSING:
            self.fail(
                path, "a segment needs its ladder: a full `steps` list, or `extends: default` with overrides"
            )
            return None
        if extends != EXTENDABLE:
            self.fail(
                _at(path, "extends"),
                f"expected {_shown(EXTENDABLE)} (the only ladder a segment can extend), "
                f"got {_shown(extends)}",
            )
            return None
        ladder = self.extended(value, path, default_ladder, default_ids)
        if ladder is not None:
            self.ladder(ladder, _deadline(limits), _deadline_path(value, path))
        return ladder

    def extended(
        self,
        value: Mapping[str, Any],
        path: str,
        default_ladder: list[_Placed] | None,
        default_ids: list[str],
    ) -> list[_Placed] | None:
        """The default ladder with this segment's overrides and removals applied."""
        known = ", ".join(default_ids) or "none"
        overrides_path, removed_path = _at(path, "overrides"), _at(path, "remove_steps")
        overrides = value.get("overrides", {})
        if not isinstance(overrides, Mapping):
            self.fail(
                overrides_path, f"expected a mapping of step id to changed fields, got {_shown(overrides)}"
            )
            overrides = {}
        removed = value.get("remove_steps", [])
        if not isinstance(removed, list):
            self.fail(removed_path, f"expected a list of step ids, got {_shown(removed)}")
            removed = []
        changes: dict[str, dict[str, Any]] = {}
        for step_id, fields_ in overrides.items():
            here = _at(overrides_path, str(step_id))
            if step_id not in default_ids:
                self.fail(here, f"no step {_shown(step_id)} in the default ladder; its steps are {known}")
            elif not isinstance(fields_, Mapping):
                self.fail(here, f"expected a mapping of the step fields to change, got {_shown(fields_)}")
            else:
                self.keys(fields_, here, _STEP_FIELDS, required=())
                changes[step_id] = {
                    key: self.step_field(key, fields_[key], _at(here, key))
                    for key in _STEP_FIELDS
                    if key in fields_
                }
        dropped: set[str] = set()
        for index, step_id in enumerate(removed):
            here = f"{removed_path}[{index}]"
            if step_id not in default_ids:
                self.fail(here, f"no step {_shown(step_id)} in the default ladder; its steps are {known}")
            elif step_id in dropped:
                self.fail(here, f"step {_shown(step_id)} is listed twice")
            elif step_id in changes:
                self.fail(here, f"step {_shown(step_id)} is both overridden and removed; keep one")
            else:
                dropped.add(step_id)
        if default_ladder is None or any(None in fields_.values() for fields_ in changes.values()):
            return None  # the default ladder or an override is broken: its own problems say why
        ladder = []
        for placed in default_ladder:
            step = placed.step
            if step.step_id in dropped:
                continue
            if step.step_id in changes:
                fields_ = changes[step.step_id]
                ladder.append(
                    _Placed(_at(overrides_path, step.step_id), replace(step, **_step_kwargs(fields_)))
                )
            else:
                ladder.append(_Placed(_at(_at(path, "extends"), step.step_id), step))
        if not ladder:
            self.fail(removed_path, "removes every step; a ladder needs at least one")
            return None
        return ladder

    # Steps and the ladder they form.

    def steps(
        self,
        value: Any,
        path: str,
        limits: dict[str, Any] | None,
        deadline_path: str = "formal_notice_deadline_days",
    ) -> list[_Placed] | None:
        """The steps of a full ladder, checked one by one then as a ladder; None when any has a problem."""
        if value is _MISSING:
            return None  # reported by keys()
        if not isinstance(value, list) or not value:
            self.fail(path, f"expected a non-empty list of steps, got {_shown(value)}")
            return None
        placed: list[_Placed] = []
        complete = True
        seen: dict[str, int] = {}
        for index, item in enumerate(value):
            here = f"{path}[{index}]"
            step = self.step(item, here)
            step_id = item.get("id") if isinstance(item, Mapping) else None
            if isinstance(step_id, str) and step_id in seen:
                self.fail(
                    _at(here, "id"),
                    f"step id {_shown(step_id)} is already used by {path}[{seen[step_id]}]; "
                    f"step ids must be unique",
                )
                complete = False
            elif isinstance(step_id, str):
                seen[step_id] = index
            if step is None:
                complete = False
            else:
                placed.append(_Placed(here, step))
        self.ladder(
            placed, _deadline(limits), deadline_path
        )  # on the steps that could be read, so all is said
        return placed if complete else None

    def step(self, value: Any, path: str) -> PolicyStep | None:
        if not isinstance(value, Mapping):
            self.fail(path, f"expected a mapping (id, offset_days, channel, template…), got {_shown(value)}")
            return None
        self.keys(value, path, _STEP_KEYS, required=("id", "offset_days", "channel", "template"))
        step_id = self.text(
            value.get("id", _MISSING),
            _at(path, "id"),
            _STEP_ID,
            "a step id of lower-case letters, digits and _ (e.g. reminder_1)",
        )
        read = {key: self.step_field(key, value[key], _at(path, key)) for key in _STEP_FIELDS if key in value}
        if step_id is None or any(v is None for v in read.values()) or not set(_STEP_FIELDS[:3]) <= set(read):
            return None
        return PolicyStep(step_id=step_id, **_step_kwargs(read))

    def step_field(self, key: str, value: Any, path: str) -> Any:
        """One field of a step or of an override, read; None when it has a problem (already reported)."""
        readers: dict[str, Callable[[Any, str], Any]] = {
            "offset_days": lambda v, p: self.days(v, p, MIN_OFFSET_DAYS, MAX_OFFSET_DAYS),
            "channel": self.channel,
            "template": lambda v, p: self.text(
                v,
                p,
                _TEMPLATE,
                "a template name of lower-case letters, digits and _ (e.g. reminder_friendly)",
            ),
            "min_days_after_previous": lambda v, p: self.days(v, p, 0, MAX_SPACING_DAYS),
            "required": self.boolean,
            "conditions": self.conditions,
        }
        return readers[key](value, path)

    def ladder(self, placed: Sequence[_Placed], deadline_days: int | None, deadline_path: str) -> None:
        """The rules between steps: increasing offsets, one required formal notice, the agency after it."""
        formal_notice: _Placed | None = None
        for index, current in enumerate(placed):
            step = current.step
            if index and step.offset_days <= placed[index - 1].step.offset_days:
                previous = placed[index - 1]
                self.fail(
                    _at(current.path, "offset_days"),
                    f"{step.offset_days} is not after {previous.step.offset_days}, the offset of the "
                    f"previous step {_shown(previous.step.step_id)}; steps must be listed by strictly "
                    f"increasing offset_days",
                )
            if step.channel is Channel.FORMAL_NOTICE:
                if formal_notice is not None:
                    self.fail(
                        _at(current.path, "channel"),
                        f"a second formal_notice step (the first is {_shown(formal_notice.step.step_id)}); "
                        f"a ladder has at most one",
                    )
                else:
                    formal_notice = current
                if not step.required:
                    self.fail(
                        _at(current.path, "required"),
                        "the formal_notice step must be `required: true` so that no later step jumps over "
                        "it, got false",
                    )
            if step.channel is Channel.AGENCY:
                if formal_notice is None:
                    self.fail(
                        _at(current.path, "channel"),
                        "an agency step must come after the formal_notice step (the debtor is put on notice "
                        "before the file goes to an agency); no formal_notice step precedes it",
                    )
                if deadline_days is not None and step.min_days_after_previous < deadline_days:
                    self.fail(
                        _at(current.path, "min_days_after_previous"),
                        f"an agency step must wait at least the formal notice deadline ({deadline_path}: "
                        f"{deadline_days} days) after the previous step, got {step.min_days_after_previous}",
                    )

    # Limits.

    def limits(self, value: Mapping[str, Any], path: str, inherited: dict[str, Any]) -> dict[str, Any] | None:
        limits = dict(inherited)
        complete = True
        bounds = {
            "promise_grace_days": PROMISE_GRACE_DAYS,
            "max_promise_days": MAX_PROMISE_DAYS,
            "formal_notice_deadline_days": FORMAL_NOTICE_DEADLINE_DAYS,
        }
        for key in _LIMITS:
            if key not in value:
                continue
            here = _at(path, key)
            read = (
                self.hours(value[key], here)
                if key == "sending_hours"
                else self.days(value[key], here, *bounds[key])
            )
            if read is None:
                complete = False
            limits[key] = read
        return limits if complete else None

    def hours(self, value: Any, path: str) -> tuple[time, time] | None:
        if not isinstance(value, Mapping):
            self.fail(
                path, f'expected a mapping such as {{start: "08:00", end: "19:00"}}, got {_shown(value)}'
            )
            return None
        self.keys(value, path, _HOURS_KEYS, required=_HOURS_KEYS)
        start = self.hour(value["start"], _at(path, "start")) if "start" in value else None
        end = self.hour(value["end"], _at(path, "end")) if "end" in value else None
        if start is None or end is None:
            return None
        if start >= end:
            self.fail(
                _at(path, "end"),
                f"{end:%H:%M} is not after the start {start:%H:%M}; e-mails go out between "
                f"start and end the same day",
            )
            return None
        return start, end

    def hour(self, value: Any, path: str) -> time | None:
        if type(value) is int:
            # YAML 1.1 reads an unquoted 19:00 as the base-60 number 1140.
            self.fail(
                path,
                f'expected a time as a quoted "HH:MM" string, got the number {value} (YAML reads an '
                f'unquoted time such as 19:00 as a number: write "19:00")',
            )
            return None
        match = _HOUR.fullmatch(value) if isinstance(value, str) else None
        if match is None:
            self.fail(
                path,
                f'expected a time as a quoted "HH:MM" string between "00:00" and "23:59", '
                f"got {_shown(value)}",
            )
            return None
        return time(int(match[1]), int(match[2]))

    # Installment plans.

    def plans(self, value: Any, path: str) -> PlanPolicy | None:
        if not isinstance(value, Mapping):
            self.fail(
                path,
                f"expected a mapping of plan rules by risk band ({', '.join(_PLAN_BANDS)}), got {_shown(value)}",
            )
            return None
        self.keys(value, path, _PLAN_BANDS, required=())
        default = self.plan_rules(value.get("default", {}), _at(path, "default"), DEFAULT_PLAN_RULES)
        bands = {
            band: self.plan_rules(value[band], _at(path, band), default or DEFAULT_PLAN_RULES)
            for band in RISK_BANDS
            if band in value
        }
        if default is None or None in bands.values():
            return None
        return PlanPolicy(default, {band: rules for band, rules in bands.items() if rules is not None})

    def plan_rules(self, value: Any, path: str, inherited: PlanRules) -> PlanRules | None:
        """One band's rules: `inherited` (the defaults, or the default band) with the keys it sets."""
        if not isinstance(value, Mapping):
            self.fail(
                path, f"expected a mapping of plan rules ({', '.join(_PLAN_KEYS)}), got {_shown(value)}"
            )
            return None
        self.keys(value, path, _PLAN_KEYS, required=())
        before = len(self.problems)
        changes: dict[str, Any] = {}
        if "max_duration_months" in value and "max_duration_days" in value:
            self.fail(path, "give max_duration_months or max_duration_days, not both")
        elif "max_duration_months" in value:
            months = self.whole(
                value["max_duration_months"], _at(path, "max_duration_months"), PLAN_MAX_DURATION_MONTHS
            )
            changes.update(max_duration_months=months, max_duration_days=None)
        elif "max_duration_days" in value:
            days = self.whole(
                value["max_duration_days"], _at(path, "max_duration_days"), PLAN_MAX_DURATION_DAYS
            )
            changes.update(max_duration_months=None, max_duration_days=days)
        if "max_installments" in value:
            changes["max_installments"] = self.whole(
                value["max_installments"], _at(path, "max_installments"), PLAN_MAX_INSTALLMENTS
            )
        if "grace_days" in value:
            changes["grace_days"] = self.whole(value["grace_days"], _at(path, "grace_days"), PLAN_GRACE_DAYS)
        if "reminder_days_before" in value:
            changes["reminder_days_before"] = self.whole(
                value["reminder_days_before"], _at(path, "reminder_days_before"), PLAN_REMINDER_DAYS_BEFORE
            )
        if "min_installment" in value:
            changes["min_installment_minor"] = self.amounts(
                value["min_installment"], _at(path, "min_installment")
            )
        if "max_total" in value:
            changes["max_total_minor"] = self.amounts(value["max_total"], _at(path, "max_total"))
        if "min_down_payment_percent" in value:
            changes["min_down_payment_bp"] = self.percent(
                value["min_down_payment_percent"], _at(path, "min_down_payment_percent")
            )
        if "late_fees" in value:
            late_fees = value["late_fees"]
            if not isinstance(late_fees, str) or late_fees not in LATE_FEES:
                self.fail(
                    _at(path, "late_fees"), f"expected one of {', '.join(LATE_FEES)}, got {_shown(late_fees)}"
                )
            else:
                changes["late_fees"] = LateFeesDuringPlan(late_fees)
        for key in ("allowed_after_formal_notice", "consumer_credit_exemption"):
            if key in value:
                changes[key] = self.boolean(value[key], _at(path, key))
        if len(self.problems) > before:
            return None
        return replace(inherited, **changes)

    def whole(self, value: Any, path: str, bounds: tuple[int, int]) -> int | None:
        low, high = bounds
        if type(value) is not int or not low <= value <= high:
            self.fail(path, f"must be a whole number between {low} and {high}, got {_shown(value)}")
            return None
        return value

    def percent(self, value: Any, path: str) -> int | None:
        """A percentage between 0 and 100 with at most 2 decimals, as basis points (10.5 % = 1050)."""
        if type(value) is int:
            value = str(value)
        if not isinstance(value, str) or not _PERCENT.fullmatch(value) or Decimal(value) > 100:
            self.fail(
                path,
                f"must be a percentage between 0 and 100 with at most 2 decimals, as a whole number or a quoted "
                f'decimal such as "12.5", got {_shown(value)}',
            )
            return None
        return int(Decimal(value) * 100)

    # Conditions.

    def conditions(self, value: Any, path: str) -> StepCondition | None:
        if not isinstance(value, Mapping):
            self.fail(
                path, f"expected a mapping (min_overdue, risk_bands, debtor_kinds), got {_shown(value)}"
            )
            return None
        self.keys(value, path, _CONDITION_KEYS, required=())
        minimum = self.amounts(value.get("min_overdue", {}), _at(path, "min_overdue"))
        bands = self.choices(value.get("risk_bands", []), _at(path, "risk_bands"), RISK_BANDS)
        kinds = self.choices(value.get("debtor_kinds", []), _at(path, "debtor_kinds"), DEBTOR_KINDS)
        if minimum is None or bands is None or kinds is None:
            return None
        return StepCondition(minimum, bands, tuple(PartyKind(kind) for kind in kinds))

    def amounts(self, value: Any, path: str) -> dict[str, int] | None:
        if not isinstance(value, Mapping):
            self.fail(
                path,
                f'expected a mapping of currency to amount such as {{EUR: "50.00"}}, got {_shown(value)}',
            )
            return None
        minimum: dict[str, int] = {}
        complete = True
        for currency, amount in value.items():
            here = _at(path, str(currency))
            if currency not in MINOR_DIGITS:
                self.fail(
                    here,
                    f"unsupported currency {_shown(currency)}; expected an ISO 4217 code among "
                    f"{', '.join(sorted(MINOR_DIGITS))}",
                )
                complete = False
                continue
            if not isinstance(amount, str) or not _DECIMAL.fullmatch(amount):
                self.fail(
                    here,
                    f'expected an amount in {currency} as a quoted decimal with a point, such as "50.00", '
                    f"got {_shown(amount)}",
                )
                complete = False
                continue
            try:
                minimum[currency] = Money.from_decimal(Decimal(amount), currency).minor
            except InvalidAmount:
                digits = MINOR_DIGITS[currency]
                self.fail(
                    here, f"{_shown(amount)} has more than {digits} decimals, the minor unit of {currency}"
                )
                complete = False
        return minimum if complete else None

    # Single values.

    def keys(
        self,
        value: Mapping[str, Any],
        path: str,
        allowed: Sequence[str],
        required: Sequence[str],
        listed: Sequence[str] | None = None,
    ) -> None:
        """Report unknown and missing keys; `listed` is what the message names (default: `allowed`)."""
        for key in value:
            if key not in allowed:
                close = difflib.get_close_matches(str(key), allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                named = ", ".join(listed or allowed)
                self.fail(_at(path, str(key)), f"unknown key; {hint}expected one of {named}")
        for key in required:
            if key not in value:
                self.fail(_at(path, key), "missing; this key is required")

    def days(self, value: Any, path: str, low: int, high: int) -> int | None:
        if value is _MISSING:
            return None
        if type(value) is not int:
            self.fail(path, f"expected a whole number of days, got {_shown(value)}")
            return None
        if not low <= value <= high:
            self.fail(path, f"expected between {low} and {high} days, got {value}")
            return None
        return value

    def boolean(self, value: Any, path: str) -> bool | None:
        if type(value) is not bool:
            self.fail(path, f"expected true or false, got {_shown(value)}")
            return None
        return value

    def channel(self, value: Any, path: str) -> Channel | None:
        if value not in CHANNELS or not isinstance(value, str):
            self.fail(path, f"expected one of {', '.join(CHANNELS)}, got {_shown(value)}")
            return None
        return Channel(value)

    def text(self, value: Any, path: str, pattern: re.Pattern[str], what: str) -> str | None:
        if value is _MISSING:
            return None
        if not isinstance(value, str) or not pattern.fullmatch(value):
            self.fail(path, f"expected {what}, got {_shown(value)}")
            return None
        return value

    def policy_id(self, value: Any, path: str) -> str | None:
        return self.text(
            value, path, _POLICY_ID, "a policy id of lower-case letters, digits, - and _ (e.g. fr-b2b)"
        )

    def name(self, value: Any, path: str) -> str | None:
        if value is _MISSING:
            return None
        if not isinstance(value, str) or not value.strip() or any(_is_control(ch) for ch in value):
            self.fail(
                path,
                f"expected a non-empty name on one line, without control characters, got {_shown(value)}",
            )
            return None
        return value

    def choices(self, value: Any, path: str, allowed: Sequence[str]) -> tuple[str, ...] | None:
        if not isinstance(value, list):
            self.fail(path, f"expected a list among {', '.join(allowed)}, got {_shown(value)}")
            return None
        read: list[str] = []
        complete = True
        for index, item in enumerate(value):
            here = f"{path}[{index}]"
            if not isinstance(item, str) or item not in allowed:
                self.fail(here, f"expected one of {', '.join(allowed)}, got {_shown(item)}")
                complete = False
            elif item in read:
                self.fail(here, f"{_shown(item)} is listed twice")
                complete = False
            else:
                read.append(item)
        return tuple(read) if complete else None

    # Across the book.

    def unique_policy_ids(
        self, default_id: str | None, segments: list[tuple[str, PolicySegment]] | None
    ) -> None:
        """Each ladder keeps its own id, so a contact's record says which ladder chose it."""
        seen = {default_id: "policy_id"} if default_id else {}
        for path, segment in segments or []:
            policy_id = segment.policy.policy_id
            if policy_id in seen:
                self.fail(
                    _at(path, "policy_id"),
                    f"{_shown(policy_id)} is already the id of {seen[policy_id]}; "
                    f"every ladder needs its own id",
                )
            else:
                seen[policy_id] = _at(path, "policy_id")

    def unreachable_segments(self, segments: list[tuple[str, PolicySegment]]) -> None:
        """The first matching segment wins: a segment whose debtors an earlier one all takes is never used."""
        for later_index, (later_path, later) in enumerate(segments):
            for earlier_path, earlier in segments[:later_index]:
                if _covers(earlier.debtor_kinds, later.debtor_kinds) and _covers(
                    earlier.risk_bands, later.risk_bands
                ):
                    self.fail(
                        later_path,
                        f"never used: every debtor it matches is already taken by {earlier_path} "
                        f"({_shown(earlier.policy.policy_id)}), and the first matching segment wins; "
                        f"put the narrower segment first",
                    )
                    break


def _covers(earlier: tuple[str, ...], later: tuple[str, ...]) -> bool:
    """True when every value `later` matches is matched by `earlier` (an empty tuple matches all)."""
    if not earlier:
        return True
    return bool(later) and set(later) <= set(earlier)


def _step_kwargs(read: Mapping[str, Any]) -> dict[str, Any]:
    names = {"conditions": "condition"}
    return {names.get(key, key): value for key, value in read.items()}


def _raw_ids(steps: Any) -> list[str]:
    if not isinstance(steps, list):
        return []
    return [item["id"] for item in steps if isinstance(item, Mapping) and isinstance(item.get("id"), str)]


def _deadline(limits: dict[str, Any] | None) -> int | None:
    return limits["formal_notice_deadline_days"] if limits is not None else None


def _deadline_path(segment: Mapping[str, Any], path: str) -> str:
    """Where the deadline a segment's agency step is checked against comes from: its own or the default's."""
    if "formal_notice_deadline_days" in segment:
        return _at(path, "formal_notice_deadline_days")
    return "formal_notice_deadline_days"


def _is_control(character: str) -> bool:
    return unicodedata.category(character) in ("Cc", "Zl", "Zp")


def _at(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _shown(value: Any) -> str:
    """A value as the operator wrote it: strings quoted, numbers as is, containers named."""
    if value is _MISSING or value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    return str(value)
