"""Signing in with a Cognito account: a good password opens an 8-hour session, a wrong one says so plainly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from tests.backoffice.backoffice_world import FINANCE, VIEWER
from tests.backoffice.conftest import sign_in


def test_finance_signs_in_and_lands_on_the_dashboard(client):
    response = sign_in(client, FINANCE)

    assert response.status_code == 302
    assert response.headers["Location"] == "/dashboard"
    page = client.get("/plans?lang=en").get_data(as_text=True)
    assert "Plans to decide" in page
    assert f"Signed in as {FINANCE}" in page


def test_the_session_cookie_is_httponly_strict_and_lasts_eight_hours(app, client):
    app.config["SESSION_COOKIE_SECURE"] = True

    response = sign_in(client, FINANCE)

    cookie = next(c for c in response.headers.getlist("Set-Cookie") if c.startswith("relance_backoffice="))
    assert "HttpOnly" in cookie and "Secure" in cookie and "SameSite=Strict" in cookie
    expires = parsedate_to_datetime(cookie.split("Expires=")[1].split(";")[0])
    assert abs(expires - (datetime.now(UTC) + timedelta(hours=8))) < timedelta(minutes=1)


def test_a_wrong_password_is_refused_with_a_clear_message_in_both_languages(client):
    client.get("/sign-in?lang=en")
    english = sign_in(client, FINANCE, password="Not-the-password-1")
    client.get("/sign-in?lang=fr")
    french = sign_in(client, FINANCE, password="Not-the-password-1")

    assert english.status_code == 401
    assert "The username or the password is wrong." in english.get_data(as_text=True)
    assert french.status_code == 401
    assert "L’identifiant ou le mot de passe est incorrect." in french.get_data(as_text=True)
    assert client.get("/plans").status_code == 302


def test_an_unknown_user_gets_the_same_answer_as_a_wrong_password(client):
    client.get("/sign-in?lang=en")
    response = sign_in(client, "nobody@atelier.example", password="Whatever-123")

    assert response.status_code == 401
    assert "The username or the password is wrong." in response.get_data(as_text=True)


def test_empty_fields_are_named_and_tied_to_their_inputs(client):
    client.get("/sign-in?lang=en")

    response = sign_in(client, "", password="")

    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'aria-describedby="username-error"' in page and 'id="username-error"' in page
    assert 'aria-describedby="password-error"' in page and 'id="password-error"' in page


def test_sign_in_returns_to_the_page_asked_for_but_never_to_another_site(client):
    assert sign_in(client, VIEWER, next_path="/plans/atelier/d-1/p-1").headers["Location"] == "/plans/atelier/d-1/p-1"
    client.post("/sign-out", data={"csrf_token": _token(client)})
    assert sign_in(client, VIEWER, next_path="//evil.example/").headers["Location"] == "/dashboard"


def test_signing_out_ends_the_session(client):
    sign_in(client, FINANCE)

    response = client.post("/sign-out", data={"csrf_token": _token(client)})

    assert response.status_code == 302
    assert client.get("/plans").headers["Location"].startswith("/sign-in")


def test_a_session_older_than_eight_hours_is_over(client):
    sign_in(client, FINANCE)
    with client.session_transaction() as session:
        session["user"] = {**session["user"],
                           "at": (datetime.now(UTC) - timedelta(hours=8, minutes=1)).isoformat()}

    response = client.get("/plans")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/sign-in")


def test_the_password_never_reaches_the_logs(client, caplog):
    caplog.set_level("DEBUG", logger="relance_portal")  # the portal's and the back office's own logger

    sign_in(client, FINANCE, password="Secret-Wrong-99")
    sign_in(client, FINANCE)

    assert "Secret-Wrong-99" not in caplog.text
    assert "Correct-Horse-42" not in caplog.text
    assert FINANCE not in caplog.text


def _token(client) -> str:
    from tests.backoffice.backoffice_world import csrf_token

    return csrf_token(client.get("/plans").get_data(as_text=True))


def _invite(email: str, temporary: str = "Temporary-Pass-1") -> None:
    """What /admin/users does: an account with a temporary password, in a group, for the creditor."""
    import os

    from relance.adapters.aws import client as aws_client

    idp, pool = aws_client("cognito-idp"), os.environ["RELANCE_COGNITO_USER_POOL_ID"]
    idp.admin_create_user(UserPoolId=pool, Username=email, TemporaryPassword=temporary, MessageAction="SUPPRESS",
                          UserAttributes=[{"Name": "email", "Value": email}, {"Name": "email_verified", "Value": "true"},
                                          {"Name": "custom:creditor_id", "Value": "acme"}])
    idp.admin_add_user_to_group(UserPoolId=pool, Username=email, GroupName="finance")


def _new_password(client, new: str, again: str | None = None):
    from tests.backoffice.backoffice_world import csrf_token

    page = client.get("/sign-in/new-password?lang=en")
    return client.post("/sign-in/new-password", data={
        "new_password": new, "confirm_password": new if again is None else again,
        "csrf_token": csrf_token(page.get_data(as_text=True))})


def test_an_invited_person_chooses_their_password_at_the_first_sign_in_then_signs_in_with_it(client, world):
    _invite("nina@atelier.example")

    first = sign_in(client, "nina@atelier.example", password="Temporary-Pass-1")
    form = client.get(first.headers["Location"] + "?lang=en").get_data(as_text=True)
    mismatch = _new_password(client, "Nina-Chose-This-9", again="Nina-Chose-That-9")
    too_short = _new_password(client, "Short-1")
    done = _new_password(client, "Nina-Chose-This-9")

    assert first.status_code == 302 and first.headers["Location"] == "/sign-in/new-password"
    assert 'autocomplete="new-password"' in form and "Choose your password" in form
    assert mismatch.status_code == 400 and "The two passwords differ." in mismatch.get_data(as_text=True)
    assert too_short.status_code == 400 and "at least 12 characters" in too_short.get_data(as_text=True)
    assert done.status_code == 302 and done.headers["Location"] == "/dashboard"
    assert "Signed in as nina@atelier.example" in client.get("/plans?lang=en").get_data(as_text=True)
    client.post("/sign-out", data={"csrf_token": _token(client)})
    again = sign_in(client, "nina@atelier.example", password="Nina-Chose-This-9")
    assert again.status_code == 302 and again.headers["Location"] == "/dashboard"


def test_the_password_page_without_a_pending_first_sign_in_goes_back_to_sign_in(client):
    response = client.get("/sign-in/new-password")

    assert response.status_code == 302 and response.headers["Location"].startswith("/sign-in")
