"""Finance's accounts in a Cognito user pool: sign-in by username and password, groups, users added
by the command line.

Groups say what a person may do in the back office: `finance` decides, `viewer` reads, `admin` manages.
Each user carries `custom:creditor_id`, the creditor whose receivables they see.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from typing import Any

from relance.adapters.aws import client
from relance.domain.errors import RelanceError

GROUPS = ("finance", "viewer", "admin")
CREDITOR_ATTRIBUTE = "custom:creditor_id"


class WrongCredentials(RelanceError):
    """The username or the password is wrong (Cognito never says which, and neither do we)."""

    code = "auth.wrong_credentials"


class NewPasswordRequired(RelanceError):
    """The account still has its temporary password (an admin invited it): the person chooses their own.

    `challenge` is Cognito's session for that step (valid a few minutes), to pass to `set_new_password`.
    """

    code = "auth.new_password_required"

    def __init__(self, message: str, challenge: str) -> None:
        super().__init__(message)
        self.challenge = challenge


class PasswordRefused(RelanceError):
    """The new password does not meet the pool's rules (length, upper and lower case, a digit)."""

    code = "auth.password_refused"


class ChallengeExpired(RelanceError):
    """The step to choose a password took too long, or was already used: sign in again."""

    code = "auth.challenge_expired"


class AccountNotUsable(RelanceError):
    """The account exists but cannot use the back office: no group, or no creditor."""

    code = "auth.account_not_usable"


@dataclass(frozen=True, slots=True)
class SignedInUser:
    """Who signed in: their username, their groups and the creditor they work for."""

    username: str
    groups: tuple[str, ...]
    creditor_id: str


def _claims(id_token: str) -> dict[str, Any]:
    # The token is Cognito's own answer to our InitiateAuth call over TLS, not something a browser sent,
    # so its payload is read as is; the back office never accepts a token from the outside.
    payload = id_token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


class CognitoSignIn:
    """Signs finance users in against the pool's app client (USER_PASSWORD_AUTH, no client secret)."""

    def __init__(self, user_pool_id: str, client_id: str) -> None:
        self.user_pool_id = user_pool_id
        self.client_id = client_id

    def sign_in(self, username: str, password: str) -> SignedInUser:
        """The user behind these credentials; WrongCredentials, NewPasswordRequired or AccountNotUsable."""
        idp = client("cognito-idp")
        try:
            answer = idp.initiate_auth(
                ClientId=self.client_id, AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": username, "PASSWORD": password},
            )
        except (idp.exceptions.NotAuthorizedException, idp.exceptions.UserNotFoundException,
                idp.exceptions.UserNotConfirmedException):
            raise WrongCredentials("wrong username or password") from None  # the cause names the user
        if answer.get("ChallengeName") == "NEW_PASSWORD_REQUIRED":
            raise NewPasswordRequired("the account still has its temporary password", answer.get("Session", ""))
        return _user_from(answer, username)

    def set_new_password(self, username: str, challenge: str, new_password: str) -> SignedInUser:
        """Answer Cognito's NEW_PASSWORD_REQUIRED step: the invited person's own password, then signed in."""
        idp = client("cognito-idp")
        try:
            answer = idp.respond_to_auth_challenge(
                ClientId=self.client_id, ChallengeName="NEW_PASSWORD_REQUIRED", Session=challenge,
                ChallengeResponses={"USERNAME": username, "NEW_PASSWORD": new_password},
            )
        except idp.exceptions.InvalidPasswordException:
            raise PasswordRefused("the new password does not meet the pool's rules") from None
        except (idp.exceptions.NotAuthorizedException, idp.exceptions.CodeMismatchException,
                idp.exceptions.ExpiredCodeException, idp.exceptions.UserNotFoundException):
            raise ChallengeExpired("the password step expired or was already answered") from None
        return _user_from(answer, username)


def _user_from(answer: dict[str, Any], username: str) -> SignedInUser:
    """The signed-in user from Cognito's answer; AccountNotUsable without tokens, a group or a creditor."""
    if "AuthenticationResult" not in answer:
        raise AccountNotUsable(f"sign-in asks for {answer.get('ChallengeName')}, which the back office "
                               "does not support", challenge=answer.get("ChallengeName"))
    claims = _claims(answer["AuthenticationResult"]["IdToken"])
    groups = tuple(g for g in claims.get("cognito:groups") or () if g in GROUPS)
    creditor_id = claims.get(CREDITOR_ATTRIBUTE) or ""
    if not groups or not creditor_id:
        raise AccountNotUsable("the account has no back-office group or no creditor",
                               has_group=bool(groups), has_creditor=bool(creditor_id))
    return SignedInUser(claims.get("cognito:username") or username, groups, creditor_id)


def add_user(user_pool_id: str, email: str, group: str, creditor_id: str, password: str) -> None:
    """Create (or update) a back-office user with a permanent password, in `group`, for `creditor_id`."""
    if group not in GROUPS:
        raise ValueError(f"group must be one of {', '.join(GROUPS)}, got {group!r}")
    idp = client("cognito-idp")
    attributes = [{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                  {"Name": CREDITOR_ATTRIBUTE, "Value": creditor_id}]
    try:
        idp.admin_create_user(UserPoolId=user_pool_id, Username=email, UserAttributes=attributes,
                              MessageAction="SUPPRESS")
    except idp.exceptions.UsernameExistsException:
        idp.admin_update_user_attributes(UserPoolId=user_pool_id, Username=email, UserAttributes=attributes)
    idp.admin_set_user_password(UserPoolId=user_pool_id, Username=email, Password=password, Permanent=True)
    idp.admin_add_user_to_group(UserPoolId=user_pool_id, Username=email, GroupName=group)
