"""ASVS 6.3.2: a fresh install has no usable default credentials (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from test_auth_support import PASSWORDS, serve

from portalis.engine.deploy.validator import Checker
from portalis.testing.smtp import SmtpServer


def test_asvs_6_3_2_no_default_credentials(
    database_url: str, tmp_path: Path, portalis_checker: Checker, smtp_server: SmtpServer
) -> None:
    with serve(database_url, tmp_path, portalis_checker, smtp_server, seed=False) as auth:
        assert auth.count("user") == 0  # deploy without --seed creates no user at all
        table = auth.portal.tables["user"]
        with auth.engine.connect() as conn:
            hashes = conn.execute(sa.select(table.c.password_hash)).all()
        assert hashes == []
        client = auth.client()
        for email, password in [*PASSWORDS.items(), ("admin@localhost", "admin")]:
            assert auth.login(client, email, password).status_code == 422, email
        assert not auth.signed_in(client)
        # the demo passwords exist only because --seed loads the demo data
        auth.smtp.clear()
    with serve(database_url, tmp_path / "seeded", portalis_checker, smtp_server) as seeded:
        assert seeded.count("user") == len(PASSWORDS)
        assert seeded.login(seeded.client(), "ben@acme.test").status_code == 303
