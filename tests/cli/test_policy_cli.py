"""`relance policy check` and `show` through argparse: summaries, one line per problem, exit codes."""

import argparse
import json
from importlib import resources

from relance_cli import policy

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
        "segments",
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
