"""The history-match store (Zarr v3) and the NROY points a sweep can run on.

One group, written whole when the match ends, built under ``.NAME.creating-PID`` and renamed,
so an interrupted match leaves no store. Dims: ``point`` (every point of every wave, in
order), ``target``, ``input``, ``wave``. Attributes: provenance (version, scenario and its
hash), ``config_hash``, ``root_seed``, ``match_spec`` and ``sweep_spec`` (JSON),
``scenario_toml``, ``format`` = gsim-match-1. ``checksum`` holds per point a 64-bit hash of its
row of every point array (as the sweep store's checksums). The attribute ``tables_sha256``
maps each per-target and per-wave array (TABLE_ARRAYS, checked in that order) to a sha256 of
its name, dtype, shape and little-endian values, so a damaged store names the first array
that changed. A store without it (written before the digest existed) opens with its points
checked only: refusing would strand every existing store, and the digests guard against
damage, not against deliberate edits (whoever edits a store can recompute them).
See docs/matching.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from gsim.matching.carry import carried_inputs
from gsim.matching.targets import MatchError, MatchSpec
from gsim.matching.waves import MatchResult, prior_fifths
from gsim.output import provenance, remove_leftovers, temporary_name
from gsim.scenario import Scenario, ScenarioError, load_scenario, loads_scenario
from gsim.sweeps.engine import SweepReport
from gsim.sweeps.engine import sweep as run_sweep
from gsim.sweeps.spec import NROY, SweepSpec, parse_spec
from gsim.sweeps.store import run_checksums

FORMAT = "gsim-match-1"
POINT_ARRAYS = ("point_wave", "unit", "inputs", "model", "ens_var", "implausibility", "measure", "nroy", "status")
TABLE_ARRAYS = ("observed", "obs_var", "disc_var", "holdout", "holdout_q05", "holdout_q95", "holdout_covered",
                "holdout_implausibility", "runs", "survivors", "nroy_share", "min_implausibility", "at_edge",
                "box_low", "box_high")
TABLES_DIGEST = "tables_sha256"


def config_hash(pb_scenario: Scenario, match: MatchSpec, sweep: SweepSpec) -> str:
    """sha256 of what determines a match: scenario, match spec, inputs and run settings."""
    run = pb_scenario.run
    doc = {"scenario_hash": pb_scenario.hash, "match": json.loads(match.to_json()), "sweep": sweep.canonical(),
           "run": [run.t0, run.t1, run.dt, run.save_every, run.policy_period, run.method]}
    return hashlib.sha256(json.dumps(doc, sort_keys=True, default=list).encode()).hexdigest()


def table_digests(arrays: Mapping[str, Any]) -> dict[str, str]:
    """sha256 of each of TABLE_ARRAYS (its name, dtype, shape and little-endian values), in
    that order: what `tables_sha256` holds."""
    out = {}
    for name in TABLE_ARRAYS:
        a = np.asarray(arrays[name])
        a = np.ascontiguousarray(a, dtype=a.dtype.newbyteorder("<"))
        if a.dtype.kind == "f":  # one NaN: a reader may return another NaN bit pattern
            a = np.where(np.isnan(a), np.nan, a).astype(a.dtype)
        h = hashlib.sha256(json.dumps([name, a.dtype.str, list(a.shape)]).encode())
        h.update(a.tobytes())
        out[name] = h.hexdigest()
    return out


def to_dataset(res: MatchResult):
    """The match as an xarray Dataset (what the store holds)."""
    import xarray as xr

    pb = res.problem
    m, sc = pb.match, pb.scenario
    W = res.waves
    cat = np.concatenate
    units = cat([w.units for w in W])
    inputs = np.column_stack([u.ppf(units[:, j]) for j, u in enumerate(pb.sweep.design)])
    band = res.holdout_band()
    q = np.array([[band[t.name][1], band[t.name][2]] if t.holdout else [np.nan, np.nan] for t in m.targets])
    covered = np.array([bool(band[t.name][3]) if t.holdout else False for t in m.targets])
    held = res.holdout_implausibility()
    imp = np.array([held[t.name] if t.holdout else np.nan for t in m.targets])
    pt, tg, ip = ("point",), ("point", "target"), ("point", "input")
    data: dict[str, tuple[Any, ...]] = {
        "point_wave": (pt, cat([np.full(w.runs, w.number, np.int16) for w in W]),
                       {"long_name": "wave the point was sampled in"}),
        "unit": (ip, units, {"long_name": "uniform (prior CDF) coordinates of the point"}),
        "inputs": (ip, inputs, {"long_name": "input values (a factor where the input is applied as scale)"}),
        "model": (tg, cat([w.evaluation.model for w in W]),
                  {"long_name": "model value of the target (mean over replicates)"}),
        "ens_var": (tg, cat([w.evaluation.ens_var for w in W]), {"long_name": "ensemble (replicate) variance"}),
        "implausibility": (tg, cat([w.imp for w in W]), {"long_name": "implausibility of the target"}),
        "measure": (pt, cat([w.measure for w in W]),
                    {"long_name": f"{m.use} implausibility over the targets used"}),
        "nroy": (pt, cat([w.nroy for w in W]), {"long_name": "not ruled out yet"}),
        "status": (pt, cat([w.evaluation.status for w in W]), {"long_name": "1 ok, 2 failed, 3 invalid input"}),
        "observed": (("target",), np.array([t.value for t in m.targets]), {"long_name": "observed value z"}),
        "obs_var": (("target",), np.array([t.obs_var for t in m.targets]), {"long_name": "observation variance"}),
        "disc_var": (("target",), np.array([t.disc_var for t in m.targets]), {"long_name": "model-discrepancy variance"}),
        "holdout": (("target",), np.array([t.holdout for t in m.targets]), {"long_name": "held out: not used to rule out"}),
        "holdout_q05": (("target",), q[:, 0], {"long_name": "5 % of the NROY sample's model values"}),
        "holdout_q95": (("target",), q[:, 1], {"long_name": "95 % of the NROY sample's model values"}),
        "holdout_covered": (("target",), covered, {"long_name": "observed value inside the NROY 5-95 % band"}),
        "holdout_implausibility": (("target",), imp, {
            "long_name": "implausibility of the observation against the NROY sample's prediction (its mean and "
                         "variance with the observation and discrepancy variances)"}),
        "runs": (("wave",), np.array([w.runs for w in W], np.int64), {"long_name": "points run in the wave"}),
        "survivors": (("wave",), np.array([w.survivors for w in W], np.int64), {"long_name": "points not ruled out"}),
        "nroy_share": (("wave",), np.array([w.nroy_share for w in W]), {"long_name": "share of the prior not ruled out"}),
        "min_implausibility": (("wave",), np.array([w.min_implausibility for w in W]),
                               {"long_name": f"smallest {m.use} implausibility"}),
        "at_edge": (("wave", "input"), np.array([w.at_edge() for w in W]),
                    {"long_name": "survivors within one stratum of an inner face of the wave's box"}),
        "box_low": (("wave", "input"), np.array([w.low for w in W]),
                    {"long_name": "box sampled, lower corner (uniform coordinates)"}),
        "box_high": (("wave", "input"), np.array([w.high for w in W]),
                     {"long_name": "box sampled, upper corner (uniform coordinates)"}),
    }
    arrays = {k: data[k][1] for k in POINT_ARRAYS}
    covers: dict[str, Any] = {"long_name": "blake2b 64-bit hash of the point's rows", "covers": list(POINT_ARRAYS)}
    data["checksum"] = (pt, run_checksums(arrays, POINT_ARRAYS), covers)
    text = np.dtypes.StringDType()  # variable-length strings, as in sweep stores
    coords = {"point": np.arange(len(units)), "target": np.array([t.name for t in m.targets], text),
              "input": np.array(pb.inputs, text), "wave": np.array([w.number for w in W], np.int64),
              "kind": ("target", np.array([t.kind for t in m.targets], text))}
    attrs = provenance(
        sc, "history match", config_hash=config_hash(sc, m, pb.sweep), root_seed=m.seed, format=FORMAT,
        **{TABLES_DIGEST: table_digests({k: data[k][1] for k in TABLE_ARRAYS})},
        cutoff=m.cutoff, use=m.use, policy=m.policy, waves_run=len(W), method=sc.run.method, dt=sc.run.dt,
        t0=sc.run.t0, t1=sc.run.t1, holdout_coverage=res.holdout_coverage(),
        holdout_consistent=res.holdout_consistent(), match_spec=m.to_json(),
        sweep_spec=pb.sweep.to_json(), scenario_toml=sc.toml)
    return xr.Dataset(data, coords=coords, attrs=attrs)


def write_store(res: MatchResult, path: str | Path) -> Path:
    """Write the match atomically (temporary name, then rename); refuses an existing path."""
    shown, path = str(path), Path(path)
    if path.exists() or path.is_symlink():
        raise MatchError(f"{shown} already exists; remove it or choose another --out")
    ds = to_dataset(res)
    remove_leftovers(path, "creating")  # a match killed outright (SIGKILL) left its temporary store
    tmp = temporary_name(path, "creating")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp, ignore_errors=True)
        ds.to_zarr(str(tmp), zarr_format=3, consolidated=False, mode="w-")
        os.rename(tmp, path)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return path


def damaged_points(ds) -> np.ndarray:
    """Points whose rows no longer hash to their stored checksum."""
    arrays = {k: ds[k].values for k in POINT_ARRAYS}
    return np.flatnonzero(run_checksums(arrays, POINT_ARRAYS) != ds["checksum"].values)


def _table_digest_attr(value: Any) -> None:
    """Parses `tables_sha256` if present (absent: a store from before the digest)."""
    if value is not None and (not isinstance(value, dict) or sorted(value) != sorted(TABLE_ARRAYS)
                              or not all(isinstance(v, str) for v in value.values())):
        raise ValueError(value)


def altered_table(ds) -> str | None:
    """The first of TABLE_ARRAYS (in order) that no longer has its digest in `tables_sha256`;
    None if all match or the store predates the digest."""
    stored = ds.attrs.get(TABLES_DIGEST)
    if stored is None:
        return None
    got = table_digests({k: ds[k].values for k in TABLE_ARRAYS})
    return next((k for k in TABLE_ARRAYS if got[k] != stored[k]), None)


def open_match(store: str | Path, verify: bool = True):
    """A match store as an xarray Dataset (loaded: it is small); with `verify`, every point
    is checked against its checksum and the per-target and per-wave arrays against
    `tables_sha256` (MatchError if any fails)."""
    import xarray as xr

    p = Path(store)
    if not p.exists():
        raise MatchError(f"{store}: no such match store")
    try:
        ds = xr.open_zarr(str(p), zarr_format=3, consolidated=False).load()
    except Exception as e:  # noqa: BLE001 - any failure means: not a readable store
        raise MatchError(f"{store}: not a readable Zarr store ({type(e).__name__})") from None
    if ds.attrs.get("format") != FORMAT:
        raise MatchError(f"{store}: not a gsim history-match store (format {ds.attrs.get('format')!r})")
    tables = TABLE_ARRAYS if TABLES_DIGEST in ds.attrs else ()  # stores from before the digest: not checked
    missing = [k for k in (*POINT_ARRAYS, "checksum", *tables) if k not in ds]
    if missing:
        raise MatchError(f"{store}: the array {missing[0]!r} is missing; the store is damaged, run the match again")
    for key, parse in (("sweep_spec", SweepSpec.from_json), ("scenario_toml", str.strip), ("policy", str.strip),
                       ("config_hash", str.strip), ("cutoff", float), (TABLES_DIGEST, _table_digest_attr)):
        try:
            parse(ds.attrs.get(key))  # None where absent: only the digest may be
        except Exception:  # noqa: BLE001 - any failure means: the attribute was removed or altered
            raise MatchError(f"{store}: attribute {key} is missing or unreadable; the store is damaged, "
                             "run the match again") from None
    if verify:
        bad = damaged_points(ds)
        if len(bad):
            raise MatchError(f"{store}: {len(bad)} points fail their checksums (first: point {bad[0]}); "
                             "the store is damaged, run the match again")
        altered = altered_table(ds)
        if altered:
            raise MatchError(f"{store}: the array {altered!r} does not match its digest in {TABLES_DIGEST}; "
                             "the store is damaged, run the match again")
    return ds


def nroy_sample(ds) -> Any:
    """The NROY sample: the last wave's points not ruled out (their inputs, by input)."""
    last = int(ds["point_wave"].max())
    keep = (ds["point_wave"] == last) & ds["nroy"]
    return ds["inputs"].isel(point=np.flatnonzero(keep.values))


def nroy_carried(ds, t: float) -> Any:
    """The NROY sample with the inputs of `gsim.matching.carry.CARRIED` at their values at time
    `t` of each point's own match run (the state a forward start at t inherits)."""
    pts = nroy_sample(ds)
    idx = pts["point"].values
    carried = carried_inputs(match_scenario(ds), SweepSpec.from_json(ds.attrs["sweep_spec"]), ds.attrs["policy"],
                             ds["unit"].values[idx], idx, t)
    out = pts.copy(data=pts.values.copy())
    for name, v in carried.items():
        out.loc[{"input": name}] = v
    return out


def nroy_prior_fifths(ds) -> Any:
    """(input, fifth) The NROY sample's share in each fifth of each input's prior
    (`gsim.matching.waves.prior_fifths`: 0.2 each where the match does not narrow the input)."""
    import xarray as xr

    idx = nroy_sample(ds)["point"].values
    return xr.DataArray(prior_fifths(ds["unit"].values[idx]), dims=("input", "fifth"),
                        coords={"input": ds["input"].values, "fifth": np.arange(1, 6)},
                        attrs={"long_name": "share of the NROY sample in each fifth of the input's prior"})


# ----------------------------------------------------------------------------------------
# a sweep on the NROY points
# ----------------------------------------------------------------------------------------
def nroy_spec(sc: Scenario, nroy_store: str | Path, options: Mapping[str, Any] | None = None,
              carry: bool = True) -> tuple[Scenario, SweepSpec]:
    """The scenario (its `[sweep.uncertain]` replaced by the match's inputs) and a spec whose
    samples are the stored NROY points (sampler "nroy"). `sc` may be another scenario than
    the match's (e.g. the forward one): the points are input values, applied to it by name.
    With `carry`, the frontier gap and the investment share are each point's values at `sc`'s
    start in its own match run (`nroy_carried`), not at the match's start."""
    opts = {k: v for k, v in (options or {}).items() if v is not None}
    for k in ("samples", "sampler"):
        if k in opts:
            raise MatchError(f"--{k} cannot be given with --from: the samples are the NROY points of {nroy_store}")
    ds = open_match(nroy_store)
    stored = SweepSpec.from_json(ds.attrs["sweep_spec"])
    try:
        pts = nroy_carried(ds, sc.run.t0) if carry else nroy_sample(ds)
    except (MatchError, ScenarioError) as e:  # the stored scenario is the match store's, not a file
        raise MatchError(f"{nroy_store}: {e}") from None
    if pts.sizes["point"] == 0:
        raise MatchError(f"{nroy_store}: no point is left in NROY: nothing to sweep")
    unc = {}
    for u in stored.uncertain:
        unc[u.target] = {"dist": u.dist, **{k: list(v) if isinstance(v, tuple) else v for k, v in u.args},
                         "apply": u.apply, "scope": u.scope, **({"per_region": True} if u.per_region else {})}
    sweep_tbl = {k: v for k, v in (sc.sweep or {}).items() if k not in ("uncertain", "sampler", "samples")}
    sc2 = dataclasses.replace(sc, sweep={**sweep_tbl, "uncertain": unc})
    base = parse_spec(sc2, {**opts, "samples": pts.sizes["point"], "sampler": "lhs"})
    order = [str(x) for x in pts["input"].values]
    design = [u.target for u in base.design]
    if order != design:
        raise MatchError(f"{nroy_store}: stored inputs {order} differ from the design {design}")
    points = tuple(tuple(float(x) for x in row) for row in pts.values)
    return sc2, dataclasses.replace(base, sampler=NROY, points=points)


def sweep_from_nroy(store: str | Path, nroy_store: str | Path, scenario: Scenario | str | Path | None = None,
                    options: Mapping[str, Any] | None = None, *, carry: bool = True, **kw: Any) -> SweepReport:
    """`gsim.sweep` on the NROY points of a match store: every point a sample, run under the
    sweep's policies (kw: executor, progress). The scenario defaults to the embedded one.
    carry: start each point from its own match run's frontier gap and investment share at the
    scenario's start (`nroy_spec`)."""
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    sc2, spec = nroy_spec(sc, nroy_store, options, carry)
    return run_sweep(store, sc2, None, spec=spec, **kw)


def match_scenario(ds) -> Scenario:
    """The scenario a match store was made from."""
    return loads_scenario(ds.attrs["scenario_toml"], source="<match store>")
