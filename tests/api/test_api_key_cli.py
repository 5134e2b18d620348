"""`relance api-key create|list|revoke`: a key printed once opens the API; revoked, it no longer does."""

from __future__ import annotations

import contextlib
import io
import json

from relance.adapters.dynamo import DynamoStore
from relance.adapters.settings import load_settings
from relance.domain.parties import Creditor
from relance_cli.local_stack import write_stack_file
from relance_cli.main import main
from tests.api.conftest import CREDITOR_A, Api
from tests.conftest import restored_environ


def _relance(stack_file, *args: str) -> tuple[int, str]:
    out = io.StringIO()
    with restored_environ(), contextlib.redirect_stdout(out):
        code = main(["--stack-file", str(stack_file), *args])
    return code, out.getvalue()


def test_a_key_created_on_the_command_line_opens_the_api_until_it_is_revoked(erp_stack, tmp_path):
    DynamoStore(load_settings().table_name).put_creditor(Creditor("cli-acme", "Acme CLI"))
    stack_file = write_stack_file(erp_stack, tmp_path / "stack.json")

    code, out = _relance(stack_file, "api-key", "create", "--creditor", "cli-acme", "--json")
    created = json.loads(out)
    api = Api({CREDITOR_A: created["api_key"]})
    before = api.get("/v1/events")
    listed = json.loads(_relance(stack_file, "api-key", "list", "--creditor", "cli-acme", "--json")[1])
    revoked, _ = _relance(stack_file, "api-key", "revoke", created["key_id"], "--creditor", "cli-acme")
    after = api.get("/v1/events")

    assert code == 0
    assert created["api_key"] not in json.dumps(listed)  # only ids and dates are kept and shown
    assert [k["key_id"] for k in listed] == [created["key_id"]]
    assert (before.status, revoked, after.status) == (200, 0, 401)


def test_a_key_for_a_creditor_that_does_not_exist_is_refused(erp_stack, tmp_path):
    stack_file = write_stack_file(erp_stack, tmp_path / "stack.json")

    code, _out = _relance(stack_file, "api-key", "create", "--creditor", "nobody-here")

    assert code != 0
