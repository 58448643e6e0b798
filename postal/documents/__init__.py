"""Printed papers, one module per paper on the shared page layout (`layout`): the apology slip mẫu 04
(`apology`), the control sheet mẫu 05 (`control_sheet`) and the run manifest with its handover records (`manifest`).

The package's face is the papers and what each one prints; import the page layout from `layout` itself.
"""

from postal.documents.apology import ApologySlip, render_apology_slip
from postal.documents.control_sheet import ControlSheetPaper, SheetLine, render_control_sheet
from postal.documents.layout import Person
from postal.documents.manifest import HandoverLine, Manifest, ManifestParcel, ManifestStop, render_manifest

__all__ = [
    "ApologySlip",
    "ControlSheetPaper",
    "HandoverLine",
    "Manifest",
    "ManifestParcel",
    "ManifestStop",
    "Person",
    "SheetLine",
    "render_apology_slip",
    "render_control_sheet",
    "render_manifest",
]
