"""`payimport init`: a config that loads, for the sandbox or a tenant; never an overwrite."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[1]
BANK = ROOT / "sample_data" / "bank_statement.csv"


def test_init_writes_a_sandbox_config_that_loads_and_refuses_to_overwrite(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["init", str(tmp_path / "here"), "--inbox"])
    assert result.exit_code == 0, result.output
    config_file = tmp_path / "here" / "config.yaml"
    assert sorted(p.name for p in (tmp_path / "here").iterdir()) == [
        "config.yaml",
        "done",
        "failed",
        "inbox",
        "processing",
    ]
    text = config_file.read_text(encoding="utf-8")
    assert text.startswith("# yaml-language-server: $schema=file://")
    assert text.splitlines()[0].endswith("/schemas/config.schema.json")
    config = load_config(config_file)
    assert (config.target.kind, config.target_given, config.target.sandbox.seed) == ("sandbox", True, "demo")
    assert dict(config.profiles) == {}
    assert config.state_dir == tmp_path / "here" / ".payimport"
    before = config_file.read_bytes()
    again = runner.invoke(main, ["init", str(tmp_path / "here")])
    assert again.exit_code == 2
    assert "exists; payimport init never replaces a config" in again.output
    assert config_file.read_bytes() == before


def test_init_tenant_writes_names_of_variables_and_no_default_balancing_account(tmp_path: Path) -> None:
    args = ["init", str(tmp_path), "--tenant", "contoso.onmicrosoft.com", "--company", "CRONUS"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    text = (tmp_path / "config.yaml").read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    assert data["target"] == {
        "kind": "bc",
        "tenant": "contoso.onmicrosoft.com",
        "environment": "Production",
        "company": "CRONUS",
        "client_id_env": "PAYIMPORT_CLIENT_ID",
        "client_secret_env": "PAYIMPORT_CLIENT_SECRET",
        "certificate_env": "PAYIMPORT_CERTIFICATE",
        "certificate_thumbprint_env": "PAYIMPORT_CERTIFICATE_THUMBPRINT",
    }
    config = load_config(tmp_path / "config.yaml")
    assert config.journal.balancing_account is None
    assert "secret:" not in text.replace("client_secret_env:", "")


def test_tenant_without_company_is_written_and_then_named_by_validate(tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["init", str(tmp_path), "--tenant", "t"]).exit_code == 0
    result = CliRunner().invoke(main, ["validate", "--config", str(tmp_path / "config.yaml"), str(BANK)])
    assert result.exit_code == 2
    assert "target kind bc needs company" in result.output


def test_run_without_target_block_says_it_imports_into_the_local_sandbox(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("version: 1\nprofiles:\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["run", "--config", str(config), str(tmp_path / "nothing-here")])
    assert result.exit_code == 2  # no files: nothing is started
    assert "no target: block, so this run imports into the LOCAL embedded sandbox" in result.output
    assert str(tmp_path / ".payimport" / "sandbox") in result.output
    config.write_text("version: 1\ntarget: {kind: sandbox}\nprofiles:\n", encoding="utf-8")
    quiet = CliRunner().invoke(main, ["run", "--config", str(config), str(tmp_path / "nothing-here")])
    assert "LOCAL embedded sandbox" not in quiet.output
