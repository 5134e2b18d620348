"""Finance finds a debtor by part of their name, ignoring case and accents; never another creditor's."""

from __future__ import annotations

from tests.backoffice.backoffice_world import FINANCE, OTHER_CREDITOR
from tests.backoffice.conftest import sign_in


def test_part_of_a_name_with_other_accents_and_case_finds_the_debtor(client, world):
    world.seed_debtor("d-1", "Crèmerie Émile SARL")
    world.seed_debtor("d-2", "Boulangerie Martin")
    world.seed_debtor("x-1", "Crèmerie Émile Voisine", creditor=OTHER_CREDITOR)
    sign_in(client, FINANCE)

    response = client.get("/debtors?q=CREMERIE emile&lang=en")

    page = response.get_data(as_text=True)
    assert response.status_code == 200
    assert 'href="/debtors/d-1"' in page
    assert "d-2" not in page and "x-1" not in page and "Voisine" not in page


def test_an_exact_id_still_goes_to_the_debtor(client, world):
    world.seed_debtor("d-1", "Crèmerie Émile SARL")
    sign_in(client, FINANCE)

    response = client.get("/debtors?q=d-1")

    assert response.status_code == 302 and response.headers["Location"].endswith("/debtors/d-1")


def test_no_match_is_a_404_with_the_error_on_the_field(client, world):
    world.seed_debtor("x-1", "Crèmerie Émile", creditor=OTHER_CREDITOR)
    sign_in(client, FINANCE)

    response = client.get("/debtors?q=emile&lang=en")

    assert response.status_code == 404 and 'aria-describedby="q-error"' in response.get_data(as_text=True)
