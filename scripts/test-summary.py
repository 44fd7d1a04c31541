#!/usr/bin/env python3
"""Sum up meson test logs (testlog.json): the last line printed is
"N passed, N failed, N skipped". Exit 1 on any failure, and, when CI=true,
on any skipped integration, soak, bench, vm, deb or fuzz test: in CI they must
really run."""
import json
import os
import sys

PASS = {"OK", "EXPECTEDFAIL"}
FAIL = {"FAIL", "TIMEOUT", "ERROR", "UNEXPECTEDPASS"}


def main(paths):
    passed = failed = skipped = 0
    ci = os.environ.get("CI") == "true"
    for path in paths:
        try:
            with open(path) as f:
                entries = [json.loads(line) for line in f if line.strip()]
        except OSError as e:
            print(f"missing test log {path}: {e}")
            failed += 1
            continue
        for e in entries:
            res = e.get("result")
            if res in PASS:
                passed += 1
            elif res in FAIL:
                failed += 1
            elif res == "SKIP":
                if ci and any(k in s for k in ("integration", "soak", "bench", "vm", "deb", "fuzz") for s in e.get("suite") or []):
                    print(f"CI=true but test {e.get('name')} was skipped ({path})")
                    failed += 1
                else:
                    skipped += 1
            else:
                failed += 1
    if not paths:
        failed += 1
    print(f"{passed} passed, {failed} failed, {skipped} skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
