"""Finance's alerts (issue 8): which facts raise one, at the thresholds' boundaries, each under a stable id."""

from __future__ import annotations

from datetime import date, timedelta

from relance.domain.alerts import (
    Alert,
    AlertKind,
    AlertRules,
    OpenInvoiceLine,
    WaitingDispute,
    dispute_waiting_alerts,
    dispute_waiting_window,
    high_risk_alert,
    invoice_over_90_alerts,
    large_amount_alerts,
    newest_first,
    plan_broken_alert,
    previous_business_day,
)
from relance.domain.money import Money

MONDAY = date(2025, 12, 1)
FRIDAY = date(2025, 11, 28)


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def a_line(due_on: date, balance: int = 500_00, number: str = "F-1") -> OpenInvoiceLine:
    return OpenInvoiceLine("d1", number, due_on, eur(balance))


def test_a_debtor_becoming_high_risk_raises_one_alert_linking_their_page():
    alert = high_risk_alert("acme", "d1", "medium", "high", MONDAY, 64)

    assert alert is not None
    assert alert.kind is AlertKind.HIGH_RISK and alert.path == "/debtors/d1"
    assert alert.alert_id == "2025-12-01#high_risk#d1"
    assert alert.params["score"] == "64"


def test_a_debtor_staying_high_or_leaving_high_raises_nothing():
    assert high_risk_alert("acme", "d1", "high", "high", MONDAY, 80) is None
    assert high_risk_alert("acme", "d1", "high", "medium", MONDAY, 40) is None
    assert high_risk_alert("acme", "d1", None, "medium", MONDAY, 40) is None


def test_a_first_score_straight_to_high_is_an_alert():
    assert high_risk_alert("acme", "d1", None, "high", MONDAY, 90) is not None


def test_a_plan_moving_to_broken_raises_an_alert_linking_the_plan():
    alert = plan_broken_alert("acme", "d1", "p-7", "active", "broken", MONDAY)

    assert alert is not None and alert.path == "/plans/acme/d1/p-7"
    assert alert.alert_id == "2025-12-01#plan_broken#p-7"
    assert plan_broken_alert("acme", "d1", "p-7", "broken", "broken", MONDAY) is None
    assert plan_broken_alert("acme", "d1", "p-7", "proposed", "active", MONDAY) is None


def test_large_amount_is_raised_only_when_the_balance_goes_strictly_above_the_threshold():
    rules = AlertRules(large_amount_minor={"EUR": 10_000_00})

    at_threshold = large_amount_alerts("acme", "d1", [eur(9_000_00)], [eur(10_000_00)], rules, MONDAY)
    above = large_amount_alerts("acme", "d1", [eur(10_000_00)], [eur(10_000_01)], rules, MONDAY)
    already_above = large_amount_alerts("acme", "d1", [eur(10_000_01)], [eur(12_000_00)], rules, MONDAY)

    assert at_threshold == []
    assert [a.alert_id for a in above] == ["2025-12-01#large_amount#d1#EUR"]
    assert above[0].params == {"amount_minor": "1000001", "currency": "EUR"}
    assert already_above == []


def test_large_amount_ignores_a_currency_without_a_threshold():
    rules = AlertRules(large_amount_minor={"EUR": 100_00})

    assert large_amount_alerts("acme", "d1", [], [Money(1_000_000, "JPY")], rules, MONDAY) == []


def test_an_invoice_entering_the_over_90_bucket_today_is_an_alert():
    due_on = MONDAY - timedelta(days=91)

    alerts = invoice_over_90_alerts("acme", [a_line(due_on)], previous_business_day(MONDAY, ()), MONDAY)

    assert [a.alert_id for a in alerts] == ["2025-12-01#invoice_over_90#d1#F-1"]
    assert alerts[0].params["days"] == "91" and alerts[0].path == "/debtors/d1"


def test_an_invoice_at_exactly_90_days_late_or_already_over_90_before_is_not_an_alert():
    since = previous_business_day(MONDAY, ())

    ninety = invoice_over_90_alerts("acme", [a_line(MONDAY - timedelta(days=90))], since, MONDAY)
    already = invoice_over_90_alerts("acme", [a_line(since - timedelta(days=91))], since, MONDAY)

    assert ninety == [] and already == []


def test_an_invoice_that_crossed_over_on_the_weekend_is_reported_on_monday():
    saturday_entry = date(2025, 11, 29) - timedelta(days=91)

    alerts = invoice_over_90_alerts("acme", [a_line(saturday_entry)], FRIDAY, MONDAY)

    assert len(alerts) == 1


def test_a_settled_invoice_is_never_an_over_90_alert():
    assert invoice_over_90_alerts("acme", [a_line(MONDAY - timedelta(days=91), balance=0)], FRIDAY, MONDAY) == []


def test_a_dispute_waiting_more_than_the_policy_days_is_an_alert_once():
    rules = AlertRules(dispute_waiting_days=7)
    since = FRIDAY
    crossing = WaitingDispute("d1", "disp-1", "F-9", MONDAY - timedelta(days=8))  # 8 days > 7
    exactly_seven = WaitingDispute("d1", "disp-2", "F-10", MONDAY - timedelta(days=7))
    older = WaitingDispute("d1", "disp-3", "F-11", FRIDAY - timedelta(days=8))  # was already over on Friday

    alerts = dispute_waiting_alerts("acme", [crossing, exactly_seven, older], since, MONDAY, rules)

    assert [a.alert_id for a in alerts] == ["2025-12-01#dispute_waiting#d1#disp-1"]
    assert alerts[0].path == "/disputes" and alerts[0].params["days"] == "8"


def test_the_dispute_window_covers_every_day_a_crossing_dispute_can_have_been_opened():
    rules = AlertRules(dispute_waiting_days=7)

    first, last = dispute_waiting_window(FRIDAY, MONDAY, rules)

    opened = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    alerts = dispute_waiting_alerts("acme", [WaitingDispute("d", f"x{n}", "F", day) for n, day in enumerate(opened)],
                                    FRIDAY, MONDAY, rules)
    assert len(alerts) == len(opened)
    assert dispute_waiting_alerts("acme", [WaitingDispute("d", "y", "F", first - timedelta(days=1))], FRIDAY, MONDAY,
                                  rules) == []
    assert dispute_waiting_alerts("acme", [WaitingDispute("d", "z", "F", last + timedelta(days=1))], FRIDAY, MONDAY,
                                  rules) == []


def test_the_same_fact_on_the_same_day_always_has_the_same_id():
    first = high_risk_alert("acme", "d1", "low", "high", MONDAY, 70)
    again = high_risk_alert("acme", "d1", "medium", "high", MONDAY, 75)

    assert first is not None and again is not None and first.alert_id == again.alert_id


def test_alerts_are_listed_newest_first():
    older = Alert("acme", MONDAY, AlertKind.HIGH_RISK, "d1", "d1", "/debtors/d1")
    newer = Alert("acme", MONDAY, AlertKind.PLAN_BROKEN, "p", "d2", "/plans/acme/d2/p")

    ordered = newest_first([older, newer], {older.alert_id: "2025-12-01T08:00:00+00:00",
                                            newer.alert_id: "2025-12-01T09:00:00+00:00"})

    assert ordered == [newer, older]


def test_the_previous_business_day_of_a_monday_is_the_friday_and_skips_holidays():
    assert previous_business_day(MONDAY, ()) == FRIDAY
    assert previous_business_day(MONDAY, {FRIDAY}) == date(2025, 11, 27)


def a_policy_document(**extra) -> dict:
    import yaml
    from pathlib import Path

    import relance

    folder = Path(relance.__file__).parent / "data" / "policies"
    return {**yaml.safe_load((folder / "fr-b2b.yaml").read_text(encoding="utf-8")), **extra}


def test_a_policy_sets_the_alert_thresholds_and_keeps_them_on_the_way_back():
    from relance.domain.policy_documents import load_policy_book, policy_to_document

    book = load_policy_book(a_policy_document(alerts={"dispute_waiting_days": 10, "large_amount": {"EUR": "5000.00"}}))

    assert book.alerts == AlertRules(10, {"EUR": 5_000_00})
    assert load_policy_book(policy_to_document(book)).alerts == book.alerts


def test_a_policy_without_alerts_uses_the_defaults():
    from relance.domain.policy_documents import load_policy_book

    assert load_policy_book(a_policy_document()).alerts is None
    assert AlertRules().dispute_waiting_days == 7


def test_bad_alert_settings_are_all_reported_with_their_path():
    import pytest
    from relance.domain.errors import InvalidPolicy
    from relance.domain.policy_documents import load_policy_book

    with pytest.raises(InvalidPolicy) as caught:
        load_policy_book(a_policy_document(alerts={"dispute_waiting_days": 0, "large_amount": {"EUR": 5000},
                                                   "digest_hour": 9}))

    paths = sorted(problem["path"] for problem in caught.value.params["problems"])
    assert paths == ["alerts.digest_hour", "alerts.dispute_waiting_days", "alerts.large_amount.EUR"]
