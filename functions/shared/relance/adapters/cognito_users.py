"""The back office's own user administration, in the Cognito user pool: list, invite, regroup, disable.

A user belongs to the creditor named by their `custom:creditor_id`. Cognito's ListUsers cannot filter on
a custom attribute, so the creditor's users are read group by group (ListUsersInGroup, three small lists)
and kept when the attribute matches. The service (relance.services.backoffice_users) never lets an admin
touch another creditor's user; this adapter only translates.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from relance.adapters.aws import client
from relance.adapters.cognito import CREDITOR_ATTRIBUTE, GROUPS


@dataclass(frozen=True, slots=True)
class PoolUser:
    """One back-office account: its username (the e-mail address), groups, creditor and state."""

    username: str
    email: str
    groups: tuple[str, ...]
    creditor_id: str
    is_enabled: bool
    status: str  # Cognito's UserStatus: CONFIRMED, FORCE_CHANGE_PASSWORD, ...


class CognitoUsers:
    """Cognito's admin API on one user pool."""

    def __init__(self, user_pool_id: str) -> None:
        self.user_pool_id = user_pool_id

    def users_of(self, creditor_id: str) -> list[PoolUser]:
        """Every user of the creditor, with all their groups, by username."""
        found: dict[str, dict[str, Any]] = {}
        groups: dict[str, list[str]] = {}
        idp = client("cognito-idp")
        for group in GROUPS:
            for page in idp.get_paginator("list_users_in_group").paginate(UserPoolId=self.user_pool_id,
                                                                           GroupName=group):
                for user in page["Users"]:
                    if _attributes(user.get("Attributes", ())).get(CREDITOR_ATTRIBUTE) == creditor_id:
                        found[user["Username"]] = user
                        groups.setdefault(user["Username"], []).append(group)
        return sorted((_pool_user(user, groups[name]) for name, user in found.items()),
                      key=lambda user: user.email.casefold())

    def user(self, username: str) -> PoolUser | None:
        """One user with their groups, or None when the pool has no such user."""
        idp = client("cognito-idp")
        try:
            answer = idp.admin_get_user(UserPoolId=self.user_pool_id, Username=username)
        except idp.exceptions.UserNotFoundException:
            return None
        listed = idp.admin_list_groups_for_user(UserPoolId=self.user_pool_id, Username=username)
        answer["Attributes"] = answer.get("UserAttributes", [])
        return _pool_user(answer, [g["GroupName"] for g in listed["Groups"] if g["GroupName"] in GROUPS])

    def invite(self, email: str, group: str, creditor_id: str) -> bool:
        """Create the account (Cognito mails a temporary password); False when the address has one already."""
        idp = client("cognito-idp")
        attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                      {"Name": CREDITOR_ATTRIBUTE, "Value": creditor_id}]
        try:
            idp.admin_create_user(UserPoolId=self.user_pool_id, Username=email, UserAttributes=attributes,
                                  DesiredDeliveryMediums=["EMAIL"])
        except idp.exceptions.UsernameExistsException:
            return False  # perhaps another creditor's: nothing is changed
        idp.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=email, GroupName=group)
        return True

    def set_group(self, username: str, group: str) -> None:
        """Put the user in `group` and take them out of the other back-office groups."""
        idp = client("cognito-idp")
        idp.admin_add_user_to_group(UserPoolId=self.user_pool_id, Username=username, GroupName=group)
        for other in GROUPS:
            if other != group:
                idp.admin_remove_user_from_group(UserPoolId=self.user_pool_id, Username=username, GroupName=other)

    def disable(self, username: str) -> None:
        """The user can no longer sign in (their account and history stay)."""
        client("cognito-idp").admin_disable_user(UserPoolId=self.user_pool_id, Username=username)


def _attributes(attributes: Any) -> dict[str, str]:
    return {attribute["Name"]: attribute["Value"] for attribute in attributes}


def _pool_user(user: dict[str, Any], groups: list[str]) -> PoolUser:
    attributes = _attributes(user.get("Attributes", ()))
    return PoolUser(user["Username"], attributes.get("email", user["Username"]),
                    tuple(g for g in GROUPS if g in groups), attributes.get(CREDITOR_ATTRIBUTE, ""),
                    bool(user.get("Enabled", True)), str(user.get("UserStatus", "")))
