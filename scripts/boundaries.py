"""Write the board's outline of a province and its communes (static/geo/<code>.geojson) from boundary data.

    python scripts/boundaries.py SOURCE            # SOURCE: the province's folder of vietnamese-provinces-database,
                                                   # e.g. json/geojson/22_quang_ninh (its wards/ beside it)
    python scripts/boundaries.py SOURCE --check    # exit 1 when the shipped file differs from what SOURCE makes

The source draws every commune with every islet at full precision (tens of MB); the board needs a light outline.
Each commune is simplified on its own (shapely, topology kept), parts smaller than MIN_PART_KM2 are dropped (the
islets of Hạ Long bay, invisible at the board's zoom), coordinates are rounded to ROUND_DIGITS, and the province
is the union of its simplified communes, so their edges meet the outline. Run at build time, never at run time;
static/geo/README.md names the source and its licence.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import shapely
from shapely.geometry import MultiPolygon, Polygon, mapping, shape
from vietnam_provinces import Ward

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "static" / "geo"
TOLERANCE_DEG = 0.0012  # about 130 m: finer than a marker at the province's zoom, far coarser than the source
MIN_PART_KM2 = 0.4
KM2_PER_DEG2 = 111.32 * 111.32 * 0.933  # at 21° N (cos 21° ≈ 0.933): enough to tell an islet from an island
ROUND_DIGITS = 4  # about 11 m


def first_feature(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))["features"][0]


def light(geometry) -> MultiPolygon:
    """The geometry simplified, without its small parts, rounded; empty when nothing big enough is left."""
    simple = shapely.simplify(geometry, TOLERANCE_DEG, preserve_topology=True)
    parts = [p for p in getattr(simple, "geoms", [simple])
             if isinstance(p, Polygon) and p.area * KM2_PER_DEG2 >= MIN_PART_KM2]
    rounded = shapely.set_precision(MultiPolygon(parts), 10 ** -ROUND_DIGITS) if parts else MultiPolygon()
    if rounded.geom_type == "Polygon":
        rounded = MultiPolygon([rounded])
    return rounded


def feature(kind: str, code: str, name: str, geometry) -> dict:
    return {"type": "Feature", "id": code, "properties": {"kind": kind, "code": code, "name": name},
            "geometry": mapping(geometry)}


def official(province_code: int, props: dict, wards: dict[int, Ward]) -> Ward:
    """The commune of the official list (vietnam-provinces, as the app uses) that a source commune is.

    By code, else by name: the source has given a commune an older code (Ba Chẽ, 06978 for 06970)."""
    ward = wards.get(int(props["code"]))
    if ward is None:
        named = [w for w in wards.values() if w.codename.endswith("_" + props["codeName"])]
        if len(named) != 1:
            raise SystemExit(f"{props['code']} {props['fullName']}: not a commune of province {province_code}")
        ward = named[0]
    return ward


def outline(source: Path) -> dict:
    """The province and its communes as one FeatureCollection, the province first."""
    province = first_feature(next(iter(sorted(source.glob("*.geojson")))))["properties"]
    code = int(province["code"])
    wards = {int(w.code): w for w in Ward.iter_by_province(code)}
    communes: dict[int, tuple[Ward, MultiPolygon]] = {}
    for path in sorted((source / "wards").glob("*.geojson")):
        f = first_feature(path)
        ward = official(code, f["properties"], wards)
        geometry = light(shape(f["geometry"]))
        if ward.code in communes or geometry.is_empty:
            raise SystemExit(f"{path.name}: {ward.name} drawn twice, or too small to draw")
        communes[int(ward.code)] = (ward, geometry)
    if missing := sorted(set(wards) - set(communes)):
        raise SystemExit(f"no boundary in the source for {', '.join(wards[c].name for c in missing)}")
    whole = shapely.union_all([g for _, g in communes.values()]).buffer(0)
    whole = light(shapely.simplify(whole, TOLERANCE_DEG / 2, preserve_topology=True))
    features = [feature("province", f"{code:02d}", province["fullName"], whole)]
    features += [feature("commune", f"{c:05d}", w.name, g) for c, (w, g) in sorted(communes.items())]
    return {"type": "FeatureCollection", "features": features}


def text(collection: dict) -> str:
    # one feature a line: small, and a diff shows which commune changed
    lines = ",\n".join(json.dumps(f, ensure_ascii=False, separators=(",", ":")) for f in collection["features"])
    return '{"type":"FeatureCollection","features":[\n' + lines + "\n]}\n"


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("source", type=Path)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    collection = outline(args.source)
    code = collection["features"][0]["properties"]["code"]
    target = OUT / f"{code}.geojson"
    made = text(collection)
    if args.check:
        same = target.exists() and target.read_text(encoding="utf-8") == made
        print(f"{target.relative_to(ROOT)} is {'up to date' if same else 'out of date'}")
        return 0 if same else 1
    OUT.mkdir(parents=True, exist_ok=True)
    target.write_text(made, encoding="utf-8")
    print(f"wrote {target.relative_to(ROOT)}: {len(collection['features']) - 1} communes, {len(made) // 1024} KB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
