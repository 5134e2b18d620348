"""Rate tables: missing rates named, provisional mode flagged, override files, rules as data."""

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from relance.adapters.rate_tables import load_rules, packaged_text
from relance.domain.errors import InvalidRatesFile, MissingRate
from relance.domain.late_fees import LateFeeClaim, compute_late_fees
from relance.domain.money import Money

PACK = Path(__file__).resolve().parents[3] / "shared" / "domain"
HEADER = "kind,jurisdiction,valid_from,valid_to,rate_percent,source\n"


def eur(text: str) -> Money:
    return Money.from_decimal(Decimal(text), "EUR")


def a_claim(jurisdiction: str = "FR", due_on: date = date(2026, 6, 30)) -> LateFeeClaim:
    return LateFeeClaim(eur("10000.00"), due_on, jurisdiction)


def test_a_missing_rate_names_the_rate_the_day_and_the_half_year():
    rates, _ = load_rules()

    with pytest.raises(MissingRate) as caught:
        rates.rate_on("ecb_mro", date(2026, 7, 1))

    assert str(caught.value) == (
        "no ECB MRO rate known for 2026-07-01 (H2 2026); add it to the rates file or enable provisional rates"
    )
    assert caught.value.code == "rates.missing" and caught.value.params["kind"] == "ecb_mro"


def test_a_late_fee_needing_an_unpublished_rate_fails_instead_of_guessing():
    rates, rules = load_rules()

    with pytest.raises(MissingRate, match="ECB MRO rate known for 2026-07-01"):
        compute_late_fees(a_claim(), date(2026, 7, 10), rates, rules)


def test_the_contract_rate_floor_needs_the_legal_rate_of_the_semester():
    rates, rules = load_rules()
    claim = LateFeeClaim(eur("1000.00"), date(2026, 6, 30), "FR", contract_rate_percent=Decimal(20))

    expected = r"FR legal interest rate \(autres cas\) known for 2026-07-01 \(H2 2026\)"
    with pytest.raises(MissingRate, match=expected):
        compute_late_fees(claim, date(2026, 7, 10), rates, rules)


def test_provisional_mode_carries_the_last_rate_forward_and_flags_it():
    rates, _ = load_rules(provisional=True)

    quote = rates.rate_on("ecb_mro", date(2026, 7, 1))

    assert (quote.rate_percent, quote.is_provisional) == (Decimal("2.15"), True)
    assert quote.source.startswith("PROVISIONAL: last known ECB MRO rate 2.15% (valid to 2026-04-30)")


def test_provisional_mode_marks_the_segments_and_the_result():
    rates, rules = load_rules(provisional=True)

    result = compute_late_fees(a_claim(), date(2026, 7, 10), rates, rules)

    assert result.uses_provisional_rate
    assert [(s.annual_rate_percent, s.is_provisional) for s in result.segments] == [(Decimal("12.15"), True)]


def test_provisional_mode_leaves_results_on_published_rates_unflagged():
    rates, rules = load_rules(provisional=True)

    result = compute_late_fees(a_claim(due_on=date(2025, 6, 30)), date(2025, 7, 10), rates, rules)

    assert not result.uses_provisional_rate


def test_provisional_mode_never_invents_a_rate_before_the_first_known_one():
    rates, _ = load_rules(provisional=True)

    with pytest.raises(MissingRate):
        rates.rate_on("ecb_mro", date(2020, 1, 1))


def test_an_override_file_adds_a_newly_published_rate(tmp_path):
    override = tmp_path / "rates.csv"
    override.write_text(HEADER + "ecb_mro,EU,2026-05-01,2026-12-31,2.00,operator test row\n", "utf-8")
    rates, rules = load_rules(override)

    result = compute_late_fees(a_claim(), date(2026, 7, 10), rates, rules)

    assert [(s.annual_rate_percent, s.is_provisional) for s in result.segments] == [(Decimal("12.00"), False)]
    assert "operator test row" in result.segments[0].rate_source


def test_an_override_row_replaces_the_packaged_rate_on_the_days_it_covers(tmp_path):
    override = tmp_path / "rates.csv"
    override.write_text(HEADER + "ecb_mro,EU,2025-01-01,2025-01-01,3.00,correction\n", encoding="utf-8")
    rates, _ = load_rules(override)

    assert rates.rate_on("ecb_mro", date(2025, 1, 1)).rate_percent == Decimal("3.00")
    assert rates.rate_on("ecb_mro", date(2025, 1, 2)).rate_percent == Decimal("3.15")


@pytest.mark.parametrize(("row", "problem"), [
    ("ecb_mro,EU,2026-05-01,2026-12-31,2.00,\n", "source"),
    ("ecb_mro,EU,2026-13-01,2026-12-31,2.00,x\n", "not a YYYY-MM-DD date"),
    ("ecb_mro,EU,2026-05-01,2026-12-31,two,x\n", "not a decimal"),
    ("ecb_mro,EU,2026-05-01,2026-12-31,2.00,x\necb_mro,EU,2026-06-01,2026-12-31,2.10,y\n", "overlap"),
])
def test_a_bad_override_row_is_refused_with_its_line(tmp_path, row, problem):
    override = tmp_path / "rates.csv"
    override.write_text(HEADER + row, encoding="utf-8")

    with pytest.raises(InvalidRatesFile, match=problem):
        load_rules(override)


def test_a_missing_override_file_is_named():
    with pytest.raises(InvalidRatesFile, match="no-such-file.csv"):
        load_rules("/nonexistent/no-such-file.csv")


def test_the_packaged_rates_are_the_domain_pack_rates():
    packaged = list(csv.DictReader(packaged_text("rates.csv").splitlines()))

    with (PACK / "rates.csv").open(encoding="utf-8", newline="") as handle:
        assert packaged == list(csv.DictReader(handle))
    assert all(row["source"] for row in packaged)


@pytest.mark.parametrize(("derived_kind", "jurisdiction"), [
    ("fr_b2b_default_penalty", "FR"), ("uk_late_payment_statutory", "UK"),
])
def test_the_engine_rules_reproduce_every_derived_rate_of_the_pack(derived_kind, jurisdiction):
    rates, rules = load_rules()
    rule = rules.jurisdiction(jurisdiction).regime_for("business", "business").rate_by_creditor["business"]
    derived = [period for period in rates.periods if period.kind == derived_kind]

    computed = [rule.rate_for(period.starts_on, rates).rate_percent for period in derived]

    assert computed == [period.rate_percent for period in derived]


def test_member_states_are_data_only():
    _, rules = load_rules()

    assert {"EU", "BE", "DE", "ES", "IE", "IT", "NL"} <= set(rules.jurisdictions)


def test_spain_from_the_packaged_data_is_mro_plus_eight_with_forty_euros():
    rates, rules = load_rules()

    result = compute_late_fees(a_claim("ES", date(2025, 6, 20)), date(2025, 7, 20), rates, rules)

    assert [s.annual_rate_percent for s in result.segments] == [Decimal("11.15"), Decimal("10.15")]
    assert result.recovery_fee == eur("40.00")


def test_germany_asks_for_its_base_rate_until_an_operator_adds_it(tmp_path):
    override = tmp_path / "rates.csv"
    override.write_text(HEADER + "de_base_rate,DE,2025-01-01,2025-06-30,2.27,operator row\n", "utf-8")
    rates, rules = load_rules()
    with_rate, _ = load_rules(override)

    with pytest.raises(MissingRate, match="German base rate"):
        compute_late_fees(a_claim("DE", date(2025, 3, 31)), date(2025, 4, 30), rates, rules)
    result = compute_late_fees(a_claim("DE", date(2025, 3, 31)), date(2025, 4, 30), with_rate, rules)

    assert [s.annual_rate_percent for s in result.segments] == [Decimal("11.27")]


def test_a_new_member_state_is_one_yaml_block(tmp_path):
    rules_file = tmp_path / "jurisdictions.yaml"
    rules_file.write_text(packaged_text("jurisdictions.yaml") + """
  PT:
    name: Portugal
    law: Decreto-Lei 62/2013
    max_payment_terms: *eu_terms
    b2b: *eu_b2b
    consumer: null
""", encoding="utf-8")
    rates, rules = load_rules(rules_file=rules_file)

    claim = a_claim("PT", date(2025, 6, 20)).settled_on(date(2025, 7, 20))

    result = compute_late_fees(claim, date(2025, 7, 20), rates, rules)

    assert result.late_interest == eur("86.17")  # 10 d × 11.15% + 20 d × 10.15% on 10 000
    assert result.recovery_fee == eur("40.00")


def test_a_rules_file_with_a_float_amount_is_refused(tmp_path):
    rules_file = tmp_path / "jurisdictions.yaml"
    rules_file.write_text("jurisdictions:\n  XX:\n    b2b:\n      rate: {kind: ecb_mro, margin: 8.5}\n")

    with pytest.raises(InvalidRatesFile, match="quotes"):
        load_rules(rules_file=rules_file)


def test_a_rules_file_with_an_unknown_key_is_refused(tmp_path):
    rules_file = tmp_path / "jurisdictions.yaml"
    rules_file.write_text("jurisdictions:\n  XX:\n    b2b:\n      rate: {kind: ecb_mro, margn: '8'}\n")

    with pytest.raises(InvalidRatesFile, match="margn"):
        load_rules(rules_file=rules_file)
