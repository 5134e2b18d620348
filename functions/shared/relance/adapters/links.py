"""Personal portal links: signed, expiring, revocable by raising the debtor's link version.

The token carries only the creditor id, the debtor id and the link version; nothing secret
is stored, and finance revokes every link of a debtor by raising that version.
"""

from __future__ import annotations

from dataclasses import dataclass

from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from relance.domain.errors import LinkExpired, LinkInvalid

_SALT = "debtor-portal"
DEFAULT_MAX_AGE_DAYS = 30


@dataclass(frozen=True, slots=True)
class DebtorRef:
    """Who a link was made for."""

    creditor_id: str
    debtor_id: str
    link_version: int


def _serializer(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt=_SALT)


def make_link_token(secret: str, ref: DebtorRef) -> str:
    """A fresh token for the debtor's personal link."""
    return _serializer(secret).dumps({"c": ref.creditor_id, "d": ref.debtor_id, "v": ref.link_version})


def read_link_token(secret: str, token: str, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> DebtorRef:
    """The debtor a token was made for; LinkExpired or LinkInvalid otherwise.

    An expired token still names its debtor (in `LinkExpired.params["ref"]`), so the portal can
    offer to mail a fresh link to the address on record, never to an address typed in.
    """
    serializer = _serializer(secret)
    try:
        data = serializer.loads(token, max_age=max_age_days * 86_400)
    except SignatureExpired as exc:
        try:  # the error carries the payload still encoded; the signature itself was valid
            payload = serializer.load_payload(exc.payload) if exc.payload is not None else None
        except BadSignature:
            payload = None
        ref = _ref_from(payload)
        raise LinkExpired("this link has expired; a new one can be requested", ref=ref) from exc
    except BadSignature as exc:
        raise LinkInvalid("this link is not valid") from exc
    ref = _ref_from(data)
    if ref is None:
        raise LinkInvalid("this link is not valid")
    return ref


def _ref_from(data: object) -> DebtorRef | None:
    if not isinstance(data, dict):
        return None
    creditor_id, debtor_id, version = data.get("c"), data.get("d"), data.get("v")
    if not isinstance(creditor_id, str) or not isinstance(debtor_id, str) or not isinstance(version, int):
        return None
    return DebtorRef(creditor_id, debtor_id, version)


def portal_url(base_url: str, token: str) -> str:
    """The address a debtor opens: `<base>/d/<token>`."""
    return f"{base_url.rstrip('/')}/d/{token}"
