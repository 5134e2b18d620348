"""PortalAccessStore on moto, and the in-memory fake the portal tests use, keep the same promises."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tests.portal.access_fakes import InMemoryAccess

from relance.adapters.links import issue_link
from relance.adapters.portal_access import PortalAccessStore
from relance.domain.access import CodeChallenge, CodeRefused, address_sha256, code_digest, token_sha256
from relance.domain.errors import LinkInvalid
from relance.domain.parties import Debtor
from relance.services.portal_access import check_code, open_link, revoke_links

NOW = datetime(2026, 11, 23, 9, 30, tzinfo=UTC)
DEBTOR = Debtor(creditor_id="cred-atelier", debtor_id="debtor-a", name="Boulangerie Dupont",
                emails=("Compta@Boulangerie-Dupont.example.fr", "direction@boulangerie-dupont.example.fr"))
SECRET = "store-tests-secret"


@pytest.fixture(params=["moto", "memory"])
def access(request):
    """The same checks on both stores; the debtor item exists in each."""
    if request.param == "memory":
        return InMemoryAccess({(DEBTOR.creditor_id, DEBTOR.debtor_id): DEBTOR})
    stack = request.getfixturevalue("stack")
    from relance.adapters.dynamo import DynamoStore

    DynamoStore(stack.physical["RelanceTable"]).put_debtor(DEBTOR)
    return PortalAccessStore(stack.physical["RelanceTable"])


def a_challenge(challenge_id: str = "challenge-1", sent_at: datetime = NOW, code: str = "123456") -> CodeChallenge:
    return CodeChallenge(DEBTOR.creditor_id, DEBTOR.debtor_id, challenge_id, code_digest(SECRET, challenge_id, code),
                         sent_at=sent_at, expires_at=sent_at + timedelta(minutes=10))


# Links


def test_a_stored_link_is_found_by_its_digest_only(access):
    issued = issue_link(DEBTOR, NOW, "https://portal.example")
    token = issued.url.rsplit("/", 1)[1]

    access.put_link(issued.item)

    found = access.find_link(token_sha256(token))
    assert (found.creditor_id, found.debtor_id, found.link_version) == ("cred-atelier", "debtor-a", 1)
    assert found.expires_at == NOW + timedelta(days=30)
    assert access.find_link(token_sha256(token + "x")) is None
    assert token not in str(issued.item)


def test_the_link_version_is_the_debtors_and_raising_it_is_audited(access):
    assert access.link_version("cred-atelier", "debtor-a") == 1
    assert access.link_version("cred-atelier", "nobody") is None

    assert revoke_links("cred-atelier", "debtor-a", "finance@acme", NOW, access) == 2

    assert access.link_version("cred-atelier", "debtor-a") == 2
    assert revoke_links("cred-atelier", "nobody", "finance@acme", NOW, access) is None


def test_a_link_opens_until_it_expires_or_is_revoked(access):
    issued = issue_link(DEBTOR, NOW, "https://portal.example")
    access.put_link(issued.item)
    token = issued.url.rsplit("/", 1)[1]

    opened = open_link(token, NOW + timedelta(days=29), access)

    assert opened.ref.debtor_id == "debtor-a"
    with pytest.raises(LinkInvalid):
        open_link(token, NOW + timedelta(days=30), access)
    revoke_links("cred-atelier", "debtor-a", "finance@acme", NOW, access)
    with pytest.raises(LinkInvalid):
        open_link(token, NOW + timedelta(days=1), access)


# One-time codes


def test_a_new_code_at_most_once_a_minute(access):
    assert access.put_code(a_challenge("first"), resend_after=NOW - timedelta(minutes=1))

    too_soon = access.put_code(a_challenge("second", NOW + timedelta(seconds=30)),
                               resend_after=NOW + timedelta(seconds=30) - timedelta(minutes=1))
    later = access.put_code(a_challenge("third", NOW + timedelta(seconds=61)),
                            resend_after=NOW + timedelta(seconds=1))

    assert not too_soon
    assert later
    assert access.find_code("cred-atelier", "debtor-a").challenge_id == "third"


def test_a_code_allows_five_guesses_in_all(access):
    access.put_code(a_challenge(), resend_after=NOW - timedelta(minutes=1))

    spent = [access.spend_code_attempt("cred-atelier", "debtor-a", "challenge-1", NOW, 5) for _ in range(7)]

    assert [c.attempts if c else None for c in spent] == [1, 2, 3, 4, 5, None, None]


def test_no_guess_against_another_expired_or_used_code(access):
    access.put_code(a_challenge(), resend_after=NOW - timedelta(minutes=1))

    assert access.spend_code_attempt("cred-atelier", "debtor-a", "someone-elses", NOW, 5) is None
    assert access.spend_code_attempt("cred-atelier", "debtor-a", "challenge-1", NOW + timedelta(minutes=10), 5) is None
    assert access.mark_code_used("cred-atelier", "debtor-a", "challenge-1", NOW)
    assert not access.mark_code_used("cred-atelier", "debtor-a", "challenge-1", NOW)
    assert access.spend_code_attempt("cred-atelier", "debtor-a", "challenge-1", NOW, 5) is None


def test_the_right_code_passes_once_and_wrong_codes_lock(access):
    ref = open_link_ref(access)
    access.put_code(a_challenge(code="424242"), resend_after=NOW - timedelta(minutes=1))

    with pytest.raises(CodeRefused) as wrong:
        check_code(ref, "challenge-1", "000000", NOW, SECRET, access)
    check_code(ref, "challenge-1", "424242", NOW, SECRET, access)
    with pytest.raises(CodeRefused) as replayed:
        check_code(ref, "challenge-1", "424242", NOW, SECRET, access)

    assert (wrong.value.reason, wrong.value.attempts_left) == ("wrong", 4)
    assert replayed.value.reason == "expired"


def test_five_wrong_codes_lock_even_the_right_one(access):
    ref = open_link_ref(access)
    access.put_code(a_challenge(code="424242"), resend_after=NOW - timedelta(minutes=1))
    reasons = []
    for _ in range(5):
        with pytest.raises(CodeRefused) as refused:
            check_code(ref, "challenge-1", "000000", NOW, SECRET, access)
        reasons.append(refused.value.reason)

    with pytest.raises(CodeRefused) as locked:
        check_code(ref, "challenge-1", "424242", NOW, SECRET, access)

    assert reasons == ["wrong"] * 4 + ["locked"]
    assert locked.value.reason == "locked"


def open_link_ref(access):
    issued = issue_link(DEBTOR, NOW, "https://portal.example")
    access.put_link(issued.item)
    return open_link(issued.url.rsplit("/", 1)[1], NOW, access).ref


# E-mail index


def test_debtors_are_found_by_address_whatever_its_case(access):
    access.put_email_index(DEBTOR)

    found = access.debtors_by_address(address_sha256(" compta@boulangerie-dupont.EXAMPLE.fr"))

    assert found == [("cred-atelier", "debtor-a")]
    assert access.debtors_by_address(address_sha256("someone@example.org")) == []


# Request counters


def test_a_counter_stops_at_its_limit_within_its_window(access):
    hour = datetime(2026, 11, 23, 9, tzinfo=UTC)
    counted = [access.count_request("NEWLINK_ADDRESS", "digest", hour, hour + timedelta(hours=1), 3)
               for _ in range(4)]

    next_hour = access.count_request("NEWLINK_ADDRESS", "digest", hour + timedelta(hours=1),
                                     hour + timedelta(hours=2), 3)
    other = access.count_request("NEWLINK_ADDRESS", "other", hour, hour + timedelta(hours=1), 3)

    assert counted == [True, True, True, False]
    assert next_hour and other


# The table behind it


def test_the_table_deletes_expired_access_items_by_ttl(stack):
    from relance.adapters.aws import client

    described = client("dynamodb").describe_time_to_live(TableName=stack.physical["RelanceTable"])

    assert described["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    assert described["TimeToLiveDescription"]["AttributeName"] == "expires_epoch"


def test_revocation_is_in_the_debtors_audit_trail(stack):
    from relance.adapters.dynamo import DynamoStore

    table = stack.physical["RelanceTable"]
    DynamoStore(table).put_debtor(DEBTOR)

    revoke_links("cred-atelier", "debtor-a", "finance@acme", NOW, PortalAccessStore(table))

    [event] = DynamoStore(table).audit_of("cred-atelier", "debtor-a")
    assert (event["action"], event["actor"]) == ("links_revoked", "finance@acme")
    assert (event["link_version_from"], event["link_version_to"]) == (1, 2)


def test_the_access_items_stay_out_of_the_debtors_account(stack):
    from relance.adapters.dynamo import DynamoStore

    table = stack.physical["RelanceTable"]
    store = DynamoStore(table)
    store.put_debtor(DEBTOR)
    access = PortalAccessStore(table)
    access.put_code(a_challenge(), resend_after=NOW - timedelta(minutes=1))

    debtor, invoices = store.debtor_with_invoices("cred-atelier", "debtor-a")

    assert debtor.debtor_id == "debtor-a"
    assert invoices == []
