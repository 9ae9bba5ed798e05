"""Regenerate ``tests/data/golden_expectations.json`` (golden-model builds; see ``golden_builds.py``).

Usage::

    .venv/bin/python tests/build/update_golden.py              # every case
    .venv/bin/python tests/build/update_golden.py tfc_w1a1     # only these cases (others kept)
    .venv/bin/python tests/build/update_golden.py --check      # compare, change nothing (exit 1 on a difference)

Review the diff of the JSON before committing it: every changed hash is a
changed generated file.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from golden_builds import CASES, compare, load_expectations, run_case, save_expectations


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("cases", nargs="*", help=f"cases to run (default all: {', '.join(CASES)})")
    parser.add_argument("--check", action="store_true", help="only compare with the stored expectations")
    args = parser.parse_args(argv)
    names = args.cases or list(CASES)
    unknown = [n for n in names if n not in CASES]
    if unknown:
        parser.error(f"unknown cases {unknown}; cases are {', '.join(CASES)}")
    records = load_expectations()
    failed = False
    with tempfile.TemporaryDirectory(prefix="qnncc_golden_") as tmp:
        for name in names:
            start = time.perf_counter()
            record = run_case(name, Path(tmp))
            diffs = compare(record, records.get(name, {}))
            seconds = time.perf_counter() - start
            status = "same" if not diffs else f"{len(diffs)} differences"
            print(
                f"{name:<10} accuracy {record['accuracy']:.4f}  {record['estimate']['fps']:>12,.0f} FPS  "
                f"{len(record['files'])} files  {status}  ({seconds:.1f} s)"
            )
            for line in diffs[:20]:
                print(f"    {line}")
            failed |= bool(diffs)
            records[name] = record
    if args.check:
        return 1 if failed else 0
    save_expectations(records)
    print(f"wrote {len(names)} case(s) to tests/data/golden_expectations.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
