"""The `[match]` table of a scenario: targets, their variances and the wave settings.

A target is one number computed from a run's saved outputs (a growth rate, a share, the Theil
index or its slope, a utilisation), an observed value, an observation variance and a
model-discrepancy variance, each variance with a one-line reason. Observed values default to
the named observed panel (an xarray Dataset on (year, region) with ``gdp`` in bn CNY and
``population`` in million, see `observed_values`), so a scenario need not repeat the data.
Every problem is a one-line `FILE: match.field: reason` (MatchError).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from gsim.params import MAX_FILE_BYTES
from gsim.scenario import Scenario

KINDS: dict[str, str] = {
    "growth": "national real GDP growth rate a year over years [a, b] (fraction)",
    "gdp_share": "a region's (or a list of regions') share of nominal GDP at year y",
    "population_share": "a region's (or regions') share of the labour force at year y; the "
                        "observed population share stands for it (Lf = lambda_LF x population at t0)",
    "theil": "Theil index of GDP per labour-force member across regions at year y",
    "theil_slope": "least-squares slope a year of the Theil index over years [a, b]",
    "utilisation": "capacity utilisation at year y of one tier (or the mean over tiers)",
}
PANEL_SERIES = ("gdp", "population", "real_gdp")  # what targets read from a panel (observed_value)
USES = {"max": 1, "second_max": 2, "third_max": 3}
_TOP = ("cutoff", "use", "waves", "samples", "seed", "policy", "panel", "block_size", "margin", "targets")
_TARGET = ("kind", "name", "region", "year", "years", "tier", "value", "obs_sd", "obs_rel_sd",
           "obs_reason", "disc_sd", "disc_rel_sd", "disc_reason", "holdout")
# what each kind needs: year (one) or years (two)
_NEEDS_YEAR = ("gdp_share", "population_share", "theil", "utilisation")
_NEEDS_RANGE = ("growth", "theil_slope")
SAVE = ("real_gdp", "theil", "gdp", "labor_force", "utilization")  # the outputs targets read


class MatchError(ValueError):
    """A bad `[match]` table or match option; the message is one line."""


@dataclass(frozen=True)
class Target:
    """One history-matching target: what is computed, against which observation."""

    name: str
    kind: str
    value: float  # the observed value z
    obs_var: float  # observation variance
    disc_var: float  # model-discrepancy variance
    obs_reason: str
    disc_reason: str
    regions: tuple[str, ...] = ()
    years: tuple[float, ...] = ()  # (y,) or (a, b)
    tier: str = ""
    holdout: bool = False


@dataclass(frozen=True)
class MatchSpec:
    """A validated `[match]` table (with options applied)."""

    targets: tuple[Target, ...]
    cutoff: float = 3.0
    use: str = "second_max"
    waves: int = 3
    samples: int = 1000
    seed: int = 20230101
    policy: str = "market"
    block_size: int = 64
    margin: float = 0.1  # box growth on each side, as a share of the survivors' range

    @property
    def used(self) -> tuple[Target, ...]:
        """Targets that rule out (not held out)."""
        return tuple(t for t in self.targets if not t.holdout)

    @property
    def held_out(self) -> tuple[Target, ...]:
        return tuple(t for t in self.targets if t.holdout)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str) -> MatchSpec:
        d = json.loads(text)
        d["targets"] = tuple(Target(**{**t, "regions": tuple(t["regions"]), "years": tuple(t["years"])})
                             for t in d["targets"])
        return cls(**d)

    def hash(self) -> str:
        return hashlib.sha256(self.to_json().encode()).hexdigest()


# ----------------------------------------------------------------------------------------
# validation
# ----------------------------------------------------------------------------------------
def _show(v: Any) -> str:
    text = repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


class _Ctx:
    def __init__(self, file: str):
        self.file = file

    def fail(self, fld: str, what: str):
        raise MatchError(" ".join(f"{self.file}: {fld}: {what}".split()))

    def keys(self, table: Mapping, allowed: Sequence[str], prefix: str) -> None:
        for k in table:
            if k not in allowed:
                close = difflib.get_close_matches(str(k), list(allowed), n=1)
                self.fail(f"{prefix}{k}", "unknown key" + (f" (did you mean '{close[0]}'?)" if close else ""))

    def number(self, v: Any, fld: str, *, positive: bool = False, nonneg: bool = False) -> float:
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(float(v)):
            self.fail(fld, f"expected a finite number, got {_show(v)}")
        if positive and v <= 0:
            self.fail(fld, f"must be > 0, got {v:g}")
        if nonneg and v < 0:
            self.fail(fld, f"must be >= 0, got {v:g}")
        return float(v)

    def integer(self, v: Any, fld: str, low: int = 1) -> int:
        if isinstance(v, bool) or not isinstance(v, int) or v < low:
            self.fail(fld, f"expected an integer >= {low}, got {_show(v)}")
        return int(v)

    def text(self, v: Any, fld: str) -> str:
        if not isinstance(v, str) or not v.strip():
            self.fail(fld, "expected a one-line reason (a non-empty string)")
        if "\n" in v.strip():
            self.fail(fld, "the reason must be one line")
        return v.strip()


def parse_match(sc: Scenario, options: Mapping[str, Any] | None = None, panel: Any = None) -> MatchSpec:
    """Validate the scenario's `[match]` table, `options` (waves, samples, seed, cutoff, use,
    block_size, policy) on top. `panel`: the observed Dataset for targets without `value`
    (default: the table's `panel`, loaded by `load_panel`)."""
    ctx = _Ctx(sc.source)
    raw = dict(sc.match or {})
    if not raw.get("targets"):
        ctx.fail("match.targets", "the scenario has no history-matching targets (add [[match.targets]] rows)")
    ctx.keys(raw, _TOP, "match.")
    over = {k: v for k, v in (options or {}).items() if v is not None}
    for k in over:
        if k not in _TOP or k == "targets":
            raise MatchError(f"unknown match option {k!r}")
    merged = {**raw, **over}
    sweep_seed = (sc.sweep or {}).get("seed", MatchSpec.seed)
    cutoff = ctx.number(merged.get("cutoff", 3.0), "match.cutoff", positive=True)
    use = merged.get("use", "second_max")
    if use not in USES:
        ctx.fail("match.use", f"must be one of {', '.join(USES)}, got {_show(use)}")
    waves = ctx.integer(merged.get("waves", 3), "match.waves")
    samples = ctx.integer(merged.get("samples", 1000), "match.samples", low=2)
    seed = ctx.integer(merged.get("seed", sweep_seed), "match.seed", low=0)
    block = ctx.integer(merged.get("block_size", 64), "match.block_size")
    margin = ctx.number(merged.get("margin", 0.1), "match.margin", nonneg=True)
    policy = merged.get("policy", sc.run.policy)
    if not isinstance(policy, str) or policy not in sc.policy_params:
        ctx.fail("match.policy", f"unknown policy {_show(policy)} (known: {', '.join(sorted(sc.policy_params))})")
    rows = raw["targets"]
    if not isinstance(rows, list):
        ctx.fail("match.targets", "expected an array of tables ([[match.targets]])")
    if panel is None and any(isinstance(r, dict) and "value" not in r for r in rows):
        panel = load_panel(ctx, merged.get("panel"), sc)
    targets = tuple(_target(ctx, sc, i, r, panel) for i, r in enumerate(rows))
    names = [t.name for t in targets]
    for i, n in enumerate(names):
        if n in names[:i]:
            ctx.fail(f"match.targets[{i}].name", f"duplicate target name {n!r}")
    used = sum(not t.holdout for t in targets)
    if used < USES[use]:
        ctx.fail("match.use", f"{use} needs at least {USES[use]} targets that are not held out, got {used}")
    return MatchSpec(targets, cutoff, use, waves, samples, seed, policy, block, margin)


def _target(ctx: _Ctx, sc: Scenario, i: int, r: Any, panel: Any) -> Target:
    fld = f"match.targets[{i}]"
    if not isinstance(r, dict):
        ctx.fail(fld, "expected a table")
    ctx.keys(r, _TARGET, f"{fld}.")
    kind = r.get("kind")
    if kind not in KINDS:
        ctx.fail(f"{fld}.kind", f"unknown target kind {_show(kind)} (known: {', '.join(KINDS)})")
    regions: tuple[str, ...] = ()
    if kind in ("gdp_share", "population_share"):
        reg = r.get("region")
        regions = (reg,) if isinstance(reg, str) else tuple(reg) if isinstance(reg, list) else ()
        if not regions or not all(isinstance(x, str) for x in regions):
            ctx.fail(f"{fld}.region", f"{kind} needs a region name or a list of them")
        for k, x in enumerate(regions):
            if x in regions[:k]:
                ctx.fail(f"{fld}.region", f"region {x!r} appears twice (a share counts each region once)")
            if x not in sc.regions.name:
                close = difflib.get_close_matches(x, list(sc.regions.name), n=1)
                ctx.fail(f"{fld}.region", f"unknown region {x!r}" + (f" (did you mean '{close[0]}'?)" if close else ""))
    elif "region" in r:
        ctx.fail(f"{fld}.region", f"a {kind} target is national: no region")
    times = sc.run.t0 + np.arange(0, round((sc.run.t1 - sc.run.t0) / sc.run.save_every) + 1) * sc.run.save_every
    span = f"the run saves years {sc.run.t0:g}-{sc.run.t1:g} every {sc.run.save_every:g}"

    def year(v: Any, f: str) -> float:
        y = ctx.number(v, f)
        if not np.isclose(times, y, rtol=0, atol=1e-9).any():
            ctx.fail(f, f"year {y:g} is outside the run or not a saved year ({span})")
        return y

    if kind in _NEEDS_YEAR:
        if "years" in r:
            ctx.fail(f"{fld}.years", f"{kind} takes one year (year = ...)")
        years: tuple[float, ...] = (year(r.get("year"), f"{fld}.year"),)
    else:
        if "year" in r:
            ctx.fail(f"{fld}.year", f"{kind} takes a range (years = [a, b])")
        yy = r.get("years")
        if not isinstance(yy, list) or len(yy) != 2:
            ctx.fail(f"{fld}.years", f"{kind} needs years = [a, b], got {_show(yy)}")
        years = (year(yy[0], f"{fld}.years[0]"), year(yy[1], f"{fld}.years[1]"))
        if not years[0] < years[1]:
            ctx.fail(f"{fld}.years", f"a must be before b, got {years[0]:g}, {years[1]:g}")
    tier = r.get("tier", "")
    if tier and (kind != "utilisation" or tier not in sc.tiers):
        ctx.fail(f"{fld}.tier", f"tier applies to utilisation only, one of {', '.join(sc.tiers)}; got {_show(tier)}")
    holdout = r.get("holdout", False)
    if not isinstance(holdout, bool):
        ctx.fail(f"{fld}.holdout", f"expected true or false, got {_show(holdout)}")
    name = r.get("name") or default_name(kind, regions, years, tier)
    if not isinstance(name, str) or not name.strip() or not name.isprintable():  # it is printed in tables
        ctx.fail(f"{fld}.name", f"expected a one-line printable name, got {_show(name)}")
    if "value" in r:
        value = ctx.number(r["value"], f"{fld}.value")
    else:
        value = observed_value(ctx, f"{fld}.value", panel, kind, regions, years, tuple(sc.regions.name))
    obs_var = _variance(ctx, r, f"{fld}", "obs", value)
    disc_var = _variance(ctx, r, f"{fld}", "disc", value)
    if obs_var + disc_var <= 0:
        ctx.fail(f"{fld}.obs_sd", "observation and discrepancy variances are both 0: the implausibility "
                                  "is undefined; give a positive sd")
    return Target(name, kind, value, obs_var, disc_var, ctx.text(r.get("obs_reason"), f"{fld}.obs_reason"),
                  ctx.text(r.get("disc_reason"), f"{fld}.disc_reason"), regions, years, tier, holdout)


def _variance(ctx: _Ctx, r: Mapping, fld: str, which: str, value: float) -> float:
    """obs_sd / disc_sd (absolute, the target's units) or obs_rel_sd / disc_rel_sd (a fraction
    of |observed value|); squared. NaN or negative is an error."""
    sd, rel = r.get(f"{which}_sd"), r.get(f"{which}_rel_sd")
    if sd is not None and rel is not None:
        ctx.fail(f"{fld}.{which}_sd", f"give {which}_sd or {which}_rel_sd, not both")
    if sd is None and rel is None:
        ctx.fail(f"{fld}.{which}_sd", f"missing: give {which}_sd (target units) or {which}_rel_sd (fraction)")
    key = f"{which}_sd" if sd is not None else f"{which}_rel_sd"
    v = ctx.number(sd if sd is not None else rel, f"{fld}.{key}", nonneg=True)
    sd_abs = v if sd is not None else v * abs(value)
    if not math.isfinite(sd_abs * sd_abs):
        ctx.fail(f"{fld}.{key}", f"too large: the variance {sd_abs:g}^2 is not a finite number")
    return sd_abs * sd_abs


def default_name(kind: str, regions: Sequence[str], years: Sequence[float], tier: str = "") -> str:
    where = "+".join(regions) + ":" if regions else (tier + ":" if tier else "")
    when = "-".join(f"{y:g}" for y in years)
    return f"{kind}[{where}{when}]"


# ----------------------------------------------------------------------------------------
# the observed panel
# ----------------------------------------------------------------------------------------
def load_panel(ctx: _Ctx, name: Any, sc: Scenario) -> Any:
    """The observed panel: `panel = "PATH.nc"` (a netCDF file, relative to the scenario file),
    or a name (default "default") passed to `gsim.observed.load_panel`."""
    import importlib
    from pathlib import Path

    if name is not None and not isinstance(name, str):
        ctx.fail("match.panel", f"expected a panel name or a netCDF path, got {_show(name)}")
    if name and name.endswith(".nc"):
        import xarray as xr

        path = Path(name)
        if not path.is_absolute() and sc.source not in ("<default>", "<string>"):
            path = Path(sc.source).parent / path
        try:
            with xr.open_dataset(path) as ds:  # lazily: only the series a target reads are loaded
                keep = [v for v in PANEL_SERIES if v in ds.data_vars]
                size = sum(ds[v].nbytes for v in keep)
                panel = ds[keep].load() if size <= MAX_FILE_BYTES else None
        except (OSError, ValueError) as e:
            ctx.fail("match.panel", f"cannot read {path}: {' '.join(str(e).split())[:120]}")
        if panel is None:
            ctx.fail("match.panel", f"{path}: its {', '.join(keep)} hold {size} bytes, above the limit of "
                                    f"{MAX_FILE_BYTES} (MAX_FILE_BYTES)")
        return panel
    try:
        observed = importlib.import_module("gsim.observed")
    except ImportError:
        ctx.fail("match.panel", "no observed panel is installed (gsim.observed); give each target a value")
    try:
        if name and name != "default":
            return observed.load_panel(name)
        panel = observed.load_panel()  # with the national real GDP series, for growth targets
        return panel.assign(real_gdp=observed.load_national().real_gdp.reindex(year=panel.year))
    except (OSError, ValueError, TypeError) as e:
        ctx.fail("match.panel", f"cannot load panel {name or 'default'!r}: {' '.join(str(e).split())[:120]}")


def observed_value(ctx: _Ctx, fld: str, panel: Any, kind: str, regions: Sequence[str],
                   years: Sequence[float], world: Sequence[str] = ()) -> float:
    """A target's observed value from the panel (dims year, region; gdp, population; optional
    real_gdp). Growth needs real GDP, which nominal GDP is not: without `real_gdp` in the panel
    a growth target must give its value. Shares and the Theil index are taken over the regions
    of `world` (the scenario's; default: the panel's), as the model's are: the panel must have
    each of them, and its other regions are left out."""
    if panel is None:
        ctx.fail(fld, "missing, and no observed panel was given")

    def get(var: str, y: float) -> Any:
        if var not in panel:
            ctx.fail(fld, f"the observed panel has no {var!r} (give value = ...)")
        da = panel[var]
        want = {"year", "region"}
        if not ("year" in da.dims and set(da.dims) <= want and (var == "real_gdp" or set(da.dims) == want)):
            ctx.fail(fld, f"the observed panel's {var} has dims {tuple(map(str, da.dims))}, not (year, region)")
        for dim in da.dims:
            index = da.indexes.get(dim)
            if index is not None and not index.is_unique:
                twice = np.asarray(index[index.duplicated()])[:1].tolist()[0]
                ctx.fail(fld, f"the observed panel's {dim} {twice!r} appears twice")
        try:
            da = da.sel(year=int(round(y)))
        except (KeyError, TypeError, ValueError):
            ctx.fail(fld, f"the observed panel has no year {y:g}")
        if "region" in da.dims:
            missing = [r for r in (*regions, *world) if r not in da["region"].values]
            if missing:
                ctx.fail(fld, f"the observed panel has no region {missing[0]!r}")
            da = da.sel(region=list(world)) if world else da
        # every value enters a share or a sum: one NaN or negative would be silently dropped or mixed in
        vals = np.asarray(da)
        if vals.dtype.kind not in "iuf":
            ctx.fail(fld, f"the observed panel's {var} holds {vals.dtype} values, not numbers")
        bad = np.flatnonzero(~(np.isfinite(vals) & (vals > 0)))
        if len(bad):
            where = f" in region {str(da['region'].values[bad[0]])!r}" if "region" in da.dims else ""
            ctx.fail(fld, f"the observed panel's {var} for {y:g} is {vals.flat[bad[0]]:g}{where}: "
                          "every value must be a positive finite number")
        return da

    def share(var: str, y: float) -> float:
        da = get(var, y)
        return float(da.sel(region=list(regions)).sum() / da.sum())

    if kind == "gdp_share":
        value = share("gdp", years[0])
    elif kind == "population_share":
        value = share("population", years[0])
    elif kind in ("theil", "theil_slope"):
        ys = [years[0]] if kind == "theil" else list(range(int(years[0]), int(years[1]) + 1))
        th = [panel_theil(np.asarray(get("gdp", y)), np.asarray(get("population", y))) for y in ys]
        value = th[0] if kind == "theil" else ols_slope(np.asarray(ys, float), np.asarray(th))
    elif kind == "growth":
        a, b = (float(np.asarray(get("real_gdp", y)).sum()) for y in years)
        value = (b / a) ** (1.0 / (years[1] - years[0])) - 1.0
    else:
        ctx.fail(fld, f"{kind} has no observed series in the panel; give value = ...")
    if not math.isfinite(value):
        ctx.fail(fld, f"the observed panel gives a non-finite {kind}")
    return value


def panel_theil(gdp: np.ndarray, pop: np.ndarray) -> float:
    """Theil index of GDP per person across regions, the model's formula (spec §10) with
    population in place of the labour force."""
    s, p = gdp / gdp.sum(), pop / pop.sum()
    return float(np.sum(s * np.log(s / p)))


def ols_slope(x: np.ndarray, y: np.ndarray) -> float:
    """Least-squares slope of y on x (the last axis)."""
    xc = x - x.mean()
    return np.sum(xc * (y - y.mean(axis=-1, keepdims=True)), axis=-1) / np.sum(xc * xc)
