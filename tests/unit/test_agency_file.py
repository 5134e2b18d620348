"""The agency file carries every fact of an R124-4 letter and never claims costs the creditor must bear."""

import csv
import io
import json
from dataclasses import replace
from datetime import date
from decimal import Decimal

import pytest
from relance.adapters.rate_tables import load_rules
from relance.domain.agency import ContactSummary, build_agency_file
from relance.domain.invoices import Invoice
from relance.domain.letters import build_formal_notice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor, PartyKind

RATES, RULES = load_rules()
CREDITOR = Creditor("cred-1", "Atelier Dupont SARL", siren="552100554",
                    address="12 rue de la Paix, 75002 Paris", contact_email="compta@atelier-dupont.fr")
DEBTOR = Debtor("cred-1", "debtor-1", "Bâtiments Martin SAS", company_id="732829320",
                address="3 allée des Chênes, 69003 Lyon", emails=("ap@martin.fr",))
CONTACTS = [
    ContactSummary(date(2025, 4, 1), "first_reminder", "email", "msg-0001", ("F-2025-014",)),
    ContactSummary(date(2025, 4, 8), "second_reminder", "email", "msg-0002", ("F-2025-014", "F-2025-031")),
    ContactSummary(date(2025, 4, 15), "phone_call", "task", None, ("F-2025-014",)),
]


def money(text: str) -> Money:
    return Money.from_decimal(Decimal(text), "EUR")


def an_invoice(number: str, total: str, paid: str = "0.00", due_on: date = date(2025, 3, 31)) -> Invoice:
    return Invoice("cred-1", "debtor-1", number, date(2025, 3, 1), due_on, money(total), money(paid))


INVOICES = [an_invoice("F-2025-014", "12000.00"), an_invoice("F-2025-031", "4850.00", paid="850.00")]


def an_agency_file(debtor=DEBTOR, invoices=INVOICES, notice="build", contacts=CONTACTS):
    if notice == "build":
        notice = build_formal_notice(CREDITOR, debtor, invoices, date(2025, 6, 15), 8, RATES, RULES, "fr",
                                     "MED-2025-0007")
    return build_agency_file(CREDITOR, debtor, invoices, notice, contacts, date(2025, 7, 1))


def test_the_json_carries_every_fact_an_r124_4_letter_must_state():
    document = json.loads(an_agency_file().to_json())

    assert document["creditor"]["name"] == "Atelier Dupont SARL"
    assert document["creditor"]["address"] == "12 rue de la Paix, 75002 Paris"
    assert document["debtor"]["name"] == "Bâtiments Martin SAS"
    assert document["debtor"]["company_id"] == "732829320"
    assert document["debtor"]["address"] == "3 allée des Chênes, 69003 Lyon"
    first = document["claim"]["invoices"][0]
    assert (first["number"], first["issued_on"], first["due_on"]) == (
        "F-2025-014", "2025-03-01", "2025-03-31"
    )
    assert first["principal"] == {"amount": "12000.00", "currency": "EUR"}
    assert first["interest"] == {"amount": "328.57", "currency": "EUR"}
    assert first["other_accessories"] == {"amount": "40.00", "currency": "EUR"}
    assert document["claim"]["excluded_costs"]["rule"] == "L111-8 CPCE"
    assert document["formal_notice"] == {
        "reference": "MED-2025-0007", "sent_on": "2025-06-15", "deadline_on": "2025-06-23"
    }
    assert [contact["message_id"] for contact in document["correspondence"]] == ["msg-0001", "msg-0002", None]
    assert document["correspondence"][1] == {
        "on": "2025-04-08", "step_id": "second_reminder", "channel": "email", "message_id": "msg-0002",
        "invoices": ["F-2025-014", "F-2025-031"],
    }
    assert document["missing_fields"] == []


def test_the_json_has_stable_keys_and_no_float():
    text = an_agency_file().to_json()

    assert text == an_agency_file().to_json()
    assert list(json.loads(text)) == sorted(json.loads(text))
    assert "12000.0," not in text and ": 12000" not in text


def test_totals_add_up_per_currency():
    agency_file = an_agency_file()

    eur, = agency_file.totals
    assert eur.principal == money("16000.00")
    assert eur.interest == agency_file.lines[0].interest + agency_file.lines[1].interest
    assert eur.other_accessories == money("80.00")
    assert eur.total == eur.principal + eur.interest + eur.other_accessories
    assert eur.total == agency_file.lines[0].total + agency_file.lines[1].total


def test_a_partly_paid_invoice_is_handed_over_for_its_balance():
    document = json.loads(an_agency_file().to_json())

    assert document["claim"]["invoices"][1]["principal"] == {"amount": "4000.00", "currency": "EUR"}


def test_a_consumer_file_never_claims_the_40_euro_fee_even_if_the_notice_listed_it():
    consumer = replace(DEBTOR, kind=PartyKind.CONSUMER)
    business_notice = build_formal_notice(
        CREDITOR, DEBTOR, INVOICES, date(2025, 6, 15), 8, RATES, RULES, "fr", "MED-2025-0007"
    )
    stale_notice = replace(business_notice, debtor=consumer)  # debtor reclassified after the notice was sent

    agency_file = an_agency_file(debtor=consumer, notice=stale_notice)

    assert all(line.other_accessories == money("0.00") for line in agency_file.lines)
    document = json.loads(agency_file.to_json())
    assert document["claim"]["recovery_fee_claimable"] is False
    assert document["claim"]["totals"][0]["other_accessories"]["amount"] == "0.00"


def test_a_consumer_file_built_from_its_own_notice_claims_principal_only():
    consumer = replace(DEBTOR, kind=PartyKind.CONSUMER)

    agency_file = an_agency_file(debtor=consumer)

    eur, = agency_file.totals
    assert (eur.principal, eur.interest, eur.other_accessories) == (
        money("16000.00"), money("0.00"), money("0.00")
    )


def test_without_a_formal_notice_only_the_principal_is_handed_over_and_the_gap_is_named():
    agency_file = an_agency_file(notice=None)

    document = json.loads(agency_file.to_json())
    assert document["formal_notice"] is None
    assert document["claim"]["totals"][0]["total"] == {"amount": "16000.00", "currency": "EUR"}
    assert document["missing_fields"] == ["formal_notice"]


def test_settled_invoices_are_not_handed_over():
    invoices = [*INVOICES, an_invoice("F-2025-002", "500.00", paid="500.00")]

    agency_file = an_agency_file(invoices=invoices, notice=None)

    assert [line.number for line in agency_file.lines] == ["F-2025-014", "F-2025-031"]


def test_the_csv_has_a_header_and_one_row_per_invoice():
    rows = list(csv.DictReader(io.StringIO(an_agency_file().to_csv())))

    assert [row["invoice_number"] for row in rows] == ["F-2025-014", "F-2025-031"]
    assert rows[0]["principal"] == "12000.00"
    assert rows[0]["interest"] == "328.57"
    assert rows[0]["other_accessories"] == "40.00"
    assert rows[0]["total"] == "12368.57"
    assert rows[0]["formal_notice_reference"] == "MED-2025-0007"
    assert rows[0]["contacts"] == (
        "2025-04-01 first_reminder email msg-0001; 2025-04-08 second_reminder email msg-0002; "
        "2025-04-15 phone_call task"
    )


@pytest.mark.parametrize(
    "hostile", ["=HYPERLINK(\"http://x\")", "+33 1 23", "-2+3", "@SUM(A1)", "\tcmd", "\rcmd"]
)
def test_no_csv_cell_can_start_a_spreadsheet_formula(hostile):
    debtor = replace(DEBTOR, name=hostile, address=hostile)
    invoices = [an_invoice(hostile, "100.00")]
    contacts = [ContactSummary(date(2025, 4, 1), hostile, "email", hostile, (hostile,))]

    text = an_agency_file(debtor=debtor, invoices=invoices, notice=None, contacts=contacts).to_csv()

    row, = csv.DictReader(io.StringIO(text))
    for column in ("debtor_name", "debtor_address", "invoice_number"):
        assert row[column].startswith("'"), column
    assert row["debtor_name"] == f"'{hostile}"
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in row.values())
