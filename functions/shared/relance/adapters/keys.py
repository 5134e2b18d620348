"""DynamoDB key strings, built here and nowhere else (docs/architecture/access-patterns.md)."""

from __future__ import annotations

from datetime import date, datetime

CREDITORS_PK = "CREDITORS"
DEBTOR_SK = "DEBTOR"


def creditor_key(creditor_id: str) -> dict[str, str]:
    """AP0: a creditor's profile, in the one partition the daily scan lists."""
    return {"PK": CREDITORS_PK, "SK": f"CRED#{creditor_id}"}


def debtor_pk(creditor_id: str, debtor_id: str) -> str:
    """The partition holding a debtor's profile, invoices, contacts and audit trail."""
    return f"CRED#{creditor_id}#DEBTOR#{debtor_id}"


def debtor_key(creditor_id: str, debtor_id: str) -> dict[str, str]:
    return {"PK": debtor_pk(creditor_id, debtor_id), "SK": DEBTOR_SK}


def invoice_sk(number: str) -> str:
    return f"INV#{number}"


def invoice_key(creditor_id: str, debtor_id: str, number: str) -> dict[str, str]:
    return {"PK": debtor_pk(creditor_id, debtor_id), "SK": invoice_sk(number)}


def invoice_number_key(creditor_id: str, number: str) -> dict[str, str]:
    """Which debtor holds invoice `number`: keeps numbers unique per creditor across debtors."""
    return {"PK": f"CRED#{creditor_id}#INVNO", "SK": number}


def next_action_pk(creditor_id: str) -> str:
    """AP2: the sparse index partition of a creditor's invoices with an action planned."""
    return f"CRED#{creditor_id}#NEXT"


def next_action_sk(day: date, debtor_id: str, number: str) -> str:
    return f"{day.isoformat()}#{debtor_id}#{number}"


def next_action_upper_bound(day: date) -> str:
    """Every sort key of a planned action on or before `day` sorts below this."""
    return f"{day.isoformat()}#\uffff"


def contact_sk(day: date) -> str:
    """One contact per debtor per business day: the key itself enforces the rule."""
    return f"CONTACT#{day.isoformat()}"


def audit_sk(at: datetime, event_id: str) -> str:
    return f"AUDIT#{at.isoformat(timespec='microseconds')}#{event_id}"


def link_mail_sk(window_start: datetime) -> str:
    """At most one "new link" mail per debtor per window: the key itself enforces it."""
    return f"LINKMAIL#{window_start.isoformat(timespec='minutes')}"


def tasks_pk(creditor_id: str) -> str:
    """AP6: the partition of finance's to-do list (calls to make, letters to post, agency files to send)."""
    return f"CRED#{creditor_id}#TASKS"


def task_sk(due_on: date, kind: str, debtor_id: str) -> str:
    return f"{due_on.isoformat()}#{kind}#{debtor_id}"


def document_key(creditor_id: str, debtor_id: str, day: date, name: str) -> str:
    """Where a letter or an export is kept in the documents bucket: under the debtor's prefix."""
    return f"creditors/{creditor_id}/debtors/{debtor_id}/{day.isoformat()}/{name}"


def journal_pk(creditor_id: str, day: date) -> str:
    """AP7: every contact of a creditor in a month, for the timeline and finance's daily view."""
    return f"CRED#{creditor_id}#JOURNAL#{day.strftime('%Y-%m')}"


def journal_sk(day: date, debtor_id: str) -> str:
    return f"{day.isoformat()}#{debtor_id}"
