"""SECURITY A.21 (ASVS 8.2.2): the generated IDOR walk over every path of the b2c portal.

The walk is built from the compiled model, not from a hand-written list: every page with
`<id>` × every record of its entity, every static GET route, every list block's CSV export,
`/_ac/<entity>` for every entity, every attachment, every printout (PDF), every attached document (page downloads,
the attachments block's upload/version/delete and the document API), every form on a record page,
the live updates of every page (`/_updates/<page>[/<id>]`) and each block alone (`?_fragment=`), `/_act/`
delete, copy and every workflow transition, and the REST API (GET/PATCH/DELETE per record, lists
filtered by every ref field, creates pointing at foreign parents). Customers of account A
never read or change account B's data — unseen records answer 404 and vanish from lists,
CSV, autocomplete and counts, and the database is byte-for-byte unchanged afterwards — while
the agent sees both accounts. A rule of the URL map the walk does not know fails the test.
"""

from __future__ import annotations

import html
import io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from portalis.engine.accounts import passwords
from portalis.engine.accounts.account_roles import assignable_roles
from portalis.engine.accounts.memberships import user_memberships
from portalis.engine.data.errors import NotFound
from portalis.engine.data.permissions import Actor
from portalis.engine.data.system_tables import attachment_versions, feedback_votes
from portalis.engine.data.system_tables import attachments as attachment_table
from portalis.engine.data.system_tables import notifications as notification_table
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.block_configs import FormBlock, ListBlock, MetricsBlock
from portalis.engine.definition.calendar_section import CalendarBlock
from portalis.engine.definition.feedback_section import FeedbackBlock
from portalis.engine.definition.model import Entity, Page
from portalis.runtime.active_account import ACCOUNT_HEADER
from portalis.runtime.blocks.listing import param_prefix
from portalis.runtime.live import live_blocks
from portalis.runtime.page_records import page_allowed, page_entity
from portalis.runtime.runtime_tables import files
from portalis.testing.web import PDF, PortalClient, WebPortal, upload_ticket

#: Valid argon2 hashes at a fraction of the cost: these tests sign in without passwords.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
#: (customer, their account's name): each walks over every record of the other account.
ATTACKERS = (
    ("ben@acme.test", "Acme GmbH"),
    ("anna@acme.test", "Acme GmbH"),
    ("nina@globex.test", "Globex Ltd"),
    # a member of both accounts walks while Globex is the active one
    ("lena@acme.test", "Globex Ltd"),
)
AGENT = "sam@support.test"
#: Seeded call slots of the blueprint by key → topic (ben and nina each book one).
SLOT_TOPICS = {"call1": "Billing questions", "call3": "Onboarding"}
#: Rules the walk deliberately does not visit, with the reason (anything else is walked).
NOT_DATA_PATHS = {
    "sys:reset": "token links of password reset carry no record id",
    "sys:verify": "token links of e-mail verification carry no record id",
    "sys:invite": "token links of invitations carry no record id",
    "sys:theme_css": "static theme asset of the portal",
    "sys:logo": "static theme asset of the portal",
    "api:openapi": "schema document without records",
    "sys:auth": "sign-in flow steps of a provider: the argument names a provider, no record",
    "sys:admin_auth_test": "an administrator's test sign-in of a provider, no record",
    "sys:payment_events": "a payment provider's signed events: the argument names a provider; "
    "an event naming another portal's payment changes nothing (test_payment_events)",
}
#: Endpoints with URL arguments that the walk visits by their own rules (below).
WALKED_WITH_ARGUMENTS = {
    "sys:file",
    "sys:attachment",
    "sys:attachment_version",
    "sys:printout",
    "sys:autocomplete",
    "sys:export",
    "sys:action",
    "sys:bulk",
    "sys:import",
    "sys:import_step",
    "sys:notification_read",
    "sys:updates",
    "sys:record_updates",
    "sys:ics_feed",
    "sys:ics_booking",
    "sys:payment",
    "sys:payment_checkout",
}
WALKED_API = {
    "api:collection", "api:item", "api:transitions", "api:transition", "api:copy", "api:bulk",
    "api:attachments", "api:attachment", "api:attachment_content", "api:attachment_versions",
    "api:attachment_version_content", "api:pay", "api:payments", "api:payment_refunds",
}  # fmt: skip


@dataclass
class World:
    """A deployed b2c portal plus what the walk needs to know about its records."""

    web: WebPortal
    #: (entity, id) → account id owning the record (None: belongs to no account).
    owner: dict[tuple[str, int], int | None]
    #: (entity, id) → record title (only distinctive ones, to search responses for).
    titles: dict[tuple[str, int], str]
    #: (entity, id) → version, to send the current version with every write.
    versions: dict[tuple[str, int], int]
    #: account id → (file id, bytes) of the attachment created for that account.
    attachments: dict[int, tuple[str, bytes]]
    accounts: dict[str, int]
    failures: list[str] = field(default_factory=list)
    #: e-mail → id of an unread in-app notification of that user
    notifications: dict[str, int] = field(default_factory=dict)
    #: account id → (ticket id, document id, bytes) of a document attached to its ticket
    documents: dict[int, tuple[int, str, bytes]] = field(default_factory=dict)
    #: account id → (invoice id, payment id) of a payment started on one of its invoices
    payments: dict[int, tuple[int, str]] = field(default_factory=dict)
    #: the walker's own user row and the accounts they belong to: theirs whichever account
    #: is active (the header's switcher names them)
    mine: set[tuple[str, int]] = field(default_factory=set)

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)

    def is_foreign(self, key: tuple[str, int], own: int) -> bool:
        """True for a record of another account (never the walker's own user row)."""
        return self.owner.get(key) not in (None, own) and key not in self.mine

    def foreign(self, own: int, entity: str | None = None) -> list[tuple[str, int]]:
        """Records of another account (of `entity` when given)."""
        return sorted(
            key
            for key, account in self.owner.items()
            if account is not None
            and account != own
            and (entity is None or key[0] == entity)
            and key not in self.mine
        )

    def leaked(self, own: int, text: str) -> list[str]:
        """Titles of another account's records that occur in `text`."""
        plain = html.unescape(text)
        return sorted(
            {
                title
                for key, title in self.titles.items()
                if self.owner[key] not in (None, own) and key not in self.mine and title in plain
            }
        )


# -- set-up ---------------------------------------------------------------------------------
def account_of(
    model_entities: dict[str, Entity],
    rows: dict[str, dict[int, dict[str, Any]]],
    entity: str,
    row: dict[str, Any],
    depth: int = 0,
) -> int | None:
    """The account a row belongs to: its account field, else through its required refs."""
    if entity == "account":
        return int(row["id"])
    target = model_entities[entity]
    if target.account_field:
        value = row.get(target.account_field)
        return None if value is None else int(value)
    if depth > 5:
        return None
    for ref in target.refs():
        to = getattr(ref.config, "to", None)
        value = row.get(ref.name)
        if not ref.required or not isinstance(to, str) or value is None:
            continue
        parent = rows.get(to, {}).get(int(value))
        if parent is not None:
            return account_of(model_entities, rows, to, parent, depth + 1)
    return None


def observe(web: WebPortal) -> tuple[dict, dict, dict]:
    """Owners, distinctive titles and versions of every record, read without the policy."""
    model = web.compiled.model
    rows: dict[str, dict[int, dict[str, Any]]] = {}
    with web.engine.connect() as conn:
        for name in model.entities:
            table = web.compiled.tables[name]
            rows[name] = {int(r["id"]): dict(r) for r in conn.execute(sa.select(table)).mappings()}
    owner, titles, versions = {}, {}, {}
    entities = dict(model.entities)
    for name, by_id in rows.items():
        for rid, row in by_id.items():
            owner[(name, rid)] = account_of(entities, rows, name, row)
            versions[(name, rid)] = int(row["version"])
            title = entities[name].title_of(row)
            if len(title) >= 8 and not title.startswith("#"):
                titles[(name, rid)] = title
    return owner, titles, versions


def snapshot(web: WebPortal) -> dict[str, list[dict[str, Any]]]:
    """Every row of the portal's tables and of the file table (for 'nothing changed')."""
    out: dict[str, list[dict[str, Any]]] = {}
    with web.engine.connect() as conn:
        for name in web.compiled.model.entities:
            table = web.compiled.tables[name]
            out[name] = [
                dict(r._mapping) for r in conn.execute(sa.select(table).order_by(table.c.id))
            ]
        out["portalis_notification"] = [
            dict(r._mapping)
            for r in conn.execute(sa.select(notification_table).order_by(notification_table.c.id))
        ]
        out["portalis_file"] = [
            dict(r._mapping) for r in conn.execute(sa.select(files).order_by(files.c.id))
        ]
        for table in (attachment_table, attachment_versions):
            out[table.name] = [
                dict(r._mapping)
                for r in conn.execute(sa.select(table).order_by(*table.primary_key))
            ]
    return out


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with mock.patch.object(passwords, "_hasher", CHEAP_HASHER):
        web = WebPortal.deploy(database_url, tmp_path / "instance")
    try:
        accounts = {
            "Acme GmbH": web.record_id("account", name="Acme GmbH"),
            "Globex Ltd": web.record_id("account", name="Globex Ltd"),
            # Acme's parent company: its administrator reads Acme's tickets by design
            # (tests/runtime/test_b2c_holding.py walks her), no attacker belongs to it
            "Acme Holding AG": web.record_id("account", name="Acme Holding AG"),
        }
        attachments, documents = {}, {}
        for email, account, subject in (
            ("ben@acme.test", "Acme GmbH", "Acme attachment statement"),
            ("nina@globex.test", "Globex Ltd", "Globex attachment statement"),
        ):
            owner = web.client(email)
            ticket, file_id = upload_ticket(owner, subject, PDF, "statement.pdf")
            attachments[accounts[account]] = (file_id, PDF)
            content = f"{account} document\n".encode()
            documents[accounts[account]] = (
                ticket,
                attach_document(web, owner, ticket, content),
                content,
            )
        notes = {}
        with web.engine.begin() as conn:
            for email in ("ben@acme.test", "anna@acme.test", "nina@globex.test", AGENT):
                insert = notification_table.insert().values(
                    portal=web.slug, user_id=web.actor(email).id, kind="walk",
                    subject=f"Walk {email}", body="", link="/tickets", created_at=utcnow(),
                )  # fmt: skip
                notes[email] = int(conn.execute(insert).inserted_primary_key[0])
        for email, slot in (("ben@acme.test", "call1"), ("nina@globex.test", "call3")):
            slot_id = web.record_id("support_slot", topic=SLOT_TOPICS[slot])
            web.store.insert(web.actor(email), "support_booking", {"slot": slot_id})
        paid = {accounts[account]: start_payment(web, email, accounts[account])
                for email, account in (("ben@acme.test", "Acme GmbH"),
                                       ("nina@globex.test", "Globex Ltd"))}  # fmt: skip
        owner, titles, versions = observe(web)
        yield World(
            web, owner, titles, versions, attachments, accounts, notifications=notes,
            documents=documents, payments=paid,
        )  # fmt: skip
    finally:
        web.close()


# -- helpers --------------------------------------------------------------------------------
def attachments_block(web: WebPortal) -> str:
    """The index of the attachments block on the ticket page."""
    return str(
        next(b.index for b in web.compiled.model.pages["ticket"].blocks if b.type == "attachments")
    )


def attach_document(web: WebPortal, browser: PortalClient, ticket: int, content: bytes) -> str:
    """Attach a text document to a ticket through its page; returns the document id."""
    data = {
        "_block": attachments_block(web),
        "op": "upload",
        "file": (io.BytesIO(content), "notes.txt"),
    }
    response = browser.post(f"/tickets/{ticket}", data, content_type="multipart/form-data")
    assert response.status_code == 303, response.text
    with web.engine.connect() as conn:
        return str(
            conn.execute(
                sa.select(attachment_table.c.id).where(attachment_table.c.record_id == ticket)
            ).scalar_one()
        )


def payments_block(web: WebPortal) -> str:
    """The index of the payments block on the invoice page."""
    return str(
        next(b.index for b in web.compiled.model.pages["invoice"].blocks if b.type == "payments")
    )


def start_payment(web: WebPortal, email: str, account: int) -> tuple[int, str]:
    """(invoice, payment) of a payment `email` starts on an invoice of their account."""
    invoice = next(
        r.id for r in web.store.list(Actor.system(), "invoice", page_size=50).records
        if r["account"] == account
    )  # fmt: skip
    answer = web.client(email).post(
        f"/invoices/{invoice}", {"_block": payments_block(web), "op": "pay"}
    )
    assert answer.status_code == 303, answer.text
    return invoice, answer.headers["Location"].rsplit("/", 2)[1]


def walk_payments(world: World, email: str, own: int) -> None:
    """Another account's payments do not exist for the walker: their pages, the step on to
    the checkout and the status fragment are 404; paying or refunding another account's
    invoice through its page is 404; their own payment's page opens."""
    client = client_in(world, email, own)
    block = payments_block(world.web)
    for account, (invoice, payment) in world.payments.items():
        if account == own:
            status = client.get(f"/_payments/{payment}").status_code
            world.check(status == 200, f"{email}: own payment {payment} → {status}")
            continue
        for path in (f"/_payments/{payment}", f"/_payments/{payment}/checkout",
                     f"/_payments/{payment}?part=status"):  # fmt: skip
            status = client.get(path).status_code
            world.check(status == 404, f"{email}: GET {path} → {status}")
        for form in ({"op": "pay"}, {"op": "refund", "payment": payment, "amount": "1"}):
            status = client.post(f"/invoices/{invoice}", {"_block": block, **form}).status_code
            world.check(status == 404, f"{email}: POST /invoices/{invoice} {form} → {status}")
    mine = world.payments.get(own)
    for account, (_, payment) in world.payments.items():
        if mine is None or account == own:
            continue
        # another account's payment named in a refund on the walker's own invoice
        form = {"_block": block, "op": "refund", "payment": payment, "amount": "1"}
        status = client.post(f"/invoices/{mine[0]}", form).status_code
        world.check(status == 404, f"{email}: refund of {payment} on own invoice → {status}")


def client_in(world: World, email: str, own: int) -> PortalClient:
    """A new browser of `email` working in the account `own` (switched to when not home)."""
    client = world.web.client(email)
    if own != world.web.actor(email).account:
        status = client.post("/account/switch", {"account": str(own)}).status_code
        assert status == 303, (email, own, status)
    return client


def walk_documents(world: World, email: str, own: int) -> None:
    """Another account's documents: every page and API route answers 404, bytes never leak."""
    web = world.web
    client = client_in(world, email, own)
    headers = {"X-CSRF-Token": client.csrf}
    index = attachments_block(web)
    for account, (ticket, doc, content) in world.documents.items():
        if account == own:
            continue
        api = f"/api/v1/ticket/{ticket}/attachments"
        for path in (
            f"/_attachments/ticket/{ticket}/{doc}", f"/_attachments/ticket/{ticket}/{doc}/1",
            api, f"{api}/{doc}", f"{api}/{doc}/content", f"{api}/{doc}/versions",
            f"{api}/{doc}/versions/1/content",
        ):  # fmt: skip
            response = client.get(path)
            world.check(
                response.status_code == 404, f"{email}: GET {path} → {response.status_code}"
            )
            world.check(content not in response.data, f"{email}: document bytes in GET {path}")
        for op in ("upload", "version", "delete"):
            data = {"_block": index, "op": op, "document": doc, "file": (io.BytesIO(PDF), "x.pdf")}
            status = client.post(
                f"/tickets/{ticket}", data, content_type="multipart/form-data"
            ).status_code
            world.check(status == 404, f"{email}: POST /tickets/{ticket} op={op} → {status}")
        for path in (api, f"{api}/{doc}/versions"):
            upload = {"file": (io.BytesIO(PDF), "x.pdf")}
            status = client.client.post(client.url(path), data=upload, headers=headers).status_code
            world.check(status == 404, f"{email}: POST {path} → {status}")
        status = client.client.delete(client.url(f"{api}/{doc}"), headers=headers).status_code
        world.check(status == 404, f"{email}: DELETE {api}/{doc} → {status}")
        # the document id on a record of one's own account is unknown too
        mine = world.documents[own][0]
        status = client.get(f"/_attachments/ticket/{mine}/{doc}").status_code
        world.check(status == 404, f"{email}: GET own ticket with foreign document → {status}")


def walk_printouts(world: World, email: str, own: int) -> None:
    """Every printout of every entity: another account's records have none (404), the
    reader's own render."""
    client = world.web.client(email)
    if own != world.web.actor(email).account:  # a member of several accounts walks in `own`
        status = client.post("/account/switch", {"account": str(own)}).status_code
        world.check(status == 303, f"{email}: POST /account/switch {own} → {status}")
    for entity in world.web.compiled.model.entities.values():
        for name in entity.printouts:
            for _, rid in world.foreign(own, entity.name):
                path = f"/_printouts/{entity.name}/{rid}/{name}.pdf"
                status = client.get(path).status_code
                world.check(status == 404, f"{email}: GET {path} → {status}")
            mine = [
                rid for (ent, rid), acc in world.owner.items() if ent == entity.name and acc == own
            ]
            for rid in mine[:1]:
                response = client.get(f"/_printouts/{entity.name}/{rid}/{name}.pdf")
                world.check(
                    response.status_code == 200 and response.data.startswith(b"%PDF-"),
                    f"{email}: own printout {entity.name}/{rid}/{name} → {response.status_code}",
                )


def record_path(page: Page, record_id: int) -> str:
    return page.route.replace("<id>", str(record_id))


def id_pattern(slug: str, page: Page) -> re.Pattern[str]:
    """Links to `page` in HTML: `/<slug><route with (\\d+) for <id>>` followed by a quote."""
    escaped = re.escape(f"/{slug}{page.route}").replace(re.escape("<id>"), r"(\d+)")
    return re.compile(escaped + r"[\"?#]")


def form_values(page: Page, block_index: int, version: int) -> dict[str, str]:
    """A plausible submission of one form block (every listed field set to a marker)."""
    cfg = page.blocks[block_index].config
    assert isinstance(cfg, FormBlock)
    data = {"_block": str(block_index), "version": str(version)}
    for name in cfg.fields:
        data[name] = "Changed by IDOR"
    return data


def linked_ids(world: World, text: str) -> set[tuple[str, int]]:
    """(entity, id) of every record page linked from `text`."""
    model = world.web.compiled.model
    found = set()
    for page in model.pages.values():
        entity = page_entity(model, page) if page.has_id else None
        if entity is None:
            continue
        for match in id_pattern(world.web.slug, page).finditer(text):
            found.add((entity, int(match.group(1))))
    return found


def static_get_paths(world: World) -> list[tuple[str, str]]:
    """(endpoint, path) of every rule without arguments that answers GET."""
    portal = world.web.app.extensions["portalis"].registry.require(world.web.slug)
    out = []
    for rule in portal.url_map.iter_rules():
        if not rule.arguments and "GET" in (rule.methods or ()):
            out.append((rule.endpoint, rule.rule))
    return sorted(out)


# -- the walk -------------------------------------------------------------------------------
def walk_bulk(
    world: World,
    client: PortalClient,
    who: str,
    own: int,
    page: Page,
    index: int,
    parent: int | None,
    no_leak: Callable[[str, str], None],
) -> None:
    """Every bulk action of a list (every index, offered or not) on all of another account's
    records of its entity: 404, or a result naming each one "not available" (an export: no
    foreign row); the database snapshot at the end shows nothing changed."""
    cfg = page.blocks[index].config
    assert isinstance(cfg, ListBlock)
    foreign = [str(rid) for _, rid in world.foreign(own, cfg.entity)]
    if not cfg.bulk or not foreign:
        return
    path = f"/_bulk/{page.name}/{index}"
    for action in range(len(cfg.bulk)):
        data: dict[str, Any] = {"action": str(action), "ids": foreign}
        if parent is not None:
            data["id"] = str(parent)
        response = client.post(path, data)
        world.check(response.status_code in (200, 404), f"{who}: POST {path} #{action} → "
                    f"{response.status_code}")  # fmt: skip
        no_leak(f"POST {path} action {action}", response.text)
        if response.status_code == 200 and cfg.bulk[action].kind != "export":
            done = re.findall(r'data-bulk-done="(\d+)"', response.text)
            world.check(not done, f"{who}: POST {path} #{action} did {done}")
    api = f"/api/v1/{cfg.entity}/bulk"
    ids = [int(i) for i in foreign]
    target = world.web.compiled.model.entities[cfg.entity]
    field_name = target.title_field or next(iter(target.fields))
    for body in (
        {"action": "delete", "ids": ids},
        {"action": "update", "ids": ids, "values": {field_name: "Changed by IDOR"}},
        *(
            {"action": "transition", "name": tr, "ids": ids}
            for wf in world.web.compiled.model.workflow_for(cfg.entity)
            for tr in wf.transitions
        ),
    ):
        response = client.client.post(
            client.url(api), json=body, headers={"X-CSRF-Token": client.csrf}
        )
        # 422: a body the actor may not send (a field they may not write): nothing is done
        world.check(response.status_code in (200, 403, 404, 422), f"{who}: POST {api} {body}")
        if response.status_code == 200:
            world.check(not response.json["done"], f"{who}: POST {api} {body} did some")
        no_leak(f"POST {api}", response.text)


def import_file(client: PortalClient, path: str, text: str) -> str | None:
    """Upload `text` as a CSV file; the import's own path, or None when refused."""
    response = client.post(
        path, {"file": (io.BytesIO(text.encode()), "walk.csv")}, content_type="multipart/form-data"
    )
    if response.status_code != 303:
        return None
    location = response.headers["Location"]
    return location[location.index("/_import/") :]


def walk_import(
    world: World,
    client: PortalClient,
    who: str,
    own: int,
    page: Page,
    index: int,
    no_leak: Callable[[str, str], None],
) -> None:
    """A list's CSV import: another account's user's import is a 404 on every step; a file
    naming another account's records in its ref columns is refused row by row with the very
    words of a name that exists nowhere (nothing tells that the record exists), and the dry
    run writes nothing (the snapshot at the end)."""
    cfg = page.blocks[index].config
    assert isinstance(cfg, ListBlock) and cfg.csv_import is not None
    path = f"/_import/{page.name}/{index}"
    others = [email for email, name in ATTACKERS if world.accounts[name] != own]
    theirs = import_file(world.web.client(others[0]), path, "x\ny\n") if others else None
    if theirs is not None:
        for response in (
            client.get(theirs),
            client.post(theirs, {"step": "check", "map-0": ""}),
            client.post(theirs, {"step": "import"}),
        ):
            world.check(response.status_code == 404, f"{who}: {theirs} → {response.status_code}")
    entity = world.web.compiled.model.entities[cfg.entity]
    refs = [
        (n, str(entity.fields[n].config.to))
        for n in cfg.csv_import.fields
        if n in entity.fields and entity.fields[n].type == "ref"
    ]
    mine = import_file(client, path, "x\ny\n")
    if mine is None:
        world.check(client.get(path).status_code == 404, f"{who}: GET {path} neither works")
        return
    no_leak(f"GET {mine}", client.get(mine).text)
    for field_name, target in refs:
        names = [world.titles[k] for k in world.foreign(own, target) if k in world.titles]
        if not names:
            continue
        # the other required text fields get a value: only the ref is in question
        filled = [
            n
            for n in cfg.csv_import.fields
            if n in entity.fields
            and entity.fields[n].required
            and entity.fields[n].type == "string"
        ]
        header = ",".join([field_name, *filled]) + "\n"
        body = "\n".join(f'"{n}"' + ",Walk" * len(filled) for n in ["Nowhere At All", *names])
        step = import_file(client, path, header + body + "\n")
        world.check(step is not None, f"{who}: upload to {path}")
        if step is None:
            continue
        mapping = {f"map-{i}": n for i, n in enumerate([field_name, *filled])}
        client.post(step, {"step": "check", **mapping})
        text = html.unescape(client.get(step).text)
        found = dict(
            re.findall(r'data-import-problem="(\d+)">.*?<td[^>]*>([^<]*)</td></tr>', text, re.S)
        )
        nowhere = found.get("2", "").replace("Nowhere At All", "{}")
        for line, name in enumerate(names, start=3):
            said = found.get(str(line), "").replace(name, "{}")
            world.check(
                bool(nowhere) and said == nowhere,
                f"{who}: import naming {target} {name!r} says {said!r}, not {nowhere!r}",
            )


def walk_as_attacker(world: World, email: str, own: int) -> None:
    web, model = world.web, world.web.compiled.model
    client = web.client(email)
    actor = web.actor(email)
    headers = {"X-CSRF-Token": client.csrf}
    who = email
    walk_account_switch(world, client, email, own)
    walk_account_users(world, client, email, own)

    def no_leak(label: str, text: str) -> None:
        leaked = world.leaked(own, text)
        world.check(not leaked, f"{who}: {label} shows another account's {leaked}")
        foreign_links = {k for k in linked_ids(world, text) if world.is_foreign(k, own)}
        world.check(not foreign_links, f"{who}: {label} links to {sorted(foreign_links)}")

    # pages showing one record: GET and every form's POST answer 404
    for page in model.pages.values():
        entity = page_entity(model, page) if page.has_id else None
        if entity is None:
            continue
        expected = 404 if page_allowed(page, actor) else 403
        for _, rid in world.foreign(own, entity):
            path = record_path(page, rid)
            response = client.get(path)
            world.check(
                response.status_code == expected, f"{who}: GET {path} → {response.status_code}"
            )
            no_leak(f"GET {path}", response.text)
            for block in page.blocks:
                if not isinstance(block.config, FormBlock):
                    continue
                data = form_values(page, block.index, world.versions[(entity, rid)])
                response = client.post(path, data)
                world.check(
                    response.status_code == expected,
                    f"{who}: POST {path} block {block.index} → {response.status_code}",
                )

    # live updates and single blocks of record pages: 404 for foreign records, own ones fine
    for page in model.pages.values():
        entity = page_entity(model, page) if page.has_id else None
        if entity is None:
            path = f"/_updates/{page.name}"
            response = client.get(path)
            world.check(response.status_code in (200, 404), f"{who}: GET {path}")
            no_leak(f"GET {path}", response.text)
            continue
        for _, rid in world.foreign(own, entity):
            for path in (
                f"/_updates/{page.name}/{rid}",
                f"/_updates/{page.name}/{rid}?since=0",
                *(f"{record_path(page, rid)}?_fragment={b.index}" for b in page.blocks),
            ):
                response = client.get(path)
                world.check(
                    response.status_code in (403, 404),
                    f"{who}: GET {path} → {response.status_code}",
                )
                no_leak(f"GET {path}", response.text)
        for (ent, rid), acc in sorted(world.owner.items()):
            if ent == entity and acc == own and live_blocks(page) and page_allowed(page, actor):
                response = client.get(f"/_updates/{page.name}/{rid}")
                world.check(response.status_code == 200, f"{who}: own updates of {rid}")
                no_leak(f"GET /_updates/{page.name}/{rid}", response.text)

    # every GET route without arguments (list pages, dashboard, profile, account users …)
    for endpoint, path in static_get_paths(world):
        response = client.get(path)
        world.check(response.status_code < 500, f"{who}: GET {path} → {response.status_code}")
        no_leak(f"GET {path} ({endpoint})", response.text)

    # list blocks: searches for the other account's titles find nothing; exports hold no rows
    for page in model.pages.values():
        for block in page.blocks:
            cfg = block.config
            if not isinstance(cfg, ListBlock):
                continue
            prefix = param_prefix(page, block)
            parents: list[int | None] = [None]
            if page.has_id:
                owner_entity = page_entity(model, page)
                parents = [
                    rid
                    for (ent, rid), acc in world.owner.items()
                    if ent == owner_entity and acc == own
                ]
                for _, rid in world.foreign(own, owner_entity):
                    path = f"/_export/{page.name}/{block.index}.csv?id={rid}"
                    status = client.get(path).status_code
                    world.check(status == 404, f"{who}: GET {path} → {status}")
                    response = client.get(record_path(page, rid))
                    world.check(response.status_code in (403, 404), f"{who}: list of {rid}")
            for parent in parents:
                suffix = f"?id={parent}" if parent is not None else ""
                export = client.get(f"/_export/{page.name}/{block.index}.csv{suffix}")
                world.check(
                    export.status_code in (200, 404),
                    f"{who}: export {page.name}/{block.index}{suffix} → {export.status_code}",
                )
                no_leak(f"export {page.name}/{block.index}{suffix}", export.text)
                if cfg.search and not page.has_id:
                    for key in world.foreign(own, cfg.entity):
                        if key not in world.titles:
                            continue
                        word = world.titles[key].split()[0]
                        response = client.get(page.route, query_string={f"{prefix}q": word})
                        no_leak(f"{page.route}?{prefix}q={word}", response.text)
                        export = client.get(
                            f"/_export/{page.name}/{block.index}.csv",
                            query_string={f"{prefix}q": word},
                        )
                        no_leak(f"export {page.name}?q={word}", export.text)
                walk_bulk(world, client, who, own, page, block.index, parent, no_leak)
            if cfg.csv_import is not None and not cfg.parent:
                walk_import(world, client, who, own, page, block.index, no_leak)

    # counts: metrics count only the actor's rows
    for page in model.pages.values():
        if not page_allowed(page, actor):
            continue
        for block in page.blocks:
            if not isinstance(block.config, MetricsBlock):
                continue
            text = client.get(page.route).text
            values = re.findall(r'<p class="kpi-value">([^<]*)</p>', text)
            for metric, value in zip(block.config.metrics, values):
                if metric.aggregate != "count" or metric.group_by:
                    continue
                mine = sum(
                    1
                    for (ent, _), acc in world.owner.items()
                    if ent == metric.entity and acc == own
                )
                world.check(
                    value.strip() == str(mine),
                    f"{who}: metric {metric.entity} count on {page.route} is {value!r}, own {mine}",
                )

    # autocomplete of every entity: only own records; other titles find nothing
    for name in model.entities:
        response = client.get(f"/_ac/{name}", query_string={"q": "", "limit": "20"})
        world.check(
            response.status_code in (200, 404), f"{who}: /_ac/{name} → {response.status_code}"
        )
        if response.status_code == 200:
            ids = {(name, int(item["id"])) for item in response.json}
            bad = sorted(k for k in ids if world.is_foreign(k, own))
            world.check(not bad, f"{who}: /_ac/{name} offers {bad}")
            for key in world.foreign(own, name):
                if key in world.titles:
                    found = client.get(f"/_ac/{name}", query_string={"q": world.titles[key]}).json
                    world.check(found == [], f"{who}: /_ac/{name}?q={world.titles[key]} → {found}")

    # attachments of the other account
    for account, (file_id, content) in world.attachments.items():
        if account == own:
            continue
        response = client.get(f"/_files/{file_id}")
        world.check(response.status_code == 404, f"{who}: file {file_id} → {response.status_code}")
        world.check(content not in response.data, f"{who}: file bytes in the 404")

    # record actions: delete and every transition of every workflow
    for entity, rid in world.foreign(own):
        version = str(world.versions[(entity, rid)])
        path = f"/_act/{entity}/{rid}/delete"
        status = client.post(path, {"version": version}).status_code
        world.check(status == 404, f"{who}: POST {path} → {status}")
        target = model.entities[entity]
        for workflow in model.workflow_for(entity):
            for name, transition in workflow.transitions.items():
                data = {"name": name, "version": version, **{f: "idor" for f in transition.require}}
                path = f"/_act/{entity}/{rid}/transition"
                status = client.post(path, data).status_code
                world.check(status == 404, f"{who}: POST {path} name={name} → {status}")
        path = f"/_act/{entity}/{rid}/copy"
        status = client.post(path, {}).status_code
        world.check(status == 404, f"{who}: POST {path} → {status}")
        # the REST API: read, change, copy, delete
        api = f"/api/v1/{entity}/{rid}"
        response = client.client.post(client.url(f"{api}/copy"), json={}, headers=headers)
        world.check(response.status_code == 404, f"{who}: POST {api}/copy → {response.status_code}")
        no_leak(f"POST {api}/copy", response.text)
        response = client.get(api)
        world.check(response.status_code == 404, f"{who}: GET {api} → {response.status_code}")
        no_leak(f"GET {api}", response.text)
        field_name = target.title_field or next(iter(target.fields))
        response = client.client.patch(
            client.url(api),
            json={field_name: "Changed by IDOR"},
            headers={**headers, "If-Match": f'"{version}"'},
        )
        world.check(response.status_code == 404, f"{who}: PATCH {api} → {response.status_code}")
        response = client.client.delete(
            client.url(api), headers={**headers, "If-Match": f'"{version}"'}
        )
        world.check(response.status_code == 404, f"{who}: DELETE {api} → {response.status_code}")
        # the payment API: pay, list, refund (b2c's entities are not payable; the billing
        # portal of tests/runtime/test_payments_api.py walks them with payments)
        for method, path in (
            ("POST", f"{api}/pay"),
            ("GET", f"{api}/payments"),
            ("POST", f"{api}/payments/pay_{'x' * 24}/refunds"),
        ):
            response = client.client.open(
                client.url(path), method=method, json={} if method == "POST" else None,
                headers=headers,
            )  # fmt: skip
            world.check(
                response.status_code == 404, f"{who}: {method} {path} → {response.status_code}"
            )
            no_leak(f"{method} {path}", response.text)
        # the workflow API: availability and taking a transition
        response = client.get(f"{api}/transitions")
        world.check(
            response.status_code == 404, f"{who}: GET {api}/transitions → {response.status_code}"
        )
        no_leak(f"GET {api}/transitions", response.text)
        for workflow in model.workflow_for(entity):
            for name in workflow.transitions:
                response = client.client.post(
                    client.url(f"{api}/transitions/{name}"),
                    json={"version": int(version), "comment": "idor"},
                    headers=headers,
                )
                world.check(
                    response.status_code == 404,
                    f"{who}: POST {api}/transitions/{name} → {response.status_code}",
                )

    # API lists: plain, searched, and filtered by every ref field pointing at foreign records
    for name, entity in model.entities.items():
        base = f"/api/v1/{name}"
        queries: list[dict[str, str]] = [{"page_size": "200"}]
        for key in world.foreign(own, name):
            if key in world.titles:
                queries.append({"q": world.titles[key].split()[0]})
        for ref in entity.refs():
            to = getattr(ref.config, "to", None)
            for _, rid in world.foreign(own, to if isinstance(to, str) else None):
                if isinstance(to, str):
                    queries.append({ref.name: str(rid)})
        for query in queries:
            response = client.get(base, query_string=query)
            world.check(
                response.status_code in (200, 400, 404),
                f"{who}: GET {base} {query} → {response.status_code}",
            )
            if response.status_code != 200:
                continue
            items = {(name, int(item["id"])) for item in response.json["items"]}
            if not response.json["has_next"]:  # counts include no foreign rows either
                world.check(
                    response.json["total"] == len(items),
                    f"{who}: GET {base} {query} total {response.json['total']} for {len(items)}",
                )
            bad = sorted(k for k in items if world.is_foreign(k, own))
            world.check(not bad, f"{who}: GET {base} {query} lists {bad}")
            no_leak(f"GET {base} {query}", response.text)
        # creating a record under a foreign parent (required refs) is refused
        for ref in entity.refs():
            to = getattr(ref.config, "to", None)
            if not ref.required or not isinstance(to, str) or to == "account":
                continue
            for _, rid in world.foreign(own, to)[:2]:
                body: dict[str, Any] = {ref.name: rid}
                for other in entity.fields.values():
                    if (
                        other.required
                        and other.name not in body
                        and other.type in ("string", "text")
                    ):
                        body[other.name] = "Created under a foreign parent"
                response = client.client.post(client.url(base), json=body, headers=headers)
                world.check(
                    response.status_code in (403, 404, 422),
                    f"{who}: POST {base} {body} → {response.status_code}",
                )


def walk_account_switch(world: World, client: PortalClient, email: str, own: int) -> None:
    """The account switcher and the API's account header: an account the user does not
    belong to is 404 on both (and changes nothing); then the walk's account is made active."""
    web = world.web
    with web.engine.connect() as conn:
        member = {m.account for m in user_memberships(conn, web.compiled, web.actor(email).id)}
    world.mine = {("user", web.actor(email).id or 0), *(("account", a) for a in member)}
    for account in world.accounts.values():
        if account in member:
            continue
        status = client.post("/account/switch", {"account": str(account)}).status_code
        world.check(status == 404, f"{email}: POST /account/switch {account} → {status}")
        status = client.get("/api/v1/ticket", headers={ACCOUNT_HEADER: str(account)}).status_code
        world.check(status == 404, f"{email}: {ACCOUNT_HEADER}: {account} → {status}")
    if own != web.actor(email).account:
        status = client.post("/account/switch", {"account": str(own)}).status_code
        world.check(status == 303, f"{email}: POST /account/switch {own} → {status}")


def walk_account_users(world: World, client: PortalClient, email: str, own: int) -> None:
    """The account's user page: another account's users cannot be given a role, disabled or
    re-invited (404 for an account administrator, 403 for everyone else), and the page
    lists none of them."""
    expected = 200 if web_manages(world, email) else 403
    page = client.get("/account/users")
    world.check(page.status_code == expected, f"{email}: GET /account/users → {page.status_code}")
    for _, uid in world.foreign(own, "user"):
        for form in (
            {"action": "role", "user": str(uid), "role": "account_admin"},
            {"action": "disable", "user": str(uid)},
            {"action": "resend", "user": str(uid)},
        ):
            status = client.post("/account/users", form).status_code
            world.check(
                status == (404 if expected == 200 else 403),
                f"{email}: POST /account/users {form} → {status}",
            )
            if expected == 200:
                world.check(f'id="role-{uid}"' not in page.text, f"{email}: lists user {uid}")


def web_manages(world: World, email: str) -> bool:
    """Whether the user manages their (active) account's users."""
    return bool(assignable_roles(world.web.compiled.model, world.web.actor(email).roles))


def walk_notifications(world: World, email: str) -> None:
    """Another user's notification id answers 404 and stays unread."""
    client = world.web.client(email)
    for other, nid in world.notifications.items():
        if other != email:
            status = client.post(f"/notifications/{nid}/read").status_code
            world.check(status == 404, f"{email}: POST /notifications/{nid}/read → {status}")


def walk_as_agent(world: World) -> None:
    web, model = world.web, world.web.compiled.model
    client = web.client(AGENT)
    actor = web.actor(AGENT)
    both = sorted(k for k, acc in world.owner.items() if acc in world.accounts.values())
    for page in model.pages.values():
        entity = page_entity(model, page) if page.has_id else None
        if entity is None or not page_allowed(page, actor):
            continue
        for ent, rid in both:
            if ent == entity:
                status = client.get(record_path(page, rid)).status_code
                world.check(status == 200, f"agent: GET {record_path(page, rid)} → {status}")
                if live_blocks(page):
                    status = client.get(f"/_updates/{page.name}/{rid}").status_code
                    world.check(status == 200, f"agent: updates of {page.name}/{rid} → {status}")
    tickets = {world.titles[k] for k in both if k[0] == "ticket" and k in world.titles}
    listing = html.unescape(client.get("/tickets").text)
    world.check(all(t in listing for t in tickets), "agent: /tickets misses tickets")
    export = client.get("/_export/tickets/0.csv").text
    world.check(all(t in export for t in tickets), "agent: export misses tickets")
    offered = {item["title"] for item in client.get("/_ac/ticket?limit=20").json}
    world.check(tickets <= offered, f"agent: autocomplete misses {sorted(tickets - offered)}")
    for ticket, doc, content in world.documents.values():
        response = client.get(f"/_attachments/ticket/{ticket}/{doc}")
        world.check(response.data == content, f"agent: document {doc} → {response.status_code}")
        response = client.get(f"/api/v1/ticket/{ticket}/attachments/{doc}/content")
        world.check(response.data == content, f"agent: API document {doc} → {response.status_code}")
    for entity, rid in both:
        for name in model.entities[entity].printouts:
            response = client.get(f"/_printouts/{entity}/{rid}/{name}.pdf")
            world.check(response.status_code == 200, f"agent: printout {entity}/{rid}/{name}")
    for file_id, content in world.attachments.values():
        response = client.get(f"/_files/{file_id}")
        world.check(
            response.status_code == 200 and response.data == content, f"agent: file {file_id}"
        )
    for entity, rid in both:
        if web.compiled.policy.grants_for(actor, entity, "read"):
            status = client.get(f"/api/v1/{entity}/{rid}").status_code
            world.check(status == 200, f"agent: GET /api/v1/{entity}/{rid} → {status}")


def walk_bookings(world: World, email: str) -> None:
    """Calendar blocks: another customer's booking has no calendar file and cannot be
    cancelled (404), the reader's feed holds only their own bookings."""
    web = world.web
    client = web.client(email)
    me = web.actor(email).id
    with web.engine.connect() as conn:
        table = web.compiled.tables["support_booking"]
        rows = conn.execute(sa.select(table.c.id, table.c.created_by, table.c.version)).all()
    for page in web.compiled.model.pages.values():
        for block in page.blocks:
            if not isinstance(block.config, CalendarBlock):
                continue
            feed = client.get(f"/_ics/{page.name}/{block.index}.ics")
            world.check(feed.status_code == 200, f"{email}: feed → {feed.status_code}")
            uids = set(re.findall(r"UID:\S+-(\d+)@portalis", feed.text))
            mine = {str(rid) for rid, creator, _ in rows if creator == me}
            world.check(uids == mine, f"{email}: feed holds {uids}, not {mine}")
            for rid, creator, version in rows:
                if creator == me:
                    continue
                path = f"/_ics/{page.name}/{block.index}/{rid}.ics"
                status = client.get(path).status_code
                world.check(status == 404, f"{email}: GET {path} → {status}")
                form = {"_block": str(block.index), "op": "cancel", "booking": str(rid),
                        "version": str(version)}  # fmt: skip
                status = client.post(page.route, form).status_code
                world.check(status == 404, f"{email}: cancel booking {rid} → {status}")


def walk_feedback(world: World, email: str | None) -> None:
    """Feedback blocks: a vote on any record the reader may not read (drafts, another
    account's records, ids that do not exist) answers 404 and stores nothing."""
    web = world.web
    client = web.client(email)
    if email is None:
        client.get("/")
        client.sync_csrf()
    actor = web.actor(email) if email else Actor.anonymous()
    model = web.compiled.model
    for page in model.pages.values():
        for block in page.blocks:
            if not isinstance(block.config, FeedbackBlock):
                continue
            entity = block.config.entity
            table = web.compiled.tables[entity]
            with web.engine.connect() as conn:
                ids = set(conn.execute(sa.select(table.c.id)).scalars())
            readable = {rid for rid in ids if _readable(web, actor, entity, rid)}
            world.check(bool(ids - readable), f"{email}: no unreadable {entity} to vote on")
            for rid in sorted(ids - readable) + [max(ids, default=0) + 1000]:
                path = page.route.replace("<id>", str(rid))
                form = {"_block": str(block.index), "helpful": "yes"}
                status = client.post(path, form).status_code
                world.check(status == 404, f"{email}: vote on {entity} {rid} → {status}")
    with web.engine.connect() as conn:
        votes = conn.execute(sa.select(sa.func.count()).select_from(feedback_votes)).scalar()
    world.check(votes == 0, f"{email}: the walk left {votes} votes")


def _readable(web: WebPortal, actor: Actor, entity: str, rid: int) -> bool:
    try:
        web.store.get(actor, entity, rid)
    except NotFound:
        return False
    return True


def assert_walk_knows_every_rule(world: World) -> None:
    """A new system route fails the walk until it (or NOT_DATA_PATHS) covers it."""
    portal = world.web.app.extensions["portalis"].registry.require(world.web.slug)
    unknown = []
    for rule in portal.url_map.iter_rules():
        endpoint = rule.endpoint
        walked = (
            not rule.arguments
            or endpoint.startswith("page:")
            or endpoint in WALKED_WITH_ARGUMENTS | WALKED_API
            or endpoint in NOT_DATA_PATHS
        )
        if not walked:
            unknown.append(f"{rule.rule} ({endpoint})")
    assert not unknown, f"rules the IDOR walk does not visit: {unknown}"
    for page in world.web.compiled.model.pages.values():
        if page.has_id:
            assert page_entity(world.web.compiled.model, page), page.name


def test_asvs_8_2_2_idor_every_path(world: World) -> None:
    assert_walk_knows_every_rule(world)
    before = snapshot(world.web)
    assert len(world.attachments) == 2
    assert {acc for acc in world.owner.values() if acc is not None} == set(world.accounts.values())
    for email, account in ATTACKERS:
        walk_as_attacker(world, email, world.accounts[account])
        walk_notifications(world, email)
        walk_documents(world, email, world.accounts[account])
        walk_printouts(world, email, world.accounts[account])
        walk_bookings(world, email)
        walk_feedback(world, email)
        walk_payments(world, email, own=world.accounts[account])
        assert snapshot(world.web) == before, f"{email}'s walk changed the database"
    walk_feedback(world, None)
    walk_as_agent(world)
    assert not world.failures, "\n".join(world.failures)
