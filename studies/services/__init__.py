"""Writes for studies (``<entity>_<verb>``, keyword-only, typed, transactional)."""
