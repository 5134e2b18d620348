"""Issue 8, acceptance 3: the audit trail is hash-chained per creditor from the table's stream, and
`relance audit verify` names the first altered, deleted or reordered event."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout
from datetime import UTC, datetime, timedelta

import pytest
from relance.adapters import keys
from relance.adapters.audit_chain_store import DynamoAuditChain
from relance.adapters.aws import client
from relance.adapters.dynamo import DynamoStore
from relance.domain.parties import Creditor, Debtor
from relance_cli import local_lambda
from relance_cli.local_stack import write_stack_file
from relance_cli.main import main

CREDITOR = "acme"
BOUNCES = [("d1", "a@one.example"), ("d2", "b@two.example"), ("d1", "c@one.example"), ("d3", "d@three.example")]


@pytest.fixture
def world(stack, tmp_path):
    """Four audit events over three debtors, chained by draining the stream; `verify()` runs the CLI."""
    table = stack.physical["RelanceTable"]
    store = DynamoStore(table)
    store.put_creditor(Creditor(CREDITOR, "Acme SAS"))
    for debtor_id in ("d1", "d2", "d3"):
        store.put_debtor(Debtor(CREDITOR, debtor_id, f"Debtor {debtor_id}"))
    now = datetime.now(UTC) - timedelta(hours=1)
    for i, (debtor_id, address) in enumerate(BOUNCES):
        assert store.mark_undeliverable(CREDITOR, debtor_id, address, {"action": "contact.bounced", "actor": "ses"},
                                        now + timedelta(seconds=i))
    stack_file = write_stack_file(stack, tmp_path / "stack.json")

    def verify() -> tuple[int, dict]:
        out = io.StringIO()
        with redirect_stdout(out):
            code = main(["--stack-file", str(stack_file), "audit", "verify", "--creditor", CREDITOR, "--json"])
        return code, json.loads(out.getvalue())

    def link_item(seq: int) -> dict:
        return client("dynamodb").get_item(TableName=table, Key={
            "PK": {"S": keys.audit_chain_pk(CREDITOR)}, "SK": {"S": keys.audit_chain_link_sk(seq)}})["Item"]

    return {"table": table, "store": store, "verify": verify, "link_item": link_item,
            "chain": DynamoAuditChain(table)}


def test_an_untouched_chain_verifies_and_the_text_output_names_its_head(world, stack, tmp_path):
    code, result = world["verify"]()

    assert code == 0 and result["intact"] and result["links"] == len(BOUNCES)
    out = io.StringIO()
    with redirect_stdout(out):
        main(["--stack-file", str(tmp_path / "stack.json"), "audit", "verify", "--creditor", CREDITOR])
    assert out.getvalue().startswith(f"chain of 4 events verified up to 4 {result['verified_hash']}")


def test_altering_one_audit_event_fails_verify_and_names_it(world):
    world["verify"]()
    victim = world["link_item"](2)
    # edited in place, as someone with write access to the table could
    client("dynamodb").update_item(TableName=world["table"], Key={"PK": victim["event_pk"], "SK": victim["event_sk"]},
                                   UpdateExpression="SET actor = :who", ExpressionAttributeValues={":who": {"S": "me"}})

    code, result = world["verify"]()

    assert code == 1 and not result["intact"]
    assert result["broken"]["seq"] == 2 and result["broken"]["event_sk"] == victim["event_sk"]["S"]
    assert result["broken"]["problem"] == "hash_mismatch"


def test_the_stream_records_a_tamper_alert_even_if_the_event_is_put_back(world):
    world["verify"]()
    victim = world["link_item"](3)
    key = {"PK": victim["event_pk"], "SK": victim["event_sk"]}
    original = client("dynamodb").get_item(TableName=world["table"], Key=key)["Item"]
    client("dynamodb").put_item(TableName=world["table"], Item={**original, "actor": {"S": "me"}})
    client("dynamodb").put_item(TableName=world["table"], Item=original)  # and back, hoping nobody noticed

    code, result = world["verify"]()

    assert code == 1
    assert result["broken"]["problem"] == "tamper_alert" and result["broken"]["seq"] == 5
    assert result["broken"]["event_sk"] == victim["event_sk"]["S"]


def test_deleting_one_audit_event_fails_verify_and_names_it(world):
    world["verify"]()
    victim = world["link_item"](1)
    # Deleting also reaches the stream (a tamper alert is appended), but the walk meets the hole first.
    client("dynamodb").delete_item(TableName=world["table"], Key={"PK": victim["event_pk"], "SK": victim["event_sk"]})

    code, result = world["verify"]()

    assert code == 1
    assert (result["broken"]["problem"], result["broken"]["seq"]) == ("missing_event", 1)
    assert result["broken"]["event_sk"] == victim["event_sk"]["S"]


def test_swapping_two_links_fails_verify_and_names_the_first(world):
    world["verify"]()
    second, third = world["link_item"](2), world["link_item"](3)
    dynamodb = client("dynamodb")
    dynamodb.put_item(TableName=world["table"], Item={**third, "SK": second["SK"], "seq": second["seq"]})
    dynamodb.put_item(TableName=world["table"], Item={**second, "SK": third["SK"], "seq": third["seq"]})

    code, result = world["verify"]()

    assert code == 1
    assert (result["broken"]["problem"], result["broken"]["seq"]) == ("previous_hash_mismatch", 2)


def test_cutting_the_last_link_is_caught_by_the_head(world):
    world["verify"]()
    client("dynamodb").delete_item(TableName=world["table"], Key={
        "PK": {"S": keys.audit_chain_pk(CREDITOR)}, "SK": {"S": keys.audit_chain_link_sk(4)}})

    code, result = world["verify"]()

    assert code == 1 and result["broken"]["problem"] == "head_mismatch"


def test_a_stream_batch_delivered_twice_chains_each_event_once(world):
    local_lambda.drain_audit_chain()
    local_lambda._STREAM_POSITIONS.clear()  # the mapping's checkpoint lost: every record comes again

    again = local_lambda.drain_audit_chain()

    assert again.messages == len(BOUNCES) and again.failures == 0
    assert len(world["chain"].links(CREDITOR)) == len(BOUNCES)
    assert world["verify"]()[1]["links"] == len(BOUNCES)


def test_a_failed_business_transaction_leaves_neither_the_change_nor_its_audit_event(world):
    store = world["store"]
    before = store.audit_of(CREDITOR, "d2")

    # Already marked: the debtor update's condition fails, so the whole transaction is cancelled.
    assert not store.mark_undeliverable(CREDITOR, "d2", "b@two.example", {"action": "contact.bounced"},
                                        datetime.now(UTC))

    assert store.audit_of(CREDITOR, "d2") == before
    code, result = world["verify"]()
    assert code == 0 and result["links"] == len(BOUNCES)


def test_an_audit_event_the_stream_never_delivered_is_reported_unchained(world):
    world["verify"]()
    event = world["store"].audit_of(CREDITOR, "d1")[0]
    late = {**{k: {"S": v} for k, v in event.items() if isinstance(v, str)},
            "SK": {"S": "AUDIT#2020-01-01T00:00:00.000000+00:00#lost"}, "at": {"S": "2020-01-01T00:00:00+00:00"}}
    local_lambda.drain_audit_chain()
    # the event source mapping gave up on what comes next (it went to the dead-letter queue)
    local_lambda._STREAM_POSITIONS[local_lambda.table_stream_arn(world["table"])] = "9" * 22
    client("dynamodb").put_item(TableName=world["table"], Item=late)  # written an hour ago, as far as verify knows

    code, result = world["verify"]()

    assert code == 1 and result["broken"]["problem"] == "unchained"
    assert result["broken"]["event_sk"] == late["SK"]["S"]
