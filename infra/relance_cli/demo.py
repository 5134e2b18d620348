"""`make demo`: moto server + the stack from template.yaml + a French export + the portal, until Ctrl-C."""

from __future__ import annotations

import io
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import date, timedelta
from pathlib import Path

from relance_cli.local_stack import DEFAULT_STACK_FILE, REPO_ROOT

DEMO_EXPORT = Path(__file__).parent / "demo_data" / "invoices_fr_excel.csv"
DEMO_CREDITOR = "demo"
DEMO_FINANCE_USER = "finance@atelier-demo.example.fr"
_FR_DATE = re.compile(rb"\b(\d{2})/(\d{2})/(\d{4})\b")
LEAD_DAYS = 30  # the newest invoice falls due this many days after the demo day


def shifted_export(source: bytes, as_of: date) -> bytes:
    """The export with every dd/mm/yyyy date moved so that its latest due date is `as_of` + 30 days.

    The fixture's dates lie in 2025; shifted, a new user sees invoices not yet due, just late and
    long late, rather than a year of arrears.
    """
    dates = [date(int(y), int(m), int(d)) for d, m, y in _FR_DATE.findall(source)]
    shift = as_of + timedelta(days=LEAD_DAYS) - max(dates)

    def move(match: re.Match[bytes]) -> bytes:
        day = date(int(match[3]), int(match[2]), int(match[1])) + shift
        return day.strftime("%d/%m/%Y").encode()

    return _FR_DATE.sub(move, source)


def _stack_file() -> Path:
    return Path(os.environ.get("RELANCE_STACK_FILE") or DEFAULT_STACK_FILE)


def _free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def _wait_for(url: str, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310 - local moto server
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"moto server did not answer at {url} within {seconds:.0f} s")


def _relance(*args: str) -> None:
    from relance_cli.main import main

    code = main(["--stack-file", str(_stack_file()), *args])
    if code != 0:
        raise RuntimeError(f"`relance {' '.join(args)}` failed with exit code {code}")


def _last_business_day(day: date) -> date:
    from relance.adapters.calendars import closed_days
    from relance.domain.calendar import is_business_day

    closed = closed_days("FR")
    while not is_business_day(day, closed):
        day -= timedelta(days=1)
    return day


def _stop(_signum: int, _frame: object) -> None:
    raise KeyboardInterrupt


def run(port: int = 8000, moto_port: int = 5000, as_of: str | None = None, backoffice_port: int | None = None) -> int:
    """Start everything, seed it, print a link and the outbox, serve the portal until Ctrl-C."""
    backoffice_port = backoffice_port or port + 1
    for wanted in (port, backoffice_port, moto_port):
        if not _free(wanted):
            print(f"relance demo: port {wanted} is in use; stop what uses it or pass --port/--moto-port", file=sys.stderr)
            return 2
    endpoint = f"http://127.0.0.1:{moto_port}"
    moto = subprocess.Popen(  # noqa: S603 - our own interpreter running moto
        [sys.executable, "-m", "relance_cli.moto_server", "-H", "127.0.0.1", "-p", str(moto_port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )
    signal.signal(signal.SIGTERM, _stop)
    try:
        _wait_for(f"{endpoint}/moto-api/")
        print(f"moto server on {endpoint}")
        _relance("stack", "provision", "--endpoint-url", endpoint, "--portal-url", f"http://127.0.0.1:{port}")
        _relance("creditor", "add", DEMO_CREDITOR, "--name", "Atelier Démo Relance SAS", "--siren", "000000018",
                 "--email", "compta@atelier-demo.example.fr", "--phone", "01 99 00 00 00",
                 "--address", "1 rue de l'Exemple, 75001 Paris",
                 "--finance-email", "finance@atelier-demo.example.fr")  # the daily alerts digest
        day = date.fromisoformat(as_of) if as_of else _last_business_day(date.today())
        with tempfile.TemporaryDirectory() as folder:
            export = Path(folder, "invoices_fr_excel_shifted.csv")
            export.write_bytes(shifted_export(DEMO_EXPORT.read_bytes(), day))
            print(f"Importing {DEMO_EXPORT.name} with its dates moved around {day.isoformat()}")
            _relance("import", str(export), "--creditor", DEMO_CREDITOR)
        _relance("run-day", "--date", day.isoformat())
        debtor_id = _a_reminded_debtor()
        print("\nA debtor's personal link (open it in a browser):")
        _relance("link", debtor_id, "--creditor", DEMO_CREDITOR)
        print("\nOutbox:")
        _relance("outbox", "--limit", "10")
        password = _finance_user()
        return _serve_portal(port, backoffice_port, password)
    except KeyboardInterrupt:
        return 0
    finally:
        os.killpg(moto.pid, signal.SIGTERM)
        try:
            moto.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(moto.pid, signal.SIGKILL)
            moto.wait()
        print("\nDemo stopped: moto server and portal are down.")


def _a_reminded_debtor() -> str:
    from relance_cli.local_stack import apply_stack_file
    from relance_cli.outbox import read_outbox

    stack = apply_stack_file(_stack_file())
    assert stack is not None
    for mail in read_outbox(stack["endpoint_url"], stack["region"]):
        if mail.reminder_id:
            return mail.reminder_id.split(":")[1]
    raise RuntimeError("the demo day sent no reminder; is the export empty?")


def _finance_user() -> str:
    """A finance account for the back office, with a fresh password for this demo only (printed once)."""
    password = f"Demo-{secrets.token_hex(6)}-Aa1"
    stdin, sys.stdin = sys.stdin, io.StringIO(password + "\n")
    try:
        _relance("users", "add", "--email", DEMO_FINANCE_USER, "--group", "finance", "--creditor", DEMO_CREDITOR,
                 "--password-stdin")
    finally:
        sys.stdin = stdin
    return password


def _serve_portal(port: int, backoffice_port: int, finance_password: str) -> int:
    from werkzeug.serving import WSGIRequestHandler, make_server

    class QuietHandler(WSGIRequestHandler):
        def log_request(self, code="-", size="-") -> None:  # a request line would print a link token
            pass

    from relance_portal import create_app
    from relance_portal.wiring import portal_config

    from relance_backoffice import create_app as create_backoffice
    from relance_backoffice.wiring import backoffice_config

    app = create_app({**portal_config(), "SESSION_COOKIE_SECURE": False, "PREFERRED_URL_SCHEME": "http"})
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=QuietHandler)
    backoffice = create_backoffice({**backoffice_config(), "SESSION_COOKIE_SECURE": False,
                                    "PREFERRED_URL_SCHEME": "http"})
    finance = make_server("127.0.0.1", backoffice_port, backoffice, threaded=True, request_handler=QuietHandler)
    threading.Thread(target=finance.serve_forever, daemon=True).start()
    print(f"\nBack office on http://127.0.0.1:{backoffice_port}/ (sign in as {DEMO_FINANCE_USER}, "
          f"password {finance_password})")
    print(f"\nPortal on http://127.0.0.1:{port}/ (Ctrl-C stops the demo)")
    try:
        server.serve_forever()
    finally:
        finance.shutdown()
        finance.server_close()
        server.server_close()
    return 0


if __name__ == "__main__":
    os.chdir(REPO_ROOT)
    sys.exit(run())
