"""Finance finds a debtor by part of their name, ignoring case and accents ("lumiere" finds "Lumière").

The creditor's debtors are read through the dashboard's AP12 read (every debtor item of the creditor):
a read that grows with the creditor's debtors, acceptable for a back-office search typed by a person.
"""

from __future__ import annotations

import unicodedata
from typing import Any, Protocol

from relance.domain.parties import Debtor

MAX_FOUND = 50


class DebtorLister(Protocol):
    def open_accounts(self, creditor_id: str) -> list[tuple[Debtor, list[Any]]]: ...


def folded(text: str) -> str:
    """`text` without case or accents, for comparing what a person typed with a name."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def find_by_name(debtors: DebtorLister, creditor_id: str, query: str) -> list[Debtor]:
    """Up to MAX_FOUND debtors of the creditor whose name contains `query`, by name."""
    wanted = folded(query.strip())
    if not wanted:
        return []
    found = [debtor for debtor, _invoices in debtors.open_accounts(creditor_id) if wanted in folded(debtor.name)]
    return sorted(found, key=lambda debtor: (folded(debtor.name), debtor.debtor_id))[:MAX_FOUND]
