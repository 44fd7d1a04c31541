#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Bad input gets one clear line on stderr, exit 2, and nothing on stdout."""
import argparse
import subprocess

import fwtest


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--finwatch", required=True)
    ap.add_argument("--finwatchd", required=True)
    a = ap.parse_args()
    t = fwtest.Failures("test_cli_usage")

    bad = [
        ([a.finwatch], "missing command"),
        ([a.finwatch, "frobnicate"], "unknown command 'frobnicate'"),
        ([a.finwatch, "--bogus"], "unknown option '--bogus'"),
        ([a.finwatch, "list", "--bogus"], "unknown option '--bogus'"),
        ([a.finwatch, "list", "-x"], "unknown option '-x'"),
        ([a.finwatch, "list", "--state"], "option '--state' needs a value"),
        ([a.finwatch, "list", "--state", ""], "--state needs a comma separated list"),
        ([a.finwatch, "list", "--state", "last-ack,"], "--state needs a comma separated list"),
        ([a.finwatch, "list", "--state", "established"], "unknown state 'established'"),
        ([a.finwatch, "list", "--state=fin-wait-1,bogus"], "unknown state 'bogus'"),
        ([a.finwatch, "list", "extra"], "unexpected argument 'extra'"),
        ([a.finwatchd, "--interval", "5 parsecs"], "invalid --interval"),
        ([a.finwatchd, "--state", "listen"], "invalid --state"),
        ([a.finwatchd, "--bogus"], "--bogus"),
    ]
    for cmd, msg in bad:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        what = " ".join(cmd[1:]) or "(no arguments)"
        t.eq(r.returncode, 2, f"{what}: exit code")
        t.eq(r.stdout, "", f"{what}: nothing on stdout")
        lines = r.stderr.splitlines()
        t.eq(len(lines), 1, f"{what}: one line on stderr ({r.stderr!r})")
        t.check(msg in r.stderr, f"{what}: stderr names the problem ({r.stderr.strip()!r})")

    for cmd in ([a.finwatch, "--help"], [a.finwatch, "list", "--help"], [a.finwatchd, "--help"]):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        t.eq(r.returncode, 0, f"{cmd[1:]} exit code")
        t.check("Usage:" in r.stdout, f"{cmd[1:]} prints usage")
    for cmd, name in (([a.finwatch, "--version"], "finwatch"), ([a.finwatchd, "--version"], "finwatchd")):
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=30)
        t.eq(r.returncode, 0, f"{name} --version exit")
        t.check(r.stdout.startswith(name + " "), f"{name} --version output {r.stdout!r}")
    t.done()


if __name__ == "__main__":
    main()
