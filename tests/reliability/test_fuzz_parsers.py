"""Hostile bytes against every parser that reads what a creditor or a stranger sends (issue #11): the CSV export
reader, the Factur-X / CII / UBL reader and the policy loader. Each runs 10,000 derandomized cases (so CI sees
the same cases every run) and may only answer with its own results or the project's validation errors
(`relance.domain.errors.RelanceError`); any other exception is a crash and fails the test.

Hypothesis drives the cases (derandomized, so CI runs the same 10,000 every time, and a failure is replayed from
its seed); each case mutates real documents with a `random.Random` seeded by Hypothesis, which costs a few
microseconds where a composite strategy of dozens of draws cost ~10 ms a case and made 10,000 cases too slow.
Measured figures: docs/architecture/reliability.en.md (`pytest -s` prints them).
"""

from __future__ import annotations

import contextlib
import copy
import functools
import json
import random
import time
from decimal import Decimal

import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from lxml import etree

from relance.adapters.policies import load_policy_text
from relance.domain.csv_invoices import InvoiceRow, RowError, SkippedLine, parse_invoices
from relance.domain.einvoice import CreditNote, EInvoice, Rejected, creditor_seller_ids, read_pdf_invoice, \
    read_xml_invoice
from relance.domain.errors import RelanceError
from relance.domain.policy_documents import load_policy_book, policy_to_document
from tests.conftest import FIXTURES, REPO

CASES = 10_000
FUZZ = settings(max_examples=CASES, deadline=None, derandomize=True, database=None,
                phases=[Phase.explicit, Phase.generate, Phase.shrink], suppress_health_check=list(HealthCheck))
SEEDS = st.integers(min_value=0, max_value=2**64 - 1)
SPEED: dict[str, float] = {}  # parser -> cases per second, printed at the end of each test (-s shows them)

HOSTILE_TEXT = ["<script>alert(1)</script>", '"onmouseover="alert(1)', "{{7*7}}", "=HYPERLINK(\"http://x\")",
                "+33 1", "-1", "@SUM(A1)", "\t", "\r", "../../etc/passwd", "%2F..%2F", "\x00", "\ufeff", "€",
                "9" * 40, "-0,00", "1e309", "NaN", "31/02/2025", "0000-00-00", "ÿ" * 3, "\u202e", "'; DROP TABLE"]


def _timed(name: str, around=contextlib.nullcontext):
    """Decorator: runs the hypothesis test inside `around()`, counts its cases and records cases/s."""

    def wrap(test):
        def run():
            calls = [0]
            original = test.hypothesis.inner_test

            def counted(*args, **kwargs):
                calls[0] += 1
                return original(*args, **kwargs)

            test.hypothesis.inner_test = counted
            started = time.perf_counter()
            try:
                with around():
                    test()
            finally:
                test.hypothesis.inner_test = original
            elapsed = time.perf_counter() - started
            SPEED[name] = calls[0] / elapsed
            print(f"\n{name}: {calls[0]} cases in {elapsed:.1f} s, {calls[0] / elapsed:.0f} cases/s")
            assert calls[0] >= CASES, calls[0]

        run.__name__ = test.__name__
        run.__doc__ = test.__doc__
        return run

    return wrap


# --- the CSV export reader -----------------------------------------------------------------------

CSV_SEEDS = [(FIXTURES / name).read_bytes()[:1500] for name in ("invoices_en.csv", "invoices_fr_excel.csv",
                                                                  "invoices_bad.csv")]
HEADERS = ["invoice_number,debtor_name,siren,email,phone,invoice_date,due_date,amount_total,amount_paid,currency",
           "N° facture;Client;SIREN;Email;Téléphone;Date facture;Échéance;Montant TTC;Déjà réglé;Devise"]
ALPHABET = "0123456789 .,;-/:+=@\t\r\n\"'€éÿ\u00a0\u202fabcXYZ<>{}%"


def _cell(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.3:
        return rng.choice(HOSTILE_TEXT)
    if roll < 0.5:
        return f"{rng.randint(0, 40)}/{rng.randint(0, 14)}/{rng.randint(0, 2100)}"
    if roll < 0.7:
        return f"{rng.randint(-10**9, 10**9)}{rng.choice(['', ',', '.'])}{rng.randint(0, 999)}"
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, 15)))


def _bytes_edited(data: bytes, rng: random.Random, edits: int) -> bytes:
    edited = bytearray(data)
    for _ in range(edits):
        at = rng.randrange(len(edited) + 1)
        roll = rng.randrange(4)
        if roll == 0 and at < len(edited):
            edited[at] = rng.randrange(256)
        elif roll == 1:
            del edited[at:at + rng.randint(1, 200)]
        elif roll == 2:
            edited[at:at] = rng.choice(HOSTILE_TEXT).encode("utf-8")
        else:
            edited = edited[:at]
    return bytes(edited)


def csv_document(rng: random.Random) -> bytes:
    kind = rng.randrange(10)
    if kind == 0:
        return rng.randbytes(rng.randint(0, 600))
    if kind <= 3:  # a real export with a few bytes changed, cut or added
        return _bytes_edited(rng.choice(CSV_SEEDS), rng, rng.randint(1, 6))
    header = rng.choice(HEADERS)
    delimiter = "," if header.startswith("invoice") else ";"
    rows = [delimiter.join(_cell(rng) for _ in range(rng.randint(0, 12))) for _ in range(rng.randint(0, 6))]
    encoding = rng.choice(["utf-8", "utf-8-sig", "cp1252", "utf-16", "latin-1"])
    return (header + rng.choice(["\n", "\r\n"]) + "\n".join(rows)).encode(encoding, errors="replace")


@_timed("csv")
@FUZZ
@given(seed=SEEDS)
def test_the_csv_reader_answers_any_bytes_with_rows_or_validation_errors(seed):
    data = csv_document(random.Random(seed))

    try:
        parsed = parse_invoices(data)
    except RelanceError:
        return

    assert all(isinstance(line, InvoiceRow | RowError | SkippedLine)
               for line in (*parsed.rows, *parsed.errors, *parsed.skipped))
    assert all(row.total.minor >= 0 and row.paid.minor >= 0 for row in parsed.rows)


# --- the Factur-X / CII / UBL reader -------------------------------------------------------------

XML_SEEDS = [path.read_bytes() for path in sorted((FIXTURES / "facturx" / "xml").glob("*.xml"))] + \
    [path.read_bytes() for path in sorted((REPO / "tests" / "fixtures" / "einvoice").glob("*.xml"))]
PDF_SEEDS = [path.read_bytes() for path in sorted((FIXTURES / "facturx").glob("*.pdf"))]
SELLER = creditor_seller_ids("000000018")
BILLION_LAUGHS = (b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;">'
                  b'<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;">]><Invoice>&c;</Invoice>')
XXE = (b'<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
       b'<rsm:CrossIndustryInvoice xmlns:rsm="urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100">&x;'
       b'</rsm:CrossIndustryInvoice>')


def _mutated_tree(seed: bytes, rng: random.Random) -> bytes:
    """The seed invoice with a few elements' text, attributes or presence changed: deeper than byte edits, which
    the XML parser mostly refuses before any reader code runs."""
    root = etree.fromstring(seed)
    for _ in range(rng.randint(1, 4)):
        elements = [e for e in root.iter() if isinstance(e.tag, str)]
        element = rng.choice(elements)
        action = rng.randrange(4)
        if action == 0:
            element.text = _cell(rng).replace("\x00", "").replace("\r", "")
        elif action == 1 and element.getparent() is not None:
            element.getparent().remove(element)
        elif action == 2 and element.getparent() is not None:
            element.getparent().append(copy.deepcopy(element))  # a repeated element
        else:
            for name in list(element.attrib):
                element.attrib[name] = rng.choice(HOSTILE_TEXT).replace("\x00", "")
    return etree.tostring(root)


@contextlib.contextmanager
def schemas_parsed_once():
    """factur-x 3.x builds `etree.XMLSchema(file=...)` on every check: about 250 ms for UBL 2.1 and 5-40 ms for
    CII on this machine, which alone would make 10,000 cases take minutes. Each schema file is parsed once here;
    the validation itself (assertValid, its errors, the reader's handling of them) is the library's, unchanged."""
    real = etree.XMLSchema

    @functools.cache
    def parsed(file: str):
        return real(file=file)

    def xml_schema(etree_or_none=None, file=None, **kwargs):
        if etree_or_none is None and file is not None and not kwargs:
            return parsed(str(file))
        return real(etree_or_none, file=file, **kwargs)

    etree.XMLSchema = xml_schema
    try:
        yield
    finally:
        etree.XMLSchema = real


def einvoice_document(rng: random.Random) -> tuple[str, bytes]:
    kind = rng.randrange(40)
    if kind == 0:
        return "xml", rng.randbytes(rng.randint(0, 400))
    if kind == 1:
        return "xml", rng.choice([BILLION_LAUGHS, XXE])
    if kind == 2:  # a truncated or damaged PDF
        pdf = rng.choice(PDF_SEEDS)
        cut = rng.randrange(len(pdf) + 1)
        return "pdf", pdf[:cut] if rng.random() < 0.5 else pdf[:cut] + rng.randbytes(40) + pdf[cut + 40:]
    seed = rng.choice(XML_SEEDS)
    if kind <= 12:
        return "xml", _bytes_edited(seed, rng, rng.randint(1, 4))
    try:
        return "xml", _mutated_tree(seed, rng)
    except ValueError:  # lxml refuses text it cannot serialize (control characters): a seed unchanged then
        return "xml", seed


@_timed("einvoice", around=schemas_parsed_once)
@FUZZ
@given(seed=SEEDS)
def test_the_einvoice_reader_answers_any_document_with_an_invoice_or_its_problems(seed):
    rng = random.Random(seed)
    kind, data = einvoice_document(rng)
    seller = SELLER if rng.random() < 0.5 else None

    result = read_pdf_invoice(data, seller) if kind == "pdf" else read_xml_invoice(data, seller)

    assert isinstance(result, EInvoice | CreditNote | Rejected)
    if isinstance(result, Rejected):
        assert result.problems and all(p.message for p in result.problems)
    if data in (XXE, BILLION_LAUGHS):
        assert isinstance(result, Rejected) and "root:" not in repr(result)


# --- the policy loader ---------------------------------------------------------------------------

POLICY_SEEDS = [yaml.safe_load(path.read_text(encoding="utf-8"))
                for path in sorted((REPO / "functions/shared/relance/data/policies").glob("*.yaml"))]
POLICY_KEYS = ["version", "policies", "steps", "id", "offset_days", "channel", "template", "default",
               "sending_hours", "kind", "risk_band", "conditions", "max_installments", "formal_notice_deadline_days"]
POLICY_WORDS = ["09:00", "25:99", "18:00", "P1D", "email", "letter", "call_task", "formal_notice", "agency", "fr",
                "en", "EUR", "b2b", "high", "friendly", "firm"]


def _scalar(rng: random.Random):
    return rng.choice([None, True, False, rng.randint(-10**6, 10**6), rng.choice(HOSTILE_TEXT),
                       rng.choice(POLICY_WORDS), Decimal(rng.randint(-10**5, 10**5)) / 100, rng.random() * 1e6,
                       float("nan"), _cell(rng)])


def _structure(rng: random.Random, depth: int = 0):
    roll = rng.random()
    if depth >= 3 or roll < 0.5:
        return _scalar(rng)
    if roll < 0.75:
        return [_structure(rng, depth + 1) for _ in range(rng.randint(0, 4))]
    return {rng.choice(POLICY_KEYS + [_cell(rng)]): _structure(rng, depth + 1) for _ in range(rng.randint(0, 5))}


def _paths(document, prefix=()):
    yield prefix
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _paths(value, (*prefix, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _paths(value, (*prefix, index))


def policy_document(rng: random.Random) -> tuple[str, object]:
    """A policy document or text; YAML texts are 1 in 10 because PyYAML's pure-Python loader (the strict loader
    subclasses SafeLoader) takes ~25 ms on a whole policy, against ~1 ms for the checks behind it."""
    kind = rng.randrange(20)
    if kind <= 1:
        return "text", "".join(rng.choice(ALPHABET + "[]{}:&*!|>#-\n ") for _ in range(rng.randint(0, 300)))
    if kind <= 3:
        return "document", _structure(rng)
    if kind == 19:
        return "text", yaml.safe_dump(json.loads(json.dumps(_structure(rng), default=str)), allow_unicode=True)
    document = copy.deepcopy(rng.choice(POLICY_SEEDS))
    for _ in range(rng.randint(1, 4)):
        path = rng.choice([p for p in _paths(document) if p])
        parent = document
        for step in path[:-1]:
            parent = parent[step]
        if rng.random() < 0.6:
            parent[path[-1]] = _structure(rng)
        else:
            del parent[path[-1]]
    if kind <= 12:
        return "document", document
    if kind <= 17:
        return "text", json.dumps(document, default=str)
    return "text", yaml.safe_dump(json.loads(json.dumps(document, default=str)), allow_unicode=True)


@_timed("policy")
@FUZZ
@given(seed=SEEDS)
def test_the_policy_loader_answers_any_document_with_a_book_or_every_problem_by_path(seed):
    kind, value = policy_document(random.Random(seed))

    try:
        book = load_policy_text(value, "fuzz.yaml") if kind == "text" else load_policy_book(value)
    except RelanceError as refused:
        assert str(refused)
        return

    assert load_policy_book(policy_to_document(book)) == book  # what loaded is written back and read the same


def test_the_packaged_policies_load_so_the_mutations_start_from_valid_documents():
    assert all(load_policy_book(seed) is not None for seed in POLICY_SEEDS)
