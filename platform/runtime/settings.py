"""Runtime settings from the environment (DESIGN §5 names).

`PORTALIS_WORKER` says who runs the outbox jobs (mail, webhooks, timers):

- `embedded` (default): a background thread in each application process — nothing else to
  run, fine for a single host or a few gunicorn workers;
- `external`: separate `portalis worker` processes (on PostgreSQL several share the queue);
  the application only enqueues;
- `off`: nobody in this process runs jobs (they wait in the outbox, e.g. for maintenance).

`PORTALIS_OUTBOUND_ALLOW` lists what outbound requests (webhooks) may reach besides https to
public addresses: networks, addresses and exact host names, comma or space separated
(`hooks.internal.example, 10.20.0.0/16`). Listed hosts and addresses may be private or
loopback and may use plain http; everything else is refused (SECURITY A.34,
`portalis.engine.outbox.outbound`). A bad entry stops the start with an error naming it.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from portalis.engine.outbox.outbound import OutboundPolicy

#: Accepted values of PORTALIS_WORKER (see the module docstring).
WORKER_MODES = ("embedded", "external", "off")


def instance_path(env: Mapping[str, str] | None = None) -> Path:
    """The instance folder (default ./instance): SQLite file, secret key, uploads."""
    env = os.environ if env is None else env
    return Path(env.get("PORTALIS_INSTANCE_PATH", "instance")).resolve()


def default_database_url(env: Mapping[str, str] | None = None) -> str:
    """PORTALIS_DATABASE_URL, else a SQLite file in the instance folder."""
    env = os.environ if env is None else env
    url = env.get("PORTALIS_DATABASE_URL")
    if url:
        return url
    path = instance_path(env)
    path.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{path / 'portalis.sqlite'}"


def _secret_key(path: Path, env: Mapping[str, str]) -> str:
    if env.get("PORTALIS_SECRET_KEY"):
        return env["PORTALIS_SECRET_KEY"]
    path.mkdir(parents=True, exist_ok=True)
    key_file = path / "secret_key"
    if not key_file.exists():
        # generated once and kept, so sessions survive restarts and all workers agree
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return key_file.read_text().strip()


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything the runtime reads from its environment."""

    database_url: str
    secret_key: str
    instance_path: Path
    redis_url: str | None = None
    smtp_url: str | None = None
    trusted_proxies: tuple[str, ...] = ()
    mail_from: str = "portal@localhost"
    #: Public base URL (https://portal.example.com, PORTALIS_BASE_URL): e-mailed links are
    #: built from it (or from a portal's `domains:`), never from the request's Host header,
    #: and its host name is one the server answers for. `portalis serve` requires it.
    base_url: str | None = None
    disabled_plugins: tuple[str, ...] = ()
    version_check_seconds: float = 1.0
    max_upload_bytes: int = 100 * 1024 * 1024
    testing: bool = False
    #: Trust loopback Host names (localhost, 127.0.0.1) and build links from them when no
    #: base URL is configured: set by `portalis run` bound on loopback (and implied by
    #: `testing`, whose test client sends `Host: localhost`).
    loopback_hosts: bool = False
    #: Who runs outbox jobs: `embedded`, `external` or `off` (PORTALIS_WORKER).
    worker: str = "embedded"
    #: Outbound allow-list (PORTALIS_OUTBOUND_ALLOW; see the module docstring).
    outbound_allow: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> Settings:
        """Settings from environment variables (`overrides` win)."""
        env = dict(os.environ if env is None else env)
        path = instance_path(env)
        values: dict[str, object] = {
            "database_url": default_database_url(env),
            "secret_key": _secret_key(path, env),
            "instance_path": path,
            "redis_url": env.get("PORTALIS_REDIS_URL") or None,
            "smtp_url": env.get("PORTALIS_SMTP_URL") or None,
            "trusted_proxies": tuple(
                p.strip() for p in env.get("PORTALIS_TRUSTED_PROXIES", "").split(",") if p.strip()
            ),
            "mail_from": env.get("PORTALIS_MAIL_FROM", "portal@localhost"),
            "base_url": env.get("PORTALIS_BASE_URL") or None,
            "disabled_plugins": tuple(
                p.strip() for p in env.get("PORTALIS_DISABLED_PLUGINS", "").split(",") if p.strip()
            ),
            "worker": env.get("PORTALIS_WORKER", "").strip().lower() or "embedded",
            "outbound_allow": env.get("PORTALIS_OUTBOUND_ALLOW", "").strip() or None,
            "env": env,
        }
        values.update(overrides)
        if values["worker"] not in WORKER_MODES:
            raise ValueError(
                f"PORTALIS_WORKER must be one of {', '.join(WORKER_MODES)}, not {values['worker']!r}"
            )
        allow = values["outbound_allow"]
        try:
            OutboundPolicy.parse(allow if isinstance(allow, str) else None)
        except ValueError as exc:
            raise ValueError(f"PORTALIS_OUTBOUND_ALLOW: {exc}") from None
        return cls(**values)  # type: ignore[arg-type]

    @property
    def trusts_loopback(self) -> bool:
        """Whether loopback Host names are served (the dev server on loopback, tests)."""
        return self.loopback_hosts or self.testing
