"""The mails SES accepted on the local stack (moto keeps them), newest first."""

from __future__ import annotations

import json
import urllib.request
from dataclasses import dataclass
from email import message_from_bytes, message_from_string, policy
from typing import Any


@dataclass(frozen=True, slots=True)
class SentMail:
    message_id: str
    sender: str
    recipients: tuple[str, ...]
    subject: str
    text: str
    html: str
    reminder_id: str | None


def _parse_raw(message_id: str, raw: bytes | str, recipients: list[str]) -> SentMail:
    parsed = (
        message_from_bytes(raw, policy=policy.default)
        if isinstance(raw, bytes)
        else message_from_string(raw, policy=policy.default)
    )
    text_part = parsed.get_body(preferencelist=("plain",))
    html_part = parsed.get_body(preferencelist=("html",))
    return SentMail(
        message_id=message_id,
        sender=str(parsed["From"]),
        recipients=tuple(dict.fromkeys(recipients)),  # moto lists each SESv2 raw destination twice
        subject=str(parsed["Subject"]),
        text=text_part.get_content() if text_part else "",
        html=html_part.get_content() if html_part else "",
        reminder_id=parsed["X-Relance-Reminder"],
    )


def _recipients(destinations: Any) -> list[str]:
    if isinstance(destinations, dict):
        return [a for key in ("ToAddresses", "CcAddresses", "BccAddresses") for a in destinations.get(key, [])]
    return list(destinations or [])


def read_outbox(endpoint_url: str | None, region: str) -> list[SentMail]:
    """Every mail moto recorded, newest first: from the server's API, or from the in-process backend."""
    if endpoint_url:
        with urllib.request.urlopen(f"{endpoint_url.rstrip('/')}/moto-api/data.json", timeout=10) as response:  # noqa: S310 - local moto server
            data = json.load(response)
        raw_messages = data.get("ses", {}).get("RawMessage", [])
        mails = [_parse_raw(m["id"], m["raw_data"], _recipients(m.get("destinations"))) for m in raw_messages]
    else:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import RawMessage, ses_backends

        backend = ses_backends[DEFAULT_ACCOUNT_ID][region]
        mails = [
            _parse_raw(m.id, m.raw_data, _recipients(m.destinations))
            for m in backend.sent_messages
            if isinstance(m, RawMessage)
        ]
    return list(reversed(mails))
