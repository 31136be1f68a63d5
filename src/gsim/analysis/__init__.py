"""Answers from a sweep store: paired comparisons, claims, sensitivity, discovery, figures, report.

Everything here reads a store written by `gsim.sweeps` and never writes into it.
"""
