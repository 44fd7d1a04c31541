#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Every network namespace: finwatchd with netns = all finds the sockets
stuck in two namespaces the test made, lists them with their namespace,
alerts with FINWATCH_NETNS, kills in the right namespace, and drops a
namespace that goes away mid-run without errors. A daemon that watches its
own namespace only still kills in another one, with the sock_diag socket
the CLI passes it, and refuses in words where it cannot reach. All of it in
a world of its own (fwtest.enter_private_world): --netns all reaches only
what the test made."""
import json
import os
import shutil
import tempfile
import time

import fwtest


def ns_name(pid):
    return f"net:[{os.stat(f'/proc/{pid}/ns/net').st_ino}]"


def host_only_daemon(t, a, work, jd, fx):
    """A daemon that watches only its own namespace (the shipped unit's: it
    cannot setns) kills in another one with the sock_diag socket the CLI
    opened there and passed along, and records it; where no socket came and
    it does not watch, it refuses in words, and the CLI fails."""
    import socket
    import struct

    sock = os.path.join(work, "control-host")
    conf = os.path.join(work, "host.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[daemon]\nstate_file =\ncontrol_socket = {sock}\n")
    d = fwtest.Daemon(a.finwatchd, conf, None, work, journal=jd)
    cli = [a.finwatch, "--socket", sock]
    try:
        fwtest.wait_for(lambda: fwtest.subprocess.run([*cli, "status"], capture_output=True).returncode == 0, 15)
        before = fwtest.ss_sockets(fx)
        t.eq(len([s for s in before if s[0] == "FIN_WAIT_1"]), 1, "one FIN_WAIT_1 socket in the namespace")
        r = fwtest.subprocess.run([*cli, "kill", "--netns", "all", "--state", "fin-wait-1", "--yes"],
                                  capture_output=True, text=True, timeout=60)
        t.eq(r.returncode, 0, f"kill through a host-only daemon: {r.stdout.strip()} {r.stderr.strip()}")
        t.check(r.stdout.startswith("killed FIN_WAIT_1"), f"it says killed: {r.stdout.strip()!r}")
        t.eq([s for s in fwtest.ss_sockets(fx) if s[0] == "FIN_WAIT_1"], [], "the socket is gone (ss)")

        # a CLI in another namespace than the daemon's, without --netns:
        # its own namespace is the socket's, named by inode, socket passed
        with fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:1"]) as other:
            r = other.run(*cli, "kill", "--state", "last-ack", "--yes")
            t.eq(r.returncode, 0, f"kill from the socket's own namespace: {r.stdout.strip()} {r.stderr.strip()}")
            t.check(r.stdout.startswith("killed LAST_ACK"), f"it says killed, not 'already gone': {r.stdout!r}")
            t.eq(fwtest.ss_sockets(other), set(), "the socket is gone (ss)")
        recs = fwtest.wait_for(lambda: jd.records(f"_PID={d.pid}", "MESSAGE_ID=176cef42821a44f49b664d8769c52f27"),
                               10) or []
        t.check(recs and recs[0].get("FINWATCH_KILL_RESULT") == "killed" and
                recs[0].get("FINWATCH_NETNS") == ns_name(fx.pid) and recs[0].get("FINWATCH_REQUESTER_UID") == "0",
                f"the daemon recorded the kill in that namespace: {[(x.get('FINWATCH_KILL_RESULT'), x.get('FINWATCH_NETNS')) for x in recs]}")

        # a socket named in that namespace, without a sock_diag socket for
        # it (what a client that could not open one would send): refused as
        # out of reach, not "already gone"
        ino = os.stat(f"/proc/{fx.pid}/ns/net").st_ino
        lo = socket.inet_aton("127.0.0.1") + bytes(12)
        sid = struct.pack("=Q16s16sHHIBB6xII", 12345, lo, lo, 9000, 40000, 0, socket.AF_INET, 9, ino, 0)
        with socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET) as s:
            s.settimeout(10)
            s.connect(sock)
            s.send(struct.pack("=IHHII", 0x54435746, 1, 5, 16 + 8 + len(sid), 0) + struct.pack("=II", 1, 0) + sid)
            reply = s.recv(70000)
        typ = struct.unpack_from("=IHHII", reply)[2]
        t.eq(typ, 104, "a kill result")
        if typ == 104:
            t.eq(struct.unpack_from("=Qi", reply, 24)[1], -6, "out of reach: -ENXIO, not 'already gone'")
        t.eq(len(fwtest.ss_sockets(fx)), len(before) - 1, "and nothing else was killed")
        recs = jd.records(f"_PID={d.pid}", "MESSAGE_ID=176cef42821a44f49b664d8769c52f27", "FINWATCH_COOKIE=12345")
        t.check(recs and recs[-1].get("FINWATCH_KILL_RESULT") == "failed" and
                recs[-1].get("FINWATCH_KILL_ERRNO") == "6", "the refusal is recorded too")
    finally:
        t.eq(d.stop(), 0, "the host-only daemon exits cleanly")


def reload_to_host(t, a, work, jd):
    """Reloaded from names that leave out our own namespace to netns = host,
    the daemon watches ours again (sockets made in it, this test's world)."""
    import signal

    sock = os.path.join(work, "control-reload")
    conf = os.path.join(work, "reload.conf")

    def write(netns):
        with open(conf, "w") as f:
            f.write(f"[monitor]\nnetns = {netns}\ninterval = 200ms\n[daemon]\nstate_file =\n"
                    f"control_socket = {sock}\n")

    def tracked():
        r = fwtest.subprocess.run([a.finwatch, "--socket", sock, "status", "--json"], capture_output=True,
                                  text=True)
        return json.loads(r.stdout)["tracked"] if r.returncode == 0 else None

    write("nosuchname")
    # in our own namespace: private to this test's world
    with fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:2"], unshare=False):
        d = fwtest.Daemon(a.finwatchd, conf, None, work, journal=jd)
        try:
            fwtest.wait_for(lambda: tracked() is not None, 15)
            time.sleep(1)
            t.eq(tracked(), 0, "netns = nosuchname: our namespace is not watched")
            write("host")
            d.signal(signal.SIGHUP)
            t.check(fwtest.wait_for(lambda: tracked() == 2, 10), f"reloaded to host: ours watched again ({tracked()})")
        finally:
            t.eq(d.stop(), 0, "the reloaded daemon exits cleanly")


def daemon_fds(d):
    return len(os.listdir(f"/proc/{d.pid}/fd"))


def daemon_cpu_seconds(d):
    # finwatchd itself: the last process of the nsenter/prlimit chain exec'd into it
    with open(f"/proc/{d.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def many_namespaces(t, a, work, jd):
    """netns = all with a file limit of 64 and 60 namespaces made by an
    unprivileged user (unshare -Urn): the cap fits the limit, the rest are
    counted and said; control connections past the limit pause accept
    instead of spinning, and namespaces that find no descriptor are counted;
    a reload to netns = host closes every namespace's socket."""
    import signal

    sock = os.path.join(work, "control-many")
    conf = os.path.join(work, "many.conf")
    prom = os.path.join(work, "many.prom")

    def write(netns):
        with open(conf, "w") as f:
            f.write(f"[monitor]\nnetns = {netns}\ninterval = 200ms\n[daemon]\nstate_file =\n"
                    f"control_socket = {sock}\n[metrics]\ntextfile = {prom}\n")

    def status():
        r = fwtest.subprocess.run([a.finwatch, "--socket", sock, "status", "--json"], capture_output=True,
                                  text=True, timeout=60)
        return json.loads(r.stdout) if r.returncode == 0 else None

    def sleeper():
        return fwtest.subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                        "unshare", "-Urn", "sleep", "600"])

    def in_own_netns(p):
        try:
            return os.stat(f"/proc/{p.pid}/ns/net").st_ino != os.stat("/proc/self/ns/net").st_ino
        except OSError:
            return False

    write("all")
    sleepers = [sleeper() for _ in range(60)]
    extra = []
    d = None
    try:
        t.check(fwtest.wait_for(lambda: all(in_own_netns(p) for p in sleepers), 20),
                "60 namespaces made by uid 65534 (unshare -Urn)")
        d = fwtest.Daemon(a.finwatchd, conf, None, work, journal=jd, prefix=("prlimit", "--nofile=64:64"))
        st = fwtest.wait_for(lambda: (lambda s: s if s and s.get("netns_watched") else None)(status()), 15) or {}
        cap = st.get("netns_max", 0)
        t.check(0 < cap < 60, f"the cap fits a file limit of 64 ({cap})")
        unw = st.get("netns_unwatched") or {}
        t.eq(st.get("netns_watched"), cap, "as many watched as the cap")
        t.check(unw.get("max_netns", 0) >= 60 - cap, f"the rest counted past max_netns ({unw})")
        t.check(fwtest.wait_for(lambda: "max_netns = 1024 does not fit the file limit" in d.stderr(), 5),
                "the cap below max_netns is said")
        t.check("past max_netns" in d.stderr() and "not watched" in d.stderr(), "the unwatched ones are said")
        t.check(fwtest.wait_for(lambda: os.path.exists(prom) and
                                'finwatch_netns_unwatched{reason="max_netns"}' in open(prom).read(), 5),
                "metrics count them")
        if os.path.exists(prom):
            vals = {line.split()[0]: float(line.split()[1]) for line in open(prom)
                    if line.startswith("finwatch_netns")}
            t.eq(vals.get("finwatch_netns_watched"), float(cap), "metric: watched")
            t.check(vals.get('finwatch_netns_unwatched{reason="max_netns"}', 0) >= 60 - cap, f"metric: over cap {vals}")

        # what polling 60 namespaces costs, to tell a spin from it
        cpu0 = daemon_cpu_seconds(d)
        time.sleep(3)
        baseline = daemon_cpu_seconds(d) - cpu0
        # descriptors run out: connections held by root fill the rest
        import socket as socketmod
        held = []
        for _ in range(60):
            c = socketmod.socket(socketmod.AF_UNIX, socketmod.SOCK_SEQPACKET)
            c.settimeout(5)
            try:
                c.connect(sock)
                held.append(c)
            except OSError:
                c.close()
        time.sleep(1)
        cpu0 = daemon_cpu_seconds(d)
        time.sleep(3)
        spent = daemon_cpu_seconds(d) - cpu0
        t.check(spent < baseline + 1.0,
                f"out of descriptors, accept does not spin ({spent:.2f} s of CPU in 3 s, {baseline:.2f} s before)")
        t.check("cannot accept control connections" in d.stderr(), "the failed accept is said")
        t.eq(d.stderr().count("cannot accept control connections"), 1, "said once")
        # namespaces that come now find no descriptor: counted, said
        for p in sleepers[:5]:
            fwtest.stop_process(p)
        extra = [sleeper() for _ in range(5)]
        t.check(fwtest.wait_for(lambda: "out of file descriptors" in d.stderr() and
                                " 0 out of file descriptors" not in d.stderr().split("not watched")[-1], 10),
                f"namespaces without a descriptor are counted and said: {d.stderr()[-400:]!r}")
        for c in held:
            c.close()
        t.check(fwtest.wait_for(lambda: status() is not None, 10), "status answers again once they left")
        t.check("accepting control connections again" in d.stderr(), "the recovery is said")
        st = fwtest.wait_for(lambda: (lambda s: s if s and (s.get("netns_unwatched") or {}).get("no_fds") == 0
                                      else None)(status()), 10) or {}
        t.eq((st.get("netns_unwatched") or {}).get("no_fds"), 0, "with descriptors back, none left out for want of them")
        t.eq(st.get("netns_watched"), cap, "and as many watched as the cap again")

        # reload to netns = host: every namespace's socket is closed
        before = daemon_fds(d)
        write("host")
        d.signal(signal.SIGHUP)
        t.check(fwtest.wait_for(lambda: daemon_fds(d) <= before - cap, 10),
                f"reloaded to host: the namespaces' sockets closed ({before} before, {daemon_fds(d)} now, cap {cap})")
        st = status() or {}
        t.check("netns_watched" not in st, "status shows no namespaces in host mode")
    finally:
        if d:
            t.eq(d.stop(), 0, "the limited daemon exits cleanly")
        for p in sleepers + extra:
            fwtest.stop_process(p)


ODD_ENTRIES = ("fifo", "file\x1bx", "mnt", "dev")   # not network namespaces
ODD_SHOWN = ("fifo", "file\\x1bx", "mnt", "dev")     # as they are said: escaped


def make_odd_entries(d, one):
    """In directory d (a /run/netns): a FIFO, a regular file named with an
    ESC, links to /proc/self/ns/mnt and to /dev/null, and a link to the
    network namespace of the live process one.pid ("link")."""
    os.makedirs(d, exist_ok=True)
    os.mkfifo(os.path.join(d, "fifo"))
    open(os.path.join(d, "file\x1bx"), "w").close()
    os.symlink("/proc/self/ns/mnt", os.path.join(d, "mnt"))
    os.symlink("/dev/null", os.path.join(d, "dev"))
    os.symlink(f"/proc/{one.pid}/ns/net", os.path.join(d, "link"))


def remove_odd_entries(d):
    for name in (*ODD_ENTRIES, "link"):
        try:
            os.unlink(os.path.join(d, name))
        except OSError:
            pass


def odd_run_netns(t, a, work, jd, one):
    """/run/netns entries that are links to /proc/PID/ns/net are followed;
    a FIFO, a file, a link to another kind of namespace and one to a device
    are left out, counted, named (escaped), and never waited on: by the CLI
    and by the daemon."""
    want = len(fwtest.ss_sockets(one))
    said = f"{len(ODD_ENTRIES)} entries of /run/netns left out: not a network namespace: "
    writer = None
    try:
        make_odd_entries("/run/netns", one)
        # a writer waits in open() until someone opens the FIFO to read
        writer = fwtest.subprocess.Popen(["sh", "-c", "exec 3>/run/netns/fifo"])
        r = fwtest.subprocess.run([a.finwatch, "list", "--no-daemon", "--netns", "all", "--json"],
                                  capture_output=True, text=True, timeout=20)
        time.sleep(0.2)
        t.check(writer.poll() is None, "the FIFO is not even opened: its writer still waits")
        t.eq(r.returncode, 0, f"list --netns all with odd entries: {r.stderr.strip()}")
        rows = json.loads(r.stdout) if r.returncode == 0 else []
        t.check(want > 0 and sum(1 for o in rows if o["netns"] == "link") == want,
                f"a link to /proc/PID/ns/net is followed ({want} sockets there)")
        line = [x for x in r.stderr.splitlines() if said in x]
        t.check(line and all(n in line[0].split(said)[1].split(", ") for n in ODD_SHOWN),
                f"the others are said, each by its name, escaped: {r.stderr.strip()!r}")
    finally:
        fwtest.stop_process(writer)
        remove_odd_entries("/run/netns")

    # the daemon (in the test journald's mount namespace: its /run/netns)
    run_netns = f"/proc/{jd.pid}/root/run/netns"
    sock = os.path.join(work, "control-odd")
    conf = os.path.join(work, "odd.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\nnetns = all\ninterval = 200ms\n[alert]\nafter = 1s\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {sock}\n")
    made_dir = not os.path.isdir(run_netns)
    d = None
    try:
        make_odd_entries(run_netns, one)
        d = fwtest.Daemon(a.finwatchd, conf, None, work, journal=jd)

        def status():
            r = fwtest.subprocess.run([a.finwatch, "--socket", sock, "status", "--json"], capture_output=True,
                                      text=True, timeout=20)
            return json.loads(r.stdout) if r.returncode == 0 else None

        st = fwtest.wait_for(lambda: (lambda s: s if s and s.get("netns_unwatched") else None)(status()), 15) or {}
        t.eq((st.get("netns_unwatched") or {}).get("not_netns"), len(ODD_ENTRIES),
             f"the daemon counts them as not network namespaces: {st.get('netns_unwatched')}")
        warned = fwtest.wait_for(lambda: [x for x in d.stderr().splitlines() if "of /run/netns that are no" in x], 5)
        t.check(warned and f"{len(ODD_ENTRIES)} entries of /run/netns that are no network namespace (" in warned[0]
                and all(n in warned[0] for n in ODD_SHOWN),
                f"and warns, naming each, escaped: {d.stderr()[-400:]!r}")
        # it tracks the linked namespace's sockets: the CLI (whose own
        # /run/netns is empty now) gets their ages from it
        ino = os.stat(f"/proc/{one.pid}/ns/net").st_ino

        def tracked():
            r = fwtest.subprocess.run([a.finwatch, "--socket", sock, "list", "--netns", "all", "--json"],
                                      capture_output=True, text=True, timeout=20)
            rows = [o for o in json.loads(r.stdout) if o["netns_inode"] == ino] if r.returncode == 0 else []
            return rows if len(rows) == want and all(o["alerted"] is not None for o in rows) else None

        t.check(fwtest.wait_for(tracked, 10), f"and watches the linked namespace ({want} sockets tracked)")
        recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= want else None)(
            jd.records(f"_PID={d.pid}", "MESSAGE_ID=b4cd1459bf4140c695af9432d3238033")), 15) or []
        t.check(recs and all(x.get("FINWATCH_NETNS") == "link" for x in recs),
                f"under the link's name: {[x.get('FINWATCH_NETNS') for x in recs]}")
        t.check(d.alive(), "the daemon runs on")
    finally:
        if d:
            t.eq(d.stop(), 0, "clean exit")
        remove_odd_entries(run_netns)
        if made_dir:
            try:
                os.rmdir(run_netns)
            except OSError:
                pass


def main():
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    fwtest.enter_private_world()
    t = fwtest.Failures("test_netns")
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    sock = os.path.join(work, "control")
    conf = os.path.join(work, "netns.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\nnetns = all\ninterval = 200ms\n[alert]\nafter = 1s\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {sock}\n")
    cli = [a.finwatch, "--socket", sock]
    try:
        with fwtest.Journal() as jd, \
                fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:2", "zero-window:fin-wait-1:owned:4:1"]) as one, \
                fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:6:2"]) as two:
            names = {ns_name(one.pid): 3, ns_name(two.pid): 2}
            d = fwtest.Daemon(a.finwatchd, conf, None, work, journal=jd)
            try:
                def ours(rows):
                    return [o for o in rows if o["netns"] in names]

                def listed():
                    r = fwtest.subprocess.run([*cli, "list", "--netns", "all", "--json"], capture_output=True,
                                              text=True, timeout=60)
                    rows = ours(json.loads(r.stdout)) if r.returncode == 0 else []
                    return rows if len(rows) == 5 and all(o["alerted"] is not None for o in rows) else None

                rows = fwtest.wait_for(listed, 15) or []
                t.eq(len(rows), 5, "the sockets of both namespaces, tracked by the daemon")
                for n, count in names.items():
                    t.eq(sum(1 for o in rows if o["netns"] == n), count, f"{count} in {n}")
                t.check(all(o["netns_inode"] for o in rows), "netns_inode")
                table = fwtest.subprocess.run([*cli, "list", "--netns", "all"], capture_output=True, text=True).stdout
                t.check("Netns" in table.splitlines()[0] and all(n in table for n in names), "a Netns column")
                # the host's own view does not show them
                host = json.loads(fwtest.subprocess.run([*cli, "list", "--json"], capture_output=True,
                                                        text=True).stdout)
                t.eq(ours(host), [], "without --netns: the host's namespace only")

                recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= 5 else None)(
                    jd.records(f"_PID={d.pid}", "MESSAGE_ID=b4cd1459bf4140c695af9432d3238033")), 15) or []
                t.eq(sorted(r.get("FINWATCH_NETNS") for r in recs if r.get("FINWATCH_NETNS") in names),
                     sorted([n for n, c in names.items() for _ in range(c)]), "alerts carry FINWATCH_NETNS")

                # kill through the daemon, in the namespace the socket lives in
                before = fwtest.ss_sockets(one)
                r = fwtest.subprocess.run([*cli, "kill", "--netns", "all", "--state", "last-ack", "--yes"],
                                          capture_output=True, text=True, timeout=60)
                t.eq(r.returncode, 0, f"kill in another namespace: {r.stdout.strip()} {r.stderr.strip()}")
                after = fwtest.ss_sockets(one)
                t.eq(len(after), len(before) - 2, "the two LAST_ACK sockets are gone from that namespace")
                t.eq(len(fwtest.ss_sockets(two)), 2, "the other namespace is untouched")

                # a namespace that goes away mid-run is dropped without errors
                two.stop()
                gone = fwtest.wait_for(lambda: (lambda rows: rows is not None and all(
                    o["netns"] != list(names)[1] for o in rows))(
                    json.loads(fwtest.subprocess.run([*cli, "list", "--netns", "all", "--json"],
                                                     capture_output=True, text=True).stdout or "null")), 10)
                t.check(gone, "the removed namespace is no longer listed")
                time.sleep(1)
                st = json.loads(fwtest.subprocess.run([*cli, "status", "--json"], capture_output=True,
                                                      text=True).stdout)
                t.eq(st.get("poll_failures"), 0, "no failed poll")
                err = d.stderr()
                t.check("<3>" not in err, f"no error logged: {err.strip()[-300:]!r}")
                t.check(d.alive(), "the daemon runs on")
            finally:
                t.eq(d.stop(), 0, "clean exit")
            odd_run_netns(t, a, work, jd, one)
            host_only_daemon(t, a, work, jd, one)
            reload_to_host(t, a, work, jd)
            many_namespaces(t, a, work, jd)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
