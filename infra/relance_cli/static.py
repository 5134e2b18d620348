"""`relance static publish`: the portal's static files to the bucket the CDN serves, under hashed names."""

from __future__ import annotations

import mimetypes
from typing import Any

IMMUTABLE = "public, max-age=31536000, immutable"  # a hashed name never changes content


def publish(bucket: str, prefix: str = "") -> list[str]:
    """Upload every static file as `<prefix><name>.<hash>.<ext>`; returns the keys written.

    Publishing twice writes the same keys with the same bytes: nothing changes for browsers.
    Run it before deploying a portal whose templates name the new files.
    """
    from relance.adapters.aws import client
    from relance_portal.assets import hashed_name, static_files

    s3 = client("s3")
    written = []
    for name, path in static_files():
        key = f"{prefix}{hashed_name(name)}"
        content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
        s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes(), ContentType=content_type,
                      CacheControl=IMMUTABLE)
        written.append(key)
    return written


def run(args: Any) -> int:
    for key in publish(args.bucket, args.prefix):
        print(f"s3://{args.bucket}/{key}")
    return 0


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("static", help="the portal's static files")
    commands = parser.add_subparsers(dest="static_command", required=True)
    publish_parser = commands.add_parser(
        "publish", help="upload the portal's CSS and other static files under content-hashed names",
        description="Set the portal's STATIC_BASE_URL to the address that serves this bucket and prefix.")
    publish_parser.add_argument("--bucket", required=True, help="the static assets bucket")
    publish_parser.add_argument("--prefix", default="", help="key prefix, e.g. portal/")
    publish_parser.set_defaults(handler=run)
