"""Pseudonymous participant ids: a keyed hash, stable within a study, unlinkable across studies.

Every export names a participant by ``participant_pseudonym(study secret, participant uid)``:
``p_`` and the first 16 hex digits of HMAC-SHA256. The key is the study's own secret
(:attr:`studies.models.Study.pseudonym_secret`, never exported), so the same person gets a
different pseudonym in another study and nobody without the database can compute one. The
message is the participant's internal uid, never a platform id, so erasing Prolific or
MTurk ids (retention) leaves the pseudonym unchanged.

Pure: no Django import, so the models and the services share it.
"""

import hashlib
import hmac
import secrets
import uuid

PREFIX = "p_"
HEX_DIGITS = 16  # 64 bits: no collision expected below ~4 billion participants per study


def new_pseudonym_secret() -> str:
    """Return a fresh random study secret (64 hex digits, 256 bits)."""
    return secrets.token_hex(32)


def participant_pseudonym(secret: str, uid: uuid.UUID) -> str:
    """Return the pseudonym of participant ``uid`` under study secret ``secret``."""
    if not secret:
        raise ValueError("a study's pseudonym secret is empty; expected 64 hex digits")
    digest = hmac.new(secret.encode(), uid.hex.encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:HEX_DIGITS]


def looks_like_pseudonym(value: str) -> bool:
    """Return whether ``value`` has a pseudonym's form (``p_`` and 16 lower-case hex digits)."""
    body = value[len(PREFIX) :]
    return (
        value.startswith(PREFIX)
        and len(body) == HEX_DIGITS
        and all(c in "0123456789abcdef" for c in body)
    )
