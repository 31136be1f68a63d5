"""Time and memory of `gsim report`, and the memory of `gsim claims` and `gsim summary`, against
the number of runs (a script, not a test).

    .venv/bin/python benchmarks/bench_report.py [--runs 10000,100000] [--repeat 3] [--keep DIR]

Builds synthetic stores of the default sweep's layout (4 policies, indicator outputs with the
group aggregates, 2023-2050, random values; `bench_claims.build`) without running the model.
Then runs `gsim report STORE -o FILE.html`, `gsim claims STORE` and `gsim summary STORE` as
subprocesses, `--repeat` times each, and reports each one's wall times, their median, and the
peak RSS (ru_maxrss of the child, as the child reports it), plus the RSS of a bare
`gsim --version` and the load average of the machine before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from bench_claims import child, store_for  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", default="10000,100000")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--keep", default=None, help="build the stores here and keep them")
    args = ap.parse_args()
    tmp = Path(args.keep or tempfile.mkdtemp(prefix="gsim-bench-report-"))
    tmp.mkdir(parents=True, exist_ok=True)
    out: dict[str, object] = {"load_before": [round(x, 1) for x in os.getloadavg()],
                              "version_rss_mb": round(child("--version")[1], 1)}
    for runs in (int(r) for r in args.runs.split(",")):
        p = store_for(tmp, runs, out)
        for name, cmd in (("report", ["report", str(p), "-o", str(tmp / f"r{runs}.html")]),
                          ("claims", ["claims", str(p)]), ("summary", ["summary", str(p)])):
            results = [child(*cmd) for _ in range(args.repeat)]
            walls = [round(w, 1) for w, _ in results]
            out[f"{name}_{runs}_s"] = walls
            out[f"{name}_{runs}_median_s"] = round(statistics.median(walls), 1)
            out[f"{name}_{runs}_rss_mb"] = round(max(r for _, r in results), 1)
        out[f"report_{runs}_html_kb"] = round((tmp / f"r{runs}.html").stat().st_size / 1024)
    out["load_after"] = [round(x, 1) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))
    if not args.keep:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    main()
