"""What every handler imports before any Relance code, for bench/coldstart.py's floor row."""

from aws_lambda_powertools import Logger, Metrics  # noqa: F401
from boto3.dynamodb.types import TypeDeserializer  # noqa: F401 - the table's codec: boto3, botocore, s3transfer
