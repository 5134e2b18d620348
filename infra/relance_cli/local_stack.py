"""The local stack: moto provisioned from template.yaml's own resources, so nothing can drift.

The template is parsed (CloudFormation short tags included), each data resource it declares is
created on moto, and each function's environment is resolved the way CloudFormation would.
The result is written to `.relance/stack.json`, which the `relance` command reads.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from relance.adapters.aws import client

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
DEFAULT_STACK_FILE = REPO_ROOT / ".relance" / "stack.json"
ACCOUNT_ID = "123456789012"  # moto's default account
LOCAL_PARAMETERS = {
    "Stage": "local",
    "SenderAddress": "relances@example.com",
    "PortalBaseUrl": "http://127.0.0.1:8000",
    "BackOfficeBaseUrl": "http://127.0.0.1:8001",
    "ProvisionalRates": "1",  # the demo runs today, past the last published rates (docs/law/late-fees.md)
}

# Resources the local stack runs as in-process code rather than creating on moto.
RUN_IN_PROCESS = {"AWS::Serverless::Function", "AWS::Serverless::LayerVersion", "AWS::Serverless::HttpApi"}


class _TemplateLoader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # libyaml's: the template is long
    """YAML loader that turns CloudFormation short tags (!Ref, !GetAtt, !Sub…) into their long form."""


def _construct_tag(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_TemplateLoader.add_multi_constructor("!", _construct_tag)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as plain data, intrinsic functions in their long form."""
    return yaml.load(path.read_text(encoding="utf-8"), Loader=_TemplateLoader)  # noqa: S506 - SafeLoader subclass


@dataclass
class LocalStack:
    """What was created, and each function's resolved environment."""

    region: str
    endpoint_url: str | None
    parameters: dict[str, str]
    physical: dict[str, str] = field(default_factory=dict)  # logical id -> Ref value
    arns: dict[str, str] = field(default_factory=dict)
    attributes: dict[str, dict[str, str]] = field(default_factory=dict)  # logical id -> other Fn::GetAtt values
    environments: dict[str, dict[str, str]] = field(default_factory=dict)

    def environment(self) -> dict[str, str]:
        """Every function's variables merged (they agree where they overlap): what the CLI runs with."""
        merged: dict[str, str] = {}
        for variables in self.environments.values():
            merged.update(variables)
        merged.pop("POWERTOOLS_SERVICE_NAME", None)
        return merged

    def to_json(self) -> dict[str, Any]:
        return {
            "region": self.region,
            "endpoint_url": self.endpoint_url,
            "parameters": self.parameters,
            "resources": self.physical,
            "environments": self.environments,
        }


_NO_VALUE = object()  # what !Ref AWS::NoValue resolves to: the property is left out


class _Resolver:
    def __init__(self, template: dict[str, Any], stack: LocalStack) -> None:
        self.template = template
        self.stack = stack

    def resolve(self, node: Any) -> Any:
        if isinstance(node, list):
            return [self.resolve(n) for n in node]
        if not isinstance(node, dict):
            return node
        if len(node) == 1:
            (name, value), = node.items()
            if name == "Ref":
                return self._ref(value)
            if name == "Fn::GetAtt":
                return self._get_att(*value)
            if name == "Fn::Sub":
                return self._sub(value)
            if name == "Fn::If":
                condition, yes, no = value
                return self.resolve(yes if self.condition(condition) else no)
            if name == "Fn::Equals":
                left, right = (self.resolve(v) for v in value)
                return left == right
            if name == "Fn::Not":
                return not self.resolve(value[0])
        resolved = {k: self.resolve(v) for k, v in node.items()}
        return {k: v for k, v in resolved.items() if v is not _NO_VALUE}

    def condition(self, name: str) -> bool:
        return bool(self.resolve(self.template.get("Conditions", {})[name]))

    def _ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return _NO_VALUE
        pseudo = {"AWS::Region": self.stack.region, "AWS::AccountId": ACCOUNT_ID, "AWS::Partition": "aws"}
        if name in pseudo:
            return pseudo[name]
        if name in self.stack.parameters:
            return self.stack.parameters[name]
        if name in self.stack.physical:
            return self.stack.physical[name]
        if self.template["Resources"].get(name, {}).get("Type") in RUN_IN_PROCESS:
            return _physical_name(self.stack, name)  # a function's name, e.g. in the dashboard's widgets
        raise KeyError(name)

    def _get_att(self, name: str, attribute: str) -> str:
        if attribute == "Arn" and name in self.stack.arns:
            return self.stack.arns[name]
        if attribute == "QueueName" and name in self.stack.physical:
            return self.stack.physical[name].rsplit("/", 1)[1]
        if attribute in self.stack.attributes.get(name, {}):
            return self.stack.attributes[name][attribute]
        raise KeyError(f"{name}.{attribute}")

    def _sub(self, value: Any) -> str:
        text, variables = (value, {}) if isinstance(value, str) else (value[0], self.resolve(value[1]))

        def replace(match: re.Match[str]) -> str:
            token = match.group(1)
            if token in variables:
                return str(variables[token])
            if "." in token:
                return self._get_att(*token.split(".", 1))
            return self._ref(token)

        return re.sub(r"\$\{([^}!]+)\}", replace, text)


def _physical_name(stack: LocalStack, logical_id: str) -> str:
    return f"relance-{stack.parameters['Stage']}-{logical_id}"


def _create_table(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("TableName") or _physical_name(stack, logical_id)
    dynamodb = client("dynamodb")
    kwargs: dict[str, Any] = {
        "TableName": name,
        "AttributeDefinitions": props["AttributeDefinitions"],
        "KeySchema": props["KeySchema"],
        "BillingMode": props.get("BillingMode", "PAY_PER_REQUEST"),
    }
    if props.get("GlobalSecondaryIndexes"):
        kwargs["GlobalSecondaryIndexes"] = props["GlobalSecondaryIndexes"]
    if props.get("StreamSpecification"):  # local_lambda.drain_stream feeds it to the functions that read it
        kwargs["StreamSpecification"] = {"StreamEnabled": True, **props["StreamSpecification"]}
    existing = dynamodb.list_tables()["TableNames"]
    if name not in existing:
        dynamodb.create_table(**kwargs)
    ttl = props.get("TimeToLiveSpecification")
    if ttl and ttl.get("Enabled"):
        dynamodb.update_time_to_live(
            TableName=name, TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True}
        )
    stack.physical[logical_id] = name
    stack.arns[logical_id] = f"arn:aws:dynamodb:{stack.region}:{ACCOUNT_ID}:table/{name}"


def _create_queue(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("QueueName") or _physical_name(stack, logical_id)
    attributes: dict[str, str] = {}
    for key in ("VisibilityTimeout", "MessageRetentionPeriod", "DelaySeconds"):
        if key in props:
            attributes[key] = str(props[key])
    if "RedrivePolicy" in props:
        attributes["RedrivePolicy"] = json.dumps(props["RedrivePolicy"])
    url = client("sqs").create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    stack.physical[logical_id] = url
    stack.arns[logical_id] = f"arn:aws:sqs:{stack.region}:{ACCOUNT_ID}:{name}"


def _local_stripe_keys() -> str:
    # No secret key: the portal then uses the stand-in checkout (RELANCE_STRIPE_STAND_IN below), never Stripe.
    # A webhook signing secret of Stripe's form, new for each stack, that the stand-in and the tests sign with.
    return json.dumps({"secret_key": "", "webhook_secret": f"whsec_{secrets.token_hex(24)}"})


# Secrets whose template value is a placeholder the operator fills in: the local stack fills them itself.
LOCAL_SECRET_VALUES = {"StripeSecret": _local_stripe_keys}
# Local-only settings added to a function's environment (never in template.yaml, so never deployed).
LOCAL_ENVIRONMENT = {"PortalFunction": {"RELANCE_STRIPE_STAND_IN": "1",
                                        "RELANCE_STATIC_BASE_URL": ""},  # the local portal serves /static
                     "InstallmentsFunction": {"RELANCE_STRIPE_STAND_IN": "1"},
                     "AlertsDigestFunction": {"RELANCE_BACKOFFICE_URL": "http://127.0.0.1:8001"}}


def _create_secret(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("Name") or _physical_name(stack, logical_id)
    manager = client("secretsmanager")
    try:
        arn = manager.describe_secret(SecretId=name)["ARN"]
    except manager.exceptions.ResourceNotFoundException:
        length = int(props.get("GenerateSecretString", {}).get("PasswordLength", 64))
        if logical_id in LOCAL_SECRET_VALUES:
            value = LOCAL_SECRET_VALUES[logical_id]()
        elif "SecretString" in props:
            value = str(props["SecretString"])
        else:
            value = secrets.token_urlsafe(length)[:length]
        arn = manager.create_secret(Name=name, SecretString=value)["ARN"]
    stack.physical[logical_id] = arn
    stack.arns[logical_id] = arn


def _create_configuration_set(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("Name") or _physical_name(stack, logical_id)
    ses = client("ses")
    existing = [c["Name"] for c in ses.list_configuration_sets().get("ConfigurationSets", [])]
    if name not in existing:
        ses.create_configuration_set(ConfigurationSet={"Name": name})
    stack.physical[logical_id] = name


def _create_bucket(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = (props.get("BucketName") or _physical_name(stack, logical_id)).lower()
    s3 = client("s3")
    if name not in [b["Name"] for b in s3.list_buckets().get("Buckets", [])]:
        s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": stack.region})
    stack.physical[logical_id] = name
    stack.arns[logical_id] = f"arn:aws:s3:::{name}"
    stack.attributes[logical_id] = {"RegionalDomainName": f"{name}.s3.{stack.region}.amazonaws.com",
                                    "DomainName": f"{name}.s3.amazonaws.com"}


def _create_bucket_policy(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    # Stored, not enforced: moto does not check who reads a bucket.
    client("s3").put_bucket_policy(Bucket=props["Bucket"], Policy=json.dumps(props["PolicyDocument"]))
    stack.physical[logical_id] = props["Bucket"]


def _create_origin_access_control(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    cloudfront = client("cloudfront")
    config = props["OriginAccessControlConfig"]
    existing = cloudfront.list_origin_access_controls().get("OriginAccessControlList", {}).get("Items", [])
    found = [c["Id"] for c in existing if c["Name"] == config["Name"]]
    control_id = found[0] if found else cloudfront.create_origin_access_control(
        OriginAccessControlConfig=config)["OriginAccessControl"]["Id"]
    stack.physical[logical_id] = control_id
    stack.attributes[logical_id] = {"Id": control_id}


def _create_distribution(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    # CloudFormation's shape (plain lists) to the API's (Quantity and Items); only what moto keeps.
    config = props["DistributionConfig"]
    behaviour = config["DefaultCacheBehavior"]
    caller_reference = f"relance-{stack.parameters['Stage']}-{logical_id}"
    cloudfront = client("cloudfront")
    existing = cloudfront.list_distributions().get("DistributionList", {}).get("Items", [])
    for distribution in existing:
        described = cloudfront.get_distribution_config(Id=distribution["Id"])["DistributionConfig"]
        if described["CallerReference"] == caller_reference:
            summary = distribution
            break
    else:
        summary = cloudfront.create_distribution(DistributionConfig={
            "CallerReference": caller_reference,
            "Comment": config.get("Comment", ""),
            "Enabled": bool(config.get("Enabled", True)),
            "Origins": {"Quantity": len(config["Origins"]), "Items": [
                {"Id": o["Id"], "DomainName": o["DomainName"],
                 "S3OriginConfig": {"OriginAccessIdentity": o.get("S3OriginConfig", {}).get("OriginAccessIdentity", "")}}
                for o in config["Origins"]]},
            "DefaultCacheBehavior": {"TargetOriginId": behaviour["TargetOriginId"],
                                     "ViewerProtocolPolicy": behaviour["ViewerProtocolPolicy"],
                                     "CachePolicyId": behaviour.get("CachePolicyId", "")},
        })["Distribution"]
    stack.physical[logical_id] = summary["Id"]  # a distribution's Ref is its id
    stack.arns[logical_id] = summary["ARN"]
    stack.attributes[logical_id] = {"DomainName": summary["DomainName"], "Id": summary["Id"]}


def _create_parameter(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("Name") or f"/{_physical_name(stack, logical_id)}"
    client("ssm").put_parameter(Name=name, Value=str(props["Value"]), Type=props.get("Type", "String"),
                                Description=props.get("Description", ""), Overwrite=True)
    stack.physical[logical_id] = name  # a parameter's Ref is its name


def _create_dashboard(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("DashboardName") or _physical_name(stack, logical_id)
    json.loads(props["DashboardBody"])  # CloudWatch refuses a body that is not JSON: so does the local stack
    client("cloudwatch").put_dashboard(DashboardName=name, DashboardBody=props["DashboardBody"])
    stack.physical[logical_id] = name


def _create_topic(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("TopicName") or _physical_name(stack, logical_id)
    attributes = {key: str(props[key]) for key in ("DisplayName", "KmsMasterKeyId") if key in props}
    arn = client("sns").create_topic(Name=name, Attributes=attributes)["TopicArn"]  # the same ARN if it exists
    stack.physical[logical_id] = arn  # an SNS topic's Ref is its ARN
    stack.arns[logical_id] = arn


def _skip_topic_policy(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    # Nothing to create: moto does not check who may publish, and locally nothing publishes but the tests.
    stack.physical[logical_id] = "local"


def _create_event_destination(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    # moto stores the destination but never publishes to it: the tests hand SES events to the function.
    configuration_set = props["ConfigurationSetName"]
    destination = props["EventDestination"]
    name = destination.get("Name") or _physical_name(stack, logical_id)
    ses = client("ses")
    existing = ses.describe_configuration_set(
        ConfigurationSetName=configuration_set, ConfigurationSetAttributeNames=["eventDestinations"]
    ).get("EventDestinations", [])
    if name not in [d["Name"] for d in existing]:
        event_destination: dict[str, Any] = {
            "Name": name,
            "Enabled": bool(destination.get("Enabled", False)),
            "MatchingEventTypes": destination["MatchingEventTypes"],
        }
        if "SnsDestination" in destination:
            event_destination["SNSDestination"] = {"TopicARN": destination["SnsDestination"]["TopicARN"]}
        ses.create_configuration_set_event_destination(
            ConfigurationSetName=configuration_set, EventDestination=event_destination
        )
    stack.physical[logical_id] = name


def _create_alarm(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("AlarmName") or _physical_name(stack, logical_id)
    kwargs = {k: v for k, v in props.items() if k in {
        "AlarmDescription", "Namespace", "MetricName", "Dimensions", "Statistic", "Period", "EvaluationPeriods",
        "DatapointsToAlarm", "Threshold", "ComparisonOperator", "TreatMissingData", "AlarmActions", "Metrics"}}
    client("cloudwatch").put_metric_alarm(AlarmName=name, **kwargs)
    stack.physical[logical_id] = name
    stack.arns[logical_id] = f"arn:aws:cloudwatch:{stack.region}:{ACCOUNT_ID}:alarm:{name}"


def _create_user_pool(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("UserPoolName") or _physical_name(stack, logical_id)
    idp = client("cognito-idp")
    pools = {p["Name"]: p["Id"] for p in idp.list_user_pools(MaxResults=60).get("UserPools", [])}
    if name in pools:
        pool_id = pools[name]
    else:
        kwargs = {k: v for k, v in props.items() if k in {
            "AdminCreateUserConfig", "UsernameConfiguration", "Policies", "Schema", "AccountRecoverySetting"}}
        pool_id = idp.create_user_pool(PoolName=name, **kwargs)["UserPool"]["Id"]
    stack.physical[logical_id] = pool_id  # a user pool's Ref is its id
    stack.arns[logical_id] = f"arn:aws:cognito-idp:{stack.region}:{ACCOUNT_ID}:userpool/{pool_id}"


def _create_user_pool_client(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    name = props.get("ClientName") or _physical_name(stack, logical_id)
    idp = client("cognito-idp")
    pool_id = props["UserPoolId"]
    clients = {c["ClientName"]: c["ClientId"]
               for c in idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60).get("UserPoolClients", [])}
    if name not in clients:
        kwargs = {k: v for k, v in props.items() if k in {
            "GenerateSecret", "ExplicitAuthFlows", "PreventUserExistenceErrors", "IdTokenValidity",
            "AccessTokenValidity", "TokenValidityUnits"}}
        clients[name] = idp.create_user_pool_client(UserPoolId=pool_id, ClientName=name, **kwargs)[
            "UserPoolClient"]["ClientId"]
    stack.physical[logical_id] = clients[name]  # an app client's Ref is its id


def _create_user_pool_group(stack: LocalStack, logical_id: str, props: dict[str, Any]) -> None:
    idp = client("cognito-idp")
    name = props["GroupName"]
    try:
        idp.get_group(GroupName=name, UserPoolId=props["UserPoolId"])
    except idp.exceptions.ResourceNotFoundException:
        idp.create_group(GroupName=name, UserPoolId=props["UserPoolId"], Description=props.get("Description", ""))
    stack.physical[logical_id] = name


_CREATORS = {
    "AWS::DynamoDB::Table": _create_table,
    "AWS::SQS::Queue": _create_queue,
    "AWS::SecretsManager::Secret": _create_secret,
    "AWS::SES::ConfigurationSet": _create_configuration_set,
    "AWS::S3::Bucket": _create_bucket,
    "AWS::SNS::Topic": _create_topic,
    "AWS::CloudWatch::Alarm": _create_alarm,
    "AWS::SNS::TopicPolicy": _skip_topic_policy,
    "AWS::SES::ConfigurationSetEventDestination": _create_event_destination,
    "AWS::Cognito::UserPool": _create_user_pool,
    "AWS::Cognito::UserPoolClient": _create_user_pool_client,
    "AWS::Cognito::UserPoolGroup": _create_user_pool_group,
    "AWS::S3::BucketPolicy": _create_bucket_policy,
    "AWS::CloudFront::OriginAccessControl": _create_origin_access_control,
    "AWS::CloudFront::Distribution": _create_distribution,
    "AWS::SSM::Parameter": _create_parameter,
    "AWS::CloudWatch::Dashboard": _create_dashboard,
}


def provision(
    template: dict[str, Any] | None = None,
    parameters: dict[str, str] | None = None,
    region: str | None = None,
    endpoint_url: str | None = None,
) -> LocalStack:
    """Create every data resource of the template on moto and resolve each function's environment."""
    template = template or load_template()
    values = {name: str(spec.get("Default", "")) for name, spec in template.get("Parameters", {}).items()}
    values.update(LOCAL_PARAMETERS)
    values.update(parameters or {})
    stack = LocalStack(
        region=region or os.environ.get("AWS_DEFAULT_REGION", "eu-west-3"), endpoint_url=endpoint_url, parameters=values
    )
    resolver = _Resolver(template, stack)
    resources: dict[str, dict[str, Any]] = template["Resources"]
    unknown = sorted(
        {r["Type"] for r in resources.values()} - set(_CREATORS) - RUN_IN_PROCESS
    )
    if unknown:
        raise RuntimeError(f"the local stack cannot create these resource types yet: {', '.join(unknown)}")
    pending = [name for name, r in resources.items() if r["Type"] in _CREATORS]
    while pending:  # create in dependency order: a resource waits until what it references exists
        progressed = False
        for name in list(pending):
            try:
                props = resolver.resolve(resources[name].get("Properties", {}))
            except KeyError:
                continue
            _CREATORS[resources[name]["Type"]](stack, name, props)
            pending.remove(name)
            progressed = True
        if not progressed:
            raise RuntimeError(f"cannot resolve the references of: {', '.join(pending)}")
    for name in resources:
        if resources[name]["Type"] == "AWS::Serverless::HttpApi":
            stack.physical[name] = "local"
    client("ses").verify_email_identity(EmailAddress=values["SenderAddress"])
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    for name, resource in resources.items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        own = resource.get("Properties", {}).get("Environment", {}).get("Variables", {})
        stack.environments[name] = {k: str(v) for k, v in resolver.resolve({**global_env, **own}).items()}
        stack.environments[name].update(LOCAL_ENVIRONMENT.get(name, {}))
    return stack


def write_stack_file(stack: LocalStack, path: Path = DEFAULT_STACK_FILE) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(stack.to_json(), indent=2), encoding="utf-8")
    return path


def apply_stack_file(path: Path = DEFAULT_STACK_FILE) -> dict[str, Any] | None:
    """Point this process at the local stack described in `path`, if there is one."""
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    merged: dict[str, str] = {}
    for variables in data["environments"].values():
        merged.update(variables)
    merged.pop("POWERTOOLS_SERVICE_NAME", None)
    os.environ.update(merged)
    if data.get("endpoint_url"):
        os.environ["AWS_ENDPOINT_URL"] = data["endpoint_url"]
        os.environ.setdefault("AWS_ACCESS_KEY_ID", "local")
        os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "local")
    os.environ.setdefault("AWS_DEFAULT_REGION", data["region"])
    return data
