"""The run lock: one holder at a time, a readable error naming the holder, freed by the OS on kill -9."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from filelock import FileLock

from pipeline.errors import LockError
from pipeline.lock import describe_holder, hold_lock, read_note

REPO = Path(__file__).resolve().parent.parent

# Tries the lock once; prints the LockError as JSON, or "acquired".
TRY_LOCK = """
import json, sys
sys.path.insert(0, {repo!r})
from pathlib import Path
from pipeline.errors import LockError
from pipeline.lock import hold_lock
try:
    with hold_lock(Path(sys.argv[1]), "payimport run second.csv"):
        print("acquired", flush=True)
except LockError as exc:
    print(json.dumps({{"message": str(exc), "holder": exc.holder}}), flush=True)
    sys.exit(4)
"""

# Takes the lock, says so, then waits to be killed.
HOLD_LOCK = """
import sys, time
sys.path.insert(0, {repo!r})
from pathlib import Path
from pipeline.lock import hold_lock
with hold_lock(Path(sys.argv[1]), "payimport run --journal PAY nightly.csv"):
    print("locked", flush=True)
    time.sleep(600)
"""


def _python(code: str, *args: str) -> list[str]:
    return [sys.executable, "-c", code.format(repo=str(REPO)), *args]


@pytest.fixture
def holder_process(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], Path]]:
    lock = tmp_path / "state" / "payimport.lock"
    proc = subprocess.Popen(_python(HOLD_LOCK, str(lock)), stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "locked\n"
        yield proc, lock
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.wait()
        assert proc.stdout is not None
        proc.stdout.close()


def test_holder_note_is_written_and_cleared(tmp_path: Path) -> None:
    lock = tmp_path / "new" / "dir" / "payimport.lock"
    with hold_lock(lock, "payimport run a.csv"):
        note = json.loads(read_note(lock))
        assert note["pid"] == os.getpid()
        assert note["host"] == socket.gethostname()
        assert note["command"] == "payimport run a.csv"
        started = datetime.fromisoformat(note["started"])  # local time, with its offset
        assert started.utcoffset() == datetime.now().astimezone().utcoffset()
        assert abs((datetime.now(UTC) - started).total_seconds()) < 60
    assert lock.exists()  # never unlinked: that would let two processes lock two different files
    assert read_note(lock) == ""
    with hold_lock(lock, "payimport run b.csv"):  # released: can be taken again
        assert json.loads(read_note(lock))["command"] == "payimport run b.csv"


def test_second_process_gets_lock_error_naming_the_holder(tmp_path: Path) -> None:
    lock = tmp_path / "payimport.lock"
    with hold_lock(lock, "payimport run first.csv"):
        started = json.loads(read_note(lock))["started"]
        proc = subprocess.run(_python(TRY_LOCK, str(lock)), capture_output=True, text=True, check=False)
    assert proc.returncode == 4, proc.stderr
    error = json.loads(proc.stdout)
    holder = f"pid {os.getpid()} on host {socket.gethostname()}, `payimport run first.csv`, since {started}"
    assert error["holder"] == holder
    assert error["message"] == f"another payimport run holds the lock {lock}: {holder}"
    # once released, the other process gets it
    proc = subprocess.run(_python(TRY_LOCK, str(lock)), capture_output=True, text=True, check=False)
    assert (proc.returncode, proc.stdout) == (0, "acquired\n"), proc.stderr


def test_lock_held_by_another_process_then_freed_by_kill_9(
    holder_process: tuple[subprocess.Popen[str], Path],
) -> None:
    proc, lock = holder_process
    with pytest.raises(LockError) as raised, hold_lock(lock, "payimport run mine.csv"):
        pytest.fail("the lock was taken while another process holds it")
    assert f"pid {proc.pid} on host {socket.gethostname()}" in raised.value.holder
    assert "`payimport run --journal PAY nightly.csv`" in str(raised.value)

    proc.send_signal(signal.SIGKILL)
    assert proc.wait() == -signal.SIGKILL
    assert json.loads(read_note(lock))["pid"] == proc.pid  # the dead holder's note stays
    with hold_lock(lock, "payimport run mine.csv"):
        note = json.loads(read_note(lock))
        assert (note["pid"], note["command"]) == (os.getpid(), "payimport run mine.csv")


def test_unreadable_note_still_reports_the_lock_as_held(tmp_path: Path) -> None:
    lock = tmp_path / "payimport.lock"
    lock.write_bytes(b"\n\xff\xfe not json")
    # an OS lock conflicts between two open files even inside one process: this one plays the other holder
    other = FileLock(lock, timeout=0, thread_local=False)
    with other, pytest.raises(LockError) as raised, hold_lock(lock, "payimport run x.csv"):
        pytest.fail("the lock was taken while held")
    assert str(raised.value) == (
        f"another payimport run holds the lock {lock}: holder unknown (the lock file does not say who)"
    )
    assert lock.read_bytes() == b"\n\xff\xfe not json"  # a refused attempt does not touch the note


def test_nested_attempt_in_the_same_process_is_refused(tmp_path: Path) -> None:
    lock = tmp_path / "payimport.lock"
    with (
        hold_lock(lock, "outer"),
        pytest.raises(LockError, match=f"pid {os.getpid()} on host"),
        hold_lock(lock, "inner"),
    ):
        pytest.fail("taken twice")


def test_released_when_the_block_raises(tmp_path: Path) -> None:
    lock = tmp_path / "payimport.lock"
    with pytest.raises(RuntimeError, match="boom"), hold_lock(lock, "payimport run a.csv"):
        raise RuntimeError("boom")
    with hold_lock(lock, "payimport run a.csv"):
        pass


@pytest.mark.parametrize(
    ("note", "expected"),
    [
        (
            '{"pid": 1234, "host": "h", "command": "payimport run x.csv", "started": "2026-11-21T04:00:00Z"}',
            "pid 1234 on host h, `payimport run x.csv`, since 2026-11-21T04:00:00Z",
        ),
        ('{"pid": 7}', "pid 7 on host ?, `?`, since ?"),
        ("", "holder unknown (the lock file does not say who)"),
        ('{"pid": 12', "holder unknown (the lock file does not say who)"),
        ("[1, 2]", "holder unknown (the lock file does not say who)"),
    ],
)
def test_describe_holder(note: str, expected: str) -> None:
    assert describe_holder(note) == expected
