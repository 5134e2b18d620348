"""The administrator's pages, the first sign-in of an invited person and the search by name, in a real
browser, in French and in English. An admin invites a person, changes their group, disables them; uploads
a broken policy (its problems are listed by path, nothing is saved) then a good one (a new version in
force). An invited person signs in with the temporary password and must choose their own. Finance finds a
debtor by part of the name. Every page, errors shown included, passes axe-core (no serious or critical
violation).

This module has its own stack (`stack_with_apps` is per module): the policy it saves reaches no other
journey."""

from __future__ import annotations

import os
import re
from importlib import resources

import pytest
from playwright.sync_api import Page, expect
from relance.adapters.aws import client
from relance.adapters.cognito import CREDITOR_ATTRIBUTE, add_user
from relance.adapters.policy_store import PolicyStore

from tests.e2e.axe import assert_accessible
from tests.e2e.live_backoffice import FINANCE, PASSWORD, LiveBackOffice, bo_words
from tests.e2e.live_portal import CREDITOR, DEBTOR_NAMES

pytestmark = pytest.mark.browser

LANGUAGES = ("fr", "en")
PACKAGED_POLICY = resources.files("relance").joinpath("data", "policies", "fr-b2b.yaml")


def pool_id() -> str:
    return os.environ["RELANCE_COGNITO_USER_POOL_ID"]


def sign_in(page: Page, backoffice: LiveBackOffice, language: str, username: str, password: str) -> None:
    page.goto(f"{backoffice.url}/sign-in")
    page.get_by_label(bo_words(language, "Username (e-mail address)")).fill(username)
    page.get_by_label(bo_words(language, "Password")).fill(password)
    page.get_by_role("button", name=bo_words(language, "Sign in")).click()


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_admin_invites_regroups_and_disables_a_user(stack_with_apps, page_in, language, tmp_path):
    _portal, backoffice = stack_with_apps
    admin = f"ines-{language}@atelier-lumiere.example"
    invited = f"nouveau-{language}@atelier-lumiere.example"
    add_user(pool_id(), admin, "admin", CREDITOR.creditor_id, PASSWORD)
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    sign_in(page, backoffice, language, admin, PASSWORD)
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Dashboard"))
    page.get_by_role("navigation", name=_("Back office")).get_by_role("link", name=_("Users")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Users"))
    users = page.get_by_role("table", name=_("The back-office users of your company"))
    expect(users.get_by_role("row").filter(has=page.get_by_role("rowheader", name=FINANCE, exact=True))) \
        .to_contain_text(_("Finance (decides)"))
    expect(users.get_by_role("row").filter(has=page.get_by_role("rowheader", name=admin, exact=True))) \
        .to_contain_text(_("Your own account"))
    assert_accessible(page)

    add = page.get_by_role("form", name=_("Add a user"))
    add.get_by_role("button", name=_("Add the user")).click()
    expect(page.get_by_label(_("E-mail address"), exact=True)).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_role("main")).to_contain_text(_("Enter the person's e-mail address."))
    assert_accessible(page)

    add.get_by_label(_("E-mail address"), exact=True).fill(invited)
    add.get_by_label(_("Group"), exact=True).select_option(label=_("Viewer (reads)"))
    add.get_by_role("button", name=_("Add the user")).click()
    expect(page.get_by_role("status")).to_contain_text(
        _("The user is added; they receive their temporary password by e-mail."))
    row = users.get_by_role("row").filter(has=page.get_by_role("rowheader", name=invited, exact=True))
    expect(row).to_contain_text(_("Viewer (reads)"))
    expect(row).to_contain_text(_("Invited (temporary password)"))
    assert_accessible(page)

    row.get_by_label(_("Group of %(email)s", email=invited)).select_option(label=_("Finance (decides)"))
    row.get_by_role("button", name=_("Change the group")).click()
    expect(page.get_by_role("status")).to_contain_text(
        _("The user's group is changed; it applies from their next sign-in."))
    expect(row.get_by_role("cell").first).to_have_text(_("Finance (decides)"))

    row.get_by_role("button", name=re.compile(re.escape(_("Disable")))).click()
    expect(page.get_by_role("status")).to_contain_text(_("The user is disabled: they can no longer sign in."))
    expect(row).to_contain_text(_("Disabled"))
    assert_accessible(page)
    groups = client("cognito-idp").admin_list_groups_for_user(UserPoolId=pool_id(), Username=invited)["Groups"]
    assert [group["GroupName"] for group in groups] == ["finance"]
    assert client("cognito-idp").admin_get_user(UserPoolId=pool_id(), Username=invited)["Enabled"] is False


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_admin_is_shown_a_broken_policy_by_path_then_saves_a_good_one(stack_with_apps, page_in, language,
                                                                          tmp_path):
    portal, backoffice = stack_with_apps
    admin = f"ines-policy-{language}@atelier-lumiere.example"
    add_user(pool_id(), admin, "admin", CREDITOR.creditor_id, PASSWORD)
    store = PolicyStore(portal.table)
    before = store.current(CREDITOR.creditor_id)
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    sign_in(page, backoffice, language, admin, PASSWORD)
    page.get_by_role("navigation", name=_("Back office")).get_by_role("link", name=_("Dunning policy")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Dunning policy"))
    expect(page.get_by_role("table").first.locator("caption")).to_contain_text("fr-b2b")
    expect(page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="reminder_1", exact=True)).first) \
        .to_contain_text("reminder_friendly")
    assert_accessible(page)

    packaged = PACKAGED_POLICY.read_text(encoding="utf-8")
    broken = packaged.replace("offset_days: 1\n", "offset_days: tomorrow\n", 1)
    page.get_by_label(_("Or paste the document")).fill(broken)
    page.get_by_role("button", name=_("Check and save")).click()
    expect(page.get_by_role("alert")).to_contain_text(_("The policy was not saved: correct these problems."))
    expect(page.get_by_role("alert")).to_contain_text("steps[1].offset_days")
    expect(page.get_by_label(_("Or paste the document"))).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)
    assert store.current(CREDITOR.creditor_id) == before

    grace = {"fr": 4, "en": 5}[language]
    good = tmp_path / "atelier.yaml"
    good.write_text(packaged.replace("promise_grace_days: 3 ", f"promise_grace_days: {grace} ", 1), "utf-8")
    page.get_by_label(_("Or paste the document")).fill("")
    page.get_by_label(_("Policy file (YAML or JSON)")).set_input_files(good)
    page.get_by_role("button", name=_("Check and save")).click()

    current = store.current(CREDITOR.creditor_id)
    expected_version = (before.version if before else 0) + 1
    expect(page.get_by_role("status")).to_contain_text(_(
        "The policy is saved as version %(version)s; it applies to the next step of every invoice.",
        version=expected_version))
    assert (current.version, current.book.default.promise_grace_days) == (expected_version, grace)
    expect(page.locator("[data-figure=policy-version]")).to_contain_text(
        re.compile(rf"\b{expected_version}\b"))
    assert_accessible(page)


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_invited_person_chooses_their_password_at_the_first_sign_in(stack_with_apps, page_in, language):
    _portal, backoffice = stack_with_apps
    invited = f"paul-{language}@atelier-lumiere.example"
    temporary = "Temporary-Pass-77"
    idp = client("cognito-idp")
    idp.admin_create_user(UserPoolId=pool_id(), Username=invited, TemporaryPassword=temporary,
                          MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": invited},
                                          {"Name": "email_verified", "Value": "true"},
                                          {"Name": CREDITOR_ATTRIBUTE, "Value": CREDITOR.creditor_id}])
    idp.admin_add_user_to_group(UserPoolId=pool_id(), Username=invited, GroupName="finance")
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    sign_in(page, backoffice, language, invited, temporary)
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Choose your password"))
    assert_accessible(page)

    page.get_by_label(_("New password")).fill("Chosen-Password-2026")
    page.get_by_label(_("The same password again")).fill("Chosen-Password-2027")
    page.get_by_role("button", name=_("Set my password and sign in")).click()
    expect(page.get_by_role("alert")).to_contain_text(_("The two passwords differ."))
    expect(page.get_by_label(_("The same password again"))).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    page.get_by_label(_("New password")).fill("Chosen-Password-2026")
    page.get_by_label(_("The same password again")).fill("Chosen-Password-2026")
    page.get_by_role("button", name=_("Set my password and sign in")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Dashboard"))
    assert idp.admin_get_user(UserPoolId=pool_id(), Username=invited)["UserStatus"] == "CONFIRMED"

    page.get_by_role("button", name=_("Sign out")).click()
    sign_in(page, backoffice, language, invited, temporary)
    expect(page.get_by_role("alert")).to_contain_text(_("The username or the password is wrong."))
    sign_in(page, backoffice, language, invited, "Chosen-Password-2026")
    expect(page.get_by_role("heading", level=1)).to_have_text(_("Dashboard"))


@pytest.mark.parametrize("language", LANGUAGES)
def test_finance_finds_a_debtor_by_part_of_the_name(stack_with_apps, page_in, language):
    portal, backoffice = stack_with_apps
    debtor, _invoices = portal.seed_debtor("name-search", language)
    page = page_in(language)

    def _(message: str, **params: object) -> str:
        return bo_words(language, message, **params)

    sign_in(page, backoffice, language, backoffice.username, backoffice.password)
    page.get_by_role("navigation", name=_("Back office")).get_by_role("link", name=_("Find a debtor")).click()
    search = page.get_by_role("search")
    field = search.get_by_label(_("Debtor id (as in the invoice imports) or part of the name"))
    field.fill("Zzyzx")
    search.get_by_role("button", name=_("Find")).click()
    expect(page.get_by_role("main")).to_contain_text(_("No debtor has this id or a name containing it."))
    expect(field).to_have_attribute("aria-invalid", "true")
    assert_accessible(page)

    field.fill({"fr": "martin", "en": "BRAMBLE"}[language])  # any case, any part of the name
    search.get_by_role("button", name=_("Find")).click()
    found = page.locator("[data-figure=search-results]")
    link = found.locator(f'a[href="/debtors/{debtor.debtor_id}"]')
    expect(link).to_have_text(DEBTOR_NAMES[language])
    assert_accessible(page)
    link.click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(DEBTOR_NAMES[language])
    assert_accessible(page)
