"""The dashboard's reads (docs/architecture/access-patterns.md):

- AP12, AP13 and AP15, every debtor's open invoices, the months' sales and the month-end snapshots:
  from the month-end store (`MonthEndStore`, which the daily scan uses alone).
- AP14, the month's collections: inherited from the payments store (`collections_between`).
- AL1, the day's alerts: `PK = CRED#<c>#ALERTS AND begins_with(SK, "<day>#")`.
"""

from __future__ import annotations

from datetime import date

from relance.adapters import keys
from relance.adapters.alerts_store import alert_from, broken_commitments_of, stored_risk_of
from relance.adapters.dynamo import debtor_from
from relance.adapters.dynamo_codec import from_dynamo as _from_dynamo
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.adapters.month_end_store import MonthEndStore, open_invoices_of
from relance.adapters.payments_store import PaymentsStore
from relance.domain.alerts import Alert
from relance.domain.invoices import Invoice
from relance.domain.parties import Debtor
from relance.domain.risk_upkeep import StoredRisk


class DashboardStore(MonthEndStore, PaymentsStore):
    """The month-end, plans and payments stores, plus the creditor-wide reads of the dashboard."""

    def accounts_with_risk(self, creditor_id: str) -> list[tuple[Debtor, list[Invoice], StoredRisk, int]]:
        """AP12 as `open_accounts`, with the risk each debtor item carries (AL5) and its broken plans."""
        items = self._batch_get([keys.debtor_key(creditor_id, d) for d in self.debtor_ids(creditor_id)])
        return [(debtor_from(item), open_invoices_of(item), stored_risk_of(item), broken_commitments_of(item))
                for item in sorted(items, key=lambda i: i["debtor_id"])]

    def stored_risk(self, creditor_id: str, debtor_id: str) -> tuple[StoredRisk, int]:
        """AL5 for one debtor: the risk their item carries and their broken plans (nothing stored when absent)."""
        response = self._client.get_item(TableName=self.table_name,
                                         Key=_to_dynamo(keys.debtor_key(creditor_id, debtor_id)),
                                         ProjectionExpression="risk_score, risk_band, risk_reasons, broken_plans")
        item = _from_dynamo(response.get("Item") or {})
        return stored_risk_of(item), broken_commitments_of(item)

    def alerts_of_day(self, creditor_id: str, day: date) -> list[tuple[Alert, str]]:
        """AL1: the creditor's alerts of `day`, each with the instant it was raised."""
        found = self._query(KeyConditionExpression="PK = :pk AND begins_with(SK, :day)",
                            ExpressionAttributeValues=_to_dynamo({":pk": keys.alerts_pk(creditor_id),
                                                                  ":day": f"{day.isoformat()}#"}))
        return [(alert_from(item), str(item.get("raised_at", ""))) for item in found]
