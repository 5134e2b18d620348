"""Each API key has a budget of requests per minute; past it, 429 with Retry-After."""

from __future__ import annotations

from tests.api.conftest import CREDITOR_B, Api, make_creditors_and_keys


def test_a_key_over_its_budget_gets_429_with_retry_after(erp_stack, monkeypatch):
    monkeypatch.setenv("RELANCE_API_RATE_LIMIT_PER_MINUTE", "3")
    api = Api(make_creditors_and_keys(suffix="-limited"))

    answers = [api.get("/v1/events") for _ in range(7)]  # 7 calls span at most two one-minute windows

    limited = [a for a in answers if a.status == 429]
    assert sum(a.status == 200 for a in answers) <= 6
    assert limited, [a.status for a in answers]
    assert 1 <= int(limited[0].headers["retry-after"]) <= 61
    assert limited[0].body["errors"][0]["code"] == "api.rate_limited"
    assert api.get("/v1/events", creditor=CREDITOR_B).status == 200  # another key has its own budget
