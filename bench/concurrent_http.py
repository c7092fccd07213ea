"""Benchmark: many signed-in customers on the tickets list page at once, over loopback HTTP.

`portalis serve` (gunicorn, `--workers` sync workers) on 127.0.0.1 serves the starter portal
(`blueprints/b2c`) over `--tickets` tickets; `--clients` customers, each of a different account
where there are enough, sign in through the login form and then request their first list page
(25 rows) as fast as the server answers, each on its own keep-alive connection, for
`--seconds`. Every answer must be a 200 that shows tickets; anything else (a redirect to the
login form, an error page, a socket error, a time-out) is counted as an error.

Reported: errors, requests/s, and the latency percentiles p50/p95/p99 of all requests. The
load comes from wrk (one thread per client) when it is installed, else from a thread per
client in this process (which then shares the CPUs, and the GIL, with the measuring: expect
lower figures). Nothing leaves 127.0.0.1; the server is stopped by the PID this script started.

    .venv/bin/python bench/concurrent_http.py                   # 50 clients x 60 s, PostgreSQL
    .venv/bin/python bench/concurrent_http.py --seconds 5       # a smoke run
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from harness import database_kinds, percentile
from list_page import SLUG, populate

from portalis.engine.accounts.passwords import hash_password
from portalis.engine.data.db import begin_write, create_engine
from portalis.engine.portal import CompiledPortal
from portalis.testing.portals import BLUEPRINTS, deploy_dir, installed_checker, migrate_db

PASSWORD = "bench-concurrency-password"
USER_AGENT = "portalis-bench/1"
LIST_PATH = f"/{SLUG}/tickets"
#: Every ticket subject of `populate` names a printer: a page that shows none shows no rows.
ROW_TEXT = "printer"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')
WRK_SCRIPT = """
-- one customer per thread: setup() numbers the threads, init() picks that customer's cookie
local threads, counter = {}, 0
function setup(thread)
  counter = counter + 1
  thread:set("id", counter)
  table.insert(threads, thread)
end
function init(args)
  wrk.headers["Cookie"] = args[id]
  wrk.headers["User-Agent"] = "%(agent)s"
  bad = 0
end
function response(status, headers, body)
  if status ~= 200 or not string.find(body, "%(row_text)s", 1, true) then bad = bad + 1 end
end
function done(summary, latency, requests)
  local n = 0
  for _, t in ipairs(threads) do n = n + t:get("bad") end
  local e = summary.errors
  io.write(string.format('BENCH_JSON {"requests": %%d, "duration_us": %%d, "p50_us": %%d, '
    .. '"p95_us": %%d, "p99_us": %%d, "bad": %%d, "socket_errors": %%d, "timeouts": %%d}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(95),
    latency:percentile(99), n, e.connect + e.read + e.write, e.timeout))
end
"""


# -- data -------------------------------------------------------------------------------
def customers(engine: sa.Engine, portal: CompiledPortal, count: int) -> list[str]:
    """`count` customers who can sign in with `PASSWORD`, one per account while accounts last
    (one password hash for all: sign-in is not what is measured); their e-mail addresses."""
    user_t, account_t = portal.tables["user"], portal.tables["account"]
    password_hash = hash_password(PASSWORD)
    now = datetime.now(UTC)  # a fresh password: no forced change at sign-in
    with begin_write(engine) as conn:
        accounts = [r[0] for r in conn.execute(sa.select(account_t.c.id).order_by(account_t.c.id))]
        template = dict(conn.execute(sa.select(user_t).limit(1)).mappings().one())
        del template["id"]
        emails = [f"customer{i:03d}@bench.test" for i in range(count)]
        conn.execute(
            user_t.insert(),
            [
                {**template, "email": email, "name": f"Customer {i:03d}",
                 "account": accounts[i % len(accounts)], "password_hash": password_hash,
                 "password_changed_at": now}
                for i, email in enumerate(emails)
            ],
        )  # fmt: skip
    return emails


# -- the server -------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """`portalis serve` on 127.0.0.1 (a free port), stopped by its PID on exit."""

    def __init__(self, url: str, instance: Path, workers: int) -> None:
        self.port = free_port()
        self.env = {
            **os.environ,
            "PORTALIS_DATABASE_URL": url,
            "PORTALIS_BASE_URL": f"http://127.0.0.1:{self.port}",
            "PORTALIS_INSTANCE_PATH": str(instance),
            "PORTALIS_SECRET_KEY": "bench-concurrency-secret",
            "PORTALIS_WORKER": "off",  # the page, not an outbox thread polling next to it
        }
        cli = Path(sys.executable).with_name("portalis")
        self.cmd = [str(cli), "serve", "--bind", f"127.0.0.1:{self.port}",
                    "--workers", str(workers), "--timeout", "60"]  # fmt: skip
        self.log = instance / "serve.log"

    def __enter__(self) -> Server:
        with open(self.log, "wb") as log:  # the access log: one line per request
            self.proc = subprocess.Popen(self.cmd, env=self.env, stdout=log, stderr=log)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"portalis serve exited ({self.proc.returncode}): see {self.log}"
                )
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/_health")
                conn.getresponse().read()
                conn.close()
                return self
            except OSError:
                time.sleep(0.3)
        self.__exit__()
        raise RuntimeError(f"portalis serve not answering after 60 s: see {self.log}")

    def __exit__(self, *exc: object) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()  # the gunicorn master this script started stops its workers
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=10)


def sign_in(port: int, email: str) -> str:
    """The Cookie header of a customer signed in through the login form (CSRF included)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    login = f"/{SLUG}/login"
    conn.request("GET", login, headers={"User-Agent": USER_AGENT})
    page = conn.getresponse()
    body = page.read().decode()
    cookies = dict(_cookies(page))
    token = CSRF_RE.search(body)
    form = {"email": email, "password": PASSWORD, "csrf_token": token.group(1) if token else ""}
    conn.request(
        "POST", login, body=urlencode(form),
        headers={"User-Agent": USER_AGENT, "Content-Type": "application/x-www-form-urlencoded",
                 "Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
    )  # fmt: skip
    answer = conn.getresponse()
    answer.read()
    conn.close()
    if answer.status not in (302, 303):
        raise RuntimeError(f"sign-in of {email} answered {answer.status}, not a redirect")
    cookies.update(_cookies(answer))
    return "; ".join(f"{k}={v}" for k, v in cookies.items())


def _cookies(response: http.client.HTTPResponse) -> list[tuple[str, str]]:
    pairs = []
    for header in response.headers.get_all("Set-Cookie") or []:
        name, _, rest = header.partition("=")
        pairs.append((name.strip(), rest.split(";", 1)[0]))
    return pairs


# -- load -------------------------------------------------------------------------------
def load_wrk(port: int, cookies: list[str], seconds: int, tmp: Path) -> dict[str, Any]:
    script = tmp / "list_page.lua"
    script.write_text(WRK_SCRIPT % {"agent": USER_AGENT, "row_text": ROW_TEXT}, encoding="utf-8")
    n = len(cookies)
    cmd = ["wrk", f"-t{n}", f"-c{n}", f"-d{seconds}s", "--timeout", "10s", "-s", str(script),
           f"http://127.0.0.1:{port}{LIST_PATH}", "--", *cookies]  # fmt: skip
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 60)
    lines = [x for x in done.stdout.splitlines() if x.startswith("BENCH_JSON ")]
    if not lines:
        raise RuntimeError(f"wrk gave no result: {done.stdout[-400:]} {done.stderr[-400:]}")
    raw = json.loads(lines[0][len("BENCH_JSON ") :])
    return {
        "tool": f"wrk -t{n} -c{n}",
        "requests": raw["requests"],
        "seconds": raw["duration_us"] / 1e6,
        "errors": raw["bad"] + raw["socket_errors"] + raw["timeouts"],
        "p50_ms": raw["p50_us"] / 1000,
        "p95_ms": raw["p95_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
    }


def load_python(port: int, cookies: list[str], seconds: int) -> dict[str, Any]:
    samples: list[float] = []
    errors: Counter[str] = Counter()
    lock = threading.Lock()
    start = time.perf_counter()
    deadline = start + seconds

    def client(cookie: str) -> None:
        headers = {"Cookie": cookie, "User-Agent": USER_AGENT}
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        mine: list[float] = []
        bad: Counter[str] = Counter()
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                conn.request("GET", LIST_PATH, headers=headers)
                answer = conn.getresponse()
                body = answer.read()
            except (OSError, http.client.HTTPException):
                bad["socket"] += 1
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
                continue
            mine.append(time.perf_counter() - began)
            if answer.status != 200 or ROW_TEXT.encode() not in body:
                bad["page"] += 1
        conn.close()
        with lock:
            samples.extend(mine)
            errors.update(bad)

    threads = [threading.Thread(target=client, args=(c,)) for c in cookies]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - start
    return {
        "tool": f"Python, {len(cookies)} threads",
        "requests": len(samples),
        "seconds": elapsed,
        "errors": sum(errors.values()),
        "p50_ms": percentile(samples, 50),
        "p95_ms": percentile(samples, 95),
        "p99_ms": percentile(samples, 99),
    }


# -- the run ----------------------------------------------------------------------------
def run(args: argparse.Namespace, kind: str, tmp: Path) -> dict[str, Any]:
    from harness import database

    with database(kind, tmp) as url:
        engine = create_engine(url)
        portal = deploy_dir(engine, installed_checker(), BLUEPRINTS / "b2c", seed=False)
        populate(engine, portal, args.tickets, args.accounts)
        emails = customers(engine, portal, args.clients)
        engine.dispose()
        migrate_db(url)  # as `portalis deploy` does: servers create no tables
        with Server(url, tmp, args.workers) as server:
            cookies = [sign_in(server.port, email) for email in emails]
            use_wrk = args.tool == "wrk" or (args.tool == "auto" and shutil.which("wrk"))
            if use_wrk:
                result = load_wrk(server.port, cookies, args.seconds, tmp)
            else:
                result = load_python(server.port, cookies, args.seconds)
    result["rps"] = result["requests"] / result["seconds"]
    return {"database": kind, "clients": args.clients, "workers": args.workers, **result}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--tickets", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=100)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="postgresql")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    kinds = database_kinds(args.db)
    if not kinds:
        raise SystemExit("PostgreSQL is not reachable")
    with tempfile.TemporaryDirectory() as tmp:
        result = run(args, kinds[0], Path(tmp))
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(
        f"tickets list page over HTTP: {result['clients']} signed-in customers x "
        f"{args.seconds} s, portalis serve with {result['workers']} workers, "
        f"{result['database']}, {args.tickets:,} tickets ({result['tool']})\n"
        f"  {result['requests']:,} requests, {result['errors']} errors, "
        f"{result['rps']:.1f} req/s, p50 {result['p50_ms']:.1f} ms, "
        f"p95 {result['p95_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms"
    )


if __name__ == "__main__":
    main()
