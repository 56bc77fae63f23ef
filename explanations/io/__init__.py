"""Readers and writers for the file formats researchers bring (no database access)."""
