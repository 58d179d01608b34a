"""Which pool Arrow's buffers come from (``pipeline.arrowpool``).

The pool is process-wide, so each case runs in a fresh interpreter: the answer must not depend on
what another test of this session set.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pyarrow as pa

ROOT = Path(__file__).resolve().parents[1]


def _backend_after(code: str, pool_env: str | None = None) -> str:
    """The backend of Arrow's default pool after ``code`` ran in a fresh interpreter."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if pool_env is not None:
        env["ARROW_DEFAULT_MEMORY_POOL"] = pool_env
    script = code + "\nimport pyarrow\nprint(pyarrow.default_memory_pool().backend_name)"
    out = subprocess.run([sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip().splitlines()[-1]


def _has_jemalloc() -> bool:
    try:
        pa.jemalloc_memory_pool()
    except NotImplementedError:
        return False
    return True


VALIDATE = (
    "from pathlib import Path\n"
    "from pipeline.config import load_config\n"
    "from pipeline.validate import validate_file\n"
    "result = validate_file(Path('sample_data/bank_statement.csv'), load_config(Path('config.yaml')))\n"
    "assert len(result.payments.rows) > 0\n"
)


def test_validating_a_file_takes_columns_from_jemalloc_not_mimalloc() -> None:
    assert _backend_after("import pyarrow") == "mimalloc"  # pyarrow's own default, which the tool replaces
    assert _backend_after(VALIDATE) == ("jemalloc" if _has_jemalloc() else "system")


def test_the_environment_still_chooses_the_pool() -> None:
    assert _backend_after(VALIDATE, pool_env="mimalloc") == "mimalloc"
    assert _backend_after(VALIDATE, pool_env="system") == "system"
    code = "from pipeline.arrowpool import use_jemalloc\nuse_jemalloc(give_back_at_once=True)"
    assert _backend_after(code, pool_env="system") == "system"


def test_without_jemalloc_the_system_allocator_is_used() -> None:
    # a pyarrow built without jemalloc raises NotImplementedError for its pool
    code = (
        "import pyarrow\n"
        "def missing():\n"
        "    raise NotImplementedError('jemalloc support is not enabled')\n"
        "pyarrow.jemalloc_memory_pool = missing\n"
        "from pipeline.arrowpool import use_jemalloc\n"
        "use_jemalloc(give_back_at_once=True)\n"
        "use_jemalloc()"
    )
    assert _backend_after(code) == "system"
