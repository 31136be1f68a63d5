"""Reading a sweep store: per-policy summaries, paired win shares, netCDF and CSV export.

Everything here streams over the store chunk by chunk (or reads one year of one indicator
at a time), so memory does not grow with the number of runs beyond a few floats per run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from gsim.indicators import BETTER
from gsim.integrate import RunStatus
from gsim.model.layout import VARIABLES
from gsim.output import atomic_write, write_netcdf
from gsim.sweeps import store as st

if TYPE_CHECKING:
    import pandas as pd


@dataclass
class Summary:
    """stats: one row per (indicator, year, policy) with n ok runs, median, p5, p95.
    wins: one row per (indicator, year, a, b): share of samples (x replicates) where a beats b,
    among those where both runs are ok; ties count for neither."""

    stats: pd.DataFrame
    wins: pd.DataFrame
    n_units: int
    failed: dict[str, int]  # policy -> runs done but not ok
    by_status: dict[str, dict[str, int]]  # policy -> status name -> runs (all statuses)
    pending: dict[str, int]  # runs not computed yet, per policy
    store: str


def years_index(times: np.ndarray, years: Iterable[float] | None, attrs: Mapping[str, Any]) -> list[int]:
    """Indices into a store's saved `times` of `years`; by default the sweep's own `years`
    that were saved, else the last saved time. ValueError names a year that is not saved."""
    spec_years = json.loads(attrs["sweep_spec"]).get("years", [])
    default = [y for y in spec_years if np.isclose(times, y).any()]
    years = list(years or default or [times[-1]])
    out = []
    for y in years:
        hit = np.nonzero(np.isclose(times, float(y)))[0]
        if not len(hit):
            raise ValueError(f"year {y:g} is not a saved time (saved: {times[0]:g} to {times[-1]:g})")
        out.append(int(hit[0]))
    return out


verified = st.checked  # verify_store, raising StoreDamaged (one line: what, how to repair)


def outside(store: str | Path, out: str | Path, option: str) -> None:
    """StoreError (exit 2) if `out` lies inside `store`: no command writes into a store it reads."""
    s, o = Path(store).resolve(), Path(out).resolve()
    if o == s or s in o.parents:
        raise st.StoreError(f"{option} {out}: inside the store {store}; write it outside the store")


def run_faults(store: str | Path) -> list[tuple[int, str]]:
    """(run, message) of every verified run with a plugin fault, in run order: each failing
    policy, event or indicator in words, as stored with the run."""
    g, health = st.open_checked(store)
    fault = np.asarray(g["fault"][:])
    return [(int(r), str(fault[r])) for r in np.nonzero(health.done & (fault != ""))[0]]


def summarize(store: str | Path, years: Iterable[float] | None = None) -> Summary:
    """Statistics of the ok runs. Verifies the store first: raises StoreDamaged (naming the
    runs and how to repair them) rather than summarising runs whose chunks are damaged."""
    import pandas as pd

    g = st.open_store(store)
    health = verified(g, store)
    pols = list(g.attrs["policies"])
    P = len(pols)
    times = np.asarray(g["time"][:])
    tis = years_index(times, years, g.attrs)
    status = health.status.reshape(-1, P)
    ok = status == st.STATUS_OK
    tiers = [str(t) for t in g["tier"][:]]
    stats_rows, win_rows = [], []
    better_of = st.plugin_better(g)
    plugin = {n: better_of[n] for n in st.plugin_indicators(g) if "region" not in g[n].metadata.dimension_names}
    for name, better in {**BETTER, **plugin}.items():
        if name not in g:
            continue
        a = g[name]
        for ti in tis:
            raw = np.asarray(a[:, ti])  # (runs,) or (runs, S)
            cols = [(name, raw)] if raw.ndim == 1 else [
                (f"{name}[{t}]", raw[:, s]) for s, t in enumerate(tiers)]
            for label, v in cols:
                v = v.reshape(-1, P)
                for p, pol in enumerate(pols):
                    x = v[ok[:, p], p]
                    q = np.quantile(x, [0.05, 0.5, 0.95]) if len(x) else [np.nan] * 3
                    stats_rows.append((label, times[ti], pol, len(x), q[1], q[0], q[2]))
                if not better:
                    continue
                for i, pa in enumerate(pols):
                    for j, pb in enumerate(pols):
                        if i == j:
                            continue
                        both = ok[:, i] & ok[:, j]
                        n = int(both.sum())
                        share = float((better * (v[both, i] - v[both, j]) > 0).mean()) if n else np.nan
                        win_rows.append((label, times[ti], pa, pb, n, share))
    stats = pd.DataFrame(stats_rows, columns=["indicator", "year", "policy", "n", "median", "p5", "p95"])
    wins = pd.DataFrame(win_rows, columns=["indicator", "year", "a", "b", "n", "share"])
    failed = {pol: int((~ok[:, p] & (status[:, p] != st.STATUS_PENDING)).sum()) for p, pol in enumerate(pols)}
    by_status = {pol: {s.name.lower(): int((status[:, p] == s).sum()) for s in RunStatus}
                 for p, pol in enumerate(pols)}
    pending = {pol: int((status[:, p] == st.STATUS_PENDING).sum()) for p, pol in enumerate(pols)}
    return Summary(stats, wins, status.shape[0], failed, by_status, pending, str(store))


def format_summary(s: Summary) -> str:
    """Plain-text tables: per policy median [p5, p95]; then win shares a over b."""
    out = []
    pols = list(dict.fromkeys(s.stats["policy"]))
    out.append(f"{s.n_units} samples x replicates, per policy; failed runs: "
               + ", ".join(f"{p} {n}" for p, n in s.failed.items()))
    for p, counts in s.by_status.items():
        causes = {k: n for k, n in counts.items() if k != "ok" and n}
        if causes:
            out.append(f"  {p}: " + ", ".join(f"{n} {k}" for k, n in causes.items()))
    if any(s.pending.values()):
        out.append(f"pending runs (not computed yet; gsim sweep --resume {s.store} computes them): "
                   + ", ".join(f"{p} {n}" for p, n in s.pending.items()))
    for year, st_y in s.stats.groupby("year", sort=True):
        out.append("")
        out.append(f"== {year:g}: median [5%, 95%] over ok runs ==")
        w = max(len(i) for i in st_y["indicator"]) + 2
        out.append(" " * w + "".join(f"{p:>34}" for p in pols))
        for ind, rows in st_y.groupby("indicator", sort=False):
            cells = []
            for p in pols:
                r = rows[rows["policy"] == p].iloc[0]
                cells.append(f"{_g(r['median'])} [{_g(r['p5'])}, {_g(r['p95'])}]")
            out.append(f"{ind:<{w}}" + "".join(f"{c:>34}" for c in cells))
        wy = s.wins[s.wins["year"] == year]
        if len(wy):
            out.append("")
            out.append(f"-- {year:g}: share of samples where row policy beats column policy "
                       "(higher real_gdp, sui, rd_share, margin; lower theil, overcapacity, "
                       "failed_transfer_share, lost_capital) --")
            for ind, rows in wy.groupby("indicator", sort=False):
                if "[" in ind:  # per-tier win shares: in Summary.wins / --csv only
                    continue
                out.append(f"{ind}:")
                out.append(" " * 16 + "".join(f"{p:>14}" for p in pols))
                for a in pols:
                    cells = []
                    for b in pols:
                        r = rows[(rows["a"] == a) & (rows["b"] == b)]
                        cells.append("-" if a == b else f"{r['share'].iloc[0]:.3f}")
                    out.append(f"  {a:<14}" + "".join(f"{c:>14}" for c in cells))
    return "\n".join(out) + "\n"


def _g(x: float) -> str:
    return "nan" if not np.isfinite(x) else f"{x:.4g}"


# ----------------------------------------------------------------------------------------
# export
# ----------------------------------------------------------------------------------------
def _portable(ds):
    """String coordinates as object strings, booleans as int8 (netCDF-4 classic-safe)."""
    for name in list(ds.variables):
        v = ds[name]
        if v.dtype.kind in "TO":  # labels (at most one per run): loaded as fixed-width strings
            fixed = v.copy(data=np.asarray(v.values).astype(object).astype(str))
            fixed.encoding = {}  # not the store's StringDType
            ds = ds.assign_coords({name: fixed}) if name in ds.coords else ds.assign({name: fixed})
        elif v.dtype == bool:
            ds = ds.assign_coords({name: v.astype("i1")}) if name in ds.coords else ds.assign({name: v.astype("i1")})
    attrs = {}
    for k, v in ds.attrs.items():
        attrs[k] = ", ".join(map(str, v)) if isinstance(v, (list, tuple)) else v
    ds.attrs = attrs
    return ds


def export_netcdf(store: str | Path, path: str | Path) -> None:
    """The whole store as one netCDF-4 file, written chunk by chunk (after verifying it), to a
    temporary file renamed to `path` when complete."""
    outside(store, path, "--netcdf")
    ds = _portable(st.open_sweep(store, layout="flat"))
    write_netcdf(ds, path)


def export_csv(store: str | Path, path: str | Path) -> int:
    """One row per (run, time). Columns, in this order whatever order the store lists them in:
    `run`, sample, replicate, policy, status, done, then the other per-run values (the sampled
    inputs among them) by name, the per-region inputs as `name[region]` (by name, regions in
    order), `time`, then every saved variable in the order of the variable table
    (gsim.model.layout.VARIABLES; plugin indicators after, by name), per-region/tier ones as
    `name[region]`, `name[tier]`, `name[region,tier]` columns. Written one chunk of runs at
    a time (after verifying the store); returns the number of rows."""
    import pandas as pd

    outside(store, path, "--csv")
    ds = st.open_sweep(store, layout="flat")  # verified: runs not verified done are not ok
    chunk = int(st.open_store(store)["status"].chunks[0])  # one block of runs at a time
    n = ds.sizes["run"]
    times = ds["time"].values
    regions = [str(r) for r in ds["region"].values]
    tiers = [str(t) for t in ds["tier"].values]
    first = ("sample", "replicate", "policy", "status", "done")
    per_run = [str(c) for c in ds.coords if ds[c].dims == ("run",) and c != "run"]
    per_run += [str(v) for v in ds.data_vars if ds[v].dims == ("run",)]
    run_vars = sorted(per_run, key=lambda c: (first.index(c) if c in first else len(first), c))
    region_inputs = sorted(str(c) for c in ds.coords if ds[c].dims == ("run", "region"))
    table = list(VARIABLES)
    data_vars = sorted((str(v) for v in ds.data_vars if ds[v].dims[:2] == ("run", "time")),
                       key=lambda v: (table.index(v) if v in table else len(table), v))
    rows = 0
    with atomic_write(path) as tmp, open(tmp, "w", newline="") as fh:
        for r0 in range(0, n, chunk):
            part = ds.isel(run=slice(r0, r0 + chunk)).load()
            m = part.sizes["run"]
            T = len(times)
            cols: dict[str, np.ndarray] = {"run": np.repeat(part["run"].values, T)}
            for c in run_vars:
                vals = part[c].values
                cols[c] = np.repeat(vals.astype(object) if vals.dtype.kind == "T" else vals, T)
            for c in region_inputs:
                for i, r in enumerate(regions):
                    cols[f"{c}[{r}]"] = np.repeat(part[c].values[:, i], T)
            cols["time"] = np.tile(times, m)
            for v in data_vars:
                arr = part[v].values
                dims = part[v].dims[2:]
                if not dims:
                    cols[v] = arr.reshape(-1)
                    continue
                labels = [regions if d == "region" else tiers for d in dims]
                flat = arr.reshape(m * T, -1)
                names = ([f"{v}[{a}]" for a in labels[0]] if len(dims) == 1
                         else [f"{v}[{a},{b}]" for a in labels[0] for b in labels[1]])
                for k, nm in enumerate(names):
                    cols[nm] = flat[:, k]
            df = pd.DataFrame(cols)
            df.to_csv(fh, header=(r0 == 0), index=False)
            rows += len(df)
    return rows
