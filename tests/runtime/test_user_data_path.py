"""User rows go through the record store (SQLite and PostgreSQL).

A sign-in provider's role sync and provisioning, a profile edit, an account administrator's
disable/enable and invitations, an administrator's deactivation: each is one store write —
an audit entry naming who acted (roles and activation in its diff, never a password hash),
the definition's automations on `user`, its rollups over users and its rules on `user` —
in the same transaction as the auth event. The test portal is b2c with a directory provider
(a test plugin: any user name with the password "right"), an account rollup counting
members, a rule on the user's name and automations logging every user create and update.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_auth_support import (
    DIRECTORY_ISSUER,
    DIRECTORY_PROVIDER,
    Directory,
    ProviderType,
    with_test_providers,
)

from portalis.engine.accounts.passwords import hash_password
from portalis.engine.accounts.user_writes import insert_user, update_user
from portalis.engine.accounts.users import find_user, set_active
from portalis.engine.data.db import begin_write
from portalis.engine.data.errors import Forbidden, NotFound, ValidationFailed
from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import audit
from portalis.engine.data.tables import utcnow
from portalis.engine.hookspecs import hookimpl
from portalis.runtime.runtime_tables import identities
from portalis.testing.portals import b2c_with
from portalis.testing.web import PortalClient, WebPortal

SLUG = "acme-support"
#: Added to b2c: a rollup counting an account's users, a rule on the user's name.
ACCOUNT_ROLLUP = """
      members:
        type: int
        rollup: count
        of: user
        via: account
        label: {en: Members}
"""
USER_RULE = """  user:
    rules:
      - check: "record['name'] != 'Mallory'"
        message: {en: Mallory may not sign up here}
"""
#: Automations on the user entity: every create and update leaves a `user_change` record.
USER_WATCH = """
entities:
  user_change:
    fields:
      user: {type: ref, to: user, required: true}
      what: {type: string, max_length: 20}
    permissions:
      - {roles: [agent], actions: [read], scope: all}
automations:
  user_created:
    entity: user
    on: create
    actions:
      - create: {entity: user_change, values: {user: {expr: "record['id']"}, what: created}}
  user_updated:
    entity: user
    on: update
    actions:
      - create: {entity: user_change, values: {user: {expr: "record['id']"}, what: updated}}
"""
#: Groups the test directory reports per user name (default: the mapped `customers`).
GROUPS: dict[str, tuple[str, ...]] = {"ben": ()}


class DirectoryPlugin:
    @hookimpl
    def portalis_auth_provider_types(self) -> list[Any]:
        directory = partial(Directory, groups=GROUPS)
        return [ProviderType("directory", "form", directory)]


@dataclass
class Served:
    web: WebPortal

    def uid(self, email: str) -> int:
        return self.web.record_id("user", email=email)

    def user(self, email: str) -> dict[str, Any]:
        with self.web.engine.connect() as conn:
            row = find_user(conn, self.web.compiled, email)
        assert row is not None
        return row

    def entries(self, uid: int) -> list[dict[str, Any]]:
        """The store's audit entries of a user row, oldest first."""
        query = (
            sa.select(audit)
            .where(audit.c.portal == SLUG, audit.c.entity == "user", audit.c.record_id == uid)
            .order_by(audit.c.id)
        )
        with self.web.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def auth_events(self, action: str) -> list[dict[str, Any]]:
        query = sa.select(audit).where(audit.c.action == action).order_by(audit.c.id)
        with self.web.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def logged(self, uid: int) -> list[str]:
        """What the automations logged about a user, oldest first."""
        page = self.web.store.list(
            Actor.system(), "user_change", filters={"user": uid}, sort="id", page_size=100
        )
        return [str(r["what"]) for r in page.records]

    def members(self, account: str) -> int:
        record_id = self.web.record_id("account", name=account)
        return int(self.web.store.get(Actor.system(), "account", record_id)["members"])

    def anonymous(self) -> PortalClient:
        browser = self.web.client()
        browser.sync_csrf()
        return browser


def definition(folder: Path) -> Path:
    b2c_with(folder, providers=DIRECTORY_PROVIDER)
    people = folder / "entities" / "people.yaml"
    text = people.read_text(encoding="utf-8")
    anchor = "        label: {en: Customer number, de: Kundennummer, fr: Numéro client, es: Número de cliente}\n"
    assert anchor in text and "  user:\n" in text
    text = text.replace(anchor, anchor + ACCOUNT_ROLLUP.lstrip("\n"))
    people.write_text(text.replace("  user:\n", USER_RULE), encoding="utf-8")
    (folder / "entities" / "zz_user_watch.yaml").write_text(USER_WATCH, encoding="utf-8")
    return folder


@pytest.fixture
def served(database_url: str, tmp_path: Path) -> Iterator[Served]:
    pm = with_test_providers(DirectoryPlugin())
    web = WebPortal.deploy(database_url, tmp_path / "i", definition(tmp_path / "portal"), pm=pm)
    try:
        yield Served(web)
    finally:
        web.close()


def aware(value: datetime) -> datetime:
    """SQLite hands timestamps back without their zone (they are UTC)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def directory_login(served: Served, username: str) -> Any:
    return served.anonymous().post(
        "/login", {"provider": "directory", "username": username, "password": "right"}
    )


# -- sign-in providers --------------------------------------------------------------------------
def test_role_sync_of_a_provider_is_an_audited_store_write(served: Served) -> None:
    web = served.web
    ben = served.uid("ben@acme.test")
    # ben also holds a role the directory does not manage; it survives the sync
    update_user(web.store, Actor.system(), ben, roles=["customer", "account_admin"])
    with begin_write(web.engine) as conn:
        conn.execute(
            identities.insert().values(
                portal=SLUG, provider="directory", issuer=DIRECTORY_ISSUER, subject="uid=ben,ou=people",
                user_id=ben, created_at=utcnow(), last_login_at=None,
            )
        )  # fmt: skip
    before = len(served.entries(ben))
    assert directory_login(served, "ben").status_code == 303
    assert served.user("ben@acme.test")["roles"] == ["account_admin"]
    (entry,) = served.entries(ben)[before:]
    assert entry["action"] == "update"
    assert entry["changes"] == {"roles": [["customer", "account_admin"], ["account_admin"]]}
    assert entry["actor_id"] is None  # the system, for the provider named in `via`
    assert entry["detail"] == {"via": "provider directory"}
    assert entry["ip"] == "127.0.0.1"
    (synced,) = served.auth_events("roles_synced")
    assert synced["detail"]["before"] == ["customer", "account_admin"]
    assert served.logged(ben) == ["updated", "updated"]  # the arrangement, then the sync
    # the next sign-in changes nothing: no store write worth an entry (its time is a credential)
    assert directory_login(served, "ben").status_code == 303
    assert len(served.entries(ben)) == before + 1
    assert served.user("ben@acme.test")["last_login_at"] is not None


def test_provisioning_creates_the_user_through_the_store(served: Served) -> None:
    before = served.members("Acme GmbH")
    assert directory_login(served, "carla").status_code == 303
    carla = served.uid("carla@acme.test")
    (entry,) = served.entries(carla)
    assert entry["action"] == "create" and entry["actor_id"] is None
    assert entry["detail"] == {"via": "provider directory"}
    assert entry["changes"]["email"] == [None, "carla@acme.test"]
    assert entry["changes"]["roles"] == [None, ["customer"]]
    assert entry["changes"]["is_active"] == [None, True]
    assert served.logged(carla) == ["created"]
    assert served.members("Acme GmbH") == before + 1  # the rollup counts her


# -- the user's own profile ---------------------------------------------------------------------
def test_profile_edit_is_audited_and_the_rules_on_user_apply(served: Served) -> None:
    ben = served.uid("ben@acme.test")
    browser = served.web.client("ben@acme.test")
    saved = browser.post("/profile", {"action": "details", "name": "Ben Berger", "locale": "fr"})
    assert saved.status_code == 303
    (entry,) = served.entries(ben)
    assert entry["action"] == "update" and entry["actor_id"] == ben
    assert entry["actor_email"] == "ben@acme.test"
    assert entry["changes"]["name"][1] == "Ben Berger" and entry["changes"]["locale"][1] == "fr"
    assert served.logged(ben) == ["updated"]

    refused = browser.post("/profile", {"action": "details", "name": "Mallory", "locale": ""})
    assert refused.status_code == 422
    assert "Mallory may not sign up here" in refused.text
    assert served.user("ben@acme.test")["name"] == "Ben Berger"
    assert len(served.entries(ben)) == 1 and served.logged(ben) == ["updated"]


def test_a_password_change_is_no_record_change(served: Served) -> None:
    ben = served.uid("ben@acme.test")
    browser = served.web.client("ben@acme.test")
    with begin_write(served.web.engine) as conn:  # a known current password
        update_user(served.web.store, Actor.system(ben), ben,
                    password_hash=hash_password("old and long passphrase"), conn=conn)  # fmt: skip
    changed = browser.post(
        "/profile/password",
        {
            "current_password": "old and long passphrase",
            "password": "a new and long passphrase 7",
            "password_confirm": "a new and long passphrase 7",
        },
    )
    assert changed.status_code == 303
    assert served.auth_events("password_change")
    # credentials are written with the row, but never become an entry, a diff or an event
    assert served.entries(ben) == [] and served.logged(ben) == []


# -- account administrators ---------------------------------------------------------------------
def test_account_admin_disable_is_a_store_write_for_their_account_only(served: Served) -> None:
    ben, anna = served.uid("ben@acme.test"), served.uid("anna@acme.test")
    nina = served.uid("nina@globex.test")
    admin = served.web.client("anna@acme.test")
    assert admin.post("/account/users", {"action": "disable", "user": str(ben)}).status_code == 303
    (entry,) = served.entries(ben)
    assert entry["changes"] == {"is_active": [True, False]}
    assert entry["actor_id"] == anna and entry["actor_email"] == "anna@acme.test"
    assert served.logged(ben) == ["updated"]
    (event,) = served.auth_events("user_disabled")
    assert event["detail"]["user"] == ben
    assert admin.post("/account/users", {"action": "enable", "user": str(ben)}).status_code == 303
    assert served.entries(ben)[-1]["changes"] == {"is_active": [False, True]}
    # a user of another account is not found, and nothing is written
    assert admin.post("/account/users", {"action": "disable", "user": str(nina)}).status_code == 404
    assert served.entries(nina) == [] and served.user("nina@globex.test")["is_active"]


def test_an_invitation_creates_the_user_through_the_store(served: Served) -> None:
    anna = served.uid("anna@acme.test")
    before = served.members("Acme GmbH")
    admin = served.web.client("anna@acme.test")
    sent = admin.post(
        "/account/users",
        {"action": "invite", "email": "nora@acme.test", "name": "Nora", "role": "customer"},
    )
    assert sent.status_code == 303
    nora = served.uid("nora@acme.test")
    (entry,) = served.entries(nora)
    assert entry["action"] == "create" and entry["actor_id"] == anna
    assert entry["detail"] == {"via": "invitation"}
    assert entry["changes"]["is_active"] == [None, False]
    assert entry["changes"]["roles"] == [None, ["customer"]]
    assert "password_hash" not in entry["changes"]
    assert served.logged(nora) == ["created"]
    assert served.members("Acme GmbH") == before + 1


# -- administrators and the engine's user path --------------------------------------------------
def test_an_administrators_deactivation_names_them(served: Served) -> None:
    web = served.web
    sam, nina = served.uid("sam@support.test"), served.uid("nina@globex.test")
    with begin_write(web.engine) as conn:  # what `portalis users disable` and admins call
        set_active(conn, web.compiled, "nina@globex.test", False, actor=Actor.system(sam))
    (entry,) = served.entries(nina)
    assert entry["changes"] == {"is_active": [True, False]}
    assert entry["actor_id"] == sam and entry["actor_email"] == "sam@support.test"
    assert served.logged(nina) == ["updated"]


def test_authentication_columns_are_the_system_actors_only(served: Served) -> None:
    web = served.web
    ben_id = served.uid("ben@acme.test")
    ben = web.actor("ben@acme.test")
    with pytest.raises(Forbidden):
        update_user(web.store, ben, ben_id, roles=["agent"])
    with pytest.raises(Forbidden):
        update_user(web.store, ben, ben_id, password_hash="x")
    with pytest.raises(Forbidden):
        insert_user(web.store, ben, {"email": "x@acme.test", "name": "X"}, roles=[])
    # the generic paths know no authentication columns at all
    with pytest.raises(ValidationFailed) as refused:
        web.store.update(Actor.system(), "user", ben_id, {"roles": ["agent"], "is_active": 0})
    assert set(refused.value.errors) == {"roles", "is_active"}
    # a user edits their own name and language, never their e-mail address
    with pytest.raises(ValidationFailed) as email:
        update_user(web.store, ben, ben_id, {"email": "ben@evil.test"})
    assert email.value.errors["email"][0].code == "not-writable"
    # declared roles only; the account restriction is checked on the locked row
    with pytest.raises(ValidationFailed):
        update_user(web.store, Actor.system(), ben_id, roles=["system"])
    nina = served.uid("nina@globex.test")
    acme = served.user("ben@acme.test")["account"]
    with pytest.raises(NotFound):
        update_user(web.store, Actor.system(), nina, active=False, account=acme)
    assert served.user("nina@globex.test")["is_active"] and served.entries(nina) == []


def test_a_rehash_keeps_the_password_age(served: Served) -> None:
    web = served.web
    ben = served.uid("ben@acme.test")
    old = utcnow() - timedelta(days=30)
    with begin_write(web.engine) as conn:
        update_user(web.store, Actor.system(ben), ben, password_hash="first", conn=conn)
        table = web.compiled.tables["user"]
        conn.execute(table.update().where(table.c.id == ben).values(password_changed_at=old))
    row = update_user(web.store, Actor.system(ben), ben, password_hash="second", rehash=True)
    assert row["password_hash"] == "second"
    assert abs((aware(row["password_changed_at"]) - old).total_seconds()) < 1
    row = update_user(web.store, Actor.system(ben), ben, password_hash="third")
    assert aware(row["password_changed_at"]) > old + timedelta(days=29)
