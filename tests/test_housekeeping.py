"""Local time in what people read, and the retention of run folders."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import pytest

from pipeline.localtime import describe_zone, file_stamp
from pipeline.retention import SECONDS_PER_DAY, prune_run_folders


@pytest.fixture
def vienna(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    if not hasattr(time, "tzset"):
        pytest.skip("time.tzset is POSIX only")
    monkeypatch.setenv("TZ", "Europe/Vienna")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_file_stamp_is_local_time_with_its_offset(vienna: None) -> None:
    winter = datetime(2026, 12, 2, 7, 15, 0, tzinfo=UTC)  # 08:15 in Vienna (CET, +01:00)
    summer = datetime(2026, 7, 1, 6, 15, 0, tzinfo=UTC)  # 08:15 in Vienna (CEST, +02:00)
    assert file_stamp(winter) == "20261202T081500+0100"
    assert file_stamp(summer) == "20260701T081500+0200"
    assert describe_zone(winter) == "CET (UTC+01:00)"
    assert describe_zone(summer) == "CEST (UTC+02:00)"
    assert file_stamp(datetime(2026, 12, 2, 7, 15, tzinfo=timezone(timedelta(hours=-5)))) == "20261202T131500+0100"


def _run_folder(runs: Path, name: str, age_days: float, now_s: float) -> Path:
    folder = runs / name
    folder.mkdir(parents=True)
    report = folder / "report.json"
    report.write_text("{}", encoding="utf-8")
    os.utime(report, (now_s - age_days * SECONDS_PER_DAY, now_s - age_days * SECONDS_PER_DAY))
    return folder


def test_retention_removes_only_old_run_folders(tmp_path: Path) -> None:
    now_s = 1_800_000_000.0
    old = _run_folder(tmp_path, "old", 31, now_s)
    young = _run_folder(tmp_path, "young", 29, now_s)
    current = _run_folder(tmp_path, "current", 400, now_s)  # the run being written is never removed
    by_hand = tmp_path / "notes"  # not a run folder: no report.json
    by_hand.mkdir()
    os.utime(by_hand, (0, 0))
    removed = prune_run_folders(tmp_path, 30, keep=current, now_s=now_s)
    assert removed == [old]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["current", "notes", "young"]
    assert young.is_dir()


def test_retention_off_keeps_everything(tmp_path: Path) -> None:
    now_s = 1_800_000_000.0
    _run_folder(tmp_path, "ancient", 3000, now_s)
    assert prune_run_folders(tmp_path, None, keep=tmp_path / "x", now_s=now_s) == []
    assert prune_run_folders(tmp_path / "absent", 1, keep=tmp_path / "x", now_s=now_s) == []
    assert (tmp_path / "ancient").is_dir()
