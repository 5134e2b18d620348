"""The debtor's evidence bundle (ZIP) for the lawyer: invoices, mails and letters as sent, portal actions,
payments, late fees with their legal basis, and the audit excerpt with its chain verification."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort
from relance.services.evidence import evidence_bundle
from relance_portal.errors import log

from relance_backoffice.auth import READERS, BackOfficeUser, signed_in
from relance_backoffice.services import services
from relance_backoffice.work import account_of, creditor_today

bp = Blueprint("evidence", __name__)


@bp.get("/debtors/<debtor_id>/evidence.zip")
@signed_in(READERS)
def download(user: BackOfficeUser, debtor_id: str):
    """The debtor's evidence bundle as of today in the creditor's time zone, as an attachment."""
    ports = services()
    account = account_of(user.creditor_id, debtor_id)
    if account is None or ports.evidence is None:
        abort(404)
    now = datetime.now(UTC)
    bundle = evidence_bundle(user.creditor_id, debtor_id, creditor_today(account), now, ports.evidence)
    if bundle is None:
        abort(404)
    if ports.access is not None:  # who took the file out, and when (the bundle itself is not kept)
        ports.access.add_audit(user.creditor_id, debtor_id, {"action": "evidence_exported", "actor": user.actor,
                                                             "filename": bundle.filename}, now)
    log.info("Evidence bundle exported", extra={"creditor_id": user.creditor_id, "debtor_id": debtor_id,
                                                "parts": len(bundle.parts)})
    return Response(bundle.body, mimetype="application/zip", headers={
        "Content-Disposition": f'attachment; filename="{bundle.filename}"',
        "Cache-Control": "no-store",
    })
