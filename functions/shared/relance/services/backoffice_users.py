"""An admin manages their creditor's back-office users: invite one, change their group, disable them.

The rule that matters: an admin only ever sees and touches users of their own creditor; anyone else's
user is "not found". An admin cannot change or disable their own account, so a creditor is never left
without the admin who could undo the change.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from relance.adapters.cognito import GROUPS
from relance.domain.errors import RelanceError

MAX_EMAIL_CHARS = 254
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class UserNotFound(RelanceError):
    """No such user, or a user of another creditor (an admin cannot tell the two apart)."""

    code = "users.not_found"


class UserFormRefused(RelanceError):
    """The form has problems: `problems` maps each field to a code."""

    code = "users.form_refused"

    def __init__(self, message: str, problems: dict[str, str]) -> None:
        super().__init__(message)
        self.problems = problems


class UsersPort(Protocol):
    def users_of(self, creditor_id: str) -> list[Any]: ...
    def user(self, username: str) -> Any | None: ...
    def invite(self, email: str, group: str, creditor_id: str) -> bool: ...
    def set_group(self, username: str, group: str) -> None: ...
    def disable(self, username: str) -> None: ...


def check_new_user(email: str, group: str) -> dict[str, str]:
    """The form's problems by field: `email` (missing, invalid), `group` (not a back-office group)."""
    problems: dict[str, str] = {}
    if not email:
        problems["email"] = "missing"
    elif len(email) > MAX_EMAIL_CHARS or not _EMAIL.match(email):
        problems["email"] = "invalid"
    if group not in GROUPS:
        problems["group"] = "unknown"
    return problems


def add_user(creditor_id: str, email: str, group: str, users: UsersPort) -> None:
    """Invite `email` into `group` for the admin's creditor; Cognito mails a temporary password."""
    email = email.strip().lower()
    problems = check_new_user(email, group)
    if problems:
        raise UserFormRefused("the new user's form has problems", problems)
    if not users.invite(email, group, creditor_id):
        raise UserFormRefused("the address already has an account", {"email": "exists"})


def change_group(creditor_id: str, admin_username: str, username: str, group: str, users: UsersPort) -> None:
    """Move the creditor's user into `group` (and out of the others)."""
    _own_user(creditor_id, username, users)
    problems = {"group": "unknown"} if group not in GROUPS else {}
    if username == admin_username:
        problems["group"] = "self"
    if problems:
        raise UserFormRefused("the group cannot be changed", problems)
    users.set_group(username, group)


def disable_user(creditor_id: str, admin_username: str, username: str, users: UsersPort) -> None:
    """The creditor's user can no longer sign in."""
    _own_user(creditor_id, username, users)
    if username == admin_username:
        raise UserFormRefused("an admin cannot disable their own account", {"user": "self"})
    users.disable(username)


def _own_user(creditor_id: str, username: str, users: UsersPort) -> Any:
    found = users.user(username) if username else None
    if found is None or found.creditor_id != creditor_id:
        raise UserNotFound("no such user for this creditor")
    return found
