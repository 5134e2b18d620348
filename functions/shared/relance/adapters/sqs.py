"""The reminder job queue on SQS."""

from __future__ import annotations

import json
from typing import Any

from relance.adapters.aws import client
from relance.services.jobs import ReminderJob

SQS_BATCH_LIMIT = 10


class SqsJobQueue:
    """Queues reminder jobs, ten per call."""

    def __init__(self, queue_url: str, sqs: Any | None = None) -> None:
        self.queue_url = queue_url
        self._client = sqs or client("sqs")

    def send_jobs(self, jobs: list[ReminderJob]) -> None:
        for start in range(0, len(jobs), SQS_BATCH_LIMIT):
            batch = jobs[start : start + SQS_BATCH_LIMIT]
            entries = [{"Id": str(i), "MessageBody": json.dumps(job.to_dict())} for i, job in enumerate(batch)]
            response = self._client.send_message_batch(QueueUrl=self.queue_url, Entries=entries)
            failed = response.get("Failed", [])
            if failed:  # let the scan fail and be retried: the worker ignores jobs already done
                raise RuntimeError(f"SQS refused {len(failed)} of {len(entries)} reminder jobs: {failed[0].get('Code')}")
