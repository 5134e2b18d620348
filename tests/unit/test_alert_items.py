"""Alert items (issue 8): the debtor's name is stored with the alert, and items from before it was read by id."""

from __future__ import annotations

from datetime import UTC, date, datetime

from relance.adapters.alerts_store import alert_from, alert_item
from relance.domain.alerts import high_risk_alert

RAISED_AT = datetime(2025, 12, 1, 7, tzinfo=UTC)


def test_an_alert_item_keeps_the_debtors_name():
    named = high_risk_alert("c1", "d1", "medium", "high", date(2025, 12, 1), 64, "Client SARL")

    read = alert_from(alert_item(named, RAISED_AT))

    assert (read.debtor_name, read.debtor_label) == ("Client SARL", "Client SARL")


def test_an_alert_item_stored_before_names_were_kept_reads_by_id():
    named = high_risk_alert("c1", "d1", "medium", "high", date(2025, 12, 1), 64, "Client SARL")
    old_item = {key: value for key, value in alert_item(named, RAISED_AT).items() if key != "debtor_name"}

    read = alert_from(old_item)

    assert (read.debtor_name, read.debtor_label) == ("", "d1")


def test_the_name_is_not_part_of_the_alert_id_so_a_renamed_debtor_is_not_alerted_twice():
    named = high_risk_alert("c1", "d1", "medium", "high", date(2025, 12, 1), 64, "Client SARL")
    renamed = high_risk_alert("c1", "d1", "medium", "high", date(2025, 12, 1), 64, "Client SAS")

    assert named.alert_id == renamed.alert_id
