"""The forms of a signed-in user's own pages and of the administration pages.

Profile, e-mail and password changes, the invitation of a new user of one's account, and the
small action forms (buttons that post an action and the row they act on). Values a page
offers a choice of (languages, roles) are `SelectField`s whose choices the view sets per
request; the view also decides whether the value sent is one of them, so the message is the
page's own ("Choose a role."), not a generic one.
"""

from __future__ import annotations

from wtforms import HiddenField, IntegerField, SelectField, SelectMultipleField

from .auth import NewPasswordForm, email_field, password_field, text_field
from .base import PortalForm, bounded


class HiddenText(HiddenField):
    """A hidden value of a button's form; its data is "" when nothing was sent."""

    data: str


def choice_field() -> SelectField:
    """A `<select>` whose choices the view sets (and checks) per request."""
    return SelectField(default="", choices=[], validate_choice=False)


class ProfileForm(PortalForm):
    """Name and language of the signed-in user."""

    name = text_field(autocomplete="name")
    locale = choice_field()


class EmailChangeForm(PortalForm):
    """A new e-mail address, confirmed with the current password."""

    new_email = email_field(autocomplete="email")
    current_password = password_field("current-password")


class PasswordChangeForm(NewPasswordForm):
    """A new password, confirmed with the current one."""

    current_password = password_field("current-password")


class InviteUserForm(PortalForm):
    """An account administrator invites a person with one of their own roles."""

    name = text_field(autocomplete="off")
    email = email_field(autocomplete="off")
    role = choice_field()


class MemberActionForm(PortalForm):
    """A button of the account's user list: `action` on `user`."""

    action = HiddenText(default="")
    user = IntegerField()


class RoleChangeForm(PortalForm):
    """An account administrator gives `user` the role `role` in the active account."""

    user = IntegerField()
    role = choice_field()


class SessionActionForm(PortalForm):
    """A button of the session list: end one session (`session`: its id prefix) or all
    the others."""

    action = HiddenText(default="")
    session = HiddenText(default="", filters=[bounded(16)])


class AdminUserActionForm(PortalForm):
    """A button of the administrator's user list, and the list's page to come back to."""

    action = HiddenText(default="")
    user = IntegerField()
    identity = IntegerField()
    q = HiddenText(default="", filters=[bounded(200)])
    page = HiddenText(default="")


class FlowStartForm(PortalForm):
    """The button that starts a sign-in flow at an identity provider."""

    purpose = HiddenText(default="login")
    next = HiddenText(default="", filters=[bounded(2000)])


class RecordActionForm(PortalForm):
    """A record action outside a block (delete): the version shown and the page to return
    to."""

    version = IntegerField()
    page = HiddenText(name="_page", default="")


class NotificationPreferencesForm(PortalForm):
    """Which kinds of notification also come by e-mail (the boxes ticked)."""

    email = SelectMultipleField(choices=[], validate_choice=False, default=())


class NotificationBackForm(PortalForm):
    """Marking notifications read: stay on the list (and on which page)."""

    stay = HiddenText(default="")
    page = HiddenText(default="")


class AccountSwitchForm(PortalForm):
    """The header's account switcher: the account to make the active one."""

    account = IntegerField()
