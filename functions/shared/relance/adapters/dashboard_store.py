"""The dashboard's reads (docs/architecture/access-patterns.md):

- AP12, every debtor of a creditor: debtor items carry `GSI1PK = CRED#<c>#DEBTORS`, `GSI1SK = <d>`;
  a Query on GSI1 gives the ids, then BatchGetItem reads each debtor item with its `open_invoices`
  summary (AP1b): about two reads per debtor, never a Scan.
- AP13, credit sales of a month: `PK = CRED#<c>#SALES#<yyyy-mm>`, one line per invoice issued then,
  written with the invoice at import.
- AL1, the day's alerts: `PK = CRED#<c>#ALERTS AND begins_with(SK, "<day>#")`.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from relance.adapters import keys
from relance.adapters.alerts_store import alert_from
from relance.adapters.dynamo import OPEN_INVOICES, debtor_from, invoice_from_summary
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.adapters.plans_store import PlansStore
from relance.domain.aging import months_between
from relance.domain.alerts import Alert
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor


class DashboardStore(PlansStore):
    """The plans store, plus the creditor-wide reads of the dashboard."""

    def debtor_ids(self, creditor_id: str) -> list[str]:
        """AP12: every debtor of the creditor, by id."""
        found = self._query(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
                            ExpressionAttributeValues=_to_dynamo({":pk": keys.debtor_index_pk(creditor_id)}))
        return [item["GSI1SK"] for item in found]

    def open_accounts(self, creditor_id: str) -> list[tuple[Debtor, list[Invoice]]]:
        """Every debtor of the creditor with their open invoices, from the debtor items' summaries."""
        items = self._batch_get([keys.debtor_key(creditor_id, d) for d in self.debtor_ids(creditor_id)])
        return [(debtor_from(item), _open_invoices(item)) for item in sorted(items, key=lambda i: i["debtor_id"])]

    def alerts_of_day(self, creditor_id: str, day: date) -> list[tuple[Alert, str]]:
        """AL1: the creditor's alerts of `day`, each with the instant it was raised."""
        found = self._query(KeyConditionExpression="PK = :pk AND begins_with(SK, :day)",
                            ExpressionAttributeValues=_to_dynamo({":pk": keys.alerts_pk(creditor_id),
                                                                  ":day": f"{day.isoformat()}#"}))
        return [(alert_from(item), str(item.get("raised_at", ""))) for item in found]

    def sales_between(self, creditor_id: str, first_month: date, last_month: date) -> list[tuple[date, Money]]:
        """AP13: (issue date, total) of every invoice issued from `first_month` to `last_month`."""
        sales: list[tuple[date, Money]] = []
        for month in months_between(first_month, last_month):
            for item in self._query(KeyConditionExpression="PK = :pk",
                                    ExpressionAttributeValues=_to_dynamo({":pk": keys.sales_pk(creditor_id, month)})):
                sales.append((date.fromisoformat(item["issued_on"]),
                              Money(int(item["total_minor"]), item["currency"])))
        return sales


def _open_invoices(item: dict[str, Any]) -> list[Invoice]:
    return [invoice_from_summary(item["creditor_id"], item["debtor_id"], number, entry)
            for number, entry in sorted((item.get(OPEN_INVOICES) or {}).items())]
