"""The test harness's faster moto transactions still roll back like DynamoDB."""

import pytest

from relance.adapters.aws import client


@pytest.fixture
def table(aws):
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName="t", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "PK", "AttributeType": "S"}, {"AttributeName": "SK", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
    )
    dynamodb.put_item(TableName="t", Item={"PK": {"S": "a"}, "SK": {"S": "1"}, "v": {"N": "1"}})
    return dynamodb


def test_a_cancelled_transaction_leaves_every_item_as_it_was(table):
    with pytest.raises(table.exceptions.TransactionCanceledException):
        table.transact_write_items(TransactItems=[
            {"Put": {"TableName": "t", "Item": {"PK": {"S": "new"}, "SK": {"S": "1"}}}},
            {"Update": {"TableName": "t", "Key": {"PK": {"S": "a"}, "SK": {"S": "1"}},
                        "UpdateExpression": "SET v = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
            {"ConditionCheck": {"TableName": "t", "Key": {"PK": {"S": "absent"}, "SK": {"S": "1"}},
                                "ConditionExpression": "attribute_exists(PK)"}},
        ])

    items = table.scan(TableName="t")["Items"]
    assert items == [{"PK": {"S": "a"}, "SK": {"S": "1"}, "v": {"N": "1"}}]


def test_a_successful_transaction_writes_every_item(table):
    table.transact_write_items(TransactItems=[
        {"Put": {"TableName": "t", "Item": {"PK": {"S": "new"}, "SK": {"S": "1"}}}},
        {"Update": {"TableName": "t", "Key": {"PK": {"S": "a"}, "SK": {"S": "1"}},
                    "UpdateExpression": "SET v = :two", "ExpressionAttributeValues": {":two": {"N": "2"}}}},
    ])

    assert len(table.scan(TableName="t")["Items"]) == 2


def test_a_table_query_still_returns_its_partition_in_order_and_only_it(table):
    for sk in ("3", "1", "2"):
        table.put_item(TableName="t", Item={"PK": {"S": "p"}, "SK": {"S": sk}})

    items = table.query(TableName="t", KeyConditionExpression="PK = :p AND SK >= :s",
                        ExpressionAttributeValues={":p": {"S": "p"}, ":s": {"S": "2"}})["Items"]
    backwards = table.query(TableName="t", KeyConditionExpression="PK = :p", ScanIndexForward=False,
                            ExpressionAttributeValues={":p": {"S": "p"}})["Items"]

    assert [i["SK"]["S"] for i in items] == ["2", "3"]
    assert [i["SK"]["S"] for i in backwards] == ["3", "2", "1"]


def test_an_index_query_still_returns_only_its_partition_in_index_order(aws):
    dynamodb = client("dynamodb")
    dynamodb.create_table(
        TableName="gsi", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": n, "AttributeType": "S"} for n in ("PK", "SK", "G", "GS")],
        KeySchema=[{"AttributeName": "PK", "KeyType": "HASH"}, {"AttributeName": "SK", "KeyType": "RANGE"}],
        GlobalSecondaryIndexes=[{"IndexName": "IDX", "Projection": {"ProjectionType": "ALL"},
                                 "KeySchema": [{"AttributeName": "G", "KeyType": "HASH"},
                                               {"AttributeName": "GS", "KeyType": "RANGE"}]}],
    )
    for pk, g, gs in (("a", "x", "3"), ("b", "x", "1"), ("c", "y", "2"), ("d", "x", "2")):
        dynamodb.put_item(TableName="gsi", Item={"PK": {"S": pk}, "SK": {"S": "s"}, "G": {"S": g}, "GS": {"S": gs}})
    dynamodb.put_item(TableName="gsi", Item={"PK": {"S": "e"}, "SK": {"S": "s"}})  # not in the sparse index

    items = dynamodb.query(TableName="gsi", IndexName="IDX", KeyConditionExpression="G = :g AND GS <= :s",
                           ExpressionAttributeValues={":g": {"S": "x"}, ":s": {"S": "2"}})["Items"]

    assert [i["PK"]["S"] for i in items] == ["b", "d"]
