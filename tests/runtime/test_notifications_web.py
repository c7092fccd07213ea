"""Notifications from the web side (SQLite and PostgreSQL): the bell on every page, the list,
marking read, preferences, CSRF, other users' notifications, and e-mail end to end through
the outbox worker to a real SMTP server."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.data.permissions import Actor
from portalis.engine.data.store import RecordStore
from portalis.engine.data.system_tables import notification_unread, notifications
from portalis.engine.definition.flow_model import Action
from portalis.engine.deploy.validator import Checker
from portalis.engine.flow import actions
from portalis.engine.outbox import notify
from portalis.engine.portal import CompiledPortal
from portalis.runtime.app import create_app
from portalis.runtime.settings import Settings
from portalis.testing.jobs import run_jobs
from portalis.testing.portals import actor_for, b2c_with, deploy_dir, migrate_db
from portalis.testing.smtp import SmtpServer
from portalis.testing.web import PortalClient, app_state, count_selects, mask_csrf

SLUG = "acme-support"
BASE = "https://support.example.test"

#: An incident entity (customers may not read `secret_note`), its page, and notifications.
DEFINITION = """
entities:
  incident:
    label: {en: Incident, de: Vorfall}
    title_field: title
    fields:
      title: {type: string, required: true, max_length: 200}
      secret_note: {type: text}
      account: {type: ref, to: account, required: true}
    permissions:
      - {roles: [customer], actions: [read], scope: account, fields: {except: [secret_note]}}
      - {roles: [agent], actions: [read, create, update], scope: all}

pages:
  incident:
    route: /incidents/<id>
    title: {en: Incident, de: Vorfall}
    roles: [customer, agent]
    blocks:
      - detail: {entity: incident}

notifications:
  incident_update:
    label: {en: Incident updates, de: Neuigkeiten zu Vorfällen}
    link: incident
    subject:
      en: "Update: {{ record.title }}"
      de: "Neuigkeit: {{ record.title }}"
    body:
      en: |
        Hello {{ recipient.name }},

        {{ actor.name }} updated "{{ record.title }}".
        Note: [{{ record.secret_note }}]

        {{ link }}
      de: |
        Hallo {{ recipient.name }},

        {{ actor.name }} hat „{{ record.title }}“ aktualisiert.
        Notiz: [{{ record.secret_note }}]

        {{ link }}
  incident_digest:
    label: {en: Weekly digest, de: Wöchentliche Übersicht}
    subject: "Digest"
    body: "Nothing to open."
  incident_quiet:
    label: {en: Quiet ones, de: Stille}
    email: false
    link: incident
    subject: "Quiet: {{ record.title }}"
    body: "{{ link }}"
  incident_boom:
    label: {en: Broken template, de: Kaputte Vorlage}
    subject: "{{ 'a' * 10**9 }}"
    body: "never sent"

automations:
  incident_changed:
    entity: incident
    on: update
    when: "'boom' not in record['title']"
    actions:
      - notify: {template: incident_update, to: ["role:customer", "actor"]}
  incident_broken:
    entity: incident
    on: update
    when: "'boom' in record['title']"
    actions:
      - notify: {template: incident_boom, to: ["role:customer"]}
"""


@dataclass
class Web:
    app: Flask
    portal: CompiledPortal
    engine: sa.Engine

    @property
    def store(self) -> RecordStore:
        with self.app.app_context():
            return app_state(self.app).registry.require(SLUG).store

    def actor(self, email: str) -> Actor:
        return actor_for(self.engine, self.portal, email)

    def client(self, email: str | None = None) -> PortalClient:
        browser = PortalClient(self.app, SLUG)
        return browser.login(email) if email else browser

    def incident(self, title: str = "Printer on fire") -> dict[str, Any]:
        store = self.store
        acme = self.account("Acme GmbH")
        record = store.insert(
            self.actor("sam@support.test"),
            "incident",
            {"title": title, "account": acme, "secret_note": "agents only"},
        )
        with self.engine.connect() as conn:
            return store.load_raw(conn, store.entity("incident"), record.id)

    def account(self, name: str) -> int:
        table = self.portal.tables["account"]
        with self.engine.connect() as conn:
            return int(conn.execute(sa.select(table.c.id).where(table.c.name == name)).scalar_one())

    def notify(
        self, template: str, to: Sequence[str], record: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """Run a `notify` action for `record` the way workflows and automations do."""
        record = record or self.incident()
        store = self.store
        with begin_write(self.engine) as conn:
            actions.run_effects(
                store, conn, (Action("notify", template=template, to=tuple(to)),),
                entity=store.entity("incident"), record=record,
                actor=self.actor("sam@support.test"), where="test", trigger="update",
            )  # fmt: skip
        return record

    def inbox(self, email: str) -> list[notify.Notification]:
        user = self.actor(email)
        assert user.id is not None
        with self.engine.connect() as conn:
            return notify.list_for(conn, portal=SLUG, user_id=user.id, limit=100)


@pytest.fixture
def web(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> Iterator[Web]:
    engine = create_engine(database_url)
    portal = deploy_dir(
        engine,
        portalis_checker,
        b2c_with(tmp_path / "b2c-notify", files={"entities/zz_incident.yaml": DEFINITION}),
    )
    settings = Settings.from_env(
        {
            "PORTALIS_DATABASE_URL": database_url,
            "PORTALIS_INSTANCE_PATH": str(tmp_path),
            "PORTALIS_SMTP_URL": smtp_server.url,
            "PORTALIS_MAIL_FROM": "Acme Support <support@acme.test>",
        },
        testing=True,
        version_check_seconds=0,
        base_url=BASE + "/",
    )
    migrate_db(database_url)  # as `portalis deploy` does: apps create no tables
    app = create_app(settings)
    try:
        yield Web(app, portal, engine)
    finally:
        app_state(app).engine.dispose()
        engine.dispose()


def bell(html: str) -> str:
    found = re.search(r'<a class="bell[^"]*"[^>]*>.*?</a>', html, re.S)
    assert found, "no bell in the header"
    return found.group(0)


def items(html: str) -> list[str]:
    """The list's entries (their buttons' CSRF tokens masked: signed per second)."""
    return re.findall(r'<li class="notification-item[^"]*">.*?</li>', mask_csrf(html), re.S)


# -- the bell -----------------------------------------------------------------------------------
def test_bell_shows_the_unread_count_on_every_page(web: Web) -> None:
    ben = web.client("ben@acme.test")
    quiet = bell(ben.get("/tickets").text)
    assert 'aria-label="Notifications"' in quiet and "bell-badge" not in quiet
    assert f'href="/{SLUG}/notifications"' in quiet
    for title in ("one", "two", "three"):
        web.notify("incident_quiet", ["role:customer"], web.incident(title))
    for path in ("/", "/tickets", "/profile", "/notifications"):
        ringing = bell(ben.get(path).text)
        assert 'aria-label="Notifications, 3 unread"' in ringing, path
        assert '<span class="bell-badge" aria-hidden="true">3</span>' in ringing
    # every recipient has their own count; visitors get no bell at all
    anna = bell(web.client("anna@acme.test").get("/tickets").text)
    assert '<span class="bell-badge" aria-hidden="true">3</span>' in anna
    assert "bell-badge" not in bell(web.client("sam@support.test").get("/tickets").text)
    assert 'class="bell' not in web.client().get("/").text


def test_bell_costs_no_query_of_its_own(web: Web) -> None:
    for title in ("one", "two"):
        web.notify("incident_quiet", ["role:customer"], web.incident(title))
    ben = web.client("ben@acme.test")
    ben.get("/tickets")  # warm up
    with count_selects(app_state(web.app).engine) as statements:
        page = ben.get("/tickets")
    assert '<span class="bell-badge" aria-hidden="true">2</span>' in bell(page.text)
    # the count comes with the session check: one statement reads session, user and count
    bell_queries = [s for s in statements if "portalis_notification" in s]
    assert len(bell_queries) == 1 and "portalis_session" in bell_queries[0]
    # and no statement of its own counts them (the session check also counts the user's
    # accounts, for the account switcher, in that same statement)
    assert not [
        s
        for s in statements
        if "count(" in s.lower() and "portalis_notif" in s and "portalis_session" not in s
    ]
    with count_selects(app_state(web.app).engine) as statements:
        assert ben.get("/notifications").status_code == 200
    # the page counts once for itself and the bell
    counts = [
        s
        for s in statements
        if "portalis_notification" in s
        and "count(" in s.lower()
        and "portalis_session" not in s  # the session check's own statement
    ]
    assert len(counts) == 2  # total and unread; the bell reuses the unread count


def test_bell_agrees_across_workers(web: Web) -> None:
    """Two app instances on one database (two workers): each shows the same number after a
    notification is created, opened and all are marked read on the other one."""
    second = create_app(app_state(web.app).settings)
    try:
        on_a = web.client("ben@acme.test")
        on_b = PortalClient(second, SLUG).login("ben@acme.test")

        def badges() -> tuple[str | None, str | None]:
            found = [
                re.search(r'class="bell-badge"[^>]*>([^<]+)<', bell(c.get("/tickets").text))
                for c in (on_a, on_b)
            ]
            first, other = (m.group(1) if m else None for m in found)
            return first, other

        assert badges() == (None, None)
        for title in ("one", "two", "three"):
            web.notify("incident_quiet", ["role:customer"], web.incident(title))
        assert badges() == ("3", "3")
        newest = web.inbox("ben@acme.test")[0]
        assert on_b.post(f"/notifications/{newest.id}/read", {"stay": "1"}).status_code == 303
        assert on_b.post(f"/notifications/{newest.id}/read", {"stay": "1"}).status_code == 303
        assert badges() == ("2", "2")  # opening one twice counts once
        assert on_a.post("/notifications/read-all").status_code == 303
        assert badges() == (None, None)
        web.notify("incident_quiet", ["role:customer"], web.incident("four"))
        assert badges() == ("1", "1")
        # the stored counter is the number of unread rows (anna's too: she was notified)
        for email in ("ben@acme.test", "anna@acme.test"):
            user = web.actor(email)
            assert user.id is not None
            with web.engine.connect() as conn:
                stored = conn.execute(
                    sa.select(notification_unread.c.unread).where(
                        notification_unread.c.portal == SLUG,
                        notification_unread.c.user_id == user.id,
                    )
                ).scalar_one()
                assert stored == notify.unread_count(conn, portal=SLUG, user_id=user.id)
    finally:
        app_state(second).engine.dispose()


# -- the list -----------------------------------------------------------------------------------
def test_list_is_newest_first_unread_highlighted_and_paged(web: Web) -> None:
    for n in range(23):
        web.notify("incident_quiet", ["role:customer"], web.incident(f"Incident {n:02d}"))
    ben = web.client("ben@acme.test")
    first = ben.get("/notifications")
    assert first.status_code == 200
    page1 = items(first.text)
    assert len(page1) == 20
    assert "Quiet: Incident 22" in page1[0] and "Quiet: Incident 03" in page1[-1]
    assert all('class="notification-item is-unread"' in item for item in page1)
    assert "23 unread notifications" in first.text and "Page 1 of 2" in first.text
    second = ben.get("/notifications?page=2")
    page2 = items(second.text)
    assert len(page2) == 3 and "Quiet: Incident 00" in page2[-1]
    assert items(ben.get("/notifications?page=99").text) == page2  # clamped to the last page
    assert items(ben.get("/notifications?page=abc").text) == page1


def test_list_escapes_and_is_empty_for_newcomers(web: Web) -> None:
    nina = web.client("nina@globex.test").get("/notifications")
    assert nina.status_code == 200
    assert "You have no notifications yet." in nina.text and "Mark all as read" not in nina.text
    web.notify("incident_quiet", ["role:customer"], web.incident("<script>alert(1)</script>"))
    html = web.client("ben@acme.test").get("/notifications").text
    assert "<script>alert(1)" not in html
    assert "Quiet: &lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_visitors_are_sent_to_sign_in(web: Web) -> None:
    visitor = web.client()
    response = visitor.get("/notifications")
    assert response.status_code == 302
    assert "/login?next=" in response.headers["Location"]


# -- marking read -------------------------------------------------------------------------------
def test_open_marks_read_and_goes_to_the_record(web: Web) -> None:
    record = web.notify("incident_update", ["role:customer"])
    ben = web.client("ben@acme.test")
    (note,) = web.inbox("ben@acme.test")
    response = ben.post(f"/notifications/{note.id}/read")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/{SLUG}/incidents/{record['id']}"
    assert not web.inbox("ben@acme.test")[0].unread
    assert web.inbox("anna@acme.test")[0].unread  # Anna's copy is hers
    page = ben.client.get(response.headers["Location"])
    assert page.status_code == 200 and "Printer on fire" in page.text
    assert "bell-badge" not in bell(page.text)


def test_mark_read_without_opening_and_links_free_notifications(web: Web) -> None:
    web.notify("incident_update", ["role:customer"])
    web.notify("incident_digest", ["role:customer"])
    ben = web.client("ben@acme.test")
    digest, update = web.inbox("ben@acme.test")
    html = ben.get("/notifications").text
    assert html.count(">Open</button>") == 1  # the digest has no page to open
    stay = ben.post(f"/notifications/{update.id}/read", {"stay": "1"})
    assert stay.status_code == 303 and stay.headers["Location"] == f"/{SLUG}/notifications"
    no_link = ben.post(f"/notifications/{digest.id}/read")
    assert no_link.headers["Location"] == f"/{SLUG}/notifications"
    assert [n.unread for n in web.inbox("ben@acme.test")] == [False, False]


def test_read_all(web: Web) -> None:
    for title in ("one", "two", "three"):
        web.notify("incident_quiet", ["role:customer"], web.incident(title))
    ben = web.client("ben@acme.test")
    response = ben.post("/notifications/read-all")
    assert response.status_code == 303
    page = ben.client.get(response.headers["Location"])
    assert "Marked 3 notifications as read." in page.text
    assert "You are all caught up." in page.text and "bell-badge" not in bell(page.text)
    assert not any(n.unread for n in web.inbox("ben@acme.test"))
    assert all(n.unread for n in web.inbox("anna@acme.test"))


def test_another_users_notification_is_404(web: Web) -> None:
    web.notify("incident_update", ["role:customer"])
    (annas,) = web.inbox("anna@acme.test")
    ben = web.client("ben@acme.test")
    assert ben.post(f"/notifications/{annas.id}/read").status_code == 404
    assert ben.post("/notifications/999999/read").status_code == 404
    assert web.inbox("anna@acme.test")[0].unread


def test_state_changes_need_the_csrf_token(web: Web) -> None:
    web.notify("incident_update", ["role:customer"])
    (note,) = web.inbox("ben@acme.test")
    ben = web.client("ben@acme.test")
    raw = ben.client
    assert raw.post(f"/{SLUG}/notifications/{note.id}/read").status_code == 400
    assert raw.post(f"/{SLUG}/notifications/read-all", data={"csrf_token": "x"}).status_code == 400
    assert raw.post(f"/{SLUG}/notifications/preferences", data={}).status_code == 400
    assert web.inbox("ben@acme.test")[0].unread
    with web.engine.connect() as conn:
        assert notify.get_prefs(conn, portal=SLUG, user_id=_uid(web, "ben")) == {}
    assert raw.get(f"/{SLUG}/notifications/read-all").status_code == 405


def _uid(web: Web, who: str) -> int:
    emails = {"ben": "ben@acme.test", "anna": "anna@acme.test"}
    user_id = web.actor(emails[who]).id
    assert user_id is not None
    return user_id


# -- preferences --------------------------------------------------------------------------------
def test_preferences_form_turns_email_off_per_kind(web: Web) -> None:
    ben = web.client("ben@acme.test")
    html = ben.get("/notifications").text
    form = html[html.index('id="preferences"') :]
    boxes = re.findall(r'<input type="checkbox" name="email" value="([a-z_]+)"( checked)?>', form)
    offered = {name for name, _ in boxes}
    assert {"incident_update", "incident_digest"} <= offered
    assert "incident_quiet" not in offered  # it never mails: nothing to turn off
    assert all(checked for _, checked in boxes)  # e-mail is on until turned off
    assert "Incident updates" in form and "ben@acme.test" in form
    keep = sorted(offered - {"incident_update"})
    response = ben.post("/notifications/preferences", {"email": keep})
    assert response.status_code == 303
    assert response.headers["Location"] == f"/{SLUG}/notifications#preferences"
    with web.engine.connect() as conn:
        prefs = notify.get_prefs(conn, portal=SLUG, user_id=_uid(web, "ben"))
    assert prefs["incident_update"] is False and prefs["incident_digest"] is True
    saved = ben.get("/notifications").text
    assert "Your notification settings have been saved." in saved
    assert 'value="incident_update">' in saved and 'value="incident_digest" checked>' in saved
    # the choice is honoured: Anna gets the mail, Ben only the bell
    web.notify("incident_update", ["role:customer"])
    with web.app.app_context():
        run_jobs(web.app)
    assert web.inbox("ben@acme.test") and web.inbox("anna@acme.test")
    with web.engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(notifications)).scalar()
    assert count == 3  # anna, ben and lena: the customers of the incident's account


# -- e-mail end to end --------------------------------------------------------------------------
def test_a35_email_end_to_end_in_each_recipients_language(
    web: Web, smtp_server: SmtpServer
) -> None:
    record = web.notify("incident_update", ["role:customer"])
    assert run_jobs(web.app) == 3  # anna, ben and lena
    anna = smtp_server.wait_for(to="anna@acme.test")
    ben = smtp_server.wait_for(to="ben@acme.test")
    link = f"{BASE}/{SLUG}/incidents/{record['id']}"
    assert anna.subject == "Neuigkeit: Printer on fire" and anna.language == "de"
    assert anna.text.startswith("Hallo Anna Berg,")
    assert "Sam Agent hat „Printer on fire“ aktualisiert." in anna.text and link in anna.text
    assert ben.subject == "Update: Printer on fire" and ben.language == "en"
    assert ben.text.startswith("Hello Ben Ortiz,") and link in ben.text
    assert f'<a href="{link}"' in ben.html and '<html lang="en">' in ben.html
    assert ben.message["From"] == "Acme Support <support@acme.test>"
    for mail in (anna, ben):  # customers may not read the note: it is in no mail
        assert "agents only" not in mail.text and "agents only" not in mail.html
        assert "Note: []" in mail.text or "Notiz: []" in mail.text


def test_a35_a_write_over_http_notifies_through_an_automation(
    web: Web, smtp_server: SmtpServer
) -> None:
    record = web.incident("Router down")
    sam = web.client("sam@support.test")
    response = sam.client.patch(
        f"/{SLUG}/api/v1/incident/{record['id']}",
        json={"title": "Router down in hall 2"},
        headers={"X-CSRF-Token": sam.csrf, "If-Match": '"1"'},
    )
    assert response.status_code == 200, response.get_json()
    # in-app right away (same transaction as the write), for customers and the agent himself
    assert [n.subject for n in web.inbox("anna@acme.test")] == ["Neuigkeit: Router down in hall 2"]
    assert [n.subject for n in web.inbox("sam@support.test")] == ["Update: Router down in hall 2"]
    html = sam.get("/notifications").text
    assert "Update: Router down in hall 2" in html and "Note: [agents only]" in html
    # e-mail once the worker drained the outbox
    assert run_jobs(web.app) == 4  # anna, ben, lena and sam
    mail = smtp_server.wait_for(to="ben@acme.test")
    assert mail.subject == "Update: Router down in hall 2" and mail.language == "en"
    assert f"{BASE}/{SLUG}/incidents/{record['id']}" in mail.text
    assert smtp_server.wait_for(to="sam@support.test").text.count("agents only") == 1


def test_r6_a_failing_notification_rolls_the_http_write_back(web: Web) -> None:
    record = web.incident("Router down")
    sam = web.client("sam@support.test")
    response = sam.client.patch(
        f"/{SLUG}/api/v1/incident/{record['id']}",
        json={"title": "boom"},
        headers={"X-CSRF-Token": sam.csrf, "If-Match": '"1"'},
    )
    assert response.status_code == 422, response.get_data(as_text=True)
    assert "incident_boom" in response.get_data(as_text=True)
    with web.engine.connect() as conn:
        current = web.store.load_raw(conn, web.store.entity("incident"), record["id"])
        queued = conn.execute(sa.text("SELECT count(*) FROM portalis_job")).scalar()
    assert (current["title"], current["version"]) == ("Router down", 1)
    assert web.inbox("anna@acme.test") == [] and queued == 0
