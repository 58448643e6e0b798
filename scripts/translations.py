"""Keep the message catalogs whole: extract, update en/messages.po, list what has no English.

    python scripts/translations.py           # refresh messages.pot and en/messages.po, list untranslated
    python scripts/translations.py --check   # change nothing; exit 1 if any message lacks English

After a refresh, write the English for each listed msgid in translations/en/LC_MESSAGES/messages.po.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parent.parent
POT = ROOT / "translations" / "messages.pot"
PO = ROOT / "translations" / "en" / "LC_MESSAGES" / "messages.po"
PYBABEL = [sys.executable, "-m", "babel.messages.frontend"]


def extract(target: Path) -> None:
    subprocess.run([*PYBABEL, "extract", "-F", "babel.cfg", "-k", "N_", "-k", "_l", "-o", str(target), "--no-location",
                    "--ignore-dirs=.venv node_modules tests scripts", "."], cwd=ROOT, check=True, capture_output=True)


def read(path: Path):
    with path.open("rb") as f:
        return read_po(f)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="change nothing; fail on missing English")
    args = parser.parse_args()
    if args.check:
        with tempfile.TemporaryDirectory() as tmp:
            pot = Path(tmp) / "messages.pot"
            extract(pot)
            wanted = {m.id for m in read(pot) if m.id}
        english = {m.id: m.string for m in read(PO) if m.id}
        missing = sorted(i for i in wanted if not english.get(i))
    else:
        extract(POT)
        if PO.exists():
            subprocess.run([*PYBABEL, "update", "-i", str(POT), "-d", "translations", "-l", "en", "--no-fuzzy-matching",
                            "--ignore-obsolete"],  # a message gone from the source is gone from the catalog
                           cwd=ROOT, check=True, capture_output=True)
        else:
            subprocess.run([*PYBABEL, "init", "-i", str(POT), "-d", "translations", "-l", "en"], cwd=ROOT, check=True,
                           capture_output=True)
        missing = [m.id for m in read(PO) if m.id and not m.string]
    for msgid in missing:
        print(f"untranslated: {msgid}")
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
