"""`relance policy check` and `show` through argparse: summaries, one line per problem, exit codes."""

import argparse
import dataclasses
import json
import os
from datetime import UTC, datetime
from importlib import resources

import pytest
from relance.adapters.policies import load_policy_file
from relance.adapters.policy_store import PolicyStore
from relance.domain.policy_documents import policy_to_document

from relance_cli import policy
from relance_cli.main import main
from tests.integration.conftest import CREDITOR, _cli_with_creditor

NOW = datetime(2025, 12, 1, 9, 0, tzinfo=UTC)

PACKAGED_FR = resources.files("relance").joinpath("data", "policies", "fr-b2b.yaml")

THREE_PROBLEMS = """\
version: 1
policy_id: acme
name: Acme
promise_grace: 3
steps:
  - {id: reminder_1, offset_days: 1, channel: email, template: reminder_friendly}
  - {id: call, offset_days: 15j, channel: call_task, template: call_script}
  - {id: formal_notice, offset_days: 30, channel: formal_notice, template: formal_notice}
"""


def relance(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="relance")
    policy.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["policy", *argv])
    return args.handler(args)


def test_a_valid_file_exits_0_and_summarises_each_ladder(tmp_path, capsys):
    path = tmp_path / "policy.yaml"
    path.write_text(PACKAGED_FR.read_text(encoding="utf-8"), encoding="utf-8")

    code = relance("check", str(path))

    lines = capsys.readouterr().out.splitlines()
    assert code == 0
    assert lines[0] == f"{path}: valid policy fr-b2b, 3 ladders"
    assert lines[1].startswith("  fr-b2b (default): courtesy J-5 email · reminder_1 J+1 email")
    assert lines[1].endswith("formal_notice J+30 formal_notice · agency J+45 agency")
    assert lines[2].startswith("  fr-b2c (consumer debtors): ")
    assert lines[3].startswith("  fr-b2b-high-risk (business debtors, risk high): ")


def test_a_file_with_three_problems_exits_2_with_one_line_each(tmp_path, capsys):
    path = tmp_path / "policy.yaml"
    path.write_text(THREE_PROBLEMS)

    code = relance("check", str(path))

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out.splitlines() == [
        "promise_grace: unknown key; did you mean 'promise_grace_days'? expected one of version, policy_id, "
        "name, sending_hours, promise_grace_days, max_promise_days, formal_notice_deadline_days, steps, "
        "segments, plans, alerts",
        'steps[1].offset_days: expected a whole number of days, got "15j"',
        "steps[2].required: the formal_notice step must be `required: true` so that no later step jumps "
        "over it, got false",
    ]
    assert "3 problems" in captured.err and "Traceback" not in captured.err


def test_check_as_json_lists_the_problems(tmp_path, capsys):
    path = tmp_path / "policy.yaml"
    path.write_text(THREE_PROBLEMS)

    code = relance("check", str(path), "--json")

    result = json.loads(capsys.readouterr().out)
    assert code == 2
    assert result["valid"] is False
    assert [problem["path"] for problem in result["problems"]] == [
        "promise_grace",
        "steps[1].offset_days",
        "steps[2].required",
    ]


def test_check_as_json_gives_the_whole_document_of_a_valid_file(tmp_path, capsys):
    path = tmp_path / "policy.json"
    path.write_text(
        json.dumps(
            {
                "version": 1,
                "policy_id": "acme",
                "name": "Acme",
                "steps": [
                    {
                        "id": "reminder_1",
                        "offset_days": 1,
                        "channel": "email",
                        "template": "reminder_friendly",
                    }
                ],
            }
        )
    )

    code = relance("check", str(path), "--json")

    result = json.loads(capsys.readouterr().out)
    assert code == 0 and result["valid"] is True
    assert result["policy"]["steps"] == [
        {
            "id": "reminder_1",
            "offset_days": 1,
            "channel": "email",
            "template": "reminder_friendly",
            "min_days_after_previous": 0,
            "required": False,
        }
    ]


def test_a_yaml_syntax_error_is_one_line_with_its_line_number(tmp_path, capsys):
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\nsteps:\n  - id: a\n   offset_days: 1\n")

    code = relance("check", str(path))

    [line] = capsys.readouterr().out.splitlines()
    assert code == 2
    assert line.startswith("line 4, column ") and "not valid YAML" in line


def test_a_missing_file_exits_2_without_a_traceback(tmp_path, capsys):
    code = relance("check", str(tmp_path / "nowhere.yaml"))

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out.startswith("(file): cannot read ")
    assert "Traceback" not in captured.err


def test_show_prints_the_french_ladder_as_a_table(capsys):
    code = relance("show", "fr-b2b")

    out = capsys.readouterr().out
    rows = [line.split() for line in out.splitlines()]
    assert code == 0
    assert out.startswith("fr-b2b — ")
    assert ["Step", "Day", "Channel", "Template", "Wait", "Conditions"] in rows
    assert ["courtesy", "J-5", "email", "courtesy", "0", "-"] in rows
    assert ["reminder_2", "J+8", "email", "reminder_firm", "5", "-"] in rows
    assert ["call", "J+15", "call_task", "call_script", "5", "-"] in rows
    assert ["formal_notice", "J+30", "formal_notice", "formal_notice", "7", "required"] in rows
    assert ["agency", "J+45", "agency", "agency_handoff", "15", "-"] in rows
    assert ["formal_notice", "J+30", "formal_notice", "formal_notice_consumer", "7", "required"] in rows
    assert "fr-b2b-high-risk — " in out


def test_show_an_unknown_policy_exits_2_naming_the_packaged_ones(capsys):
    code = relance("show", "de-b2b")

    captured = capsys.readouterr()
    assert code == 2
    assert "no packaged policy 'de-b2b'" in captured.err and "fr-b2b, uk-b2b" in captured.err


# --- a creditor's own policy: `set` and `show --creditor`, on the local stack (moto) ------------------------

ACME_POLICY = """\
version: 1
policy_id: acme-b2b
name: "Acme — business customers"
steps:
  - {id: reminder_1, offset_days: 3, channel: email, template: reminder_friendly}
  - {id: reminder_2, offset_days: 10, channel: email, template: reminder_firm, min_days_after_previous: 5}
  - id: formal_notice
    offset_days: 30
    channel: formal_notice
    template: formal_notice
    min_days_after_previous: 7
    required: true
"""


@pytest.fixture
def cli(stack, tmp_path):
    """`relance` against a fresh local stack holding the creditor `acme` (policy_id fr-b2b)."""
    return _cli_with_creditor(stack, tmp_path)


def a_file(folder, text: str, name: str = "acme.yaml"):
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_set_stores_the_file_as_the_creditors_first_version_and_show_prints_it(cli, tmp_path):
    code, out = cli("policy", "set", "--creditor", CREDITOR, a_file(tmp_path, ACME_POLICY))

    shown = cli.json("policy", "show", "--creditor", CREDITOR)
    assert code == 0
    assert out.startswith(f"{CREDITOR}: policy acme-b2b stored as version 1 (sha256:")
    assert (shown["source"], shown["version"], shown["in_force"], shown["versions"]) == ("custom", 1, True, [1])
    assert (shown["policy_id"], shown["file"]) == ("acme-b2b", "acme.yaml")
    assert [step["offset_days"] for step in shown["policy"]["steps"]] == [3, 10, 30]
    code, table = cli("policy", "show", "--creditor", CREDITOR)
    assert table.startswith(f"{CREDITOR}: own policy, version 1 of 1, in force; set ")
    assert ["reminder_1", "J+3", "email", "reminder_friendly", "0", "-"] in [row.split() for row in table.splitlines()]


def test_setting_the_same_policy_again_stores_nothing_and_says_so(cli, tmp_path):
    cli("policy", "set", "--creditor", CREDITOR, a_file(tmp_path, ACME_POLICY))
    same_as_json = json.dumps(policy_to_document(load_policy_file(a_file(tmp_path, ACME_POLICY))), indent=1)

    code, out = cli("policy", "set", "--creditor", CREDITOR, a_file(tmp_path, same_as_json, "acme.json"))
    again = cli.json("policy", "set", "--creditor", CREDITOR, a_file(tmp_path, ACME_POLICY))

    assert code == 0
    assert out.startswith(f"{CREDITOR}: this policy is already version 1, in force since ")
    assert out.rstrip().endswith("nothing stored.")
    assert (again["changed"], again["version"]) == (False, 1)
    assert cli.json("policy", "show", "--creditor", CREDITOR)["versions"] == [1]


def test_a_changed_policy_becomes_the_next_version_and_the_earlier_one_stays_readable(cli, tmp_path):
    first = cli.json("policy", "set", "--creditor", CREDITOR, a_file(tmp_path, ACME_POLICY))

    second = cli.json("policy", "set", "--creditor", CREDITOR,
                      a_file(tmp_path, ACME_POLICY.replace("offset_days: 3,", "offset_days: 2,")))

    assert (first["version"], second["version"], second["changed"]) == (1, 2, True)
    assert first["checksum"] != second["checksum"]
    old = cli.json("policy", "show", "--creditor", CREDITOR, "--version", "1")
    assert (old["version"], old["in_force"], old["versions"]) == (1, False, [1, 2])
    assert old["policy"]["steps"][0]["offset_days"] == 3
    assert cli.json("policy", "show", "--creditor", CREDITOR)["policy"]["steps"][0]["offset_days"] == 2
    code, table = cli("policy", "show", "--creditor", CREDITOR, "--version", "1")
    assert table.startswith(f"{CREDITOR}: own policy, version 1 of 2, not in force (version 2 is); set ")


def test_an_invalid_file_is_reported_like_check_and_nothing_is_stored(cli, tmp_path, capsys):
    code, out = cli("policy", "set", "--creditor", CREDITOR, a_file(tmp_path, THREE_PROBLEMS))

    assert code == 2
    assert [line.split(":")[0] for line in out.splitlines()] == [
        "promise_grace", "steps[1].offset_days", "steps[2].required"]
    assert "3 problems" in capsys.readouterr().err
    shown = cli.json("policy", "show", "--creditor", CREDITOR)
    assert (shown["source"], shown["policy_id"], shown["versions"]) == ("packaged", "fr-b2b", [])


def test_a_creditor_without_a_policy_of_its_own_shows_its_packaged_policy(cli):
    code, out = cli("policy", "show", "--creditor", CREDITOR)

    assert code == 0
    assert out.startswith(f"{CREDITOR}: packaged policy fr-b2b (no policy of its own set)\n\nfr-b2b — ")


def test_set_for_an_unknown_creditor_stores_nothing(cli, tmp_path, capsys):
    code, _out = cli("policy", "set", "--creditor", "nobody", a_file(tmp_path, ACME_POLICY))

    assert code == 2
    assert "no creditor 'nobody'" in capsys.readouterr().err
    assert PolicyStore(os.environ["RELANCE_TABLE"]).versions("nobody") == []


def test_show_of_a_version_never_set_names_the_versions_there_are(cli, tmp_path, capsys):
    cli("policy", "set", "--creditor", CREDITOR, a_file(tmp_path, ACME_POLICY))

    code, _out = cli("policy", "show", "--creditor", CREDITOR, "--version", "9")

    assert code == 2
    assert "acme has no policy version 9: versions 1 to 1" in capsys.readouterr().err


def test_show_needs_a_policy_id_or_a_creditor(capsys):
    code = relance("show")

    assert code == 2
    assert "name a packaged policy" in capsys.readouterr().err


def test_set_without_a_stack_says_how_to_get_one(tmp_path, monkeypatch, capsys):
    monkeypatch.delenv("RELANCE_TABLE", raising=False)

    code = main(["--stack-file", str(tmp_path / "none.json"), "policy", "set", "--creditor", CREDITOR,
                 a_file(tmp_path, ACME_POLICY)])

    assert code == 2
    assert capsys.readouterr().err.startswith("relance: no stack configured")


class StaleFirstRead(PolicyStore):
    """Reads the pointer once as it was before another operator's `set`: the race, made to happen."""

    def __init__(self, table_name: str, stale) -> None:
        super().__init__(table_name)
        self._stale = [stale]

    def current(self, creditor_id: str):
        return self._stale.pop() if self._stale else super().current(creditor_id)


def test_two_operators_setting_a_policy_at_once_get_two_versions_and_neither_is_overwritten(cli, tmp_path):
    table = os.environ["RELANCE_TABLE"]
    book = load_policy_file(a_file(tmp_path, ACME_POLICY))
    PolicyStore(table).set(CREDITOR, book, NOW, "first.yaml")
    seen_by_the_slow_one = PolicyStore(table).current(CREDITOR)
    fast = PolicyStore(table).set(CREDITOR, replace_offset(book, 2), NOW, "fast.yaml")

    slow = StaleFirstRead(table, seen_by_the_slow_one).set(CREDITOR, replace_offset(book, 4), NOW, "slow.yaml")

    assert (fast.stored.version, slow.stored.version) == (2, 3)
    versions = PolicyStore(table).versions(CREDITOR)
    assert [(v.version, v.source) for v in versions] == [(1, "first.yaml"), (2, "fast.yaml"), (3, "slow.yaml")]
    assert versions[1].book.default.steps[0].offset_days == 2
    assert PolicyStore(table).current(CREDITOR).version == 3


def replace_offset(book, days: int):
    first = dataclasses.replace(book.default.steps[0], offset_days=days)
    return dataclasses.replace(book, default=dataclasses.replace(book.default, steps=(first, *book.default.steps[1:])))
