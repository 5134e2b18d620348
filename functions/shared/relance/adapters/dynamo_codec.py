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
    return {k: plain(_DESERIALIZER.deserialize(v)) for k, v in item.items()}
