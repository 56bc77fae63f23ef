"""HTML views: the participant flow and the researcher pages."""
