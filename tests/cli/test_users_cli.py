"""`relance users add`: a back-office account finance can sign in with, in its group, for its creditor."""

from __future__ import annotations

import io
import os

import pytest
from relance.adapters.cognito import CognitoSignIn, WrongCredentials
from relance.adapters.dynamo import DynamoStore
from relance.domain.parties import Creditor
from relance_cli.local_stack import write_stack_file
from relance_cli.main import main

PASSWORD = "Correct-Horse-42"


@pytest.fixture
def relance(stack, tmp_path, capsys, monkeypatch):
    """`relance …` on the local stack with one creditor; the password comes on stdin."""
    DynamoStore(stack.physical["RelanceTable"]).put_creditor(Creditor("atelier", "Atelier Lumière SAS"))
    stack_file = write_stack_file(stack, tmp_path / "stack.json")

    def run(*argv: str, stdin: str = PASSWORD + "\n") -> tuple[int, str, str]:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
        code = main(["--stack-file", str(stack_file), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


def sign_in(username: str, password: str = PASSWORD):
    return CognitoSignIn(os.environ["RELANCE_COGNITO_USER_POOL_ID"],
                         os.environ["RELANCE_COGNITO_CLIENT_ID"]).sign_in(username, password)


def test_a_finance_account_signs_in_with_its_group_and_the_only_creditor(relance):
    code, out, _err = relance("users", "add", "--email", "marie@atelier.example", "--group", "finance",
                              "--password-stdin")

    assert code == 0
    assert "marie@atelier.example" in out and "finance" in out and "atelier" in out
    assert PASSWORD not in out
    user = sign_in("marie@atelier.example")
    assert user.groups == ("finance",)
    assert user.creditor_id == "atelier"
    with pytest.raises(WrongCredentials):
        sign_in("marie@atelier.example", "Wrong-Password-1")


def test_a_weak_password_is_refused_with_a_clear_message(relance):
    code, _out, err = relance("users", "add", "--email", "lea@atelier.example", "--group", "viewer",
                              "--password-stdin", stdin="short\n")

    assert code == 2
    assert "password was refused" in err
    assert "short" not in err


def test_an_unknown_group_is_refused_by_the_parser(relance):
    with pytest.raises(SystemExit):
        relance("users", "add", "--email", "x@atelier.example", "--group", "boss", "--password-stdin")
