"""Acceptance 1 of issue #11: each fault scenario fails when the guard it protects is disabled.

A pytest plugin. `RELANCE_GUARD_OFF=<name> pytest -p tests.reliability.guards_off <tests>` disables one guard
of GUARDS in the test process only, by rewriting the guarded function's source in memory: the files on disk are
not touched, so other people's runs in the same tree are not disturbed. Without the variable it does nothing.
docs/architecture/reliability.md lists which tests fail for each guard.

    RELANCE_GUARD_OFF=release_sending .venv/bin/python -m pytest -p tests.reliability.guards_off \
        tests/reliability/test_fault_scenarios.py -k ses_refusing      # 3 failed: the guard matters
"""

from __future__ import annotations

import importlib
import inspect
import os

APPLY = True  # False: only check that every rewrite still finds its text (tests/reliability/test_guards_off.py)


def _rewrite(module_name: str, qualname: str, *pairs: tuple[str, str]) -> None:
    module = importlib.import_module(module_name)
    owner = module
    parts = qualname.split(".")
    for part in parts[:-1]:
        owner = getattr(owner, part)
    function = getattr(owner, parts[-1])
    source = inspect.getsource(function)
    if source[:1].isspace():  # a method: kept at its indentation, under an `if True:` block
        source = "if True:\n" + source
    for old, new in pairs:
        assert source.count(old) == 1, (qualname, old, source.count(old))
        source = source.replace(old, new)
    code = compile(source, inspect.getsourcefile(function), "exec")
    if not APPLY:
        return
    namespace: dict = {}
    exec(code, module.__dict__, namespace)  # noqa: S102 - our own source, rewritten for this test process
    setattr(owner, parts[-1], namespace[parts[-1]])


def _set(module_name: str, name: str, value) -> None:
    module = importlib.import_module(module_name)
    assert hasattr(module, name), (module_name, name)
    if APPLY:
        setattr(module, name, value)


def _api_without_body_limit() -> None:
    from relance_cli import local_lambda

    original = local_lambda.handler_of
    if not APPLY:
        return

    def handler_of(logical_id):
        handler = original(logical_id)
        if logical_id == "ApiFunction":
            local_lambda._MODULES[logical_id].MAX_BODY_BYTES = 10**12
        return handler

    local_lambda.handler_of = handler_of


GUARDS = {
    # SES refused the mail: the contact is put back to "pending" for the redelivery
    "release_sending": lambda: _rewrite("relance.adapters.dynamo", "DynamoStore.release_sending",
                                        ("        try:\n", "        return\n        try:\n")),
    # a retry that finds "sending" treats it as "pending" (no unconfirmed path, the mark accepts "sending")
    "sending_as_pending": lambda: (
        _rewrite("relance.services.dunning", "_perform",
                 ('if contact.status == "sending":  # a worker died', 'if False:  # a worker died')),
        _rewrite("relance.adapters.dynamo", "DynamoStore.mark_sending",
                 ('"ConditionExpression": "#s = :pending",', '"ConditionExpression": "#s IN (:pending, :sending)",'))),
    # the portal link's record is written with the completed contact, after SES, instead of with the mark
    "link_after_ses": lambda: _rewrite(
        "relance.services.dunning", "_perform",
        ("        if not ports.store.mark_sending(contact, now, [link.item]):",
         "        done.extra_items.append(link.item)\n        if not ports.store.mark_sending(contact, now, []):")),
    # pending -> sending without a condition
    "unconditional_mark": lambda: _rewrite(
        "relance.adapters.dynamo", "DynamoStore.mark_sending",
        ('"ConditionExpression": "#s = :pending",', '"ConditionExpression": "#s = :pending OR #s <> :pending",')),
    # the day's contact claimed without attribute_not_exists: one contact per debtor and day no longer enforced
    "contact_claim": lambda: _rewrite(
        "relance.adapters.dynamo", "DynamoStore.reserve_contact",
        ('ConditionExpression="attribute_not_exists(PK)",',
         'ConditionExpression="attribute_not_exists(PK) OR attribute_exists(PK)",')),
    # the completing transaction's version conflict is not read again and retried
    "no_conflict_retry": lambda: _set("relance.services.dunning", "MAX_CONFLICT_RETRIES", 1),
    # SES calls retried by botocore (5 attempts, as every other client)
    "ses_retries": lambda: _set("relance.adapters.aws", "_RETRIES_BY_SERVICE", {}),
    # the number registry entries written first instead of last
    "registry_first": lambda: _rewrite(
        "relance.adapters.dynamo", "DynamoStore.put_new_invoices",
        ("        self._batch_put([{**keys.invoice_number_key(", "        ([{**keys.invoice_number_key("),
        ("        self._batch_put(items)\n",
         "        self._batch_put([{**keys.invoice_number_key(invoice.creditor_id, invoice.number),\n"
         "                          \"debtor_id\": invoice.debtor_id} for invoice in invoices])\n"
         "        self._batch_put(items)\n")),
    # Stripe: the event marker (read and conditional put) gone
    "stripe_event_marker": lambda: (
        _rewrite("relance.adapters.payments_store", "PaymentsStore.event_seen",
                 ("return self._get(", "return False and self._get(")),
        _rewrite("relance.adapters.payments_store", "PaymentsStore.commit",
                 ('            "ConditionExpression": "attribute_not_exists(PK)",\n        }}]',
                  '        }}]'))),
    # Stripe: a payment's status moves backwards (a late processing notice, a late failure)
    "status_backwards": lambda: _rewrite(
        "relance.services.payments", "_payment_event",
        ("elif kind is StripeEventKind.CHECKOUT_COMPLETED and is_new:", "elif kind is StripeEventKind.CHECKOUT_COMPLETED:"),
        ("elif kind is StripeEventKind.PAYMENT_INTENT_FAILED and not is_new and payment.status is PaymentStatus.PROCESSING:",
         "elif kind is StripeEventKind.PAYMENT_INTENT_FAILED and not is_new:")),
    # Stripe: a payment pays what it asked for, whatever is still open
    "allocate_beyond_balance": lambda: _rewrite(
        "relance.domain.payments", "allocate_as_requested",
        ("    for invoice in open_in(invoices, amount.currency):",
         "    for invoice in oldest_first(i for i in invoices if i.currency == amount.currency):"),
        ("share = min(remaining, invoice.balance, wanted[invoice.number], key=lambda m: m.minor)",
         "share = min(remaining, wanted[invoice.number], key=lambda m: m.minor)")),
    # Stripe: a payment spreads what its unknown numbers asked for over the debtor's other invoices
    "allocate_unrequested": lambda: _rewrite(
        "relance.domain.payments", "allocate_as_requested",
        ("        if invoice.number not in wanted or not remaining.is_positive():\n            continue\n"
         "        share = min(remaining, invoice.balance, wanted[invoice.number], key=lambda m: m.minor)",
         "        if not remaining.is_positive():\n            continue\n"
         "        share = min(remaining, invoice.balance, key=lambda m: m.minor)")),
    # Stripe: an event without Relance's metadata is not set aside as "not ours"
    "not_ours": lambda: _rewrite(
        "relance.services.payments", "_payment_event",
        ("    if not creditor_id or not debtor_id or (is_new and fact.amount is None):",
         "    if False:")),
    # exports: only ASCII formula starts neutralised
    "fullwidth_formula": lambda: _rewrite(
        "relance.domain.statement", "is_formula_like",
        ('    return cell.startswith(_FORMULA_STARTS) or unicodedata.normalize("NFKC", cell[:1]).startswith(_FORMULA_STARTS)',
         "    return cell.startswith(_FORMULA_STARTS)")),
    # the API reads any body API Gateway lets through
    "api_body_limit": _api_without_body_limit,
    # a ZIP entry that cannot be unpacked raises out of the import
    "zip_damaged_entry": lambda: (
        _rewrite("relance.services.imports", "_Bounded.readinto",
                 ("except (zipfile.BadZipFile, zipfile.zlib.error, EOFError, OSError) as exc:",
                  "except ZeroDivisionError as exc:")),
        _rewrite("relance.services.imports", "_files_of",
                 ("except InvalidImportFile as exc:  # damaged or crafted", "except ZeroDivisionError as exc:  #"))),
}


def pytest_configure(config) -> None:
    name = os.environ.get("RELANCE_GUARD_OFF")
    if name:
        GUARDS[name]()
        print(f"\n*** guard disabled in this process: {name} ***")  # noqa: T201 - the run must say so
