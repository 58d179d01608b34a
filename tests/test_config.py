"""config.yaml -> frozen Config: the real file loads; bad files report every problem with its path."""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydantic import ValidationError

from pipeline.cli import main
from pipeline.config import Config, Profile, load_config, locate_config, user_config_path
from pipeline.configschema import schema_text
from pipeline.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
COLUMNS_12 = "columns: {date: 1, amount: 2}"


def _write(tmp_path: Path, text: str, name: str = "config.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
    return path


def _problems(path: Path) -> tuple[str, ...]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return info.value.problems


def _problem_at(problems: tuple[str, ...], yaml_path: str) -> str:
    """The one problem reported at ``yaml_path`` (format: ``FILE: PATH: message``)."""
    found = [p for p in problems if f": {yaml_path}: " in p]
    assert len(found) == 1, f"expected one problem at {yaml_path!r}, got {found!r} among {problems!r}"
    return found[0]


# --- the real file ---------------------------------------------------------------------------


def test_real_config_loads() -> None:
    config = load_config(ROOT / "config.yaml")
    assert isinstance(config, Config)
    assert set(config.profiles) == {"demo-bank-de", "demo-remittance", "demo-payments"}
    for name, profile in config.profiles.items():
        assert profile.name == name
    assert config.defaults.first_line_number == 0
    assert config.defaults.errors_workbook is True

    bank = config.profiles["demo-bank-de"]
    assert bank.encoding == "cp1252"
    assert bank.delimiter == ";"
    assert bank.header.present is True
    assert bank.header.signature == ("Buchungstag", "Verwendungszweck", "Betrag", "Transaktions-ID")
    assert bank.columns.amount == "Betrag"
    assert bank.columns.currency == "Währung"
    assert (bank.amount.layout, bank.amount.decimal_mark, bank.amount.thousands_mark) == ("signed", ",", ".")
    assert bank.date_formats == ("%d.%m.%Y",)
    assert bank.currency.expected == "EUR"
    assert bank.decimals == 2
    assert bank.extract.invoice_number == r"\b(RE-\d{4}-\d{4})\b"
    assert bank.document_number.template == "BANK{date:%y%m%d}-{seq:03d}"

    remittance = config.profiles["demo-remittance"]
    assert remittance.date_formats == ("%Y-%m-%d", "%d.%m.%Y")
    assert remittance.external_document_number == "{reference}"
    assert remittance.description == "Remittance {reference} {invoice_number}"

    payments = config.profiles["demo-payments"]
    assert payments.columns.transaction_id == "Transaction ID"
    # defaults that the file does not set
    assert payments.external_document_number == "{transaction_id}"
    assert payments.key_namespace is None


# --- every problem at once, with its YAML path ----------------------------------------------


def test_every_problem_is_reported_at_once_with_its_yaml_path(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        r"""
        version: 1
        profiles:
          x:
            columns: {date: D, amount: A}
            amount: {layout: sideways}
            encoding: klingon
            date_formats: ["%d.%m"]
            extract: {invoice_number: '(RE'}
            colums: {}
          y:
            columns: {date: D}
            amount: {layout: debit_credit}
          z:
            columns: {date: Datum, amount: 2}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    expected_paths = [
        "profiles.x.amount.layout",
        "profiles.x.encoding",
        "profiles.x.date_formats",
        "profiles.x.extract.invoice_number",
        "profiles.x.colums",
        "profiles.x",  # headerless (no header key) yet names columns by text: hidden behind the typos before
        "profiles.y",
        "profiles.z",
    ]
    assert len(problems) == len(expected_paths), problems
    for yaml_path in expected_paths:
        _problem_at(problems, yaml_path)
    for problem in problems:
        assert problem.startswith(f"{path}: "), problem
        assert problem in str(info.value)
    assert f"{len(expected_paths)} problem(s)" in str(info.value)

    layout = _problem_at(problems, "profiles.x.amount.layout")
    assert "'signed'" in layout and "'debit_credit'" in layout and "'indicator'" in layout
    assert "(hint: " in layout
    assert "hint: unknown key" in _problem_at(problems, "profiles.x.colums")


def test_problems_in_one_profile_are_all_reported_together(tmp_path: Path) -> None:
    """A typo in a key must not hide a layout problem of the same profile until the next run."""
    path = _write(
        tmp_path,
        """
        version: 1
        profiles:
          x:
            titel: typo
            columns: {date: D}
            amount: {layout: debit_credit}
        """,
    )
    problems = _problems(path)
    _problem_at(problems, "profiles.x.titel")
    assert any("debit" in p and "credit" in p for p in problems), problems


def test_unknown_keys_are_errors_at_every_level(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        version: 1
        verbose: true
        defaults: {first_line: 10}
        profiles:
          x:
            columns: {date: D, amount: A, payee: P}
            amount: {decimal: ","}
            header: {signature: [D, A], rows: 3}
        """,
    )
    problems = _problems(path)
    for yaml_path in (
        "verbose",
        "defaults.first_line",
        "profiles.x.columns.payee",
        "profiles.x.amount.decimal",
        "profiles.x.header.rows",
    ):
        problem = _problem_at(problems, yaml_path)
        assert "unknown key" in problem, problem
    assert len(problems) == 5, problems


def test_missing_required_keys_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\n")
    assert "required" in _problem_at(_problems(path), "profiles")
    path = _write(tmp_path, "version: 1\nprofiles:\n  x: {title: no columns}\n", "b.yaml")
    assert "required" in _problem_at(_problems(path), "profiles.x.columns")


def test_wrong_version_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 2\nprofiles:\n  x: {columns: {date: D, amount: A}}\n")
    _problem_at(_problems(path), "version")


# --- YAML-level problems -----------------------------------------------------------------------


def test_key_given_twice_in_a_nested_mapping_is_an_error(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        version: 1
        profiles:
          x:
            columns: {date: D, amount: A}
            date_formats: ["%d.%m.%Y"]
            columns: {date: E, amount: B}
        """,
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert str(path) in message
    assert "'columns'" in message and "twice" in message
    assert "line 6" in message  # where the second one is, as a person counts lines


def test_key_given_twice_at_top_level_and_in_flow_style_is_an_error(tmp_path: Path) -> None:
    top = _write(tmp_path, "version: 1\nprofiles: {}\nprofiles:\n  x: {columns: {date: D, amount: A}}\n")
    with pytest.raises(ConfigError, match="'profiles' is given twice"):
        load_config(top)
    flow = _write(tmp_path, "version: 1\nprofiles:\n  x: {columns: {date: D, amount: A, date: E}}\n", "flow.yaml")
    with pytest.raises(ConfigError, match="'date' is given twice"):
        load_config(flow)


def test_yaml_level_problem_is_listed_in_problems(tmp_path: Path) -> None:
    """``ConfigError.problems`` lists each problem; a duplicate key is one (the CLI prints ``problems``)."""
    path = _write(tmp_path, "version: 1\nversion: 1\nprofiles:\n  x: {columns: {date: D, amount: A}}\n")
    problems = _problems(path)
    assert len(problems) == 1, problems
    assert "'version'" in problems[0] and "twice" in problems[0]


def test_broken_yaml_is_a_config_error(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nprofiles:\n  x: {columns: {date: D, amount: A}\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


def test_unhashable_yaml_key_is_a_config_error_not_a_crash(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nprofiles:\n  ? [a, b]\n  : {columns: {date: D, amount: A}}\n")
    with pytest.raises(ConfigError):
        load_config(path)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n"])
def test_file_that_is_not_a_mapping_is_a_config_error(tmp_path: Path, text: str) -> None:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match="mapping"):
        load_config(path)


def test_missing_config_file_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert str(path) in str(info.value)


# --- individual rules ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("snippet", "yaml_path"),
    [
        ("extract: {invoice_number: '(RE-'}", "profiles.x.extract.invoice_number"),
        ("extract: {customer_number: '[C'}", "profiles.x.extract.customer_number"),
        ("footer_pattern: '(?i)^(total'", "profiles.x.footer_pattern"),
        ("skip_rows: [{column: A, pattern: '*x', reason: r}]", "profiles.x.skip_rows.0.pattern"),
        ("receipts_only_when: {column: A, pattern: 'a)'}", "profiles.x.receipts_only_when.pattern"),
    ],
)
def test_invalid_regex_is_rejected(tmp_path: Path, snippet: str, yaml_path: str) -> None:
    path = _write(
        tmp_path,
        f"""
        version: 1
        profiles:
          x:
            header: {{signature: [D, A]}}
            columns: {{date: D, amount: A}}
            {snippet}
        """,
    )
    problem = _problem_at(_problems(path), yaml_path)
    assert "invalid regular expression" in problem


@pytest.mark.parametrize(
    ("journal", "profile", "yaml_path", "shown"),
    [
        ("", 'document_number: {template: "BANK\\0{seq:05d}"}', "profiles.x.document_number.template", "'\\x00'"),
        ("", 'description: "{payer_name}\\t{reference}"', "profiles.x.description", "'\\t'"),
        ("", 'external_document_number: "TX\\n{transaction_id}"', "profiles.x.external_document_number", "'\\n'"),
        ("", 'comment: "{reference}\\x85"', "profiles.x.comment", "'\\x85'"),
        ("", 'comment: "{reference}\\u2028{payer_name}"', "profiles.x.comment", "'\\u2028'"),
        ('code_template: "PI\\0{n:02d}"', "", "journal.code_template", "'\\x00'"),
        ('display_name: "payimport\\t{files}"', "", "journal.display_name", "'\\t'"),
        ('existing: "GEN\\x7f"', "", "journal.existing", "'\\x7f'"),
    ],
)
def test_a_text_sent_to_bc_holding_a_control_character_is_rejected(
    tmp_path: Path, journal: str, profile: str, yaml_path: str, shown: str
) -> None:
    # YAML's double-quoted escapes write a NUL, a tab or a line break into a template, a journal's
    # code or its name, unseen
    path = _write(
        tmp_path,
        f"""
        version: 1
        journal: {{{journal}}}
        profiles:
          x:
            header: {{signature: [D, A]}}
            columns: {{date: D, amount: A}}
            {profile}
        """,
    )
    problem = _problem_at(_problems(path), yaml_path)
    assert f"holds {shown}, a control character or line break" in problem


def test_unknown_encoding_is_rejected_with_suggestions(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nprofiles:\n  x: {encoding: cp9999, columns: {date: 1, amount: 2}}\n")
    problem = _problem_at(_problems(path), "profiles.x.encoding")
    assert "cp9999" in problem
    assert "utf-8" in problem and "cp1252" in problem


@pytest.mark.parametrize(
    ("fmt", "words"),
    [
        ("%d.%m", "year"),
        ("%m/%Y", "day"),
        ("%d %Y", "month"),
    ],
)
def test_date_format_missing_a_part_is_rejected(tmp_path: Path, fmt: str, words: str) -> None:
    path = _write(tmp_path, f'version: 1\nprofiles:\n  x: {{date_formats: ["{fmt}"], {COLUMNS_12}}}\n')
    problem = _problem_at(_problems(path), "profiles.x.date_formats")
    assert fmt in problem
    assert words in problem


def test_unsupported_date_code_and_empty_format_list_are_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, f'version: 1\nprofiles:\n  x: {{date_formats: ["%d.%m.%Y %j"], {COLUMNS_12}}}\n')
    assert "'j'" in _problem_at(_problems(path), "profiles.x.date_formats")
    path = _write(tmp_path, "version: 1\nprofiles:\n  x: {date_formats: [], columns: {date: 1, amount: 2}}\n", "b.yaml")
    assert "at least one" in _problem_at(_problems(path), "profiles.x.date_formats")


@pytest.mark.parametrize(
    "columns", ["{date: D}", "{date: D, debit: S}", "{date: D, credit: H}", "{date: D, amount: A}"]
)
def test_debit_credit_layout_needs_both_columns(tmp_path: Path, columns: str) -> None:
    path = _write(
        tmp_path,
        f"""
        version: 1
        profiles:
          x:
            header: {{signature: [D]}}
            columns: {columns}
            amount: {{layout: debit_credit}}
        """,
    )
    problem = _problem_at(_problems(path), "profiles.x")
    assert "debit_credit" in problem
    assert "columns.debit" in problem and "columns.credit" in problem


def test_signed_layout_needs_an_amount_column(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nprofiles:\n  x: {header: {signature: [D]}, columns: {date: D}}\n")
    assert "columns.amount" in _problem_at(_problems(path), "profiles.x")


def test_indicator_layout_needs_credit_values(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        version: 1
        profiles:
          x:
            header: {signature: [D]}
            columns: {date: D, amount: A, indicator: I}
            amount: {layout: indicator}
        """,
    )
    assert "credit_values" in _problem_at(_problems(path), "profiles.x.amount")


def test_same_decimal_and_thousands_mark_is_rejected(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        version: 1
        profiles:
          x:
            header: {signature: [D]}
            columns: {date: D, amount: A}
            amount: {decimal_mark: ",", thousands_mark: ","}
        """,
    )
    assert "must differ" in _problem_at(_problems(path), "profiles.x.amount")


def test_headerless_profile_naming_a_column_by_text_is_rejected(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        version: 1
        profiles:
          x:
            header: {present: false}
            columns: {date: 1, amount: 2, reference: [3, Verwendungszweck]}
        """,
    )
    problem = _problem_at(_problems(path), "profiles.x")
    assert "headerless" in problem and "position" in problem


def test_headerless_profile_by_position_is_accepted(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        version: 1
        profiles:
          x:
            header: {present: false}
            identify_pattern: '^\\d{2}\\.'
            columns: {date: 1, amount: 2, reference: [3, 4]}
        """,
    )
    profile = load_config(path).profiles["x"]
    assert profile.header.present is False
    assert profile.columns.reference == (3, 4)


def test_header_needs_a_signature_or_a_row(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nprofiles:\n  x: {header: {present: true}, columns: {date: D, amount: A}}\n")
    problem = _problem_at(_problems(path), "profiles.x.header")
    assert "signature" in problem and "row" in problem


def test_currency_must_be_an_iso_code(tmp_path: Path) -> None:
    path = _write(tmp_path, "version: 1\nprofiles:\n  x: {currency: {expected: EURO}, columns: {date: 1, amount: 2}}\n")
    assert "ISO 4217" in _problem_at(_problems(path), "profiles.x.currency.expected")
    ok = _write(tmp_path, f"version: 1\nprofiles:\n  x: {{currency: {{expected: jpy}}, {COLUMNS_12}}}\n", "ok.yaml")
    profile = load_config(ok).profiles["x"]
    assert profile.currency.expected == "JPY"
    assert profile.decimals == 0


# --- frozen -------------------------------------------------------------------------------------

_FROZEN_ERRORS = (ValidationError, AttributeError, TypeError)


def test_config_objects_are_frozen() -> None:
    config = load_config(ROOT / "config.yaml")
    profile = config.profiles["demo-bank-de"]
    with pytest.raises(_FROZEN_ERRORS):
        config.defaults = config.defaults  # type: ignore[misc]
    with pytest.raises(_FROZEN_ERRORS):
        config.defaults.first_line_number = 5  # type: ignore[misc]
    with pytest.raises(_FROZEN_ERRORS):
        profile.encoding = "utf-8"  # type: ignore[misc]
    with pytest.raises(_FROZEN_ERRORS):
        profile.amount.decimal_mark = "."  # type: ignore[misc]
    with pytest.raises(_FROZEN_ERRORS):
        profile.header.signature = ()  # type: ignore[misc]
    with pytest.raises(_FROZEN_ERRORS):
        profile.columns.amount = "Valuta"  # type: ignore[misc]
    with pytest.raises(_FROZEN_ERRORS):
        profile.currency.expected = "USD"  # type: ignore[misc]
    assert isinstance(profile.date_formats, tuple)
    assert isinstance(profile.header.signature, tuple)
    # nothing changed
    assert load_config(ROOT / "config.yaml") == config


def test_profiles_mapping_cannot_be_changed() -> None:
    """Frozen all the way down: a stage must not be able to swap or add a profile."""
    config = load_config(ROOT / "config.yaml")
    other: Profile = config.profiles["demo-payments"]
    with pytest.raises(_FROZEN_ERRORS):
        config.profiles["demo-bank-de"] = other  # type: ignore[index]
    assert config.profiles["demo-bank-de"].name == "demo-bank-de"


# --- where the config is found, and what a new user is told ---------------------------------


def test_config_search_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    here, home, named, env_file = (tmp_path / d for d in ("here", "xdg", "named", "env"))
    for folder in (here, home / "payimport", named, env_file):
        folder.mkdir(parents=True)
    monkeypatch.setattr(sys, "platform", "linux")
    environ = {"XDG_CONFIG_HOME": str(home)}
    user = home / "payimport" / "config.yaml"
    user.write_text("profiles: {}\n", encoding="utf-8")
    assert locate_config(None, environ, here) == user  # only the per-user file exists
    (here / "config.yaml").write_text("profiles: {}\n", encoding="utf-8")
    assert locate_config(None, environ, here) == here / "config.yaml"  # the current folder comes first
    with_env = {**environ, "PAYIMPORT_CONFIG": str(env_file / "c.yaml")}
    assert locate_config(None, with_env, here) == env_file / "c.yaml"  # taken as given, even if absent
    assert locate_config(named / "x.yaml", with_env, here) == named / "x.yaml"  # --config wins over all


def test_no_config_anywhere_says_where_it_looked_and_how_to_start_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sys, "platform", "linux")
    with pytest.raises(ConfigError) as raised:
        locate_config(None, {"XDG_CONFIG_HOME": str(tmp_path / "xdg")}, tmp_path)
    message = str(raised.value)
    assert str(tmp_path / "config.yaml") in message
    assert str(tmp_path / "xdg" / "payimport" / "config.yaml") in message
    assert "PAYIMPORT_CONFIG is not set" in message
    assert "payimport init" in message
    with pytest.raises(ConfigError, match=r"cannot read config: No such file or directory; create one with"):
        load_config(tmp_path / "missing.yaml")


def test_windows_per_user_config_is_under_appdata(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys, "platform", "win32")
    assert user_config_path({"APPDATA": "C:/Users/a/AppData/Roaming"}) == Path(
        "C:/Users/a/AppData/Roaming/payimport/config.yaml"
    )


def test_cli_without_any_config_exits_2_with_the_init_hint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("PAYIMPORT_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    monkeypatch.setenv("HOME", str(tmp_path))
    result = CliRunner().invoke(main, ["validate", "--json", "x.csv"])
    assert result.exit_code == 2
    assert "payimport init" in json.loads(result.output)["error"]


# --- did you mean ---------------------------------------------------------------------------


def test_unknown_keys_name_the_nearest_known_key(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
        version: 1
        journal: {balancing_acount: "2910"}
        target: {sandbox: {sede: demo}}
        profiles:
          a:
            colums: {date: 1, amount: 2}
            header: {present: false}
            skip_rows: [{column: 1, patern: x, reason: r}]
            zzz: 1
        """,
    )
    problems = _problems(path)
    assert "did you mean 'balancing_account'?" in _problem_at(problems, "journal.balancing_acount")
    assert "did you mean 'seed'?" in _problem_at(problems, "target.sandbox.sede")
    assert "did you mean 'columns'?" in _problem_at(problems, "profiles.a.colums")
    assert "did you mean 'pattern'?" in _problem_at(problems, "profiles.a.skip_rows.0.patern")
    assert "docs/profiles.md" in _problem_at(problems, "profiles.a.zzz")  # nothing near: where the keys are


# --- target and balancing account ----------------------------------------------------------


def test_tenant_gets_no_default_balancing_account(tmp_path: Path) -> None:
    tenant = "target: {kind: bc, tenant: t, environment: Production, company: C}\n"
    bare = load_config(_write(tmp_path, "version: 1\n" + tenant + "profiles: {}\n", "a.yaml"))
    assert bare.journal.balancing_account is None
    assert bare.target_given is True
    named = load_config(
        _write(tmp_path, "version: 1\n" + tenant + "journal: {balancing_account: '1940'}\nprofiles: {}\n", "b.yaml")
    )
    assert named.journal.balancing_account == "1940"
    sandbox = load_config(_write(tmp_path, "version: 1\nprofiles:\n", "c.yaml"))
    assert (sandbox.journal.balancing_account, sandbox.target_given) == ("2910", False)
    assert dict(sandbox.profiles) == {}


# --- the published JSON Schema --------------------------------------------------------------


def test_published_schema_is_what_the_models_give() -> None:
    published = (ROOT / "schemas" / "config.schema.json").read_text(encoding="utf-8")
    assert published == schema_text(), "regenerate with: python -m pipeline.configschema"


def test_schema_checks_what_the_loader_checks() -> None:
    schema = json.loads(schema_text())
    assert schema["additionalProperties"] is False
    profile = schema["$defs"]["Profile"]
    assert profile["additionalProperties"] is False
    assert profile["anyOf"] == [{"required": ["columns"]}, {"required": ["use"]}]
    assert set(profile["properties"]) == set(Profile.model_fields)
    assert schema["$defs"]["AmountSpec"]["properties"]["layout"]["enum"] == ["signed", "debit_credit", "indicator"]
    assert "runs_retention_days" in schema["properties"]
