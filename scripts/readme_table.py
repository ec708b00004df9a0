"""Print (or write into README.md) the leaderboard table of a bundle beside the seed's numbers.

Usage: python scripts/readme_table.py [precomputed/demo] [--write README.md]
The README section sits between <!-- leaderboard:start --> and <!-- leaderboard:end -->.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shopee_core.analysis.leaderboard import markdown_table  # noqa: E402
from shopee_core.bundle import Bundle  # noqa: E402

START, END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("bundle", nargs="?", default="precomputed/demo")
    ap.add_argument("--write", metavar="README")
    args = ap.parse_args()
    b = Bundle.open(args.bundle)
    table = markdown_table(b)
    if not args.write:
        print(table)
        return
    path = Path(args.write)
    text = path.read_text()
    if START not in text or END not in text:
        sys.exit(f"error: {path} has no {START} ... {END} section")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{START}\n{table}\n{END}{tail}")
    print(f"{path}: leaderboard updated from {args.bundle}")


if __name__ == "__main__":
    main()
