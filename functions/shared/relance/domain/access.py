"""Who may open a debtor's portal: personal links, one-time codes and request limits, as plain rules.

A link is a random token; only its SHA-256 is stored, with an expiry and the debtor's link version
at the time, so raising that version revokes every link already sent. A one-time code is stored as
an HMAC keyed with the link secret, expires, and allows a fixed number of attempts.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from relance.domain.errors import RelanceError

LINK_TOKEN_BYTES = 32  # secrets.token_urlsafe(32): 256 random bits, 43 characters
MAX_TOKEN_LENGTH = 128  # anything longer is not one of our tokens; refused before any lookup
DEFAULT_LINK_DAYS = 30
SESSION_LIFETIME = timedelta(minutes=30)
CODE_DIGITS = 6
CODE_LIFETIME = timedelta(minutes=10)
MAX_CODE_ATTEMPTS = 5
CODE_RESEND_INTERVAL = timedelta(minutes=1)
CODES_PER_DEBTOR_PER_WINDOW = 5  # with 5 attempts each: at most 25 guesses an hour out of a million codes
RATE_WINDOW = timedelta(hours=1)
NEW_LINKS_PER_ADDRESS_PER_WINDOW = 3
NEW_LINK_REQUESTS_PER_IP_PER_WINDOW = 20
AUDIT_LINK_PREFIX = 12  # hex digits of the link's SHA-256 named in the audit trail


class CodeRefused(RelanceError):
    """The typed code does not open the account; `reason` is "wrong", "expired", "locked" or "malformed"."""

    code = "access.code_refused"

    def __init__(self, message: str, reason: str, attempts_left: int = 0) -> None:
        super().__init__(message, reason=reason, attempts_left=attempts_left)
        self.reason = reason
        self.attempts_left = attempts_left


@dataclass(frozen=True, slots=True)
class LinkRecord:
    """What is kept of a personal link: whom it opens, from which link version, until when."""

    creditor_id: str
    debtor_id: str
    link_version: int
    issued_at: datetime
    expires_at: datetime

    def opens_at(self, now: datetime, current_link_version: int | None) -> bool:
        """True while the link has not expired and finance has not revoked it (raised the version)."""
        return now < self.expires_at and current_link_version == self.link_version


@dataclass(frozen=True, slots=True)
class CodeChallenge:
    """A one-time code sent to a debtor: its HMAC, when it was sent, until when it works, attempts spent."""

    creditor_id: str
    debtor_id: str
    challenge_id: str
    digest: str
    sent_at: datetime
    expires_at: datetime
    attempts: int = 0
    used_at: datetime | None = None

    def attempts_left(self) -> int:
        """Guesses still allowed."""
        return max(MAX_CODE_ATTEMPTS - self.attempts, 0)

    def refusal(self, challenge_id: str | None, now: datetime) -> CodeRefused | None:
        """Why no guess can be made against this code any more (replaced, used, expired, locked), or None."""
        if challenge_id != self.challenge_id or self.used_at is not None or now >= self.expires_at:
            return CodeRefused("this code has expired or was replaced; ask for a new one", reason="expired")
        if self.attempts >= MAX_CODE_ATTEMPTS:
            return CodeRefused(f"{MAX_CODE_ATTEMPTS} wrong codes were typed; ask for a new one", reason="locked")
        return None


def token_sha256(token: str) -> str:
    """The hex SHA-256 a link is stored under."""
    return hashlib.sha256(token.encode()).hexdigest()


def address_sha256(address: str) -> str:
    """The hex SHA-256 of an e-mail address, case and surrounding spaces ignored."""
    return hashlib.sha256(normalized_address(address).encode()).hexdigest()


def normalized_address(address: str) -> str:
    """An e-mail address as compared: lower case, without surrounding spaces."""
    return address.strip().lower()


def is_plausible_address(address: str) -> bool:
    """True for text shaped like an e-mail address (one @, something on each side, at most 254 characters)."""
    local, at, domain = normalized_address(address).rpartition("@")
    return bool(at and local and "." in domain and len(address.strip()) <= 254 and " " not in address.strip())


def link_expiry(issued_at: datetime, max_age_days: int) -> datetime:
    """When a link issued at `issued_at` stops working."""
    return issued_at + timedelta(days=max_age_days)


def epoch_seconds(at: datetime) -> int:
    """`at` as whole seconds since 1970 (DynamoDB's TTL format)."""
    return int(at.timestamp())


def code_digest(secret: str, challenge: str, code: str) -> str:
    """The HMAC-SHA256 a code is stored as, bound to its challenge so a digest says nothing elsewhere."""
    return hmac.new(secret.encode(), f"{challenge}:{code}".encode(), hashlib.sha256).hexdigest()


def format_code(number: int) -> str:
    """A code as the debtor reads it: six digits, leading zeros kept."""
    return f"{number:0{CODE_DIGITS}d}"


def typed_code(text: str) -> str | None:
    """The digits of a typed code (spaces and dashes ignored), or None when it cannot be a code."""
    digits = "".join(c for c in text if c not in " -\u00a0\u202f")
    return digits if len(digits) == CODE_DIGITS and digits.isascii() and digits.isdigit() else None


def code_matches(secret: str, challenge: CodeChallenge, code: str) -> bool:
    """True when `code` is the one sent; compared in constant time."""
    return hmac.compare_digest(code_digest(secret, challenge.challenge_id, code), challenge.digest)


def window_start(now: datetime, window: timedelta = RATE_WINDOW) -> datetime:
    """The start (UTC) of the fixed window `now` falls in: windows are aligned on the epoch."""
    seconds = int(window.total_seconds())
    start = epoch_seconds(now) // seconds * seconds
    return datetime.fromtimestamp(start, UTC)
