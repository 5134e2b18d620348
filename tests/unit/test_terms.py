"""Payment terms: due dates from the pack's vectors, and the legal-maximum warning."""

import csv
from datetime import date
from pathlib import Path

import pytest

from relance.domain.errors import UnknownTermsRule
from relance.domain.terms import (
    PaymentTermsLimit,
    due_date,
    latest_legal_due_date,
    terms_exceed_legal_maximum,
)

PACK = Path(__file__).resolve().parents[3] / "shared" / "domain"
with (PACK / "due_date_vectors.csv").open(encoding="utf-8", newline="") as _handle:
    DUE_DATE_VECTORS = list(csv.DictReader(_handle))
FR_LIMIT = PaymentTermsLimit(days=60, end_of_month_days=45)


def test_the_pack_holds_every_due_date_rule():
    assert {row["rule"] for row in DUE_DATE_VECTORS} == {
        "days_60", "days_45_then_end_of_month", "end_of_month_then_days_45", "days_30_default"
    }


@pytest.mark.parametrize("row", DUE_DATE_VECTORS, ids=[row["id"] for row in DUE_DATE_VECTORS])
def test_every_pack_due_date_vector(row):
    due_on = due_date(date.fromisoformat(row["start_date"]), row["rule"])

    assert due_on == date.fromisoformat(row["due_date"])


def test_any_number_of_days_is_a_rule():
    assert due_date(date(2025, 12, 20), "days_15") == date(2026, 1, 4)


def test_an_unknown_rule_is_named_in_the_error():
    with pytest.raises(UnknownTermsRule, match="'net_30'"):
        due_date(date(2025, 1, 1), "net_30")


def test_forty_five_days_end_of_month_is_within_the_french_maximum():
    assert not terms_exceed_legal_maximum(date(2025, 1, 15), date(2025, 3, 31), FR_LIMIT)


def test_a_day_beyond_every_accepted_count_exceeds_the_french_maximum():
    assert latest_legal_due_date(date(2025, 1, 15), FR_LIMIT) == date(2025, 3, 31)
    assert terms_exceed_legal_maximum(date(2025, 1, 15), date(2025, 4, 1), FR_LIMIT)


def test_sixty_days_is_the_limit_where_no_end_of_month_count_exists():
    limit = PaymentTermsLimit(days=60)

    assert not terms_exceed_legal_maximum(date(2025, 1, 15), date(2025, 3, 16), limit)
    assert terms_exceed_legal_maximum(date(2025, 1, 15), date(2025, 3, 17), limit)


def test_no_warning_where_the_jurisdiction_sets_no_maximum():
    assert not terms_exceed_legal_maximum(date(2025, 1, 15), date(2026, 1, 15), None)
