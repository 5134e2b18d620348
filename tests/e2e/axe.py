"""axe-core, from npm (package-lock.json), run inside a page the browser tests have open.

The script is evaluated through the DevTools protocol, which the page's Content-Security-Policy
(no inline scripts) does not govern, so the pages are checked exactly as they are served.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]
BLOCKING = {"serious", "critical"}


@cache
def _axe_source() -> str:
    if not AXE.is_file():
        raise FileNotFoundError(f"{AXE} is missing: run `make node-packages` (npm ci) first")
    return AXE.read_text(encoding="utf-8")


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Every serious or critical axe-core violation on the page as it is now, styled as the reader sees it.

    Sizes (target-size, contrast) are only right once the style sheets and fonts are in: on a busy machine a
    navigation's heading can be visible before then, so wait for both rather than judge an unstyled page.
    """
    page.wait_for_load_state("load")
    page.evaluate("async () => { await document.fonts.ready; return true; }")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(f"() => {{ {_axe_source()}\n; return true; }}")
    result = page.evaluate("async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
                           TAGS)
    return [
        {"id": v["id"], "impact": v["impact"], "help": v["help"],
         "targets": [node["target"] for node in v["nodes"]][:5]}
        for v in result["violations"] if v.get("impact") in BLOCKING
    ]


def assert_accessible(page: Any) -> None:
    violations = axe_violations(page)
    assert violations == [], f"axe-core on {page.url.split('/d/')[0]}: {violations}"
