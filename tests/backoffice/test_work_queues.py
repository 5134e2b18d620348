"""Disputes and calls queues and the debtor page: who may read, who may act, and what acting changes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from relance.adapters.backoffice_store import BackOfficeStore
from relance.adapters.dynamo import task_item
from relance.adapters.dynamo_codec import to_dynamo
from relance.adapters.policies import load_packaged_policy
from relance.adapters.s3 import S3Documents
from relance.services.disputes import Attachment, DisputeRequest, open_dispute

from tests.backoffice.backoffice_world import FINANCE, FINANCE_2, VIEWER, csrf_token, today
from tests.backoffice.conftest import sign_in

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16
POLICY = load_packaged_policy("fr-b2b").default


@pytest.fixture
def store(world) -> BackOfficeStore:
    return BackOfficeStore(world.store.table_name)


@pytest.fixture
def case(world, store, stack):
    """A debtor with two overdue invoices, a dispute with a photo on the first, a call task due today."""
    debtor = world.seed_debtor("d-1", "Boulangerie Martin SARL")
    asked = DisputeRequest("F-d-1-1", "quality", "Abîmé", Attachment("photo.png", PNG))
    open_dispute("atelier", "d-1", asked, today(), datetime.now(UTC), store,
                 S3Documents(stack.physical["DocumentsBucket"]), POLICY, frozenset())
    task = task_item({"creditor_id": "atelier", "debtor_id": "d-1", "due_on": today().isoformat(), "kind": "call",
                      "step": "call", "invoices": ["F-d-1-2"]})
    store._client.put_item(TableName=store.table_name, Item=to_dynamo(task))
    return {"debtor": debtor, "task_key": task["SK"]}


def action_urls(case) -> list[str]:
    key = case["task_key"].replace("#", "%23")
    return ["/disputes/d-1/F-d-1-1/accept", "/disputes/d-1/F-d-1-1/reject", f"/calls/{key}/outcome",
            "/debtors/d-1/pause", "/debtors/d-1/resume", "/debtors/d-1/revoke-links"]


PAGES = ["/disputes", "/calls", "/debtors", "/debtors/d-1", "/disputes/d-1/F-d-1-1/attachment"]


@pytest.mark.parametrize("path", PAGES)
def test_signed_out_every_new_page_redirects_to_sign_in(client, case, path):
    response = client.get(path)

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("index", range(6))
def test_signed_out_every_new_action_redirects_to_sign_in(client, case, index):
    token = csrf_token(client.get("/sign-in").get_data(as_text=True))

    response = client.post(action_urls(case)[index], data={"csrf_token": token, "message": "x"})

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in?next=")


@pytest.mark.parametrize("index", range(6))
def test_a_viewer_is_refused_every_new_action(client, store, case, index):
    sign_in(client, VIEWER)
    token = csrf_token(client.get("/debtors/d-1").get_data(as_text=True))

    response = client.post(action_urls(case)[index], data={"csrf_token": token, "message": "Non.",
                                                           "until": "2099-01-01", "reason": "x"})

    assert response.status_code == 403
    assert store.find_dispute("atelier", "d-1", "F-d-1-1")["status"] == "open"


def test_a_viewer_reads_the_queues_and_the_debtor_page_without_any_action_button(client, case):
    sign_in(client, VIEWER)

    pages = [client.get(f"{path}?lang=en") for path in ("/disputes", "/calls", "/debtors/d-1")]

    assert all(page.status_code == 200 for page in pages)
    html = "".join(page.get_data(as_text=True) for page in pages)
    assert "Boulangerie Martin SARL" in html
    for url in action_urls(case):
        assert url not in html
    assert "<button type=\"submit\">" not in html.replace('class="button-secondary">', "")


@pytest.mark.parametrize("index", range(6))
def test_an_action_without_the_csrf_token_is_refused(client, case, index):
    sign_in(client, FINANCE)

    response = client.post(action_urls(case)[index], data={"message": "x"})

    assert response.status_code == 400


def post(client, page: str, url: str, **form: str):
    token = csrf_token(client.get(page).get_data(as_text=True))
    return client.post(url, data={**form, "csrf_token": token})


def test_the_disputes_queue_shows_the_dispute_and_serves_its_attachment_as_a_download(client, case):
    sign_in(client, FINANCE)

    page = client.get("/disputes?lang=en").get_data(as_text=True)
    download = client.get("/disputes/d-1/F-d-1-1/attachment")

    assert "F-d-1-1" in page and "Quality problem" in page and "Abîmé" in page
    assert download.status_code == 200
    assert download.headers["Content-Disposition"] == 'attachment; filename="photo.png"'
    assert download.get_data() == PNG


def test_finance_accepts_a_dispute_and_the_invoice_is_cancelled(client, store, case):
    sign_in(client, FINANCE)

    response = post(client, "/disputes", "/disputes/d-1/F-d-1-1/accept", credit="")

    assert response.status_code == 302
    invoice = store.find_invoice("atelier", "d-1", "F-d-1-1")
    assert invoice.is_settled() and not invoice.disputed and invoice.next_action_on is None
    assert store.find_dispute("atelier", "d-1", "F-d-1-1")["resolved_by"] == f"finance:{FINANCE}"
    assert "F-d-1-1" not in client.get("/disputes").get_data(as_text=True)


def test_a_credit_above_the_balance_is_refused_on_its_field(client, store, case):
    sign_in(client, FINANCE)
    client.get("/disputes?lang=en")

    response = post(client, "/disputes", "/disputes/d-1/F-d-1-1/accept", credit="99999")

    assert response.status_code == 400
    assert 'aria-describedby="credit-d-1-F-d-1-1-error"' in response.get_data(as_text=True)
    assert store.find_dispute("atelier", "d-1", "F-d-1-1")["status"] == "open"


def test_finance_rejects_a_dispute_with_a_message_and_dunning_resumes(client, store, case):
    sign_in(client, FINANCE)

    response = post(client, "/disputes", "/disputes/d-1/F-d-1-1/reject", message="Livraison conforme.")

    assert response.status_code == 302
    invoice = store.find_invoice("atelier", "d-1", "F-d-1-1")
    assert not invoice.disputed and invoice.next_action_on is not None


def test_a_rejection_without_a_message_is_refused(client, store, case):
    sign_in(client, FINANCE)
    client.get("/disputes?lang=en")

    response = post(client, "/disputes", "/disputes/d-1/F-d-1-1/reject", message=" ")

    assert response.status_code == 400
    assert "Write the message the debtor will read." in response.get_data(as_text=True)


def test_two_finance_users_resolving_at_once_the_second_is_told_it_is_resolved(app, store, case):
    first, second = app.test_client(), app.test_client()
    sign_in(first, FINANCE)
    sign_in(second, FINANCE_2)
    second.get("/disputes?lang=en")
    token = csrf_token(second.get("/disputes").get_data(as_text=True))

    accepted = post(first, "/disputes", "/disputes/d-1/F-d-1-1/accept", credit="")
    rejected = second.post("/disputes/d-1/F-d-1-1/reject", data={"message": "Non.", "csrf_token": token},
                           follow_redirects=True)

    assert accepted.status_code == 302
    assert "already resolved" in rejected.get_data(as_text=True)
    assert store.find_dispute("atelier", "d-1", "F-d-1-1")["status"] == "accepted"


def test_finance_records_a_call_with_a_promise_and_the_task_closes(client, store, case):
    sign_in(client, FINANCE)
    promised_on = today() + timedelta(days=7)
    url = f"/calls/{case['task_key'].replace('#', '%23')}/outcome"

    response = post(client, "/calls", url, outcome="promise", promised_on=promised_on.isoformat(), note="Virement")

    assert response.status_code == 302
    assert store.get_task("atelier", case["task_key"])["status"] == "done"
    assert store.find_invoice("atelier", "d-1", "F-d-1-2").promised_on == promised_on
    assert "Boulangerie" not in client.get("/calls").get_data(as_text=True)


def test_a_promise_without_a_date_is_refused_on_its_field(client, store, case):
    sign_in(client, FINANCE)
    client.get("/calls?lang=en")
    url = f"/calls/{case['task_key'].replace('#', '%23')}/outcome"

    response = post(client, "/calls", url, outcome="promise", promised_on="")

    assert response.status_code == 400
    assert "Enter the date the debtor promised to pay by." in response.get_data(as_text=True)
    assert store.get_task("atelier", case["task_key"])["status"] == "open"


def test_finance_pauses_then_resumes_and_the_timeline_says_so_newest_first(client, store, case):
    sign_in(client, FINANCE)
    client.get("/debtors?lang=en")
    until = today() + timedelta(days=20)

    paused = post(client, "/debtors/d-1", "/debtors/d-1/pause", until=until.isoformat(), reason="Litige global")
    resumed = post(client, "/debtors/d-1", "/debtors/d-1/resume")

    assert (paused.status_code, resumed.status_code) == (302, 302)
    page = client.get("/debtors/d-1").get_data(as_text=True)
    assert page.index("Dunning resumed.") < page.index("Dunning paused until")
    assert page.index("Dunning paused until") < page.index("The debtor disputed invoice F-d-1-1.")
    debtor, _invoices = store.dunning_view("atelier", "d-1")
    assert debtor.dunning_paused_until is None


def test_a_pause_with_bad_fields_names_both_problems(client, case):
    sign_in(client, FINANCE)
    client.get("/debtors?lang=en")

    response = post(client, "/debtors/d-1", "/debtors/d-1/pause", until="yesterday", reason="")

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'id="pause-until-error"' in page and 'id="pause-reason-error"' in page


def test_finance_revokes_the_portal_links(client, store, case):
    sign_in(client, FINANCE)
    before, _ = store.dunning_view("atelier", "d-1")

    response = post(client, "/debtors/d-1", "/debtors/d-1/revoke-links")

    assert response.status_code == 302
    after, _ = store.dunning_view("atelier", "d-1")
    assert after.link_version == before.link_version + 1


def test_the_debtor_search_finds_by_id_and_says_when_nothing_matches(client, case):
    sign_in(client, FINANCE)

    found = client.get("/debtors?q=d-1")
    missing = client.get("/debtors?q=nobody&lang=en")

    assert found.status_code == 302 and found.headers["Location"].endswith("/debtors/d-1")
    assert missing.status_code == 404 and "No debtor has this id or a name containing it." in missing.get_data(as_text=True)


def test_another_creditors_debtor_is_not_found(client, world, case):
    world.seed_debtor("x-1", "Ailleurs SA", creditor=__import__("tests.backoffice.backoffice_world",
                                                              fromlist=["OTHER_CREDITOR"]).OTHER_CREDITOR)
    sign_in(client, FINANCE)

    assert client.get("/debtors/x-1").status_code == 404
