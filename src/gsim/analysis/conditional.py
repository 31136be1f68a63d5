"""Conditional answers of a claim: which sampled input decides it, its share by terciles of
that input, and the PRIM box of inputs where it fails, in plain words.

The deciding input is the one with the largest PAWN index (Pianosi & Wagener 2015, 2018;
SALib's estimator from given data, `SALib.analyze.pawn`) of the claim's yes/no outcome: the
median, over slices of the input's range, of the Kolmogorov-Smirnov distance between the
outcome's distribution within the slice and over all samples. For a yes/no outcome that
distance is |share holding in the slice - share holding overall|, so the index says how far
fixing the input moves the share. The box is PRIM's
(`gsim.analysis.discovery.discover_cases`) on "the claim fails". See docs/claims.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gsim.analysis.claims import ClaimError, PairedStore, claim_outcome, select_claims
from gsim.analysis.discovery import Box, Discovery, discover_cases, inputs_frame
from gsim.analysis.sensitivity import PAWN_SLIDES
from gsim.sweeps.store import open_sweep

CONTESTED = (0.10, 0.90)  # a claim holding in a share of samples inside this range is contested
SLIDE_SAMPLES = 5  # at least this many samples per PAWN slice: fewer slices in a small sweep
_SPEC = re.compile(r"^\s*(?P<claim>\w+):(?P<pol>\w+)-(?P<base>\w+)\s*$")


def parse_claim_spec(spec: str) -> tuple[str, str, str]:
    """'efficiency:gradient-market' -> ('efficiency', 'gradient', 'market')."""
    m = _SPEC.match(spec)
    if not m:
        raise ClaimError(f"--claim {spec!r}: write CLAIM:POLICY-BASELINE, e.g. efficiency:gradient-market")
    return m["claim"], m["pol"], m["base"]


def claim_cases(store: str | Path, cid: str, policy: str, baseline: str,
                year: float | None = None) -> tuple[np.ndarray, np.ndarray, float]:
    """(holds, valid, year): per case (sample x replicate) whether claim `cid` holds for
    `policy` against `baseline` at `year` (default: the last of the sweep's years)."""
    c = select_claims([cid])[0]
    if policy == baseline:  # every paired change is 0: a verdict on nothing
        raise ClaimError(f"--claim {cid}:{policy}-{baseline}: compares a policy with itself")
    ps = PairedStore(store, None if year is None else [year], last_only=True)
    for p in (policy, baseline):
        if p not in ps.policies:
            raise ClaimError(f"{ps.path}: {p} is not a policy of the store ({', '.join(ps.policies)})")
    ip, ib = ps.policy_index(policy), ps.policy_index(baseline)
    parts = [(m, v[:, ip], v[:, ib]) for m in c.measures
             for v in [ps.values(m, needed_by=f"claim {cid}")]]
    held, _, valid = claim_outcome(parts)
    return held[:, 0], valid[:, 0], float(ps.years[0])


@dataclass(frozen=True)
class Conditional:
    """The conditional answer of one claim and pair at one year."""

    claim: str
    policy: str
    baseline: str
    year: float
    share: float  # of the valid cases, holding
    n: int
    input: str  # the deciding input ("" when none decides)
    pawn: float  # its PAWN index of the yes/no outcome (0: no effect, 1: it decides alone)
    terciles: tuple[tuple[float, float, float, int], ...]  # (low, high, share holding, n)
    discovery: Discovery

    def words(self) -> str:
        """E.g. 'It depends most on kappa: it holds in 31 % of samples with kappa 1-2, ...;
        it fails mostly where kappa < 2.1 (...)'."""
        if not self.input:
            return "No sampled input decides it."
        ter = ", ".join(f"{100 * s:.0f} % with {self.input} {lo:.3g}\u2013{hi:.3g}"
                        for lo, hi, s, _ in self.terciles)
        text = f"It depends most on {self.input} (PAWN index {self.pawn:.2f}): it holds in {ter}."
        if self.discovery.boxes:
            text += " " + box_words(self.discovery.boxes[0], "fails", self.discovery.n_interest)
        return text


def box_words(b: Box, what: str, n_interest: int) -> str:
    """A PRIM box in words: 'It fails mostly where kappa < 2.1 and ell_F > 0.2 (62 % of the
    failures; it fails in 88 % of the samples there).'"""
    terms = []
    for r in b.restrictions:
        low, high = r.low > r.data_low, r.high < r.data_high
        if low and high:
            terms.append(f"{r.low:.3g} < {r.input} < {r.high:.3g}")
        elif low:
            terms.append(f"{r.input} > {r.low:.3g}")
        elif high:
            terms.append(f"{r.input} < {r.high:.3g}")
    where = " and ".join(terms) or "anywhere"
    return (f"It {what} mostly where {where} ({100 * b.coverage:.0f} % of the {n_interest} "
            f"samples where it {what}; it {what} in {100 * b.density:.0f} % of the samples there).")


def conditional(store: str | Path, cid: str, policy: str, baseline: str,
                year: float | None = None) -> Conditional:
    """The deciding input of a claim, its share by terciles of that input, and the PRIM boxes
    of inputs where it fails."""
    held, valid, when = claim_cases(store, cid, policy, baseline, year)
    X = inputs_frame(open_sweep(store))[valid].reset_index(drop=True)
    h = held[valid]
    best, index = "", 0.0
    if 0 < h.sum() < len(h):
        best, index = deciding_input(X, h)
    terciles: list[tuple[float, float, float, int]] = []
    if best:
        x = X[best].values
        edges = np.quantile(x, [0, 1 / 3, 2 / 3, 1])
        bins = np.clip(np.searchsorted(edges, x, side="right") - 1, 0, 2)
        for k in range(3):
            inside = bins == k
            if inside.any():
                terciles.append((float(x[inside].min()), float(x[inside].max()),
                                 float(h[inside].mean()), int(inside.sum())))
    boxes = discover_cases(X, ~h)
    d = Discovery(f"claim {cid}:{policy}-{baseline} fails", when, int(len(h)), int((~h).sum()),
                  int((~valid).sum()), tuple(X.columns), tuple(boxes))
    return Conditional(cid, policy, baseline, when, float(h.mean()) if len(h) else np.nan, int(len(h)),
                       best, index, tuple(terciles), d)


def deciding_input(X, held: np.ndarray) -> tuple[str, float]:
    """(input, PAWN index) of the column of `X` (a DataFrame of inputs) with the largest PAWN
    index of the yes/no outcome `held` (the first on a tie; ("", 0.0) when every input is
    constant): SALib's estimator with `PAWN_SLIDES` slices, fewer where a slice would hold
    fewer than SLIDE_SAMPLES samples."""
    from SALib.analyze import pawn

    cols = [str(c) for c in X.columns if np.ptp(X[c].values) > 0]  # a constant cannot be sliced
    if not cols:
        return "", 0.0
    slides = int(np.clip(len(held) // SLIDE_SAMPLES, 2, PAWN_SLIDES))
    index = pawn.analyze({"num_vars": len(cols), "names": cols}, X[cols].values,
                         held.astype(float), S=slides)["median"]
    k = int(np.argmax(np.where(np.isfinite(index), index, -1.0)))
    return cols[k], float(index[k])


def contested(res, low: float = CONTESTED[0], high: float = CONTESTED[1]) -> list[tuple[str, str, str, float]]:
    """(claim, policy, baseline, share) of the overall rows of `gsim.claims` whose share at
    the last year lies in [low, high], the most contested (nearest 50 %) first."""
    out = []
    for i in np.nonzero(res.overall.values)[0]:
        r = res.isel(row=i, year=-1)
        s = float(r.share.values)
        if np.isfinite(s) and low <= s <= high:
            out.append((str(r.claim.values), str(r.policy.values), str(r.baseline.values), s))
    return sorted(out, key=lambda t: abs(t[3] - 0.5))
