"""Custody: every physical handoff is a scan that lands exactly once in the ledger.

The parts: `scans` (the use case: a batch of scans), `recording` (one batch in memory: the chain head, the rows,
the write), `rules` (who may scan what, and what each action needs: plain functions), `holdings` (what a batch
reads, and the words for where a thing is), `proof` (the delivery code), `bags` and `sealing` (sealed bags), `redirect` (a new destination),
`values` (a holding, a scan's outcome). What leaves the package: outcomes, and `models.moved.Moved` for the rooms
that follow custody (runs, notifications).
"""

from postal.custody.redirect import collect_at_center, redirect, targets as redirect_targets
from postal.custody.rules import ACTION_NAMES, ROLES
from postal.custody.scans import record_scans
from postal.custody.sealing import seal_bag
from postal.custody.values import Outcome

__all__ = ["ACTION_NAMES", "ROLES", "Outcome", "collect_at_center", "record_scans", "redirect", "redirect_targets",
           "seal_bag"]
