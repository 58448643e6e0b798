"""Files handed to the service from outside (the procedure catalogue, the one-stop system's dossiers): CSV with a
header row, or JSON (a list of objects, or an object holding that list under one key), read as numbered records."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from postal.errors import N_, InvalidPayload, Phrase


def records(path: Path, key: str) -> list[tuple[int, dict]]:
    """Each record with the number a person finds it by: its line in a CSV file (the header is line 1), its place
    (from 1) in a JSON list. CSV by its .csv name, JSON otherwise; a file neither reads as is refused whole."""
    if path.suffix.lower() == ".csv":
        with path.open(newline="", encoding="utf-8-sig") as file:  # a spreadsheet's export often starts with a BOM
            reader = csv.DictReader(file)
            if not reader.fieldnames:
                raise InvalidPayload(detail=Phrase(N_("%(file)s: tệp CSV thiếu dòng tiêu đề"), file=path.name))
            return [(reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items() if k})
                    for row in reader]
    try:
        loaded = json.loads(path.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as err:
        raise InvalidPayload(detail=Phrase(N_("%(file)s: không đọc được JSON (%(why)s)"), file=path.name, why=str(err)[:200])) from None
    items = loaded.get(key) if isinstance(loaded, dict) else loaded
    if not isinstance(items, list):
        raise InvalidPayload(detail=Phrase(N_("%(file)s: cần một danh sách, hoặc một đối tượng có khoá “%(key)s”"),
                                            file=path.name, key=key))
    return [(n, item if isinstance(item, dict) else {"": item}) for n, item in enumerate(items, 1)]
