"""`make demo` as a new user meets it: a link that answers in French and English, Ctrl-C stops everything."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import REPO

RELANCE = Path(sys.executable).parent / "relance"
LINK = re.compile(r"^(http://127\.0\.0\.1:(\d+)/d/\S+)$", re.MULTILINE)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def is_listening(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def fetch(opener: urllib.request.OpenerDirector, url: str) -> tuple[int, str]:
    with opener.open(url, timeout=20) as response:  # the demo on loopback
        return response.status, response.read().decode()


@pytest.mark.slow
def test_the_demo_prints_a_working_link_and_ctrl_c_leaves_nothing_behind(tmp_path):
    portal_port, moto_port, backoffice_port = free_port(), free_port(), free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "RELANCE_"))}
    env["RELANCE_STACK_FILE"] = str(tmp_path / "stack.json")
    demo = subprocess.Popen(
        [str(RELANCE), "demo", "--port", str(portal_port), "--moto-port", str(moto_port),
         "--backoffice-port", str(backoffice_port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True,
    )
    output = ""
    try:
        deadline = time.monotonic() + 240
        while "Portal on" not in output and time.monotonic() < deadline and demo.poll() is None:
            output += demo.stdout.readline()
        assert "Portal on" in output, output
        while not is_listening(portal_port) and time.monotonic() < deadline:
            time.sleep(0.1)
        link = LINK.search(output).group(1)

        assert LINK.search(output).group(2) == str(portal_port)
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())  # the link opens a session
        french_status, french = fetch(browser, link)
        english_status, english = fetch(browser, f"http://127.0.0.1:{portal_port}/account?lang=en")

        assert french_status == english_status == 200
        assert re.search(r"\d\u202f\d{3},\d{2}\u00a0€|\d+,\d{2}\u00a0€", french), "no French-formatted balance"
        assert re.search(r"€\d{1,3}(,\d{3})*\.\d{2}", english), "no English-formatted balance"
        assert re.search(r"^- to \S+@example\.\w+: (Relance amicale|Friendly reminder)", output, re.MULTILINE)
        signed = re.search(r"Back office on (http://127\.0\.0\.1:\d+/) \(sign in as (\S+), password (\S+)\)", output)
        assert signed and signed.group(1) == f"http://127.0.0.1:{backoffice_port}/", output
        sign_in_status, sign_in = fetch(browser, f"{signed.group(1)}sign-in")
        assert sign_in_status == 200 and 'name="password"' in sign_in
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', sign_in).group(1)
        form = urllib.parse.urlencode({"csrf_token": csrf, "username": signed.group(2),
                                       "password": signed.group(3)}).encode()
        with browser.open(urllib.request.Request(f"{signed.group(1)}sign-in", data=form), timeout=20) as landed:
            assert "Tableau de bord" in landed.read().decode()  # the printed account signs in
    finally:
        with contextlib.suppress(ProcessLookupError):  # the demo may have stopped on its own (a failure above)
            os.killpg(demo.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends
        rest, _ = demo.communicate(timeout=60)
        output += rest

    assert demo.returncode == 0, output
    assert "Demo stopped" in output
    assert not is_listening(portal_port) and not is_listening(backoffice_port) and not is_listening(moto_port)
    leftovers = subprocess.run(["pgrep", "-f", f"relance_cli.moto_server -H 127.0.0.1 -p {moto_port}"],
                               capture_output=True, text=True, check=False)
    assert leftovers.stdout == ""
