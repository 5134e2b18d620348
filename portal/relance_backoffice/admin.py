"""The admin group's pages: the creditor's back-office users, and the creditor's dunning policy.

Every route is for `admin` only (finance and viewer get 403). Users of another creditor are 404. A
change is logged with ids and groups only (no e-mail address): the audit trail is per debtor, and these
changes concern no debtor.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from relance.adapters.cognito import GROUPS
from relance.adapters.policies import load_policy_text
from relance.adapters.policy_store import PolicyConflict
from relance.domain.errors import InvalidPolicy
from relance.domain.policy import DunningPolicy, PolicyBook, PolicySegment
from relance.services.backoffice_users import (
    MAX_EMAIL_CHARS,
    UserFormRefused,
    UserNotFound,
    add_user,
    change_group,
    disable_user,
)
from relance_portal.errors import log

from relance_backoffice.auth import ADMINS, BackOfficeUser, signed_in
from relance_backoffice.services import services

bp = Blueprint("admin", __name__, url_prefix="/admin")

MAX_POLICY_CHARS = 48 * 1024  # well under the app's 64 KiB request limit; a real policy is a few KiB


# --- users ---------------------------------------------------------------------------------------


@bp.get("/users")
@signed_in(ADMINS)
def users(user: BackOfficeUser):
    """The creditor's users, their group and state, and the form to add one."""
    return _users_page(user, {}, {})


@bp.post("/users")
@signed_in(ADMINS)
def add(user: BackOfficeUser):
    """Invite a user of the admin's creditor: Cognito mails them a temporary password."""
    form = {"email": request.form.get("email", "").strip()[:MAX_EMAIL_CHARS + 1],
            "group": request.form.get("group", "")}
    try:
        add_user(user.creditor_id, form["email"], form["group"], services().users)
    except UserFormRefused as exc:
        errors = {field: _user_problem(field, code) for field, code in exc.problems.items()}
        return _users_page(user, errors, form, status=400)
    _log_change("Back-office user added", user, group=form["group"])
    flash(_("The user is added; they receive their temporary password by e-mail."))
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>/group")
@signed_in(ADMINS)
def regroup(user: BackOfficeUser, username: str):
    """Move one of the creditor's users into another group."""
    group = request.form.get("group", "")
    try:
        change_group(user.creditor_id, user.username, username, group, services().users)
    except UserNotFound:
        abort(404)
    except UserFormRefused as exc:
        flash(_user_problem("group", exc.problems.get("group", "unknown")))
        return redirect(url_for("admin.users")), 303
    _log_change("Back-office user group changed", user, group=group)
    flash(_("The user's group is changed; it applies from their next sign-in."))
    return redirect(url_for("admin.users"))


@bp.post("/users/<username>/disable")
@signed_in(ADMINS)
def disable(user: BackOfficeUser, username: str):
    """One of the creditor's users can no longer sign in."""
    try:
        disable_user(user.creditor_id, user.username, username, services().users)
    except UserNotFound:
        abort(404)
    except UserFormRefused:
        flash(_("You cannot disable your own account."))
        return redirect(url_for("admin.users")), 303
    _log_change("Back-office user disabled", user)
    flash(_("The user is disabled: they can no longer sign in."))
    return redirect(url_for("admin.users"))


def _users_page(user: BackOfficeUser, errors: dict[str, str], form: dict[str, str], status: int = 200):
    return render_template("admin/users.html", users=services().users.users_of(user.creditor_id),
                           groups=[(group, group_text(group)) for group in GROUPS], group_text=group_text,
                           me=user.username, errors=errors, form=form, max_email=MAX_EMAIL_CHARS), status


def group_text(group: str) -> str:
    return {"finance": _("Finance (decides)"), "viewer": _("Viewer (reads)"),
            "admin": _("Administrator (users and policy)")}.get(group, group)


def _user_problem(field: str, code: str) -> str:
    if field == "email":
        return {"missing": _("Enter the person's e-mail address."),
                "exists": _("This address already has an account; it cannot be added again."),
                }.get(code, _("Enter an e-mail address such as name@example.com."))
    if code == "self":
        return _("You cannot change your own group.")
    return _("Choose one of the groups.")


def _log_change(message: str, user: BackOfficeUser, **extra: Any) -> None:
    """A line without personal data: the creditor, the admin's groups, what changed."""
    log.info(message, extra={"creditor_id": user.creditor_id, "by": "admin", **extra})


# --- policy --------------------------------------------------------------------------------------


@bp.get("/policy")
@signed_in(ADMINS)
def policy(user: BackOfficeUser):
    """The creditor's policy in force and the form to upload a new version."""
    return _policy_page(user, [], "")


@bp.post("/policy")
@signed_in(ADMINS)
def set_policy(user: BackOfficeUser):
    """Validate an uploaded policy (file or text) and store it as the creditor's next version."""
    upload = request.files.get("file")
    name = (upload.filename or "upload") if upload and upload.filename else "form"
    raw = upload.read(MAX_POLICY_CHARS + 1) if upload and upload.filename else b""
    text = raw.decode("utf-8", errors="replace") if raw else request.form.get("document", "")
    if len(raw) > MAX_POLICY_CHARS or len(text) > MAX_POLICY_CHARS:
        return _policy_page(user, [("(file)", _("The document is too long (at most 48 KB)."))], "", status=400)
    if not text.strip():
        return _policy_page(user, [("(file)", _("Choose a file or paste the policy document."))], "", status=400)
    try:
        book = load_policy_text(text, name)
    except InvalidPolicy as exc:
        return _policy_page(user, list(exc.problems), text if not raw else "", status=400)
    try:
        result = services().policy_store.set(user.creditor_id, book, now=datetime.now(UTC), source=name[:100])
    except PolicyConflict:
        flash(_("Someone changed the policy at the same moment; nothing was saved. Try again."))
        return redirect(url_for("admin.policy")), 303
    if result.changed:
        _log_change("Creditor policy set", user, version=result.stored.version)
        flash(_("The policy is saved as version %(version)s; it applies to the next step of every invoice.",
                version=result.stored.version))
    else:
        flash(_("This policy is already the one in force; nothing was saved."))
    return redirect(url_for("admin.policy"))


def _policy_page(user: BackOfficeUser, problems: list[tuple[str, str]], document: str, status: int = 200):
    ports = services()
    current = ports.policy_store.current(user.creditor_id)
    book = current.book if current is not None else _packaged_book(user.creditor_id)
    return render_template("admin/policy.html", current=current, ladders=ladders(book) if book else [],
                           problems=problems, document=document, max_chars=MAX_POLICY_CHARS), status


def _packaged_book(creditor_id: str) -> PolicyBook | None:
    """The policy the creditor is dunned with while it has none of its own (its profile's packaged one)."""
    creditor = services().plans.get_creditor(creditor_id)
    return services().policies_for(creditor) if creditor is not None else None


def ladders(book: PolicyBook) -> list[dict[str, Any]]:
    """Each ladder of the book in words: its title and one row per step, as `relance policy show` prints."""
    found = [_ladder(book.default, None)]
    found += [_ladder(segment.policy, segment) for segment in book.segments]
    return found


def _ladder(policy: DunningPolicy, segment: PolicySegment | None) -> dict[str, Any]:
    audience = _("every other debtor") if segment is None else _audience(segment)
    return {"policy_id": policy.policy_id, "name": policy.name, "audience": audience,
            "sending_hours": policy.sending_hours, "promise_grace_days": policy.promise_grace_days,
            "formal_notice_deadline_days": policy.formal_notice_deadline_days,
            "steps": [{"step_id": step.step_id,
                       "day": "J" if step.offset_days == 0 else f"J{step.offset_days:+d}",
                       "channel": step.channel.value, "template": step.template,
                       "wait": step.min_days_after_previous, "required": step.required,
                       "conditions": _conditions(step.condition)} for step in policy.steps]}


def _audience(segment: PolicySegment) -> str:
    parts = []
    if segment.debtor_kinds:
        parts.append(" / ".join(kind.value for kind in segment.debtor_kinds))
    if segment.risk_bands:
        parts.append(_("risk %(bands)s", bands=" / ".join(segment.risk_bands)))
    return ", ".join(parts)


def _conditions(condition: Any) -> list[str]:
    from relance.domain.money import Money
    from relance_portal.i18n import money_filter

    parts = [_("overdue at least %(amount)s", amount=money_filter(Money(minor, currency)))
             for currency, minor in condition.min_overdue_minor.items()]
    if condition.risk_bands:
        parts.append(_("risk %(bands)s", bands=" / ".join(condition.risk_bands)))
    if condition.debtor_kinds:
        parts.append(" / ".join(kind.value for kind in condition.debtor_kinds))
    return parts
