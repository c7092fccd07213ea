"""What a test looks at behind the public API: the platform's own tables, the audit log and
user rows (test support only — a plugin's product code uses `portalis.api` and
`portalis.web`, never these)."""

from __future__ import annotations

from portalis.engine.accounts.users import find_user, set_active
from portalis.engine.data.audit import export as export_audit
from portalis.engine.data.db import create_engine
from portalis.engine.data.system_tables import audit as audit_table
from portalis.runtime.runtime_tables import identities, login_attempts, sessions, tokens

__all__ = [
    "audit_table",
    "create_engine",
    "export_audit",
    "find_user",
    "identities",
    "login_attempts",
    "sessions",
    "set_active",
    "tokens",
]
