"""The file channel: writes each message where a person can read it.

Email becomes an RFC 5322 ``.eml`` file (text and HTML alternatives), SMS a ``.txt`` file,
both under ``<outbox>/<run>/``. It is the default channel for local use and the demo.
"""

from __future__ import annotations

import re
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path

from notify.channels.base import OutboundMessage, SendOutcome


def safe_name(value: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", value)


class FileChannel:
    provider = "file"

    def __init__(self, outbox_dir: Path, sender: str, brand: str) -> None:
        self.outbox_dir = outbox_dir
        self.sender = sender
        self.brand = brand

    def _path(self, message: OutboundMessage, suffix: str) -> Path:
        folder = self.outbox_dir / safe_name(message.run_id)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{message.notice_id}.{message.channel}{suffix}"

    def send(self, message: OutboundMessage) -> SendOutcome:
        if message.channel == "email":
            path = self._path(message, ".eml")
            path.write_bytes(self._email(message).as_bytes())
        else:
            path = self._path(message, ".txt")
            path.write_text(f"To: {message.recipient}\n\n{message.text}\n", "utf-8")
        return SendOutcome(state="sent", provider_message_id=path.name, path=str(path))

    def _email(self, message: OutboundMessage) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = f"{self.brand} <{self.sender}>"
        mail["To"] = message.recipient
        mail["Subject"] = message.subject or ""
        mail["Date"] = formatdate(localtime=False)
        mail["Message-ID"] = make_msgid(domain=self.sender.split("@")[-1])
        mail["X-Oasis-Notice-Id"] = message.notice_id
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail
