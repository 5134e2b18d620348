"""The evidence bundle's files, laid out from loaded data: every part, safe CSV cells, the same bytes twice."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

from relance.adapters.rate_tables import load_rules
from relance.domain.audit_chain import ChainHead, ChainLink, EventKey, GENESIS_HASH, VerifyResult, canonical, link_hash
from relance.domain.evidence import EvidenceData, bundle_files, formal_notice_days, late_fees_on
from relance.domain.invoices import Invoice
from relance.domain.late_fees import compute_late_fees
from relance.domain.letters import notice_claim
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.evidence import zip_files

RATES, RULEBOOK = load_rules()
AS_OF = date(2025, 12, 15)
PK = "CRED#acme#DEBTOR#d-1"
CREDITOR = Creditor("acme", "Acme Fournitures SAS", siren="000000018")
DEBTOR = Debtor("acme", "d-1", "=HYPERLINK(\"http://evil\")", emails=("ap@d1.example",))
NOTICE_KEY = "creditors/acme/debtors/d-1/2025-11-20/mise-en-demeure.pdf"


def an_invoice(number: str = "F-1", due_on: date = date(2025, 9, 30), total: int = 1_200_00, paid: int = 0) -> Invoice:
    return Invoice("acme", "d-1", number, date(2025, 8, 31), due_on, Money(total, "EUR"), Money(paid, "EUR"))


def an_event(sk: str, **fields) -> dict:
    return {"PK": PK, "SK": sk, "entity": "audit", "creditor_id": "acme", "debtor_id": "d-1",
            "at": sk.split("#")[1], **fields}


EVENTS = [
    an_event("AUDIT#2025-10-10T08:00:00.000000+00:00#a1", action="reminder_sent", actor="engine",
             message_id="ses-0001", invoices=["F-1"]),
    an_event("AUDIT#2025-10-11T09:00:00.000000+00:00#a2", action="email_bounced", actor="ses",
             address="ap@d1.example", message_id="ses-0001", bounce_type="Permanent", bounce_sub_type="General"),
    an_event("AUDIT#2025-10-20T10:00:00.000000+00:00#a3", action="dispute_opened", actor="debtor",
             invoices=["-2+3"], dispute_id="dsp-1", reason="not_received"),
    an_event("AUDIT#2025-11-02T10:00:00.000000+00:00#a4", action="payment_received", actor="stripe",
             payment_id="pi_1", method="card", currency="EUR", amount_minor=Decimal(200_00),
             invoices=["F-1"], allocations={"F-1": Decimal(200_00)}),
]


def chain_of(events: list[dict]) -> list[ChainLink]:
    links, head = [], ChainHead()
    for event in events:
        digest = link_hash(head.hash, event)
        links.append(ChainLink(head.seq + 1, EventKey(event["PK"], event["SK"]), digest, head.hash))
        head = ChainHead(head.seq + 1, digest)
    return links


def some_data(creditor: Creditor = CREDITOR, **changes) -> EvidenceData:
    invoices = [an_invoice(), an_invoice("F-2", date(2025, 11, 30), 300_00, 300_00)]
    contacts = [
        {"SK": "CONTACT#2025-10-10", "business_date": "2025-10-10", "channel": "email", "step": "reminder_1",
         "status": "sent", "message_id": "ses-0001", "invoices": ["F-1"], "sent_at": "2025-10-10T08:00:00+00:00"},
        {"SK": "CONTACT#2025-11-20", "business_date": "2025-11-20", "channel": "formal_notice",
         "step": "formal_notice", "status": "sent", "message_id": "ses-0002", "invoices": ["F-1"],
         "document_keys": [NOTICE_KEY]},
    ]
    links = chain_of(EVENTS)
    data = EvidenceData(
        creditor=creditor, debtor=DEBTOR, as_of=AS_OF, invoices=invoices, contacts=contacts,
        documents={NOTICE_KEY: b"%PDF-1.4 notice"},
        disputes=[{"dispute_id": "dsp-1", "message": "@SUM(A1) never received"}],
        audit_events=EVENTS, chain_links=links,
        verification=VerifyResult(len(links), ChainHead(links[-1].seq, links[-1].hash), None),
        late_fees=late_fees_on(creditor, DEBTOR, invoices, AS_OF, RATES, RULEBOOK, formal_notice_days(contacts)),
    )
    return replace(data, **changes)


def files_of(data: EvidenceData) -> dict[str, bytes]:
    return {f.path: f.body for f in bundle_files(data)}


def rows(body: bytes, delimiter: str = ";") -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig")), delimiter=delimiter))


def test_the_bundle_holds_every_part_and_the_formal_notice_pdf():
    files = files_of(some_data())

    assert set(files) == {"README.txt", "invoices.csv", "messages.csv", "portal_actions.csv", "payments.csv",
                          "late_fees.csv", "late_fees.txt", "audit.jsonl", "audit_verification.txt", "SHA256SUMS",
                          "documents/2025-11-20/mise-en-demeure.pdf"}
    assert files["documents/2025-11-20/mise-en-demeure.pdf"] == b"%PDF-1.4 notice"


def test_sha256sums_lists_every_other_file_with_its_digest():
    files = files_of(some_data())

    listed = dict(reversed(line.split("  ", 1)) for line in files["SHA256SUMS"].decode().splitlines())

    assert set(listed) == set(files) - {"SHA256SUMS"}
    assert all(listed[path] == hashlib.sha256(body).hexdigest() for path, body in files.items() if path in listed)


def test_no_cell_of_any_csv_can_run_as_a_spreadsheet_formula():
    files = files_of(some_data())

    cells = [cell for name, body in files.items() if name.endswith(".csv") for row in rows(body) for cell in row]

    assert cells
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert "'-2+3" in cells  # the crafted invoice number stays text
    assert any(cell.startswith("dispute_id=dsp-1") and "@SUM(A1)" in cell for cell in cells)


def test_messages_carry_their_ses_message_id_and_what_ses_reported():
    table = rows(files_of(some_data())["messages.csv"])

    by_id = {row[5]: row for row in table[1:]}

    assert set(by_id) == {"ses-0001", "ses-0002"}
    assert "email_bounced ap@d1.example (Permanent/General)" in by_id["ses-0001"][8]
    assert by_id["ses-0002"][8] == ""
    assert by_id["ses-0002"][7] == "documents/2025-11-20/mise-en-demeure.pdf"


def test_payments_and_portal_actions_come_from_the_audit_trail():
    files = files_of(some_data())

    payments = rows(files["payments.csv"])[1:]
    actions = rows(files["portal_actions.csv"])[1:]

    assert [(p[1], p[2], p[5], p[8]) for p in payments] == [("payment_received", "pi_1", "200,00", "F-1:200,00")]
    assert [a[2] for a in actions] == ["dispute_opened"]


def test_late_fee_figures_equal_the_law_engine_on_the_as_of_day():
    data = some_data()
    expected = compute_late_fees(notice_claim(an_invoice(), DEBTOR, "FR", date(2025, 11, 20)), AS_OF, RATES, RULEBOOK)

    table = rows(files_of(data)["late_fees.csv"])[1:]
    text = files_of(data)["late_fees.txt"].decode()

    interest_rows = [row for row in table if row[4] == "Pénalités de retard"]
    assert [row[10] for row in interest_rows] == [f"{s.amount.to_decimal():.2f}".replace(".", ",")
                                                  for s in expected.segments]
    assert sum(int(row[10].replace(",", "")) for row in interest_rows) == expected.late_interest.minor
    fee_rows = [row for row in table if row[4] == "Indemnité forfaitaire de recouvrement"]
    assert [row[10] for row in fee_rows] == ["40,00"]
    assert "F-2" not in {row[0] for row in table}  # settled: nothing claimed
    assert "articles L441-10 et D441-5 du Code de commerce" in text
    assert f"Pénalités : {expected.late_interest.to_decimal():.2f} EUR" in text


def test_the_same_data_gives_the_same_zip_bytes():
    first = zip_files((f.path, f.body) for f in bundle_files(some_data()))
    again = zip_files((f.path, f.body) for f in bundle_files(some_data()))

    assert first == again
    assert first != zip_files((f.path, f.body) for f in bundle_files(some_data(as_of=date(2025, 12, 16))))


def test_the_readme_is_in_the_creditors_language():
    french = files_of(some_data())["README.txt"].decode()
    english = files_of(some_data(creditor=replace(CREDITOR, language="en")))["README.txt"].decode()

    assert french.startswith("Dossier de preuves")
    assert "la mise en demeure telle qu'envoyée (PDF)" in french
    assert english.startswith("Evidence bundle")
    assert "documents/2025-11-20/mise-en-demeure.pdf: the formal notice as sent (PDF)." in english
    assert all(f"- {part}:" in english for part in ("invoices.csv", "messages.csv", "late_fees.txt", "SHA256SUMS"))


def test_audit_lines_rehash_to_the_chain_links_and_the_verification_says_intact():
    files = files_of(some_data())

    lines = files["audit.jsonl"].decode().splitlines()
    verification = files["audit_verification.txt"].decode()

    previous = GENESIS_HASH
    for line, link in zip(lines, chain_of(EVENTS), strict=True):
        assert hashlib.sha256(previous.encode() + line.encode()).hexdigest() == link.hash
        previous = link.hash
    assert json.loads(lines[3])["amount_minor"] == 200_00
    assert lines[0].encode() == canonical(EVENTS[0])
    assert "Chaîne vérifiée : 4 maillons intacts" in verification


def test_a_broken_chain_is_named_in_the_verification():
    from relance.domain.audit_chain import verify

    altered = [*EVENTS[:3], {**EVENTS[3], "amount_minor": Decimal(1)}]
    result = verify(chain_of(EVENTS), {EventKey(e["PK"], e["SK"]): e for e in altered})

    text = files_of(some_data(verification=result))["audit_verification.txt"].decode()

    assert "Chaîne ROMPUE au maillon 4" in text
    assert "hash_mismatch" in text


def test_an_invoice_the_law_engine_cannot_price_says_why_and_claims_nothing():
    gbp = Invoice("acme", "d-1", "F-GBP", date(2025, 8, 1), date(2025, 9, 1), Money(500_00, "GBP"), Money(0, "GBP"))

    fees = late_fees_on(CREDITOR, DEBTOR, [gbp], AS_OF, RATES, RULEBOOK)

    assert fees.lines[0].result is None
    assert fees.lines[0].problem.startswith("late_fees.recovery_fee_undefined")


def test_late_fees_text_recalls_what_each_formal_notice_claimed_on_its_own_date():
    notice = an_event("AUDIT#2025-11-20T08:00:00.000000+00:00#a5", action="formal_notice_sent", actor="engine",
                      reminder_id="acme:d-1:2025-11-20", notice={
                          "deadline_on": "2025-11-28", "provisional": False,
                          "lines": {"F-1": {"principal_minor": Decimal(1_200_00), "interest_minor": Decimal(57_12),
                                            "indemnity_minor": Decimal(40_00), "currency": "EUR"}}})

    text = files_of(some_data(audit_events=[*EVENTS, notice]))["late_fees.txt"].decode()

    assert "Mise en demeure du 2025-11-20 (date limite 2025-11-28)" in text
    assert "Facture F-1 : principal 1200.00 EUR, pénalités 57.12 EUR, indemnité 40.00 EUR" in text
