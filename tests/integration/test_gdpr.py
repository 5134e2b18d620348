"""Issue 10, GDPR on moto: a debtor who was mailed, bounced, edited, disputed with an attachment, promised and
paid. The export holds every personal value; erase is refused while anything is open; once paid, erase
leaves no personal value in any item or S3 object version, moves no figure, and the audit chain verifies."""

from __future__ import annotations

import base64
import json
from datetime import UTC, date, datetime, timedelta

import pytest
from relance.adapters.audit_chain_store import DynamoAuditChain
from relance.adapters.aws import client
from relance.adapters.backoffice_store import BackOfficeStore
from relance.adapters.bank_payments_store import BankPaymentsStore
from relance.adapters.gdpr_store import DynamoGdprStore, S3DebtorDocuments
from relance.adapters.payments_store import PaymentsStore
from relance.adapters.s3 import S3Documents
from relance.adapters.settings import link_secret, load_settings
from relance.adapters.sqs import SqsJobQueue
from relance.adapters.wiring import closed_for, policies_for
from relance.domain.audit_chain import LinkKind
from relance.domain.gdpr import ErasureRefused, Refusal
from relance.domain.invoices import Invoice
from relance.domain.money import Money
from relance.domain.parties import Creditor, Debtor
from relance.services.audit_chain import verify_creditor
from relance.services.bank_payments import BankImportPorts, dismiss_unmatched, import_bank_payments
from relance.services.debtor_actions import edit_contacts, send_next_step_now
from relance.services.disputes import Attachment, DisputeRequest, Resolution, open_dispute, resolve_dispute
from relance.services.gdpr import ErasureOutcome, GdprPorts, erase_debtor, export_debtor, sweep_creditors
from relance.services.payments import ManualPayment, PaymentPorts, record_manual_payment
from relance.services.promises import promise_to_pay

from relance_cli import local_lambda

MONDAY = date(2026, 11, 23)
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16 + b"photo of the crushed boxes"

# Every personal value the debtor's journey stores, and the field the export must name it under.
NAME = "Boulangerie Dupont SARL"
SIREN = "552100554"
EMAIL = "jean.dupont@boulangerie-dupont.example"
BOUNCED = "compta@boulangerie-dupont.example"
PHONE = "+33 6 12 34 56 78"
NEW_PHONE = "+33 1 44 55 66 77"
ADDRESS = "12 rue des Lilas, 75011 Paris"
DISPUTE_MESSAGE = "Jean Dupont ici : cartons écrasés à la livraison"
ATTACHMENT = "photo livraison dupont.png"
PROMISE_NOTE = "Jean Dupont paiera vendredi"
PAYER = "VIR SEPA JEAN DUPONT"
PERSONAL = {"name": NAME, "company_id": SIREN, "emails": EMAIL, "undeliverable": BOUNCED, "phone": NEW_PHONE,
            "address": ADDRESS, "message": DISPUTE_MESSAGE, "note": PROMISE_NOTE, "reference": PAYER}
SEARCHED = [*PERSONAL.values(), PHONE, "photo_livraison_dupont", "Jean Dupont", "crushed boxes"]

DEBTOR = Debtor("acme", "d-1", NAME, company_id=SIREN, emails=(EMAIL, BOUNCED), phone=PHONE, address=ADDRESS)


def _policy():
    return policies_for(_creditor()).for_debtor(DEBTOR.kind, DEBTOR.risk_band)


def _creditor():
    from relance.domain.parties import Creditor

    return Creditor("acme", "Acme Fournitures SAS")


@pytest.fixture
def journey(stack, relance):
    """The debtor's whole life up to an open dispute and a promise; `pay()` settles everything."""
    table, bucket = stack.physical["RelanceTable"], stack.physical["DocumentsBucket"]
    store = BackOfficeStore(table)
    store.put_new_invoices([Invoice("acme", "d-1", number, date(2026, 9, 1), due, Money(1_000_00, "EUR"),
                                    Money(0, "EUR"), next_action_on=MONDAY)
                            for number, due in (("F-1", date(2026, 10, 1)), ("F-2", date(2026, 10, 15)))], [DEBTOR])
    queue = SqsJobQueue(stack.physical["ReminderQueue"])
    send_next_step_now("acme", "d-1", "finance:marie", MONDAY, NOW, store, queue, _policy(), closed_for(_creditor()))
    assert local_lambda.drain(stack.physical["ReminderQueue"], "SendRemindersFunction").failures == 0
    store.mark_undeliverable("acme", "d-1", BOUNCED, {"action": "email_bounced", "actor": "ses", "address": BOUNCED},
                             NOW + timedelta(minutes=1))
    edit_contacts("acme", "d-1", f"{EMAIL}\n{BOUNCED}", NEW_PHONE, ADDRESS, "finance:marie",
                  NOW + timedelta(minutes=2), store)
    open_dispute("acme", "d-1", DisputeRequest("F-1", "quality", DISPUTE_MESSAGE, Attachment(ATTACHMENT, PNG)),
                 MONDAY, NOW + timedelta(minutes=3), store, S3Documents(bucket), _policy(), frozenset())
    promise_to_pay("acme", "d-1", MONDAY + timedelta(days=4), PROMISE_NOTE, MONDAY, NOW + timedelta(minutes=4),
                   store, _policy(), frozenset())
    ports = GdprPorts(DynamoGdprStore(table), S3DebtorDocuments(bucket), link_secret(load_settings()).encode())

    def pay() -> None:
        resolve_dispute("acme", "d-1", "F-1", Resolution.REJECT, "finance:marie", "Montant conforme.", None,
                        NOW + timedelta(minutes=5), store, _policy(), frozenset())
        record_manual_payment("acme", "d-1", ManualPayment(Money(2_000_00, "EUR"), MONDAY, "bank_transfer", PAYER,
                                                           (), "nonce-1"),
                              "finance:marie", NOW + timedelta(minutes=6),
                              PaymentPorts(PaymentsStore(table), closed_for, policies_for))

    return {"table": table, "bucket": bucket, "store": store, "ports": ports, "pay": pay, "cli": relance}


def _all_items(table: str) -> list[dict]:
    """The whole moto table (a Scan is fine in a test: it is the independent check)."""
    items, kwargs = [], {}
    while True:
        page = client("dynamodb").scan(TableName=table, **kwargs)
        items.extend(page["Items"])
        if "LastEvaluatedKey" not in page:
            return items
        kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _all_object_versions(bucket: str) -> list[tuple[str, bytes]]:
    s3 = client("s3")
    found = []
    for version in s3.list_object_versions(Bucket=bucket).get("Versions", []):
        body = s3.get_object(Bucket=bucket, Key=version["Key"], VersionId=version["VersionId"])["Body"].read()
        found.append((version["Key"], body))
    return found


def _figures(store: BackOfficeStore) -> dict:
    debtor, invoices = store.debtor_with_invoices("acme", "d-1")
    return {i.number: (i.total, i.paid, i.balance) for i in invoices}


def _verify():
    local_lambda.drain_audit_chain()
    return verify_creditor("acme", DynamoAuditChain(load_settings().table_name), now=datetime.now(UTC))


def test_the_export_holds_every_personal_value_of_the_debtor_grouped_by_source(journey, tmp_path):
    code, _out = journey["cli"]("gdpr", "export", "d-1", "--creditor", "acme", "--output", str(tmp_path / "d-1.json"))
    document = json.loads((tmp_path / "d-1.json").read_text(encoding="utf-8"))

    assert code == 0
    assert set(PERSONAL) - {"reference"} <= set(document["fields"])  # not paid yet: no payment reference
    text = json.dumps(document["personal_data"], ensure_ascii=False)
    for field, value in PERSONAL.items():
        if field != "reference":
            assert value in text, field
    assert PHONE in text  # the old phone survives only in the contacts_edited event's `before`
    assert {"debtor", "audit", "dispute"} <= set(document["personal_data"])
    [attachment] = [d for d in document["documents"] if "/disputes/" in d["key"]]
    assert attachment["key"].endswith("photo_livraison_dupont.png")
    assert base64.b64decode(attachment["content_base64"]) == PNG


def test_the_export_after_payment_names_the_payer_reference(journey):
    journey["pay"]()

    document = export_debtor("acme", "d-1", NOW, journey["ports"], include_documents=False)

    assert "reference" in document["fields"]
    assert {"payment", "collection"} & set(document["personal_data"])
    assert PAYER in json.dumps(document["personal_data"])


def test_a_bank_credit_naming_the_debtor_in_finances_queue_is_exported_and_holds_the_erasure(journey):
    journey["pay"]()
    bank = BankPaymentsStore(journey["table"])
    bank_ports = BankImportPorts(bank, PaymentPorts(bank, closed_for, policies_for))
    statement = ("Date;Libellé;Émetteur;Montant\n"
                 "20/11/2026;VIREMENT DIVERS;BOULANGERIE DUPONT SARL;42,00\n"
                 "20/11/2026;REMBOURSEMENT SINISTRE;ASSURANCES DU NORD;1 234,56\n")
    import_bank_payments("acme", statement.encode("utf-8"), "import:marie", NOW + timedelta(minutes=7), bank_ports,
                         name="releve.csv")
    queued = {entry.payer: entry for entry in bank.unmatched("acme")}
    assert set(queued) == {"BOULANGERIE DUPONT SARL", "ASSURANCES DU NORD"}  # nothing open to match them

    document = export_debtor("acme", "d-1", NOW, journey["ports"], include_documents=False)
    with pytest.raises(ErasureRefused) as refused:
        erase_debtor("acme", "d-1", "operator", "request", NOW, journey["ports"])

    assert [entry["fields"]["payer"] for entry in document["personal_data"]["unmatched_payment"]] == [
        "BOULANGERIE DUPONT SARL"]  # the stranger's credit is not the debtor's data
    assert [(r.reason, r.refs) for r in refused.value.reasons] == [
        (Refusal.UNMATCHED_PAYMENT, (queued["BOULANGERIE DUPONT SARL"].line_id,))]
    assert journey["store"].debtor_with_invoices("acme", "d-1")[0].name == NAME  # nothing was touched

    dismiss_unmatched("acme", queued["BOULANGERIE DUPONT SARL"].entry_key, "Remboursement de frais, hors factures",
                      "finance:marie", NOW + timedelta(minutes=8), bank_ports)
    result = erase_debtor("acme", "d-1", "operator", "request", NOW + timedelta(minutes=9), journey["ports"])

    assert result.outcome is ErasureOutcome.ERASED
    assert [entry.payer for entry in bank.unmatched("acme")] == ["ASSURANCES DU NORD"]
    assert _verify().is_intact


def test_erase_is_refused_while_a_debt_is_open_and_names_each_reason(journey):
    code, _out = journey["cli"]("gdpr", "erase", "d-1", "--creditor", "acme", "--yes")
    with pytest.raises(ErasureRefused) as refused:
        erase_debtor("acme", "d-1", "operator", "request", NOW, journey["ports"])

    assert code == 1
    assert [(r.reason, r.refs) for r in refused.value.reasons] == [
        (Refusal.OPEN_INVOICE, ("F-1", "F-2")), (Refusal.OPEN_DISPUTE, ("F-1",))]
    assert journey["store"].debtor_with_invoices("acme", "d-1")[0].name == NAME  # nothing was touched


def test_after_payment_erase_leaves_no_personal_value_anywhere_moves_no_figure_and_the_chain_verifies(journey):
    journey["pay"]()
    assert _verify().is_intact
    figures = _figures(journey["store"])
    assert all(balance.is_zero() for _total, _paid, balance in figures.values())

    code, out = journey["cli"]("gdpr", "erase", "d-1", "--creditor", "acme", "--yes")

    assert code == 0 and out.startswith("erased: pseudonym ")
    items_text = [json.dumps(item, ensure_ascii=False).lower() for item in _all_items(journey["table"])]
    for value in SEARCHED:
        assert not [t for t in items_text if value.lower() in t], value
    versions = _all_object_versions(journey["bucket"])
    assert not [key for key, _body in versions if "/debtors/d-1/" in key]
    for value in SEARCHED:
        assert not [key for key, body in versions if value.encode() in body or value in key], value
    assert _figures(journey["store"]) == figures
    result = _verify()
    assert result.is_intact, result.broken
    kinds = [link.kind for link in DynamoAuditChain(journey["table"]).links("acme")]
    assert LinkKind.ERASURE in kinds and LinkKind.TAMPER_ALERT not in kinds
    events = journey["store"].audit_of("acme", "d-1")
    [erased] = [e for e in events if e["action"] == "personal_data_erased"]
    assert erased["pseudonym"] in out and erased["documents_deleted"] >= 1


def test_erasing_twice_is_harmless(journey):
    journey["pay"]()
    first = erase_debtor("acme", "d-1", "operator", "request", NOW, journey["ports"])
    assert _verify().is_intact
    links = len(DynamoAuditChain(journey["table"]).links("acme"))

    second = erase_debtor("acme", "d-1", "operator", "request", NOW + timedelta(minutes=1), journey["ports"])

    assert (first.outcome, second.outcome) == (ErasureOutcome.ERASED, ErasureOutcome.NOTHING_LEFT)
    assert second.pseudonym == first.pseudonym
    result = _verify()
    assert result.is_intact and result.links == links
    assert [e["action"] for e in journey["store"].audit_of("acme", "d-1")].count("personal_data_erased") == 1


def test_any_other_edit_of_a_redacted_event_still_breaks_the_chain(journey):
    journey["pay"]()
    erase_debtor("acme", "d-1", "operator", "request", NOW, journey["ports"])
    _verify()
    [event] = [e for e in journey["store"].audit_of("acme", "d-1") if e["action"] == "email_bounced"]

    client("dynamodb").update_item(TableName=journey["table"], Key={"PK": {"S": event["PK"]}, "SK": {"S": event["SK"]}},
                                   UpdateExpression="SET actor = :who", ExpressionAttributeValues={":who": {"S": "me"}})
    result = _verify()

    assert not result.is_intact


def test_the_retention_sweep_erases_only_settled_debtors_past_their_period(stack, relance):
    table = stack.physical["RelanceTable"]
    store = BackOfficeStore(table)
    people = {"old": "Old Settled Person", "recent": "Recent Settled Person", "owing": "Old Owing Person"}
    for debtor_id, name in people.items():
        paid = 0 if debtor_id == "owing" else 500_00
        store.put_new_invoices([Invoice("acme", debtor_id, f"{debtor_id}-1", date(2019, 1, 1), date(2019, 2, 1),
                                        Money(500_00, "EUR"), Money(paid, "EUR"))],
                               [Debtor("acme", debtor_id, name, emails=(f"{debtor_id}@people.example",))])
    last_activity = {"old": datetime(2021, 11, 23, 9, 0, tzinfo=UTC), "recent": datetime(2021, 11, 25, 9, 0, tzinfo=UTC),
                     "owing": datetime(2020, 1, 1, 9, 0, tzinfo=UTC)}
    for debtor_id, at in last_activity.items():
        DynamoGdprStore(table).put_audit({"PK": f"CRED#acme#DEBTOR#{debtor_id}", "SK": f"AUDIT#{at.isoformat()}#x",
                                          "entity": "audit", "creditor_id": "acme", "debtor_id": debtor_id,
                                          "at": at.isoformat(), "action": "payment_applied", "actor": "stripe"})

    code, out = relance("gdpr", "sweep", "--creditor", "acme", "--date", "2026-11-24")

    assert code == 0, out
    assert out.strip() == "erased 1: old; refused (debt open) 1: owing; kept 1"
    names = {d: store.debtor_with_invoices("acme", d)[0].name for d in people}
    assert names["old"].startswith("[erased ") and names["recent"] == people["recent"]
    assert names["owing"] == people["owing"]
    assert _verify().is_intact


def test_the_monthly_sweep_function_erases_each_creditors_debtors_by_its_own_jurisdiction(stack):
    """GdprSweepFunction as its schedule invokes it: a French creditor keeps data 5 years, a Belgian one 10."""
    table = stack.physical["RelanceTable"]
    store = BackOfficeStore(table)
    now = datetime.now(UTC)
    six_years_ago = now.replace(year=now.year - 6)
    for creditor in (Creditor("acme", "Acme Fournitures SAS", country="FR"),
                     Creditor("brux", "Bruxelles Matériaux SRL", timezone="Europe/Brussels", country="BE")):
        store.put_creditor(creditor)
        debtor_id = f"{creditor.creditor_id}-old"
        store.put_new_invoices([Invoice(creditor.creditor_id, debtor_id, f"{debtor_id}-1", date(2019, 1, 1),
                                        date(2019, 2, 1), Money(500_00, "EUR"), Money(500_00, "EUR"))],
                               [Debtor(creditor.creditor_id, debtor_id, f"Ancien client de {creditor.legal_name}",
                                       emails=(f"{debtor_id}@people.example",))])
        DynamoGdprStore(table).put_audit({"PK": f"CRED#{creditor.creditor_id}#DEBTOR#{debtor_id}",
                                          "SK": f"AUDIT#{six_years_ago.isoformat()}#x", "entity": "audit",
                                          "creditor_id": creditor.creditor_id, "debtor_id": debtor_id,
                                          "at": six_years_ago.isoformat(), "action": "payment_applied",
                                          "actor": "stripe"})

    first = local_lambda.invoke("GdprSweepFunction", {})
    again = local_lambda.invoke("GdprSweepFunction", {})

    assert (first["creditors_swept"], first["erased"], first["kept"]) == (2, 1, 1)
    assert first["per_creditor"] == {"acme": {"erased": 1, "refused": 0, "kept": 0},
                                     "brux": {"erased": 0, "refused": 0, "kept": 1}}
    assert "acme-old" not in json.dumps(first)  # counts only in the report and its log line
    assert store.debtor_with_invoices("acme", "acme-old")[0].name.startswith("[erased ")
    assert store.debtor_with_invoices("brux", "brux-old")[0].name == "Ancien client de Bruxelles Matériaux SRL"
    assert again["erased"] == 0  # erased before: nothing left to erase


def test_the_sweep_stops_before_a_creditor_when_time_runs_out_and_names_the_creditors_without_a_period():
    class NoDebtors:
        def debtor_ids(self, creditor_id):
            return []

    creditors = [Creditor("a", "A", country="XX"), Creditor("b", "B"), Creditor("c", "C"), Creditor("d", "D")]
    clock = iter([900.0, 900.0, 500.0, 60.0])
    ports = GdprPorts(NoDebtors(), None, b"secret")

    report = sweep_creditors(creditors, NOW, {"FR": 5}, ports, seconds_left=lambda: next(clock))

    assert report.creditors_failed == ("a",)  # no XX entry and no EU default in this table
    assert (report.creditors_swept, report.creditors_left) == (2, 1)
