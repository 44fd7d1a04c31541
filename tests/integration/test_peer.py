#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The peer that tries to come back: clients that reconnect from the same
address and port to a stuck FIN_WAIT_1 socket while their RSTs are dropped
(one with the kernel's own SYN retries, one retrying every 0.5 s) are told
`reconnecting` within two polls, with a "blocking a client" record and the
metric; with [kill] blocking = yes they are killed and the clients get
through. And the negatives: a zero-window peer answering probes is
`answering`, a FIN_WAIT_1 socket whose peer still sends data is not
`reconnecting`, a FIN_WAIT_1 socket that does not read while its peer
sends keepalives (dupacked, never reaching tcp_ack()) is not `reconnecting` (the namespace's counter
growing all the while from the other clients), a lost FIN with nothing
coming in is `silent`, and
blocking = yes kills none of them. Then the same from outside: netns =
all, the daemon reading the fixture namespace's counter through a process
in it. Real kernel, private namespaces in a world of the test's own."""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

import fwtest

BLOCKING = "2bfea22c16d5495ebe5de59bd6f35e91"
KILLED = "176cef42821a44f49b664d8769c52f27"
INTERVAL = 0.5
HELPER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "peer_reconnect.py")
# server port, client port
KERNEL = (9098, 30000)
FAST = (9097, 30001)
DATA = 9096
UNREAD = 9094  # our side does not read, the peer sends keepalives
OTHER = (9095, 30002)  # the second scenario's, in a second fixture


def write_conf(path, work, blocking, netns="host"):
    with open(path, "w") as f:
        f.write(f"[monitor]\ninterval = {int(INTERVAL * 1000)}ms\nnetns = {netns}\n"
                "[alert]\nafter = 1h\n"
                f"[kill]\nblocking = {'yes' if blocking else 'no'}\n"
                f"[metrics]\ntextfile = {work}/finwatch.prom\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {work}/control\n")


class Helper:
    """peer_reconnect.py in the fixture's namespace, stopped by PID."""

    def __init__(self, fx, *args):
        self.proc = subprocess.Popen(["nsenter", "-t", str(fx.pid), "-n", sys.executable, HELPER, *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.expect("READY")

    def expect(self, word):
        line = self.proc.stdout.readline().strip()
        while line.startswith("SYN "):
            line = self.proc.stdout.readline().strip()
        if not line.startswith(word):
            raise RuntimeError(f"peer_reconnect.py: want {word}, got {line!r}")
        return line

    def tell(self):
        self.proc.stdin.write("go\n")
        self.proc.stdin.flush()

    def stop(self):
        fwtest.stop_process(self.proc)


# Scenario 2 lists from outside the fixture's namespace: the daemon watches
# it with netns = all, and the CLI asks for every namespace.
OUTSIDE = []


def listing(fx, work):
    if OUTSIDE:
        r = subprocess.run([ARGS.finwatch, "--socket", f"{work}/control", "list", "--netns", "all", "--json"],
                           capture_output=True, text=True, timeout=60)
    else:
        r = fx.run(ARGS.finwatch, "--socket", f"{work}/control", "list", "--json")
    if r.returncode != 0:
        raise RuntimeError(f"list failed: {r.stderr}")
    return {o["local_port"]: o for o in json.loads(r.stdout)}


def peer_of(fx, work, port):
    o = listing(fx, work).get(port)
    return o["peer"] if o else None


def established(fx, server_port, client_port):
    r = fx.run("ss", "-tanH", "state", "established", f"( sport = :{client_port} and dport = :{server_port} )",
               check=True)
    return len([l for l in r.stdout.splitlines() if l.strip()]) == 1


def add_drop_rule(fx, *client_ports):
    """The clients' own FIN and RST are lost too, for their ports only."""
    ports = ", ".join(map(str, client_ports))
    fx.run("nft", "add table inet fw_peer; add chain inet fw_peer input { type filter hook input "
           "priority filter; policy accept; }; add rule inet fw_peer input iifname lo tcp sport "
           f"{{ {ports} }} tcp flags & (fin|rst) != 0 drop", check=True)


def test_other_netns(t, a, work, jd):
    """netns = all, the daemon outside the fixture's namespace: the counter
    is read through a process found in it (/proc/PID/net/netstat)."""
    conf = os.path.join(work, "finwatch-all.conf")
    write_conf(conf, work, blocking=True, netns="all")
    # the daemon's home is an empty namespace of the test's own, not the
    # host's: blocking = yes must not reach a real socket of the machine
    with fwtest.Fixture(a.fixture, ["zero-window:last-ack:owned:4:1"]) as fx, \
            fwtest.Fixture(a.fixture, []) as home:
        add_drop_rule(fx, OTHER[1])
        other = Helper(fx, "fast", *map(str, OTHER))
        made = time.monotonic()
        d = fwtest.Daemon(a.finwatchd, conf, home, work, journal=jd)
        OUTSIDE.append(True)
        try:
            ok = fwtest.wait_for(lambda: OTHER[0] in listing(fx, work), 15)
            t.check(ok, "netns = all: the stuck socket is listed")
            if not ok:
                status = subprocess.run([ARGS.finwatch, "--socket", f"{work}/control", "status"],
                                        capture_output=True, text=True, timeout=60)
                print(f"status: {status.stdout}{status.stderr}\nfinwatchd said: {d.stderr()[-4000:]}\n"
                      f"ss in the fixture: {fwtest.ss_sockets(fx)}", file=sys.stderr)
            time.sleep(max(0.0, 3.2 - (time.monotonic() - made)))
            other.tell()
            ok = fwtest.wait_for(lambda: established(fx, *OTHER), 2 * INTERVAL + 4.0, 0.2)
            t.check(ok, "netns = all: flagged, killed at once, and the client connected")
            t.eq(other.expect("CONNECTED"), "CONNECTED", "netns = all: the client connected")
            recs = jd.records(f"MESSAGE_ID={BLOCKING}", f"FINWATCH_LOCAL=127.0.0.1:{OTHER[0]}")
            t.check(len(recs) >= 1 and recs[-1].get("FINWATCH_NETNS", "").startswith("net:["),
                    f"netns = all: a blocking record of the fixture's namespace: {[r.get('FINWATCH_NETNS') for r in recs]}")
        finally:
            OUTSIDE.clear()
            d.stop()
            other.stop()


def main():
    global ARGS
    ARGS = a = fwtest.parse_args()
    fwtest.require_root_netns()
    fwtest.enter_private_world()  # netns = all reaches only what this test made
    if not fwtest.find_journald():
        fwtest.skip_or_fail("systemd-journald is needed")
    t = fwtest.Failures("test_peer")
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    helpers = []
    conf = os.path.join(work, "finwatch.conf")
    try:
        with fwtest.Journal() as jd, \
                fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:owned:4:1", "zero-window:last-ack:owned:4:1"]) as fx:
            add_drop_rule(fx, KERNEL[1], FAST[1])
            # the kernel's SYN retries 1, 3, 7 s apart (Linux 6.5 made the
            # first ones linear by default), failing after 15 s
            fx.run("sh", "-c", "echo 3 > /proc/sys/net/ipv4/tcp_syn_retries; "
                   "f=/proc/sys/net/ipv4/tcp_syn_linear_timeouts; [ ! -e $f ] || echo 0 > $f", check=True)
            kernel = Helper(fx, "kernel", *map(str, KERNEL))
            helpers.append(kernel)
            fast = Helper(fx, "fast", *map(str, FAST))
            helpers.append(fast)
            helpers.append(Helper(fx, "data", str(DATA)))
            helpers.append(Helper(fx, "unread", str(UNREAD)))
            made = time.monotonic()
            zw_port = [int(m["local"].rsplit(":", 1)[1]) for m in fx.manifest if m.get("cause") == "zero-window"]
            lf_port = [int(m["local"].rsplit(":", 1)[1]) for m in fx.manifest if m.get("cause") == "lost-fin"]
            t.check(len(zw_port) == 1 and len(lf_port) == 1, f"the fixture's manifest: {fx.manifest}")

            write_conf(conf, work, blocking=False)
            d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd)
            try:
                ok = fwtest.wait_for(lambda: fx.run(a.finwatch, "--socket", f"{work}/control", "status").returncode == 0,
                                     15)
                t.check(ok, "finwatchd answers")
                # The lost FINs' retransmissions (0.2, 0.6, 1.4, 3.0, 6.2 s after)
                # are rare from 3 s on: what a SYN must exceed is then 0 or 1.
                time.sleep(max(0.0, 3.2 - (time.monotonic() - made)))
                before = listing(fx, work)
                for port in (KERNEL[0], FAST[0], DATA, UNREAD):
                    t.check(port in before and before[port]["state"] == "FIN_WAIT_1", f"port {port} stuck in FIN_WAIT_1")
                t.check(before.get(KERNEL[0], {}).get("peer") != "reconnecting", "not reconnecting before the SYNs")

                kernel.tell()
                fast.tell()
                first_syn = time.monotonic()
                # within two polls of the first SYN (slack for a busy machine)
                ok = fwtest.wait_for(lambda: peer_of(fx, work, KERNEL[0]) == "reconnecting"
                                     and peer_of(fx, work, FAST[0]) == "reconnecting", 2 * INTERVAL + 1.0, 0.1)
                took = time.monotonic() - first_syn
                t.check(ok, f"both flagged reconnecting within two polls (+1 s): {took:.2f} s, "
                        f"{listing(fx, work).get(KERNEL[0], {}).get('peer')}/{listing(fx, work).get(FAST[0], {}).get('peer')}")
                print(f"flagged reconnecting {took:.2f} s after the first SYN")

                # the negatives, while the clients keep trying
                time.sleep(2 * INTERVAL)
                now = listing(fx, work)
                t.eq(now.get(zw_port[0], {}).get("peer"), "answering", "zero-window peer answering probes")
                t.eq(now.get(DATA, {}).get("peer"), "answering", "FIN_WAIT_1 whose peer still sends data")
                t.check(now.get(UNREAD, {}).get("recv_q", 0) > 0,
                        f"the non-reading socket has unread data: {now.get(UNREAD)}")
                t.check(now.get(UNREAD, {}).get("peer") in ("answering", "silent"),
                        f"FIN_WAIT_1 not reading, its peer sending keepalives: not reconnecting: {now.get(UNREAD, {}).get('peer')}")
                t.eq(now.get(lf_port[0], {}).get("peer"), "silent", "a lost FIN, nothing coming in")
                table = fx.run(a.finwatch, "--socket", f"{work}/control", "list")
                t.check("Peer" in table.stdout.splitlines()[0] and "reconnecting" in table.stdout, "table: Peer column")

                # the record and the metric
                recs = fwtest.wait_for(lambda: jd.records(f"MESSAGE_ID={BLOCKING}"), 5)
                ports = sorted(int(r["FINWATCH_LOCAL"].rsplit(":", 1)[1]) for r in recs)
                t.eq(ports, sorted([KERNEL[0], FAST[0]]), "one blocking record each")
                t.check(all(r.get("FINWATCH_PEER_STATE") == "reconnecting" and "blocks a client" in r["MESSAGE"]
                            for r in recs), "blocking records say so")
                with open(f"{work}/finwatch.prom") as f:
                    prom = f.read()
                t.check('finwatch_stuck_sockets_by_peer{peer="reconnecting"} 2' in prom,
                        "metric: 2 reconnecting")

                # blocking = yes: killed at once, the clients' next SYN connects
                write_conf(conf, work, blocking=True)
                d.signal(signal.SIGHUP)
                ok = fwtest.wait_for(lambda: established(fx, *KERNEL) and established(fx, *FAST), 10, 0.2)
                t.check(ok, "both clients connected after the kills")
                t.eq(kernel.expect("CONNECTED"), "CONNECTED", "kernel-retry client connected")
                t.eq(fast.expect("CONNECTED"), "CONNECTED", "fast-retry client connected")
                left = fwtest.ss_sockets(fx)
                ports = {int(local.rsplit(":", 1)[1]) for _, local, _ in left}
                t.check(KERNEL[0] not in ports and FAST[0] not in ports, f"the blocking sockets are gone: {left}")
                t.check(DATA in ports and UNREAD in ports and zw_port[0] in ports and lf_port[0] in ports,
                        f"the others are not killed: {left}")
                time.sleep(3 * INTERVAL)
                left = fwtest.ss_sockets(fx)
                ports = {int(local.rsplit(":", 1)[1]) for _, local, _ in left}
                t.check(DATA in ports and UNREAD in ports and zw_port[0] in ports and lf_port[0] in ports,
                        f"still not killed a while later: {left}")
                kills = jd.records(f"MESSAGE_ID={KILLED}")
                t.eq(sorted(int(r["FINWATCH_LOCAL"].rsplit(":", 1)[1]) for r in kills), sorted([KERNEL[0], FAST[0]]),
                     "two kill records, the blocking sockets'")
                t.check(all(r.get("FINWATCH_KILL_ORIGIN") == "auto" for r in kills), "killed by the policy")
            finally:
                d.stop()
                for h in helpers:
                    h.stop()
                helpers = []
            test_other_netns(t, a, work, jd)
    finally:
        for h in helpers:
            h.stop()
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
