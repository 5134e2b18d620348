"""Large files (issue #9): the export is read as a stream and the report stays small, whatever the size."""

from __future__ import annotations

import io
from itertools import islice

import pytest

from relance.domain.csv_invoices import InvoiceRow, RowError, _SeenNumbers, read_invoices
from relance.services import imports

HEADER = "N° facture;Client;Date facture;Échéance;Montant TTC;Devise\r\n".encode("cp1252")


class EndlessExport(io.RawIOBase):
    """A French export that never ends, made row by row; reading more than `budget` bytes fails the test."""

    def __init__(self, budget: int, bad_rows: bool = False) -> None:
        super().__init__()
        self.budget, self.bad_rows = budget, bad_rows
        self.given = 0
        self._pending = HEADER
        self._row = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # noqa: ANN001
        while len(self._pending) < len(buffer):
            self._row += 1
            amount = "abc" if self.bad_rows else f"{self._row},50"
            self._pending += f"FA-{self._row:08d};Société {self._row % 97};03/02/2026;05/03/2026;{amount};EUR\r\n" \
                .encode("cp1252")
        size = len(buffer)
        self.given += size
        assert self.given <= self.budget, f"read {self.given:,} bytes: the export is being loaded whole"
        buffer[:size], self._pending = self._pending[:size], self._pending[size:]
        return size


def test_the_first_invoice_comes_before_the_export_is_read_much_further():
    stream = EndlessExport(budget=2 * 1024 * 1024)

    first = list(islice(read_invoices(stream), 3))

    assert [row.invoice_number for row in first] == ["FA-00000001", "FA-00000002", "FA-00000003"]
    assert all(isinstance(row, InvoiceRow) for row in first)
    assert first[0].total.minor == 150 and first[0].debtor_name == "Société 1"


def test_reading_further_keeps_reading_only_what_the_rows_need():
    stream = EndlessExport(budget=4 * 1024 * 1024)

    rows = list(islice(read_invoices(stream), 20_000))  # about 1.2 MB of rows

    assert rows[-1].invoice_number == "FA-00020000"
    assert stream.given < 1.2 * 1024 * 1024 + 512 * 1024  # the rows, the format peek and one buffer


def test_duplicate_numbers_are_found_far_apart_with_their_first_line():
    seen = _SeenNumbers()
    for line in range(2, 50_002):
        assert seen.setdefault(f"FA-{line:07d}", line) == line
    assert seen.setdefault("FA-0000007", 60_000) == 7
    assert seen.setdefault("FA-0049999", 60_001) == 49_999
    assert len(seen) == 50_000


def _bad_export(rows: int) -> bytes:
    lines = [f"FA-{n:06d};Client {n};03/02/2026;05/03/2026;{'abc' if n % 2 else '10,00'};EUR\r\n"
             for n in range(rows)]
    return HEADER + "".join(lines).encode("cp1252")


def test_a_report_keeps_the_first_thousand_errors_by_line_and_counts_the_others():
    report = imports.check_file(io.BytesIO(_bad_export(5_000)))

    assert report.rows == 5_000 and report.imported == 2_500
    assert len(report.errors) == imports.MAX_REPORTED_ERRORS
    assert report.errors_not_shown == 1_500 and report.error_count() == 2_500
    assert [e.line for e in report.errors[:3]] == [3, 5, 7]  # line 1 is the header; odd rows are bad
    assert all(isinstance(e, RowError) and e.field == "amount_total" for e in report.errors)
    result = report.to_json()
    assert len(result["errors"]) == 1_000 and result["errors_not_shown"] == 1_500


def test_a_report_under_the_cap_keeps_its_usual_shape():
    result = imports.check_file(io.BytesIO(_bad_export(10))).to_json()

    assert len(result["errors"]) == 5
    assert "errors_not_shown" not in result and "skipped_not_shown" not in result


def test_the_dry_run_of_an_endless_stream_of_bad_rows_holds_only_the_capped_errors():
    stream = EndlessExport(budget=3 * 1024 * 1024, bad_rows=True)
    report = imports.ImportReport()
    for parsed in islice(read_invoices(stream), 40_000):
        report.add_error(parsed)

    assert len(report.errors) <= 2 * imports.MAX_REPORTED_ERRORS
    assert report.error_count() == 40_000


def test_a_zip_entry_longer_than_the_limit_is_refused_and_its_sniffed_head_is_read_back_first():
    from relance.services.imports import InvalidImportFile, _Bounded, _Prefixed

    within = _Bounded(io.BytesIO(b"0123456789" * 5), limit=50)
    head = within.read(8)
    assert head == b"01234567"
    assert io.BufferedReader(_Prefixed(head, within)).read() == b"0123456789" * 5

    beyond = io.BufferedReader(_Prefixed(b"", _Bounded(io.BytesIO(b"x" * 51), limit=50)))
    with pytest.raises(InvalidImportFile, match="more than 50 bytes"):
        beyond.read()
