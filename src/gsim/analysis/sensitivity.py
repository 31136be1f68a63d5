"""Which sampled inputs drive an indicator, or a paired policy difference, over time and region.

Two methods, both SALib's estimators (docs/analysis.md):

- ``sobol``: first-order (S1) and total (ST) Sobol' indices, ``SALib.analyze.sobol``, on a
  store written with the ``saltelli`` sampler (its N(D+2) samples are SALib's design rows).
  The estimator needs the complete design, so a store with a run that is not ok is refused.
- ``pawn``: the PAWN index (``SALib.analyze.pawn``: the median over 10 conditioning slides of
  the Kolmogorov-Smirnov distance between the output's conditional and unconditional
  distributions) from given data, for any store. Samples with a run that is not ok are left
  out. SALib gives no interval for PAWN: it comes from bootstrapping SALib's estimator over
  samples. An independent uniform dummy input gives the level a no-effect input reaches
  (PAWN is biased upwards in finite samples).

Intervals are ``z * sd`` of the bootstrap estimates (95 %), as SALib reports its ``*_conf``.
Replicates of a sample are averaged first (run-scope inputs act as noise), so indices refer to
the sample-scope inputs. Bootstrap resampling is seeded from the store's root seed.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Iterable, Sequence

import numpy as np

from gsim.analysis import select as sel
from gsim.sweeps import store as st
from gsim.sweeps.store import open_sweep

if TYPE_CHECKING:
    import xarray as xr

METHODS = ("sobol", "pawn")
CONF_LEVEL = 0.95
PAWN_SLIDES = 10
PAWN_MIN_SAMPLES = 5 * PAWN_SLIDES  # at least 5 samples per conditioning slide
# bootstrap resamples: SALib's default for sobol; fewer for pawn, whose every resample costs
# (inputs + 1) x 10 Kolmogorov-Smirnov tests (about 0.2 s at 1,000 samples and 12 inputs)
DEFAULT_RESAMPLES = {"sobol": 100, "pawn": 30}
_BOOT_KEY, _DUMMY_KEY, _SOBOL_KEY = 3, 4, 5  # SeedSequence spawn keys of the analysis streams


def sensitivity(
    store: str | Path,
    indicator: str,
    *,
    contrast: str | None = None,
    years: Iterable[float] | str | None = None,
    method: str | None = None,
    policies: str | Sequence[str] | None = None,
    labels: str | Sequence[str] | None = None,
    num_resamples: int | None = None,
) -> xr.Dataset:
    """Sensitivity indices of `indicator` to the sweep's sampled inputs.

    contrast: "A-B" analyses the paired difference A - B of two policies; otherwise each of
    `policies` (default: all) on its own, along a `policy` dimension. labels: only these
    regions (or tiers) of a per-region (per-tier) indicator. years: list, "all", or None for
    the sweep's report years. method: "sobol" (default for a saltelli store) or "pawn"
    (default otherwise). num_resamples: bootstrap resamples of the intervals (default:
    DEFAULT_RESAMPLES of the method).

    Returns a Dataset with dims (input[, policy], time[, region][, tier]): S1, S1_conf, ST,
    ST_conf (sobol) or PAWN, PAWN_conf, PAWN_dummy, PAWN_dummy_conf (pawn), and n_samples, the
    samples used. Raises AnalysisError for bad input, StoreError for a missing store.
    """
    import xarray as xr

    ds = open_sweep(store)
    da = sel.labels(sel.indicator(ds, indicator), labels)
    tis = sel.year_indices(ds, years)
    if contrast is not None:
        series: list[tuple[str, ...]] = [sel.contrast(ds, contrast)]
    else:
        series = [(p,) for p in sel.policies(ds, policies)]
    method = _method(ds, method)
    num_resamples = DEFAULT_RESAMPLES[method] if num_resamples is None else num_resamples
    if num_resamples < 2:
        raise sel.AnalysisError(f"num_resamples must be >= 2, got {num_resamples}")
    y_runs, ok_runs = sel.paired_values(ds, da, tis, series)
    y, ok = y_runs.mean(axis=1), ok_runs.all(axis=1)  # replicates averaged: (sample, series, time, ...)
    extra = tuple(str(d) for d in da.dims[4:])
    seed = int(ds.attrs["root_seed"])
    if method == "sobol":
        names = list(ds.attrs["saltelli_inputs"])
        out = _sobol(ds, names, y, ok, series, num_resamples, seed)
    else:
        names, X = _given_inputs(ds, da)
        out = _pawn(ds, names, X, y, ok, extra, num_resamples, seed)
    coords: dict[str, object] = {"input": names, "policy": ["-".join(s) for s in series],
                                 "time": ds["time"].values[tis]}
    coords.update({d: da[d].values for d in extra})
    dims = ("input", "policy", "time") + extra

    def dims_of(v: np.ndarray) -> tuple[str, ...]:  # (input, policy, ...), (policy, ...), (policy,)
        return dims[:v.ndim] if v.ndim == len(dims) else dims[1:1 + v.ndim]

    data_vars = {name: (dims_of(v), v, {"long_name": _LONG_NAMES[name]}) for name, v in out.items()}
    res = xr.Dataset(data_vars, coords=coords)
    res.time.attrs.update(ds.time.attrs)
    res.attrs.update({
        "indicator": indicator, "units": da.attrs.get("units", ""),
        "long_name": da.attrs.get("long_name", indicator), "method": method,
        "contrast": contrast or "", "conf_level": CONF_LEVEL, "num_resamples": num_resamples,
        "sampler": ds.attrs["sampler"], "samples": int(ds.sizes["sample"]),
        "replicates": int(ds.sizes["replicate"]), "root_seed": seed, "store": str(store),
    })
    if method == "pawn":
        res.attrs["pawn_slides"] = PAWN_SLIDES
    else:
        res.attrs["saltelli_base_samples"] = int(ds.attrs["saltelli_base_samples"])
    return res.isel(policy=0, drop=True) if contrast is not None else res


_LONG_NAMES = {
    "S1": "first-order Sobol index", "S1_conf": "half-width of the 95% interval of S1",
    "ST": "total Sobol index", "ST_conf": "half-width of the 95% interval of ST",
    "PAWN": "PAWN index (median KS distance over slides)",
    "PAWN_conf": "half-width of the 95% interval of PAWN",
    "PAWN_dummy": "PAWN index of an independent dummy input (the level of no effect)",
    "PAWN_dummy_conf": "half-width of the 95% interval of PAWN_dummy",
    "n_samples": "samples used (all their runs ok)",
}


def _method(ds: xr.Dataset, method: str | None) -> str:
    saltelli = ds.attrs["sampler"] == "saltelli"
    if method is None:
        return "sobol" if saltelli else "pawn"
    if method not in METHODS:
        raise sel.AnalysisError(f"unknown method {method!r} (one of {', '.join(METHODS)})")
    if method == "sobol" and not saltelli:
        raise sel.AnalysisError(f"sobol indices need a store written with --sampler saltelli "
                                f"(this one: {ds.attrs['sampler']}); use method pawn")
    return method


def _sobol(ds, names, y, ok, series, num_resamples, seed) -> dict[str, np.ndarray]:
    from SALib.analyze import sobol

    S, D = y.shape[0], len(names)
    n_base = int(ds.attrs["saltelli_base_samples"])
    if S != n_base * (D + 2):
        raise sel.AnalysisError(f"store attribute mismatch: {S} samples, expected N(D+2) = "
                                f"{n_base} x {D + 2} for a Saltelli design")
    for k, s in enumerate(series):
        if not ok[:, k].all():
            raise sel.AnalysisError(
                f"sobol indices need the complete Saltelli design, but {int((~ok[:, k]).sum())} of {S} "
                f"samples have a run under {' or '.join(s)} that is not ok ({_not_ok(ds, s)}); "
                "use method pawn, which leaves those samples out")
    problem = {"num_vars": D, "names": names}
    sobol_seed = int(np.random.SeedSequence(seed, spawn_key=(_SOBOL_KEY,)).generate_state(1)[0]) or 1
    shape = (D,) + y.shape[1:]
    out = {k: np.full(shape, np.nan) for k in ("S1", "S1_conf", "ST", "ST_conf")}
    for idx in np.ndindex(*y.shape[1:]):
        Y = y[(slice(None),) + idx]
        if np.ptp(Y) == 0:  # no variance (e.g. the first year): indices undefined
            continue
        Si = sobol.analyze(problem, Y, calc_second_order=False, num_resamples=num_resamples,
                           conf_level=CONF_LEVEL, seed=sobol_seed)
        for key in out:
            out[key][(slice(None),) + idx] = Si[key]
    out["n_samples"] = np.full(len(series), S)
    return out


def _not_ok(ds: xr.Dataset, pols: Sequence[str]) -> str:
    status = ds["status"].sel(policy=list(pols)).values
    kinds = {"failed": st.STATUS_FAILED, "invalid input": st.STATUS_INVALID, "pending": st.STATUS_PENDING}
    return ", ".join(f"{int((status == v).sum())} {k}" for k, v in kinds.items() if (status == v).any())


def _given_inputs(ds: xr.Dataset, da: xr.DataArray) -> tuple[list[str], np.ndarray]:
    """Sample-scope inputs as (sample, input, region of `da` or 1) values. A per-region input
    enters only for per-region outputs, as the region's own factor."""
    spec = sel.spec(ds)
    per_region = "region" in da.dims
    use = [u for u in spec.uncertain if u.scope == "sample" and (not u.per_region or per_region)]
    if not use:
        raise sel.AnalysisError("this store has no sampled inputs of scope sample to analyse")
    R = da.sizes.get("region", 1)
    cols = []
    for u in use:
        v = ds[u.target].isel(replicate=0)  # sample scope: the same for every replicate
        cols.append(v.sel(region=da["region"]).values if u.per_region else np.repeat(v.values[:, None], R, axis=1))
    return [u.target for u in use], np.stack(cols, axis=1)  # (sample, input, region or 1)


def _pawn(ds, names, X, y, ok, extra, num_resamples, seed) -> dict[str, np.ndarray]:
    from SALib.analyze import pawn

    S, D = y.shape[0], len(names)
    rows = np.ones(S, bool)
    if ds.attrs["sampler"] == "saltelli":  # given data: only the independent A and B rows
        pos = np.arange(S) % (len(ds.attrs["saltelli_inputs"]) + 2)
        rows = (pos == 0) | (pos == pos.max())
    dummy = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_DUMMY_KEY,))).random(S)
    names_d = names + ["(dummy)"]
    z = _z()
    shape = (D,) + y.shape[1:]
    out = {k: np.full(shape, np.nan) for k in ("PAWN", "PAWN_conf")}
    out["PAWN_dummy"] = np.full(y.shape[1:], np.nan)
    out["PAWN_dummy_conf"] = np.full(y.shape[1:], np.nan)
    n_used = np.zeros(y.shape[1], int)
    region_at = 2 + extra.index("region") if "region" in extra else None  # in idx: (series, time, ...)
    for idx in np.ndindex(*y.shape[1:]):
        use = rows & ok[:, idx[0]]
        n = int(use.sum())
        n_used[idx[0]] = n
        if n < PAWN_MIN_SAMPLES:
            raise sel.AnalysisError(f"pawn needs at least {PAWN_MIN_SAMPLES} samples whose runs are ok, "
                                    f"got {n} of {S}")
        Y = y[(use,) + idx]
        if np.ptp(Y) == 0:  # no variance (e.g. the first year): indices undefined
            continue
        r = idx[region_at] if region_at is not None else 0
        Xd = np.column_stack([X[use, :, r], dummy[use]])
        cols = np.flatnonzero(np.ptp(Xd, axis=0) > 0)  # a constant input cannot be sliced: NaN
        problem = {"num_vars": len(cols), "names": [names_d[c] for c in cols]}
        est = pawn.analyze(problem, Xd[:, cols], Y, S=PAWN_SLIDES)["median"]
        boot = np.array([pawn.analyze(problem, Xd[b][:, cols], Y[b], S=PAWN_SLIDES)["median"]
                         for b in _bootstrap(seed, n, num_resamples)])
        full, conf = np.full(D + 1, np.nan), np.full(D + 1, np.nan)
        full[cols], conf[cols] = est, z * boot.std(axis=0, ddof=1)
        out["PAWN"][(slice(None),) + idx] = full[:D]
        out["PAWN_conf"][(slice(None),) + idx] = conf[:D]
        out["PAWN_dummy"][idx], out["PAWN_dummy_conf"][idx] = full[D], conf[D]
    out["n_samples"] = n_used
    return out


@functools.lru_cache(maxsize=8)
def _bootstrap(seed: int, n: int, b: int) -> np.ndarray:
    """b bootstrap resamples (rows with replacement) of n samples, the same for every series."""
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(_BOOT_KEY,)))
    return rng.integers(n, size=(b, n))


def _z() -> float:
    from scipy.stats import norm

    return float(norm.ppf(0.5 + CONF_LEVEL / 2))
