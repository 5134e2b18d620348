"""SES bounces and complaints, published to SNS, mark the debtor's address so mail stops going there."""

from __future__ import annotations

import json
import uuid

import pytest

from relance.adapters.aws import client
from relance.adapters.dynamo import DynamoStore
from relance.adapters.ses import mail_tags
from relance.adapters.ses_events import UnreadableMailEvent
from relance.domain.parties import Creditor, Debtor
from relance_cli import local_lambda

CREDITOR = "acme"
DEBTOR = "siren-552100554"
ACCOUNTS = "compta@client.example.fr"
BOSS = "direction@client.example.fr"
SENDER = "relances@example.com"


@pytest.fixture
def store(stack) -> DynamoStore:
    """A creditor and a debtor with two addresses on the local stack."""
    store = DynamoStore(stack.physical["RelanceTable"])
    store.put_creditor(Creditor(CREDITOR, "Acme Fournitures SAS", siren="000000018"))
    store.put_debtor(Debtor(CREDITOR, DEBTOR, "Client SARL", company_id="552100554", emails=(ACCOUNTS, BOSS)))
    return store


def _mail(recipients: list[str], tags: dict[str, str] | None) -> dict:
    """The `mail` object of an SES event publishing record, for a mail sent through our configuration set."""
    ses_tags = {
        "ses:configuration-set": ["relance-local"],
        "ses:source-ip": ["192.0.2.10"],
        "ses:from-domain": ["example.com"],
        "ses:caller-identity": ["relance-local-SendRemindersFunction"],
        "ses:outgoing-ip": ["203.0.113.25"],
    }
    return {
        "timestamp": "2025-12-01T08:00:04.512Z",
        "source": f"Acme Fournitures SAS <{SENDER}>",
        "sourceArn": f"arn:aws:ses:eu-west-3:123456789012:identity/{SENDER}",
        "sendingAccountId": "123456789012",
        "messageId": "0107019ad1b2c3d4-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9-000000",
        "destination": recipients,
        "headersTruncated": False,
        "headers": [
            {"name": "From", "value": f"Acme Fournitures SAS <{SENDER}>"},
            {"name": "To", "value": ", ".join(recipients)},
            {"name": "Subject", "value": "Facture F-2025-0042 : rappel"},
        ],
        "commonHeaders": {
            "from": [f"Acme Fournitures SAS <{SENDER}>"],
            "to": recipients,
            "messageId": "0107019ad1b2c3d4-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9-000000",
            "subject": "Facture F-2025-0042 : rappel",
        },
        "tags": {**ses_tags, **{name: [value] for name, value in (tags or {}).items()}},
    }


OUR_TAGS = mail_tags(CREDITOR, DEBTOR)  # what SesMailer puts on every reminder


def bounce(address: str, bounce_type: str = "Permanent", tags: dict[str, str] | None = OUR_TAGS) -> dict:
    sub_type = "General" if bounce_type == "Permanent" else "MailboxFull"
    return {
        "eventType": "Bounce",
        "bounce": {
            "feedbackId": "0107019ad1b2c3d4-aaaa-bbbb-cccc-dddddddddddd-000000",
            "bounceType": bounce_type,
            "bounceSubType": sub_type,
            "bouncedRecipients": [
                {"emailAddress": address, "action": "failed", "status": "5.1.1",
                 "diagnosticCode": "smtp; 550 5.1.1 <mailbox> user unknown"}
            ],
            "timestamp": "2025-12-01T08:00:06.031Z",
            "reportingMTA": "dns; b224-13.smtp-out.eu-west-3.amazonses.com",
        },
        "mail": _mail([ACCOUNTS, BOSS], tags),
    }


def complaint(address: str) -> dict:
    return {
        "eventType": "Complaint",
        "complaint": {
            "feedbackId": "0107019ad1b2c3d4-eeee-ffff-0000-111111111111-000000",
            "complainedRecipients": [{"emailAddress": address}],
            "timestamp": "2025-12-01T10:12:44.000Z",
            "userAgent": "Mozilla/5.0 (compatible; mailbox provider feedback loop)",
            "complaintFeedbackType": "abuse",
            "arrivalDate": "2025-12-01T10:12:40.000Z",
        },
        "mail": _mail([ACCOUNTS, BOSS], OUR_TAGS),
    }


def sns_event(ses_record: dict, message_id: str | None = None) -> dict:
    """What Lambda receives from the SNS subscription: one record whose Message is SES's JSON, as text."""
    topic = "arn:aws:sns:eu-west-3:123456789012:relance-local-MailEventsTopic"
    sub = f"{topic}:2bcfbf39-05c3-41de-beaa-fcfcc21c8f55"
    unsubscribe = f"https://sns.eu-west-3.amazonaws.com/?Action=Unsubscribe&SubscriptionArn={sub}"
    return {
        "Records": [
            {
                "EventSource": "aws:sns",
                "EventVersion": "1.0",
                "EventSubscriptionArn": sub,
                "Sns": {
                    "Type": "Notification",
                    "MessageId": message_id or str(uuid.uuid4()),
                    "TopicArn": topic,
                    "Subject": None,
                    "Message": json.dumps(ses_record),
                    "Timestamp": "2025-12-01T08:00:06.512Z",
                    "SignatureVersion": "1",
                    "Signature": "EXAMPLEpH+DcEwjAPg8O9mY8dReBSwksfg2S7WKQcikcNKWLQjwu6A4=",
                    "SigningCertUrl": "https://sns.eu-west-3.amazonaws.com/SimpleNotificationService-0.pem",
                    "UnsubscribeUrl": unsubscribe,
                    "MessageAttributes": {},
                },
            }
        ]
    }


def the_debtor(store: DynamoStore) -> Debtor:
    debtor, _invoices = store.debtor_with_invoices(CREDITOR, DEBTOR)
    assert debtor is not None
    return debtor


def audit_actions(store: DynamoStore) -> list[str]:
    return [a["action"] for a in store.audit_of(CREDITOR, DEBTOR)]


def test_a_permanent_bounce_marks_the_address_and_mail_still_goes_to_the_other(store):
    result = local_lambda.invoke("MailEventsFunction", sns_event(bounce(ACCOUNTS)))

    debtor = the_debtor(store)
    assert list(result["outcomes"].values()) == ["bounced"]
    assert debtor.undeliverable == (ACCOUNTS,)
    assert debtor.reachable_emails == (BOSS,)
    [audit] = store.audit_of(CREDITOR, DEBTOR)
    assert (audit["action"], audit["actor"], audit["address"]) == ("email_bounced", "ses", ACCOUNTS)
    assert audit["message_id"] == bounce(ACCOUNTS)["mail"]["messageId"]


def test_the_same_sns_message_delivered_twice_records_one_audit_event(store):
    event = sns_event(bounce(ACCOUNTS))

    first = local_lambda.invoke("MailEventsFunction", event)
    second = local_lambda.invoke("MailEventsFunction", event)

    assert first == second
    assert audit_actions(store) == ["email_bounced"]
    assert the_debtor(store).undeliverable == (ACCOUNTS,)


def test_the_same_bounce_published_again_under_a_new_sns_id_records_nothing_more(store):
    local_lambda.invoke("MailEventsFunction", sns_event(bounce(ACCOUNTS)))

    again = local_lambda.invoke("MailEventsFunction", sns_event(bounce(ACCOUNTS.upper())))

    assert list(again["outcomes"].values()) == ["already_recorded"]
    assert audit_actions(store) == ["email_bounced"]
    assert the_debtor(store).undeliverable == (ACCOUNTS,)


def test_a_transient_bounce_changes_nothing(store):
    result = local_lambda.invoke("MailEventsFunction", sns_event(bounce(ACCOUNTS, bounce_type="Transient")))

    assert list(result["outcomes"].values()) == ["ignored_transient"]
    assert the_debtor(store).reachable_emails == (ACCOUNTS, BOSS)
    assert audit_actions(store) == []


def test_a_complaint_marks_the_address_undeliverable(store):
    result = local_lambda.invoke("MailEventsFunction", sns_event(complaint(BOSS)))

    assert list(result["outcomes"].values()) == ["complained"]
    assert the_debtor(store).reachable_emails == (ACCOUNTS,)
    assert audit_actions(store) == ["email_complained"]


def test_a_debtor_whose_every_address_bounced_has_none_left_to_mail(store):
    local_lambda.invoke("MailEventsFunction", sns_event(bounce(ACCOUNTS)))

    local_lambda.invoke("MailEventsFunction", sns_event(bounce(BOSS)))

    assert the_debtor(store).reachable_emails == ()  # the engine then turns the step into a call task
    assert audit_actions(store) == ["email_bounced", "email_bounced"]


def test_an_event_without_our_tags_is_ignored_without_error(store):
    result = local_lambda.invoke("MailEventsFunction", sns_event(bounce(ACCOUNTS, tags=None)))

    assert list(result["outcomes"].values()) == ["unknown_mail"]
    assert the_debtor(store).undeliverable == ()
    assert audit_actions(store) == []


def test_a_delivery_receipt_is_kept_once_in_the_debtors_trail_and_changes_nothing_else(store):
    delivery = {
        "eventType": "Delivery",
        "delivery": {"timestamp": "2025-12-01T08:00:05.101Z", "processingTimeMillis": 589,
                     "recipients": [ACCOUNTS, BOSS], "smtpResponse": "250 2.0.0 OK",
                     "reportingMTA": "b224-13.smtp-out.eu-west-3.amazonses.com"},
        "mail": _mail([ACCOUNTS, BOSS], OUR_TAGS),
    }

    first = local_lambda.invoke("MailEventsFunction", sns_event(delivery))
    again = local_lambda.invoke("MailEventsFunction", sns_event(delivery))  # SNS delivers at least once

    assert list(first["outcomes"].values()) == ["delivered"]
    assert list(again["outcomes"].values()) == ["already_recorded"]
    assert the_debtor(store).undeliverable == ()
    assert audit_actions(store) == ["email_delivered"]
    (receipt,) = [e for e in store.audit_of(CREDITOR, DEBTOR) if e["action"] == "email_delivered"]
    assert receipt["message_id"] == delivery["mail"]["messageId"]
    assert receipt["recipients"] == [ACCOUNTS, BOSS]
    assert receipt["delivered_at"] == "2025-12-01T08:00:05.101000+00:00"
    assert receipt["smtp_response"] == "250 2.0.0 OK"


def test_a_message_that_is_not_an_ses_event_fails_so_lambda_retries_then_dead_letters_it(store):
    event = sns_event({"hello": "world"})

    with pytest.raises(UnreadableMailEvent):
        local_lambda.invoke("MailEventsFunction", event)

    assert audit_actions(store) == []


def test_the_logs_name_ids_and_the_outcome_but_never_the_address(store, monkeypatch, capsys):
    monkeypatch.setattr(local_lambda, "VERBOSE", True)  # handler logs go to stderr

    local_lambda.invoke("MailEventsFunction", sns_event(bounce(ACCOUNTS)))

    logs = capsys.readouterr().err
    assert '"outcome":"bounced"' in logs.replace(" ", "")
    assert DEBTOR in logs
    assert "@" not in logs


def test_the_local_stack_creates_the_mail_events_topic_and_points_the_configuration_set_at_it(stack):
    topics = [t["TopicArn"] for t in client("sns").list_topics()["Topics"]]
    described = client("ses").describe_configuration_set(
        ConfigurationSetName=stack.physical["MailConfigurationSet"],
        ConfigurationSetAttributeNames=["eventDestinations"],
    )

    assert stack.physical["MailEventsTopic"] in topics
    [destination] = described["EventDestinations"]
    assert destination["SNSDestination"]["TopicARN"] == stack.physical["MailEventsTopic"]
    assert sorted(destination["MatchingEventTypes"]) == ["bounce", "complaint", "delivery", "reject"]
    environment = stack.environments["MailEventsFunction"]
    assert environment["RELANCE_IDEMPOTENCY_TABLE"] == stack.physical["IdempotencyTable"]
