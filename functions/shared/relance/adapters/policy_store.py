"""A creditor's own dunning policy in the table: numbered versions that are never rewritten, and a pointer.

Items, in the one table (keys from adapters/keys.py):

    PK = CRED#<c>#POLICY   SK = V#000001, V#000002…   one per version set, never changed afterwards
    PK = CRED#<c>#POLICY   SK = CURRENT               the version in force, with a copy of its document

A new version and the pointer are written in one transaction, the pointer conditional on the version
read before: two operators setting a policy at the same moment never share a number, the loser reads
again and takes the next one. The pointer carries the document so that the worker reads one item.

The document is stored as canonical JSON (relance.domain.policy_documents.policy_to_document, keys
sorted), so its checksum names what the policy says, whatever the layout of the file it came from.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from relance.adapters import keys
from relance.adapters.aws import client
from relance.adapters.policies import read_json
from relance.domain.policy import PolicyBook

MAX_ATTEMPTS = 5


class PolicyConflict(Exception):
    """Other writers kept setting this creditor's policy while we tried; nothing of ours was stored."""


@dataclass(frozen=True, slots=True)
class StoredPolicy:
    """One version of a creditor's policy, as set."""

    creditor_id: str
    version: int
    document: str  # canonical JSON of the policy document
    checksum: str  # "sha256:<hex>" of `document`
    set_at: datetime
    source: str  # the file it was set from, for the record

    @property
    def book(self) -> PolicyBook:
        return book_of(self.document)

    @property
    def policy_id(self) -> str:
        return self.book.default.policy_id


@dataclass(frozen=True, slots=True)
class SetResult:
    """The version in force after a `set`, and whether this `set` stored it."""

    stored: StoredPolicy
    changed: bool  # False: the document was already the version in force, nothing was written


def canonical_document(book: PolicyBook) -> str:
    """The policy as canonical JSON: the same policy always gives the same text, hence the same checksum."""
    # The parser brings the plan and alert rules it validates: the first policy read or set loads it, not the
    # import of every handler that wires a policy store (the dunning worker's cold start).
    from relance.domain.policy_documents import policy_to_document

    return json.dumps(policy_to_document(book), sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def checksum_of(document: str) -> str:
    return "sha256:" + hashlib.sha256(document.encode()).hexdigest()


@functools.lru_cache(maxsize=64)
def book_of(document: str) -> PolicyBook:
    """The policy book of a stored document, validated again (a stored version is read far more than set)."""
    from relance.domain.policy_documents import load_policy_book  # as in canonical_document

    return load_policy_book(read_json(document, "stored policy"))


class PolicyStore:
    """Reads and appends the versions of creditors' own policies."""

    def __init__(self, table_name: str, dynamodb: Any | None = None) -> None:
        self.table_name = table_name
        self._client = dynamodb or client("dynamodb")

    def current(self, creditor_id: str) -> StoredPolicy | None:
        """The version in force, or None when the creditor has never set a policy of its own (one read)."""
        return self._get(keys.policy_current_key(creditor_id))

    def version(self, creditor_id: str, version: int) -> StoredPolicy | None:
        return self._get(keys.policy_version_key(creditor_id, version))

    def versions(self, creditor_id: str) -> list[StoredPolicy]:
        """Every version set, oldest first."""
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "PK = :pk AND begins_with(SK, :versions)",
            "ExpressionAttributeValues": {":pk": {"S": keys.policy_pk(creditor_id)}, ":versions": {"S": "V#"}},
        }
        while True:
            page = self._client.query(**kwargs)
            items.extend(page["Items"])
            if "LastEvaluatedKey" not in page:
                return [_stored_from(item) for item in items]
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def set(self, creditor_id: str, book: PolicyBook, now: datetime, source: str) -> SetResult:
        """Store `book` as the creditor's next version, unless it already is the version in force."""
        document = canonical_document(book)
        checksum = checksum_of(document)
        for _attempt in range(MAX_ATTEMPTS):
            current = self.current(creditor_id)
            if current is not None and current.checksum == checksum:
                return SetResult(current, changed=False)
            stored = StoredPolicy(creditor_id, (current.version if current else 0) + 1, document, checksum, now,
                                  source)
            if self._append(stored, previous=current.version if current else None):
                return SetResult(stored, changed=True)
        raise PolicyConflict(f"the policy of {creditor_id!r} kept changing while we set it; try again")

    def _append(self, stored: StoredPolicy, previous: int | None) -> bool:
        """Write the version and move the pointer to it, both or neither; False if another writer came first."""
        pointer_condition: dict[str, Any] = (
            {"ConditionExpression": "attribute_not_exists(PK)"} if previous is None else {
                "ConditionExpression": "version = :previous",
                "ExpressionAttributeValues": {":previous": {"N": str(previous)}},
            }
        )
        try:
            self._client.transact_write_items(TransactItems=[
                {"Put": {"TableName": self.table_name, "ConditionExpression": "attribute_not_exists(PK)",
                         "Item": _item(keys.policy_version_key(stored.creditor_id, stored.version), stored)}},
                {"Put": {"TableName": self.table_name,
                         "Item": _item(keys.policy_current_key(stored.creditor_id), stored), **pointer_condition}},
            ])
        except self._client.exceptions.TransactionCanceledException:
            return False
        return True

    def _get(self, key: dict[str, str]) -> StoredPolicy | None:
        response = self._client.get_item(TableName=self.table_name, ConsistentRead=True,
                                         Key={name: {"S": value} for name, value in key.items()})
        item = response.get("Item")
        return _stored_from(item) if item else None


def _item(key: dict[str, str], stored: StoredPolicy) -> dict[str, Any]:
    return {
        **{name: {"S": value} for name, value in key.items()},
        "entity": {"S": "policy_version" if key["SK"] != keys.POLICY_CURRENT_SK else "policy_current"},
        "creditor_id": {"S": stored.creditor_id},
        "version": {"N": str(stored.version)},
        "policy_id": {"S": stored.policy_id},
        "document": {"S": stored.document},
        "checksum": {"S": stored.checksum},
        "set_at": {"S": stored.set_at.isoformat()},
        "source": {"S": stored.source},
    }


def _stored_from(item: dict[str, Any]) -> StoredPolicy:
    return StoredPolicy(
        creditor_id=item["creditor_id"]["S"],
        version=int(item["version"]["N"]),
        document=item["document"]["S"],
        checksum=item["checksum"]["S"],
        set_at=datetime.fromisoformat(item["set_at"]["S"]),
        source=item["source"]["S"],
    )
