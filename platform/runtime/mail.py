"""Outgoing mail: render a message from `templates/mail/` in the recipient's locale, queue it in
the outbox, and let the worker send it.

A request never waits for the mail server (R4): `deliver` renders the message (templates need
the request context) and enqueues a `mail` job; `mail_handler` sends it from the worker and
raises `RetryLater` on SMTP or network failure, so mail is retried with backoff and ends up
in the dead letters (`portalis jobs list --status dead`) instead of being lost. Modules that
write data and mail together use `enqueue_mail` inside their own transaction.

`PORTALIS_SMTP_URL` names the server: `smtp://host:port` (plain, `?starttls=true` upgrades the
connection) or `smtps://user:password@host:port` (TLS from the start); user and password are
URL-encoded. Without a URL the message — link included — is logged at WARNING, so a local
`make run` can still reset passwords and accept invitations.

Each mail is two templates: `mail/<template>.txt` (whose top-level `{% set subject = _(...) %}` is
the subject) and `mail/<template>.html`. Both are rendered with the request's locale switched to the
recipient's, so subject and body come from the UI catalog through `_()`.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass, replace
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import sqlalchemy as sa
from flask import current_app, g

from portalis.engine.data.db import begin_write
from portalis.engine.outbox import jobs
from portalis.engine.outbox.jobs import Job, PermanentFailure, RetryLater
from portalis.engine.outbox.worker import Handler

from .settings import Settings

log = logging.getLogger("portalis.mail")

#: Seconds to wait for the SMTP server (connect and each command).
SMTP_TIMEOUT = 10.0
_DEFAULT_PORTS = {"smtp": 25, "smtps": 465}
_TRUE = ("1", "true", "yes", "on")
#: The outbox job kind of a mail.
MAIL_JOB = "mail"


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    """Where and how to deliver: parsed from `PORTALIS_SMTP_URL`."""

    host: str
    port: int
    implicit_tls: bool = False
    starttls: bool = False
    username: str | None = None
    password: str | None = None


@dataclass(frozen=True, slots=True)
class Mail:
    """A rendered message for one recipient."""

    to: str
    subject: str
    text: str
    html: str
    locale: str
    #: files attached to the message: (file name, PDF bytes) — printouts of a notification
    attachments: tuple[tuple[str, bytes], ...] = ()


#: What attaches files to a `mail` job's message (the notification's printouts).
Attacher = Callable[[Job], list[tuple[str, bytes]]]


def parse_smtp_url(url: str) -> SmtpConfig:
    """`smtp://host:port`, `smtp://host?starttls=true`, `smtps://user:pass@host:port`."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise ValueError("PORTALIS_SMTP_URL must look like smtp://host:port or smtps://host:port")
    try:
        port = parts.port or _DEFAULT_PORTS[scheme]
    except ValueError as exc:  # a port that is not a number
        raise ValueError(f"bad port in PORTALIS_SMTP_URL: {exc}") from exc
    query = parse_qs(parts.query)
    starttls = scheme == "smtp" and query.get("starttls", [""])[0].lower() in _TRUE
    return SmtpConfig(
        host=parts.hostname,
        port=port,
        implicit_tls=scheme == "smtps",
        starttls=starttls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(mail: Mail, sender: str) -> EmailMessage:
    """A multipart/alternative message: plain text first, HTML as the preferred part."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = " ".join(mail.subject.split())  # never a header line break
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=sender.rpartition("@")[2] or None)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.text)
    message.add_alternative(mail.html, subtype="html")
    for name, data in mail.attachments:
        message.add_attachment(data, maintype="application", subtype="pdf", filename=name)
    # after the bodies: setting content moves Content-* headers into the parts
    message["Content-Language"] = mail.locale
    return message


def send_mail(settings: Settings, mail: Mail) -> bool:
    """Deliver `mail` now; True when the server accepted it (or it was logged without a server).

    Failures are logged, never raised (see `mail_handler` for the worker's variant).
    """
    try:
        _send(settings, mail)
    except ValueError:
        log.exception("cannot send mail to %s", mail.to)
        return False
    except (OSError, smtplib.SMTPException):
        log.exception("sending mail to %s through %s failed", mail.to, _server(settings))
        return False
    return True


def mail_handler(settings: Settings, attach: Attacher | None = None) -> Handler:
    """The worker's handler for `mail` jobs: send through `settings`' SMTP server, with the
    files `attach` makes for a job that asks for attachments (its `attach` entry).

    A recipient the server refuses permanently (5xx) fails the job for good; everything else
    (server down, timeouts, 4xx, a misconfigured URL an operator will fix) is retried.
    """

    def handle_mail(job: Job) -> None:
        mail = mail_from_payload(job.payload)
        if attach is not None and job.payload.get("attach"):
            mail = replace(mail, attachments=tuple(attach(job)))
        try:
            _send(settings, mail)
        except ValueError as exc:
            raise RetryLater(f"PORTALIS_SMTP_URL is invalid: {exc}") from exc
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            text = f"{_server(settings)} refused {mail.to}: {exc.recipients}"
            if codes and all(code >= 500 for code in codes):
                raise PermanentFailure(text) from exc
            raise RetryLater(text) from exc
        except (OSError, smtplib.SMTPException) as exc:
            text = f"sending through {_server(settings)} failed: {type(exc).__name__}: {exc}"
            raise RetryLater(text) from exc

    return handle_mail


def mail_from_payload(payload: dict[str, object]) -> Mail:
    """The `Mail` a `mail` job carries (PermanentFailure when the payload is not one)."""
    try:
        to, subject, text, html, locale = (str(payload[name]) for name in _TEXT_FIELDS)
        return Mail(to, subject, text, html, locale)
    except KeyError as exc:
        raise PermanentFailure(f"mail job without {exc.args[0]!r}") from exc


_TEXT_FIELDS = ("to", "subject", "text", "html", "locale")


def mail_fields(mail: Mail) -> dict[str, str]:
    """The texts of `mail` as a job payload carries them (attachments are made when sent)."""
    return {name: getattr(mail, name) for name in _TEXT_FIELDS}


def enqueue_mail(conn: sa.Connection, *, portal: str | None, mail: Mail) -> int | None:
    """Queue `mail` inside the caller's transaction: it is sent only if that commits.

    The bodies (which may hold one-time links) are dropped from the stored job once sent.
    """
    payload = {**mail_fields(mail), jobs.REDACT_KEY: ["text", "html"]}
    return jobs.enqueue(conn, kind=MAIL_JOB, payload=payload, portal=portal)


def _send(settings: Settings, mail: Mail) -> None:
    # raises ValueError (bad URL), OSError or smtplib.SMTPException
    if not settings.smtp_url:
        log.warning(
            "PORTALIS_SMTP_URL is not set; mail to %s not sent:\nSubject: %s\n\n%s",
            mail.to,
            mail.subject,
            mail.text,
        )
        return
    config = parse_smtp_url(settings.smtp_url)
    _deliver(config, build_message(mail, settings.mail_from))
    log.info("mail %r sent to %s", mail.subject, mail.to)


def _server(settings: Settings) -> str:
    try:
        config = parse_smtp_url(settings.smtp_url or "")
    except ValueError:
        return "the mail server"
    return f"{config.host}:{config.port}"


def _deliver(config: SmtpConfig, message: EmailMessage) -> None:
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if config.implicit_tls:
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=SMTP_TIMEOUT, context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=SMTP_TIMEOUT)
    with client:
        if config.starttls:
            client.starttls(context=context)
        if config.username:
            client.login(config.username, config.password or "")
        client.send_message(message)


def render_mail(template: str, *, to: str, locale: str, **context: Any) -> Mail:
    """Render `mail/<template>.txt` and `.html` in `locale` (needs an app and request context)."""
    env = current_app.jinja_env
    previous = g.get("locale")
    g.locale = locale
    try:
        values = dict(context, recipient=to)
        current_app.update_template_context(values)
        text_module = env.get_template(f"mail/{template}.txt").make_module(values)
        html = env.get_template(f"mail/{template}.html").render(values)
    finally:
        if previous is None:
            g.pop("locale", None)
        else:
            g.locale = previous
    subject = str(getattr(text_module, "subject", "")).strip()
    return Mail(
        to=to, subject=subject, text=str(text_module).strip() + "\n", html=html, locale=locale
    )


def deliver(settings: Settings, template: str, *, to: str, locale: str, **context: Any) -> bool:
    """Render mail `template` (see `render_mail`) and queue it for the worker, in a short
    transaction of its own; True once queued, False (logged) when the database refused.

    The request does not wait for the mail server; `settings` stays for callers that pass it.
    """
    mail = render_mail(template, to=to, locale=locale, **context)
    portal = getattr(g.get("portal"), "slug", None)
    try:
        with begin_write(current_app.extensions["portalis"].engine) as conn:
            enqueue_mail(conn, portal=portal, mail=mail)
    except sa.exc.SQLAlchemyError:
        log.exception("cannot queue mail %r to %s", mail.subject, mail.to)
        return False
    return True
