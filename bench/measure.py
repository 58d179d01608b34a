"""One measurement in a fresh interpreter; prints a JSON line. Called by bench/run.py.

python bench/measure.py baseline-csv FILE
python bench/measure.py payimport FILE PROFILE
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    case, file = sys.argv[1], Path(sys.argv[2])
    t0 = time.perf_counter()
    if case == "baseline-csv":
        import pandas as pd

        t1 = time.perf_counter()
        frame = pd.read_csv(file, engine="pyarrow", dtype=str, sep=";")
        rows = len(frame)
        out = {"rows": rows}
    elif case == "baseline-xlsx":
        from python_calamine import CalamineWorkbook

        t1 = time.perf_counter()
        rows = len(CalamineWorkbook.from_path(str(file)).get_sheet_by_index(0).to_python())
        out = {"rows": rows}
    else:
        from pipeline.config import load_config
        from pipeline.validate import validate_file

        config = load_config(HERE / "config.yaml")
        t1 = time.perf_counter()
        result = validate_file(file, config, sys.argv[3])
        s = result.summary()
        out = {k: s[k] for k in ("rows_read", "rows_valid", "rows_rejected", "rows_skipped", "amount_valid")}
    t2 = time.perf_counter()
    out.update(case=case, file=file.name, import_s=round(t1 - t0, 3), op_s=round(t2 - t1, 3))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
