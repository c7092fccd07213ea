"""The forms of signing in and of getting (back) into an account.

Each form reads what the pages post: text trimmed and cut to a bound (longer input cannot be
valid anyway), passwords exactly as typed — never trimmed, cut or shown again. The checks
that need the portal (the e-mail field's rules, the password policy, the throttle) stay in
the views, which attach their messages to the fields (`add_error`); the templates draw each
field with its messages linked through `aria-describedby` (`auth/_forms.html`).
"""

from __future__ import annotations

from wtforms import EmailField, PasswordField, StringField

from .base import PortalForm, bounded, stripped

#: The longest e-mail input looked at (longer input cannot be an address anyway).
EMAIL_MAX = 320
#: Longest second-factor code (a recovery code with its dashes fits).
CODE_MAX = 64
#: Browsers must not "correct" an address or a user name.
_NO_CORRECTION = {"spellcheck": "false", "autocapitalize": "none"}


class TextField(StringField):
    """A line of text; its data is "" when nothing was sent."""

    data: str


class EmailAddressField(EmailField):
    """An e-mail address input; its data is "" when nothing was sent."""

    data: str


class SecretField(PasswordField):
    """A password input: its data exactly as typed ("" when nothing was sent), never
    rendered back into the page."""

    data: str


def email_field(**render_kw: str) -> EmailAddressField:
    """An e-mail address as typed (trimmed, bounded)."""
    return EmailAddressField(
        default="",
        filters=[stripped, bounded(EMAIL_MAX)],
        render_kw={**_NO_CORRECTION, "inputmode": "email", **render_kw},
    )


def text_field(limit: int = 1000, **render_kw: str) -> TextField:
    """A line of text (trimmed, bounded)."""
    return TextField(default="", filters=[stripped, bounded(limit)], render_kw=render_kw)


def password_field(autocomplete: str) -> SecretField:
    """A password exactly as typed; never rendered back into the page."""
    return SecretField(default="", render_kw={"autocomplete": autocomplete})


class LoginForm(PortalForm):
    """E-mail address and password of the built-in password provider."""

    email = email_field(autocomplete="username")
    password = password_field("current-password")


class DirectoryLoginForm(PortalForm):
    """User name and password of a form provider (LDAP, …)."""

    username = text_field(EMAIL_MAX, autocomplete="username", **_NO_CORRECTION)
    password = password_field("current-password")


class NewPasswordForm(PortalForm):
    """A new password and its repetition (reset link)."""

    password = password_field("new-password")
    password_confirm = password_field("new-password")


class RegisterForm(NewPasswordForm):
    """Self-registration: name, address and a password."""

    name = text_field(autocomplete="name")
    email = email_field(autocomplete="email")


class InviteForm(NewPasswordForm):
    """Accepting an invitation: the name to keep and a password."""

    name = text_field(autocomplete="name")


class ResetRequestForm(PortalForm):
    """The address a reset link is sent to."""

    email = email_field(autocomplete="username")


class CodeForm(PortalForm):
    """A code of a second factor (from an authenticator app, or a recovery code)."""

    code = text_field(
        CODE_MAX,
        inputmode="numeric",
        autocomplete="one-time-code",
        maxlength=str(CODE_MAX),
        **_NO_CORRECTION,
    )


class ConfirmForm(CodeForm):
    """Step-up before a sensitive change: the password and/or a second-factor code."""

    password = password_field("current-password")


class ProviderTestForm(PortalForm):
    """An administrator's dry-run sign-in with a form provider."""

    username = text_field(256, autocomplete="off", **_NO_CORRECTION)
    password = password_field("off")
