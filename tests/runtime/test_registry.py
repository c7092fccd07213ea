"""Compile once, serve many: versions are swapped without restarts, hosts route to portals."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.deploy.versions import deploy
from portalis.runtime.app import create_app
from portalis.runtime.context import state
from portalis.runtime.settings import Settings
from portalis.testing.portals import BLUEPRINTS, migrate_db


def b2c() -> Bundle:
    bundle, _ = read_bundle(BLUEPRINTS / "b2c")
    return bundle


def make_app(url: str, tmp_path: Path, seconds: float):
    settings = Settings.from_env(
        {"PORTALIS_DATABASE_URL": url, "PORTALIS_INSTANCE_PATH": str(tmp_path)},
        testing=True,
        version_check_seconds=seconds,
    )
    migrate_db(url)  # as `portalis deploy` does: apps create no tables
    return create_app(settings)


def test_new_version_is_picked_up_without_restart(
    db_engine, database_url, portalis_checker, tmp_path
) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    worker_a = make_app(database_url, tmp_path, 0.2)
    worker_b = make_app(database_url, tmp_path, 0.2)  # a second worker process, same database
    home = "/acme-support/"
    for app in (worker_a, worker_b):
        assert "How can we help?" in app.test_client().get(home).get_data(as_text=True)

    changed = (
        b2c().files["pages/public.yaml"].replace("# How can we help?", "# We are here for you", 1)
    )
    deploy(
        db_engine, portalis_checker, Bundle.of({**b2c().files, "pages/public.yaml": changed}), {}
    )
    time.sleep(0.3)
    for app in (worker_a, worker_b):
        body = app.test_client().get(home).get_data(as_text=True)
        assert "We are here for you" in body
        with app.app_context():
            registry = state().registry
            assert registry.get("acme-support").version == 2
            assert registry.compiles == 2  # v1 once, v2 once: never per request


def test_requests_do_not_recompile(db_engine, database_url, portalis_checker, tmp_path) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    app = make_app(database_url, tmp_path, 0)
    client = app.test_client()
    for _ in range(5):
        assert client.get("/acme-support/").status_code == 200
    with app.app_context():
        assert state().registry.compiles == 1


def test_host_name_routing(db_engine, database_url, portalis_checker, tmp_path) -> None:
    files = dict(b2c().files)
    files["portal.yaml"] = files["portal.yaml"].replace(
        "currency: EUR\n", "currency: EUR\ndomains: [support.acme.test]\n", 1
    )
    deploy(db_engine, portalis_checker, Bundle.of(files), {}, seed=True)
    client = make_app(database_url, tmp_path, 0).test_client()
    by_host = client.get("/tickets", headers={"Host": "support.acme.test"})
    assert by_host.status_code == 302 and by_host.headers["Location"].startswith("/login")
    assert "How can we help?" in client.get("/", headers={"Host": "support.acme.test"}).get_data(
        as_text=True
    )
    assert client.get("/acme-support/", headers={"Host": "localhost"}).status_code == 200


def test_broken_new_version_keeps_serving_the_old_one(
    db_engine, database_url, portalis_checker, tmp_path, monkeypatch
) -> None:
    deploy(db_engine, portalis_checker, b2c(), {}, seed=True)
    app = make_app(database_url, tmp_path, 0)
    client = app.test_client()
    assert client.get("/acme-support/").status_code == 200
    files = dict(b2c().files)
    files["portal.yaml"] = files["portal.yaml"].replace(
        "title: {en: Acme Support", "title: {en: Acme Help", 1
    )
    deploy(db_engine, portalis_checker, Bundle.of(files), {})
    with app.app_context():
        registry = state().registry

        def broken(slug: str):
            raise RuntimeError("this worker cannot compile v2")

        monkeypatch.setattr(registry, "_build", broken)
        registry.refresh(force=True)
        assert registry.get("acme-support").version == 1
    assert client.get("/acme-support/").status_code == 200
    ready = client.get("/_ready")
    assert ready.status_code == 200 and ready.json["status"] == "degraded"
    assert ready.json["failed"] == {"acme-support": 2}


@pytest.mark.parametrize("path", ["/_health", "/_ready"])
def test_health_endpoints(database_url, tmp_path, path: str) -> None:
    client = make_app(database_url, tmp_path, 0).test_client()
    response = client.get(path)
    assert response.status_code == 200
    assert response.json["status"] == "ok"
