"""Account administrators change the roles of their account's users, within the roles the
definition's `assigns:` lets them give, and never remove the account's last manager
(b2c: anna administers Acme; ben and lena are Acme's customers, lena is also Globex's).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from portalis.engine.accounts.account_roles import (
    LastManager,
    account_managers,
    assignable_roles,
    check_keeps_manager,
    managing_roles,
    roles_in_account,
    set_account_roles,
)
from portalis.engine.accounts.memberships import membership_roles
from portalis.engine.data.db import begin_write
from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import audit
from portalis.testing.web import PortalClient, WebPortal

ANNA, BEN, LENA, NINA = "anna@acme.test", "ben@acme.test", "lena@acme.test", "nina@globex.test"


@pytest.fixture
def web(database_url: str, tmp_path: Path) -> Iterator[WebPortal]:
    portal = WebPortal.deploy(database_url, tmp_path / "i")
    yield portal
    portal.close()


def _user(web: WebPortal, email: str) -> sa.Row[sa.Any]:
    users = web.compiled.tables["user"]
    with web.engine.connect() as conn:
        return conn.execute(sa.select(users).where(users.c.email == email)).one()


def _admin(web: WebPortal, email: str = ANNA) -> PortalClient:
    browser = web.client(email)
    browser.get("/?lang=en")  # anna's profile language is German; the texts below are English
    return browser


def _change(browser: PortalClient, user: int, role: str) -> sa.Any:
    return browser.post("/account/users", {"action": "role", "user": str(user), "role": role})


def test_assigns_decides_who_manages_and_what_they_give(web: WebPortal) -> None:
    model = web.compiled.model
    assert assignable_roles(model, ["account_admin"]) == ("customer", "account_admin")
    assert assignable_roles(model, ["customer"]) == ()
    assert managing_roles(model) == {"account_admin"}
    page = _admin(web).get("/account/users").text
    ben = _user(web, BEN).id
    # a role picker per member, offering the assignable roles and never a staff role
    assert f'id="role-{ben}"' in page and 'value="role"' in page
    assert '<option value="agent"' not in page


def test_account_admin_changes_a_users_role(web: WebPortal) -> None:
    anna, ben = _admin(web), _user(web, BEN)
    response = _change(anna, ben.id, "account_admin")
    assert response.status_code == 303, response.text
    assert list(_user(web, BEN).roles) == ["account_admin"]
    # audited with who changed what, and the role takes effect: ben now manages users
    with web.engine.connect() as conn:
        entry = conn.execute(sa.select(audit).where(audit.c.action == "user_roles_changed")).one()
    assert entry.actor_id == _user(web, ANNA).id
    assert entry.detail["user"] == ben.id and entry.detail["roles"] == ["account_admin"]
    assert entry.detail["before"] == ["customer"]
    assert web.client(BEN).get("/account/users").status_code == 200
    # and back
    assert _change(anna, ben.id, "customer").status_code == 303
    assert web.client(BEN).get("/account/users").status_code == 403


def test_a20_only_assignable_roles_and_only_managers(web: WebPortal) -> None:
    anna, ben = _admin(web), _user(web, BEN)
    refused = _change(anna, ben.id, "agent")  # a staff role: not among anna's assigns
    assert refused.status_code == 422 and "Choose a role." in refused.text
    assert list(_user(web, BEN).roles) == ["customer"]
    # a customer cannot change roles, not even their own
    forged = _change(web.client(BEN), ben.id, "account_admin")
    assert forged.status_code == 403
    assert list(_user(web, BEN).roles) == ["customer"]


def test_asvs_8_2_2_idor_role_change_of_another_accounts_user(web: WebPortal) -> None:
    anna, nina = _admin(web), _user(web, NINA)
    for target in (str(nina.id), str(_user(web, "sam@support.test").id), "999999", "x", ""):
        response = anna.post("/account/users", {"action": "role", "user": target,
                                                "role": "customer"})  # fmt: skip
        assert response.status_code == 404, target
    assert list(_user(web, NINA).roles) == ["customer"]


def test_last_admin_cannot_demote_themselves(web: WebPortal) -> None:
    anna_id = _user(web, ANNA).id
    anna = _admin(web)
    refused = _change(anna, anna_id, "customer")
    assert refused.status_code == 409
    assert "without anyone who can manage its users" in refused.text
    assert f'id="role-{anna_id}-error"' in refused.text
    assert list(_user(web, ANNA).roles) == ["account_admin"]  # nothing changed
    # with a second administrator she may step down, and the page is no longer hers
    assert _change(anna, _user(web, BEN).id, "account_admin").status_code == 303
    stepped_down = _change(anna, anna_id, "customer")
    assert stepped_down.status_code == 303
    assert stepped_down.headers["Location"].endswith("/account")
    assert anna.get("/account/users").status_code == 403
    # and ben, now the last one, cannot be disabled by anyone nor demote himself
    ben = web.client(BEN)
    ben.get("/?lang=en")
    assert _change(ben, _user(web, BEN).id, "customer").status_code == 409


def test_disabling_the_last_other_admin_is_refused(web: WebPortal) -> None:
    anna_id, ben_id = _user(web, ANNA).id, _user(web, BEN).id
    assert _change(_admin(web), ben_id, "account_admin").status_code == 303
    # anna is disabled by ben while her own request runs late: only ben is left to manage
    ben = _admin(web, BEN)
    assert (
        ben.post("/account/users", {"action": "disable", "user": str(anna_id)}).status_code == 303
    )
    with begin_write(web.engine) as conn, pytest.raises(LastManager):
        set_account_roles(web.store, Actor.system(), conn, account=_user(web, BEN).account,
                          user_id=ben_id, roles=["customer"])  # fmt: skip
    # a disable that would leave nobody (anna, were she still active, disabling ben) is refused
    with begin_write(web.engine) as conn, pytest.raises(LastManager):
        check_keeps_manager(conn, web.store, int(_user(web, BEN).account), ben_id)
    assert _user(web, BEN).is_active


def test_r5_two_admins_demoting_each_other_leave_one(web: WebPortal) -> None:
    anna, ben = _user(web, ANNA), _user(web, BEN)
    account = int(anna.account)
    with begin_write(web.engine) as conn:
        set_account_roles(web.store, Actor.system(), conn, account=account, user_id=ben.id,
                          roles=["account_admin"])  # fmt: skip
    outcome: dict[str, object] = {}
    first_done = threading.Event()

    def second() -> None:
        # ben demotes anna while anna's demotion of ben is not yet committed
        try:
            with begin_write(web.engine) as conn:
                set_account_roles(web.store, Actor.system(), conn, account=account,
                                  user_id=anna.id, roles=["customer"])  # fmt: skip
            outcome["second"] = "changed"
        except LastManager:
            outcome["second"] = "refused"
        outcome["after_first"] = first_done.is_set()

    with begin_write(web.engine) as conn:
        set_account_roles(web.store, Actor.system(), conn, account=account, user_id=ben.id,
                          roles=["customer"])  # fmt: skip
        other = threading.Thread(target=second)
        other.start()
        other.join(0.5)  # it waits for this transaction's lock of the account
        assert other.is_alive()
        first_done.set()
    other.join(10)
    assert outcome == {"second": "refused", "after_first": True}
    with web.engine.connect() as conn:
        assert account_managers(conn, web.store, account) == {anna.id}


def test_roles_change_per_membership(web: WebPortal) -> None:
    lena, nina = _user(web, LENA), _user(web, NINA)
    globex = int(nina.account)
    with begin_write(web.engine) as conn:
        # nina administers Globex, where lena is a customer by membership
        set_account_roles(web.store, Actor.system(), conn, account=globex, user_id=nina.id,
                          roles=["account_admin"])  # fmt: skip
        set_account_roles(web.store, Actor.system(), conn, account=globex, user_id=lena.id,
                          roles=["account_admin"])  # fmt: skip
    with web.engine.connect() as conn:
        # the role applies in Globex only: her home roles in Acme stay
        assert membership_roles(conn, web.slug, lena.id, globex) == ("account_admin",)
        assert roles_in_account(conn, web.store, lena.id, int(lena.account)) == ("customer",)
        assert account_managers(conn, web.store, globex) == {nina.id, lena.id}
    assert list(_user(web, LENA).roles) == ["customer"]
    # nina may now step down: lena manages Globex through her membership
    with begin_write(web.engine) as conn:
        set_account_roles(web.store, Actor.system(), conn, account=globex, user_id=nina.id,
                          roles=["customer"])  # fmt: skip
    # lena, the last manager of Globex, cannot lose it there
    with begin_write(web.engine) as conn, pytest.raises(LastManager):
        set_account_roles(web.store, Actor.system(), conn, account=globex, user_id=lena.id,
                          roles=["customer"])  # fmt: skip


def test_a25_a_role_change_needs_the_csrf_token(web: WebPortal) -> None:
    anna, ben = _admin(web), _user(web, BEN)
    for token in ("", "forged", web.client(BEN).csrf):
        form = {"action": "role", "user": str(ben.id), "role": "account_admin"}
        response = anna.client.post(anna.url("/account/users"), data={**form, "csrf_token": token})
        assert response.status_code == 400, token
    assert list(_user(web, BEN).roles) == ["customer"]
