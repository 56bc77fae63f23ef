"""REST API for datasets, instances, models, explanations and scores."""
