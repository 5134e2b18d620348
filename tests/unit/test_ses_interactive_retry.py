"""A one-time code or a new link is a mail a debtor waits for on a portal page: SES's throttling is tried again
at once, since the mail surely did not leave; a timed-out answer or a rejection is never tried again (the mail
may have left, or will never be taken)."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError
from relance.adapters import ses
from relance.adapters.ses import SesMailer
from relance.domain.parties import Creditor, Debtor
from relance.services.portal_access import CodeMail

MAIL = CodeMail(Creditor("acme", "Acme Fournitures SAS", contact_email="compta@acme.example"),
                Debtor("acme", "d-1", "Boulangerie Martin SARL", emails=("compta@martin.example",)),
                ("compta@martin.example",), "493027", 10)


class ScriptedSes:
    """sesv2's send_email answering from a script: an exception to raise, or a message id."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.calls = 0

    def send_email(self, **_kwargs):
        self.calls += 1
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {"MessageId": answer}


def refused(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": "no"}}, "SendEmail")


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch):
    monkeypatch.setattr(ses.time, "sleep", lambda _seconds: None)


def test_a_throttled_code_mail_is_sent_on_the_next_try():
    sesv2 = ScriptedSes(refused("TooManyRequestsException"), refused("Throttling"), "msg-1")

    assert SesMailer("relance@acme.example", sesv2=sesv2).send_code(MAIL) == "msg-1"
    assert sesv2.calls == 3


def test_throttled_three_times_the_error_reaches_the_page():
    sesv2 = ScriptedSes(*[refused("TooManyRequestsException")] * 3)

    with pytest.raises(ClientError):
        SesMailer("relance@acme.example", sesv2=sesv2).send_code(MAIL)
    assert sesv2.calls == 3


@pytest.mark.parametrize("error", [ReadTimeoutError(endpoint_url="https://email.eu-west-3.amazonaws.com"),
                                   refused("MessageRejected")], ids=["answer-lost", "rejected"])
def test_a_lost_answer_or_a_rejection_is_never_tried_again(error):
    sesv2 = ScriptedSes(error, "msg-2")

    with pytest.raises(type(error)):
        SesMailer("relance@acme.example", sesv2=sesv2).send_code(MAIL)
    assert sesv2.calls == 1
