"""Counting AWS calls and the DynamoDB items they return, for the benchmarks (botocore's `_make_api_call`)."""

from __future__ import annotations

from collections import Counter


class Calls:
    """Counts every AWS call and the DynamoDB items each read returns."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.items_read = 0

    def install(self) -> None:
        import botocore.client

        original = botocore.client.BaseClient._make_api_call
        calls = self

        def counting(client, operation_name, api_params):
            response = original(client, operation_name, api_params)
            calls.calls[f"{client.meta.service_model.service_name}.{operation_name}"] += 1
            if operation_name == "Query":
                calls.items_read += response.get("ScannedCount", response.get("Count", 0))  # read (billed), filter or not
            elif operation_name == "GetItem":
                calls.items_read += 1 if "Item" in response else 0
            elif operation_name == "BatchGetItem":
                calls.items_read += sum(len(v) for v in response.get("Responses", {}).values())
            return response

        botocore.client.BaseClient._make_api_call = counting

    def reset(self) -> None:
        self.calls.clear()
        self.items_read = 0
