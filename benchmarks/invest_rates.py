"""The experimental GTM-2 mechanism "provincial investment rates" (region r invests σ·s_r^ω_I,
s_r its observed GFCF / GDP over the national mean, src/gsim/data/china31_investment.csv):
the backcast fit and the forward run at the default inputs for several ω_I.

    PYTHONPATH=src python benchmarks/invest_rates.py [--year Y] [OMEGA ...]   (default 0 0.25 0.5 1)

--year Y takes s_r from data year Y for every run (a diagnostic: `--year 2017` gives the
backcast the investment rates of 2017, which it could not know in 2013).

Columns as in docs/validation.md "Mechanisms", plus the macro-regions' 2023 GDP shares
(model / observed, %), the aggregate investment factor at each run's start (Σ_r gdp_r s_r^ω /
Σ_r gdp_r with the start year's GDP: the national investment share over σ·maturity), the
number of provinces whose GDP-share change 2013-2023 has the observed sign and the rank
correlation of the provinces' GDP growth 2013-2023, model against data.
"""

from __future__ import annotations

import sys

import numpy as np

import gsim
from gsim.analysis.backcast import backcast, backcast_scenario
from gsim.analysis.plausibility import ssp_envelope

MACRO = ("East", "Central", "West", "Northeast")


def measure(omega: float) -> str:
    sc = gsim.load_scenario().with_overrides(province_investment=omega)
    bsc = backcast_scenario(sc)
    b = backcast(bsc)
    ds = gsim.simulate(sc, policy="market")
    fit = lambda series, stat: float(b.fit.sel(series=series, statistic=stat))  # noqa: E731
    g = ds.real_gdp.values
    ssp = ssp_envelope(2023, 2050).population
    pop = ds.labor_force.isel(time=-1) * np.exp(-sc.params["n"] * (2050 - 2023)) / sc.params["lambda_LF"]
    inside = int(((pop.values >= ssp.min("ssp").values) & (pop.values <= ssp.max("ssp").values)).sum())
    end = b.macro_gdp_share_model.sel(time=2023.0)
    obs = b.macro_gdp_share_observed.sel(time=2023.0)
    macro = " ".join(f"{float(end.sel(macro_region=m)):5.2f}/{float(obs.sel(macro_region=m)):5.2f}" for m in MACRO)
    share_m, share_o = b.gdp_share_model, b.gdp_share_observed
    dm = (share_m.sel(time=2023.0) - share_m.sel(time=2013.0)).values
    do = (share_o.sel(time=2023.0) - share_o.sel(time=2013.0)).values
    signs = int((np.sign(dm) == np.sign(do)).sum())
    factor = []
    for s in (bsc, sc):
        gdp = np.asarray(s.regions.gdp)
        factor.append(float((gdp * s.invest_rate ** omega).sum() / gdp.sum()))
    return (f"{omega:5.2f} {fit('gdp_share', 'skill'):+.2f} {fit('population_share', 'skill'):+.2f} "
            f"{fit('real_growth', 'bias'):+.2f} {fit('theil', 'bias'):+.3f} {fit('macro_gdp_share', 'skill'):+.2f} "
            f"{g[-1] / g[0]:.2f} {inside:3d}  {macro}  {signs:2d}  {factor[0]:.3f} {factor[1]:.3f} "
            f"{fit('gdp_share', 'rank_correlation'):+.2f}")


def main(argv: list[str]) -> None:
    if argv[:1] == ["--year"]:
        import gsim.scenario.parsing as parsing
        from gsim.observed import investment_rate

        year = float(argv[1])
        parsing.investment_rate = lambda names, t0: investment_rate(names, year)  # type: ignore[attr-defined]
        argv = argv[2:]
    omegas = [float(a) for a in argv] or [0.0, 0.25, 0.5, 1.0]
    print("  ω_I  GDPsk  POPsk  grow  theil  macroSk 2050/23 in  macro GDP share 2023 model/obs "
          + " ".join(MACRO) + "  signs  factor2013 factor2023 rank", flush=True)
    for omega in omegas:
        print(measure(omega), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
