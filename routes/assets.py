"""Front-end files: npm packages from node_modules (never a CDN) and the service worker."""

from __future__ import annotations

import hashlib

from flask import Blueprint, abort, make_response, render_template, send_from_directory

from postal.config import ROOT
from routes.formats import asset_url, asset_version

bp = Blueprint("assets", __name__)
NODE_MODULES = ROOT / "node_modules"
# Only these files of the installed packages are served; the rest of node_modules is not.
VENDOR_FILES = frozenset({
    "jsqr/dist/jsQR.js",
    "idb/build/umd.js",
    "chart.js/dist/chart.umd.min.js",
    "leaflet/dist/leaflet.js",
    "leaflet/dist/leaflet.css",
    "leaflet.markercluster/dist/leaflet.markercluster.js",
    "leaflet.markercluster/dist/MarkerCluster.css",
    "leaflet.markercluster/dist/MarkerCluster.Default.css",
    "dejavu-fonts-ttf/ttf/DejaVuSans.ttf",
    "dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf",
    "flatpickr/dist/flatpickr.min.js",
    "flatpickr/dist/flatpickr.min.css",
    "flatpickr/dist/l10n/vn.js",
    "flatpickr/dist/plugins/monthSelect/index.js",
    "flatpickr/dist/plugins/monthSelect/style.css",
})
VENDOR_FOLDERS = ("leaflet/dist/images/",)
# What the scan page needs to open with no network: the service worker keeps a copy.
SCAN_SHELL = ("css/app.css", "js/app.js", "js/s10.js", "js/queue.js", "js/scan.js", "js/camera.js", "img/icon.svg")
SCAN_EXTRAS = ("/vendor/jsqr/dist/jsQR.js",)


@bp.get("/vendor/<path:name>")
def vendor(name: str):
    if name not in VENDOR_FILES and not (name.startswith(VENDOR_FOLDERS) and ".." not in name):
        abort(404)
    return send_from_directory(NODE_MODULES, name, max_age=7 * 24 * 3600)


@bp.get("/sw.js")
def service_worker():
    """Served from the root so that its scope is the whole site."""
    shell = [asset_url(name) for name in SCAN_SHELL]
    extras = [path for path in SCAN_EXTRAS if (NODE_MODULES / path.removeprefix("/vendor/")).exists()]
    version = hashlib.sha256("".join(asset_version(n) for n in SCAN_SHELL).encode()).hexdigest()[:10]
    response = make_response(render_template("sw.js", version=version, shell=shell, extras=extras))
    response.mimetype = "text/javascript"
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Service-Worker-Allowed"] = "/"
    return response
