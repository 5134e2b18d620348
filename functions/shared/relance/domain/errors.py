"""Business failures: each names a fact the user can act on, with a stable code and its parameters."""

from __future__ import annotations


class RelanceError(Exception):
    """Base of every business failure; `code` is stable, `params` feed the translated message."""

    code = "error"

    def __init__(self, message: str, **params: object) -> None:
        super().__init__(message)
        self.params = params


class InvalidAmount(RelanceError):
    code = "money.invalid_amount"


class CurrencyMismatch(RelanceError):
    code = "money.currency_mismatch"


class UnknownCreditor(RelanceError):
    code = "creditor.unknown"


class UnknownDebtor(RelanceError):
    code = "debtor.unknown"


class LinkInvalid(RelanceError):
    code = "link.invalid"


class LinkExpired(RelanceError):
    code = "link.expired"


class InvalidImportFile(RelanceError):
    """The file as a whole cannot be read (not a single row could be trusted)."""

    code = "import.invalid_file"


# Late-payment law (issue 4): rates, jurisdictions, payment terms.


class MissingRate(RelanceError):
    """A calculation needs a published rate that the rates file does not hold (convention C11)."""

    code = "rates.missing"


class InvalidRatesFile(RelanceError):
    """The rates file or the jurisdiction rules cannot be read as valid data."""

    code = "rates.invalid_file"


class UnknownJurisdiction(RelanceError):
    code = "late_fees.unknown_jurisdiction"


class ClaimNotCovered(RelanceError):
    """The jurisdiction's late-payment law does not cover this kind of creditor and debtor."""

    code = "late_fees.not_covered"


class InvalidLateFeeClaim(RelanceError):
    """The claim's own facts contradict each other (overpaid, bad party kind, negative rate)."""

    code = "late_fees.invalid_claim"


class FormalNoticeRequired(RelanceError):
    """Interest under this rule starts only from a formal notice (mise en demeure), and none is given."""

    code = "late_fees.formal_notice_required"


class ContractRateNotAllowed(RelanceError):
    code = "late_fees.contract_rate_not_allowed"


class RecoveryFeeUndefined(RelanceError):
    """The rules define no fixed recovery fee in the invoice currency."""

    code = "late_fees.recovery_fee_undefined"


class RuleNotModelled(RelanceError):
    """The law asks for something Relance does not compute (e.g. yearly capitalisation)."""

    code = "late_fees.rule_not_modelled"


class InvalidAllocation(RelanceError):
    code = "payments.invalid_allocation"


class UnknownTermsRule(RelanceError):
    code = "terms.unknown_rule"


class InvalidField(RelanceError):
    """One cell of an import cannot be used; `defect` names the rule it breaks (e.g. "invalid_siren")."""

    code = "import.invalid_field"

    def __init__(self, defect: str, message: str, **params: object) -> None:
        super().__init__(message, defect=defect, **params)
        self.defect = defect


# Policy as data (issue 5): the creditor's dunning ladder read from a document.


class InvalidPolicy(RelanceError):
    """A policy document breaks the format or the ladder rules; `problems` lists every (path, message)."""

    code = "policy.invalid"

    def __init__(
        self, problems: list[tuple[str, str]] | tuple[tuple[str, str], ...], source: str | None = None
    ) -> None:
        self.problems = tuple(problems)
        self.source = source
        where = f" {source}" if source else ""
        count = len(self.problems)
        listed = "; ".join(f"{path}: {message}" for path, message in self.problems)
        super().__init__(
            f"invalid policy{where}: {count} problem{'s' if count != 1 else ''}: {listed}",
            problems=[{"path": path, "message": message} for path, message in self.problems],
            source=source,
        )

    def lines(self) -> list[str]:
        """One `path: message` line per problem, in document order."""
        return [f"{path}: {message}" for path, message in self.problems]


class UnknownPolicy(RelanceError):
    """No packaged policy has this id."""

    code = "policy.unknown"


# Installment plans (issue 7): schedules, proposals, their lifecycle.


class InvalidSchedule(RelanceError):
    """A schedule cannot be built as asked (no installment, nothing left to spread, dates out of order)."""

    code = "plan.invalid_schedule"


class PlanMixesCurrencies(RelanceError):
    """A plan covers one currency; invoices or amounts in several currencies need one plan each."""

    code = "plan.mixed_currencies"


class InvalidPlanProposal(RelanceError):
    """A proposal contradicts itself (no invoice, a schedule that does not add up to the debt)."""

    code = "plan.invalid_proposal"


class PlanOutsidePolicy(RelanceError):
    """A proposal breaks the creditor's plan rules and cannot be accepted without finance."""

    code = "plan.outside_policy"


class InvalidTransition(RelanceError):
    """A plan cannot go through this event in its current state (e.g. accepting a withdrawn proposal)."""

    code = "plan.invalid_transition"


class InvalidPlanPayment(RelanceError):
    """A payment cannot go to this plan (not running, nothing to pay, another currency)."""

    code = "plan.invalid_payment"
