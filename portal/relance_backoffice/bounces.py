"""Finance's queue of debtors with an e-mail address that bounced: each links to the contact details to fix.

The debtors come from AP12 (every debtor item of the creditor, as the dashboard reads them); an address
leaves the queue once finance removes or corrects it (relance.services.debtor_actions.edit_contacts).
"""

from __future__ import annotations

from flask import Blueprint, render_template

from relance_backoffice.auth import READERS, BackOfficeUser, signed_in
from relance_backoffice.services import services

bp = Blueprint("bounces", __name__)


@bp.get("/bounces")
@signed_in(READERS)
def queue(user: BackOfficeUser):
    """Debtors with undeliverable addresses, by name."""
    accounts = services().dashboard.open_accounts(user.creditor_id)
    bounced = sorted((debtor for debtor, _invoices in accounts if debtor.undeliverable),
                     key=lambda d: (d.name.casefold(), d.debtor_id))
    return render_template("bounces/queue.html", debtors=bounced, can_decide=user.can_decide)
