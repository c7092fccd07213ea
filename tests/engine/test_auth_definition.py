"""The `auth:` section is validated with precise problems: roles, provider entries, secrets."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from portalis.api import DefinitionSection
from portalis.engine.deploy.validator import Checker
from portalis.engine.plugins import hookimpl
from portalis.engine.problems import Problem
from portalis.testing import portals
from portalis.testing.portals import b2c_with

PASSWORD = (
    "    - type: password\n"
    "      self_registration: false\n"
    "      policy: {min_length: 12, max_age_days: 365, history: 5, lockout_after: 10}\n"
)


def check(
    tmp_path: Path, checker: Checker, providers: str, extra: str = "", **env: str
) -> list[Problem]:
    """Check the b2c blueprint with `providers` appended to auth.providers (and `extra`
    lines under auth:)."""
    # without the starter's invoices: some checkers here know exactly their plugins
    folder = b2c_with(tmp_path / "portal", invoices=False)
    root = folder / "portal.yaml"
    text = root.read_text(encoding="utf-8")
    assert PASSWORD in text
    text = text.replace(PASSWORD, PASSWORD + providers)
    if extra:
        # the blueprint's own auth settings give way to the ones under test
        lines = [
            line
            for line in text.splitlines(keepends=True)
            if not any(line.startswith(e.split(":")[0] + ":") for e in extra.splitlines())
        ]
        text = "".join(lines).replace(PASSWORD + providers, PASSWORD + providers + extra)
    root.write_text(text, encoding="utf-8")
    return checker.check_dir(folder, env).report.problems


def codes(problems: list[Problem]) -> list[tuple[str, str]]:
    return [(p.code, p.message) for p in problems if p.severity.name == "ERROR"]


def test_env_secrets_and_a_complete_oidc_entry_are_valid(
    tmp_path: Path, portalis_checker: Any
) -> None:
    providers = (
        '    - {type: oidc, name: corporate, issuer: "${OIDC_ISSUER}", client_id: portal,\n'
        '       client_secret: "${OIDC_SECRET}", roles_from: groups,\n'
        "       role_map: {portal-agents: agent}, default_roles: [customer],\n"
        "       account_from: email_domain, allow_registration: true}\n"
    )
    problems = check(tmp_path, portalis_checker, providers, OIDC_ISSUER="https://id.example.org",
                     OIDC_SECRET="s3cret")  # fmt: skip
    assert codes(problems) == []


def test_a_secret_written_into_the_definition_is_refused_with_its_position(
    tmp_path: Path, portalis_checker: Any
) -> None:
    providers = (
        "    - {type: oidc, name: corporate, issuer: https://id.example.org, client_id: portal,\n"
        "       client_secret: hunter2}\n"
    )
    problems = check(tmp_path, portalis_checker, providers)
    found = [p for p in problems if p.code == "secret-literal"]
    assert len(found) == 1
    problem = found[0]
    assert problem.file == "portal.yaml"
    assert problem.path == ("auth", "providers", 1, "client_secret")
    assert problem.line > 1 and problem.col > 1
    assert "${CLIENT_SECRET}" in problem.hint


def test_roles_of_auth_settings_must_exist(tmp_path: Path, portalis_checker: Any) -> None:
    providers = (
        "    - {type: oidc, name: corporate, issuer: https://id.example.org, client_id: portal,\n"
        "       role_map: {g: agnet}, default_roles: [custmer]}\n"
    )
    extra = "  admin_roles: [admn]\n  two_factor: {required_for: [agent]}\n"
    problems = check(tmp_path, portalis_checker, providers, extra)
    unknown = sorted(m for c, m in codes(problems) if c == "ref-unknown-role")
    assert unknown == ["unknown role 'admn'", "unknown role 'agnet'", "unknown role 'custmer'"]
    hints = [p.hint for p in problems if p.code == "ref-unknown-role"]
    assert any("did you mean 'agent'" in h for h in hints)


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        (
            '{type: ldap, name: dir, url: "ldap://127.0.0.1"}',
            "an LDAP provider needs bind_dn_template, or user_search_base and user_filter",
        ),
        (
            '{type: ldap, name: dir, url: "ldap://127.0.0.1", bind_dn_template: "uid=x,dc=o"}',
            "bind_dn_template must contain {username}",
        ),
        (
            '{type: ldap, name: dir, url: "http://127.0.0.1", bind_dn_template: "uid={username}"}',
            "LDAP url 'http://127.0.0.1' must be ldap://host[:port] or ldaps://host[:port]",
        ),
        (
            '{type: ldap, name: dir, url: "ldaps://d", start_tls: true, bind_dn_template: "uid={username}"}',
            "start_tls upgrades ldap:// connections; an ldaps:// URL is already encrypted",
        ),
        (
            '{type: ldap, name: dir, url: "ldap://d", bind_dn_template: "uid={username}", user_search_base: "dc=o", user_filter: "(uid={username})"}',
            "use either bind_dn_template (direct bind) or user_search_base/user_filter (search then bind), not both",
        ),
        (
            '{type: ldap, name: dir, url: "ldap://d", user_search_base: "dc=o", user_filter: "(uid=x)"}',
            "user_filter must contain {username}",
        ),
        (
            '{type: ldap, name: dir, url: "ldap://d", bind_dn: "cn=svc", user_search_base: "dc=o", user_filter: "(uid={username})"}',
            "a service account (bind_dn) needs bind_password",
        ),
        (
            '{type: oidc, name: sso, issuer: "https://i", client_id: c, account_from: organisation}',
            "account_from 'organisation' is not claim:<name>, attribute:<name> or email_domain",
        ),
        (
            '{type: oidc, name: sso, issuer: "https://i", client_id: c, account_from: email_domain, account_match: domian}',
            "account has no field 'domian'",
        ),
        ("{type: password}", "a portal has at most one password provider"),
    ],
)
def test_provider_entries_are_checked(
    tmp_path: Path, portalis_checker: Any, entry: str, message: str
) -> None:
    problems = check(tmp_path, portalis_checker, f"    - {entry}\n")
    assert message in [m for _, m in codes(problems)]
    located = next(p for p in problems if p.message == message)
    assert located.file == "portal.yaml" and located.path[:3] == ("auth", "providers", 1)


#: A provider type's definition section from a third-party plugin: its options and secret.
MAGIC_LINK = DefinitionSection(
    "provider",
    "magiclink",
    {
        "description": "Sign in with a link sent by e-mail.",
        "properties": {
            "ttl_minutes": {"type": "integer", "minimum": 1},
            "signing_key": {"type": "string"},
        },
        "required": ["signing_key"],
    },
    "Magic link",
    secret_options=("signing_key",),
)


class MagicLinkPlugin:
    @hookimpl
    def portalis_definition_sections(self) -> list[DefinitionSection]:
        return [MAGIC_LINK]


@pytest.fixture(scope="module")
def plugin_checker() -> Checker:
    return portals.plugin_checker(MagicLinkPlugin())


def test_a_plugin_provider_type_is_validated_by_its_own_schema(
    tmp_path: Path, plugin_checker: Checker, portalis_checker: Any
) -> None:
    good = '    - {type: magiclink, name: link, ttl_minutes: 15, signing_key: "${LINK_KEY}"}\n'
    assert codes(check(tmp_path / "a", plugin_checker, good, LINK_KEY="k" * 32)) == []
    # without the plugin the type is unknown
    unknown = check(tmp_path / "b", portalis_checker, good, LINK_KEY="k" * 32)
    assert any(
        p.path[:3] == ("auth", "providers", 1) for p in unknown if p.severity.name == "ERROR"
    )
    typo = '    - {type: magiclink, name: link, ttl_minuts: 15, signing_key: "${LINK_KEY}"}\n'
    problems = check(tmp_path / "c", plugin_checker, typo, LINK_KEY="k")
    assert [p.code for p in problems if p.path[-1:] == ("ttl_minuts",)] == ["schema-unknown-key"]
    literal = "    - {type: magiclink, name: link, signing_key: hunter2}\n"
    problems = check(tmp_path / "d", plugin_checker, literal)
    assert [p.path for p in problems if p.code == "secret-literal"] == [
        ("auth", "providers", 1, "signing_key")
    ]
