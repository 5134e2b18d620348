"""Finance's dashboard: open and overdue totals per currency, aging buckets (table and chart), DSO and its trend
over the last month-ends (table and chart), what was collected this month, the plan queue and the debtors most at
risk, with the reasons of their score."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, render_template
from flask_babel import format_date, format_decimal, ngettext
from flask_babel import gettext as _
from relance.domain.aging import AgingBucket, TrendMonth, aged_balance_csv
from relance.domain.money import Money
from relance.domain.risk import RiskReason
from relance.domain.alerts import Alert, AlertKind
from relance.services.alerts import todays_alerts
from relance.services.dashboard import build_dashboard
from relance_portal.i18n import current_language, money_filter

from relance_backoffice.auth import READERS, BackOfficeUser, signed_in
from relance_backoffice.services import services

bp = Blueprint("dashboard", __name__)

CHART_WIDTH = 100  # the bars' scale, in SVG user units: the longest bar of a currency is this long


@bp.get("/dashboard")
@signed_in(READERS)
def show(user: BackOfficeUser):
    """The creditor's receivables at a glance, on the creditor's own business date."""
    ports = services()
    creditor = ports.plans.get_creditor(user.creditor_id)
    zone = ZoneInfo(creditor.timezone if creditor else "Europe/Paris")
    today = business_today(zone)
    board = build_dashboard(user.creditor_id, today, ports.dashboard)
    alerts = todays_alerts(user.creditor_id, today, ports.dashboard)
    unmatched = ports.bank_payments.count_unmatched(user.creditor_id) if ports.bank_payments else None
    return render_template("dashboard/dashboard.html", board=board, buckets=list(AgingBucket), unmatched=unmatched,
                           bucket_text=bucket_text, bar_length=bar_length, reason_text=reason_text,
                           band_text=band_text, days_text=days_text, alerts=alerts, alert_text=alert_text,
                           month_text=month_text, trend_bar_length=trend_bar_length)


@bp.get("/exports/aged-balance.csv")
@signed_in(READERS)
def aged_balance(user: BackOfficeUser):
    """The aged balance by debtor as a CSV file for a spreadsheet, in the reader's language."""
    ports = services()
    creditor = ports.plans.get_creditor(user.creditor_id)
    today = business_today(ZoneInfo(creditor.timezone if creditor else "Europe/Paris"))
    language = current_language()
    body = aged_balance_csv(ports.dashboard.open_accounts(user.creditor_id), today, language)
    name = ("balance-agee" if language == "fr" else "aged-balance") + f"-{today.isoformat()}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


def business_today(zone: ZoneInfo) -> date:
    """The creditor's business date: the one clock read of the request (tests replace it)."""
    return datetime.now(zone).date()


def bar_length(amount: Money, largest: Money) -> int:
    """A bar's length on the chart's scale; a non-zero amount always shows at least one unit."""
    if not largest.is_positive() or not amount.is_positive():
        return 0
    return max(1, amount.minor * CHART_WIDTH // largest.minor)


def trend_bar_length(month: TrendMonth, trend: tuple[TrendMonth, ...]) -> int:
    """A DSO bar's length on the chart's scale: the longest DSO of the trend is CHART_WIDTH long."""
    longest = max((m.figure.dso_days for m in trend if m.figure is not None), default=0)
    if month.figure is None or not longest or not month.figure.dso_days:
        return 0
    return max(1, int(month.figure.dso_days * CHART_WIDTH / longest))


def month_text(month: date) -> str:
    """A month and its year in the reader's locale (`févr. 2025`, `Feb 2025`)."""
    return format_date(month, format="MMM y")


def bucket_text(bucket: AgingBucket) -> str:
    """An aging bucket's name."""
    names = {
        AgingBucket.NOT_DUE: lambda: _("Not yet due"), AgingBucket.DAYS_1_30: lambda: _("1 to 30 days late"),
        AgingBucket.DAYS_31_60: lambda: _("31 to 60 days late"),
        AgingBucket.DAYS_61_90: lambda: _("61 to 90 days late"),
        AgingBucket.OVER_90: lambda: _("More than 90 days late"),
    }
    return names[bucket]()


def band_text(band: str) -> str:
    """A risk band in words."""
    bands = {"low": lambda: _("low risk"), "medium": lambda: _("medium risk"), "high": lambda: _("high risk")}
    text = bands.get(band)
    return text() if text is not None else band


def reason_text(reason: RiskReason) -> str:
    """One reason of a risk score, as a sentence."""
    params = reason.params
    count = int(params.get("count", 0) or 0)  # type: ignore[call-overload]
    messages = {
        "risk.average_days_late": lambda: _("Pays %(days)s days late on average.",
                                            days=days_text(params["days"])),
        "risk.share_paid_late": lambda: _("%(percent)s %% of invoices paid late.", percent=params["percent"]),
        "risk.overdue_amount": lambda: _("%(amount)s overdue.", amount=money_filter(params["amount"])),
        "risk.oldest_overdue": lambda: _("Oldest overdue invoice: %(days)s days late.", days=params["days"]),
        "risk.broken_commitments": lambda: ngettext("One broken plan or promise.",
                                                    "%(num)s broken plans or promises.", count),
        "risk.open_disputes": lambda: ngettext("One open dispute.", "%(num)s open disputes.", count),
        "risk.bounced_contacts": lambda: ngettext("One e-mail address bounced.",
                                                  "%(num)s e-mail addresses bounced.", count),
    }
    message = messages.get(reason.code)
    return message() if message is not None else reason.code


def alert_text(alert: Alert) -> str:
    """One alert of the day, as a sentence."""
    params = alert.params
    amount = ""
    if params.get("amount_minor") and params.get("currency"):
        amount = money_filter(Money(int(params["amount_minor"]), params["currency"]))
    messages = {
        AlertKind.HIGH_RISK: lambda: _("Debtor %(debtor)s became high risk (score %(score)s/100).",
                                       debtor=alert.debtor_label, score=params.get("score", "")),
        AlertKind.PLAN_BROKEN: lambda: _("The installment plan of debtor %(debtor)s is broken.",
                                         debtor=alert.debtor_label),
        AlertKind.DISPUTE_WAITING: lambda: _("The dispute of invoice %(number)s has been waiting %(days)s days.",
                                             number=params.get("number", ""), days=params.get("days", "")),
        AlertKind.INVOICE_OVER_90: lambda: _("Invoice %(number)s (%(amount)s) is now more than 90 days late.",
                                             number=params.get("number", ""), amount=amount),
        AlertKind.LARGE_AMOUNT: lambda: _("Debtor %(debtor)s owes %(amount)s, above the alert threshold.",
                                          debtor=alert.debtor_label, amount=amount),
    }
    return messages[alert.kind]()


def days_text(days: object) -> str:
    """A number of days to one decimal, in the reader's locale (48,5 or 48.5)."""
    return format_decimal(days, format="#,##0.0")
