"""The reads and writes of the month-end snapshots, beside the due invoices of `DynamoStore`: the daily scan's
store (docs/architecture/access-patterns.md). The dashboard's store builds on it (`DashboardStore`).

- AP12, every debtor of a creditor: debtor items carry `GSI1PK = CRED#<c>#DEBTORS`, `GSI1SK = <d>`;
  a Query on GSI1 gives the ids, then BatchGetItem reads each debtor item with its `open_invoices`
  summary (AP1b): about two reads per debtor, never a Scan.
- AP13, credit sales of a month: `PK = CRED#<c>#SALES#<yyyy-mm>`, one line per invoice issued then,
  written with the invoice at import.
- AP15, month-end snapshots: `PK = CRED#<c>#MONTHEND`, `SK = <yyyy-mm>`, put once by the daily scan on the
  first business day of the next month (`attribute_not_exists(PK)`); the trend is one Query.

Apart from the plans and payments stores, so that the daily scan imports neither (bench/coldstart.py).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from relance.adapters import keys
from relance.adapters.dynamo import OPEN_INVOICES, DynamoStore, debtor_from, invoice_from_summary
from relance.adapters.dynamo_codec import to_dynamo as _to_dynamo
from relance.domain.aging import MonthEndFigure, MonthEndSnapshot, months_between
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Debtor


class MonthEndStore(DynamoStore):
    """`DynamoStore` plus every debtor's open invoices, the months' sales and the month-end snapshots."""

    def debtor_ids(self, creditor_id: str) -> list[str]:
        """AP12: every debtor of the creditor, by id."""
        found = self._query(IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
                            ExpressionAttributeValues=_to_dynamo({":pk": keys.debtor_index_pk(creditor_id)}))
        return [item["GSI1SK"] for item in found]

    def open_accounts(self, creditor_id: str) -> list[tuple[Debtor, list[Invoice]]]:
        """Every debtor of the creditor with their open invoices, from the debtor items' summaries."""
        items = self._batch_get([keys.debtor_key(creditor_id, d) for d in self.debtor_ids(creditor_id)])
        return [(debtor_from(item), open_invoices_of(item)) for item in sorted(items, key=lambda i: i["debtor_id"])]

    def sales_between(self, creditor_id: str, first_month: date, last_month: date) -> list[tuple[date, Money]]:
        """AP13: (issue date, total) of every invoice issued from `first_month` to `last_month`."""
        sales: list[tuple[date, Money]] = []
        for month in months_between(first_month, last_month):
            lines: dict[str, tuple[date, Money]] = {}  # by invoice number: a line written twice counts once
            for item in self._query(KeyConditionExpression="PK = :pk",
                                    ExpressionAttributeValues=_to_dynamo({":pk": keys.sales_pk(creditor_id, month)})):
                if item.get("entity") == "sales_lines":  # an import chunk's invoices of the month, grouped
                    for number, line in item["lines"].items():
                        issued_on, currency, total_minor = line.split("|")[:3]
                        lines[number] = (date.fromisoformat(issued_on), Money(int(total_minor), currency))
                else:
                    lines[item["number"]] = (date.fromisoformat(item["issued_on"]),
                                             Money(int(item["total_minor"]), item["currency"]))
            sales.extend(lines.values())
        return sales

    def month_end_snapshots(self, creditor_id: str, first_month: date, last_month: date) -> list[MonthEndSnapshot]:
        """AP15: the snapshots taken for the months from `first_month` to `last_month`, in one Query."""
        found = self._query(KeyConditionExpression="PK = :pk AND SK BETWEEN :first AND :last",
                            ExpressionAttributeValues=_to_dynamo({
                                ":pk": keys.month_end_pk(creditor_id),
                                ":first": keys.month_end_key(creditor_id, first_month)["SK"],
                                ":last": keys.month_end_key(creditor_id, last_month)["SK"]}))
        return [month_end_from(item) for item in found]

    def has_month_end(self, creditor_id: str, month: date) -> bool:
        """AP15: whether `month`'s snapshot was taken already."""
        response = self._client.get_item(TableName=self.table_name,
                                         Key=_to_dynamo(keys.month_end_key(creditor_id, month)),
                                         ProjectionExpression="PK", ConsistentRead=True)
        return "Item" in response

    def put_month_end(self, creditor_id: str, snapshot: MonthEndSnapshot) -> bool:
        """Store `snapshot` once; False if that month's was already there (it is never rewritten)."""
        try:
            self._client.put_item(TableName=self.table_name, Item=_to_dynamo(month_end_item(creditor_id, snapshot)),
                                  ConditionExpression="attribute_not_exists(PK)")
        except self._client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def month_end_item(creditor_id: str, snapshot: MonthEndSnapshot) -> dict[str, Any]:
    """The snapshot as an item; DSO in whole tenths of a day (`dso_tenths`), so no float is stored."""
    return {
        **keys.month_end_key(creditor_id, snapshot.month),
        "entity": "month_end",
        "creditor_id": creditor_id,
        "month": snapshot.month.isoformat(),
        "taken_on": snapshot.taken_on.isoformat(),
        "figures": [{"currency": f.currency, "receivables_minor": f.receivables.minor,
                     "dso_tenths": int(f.dso_days * 10), "is_floor": f.is_floor} for f in snapshot.figures],
    }


def month_end_from(item: dict[str, Any]) -> MonthEndSnapshot:
    figures = tuple(MonthEndFigure(Money(int(f["receivables_minor"]), f["currency"]),
                                   Decimal(int(f["dso_tenths"])) / 10, bool(f["is_floor"]))
                    for f in item.get("figures") or [])
    return MonthEndSnapshot(date.fromisoformat(item["month"]), date.fromisoformat(item["taken_on"]), figures)


def open_invoices_of(item: dict[str, Any]) -> list[Invoice]:
    """The open invoices summarised on a debtor item (AP1b)."""
    return [invoice_from_summary(item["creditor_id"], item["debtor_id"], number, entry)
            for number, entry in sorted((item.get(OPEN_INVOICES) or {}).items())]
