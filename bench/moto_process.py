"""A fresh moto server in its own process for the benchmarks: what they measure is then this process alone."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A fresh moto server (with relance_cli.moto_patches) in its own process group; yields its address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = subprocess.Popen(  # noqa: S603 - our own interpreter running moto
        [sys.executable, "-m", "relance_cli.moto_server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _attempt in range(300):
            try:
                with urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1):  # noqa: S310 - local moto
                    break
            except OSError:
                time.sleep(0.1)
        else:
            raise RuntimeError(f"moto server did not answer at {endpoint}")
        yield endpoint
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:  # a server busy freeing a large table: it has done its job
            server.kill()
            server.wait()
