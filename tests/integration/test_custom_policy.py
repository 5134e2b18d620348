"""A creditor's own policy, set with `relance policy set`, drives the real worker on moto."""

from __future__ import annotations

from relance.adapters.aws import client
from tests.integration.conftest import CREDITOR

OTHER = "globex"  # a second creditor that keeps the packaged fr-b2b ladder
BOISJOLI = "siren-000144519"
EXPORT = """\
invoice_number,debtor_name,siren,email,phone,invoice_date,due_date,amount_total,amount_paid,currency
FA-2025-00900,Agence Boisjoli SNC,000144519,finance.agence-boisjoli@example.fr,01.99.00.15.10,2025-11-01,2025-12-01,1708.08,0.00,EUR
"""
# The first reminder three days after the due date instead of the packaged one day, and no courtesy notice.
FIRST_REMINDER_AT_J_PLUS_3 = """\
version: 1
policy_id: acme-b2b
name: "Acme — first reminder at J+3"
steps:
  - {id: reminder_1, offset_days: 3, channel: email, template: reminder_friendly}
  - {id: reminder_2, offset_days: 10, channel: email, template: reminder_firm, min_days_after_previous: 5}
  - {id: formal_notice, offset_days: 30, channel: formal_notice, template: formal_notice,
     min_days_after_previous: 7, required: true}
"""


def test_a_creditor_with_its_own_policy_gets_its_first_reminder_on_its_own_day(relance, stack, tmp_path):
    policy_file = tmp_path / "acme.yaml"
    policy_file.write_text(FIRST_REMINDER_AT_J_PLUS_3, encoding="utf-8")
    export = tmp_path / "export.csv"
    export.write_text(EXPORT, encoding="utf-8")
    code, out = relance("creditor", "add", OTHER, "--name", "Globex SARL", "--email", "compta@globex.example.fr")
    assert code == 0, out
    stored = relance.json("policy", "set", "--creditor", CREDITOR, str(policy_file))
    for creditor in (CREDITOR, OTHER):
        relance.json("import", str(export), "--creditor", creditor)

    days = relance.json("run-days", "--from", "2025-11-24", "--to", "2025-12-05")

    assert (stored["version"], stored["changed"]) == (1, True)
    timeline = [(row["creditor"], row["date"], row["step"], row["invoices"]) for row in days["timeline"]]
    assert [row for row in timeline if row[0] == CREDITOR] == [
        (CREDITOR, "2025-12-04", "reminder_1", ["FA-2025-00900"])]  # Thursday J+3, nothing on Tuesday J+1
    assert [row[1:3] for row in timeline if row[0] == OTHER] == [
        ("2025-11-26", "courtesy"), ("2025-12-02", "reminder_1")]  # the packaged ladder, J-5 and J+1
    assert days["failed_jobs"] == 0
    planned = client("dynamodb").query(
        TableName=stack.physical["RelanceTable"], IndexName="GSI1", KeyConditionExpression="GSI1PK = :pk",
        ExpressionAttributeValues={":pk": {"S": f"CRED#{CREDITOR}#NEXT"}})["Items"]
    assert [item["GSI1SK"]["S"][:10] for item in planned] == ["2025-12-11"]  # reminder_2 at J+10, on its day
