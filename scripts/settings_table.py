"""Write the README's configuration table from the settings' declarations (postal/config.py).

    python scripts/settings_table.py           # rewrite the table between the markers in README.md
    python scripts/settings_table.py --check   # exit 1 when README.md's table differs
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from postal import config  # noqa: E402

README = ROOT / "README.md"
BEGIN, END = "<!-- settings: made by scripts/settings_table.py -->\n", "<!-- /settings -->\n"


def with_table(text: str) -> str:
    head, _, rest = text.partition(BEGIN)
    _, _, tail = rest.partition(END)
    return head + BEGIN + config.table() + END + tail


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args()
    text = README.read_text()
    if BEGIN not in text or END not in text:
        print("README.md has no settings markers", file=sys.stderr)
        return 1
    wanted = with_table(text)
    if args.check:
        return 0 if wanted == text else 1
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
