#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""finwatch list against the real kernel: sockets made stuck on purpose in a
private network namespace, by both causes, both families, orphan and owned;
ss as the oracle; SOCK_DESTROY by cookie, and with a stale cookie."""
import json
import os

import fwtest

REQUIRED_FIELDS = ("family", "local_address", "local_port", "peer_address", "peer_port", "state",
                   "send_q", "recv_q", "timer", "retransmits", "probes", "orphan", "uid", "inode",
                   "cookie", "cgroup_id")

CAUSE_TIMER = {"lost-fin": "retransmit", "zero-window": "persist"}


def makes():
    out = []
    for cause in ("lost-fin", "zero-window"):
        for state in ("fin-wait-1", "last-ack"):
            for owner in ("orphan", "owned"):
                for fam in ("4", "6"):
                    out.append(f"{cause}:{state}:{owner}:{fam}:1")
    # a dual-stack socket talking IPv4: reported in the IPv6 dump, shown as IPv4
    out.append("lost-fin:fin-wait-1:orphan:mapped:1")
    out.append("zero-window:last-ack:owned:mapped:1")
    return out


def endpoint(o, side):
    addr, port = o[f"{side}_address"], o[f"{side}_port"]
    return f"[{addr}]:{port}" if ":" in addr else f"{addr}:{port}"


def list_json(fx, binary, *args):
    # the kernel's snapshot alone: this test is about sock_diag, not finwatchd
    r = fx.run(binary, "list", "--no-daemon", "--json", *args)
    if r.returncode != 0:
        raise RuntimeError(f"finwatch list failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout)


TITLES = ("Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State", "Timer", "Age", "Alerted",
          "Orphan", "Cause", "Fate", "Unit", "Cookie")
NAMES = ("proto", "recv_q", "send_q", "local", "peer", "state", "timer", "age", "alerted", "orphan", "cause",
         "fate", "unit", "cookie")


def parse_table(text):
    """Cells by the header's column positions: every cell lies between the
    start of its title and the start of the next (left or right aligned);
    but Age is right aligned and may be wider than its title ("~12min 3s"):
    it is what follows the Timer's one word up to the end of its title."""
    lines = text.splitlines()
    starts = [lines[0].index(title) for title in TITLES]
    rows = []
    for line in lines[1:]:
        cells = [line[b:e].strip() for b, e in zip(starts, starts[1:] + [len(line) + 1])]
        row = dict(zip(NAMES, cells))
        t, g = TITLES.index("Timer"), TITLES.index("Age")
        row["timer"], row["age"] = line[starts[t]:starts[g] + len("Age")].split(None, 1)
        for k in ("recv_q", "send_q", "cookie"):
            row[k] = int(row[k])
        rows.append(row)
    return lines[0], rows


def main():
    a = fwtest.parse_args("diag_tool")
    fwtest.require_root_netns()
    t = fwtest.Failures("test_list")

    with fwtest.Fixture(a.fixture, makes(), established=5) as fx:
        expected = {(m["state"], m["local"], m["peer"]): m for m in fx.manifest}
        t.eq(len(expected), 18, "fixture made every socket it was asked for")

        def key(o):
            return (o["state"], endpoint(o, "local"), endpoint(o, "peer"))

        def signature_shown(o):
            m = expected.get(key(o))
            if not m or o["timer"] != CAUSE_TIMER[m["cause"]]:
                return False
            # the first retransmission comes one RTO (200 ms on loopback) after the FIN
            return m["cause"] != "lost-fin" or o["retransmits"] > 0 or o["timer_count"] > 0

        def settled():
            got = list_json(fx, a.finwatch)
            ok = {key(o) for o in got} == set(expected) and all(signature_shown(o) for o in got)
            return got if ok else None

        got = fwtest.wait_for(settled) or list_json(fx, a.finwatch)
        by_key = {key(o): o for o in got}
        t.eq(set(by_key), set(expected), "finwatch list finds exactly the stuck sockets")
        t.eq(len(got), len(by_key), "each socket listed once")

        for k, m in expected.items():
            o = by_key.get(k)
            if not t.check(o is not None, f"{k} listed"):
                continue
            for f in REQUIRED_FIELDS:
                t.check(f in o, f"{k}: JSON field {f}")
            t.eq(o["orphan"], m["orphan"], f"{k} orphan")
            t.eq(o["inode"] == 0, m["orphan"], f"{k} inode 0 exactly for orphans")
            t.eq(o["family"], m["family"], f"{k} family")
            t.eq(o["timer"], CAUSE_TIMER[m["cause"]], f"{k} timer kind")
            t.eq(o["uid"], 0, f"{k} uid")
            t.check(isinstance(o["cookie"], int) and o["cookie"] > 0, f"{k} cookie")
            t.check(isinstance(o["cgroup_id"], int), f"{k} cgroup_id")
            if m["cause"] == "lost-fin":
                # the FIN left and was not acknowledged
                t.check(o["unacked"] > 0, f"{k} unacked > 0 ({o['unacked']})")
                t.check(o["retransmits"] > 0 or o["timer_count"] > 0, f"{k} retransmitted")
            else:
                # the peer's window is shut and bytes wait behind it
                t.eq(o["snd_wnd"], 0, f"{k} snd_wnd")
                t.check(o["notsent_bytes"] > 0 or o["send_q"] > 0, f"{k} bytes waiting")

        # ss in the same namespace sees the same set of sockets as the table
        header, rows = parse_table(fx.run(a.finwatch, "list", "--no-daemon", check=True).stdout)
        t.check(header.split()[:3] == ["Proto", "Recv-Q", "Send-Q"], "table header")
        table = {(r["state"], r["local"], r["peer"]) for r in rows}
        t.eq(table, fwtest.ss_sockets(fx), "finwatch list table agrees with ss")
        t.eq(table, set(expected), "table rows are the stuck sockets")
        for r in rows:
            m = expected.get((r["state"], r["local"], r["peer"]))
            if m:
                t.eq(r["orphan"], "yes" if m["orphan"] else "no", f"{r['local']} Orphan column")
                t.eq(r["proto"], "tcp6" if m["family"] == "ipv6" else "tcp", f"{r['local']} Proto")
                t.check(r["timer"].startswith(CAUSE_TIMER[m["cause"]] + "("), f"{r['local']} Timer {r['timer']}")
                # no daemon: the kernel's age (~ an estimate, > a lower bound) or none
                t.check(r["age"] == "-" or r["age"][0] in "~>", f"{r['local']} no daemon: Age {r['age']!r}")
                t.eq(r["alerted"], "-", f"{r['local']} no daemon: Alerted unknown")

        # filters: one state, one family
        last_ack = list_json(fx, a.finwatch, "--state", "last-ack")
        t.eq({key(o) for o in last_ack}, {k for k in expected if k[0] == "LAST_ACK"}, "--state last-ack")
        t.eq({key(o) for o in last_ack},
             fwtest.ss_sockets(fx, ("last-ack",)), "--state last-ack agrees with ss")
        v4 = list_json(fx, a.finwatch, "-4")
        t.eq(len(v4), sum(1 for m in fx.manifest if m["family"] == "ipv4"), "-4 count")
        t.check(all(o["family"] == "ipv4" for o in v4), "-4 only IPv4")
        v6 = list_json(fx, a.finwatch, "-6")
        t.eq(len(v6), sum(1 for m in fx.manifest if m["family"] == "ipv6"), "-6 count (v4-mapped included)")
        t.check(all(o["family"] == "ipv6" for o in v6), "-6 only IPv6")
        mapped = [o for o in v6 if "." in o["local_address"]]
        t.eq(len(mapped), 2, "v4-mapped sockets shown with IPv4 addresses")
        # ESTABLISHED noise is never listed, even when asking for every closing state
        everything = list_json(fx, a.finwatch, "--state", "fin-wait-1,last-ack,closing,fin-wait-2,close-wait")
        t.check(all(o["state"] != "ESTABLISHED" for o in everything), "no ESTABLISHED socket listed")
        t.check(len(everything) >= len(expected), "wider state set includes the stuck ones")

        # SOCK_DESTROY by cookie removes exactly that socket
        before = fwtest.ss_sockets(fx)
        victim = next(o for o in got if o["state"] == "FIN_WAIT_1" and o["orphan"] and o["family"] == "ipv4")
        vkey = key(victim)
        r = fx.run(a.diag_tool, "destroy", str(victim["cookie"]))
        t.eq((r.returncode, r.stdout.strip()), (0, "ok"), "destroy by cookie")
        after = fwtest.ss_sockets(fx)
        t.eq(after, before - {vkey}, "destroy removed exactly the victim")
        r = fx.run(a.diag_tool, "destroy", str(victim["cookie"]))
        t.eq(r.stdout.strip(), "not-found", "the victim is gone from the dump")

        # the same tuple with a stale cookie: ENOENT, nothing removed
        other = next(o for o in got if o["state"] == "LAST_ACK" and not o["orphan"] and o["family"] == "ipv6")
        r = fx.run(a.diag_tool, "destroy", str(other["cookie"]), "--as-cookie", str(other["cookie"] + 1000000))
        t.eq((r.returncode, r.stdout.strip()), (1, "ENOENT"), "destroy with a stale cookie")
        t.eq(fwtest.ss_sockets(fx), after, "stale cookie removed nothing")

    # More sockets than one process may hold files: the fixture splits the
    # work over workers (as the benchmark's 50k does), and every socket is
    # still made, listed, and gone with the fixture.
    split = ["lost-fin:fin-wait-1:orphan:4:150", "zero-window:last-ack:orphan:6:150",
             "lost-fin:last-ack:owned:mapped:100"]
    with fwtest.Fixture(a.fixture, split, established=50, extra=["--quiet", "--files-per-process", "300"]) as fx:
        workers = children(fx.pid)
        t.check(len(workers) > 1, f"the fixture split its work ({len(workers)} workers)")
        t.eq(len(fwtest.ss_sockets(fx)), 400, "every stuck socket of every worker is there (ss)")
        got = fwtest.wait_for(lambda: (lambda g: g if len(g) == 400 else None)(list_json(fx, a.finwatch)))
        t.eq(len(got or []), 400, "finwatch list finds them all")
        t.eq(sorted((o["state"], o["family"], o["orphan"]) for o in got or []) ==
             sorted([("FIN_WAIT_1", "ipv4", True)] * 150 + [("LAST_ACK", "ipv6", True)] * 150 +
                    [("LAST_ACK", "ipv6", False)] * 100), True, "states, families and owners as asked")
    t.check(fwtest.wait_for(lambda: not any(os.path.exists(f"/proc/{w}") for w in workers), 10),
            "the workers are gone with the fixture")

    t.done()


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return f.read().split()
    except FileNotFoundError:
        return []


if __name__ == "__main__":
    main()
