"""Writes for datasets, models, explanations and scores (``<entity>_<verb>``)."""
