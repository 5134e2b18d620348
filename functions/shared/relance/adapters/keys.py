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


def creditor_events_pk(creditor_id: str) -> str:
    """AC5: audit events about the creditor's data as a whole (an import's chunk of invoices), not one debtor's."""
    return f"CRED#{creditor_id}#EVENTS"


def delivery_sk(ses_message_id: str) -> str:
    """SES's delivery receipt of one mail (sorts after the debtor's invoices: AP1 never reads it)."""
    return f"MAILDELIVERY#{ses_message_id}"


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


POLICY_CURRENT_SK = "CURRENT"


def policy_pk(creditor_id: str) -> str:
    """A creditor's own dunning policy: every version ever set, and the pointer to the one in force."""
    return f"CRED#{creditor_id}#POLICY"


def policy_version_sk(version: int) -> str:
    """One version, never rewritten; zero-padded so that text order is version order."""
    return f"V#{version:06d}"


def policy_version_key(creditor_id: str, version: int) -> dict[str, str]:
    return {"PK": policy_pk(creditor_id), "SK": policy_version_sk(version)}


def policy_current_key(creditor_id: str) -> dict[str, str]:
    """The pointer to the version in force; its conditional write keeps two `set`s from taking one number."""
    return {"PK": policy_pk(creditor_id), "SK": POLICY_CURRENT_SK}


# --- debtor portal access (docs/architecture/access-patterns.md, PA1 to PA6) --------------------

LINK_SK = "LINK"
CODE_SK = "CODE"


def link_key(token_sha256: str) -> dict[str, str]:
    """PA1: a personal portal link, found by the SHA-256 of its token; the token itself is never stored."""
    return {"PK": f"LINK#{token_sha256}", "SK": LINK_SK}


def code_key(creditor_id: str, debtor_id: str) -> dict[str, str]:
    """PA4: the debtor's one pending portal code; a new code replaces the previous one.

    `CODE` sorts before `DEBTOR`, so AP1 (`SK >= "DEBTOR"`) never reads it.
    """
    return {"PK": debtor_pk(creditor_id, debtor_id), "SK": CODE_SK}


def email_index_pk(address_sha256: str) -> str:
    """PA5: the debtors (of every creditor) whose e-mail addresses include one address, by its SHA-256."""
    return f"EMAIL#{address_sha256}"


def email_index_key(address_sha256: str, creditor_id: str, debtor_id: str) -> dict[str, str]:
    return {"PK": email_index_pk(address_sha256), "SK": f"{creditor_id}#{debtor_id}"}


def rate_key(scope: str, subject: str, window_start: datetime) -> dict[str, str]:
    """PA6: one counter per scope (e.g. `NEWLINK_IP`), subject digest and time window."""
    return {"PK": f"RATE#{scope}#{subject}", "SK": window_start.isoformat(timespec="minutes")}


# --- payments (issue 6, docs/architecture/payments.md): Stripe events, payments, checkout sessions ---

CREDIT_SK = "CREDIT"


def stripe_event_key(event_id: str) -> dict[str, str]:
    """One item per Stripe event id: its conditional put makes a second delivery do nothing."""
    return {"PK": f"STRIPE#EVENT#{event_id}", "SK": "EVENT"}


def payment_key(payment_id: str) -> dict[str, str]:
    """A payment, by its Stripe PaymentIntent id (every event about it names that id or leads to it)."""
    return {"PK": f"PAYMENT#{payment_id}", "SK": "PAYMENT"}


def charge_key(charge_id: str) -> dict[str, str]:
    """Which payment a Stripe charge belongs to (refunds and disputes name the charge)."""
    return {"PK": f"CHARGE#{charge_id}", "SK": "CHARGE"}


CHECKOUT_PK_PREFIX = "CHECKOUT#"  # the portal may write only these items (IAM dynamodb:LeadingKeys)


def checkout_key(session_id: str) -> dict[str, str]:
    """A Checkout Session the portal opened: whose it is and what it pays, for the return page."""
    return {"PK": f"{CHECKOUT_PK_PREFIX}{session_id}", "SK": "CHECKOUT"}


def credit_key(creditor_id: str, debtor_id: str) -> dict[str, str]:
    """The debtor's credit (money paid that no invoice took), per currency.

    `CREDIT` sorts before `DEBTOR`, so AP1 (`SK >= "DEBTOR"`) never reads it.
    """
    return {"PK": debtor_pk(creditor_id, debtor_id), "SK": CREDIT_SK}


def dispute_task_sk(due_on: date, debtor_id: str, dispute_id: str) -> str:
    """A card dispute for finance: one task per dispute, even two on the same day for one debtor."""
    return f"{due_on.isoformat()}#card_dispute#{debtor_id}#{dispute_id}"


# --- debtor portal: disputes (issue 6, docs/architecture/access-patterns.md) --------------------

DISPUTE_SK_PREFIX = "DISPUTE#"


def dispute_key(creditor_id: str, debtor_id: str, number: str) -> dict[str, str]:
    """The dispute of one invoice, in the debtor's partition: one open dispute per invoice, by its key."""
    return {"PK": debtor_pk(creditor_id, debtor_id), "SK": f"{DISPUTE_SK_PREFIX}{number}"}


def dispute_document_key(creditor_id: str, debtor_id: str, dispute_id: str, name: str) -> str:
    """Where a dispute's attachment is kept: under the debtor's prefix, `name` already made safe by the caller."""
    return f"creditors/{creditor_id}/debtors/{debtor_id}/disputes/{dispute_id}/{name}"


def invoice_dispute_task_sk(due_on: date, debtor_id: str, dispute_id: str) -> str:
    """A debtor's dispute of an invoice, for finance: one task per dispute, even two on one day for one debtor."""
    return f"{due_on.isoformat()}#dispute#{debtor_id}#{dispute_id}"


# --- installment plans (issue 7) ------------------------------------------------------------------

PLAN_SK_PREFIX = "PLAN#"


def plan_key(creditor_id: str, debtor_id: str, plan_id: str) -> dict[str, str]:
    """An installment plan, in the debtor's partition; `PLAN#` sorts after `INV#`, so AP1 never reads it."""
    return {"PK": debtor_pk(creditor_id, debtor_id), "SK": f"{PLAN_SK_PREFIX}{plan_id}"}


def plan_owner_key(creditor_id: str, plan_id: str) -> dict[str, str]:
    """Which debtor holds plan `plan_id`: finance decides a plan by its id alone."""
    return {"PK": f"CRED#{creditor_id}#PLANS", "SK": plan_id}


def plan_queue_pk(creditor_id: str) -> str:
    """Finance's queue of plan proposals awaiting a decision; an item leaves it when the plan is decided."""
    return f"CRED#{creditor_id}#PLANQUEUE"


def plan_queue_key(creditor_id: str, proposed_at: str, plan_id: str) -> dict[str, str]:
    """Oldest proposal first: `proposed_at` is an ISO 8601 instant in UTC."""
    return {"PK": plan_queue_pk(creditor_id), "SK": f"{proposed_at}#{plan_id}"}


def plan_due_pk(creditor_id: str) -> str:
    """AP11: the sparse index partition of a creditor's running plans, by the next day the collection run acts."""
    return f"CRED#{creditor_id}#PLANDUE"


def plan_due_sk(day: date, debtor_id: str, plan_id: str) -> str:
    """The next day something happens to the plan first, so `GSI1SK <= next_action_upper_bound(today)` finds it."""
    return f"{day.isoformat()}#{debtor_id}#{plan_id}"


# --- back-office dashboard (issue 8): every debtor of a creditor, and the month's credit sales -----


def settled_index_pk(creditor_id: str, debtor_id: str) -> str:
    """AP1c: the GSI1 partition of a debtor's settled invoices (carried by each settled invoice, by number)."""
    return f"CRED#{creditor_id}#DEBTOR#{debtor_id}#SETTLED"


def debtor_index_pk(creditor_id: str) -> str:
    """AP12: the GSI1 partition listing every debtor of a creditor (carried by the debtor item itself)."""
    return f"CRED#{creditor_id}#DEBTORS"


def sales_pk(creditor_id: str, day: date) -> str:
    """AP13: the invoices a creditor issued in `day`'s month, for DSO (credit sales per month)."""
    return f"CRED#{creditor_id}#SALES#{day.strftime('%Y-%m')}"


def sales_key(creditor_id: str, issued_on: date, number: str) -> dict[str, str]:
    """One line per invoice: a second import of the same invoice rewrites it, never counts it twice."""
    return {"PK": sales_pk(creditor_id, issued_on), "SK": f"{issued_on.isoformat()}#{number}"}


def sales_lines_key(creditor_id: str, first_issued_on: date, first_number: str) -> dict[str, str]:
    """Many invoices of one month in one item (an import chunk's), keyed by its first line."""
    return {"PK": sales_pk(creditor_id, first_issued_on), "SK": f"LINES#{first_issued_on.isoformat()}#{first_number}"}



def month_end_pk(creditor_id: str) -> str:
    """AP15: a creditor's month-end snapshots (receivables and DSO per currency), one item per month."""
    return f"CRED#{creditor_id}#MONTHEND"


def month_end_key(creditor_id: str, month: date) -> dict[str, str]:
    """`SK = <yyyy-mm>`: text order is month order, so a trend is one Query with SK BETWEEN."""
    return {"PK": month_end_pk(creditor_id), "SK": month.strftime("%Y-%m")}


AUDIT_CHAIN_HEAD_SK = "HEAD"


def audit_chain_pk(creditor_id: str) -> str:
    """The creditor's audit hash chain: its links (`LINK#<seq>`) and its head (`HEAD`)."""
    return f"CRED#{creditor_id}#AUDITCHAIN"


def audit_chain_link_sk(seq: int) -> str:
    """Zero-padded so text order is chain order (AC2 reads `begins_with(SK, "LINK#")`)."""
    return f"LINK#{seq:012d}"


def audit_chained_pk(creditor_id: str) -> str:
    """One marker per chained event (or recorded tamper alert): a second delivery finds it and stops."""
    return f"CRED#{creditor_id}#AUDITCHAINED"


def audit_chained_sk(event_pk: str, event_sk: str) -> str:
    return f"{event_pk}#{event_sk}"


def audit_tamper_sk(stream_sequence_number: str) -> str:
    return f"TAMPER#{stream_sequence_number}"


def audit_erasure_sk(stream_sequence_number: str) -> str:
    """One marker per recorded GDPR redaction of an audit event (a stream record delivered twice chains once)."""
    return f"ERASURE#{stream_sequence_number}"


def debtor_documents_prefix(creditor_id: str, debtor_id: str) -> str:
    """Every S3 object about a debtor (letters, originals, dispute attachments) is under this prefix (GDPR erase)."""
    return f"creditors/{creditor_id}/debtors/{debtor_id}/"


# --- back-office collections export (issue 8): the payments received in a month -----------------


def collection_pk(creditor_id: str, day: date) -> str:
    """AP14: the payments a creditor received in `day`'s month (Stripe and recorded by finance)."""
    return f"CRED#{creditor_id}#COLLECTED#{day.strftime('%Y-%m')}"


def collection_key(creditor_id: str, received_on: date, payment_id: str) -> dict[str, str]:
    """One line per payment: a second delivery of the same payment rewrites it, never counts it twice."""
    return {"PK": collection_pk(creditor_id, received_on), "SK": f"{received_on.isoformat()}#{payment_id}"}


def write_off_key(creditor_id: str, debtor_id: str, number: str) -> dict[str, str]:
    """An invoice's write-off, in the debtor's partition; `WRITEOFF#` sorts after `INV#`, so AP1 never reads it."""
    return {"PK": debtor_pk(creditor_id, debtor_id), "SK": f"WRITEOFF#{number}"}


# --- finance alerts and the daily digest (issue 8, docs/architecture/access-patterns.md AL1-AL6) ----


def alerts_pk(creditor_id: str) -> str:
    """AL1: a creditor's alerts, sorted by day; the digest markers sort after them (`DIGEST#` > digits)."""
    return f"CRED#{creditor_id}#ALERTS"


def alert_key(creditor_id: str, alert_id: str) -> dict[str, str]:
    """One alert under its stable id `<day>#<kind>#<ref>`: a second put of the same alert is refused."""
    return {"PK": alerts_pk(creditor_id), "SK": alert_id}


def alert_outbox_key(creditor_id: str, alert_id: str) -> dict[str, str]:
    """AL2: an alert not yet mailed in a digest; deleted once a digest carried it."""
    return {"PK": f"CRED#{creditor_id}#ALERTS#PENDING", "SK": alert_id}


def digest_key(creditor_id: str, day: date) -> dict[str, str]:
    """AL3: the marker of the digest of `day`, claimed before the mail goes out (one digest a day)."""
    return {"PK": alerts_pk(creditor_id), "SK": f"DIGEST#{day.isoformat()}"}


def over_90_watch_pk(creditor_id: str, day: date) -> str:
    """AL4: the invoices that enter the > 90 days bucket on `day` (one line each, written when first seen open)."""
    return f"CRED#{creditor_id}#OVER90#{day.isoformat()}"


def over_90_watch_key(creditor_id: str, day: date, debtor_id: str, number: str) -> dict[str, str]:
    return {"PK": over_90_watch_pk(creditor_id, day), "SK": f"{debtor_id}#{number}"}


# --- imports: original Factur-X PDFs and S3 drops (issue 9, docs/architecture/access-patterns.md IM1-IM2) ----

ORIGINAL_PDF_SK_PREFIX = "ORIGINAL#"
IMPORT_REPORT_SUFFIX = ".report.json"


def original_pdf_key(creditor_id: str, debtor_id: str, number: str) -> dict[str, str]:
    """IM1: which stored PDF is the original of invoice `number`, in the debtor's partition.

    Its own item, not an attribute of the invoice: every invoice write puts the whole invoice item,
    which would drop an attribute the import set. `ORIGINAL#` sorts after `INV#`, outside the
    DEBTOR..INV# range the debtor's account query reads.
    """
    return {"PK": debtor_pk(creditor_id, debtor_id), "SK": f"{ORIGINAL_PDF_SK_PREFIX}{number}"}


def original_pdf_object_key(creditor_id: str, debtor_id: str, sha256: str) -> str:
    """Where an original invoice PDF is kept in the documents bucket: under the debtor's prefix, named by
    its content, so the same PDF imported twice is one object (invoice numbers may hold a `/`)."""
    return f"creditors/{creditor_id}/debtors/{debtor_id}/originals/{sha256}.pdf"


def import_report_key(object_key: str) -> str:
    """IM2: the report of an S3-dropped import file, written next to it (never itself imported)."""
    return f"{object_key}{IMPORT_REPORT_SUFFIX}"


IMPORT_PARTS_PREFIX = "import-parts/"  # outside imports/: the bucket's notification never sees these


def import_ledger_key(creditor_id: str, import_id: str) -> dict[str, str]:
    """IM3: the ledger of a dropped file split into SQS chunks, in the creditor's imports partition.

    `import_id` is `<bucket>/<key>/<version or ETag>`, the drop's idempotency key: one ledger per upload."""
    return {"PK": f"CRED#{creditor_id}#IMPORTS", "SK": import_id}


def import_part_report_key(import_id: str, index: int) -> str:
    """IM3: one part's report, in the imports bucket until the last part merges them into the file's report."""
    return f"{IMPORT_PARTS_PREFIX}{import_id}/{index:05d}.json"


# --- the ERP API (issue 9, docs/architecture/api.md): API keys and credit notes -------------------------

API_KEY_SK = "APIKEY"


def api_key_key(key_sha256: str) -> dict[str, str]:
    """API1: an API key by the SHA-256 of its text (the key itself is never stored)."""
    return {"PK": f"APIKEY#{key_sha256}", "SK": API_KEY_SK}


def api_keys_pk(creditor_id: str) -> str:
    """API2: a creditor's API keys by id, to list and revoke them."""
    return f"CRED#{creditor_id}#APIKEYS"


def credit_note_sk(number: str) -> str:
    """API3: a credit note received through the API, once per number, in its debtor's partition."""
    return f"CREDITNOTE#{number}"


# --- payments from the bank side (issue 9, docs/architecture/access-patterns.md BP1-BP3) ------------


def bank_line_key(creditor_id: str, line_id: str) -> dict[str, str]:
    """BP1: what was decided about one bank credit line, once (its id comes from the bank's own data)."""
    return {"PK": f"CRED#{creditor_id}#BANKLINES", "SK": line_id}


def unmatched_payments_pk(creditor_id: str) -> str:
    """BP2: finance's queue of bank credits no invoice matched."""
    return f"CRED#{creditor_id}#BANKQUEUE"


def unmatched_payment_key(creditor_id: str, entry_key: str) -> dict[str, str]:
    """`SK = <received_on>#<line_id>`: the oldest payment first; the entry leaves when assigned or dismissed."""
    return {"PK": unmatched_payments_pk(creditor_id), "SK": entry_key}
