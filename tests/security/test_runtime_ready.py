"""R9-style readiness: `/_ready` reports the database; a database outage is a fast 503.

The app reaches PostgreSQL through a small TCP relay on 127.0.0.1 that the test can cut:
while it is down, `/_ready` and the API answer 503 with `Retry-After` within 2 s (never a 500
or a hang); once it is back, the same app (no restart) recovers within 5 s. Signed-in page
requests during the outage get the same 503 page (the error page does not ask the database
who is signed in).
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from test_runtime_support import deploy

from portalis.runtime.app import create_app
from portalis.runtime.settings import Settings
from portalis.testing.portals import migrate_db
from portalis.testing.web import WebPortal


class Relay:
    """A TCP relay 127.0.0.1:<port> → target that can be switched off and on again."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self._server: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self.up()

    def up(self) -> None:
        server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(16)
        self.port = server.getsockname()[1]
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        """Refuse new connections and cut every open one."""
        server, self._server = self._server, None
        if server is not None:
            try:
                server.shutdown(socket.SHUT_RDWR)  # wakes the thread blocked in accept()
            except OSError:
                pass
            server.close()
        with self._lock:
            for sock in self._sockets:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                sock.close()
            self._sockets.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target, timeout=3)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.close()
                except OSError:
                    pass


@pytest.fixture
def relayed(postgres_url_fixture: str, tmp_path: Path) -> Iterator[tuple[WebPortal, Relay, str]]:
    direct = make_url(postgres_url_fixture)
    relay = Relay(direct.host or "127.0.0.1", direct.port or 5432)
    url = direct.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    web = deploy(url, tmp_path / "instance")
    try:
        yield web, relay, url
    finally:
        relay.down()
        web.close()


def timed_get(client: object, path: str, **kwargs: object) -> tuple[object, float]:
    start = time.monotonic()
    response = client.get(path, **kwargs)  # type: ignore[attr-defined]
    return response, time.monotonic() - start


def test_ready_reports_database(relayed: tuple[WebPortal, Relay, str]) -> None:
    web, relay, _ = relayed
    client = web.app.test_client()
    ben = web.client("ben@acme.test")
    ready = client.get("/_ready")
    assert ready.status_code == 200
    assert ready.json == {"status": "ok", "portals": ["acme-support"]}
    assert client.get("/_health").json == {"status": "ok"}
    assert ben.get("/tickets").status_code == 200

    relay.down()
    response, seconds = timed_get(client, "/_ready")
    assert response.status_code == 503 and seconds < 2  # type: ignore[attr-defined]
    assert int(response.headers["Retry-After"]) > 0  # type: ignore[attr-defined]
    assert response.json == {"status": "unavailable"}  # type: ignore[attr-defined]
    api, seconds = timed_get(ben.client, "/acme-support/api/v1/ticket")
    assert api.status_code == 503 and seconds < 2  # type: ignore[attr-defined]
    assert api.mimetype == "application/problem+json"  # type: ignore[attr-defined]
    assert int(api.headers["Retry-After"]) > 0  # type: ignore[attr-defined]
    assert "Traceback" not in api.get_data(as_text=True)  # type: ignore[attr-defined]
    assert client.get("/_health").status_code == 200  # liveness does not need the database

    relay.up()
    deadline = time.monotonic() + 5
    while client.get("/_ready").status_code != 200:
        assert time.monotonic() < deadline, "no recovery within 5 s"
        time.sleep(0.1)
    assert ben.get("/tickets").status_code == 200  # the same app, same session: no restart


def test_r9_signed_in_page_during_outage_is_503(relayed: tuple[WebPortal, Relay, str]) -> None:
    web, relay, _ = relayed
    web.app.config["PROPAGATE_EXCEPTIONS"] = False  # as in production
    ben = web.client("ben@acme.test")
    assert ben.get("/tickets").status_code == 200
    relay.down()
    response, seconds = timed_get(ben.client, "/acme-support/tickets")
    assert response.status_code == 503 and seconds < 2  # type: ignore[attr-defined]
    assert int(response.headers["Retry-After"]) > 0  # type: ignore[attr-defined]


def test_ready_with_unreachable_database_url(sqlite_url: str, tmp_path: Path) -> None:
    """An app whose database goes away (file deleted, folder gone) reports 503, not 500."""
    folder = tmp_path / "db"
    folder.mkdir()
    url = f"sqlite:///{folder / 'portal.sqlite'}"
    web = deploy(url, tmp_path / "instance")
    try:
        client = web.app.test_client()
        assert client.get("/_ready").status_code == 200
        web.engine.dispose()
        for path in folder.iterdir():
            path.unlink()
        folder.rmdir()  # SQLite cannot even create a new file now
        response = client.get("/_ready")
        assert response.status_code == 503
        assert response.headers["Retry-After"] == "5"
        assert response.json == {"status": "unavailable"}
    finally:
        web.close()
    settings = Settings.from_env(
        {"PORTALIS_DATABASE_URL": sqlite_url, "PORTALIS_INSTANCE_PATH": str(tmp_path / "i2")},
        testing=True,
        version_check_seconds=0,
    )
    migrate_db(sqlite_url)  # as `portalis deploy` does: apps create no tables
    fresh = create_app(settings)  # an empty database: ready, serving no portal yet
    try:
        assert fresh.test_client().get("/_ready").json == {"status": "ok", "portals": []}
    finally:
        fresh.extensions["portalis"].engine.dispose()
