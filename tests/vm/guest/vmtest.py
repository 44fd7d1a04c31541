# SPDX-License-Identifier: GPL-2.0-or-later
"""Helpers for the scenarios that run inside the VM suite's guest, as root,
under the guest's real systemd: commands, checks, the stuck-socket fixture
on the guest's own loopback (fwtest's Fixture), the journal read back from
a mark, ss as the oracle. The guest has no network device: nothing here leaves it."""
import json
import os
import subprocess
import time

import fwtest  # tests/integration/fwtest.py, beside this file on the payload disk
from fwtest import wait_for  # noqa: F401 (the scenarios' too)

PAYLOAD = "/run/fw-payload"
FIXTURE = os.path.join(PAYLOAD, "tools", "fw-stuck")
CONF = "/etc/finwatch/finwatch.conf"
UNIT = "finwatchd.service"

MSG_STUCK = "b4cd1459bf4140c695af9432d3238033"
MSG_KILL = "176cef42821a44f49b664d8769c52f27"
MSG_ORPHANS = "f055b0afc3b14d7fab38c936e5f223d3"


def run(*cmd, timeout=120, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, **kw)


class ScenarioFailed(Exception):
    pass


class Checks:
    """The checks of one scenario: each failure is kept with its text."""

    def __init__(self, log):
        self.log = log
        self.failures = []
        self.count = 0

    def note(self, text):
        print(text, file=self.log, flush=True)

    def check(self, cond, what):
        self.count += 1
        self.note(("ok   " if cond else "FAIL ") + what)
        if not cond:
            self.failures.append(what)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")

    def require(self, cond, what):
        """A check the rest of the scenario cannot do without."""
        if not self.check(cond, what):
            raise ScenarioFailed(what)

    def cmd(self, *cmd, want=0, timeout=120, **kw):
        """Run a command, check its exit status, return the result."""
        r = run(*cmd, timeout=timeout, **kw)
        out = (r.stdout.strip() + "\n" + r.stderr.strip()).strip()
        self.check(want is None or r.returncode == want,
                   f"`{' '.join(cmd)}` exits {r.returncode}" + (f" (want {want})" if want is not None else "")
                   + (f": {out[-1500:]}" if out and (want is not None and r.returncode != want) else ""))
        return r


# ---- the service ----

def unit_props(*props, unit=UNIT):
    r = run("systemctl", "show", unit, "-p", ",".join(props))
    out = {}
    for line in r.stdout.splitlines():
        k, _, v = line.partition("=")
        out[k] = v
    return out


def main_pid(unit=UNIT):
    return int(unit_props("MainPID", unit=unit).get("MainPID", "0") or 0)


def is_active(unit):
    return run("systemctl", "is-active", unit).stdout.strip()


def write_conf(**sections):
    """Write /etc/finwatch/finwatch.conf: write_conf(monitor={'interval': '1s'}, ...)."""
    text = "# written by the VM suite\n"
    for section, keys in sections.items():
        text += f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items())
    with open(CONF, "w") as f:
        f.write(text)


FAST = {"monitor": {"interval": "1s"}, "alert": {"after": "3s"}}


def finwatch_json(*args, user=None):
    cmd = ["finwatch", *args, "--json"]
    if user:
        cmd = ["runuser", "-u", user, "--", *cmd]
    r = run(*cmd)
    if r.returncode != 0:
        raise ScenarioFailed(f"{' '.join(cmd)} exited {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def status():
    return finwatch_json("status")


def rows_by_cookie(*args):
    return {row["cookie"]: row for row in finwatch_json("list", *args)}


# ---- the journal ----

def cursor():
    """A mark in the journal: records() returns what came after it. A time,
    not a journal cursor: journalctl 252 with --after-cursor and a match
    skips the first matching record when the cursor's own record does not
    match."""
    return time.time()


def records(since, *matches):
    """Journal records (journalctl -o json) since a mark, e.g. MESSAGE_ID=..."""
    cmd = ["journalctl", "--no-pager", "-o", "json"]
    if since:
        cmd.append(f"--since=@{since:.6f}")
    r = run(*cmd, *matches)
    return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def messages(after, unit=UNIT):
    return [rec.get("MESSAGE", "") for rec in records(after, f"_SYSTEMD_UNIT={unit}")]


def systemd_messages(after, unit=UNIT):
    """What systemd itself said about a unit (PID 1's records)."""
    return [rec.get("MESSAGE", "") for rec in records(after, "_PID=1", f"UNIT={unit}")]


def stuck_records(since, cookies, wait=15):
    """The stuck alerts for these cookies since a mark, by cookie; waits
    (journald stores a record a moment after it was sent) until there is
    one for each, or the time is up."""
    want = {str(c) for c in cookies}

    def get():
        return {rec["FINWATCH_COOKIE"]: rec for rec in records(since, f"MESSAGE_ID={MSG_STUCK}")
                if rec.get("FINWATCH_COOKIE") in want}

    return wait_for(lambda: (lambda got: got if len(got) == len(want) else None)(get()), timeout=wait) or get()


def journal_has(fn, wait=15):
    """Wait until fn() (a journal query) returns something true; its value."""
    return wait_for(fn, timeout=wait)


# ---- stuck sockets on the guest's loopback ----

class Fixture(fwtest.Fixture):
    """fw-stuck in the guest's own network namespace (the VM is private), or
    in one of its own with unshare=True; its nft rule drops the server's FIN
    on the guest's loopback."""

    def __init__(self, makes, unshare=False, prefix=(), timeout=120):
        super().__init__(FIXTURE, makes, timeout=timeout, unshare=unshare, prefix=prefix)

    def netns_inode(self):
        return os.stat(f"/proc/{self.proc.pid}/ns/net").st_ino

    def endpoints(self):
        """(STATE, local, peer) of every stuck socket it made."""
        return {(m["state"], m["local"], m["peer"]) for m in self.manifest}


def ss_stuck(netns_pid=None, netns_name=None):
    """(STATE, local, peer) for each FIN_WAIT_1 and LAST_ACK socket ss sees,
    here or in the namespace of a process or of a name."""
    cmd = ["ss", "-tanH", "state", "fin-wait-1", "state", "last-ack"]
    if netns_pid:
        cmd = ["nsenter", "-t", str(netns_pid), "-n", *cmd]
    elif netns_name:
        cmd = ["ip", "netns", "exec", netns_name, *cmd]
    r = run(*cmd)
    names = {"FIN-WAIT-1": "FIN_WAIT_1", "LAST-ACK": "LAST_ACK"}
    out = set()
    for line in r.stdout.splitlines():
        f = line.split()
        if len(f) >= 5:
            out.add((names.get(f[0], f[0]), f[3], f[4]))
    return out


def row_endpoints(rows):
    return {(r["state"], endpoint(r["local_address"], r["local_port"]), endpoint(r["peer_address"], r["peer_port"]))
            for r in rows}


def endpoint(addr, port):
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def read_sysctl(name):
    with open("/proc/sys/net/ipv4/" + name) as f:
        return f.read().strip()


def write_sysctl(name, value):
    # --variant=apt has no procps: no sysctl(8)
    with open("/proc/sys/net/ipv4/" + name, "w") as f:
        f.write(str(value))
