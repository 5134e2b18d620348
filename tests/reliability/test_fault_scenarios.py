"""Faults injected into the moto stack (issue #11): SES throttled mid-batch, a worker killed after SES took the
mail, SES's answer lost to a read timeout, two workers on one debtor, an import interrupted half-way. After each
scenario the invariants of `tests/reliability/invariants.py` are checked, including that the captured logs carry no
personal data."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime, timedelta

import pytest
from botocore.exceptions import ClientError

from relance.adapters import dynamo as dynamo_module
from relance.adapters.aws import client
from relance.adapters.dynamo import DynamoStore
from relance.adapters.wiring import policies_for
from relance.services import imports
from relance.services.dunning import ContactInProgress
from relance.services.jobs import ReminderJob
from relance_cli import local_lambda
from tests.integration.conftest import CREDITOR, MONDAY, overdue_debtors_with_email, small_export
from tests.reliability import invariants

WORKER = "SendRemindersFunction"


def _all_invariants(relance, stack, logs: str, export_text: str) -> None:
    table = stack.physical["RelanceTable"]
    invariants.money_adds_up(table)
    invariants.no_reminder_after_settlement(table)
    invariants.one_contact_per_debtor_per_day(table)
    invariants.audit_chain_verifies(relance, CREDITOR)
    invariants.no_personal_data(logs, invariants.fixture_personal_data(export_text))


def _ses_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "injected"}, "ResponseMetadata": {"HTTPStatusCode": 400}},
                       "SendEmail")


class FaultySes:
    """Wraps the shared SES client's send_email: `before` maps the n-th call (1-based) to an error raised instead
    of sending; `after` maps it to an error raised once SES accepted the mail (the process dies right after)."""

    def __init__(self, monkeypatch, before: dict[int, Exception] | None = None,
                 after: dict[int, BaseException] | None = None, during=None) -> None:
        shared = client("sesv2")  # the worker's SesMailer holds this same cached client
        self.ses = shared._built() if hasattr(shared, "_built") else shared  # the boto3 client behind a lazy one
        self.real = self.ses.send_email
        self.before, self.after, self.during = before or {}, after or {}, during
        self.calls = 0
        self.accepted: list[str] = []
        monkeypatch.setattr(self.ses, "send_email", self)

    def __call__(self, **kwargs):
        self.calls += 1
        if self.calls in self.before:
            raise self.before[self.calls]
        if self.during is not None and self.calls == 1:
            self.during()
        message_id = self.real(**kwargs)["MessageId"]
        self.accepted.append(message_id)
        if self.calls in self.after:
            raise self.after[self.calls]
        return {"MessageId": message_id}


def _scan_day(stack, visibility_seconds: int | None = None) -> str:
    queue = stack.physical["ReminderQueue"]
    if visibility_seconds is not None:  # a failed message comes back at once, as it would 180 s later on AWS
        client("sqs").set_queue_attributes(QueueUrl=queue, Attributes={"VisibilityTimeout": str(visibility_seconds)})
    local_lambda.invoke("DailyScanFunction", {"business_date": MONDAY.isoformat()})
    return queue


def _deliver(event: dict) -> str:
    """Invoke the worker as Lambda does: "done", or "retried" when the record comes back to the queue (a partial
    batch failure, or the whole invocation failing when its only record failed)."""
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    try:
        result = local_lambda.invoke(WORKER, event)
    except BatchProcessingError:
        return "retried"
    return "retried" if result["batchItemFailures"] else "done"


def _contacts(store: DynamoStore, debtor_id: str) -> list[dict]:
    return store.contacts_of(CREDITOR, debtor_id)


# --- SES throttled mid-batch ------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["Throttling", "ServiceUnavailable", "TooManyRequestsException"])
def test_ses_refusing_mails_mid_batch_fails_those_records_alone_and_their_redelivery_sends_each_once(
        relance, stack, tmp_path, monkeypatch, capsys, code):
    export = small_export(tmp_path)
    relance.json("import", str(export), "--creditor", CREDITOR)
    queue = _scan_day(stack, visibility_seconds=0)
    ses = FaultySes(monkeypatch, before={2: _ses_error(code), 4: _ses_error(code)})

    with invariants.verbose_lambdas():
        drained = local_lambda.drain(queue, WORKER, max_batches=10)

    expected = overdue_debtors_with_email(MONDAY, export)
    assert drained.failures == 2  # the two refused mails, alone; the batch's other records were done
    assert drained.batches == 2  # the redelivery sent them
    outbox = relance.outbox()
    assert len(outbox) == len(expected) == len(ses.accepted)
    assert sorted(m["to"][0] for m in outbox) == sorted(expected.values())
    store = DynamoStore(stack.physical["RelanceTable"])
    for debtor_id in {m["reminder_id"].split(":")[1] for m in outbox}:  # creditor:debtor:business_date
        assert [c["status"] for c in _contacts(store, debtor_id)] == ["sent"]
        assert [a["action"] for a in store.audit_of(CREDITOR, debtor_id)] == ["reminder_sent"]
    _all_invariants(relance, stack, capsys.readouterr().err, export.read_text(encoding="utf-8"))


# --- the worker dies after SES took the mail, before recording it ------------------------------------


def _one_job_event(stack) -> tuple[dict, str]:
    queue = stack.physical["ReminderQueue"]
    [message] = client("sqs").receive_message(QueueUrl=queue, MaxNumberOfMessages=1)["Messages"]
    return local_lambda.sqs_event([message], stack.arns["ReminderQueue"], "eu-west-3"), \
        json.loads(message["Body"])["debtor_id"]


def _age_the_sending_mark(stack, debtor_id: str, seconds: int) -> None:
    """What the SQS visibility timeout (180 s) does between the death and the redelivery."""
    from relance.adapters import keys

    table = stack.physical["RelanceTable"]
    earlier = (datetime.now(UTC) - timedelta(seconds=seconds)).isoformat()
    client("dynamodb").update_item(
        TableName=table, Key={"PK": {"S": keys.debtor_pk(CREDITOR, debtor_id)}, "SK": {"S": keys.contact_sk(MONDAY)}},
        UpdateExpression="SET sending_at = :t", ExpressionAttributeValues={":t": {"S": earlier}})


def test_a_worker_killed_after_ses_took_the_mail_never_sends_it_again_and_records_the_step(
        relance, stack, tmp_path, monkeypatch, capsys):
    export = small_export(tmp_path, debtors=2)
    relance.json("import", str(export), "--creditor", CREDITOR)
    _scan_day(stack)
    event, debtor_id = _one_job_event(stack)
    ses = FaultySes(monkeypatch, after={1: RuntimeError("Lambda killed: the task timed out")})
    store = DynamoStore(stack.physical["RelanceTable"])

    with invariants.verbose_lambdas():
        died = _deliver(event)
        at_once = _deliver(event)  # while the dead worker's mark is fresh: it may still be talking to SES
        _age_the_sending_mark(stack, debtor_id, seconds=180)
        redelivered = _deliver(event)
        again = _deliver(event)

    assert (died, at_once, redelivered, again) == ("retried", "retried", "done", "done")
    assert ses.calls == 1 and len(relance.outbox()) == 1  # SES saw the mail once, and only once
    [contact] = _contacts(store, debtor_id)
    assert contact["status"] == "sent" and contact["message_id"] == ""  # the id died with the worker
    [sent] = [a for a in store.audit_of(CREDITOR, debtor_id) if a["action"] == "reminder_sent"]
    assert sent["mail"] == "unconfirmed"
    _debtor, invoices = store.debtor_with_invoices(CREDITOR, debtor_id)
    assert {i.last_step for i in invoices if not i.is_settled() and i.last_step} == {sent["step"]}
    _all_invariants(relance, stack, capsys.readouterr().err, export.read_text(encoding="utf-8"))


def test_the_link_in_a_mail_whose_worker_died_still_opens_the_portal(relance, stack, tmp_path, monkeypatch):
    export = small_export(tmp_path, debtors=1)
    relance.json("import", str(export), "--creditor", CREDITOR)
    _scan_day(stack)
    event, _debtor_id = _one_job_event(stack)
    FaultySes(monkeypatch, after={1: RuntimeError("Lambda killed")})

    assert _deliver(event) == "retried"

    [mail] = relance.outbox()
    token = next(word for word in mail["text"].split() if "/d/" in word).rsplit("/", 1)[1].strip(".,)")
    from relance.adapters import keys
    from relance.adapters.links import token_sha256

    found = client("dynamodb").get_item(TableName=stack.physical["RelanceTable"],
                                        Key={k: {"S": v} for k, v in keys.link_key(token_sha256(token)).items()})
    assert "Item" in found  # written with the "sending" mark, before SES was called


# --- SES's answer lost: a read timeout mid-batch ------------------------------------------------------


class SesReadTimeout:
    """The `nth` SendEmail of the shared SES client times out while reading SES's answer, at the HTTP layer, where
    botocore's own retries act. `mail_left`: SES had taken the mail (the timeout hit the answer), or not."""

    def __init__(self, nth: int, mail_left: bool) -> None:
        from botocore.exceptions import ReadTimeoutError

        shared = client("sesv2")
        self.ses = shared._built() if hasattr(shared, "_built") else shared
        self.nth, self.calls, self.timed_out = nth, 0, 0
        self.error = ReadTimeoutError
        # moto answers SES in a handler of the generic "before-send" event. A handler of the operation's own event
        # runs before it (the request never reaches SES); one registered last on the generic event runs after it
        # (SES took the mail, its answer is lost).
        self.event = "before-send" if mail_left else \
            f"before-send.{self.ses.meta.service_model.service_id.hyphenize()}.SendEmail"
        register = self.ses.meta.events.register_last if mail_left else self.ses.meta.events.register_first
        register(self.event, self, unique_id="relance-ses-read-timeout")

    def __call__(self, request, **_kwargs):
        if not request.url.endswith("/v2/email/outbound-emails"):  # SendEmail's path; any other call goes on
            return None
        self.calls += 1
        if self.calls == self.nth:
            self.timed_out += 1
            raise self.error(endpoint_url=request.url)
        return None

    def remove(self) -> None:
        self.ses.meta.events.unregister(self.event, unique_id="relance-ses-read-timeout")


def _drain_alone(queue: str) -> str:
    """One delivery of the queue's only message: "done", or "retried" when it stays on the queue (the whole
    invocation fails when its only record failed)."""
    from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError

    try:
        drained = local_lambda.drain(queue, WORKER, max_batches=1)
    except BatchProcessingError:
        return "retried"
    return "retried" if drained.failures else "done"


def _sending_contacts(stack) -> list[dict]:
    return [i for i in invariants.items(stack.physical["RelanceTable"])
            if i.get("entity") == "contact" and i.get("status") == "sending"]


@pytest.mark.parametrize("mail_left", [True, False], ids=["ses-took-the-mail", "ses-never-got-it"])
def test_an_ses_read_timeout_mid_batch_never_sends_a_second_mail_and_records_the_step_once(
        relance, stack, tmp_path, capsys, mail_left):
    export = small_export(tmp_path)
    relance.json("import", str(export), "--creditor", CREDITOR)
    queue = _scan_day(stack, visibility_seconds=0)
    expected = overdue_debtors_with_email(MONDAY, export)
    timeout = SesReadTimeout(nth=2, mail_left=mail_left)
    store = DynamoStore(stack.physical["RelanceTable"])

    try:
        with invariants.verbose_lambdas():
            first = local_lambda.drain(queue, WORKER, max_batches=1)
            invariants.one_contact_per_debtor_per_day(stack.physical["RelanceTable"])  # nothing sent twice, yet
            assert first.failures == 1, "the timed-out SendEmail was retried by botocore instead of failing"
            [stuck] = _sending_contacts(stack)  # the timed-out job: its contact kept the "sending" mark
            at_once = _drain_alone(queue)  # the mark is fresh: the dead call may still be talking to SES
            _age_the_sending_mark(stack, stuck["debtor_id"], seconds=180)  # SQS's visibility timeout
            later = local_lambda.drain(queue, WORKER, max_batches=10)
    finally:
        timeout.remove()

    assert timeout.timed_out == 1
    assert (first.failures, at_once, later.failures) == (1, "retried", 0)  # the record alone, then done
    outbox = relance.outbox()
    sent_to = sorted(m["to"][0] for m in outbox)
    assert len(sent_to) == len(set(sent_to)) == len(expected) - (0 if mail_left else 1)  # never a second mail
    assert timeout.calls == len(expected)  # SES was asked once per debtor, the timed-out one included
    [contact] = _contacts(store, stuck["debtor_id"])
    assert contact["status"] == "sent" and contact["message_id"] == ""  # SES's answer was lost
    [sent] = [a for a in store.audit_of(CREDITOR, stuck["debtor_id"]) if a["action"] == "reminder_sent"]
    assert sent["mail"] == "unconfirmed"  # finance sees the step may not have reached the debtor
    _all_invariants(relance, stack, capsys.readouterr().err, export.read_text(encoding="utf-8"))


# --- two workers on one debtor ---------------------------------------------------------------------


def _one_debtors_job(relance, stack, tmp_path):
    """One debtor's export imported and scanned: the export, the worker's SQS event for the debtor's job, the
    debtor id, the worker's module (loaded as Lambda does) and the job."""
    export = small_export(tmp_path, debtors=1)
    relance.json("import", str(export), "--creditor", CREDITOR)
    _scan_day(stack)
    event, debtor_id = _one_job_event(stack)
    worker = local_lambda.handler_of(WORKER) and local_lambda._MODULES[WORKER]
    return export, event, debtor_id, worker, ReminderJob.from_dict(json.loads(event["Records"][0]["body"]))


def test_two_workers_on_one_debtor_make_one_contact(relance, stack, tmp_path, monkeypatch, capsys):
    export, event, debtor_id, worker, job = _one_debtors_job(relance, stack, tmp_path)
    # what the handler calls per record: Powertools' idempotent wrapper (built on the container's first job)
    idempotent_step = worker.idempotent_step()
    rivals: list[object] = []

    def rivals_start_while_the_first_is_with_ses():
        from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

        try:  # the same SQS message delivered twice at once, to another container (its own batch processor)
            rivals.append(idempotent_step(job=json.loads(event["Records"][0]["body"])))
        except IdempotencyAlreadyInProgressError as busy:
            rivals.append(busy)
        try:  # the same job after its idempotency record expired: only the contact item stands in the way
            rivals.append(worker.take_step(job, datetime.now(UTC), worker.ports))
        except ContactInProgress as busy:
            rivals.append(busy)

    ses = FaultySes(monkeypatch, during=rivals_start_while_the_first_is_with_ses)

    with invariants.verbose_lambdas():
        first = _deliver(event)

    assert first == "done"
    assert isinstance(rivals[0], Exception)  # Powertools saw the first still in progress
    assert isinstance(rivals[1], ContactInProgress)  # the conditional "sending" mark refused the second
    assert ses.calls == 1 and len(relance.outbox()) == 1
    assert [c["status"] for c in _contacts(DynamoStore(stack.physical["RelanceTable"]), debtor_id)] == ["sent"]
    _all_invariants(relance, stack, capsys.readouterr().err, export.read_text(encoding="utf-8"))


def test_two_workers_that_both_find_the_day_pending_send_one_mail(relance, stack, tmp_path, monkeypatch, capsys):
    export, event, debtor_id, worker, job = _one_debtors_job(relance, stack, tmp_path)
    real_mark = DynamoStore.mark_sending
    rival: list[object] = []

    def rival_marks_first(store, contact, now, items=()):
        """The first worker read the day's contact "pending" and is about to mark it: a rival (the same job after
        its idempotency record expired) read it "pending" too, and gets there first."""
        if not rival:
            rival.append("running")
            rival.append(worker.take_step(job, datetime.now(UTC), worker.ports))
        return real_mark(store, contact, now, items)

    monkeypatch.setattr(DynamoStore, "mark_sending", rival_marks_first)
    ses = FaultySes(monkeypatch)

    with invariants.verbose_lambdas():
        first = _deliver(event)
        again = _deliver(event)  # SQS delivers the failed job again

    assert rival[1].value == "sent"
    assert (first, again) == ("retried", "done")  # the first worker's conditional mark found the day taken
    assert ses.calls == 1 and len(relance.outbox()) == 1
    assert [c["status"] for c in _contacts(DynamoStore(stack.physical["RelanceTable"]), debtor_id)] == ["sent"]
    _all_invariants(relance, stack, capsys.readouterr().err, export.read_text(encoding="utf-8"))


def test_a_payment_landing_while_the_mail_is_with_ses_is_kept_and_the_step_still_recorded_once(
        relance, stack, tmp_path, monkeypatch, capsys):
    from relance.adapters.payments_store import PaymentsStore
    from relance.adapters.wiring import closed_for
    from relance.domain.money import Money
    from relance.services.payments import ManualPayment, PaymentPorts, record_manual_payment

    export = small_export(tmp_path, debtors=1)
    relance.json("import", str(export), "--creditor", CREDITOR)
    _scan_day(stack)
    event, debtor_id = _one_job_event(stack)
    payments = PaymentsStore(stack.physical["RelanceTable"])
    _debtor, invoices = payments.dunning_view(CREDITOR, debtor_id)
    amount = invoices[0].balance

    def finance_records_a_cheque():
        record_manual_payment(CREDITOR, debtor_id, ManualPayment(Money(amount.minor, amount.currency), MONDAY,
                                                                 "cheque", "CHQ 1", (), "nonce-1"),
                              "finance:test", datetime.now(UTC), PaymentPorts(payments, closed_for, policies_for))

    FaultySes(monkeypatch, during=finance_records_a_cheque)

    with invariants.verbose_lambdas():
        result = _deliver(event)

    assert result == "done"  # the transaction conflict was read again and retried
    assert len(relance.outbox()) == 1
    _debtor, after = payments.debtor_with_invoices(CREDITOR, debtor_id)
    assert {i.number: i for i in after}[invoices[0].number].is_settled()
    [contact] = _contacts(payments, debtor_id)
    assert contact["status"] == "sent"
    _all_invariants(relance, stack, capsys.readouterr().err, export.read_text(encoding="utf-8"))


# --- an import interrupted half-way, then restarted -------------------------------------------------

HEADER = "N° facture;Client;Date facture;Échéance;Montant TTC;Déjà réglé;Devise\r\n"
ROWS = 260  # three chunks of 100 rows: the later chunks add to debtors the first one created


def _export(rows: int = ROWS) -> bytes:
    lines = [f"FA-{n:05d};Client {n % 7};03/02/2026;05/03/2026;{100 + n},00;0,00;EUR\r\n" for n in range(rows)]
    return (HEADER + "".join(lines)).encode("cp1252")


class Interrupted:
    """The DynamoDB client until the `fail_on`-th call of `operation`, which raises as a killed process would."""

    def __init__(self, real, operation: str, fail_on: int) -> None:
        self._real, self.operation, self.fail_on = real, operation, fail_on
        self.calls = 0

    def __getattr__(self, name):
        attribute = getattr(self._real, name)
        if name != self.operation:
            return attribute

        def counted(**kwargs):
            self.calls += 1
            if self.calls == self.fail_on:
                raise RuntimeError(f"import killed at {name} #{self.calls}")
            return attribute(**kwargs)

        return counted


@pytest.mark.parametrize(("operation", "fail_on"), [
    ("batch_write_item", 1), ("batch_write_item", 5), ("batch_write_item", 13), ("batch_write_item", 20),
    ("update_item", 1), ("update_item", 4), ("batch_get_item", 3),
])
def test_an_import_interrupted_half_way_then_restarted_stores_every_invoice_once_and_dunning_sees_them_all(
        stack, monkeypatch, operation, fail_on):
    from relance.domain.parties import Creditor

    monkeypatch.setattr(dynamo_module.time, "sleep", lambda _seconds: None)
    monkeypatch.setattr(imports, "CHUNK_ROWS", 100)  # three chunks, whatever the production chunk size
    store = DynamoStore(stack.physical["RelanceTable"])
    store.put_creditor(Creditor(CREDITOR, "Acme SAS", siren="000000018"))
    real = store._client
    store._client = Interrupted(real, operation, fail_on)

    with pytest.raises(RuntimeError, match="import killed"):
        imports.import_file(io.BytesIO(_export()), CREDITOR, store, lambda _c: frozenset(), policies_for)
    store._client = real
    again = imports.import_file(io.BytesIO(_export()), CREDITOR, store, lambda _c: frozenset(), policies_for)

    assert again.errors == [] and again.rows == ROWS
    assert again.imported + again.unchanged + again.updated == ROWS
    table = stack.physical["RelanceTable"]
    everything = invariants.items(table)
    numbers = [i["number"] for i in everything if i.get("entity") == "invoice"]
    assert sorted(numbers) == [f"FA-{n:05d}" for n in range(ROWS)]
    # DSO (AP13) reads a month's sales by invoice number, whether one item per invoice or grouped lines
    sales = [i["number"] for i in everything if i.get("entity") == "sale"] + [
        number for i in everything if i.get("entity") == "sales_lines" for number in i["lines"]]
    assert sorted(set(sales)) == sorted(numbers)  # every sale is there, and counted once
    for debtor_id in {i["debtor_id"] for i in everything if i.get("entity") == "invoice"}:
        _debtor, summary = store.dunning_view(CREDITOR, debtor_id)
        _debtor, stored = store.debtor_with_invoices(CREDITOR, debtor_id)
        assert summary == sorted((i for i in stored if not i.is_settled()), key=lambda i: i.number), debtor_id
    invariants.money_adds_up(table)
