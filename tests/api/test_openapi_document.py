"""The published OpenAPI document is the one the code generates, and it says what the API promises."""

from __future__ import annotations

import json

from relance_cli.api_keys import OPENAPI_FILE, openapi_text


def test_the_committed_openapi_document_is_the_one_the_code_generates():
    generated = openapi_text()

    assert OPENAPI_FILE.read_text(encoding="utf-8") == generated, (
        "docs/assets/openapi.json is stale: run `.venv/bin/relance api openapi > docs/assets/openapi.json`"
    )


def test_every_route_needs_a_bearer_key_and_documents_its_errors_as_json():
    document = json.loads(openapi_text())

    assert document["security"] == [{"apiKey": []}]
    assert document["components"]["securitySchemes"]["apiKey"]["scheme"].lower() == "bearer"
    for path, methods in document["paths"].items():
        for method, operation in methods.items():
            assert {"200", "401", "429"} <= set(operation["responses"]), (method, path)
            for status, answer in operation["responses"].items():
                if status != "200":
                    assert answer["content"]["application/json"]["schema"] == {
                        "$ref": "#/components/schemas/ErrorOut"
                    }


def test_every_post_takes_an_idempotency_key_and_money_is_integers():
    document = json.loads(openapi_text())

    for path, methods in document["paths"].items():
        if "post" in methods:
            assert "idempotency-key" in {p["name"].lower() for p in methods["post"]["parameters"]}, path
    amounts = {
        name: spec
        for schema in document["components"]["schemas"].values()
        for name, spec in schema.get("properties", {}).items()
        if name.endswith("_minor")
    }
    assert amounts
    assert all("number" not in json.dumps(spec) for spec in amounts.values()), amounts
