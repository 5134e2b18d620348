"""The admin group's pages: the creditor's users and its dunning policy; everyone else gets 403."""

from __future__ import annotations

from pathlib import Path

import pytest
from relance.adapters.cognito import add_user
from relance.adapters.cognito_users import CognitoUsers
from relance.adapters.policy_store import PolicyStore

from tests.backoffice.backoffice_world import CREDITOR, FINANCE, OTHER_CREDITOR, OUTSIDER, PASSWORD, VIEWER, csrf_token
from tests.backoffice.conftest import sign_in

ADMIN = "ines@atelier.example"
FR_B2B = Path(__file__).resolve().parents[2] / "functions/shared/relance/data/policies/fr-b2b.yaml"
ADMIN_PAGES = [("get", "/admin/users"), ("post", "/admin/users"), ("post", f"/admin/users/{VIEWER}/group"),
               ("post", f"/admin/users/{VIEWER}/disable"), ("get", "/admin/policy"), ("post", "/admin/policy")]


@pytest.fixture
def admin(world, client):
    add_user(world.pool_id, ADMIN, "admin", CREDITOR.creditor_id, PASSWORD)
    sign_in(client, ADMIN)
    return client


def _token(client, path: str = "/admin/users") -> str:
    return csrf_token(client.get(path).get_data(as_text=True))


def _user(world, username):
    return CognitoUsers(world.pool_id).user(username)


def test_admin_lists_the_creditors_users_only(admin):
    page = admin.get("/admin/users?lang=en").get_data(as_text=True)

    assert FINANCE in page and VIEWER in page and ADMIN in page
    assert OUTSIDER not in page


def test_admin_adds_a_user_of_their_creditor(admin, world):
    response = admin.post("/admin/users", data={"email": "Hugo@Atelier.example", "group": "finance",
                                                "csrf_token": _token(admin)})

    assert response.status_code == 302
    added = _user(world, "hugo@atelier.example")
    assert added.groups == ("finance",) and added.creditor_id == CREDITOR.creditor_id
    assert added.status == "FORCE_CHANGE_PASSWORD"


def test_a_bad_address_is_refused_with_its_error_linked_to_the_field(admin, world):
    response = admin.post("/admin/users?lang=en", data={"email": "not-an-address", "group": "finance",
                                                        "csrf_token": _token(admin)})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'aria-describedby="add-email-error"' in page and 'id="add-email-error"' in page
    assert _user(world, "not-an-address") is None


def test_admin_changes_a_users_group(admin, world):
    response = admin.post(f"/admin/users/{VIEWER}/group", data={"group": "finance", "csrf_token": _token(admin)})

    assert response.status_code == 302
    assert _user(world, VIEWER).groups == ("finance",)


def test_admin_disables_a_user(admin, world):
    response = admin.post(f"/admin/users/{FINANCE}/disable", data={"csrf_token": _token(admin)})

    assert response.status_code == 302
    assert _user(world, FINANCE).is_enabled is False


def test_admin_cannot_disable_themselves(admin, world):
    admin.post(f"/admin/users/{ADMIN}/disable", data={"csrf_token": _token(admin)})

    assert _user(world, ADMIN).is_enabled is True


@pytest.mark.parametrize("action", ["group", "disable"])
def test_another_creditors_user_is_not_found_and_unchanged(admin, world, action):
    response = admin.post(f"/admin/users/{OUTSIDER}/{action}", data={"group": "viewer", "csrf_token": _token(admin)})

    assert response.status_code == 404
    outsider = _user(world, OUTSIDER)
    assert outsider.groups == ("finance",) and outsider.is_enabled


@pytest.mark.parametrize("member", [FINANCE, VIEWER])
@pytest.mark.parametrize(("method", "path"), ADMIN_PAGES)
def test_finance_and_viewer_get_403_on_every_admin_page(client, world, member, method, path):
    sign_in(client, member)
    token = csrf_token(client.get("/debtors").get_data(as_text=True))

    response = getattr(client, method)(path, data={"csrf_token": token, "group": "admin"} if method == "post" else None)

    assert response.status_code == 403
    assert _user(world, VIEWER).groups == ("viewer",)


@pytest.mark.parametrize("path", ["/admin/users", "/admin/policy"])
def test_signed_out_admin_pages_redirect_to_sign_in(client, world, path):
    response = client.get(path)

    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in?next=")


def test_the_admin_nav_shows_for_admins_only(admin, client, world):
    assert 'href="/admin/policy"' in admin.get("/debtors").get_data(as_text=True)
    admin.post("/sign-out", data={"csrf_token": _token(admin, "/debtors")})
    sign_in(client, FINANCE)
    assert 'href="/admin/policy"' not in client.get("/debtors").get_data(as_text=True)


def test_the_policy_page_shows_the_packaged_ladders(admin):
    page = admin.get("/admin/policy?lang=en").get_data(as_text=True)

    assert "fr-b2b" in page and "reminder_friendly" in page and "J+1" in page


def test_a_bad_policy_shows_its_problems_by_path_and_saves_nothing(admin, world):
    bad = FR_B2B.read_text(encoding="utf-8").replace("offset_days: 1\n", "offset_days: tomorrow\n", 1)

    response = admin.post("/admin/policy?lang=en", data={"document": bad, "csrf_token": _token(admin, "/admin/policy")})

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "steps[1].offset_days" in page and 'aria-describedby="policy-problems"' in page
    assert PolicyStore(world.store.table_name).current(CREDITOR.creditor_id) is None


def test_a_good_policy_uploaded_as_a_file_becomes_the_version_in_force(admin, world):
    from io import BytesIO

    good = FR_B2B.read_text(encoding="utf-8").replace("promise_grace_days: 3 ", "promise_grace_days: 4 ", 1)

    response = admin.post("/admin/policy", data={"file": (BytesIO(good.encode()), "atelier.yaml"),
                                                 "csrf_token": _token(admin, "/admin/policy")},
                          content_type="multipart/form-data")

    assert response.status_code == 302
    current = PolicyStore(world.store.table_name).current(CREDITOR.creditor_id)
    assert current.version == 1 and current.book.default.promise_grace_days == 4
    assert PolicyStore(world.store.table_name).current(OTHER_CREDITOR.creditor_id) is None
    assert "version 1" in admin.get("/admin/policy?lang=en").get_data(as_text=True)
