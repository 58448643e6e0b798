"""Replays: a request sent again (a lost answer, a retry) is answered as the first time, never done twice."""

from __future__ import annotations

import hashlib
import json


def fingerprint(payload: dict) -> str:
    """A stable hash of a request body: the same body again is a replay, another body a conflict."""
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
