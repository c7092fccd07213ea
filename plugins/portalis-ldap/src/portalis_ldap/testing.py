"""A real OpenLDAP directory for tests: `slapd` in a temp folder on a free loopback port.

`running_slapd(folder)` writes an old-style `slapd.conf` (mdb backend, the `memberof` overlay
so `memberOf` works, StartTLS and ldaps with a throw-away CA), loads `DIRECTORY_LDIF` (users
with hashed passwords, `groupOfNames` and `groupOfUniqueNames` groups, a service account)
and stops slapd at the end. The session-scoped pytest fixture `slapd_directory` starts one
for a whole test run; import it into your `conftest.py`:

    from portalis_ldap.testing import slapd_directory  # noqa: F401 - the fixture

Without slapd (Debian packages `slapd` and `ldap-utils`) the fixture skips, or fails under
`CI=true` (`portalis.testing.pytest_plugin.require_service`). slapd runs with `-d stats`,
so `Directory.connections()` / `binds()` count what reached the server (its access log).
"""

from __future__ import annotations

import base64
import ctypes
import hashlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import ldap3
import pytest

from portalis.testing.pytest_plugin import require_service

from .testing_certs import TlsFiles, make_tls_files

SLAPD = "/usr/sbin/slapd"
SLAPADD = "/usr/sbin/slapadd"
MODULE_PATH = "/usr/lib/ldap"
SCHEMA_PATH = "/etc/ldap/schema"
HOST = "127.0.0.1"
#: prctl option: the signal a process gets when its parent dies
PR_SET_PDEATHSIG = 1
BASE_DN = "dc=example,dc=org"
ROOT_DN = f"cn=admin,{BASE_DN}"
ROOT_PASSWORD = "root-secret-for-tests"
SERVICE_DN = f"cn=portal-service,ou=services,{BASE_DN}"
SERVICE_PASSWORD = "service-secret-for-tests"

#: uid → (password, cn, mail, departmentNumber); all live under ou=people
USERS: dict[str, tuple[str, str, str, str]] = {
    "alice": ("alice directory 1", "Alice Archer", "alice@acme.test", "C-1001"),
    "bob": ("bob directory 2", "Bob Brown", "bob@globex.test", "C-1002"),
    "carol": ("carol directory 3", "Carol Cruz", "carol@support.test", "S-1"),
    "admin": ("admin directory 4", "Directory Admin", "admin@example.org", "X-1"),
    "twin1": ("twin directory 5", "Pat Twin", "pat1@acme.test", "C-1001"),
    "twin2": ("twin directory 6", "Pat Twin", "pat2@acme.test", "C-1001"),
    # the b2c blueprint seeds a user with this address (linking tests)
    "nina": ("nina directory 7", "Nina Novak", "nina@globex.test", "C-1002"),
}
#: group cn → member uids; groupOfNames (tracked by memberOf)
GROUPS: dict[str, tuple[str, ...]] = {
    "account-admins": ("alice",),
    "customers": ("alice", "bob", "nina"),
    "agents": ("carol",),
}
#: group cn → member uids; groupOfUniqueNames (not in memberOf: found by a group search only)
UNIQUE_GROUPS: dict[str, tuple[str, ...]] = {"auditors": ("bob",)}


def user_dn(uid: str) -> str:
    """The DN of a test user."""
    return f"uid={uid},ou=people,{BASE_DN}"


def group_dn(cn: str) -> str:
    """The DN of a test group."""
    return f"cn={cn},ou=groups,{BASE_DN}"


def ssha(password: str) -> str:
    """An OpenLDAP `{SSHA}` password hash (what directories commonly store)."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt).digest()  # noqa: S324 - LDAP's format
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


def _base_ldif() -> str:
    # loaded offline with slapadd: the suffix and the containers
    return "\n".join(
        [
            f"dn: {BASE_DN}\nobjectClass: dcObject\nobjectClass: organization\n"
            "dc: example\no: Example\n",
            *(
                f"dn: ou={ou},{BASE_DN}\nobjectClass: organizationalUnit\nou: {ou}\n"
                for ou in ("people", "groups", "services")
            ),
        ]
    )


def directory_ldif() -> str:
    """Users, service account and groups (added online so the memberof overlay sees them)."""
    blocks = [
        f"dn: {SERVICE_DN}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\n"
        f"cn: portal-service\nuserPassword: {ssha(SERVICE_PASSWORD)}\n"
    ]
    for uid, (password, cn, mail, department) in USERS.items():
        blocks.append(
            f"dn: {user_dn(uid)}\nobjectClass: inetOrgPerson\nuid: {uid}\ncn: {cn}\n"
            f"sn: {cn.split()[-1]}\nmail: {mail}\ndepartmentNumber: {department}\n"
            f"userPassword: {ssha(password)}\n"
        )
    for cn, members in GROUPS.items():
        lines = "".join(f"member: {user_dn(m)}\n" for m in members)
        blocks.append(f"dn: {group_dn(cn)}\nobjectClass: groupOfNames\ncn: {cn}\n{lines}")
    for cn, members in UNIQUE_GROUPS.items():
        lines = "".join(f"uniqueMember: {user_dn(m)}\n" for m in members)
        blocks.append(f"dn: {group_dn(cn)}\nobjectClass: groupOfUniqueNames\ncn: {cn}\n{lines}")
    return "\n".join(blocks)


def slapd_conf(folder: Path, tls: TlsFiles) -> str:
    """An old-style slapd.conf for a directory kept in `folder`."""
    schemas = "".join(
        f"include {SCHEMA_PATH}/{name}.schema\n"
        for name in ("core", "cosine", "inetorgperson", "nis")
    )
    return f"""{schemas}
modulepath {MODULE_PATH}
moduleload back_mdb
moduleload memberof
pidfile {folder}/slapd.pid
argsfile {folder}/slapd.args
TLSCACertificateFile {tls.ca_file}
TLSCertificateFile {tls.cert_file}
TLSCertificateKeyFile {tls.key_file}

database mdb
maxsize 16777216
suffix "{BASE_DN}"
rootdn "{ROOT_DN}"
rootpw {ROOT_PASSWORD}
directory {folder}/db
index objectClass eq
index uid,cn,mail eq
index member,uniqueMember eq
overlay memberof

access to attrs=userPassword
  by anonymous auth
  by self auth
  by * none
access to *
  by users read
  by * none
"""


def slapd_unavailable() -> str | None:
    """Why slapd cannot run here, or None."""
    for tool in (SLAPD, SLAPADD):
        if not os.access(tool, os.X_OK):
            return f"{tool} is not installed (Debian package slapd)"
    if not Path(MODULE_PATH, "back_mdb.la").exists():
        return f"the OpenLDAP modules are not in {MODULE_PATH}"
    if shutil.which("ldapadd") is None:
        return "ldapadd is not installed (Debian package ldap-utils)"
    return None


def free_port() -> int:
    """A TCP port nobody listens on right now (on the loopback interface)."""
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


@dataclass(frozen=True, slots=True)
class Directory:
    """A running test directory."""

    port: int
    tls_port: int
    folder: Path
    tls: TlsFiles
    log_file: Path

    @property
    def url(self) -> str:
        """The plain (StartTLS-capable) URL."""
        return f"ldap://{HOST}:{self.port}"

    @property
    def ldaps_url(self) -> str:
        """The ldaps:// URL (TLS from the first byte)."""
        return f"ldaps://{HOST}:{self.tls_port}"

    @property
    def ca_file(self) -> Path:
        """The CA certificate that verifies the server certificate."""
        return self.tls.ca_file

    def admin(self) -> ldap3.Connection:
        """A connection bound as the root DN (close it with `.unbind()`)."""
        server = ldap3.Server(HOST, port=self.port, connect_timeout=5)
        return ldap3.Connection(server, ROOT_DN, ROOT_PASSWORD, auto_bind=True)

    def set_members(self, group: str, uids: tuple[str, ...], *, unique: bool = False) -> None:
        """Replace a group's members (the memberof overlay updates memberOf)."""
        attribute = "uniqueMember" if unique else "member"
        conn = self.admin()
        try:
            values = [user_dn(u) for u in uids]
            ok = conn.modify(group_dn(group), {attribute: [(ldap3.MODIFY_REPLACE, values)]})
            assert ok, conn.result
        finally:
            conn.unbind()

    def log(self) -> str:
        """slapd's access log (`-d stats`) so far."""
        return self.log_file.read_text(encoding="utf-8", errors="replace")

    def connections(self) -> int:
        """How many connections slapd accepted so far."""
        return self.log().count(" ACCEPT from ")

    def binds(self, dn: str | None = None) -> int:
        """How many bind requests slapd received so far (for `dn` only when given)."""
        lines = [line for line in self.log().splitlines() if " BIND dn=" in line]
        if dn is not None:
            lines = [line for line in lines if f'BIND dn="{dn}"'.lower() in line.lower()]
        return len(lines)


def _wait_listening(port: int, proc: subprocess.Popen[bytes], deadline: float) -> None:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"slapd exited with status {proc.returncode}")
        try:
            with socket.create_connection((HOST, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"slapd did not listen on {HOST}:{port}")


def _die_with_parent() -> None:
    # runs in the child before exec: slapd gets SIGTERM when the test process dies, so a
    # killed test run leaves no directory behind (Linux; elsewhere teardown alone stops it)
    if sys.platform == "linux":
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


def _run(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, timeout=30, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stderr.strip()}")


@contextmanager
def running_slapd(folder: Path) -> Iterator[Directory]:
    """Start slapd with the test directory in `folder`; stop it when the block ends."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "db").mkdir()
    tls = make_tls_files(folder / "tls")
    conf = folder / "slapd.conf"
    conf.write_text(slapd_conf(folder, tls), encoding="utf-8")
    base = folder / "base.ldif"
    base.write_text(_base_ldif(), encoding="utf-8")
    _run([SLAPADD, "-f", str(conf), "-l", str(base)], "slapadd")
    port, tls_port = free_port(), free_port()
    log_file = folder / "access.log"
    urls = f"ldap://{HOST}:{port}/ ldaps://{HOST}:{tls_port}/"
    with log_file.open("wb") as log:
        # -d keeps slapd in the foreground (so it is our child to stop) and logs to stderr
        proc = subprocess.Popen(
            [SLAPD, "-f", str(conf), "-h", urls, "-d", "stats"],
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=_die_with_parent,  # noqa: PLW1509 - only a prctl call
        )
    try:
        deadline = time.monotonic() + 15
        _wait_listening(port, proc, deadline)
        _wait_listening(tls_port, proc, deadline)
        data = folder / "directory.ldif"
        data.write_text(directory_ldif(), encoding="utf-8")
        _run(
            ["ldapadd", "-x", "-H", f"ldap://{HOST}:{port}", "-D", ROOT_DN, "-w", ROOT_PASSWORD,
             "-f", str(data)],
            "ldapadd",
        )  # fmt: skip
        yield Directory(port, tls_port, folder, tls, log_file)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def slapd_directory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Directory]:
    """One running test directory for the whole session (see the module docstring)."""
    require_service(slapd_unavailable())
    with running_slapd(tmp_path_factory.mktemp("slapd")) as directory:
        yield directory


def main() -> None:
    """`python -m portalis_ldap.testing [FOLDER]`: run the test directory until Ctrl-C (for
    trying the plugin locally); prints the URLs, the CA file and the users."""
    import tempfile

    # `kill` (SIGTERM) stops the directory as cleanly as Ctrl-C
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))

    reason = slapd_unavailable()
    if reason is not None:
        raise SystemExit(reason)
    folder = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="slapd-"))
    with running_slapd(folder / "slapd") as directory:
        print(f"url:      {directory.url}  (StartTLS available)")
        print(f"ldaps:    {directory.ldaps_url}")
        print(f"ca_file:  {directory.ca_file}")
        print(f"service:  {SERVICE_DN}  password: {SERVICE_PASSWORD}")
        for uid, (password, cn, mail, _) in USERS.items():
            print(f"user:     {uid:6} password: {password!r:22} {cn} <{mail}>")
        print("groups:   " + ", ".join([*GROUPS, *UNIQUE_GROUPS]) + f" (ou=groups,{BASE_DN})")
        print("Ctrl-C stops the directory.", flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            pass


if __name__ == "__main__":
    main()
