"""payimport: bank statements and remittance files -> Business Central customer payments.

The public library API (what a scheduler task such as an Airflow or Dagster op calls)::

    import os
    from pathlib import Path
    import pipeline

    config = pipeline.load_config(Path("config.yaml"))
    with pipeline.open_session(config, os.environ, command="nightly import") as session:
        result = pipeline.import_files(session, [Path("inbox/statement.csv")])
    print(result.summary.to_json())
    raise SystemExit(result.exit_code)

Names are loaded on first use, so ``import pipeline.sandbox`` (the local BC stand-in, which runs
in its own process) does not pay for pandas and the rest of the product.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from pipeline.config import Config, load_config
    from pipeline.errors import (
        BCAuthError,
        BCError,
        BCOutcomeUnknown,
        BCPermanentError,
        BCTransientError,
        ConfigError,
        InputError,
        LockError,
        PayimportError,
        ProfileError,
    )
    from pipeline.exitcodes import ExitCode, exit_code_for
    from pipeline.post import RunOptions
    from pipeline.runner import import_files, run_import
    from pipeline.session import Session, open_session
    from pipeline.summary import RunResult, RunSummary
    from pipeline.validate import FileResult, validate_file

_HOMES = {
    "Config": "pipeline.config",
    "load_config": "pipeline.config",
    "validate_file": "pipeline.validate",
    "FileResult": "pipeline.validate",
    "open_session": "pipeline.session",
    "Session": "pipeline.session",
    "import_files": "pipeline.runner",
    "run_import": "pipeline.runner",
    "RunOptions": "pipeline.post",
    "RunResult": "pipeline.summary",
    "RunSummary": "pipeline.summary",
    "ExitCode": "pipeline.exitcodes",
    "exit_code_for": "pipeline.exitcodes",
    **dict.fromkeys(
        (
            "PayimportError",
            "ConfigError",
            "InputError",
            "ProfileError",
            "LockError",
            "BCError",
            "BCAuthError",
            "BCTransientError",
            "BCOutcomeUnknown",
            "BCPermanentError",
        ),
        "pipeline.errors",
    ),
}

__all__ = [
    "BCAuthError",
    "BCError",
    "BCOutcomeUnknown",
    "BCPermanentError",
    "BCTransientError",
    "Config",
    "ConfigError",
    "ExitCode",
    "FileResult",
    "InputError",
    "LockError",
    "PayimportError",
    "ProfileError",
    "RunOptions",
    "RunResult",
    "RunSummary",
    "Session",
    "__version__",
    "exit_code_for",
    "import_files",
    "load_config",
    "open_session",
    "run_import",
    "validate_file",
]


def __getattr__(name: str) -> Any:
    """Load a public name from its home module on first use (PEP 562)."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'pipeline' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names only (submodules and helpers are not part of the API)."""
    return sorted(__all__)
