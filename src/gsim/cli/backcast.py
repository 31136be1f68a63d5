"""`gsim backcast`: the model started at a past year against the observed provincial panel."""

from __future__ import annotations

import click

from gsim.analysis import backcast as bc
from gsim.analysis import history_figures
from gsim.analysis.figures import save
from gsim.cli.base import (
    UsageFailure,
    check_output,
    fitted_console,
    load_scenario_or_fail,
    main,
    number_column,
    one_line,
    table,
    text_column,
    with_model,
)
from gsim.output import write_netcdf
from gsim.params import MODEL_LABELS, MODELS
from gsim.scenario import ScenarioError


@main.command("backcast")
@click.argument("scenario_file", required=False, metavar="[SCENARIO]")
@click.option("--samples", "-n", type=click.IntRange(min=0), default=0, show_default=True,
              help="Latin-hypercube ensemble over the scenario's [sweep.uncertain] table "
                   "(0: the scenario's own parameters, one run).")
@click.option("--seed", type=click.IntRange(min=0), default=None, help="Root seed of the ensemble.")
@click.option("--model", type=click.Choice(list(MODELS)), default=None,
              help="gtm1 or gtm2 [default: the scenario's].")
@click.option("--start", type=int, default=bc.START, show_default=True,
              help="First year (the regions file src/gsim/data/china31_<start>.csv gives its data).")
@click.option("--end", type=int, default=bc.END, show_default=True, help="Last year compared.")
@click.option("--figure", default=None, metavar="FILE",
              help="Draw observed against model per macro-region (.png or .svg); the provinces go to "
                   "FILE's name with '-provinces' added.")
@click.option("--out", "-o", type=click.Path(dir_okay=False), default=None,
              help="Write the comparison (observed and model, fit statistics) to this netCDF file.")
def backcast_command(scenario_file, samples, seed, model, start, end, figure, out) -> None:
    """Start SCENARIO (default: the embedded china31) at a past year from that year's data,
    run it to END under its business-as-usual policy, and compare it with the observed
    provincial panel: GDP and population shares, macro regions, Theil, national growth.

    \b
    Examples:
      gsim backcast
      gsim backcast --samples 200 --out backcast.nc
    """
    check_output("--figure", figure, (".png", ".svg"))
    check_output("--out", out)
    try:
        base = with_model(load_scenario_or_fail(scenario_file), model)
        sc = bc.backcast_scenario(base, start, end)
        with fitted_console().status("running the backcast…"):
            ds = bc.backcast(sc, samples=samples, seed=seed)
    except (ScenarioError, ValueError) as e:
        raise UsageFailure(one_line(e)) from None
    con = fitted_console()
    t0, t1 = int(ds.time.values[0]), int(ds.time.values[-1])
    tab = table(title=f"backcast {t0}-{t1}, {MODEL_LABELS[ds.attrs['model']]}, {ds.attrs['policy']}, "
                      f"{ds.attrs['runs_ok']} run(s)")
    text_column(tab, "series")
    text_column(tab, "units")
    for col in ("RMSE", "bias", "rank r", "cover", "skill"):
        number_column(tab, col)
    for row in bc.fit_table(ds):
        tab.add_row(*row)
    con.print(tab)
    con.print("RMSE, bias: model − observed after the start year (shares in percentage points); rank r: "
              "Spearman correlation of the provinces' growth; cover: share of observations inside the "
              "ensemble's 5-95 % band; skill: 1 − RMSE/RMSE of persistence (every province keeps its "
              "start-year share) in the last year, ≤ 0: no better than persistence.")
    for name, last in zip(ds.series.values.tolist(), ds.series_end.values.tolist(), strict=True):
        if last != t1:
            con.print(f"{name}: {t0 + 1}-{last}, the years its observations cover.")
    if out:
        write_netcdf(ds, out)
        con.print(f"wrote {out}")
    if figure:
        stem, dot, ext = figure.rpartition(".")
        save(history_figures.backcast_macro(ds), figure)
        save(history_figures.backcast_provinces(ds), f"{stem}-provinces{dot}{ext}")
        con.print(f"wrote {figure} and {stem}-provinces{dot}{ext}")
