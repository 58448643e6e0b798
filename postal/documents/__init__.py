"""Printable papers, one module per paper on the shared page layout (`layout`): the apology slip mẫu 04
(`apology`) and the run manifest with its handover records (`manifest`).

The package's face is the papers and what each one prints; import the page layout from `layout` itself.
"""

from postal.documents.apology import ApologySlip, render_apology_slip
from postal.documents.manifest import HandoverLine, Manifest, ManifestParcel, ManifestStop, render_manifest

__all__ = [
    "ApologySlip",
    "HandoverLine",
    "Manifest",
    "ManifestParcel",
    "ManifestStop",
    "render_apology_slip",
    "render_manifest",
]
