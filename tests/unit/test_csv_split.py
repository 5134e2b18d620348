"""Splitting an export into parts read on their own (issue #9): the parts read exactly like the whole file."""

from __future__ import annotations

import codecs
import io

import pytest

from relance.domain import csv_invoices
from relance.domain.csv_invoices import InvoiceReader, RowError, read_invoices
from relance.domain.errors import InvalidImportFile


def rows(count: int, *, quoted_newline_every: int = 5, repeat: dict[int, int] | None = None) -> list[str]:
    repeat = repeat or {}
    lines = []
    for i in range(1, count + 1):
        number = f"F{repeat.get(i, i):04d}"
        name = f'"Dupont\n& fils {i}"' if i % quoted_newline_every == 0 else f'"Hélène; {i}"'
        lines.append(f"{number};{name};01/02/2025;01/03/2025;1 234,{i % 100:02d};EUR")
    return lines


HEADER = "N° facture;Client;Date facture;Échéance;Montant TTC;Devise"
EXPORTS = {
    "utf-8 with BOM, CRLF, quoted cells over two lines": codecs.BOM_UTF8 + ("\r\n".join([HEADER, *rows(40)]) + "\r\n").encode(),
    "cp1252 under title lines, an invoice number used twice": (
        "\n".join(["Grand livre;;;;;", ";;;;;", HEADER, *rows(40, repeat={33: 2, 35: 2})]) + "\n").encode("cp1252"),
    "classic Mac line ends (CR alone), no final line end": "\r".join(
        [HEADER, *[r.replace("\n", "\r") for r in rows(30)]]).encode("cp1252"),
    "ASCII first, a Windows-1252 line late": (
        "\n".join([HEADER, *[r.replace("é", "e") for r in rows(30)], "F9999;Société;01/02/2025;01/03/2025;1,00;EUR"])
        + "\n").encode("cp1252"),
}


def read_by_parts(data: bytes, lines_per_part: int) -> tuple[list, int]:
    parts = InvoiceReader(io.BytesIO(data)).split(lines_per_part)
    lines = []
    for part in parts:
        lines += list(InvoiceReader.resume(io.BytesIO(data[part.start:part.end]), part))
    return lines, len(parts)


@pytest.mark.parametrize("name", EXPORTS)
def test_an_export_read_part_by_part_gives_the_lines_of_the_whole_file_whatever_the_part_size(name):
    data = EXPORTS[name]
    whole = list(read_invoices(io.BytesIO(data)))

    for lines_per_part in (1, 2, 3, 7, 10, 1_000):
        by_parts, count = read_by_parts(data, lines_per_part)

        assert by_parts == whole, (name, lines_per_part)
        assert count > 1 or lines_per_part == 1_000


def test_parts_start_at_a_record_never_inside_a_quoted_cell_spanning_lines():
    data = ("\n".join([HEADER, *rows(12, quoted_newline_every=2)]) + "\n").encode()

    parts = InvoiceReader(io.BytesIO(data)).split(3)

    starts = [data[p.start:p.start + 1] for p in parts[1:]]
    assert starts and all(start == b"F" for start in starts)
    assert [p.end for p in parts[:-1]] == [p.start for p in parts[1:]]


def test_a_number_first_used_in_an_earlier_part_is_reported_with_that_line():
    data = ("\n".join([HEADER, *rows(20, quoted_newline_every=1_000, repeat={15: 3, 18: 3})]) + "\n").encode()

    by_parts, count = read_by_parts(data, 5)

    duplicates = [(e.line, e.message) for e in by_parts if isinstance(e, RowError)]
    assert count == 5
    assert duplicates == [(16, "invoice number 'F0003' is already used on line 4; each invoice must appear once"),
                          (19, "invoice number 'F0003' is already used on line 4; each invoice must appear once")]


def test_an_export_repeating_too_many_numbers_of_earlier_parts_is_refused(monkeypatch):
    monkeypatch.setattr(csv_invoices, "MAX_REPEATS_PER_PART", 3)
    data = ("\n".join([HEADER, *rows(20, repeat={i: 1 for i in range(11, 21)})]) + "\n").encode()

    with pytest.raises(InvalidImportFile, match="exported twice"):
        InvoiceReader(io.BytesIO(data)).split(10)


def test_a_utf16_export_is_not_split():
    data = ("\r\n".join([HEADER.replace(";", "\t"), *[r.replace(";", "\t") for r in rows(10)]]) + "\r\n").encode("utf-16")

    assert InvoiceReader(io.BytesIO(data)).split(2) == []
