"""A bank's export of payments received, imported on moto: the right invoices paid to the cent, dunning
stopped on what is paid, the unmatched credit in finance's queue, and a second import changing nothing."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from relance.adapters.backoffice_store import BackOfficeStore
from relance.adapters.bank_payments_store import BankPaymentsStore
from relance.adapters.wiring import closed_for, policies_for
from relance.domain.bank_payments import UnmatchedReason, line_ids, parse_bank_payments
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.bank_payments import (
    BankImportPorts,
    LineDecision,
    LineStatus,
    import_bank_payments,
)
from relance.services.payments import ManualPayment, PaymentPorts, record_manual_payment

CREDITOR = Creditor("acme", "Acme Fournitures SAS")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
LATER = NOW + timedelta(hours=2)

EXPORT = (
    "Relevé de compte 0001234 du 16/11/2026 au 20/11/2026;;;\n"
    "Date opération;Libellé;Émetteur;Montant\n"
    "16/11/2026;VIR SEPA F-1;BOULANGERIE DUPONT;1 000,00\n"
    "17/11/2026;FACT F 20 ACOMPTE;LEROY TRANSPORTS;800,00\n"
    "18/11/2026;REGLEMENT F10;GARAGE MARTIN;350,00\n"
    "19/11/2026;VIREMENT;STE BOULANGERIE DUPONT;500,00\n"
    "19/11/2026;REMBOURSEMENT SINISTRE;ASSURANCES DU NORD;1 234,56\n"
    "31/11/2026;VIR ERREUR;GARAGE MARTIN;10,00\n"
).encode("cp1252")


def eur(minor: int) -> Money:
    return Money(minor, "EUR")


def an_invoice(debtor_id: str, number: str, total: int, due_on: date) -> Invoice:
    return Invoice("acme", debtor_id, number, due_on - timedelta(days=30), due_on, eur(total), eur(0),
                   last_step="reminder_1", last_step_on=date(2026, 11, 10), next_action_on=date(2026, 11, 25))


@pytest.fixture
def store(stack) -> BankPaymentsStore:
    store = BankPaymentsStore(stack.physical["RelanceTable"])
    store.put_creditor(CREDITOR)
    store.put_new_invoices(
        [an_invoice("d-dupont", "F-1", 1_000_00, date(2026, 9, 30)),
         an_invoice("d-dupont", "F-2", 500_00, date(2026, 10, 15)),
         an_invoice("d-martin", "F-10", 300_00, date(2026, 10, 1)),
         an_invoice("d-leroy", "F-20", 2_000_00, date(2026, 10, 5))],
        [Debtor("acme", "d-dupont", "Boulangerie Dupont SARL"), Debtor("acme", "d-martin", "Garage Martin"),
         Debtor("acme", "d-leroy", "Leroy Transports")])
    return store


def ports(store: BankPaymentsStore) -> BankImportPorts:
    return BankImportPorts(store, PaymentPorts(store, closed_for, policies_for))


def balances(store: BankPaymentsStore) -> dict[str, Money]:
    reader = BackOfficeStore(store.table_name)
    return {number: reader.find_invoice("acme", debtor_id, number).balance
            for debtor_id, number in (("d-dupont", "F-1"), ("d-dupont", "F-2"), ("d-martin", "F-10"),
                                      ("d-leroy", "F-20"))}


def in_dunning(store: BankPaymentsStore) -> set[str]:
    return {due.number for due in store.due_invoices("acme", date(2027, 12, 31))}


def test_exact_partial_overpaid_and_unmatched_lines_pay_the_right_invoices_and_queue_the_stranger(store):
    report = import_bank_payments("acme", EXPORT, "import:marie", NOW, ports(store), name="releve.csv")

    counts = report.to_json()
    assert (counts["matched"], counts["partial"], counts["overpaid"], counts["unmatched"]) == (2, 1, 1, 1)
    assert [(e.line, e.field, e.code) for e in report.errors] == [(8, "received_on", "unparseable_date")]
    assert balances(store) == {"F-1": eur(0), "F-2": eur(0), "F-10": eur(0), "F-20": eur(1_200_00)}
    assert in_dunning(store) == {"F-20"}  # dunning stops on what is paid and goes on for the rest
    assert store.debtor_credit("acme", "d-martin") == {"EUR": eur(50_00)}
    assert store.debtor_credit("acme", "d-dupont") == {}
    collected = store.collections_between("acme", date(2026, 11, 1), date(2026, 11, 30))
    assert sorted((c.debtor_id, c.amount.minor, c.method) for c in collected) == [
        ("d-dupont", 500_00, "bank_transfer"), ("d-dupont", 1_000_00, "bank_transfer"),
        ("d-leroy", 800_00, "bank_transfer"), ("d-martin", 350_00, "bank_transfer")]
    [entry] = store.unmatched("acme")
    assert (entry.amount, entry.received_on, entry.reason, entry.source) == (
        eur(1_234_56), date(2026, 11, 19), UnmatchedReason.NO_MATCH, "releve.csv:7")
    assert entry.payer == "ASSURANCES DU NORD"
    audit = [a for a in store.audit_of("acme", "d-dupont") if a["action"] == "payment_received"]
    assert sorted(a["reference"] for a in audit) == ["VIR SEPA F-1", "VIREMENT"]


def test_the_same_file_imported_twice_changes_nothing_the_second_time(store):
    first = import_bank_payments("acme", EXPORT, "import:marie", NOW, ports(store))
    before = (balances(store), store.debtor_credit("acme", "d-martin"), store.unmatched("acme"),
              store.collections_between("acme", date(2026, 11, 1), date(2026, 11, 30)))

    second = import_bank_payments("acme", EXPORT, "import:marie", LATER, ports(store))

    assert first.already_imported == 0
    assert second.already_imported == 5
    assert second.to_json()["matched"] == second.to_json()["unmatched"] == 0
    after = (balances(store), store.debtor_credit("acme", "d-martin"), store.unmatched("acme"),
             store.collections_between("acme", date(2026, 11, 1), date(2026, 11, 30)))
    assert after == before
    received = [a for d in ("d-dupont", "d-martin", "d-leroy") for a in store.audit_of("acme", d)
                if a["action"] == "payment_received"]
    assert len(received) == 4


def test_a_later_export_overlapping_the_first_records_only_its_new_credit(store):
    import_bank_payments("acme", EXPORT, "import:marie", NOW, ports(store))
    overlapping = ("Date;Libellé;Émetteur;Montant\n"
                   "19/11/2026;VIREMENT;STE BOULANGERIE DUPONT;500,00\n"
                   "20/11/2026;SOLDE F-20;LEROY TRANSPORTS;1 200,00\n").encode("utf-8")

    report = import_bank_payments("acme", overlapping, "import:marie", LATER, ports(store))

    assert (report.already_imported, report.to_json()["matched"]) == (1, 1)
    assert balances(store)["F-20"] == eur(0)
    assert balances(store)["F-2"] == eur(0)
    assert store.debtor_credit("acme", "d-dupont") == {}


def test_a_line_claimed_by_an_import_that_stopped_before_its_payment_is_recorded_by_the_next(store):
    today = NOW.astimezone(ZoneInfo(CREDITOR.timezone)).date()
    [payment] = parse_bank_payments(b"Date;Libelle;Montant\n16/11/2026;VIR SEPA F-1;1000,00\n", today).payments
    [line_id] = line_ids("acme", [payment])
    store.claim_line(LineDecision("acme", line_id, LineStatus.MATCHED, payment.received_on, payment.amount,
                                  "d-dupont", ("F-1",), kind="exact"), NOW)  # ... and the process died here

    again = import_bank_payments("acme", b"Date;Libelle;Montant\n16/11/2026;VIR SEPA F-1;1000,00\n", "import:marie",
                                 LATER, ports(store))
    once_more = import_bank_payments("acme", b"Date;Libelle;Montant\n16/11/2026;VIR SEPA F-1;1000,00\n",
                                     "import:marie", LATER, ports(store))

    assert again.already_imported == once_more.already_imported == 1
    assert balances(store)["F-1"] == eur(0)
    assert len([a for a in store.audit_of("acme", "d-dupont") if a["action"] == "payment_received"]) == 1


def test_a_claimed_line_whose_invoice_was_paid_meanwhile_goes_to_finance_instead_of_being_lost(store):
    line = b"Date;Libelle;Montant\n16/11/2026;VIR SEPA F-1;1000,00\n"
    today = NOW.astimezone(ZoneInfo(CREDITOR.timezone)).date()
    [payment] = parse_bank_payments(line, today).payments
    [line_id] = line_ids("acme", [payment])
    store.claim_line(LineDecision("acme", line_id, LineStatus.MATCHED, payment.received_on, payment.amount,
                                  "d-dupont", ("F-1",), kind="exact"), NOW)  # ... and the process died here
    record_manual_payment("acme", "d-dupont", ManualPayment(eur(1_000_00), date(2026, 11, 17), "cheque", "CHQ 1",
                                                            ("F-1",), "form-1"), "finance:marie", NOW,
                          ports(store).payments)

    report = import_bank_payments("acme", line, "import:marie", LATER, ports(store))

    assert report.lines[0].reason is UnmatchedReason.REFUSED
    [entry] = store.unmatched("acme")
    assert (entry.line_id, entry.amount) == (line_id, eur(1_000_00))
    assert store.debtor_credit("acme", "d-dupont") == {}


def test_a_dry_run_reports_the_matches_and_records_nothing(store):
    report = import_bank_payments("acme", EXPORT, "import:marie", NOW, ports(store), dry_run=True)

    assert report.to_json()["matched"] == 2
    assert balances(store)["F-1"] == eur(1_000_00)
    assert store.unmatched("acme") == []
    assert store.line_decisions("acme", [r.line_id for r in report.lines]) == {}


def test_the_command_line_imports_a_bank_export_and_prints_the_counts(stack, relance, tmp_path):
    store = BankPaymentsStore(stack.physical["RelanceTable"])
    today = datetime.now(ZoneInfo("Europe/Paris")).date()
    store.put_new_invoices([an_invoice("d-martin", "F-10", 300_00, today - timedelta(days=40))],
                           [Debtor("acme", "d-martin", "Garage Martin")])
    paid_on = (today - timedelta(days=2)).strftime("%d/%m/%Y")
    export = tmp_path / "releve.csv"
    export.write_text(f"Date;Libellé;Émetteur;Montant\n{paid_on};F-10;GARAGE MARTIN;300,00\n"
                      f"{paid_on};DON;INCONNU;5,00\n", encoding="utf-8")

    code, out = relance("payments", "import", str(export), "--creditor", "acme")
    report = relance.json("payments", "import", str(export), "--creditor", "acme")

    assert code == 0, out
    assert "1 matched, 0 partial, 0 overpaid; 1 unmatched" in out
    assert (report["matched"], report["already_imported"]) == (0, 2)
    assert BackOfficeStore(store.table_name).find_invoice("acme", "d-martin", "F-10").is_settled()
