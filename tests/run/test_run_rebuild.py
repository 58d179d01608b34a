"""A lost ledger rebuilt from the files and what BC holds (``payimport ledger rebuild``).

Each test imports real files into the sandbox, loses the ledger (its files deleted, as a person
or a ``make clean`` would), rebuilds it and runs the same files again; BC's final state is checked
payment by payment against the input: every payment once, as an open line or a posted entry.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.sandbox import rules
from pipeline.sandbox.server import SandboxInfo

from .conftest import (
    SAMPLES,
    BCView,
    make_transactions,
    only_new_journal,
    run_cli,
    secrets_env,
    write_config,
    write_statement,
)


@dataclass
class Rebuild:
    exit_code: int
    found: dict[str, Any]
    output: str


def rebuild(config: Path, info: SandboxInfo, *args: str | Path) -> Rebuild:
    """``payimport ledger rebuild --json --config CONFIG ARGS`` in this process."""
    result = CliRunner().invoke(
        main,
        ["ledger", "rebuild", "--json", "--config", str(config), *map(str, args)],
        env=secrets_env(info),
        catch_exceptions=False,
    )
    stdout = result.stdout.strip()
    return Rebuild(result.exit_code, json.loads(stdout.splitlines()[-1]) if stdout else {}, result.output)


def lose_ledger(config: Path) -> None:
    for leftover in (config.parent / "state").glob("ledger.sqlite*"):
        leftover.unlink()


def in_bc(view: BCView) -> list[str]:
    """Every payment's document number as BC holds it: open lines of the runs' journals, then one
    per posted payment (its customer ledger entry)."""
    open_docs = [str(line["documentNumber"]) for j in view.new_journals().values() for line in view.lines(str(j["id"]))]
    return open_docs + [str(e["documentNumber"]) for e in rules.customer_ledger_entries(view.store, view.cid)]


def test_a_rebuilt_ledger_knows_what_bc_holds_and_posts_only_the_rest(tmp_path: Path, sandbox: SandboxInfo) -> None:
    """Statement A was imported and its journal posted; statement B was imported, its journal left
    open. The ledger is lost. Rebuilt from A and B, it records 30 posted and 20 open payments; the
    same files run again post nothing; a new statement C posts its 5."""
    view = BCView(sandbox)
    a, b, c = make_transactions(30, seed=61), make_transactions(20, seed=62), make_transactions(5, seed=63)
    file_a, file_b = write_statement(tmp_path / "a.csv", a), write_statement(tmp_path / "b.csv", b)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, "--post-journal", file_a).exit_code == 0
    assert run_cli(config, sandbox, file_b).exit_code == 0
    lose_ledger(config)
    assert run_cli(config, sandbox, file_a, file_b).exit_code == 2  # refused until rebuilt

    rebuilt = rebuild(config, sandbox, file_a, file_b)

    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.found["found_posted"] == 30 and rebuilt.found["found_in_journals"] == 20
    assert (rebuilt.found["not_in_bc"], rebuilt.found["unexplained_journal_lines"]) == (0, 0)
    again = run_cli(config, sandbox, file_a, file_b)
    assert again.summary is not None and again.exit_code == 0, again.output
    assert (again.summary["posted"], again.summary["already_posted"]) == (0, 50)
    new = run_cli(config, sandbox, write_statement(tmp_path / "c.csv", c))
    assert new.summary is not None and (new.exit_code, new.summary["posted"]) == (0, 5)
    docs = in_bc(view)
    for tx in a + b + c:
        assert docs.count(tx.txid.upper()) == 1, tx.txid


def test_a_rebuild_from_some_of_the_files_names_the_lines_it_cannot_explain(
    tmp_path: Path, sandbox: SandboxInfo
) -> None:
    """Rebuilt from A only while B's journal is open: B's 12 lines are named as unexplained (exit 1)
    and nothing is recorded, so the next run still refuses: B's payments cannot be sent again. Given
    B too, everything is recorded; --keep-unexplained records A alone when B's lines are no file's."""
    view = BCView(sandbox)
    a, b = make_transactions(8, seed=64), make_transactions(12, seed=65)
    file_a, file_b = write_statement(tmp_path / "a.csv", a), write_statement(tmp_path / "b.csv", b)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, file_a).exit_code == 0
    journal_a = only_new_journal(view)
    assert run_cli(config, sandbox, file_b).exit_code == 0
    journal_b = next(j for code, j in view.new_journals().items() if code != journal_a["code"])
    lose_ledger(config)

    partial = rebuild(config, sandbox, file_a)

    assert partial.exit_code == 1, partial.output
    assert (partial.found["found_in_journals"], partial.found["unexplained_journal_lines"]) == (8, 12)
    assert all(str(journal_b["code"]) in example for example in partial.found["unexplained_examples"])
    assert partial.found["recorded"] is False
    assert run_cli(config, sandbox, file_b).exit_code == 2  # still refused: B is not sent again

    kept = rebuild(config, sandbox, "--keep-unexplained", file_a)
    assert kept.exit_code == 1 and kept.found["recorded"] is True, kept.output
    again = run_cli(config, sandbox, file_a)
    assert again.summary is not None and (again.summary["posted"], again.summary["already_posted"]) == (0, 8)
    docs = in_bc(view)
    for tx in a + b:
        assert docs.count(tx.txid.upper()) == 1, tx.txid


def test_a_dry_run_rebuild_records_nothing(tmp_path: Path, sandbox: SandboxInfo) -> None:
    txs = make_transactions(6, seed=66)
    file = write_statement(tmp_path / "a.csv", txs)
    config = write_config(tmp_path / "cfg", sandbox)
    assert run_cli(config, sandbox, file).exit_code == 0
    lose_ledger(config)

    dry = rebuild(config, sandbox, "--dry-run", file)

    assert dry.exit_code == 0 and dry.found["found_in_journals"] == 6 and dry.found["runs_recorded"] == []
    assert run_cli(config, sandbox, file).exit_code == 2  # still refused: nothing was recorded


@pytest.mark.parametrize("post_journal", [False, True])
def test_payments_sharing_a_document_number_are_told_apart(
    tmp_path: Path, sandbox: SandboxInfo, post_journal: bool
) -> None:
    """Three payments carry the same reference (the document number), so the run named them DUP,
    DUP/2 and DUP/3 in file order. After a lost ledger each row must find its own payment: open
    lines by number and amount, posted ones by number in file order, the order they were named in."""
    base = make_transactions(3, seed=67)
    txs = [replace(t, txid="dup", day=base[0].day) for t in base]
    file = write_statement(tmp_path / "a.csv", txs)
    config = write_config(tmp_path / "cfg", sandbox)
    first = run_cli(config, sandbox, *(["--post-journal"] if post_journal else []), file)
    assert first.exit_code == 0, first.output
    lose_ledger(config)

    rebuilt = rebuild(config, sandbox, file)

    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.found["found_posted" if post_journal else "found_in_journals"] == 3
    with sqlite3.connect(config.parent / "state" / "ledger.sqlite") as db:
        recorded = db.execute(
            "SELECT source_row, json_extract(payload_json, '$.documentNumber') FROM rows ORDER BY source_row"
        ).fetchall()
    db.close()
    assert recorded == [(2, "DUP"), (3, "DUP/2"), (4, "DUP/3")]  # header is line 1
    again = run_cli(config, sandbox, file)
    assert again.summary is not None and (again.summary["posted"], again.summary["already_posted"]) == (0, 3)


@pytest.mark.parametrize("post_journal", [False, True])
def test_a_split_receipt_is_rebuilt_as_its_lines(tmp_path: Path, sandbox: SandboxInfo, post_journal: bool) -> None:
    """The demo statement's transfer of 2,380.00 pays two invoices of 1,190.00: two journal lines
    under one document number. After a lost ledger the rebuild must know the receipt by its two
    lines (or, posted, by its document number), never leave it for the next run to send again."""
    view = BCView(sandbox)
    file = Path(shutil.copy(SAMPLES / "bank_statement.csv", tmp_path / "bank_statement.csv"))
    config = write_config(tmp_path / "cfg", sandbox)
    first = run_cli(config, sandbox, *(["--post-journal"] if post_journal else []), file)
    assert first.summary is not None and first.exit_code == 0, first.output
    before = sorted(in_bc(view))
    lose_ledger(config)

    rebuilt = rebuild(config, sandbox, file)

    assert rebuilt.exit_code == 0, rebuilt.output
    assert rebuilt.found["unexplained_journal_lines"] == 0 and rebuilt.found["not_in_bc"] == 0
    assert rebuilt.found["found_posted" if post_journal else "found_in_journals"] == first.summary["posted"]
    again = run_cli(config, sandbox, file)
    assert again.summary is not None and again.summary["posted"] == 0, again.output
    assert sorted(in_bc(view)) == before  # nothing was sent again
