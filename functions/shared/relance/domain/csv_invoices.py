"""Reading a creditor's accounting export (CSV) into invoice rows, row errors and skipped lines.

The file arrives as a binary stream and is read line by line, so a million rows use little memory.
The first bytes decide the format once for the whole file: the encoding (UTF-8 with or without BOM,
Windows-1252, UTF-16), the delimiter and header (French or English column names), the date style
(yyyy-mm-dd, dd/mm/yyyy) and the decimal mark (1 234,56 or 1234.56). Every row is then checked on its
own, and each problem is reported on its physical line so the user can fix the file in one pass.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from array import array
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import BinaryIO, TypeVar

from relance.domain.errors import InvalidField, InvalidImportFile
from relance.domain.money import Money
from relance.domain.parsing import (
    DATE_DMY,
    DATE_ISO,
    DATE_MDY,
    DECIMAL_COMMA,
    DECIMAL_DOT,
    check_text,
    fold,
    has_undecodable_bytes,
    parse_amount,
    parse_currency,
    parse_date,
    parse_email,
    parse_language,
    parse_phone,
    parse_siren,
    shown,
)

T = TypeVar("T")

PEEK_BYTES = 256 * 1024  # read ahead once to choose encoding, delimiter, date style and decimal mark
MAX_LINE_BYTES = 1024 * 1024  # a longer physical line is reported, never held in memory whole
MAX_PREAMBLE_LINES = 10  # title lines an export may put above its header
VOTE_ROWS = 5_000

FIELDS = (  # the invoices_en column names, which RowError.field uses
    "invoice_number", "debtor_name", "siren", "email", "phone", "invoice_date", "due_date",
    "amount_total", "amount_paid", "currency", "language",
)
REQUIRED_FIELDS = ("invoice_number", "debtor_name", "invoice_date", "due_date", "amount_total", "currency")
OPTIONAL_FIELDS = ("siren", "email", "phone", "amount_paid", "language")

MAX_LENGTHS = {
    "invoice_number": 64,
    "debtor_name": 200,
    "siren": 32,
    "email": 254,
    "phone": 40,
    "language": 35,
}

DELIMITERS = (";", ",", "\t", "|")

# Header names as French and English accounting tools write them, compared after fold():
# case, accents and punctuation do not matter ("N° facture", "Numéro de facture", "Invoice No.").
_HEADER_NAMES: dict[str, tuple[str, ...]] = {
    "invoice_number": (
        "invoice_number", "N° facture", "Nº facture", "No facture", "Num facture", "Numéro facture",
        "Numéro de facture", "N° de facture", "Facture", "N° pièce", "N° de pièce", "Numéro de pièce",
        "Pièce", "Référence facture", "Invoice No", "Invoice number", "Invoice num", "Invoice",
        "Invoice ID", "Invoice ref", "Invoice reference",
    ),
    "debtor_name": (
        "debtor_name", "Client", "Nom client", "Nom du client", "Raison sociale", "Débiteur", "Société",
        "Customer", "Customer name", "Client name", "Debtor", "Debtor name", "Company", "Company name",
    ),
    "siren": ("siren", "N° SIREN", "Numéro SIREN", "SIRET", "N° SIRET", "SIREN / SIRET"),
    "email": (
        "email", "e-mail", "mail", "Courriel", "Adresse email", "Adresse e-mail", "Adresse mail",
        "Email address", "E-mail address", "Contact email",
    ),
    "phone": ("phone", "Téléphone", "Tél", "Tel", "Phone number", "Telephone", "Telephone number", "Mobile"),
    "invoice_date": (
        "invoice_date", "Date facture", "Date de facture", "Date de la facture", "Date", "Date émission",
        "Date d'émission", "Date pièce", "Invoice date", "Issue date", "Date issued", "Issued on",
    ),
    "due_date": (
        "due_date", "Échéance", "Date d'échéance", "Date échéance", "Date limite de paiement",
        "Due date", "Due", "Due on", "Payment due", "Payment due date",
    ),
    "amount_total": (
        "amount_total", "Montant TTC", "Total TTC", "Montant", "Montant total", "TTC", "Total",
        "Total amount", "Amount", "Invoice total", "Amount incl VAT", "Total incl VAT", "Gross amount",
    ),
    "amount_paid": (
        "amount_paid", "Déjà réglé", "Montant réglé", "Réglé", "Règlement", "Règlements", "Déjà payé",
        "Montant payé", "Payé", "Paid", "Amount paid", "Paid amount", "Payments", "Amount received",
    ),
    "currency": ("currency", "Devise", "Monnaie", "Currency code", "Ccy"),
    "language": ("language", "Langue", "Lang", "Langue du client"),
}
_FIELD_BY_HEADER = {fold(name): field for field, names in _HEADER_NAMES.items() for name in names}

_PADDING = " \u00a0\u202f"
_TOTAL_WORDS = re.compile(r"(?:sous )?(?:total|totaux|sub ?total|grand total|sum)\b")
_NUMBERISH = re.compile(r"[-\u2212(]?[\d \u00a0\u202f.,'\u2019]*\d[\d \u00a0\u202f.,'\u2019]*\)?\s?[€£]?")
_ISO_VOTE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
_NUMERIC_DATE_VOTE = re.compile(r"(\d{1,2})[/.\-](\d{1,2})[/.\-]\d{4}")
_COMMA_VOTE = re.compile(r"\d,\d{1,2}$|\d\.\d{3},\d")  # 1 234,56  1.234,5
_DOT_VOTE = re.compile(r"\d\.\d{1,2}$|\d,\d{3}\.\d")  # 1234.56  1,234.5
_NOT_CSV = {
    b"PK\x03\x04": "a zip archive (an .xlsx or .ods workbook?)",
    b"\xd0\xcf\x11\xe0": "an old Excel workbook (.xls)",
    b"%PDF": "a PDF document",
}


@dataclass(frozen=True, slots=True)
class InvoiceRow:
    """One invoice line of the export, every field checked."""

    line: int
    invoice_number: str
    debtor_name: str
    company_id: str | None  # the 9-digit SIREN
    email: str | None
    phone: str | None
    issued_on: date
    due_on: date
    total: Money
    paid: Money
    language: str | None


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem on one line; `field` is the invoices_en column name, or "*" for the whole line."""

    line: int
    field: str
    code: str
    message: str
    invoice_number: str | None
    file: str | None = None  # the file's name when one import reads several (a ZIP, an e-invoice)


@dataclass(frozen=True, slots=True)
class SkippedLine:
    """A line that is not an invoice and not a mistake: "blank_line", "totals_line" or "preamble".

    A whole file can be skipped too ("credit_note"): `file` names it and
    `detail` says why in a sentence.
    """

    line: int
    reason: str
    file: str | None = None
    detail: str | None = None


ParsedLine = InvoiceRow | RowError | SkippedLine

# A part of a split export carries, for each of its lines whose invoice number an earlier part already used,
# that earlier line. More than this in one part is a file exported twice, not a file to import.
MAX_REPEATS_PER_PART = 10_000


@dataclass(frozen=True, slots=True)
class CsvFormat:
    """What an export's first bytes decided, so that a part of it (bytes from a line start) reads like the whole.

    `encoding` is the decision in force where the part starts: None while only ASCII was read before it.
    """

    declared_encoding: str | None  # "utf-8-sig" or None; a UTF-16 export is never split
    encoding: str | None
    translate_cr: bool
    delimiter: str
    header: tuple[str, ...]
    header_line: int  # in the whole file: the first part starts at line 1 and reports the lines above it
    date_style: str
    decimal_style: str

    def to_json(self) -> dict[str, object]:
        return {"declared_encoding": self.declared_encoding, "encoding": self.encoding,
                "translate_cr": self.translate_cr, "delimiter": self.delimiter, "header": list(self.header),
                "header_line": self.header_line, "date_style": self.date_style, "decimal_style": self.decimal_style}

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> CsvFormat:
        return cls(data["declared_encoding"], data["encoding"], bool(data["translate_cr"]),  # type: ignore[arg-type]
                   str(data["delimiter"]), tuple(data["header"]), int(data["header_line"]),  # type: ignore[arg-type]
                   str(data["date_style"]), str(data["decimal_style"]))


@dataclass(slots=True)
class _Cut:
    """Where `InvoiceReader.split` starts a part, while it reads on."""

    first_line: int
    start: int
    encoding: str | None
    repeats: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FilePart:
    """A run of whole records of an export: from byte `start` (a record's first line, `first_line`) to `end`
    (None: the end of the file). `repeats` maps a line of the part to the earlier part's line that already
    used its invoice number: the duplicate check of the whole file, done once by the pass that split it."""

    first_line: int
    start: int
    end: int | None
    format: CsvFormat
    repeats: dict[int, int] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ParsedFile:
    """A whole export read in memory: its invoices, its problems and the format detected."""

    rows: tuple[InvoiceRow, ...]
    errors: tuple[RowError, ...]
    skipped: tuple[SkippedLine, ...]
    encoding: str
    delimiter: str
    date_style: str
    decimal_style: str


def read_invoices(stream: BinaryIO, *, default_currency: str | None = None) -> Iterator[ParsedLine]:
    """The lines of an accounting export in file order; InvalidImportFile at once if it is unreadable."""
    return iter(InvoiceReader(stream, default_currency=default_currency))


def parse_invoices(data: bytes, *, default_currency: str | None = None) -> ParsedFile:
    """A whole accounting export, read from bytes already in memory."""
    reader = InvoiceReader(io.BytesIO(data), default_currency=default_currency)
    rows: list[InvoiceRow] = []
    errors: list[RowError] = []
    skipped: list[SkippedLine] = []
    for item in reader:
        if isinstance(item, InvoiceRow):
            rows.append(item)
        elif isinstance(item, RowError):
            errors.append(item)
        else:
            skipped.append(item)
    return ParsedFile(
        tuple(rows), tuple(errors), tuple(skipped),
        reader.encoding, reader.delimiter, reader.date_style, reader.decimal_style,
    )


class InvoiceReader:
    """An export opened for reading: the format found in its first bytes, then its lines, once, in order.

    `default_currency` is used for rows whose currency cell is blank, and makes the currency column optional.
    """

    def __init__(self, stream: BinaryIO, *, default_currency: str | None = None) -> None:
        head = stream.read(PEEK_BYTES)
        if not isinstance(head, bytes):
            raise TypeError("read_invoices needs a binary stream (open the file with 'rb')")
        self._default_currency = parse_currency(default_currency) if default_currency else None
        is_whole_file = len(head) < PEEK_BYTES
        source_encoding, head = _opening(head)
        text_head = head  # what the line reader will see: UTF-16 is transcoded to UTF-8
        if source_encoding == "utf-16":
            text_head = codecs.getincrementaldecoder("utf-16")(errors="replace").decode(head).encode("utf-8")
        translate_cr = b"\r" in text_head and b"\n" not in text_head  # classic Mac line ends: CR alone
        if translate_cr:
            head, text_head = head.replace(b"\r", b"\n"), text_head.replace(b"\r", b"\n")
        self._source = _LineSource(
            io.BufferedReader(_Replay(head, stream, source_encoding, translate_cr), buffer_size=64 * 1024),
            _guess_encoding(text_head, source_encoding, is_whole_file),
        )
        self._declared_encoding = source_encoding
        head_lines = self._source.preview(text_head, is_whole_file)
        layout = _find_header(head_lines)
        self.header_line = layout.line
        self._header_cells = tuple(layout.cells)
        self.delimiter = layout.delimiter
        self.columns = layout.columns
        self._width = len(layout.cells)
        self._min_width = max((i for i, cell in enumerate(layout.cells) if cell.strip()), default=-1) + 1
        self._indices = tuple(self.columns.get(field, -1) for field in FIELDS)  # -1: the empty cell appended
        required = [f for f in REQUIRED_FIELDS if not (f == "currency" and default_currency)]
        missing = [field for field in required if field not in self.columns]
        if missing:
            raise InvalidImportFile(
                f"missing required column(s) {', '.join(missing)}; "
                f"header found: {_shown_header(layout.cells)}",
                missing=missing, header=list(layout.cells[:30]),
            )
        self._issued_at, self._due_at = self.columns["invoice_date"], self.columns["due_date"]
        self.date_style, self.decimal_style = _vote_styles(head_lines[layout.line :], layout)
        self._consumed = False
        self.line_count = 0  # physical lines, once split() has read them all
        self._resumed = False
        self._repeats: Mapping[int, int] = {}
        self._translate_cr = translate_cr

    @classmethod
    def resume(cls, stream: BinaryIO, part: FilePart) -> InvoiceReader:
        """The lines of one part of a split export (`stream` holds its bytes only), numbered as in the whole
        file and checked with the format the whole file was given; its repeats of earlier parts are reported."""
        fmt = part.format
        reader = cls.__new__(cls)
        reader._default_currency = None
        reader._declared_encoding = fmt.declared_encoding
        reader._translate_cr = fmt.translate_cr
        reader._source = _LineSource(io.BufferedReader(_Replay(b"", stream, None, fmt.translate_cr),
                                                       buffer_size=64 * 1024), fmt.encoding)
        reader._source.count = part.first_line - 1
        cells = list(fmt.header)
        reader._header_cells = fmt.header
        # The first part starts at line 1 and reads the title lines and the header as the whole file does;
        # the others start after it.
        reader.header_line = max(part.first_line - 1, fmt.header_line)
        reader.delimiter = fmt.delimiter
        reader.columns = _map_header(cells)
        reader._width = len(cells)
        reader._min_width = max((i for i, cell in enumerate(cells) if cell.strip()), default=-1) + 1
        reader._indices = tuple(reader.columns.get(f, -1) for f in FIELDS)
        reader._issued_at, reader._due_at = reader.columns["invoice_date"], reader.columns["due_date"]
        reader.date_style, reader.decimal_style = fmt.date_style, fmt.decimal_style
        reader._consumed = False
        reader.line_count = 0
        reader._resumed = part.first_line > fmt.header_line
        reader._repeats = part.repeats
        return reader

    def split(self, lines_per_part: int) -> list[FilePart]:
        """Read the whole export once, cheaply (no row is checked), and cut it into parts of about
        `lines_per_part` lines, each starting at a record's first line; [] for an export that cannot be
        cut (UTF-16, transcoded as it is read). Quoted cells spanning lines stay in one part."""
        if self._consumed:
            raise InvalidImportFile("the export can be read only once; open it again")
        self._consumed = True
        if self._declared_encoding == "utf-16":
            return []
        source = self._source
        skipped_bom = len(codecs.BOM_UTF8) if self._declared_encoding == "utf-8-sig" else 0

        def cut_here() -> _Cut:
            return _Cut(source.count + 1, skipped_bom + source.offset, source.encoding)

        cuts = [cut_here()]  # line 1: the first part reads the title lines and the header too
        lines = iter(source)
        for _text in lines:
            if source.count == self.header_line:
                break
        reader = csv.reader(lines, delimiter=self.delimiter)
        seen = _SeenNumbers()
        end = self.header_line
        while True:
            if source.count + 1 - cuts[-1].first_line >= lines_per_part:
                cuts.append(cut_here())  # between two records: the next one starts here
            try:
                cells = next(reader)
            except StopIteration:
                break
            except csv.Error:
                end = source.count
                continue
            start, end = end + 1, source.count
            number = self._number_checked_for_repeats(cells, start, end)
            if number is None:
                continue
            first_line = seen.setdefault(number, start)
            part = cuts[-1]
            if first_line < part.first_line:  # used by an earlier part: this part cannot see it
                part.repeats[start] = first_line
                if len(part.repeats) > MAX_REPEATS_PER_PART:
                    raise InvalidImportFile(
                        f"more than {MAX_REPEATS_PER_PART:,} invoice numbers between lines {part.first_line} "
                        f"and {start} were already used earlier in the file; was it exported twice? Remove the "
                        "repeated lines and drop it again", repeats=len(part.repeats))
        if len(cuts) > 1 and cuts[-1].first_line > source.count:
            cuts.pop()  # the file ended right at a cut: nothing after it
        self.line_count = source.count
        fmt = self.format
        ends = [cut.start for cut in cuts[1:]] + [None]
        return [FilePart(cut.first_line, cut.start, part_end,
                         CsvFormat(fmt.declared_encoding, cut.encoding, fmt.translate_cr, fmt.delimiter, fmt.header,
                                   fmt.header_line, fmt.date_style, fmt.decimal_style), cut.repeats)
                for cut, part_end in zip(cuts, ends, strict=True)]

    @property
    def format(self) -> CsvFormat:
        """The format decided for the whole export (the encoding as decided so far)."""
        return CsvFormat(self._declared_encoding, self._source.encoding, self._translate_cr, self.delimiter,
                         self._header_cells, self.header_line, self.date_style, self.decimal_style)

    def _number_checked_for_repeats(self, cells: list[str], line: int, end: int) -> str | None:
        """The invoice number `_check_row` would look up in the duplicate check for this record, else None:
        the same gates (too long, blank, wrong width, totals line, undecodable, invalid number), no other check."""
        source = self._source
        if source.overlong and source.take(source.overlong, line, end):
            return None
        if _is_blank(cells):
            return None
        if len(cells) < self._min_width or (len(cells) > self._width and not _is_blank(cells[self._width :])):
            return None
        has_dates = cells[self._issued_at].strip() or cells[self._due_at].strip()
        if not has_dates and self._is_totals_line(cells):
            return None
        index = self.columns["invoice_number"]
        number = cells[index].strip(_PADDING) if index < len(cells) else ""
        if source.undecodable and source.take(source.undecodable, line, end) and has_undecodable_bytes(number):
            return None
        if not number:
            return None
        try:
            check_text(number, MAX_LENGTHS["invoice_number"])
        except InvalidField:
            return None
        return number

    @property
    def encoding(self) -> str:
        """"utf-8-sig", "utf-8", "cp1252" or "utf-16" ("utf-8" while only ASCII has been read)."""
        if self._declared_encoding in ("utf-8-sig", "utf-16"):
            return self._declared_encoding
        return self._source.encoding or "utf-8"

    def __iter__(self) -> Iterator[ParsedLine]:
        if self._consumed:
            raise InvalidImportFile("the export can be read only once; open it again")
        self._consumed = True
        return self._lines()

    def _lines(self) -> Iterator[ParsedLine]:
        source = self._source
        lines = iter(source)
        for text in lines if not self._resumed else ():
            if source.count == self.header_line:
                break
            yield SkippedLine(source.count, "blank_line" if _is_blank_text(text) else "preamble")
        reader = csv.reader(lines, delimiter=self.delimiter)
        seen = _SeenNumbers()
        end = self.header_line
        while True:
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                start, end = end + 1, source.count
                yield RowError(start, "*", "malformed_line", f"line cannot be read as CSV: {error}", None)
                continue
            start, end = end + 1, source.count
            yield from self._check_row(cells, start, end, seen)

    def _check_row(
        self, cells: list[str], line: int, end: int, seen: _SeenNumbers
    ) -> tuple[ParsedLine, ...]:
        """What the record on lines `line` to `end` is: an invoice, its problems, or a skipped line."""
        source = self._source
        if source.overlong and source.take(source.overlong, line, end):
            message = f"line is longer than {MAX_LINE_BYTES:,} bytes; an invoice line is a few hundred"
            return (RowError(line, "*", "line_too_long", message, None),)
        if _is_blank(cells):
            return (SkippedLine(line, "blank_line"),)
        if len(cells) < self._min_width or (len(cells) > self._width and not _is_blank(cells[self._width :])):
            if self._is_totals_line(cells):
                return (SkippedLine(line, "totals_line"),)
            number_at = self.columns["invoice_number"]
            number = cells[number_at].strip() if number_at < len(cells) else ""
            message = (
                f"line has {len(cells)} fields but the header has {self._width}; "
                "check for an unquoted delimiter or a missing cell"
            )
            return (RowError(line, "*", "wrong_column_count", message, _label(number)),)
        has_dates = cells[self._issued_at].strip() or cells[self._due_at].strip()
        if not has_dates and self._is_totals_line(cells):
            return (SkippedLine(line, "totals_line"),)
        cells.append("")  # optional columns the file does not have read this empty cell
        # Only spaces are trimmed: a leading tab or CR is a formula trick and must reach check_text.
        values = [cells[index].strip(_PADDING) for index in self._indices]
        if source.undecodable and source.take(source.undecodable, line, end):
            problems = [(field, _undecodable(value, self.encoding))
                        for field, value in zip(FIELDS, values) if has_undecodable_bytes(value)]
            values = ["" if has_undecodable_bytes(value) else value for value in values]
            return self._check_values(values, line, seen, problems)
        return self._check_values(values, line, seen, [])

    def _check_values(
        self, values: list[str], line: int, seen: _SeenNumbers, problems: list[tuple[str, InvalidField]]
    ) -> tuple[ParsedLine, ...]:
        """The invoice in `values` (in FIELDS order), or every problem found in it."""
        number, name, siren, email, phone, issued_text, due_text, total_text, paid_text, currency_text, \
            language_text = values
        reported = {field for field, _ in problems}  # undecodable cells, already reported, read as empty

        def missing(field: str, defect: str, message: str) -> None:
            if field not in reported:
                problems.append((field, InvalidField(defect, message)))

        if not number:
            missing("invoice_number", "missing_invoice_number",
                    "the invoice number is empty; every invoice needs its number")
        elif _attempt(problems, "invoice_number", check_text, number, MAX_LENGTHS["invoice_number"]):
            first_line = seen.setdefault(number, line)
            first_line = self._repeats.get(line, first_line)  # a split export: the line an earlier part used it on
            if first_line != line:
                problems.append(("invoice_number", InvalidField(
                    "duplicate_invoice_number",
                    f"invoice number {shown(number)} is already used on line {first_line}; "
                    "each invoice must appear once",
                    first_line=first_line,
                )))
        if not name:
            missing("debtor_name", "empty_debtor",
                    "the debtor name is empty; every invoice needs the customer it is addressed to")
        elif _attempt(problems, "debtor_name", check_text, name, MAX_LENGTHS["debtor_name"]):
            name = name if name.isascii() else unicodedata.normalize("NFC", name)
        company_id = _attempt(problems, "siren", _checked_siren, siren) if siren else None
        email = _attempt(problems, "email", _checked_email, email) if email else None
        phone = _attempt(problems, "phone", _checked_phone, phone) if phone else None
        language = None
        if language_text:
            language = _attempt(problems, "language", _checked_language, language_text)

        issued_on = due_on = None
        if not issued_text:
            missing("invoice_date", "missing_invoice_date",
                    f"the invoice date is empty; expected a date ({self.date_style})")
        else:
            issued_on = _attempt(problems, "invoice_date", parse_date, issued_text, self.date_style)
        if not due_text:
            missing("due_date", "missing_due_date",
                    f"the due date is empty; expected a date ({self.date_style})")
        else:
            due_on = _attempt(problems, "due_date", parse_date, due_text, self.date_style)
        if issued_on and due_on and due_on < issued_on:
            problems.append(("due_date", InvalidField(
                "due_before_invoice_date",
                f"due date {due_on.isoformat()} is before the invoice date {issued_on.isoformat()}; "
                "the due date must be on or after it",
            )))

        currency = self._default_currency
        if currency_text:
            currency = _attempt(problems, "currency", parse_currency, currency_text)
        elif not currency:
            missing("currency", "missing_currency",
                    "the currency is empty; expected an ISO 4217 code such as EUR")
        # With an unknown currency the amounts are still checked, as if in euros, then dropped.
        money_in, decimal_style = currency or "EUR", self.decimal_style
        total = paid = None
        if not total_text:
            missing("amount_total", "missing_amount", "the invoice total is empty; expected an amount")
        else:
            total = _attempt(problems, "amount_total", parse_amount, total_text, decimal_style, money_in)
        if not paid_text:
            paid = Money(0, money_in)
        else:
            paid = _attempt(problems, "amount_paid", parse_amount, paid_text, decimal_style, money_in)
        if total is not None and total.minor <= 0:
            problems.append(("amount_total", _not_positive(total, total_text)))
        if paid is not None and paid.minor < 0:
            problems.append(("amount_paid", _not_positive(paid, paid_text)))
        elif paid is not None and total is not None and paid.minor > total.minor > 0:
            problems.append(("amount_paid", InvalidField(
                "paid_exceeds_total",
                f"amount paid {shown(paid_text)} is more than the invoice total {shown(total_text)}; "
                "an overpayment is not an open invoice",
            )))

        if problems:
            label = _label(number)
            return tuple(RowError(line, field, error.defect, str(error), label) for field, error in problems)
        return (InvoiceRow(
            line, number, name, company_id, email, phone, issued_on, due_on, total, paid, language
        ),)

    def _is_totals_line(self, cells: list[str]) -> bool:
        """A "TOTAL" line under the invoices: no invoice number (or the word total), no dates, amounts."""

        def cell(field: str) -> str:
            index = self.columns.get(field)
            return cells[index].strip() if index is not None and index < len(cells) else ""

        if cell("invoice_date") or cell("due_date"):
            return False
        if not any(_NUMBERISH.fullmatch(c.strip()) for c in cells):
            return False
        number, name = fold(cell("invoice_number")), fold(cell("debtor_name"))
        says_total = bool(_TOTAL_WORDS.match(number) or _TOTAL_WORDS.match(name))
        return (not number or says_total) and (not name or says_total)


def _attempt(
    problems: list[tuple[str, InvalidField]], field: str, parse: Callable[..., T], *args: object
) -> T | None:
    """parse(*args), or None with the problem noted against `field`."""
    try:
        return parse(*args)
    except InvalidField as problem:
        problems.append((field, problem))
        return None


def _checked_siren(text: str) -> str:
    if len(text) > MAX_LENGTHS["siren"]:
        check_text(text, MAX_LENGTHS["siren"])
    return parse_siren(text)


def _checked_email(text: str) -> str:
    return parse_email(check_text(text, MAX_LENGTHS["email"]))


def _checked_phone(text: str) -> str:
    return parse_phone(check_text(text, MAX_LENGTHS["phone"], may_start_with_sign=True))


def _checked_language(text: str) -> str:
    return parse_language(check_text(text, MAX_LENGTHS["language"]))


def _label(number: str) -> str | None:
    return number if number and len(number) <= MAX_LENGTHS["invoice_number"] else None


def _not_positive(amount: Money, text: str) -> InvalidField:
    if amount.minor == 0:
        return InvalidField("zero_amount", f"amount {shown(text)} is zero; expected an amount above zero")
    return InvalidField("negative_amount", f"amount {shown(text)} is negative; expected an amount above zero")


def _undecodable(value: str, encoding: str) -> InvalidField:
    if encoding.startswith("utf-8"):
        return InvalidField(
            "invalid_utf8",
            f"{shown(value)} holds bytes that are not UTF-8 (probably Windows-1252 or Latin-1 text "
            "pasted into this UTF-8 file); retype the accented letters or export again as UTF-8",
        )
    return InvalidField(
        "invalid_encoding", f"{shown(value)} holds bytes that are not {encoding} text; export again as UTF-8"
    )


def _is_blank(cells: list[str]) -> bool:
    return not any(cell.strip() for cell in cells)


def _is_blank_text(text: str) -> bool:
    """True for a line of nothing but spaces and delimiters, e.g. ";;;;;;;;;" under the invoices."""
    return not "".join(text.split()).strip("".join(DELIMITERS))


def _shown_header(cells: list[str]) -> str:
    text = " | ".join(cell.strip() for cell in cells)
    return "'" + (text if len(text) <= 200 else text[:200] + "…") + "'"


class _SeenNumbers:
    """The invoice numbers met so far and the line of each, for the duplicate check, in 12 bytes a number.

    A dict of the numbers themselves would cost about 120 bytes each (100 MB for a million rows);
    this open-addressing table keeps a 64-bit fingerprint (BLAKE2b) and the line in two arrays. Two
    different numbers share a fingerprint with a probability of about 3e-8 in a million-row file.
    """

    def __init__(self) -> None:
        self._fingerprints = array("Q", bytes(8 * 1024))  # 0: empty slot
        self._lines = array("I", bytes(4 * 1024))
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def setdefault(self, number: str, line: int) -> int:
        """The line `number` was first seen on; `line` if this is the first time (then remembered)."""
        digest = int.from_bytes(hashlib.blake2b(number.encode("utf-8", "surrogateescape"), digest_size=8).digest())
        fingerprint = digest or 1
        fingerprints, mask = self._fingerprints, len(self._fingerprints) - 1
        slot = fingerprint & mask
        while fingerprints[slot]:
            if fingerprints[slot] == fingerprint:
                return self._lines[slot]
            slot = (slot + 1) & mask
        fingerprints[slot], self._lines[slot] = fingerprint, line
        self._count += 1
        if 2 * self._count > len(fingerprints):  # at most half full: probes stay short
            self._grow()
        return line

    def _grow(self) -> None:
        old = zip(self._fingerprints, self._lines)
        size = 2 * len(self._fingerprints)
        fingerprints, lines = array("Q", bytes(8 * size)), array("I", bytes(4 * size))
        mask = size - 1
        for fingerprint, line in old:
            if fingerprint:
                slot = fingerprint & mask
                while fingerprints[slot]:
                    slot = (slot + 1) & mask
                fingerprints[slot], lines[slot] = fingerprint, line
        self._fingerprints, self._lines = fingerprints, lines


# ------------------------------------------------------------------ opening and decoding


def _opening(head: bytes) -> tuple[str | None, bytes]:
    """The encoding a byte-order mark declares (None when there is none) and the head without the mark."""
    if not head:
        raise InvalidImportFile("the file is empty; expected a CSV export with a header line")
    for magic, what in _NOT_CSV.items():
        if head.startswith(magic):
            raise InvalidImportFile(
                f"the file is {what}, not a CSV export; save it as CSV (UTF-8) and try again"
            )
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig", head[len(codecs.BOM_UTF8) :]
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16", head  # Excel "Unicode text": transcoded to UTF-8 as it is read
    if b"\x00" in head:
        raise InvalidImportFile(
            "the file holds binary data (NUL bytes), not CSV text; export it as CSV (UTF-8)"
        )
    return None, head


def _guess_encoding(head: bytes, declared: str | None, is_whole_file: bool) -> str | None:
    """UTF-8 or Windows-1252, from the non-ASCII lines seen first; None while the text is all ASCII.

    A Windows-1252 accent is almost never valid UTF-8, so any clean UTF-8 line is strong evidence;
    a few undecodable lines in a UTF-8 file are then reported on their own lines instead of
    changing how the whole file is read.
    """
    if declared is not None:
        return "utf-8"
    if not is_whole_file:
        head = head[: head.rfind(b"\n") + 1]  # the last line may be cut in the middle of a character
    valid = invalid = 0
    for raw in head.split(b"\n"):
        if raw.isascii():
            continue
        try:
            raw.decode("utf-8")
            valid += 1
        except UnicodeDecodeError:
            invalid += 1
    if valid == invalid == 0:
        return None
    return "utf-8" if valid >= invalid else "cp1252"


class _Replay(io.RawIOBase):
    """The bytes already read to detect the format, then the rest of the stream, as one stream."""

    def __init__(self, head: bytes, rest: BinaryIO, declared: str | None, translate_cr: bool) -> None:
        super().__init__()
        self._pending = head
        self._rest = rest
        self._translate_cr = translate_cr
        self._utf16 = None
        if declared == "utf-16":
            self._utf16 = codecs.getincrementaldecoder("utf-16")(errors="replace")
            self._pending = self._utf16.decode(head).encode("utf-8")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001 - a writable buffer
        while not self._pending:
            chunk = self._rest.read(len(buffer))
            if self._utf16 is not None:
                self._pending = self._utf16.decode(chunk or b"", final=not chunk).encode("utf-8")
            else:
                self._pending = chunk.replace(b"\r", b"\n") if self._translate_cr else chunk
            if not chunk:
                break
        size = min(len(buffer), len(self._pending))
        buffer[:size] = self._pending[:size]
        self._pending = self._pending[size:]
        return size


class _LineSource:
    """The physical lines of the file, decoded one by one and counted (the header is line 1).

    Bytes that do not decode stay in the text as lone surrogates, and their line number is noted,
    so one bad line is reported on that line instead of stopping the import.
    """

    def __init__(self, raw: io.BufferedReader, encoding: str | None) -> None:
        self._raw = raw
        self.encoding = encoding  # None while only ASCII has been read
        self.count = 0
        self.offset = 0  # bytes read, for cutting the file between records
        self.undecodable: set[int] = set()
        self.overlong: set[int] = set()

    def preview(self, head: bytes, is_whole_file: bool) -> list[str]:
        """The complete lines of `head` decoded like the real read will, without consuming anything."""
        codec = self.encoding or "utf-8"  # None: the head is all ASCII
        raw_lines = head.split(b"\n")
        if not is_whole_file:
            raw_lines = raw_lines[:-1]
        kept = raw_lines[: VOTE_ROWS + MAX_PREAMBLE_LINES + 1]
        return [raw.decode(codec, "surrogateescape") + "\n" for raw in kept]

    def __iter__(self) -> Iterator[str]:
        readline = self._raw.readline
        while True:
            raw = readline(MAX_LINE_BYTES)
            if not raw:
                return
            self.count += 1
            self.offset += len(raw)
            if len(raw) == MAX_LINE_BYTES and not raw.endswith(b"\n"):
                self.overlong.add(self.count)
                while raw and not raw.endswith(b"\n"):
                    raw = readline(MAX_LINE_BYTES)
                    self.offset += len(raw)
                yield "\n"  # the record boundary stays; the row is reported as too long
                continue
            yield self._decode(raw)

    def _decode(self, raw: bytes) -> str:
        encoding = self.encoding
        if encoding is None:
            if raw.isascii():
                return raw.decode("ascii")
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError:
                encoding = self.encoding = "cp1252"
            else:
                self.encoding = "utf-8"
                return text
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            self.undecodable.add(self.count)
            return raw.decode(encoding, "surrogateescape")

    @staticmethod
    def take(lines: set[int], first: int, last: int) -> bool:
        """True when one of the lines first..last is in `lines`; forgets them, so the set stays small."""
        found = False
        for number in range(first, last + 1):
            if number in lines:
                lines.discard(number)
                found = True
        return found


# ------------------------------------------------------------------ header and styles


@dataclass(frozen=True, slots=True)
class _Layout:
    line: int
    delimiter: str
    cells: list[str]
    columns: dict[str, int]


def _find_header(lines: list[str]) -> _Layout:
    """The first line (after at most a few title lines) whose cells name every required column."""
    best: _Layout | None = None
    non_blank = 0
    for number, text in enumerate(lines, start=1):
        if _is_blank_text(text):
            continue
        non_blank += 1
        if non_blank > MAX_PREAMBLE_LINES + 1:
            break
        for delimiter in DELIMITERS:
            try:
                cells = next(csv.reader([text], delimiter=delimiter), [])
            except csv.Error:  # e.g. a stray CR in the middle of the line
                continue
            columns = _map_header(cells)
            layout = _Layout(number, delimiter, cells, columns)
            if best is None or len(columns) > len(best.columns):
                best = layout
            if all(field in columns for field in REQUIRED_FIELDS if field != "currency"):
                return layout
    if best is None:
        raise InvalidImportFile(
            "no header line found; expected column names such as invoice_number or N° facture"
        )
    return best


def _map_header(cells: list[str]) -> dict[str, int]:
    columns: dict[str, int] = {}
    for index, cell in enumerate(cells):
        field = _FIELD_BY_HEADER.get(fold(cell))
        if field is None:
            continue
        if field in columns:
            raise InvalidImportFile(
                f"columns {shown(cells[columns[field]])} and {shown(cell)} both look like {field}; "
                "keep one or rename the other",
                field=field,
            )
        columns[field] = index
    return columns


def _vote_styles(lines: list[str], layout: _Layout) -> tuple[str, str]:
    """The date style and decimal mark most rows of the first chunk use."""
    iso = numeric = day_first = month_first = comma = dot = 0
    date_columns = [layout.columns[f] for f in ("invoice_date", "due_date") if f in layout.columns]
    amount_columns = [layout.columns[f] for f in ("amount_total", "amount_paid") if f in layout.columns]
    reader = csv.reader(lines, delimiter=layout.delimiter)
    for _ in range(VOTE_ROWS):
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error:
            continue
        for index in date_columns:
            text = cells[index].strip() if index < len(cells) else ""
            if _ISO_VOTE.match(text):
                iso += 1
            elif match := _NUMERIC_DATE_VOTE.fullmatch(text):
                numeric += 1
                day_first += int(match.group(1)) > 12
                month_first += int(match.group(2)) > 12
        for index in amount_columns:
            text = cells[index].strip() if index < len(cells) else ""
            if _COMMA_VOTE.search(text):
                comma += 1
            elif _DOT_VOTE.search(text):
                dot += 1
    european = layout.delimiter != ","
    if comma != dot:
        decimal_style = DECIMAL_COMMA if comma > dot else DECIMAL_DOT
    else:
        decimal_style = DECIMAL_COMMA if european else DECIMAL_DOT
    if iso > numeric or (iso == numeric == 0 and not european):
        date_style = DATE_ISO
    elif month_first and not day_first:
        date_style = DATE_MDY  # proven by a second part above 12, e.g. 04/15/2025
    else:
        date_style = DATE_DMY
    return date_style, decimal_style
