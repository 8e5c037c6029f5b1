"""Email over SMTP (LEADTIME_SMTP_HOST, _PORT, _FROM, _USERNAME, _PASSWORD, _STARTTLS): feedback
to a person or a team's list, and alerts to a repository's `email_to` (its alerting settings).
The mail server is the admin's own, so its address is not checked against the outbound rules;
the recipient is whoever the mapping names. An answer the server gives to one recipient (a 5xx
refusal) is final, anything else (no answer, 4xx) is tried again."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage
from typing import Any

from leadtime.server.domain.regression import headline
from leadtime.server.models import FeedbackMessage, Team
from leadtime.server.notify.message import Delivery, Message
from leadtime.server.settings import Settings


def send_mail(settings: Settings, to: str, subject: str, text: str) -> Delivery:
    if not settings.smtp_host:
        return Delivery("no mail server configured (LEADTIME_SMTP_HOST)")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = settings.smtp_from, to, subject
    mail.set_content(text)
    try:
        with smtplib.SMTP(
            settings.smtp_host, settings.smtp_port, timeout=settings.notify_timeout_seconds
        ) as smtp:
            if settings.smtp_starttls:
                smtp.starttls()
            if settings.smtp_username and settings.smtp_password:
                smtp.login(settings.smtp_username, settings.smtp_password.get_secret_value())
            smtp.send_message(mail)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        return Delivery(f"SMTP refused the recipient ({codes[0]})", retry=codes[0] < 500)
    except smtplib.SMTPResponseException as error:
        return Delivery(f"SMTP {error.smtp_code}", retry=error.smtp_code < 500)
    except (OSError, smtplib.SMTPException) as error:
        return Delivery(f"{type(error).__name__} (no answer)", retry=True)
    return Delivery()


def configured(alerting: dict[str, Any], settings: Settings) -> bool:
    return bool(settings.smtp_host and alerting.get("email_to"))


def send(message: Message) -> Delivery:
    to = message.alerting.get("email_to")
    if not to:
        return Delivery("no email_to configured")
    line = headline(message.alert, message.repository)
    subject = f"[leadtime] {line}" if message.event == "fired" else f"[leadtime] resolved: {line}"
    return send_mail(message.settings, str(to), subject[:200], f"{line}\n\n{message.link}\n")


def send_feedback(row: FeedbackMessage, team: Team | None, settings: Settings) -> Delivery:
    if not row.address:
        return Delivery("no address")
    return send_mail(settings, row.address, f"[leadtime] {row.subject}"[:200], row.body["text"])
