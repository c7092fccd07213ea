"""The mail sender: SMTP URLs, message shape, delivery to a real SMTP server, and logging
the message when no server is configured."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from portalis.runtime.mail import Mail, SmtpConfig, build_message, parse_smtp_url, send_mail
from portalis.runtime.settings import Settings
from portalis.testing.smtp import SmtpServer, free_port

MAIL = Mail(
    to="anna@acme.test",
    subject="Setzen Sie Ihr Passwort zurück\r\nBcc: evil@example.com",
    text="Hallo Anna,\nhttp://localhost/acme-support/reset/abc\n",
    html='<html lang="de"><body><a href="http://localhost/acme-support/reset/abc">x</a></body></html>',
    locale="de",
)


def settings(tmp_path: Path, smtp_url: str | None) -> Settings:
    env = {"PORTALIS_INSTANCE_PATH": str(tmp_path), "PORTALIS_SECRET_KEY": "k"}
    if smtp_url:
        env["PORTALIS_SMTP_URL"] = smtp_url
    return Settings.from_env(env, testing=True)


def test_parse_smtp_urls() -> None:
    assert parse_smtp_url("smtp://127.0.0.1:2525") == SmtpConfig("127.0.0.1", 2525)
    assert parse_smtp_url("smtp://mail.example.com?starttls=true") == SmtpConfig(
        "mail.example.com", 25, starttls=True
    )
    assert parse_smtp_url("smtps://user%40x.test:p%3Ass@mail.example.com") == SmtpConfig(
        "mail.example.com", 465, implicit_tls=True, username="user@x.test", password="p:ss"
    )
    for bad in ("http://mail.example.com", "smtp://", "smtp://host:port"):
        with pytest.raises(ValueError):
            parse_smtp_url(bad)


def test_message_shape() -> None:
    message = build_message(MAIL, "Acme <portal@acme.test>")
    assert message["To"] == "anna@acme.test"
    assert message["Subject"] == "Setzen Sie Ihr Passwort zurück Bcc: evil@example.com"
    assert message["Bcc"] is None  # no header injection through the subject
    assert message["Content-Language"] == "de"
    assert message["Auto-Submitted"] == "auto-generated"
    assert message.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in message.iter_parts()] == ["text/plain", "text/html"]


def test_send_through_smtp(tmp_path: Path, smtp_server: SmtpServer) -> None:
    assert send_mail(settings(tmp_path, smtp_server.url), MAIL)
    received = smtp_server.wait_for(to="anna@acme.test")
    assert received.mail_from == "portal@localhost"
    assert received.language == "de"
    assert "/acme-support/reset/abc" in received.text
    assert 'lang="de"' in received.html


def test_without_smtp_the_message_is_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="portalis.mail"):
        assert send_mail(settings(tmp_path, None), MAIL)
    assert "PORTALIS_SMTP_URL is not set" in caplog.text
    assert "http://localhost/acme-support/reset/abc" in caplog.text


def test_a_dead_server_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"smtp://127.0.0.1:{free_port()}"
    with caplog.at_level(logging.ERROR, logger="portalis.mail"):
        assert not send_mail(settings(tmp_path, url), MAIL)
    assert "sending mail to anna@acme.test" in caplog.text
