"""Services of the analysis app: tidy tables, per-study results, plots' data."""
