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


EVERY_TYPE = {
    "PK": {"S": "kinds"}, "SK": {"S": "1"},
    "s": {"S": "é ü \u202f"}, "n": {"N": "-12.5"}, "b": {"B": b"\x00\xffbytes"},
    "ss": {"SS": ["a", "b"]}, "ns": {"NS": ["1", "2"]}, "bs": {"BS": [b"\x01", b"\x02"]},
    "null": {"NULL": True}, "yes": {"BOOL": True}, "no": {"BOOL": False},
    "m": {"M": {"inner": {"L": [{"S": "x"}, {"N": "0"}, {"M": {"deep": {"BOOL": False}}}, {"B": b"\x7f"}]}}},
    "empty_map": {"M": {}}, "empty_list": {"L": []}, "empty_s": {"S": ""},
}


def test_every_attribute_type_reads_back_exactly_as_written(table):
    table.put_item(TableName="t", Item=EVERY_TYPE)

    item = table.get_item(TableName="t", Key={"PK": {"S": "kinds"}, "SK": {"S": "1"}}, ConsistentRead=True)["Item"]
    queried = table.query(TableName="t", KeyConditionExpression="PK = :p",
                          ExpressionAttributeValues={":p": {"S": "kinds"}})["Items"]

    def canonical(value):  # sets come back in any order, as from DynamoDB
        return {k: ({t: sorted(v) for t, v in a.items()} if next(iter(a)) in ("SS", "NS", "BS") else a)
                for k, a in value.items()}

    assert canonical(item) == canonical(EVERY_TYPE)
    assert canonical(queried[0]) == canonical(EVERY_TYPE)


def test_a_sort_key_condition_still_selects_exactly_its_range(table):
    for sk in ("INV#1", "INV#2", "INVOICE", "PLAN#1", "DEBTOR", "IN"):
        table.put_item(TableName="t", Item={"PK": {"S": "r"}, "SK": {"S": sk}})

    def sks(condition, **values):
        return [i["SK"]["S"] for i in table.query(
            TableName="t", KeyConditionExpression=f"PK = :p AND {condition}",
            ExpressionAttributeValues={":p": {"S": "r"}, **{f":{k}": {"S": v} for k, v in values.items()}})["Items"]]

    assert sks("begins_with(SK, :x)", x="INV#") == ["INV#1", "INV#2"]
    assert sks("SK BETWEEN :a AND :b", a="DEBTOR", b="INV#\uffff") == ["DEBTOR", "IN", "INV#1", "INV#2"]
    assert sks("SK < :x", x="INV#2") == ["DEBTOR", "IN", "INV#1"]
    assert sks("SK = :x", x="PLAN#1") == ["PLAN#1"]


@pytest.mark.parametrize("forward", [True, False])
def test_a_limited_query_reads_limit_items_in_key_order_then_filters_and_pages_on(table, forward):
    for n in range(30):
        table.put_item(TableName="t", Item={"PK": {"S": "q"}, "SK": {"S": f"INV#{n:03d}"}, "paid": {"N": str(n % 3)}})
    table.put_item(TableName="t", Item={"PK": {"S": "q"}, "SK": {"S": "PLAN#1"}, "paid": {"N": "0"}})

    def page(start=None):
        return table.query(TableName="t", KeyConditionExpression="PK = :p AND begins_with(SK, :i)",
                           FilterExpression="paid = :zero", ScanIndexForward=forward, Limit=7,
                           ExpressionAttributeValues={":p": {"S": "q"}, ":i": {"S": "INV#"}, ":zero": {"N": "0"}},
                           **({"ExclusiveStartKey": start} if start else {}))

    first = page()
    order = list(range(30)) if forward else list(range(29, -1, -1))
    # DynamoDB reads the first 7 keys in order, then keeps the matching ones: Limit is counted before the filter
    assert first["ScannedCount"] == 7
    assert [i["SK"]["S"] for i in first["Items"]] == [f"INV#{n:03d}" for n in order[:7] if n % 3 == 0]
    assert first["LastEvaluatedKey"]["SK"]["S"] == f"INV#{order[6]:03d}"
    seen, start = [], None
    while True:
        response = page(start)
        seen += [i["SK"]["S"] for i in response["Items"]]
        start = response.get("LastEvaluatedKey")
        if start is None:
            break
    assert seen == [f"INV#{n:03d}" for n in order if n % 3 == 0]
