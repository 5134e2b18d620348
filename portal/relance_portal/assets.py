"""Static files under content-hashed names, so that a CDN and browsers may keep them for a year.

`portal.css` is published as `portal.<first 12 hex of its SHA-256>.css`; a changed file gets a new
name, so no cache ever serves a stale stylesheet. Locally Flask serves the file itself and the
hash travels as a `v` query parameter for the same effect.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from functools import cache
from pathlib import Path

STATIC = Path(__file__).resolve().parent / "static"
HASH_LENGTH = 12


@cache
def content_hash(filename: str) -> str:
    """The first hex digits of the file's SHA-256 (read once per process: the files ship with the code)."""
    return hashlib.sha256((STATIC / filename).read_bytes()).hexdigest()[:HASH_LENGTH]


def hashed_name(filename: str) -> str:
    """`portal.css` → `portal.<hash>.css` (the suffix stays last, for content-type guessing)."""
    path = Path(filename)
    return str(path.with_name(f"{path.stem}.{content_hash(filename)}{path.suffix}"))


def static_files() -> Iterator[tuple[str, Path]]:
    """Every static file, by its name relative to the static folder."""
    for path in sorted(STATIC.rglob("*")):
        if path.is_file():
            yield path.relative_to(STATIC).as_posix(), path
