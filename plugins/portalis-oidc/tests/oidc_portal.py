"""The test portal: the b2c blueprint with an `oidc` provider entry and one more account."""

from __future__ import annotations

import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
import yaml

from portalis.api import CompiledPortal
from portalis.testing.inspection import audit_table as audit
from portalis.testing.inspection import find_user
from portalis.testing.portals import BLUEPRINTS

CLIENT_ID = "acme-portal"
CLIENT_SECRET = "s3cret-for-tests"
PROVIDER = "acme_id"
LABEL = "Acme ID"
#: the account new users of the e-mail domain initech.test are provisioned into
INITECH = "initech.test"

_PASSWORD = """    - type: password
      self_registration: false
      policy: {min_length: 12, max_age_days: 365, history: 5, lockout_after: 10}
"""


def oidc_entry(**overrides: Any) -> dict[str, Any]:
    """The provider entry the tests use (`overrides` replace or add options; None drops)."""
    entry: dict[str, Any] = {
        "type": "oidc",
        "name": PROVIDER,
        "label": LABEL,
        "issuer": "${OIDC_ISSUER}",
        "client_id": CLIENT_ID,
        "client_secret": "${OIDC_CLIENT_SECRET}",
        "scopes": ["email", "profile"],
        "roles_from": "groups",
        "role_map": {"portal-admins": "account_admin", "portal-users": "customer"},
        "allow_registration": True,
        "account_from": "email_domain",
        "account_match": "name",
    }
    entry.update(overrides)
    return {k: v for k, v in entry.items() if v is not None}


def definition(folder: Path, extra: Sequence[Mapping[str, Any]] = (), **overrides: Any) -> Path:
    """Copy the b2c blueprint to `folder` with the OIDC entry (and `extra` entries) after the
    password provider and an account named `initech.test` (for `account_from:
    email_domain`)."""
    shutil.copytree(BLUEPRINTS / "b2c", folder)
    root = folder / "portal.yaml"
    text = root.read_text(encoding="utf-8")
    assert _PASSWORD in text
    block = yaml.safe_dump(
        [oidc_entry(**overrides), *map(dict, extra)], default_flow_style=False, sort_keys=False
    )
    indented = "".join(f"    {line}\n" for line in block.splitlines())
    root.write_text(text.replace(_PASSWORD, _PASSWORD + indented), "utf-8")
    seed = folder / "seed" / "demo.yaml"
    marker = "  - {key: globex, name: Globex Ltd, customer_number: C-1002}\n"
    seed_text = seed.read_text(encoding="utf-8")
    assert marker in seed_text
    extra = f"  - {{key: initech, name: {INITECH}, customer_number: C-1003}}\n"
    seed_text = seed_text.replace(marker, marker + extra)
    # these users sign in through the provider: hashing their demo passwords (argon2) would
    # only slow every deployment down
    seed_text = re.sub(r', password: "[^"]*"', "", seed_text)
    seed.write_text(seed_text, "utf-8")
    return folder


def settings_env(issuer: str, **extra: str) -> dict[str, str]:
    """Settings variables: the issuer and secret, and loopback allowed for outbound calls."""
    return {
        "OIDC_ISSUER": issuer,
        "OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "PORTALIS_OUTBOUND_ALLOW": "127.0.0.1/32",
        **extra,
    }


def find(engine: sa.Engine, compiled: CompiledPortal, email: str) -> Mapping[str, Any] | None:
    """The portal user with `email` (roles, account, is_active), read from the database."""
    with engine.connect() as conn:
        return find_user(conn, compiled, email)


def auth_events(engine: sa.Engine, slug: str, action: str) -> list[dict[str, Any]]:
    """The `detail` of every audit entry `action` of the portal, oldest first."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(audit.c.detail, audit.c.actor_email)
            .where(audit.c.portal == slug, audit.c.action == action)
            .order_by(audit.c.id)
        ).all()
    return [{**(row.detail or {}), "email": row.actor_email} for row in rows]


def account_id(engine: sa.Engine, compiled: CompiledPortal, name: str) -> int:
    """The id of the account called `name`."""
    table = compiled.tables["account"]
    with engine.connect() as conn:
        return int(conn.execute(sa.select(table.c.id).where(table.c.name == name)).scalar_one())
