"""Finance's exports beyond the dashboard's aged balance: the collections of a period, as a CSV file."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, request
from relance.services.collections import PeriodRefused, collections_export, read_period
from relance_portal.errors import log
from relance_portal.i18n import current_language

from relance_backoffice.auth import READERS, BackOfficeUser, signed_in
from relance_backoffice.services import services

bp = Blueprint("exports", __name__)


@bp.get("/exports/collections.csv")
@signed_in(READERS)
def collections(user: BackOfficeUser):
    """The payments received from `from` to `to` (YYYY-MM-DD; the current month by default), in the reader's
    language."""
    ports = services()
    creditor = ports.plans.get_creditor(user.creditor_id)
    today = datetime.now(ZoneInfo(creditor.timezone if creditor else "Europe/Paris")).date()
    try:
        first, last = read_period(request.args.get("from", "")[:10], request.args.get("to", "")[:10], today)
    except PeriodRefused as exc:
        log.warning("Export refused", extra={"reason": "period", "problems": sorted(exc.problems)})
        abort(400)
    language = current_language()
    body = collections_export(user.creditor_id, first, last, language, ports.payments)
    name = ("encaissements" if language == "fr" else "collections") + f"-{first.isoformat()}-{last.isoformat()}.csv"
    return Response(body, mimetype="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})
