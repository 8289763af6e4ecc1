"""The configured channel for each message kind: email via file | smtp | sendgrid, SMS via
file | twilio (``OASIS_EMAIL_PROVIDER`` / ``OASIS_SMS_PROVIDER``).

Only the providers in use are built (and their SDKs imported).
"""

from __future__ import annotations

from notify.channels.base import Channel
from notify.channels.file import FileChannel
from notify.config import DeliverySettings, Settings

EXTERNAL = frozenset({"sendgrid", "twilio", "smtp"})


def status_callback_url(delivery: DeliverySettings) -> str | None:
    """Where Twilio reports delivery: the setting, else ``oasis serve`` behind the public URL."""
    if delivery.twilio.status_callback_url:
        return delivery.twilio.status_callback_url
    if delivery.public_base_url:
        return f"{delivery.public_base_url.rstrip('/')}/webhooks/twilio/status"
    return None


def build_provider(provider: str, settings: Settings, delivery: DeliverySettings) -> Channel:
    from notify import unsubscribe

    secret = unsubscribe.secret_for(delivery.unsubscribe_secret, delivery.production)
    if provider == "file":
        return FileChannel(settings.outbox_dir, settings.sender_email, settings.brand_name)
    if provider == "sendgrid":
        from notify.channels.sendgrid_mail import SendGridChannel

        return SendGridChannel(
            delivery.sendgrid, unsubscribe_url=delivery.unsubscribe_url, unsubscribe_secret=secret
        )
    if provider == "twilio":
        from notify.channels.twilio_sms import TwilioSmsChannel

        return TwilioSmsChannel(delivery.twilio, status_callback_url=status_callback_url(delivery))
    if provider == "smtp":
        from notify.channels.smtp import SmtpChannel

        return SmtpChannel(
            delivery.smtp,
            sender=settings.sender_email,
            brand=settings.brand_name,
            unsubscribe_url=delivery.unsubscribe_url,
            unsubscribe_secret=secret,
        )
    raise ValueError(f"unknown provider {provider!r}: use file, smtp, sendgrid or twilio")


def build_channels(
    settings: Settings, delivery: DeliverySettings, only: str | None = None
) -> dict[str, Channel]:
    """One channel object per message kind (``only``: just that kind)."""
    kinds = [only] if only else ["email", "sms"]
    built: dict[str, Channel] = {}
    out: dict[str, Channel] = {}
    for kind in kinds:
        provider = delivery.provider_for(kind)
        if provider not in built:
            built[provider] = build_provider(provider, settings, delivery)
        out[kind] = built[provider]
    return out
