"""SECURITY A.21 (ASVS 8.2.2): the generated IDOR walk over every path of the b2c portal.

The walk is built from the compiled model, not from a hand-written list: every page with
`<id>` × every record of its entity, every static GET route, every list block's CSV export,
`/_ac/<entity>` for every entity, every attachment, every form on a record page, `/_act/`
delete, copy and every workflow transition, and the REST API (GET/PATCH/DELETE per record, lists
filtered by every ref field, creates pointing at foreign parents). Customers of account A
never read or change account B's data — unseen records answer 404 and vanish from lists,
CSV, autocomplete and counts, and the database is byte-for-byte unchanged afterwards — while
the agent sees both accounts. A rule of the URL map the walk does not know fails the test.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher

from portalis.engine.accounts import passwords
from portalis.engine.data.system_tables import notifications as notification_table
from portalis.engine.data.tables import utcnow
from portalis.engine.definition.block_configs import FormBlock, ListBlock, MetricsBlock
from portalis.engine.definition.model import Entity, Page
from portalis.runtime.blocks.listing import param_prefix
from portalis.runtime.pages import page_allowed, page_entity
from portalis.runtime.runtime_tables import files
from portalis.testing.web import PDF, WebPortal, upload_ticket

#: Valid argon2 hashes at a fraction of the cost: these tests sign in without passwords.
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
#: (customer, their account's name): each walks over every record of the other account.
ATTACKERS = (
    ("ben@acme.test", "Acme GmbH"),
    ("anna@acme.test", "Acme GmbH"),
    ("nina@globex.test", "Globex Ltd"),
)
AGENT = "sam@support.test"
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
}
#: Endpoints with URL arguments that the walk visits by their own rules (below).
WALKED_WITH_ARGUMENTS = {
    "sys:file",
    "sys:autocomplete",
    "sys:export",
    "sys:action",
    "sys:notification_read",
}
WALKED_API = {"api:collection", "api:item", "api:transitions", "api:transition", "api:copy"}


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

    def check(self, ok: bool, message: str) -> None:
        if not ok:
            self.failures.append(message)

    def foreign(self, own: int, entity: str | None = None) -> list[tuple[str, int]]:
        """Records of another account (of `entity` when given)."""
        return sorted(
            key
            for key, account in self.owner.items()
            if account is not None and account != own and (entity is None or key[0] == entity)
        )

    def leaked(self, own: int, text: str) -> list[str]:
        """Titles of another account's records that occur in `text`."""
        plain = html.unescape(text)
        return sorted(
            {
                title
                for key, title in self.titles.items()
                if self.owner[key] not in (None, own) and title in plain
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
    return out


@pytest.fixture
def world(database_url: str, tmp_path: Path) -> Iterator[World]:
    with mock.patch.object(passwords, "_hasher", CHEAP_HASHER):
        web = WebPortal.deploy(database_url, tmp_path / "instance")
    try:
        accounts = {
            "Acme GmbH": web.record_id("account", name="Acme GmbH"),
            "Globex Ltd": web.record_id("account", name="Globex Ltd"),
        }
        attachments = {}
        for email, account, subject in (
            ("ben@acme.test", "Acme GmbH", "Acme attachment statement"),
            ("nina@globex.test", "Globex Ltd", "Globex attachment statement"),
        ):
            _, file_id = upload_ticket(web.client(email), subject, PDF, "statement.pdf")
            attachments[accounts[account]] = (file_id, PDF)
        notes = {}
        with web.engine.begin() as conn:
            for email in ("ben@acme.test", "anna@acme.test", "nina@globex.test", AGENT):
                insert = notification_table.insert().values(
                    portal=web.slug, user_id=web.actor(email).id, kind="walk",
                    subject=f"Walk {email}", body="", link="/tickets", created_at=utcnow(),
                )  # fmt: skip
                notes[email] = int(conn.execute(insert).inserted_primary_key[0])
        owner, titles, versions = observe(web)
        yield World(web, owner, titles, versions, attachments, accounts, notifications=notes)
    finally:
        web.close()


# -- helpers --------------------------------------------------------------------------------
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
def walk_as_attacker(world: World, email: str, own: int) -> None:
    web, model = world.web, world.web.compiled.model
    client = web.client(email)
    actor = web.actor(email)
    headers = {"X-CSRF-Token": client.csrf}
    who = email

    def no_leak(label: str, text: str) -> None:
        leaked = world.leaked(own, text)
        world.check(not leaked, f"{who}: {label} shows another account's {leaked}")
        foreign_links = {
            k for k in linked_ids(world, text) if world.owner.get(k) not in (None, own)
        }
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
            bad = sorted(k for k in ids if world.owner.get(k) not in (None, own))
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
            bad = sorted(k for k in items if world.owner.get(k) not in (None, own))
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
    tickets = {world.titles[k] for k in both if k[0] == "ticket" and k in world.titles}
    listing = html.unescape(client.get("/tickets").text)
    world.check(all(t in listing for t in tickets), "agent: /tickets misses tickets")
    export = client.get("/_export/tickets/0.csv").text
    world.check(all(t in export for t in tickets), "agent: export misses tickets")
    offered = {item["title"] for item in client.get("/_ac/ticket?limit=20").json}
    world.check(tickets <= offered, f"agent: autocomplete misses {sorted(tickets - offered)}")
    for file_id, content in world.attachments.values():
        response = client.get(f"/_files/{file_id}")
        world.check(
            response.status_code == 200 and response.data == content, f"agent: file {file_id}"
        )
    for entity, rid in both:
        if web.compiled.policy.grants_for(actor, entity, "read"):
            status = client.get(f"/api/v1/{entity}/{rid}").status_code
            world.check(status == 200, f"agent: GET /api/v1/{entity}/{rid} → {status}")


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
        assert snapshot(world.web) == before, f"{email}'s walk changed the database"
    walk_as_agent(world)
    assert not world.failures, "\n".join(world.failures)
