"""Loader: bundles, YAML safety, source positions, includes and ${ENV} substitution."""

from __future__ import annotations

from pathlib import Path

from portalis.engine.definition.bundle import Bundle, read_bundle
from portalis.engine.definition.loader import load, match_files
from portalis.engine.definition.yamlsource import parse_text


def codes(problems) -> list[str]:
    return [p.code for p in problems]


def test_bundle_sha_is_order_independent_and_content_addressed() -> None:
    a = Bundle.of({"portal.yaml": "a: 1\n", "x/y.yaml": "b: 2\n"})
    b = Bundle.of({"x/y.yaml": "b: 2\n", "portal.yaml": "a: 1\n"})
    c = Bundle.of({"x/y.yaml": "b: 3\n", "portal.yaml": "a: 1\n"})
    assert a.sha256 == b.sha256
    assert a.sha256 != c.sha256
    # moving bytes between path and content must change the hash
    assert Bundle.of({"ab": "c"}).sha256 != Bundle.of({"a": "bc"}).sha256


def test_bundle_round_trip_is_byte_identical(tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "entities").mkdir(parents=True)
    raw = "format: portalis/v1\r\nportal: crlf-demo   \r\n# comment ünïcode\r\n"
    (src / "portal.yaml").write_bytes(raw.encode())
    (src / "entities" / "a.yaml").write_bytes(b"entities: {}\n\n\n")
    (src / "ignored.bin").write_bytes(b"\x00\x01")
    bundle, problems = read_bundle(src)
    assert problems == []
    assert set(bundle.files) == {"portal.yaml", "entities/a.yaml"}
    out = tmp_path / "out"
    bundle.write(out)
    assert (out / "portal.yaml").read_bytes() == raw.encode()
    assert (out / "entities" / "a.yaml").read_bytes() == b"entities: {}\n\n\n"
    again, _ = read_bundle(out)
    assert again.sha256 == bundle.sha256


def test_non_utf8_file_is_a_problem(tmp_path: Path) -> None:
    (tmp_path / "portal.yaml").write_bytes(b"portal: \xff\xfe\n")
    _, problems = read_bundle(tmp_path)
    assert codes(problems) == ["file-encoding"]


def test_positions_point_at_values_and_keys() -> None:
    text = "a:\n  b:\n    - x\n    - {c: 1}\n"
    parsed = parse_text(text, "f.yaml")
    assert parsed.data == {"a": {"b": ["x", {"c": 1}]}}
    pos = parsed.positions[("a", "b", 1, "c")]
    assert (pos.file, pos.line, pos.col) == ("f.yaml", 4, 11)
    key = parsed.key_positions[("a", "b")]
    assert (key.line, key.col) == (2, 3)


def test_only_true_and_false_are_booleans() -> None:
    parsed = parse_text(
        "a: yes\nb: no\nc: on\nd: true\ne: false\nf: NO\ng: 2026-01-01\nh: 1.5\ni: ~\n", "f"
    )
    assert parsed.data == {
        "a": "yes", "b": "no", "c": "on", "d": True, "e": False, "f": "NO",
        "g": "2026-01-01", "h": 1.5, "i": None,
    }  # fmt: skip


def test_asvs_1_5_2_python_tags_refused() -> None:
    for text in (
        "a: !!python/object/apply:os.system ['echo pwned']\n",
        "a: !!python/name:os.system\n",
        "!!python/object/new:dict {}\n",
        "a: !custom 1\n",
    ):
        parsed = parse_text(text, "evil.yaml")
        assert "yaml-tag" in codes(parsed.problems), text


def test_asvs_1_5_2_alias_bomb_capped() -> None:
    lines = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    for i in range(1, 9):
        prev = chr(ord("a") + i - 1)
        cur = chr(ord("a") + i)
        lines.append(f"{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    parsed = parse_text("\n".join(lines) + "\n", "bomb.yaml")
    assert codes(parsed.problems) == ["yaml-too-many-nodes"]
    assert parsed.data is None


def test_deep_nesting_is_a_problem_not_a_crash() -> None:
    parsed = parse_text("a: " + "[" * 5000 + "]" * 5000 + "\n", "deep.yaml")
    assert codes(parsed.problems) and set(codes(parsed.problems)) <= {"yaml-too-deep"}


def test_tab_indentation_reported_with_position() -> None:
    parsed = parse_text("portal: x\nroles:\n\tagent: {}\n", "portal.yaml")
    assert codes(parsed.problems) == ["yaml-tab"]
    assert parsed.problems[0].line == 3


def test_duplicate_keys_reported() -> None:
    parsed = parse_text("a: 1\nb: 2\na: 3\n", "f.yaml")
    assert codes(parsed.problems) == ["yaml-duplicate-key"]
    assert parsed.problems[0].line == 3
    assert "line 1" in parsed.problems[0].hint


def test_merge_keys_supported() -> None:
    parsed = parse_text("base: &b {x: 1, y: 2}\nitem:\n  <<: *b\n  y: 3\n", "f")
    assert parsed.data["item"] == {"x": 1, "y": 3}


def test_env_substitution() -> None:
    parsed = parse_text(
        'a: "${HOST}:${PORT}"\nb: ${MISSING}\nc: ${bad-name}\n', "f", {"HOST": "h", "PORT": "1"}
    )
    assert parsed.data["a"] == "h:1"
    assert codes(parsed.problems) == ["env-missing", "env-syntax"]
    assert parsed.problems[0].line == 2
    untouched = parse_text("a: ${X}\n", "f", None)
    assert untouched.data == {"a": "${X}"} and untouched.env_refs == {"X"}


def test_includes_merge_named_sections_and_lists() -> None:
    bundle = Bundle.of(
        {
            "portal.yaml": "portal: x\ninclude: [entities/*.yaml]\nnavigation: [home]\nentities:\n  a: {}\n",
            "entities/b.yaml": "entities:\n  b: {}\nnavigation: [b]\n",
            "entities/c.yaml": "entities:\n\n  c: {label: C}\n",
        }
    )
    raw, report = load(bundle)
    assert report.ok, report.problems
    assert list(raw.data["entities"]) == ["a", "b", "c"]
    assert raw.data["navigation"] == ["home", "b"]
    pos = raw.source.locate(("entities", "c", "label"))
    assert (pos.file, pos.line) == ("entities/c.yaml", 3)
    pos = raw.source.locate(("navigation", 1))
    assert pos.file == "entities/b.yaml"


def test_include_duplicates_name_both_locations() -> None:
    bundle = Bundle.of(
        {
            "portal.yaml": "portal: x\ninclude: ['*.yaml']\nentities:\n  a: {}\n",
            "more.yaml": "portal: y\nentities:\n  a: {}\n",
        }
    )
    _, report = load(bundle)
    dups = [p for p in report.problems if p.code == "include-duplicate"]
    assert len(dups) == 2
    assert all(p.file == "more.yaml" for p in dups)
    assert any("portal.yaml:" in p.hint for p in dups)


def test_include_rules() -> None:
    bundle = Bundle.of(
        {
            "portal.yaml": "portal: x\ninclude: [sub/*.yaml, ../etc/*.yaml, none/*.yaml]\n",
            "sub/a.yaml": "include: [x.yaml]\n",
        }
    )
    _, report = load(bundle)
    assert sorted(codes(report.problems)) == ["include-bad", "include-empty", "include-nested"]
    assert [p for p in report.problems if p.code == "include-empty"][0].severity.value == "warning"


def test_glob_matching() -> None:
    bundle = Bundle.of({"portal.yaml": "", "a/b.yaml": "", "a/c/d.yaml": "", "e.json": ""})
    assert match_files(bundle, "a/*.yaml") == ["a/b.yaml"]
    assert match_files(bundle, "a/**/*.yaml") == ["a/b.yaml", "a/c/d.yaml"]
    assert match_files(bundle, "*.json") == ["e.json"]
    assert match_files(bundle, "/etc/passwd") is None
    assert match_files(bundle, "a/../../x") is None


def test_missing_root_file() -> None:
    _, report = load(Bundle.of({"other.yaml": "a: 1"}))
    assert codes(report.problems) == ["file-missing"]


def test_json_definitions_have_positions() -> None:
    bundle = Bundle.of({"portal.json": '{\n  "portal": "x",\n  "locales": ["en"]\n}\n'})
    raw, report = load(bundle)
    assert report.ok
    assert raw.data["locales"] == ["en"]
    assert raw.source.locate(("locales",)).line == 3
