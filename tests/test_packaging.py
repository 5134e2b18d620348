"""What ships: the SAM template, the layer's pinned requirements, each function's permissions."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from relance_cli.local_stack import load_template
from tests.conftest import REPO

TEMPLATE = load_template()
FUNCTIONS = {name: r for name, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::Function"}
SAM = REPO / ".venv-sam" / "bin" / "sam"


def test_the_layer_requirements_are_the_pinned_runtime_dependencies():
    pinned = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    shipped = (REPO / "functions/shared/requirements.txt").read_text().splitlines()

    assert [line for line in shipped if line and not line.startswith("#")] == [
        d.split("#")[0].strip() for d in pinned
    ]


def test_cfn_lint_finds_nothing():
    result = subprocess.run([str(Path(sys.executable).parent / "cfn-lint"), str(REPO / "template.yaml")],
                            capture_output=True, text=True, check=False)

    assert result.returncode == 0, result.stdout + result.stderr


def test_sam_validate_lint_finds_nothing():
    assert SAM.exists(), "SAM CLI lives in .venv-sam: run `make sam` (make test does)"
    env = {**os.environ, "SAM_CLI_TELEMETRY": "0", "AWS_DEFAULT_REGION": "eu-west-3"}

    result = subprocess.run([str(SAM), "validate", "--lint", "--template-file", str(REPO / "template.yaml")],
                            capture_output=True, text=True, check=False, env=env, cwd=REPO)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "is a valid SAM Template" in result.stdout + result.stderr


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_handler_named_by_the_template_exists(name):
    properties = FUNCTIONS[name]["Properties"]
    module, _, function = properties["Handler"].rpartition(".")

    source = REPO / properties["CodeUri"] / f"{module}.py"

    assert source.is_file()
    assert f"def {function}(" in source.read_text() or f"{function} = " in source.read_text()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_function_has_its_own_policy_naming_actions_and_resources(name):
    policies = FUNCTIONS[name]["Properties"]["Policies"]
    statements = [s for p in policies for s in p["Statement"]]

    assert statements
    for statement in statements:
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        assert all("*" not in action for action in actions), f"{name}: wildcard action in {actions}"
        assert all(resource != "*" for resource in resources), f"{name}: resource '*'"


def test_the_runtime_is_supported_beyond_2027():
    assert TEMPLATE["Globals"]["Function"]["Runtime"] in {"python3.12", "python3.13"}


def test_the_local_stack_creates_every_data_resource_of_the_template(stack):
    from relance.adapters.aws import client

    tables = set(client("dynamodb").list_tables()["TableNames"])
    queues = set(client("sqs").list_queues().get("QueueUrls", []))

    for name, resource in TEMPLATE["Resources"].items():
        if resource["Type"] == "AWS::DynamoDB::Table":
            assert stack.physical[name] in tables
        if resource["Type"] == "AWS::SQS::Queue":
            assert stack.physical[name] in queues
    described = client("dynamodb").describe_table(TableName=stack.physical["RelanceTable"])["Table"]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["GSI1"]


def test_scheduler_and_queue_handlers_do_not_import_flask_or_stripe():
    code = (
        "import sys, os\n"
        "os.environ.update(RELANCE_TABLE='t', RELANCE_IDEMPOTENCY_TABLE='i', AWS_DEFAULT_REGION='eu-west-3')\n"
        f"sys.path[:0] = [{str(REPO / 'functions/daily_scan')!r}, {str(REPO / 'functions/send_reminders')!r}]\n"
        "import daily_scan, send_reminders\n"
        "print(sorted(m for m in ('flask', 'stripe', 'werkzeug') if m in sys.modules))\n"
    )

    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"


def test_docs_build_with_strict_checks(tmp_path: Path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                            capture_output=True, text=True, check=False, cwd=REPO, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "site" / "en" / "index.html").exists()


def test_the_local_stack_creates_the_dead_letter_alarm(stack):
    from relance.adapters.aws import client

    alarms = client("cloudwatch").describe_alarms()["MetricAlarms"]

    assert {a["MetricName"] for a in alarms} == {"ApproximateNumberOfMessagesVisible"}
    watched = sorted(a["Dimensions"][0]["Value"].rsplit("-", 1)[1] for a in alarms)
    assert watched == ["AuditChainDeadLetterQueue", "ReminderDeadLetterQueue"]
