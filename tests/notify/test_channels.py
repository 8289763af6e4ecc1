"""Channels against loopback servers: SendGrid and Twilio stubs, a real aiosmtpd server."""

from __future__ import annotations

import datetime as dt
import socket
import ssl
import time
from email import message_from_bytes, policy

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from notify import unsubscribe
from notify.channels.base import (
    NotAccepted,
    OutboundMessage,
    PermanentSendError,
    ProviderAuthError,
    ProviderUnavailable,
    RateLimited,
)
from notify.channels.sendgrid_mail import SendGridChannel
from notify.channels.smtp import SmtpChannel
from notify.channels.twilio_sms import TwilioSmsChannel
from notify.config import SendGridSettings, SmtpSettings, TwilioSettings
from tests.provider_stubs import Fault, SendGridStub, TwilioStub, twilio_error

SECRET = "unsubscribe-test-secret"
UNSUB = "https://hooks.example.com/unsubscribe/{token}"
MAIL = OutboundMessage("k" * 64, "n_00001", "run-1", "email", "ana@example.com",
                       "Order O1 is late", "<p>Hi Ana</p>", "Hi Ana")  # fmt: skip
SMS = OutboundMessage("s" * 64, "n_00001", "run-1", "sms", "+13125550101", None, None, "Hi")


def sendgrid_settings(host: str, **kw) -> SendGridSettings:
    base = dict(api_key="SG.test-key", host=host, from_email="updates@example.com",
                from_name="Shop", asm_group_id=4242, asm_groups_to_display=(4242,),
                categories=("delivery-update", "oasis"), sandbox_mode=False,
                timeout_seconds=0.5, rate_per_second=0, max_rate_wait_seconds=60,
                webhook_public_key=None)  # fmt: skip
    base.update(kw)
    return SendGridSettings(**base)


def twilio_settings(base_url: str, **kw) -> TwilioSettings:
    base = dict(account_sid="AC" + "0" * 32, auth_token="tw-test-token", base_url=base_url,
                messaging_service_sid="MG" + "1" * 32, from_number=None,
                status_callback_url="https://hooks.example.com/webhooks/twilio/status",
                timeout_seconds=0.5, rate_per_second=0, retry_delay_seconds=1800)  # fmt: skip
    base.update(kw)
    return TwilioSettings(**base)


def _sendgrid(stub: SendGridStub, **kw) -> SendGridChannel:
    return SendGridChannel(sendgrid_settings(stub.base_url, **kw), unsubscribe_url=UNSUB,
                           unsubscribe_secret=SECRET)  # fmt: skip


# -- SendGrid -----------------------------------------------------------------------------


def test_sendgrid_request_carries_ids_group_categories_and_one_click_headers():
    with SendGridStub() as stub:
        channel = _sendgrid(stub)
        outcome = channel.send(MAIL)
    assert channel.client.client.timeout == 0.5
    assert outcome.state == "sent" and outcome.provider_message_id == stub.requests[0].message_id
    body = stub.requests[0].json()
    assert body["custom_args"] == {"notice_id": "n_00001", "send_key": "k" * 64}
    assert sorted(body["categories"]) == ["delivery-update", "oasis"]
    assert body["asm"] == {"group_id": 4242, "groups_to_display": [4242]}
    assert body["personalizations"] == [{"to": [{"email": "ana@example.com"}]}]
    assert body["from"] == {"email": "updates@example.com", "name": "Shop"}
    link = body["headers"]["List-Unsubscribe"]
    assert link.startswith("<https://hooks.example.com/unsubscribe/") and link.endswith(">")
    assert unsubscribe.verify(link[1:-1].rsplit("/", 1)[1], SECRET) == "k" * 64
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "mail_settings" not in body
    assert stub.requests[0].headers["Authorization"] == "Bearer SG.test-key"


def test_sendgrid_sandbox_mode_is_validated_but_not_delivered():
    with SendGridStub() as stub:
        outcome = _sendgrid(stub, sandbox_mode=True).send(MAIL)
    assert stub.requests[0].json()["mail_settings"] == {"sandbox_mode": {"enable": True}}
    assert outcome.state == "sent" and "sandbox" in (outcome.detail or "")
    assert stub.landed_per_key() == {}


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(400, body={"errors": [{"message": "Does not contain a valid address."}]}),
         PermanentSendError),
        (Fault(401, body={"errors": [{"message": "bad key"}]}), ProviderAuthError),
        (Fault(403, body={"errors": [{"message": "access forbidden"}]}), ProviderAuthError),
        (Fault(404, body={"errors": []}), ProviderUnavailable),
        (Fault(429, headers={"X-RateLimit-Reset": "2000000000"}, body={"errors": []}),
         RateLimited),
    ],
    ids=["400", "401", "403", "404", "429"],
)  # fmt: skip
def test_sendgrid_refusals_raise_what_the_ledger_needs(fault, expected):
    with SendGridStub() as stub:
        stub.faults = lambda rec: fault
        with pytest.raises(expected) as raised:
            _sendgrid(stub).send(MAIL)
    if expected is RateLimited:
        assert raised.value.retry_at == dt.datetime.fromtimestamp(2000000000, dt.UTC)
    if expected is PermanentSendError:
        assert "ana@example.com" not in str(raised.value)


@pytest.mark.parametrize(
    "fault",
    [Fault(500, body={"errors": []}, landed=True), Fault(503, body=None, landed=True),
     Fault(delay=1.5, landed=True, name="timeout"), Fault(drop=True, landed=True, name="drop")],
    ids=["500", "503", "timeout", "dropped"],
)  # fmt: skip
def test_sendgrid_answers_after_the_request_landed_are_unknown(fault):
    with SendGridStub() as stub:
        stub.faults = lambda rec: fault
        outcome = _sendgrid(stub).send(MAIL)
    assert outcome.state == "unknown"
    assert stub.landed_per_key() == {"k" * 64: 1}


def test_sendgrid_connection_refused_is_not_accepted():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = SendGridChannel(sendgrid_settings(f"http://127.0.0.1:{port}"),
                              unsubscribe_url=UNSUB, unsubscribe_secret=SECRET)  # fmt: skip
    with pytest.raises(NotAccepted):
        channel.send(MAIL)


def test_sendgrid_without_api_key_names_the_setting():
    with pytest.raises(ProviderUnavailable, match="OASIS_SENDGRID_API_KEY"):
        SendGridChannel(sendgrid_settings("http://127.0.0.1:9", api_key=None),
                        unsubscribe_url=UNSUB, unsubscribe_secret=SECRET)  # fmt: skip


# -- Twilio -------------------------------------------------------------------------------


def test_twilio_form_has_service_body_and_a_status_callback_with_the_send_key():
    with TwilioStub() as stub:
        outcome = TwilioSmsChannel(twilio_settings(stub.base_url), status_callback_url=(
            "https://hooks.example.com/webhooks/twilio/status")).send(SMS)  # fmt: skip
    form = stub.requests[0].form()
    assert outcome.state == "sent" and outcome.provider_message_id.startswith("SM")
    assert form["To"] == "+13125550101" and form["Body"] == "Hi"
    assert form["MessagingServiceSid"] == "MG" + "1" * 32 and "From" not in form
    assert form["StatusCallback"] == (
        "https://hooks.example.com/webhooks/twilio/status?send_key=" + "s" * 64
    )
    assert stub.requests[0].key == "s" * 64


def test_twilio_from_number_when_no_messaging_service():
    with TwilioStub() as stub:
        settings = twilio_settings(stub.base_url, messaging_service_sid=None,
                                   from_number="+15005550006")  # fmt: skip
        TwilioSmsChannel(settings, status_callback_url=None).send(SMS)
    form = stub.requests[0].form()
    assert form["From"] == "+15005550006" and "StatusCallback" not in form


@pytest.mark.parametrize(
    ("code", "status", "expected", "suppress"),
    [(21610, 400, PermanentSendError, "opt_out"), (21211, 400, PermanentSendError,
      "invalid_number"), (21614, 400, PermanentSendError, "invalid_number"),
     (30006, 400, PermanentSendError, "unreachable"), (20429, 429, RateLimited, None),
     (20003, 401, ProviderAuthError, None), (21606, 400, PermanentSendError, None)],
)  # fmt: skip
def test_twilio_error_codes(code, status, expected, suppress):
    with TwilioStub() as stub:
        stub.faults = lambda rec: Fault(status, body=twilio_error(code, status))
        channel = TwilioSmsChannel(twilio_settings(stub.base_url), status_callback_url=None)
        with pytest.raises(expected) as raised:
            channel.send(SMS)
    if expected is PermanentSendError:
        assert raised.value.suppress == suppress and raised.value.code == str(code)
        assert "+13125550101" not in str(raised.value)


def test_twilio_wrong_token_is_an_auth_error_from_the_real_check():
    with TwilioStub() as stub:
        channel = TwilioSmsChannel(twilio_settings(stub.base_url, auth_token="wrong"),
                                   status_callback_url=None)  # fmt: skip
        with pytest.raises(ProviderAuthError, match="OASIS_TWILIO_AUTH_TOKEN"):
            channel.send(SMS)


@pytest.mark.parametrize(
    "fault",
    [Fault(500, body=twilio_error(20500, 500), landed=True),
     Fault(delay=1.5, landed=True, name="timeout"), Fault(drop=True, landed=True, name="drop")],
    ids=["500", "timeout", "dropped"],
)  # fmt: skip
def test_twilio_answers_after_the_request_landed_are_unknown(fault):
    with TwilioStub() as stub:
        stub.faults = lambda rec: fault
        outcome = TwilioSmsChannel(twilio_settings(stub.base_url),
                                   status_callback_url="https://h.example/s").send(SMS)  # fmt: skip
    assert outcome.state == "unknown"


def test_twilio_connection_refused_is_not_accepted():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    channel = TwilioSmsChannel(twilio_settings(f"http://127.0.0.1:{port}"),
                               status_callback_url=None)  # fmt: skip
    with pytest.raises(NotAccepted):
        channel.send(SMS)


# -- SMTP against aiosmtpd ----------------------------------------------------------------


class Inbox:
    def __init__(self, refuse: set[str] = frozenset()):
        self.messages: list[tuple[str, list[str], bytes]] = []
        self.refuse = refuse

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 2.0.0 queued as Q123"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _cert(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(
            [x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))  # fmt: skip
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert_path, key_path)
    return str(cert_path), server_ctx


def _smtp(port: int, **kw) -> SmtpChannel:
    base = dict(host="127.0.0.1", port=port, username=None, password=None, security="none",
                ca_file=None, timeout_seconds=5, rate_per_second=0)  # fmt: skip
    base.update(kw)
    return SmtpChannel(SmtpSettings(**base), sender="updates@example.com", brand="Shop",
                       unsubscribe_url=UNSUB, unsubscribe_secret=SECRET)  # fmt: skip


def _authenticator(server, session, envelope, mechanism, auth_data):
    ok = isinstance(auth_data, LoginPassword) and auth_data.password == b"right"
    return AuthResult(success=ok, handled=False)


def test_smtp_delivers_a_multipart_message_with_ids_and_unsubscribe_headers():
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = _smtp(port)
        first = channel.send(MAIL)
        second = channel.send(MAIL)  # the connection is reused
        channel.close()
    finally:
        controller.stop()
    assert first.state == second.state == "sent"
    assert "queued as Q123" in (first.provider_message_id or "")
    mail_from, rcpts, content = inbox.messages[0]
    assert (mail_from, rcpts) == ("updates@example.com", ["ana@example.com"])
    parsed = message_from_bytes(content, policy=policy.default)
    assert parsed["X-Oasis-Notice-Id"] == "n_00001" and parsed["X-Oasis-Send-Key"] == "k" * 64
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert parsed.get_body(("plain",)).get_content().strip() == "Hi Ana"
    assert parsed.get_body(("html",)).get_content().strip() == "<p>Hi Ana</p>"


def test_smtp_starttls_with_login(tmp_path):
    ca_file, server_ctx = _cert(tmp_path)
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, tls_context=server_ctx,
                            require_starttls=True, authenticator=_authenticator,
                            auth_require_tls=True)  # fmt: skip
    controller.start()
    try:
        ok = _smtp(port, security="starttls", ca_file=ca_file, username="u", password="right")
        assert ok.send(MAIL).state == "sent"
        ok.close()
        with pytest.raises(ProviderAuthError, match="OASIS_SMTP_PASSWORD"):
            _smtp(port, security="starttls", ca_file=ca_file, username="u",
                  password="wrong").send(MAIL)  # fmt: skip
        with pytest.raises(ProviderUnavailable, match="OASIS_SMTP_CA_FILE"):
            _smtp(port, security="starttls", ca_file=None).send(MAIL)  # untrusted certificate
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_smtp_implicit_tls(tmp_path):
    ca_file, server_ctx = _cert(tmp_path)
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port, ssl_context=server_ctx)
    controller.start()
    try:
        channel = _smtp(port, security="ssl", ca_file=ca_file)
        assert channel.send(MAIL).state == "sent"
        channel.close()
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


def test_smtp_refused_recipient_fails_that_message_only_and_down_server_is_not_accepted():
    inbox, port = Inbox(refuse={"ana@example.com"}), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        channel = _smtp(port)
        with pytest.raises(PermanentSendError, match="550"):
            channel.send(MAIL)
        bo = OutboundMessage("b" * 64, "n_2", "run-1", "email", "bo@example.com", "S", None, "T")
        assert channel.send(bo).state == "sent"
        channel.close()
    finally:
        controller.stop()
    time.sleep(0.05)
    with pytest.raises(NotAccepted):
        _smtp(port).send(MAIL)
    assert [m[1] for m in inbox.messages] == [["bo@example.com"]]
