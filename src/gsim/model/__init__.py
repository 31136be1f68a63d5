"""The GTM-1 model: state layout and variable table, candidate pairs, kernel inputs, calibration
(spec §5) and the compiled kernels (§6, §7, §9)."""
