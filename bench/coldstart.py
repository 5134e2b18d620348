"""Cold import of every Lambda handler that template.yaml names: median of fresh interpreters, peak RSS.

For each function of the template, starts a new Python interpreter N times (20 by default) with the
environment the template gives that function (references resolved to placeholder names), a region and
dummy credentials, and times `import <handler module>` with the function's code folder first on
sys.path, as Lambda's init phase does. The network is closed inside the child (an audit hook refuses
every DNS look-up and socket connect), so a handler whose import calls AWS fails here instead of
timing a round trip. Prints, per handler, the median and p90 import time, the peak RSS of the
interpreter after the import, and PASS/FAIL against the issue's budgets:

- the daily scan (DailyScanFunction) and the dunning worker (SendRemindersFunction): 250 ms;
- the debtor portal (PortalFunction): 600 ms.

What it measures is this machine's venv with its `.pyc` files already compiled: Lambda reads the
layer from a read-only /opt, so a layer shipped without `__pycache__` is compiled again on every
cold start (see `--no-pyc`, which times that case). The machine may be shared: rerun before trusting
a figure near a budget.

    python bench/coldstart.py
    python bench/coldstart.py --runs 5 --function PortalFunction
    python bench/coldstart.py --no-pyc          # as on Lambda with a layer shipped without .pyc files
    python -X importtime -c "import daily_scan"  # to see why one is slow (with its folder on PYTHONPATH)

Exit status 1 when a budget is exceeded or a handler's import touches the network.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "infra"))

from relance_cli.local_stack import load_template  # noqa: E402 - after the path above

FLOOR = "(floor: boto3+Powertools)"
BUDGETS_MS = {"DailyScanFunction": 250, "SendRemindersFunction": 250, "PortalFunction": 600}
AWS_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": "eu-west-3",
    "AWS_REGION": "eu-west-3",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_EC2_METADATA_DISABLED": "true",
    "AWS_LAMBDA_FUNCTION_NAME": "coldstart",
}

# Runs in the fresh interpreter: close the network, import the handler, report time and peak RSS.
CHILD = r"""
import sys, time
def _closed(event, args):
    if event in ("socket.getaddrinfo", "socket.connect"):
        raise ConnectionRefusedError(f"network used during import ({event} {args[1] if len(args) > 1 else ''})")
sys.addaudithook(_closed)
sys.path.insert(0, sys.argv[1])
started, started_cpu = time.perf_counter(), time.process_time()
__import__(sys.argv[2])
elapsed, elapsed_cpu = time.perf_counter() - started, time.process_time() - started_cpu
clients_started = time.perf_counter()
if "relance.adapters.aws" in sys.modules:  # the boto3 clients the handler wired, which its first call builds
    sys.modules["relance.adapters.aws"].create_clients()
clients = time.perf_counter() - clients_started
import json, resource
print(json.dumps({"ms": elapsed * 1000, "cpu_ms": elapsed_cpu * 1000, "clients_ms": clients * 1000,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


class _Placeholders:
    """Resolves the template's intrinsic functions to plausible strings, without AWS."""

    def __init__(self, template: dict[str, Any]) -> None:
        self.parameters = {n: str(p.get("Default", "")) for n, p in template.get("Parameters", {}).items()}
        self.parameters["Stage"] = "bench"
        self.conditions = template.get("Conditions", {})

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
                return f"arn:aws:bench:eu-west-3:123456789012:{value[0]}"
            if name == "Fn::Sub":
                text = value if isinstance(value, str) else value[0]
                return re.sub(r"\$\{([^}!]+)\}", lambda m: str(self._ref(m.group(1).split(".")[0])), text)
            if name == "Fn::If":
                condition, yes, no = value
                return self.resolve(yes if self.resolve(self.conditions[condition]) else no)
            if name == "Fn::Equals":
                left, right = (self.resolve(v) for v in value)
                return left == right
            if name == "Fn::Not":
                return not self.resolve(value[0])
            if name == "Condition":
                return self.resolve(self.conditions[value])
        return {k: self.resolve(v) for k, v in node.items()}

    def _ref(self, name: str) -> str:
        pseudo = {"AWS::Region": "eu-west-3", "AWS::AccountId": "123456789012", "AWS::Partition": "aws",
                  "AWS::StackName": "relance-bench", "AWS::URLSuffix": "amazonaws.com"}
        if name in pseudo:
            return pseudo[name]
        return self.parameters.get(name, f"relance-bench-{name}")


def handlers(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each function's code folder, handler module and environment, as the template gives them."""
    resolver = _Placeholders(template)
    global_env = template.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})
    found = {}
    for name, resource in template["Resources"].items():
        if resource["Type"] != "AWS::Serverless::Function":
            continue
        properties = resource["Properties"]
        variables = {**global_env, **properties.get("Environment", {}).get("Variables", {})}
        found[name] = {
            "code": REPO / properties["CodeUri"],
            "module": properties["Handler"].rpartition(".")[0],
            "environment": {k: str(v) for k, v in resolver.resolve(variables).items()},
        }
    return found


def measure(handler: dict[str, Any], runs: int, no_pyc: bool) -> dict[str, Any]:
    """Import times (ms) and peak RSS (MB) of `runs` fresh interpreters, or the error the import raised."""
    environment = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "LANG": "C.UTF-8",
                   **AWS_ENVIRONMENT, **handler["environment"]}
    times, cpu_times, client_times, peaks = [], [], [], []
    with tempfile.TemporaryDirectory() as empty_cache:
        if no_pyc:  # no .pyc files to read and none written: every module compiled from source, as from /opt
            environment.update(PYTHONPYCACHEPREFIX=empty_cache, PYTHONDONTWRITEBYTECODE="1")
        for _ in range(runs):
            result = subprocess.run([sys.executable, "-c", CHILD, str(handler["code"]), handler["module"]],
                                    capture_output=True, text=True, check=False, env=environment, cwd=tempfile.gettempdir())
            if result.returncode != 0:
                return {"error": (result.stderr.strip().splitlines() or ["no output"])[-1]}
            figures = json.loads(result.stdout.strip().splitlines()[-1])
            times.append(figures["ms"])
            cpu_times.append(figures["cpu_ms"])
            client_times.append(figures["clients_ms"])
            peaks.append(figures["rss_mb"])
    ordered = sorted(times)
    return {"median": statistics.median(times), "p90": ordered[int(0.9 * (len(ordered) - 1))],
            "cpu_median": statistics.median(cpu_times), "clients_median": statistics.median(client_times),
            "rss_mb": max(peaks)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=20, help="fresh interpreters per handler (default 20)")
    parser.add_argument("--function", action="append", help="only this function (logical id); repeatable")
    parser.add_argument("--no-pyc", action="store_true", help="compile every module from source, as from a layer without .pyc")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args(argv)

    found = handlers(load_template())
    chosen = {n: h for n, h in found.items() if not args.function or n in args.function}
    # What every handler pays before its own code (boto3's DynamoDB types and Powertools), measured alike.
    chosen[FLOOR] = {"code": REPO / "bench", "module": "_coldstart_floor", "environment": {}}
    print(f"Cold import, median of {args.runs} fresh interpreters ({sys.version.split()[0]}, "
          f"{'no .pyc' if args.no_pyc else '.pyc compiled'}, {os.cpu_count()} cores, "
          f"load {os.getloadavg()[0]:.1f})")
    print(f"{'function':<24} {'module':<20} {'median ms':>10} {'p90 ms':>8} {'CPU ms':>7} {'+clients':>9} {'peak RSS MB':>12}  budget")
    failed = False
    report = {}
    for name, handler in sorted(chosen.items(), key=lambda item: (item[0] == FLOOR, item[0])):
        figures = measure(handler, args.runs, args.no_pyc)
        report[name] = figures
        budget = BUDGETS_MS.get(name)
        if "error" in figures:
            failed = True
            print(f"{name:<24} {handler['module']:<20} FAIL: {figures['error']}")
            continue
        verdict = ""
        if budget is not None:
            passed = figures["median"] <= budget
            failed |= not passed
            verdict = f"<= {budget} ms {'PASS' if passed else 'FAIL'}"
        print(f"{name:<24} {handler['module']:<20} {figures['median']:>10.0f} {figures['p90']:>8.0f} "
              f"{figures['cpu_median']:>7.0f} {figures['clients_median']:>9.0f} {figures['rss_mb']:>12.0f}  {verdict}")
    if args.json:
        print(json.dumps(report, indent=2))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
