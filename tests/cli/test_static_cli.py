"""`relance static publish`: hashed, immutable copies of the portal's static files in a bucket."""

from __future__ import annotations

import re

from relance.adapters.aws import client
from relance_cli.main import main
from relance_portal.assets import hashed_name


def test_publish_puts_each_static_file_under_its_hashed_name_for_a_year(aws, capsys):
    s3 = client("s3")
    s3.create_bucket(Bucket="static", CreateBucketConfiguration={"LocationConstraint": "eu-west-3"})

    assert main(["static", "publish", "--bucket", "static", "--prefix", "portal/"]) == 0
    assert main(["static", "publish", "--bucket", "static", "--prefix", "portal/"]) == 0  # again: same keys

    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="static")["Contents"]]
    assert f"portal/{hashed_name('portal.css')}" in keys
    assert all(re.fullmatch(r"portal/.+\.[0-9a-f]{12}\.\w+", key) for key in keys)
    head = s3.head_object(Bucket="static", Key=f"portal/{hashed_name('portal.css')}")
    assert head["ContentType"] == "text/css"
    assert head["CacheControl"] == "public, max-age=31536000, immutable"
    assert f"s3://static/portal/{hashed_name('portal.css')}" in capsys.readouterr().out
