#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""finwatch list --summary against the real kernel: stuck sockets from a few
peers (IPv4 in two /24s, IPv6 in two /64s, v4-mapped) on a few ports, by
both causes; the counts match ss (the oracle) and list's own rows, the table
and the JSON say the same, the selectors apply before grouping, and with a
daemon the oldest age is the largest of the rows' ages."""
import collections
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import fwtest

# Ours, besides the fixture's: (listener family, port, client address, count).
# Ports 9090-9092 are in the fixture's lost-fin range (9000-9099): its nft
# rule drops the server's FIN on the way in, so the server that closes sits
# in FIN_WAIT_1, an orphan, retransmitting. The fixture's own listeners use
# 9000 and 9050 (mapped) for one slot.
PEERS = [
    ("ipv4", 9090, "127.0.0.2", 4),       # 127.0.0.2 ties with the fixture's 127.0.0.1 (4)
    ("ipv4", 9090, "127.0.0.3", 2),       # the same /24
    ("ipv4", 9090, "127.0.5.9", 1),       # another /24
    ("ipv6", 9091, "fd00:1::2", 3),
    ("ipv6", 9091, "fd00:1::3", 1),       # the same /64
    ("ipv6", 9091, "fd00:2::2", 2),       # another /64
    ("mapped", 9092, "127.0.7.7", 2),     # IPv4 through a dual-stack listener: ::ffff:127.0.7.7
]
V6_ADDRS = ("fd00:1::2", "fd00:1::3", "fd00:2::2")
MAKES = ["lost-fin:fin-wait-1:orphan:4:3", "lost-fin:last-ack:orphan:mapped:1", "zero-window:last-ack:owned:6:2"]
TOTAL = 3 + 1 + 2 + sum(p[3] for p in PEERS)


def make_peers():
    """Inside the namespace: the sockets of PEERS, held until stdin closes."""
    import socket
    listeners, held = {}, []
    for fam, port, client, n in PEERS:
        if port not in listeners:
            lst = socket.socket(socket.AF_INET if fam == "ipv4" else socket.AF_INET6)
            lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if fam != "ipv4":
                lst.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1 if fam == "ipv6" else 0)
            lst.bind(("127.0.0.1" if fam == "ipv4" else "::1" if fam == "ipv6" else "::", port))
            lst.listen(64)
            listeners[port] = lst
        for _ in range(n):
            c = socket.socket(socket.AF_INET6 if fam == "ipv6" else socket.AF_INET)
            c.bind((client, 0))
            c.connect(("::1" if fam == "ipv6" else "127.0.0.1", port))
            s, _ = listeners[port].accept()
            s.close()       # the server closes first: its FIN is dropped, FIN_WAIT_1
            held.append(c)  # the client stays ESTABLISHED
    print("READY", flush=True)
    sys.stdin.read()


def split_endpoint(ep):
    addr, port = ep.rsplit(":", 1)
    return addr.strip("[]"), int(port)


def network(addr):
    ip = ipaddress.ip_address(addr)
    return str(ipaddress.ip_network(f"{addr}/{24 if ip.version == 4 else 64}", strict=False))


def groups_of(sockets):
    """{grouping: Counter} from (local, peer) endpoint pairs."""
    peers = [split_endpoint(p)[0] for _, p in sockets]
    return {"by_peer_address": collections.Counter(peers),
            "by_peer_network": collections.Counter(network(p) for p in peers),
            "by_local_port": collections.Counter(str(split_endpoint(lo)[1]) for lo, _ in sockets)}


KEYS = {"by_peer_address": "peer_address", "by_peer_network": "peer_network", "by_local_port": "local_port",
        "by_unit": "unit", "by_cause": "cause", "by_netns": "netns"}
TITLES = {"Peer Address": "by_peer_address", "Peer Network": "by_peer_network", "Local Port": "by_local_port",
          "Unit": "by_unit", "Cause": "by_cause", "Netns": "by_netns"}
ROW = re.compile(r"^(\S+)\s+(\d+)\s+(.+?)\s+(\d+) (-|\d+ by ~\S.*)$")


def json_counts(summary, by):
    return collections.Counter({str(g[KEYS[by]]) if g[KEYS[by]] is not None else "-": g["count"]
                                for g in summary[by]})


def parse_summary_table(text):
    """(total line, {grouping: [(key, count, oldest, never, reaped)]}, {grouping: "... more" line})."""
    blocks = text.split("\n\n")
    tables, more = {}, {}
    for block in blocks[1:]:
        lines = block.strip("\n").splitlines()
        title = next(t for t in TITLES if lines[0].startswith(t + " "))
        rows = []
        for line in lines[1:]:
            if line.startswith("... "):
                more[TITLES[title]] = line
                continue
            m = ROW.match(line)
            if not m:
                raise RuntimeError(f"summary row does not parse: {line!r}")
            rows.append((m.group(1), int(m.group(2)), m.group(3), int(m.group(4)), m.group(5)))
        tables[TITLES[title]] = rows
    return blocks[0].strip("\n"), tables, more


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--make-peers":
        return make_peers()
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    if not shutil.which("ip"):
        fwtest.skip_or_fail("ip (iproute2) not installed")
    t = fwtest.Failures("test_summary")
    work = tempfile.mkdtemp(prefix="finwatch-summary-")
    helper = None
    try:
        with fwtest.Fixture(a.fixture, MAKES) as fx:
            for addr in V6_ADDRS:
                fx.run("ip", "-6", "addr", "add", f"{addr}/128", "dev", "lo", "nodad", check=True)
            helper = subprocess.Popen(["nsenter", "-t", str(fx.pid), "-n", sys.executable, os.path.abspath(__file__),
                                       "--make-peers"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            t.eq(helper.stdout.readline().strip(), "READY", "the peers' sockets are made")
            ss = fwtest.wait_for(lambda: (lambda s: s if len(s) == TOTAL else None)(fwtest.ss_sockets(fx)))
            if not t.eq(len(ss or ()), TOTAL, "ss sees every stuck socket"):
                t.done()
            oracle = groups_of([(lo, p) for _, lo, p in ss])

            def finwatch(*args, sock=None):
                r = fx.run(a.finwatch, *(["--socket", sock] if sock else []), "list",
                           *([] if sock else ["--no-daemon"]), *args)
                if r.returncode != 0:
                    raise RuntimeError(f"finwatch list {' '.join(args)} failed ({r.returncode}): {r.stderr}")
                return r.stdout

            # ages grow and fates come closer between the two snapshots:
            # on a loaded machine by more than a second
            began = time.monotonic()
            rows = json.loads(finwatch("--json"))
            summary = json.loads(finwatch("--summary", "--json"))
            gap = time.monotonic() - began
            total, tables, more = parse_summary_table(finwatch("--summary"))

            # the counts: ss, list's rows, the summary's JSON and its table
            mine = groups_of([(f"{o['local_address']}:{o['local_port']}", f"{o['peer_address']}:{o['peer_port']}")
                              for o in rows])
            mine["by_unit"] = collections.Counter(o["unit"] or "-" for o in rows)
            mine["by_cause"] = collections.Counter(o["cause"] for o in rows)
            mine["by_netns"] = collections.Counter(o["netns"] for o in rows)
            t.eq(summary["total"]["count"], TOTAL, "JSON total")
            t.check(total.startswith(f"{TOTAL} stuck sockets, oldest "), f"the table's total line: {total!r}")
            for by in KEYS:
                if by in oracle:
                    t.eq(json_counts(summary, by), oracle[by], f"{by}: the summary's counts are ss's")
                t.eq(json_counts(summary, by), mine[by], f"{by}: the summary's counts are list's rows'")
                if by == "by_netns":
                    t.check(by not in tables, "no Netns table without --netns")
                    continue
                t.eq(collections.Counter({k: c for k, c, *_ in tables.get(by, [])}), json_counts(summary, by),
                     f"{by}: the table shows the JSON's groups")
                t.eq([c for _, c, *_ in tables.get(by, [])], [g["count"] for g in summary[by]],
                     f"{by}: the table's order is the JSON's")
                t.check(by not in more, f"{by}: no '... more' line for at most 10 groups")
                counts = [g["count"] for g in summary[by]]
                t.eq(counts, sorted(counts, reverse=True), f"{by}: largest first")
            t.eq(len(summary["by_peer_address"]), 9, "nine peers")
            byaddr = {g["peer_address"]: g for g in summary["by_peer_address"]}
            t.eq(byaddr.get("127.0.7.7", {}).get("family"), "ipv4", "a v4-mapped peer is an IPv4 peer")
            t.eq(byaddr.get("fd00:1::2", {}).get("family"), "ipv6", "an IPv6 peer")
            bynet = json_counts(summary, "by_peer_network")
            t.eq((bynet["127.0.0.0/24"], bynet["127.0.5.0/24"], bynet["127.0.7.0/24"], bynet["fd00:1::/64"],
                  bynet["fd00:2::/64"], bynet["::/64"]), (4 + 4 + 2, 1, 2, 4, 2, 2), "the /24s and /64s")
            # a tie of 4 with no ages: the address decides, the same every time
            t.eq([g["peer_address"] for g in summary["by_peer_address"][:2]], ["127.0.0.1", "127.0.0.2"],
                 "127.0.0.1 and 127.0.0.2 (4 each) in address order")
            # the kernel's fate, as list says it
            for key, want in (("fate_never", "never"), ("fate_reaped", "reaped"), ("fate_unknown", "unknown")):
                t.eq(summary["total"][key], sum(1 for o in rows if o["fate"] == want), f"total {key}")
            t.eq(summary["total"]["fate_never"], 2, "the owned zero-window sockets are never reaped")
            reaped = [o["reaped_in_seconds"] for o in rows if o["fate"] == "reaped"]
            t.check(reaped and summary["total"]["reaped_last_in_seconds"] >= max(reaped) - 1 - gap,
                    f"reaped_last_in_seconds is the latest fate ({summary['total']['reaped_last_in_seconds']}, "
                    f"{max(reaped, default=None)}, {gap:.1f} s apart)")
            cause = {g["cause"]: g for g in summary["by_cause"]}
            t.eq((cause.get("peer-zero-window", {}).get("fate_never"), cause.get("lost-fin", {}).get("fate_reaped")),
                 (2, TOTAL - 2), "by cause: never and reaped")
            zw = next((r for r in tables.get("by_cause", []) if r[0] == "peer-zero-window"), None)
            t.eq(zw and (zw[1], zw[3], zw[4]), (2, 2, "-"), "the table's zero-window row")
            t.check(zw and zw[2] != "-", f"with the kernel's age ({zw and zw[2]})")
            # no daemon: the kernel's lower bounds (age_min_seconds), the largest of each group
            # (young lost FINs not yet retransmitted have none: unknown, not 0)
            lows = [o["age_min_seconds"] for o in rows if o["age_min_seconds"] is not None]
            t.check(lows, f"no daemon: ages from the kernel ({lows})")
            # (a young one may get its bound between the snapshots)
            lo, hi = max(lows, default=0), max(lows, default=0) + 1.0 + gap
            t.check(all(len(lows) <= g["ages_known"] <= TOTAL and lo - 0.5 <= (g["oldest_age_seconds"] or -1) <= hi
                        for g in summary["by_unit"]),
                    f"no daemon: the oldest is the largest lower bound ({summary['by_unit']}, {lo}, {gap:.1f} s apart)")

            # the selectors apply before grouping
            s = json.loads(finwatch("--summary", "--json", "--state", "last-ack"))
            t.eq(s["total"]["count"], len(fwtest.ss_sockets(fx, ("last-ack",))), "--state last-ack: ss's count")
            t.eq(s["total"]["count"], 3, "--state last-ack: the fixture's three")
            s = json.loads(finwatch("--summary", "--json", "-6"))
            six = [o for o in rows if o["family"] == "ipv6"]
            t.eq(s["total"]["count"], len(six), "-6: list's IPv6 rows")
            t.eq(json_counts(s, "by_peer_address"), collections.Counter(o["peer_address"] for o in six),
                 "-6: its peers")
            t.eq(finwatch("--summary", "--unit", "nope.service"), "0 stuck sockets\n", "--unit of none: nothing")

            # with a daemon: the oldest age is the largest of the rows' ages
            conf = os.path.join(work, "summary.conf")
            sock = os.path.join(work, "control")
            with open(conf, "w") as f:
                f.write(f"[monitor]\ninterval = 200ms\n[alert]\nafter = 1h\n"
                        f"[daemon]\nstate_file =\ncontrol_socket = {sock}\n")
            d = fwtest.Daemon(a.finwatchd, conf, fx, work)
            try:
                def aged():
                    try:
                        got = json.loads(finwatch("--json", sock=sock))
                    except RuntimeError:
                        return None
                    return got if len(got) == TOTAL and all(o["alerted"] is not None for o in got) else None
                before = fwtest.wait_for(aged, 20) or []
                t.eq(len(before), TOTAL, "the daemon knows every socket's age")
                s = json.loads(finwatch("--summary", "--json", sock=sock))
                after = json.loads(finwatch("--json", sock=sock))
                lo = max((o["age_min_seconds"] for o in before), default=0)
                hi = max((o["age_min_seconds"] or 0 for o in after), default=0)
                t.check(lo <= (s["total"]["oldest_age_seconds"] or -1) <= hi,
                        f"oldest {s['total']['oldest_age_seconds']} between {lo} and {hi}")
                t.eq(s["total"]["ages_known"], TOTAL, "every age known")
                for g in s["by_peer_address"]:
                    t.check(g["oldest_age_seconds"] is not None, f"{g['peer_address']}: an oldest age")
                _, tab, _ = parse_summary_table(finwatch("--summary", sock=sock))
                t.check(all(r[2] != "-" for r in tab.get("by_local_port", [])), "the table shows the oldest ages")
            finally:
                d.stop()
    finally:
        if helper:
            helper.stdin.close()
            fwtest.stop_process(helper)
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
