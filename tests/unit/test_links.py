import time

import pytest

from relance.adapters.links import DebtorRef, make_link_token, read_link_token
from relance.domain.errors import LinkExpired, LinkInvalid

REF = DebtorRef("acme", "siren-000144519", 3)


def test_a_fresh_link_names_its_debtor():
    assert read_link_token("secret", make_link_token("secret", REF)) == REF


def test_an_expired_link_still_names_its_debtor_so_a_new_one_can_go_to_the_address_on_record():
    token = make_link_token("secret", REF)
    time.sleep(1.1)

    with pytest.raises(LinkExpired) as expired:
        read_link_token("secret", token, max_age_days=0)

    assert expired.value.params["ref"] == REF


def test_a_link_signed_with_another_key_is_refused():
    with pytest.raises(LinkInvalid):
        read_link_token("secret", make_link_token("other", REF))


def test_a_tampered_link_is_refused():
    token = make_link_token("secret", REF)
    tampered = token[:10] + ("A" if token[10] != "A" else "B") + token[11:]

    with pytest.raises(LinkInvalid):
        read_link_token("secret", tampered)
