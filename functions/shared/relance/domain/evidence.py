"""The evidence bundle of one debtor: what a lawyer needs to file an injonction de payer, as a list of files.

Pure: the service loads the creditor, the debtor, the invoices, the contacts, the letters' bytes, the
disputes, the audit trail and its chain verification, and passes the `as_of` day; this module only
lays them out. The late-fee figures are the law engine's own (`compute_late_fees` on the same claim a
formal notice makes, `letters.notice_claim`), so the bundle never says what the letter would not.

The same data gives the same bytes: rows are sorted, nothing reads the clock, and `SHA256SUMS`
lists the digest of every other file.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from relance.domain.audit_chain import ChainLink, VerifyResult, canonical
from relance.domain.errors import RelanceError
from relance.domain.invoices import Invoice
from relance.domain.late_fees import LateFeeClaim, LateFeeResult, Rulebook, compute_late_fees
from relance.domain.letters import jurisdiction_for, legal_basis, notice_claim
from relance.domain.money import Money, total
from relance.domain.parties import Creditor, Debtor
from relance.domain.rates import RateTable, percent_text
from relance.domain.statement import csv_amount, csv_safe

README = "README.txt"
INVOICES = "invoices.csv"
MESSAGES = "messages.csv"
PORTAL_ACTIONS = "portal_actions.csv"
PAYMENTS = "payments.csv"
LATE_FEES_CSV = "late_fees.csv"
LATE_FEES_TXT = "late_fees.txt"
AUDIT = "audit.jsonl"
AUDIT_VERIFICATION = "audit_verification.txt"
CHECKSUMS = "SHA256SUMS"
DOCUMENTS_FOLDER = "documents"

# What the debtor did on the portal, and finance's answers to it (audit actions).
PORTAL_ACTION_NAMES = frozenset({
    "portal_opened", "dispute_opened", "dispute_accepted", "dispute_rejected", "payment_promised",
    "plan_propose", "plan_withdraw", "plan_accept_automatically", "plan_approve", "plan_reject", "plan_counter",
    "plan_accept_counter", "plan_decline_counter", "autopay_set", "autopay_stopped",
})
PAYMENT_ACTION_NAMES = frozenset({
    "payment_received", "payment_processing", "payment_failed", "payment_refunded",
    "installment_charge_succeeded", "installment_charge_failed",
})
MAIL_EVENT_ACTIONS = frozenset({"email_delivered", "email_bounced", "email_complained"})  # what SES reported about a sent mail
_DETAIL_FIELDS = ("dispute_id", "reason", "promised_on", "note", "plan_id", "from_state", "to_state", "message")


@dataclass(frozen=True, slots=True)
class BundleFile:
    """One file of the bundle: its path inside the ZIP and its bytes."""

    path: str
    body: bytes


@dataclass(frozen=True, slots=True)
class LateFeeLine:
    """One overdue invoice: the claim, and the law engine's result or why it could not compute one."""

    number: str
    claim: LateFeeClaim
    result: LateFeeResult | None
    problem: str | None = None  # the law engine's error code and message


@dataclass(frozen=True, slots=True)
class LateFees:
    """The late fees of every overdue invoice on `as_of`, under one jurisdiction's rules."""

    as_of: date
    jurisdiction: str
    law: str
    basis: str  # the articles, in the bundle's language
    lines: tuple[LateFeeLine, ...]
    problem: str | None = None  # set when no rules apply to the creditor at all


@dataclass(frozen=True)
class EvidenceData:
    """Everything the bundle shows, already loaded; records are the stored items as they are."""

    creditor: Creditor
    debtor: Debtor
    as_of: date
    invoices: Sequence[Invoice]
    contacts: Sequence[Mapping[str, Any]]  # contact records: business_date, channel, step, message_id, document_keys
    documents: Mapping[str, bytes]  # storage key -> bytes, for the keys the contacts name
    disputes: Sequence[Mapping[str, Any]]
    audit_events: Sequence[Mapping[str, Any]]  # the debtor's stored audit events, exactly as chained
    chain_links: Sequence[ChainLink]  # the links of the creditor's chain that commit to this debtor's events
    verification: VerifyResult  # this debtor's events against their links, and every link's place in the chain
    late_fees: LateFees

    @property
    def language(self) -> str:
        return self.creditor.language if self.creditor.language in _WORDS else "en"


def late_fees_on(creditor: Creditor, debtor: Debtor, invoices: Iterable[Invoice], as_of: date,
                 rates: RateTable, rulebook: Rulebook, formal_notices: Mapping[str, date] | None = None) -> LateFees:
    """The late fees of each invoice overdue on `as_of`, computed as a formal notice dated `as_of` would.

    `formal_notices` gives, per invoice number, the day a formal notice claimed it: a consumer's
    interest runs from that day (art. 1231-6 C. civ.); without one, `as_of` stands for it, as in the letter.
    """
    language = creditor.language if creditor.language in _WORDS else "en"
    notices = formal_notices or {}
    try:
        jurisdiction = jurisdiction_for(creditor.country, rulebook)
        law = rulebook.jurisdiction(jurisdiction).law
    except RelanceError as problem:
        return LateFees(as_of, "", "", "", (), problem=f"{problem.code}: {problem}")
    lines = []
    overdue = sorted((i for i in invoices if i.debtor_id == debtor.debtor_id and i.is_overdue(as_of)),
                     key=lambda i: (i.due_on, i.number))
    for invoice in overdue:
        claim = notice_claim(invoice, debtor, jurisdiction, notices.get(invoice.number, as_of))
        try:
            lines.append(LateFeeLine(invoice.number, claim, compute_late_fees(claim, as_of, rates, rulebook)))
        except RelanceError as problem:  # e.g. no €40 equivalent for a GBP invoice (C7): say so, claim nothing
            lines.append(LateFeeLine(invoice.number, claim, None, f"{problem.code}: {problem}"))
    return LateFees(as_of, jurisdiction, law, legal_basis(jurisdiction, debtor.kind, language, law), tuple(lines))


def formal_notice_days(contacts: Iterable[Mapping[str, Any]]) -> dict[str, date]:
    """Invoice number -> the day the first formal notice sent about it was dated."""
    days: dict[str, date] = {}
    for contact in contacts:
        if contact.get("channel") != "formal_notice" or contact.get("status") != "sent":
            continue
        if not contact.get("document_keys"):  # referred to finance: no letter left (formal_notice_referred)
            continue
        day = date.fromisoformat(str(contact["business_date"]))
        for number in contact.get("invoices") or ():
            days[str(number)] = min(day, days.get(str(number), day))
    return days


def bundle_files(data: EvidenceData) -> tuple[BundleFile, ...]:
    """Every file of the bundle, in path order, the last one `SHA256SUMS` over all the others."""
    language = data.language
    documents = _document_paths(data.contacts, data.documents)
    files = [
        BundleFile(README, _readme(data, documents).encode("utf-8")),
        BundleFile(INVOICES, _invoices_csv(data, language)),
        BundleFile(MESSAGES, _messages_csv(data, documents, language)),
        BundleFile(PORTAL_ACTIONS, _portal_actions_csv(data, language)),
        BundleFile(PAYMENTS, _payments_csv(data, language)),
        BundleFile(LATE_FEES_CSV, _late_fees_csv(data.late_fees, language)),
        BundleFile(LATE_FEES_TXT, _late_fees_text(data, language).encode("utf-8")),
        BundleFile(AUDIT, _audit_jsonl(data.audit_events)),
        BundleFile(AUDIT_VERIFICATION, _verification_text(data, language).encode("utf-8")),
        *(BundleFile(path, data.documents[key]) for key, path in documents.items()),
    ]
    files.sort(key=lambda f: f.path)
    sums = "".join(f"{hashlib.sha256(f.body).hexdigest()}  {f.path}\n" for f in files)
    return (*files, BundleFile(CHECKSUMS, sums.encode("ascii")))


def bundle_name(data: EvidenceData) -> str:
    """The ZIP's file name: the debtor id and the as-of day, nothing personal."""
    safe = "".join(c if c.isalnum() or c in "-_" else "-" for c in data.debtor.debtor_id)
    return f"evidence-{safe}-{data.as_of.isoformat()}.zip"


# --- the parts -----------------------------------------------------------------------------------


def _document_paths(contacts: Sequence[Mapping[str, Any]], stored: Mapping[str, bytes]) -> dict[str, str]:
    """Storage key -> path in the bundle (`documents/<day>/<name>`), for the documents that were loaded."""
    paths: dict[str, str] = {}
    for key in sorted({str(k) for c in contacts for k in c.get("document_keys") or ()}):
        if key in stored:
            parts = key.rsplit("/", 2)
            paths[key] = f"{DOCUMENTS_FOLDER}/{'/'.join(parts[-2:])}"
    return paths


def _csv(header: Sequence[str], rows: Iterable[Sequence[str]], language: str) -> bytes:
    """Excel's dialect per language (UTF-8 with a BOM; `;` in French) and every cell through `csv_safe`."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";" if language == "fr" else ",", lineterminator="\r\n")
    writer.writerow([csv_safe(cell) for cell in header])
    for row in rows:
        writer.writerow([csv_safe(str(cell)) for cell in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _invoices_csv(data: EvidenceData, language: str) -> bytes:
    words = _WORDS[language]
    rows = [
        [i.number, i.issued_on.isoformat(), i.due_on.isoformat(), i.currency, csv_amount(i.total, language),
         csv_amount(i.paid, language), csv_amount(i.balance, language), str(i.days_overdue(data.as_of)),
         i.last_step or "", _yes(i.disputed, language), i.promised_on.isoformat() if i.promised_on else "",
         _yes(i.in_plan, language)]
        for i in sorted(data.invoices, key=lambda i: (i.due_on, i.number))
    ]
    return _csv([words[k] for k in ("number", "issued_on", "due_on", "currency", "total", "paid", "balance",
                                    "days_overdue", "last_step", "disputed", "promised_on", "in_plan")], rows, language)


def _mail_events(events: Sequence[Mapping[str, Any]]) -> dict[str, list[str]]:
    """SES message id -> what SES reported about that mail, oldest first."""
    found: dict[str, list[str]] = {}
    for event in sorted(events, key=_event_order):
        if event.get("action") not in MAIL_EVENT_ACTIONS or not event.get("message_id"):
            continue
        kind = event.get("bounce_type") or event.get("complaint_type") or event.get("smtp_response") or ""
        sub = event.get("bounce_sub_type") or ""
        detail = "/".join(str(p) for p in (kind, sub) if p)
        when = event.get("reported_at") or event.get("delivered_at") or event.get("at") or ""
        to = event.get("address") or " ".join(str(r) for r in event.get("recipients") or ())
        text = f"{when} {event['action']} {to}" + (f" ({detail})" if detail else "")
        found.setdefault(str(event["message_id"]), []).append(text.strip())
    return found


def _messages_csv(data: EvidenceData, documents: Mapping[str, str], language: str) -> bytes:
    words = _WORDS[language]
    reported = _mail_events(data.audit_events)
    rows = []
    for contact in sorted(data.contacts, key=lambda c: (str(c.get("business_date", "")), str(c.get("SK", "")))):
        message_id = str(contact.get("message_id") or "")
        rows.append([
            str(contact.get("business_date", "")), str(contact.get("sent_at") or ""), str(contact.get("channel", "")),
            str(contact.get("step", "")), str(contact.get("status", "")), message_id,
            " ".join(str(n) for n in contact.get("invoices") or ()),
            " ".join(documents.get(str(k), str(k)) for k in contact.get("document_keys") or ()),
            " | ".join(reported.get(message_id, ())) if message_id else "",
        ])
    return _csv([words[k] for k in ("business_date", "sent_at", "channel", "step", "status", "message_id",
                                    "invoices", "documents", "mail_events")], rows, language)


def _event_order(event: Mapping[str, Any]) -> tuple[str, str]:
    return str(event.get("at", "")), str(event.get("SK", ""))


def _portal_actions_csv(data: EvidenceData, language: str) -> bytes:
    words = _WORDS[language]
    messages = {str(d.get("dispute_id")): str(d.get("message") or "") for d in data.disputes if d.get("dispute_id")}
    rows = []
    for event in sorted(data.audit_events, key=_event_order):
        if event.get("action") not in PORTAL_ACTION_NAMES:
            continue
        details = {name: event.get(name) for name in _DETAIL_FIELDS if event.get(name) not in (None, "")}
        if "dispute_id" in details and messages.get(str(details["dispute_id"])):
            details["message"] = messages[str(details["dispute_id"])]
        rows.append([str(event.get("at", "")), str(event.get("actor", "")), str(event["action"]),
                     " ".join(str(n) for n in event.get("invoices") or ()),
                     "; ".join(f"{name}={value}" for name, value in details.items())])
    return _csv([words[k] for k in ("at", "actor", "action", "invoices", "details")], rows, language)


def _payments_csv(data: EvidenceData, language: str) -> bytes:
    words = _WORDS[language]
    rows = []
    for event in sorted(data.audit_events, key=_event_order):
        if event.get("action") not in PAYMENT_ACTION_NAMES:
            continue
        currency = str(event.get("currency") or "")
        amount = _money(event.get("amount_minor"), currency)
        refunded = _money(event.get("refunded_minor"), currency)
        allocations = event.get("allocations") or {}
        rows.append([
            str(event.get("at", "")), str(event["action"]), str(event.get("payment_id") or ""),
            str(event.get("method") or ""), currency, csv_amount(amount, language) if amount else "",
            csv_amount(refunded, language) if refunded else "",
            " ".join(str(n) for n in event.get("invoices") or ()),
            " ".join(f"{number}:{csv_amount(Money(int(minor), currency), language)}"
                     for number, minor in sorted(allocations.items())) if currency else "",
        ])
    return _csv([words[k] for k in ("at", "action", "payment_id", "method", "currency", "amount", "refunded",
                                    "invoices", "allocations")], rows, language)


def _money(minor: Any, currency: str) -> Money | None:
    if minor is None or not currency:
        return None
    return Money(int(minor), currency)


def _late_fees_csv(fees: LateFees, language: str) -> bytes:
    words = _WORDS[language]
    rows: list[list[str]] = []
    for line in fees.lines:
        claim = line.claim
        if line.result is None:
            rows.append([line.number, claim.due_on.isoformat(), claim.currency, csv_amount(claim.principal, language),
                         "", "", "", "", "", "", "", "", line.problem or ""])
            continue
        for segment in line.result.segments:
            rows.append([line.number, claim.due_on.isoformat(), claim.currency,
                         csv_amount(claim.principal, language), words["row.interest"], segment.starts_on.isoformat(),
                         segment.ends_on.isoformat(), str(segment.days), csv_amount(segment.base, language),
                         _percent(segment.annual_rate_percent, language), csv_amount(segment.amount, language),
                         _yes(segment.is_provisional, language), segment.rate_source])
        rows.append([line.number, claim.due_on.isoformat(), claim.currency, csv_amount(claim.principal, language),
                     words["row.recovery_fee"], "", "", "", "", "", csv_amount(line.result.recovery_fee, language),
                     "", fees.law])
    return _csv([words[k] for k in ("number", "due_on", "currency", "principal", "kind", "starts_on", "ends_on",
                                    "days", "base", "rate", "amount", "provisional", "source")], rows, language)


def _percent(rate: Any, language: str) -> str:
    text = percent_text(rate)
    return text.replace(".", ",") if language == "fr" else text


def _late_fees_text(data: EvidenceData, language: str) -> str:
    words = _WORDS[language]
    fees = data.late_fees
    out = [words["lf.title"].format(debtor=data.debtor.name, day=fees.as_of.isoformat()), ""]
    if fees.problem:
        return "\n".join([*out, words["lf.no_rules"].format(problem=fees.problem), ""])
    out += [words["lf.basis"].format(basis=fees.basis), words["lf.law"].format(law=fees.law, code=fees.jurisdiction),
            words["lf.method"], ""]
    for line in fees.lines:
        claim = line.claim
        out.append(words["lf.invoice"].format(number=line.number, due=claim.due_on.isoformat(),
                                              principal=_plain(claim.principal)))
        if line.result is None:
            out += [words["lf.not_computed"].format(problem=line.problem), ""]
            continue
        for s in line.result.segments:
            out.append(words["lf.segment"].format(
                start=s.starts_on.isoformat(), end=s.ends_on.isoformat(), days=s.days, base=_plain(s.base),
                rate=_percent(s.annual_rate_percent, language), amount=_plain(s.amount), source=s.rate_source,
                provisional=words["lf.provisional"] if s.is_provisional else ""))
        out += [words["lf.interest"].format(amount=_plain(line.result.late_interest)),
                words["lf.fee"].format(amount=_plain(line.result.recovery_fee)),
                words["lf.total"].format(amount=_plain(line.result.total)), ""]
    priced = [(line.claim, line.result) for line in fees.lines if line.result is not None]
    for currency in sorted({claim.currency for claim, _result in priced}):
        mine = [(claim, result) for claim, result in priced if claim.currency == currency]
        principal = total([claim.principal for claim, _result in mine], currency)
        interest = total([result.late_interest for _claim, result in mine], currency)
        fee = total([result.recovery_fee for _claim, result in mine], currency)
        out.append(words["lf.grand_total"].format(currency=currency, principal=_plain(principal),
                                                  interest=_plain(interest), fee=_plain(fee),
                                                  total=_plain(principal + interest + fee)))
    if not fees.lines:
        out.append(words["lf.nothing"])
    out += _notices_as_sent(data.audit_events, words)
    return "\n".join(out) + "\n"


def _notices_as_sent(events: Sequence[Mapping[str, Any]], words: Mapping[str, str]) -> list[str]:
    """The figures each formal notice claimed on its own date, as its audit event recorded them."""
    out: list[str] = []
    for event in sorted(events, key=_event_order):
        notice = event.get("notice")
        if event.get("action") != "formal_notice_sent" or not isinstance(notice, Mapping):
            continue
        day = str(event.get("reminder_id") or "").rpartition(":")[2] or str(event.get("at", ""))[:10]
        out += ["", words["lf.notice"].format(day=day, deadline=notice.get("deadline_on", ""))]
        for number, line in sorted((notice.get("lines") or {}).items()):
            currency = str(line["currency"])
            out.append(words["lf.notice_line"].format(
                number=number, principal=_plain(Money(int(line["principal_minor"]), currency)),
                interest=_plain(Money(int(line["interest_minor"]), currency)),
                fee=_plain(Money(int(line["indemnity_minor"]), currency))))
    return out


def _plain(amount: Money) -> str:
    """`1234.50 EUR`: unambiguous in both languages, the figure exactly as stored."""
    return f"{amount.to_decimal():.{amount.digits}f} {amount.currency}"


def _audit_jsonl(events: Sequence[Mapping[str, Any]]) -> bytes:
    """One event per line, in its canonical form: the exact bytes the audit chain hashes."""
    ordered = sorted(events, key=lambda e: str(e.get("SK", "")))
    return b"".join(canonical(event) + b"\n" for event in ordered)


def _verification_text(data: EvidenceData, language: str) -> str:
    words = _WORDS[language]
    result = data.verification
    out = [words["av.title"].format(creditor=data.creditor.creditor_id), ""]
    if result.broken is None:
        if result.partition is None:
            out.append(words["av.intact"].format(links=result.links, seq=result.head.seq, hash=result.head.hash))
        else:
            out.append(words["av.intact_debtor"].format(events=result.events, links=result.links,
                                                        seq=result.head.seq, hash=result.head.hash))
        if result.pending:
            out.append(words["av.pending"].format(count=result.pending))
    else:
        broken = result.broken
        out.append(words["av.broken"].format(problem=broken.problem.value, seq=broken.seq if broken.seq else "-",
                                             event=broken.event_key or "-", detail=broken.detail))
        out.append(words["av.verified_up_to"].format(seq=result.head.seq, hash=result.head.hash))
    out += ["", words["av.how"], "", words["av.links_header"]]
    links = sorted(data.chain_links, key=lambda link: link.seq)
    out += [f"{link.seq}\t{link.event_key.sort}\t{link.previous_hash}\t{link.hash}" for link in links]
    chained = {link.event_key.sort for link in links}
    unchained = sorted(str(e.get("SK", "")) for e in data.audit_events if str(e.get("SK", "")) not in chained)
    if unchained:
        out += ["", words["av.unchained"], *unchained]
    return "\n".join(out) + "\n"


def _readme(data: EvidenceData, documents: Mapping[str, str]) -> str:
    words = _WORDS[data.language]
    creditor, debtor = data.creditor, data.debtor
    out = [
        words["rm.title"],
        "",
        words["rm.creditor"].format(name=creditor.legal_name, id=creditor.siren or creditor.creditor_id),
        words["rm.debtor"].format(name=debtor.name, id=debtor.company_id or debtor.debtor_id),
        words["rm.as_of"].format(day=data.as_of.isoformat()),
        "",
        words["rm.parts"],
    ]
    parts = [(INVOICES, "rm.invoices"), (MESSAGES, "rm.messages"), (PORTAL_ACTIONS, "rm.portal_actions"),
             (PAYMENTS, "rm.payments"), (LATE_FEES_CSV, "rm.late_fees_csv"), (LATE_FEES_TXT, "rm.late_fees_txt"),
             (AUDIT, "rm.audit"), (AUDIT_VERIFICATION, "rm.audit_verification")]
    out += [f"- {path}: {words[key]}" for path, key in parts]
    notices = {str(k) for c in data.contacts if c.get("channel") == "formal_notice" for k in c.get("document_keys") or ()}
    for key, path in sorted(documents.items(), key=lambda item: item[1]):
        out.append(f"- {path}: {words['rm.formal_notice'] if key in notices else words['rm.document']}")
    out += [f"- {CHECKSUMS}: {words['rm.checksums']}", "", words["rm.deliveries"], ""]
    return "\n".join(out)


def _yes(flag: bool, language: str) -> str:
    return _WORDS[language]["yes"] if flag else ""


# Headers and sentences of the bundle, in the creditor's language (a file, not a page: no gettext here).
_WORDS: dict[str, dict[str, str]] = {
    "fr": {
        "yes": "oui", "number": "Facture", "issued_on": "Date", "due_on": "Échéance", "currency": "Devise",
        "total": "Montant TTC", "paid": "Réglé", "balance": "Solde dû", "days_overdue": "Jours de retard",
        "last_step": "Dernière étape", "disputed": "Contestée", "promised_on": "Paiement promis le",
        "in_plan": "Échéancier", "business_date": "Jour", "sent_at": "Envoyé à (UTC)", "channel": "Canal",
        "step": "Étape", "status": "Statut", "message_id": "Identifiant SES du message", "invoices": "Factures",
        "documents": "Documents", "mail_events": "Événements SES (remises, rebonds, plaintes)", "at": "Date et heure (UTC)",
        "actor": "Auteur", "action": "Action", "details": "Détails", "payment_id": "Paiement",
        "method": "Moyen", "amount": "Montant", "refunded": "Remboursé", "allocations": "Affectation",
        "principal": "Principal", "kind": "Nature", "starts_on": "Du", "ends_on": "Au", "days": "Jours",
        "base": "Assiette", "rate": "Taux annuel (%)", "provisional": "Taux provisoire", "source": "Source",
        "row.interest": "Pénalités de retard", "row.recovery_fee": "Indemnité forfaitaire de recouvrement",
        "lf.title": "Calcul des pénalités de retard – {debtor} – au {day}",
        "lf.no_rules": "Aucun calcul : {problem}",
        "lf.basis": "Fondement : {basis}.",
        "lf.law": "Règles appliquées : {law} ({code}).",
        "lf.method": ("Méthode : intérêts simples, base exact/365, par période de taux et d'assiette constants, "
                      "arrondis au centime ; calculés sur le solde dû à la date d'arrêté, comme la mise en demeure "
                      "le fait à sa date (le calcul ne surestime jamais la créance)."),
        "lf.invoice": "Facture {number} – échéance {due} – principal {principal}",
        "lf.segment": "  du {start} au {end} ({days} j) : {base} × {rate} % × {days}/365 = {amount} – {source}{provisional}",
        "lf.provisional": " (taux provisoire)",
        "lf.interest": "  Pénalités : {amount}",
        "lf.fee": "  Indemnité forfaitaire de recouvrement : {amount}",
        "lf.total": "  Total pénalités et indemnité : {amount}",
        "lf.not_computed": "  Non calculé : {problem}",
        "lf.grand_total": ("Total {currency} : principal {principal}, pénalités {interest}, indemnités {fee}, "
                           "soit {total}"),
        "lf.nothing": "Aucune facture en retard à cette date.",
        "lf.notice": "Mise en demeure du {day} (date limite {deadline}), montants réclamés à cette date :",
        "lf.notice_line": "  Facture {number} : principal {principal}, pénalités {interest}, indemnité {fee}",
        "av.title": "Vérification de la chaîne d'audit du créancier {creditor}",
        "av.intact": "Chaîne vérifiée : {links} maillons intacts, jusqu'au maillon {seq} ({hash}).",
        "av.intact_debtor": ("Chaîne vérifiée : les {events} événements de ce débiteur correspondent à leurs maillons, "
                             "et les {links} maillons de la chaîne se suivent sans rupture jusqu'au maillon {seq} "
                             "({hash}). Les événements des autres débiteurs ne font pas partie de ce dossier : "
                             "`relance audit verify` les contrôle."),
        "av.pending": "{count} événement(s) récent(s) pas encore chaîné(s).",
        "av.broken": "Chaîne ROMPUE au maillon {seq}, événement {event} : {problem} – {detail}",
        "av.verified_up_to": "Vérifiée jusqu'au maillon {seq} ({hash}).",
        "av.how": ("Chaque ligne de audit.jsonl est la forme canonique d'un événement : "
                   "SHA-256(empreinte précédente + ligne sans le saut de ligne) = empreinte du maillon."),
        "av.links_header": "Maillon\tÉvénement\tEmpreinte précédente\tEmpreinte",
        "av.unchained": "Événements de ce débiteur non encore chaînés :",
        "rm.title": "Dossier de preuves – recouvrement de créance",
        "rm.creditor": "Créancier : {name} ({id})",
        "rm.debtor": "Débiteur : {name} ({id})",
        "rm.as_of": "Arrêté au : {day}",
        "rm.parts": "Contenu du dossier et ce que chaque pièce établit :",
        "rm.invoices": "les factures, leurs échéances, les sommes réglées et le solde dû (la créance).",
        "rm.messages": ("chaque relance, lettre et mise en demeure envoyée, avec son identifiant de message SES "
                        "et sa remise, ses rebonds ou plaintes signalés par SES (les diligences amiables)."),
        "rm.portal_actions": ("les contestations, promesses de paiement et propositions d'échéancier du débiteur, "
                              "et leurs réponses (la reconnaissance ou la contestation de la dette)."),
        "rm.payments": "les paiements reçus, échoués ou remboursés et leur affectation aux factures.",
        "rm.late_fees_csv": "le calcul des pénalités par période (taux, assiette, jours, source).",
        "rm.late_fees_txt": "le même calcul, lisible, avec son fondement légal.",
        "rm.audit": "le journal d'audit du débiteur, événement par événement, tel qu'il est chaîné.",
        "rm.audit_verification": "la vérification de la chaîne d'empreintes (intégrité du journal).",
        "rm.formal_notice": "la mise en demeure telle qu'envoyée (PDF).",
        "rm.document": "un courrier ou un fichier tel qu'envoyé ou remis.",
        "rm.checksums": "l'empreinte SHA-256 de chaque fichier du dossier.",
        "rm.deliveries": ("Un message sans accusé de remise a été envoyé avant que Relance ne les conserve, ou le "
                          "serveur du destinataire ne l'a pas encore accepté."),
    },
    "en": {
        "yes": "yes", "number": "Invoice", "issued_on": "Issued on", "due_on": "Due on", "currency": "Currency",
        "total": "Total", "paid": "Paid", "balance": "Balance", "days_overdue": "Days overdue",
        "last_step": "Last step", "disputed": "Disputed", "promised_on": "Payment promised by",
        "in_plan": "In a plan", "business_date": "Day", "sent_at": "Sent at (UTC)", "channel": "Channel",
        "step": "Step", "status": "Status", "message_id": "SES message id", "invoices": "Invoices",
        "documents": "Documents", "mail_events": "SES events (deliveries, bounces, complaints)", "at": "At (UTC)",
        "actor": "Actor", "action": "Action", "details": "Details", "payment_id": "Payment",
        "method": "Method", "amount": "Amount", "refunded": "Refunded", "allocations": "Allocations",
        "principal": "Principal", "kind": "Kind", "starts_on": "From", "ends_on": "To", "days": "Days",
        "base": "Base", "rate": "Annual rate (%)", "provisional": "Provisional rate", "source": "Source",
        "row.interest": "Late interest", "row.recovery_fee": "Fixed recovery fee",
        "lf.title": "Late fees – {debtor} – as of {day}",
        "lf.no_rules": "Not computed: {problem}",
        "lf.basis": "Legal basis: {basis}.",
        "lf.law": "Rules applied: {law} ({code}).",
        "lf.method": ("Method: simple interest, actual/365, per period of constant rate and base, rounded to the "
                      "cent; computed on the balance owed on the as-of day, as the formal notice does on its own "
                      "date (the figure never overstates the claim)."),
        "lf.invoice": "Invoice {number} – due {due} – principal {principal}",
        "lf.segment": "  {start} to {end} ({days} d): {base} × {rate}% × {days}/365 = {amount} – {source}{provisional}",
        "lf.provisional": " (provisional rate)",
        "lf.interest": "  Late interest: {amount}",
        "lf.fee": "  Fixed recovery fee: {amount}",
        "lf.total": "  Interest and fee: {amount}",
        "lf.not_computed": "  Not computed: {problem}",
        "lf.grand_total": "Total {currency}: principal {principal}, interest {interest}, fees {fee}, that is {total}",
        "lf.nothing": "No invoice is overdue on this day.",
        "lf.notice": "Formal notice of {day} (deadline {deadline}), sums claimed on that day:",
        "lf.notice_line": "  Invoice {number}: principal {principal}, interest {interest}, fee {fee}",
        "av.title": "Audit chain verification of creditor {creditor}",
        "av.intact": "Chain verified: {links} links intact, up to link {seq} ({hash}).",
        "av.intact_debtor": ("Chain verified: this debtor's {events} events match their links, and the chain's {links} "
                             "links follow one another without a break up to link {seq} ({hash}). The other debtors' "
                             "events are not part of this bundle: `relance audit verify` checks them."),
        "av.pending": "{count} recent event(s) not chained yet.",
        "av.broken": "Chain BROKEN at link {seq}, event {event}: {problem} – {detail}",
        "av.verified_up_to": "Verified up to link {seq} ({hash}).",
        "av.how": ("Each line of audit.jsonl is an event's canonical form: "
                   "SHA-256(previous hash + the line without its newline) = the link's hash."),
        "av.links_header": "Link\tEvent\tPrevious hash\tHash",
        "av.unchained": "Events of this debtor not chained yet:",
        "rm.title": "Evidence bundle – debt collection",
        "rm.creditor": "Creditor: {name} ({id})",
        "rm.debtor": "Debtor: {name} ({id})",
        "rm.as_of": "As of: {day}",
        "rm.parts": "What the bundle holds and what each part proves:",
        "rm.invoices": "the invoices, their due dates, what was paid and the balance owed (the claim).",
        "rm.messages": ("every reminder, letter and formal notice sent, with its SES message id and any delivery, bounce or "
                        "complaint reported (the amicable steps taken)."),
        "rm.portal_actions": ("the debtor's disputes, payment promises and plan proposals, and the answers "
                              "(acknowledgement or dispute of the debt)."),
        "rm.payments": "payments received, failed or refunded, and how they were allocated to invoices.",
        "rm.late_fees_csv": "the late-fee computation per period (rate, base, days, source).",
        "rm.late_fees_txt": "the same computation, readable, with its legal basis.",
        "rm.audit": "the debtor's audit trail, event by event, as chained.",
        "rm.audit_verification": "the hash chain verification (integrity of the trail).",
        "rm.formal_notice": "the formal notice as sent (PDF).",
        "rm.document": "a letter or file as sent or handed over.",
        "rm.checksums": "the SHA-256 digest of every file of the bundle.",
        "rm.deliveries": ("A message without a delivery receipt was sent before Relance kept them, or the "
                          "recipient's server has not accepted it yet."),
    },
}
