"""moto server for the local stack: `python -m relance_cli.moto_server -H 127.0.0.1 -p 5000`.

The same server as `moto_server`, with relance_cli.moto_patches applied in its process.
"""

from __future__ import annotations

import sys

from moto.server import main as moto_main

from relance_cli import moto_patches


def main(argv: list[str] | None = None) -> None:
    moto_patches.apply()
    moto_patches.forget_dynamodb_items()
    moto_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    main()
