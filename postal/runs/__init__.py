"""Shuttle runs (chuyến): templates, runs on working days, manifests (bảng kê), stop order, driving.

A line (template) is a loop from its post office: the hub (the template's first stop, the center)
first to pick what leaves it, then the other stops, then the hub again to drop what comes back
("center → agencies → center", DESIGN §5). A parcel moves on a run only between the hub and another
stop, so no order of the other stops can put a drop before its pick: the optimiser is free to
reorder them. A parcel whose destination no line reaches from where it is goes through the hub.

Manifests are rows (ManifestEntry). Until a run's cutoff they follow the parcels: every scan batch
withdraws what it moved from the runs not yet frozen and places it again. At the cutoff the manifest
freezes, the stops with nothing to drop or pick go, and the rest are ordered by routing.best_order.
Every write to manifests takes the chain-head lock that scan batches take, so they are serialised.

The parts: `common` (constants, tables, a run's names, the manifests' lock), `planning` (arrival times and
the stop order), `templates` (lines, saved within working hours), `editing` (a template changed or stopped
from the first day not generated, and its runs already made, made anew when not under way), `generation`
(the runs of working days),
`manifests` (placing parcels, and the freeze at the cutoff), `reading` (runs as the API shows them),
`driving` (assign, start, depart, close; what an actor may do), `hooks` (what custody asks of runs around
a scan batch) and `papers` (the printed manifest and its handover records, the run pages' sheets).
The names below are the package's face; the rooms that follow custody import the hooks from `hooks`.
"""

from postal.runs.common import (
    CUTOFF,
    MAX_ID,
    STATE_NAMES,
    manifest_write,
    reload,
    run_code,
    run_label,
)
from postal.runs.editing import edit_template, regenerate, template_change
from postal.runs.editing import set_active as set_template_active
from postal.runs.driving import RunAbilities, abilities, assign, close, depart, start
from postal.runs.generation import generate
from postal.runs.hooks import after_scans, check_scan
from postal.runs.manifests import freeze_due, manifest_waiting, network, place, withdraw
from postal.runs.scanning import NextStop, next_stops
from postal.runs.papers import (
    RunSheet,
    RunSummary,
    day_runs,
    drivers,
    manifest_document,
    render_manifest,
    run_sheet,
    scan_runs,
)
from postal.runs.planning import (
    DISTANCES,
    DWELL_MIN,
    SPEED_KMH,
    optimise,
    solver_seconds,
    timing,
)
from postal.runs.reading import run_detail, run_of_parcel, runs_of_day
from postal.runs.templates import create_template, list_templates

__all__ = [
    "CUTOFF",
    "DISTANCES",
    "DWELL_MIN",
    "MAX_ID",
    "SPEED_KMH",
    "STATE_NAMES",
    "RunAbilities",
    "RunSheet",
    "RunSummary",
    "abilities",
    "after_scans",
    "assign",
    "check_scan",
    "close",
    "create_template",
    "day_runs",
    "depart",
    "drivers",
    "edit_template",
    "freeze_due",
    "generate",
    "list_templates",
    "manifest_write",
    "manifest_document",
    "manifest_waiting",
    "network",
    "optimise",
    "place",
    "regenerate",
    "reload",
    "render_manifest",
    "run_code",
    "run_detail",
    "run_label",
    "run_of_parcel",
    "run_sheet",
    "runs_of_day",
    "scan_runs",
    "NextStop",
    "next_stops",
    "set_template_active",
    "solver_seconds",
    "start",
    "template_change",
    "timing",
    "withdraw",
]
