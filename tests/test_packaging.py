"""What ships: the SAM template, the layer's pinned requirements, each function's permissions."""

from __future__ import annotations

import json
import os
import re
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
    buckets = {b["Name"] for b in client("s3").list_buckets()["Buckets"]}
    topics = {t["TopicArn"] for t in client("sns").list_topics()["Topics"]}
    pools = {p["Id"] for p in client("cognito-idp").list_user_pools(MaxResults=60)["UserPools"]}
    groups = {g["GroupName"] for pool in pools
              for g in client("cognito-idp").list_groups(UserPoolId=pool)["Groups"]}
    secrets = {s["ARN"] for s in client("secretsmanager").list_secrets()["SecretList"]}
    parameters = {p["Name"] for p in client("ssm").describe_parameters()["Parameters"]}
    dashboards = {d["DashboardName"] for d in client("cloudwatch").list_dashboards()["DashboardEntries"]}
    distributions = {d["Id"] for d in client("cloudfront").list_distributions()["DistributionList"].get("Items", [])}
    created = {
        "AWS::DynamoDB::Table": tables, "AWS::SQS::Queue": queues, "AWS::S3::Bucket": buckets,
        "AWS::SNS::Topic": topics, "AWS::Cognito::UserPool": pools, "AWS::Cognito::UserPoolGroup": groups,
        "AWS::SecretsManager::Secret": secrets, "AWS::SSM::Parameter": parameters,
        "AWS::CloudWatch::Dashboard": dashboards, "AWS::CloudFront::Distribution": distributions,
    }

    declared = [(name, r["Type"]) for name, r in TEMPLATE["Resources"].items() if r["Type"] in created]

    assert {kind for _, kind in declared} == set(created), "each kind above is declared by the template"
    missing = [name for name, kind in declared if stack.physical.get(name) not in created[kind]]
    assert missing == []
    described = client("dynamodb").describe_table(TableName=stack.physical["RelanceTable"])["Table"]
    assert [i["IndexName"] for i in described["GlobalSecondaryIndexes"]] == ["GSI1"]


def test_the_local_stack_creates_every_alarm_of_the_template_with_its_topic(stack):
    from relance.adapters.aws import client

    alarms = {a["AlarmName"]: a for a in client("cloudwatch").describe_alarms()["MetricAlarms"]}

    declared = [name for name, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::CloudWatch::Alarm"]
    assert declared and sorted(stack.physical[name] for name in declared) == sorted(alarms)
    assert all(a["AlarmActions"] == [stack.physical["AlarmTopic"]] for a in alarms.values())


def test_every_dead_letter_queue_has_an_alarm():
    queues = {name for name, r in TEMPLATE["Resources"].items()
              if r["Type"] == "AWS::SQS::Queue" and name.endswith("DeadLetterQueue")}

    watched = {r["Properties"]["Dimensions"][0]["Value"]["Fn::GetAtt"][0]
               for r in TEMPLATE["Resources"].values()
               if r["Type"] == "AWS::CloudWatch::Alarm" and r["Properties"].get("Namespace") == "AWS/SQS"}

    assert queues and queues <= watched, sorted(queues - watched)


def test_every_work_queue_redrives_to_a_dead_letter_queue():
    queues = {name: r for name, r in TEMPLATE["Resources"].items()
              if r["Type"] == "AWS::SQS::Queue" and not name.endswith("DeadLetterQueue")}

    for name, queue in queues.items():
        redrive = queue["Properties"].get("RedrivePolicy", {})
        assert redrive.get("deadLetterTargetArn", {}).get("Fn::GetAtt", [""])[0].endswith("DeadLetterQueue"), name
        assert 1 <= redrive["maxReceiveCount"] <= 10, name


def test_every_function_justifies_its_memory_and_timeout_in_a_comment():
    text = (REPO / "template.yaml").read_text()
    blocks = re.split(r"\n  (?=[A-Za-z0-9]+:\n    Type: )", text)

    for name in FUNCTIONS:
        block = next(b for b in blocks if b.startswith(f"{name}:\n"))
        lines = block.splitlines()
        handler_at = next(i for i, line in enumerate(lines) if line.strip().startswith("Handler:"))
        after_handler = lines[handler_at + 1:handler_at + 4]
        assert any(line.strip().startswith("#") for line in after_handler), f"{name}: say why its memory and timeout"


def test_the_receivables_table_is_protected_and_recoverable():
    table = TEMPLATE["Resources"]["RelanceTable"]

    assert table["DeletionPolicy"] == "Retain"
    assert table["Properties"]["DeletionProtectionEnabled"] is True
    assert table["Properties"]["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}


@pytest.mark.parametrize("name", sorted(n for n, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::S3::Bucket"))
def test_every_bucket_is_private_encrypted_and_has_lifecycle_rules(name):
    properties = TEMPLATE["Resources"][name]["Properties"]

    assert properties["PublicAccessBlockConfiguration"] == {
        "BlockPublicAcls": True, "BlockPublicPolicy": True, "IgnorePublicAcls": True, "RestrictPublicBuckets": True}
    assert properties["BucketEncryption"]["ServerSideEncryptionConfiguration"]
    assert properties["OwnershipControls"]["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    assert all(rule["Status"] == "Enabled" for rule in properties["LifecycleConfiguration"]["Rules"])


def test_the_static_bucket_is_read_only_through_its_cloudfront_distribution():
    resources = TEMPLATE["Resources"]
    origin = resources["StaticDistribution"]["Properties"]["DistributionConfig"]["Origins"][0]
    statements = resources["StaticBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]

    assert origin["DomainName"] == {"Fn::GetAtt": ["StaticBucket", "RegionalDomainName"]}
    assert origin["OriginAccessControlId"] == {"Fn::GetAtt": ["StaticOriginAccessControl", "Id"]}
    allow = [s for s in statements if s["Effect"] == "Allow"]
    assert allow == [next(s for s in statements if s["Sid"] == "OnlyThisDistributionReads")]
    assert allow[0]["Principal"] == {"Service": "cloudfront.amazonaws.com"} and allow[0]["Action"] == "s3:GetObject"
    assert "${StaticDistribution}" in allow[0]["Condition"]["StringEquals"]["AWS:SourceArn"]["Fn::Sub"]


def test_the_dunning_worker_stays_under_the_ses_send_rate():
    worker = FUNCTIONS["SendRemindersFunction"]["Properties"]
    trigger = worker["Events"]["Jobs"]["Properties"]

    assert trigger["ScalingConfig"]["MaximumConcurrency"] == {"Ref": "ReminderWorkerConcurrency"}
    assert worker["ReservedConcurrentExecutions"]["Fn::If"][1] == {"Ref": "ReminderWorkerConcurrency"}


def test_every_http_api_is_throttled():
    apis = {n: r for n, r in TEMPLATE["Resources"].items() if r["Type"] == "AWS::Serverless::HttpApi"}

    for name, api in apis.items():
        settings = api["Properties"]["DefaultRouteSettings"]
        assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0, name


def test_samconfig_deploys_the_template_with_its_capabilities_and_a_confirmed_changeset():
    config = tomllib.loads((REPO / "samconfig.toml").read_text())

    deploy = config["default"]["deploy"]["parameters"]
    assert config["version"] == 0.1
    assert "CAPABILITY_IAM" in deploy["capabilities"]
    assert deploy["confirm_changeset"] is True
    assert config["default"]["build"]["parameters"]["cached"] is True
    declared = set(TEMPLATE["Parameters"])
    overrides = dict(item.split("=", 1) for item in deploy["parameter_overrides"].split())
    assert set(overrides) <= declared


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


@pytest.mark.slow
def test_every_handler_imports_without_network_nor_aws_calls():
    result = subprocess.run([sys.executable, str(REPO / "bench" / "coldstart.py"), "--runs", "1", "--json"],
                            capture_output=True, text=True, check=False, cwd=REPO, timeout=600)

    report = json.loads(result.stdout[result.stdout.index("\n{") + 1:])
    assert set(FUNCTIONS) <= set(report), result.stdout + result.stderr
    assert {name: figures["error"] for name, figures in report.items() if "error" in figures} == {}


def test_docs_build_with_strict_checks(tmp_path: Path):
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}

    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "-d", str(tmp_path / "site")],
                            capture_output=True, text=True, check=False, cwd=REPO, env=env)

    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "site" / "index.html").exists() and (tmp_path / "site" / "en" / "index.html").exists()
