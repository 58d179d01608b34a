"""The JSON Schema of config.yaml, generated from the models in ``pipeline.config``.

Published as ``schemas/config.schema.json`` so that an editor (VS Code's YAML extension, any
YAML language server) completes keys and flags typos while the file is written, before payimport
ever reads it. tests/test_config.py fails when the published file differs from what the models
give, so the two cannot drift. Regenerate with ``python -m pipeline.configschema``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pipeline.config import Config

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "schemas" / "config.schema.json"


def config_schema() -> dict[str, Any]:
    """The schema of the whole file. A profile that says ``use:`` takes its ``columns`` from the
    library, so a profile needs ``columns`` or ``use`` rather than always ``columns``."""
    schema = Config.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "payimport config.yaml"
    profile = schema["$defs"]["Profile"]
    profile.pop("required", None)
    profile["anyOf"] = [{"required": ["columns"]}, {"required": ["use"]}]
    profiles = schema["properties"]["profiles"]
    schema["properties"]["profiles"] = {
        "anyOf": [profiles, {"type": "null"}],
        "title": profiles.pop("title", "Profiles"),
    }
    return schema


def installed_schema() -> Path | None:
    """The published schema as installed with the package (for ``init``'s editor line), if present."""
    from importlib import resources

    found = resources.files("schemas").joinpath("config.schema.json")
    return Path(str(found)) if found.is_file() else None


def schema_text() -> str:
    """The schema as it is published: sorted keys, two-space indent, a final newline."""
    return json.dumps(config_schema(), indent=2, ensure_ascii=False, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> None:
    """Write the schema (to ``schemas/config.schema.json`` unless a path is given)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m pipeline.configschema", description=main.__doc__)
    parser.add_argument("target", nargs="?", type=Path, default=SCHEMA_PATH, help="where to write the schema")
    args = parser.parse_args(argv)
    args.target.write_text(schema_text(), encoding="utf-8")


if __name__ == "__main__":
    main(sys.argv[1:])
