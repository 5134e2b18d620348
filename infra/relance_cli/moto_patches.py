"""Two moto quirks that cost minutes, mended for the tests and the demo without changing what moto checks.

moto 5.2's `transact_write_items` deep-copies the whole table once **per item** of the
transaction, to roll back on failure: recording one reminder on the 700-item fixture table copied
about 3,500 items. Here the backup holds only the items the transaction touches, and a failed
transaction puts exactly those back. `tests/integration/test_moto_patches.py` proves a cancelled
transaction still leaves nothing behind.

moto's Query also sorts every item of the table before keeping one partition's; here it looks
only at the items of the queried partition (of the table or of an index), then filters and
orders them exactly as before.

moto's response serializer looks up every member of every `AttributeValue` shape (S, N, B, M, L, ...)
under several aliases, for every attribute value of every item: reading one item whose map holds
200 entries took 20 ms. Here an `AttributeValue` that is already a plain dict of wire keys is
serialized from the keys it has, which yields the same output (the absent members were skipped
anyway); `tests/integration/test_moto_patches.py` compares both serializers on every value type.

moto also remembers every DynamoDB item object it ever built (for its dashboard), so a long demo
grows without bound and `/moto-api/data.json`, where the outbox reads the mails, takes tens of
seconds. `forget_dynamodb_items()` stops that bookkeeping for items only.
"""

from __future__ import annotations

import copy
from typing import Any

import moto.dynamodb.models as dynamodb_models
from moto.dynamodb.models.dynamo_type import DynamoType

_ORIGINAL = dynamodb_models.DynamoDBBackend.transact_write_items


class _NoTableCopy:
    """Stands in for the `copy` module inside one transaction: moto's whole-table backup is skipped."""

    @staticmethod
    def deepcopy(obj: Any, memo: Any = None) -> Any:
        if isinstance(obj, dynamodb_models.Table):
            return obj  # moto's rollback then re-assigns the same table; ours restores the items
        return copy.deepcopy(obj, memo)


def _touched_items(backend: Any, transact_items: list[dict[str, Any]]) -> list[tuple[Any, Any, Any, Any]]:
    snapshot = []
    for entry in transact_items:
        operation, params = next(iter(entry.items()))
        table = backend.tables.get(params.get("TableName"))
        if table is None:
            continue
        key = params["Item"] if operation == "Put" else params["Key"]
        hash_value = DynamoType(key[table.hash_key_attr])
        range_value = DynamoType(key[table.range_key_attr]) if table.range_key_attr else None
        item = table.get_item(hash_value, range_value)
        snapshot.append((table, hash_value, range_value, copy.deepcopy(item.to_json()["Attributes"]) if item else None))
    return snapshot


def _transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
    snapshot = _touched_items(self, transact_items)
    # moto writes the items one by one and adds a stream record for each; DynamoDB's stream shows only
    # committed writes, so a cancelled transaction must leave no record (nor the rollback's own records).
    streams = {id(table): (table.stream_shard, len(table.stream_shard.items))
               for table, *_ in snapshot if table.stream_shard is not None}
    dynamodb_models.copy = _NoTableCopy  # type: ignore[assignment]
    try:
        return _ORIGINAL(self, transact_items)
    except Exception:
        for table, hash_value, range_value, before in snapshot:
            if before is None:
                if table.get_item(hash_value, range_value) is not None:
                    table.delete_item(hash_value, range_value)
            else:
                table.put_item(before)
        for shard, length in streams.values():
            del shard.items[length:]
        raise
    finally:
        dynamodb_models.copy = copy  # type: ignore[assignment]


class _Forgetful(list):
    """An `instances_tracked` list that keeps nothing."""

    def append(self, _instance: Any) -> None:
        return None


def forget_dynamodb_items() -> None:
    """Stop moto from keeping every DynamoDB item object for its dashboard."""
    from moto.dynamodb.models.dynamo_type import Item

    Item.instances_tracked = _Forgetful()  # type: ignore[attr-defined]


_ORIGINAL_QUERY = dynamodb_models.Table.query


def _partition_query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
    index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
    if hash_key is None or not self.range_key_attr:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    if index_name is None:
        candidates = list(self.items.get(hash_key, {}).values())
        range_comparison = kwargs.get("range_comparison", args[0] if args else None)
        range_objs = kwargs.get("range_objs", args[1] if len(args) > 1 else [])
        if range_comparison:  # DynamoDB reads only the sort-key range; moto checks the same condition again
            candidates = _in_range(candidates, range_comparison, range_objs)
        limit = kwargs.get("limit", args[2] if len(args) > 2 else None)
        start_key = kwargs.get("exclusive_start_key", args[3] if len(args) > 3 else None)
        forward = kwargs.get("scan_index_forward", args[4] if len(args) > 4 else True)
        if limit and not start_key and len(candidates) > limit + 1:
            # DynamoDB reads `Limit` items in key order and stops; one more keeps moto's LastEvaluatedKey
            candidates = _sorted_by_range(candidates)
            candidates = candidates[:limit + 1] if forward is not False else candidates[-(limit + 1):]
    else:  # keep only the items of the index partition; moto still filters and sorts them as before
        index = next((i for i in self.all_indexes() if i.name == index_name), None)
        hash_keys = [k["AttributeName"] for k in index.schema if k["KeyType"] == "HASH"] if index else []
        if len(hash_keys) != 1:
            return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
        wanted = (hash_key.type, hash_key.value)  # compared raw: moto's typed equality costs more per item
        candidates = [item for partition in self.items.values() for item in partition.values()
                      if (value := item.attrs.get(hash_keys[0])) is not None and (value.type, value.value) == wanted]
    everything = self.all_items
    self.all_items = lambda: _sorted_by_range(candidates)  # type: ignore[method-assign]
    try:
        return _ORIGINAL_QUERY(self, hash_key, *args, **kwargs)
    finally:
        self.all_items = everything  # type: ignore[method-assign]


_STRING_TESTS = {
    "EQ": lambda v, o: v == o[0], "LT": lambda v, o: v < o[0], "LE": lambda v, o: v <= o[0],
    "GT": lambda v, o: v > o[0], "GE": lambda v, o: v >= o[0], "BETWEEN": lambda v, o: o[0] <= v <= o[1],
    "BEGINS_WITH": lambda v, o: v.startswith(o[0]),
}
_STRING_TESTS.update({"=": _STRING_TESTS["EQ"], "<": _STRING_TESTS["LT"], "<=": _STRING_TESTS["LE"],
                      ">": _STRING_TESTS["GT"], ">=": _STRING_TESTS["GE"]})


def _in_range(items: list[Any], comparison: str, objs: list[Any]) -> list[Any]:
    """The items whose sort key meets the condition. String keys are compared as Python strings
    (code-point order is UTF-8 byte order, DynamoDB's), which spares moto's typed comparison per item."""
    test = _STRING_TESTS.get(comparison)  # moto's names, as in moto.dynamodb.comparisons
    if test is None or any(o.type != "S" for o in objs) or any(i.range_key.type != "S" for i in items):
        return [item for item in items if item.range_key.compare(comparison, objs)]
    operands = [o.value for o in objs]
    return [item for item in items if test(item.range_key.value, operands)]


def _sorted_by_range(items: list[Any]) -> list[Any]:
    """One partition's items in sort-key order (by the raw strings when every key is a string)."""
    if all(item.hash_key.type == "S" and item.range_key.type == "S" for item in items):
        return sorted(items, key=lambda item: (item.hash_key.value, item.range_key.value))
    return sorted(items, key=lambda item: (item.hash_key, item.range_key))


_ORIGINAL_STRUCTURE = None


def _serialize_type_structure(self: Any, serialized: Any, value: Any, shape: Any, key: str) -> None:
    if not (shape.name == "AttributeValue" and type(value) is dict and all(name in shape.members for name in value)):
        return _ORIGINAL_STRUCTURE(self, serialized, value, shape, key)
    if len(value) == 1 and type(value.get("S", value.get("N"))) is str:
        # a string or number is already in wire form, {"S": "..."}: what moto's member serializer builds
        if not key:
            serialized.update(value)
            return None
        return self._default_serialize(serialized, dict(value), shape, key)
    wrapper = self.MAP_TYPE() if key else serialized
    for member_key in value:  # moto's own member serializer, for the members the value has
        member_shape = shape.members[member_key]
        member_shape.parent = shape
        self._serialize_structure_member(wrapper, value, member_shape, member_key)
    if key:
        self._default_serialize(serialized, wrapper, shape, key)
    return None


def apply() -> None:
    global _ORIGINAL_STRUCTURE
    from moto.core import serialize

    if _ORIGINAL_STRUCTURE is None:
        _ORIGINAL_STRUCTURE = serialize.ResponseSerializer._serialize_type_structure
        serialize.ResponseSerializer._serialize_type_structure = _serialize_type_structure  # type: ignore[method-assign]
    dynamodb_models.DynamoDBBackend.transact_write_items = _transact_write_items  # type: ignore[method-assign]
    dynamodb_models.Table.query = _partition_query  # type: ignore[method-assign]
