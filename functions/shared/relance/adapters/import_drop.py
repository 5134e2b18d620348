"""The S3 drop of import files: reading a dropped file, writing its report, mailing finance the summary."""

from __future__ import annotations

import tempfile
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any, BinaryIO

from relance.adapters.aws import client
from relance.adapters.ses import SesMailer
from relance.domain.money import Money
from relance.services.imports import ImportSummaryMail

SPOOL_BYTES = 16 * 1024 * 1024  # a bigger dropped file goes to /tmp rather than memory


class S3DropBox:
    """The imports bucket: files under `imports/{creditor}/`, each report next to its file."""

    def __init__(self, bucket: str, s3: Any | None = None) -> None:
        self.bucket = bucket
        self._client = s3 or client("s3")

    def open(self, key: str, version_id: str | None) -> BinaryIO:
        """The object's bytes in a seekable temporary file (a ZIP is read from its end)."""
        extra = {"VersionId": version_id} if version_id else {}
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - the caller closes it
        self._client.download_fileobj(self.bucket, key, spool, ExtraArgs=extra or None)
        spool.seek(0)
        return spool  # type: ignore[return-value]

    def put_report(self, key: str, body: bytes) -> None:
        self._client.put_object(Bucket=self.bucket, Key=key, Body=body, ContentType="application/json",
                                ServerSideEncryption="AES256")


class SesImportSummaryMailer:
    """A short plain-text summary of a dropped file's import, in the creditor's language."""

    def __init__(self, mailer: SesMailer) -> None:
        self.mailer = mailer

    def send_import_summary(self, mail: ImportSummaryMail) -> str:
        subject, text = render_import_summary(mail)
        message = EmailMessage()
        message["Subject"] = subject
        message["From"] = formataddr(("Relance", self.mailer.sender))
        message["To"] = ", ".join(mail.recipients)
        message["Message-ID"] = make_msgid(domain=self.mailer.sender.rpartition("@")[2] or None)
        message["Content-Language"] = mail.language
        message.set_content(text)
        return self.mailer.send_raw(message, list(mail.recipients),
                                    tags={"creditor_id": _tag(mail.creditor.creditor_id), "mail": "import_summary"})


MAX_LISTED = 20  # problems listed in the mail; the report file has them all


def render_import_summary(mail: ImportSummaryMail) -> tuple[str, str]:
    """The subject and text of the summary (French or English)."""
    french = mail.language == "fr"
    report = mail.report
    if "error" in report:
        subject = f"Import refusé : {mail.file_name}" if french else f"Import refused: {mail.file_name}"
        lines = [report["error"]["message"]]
    else:
        errors, skipped = report["errors"], report["skipped"]
        error_count = len(errors) + report.get("errors_not_shown", 0)  # a report lists at most 1,000
        if french:
            subject = (f"Import de {mail.file_name} : {report['imported']} importées, "
                       f"{report['updated']} mises à jour, {error_count} erreurs")
            lines = [f"{report['rows']} lignes ou fichiers lus : {report['imported']} factures importées, "
                     f"{report['updated']} mises à jour, {report['unchanged']} inchangées, "
                     f"{error_count} erreurs, {len(skipped)} ignorés."]
        else:
            subject = (f"Import of {mail.file_name}: {report['imported']} imported, "
                       f"{report['updated']} updated, {error_count} errors")
            lines = [f"{report['rows']} rows or files read: {report['imported']} invoices imported, "
                     f"{report['updated']} updated, {report['unchanged']} unchanged, "
                     f"{error_count} errors, {len(skipped)} skipped."]
        credited = ", ".join(str(Money(minor, currency)) for currency, minor in report.get("credited", {}).items())
        if credited:
            count = report["credit_notes"]
            lines.append(f"{count} avoir(s) appliqué(s) : {credited} en moins sur ce que les clients doivent."
                         if french else f"{count} credit note(s) applied: {credited} off what customers owe.")
        # Whole files refused first (one damaged PDF among a CSV's row errors must not be cut off).
        listed = sorted(errors, key=lambda e: e["line"] != 0)[:MAX_LISTED]
        for error in listed:
            where = error.get("file") or ""
            if error["line"]:
                where = f"{where} {'ligne' if french else 'line'} {error['line']}".strip()
            lines.append(f"- {where}: {error['message']}" if where else f"- {error['message']}")
        if error_count > MAX_LISTED:
            lines.append(f"… {error_count - MAX_LISTED} {'autres' if french else 'more'}")
        for entry in skipped:
            if entry.get("detail"):
                lines.append(f"- {entry['file']}: {entry['detail']}")
    lines.append("")
    lines.append((f"Rapport complet : {mail.report_key}" if french else f"Full report: {mail.report_key}"))
    return subject, "\n".join(lines) + "\n"


def _tag(value: str) -> str:
    return "".join(c if c.isalnum() or c in "_-" else "_" for c in value)[:256]
