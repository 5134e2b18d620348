"""`relance late-fees` through argparse: exact JSON, readable tables in fr/en, one-line errors."""

import argparse
import json

import pytest

from relance_cli import late_fees

FR_B2B_01 = ["--jurisdiction", "FR", "--creditor", "business", "--debtor", "business",
             "--principal", "12000.00",
             "--currency", "EUR", "--due", "2025-03-31", "--paid", "2025-06-15"]
UNPUBLISHED_H2_2026 = ["--jurisdiction", "FR", "--principal", "8000.00",
                       "--due", "2026-05-31", "--as-of", "2026-11-23"]


@pytest.fixture(autouse=True)
def no_operator_settings(monkeypatch):
    """The tests see only the packaged rates, whatever the developer's shell exports."""
    monkeypatch.delenv(late_fees.RATES_FILE_ENV, raising=False)
    monkeypatch.delenv(late_fees.PROVISIONAL_ENV, raising=False)


def relance(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="relance")
    late_fees.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["late-fees", *argv])
    return args.handler(args)


def test_json_has_exactly_the_documented_schema_and_amounts(capsys):
    code = relance(*FR_B2B_01, "--json")

    out = capsys.readouterr().out
    document = json.loads(out)
    assert code == 0 and out.count("\n") == 1
    assert list(document) == ["currency", "interest", "indemnity", "total", "segments"]
    assert {key: document[key] for key in ("currency", "interest", "indemnity", "total")} == {
        "currency": "EUR", "interest": "328.57", "indemnity": "40.00", "total": "368.57"
    }
    [segment] = document["segments"]
    assert list(segment) == ["from", "to", "days", "base", "rate", "source", "amount"]
    assert {key: value for key, value in segment.items() if key != "source"} == {
        "from": "2025-04-01", "to": "2025-06-15", "days": 76,
        "base": "12000.00", "rate": "13.15", "amount": "328.57",
    }
    assert segment["source"].startswith("ECB MRO rate 3.15% on 2025-01-01 + 10 points (L441-10 C. com.)")


def test_json_uses_strings_for_every_amount_and_never_a_float(capsys):
    relance(*FR_B2B_01, "--json")

    out = capsys.readouterr().out
    document = json.loads(out, parse_float=lambda text: pytest.fail(f"float {text} in JSON"))

    assert all(isinstance(document[key], str) for key in ("interest", "indemnity", "total"))


def test_part_payments_on_the_command_line_give_the_pack_vector(capsys):
    code = relance("--jurisdiction", "FR", "--principal", "20000.00",
                   "--due", "2025-05-31", "--paid", "2025-08-14",
                   "--payment", "2025-06-20:8000.00", "--json")

    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert (document["interest"], document["total"]) == ("367.09", "407.09")
    assert [(s["days"], s["base"], s["amount"]) for s in document["segments"]] == [
        (20, "20000.00", "144.11"), (10, "12000.00", "43.23"), (45, "12000.00", "179.75")
    ]


def test_a_uk_debt_gets_its_band_fee(capsys):
    relance("--jurisdiction", "UK", "--principal", "8500.00", "--currency", "GBP", "--due", "2025-07-31",
            "--paid", "2025-10-14", "--json")

    document = json.loads(capsys.readouterr().out)

    assert (document["currency"], document["interest"], document["indemnity"]) == ("GBP", "213.96", "70.00")


def test_the_provisional_key_appears_only_when_a_provisional_rate_was_used(capsys):
    relance(*FR_B2B_01, "--json", "--provisional")
    published = json.loads(capsys.readouterr().out)
    relance(*UNPUBLISHED_H2_2026, "--json", "--provisional")
    provisional = json.loads(capsys.readouterr().out)

    assert "provisional" not in published
    assert provisional["provisional"] is True
    assert all(segment["provisional"] is True for segment in provisional["segments"])
    assert "PROVISIONAL" in provisional["segments"][0]["source"]


def test_provisional_mode_can_come_from_the_environment(capsys, monkeypatch):
    monkeypatch.setenv(late_fees.PROVISIONAL_ENV, "1")

    code = relance(*UNPUBLISHED_H2_2026, "--json")

    assert code == 0 and json.loads(capsys.readouterr().out)["provisional"] is True


def test_a_rates_file_adds_a_rate_without_a_release(capsys, tmp_path):
    rates = tmp_path / "rates.csv"
    rates.write_text("kind,jurisdiction,valid_from,valid_to,rate_percent,source\n"
                     "ecb_mro,EU,2026-05-01,2026-12-31,2.15,operator row\n", encoding="utf-8")

    code = relance(*UNPUBLISHED_H2_2026, "--rates-file", str(rates), "--json")

    document = json.loads(capsys.readouterr().out)
    assert code == 0 and "provisional" not in document
    assert document["interest"] == "468.69"


def test_the_table_is_french_by_default(capsys):
    relance(*FR_B2B_01)

    out = capsys.readouterr().out
    assert "Pénalités de retard" in out
    assert "328,57\u00a0€" in out and "368,57\u00a0€" in out and "13,15\u00a0%" in out


def test_the_table_can_be_english(capsys):
    relance(*FR_B2B_01, "--lang", "en")

    out = capsys.readouterr().out
    assert "Late interest: €328.57" in out and "Fixed recovery fee: €40.00" in out and "13.15%" in out


def test_the_table_flags_provisional_rates(capsys):
    relance(*UNPUBLISHED_H2_2026, "--provisional", "--lang", "en")

    out = capsys.readouterr().out
    assert "12.15%*" in out and "WARNING: provisional rate" in out


@pytest.mark.parametrize(("argv", "message"), [
    (["--jurisdiction", "XX", "--principal", "100.00", "--due", "2025-03-31", "--paid", "2025-06-15"],
     "unknown jurisdiction 'XX'"),
    (["--jurisdiction", "FR", "--principal", "-100.00", "--due", "2025-03-31", "--paid", "2025-06-15"],
     "must be a positive amount"),
    (["--jurisdiction", "FR", "--principal", "100.001", "--due", "2025-03-31", "--paid", "2025-06-15"],
     "more than 2 decimals"),
    (["--jurisdiction", "FR", "--principal", "100.00", "--due", "2025-03-31", "--paid", "2025-03-30"],
     "--paid 2025-03-30 is before --due 2025-03-31"),
    (["--jurisdiction", "FR", "--principal", "100.00", "--due", "2026-05-31", "--as-of", "2026-11-23"],
     "no ECB MRO rate known for 2026-07-01 (H2 2026)"),
    (["--jurisdiction", "FR", "--principal", "100.00", "--due", "2025-02-30", "--paid", "2025-06-15"],
     "--due '2025-02-30' is not a valid date"),
    (["--jurisdiction", "FR", "--principal", "100.00", "--due", "2025-03-31", "--payment", "2025-05-01"],
     "must be DATE:AMOUNT"),
    (["--jurisdiction", "FR", "--debtor", "consumer", "--principal", "100.00", "--due", "2025-03-31",
      "--paid", "2025-06-15"], "formal notice"),
])
def test_bad_input_exits_2_with_one_clear_line(capsys, argv, message):
    code = relance(*argv, "--json")

    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert captured.err.count("\n") == 1 and message in captured.err
    assert "Traceback" not in captured.err
