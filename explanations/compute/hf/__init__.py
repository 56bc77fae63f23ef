"""Hugging Face sequence classifiers: loading, word alignment, prediction and attribution."""
