"""Reading items back: the one-pass reader gives exactly what boto3's deserializer plus `plain` gave."""

from decimal import Decimal

from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from relance.adapters.dynamo_codec import from_dynamo, plain

scalars = st.one_of(
    st.text(max_size=20), st.integers(-10**15, 10**15), st.booleans(), st.none(),
    st.decimals(min_value=-10**9, max_value=10**9, allow_nan=False, allow_infinity=False, places=3),
    st.binary(max_size=8).map(Binary), st.frozensets(st.text(min_size=1, max_size=5), min_size=1, max_size=3),
)
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=6), inner, max_size=4)), max_leaves=15)


@given(st.dictionaries(st.text(min_size=1, max_size=6), values, max_size=6))
def test_the_one_pass_reader_equals_boto3s_deserializer_then_plain(item):
    serializer, deserializer = TypeSerializer(), TypeDeserializer()
    wire = {k: serializer.serialize(v) for k, v in item.items()}

    assert from_dynamo(wire) == {k: plain(deserializer.deserialize(v)) for k, v in wire.items()}


def test_numbers_come_back_as_whole_ints():
    wire = {"a": {"N": "12345"}, "b": {"N": "-7"}, "c": {"N": "1E+2"}, "d": {"N": "2.000"}}

    assert from_dynamo(wire) == {"a": 12345, "b": -7, "c": 100, "d": 2}
    assert all(type(v) is int for v in from_dynamo(wire).values())
    assert plain(Decimal("2.000")) == 2
