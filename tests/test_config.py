"""Rule configuration: [tool.fhirrug], [rules], --config FILE, and the command-line overrides."""

from __future__ import annotations

import pytest

from fhirrug.config import (
    Config,
    ConfigError,
    load_config,
    load_config_file,
    parse_severity_assignment,
    check_selectors,
)
from fhirrug.issues import Issue

ISSUES = [
    Issue("que-2", "error", "m", "a.json", "Questionnaire.item[0]"),
    Issue("que-4", "error", "m", "a.json", "Questionnaire.item[1]"),
    Issue("fhirrug-translation-missing", "warning", "m", "a.json", "Questionnaire.title"),
]


def codes(issues):
    return [(i.code, i.severity) for i in issues]


def test_empty_config_keeps_everything():
    assert Config().apply(ISSUES) == ISSUES


def test_select_keeps_only_matching_rules_by_glob():
    assert codes(Config(select=("que-*",)).apply(ISSUES)) == [("que-2", "error"), ("que-4", "error")]


def test_ignore_drops_matching_rules():
    assert codes(Config(ignore=("que-2", "fhirrug-*")).apply(ISSUES)) == [("que-4", "error")]


def test_severity_regrades():
    assert codes(Config(severity={"que-*": "warning"}).apply(ISSUES))[:2] == [("que-2", "warning"), ("que-4", "warning")]


def test_command_line_select_replaces_ignore_adds_severity_overrides():
    base = Config(select=("que-2",), ignore=("que-4",), severity={"que-2": "warning"})
    merged = base.merged(select=("fhirrug-*",), ignore=("x",), severity={"que-2": "information"})
    assert merged.select == ("fhirrug-*",)
    assert merged.ignore == ("que-4", "x")
    assert merged.severity == {"que-2": "information"}
    assert base.merged().select == ("que-2",)


def test_pyproject_tool_fhirrug(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.fhirrug]\nselect = ["que-*"]\nignore = ["que-4"]\n[tool.fhirrug.severity]\n"que-2" = "warning"\n'
    )
    config = load_config(tmp_path)
    assert codes(config.apply(ISSUES)) == [("que-2", "warning")]


def test_fhirrug_toml_rules_when_pyproject_has_none(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    (tmp_path / "fhirrug.toml").write_text('[package]\nname = "x"\n[rules]\nignore = ["que-*"]\n')
    assert codes(load_config(tmp_path).apply(ISSUES)) == [("fhirrug-translation-missing", "warning")]


def test_no_configuration_is_the_default(tmp_path):
    assert load_config(tmp_path) == Config()
    assert load_config(None) == Config()


@pytest.mark.parametrize(
    "table",
    [
        '[tool.fhirrug]\nignored = ["que-2"]\n',  # typo of a key
        '[tool.fhirrug]\nselect = "que-2"\nseverity = "high"\n',
        '[tool.fhirrug.severity]\n"que-2" = "critical"\n',
        '[tool.fhirrug]\nignore = [1, 2]\n',
        '[tool.fhirrug]\nignore = [""]\n',
        "[tool.fhirrug\n",  # not TOML
    ],
)
def test_bad_configuration_is_a_config_error(tmp_path, table):
    (tmp_path / "pyproject.toml").write_text(table)
    with pytest.raises(ConfigError):
        load_config(tmp_path)


def test_a_single_string_is_accepted_as_a_list(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.fhirrug]\nignore = "que-2"\n')
    assert load_config(tmp_path).ignore == ("que-2",)


def test_config_file_of_its_own(tmp_path):
    path = tmp_path / "fhirrug-ci.toml"
    path.write_text('select = ["que-2"]\n[severity]\n"que-2" = "information"\n')
    assert codes(load_config_file(path).apply(ISSUES)) == [("que-2", "information")]


def test_config_file_may_be_a_pyproject(tmp_path):
    path = tmp_path / "other.toml"
    path.write_text('[tool.fhirrug]\nignore = ["que-*"]\n')
    assert load_config_file(path).ignore == ("que-*",)


def test_explicit_pyproject_without_fhirrug_table_is_a_config_error(tmp_path):
    path = tmp_path / "pyproject.toml"
    path.write_text('[tool.black]\nline-length = 100\n')
    with pytest.raises(ConfigError):
        load_config_file(path)


def test_missing_config_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError):
        load_config_file(tmp_path / "nope.toml")


@pytest.mark.parametrize(("text", "expected"), [("que-2=warning", ("que-2", "warning")), (" que-* = ERROR ", ("que-*", "error"))])
def test_parse_severity_assignment(text, expected):
    assert parse_severity_assignment(text) == expected


@pytest.mark.parametrize("text", ["que-2", "=warning", "que-2=loud", "que-2="])
def test_bad_severity_assignment(text):
    with pytest.raises(ConfigError):
        parse_severity_assignment(text)


class _Rule:
    def __init__(self, id, aliases=()):
        self.id, self.aliases = id, aliases


@pytest.mark.parametrize(
    "config, named, closest",
    [
        (Config(select=("que-*",), ignore=("qeu-2",)), "'qeu-2'", "'que-2'"),
        (Config(severity={"fhirrug-x": "error"}), "'fhirrug-x'", "'fhirrug-y'"),
        (Config(select=("vsd-*",)), "'vsd-*'", None),
    ],
)
def test_a_selector_that_matches_no_rule_is_an_error_naming_it_and_the_closest_id(config, named, closest):
    rules = [_Rule("que-2"), _Rule("que-4"), _Rule("fhirrug-y")]
    with pytest.raises(ConfigError) as raised:
        check_selectors(config, rules)
    assert named in str(raised.value)
    if closest:
        assert f"did you mean {closest}" in str(raised.value)


def test_selectors_that_match_an_id_or_an_alias_pass():
    check_selectors(Config(select=("que-*",), ignore=("old-id",), severity={"que-4": "warning"}), [_Rule("que-2"), _Rule("que-4", aliases=("old-id",))])


def test_a_selector_from_a_file_is_named_with_its_file(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.fhirrug]\nselect = ["que-22"]\n')
    with pytest.raises(ConfigError) as raised:
        check_selectors(load_config(tmp_path), [_Rule("que-2")])
    assert "pyproject.toml" in str(raised.value) and "select" in str(raised.value)
