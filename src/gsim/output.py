"""Results as CF-style xarray Datasets (the public data contract of spec §10) and provenance.

The variables, their dimensions, units and long names come from the one variable table,
`gsim.model.layout.VARIABLES`.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import functools
import glob
import os
import shutil
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from gsim._version import MODEL_NAMES, __version__
from gsim.groups import group_labels
from gsim.model.layout import VARIABLES
from gsim.params import MODEL_LABELS
from gsim.scenario import Scenario

if TYPE_CHECKING:
    import xarray as xr


def provenance(sc: Scenario, what: str, **extra: object) -> dict[str, object]:
    """The global attributes every output carries (a run's Dataset, a sweep store): CF
    conventions, title, gsim version, model revision, creation time, scenario and its hash;
    `extra` (None values dropped) adds what identifies the output further (policy, seed, ...)."""
    now = _dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    attrs: dict[str, object] = {
        "Conventions": "CF-1.10",
        "title": f"gsim {MODEL_LABELS[sc.model]} {what} of scenario {sc.name}",
        "source": f"gsim {__version__} ({MODEL_NAMES[sc.model]})",
        "model": sc.model,
        "history": f"{now} created by gsim {__version__}",
        "scenario": sc.name,
        "scenario_hash": sc.hash,
        "gsim_version": __version__,
    }
    attrs.update({k: v for k, v in extra.items() if v is not None})
    return attrs


REGION_GROUP_ATTRS = {
    "long_name": "sending or receiving region",
    "description": "sending: GDP per capita at t0 above the population-weighted mean (or listed in "
                   "scenario.sending); the same under every policy",
}


def region_coords(sc: Scenario) -> dict[str, tuple]:
    rg = sc.regions
    return {
        "region": ("region", list(rg.name), {"long_name": "region"}),
        "name_zh": ("region", list(rg.name_zh), {"long_name": "region name in Chinese"}),
        "macro_region": ("region", list(rg.macro_region), {"long_name": "macro-region"}),
        "lat": ("region", np.asarray(rg.lat, float),
                {"units": "degrees_north", "standard_name": "latitude"}),
        "lon": ("region", np.asarray(rg.lon, float),
                {"units": "degrees_east", "standard_name": "longitude"}),
        "region_group": ("region", group_labels(sc), REGION_GROUP_ATTRS),
        "tier": ("tier", list(sc.tiers), {"long_name": "industry tier, least to most sophisticated"}),
        # the columns the scenario declares ([scenario] region_attributes), for indicators
        **{col: ("region", list(values), {"long_name": f"{col} (regions table)"}) for col, values in rg.attributes},
    }


TIME_ATTRS = {"units": "year", "long_name": "calendar year (decimal)"}


def to_dataset(
    sc: Scenario,
    times: np.ndarray,
    values: Mapping[str, np.ndarray],
    attrs: Mapping[str, object],
) -> xr.Dataset:
    """One run's saved values (name -> (T, ...)) as a Dataset with units and long names.

    Built as a shallow copy of a remembered template with the same scenario, times and
    variables, given the new values: xarray's constructor aligns and indexes every variable
    (most of a warm `simulate` call's time), a copy with new data does neither."""
    names = tuple(name for name in VARIABLES if name in values)
    template = _template(sc, tuple(np.asarray(times, float)), names)
    ds = template.copy(deep=False, data={name: values[name] for name in names})
    ds.attrs = dict(attrs)
    return ds


@functools.lru_cache(maxsize=16)
def _template(sc: Scenario, times: tuple[float, ...], names: tuple[str, ...]) -> xr.Dataset:
    """A Dataset with the coordinates and variables (placeholder values) of a run's output.
    Its coordinate arrays are read-only: every Dataset copied from it shares them."""
    import xarray as xr  # imported here: the CLI's summary table needs no xarray

    size = {"time": len(times), "region": len(sc.regions), "tier": len(sc.tiers)}
    data_vars = {}
    for name in names:
        dims = ("time",) + VARIABLES[name].dims
        data_vars[name] = (dims, np.broadcast_to(np.nan, tuple(size[d] for d in dims)),
                           {"units": VARIABLES[name].units, "long_name": VARIABLES[name].long_name})
    coords = region_coords(sc)
    coords["time"] = ("time", np.asarray(times, float), TIME_ATTRS)
    ds = xr.Dataset(data_vars, coords=coords)
    for c in ds.coords.values():
        if isinstance(c.values, np.ndarray):
            c.values.flags.writeable = False
    return ds


def _os_error(e: OSError, path: str | Path) -> OSError:
    """`e` re-addressed to `path` (the file the user named, not a temporary one)."""
    reason = e.strerror or " ".join(str(e).split())
    if e.errno is None or e.errno == errno.EIO:
        with contextlib.suppress(OSError):  # a full disk often surfaces as a library's own error
            if os.statvfs(Path(path).parent or ".").f_bavail == 0:
                return OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
    return OSError(e.errno or errno.EIO, reason, str(path))


def _temporary_prefix(path: str | Path, tag: str) -> str:
    p = Path(path)
    return str(p.with_name(f".{p.name}.{tag}-"))


def temporary_name(path: str | Path, tag: str) -> Path:
    """`.NAME.TAG-PID` beside `path`: where this process builds `path` before renaming it
    (`leftovers` finds those of processes that are gone)."""
    return Path(_temporary_prefix(path, tag) + str(os.getpid()))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        pass
    return True


def leftovers(path: str | Path, tag: str) -> list[Path]:
    """The temporaries `.NAME.TAG-PID` beside `path` whose writing process (on this machine) is
    gone: what a writer killed outright (SIGKILL, power loss) leaves, with nothing to remove them
    but the next writer of the same name."""
    out = []
    for q in glob.glob(glob.escape(_temporary_prefix(path, tag)) + "*"):
        pid = q.rsplit("-", 1)[-1]
        if pid.isdigit() and not _alive(int(pid)):
            out.append(Path(q))
    return out


def remove_leftovers(path: str | Path, tag: str) -> None:
    """Remove `leftovers(path, tag)` (files or folders)."""
    for q in leftovers(path, tag):
        if q.is_dir() and not q.is_symlink():
            shutil.rmtree(q, ignore_errors=True)
        else:
            q.unlink(missing_ok=True)


def check_writable(path: str | Path) -> None:
    """Create (then remove) the temporary file `atomic_write` will use: a bad output path fails
    now, with its real reason, before any work is done."""
    p = Path(path)
    if p.is_dir():
        raise OSError(errno.EISDIR, os.strerror(errno.EISDIR), str(path))
    tmp = temporary_name(p, "tmp")
    try:
        with open(tmp, "wb"):
            pass
    except OSError as e:
        raise _os_error(e, path) from None
    tmp.unlink(missing_ok=True)


@contextlib.contextmanager
def atomic_write(path: str | Path) -> Iterator[Path]:
    """A temporary path next to `path`, renamed to `path` when the block succeeds and removed
    when it fails: a failure (full disk, Ctrl-C) never leaves a half-written `path`. Errors are
    OSErrors naming `path` and the operating system's reason."""
    p = Path(path)
    check_writable(p)
    remove_leftovers(p, "tmp")
    tmp = temporary_name(p, "tmp")
    try:
        yield tmp
        os.replace(tmp, p)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise _os_error(e, path) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_netcdf(ds: xr.Dataset, path) -> None:
    """netCDF4 file readable by xarray, netCDF4-python, R and Julia; written to a temporary
    file, then renamed. The netCDF library's own errors become OSErrors naming `path`."""
    with atomic_write(path) as tmp:
        try:
            ds.to_netcdf(tmp, engine="netcdf4")
        except OSError:
            raise
        except RuntimeError as e:  # netCDF4's errors ("NetCDF: HDF error") carry no errno
            raise OSError(None, f"cannot write netCDF ({' '.join(str(e).split())})", str(path)) from None
