"""Plain Python items to DynamoDB's attribute values and back, for every adapter on the table."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

_SERIALIZER = TypeSerializer()
_DESERIALIZER = TypeDeserializer()


def to_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    """Attribute values of `item`; a None value is left out (an absent attribute, never a NULL)."""
    return {k: _SERIALIZER.serialize(v) for k, v in item.items() if v is not None}


def plain(value: Any) -> Any:
    """DynamoDB numbers back as ints (we store whole minor units and counts only), at any depth."""
    if isinstance(value, Decimal):
        return int(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


def from_dynamo(item: dict[str, Any]) -> dict[str, Any]:
    """Plain Python values of an item: what `plain(TypeDeserializer().deserialize(v))` gives, in one pass
    (a debtor item holds one string per open invoice: this runs once per line on every page view)."""
    return {k: _plain_value(v) for k, v in item.items()}


def _plain_value(value: dict[str, Any]) -> Any:
    if "S" in value:
        return value["S"]
    if "N" in value:
        number = value["N"]
        return int(number) if number.lstrip("-").isdigit() else int(Decimal(number))
    if "M" in value:
        return {k: _plain_value(v) for k, v in value["M"].items()}
    if "L" in value:
        return [_plain_value(v) for v in value["L"]]
    if "BOOL" in value:
        return value["BOOL"]
    return plain(_DESERIALIZER.deserialize(value))  # NULL, binary and sets: boto3's own reading
