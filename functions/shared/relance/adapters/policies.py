"""Reads policy documents, packaged (relance/data/policies/<id>.yaml) or an operator's file, into PolicyBooks.

The validation itself is pure (relance.domain.policy_documents); this module only reads text and
turns YAML or JSON syntax errors into InvalidPolicy problems that carry the line number.
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Hashable
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from relance.domain.errors import InvalidPolicy, UnknownPolicy
from relance.domain.policy import PolicyBook

if TYPE_CHECKING:
    import yaml

_PACKAGED_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,59}")
_YAML_SUFFIXES = (".yaml", ".yml")
_JSON_SUFFIXES = (".json",)


def packaged_policy_ids() -> tuple[str, ...]:
    """The ids of the policies shipped with Relance, sorted."""
    folder = resources.files("relance").joinpath("data", "policies")
    return tuple(
        sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml"))
    )


@functools.cache
def load_packaged_policy(policy_id: str) -> PolicyBook:
    """The packaged policy book `policy_id` (e.g. "fr-b2b"); read and validated once per process."""
    if not _PACKAGED_ID.fullmatch(policy_id) or policy_id not in packaged_policy_ids():
        raise UnknownPolicy(
            f"no packaged policy {policy_id!r}; packaged policies: {', '.join(packaged_policy_ids())}",
            policy_id=policy_id,
        )
    origin = f"relance/data/policies/{policy_id}.yaml"
    text = (
        resources.files("relance")
        .joinpath("data", "policies", f"{policy_id}.yaml")
        .read_text(encoding="utf-8")
    )
    book = _load(read_yaml(text, origin), origin)
    if book.default.policy_id != policy_id:
        raise InvalidPolicy(
            [
                (
                    "policy_id",
                    f"the file {policy_id}.yaml must hold the policy {policy_id!r}, "
                    f"got {book.default.policy_id!r}",
                )
            ],
            source=origin,
        )
    return book


def load_policy_file(path: str | Path) -> PolicyBook:
    """The policy book in an operator's file, YAML (.yaml, .yml) or JSON (.json) by its extension."""
    path = Path(path)
    origin = str(path)
    suffix = path.suffix.lower()
    if suffix not in _YAML_SUFFIXES + _JSON_SUFFIXES:
        raise InvalidPolicy(
            [("(file)", f"expected a .yaml, .yml or .json file, got {path.name!r}")], source=origin
        )
    text = path.read_text(encoding="utf-8")
    document = read_yaml(text, origin) if suffix in _YAML_SUFFIXES else read_json(text, origin)
    return _load(document, origin)


def load_policy_text(text: str, origin: str) -> PolicyBook:
    """The policy book in a document sent as text (the back office's upload): JSON if it opens with `{`,
    else YAML; InvalidPolicy lists every problem by path."""
    is_json = text.lstrip().startswith("{") or origin.lower().endswith(_JSON_SUFFIXES)
    return _load(read_json(text, origin) if is_json else read_yaml(text, origin), origin)


def read_yaml(text: str, origin: str) -> Any:
    """The YAML document in `text`; a syntax error or a repeated key becomes InvalidPolicy naming the line."""
    import yaml  # slow to import: paid by the first policy read, not by every handler's cold start

    try:
        return yaml.load(text, Loader=_strict_loader())  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "(file)"
        detail = " ".join(part for part in (exc.context, exc.problem) if part)
        raise InvalidPolicy([(where, f"not valid YAML: {detail}")], source=origin) from exc
    except yaml.YAMLError as exc:
        raise InvalidPolicy([("(file)", f"not valid YAML: {exc}")], source=origin) from exc


def read_json(text: str, origin: str) -> Any:
    """The JSON document in `text`, decimals exact; bad syntax or a repeated key becomes InvalidPolicy."""
    try:
        return json.loads(text, parse_float=Decimal, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as exc:
        raise InvalidPolicy(
            [(f"line {exc.lineno}, column {exc.colno}", f"not valid JSON: {exc.msg}")], source=origin
        ) from exc
    except _RepeatedKey as exc:
        raise InvalidPolicy(
            [
                (
                    "(file)",
                    f"the key {exc.key!r} appears twice in one object; the second would "
                    f"silently replace the first",
                )
            ],
            source=origin,
        ) from exc


def _load(document: Any, origin: str) -> PolicyBook:
    from relance.domain.policy_documents import load_policy_book  # as yaml: loaded by the first policy read

    try:
        return load_policy_book(document)
    except InvalidPolicy as exc:
        raise InvalidPolicy(exc.problems, source=origin) from None


@functools.cache
def _strict_loader() -> type[yaml.SafeLoader]:
    """SafeLoader that refuses a key repeated in one mapping, which plain YAML loaders silently overwrite."""
    import yaml

    class StrictLoader(yaml.SafeLoader):
        def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
            seen: set[Any] = set()
            for key_node, _value_node in node.value:
                if key_node.tag == "tag:yaml.org,2002:merge":
                    continue  # `<<: *anchor` merges; the keys written next to it may override the merged ones
                key = self.construct_object(key_node, deep=deep)
                if not isinstance(key, Hashable):
                    continue  # SafeLoader itself reports an unhashable key
                if key in seen:
                    raise yaml.constructor.ConstructorError(
                        "while reading a mapping",
                        node.start_mark,
                        f"the key {key!r} appears twice; the second would silently replace the first",
                        key_node.start_mark,
                    )
                seen.add(key)
            return super().construct_mapping(node, deep=deep)

    return StrictLoader


class _RepeatedKey(Exception):
    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _RepeatedKey(key)
        result[key] = value
    return result
