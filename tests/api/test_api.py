"""The ERP API as an ERP sees it: keys, idempotency, isolation between creditors, errors, limits, events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from relance.adapters.api_store import ApiStore
from relance.adapters.dynamo import DynamoStore
from relance.adapters.settings import load_settings
from relance.services.api import authenticate

from relance_cli import local_lambda
from tests.api.conftest import CREDITOR_A, CREDITOR_B, Api, an_invoice

YESTERDAY = (datetime.now(UTC) - timedelta(days=1)).date().isoformat()


def _debtor_of(api: Api, number: str = "F-001", **fields) -> str:
    answer = api.post("/v1/invoices", {"invoices": [an_invoice(number, **fields)]})
    assert answer.status == 200, answer.body
    return answer.body["invoices"][0]["debtor_id"]


def _a_payment(debtor_id: str, amount_minor: int = 20_000, **fields) -> dict:
    return {
        "debtor_id": debtor_id,
        "amount_minor": amount_minor,
        "currency": "EUR",
        "received_on": YESTERDAY,
        "method": "bank_transfer",
        "reference": "VIR 2025-11 MARTIN",
        **fields,
    }


def test_an_invoice_posted_can_be_read_back_on_its_debtor(api):
    created = api.post("/v1/invoices", {"invoices": [an_invoice("F-001")]})

    debtor = api.get(f"/v1/debtors/{created.body['invoices'][0]['debtor_id']}")

    assert created.status == 200, created.body
    assert created.body["created"] == 1
    assert debtor.status == 200, debtor.body
    assert debtor.body["balances"] == [{"currency": "EUR", "amount_minor": 120_000}]
    assert [i["invoice_number"] for i in debtor.body["open_invoices"]] == ["F-001"]
    assert debtor.body["open_invoices"][0]["status"] == "overdue"


def test_a_second_post_of_an_invoice_updates_it_by_number(api):
    debtor_id = _debtor_of(api, "F-001")

    updated = api.post("/v1/invoices", {"invoices": [an_invoice("F-001", amount_paid_minor=100_000)]})

    assert updated.body["updated"] == 1
    assert api.get(f"/v1/debtors/{debtor_id}").body["balances"] == [
        {"currency": "EUR", "amount_minor": 20_000}
    ]


# --- idempotency --------------------------------------------------------------------------------------------


def test_the_same_invoice_post_with_the_same_key_twice_creates_one_invoice_and_answers_the_same(api):
    body = {"invoices": [an_invoice("F-001"), an_invoice("F-002")]}

    first = api.post("/v1/invoices", body, idempotency_key="erp-batch-0001")
    second = api.post("/v1/invoices", body, idempotency_key="erp-batch-0001")

    debtor = api.get(f"/v1/debtors/{first.body['invoices'][0]['debtor_id']}")
    assert first.status == second.status == 200
    assert second.body == first.body == {**first.body, "created": 2, "updated": 0, "unchanged": 0}
    assert sorted(i["invoice_number"] for i in debtor.body["open_invoices"]) == ["F-001", "F-002"]


def test_the_same_payment_post_with_the_same_key_twice_is_applied_once(api):
    debtor_id = _debtor_of(api)

    first = api.post("/v1/payments", _a_payment(debtor_id), idempotency_key="pay-42")
    second = api.post("/v1/payments", _a_payment(debtor_id), idempotency_key="pay-42")

    assert first.status == second.status == 200, (first.body, second.body)
    assert second.body == first.body
    assert api.get(f"/v1/debtors/{debtor_id}").body["balances"] == [
        {"currency": "EUR", "amount_minor": 100_000}
    ]


def test_an_idempotency_key_reused_with_another_body_is_refused_and_writes_nothing(api):
    debtor_id = _debtor_of(api)
    api.post("/v1/payments", _a_payment(debtor_id, 20_000), idempotency_key="pay-43")

    reused = api.post("/v1/payments", _a_payment(debtor_id, 30_000), idempotency_key="pay-43")

    assert reused.status == 422
    assert reused.body["errors"][0]["code"] == "idempotency_key_reused"
    assert api.get(f"/v1/debtors/{debtor_id}").body["balances"] == [
        {"currency": "EUR", "amount_minor": 100_000}
    ]


def test_a_post_without_an_idempotency_key_is_refused_with_400(api):
    answer = api.post("/v1/invoices", {"invoices": [an_invoice()]}, idempotency_key=None)

    assert answer.status == 400
    assert answer.body["errors"][0]["path"] == "headers.Idempotency-Key"


def test_the_same_idempotency_key_of_two_creditors_are_two_requests(api):
    first = api.post("/v1/invoices", {"invoices": [an_invoice("F-001")]}, idempotency_key="shared-key")

    other = api.post(
        "/v1/invoices", {"invoices": [an_invoice("F-001")]}, idempotency_key="shared-key", creditor=CREDITOR_B
    )

    assert first.status == other.status == 200
    assert other.body["created"] == 1


# --- creditors are isolated ---------------------------------------------------------------------------------


def test_another_creditors_key_cannot_read_the_debtor_and_gets_404(api):
    debtor_id = _debtor_of(api)

    answer = api.get(f"/v1/debtors/{debtor_id}", creditor=CREDITOR_B)

    assert answer.status == 404
    assert answer.body == {
        "errors": [{"path": "debtor_id", "code": "debtor.unknown", "message": "no such debtor"}]
    }
    assert (
        api.get("/v1/debtors/no-such-debtor", creditor=CREDITOR_B).body == answer.body
    )  # existence never leaks


def test_another_creditors_key_cannot_pay_or_credit_the_debtors_invoices(api):
    debtor_id = _debtor_of(api)

    payment = api.post("/v1/payments", _a_payment(debtor_id), creditor=CREDITOR_B)
    credit = api.post(
        "/v1/credit-notes",
        {
            "credit_note_number": "AV-1",
            "invoice_number": "F-001",
            "amount_minor": 10_000,
            "currency": "EUR",
            "issued_on": YESTERDAY,
        },
        creditor=CREDITOR_B,
    )

    assert (payment.status, credit.status) == (404, 404)
    assert api.get(f"/v1/debtors/{debtor_id}").body["balances"] == [
        {"currency": "EUR", "amount_minor": 120_000}
    ]


def test_the_same_invoice_number_from_another_creditor_is_its_own_invoice(api):
    debtor_id = _debtor_of(api, "F-001")

    other = api.post(
        "/v1/invoices", {"invoices": [an_invoice("F-001", amount_total_minor=5_00)]}, creditor=CREDITOR_B
    )

    assert other.body["created"] == 1
    assert api.get(f"/v1/debtors/{debtor_id}").body["balances"] == [
        {"currency": "EUR", "amount_minor": 120_000}
    ]
    assert api.get(f"/v1/debtors/{debtor_id}", creditor=CREDITOR_B).body["balances"] == [
        {"currency": "EUR", "amount_minor": 5_00}
    ]


# --- authentication -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("key", [None, "", "rk_000000000000_not-a-key-we-gave", "Basic dXNlcjpwYXNz"])
def test_a_missing_or_unknown_key_gets_401(api, key):
    headers = {} if key is None else {"Authorization": key if key.startswith("Basic") else f"Bearer {key}"}

    answer = api.call("GET", "/v1/events", creditor=None, headers=headers)

    assert answer.status == 401
    assert answer.headers["www-authenticate"] == "Bearer"
    assert answer.body["errors"][0]["code"] == "api.unauthorized"


def test_a_revoked_key_gets_401(api):
    from relance.adapters.api_store import ApiStore
    from relance.adapters.settings import load_settings
    from relance.services.api import authenticate

    store = ApiStore(load_settings().table_name)
    caller = authenticate(f"Bearer {api.keys[CREDITOR_A]}", store)
    assert api.get("/v1/events").status == 200

    store.revoke_api_key(caller.creditor_id, caller.key_id, datetime.now(UTC))

    assert api.get("/v1/events").status == 401


# --- errors name their field --------------------------------------------------------------------------------


def test_rule_errors_name_each_field_by_its_path_and_nothing_is_written(api):
    body = {"invoices": [an_invoice("F-001"), an_invoice("F-002", due_date="2025-09-01", siren="123456789")]}

    answer = api.post("/v1/invoices", body)

    assert answer.status == 422
    assert {(e["path"], e["code"]) for e in answer.body["errors"]} == {
        ("invoices[1].due_date", "due_before_invoice_date"),
        ("invoices[1].siren", "invalid_siren"),
    }
    assert api.get("/v1/events").body["events"] == []
    assert (
        api.post("/v1/invoices", {"invoices": [an_invoice("F-001")]}).body["created"] == 1
    )  # F-001 was not stored


def test_each_debtor_sent_invoices_gets_one_audit_event_naming_the_key_and_the_new_invoices(api):
    first = api.post("/v1/invoices", {"invoices": [an_invoice("F-001"), an_invoice("F-002")]})
    again = api.post("/v1/invoices", {"invoices": [an_invoice("F-002", amount_total_minor=50_000), an_invoice("F-003")]})
    other = api.post("/v1/invoices", {"invoices": [an_invoice("G-001", siren="552100554", debtor_name="Autre SA")]})
    local_lambda.drain_audit_chain()

    events = api.get("/v1/events").body["events"]
    table = load_settings().table_name
    caller = authenticate(f"Bearer {api.keys[CREDITOR_A]}", ApiStore(table))
    trail = DynamoStore(table).audit_of(caller.creditor_id, first.body["invoices"][0]["debtor_id"])

    assert (first.status, again.status, other.status) == (200, 200, 200)
    assert [(e["action"], e["invoices"]) for e in events] == [
        ("invoices_received", ["F-001", "F-002"]), ("invoices_received", ["F-002", "F-003"]),
        ("invoices_received", ["G-001"])]
    assert [(t["created"], t["channel"]) for t in trail] == [(["F-001", "F-002"], "api"), (["F-003"], "api")]
    assert {t["actor"] for t in trail} == {f"api:{caller.key_id}"}


def test_type_errors_name_the_field_and_refuse_amounts_that_are_not_integers(api):
    body = {
        "invoices": [
            an_invoice("F-001", amount_total_minor=1200.5),
            an_invoice("F-002", invoice_date="01/10/2025"),
        ]
    }

    answer = api.post("/v1/invoices", body)

    assert answer.status == 422
    paths = {e["path"] for e in answer.body["errors"]}
    assert {"invoices[0].amount_total_minor", "invoices[1].invoice_date"} <= paths


def test_a_body_that_is_not_json_gets_a_json_error(api):
    from relance_cli import local_lambda as lambdas
    from tests.api.conftest import http_event

    raw = lambdas.invoke(
        "ApiFunction",
        http_event(
            "POST",
            "/v1/invoices",
            raw_body=b"{not json",
            headers={"Authorization": f"Bearer {api.keys[CREDITOR_A]}", "Idempotency-Key": "k1"},
        ),
    )

    assert raw["statusCode"] == 422
    assert "errors" in __import__("json").loads(raw["body"])


# --- payments and credit notes ------------------------------------------------------------------------------


def test_a_payment_is_refused_with_field_paths_when_the_form_is_wrong(api):
    debtor_id = _debtor_of(api)

    answer = api.post("/v1/payments", _a_payment(debtor_id, 0, reference=" ", invoice_numbers=["F-999"]))

    assert answer.status == 422
    assert {e["path"] for e in answer.body["errors"]} == {"amount_minor", "reference", "invoice_numbers"}


def test_a_credit_note_lowers_the_balance_once_per_number(api):
    debtor_id = _debtor_of(api)
    note = {
        "credit_note_number": "AV-2025-7",
        "invoice_number": "F-001",
        "amount_minor": 20_000,
        "currency": "EUR",
        "issued_on": YESTERDAY,
    }

    first = api.post("/v1/credit-notes", note)
    again = api.post(
        "/v1/credit-notes", note
    )  # another Idempotency-Key: the number still names one credit note

    assert (first.body["outcome"], again.body["outcome"]) == ("recorded", "duplicate")
    assert first.body["balance_minor"] == 100_000
    assert api.get(f"/v1/debtors/{debtor_id}").body["balances"] == [
        {"currency": "EUR", "amount_minor": 100_000}
    ]


def test_a_credit_note_number_is_applied_once_whether_the_import_or_the_api_brings_it_first(api):
    from relance.adapters.dynamo import DynamoStore
    from relance.adapters.payments_store import PaymentsStore
    from relance.adapters.settings import load_settings
    from relance.adapters.wiring import closed_for, policies_for
    from relance.domain.money import Money
    from relance.services.payments import CreditNoteEntry, Outcome, PaymentPorts, record_credit_note

    from relance.adapters.api_store import ApiStore
    from relance.services.api import authenticate

    debtor_id = _debtor_of(api)
    table = load_settings().table_name
    creditor_id = authenticate(f"Bearer {api.keys[CREDITOR_A]}", ApiStore(table)).creditor_id
    ports = PaymentPorts(PaymentsStore(table), closed_for, policies_for)

    def imported(number: str) -> Outcome:  # what an e-invoice import of the credit note does
        outcome, _change = record_credit_note(
            creditor_id, debtor_id, CreditNoteEntry(number, Money(20_000, "EUR"), datetime.now(UTC).date(),
                                                   ("F-001",), "avoir.xml"),
            "import:avoir.xml", datetime.now(UTC), ports)
        return outcome

    def posted(number: str):
        return api.post("/v1/credit-notes", {"credit_note_number": number, "invoice_number": "F-001",
                                             "amount_minor": 20_000, "currency": "EUR", "issued_on": YESTERDAY})

    assert imported("AV-IMPORT-1") is Outcome.APPLIED
    assert posted("AV-IMPORT-1").body["outcome"] == "duplicate"  # the same credit note, by the other door
    refused = api.post("/v1/credit-notes", {"credit_note_number": "AV-IMPORT-1", "invoice_number": "F-001",
                                            "amount_minor": 5_000, "currency": "EUR", "issued_on": YESTERDAY})
    assert (refused.status, refused.body["errors"][0]["code"]) == (409, "credit_note_number_used")

    assert posted("AV-API-2").body["outcome"] == "recorded"
    assert imported("AV-API-2") is Outcome.DUPLICATE

    assert api.get(f"/v1/debtors/{debtor_id}").body["balances"] == [{"currency": "EUR", "amount_minor": 80_000}]
    assert DynamoStore(table).get_invoices(creditor_id, [(debtor_id, "F-001")])["F-001"].paid == Money(40_000, "EUR")


def test_a_credit_note_above_the_balance_is_refused(api):
    _debtor_of(api)

    answer = api.post(
        "/v1/credit-notes",
        {
            "credit_note_number": "AV-1",
            "invoice_number": "F-001",
            "amount_minor": 120_001,
            "currency": "EUR",
            "issued_on": YESTERDAY,
        },
    )

    assert answer.status == 422
    assert answer.body["errors"] == [
        {"path": "amount_minor", "code": "above_balance", "message": answer.body["errors"][0]["message"]}
    ]


# --- events -------------------------------------------------------------------------------------------------


def test_event_pages_return_each_event_once_in_order(api):
    debtor_id = _debtor_of(api)
    for n in range(3):
        assert (
            api.post(
                "/v1/credit-notes",
                {
                    "credit_note_number": f"AV-{n}",
                    "invoice_number": "F-001",
                    "amount_minor": 1_000,
                    "currency": "EUR",
                    "issued_on": YESTERDAY,
                },
            ).status
            == 200
        )
    api.post("/v1/payments", _a_payment(debtor_id))
    assert (
        api.post("/v1/payments", _a_payment(debtor_id), creditor=CREDITOR_B).status == 404
    )  # no event for B
    local_lambda.drain_audit_chain()  # what AuditChainFunction does on AWS within seconds

    pages, cursor = [], None
    for _ in range(5):
        page = api.get("/v1/events", query={"limit": "2", **({"after": cursor} if cursor else {})}).body
        pages.append(page)
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break

    events = [e for page in pages for e in page["events"]]
    assert [e["action"] for e in events][:4] == ["invoices_received"] + ["credit_note_applied"] * 3
    assert events[0]["invoices"] == ["F-001"]
    assert len(events) == 5
    assert len({e["cursor"] for e in events}) == 5
    assert all(e["debtor_id"] == debtor_id for e in events)
    assert api.get("/v1/events", query={"after": cursor}).body["events"] == []
    assert api.get("/v1/events", creditor=CREDITOR_B).body["events"] == []


def test_a_cursor_this_api_did_not_give_is_refused(api):
    answer = api.get("/v1/events", query={"after": "not-a-cursor"})

    assert answer.status == 400
    assert answer.body["errors"][0]["path"] == "after"


def test_a_credit_note_on_an_invoice_under_an_installment_plan_pays_the_plan_down_so_nothing_more_is_charged(api):
    from relance.adapters.plans_store import PlansStore
    from relance.adapters.wiring import closed_for, policies_for
    from relance.domain.money import Money
    from relance.domain.plans import PlanState
    from relance.services.plans import ScheduleTerms, propose_plan

    debtor_id = _debtor_of(api)
    table = load_settings().table_name
    creditor_id = authenticate(f"Bearer {api.keys[CREDITOR_A]}", ApiStore(table)).creditor_id
    plans = PlansStore(table)
    today = datetime.now(UTC).date()
    proposed = propose_plan(creditor_id, debtor_id, None, ScheduleTerms(3, today + timedelta(days=20),
                                                                         Money(20_000, "EUR")),
                            "Trésorerie tendue", datetime.now(UTC), plans, policies_for, closed_for)
    assert proposed.plan.state is PlanState.ACCEPTED

    answer = api.post("/v1/credit-notes", {"credit_note_number": "AV-PLAN", "invoice_number": "F-001",
                                           "amount_minor": 120_000, "currency": "EUR", "issued_on": YESTERDAY})

    stored = plans.find_plan(creditor_id, debtor_id, proposed.plan.plan_id)
    assert (answer.status, answer.body["balance_minor"]) == (200, 0)
    assert stored.plan.state is PlanState.COMPLETED and stored.plan.outstanding.is_zero()
    assert plans.due_plan_debtors(creditor_id, today + timedelta(days=400)) == []  # no installment left to charge
