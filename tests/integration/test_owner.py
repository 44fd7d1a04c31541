#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Why a socket is stuck and whose it is: every cause made on purpose is
classified right (v4 and v6, orphan and owned); the fate estimate of an
orphan is within 20% of when the kernel really reaps it; sockets made in a
transient cgroup named like a unit are attributed to it, also after
close(), and to "(deleted)" once the cgroup is gone; alerts carry cause,
fate and unit; --unit filters list and kill. In a cgroup tree shaped like a
user's manager, the user's units are named behind it and never pass for the
system's unit of the same name. The process holding an owned socket is
looked up with --processes only, each process read once."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import fwtest

EXPECTED_TIMER = {"lost-fin": "retransmit", "zero-window": "persist", "blocked-locally": "persist"}
EXPECTED_CAUSE = {"lost-fin": "lost-fin", "zero-window": "peer-zero-window", "blocked-locally": "blocked-locally"}


def cgroup2_root():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            if right.split()[0] == "cgroup2":
                return left.split()[4]
    return None


def own_cgroup():
    with open("/proc/self/cgroup") as f:
        for line in f:
            if line.startswith("0::"):
                return line[3:].strip()
    return "/"


def remove_cgroups(top, home):
    """Remove the cgroup tree at top, deepest first; a process still in it
    goes back to home first. Quiet: this is cleanup, on failure too."""
    if not os.path.isdir(top):
        return
    for path, _, _ in os.walk(top, topdown=False):
        try:
            with open(os.path.join(path, "cgroup.procs")) as f:
                for pid in f.read().split():
                    with open(os.path.join(home, "cgroup.procs"), "w") as p:
                        p.write(pid)
        except OSError:
            pass
        try:
            os.rmdir(path)
        except OSError:
            pass


def in_cgroup(cg, *cmd):
    """cmd, moved into the cgroup cg before it starts (it makes its sockets there)."""
    return ["sh", "-c", 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', "sh", cg, *cmd]


def key(o):
    addr = lambda a, p: f"[{a}]:{p}" if ":" in a else f"{a}:{p}"
    return (o["state"], addr(o["local_address"], o["local_port"]), addr(o["peer_address"], o["peer_port"]))


def list_json(fx, a, *args):
    r = fx.run(a.finwatch, "list", "--no-daemon", "--json", *args)
    return json.loads(r.stdout) if r.returncode == 0 else []


def test_causes(t, a):
    makes = [f"{c}:{s}:{o}:{f}:1" for c in ("lost-fin", "zero-window", "blocked-locally")
             for s in ("fin-wait-1", "last-ack") for o in ("orphan", "owned") for f in ("4", "6")]
    with fwtest.Fixture(a.fixture, makes) as fx:
        expected = {(m["state"], m["local"], m["peer"]): m for m in fx.manifest}

        def settled():
            got = list_json(fx, a)
            ok = len(got) == len(expected) and all(
                key(o) in expected and o["cause"] == EXPECTED_CAUSE[expected[key(o)]["cause"]] for o in got)
            return got if ok else None

        got = fwtest.wait_for(settled, 15) or list_json(fx, a)
        t.eq(len(got), 24, "every cause, state, owner and family listed")
        for o in got:
            m = expected.get(key(o))
            if not t.check(m is not None, f"{key(o)} was made"):
                continue
            t.eq(o["cause"], EXPECTED_CAUSE[m["cause"]], f"{key(o)} {m['cause']} orphan={m['orphan']} cause")
            t.eq(o["timer"], EXPECTED_TIMER[m["cause"]], f"{key(o)} timer")
            if m["cause"] == "zero-window" and not m["orphan"]:
                t.eq(o["fate"], "never", f"{key(o)} owned behind a zero window: never reaped")
            else:
                t.eq(o["fate"], "reaped", f"{key(o)} fate")
                t.check(o["reaped_in_seconds"] is not None and o["reaped_in_seconds"] > 0, f"{key(o)} reaped in")
        table = fx.run(a.finwatch, "list", "--no-daemon").stdout.splitlines()
        t.check("Cause" in table[0] and "Fate" in table[0] and "Unit" in table[0] and "Process" not in table[0],
                f"table has Cause, Fate and Unit, no Process without --processes: {table[0]}")
        table = fx.run(a.finwatch, "list", "--no-daemon", "--processes").stdout.splitlines()
        t.check("Unit" in table[0] and "Process" in table[0], f"--processes: a Process column: {table[0]}")


def reads_per_process(trace):
    """From strace -f -e trace=openat of finwatch: how often it opened
    each process's fd directory and command name, by (kind, pid)."""
    counts = {}
    for m in re.finditer(r'"(?:/proc/)?(\d+)/(fd|comm)"', trace):
        counts[m.group(2), int(m.group(1))] = counts.get((m.group(2), int(m.group(1))), 0) + 1
    return counts


def ss_holders(text):
    """From ss -tanpe: the pids holding each socket, by inode."""
    holders = {}
    for line in text.splitlines():
        ino = re.search(r"\bino:(\d+)", line)
        if ino and int(ino.group(1)):
            holders[int(ino.group(1))] = {int(p) for p in re.findall(r"\bpid=(\d+)", line)}
    return holders


def traced_list(fx, a, via, *args):
    """finwatch list --json --no-daemon ARGS under strace (opens and bpf
    calls), FINWATCH_PROCESS_LOOKUP=via: (rows, reads by (kind, pid), bpf
    calls)."""
    # LeakSanitizer cannot run under ptrace: an ASan build's exit status would say so
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0", FINWATCH_PROCESS_LOOKUP=via)
    with tempfile.NamedTemporaryFile(prefix="finwatch-test-strace-") as trace:
        r = fx.run("strace", "-f", "-qq", "-e", "trace=open,openat,bpf", "-o", trace.name, a.finwatch, "list",
                   "--no-daemon", "--json", *args, env=env)
        text = open(trace.name).read()
    rows = json.loads(r.stdout) if r.returncode == 0 else []
    return rows, reads_per_process(text), re.findall(r"bpf\((BPF_\w+)", text)


def test_process_lookup(t, a):
    """A busy owner: stuck sockets held among many ESTABLISHED ones by a few
    processes. The Process column only with --processes; then, by BPF and
    from procfs alike, each socket's holder as ss -p names it (its lowest
    pid); by BPF no process's descriptors read, from procfs each process's
    descriptors and command name read once (0.3.0 opened /proc/PID/comm once
    per socket of the same process)."""
    if not shutil.which("strace"):
        fwtest.skip_or_fail("strace not installed")
    owned = ["lost-fin:fin-wait-1:owned:4:20", "zero-window:last-ack:owned:4:20"]
    with fwtest.Fixture(a.fixture, owned, established=300, extra=["--interleave", "--files-per-process", "300"],
                        timeout=120) as fx:
        workers = {int(p) for p in subprocess.run(["pgrep", "-P", str(fx.pid)], capture_output=True,
                                                   text=True).stdout.split()}
        t.check(len(workers) >= 2, f"the fixture split over workers: {workers}")
        plain = list_json(fx, a)
        t.eq(len(plain), 40, "every owned socket listed")
        t.check(all(o["pid"] is None and o["process"] is None for o in plain),
                "without --processes no process is looked up")
        _, counts, bpf_calls = traced_list(fx, a, "")
        t.eq(counts, {}, "list without --processes reads no process's descriptors or name")
        t.eq(bpf_calls, [], "list without --processes loads no BPF")
        env = dict(os.environ, ASAN_OPTIONS="detect_leaks=0")
        oracle = ss_holders(fx.run("ss", "-tanpe", "state", "fin-wait-1", "state", "last-ack").stdout)
        t.eq(len(oracle), 40, "ss -tanpe names the 40 owned sockets' holders")

        for via in ("bpf", "proc", ""):
            got, counts, bpf_calls = traced_list(fx, a, via, "--processes")
            how = f"FINWATCH_PROCESS_LOOKUP={via}"
            owners = {o["pid"] for o in got}
            t.eq(len(got), 40, f"{how}: every owned socket listed")
            t.eq({o["inode"]: o["pid"] for o in got}, {i: min(p) for i, p in oracle.items() if p},
                 f"{how}: each socket's process is the lowest pid ss -p names for it")
            t.check(owners <= workers and all(o["process"] == "fw-stuck" for o in got),
                    f"{how}: each held by a worker of the fixture: {owners} of {workers}")
            t.eq({k: v for k, v in counts.items() if v > 1}, {},
                 f"{how}: each process's fd directory and command name read at most once")
            t.eq(sorted(p for (kind, p) in counts if kind == "comm"), sorted(owners),
                 f"{how}: the command names read: the owners' only")
            fd_dirs = [p for (kind, p) in counts if kind == "fd"]
            if via == "proc":
                t.eq(bpf_calls, [], f"{how}: no BPF loaded")
                t.check(set(fd_dirs) >= owners, f"{how}: the owners' fd directories read: {fd_dirs}")
            else:
                t.check("BPF_ITER_CREATE" in bpf_calls, f"{how}: read by the BPF iterator: {bpf_calls}")
                t.eq(fd_dirs, [], f"{how}: no process's fd directory read")
        r = fx.run(a.finwatch, "list", "--no-daemon", "--processes", env=dict(env, FINWATCH_PROCESS_LOOKUP="ps"))
        t.check(r.returncode == 2 and "FINWATCH_PROCESS_LOOKUP" in r.stderr,
                f"a wrong FINWATCH_PROCESS_LOOKUP is a usage error: {r.returncode} {r.stderr.strip()}")
        # without CAP_BPF (nor CAP_SYS_ADMIN, which implies it): by BPF alone
        # fails and says so; the default reads procfs instead (root still,
        # CAP_SYS_PTRACE kept: it may read every process)
        drop = ["setpriv", "--inh-caps=-bpf,-perfmon,-sys_admin", "--bounding-set=-bpf,-perfmon,-sys_admin", "--"]
        r = fx.run(*drop, a.finwatch, "list", "--no-daemon", "--json", "--processes",
                   env=dict(env, FINWATCH_PROCESS_LOOKUP="bpf"))
        t.check(r.returncode == 1 and "needs CAP_BPF and CAP_PERFMON" in r.stderr and r.stdout == "",
                f"without CAP_BPF, by BPF alone fails, says why and lists nothing: {r.returncode} {r.stderr.strip()}")
        r = fx.run(*drop, a.finwatch, "list", "--no-daemon", "--json", "--processes", env=env)
        got = json.loads(r.stdout) if r.returncode == 0 else []
        t.eq({o["inode"]: o["pid"] for o in got}, {i: min(p) for i, p in oracle.items() if p},
             "without CAP_BPF the default falls back to procfs, same holders")


NESTED = r"""
set -eu
"$1" --unshare --make lost-fin:fin-wait-1:owned:4:3 --make zero-window:last-ack:owned:6:3 > "$2/fx" &
for i in $(seq 200); do grep -q READY "$2/fx" && break; sleep 0.1; done
pid=$(sed -n 's/^READY //p' "$2/fx")
for via in bpf proc; do
  FINWATCH_PROCESS_LOOKUP=$via nsenter -t "$pid" -n "$3" list --no-daemon --json --processes > "$2/$via.json"
done
nsenter -t "$pid" -n ss -tanpe state fin-wait-1 state last-ack > "$2/ss"
"""


def test_process_lookup_nested(t, a, work):
    """finwatch in a pid namespace of its own (a container's view, its own
    /proc): BPF numbers the holders as that namespace does, as procfs and
    ss there do. The namespace (its PID 1 the script) ends with the script."""
    d = os.path.join(work, "nested")
    os.makedirs(d)
    r = subprocess.run(["unshare", "-m", "-p", "-f", "--mount-proc", "bash", "-c", NESTED, "nested", a.fixture, d,
                        a.finwatch], capture_output=True, text=True, timeout=120)
    t.eq(r.returncode, 0, f"the nested run: {r.stderr.strip()[-300:]}")
    if r.returncode != 0:
        return
    oracle = {i: min(p) for i, p in ss_holders(open(os.path.join(d, "ss")).read()).items() if p}
    inside = int(open(os.path.join(d, "fx")).read().split("READY ")[1])
    t.eq(len(oracle), 6, "ss there names the 6 owned sockets' holders")
    t.check(all(p < 100 for p in oracle.values()) and inside < 100,
            f"pids as the nested namespace numbers them: {oracle}, fixture {inside}")
    for via in ("bpf", "proc"):
        got = json.load(open(os.path.join(d, via + ".json")))
        t.eq({o["inode"]: o["pid"] for o in got}, oracle, f"nested, {via}: the holders as ss there names them")


def test_fate(t, a):
    # an orphan whose FIN is lost, with tcp_orphan_retries lowered to 4: the
    # kernel gives up after about 6 s; the estimate must be within 20%
    with fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:1"], extra=["--orphan-retries", "4"]) as fx:
        got = list_json(fx, a)
        t0 = time.monotonic()
        if not t.check(len(got) == 1 and got[0]["fate"] == "reaped", f"orphan listed with a fate: {got}"):
            return
        predicted = got[0]["reaped_in_seconds"]
        gone = fwtest.wait_for(lambda: not list_json(fx, a), 60, 0.05)
        actual = time.monotonic() - t0
        t.check(gone, "the orphan was reaped")
        t.check(abs(actual - predicted) <= 0.2 * actual + 0.15,
                f"fate within 20%: predicted {predicted:.2f}s, reaped after {actual:.2f}s")
        print(f"fate: predicted {predicted:.2f}s, reaped after {actual:.2f}s")


def test_owner(t, a, work, jd):
    root = cgroup2_root()
    if not root:
        fwtest.skip_or_fail("no cgroup v2 hierarchy")
    # at the hierarchy's root: a cgroup below a unit (ours, if we run in
    # one) belongs to that unit, whatever its name
    home = os.path.join(root, own_cgroup().lstrip("/"))
    unit = f"fwtest-{os.getpid()}.scope"
    cg = os.path.join(root, unit)
    os.mkdir(cg)
    conf = os.path.join(work, "owner.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[alert]\nafter = 1s\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {work}/control\n")
    try:
        # the fixture moves itself into the cgroup before it makes any socket
        fx = fwtest.Fixture("sh", [], timeout=60)
        fx.args = in_cgroup(cg, a.fixture, "--unshare", "--make", "lost-fin:last-ack:orphan:4:2",
                            "--make", "zero-window:fin-wait-1:owned:4:1")
        with fx:
            time.sleep(0.5)
            got = list_json(fx, a)
            t.eq(len(got), 3, "three sockets in the cgroup")
            t.check(all(o["unit"] == unit for o in got), f"attributed to {unit}: {[o['unit'] for o in got]}")
            t.check(all(o["cgroup"] and o["cgroup"].endswith("/" + unit) for o in got), "cgroup path")
            owned = [o for o in got if not o["orphan"]]
            orphans = [o for o in got if o["orphan"]]
            t.check(len(orphans) == 2 and all(o["pid"] is None for o in orphans), "orphans have no process")
            t.check(len(owned) == 1 and owned[0]["pid"] is None and owned[0]["process"] is None,
                    f"without --processes no process is looked up: {owned}")
            got = list_json(fx, a, "--processes")
            owned = [o for o in got if not o["orphan"]]
            t.check(all(o["pid"] is None for o in got if o["orphan"]), "--processes: orphans have no process")
            t.check(len(owned) == 1 and owned[0]["pid"] == fx.proc.pid and owned[0]["process"] == "fw-stuck",
                    f"--processes: the owned socket's process: {owned}")
            t.eq(len(list_json(fx, a, "--unit", unit)), 3, "--unit selects them")
            t.eq(list_json(fx, a, "--unit", "nginx.service"), [], "--unit of another unit selects none")

            d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd)
            try:
                recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= 3 else None)(
                    jd.records(f"_PID={d.pid}", "MESSAGE_ID=b4cd1459bf4140c695af9432d3238033")), 15) or []
                t.eq(len(recs), 3, "alerts for the three")
                for r in recs:
                    t.eq(r.get("FINWATCH_UNIT"), unit, "FINWATCH_UNIT")
                    t.check(r.get("FINWATCH_CAUSE") in ("lost-fin", "peer-zero-window"), "FINWATCH_CAUSE")
                    t.check(r.get("FINWATCH_FATE") in ("reaped", "never"), "FINWATCH_FATE")
                t.check(any(r.get("FINWATCH_FATE") == "never" for r in recs), "the owned zero-window one: never")
            finally:
                d.stop()

            r = fx.run(a.finwatch, "kill", "--no-daemon", "--unit", unit, "--state", "last-ack", "--yes")
            t.eq((r.returncode, len(r.stdout.splitlines())), (0, 2), "kill --unit")

            # the process leaves and the cgroup is removed: its orphans stay, their cgroup is gone
            with open(os.path.join(home, "cgroup.procs"), "w") as f:
                f.write(str(fx.proc.pid))
            os.rmdir(cg)
            got = list_json(fx, a)
            t.check(got and all(o["unit"] == "(deleted)" and o["cgroup_deleted"] for o in got),
                    f"a deleted cgroup is shown as such: {[(o['unit'], o['cgroup_deleted']) for o in got]}")
            deleted_cgroup_daemon(t, a, fx, conf, work, jd)
    finally:
        remove_cgroups(cg, home)


def deleted_cgroup_daemon(t, a, fx, conf, work, jd):
    """A tracked socket whose cgroup is gone, watched by finwatchd as the
    shipped unit runs it (no CAP_DAC_READ_SEARCH: no cgroup by its id, so
    walks of the hierarchy): the unit is "(deleted cgroup)", and once known
    gone the cgroup costs no walk at later polls."""
    if not shutil.which("strace"):
        fwtest.skip_or_fail("strace not installed")
    d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd, prefix=["setpriv", "--bounding-set", "-dac_read_search"])
    try:
        recs = fwtest.wait_for(lambda: jd.records(f"_PID={d.pid}", "MESSAGE_ID=b4cd1459bf4140c695af9432d3238033"), 15)
        t.check(recs and all(r.get("FINWATCH_UNIT") == "(deleted cgroup)" for r in recs),
                f"without CAP_DAC_READ_SEARCH: FINWATCH_UNIT of a deleted cgroup: {[r.get('FINWATCH_UNIT') for r in recs or []]}")
        with tempfile.NamedTemporaryFile(prefix="finwatch-test-strace-") as trace:
            # sendto too: each poll's dump requests, so that a trace that
            # saw nothing (strace not attached) cannot pass for no walk
            p = subprocess.Popen(["strace", "-c", "-f", "-qq", "-e", "trace=getdents64,sendto", "-o", trace.name,
                                  "-p", str(d.pid)], stderr=subprocess.DEVNULL)
            time.sleep(2)  # 10 polls
            p.send_signal(signal.SIGINT)
            p.wait(30)
            counts = {line.split()[-1]: int(line.split()[3]) for line in open(trace.name)
                      if line.split()[-1:] in (["getdents64"], ["sendto"])}
        t.check(counts.get("sendto", 0) >= 5, f"strace saw the polls' dump requests: {counts}")
        t.eq(counts.get("getdents64", 0), 0, "no walk of the cgroup hierarchy at later polls")
    finally:
        d.stop()


def test_user_manager(t, a, work, jd):
    """A tree shaped like a user's manager, in a slice of the test's own at
    the hierarchy's root (no such user is needed: only the names count):
    the system's fwtest-N-web.service, the user's unit of the same name in
    user@4242.service/app.slice, and a rootless container's
    user@4242.service/user.slice/libpod-0123abcd.scope/container, all with
    stuck sockets in one network namespace. The user's units are named
    behind their manager in the table, JSON, journal and metrics; --unit of
    one selects it alone, in list and kill."""
    root = cgroup2_root()
    home = os.path.join(root, own_cgroup().lstrip("/"))
    top = os.path.join(root, f"fwtest-{os.getpid()}.slice")
    manager = os.path.join(top, "user-4242.slice", "user@4242.service")
    web = f"fwtest-{os.getpid()}-web.service"
    cgs = {"system": os.path.join(top, web), "user": os.path.join(manager, "app.slice", web),
           "pod": os.path.join(manager, "user.slice", "libpod-0123abcd.scope", "container")}
    names = {"system": web, "user": f"user@4242.service/{web}", "pod": "user@4242.service/libpod-0123abcd.scope"}
    # which sockets each makes: the system's lost FINs (its nft rules, in its
    # own namespace), the others' zero windows there too, each on a port of its own
    ports = {"system": (9000, "127.0.0.1"), "user": (9100, "127.0.0.1"), "pod": (9100, "::1")}
    prom = os.path.join(work, "user.prom")
    conf = os.path.join(work, "user.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[alert]\nafter = 1s\n[metrics]\ntextfile = {prom}\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {work}/user-control\n")

    def whose(o):
        for k, (port, addr) in ports.items():
            if o["local_port"] == port and o["local_address"] == addr:
                return k
        return None

    try:
        for cg in cgs.values():
            os.makedirs(cg)
        sysfx = fwtest.Fixture("sh", [], timeout=60)
        sysfx.args = in_cgroup(cgs["system"], a.fixture, "--unshare", "--make", "lost-fin:last-ack:orphan:4:2")
        with sysfx:
            enter = ["nsenter", "-t", str(sysfx.pid), "-n"]
            userfx = fwtest.Fixture("sh", [], timeout=60)
            userfx.args = in_cgroup(cgs["user"], *enter, a.fixture, "--i-am-in-a-private-netns",
                                    "--make", "zero-window:fin-wait-1:owned:4:2")
            podfx = fwtest.Fixture("sh", [], timeout=60)
            podfx.args = in_cgroup(cgs["pod"], *enter, a.fixture, "--i-am-in-a-private-netns",
                                   "--make", "zero-window:fin-wait-1:owned:6:1")
            with userfx, podfx:
                time.sleep(0.5)
                got = list_json(sysfx, a, "--processes")
                t.eq(sorted((whose(o), o["unit"]) for o in got),
                     sorted([("system", names["system"])] * 2 + [("user", names["user"])] * 2 +
                            [("pod", names["pod"])]),
                     "each socket named by its manager")
                owned = [o for o in got if whose(o) == "user"]
                t.check(owned and all(o["pid"] == userfx.proc.pid and o["process"] == "fw-stuck" for o in owned),
                        f"the user's sockets' process: {[(o['pid'], o['process']) for o in owned]}")
                table = sysfx.run(a.finwatch, "list", "--no-daemon").stdout
                t.check(f" {names['user']} " in table and f" {names['pod']} " in table,
                        f"the table names the user's units: {table}")

                for k, name in names.items():
                    sel = list_json(sysfx, a, "--unit", name)
                    t.check(sel and all(whose(o) == k for o in sel) and
                            len(sel) == len([o for o in got if whose(o) == k]),
                            f"--unit {name}: {k}'s alone, got {[(whose(o), o['unit']) for o in sel]}")
                t.eq(list_json(sysfx, a, "--unit", "user@4242.service"), [],
                     "--unit of the manager: its own processes, none of its units")
                t.eq(list_json(sysfx, a, "--unit", "libpod-0123abcd.scope"), [],
                     "--unit of the container's scope without its manager: none")

                d = fwtest.Daemon(a.finwatchd, conf, sysfx, work, journal=jd)
                try:
                    recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= 5 else None)(
                        jd.records(f"_PID={d.pid}", "MESSAGE_ID=b4cd1459bf4140c695af9432d3238033")), 15) or []
                    byport = {"system": "127.0.0.1:9000", "user": "127.0.0.1:9100", "pod": "[::1]:9100"}
                    t.eq(sorted((r.get("FINWATCH_LOCAL"), r.get("FINWATCH_UNIT")) for r in recs),
                         sorted([(byport[k], names[k]) for k in ("system", "system", "user", "user", "pod")]),
                         "FINWATCH_UNIT of each")
                    text = fwtest.wait_for(lambda: (lambda x: x if x and names["pod"] in x else None)(
                        open(prom).read() if os.path.exists(prom) else None), 10) or ""
                    for k, n in (("system", 2), ("user", 2), ("pod", 1)):
                        t.check(f'finwatch_stuck_sockets_by_unit{{unit="{names[k]}"}} {n}\n' in text,
                                f"metrics: {names[k]} {n}")
                finally:
                    d.stop()

                r = sysfx.run(a.finwatch, "kill", "--no-daemon", "--unit", web, "--dry-run")
                t.eq(len(r.stdout.splitlines()), 2, f"kill --unit {web}: the system's two only ({r.stdout!r})")
                r = sysfx.run(a.finwatch, "kill", "--no-daemon", "--unit", names["user"], "--yes")
                t.eq((r.returncode, len(r.stdout.splitlines())), (0, 2), f"kill --unit {names['user']}")
                left = list_json(sysfx, a)
                t.eq(sorted(whose(o) for o in left), ["pod", "system", "system"], "the others are still there")
    finally:
        remove_cgroups(top, home)


# A command name (exec sets it from the file's name, as prctl(PR_SET_NAME)
# would) and a cgroup name with ESC, CR, LF, 0xff and a backslash: the
# kernel takes them all (a cgroup's name no newline), finwatch must show
# them escaped (escape.h). Before, the table printed them raw and --json
# failed whole ("Cannot allocate memory" after "[").
HOSTILE_COMM = b"\x1b[2K\r\n\xffforged"
HOSTILE_COMM_SHOWN = "\\x1b[2K\\x0d\\x0a\\xffforged"


def hostile_unit():
    raw = b"fw\x1b[2K\r\xff\\-" + str(os.getpid()).encode() + b".scope"
    return raw, f"fw\\x1b[2K\\x0d\\xff\\\\-{os.getpid()}.scope"


def run_bytes(fx, *cmd):
    """A command in the fixture's namespace, its output as bytes: what a
    terminal would get, not decoded on the way."""
    return subprocess.run(["nsenter", "-t", str(fx.pid), "-n", *cmd], capture_output=True, timeout=60)


def test_hostile_names(t, a, work, jd):
    root = cgroup2_root()
    if not root:
        fwtest.skip_or_fail("no cgroup v2 hierarchy")
    parent = os.path.join(root, own_cgroup().lstrip("/")).encode()
    unit_raw, unit_shown = hostile_unit()
    cg = os.path.join(parent, unit_raw)
    link = os.path.join(work.encode(), HOSTILE_COMM)
    os.symlink(a.fixture, link)
    os.mkdir(cg)
    prom = os.path.join(work, "hostile.prom")
    conf = os.path.join(work, "hostile.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[alert]\nafter = 1s\n[metrics]\ntextfile = {prom}\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {work}/hostile-control\n")
    try:
        # into the cgroup, then exec through the link: the command name is its name
        fx = fwtest.Fixture("sh", [], timeout=60)
        fx.args = [b"sh", b"-c", b'echo $$ > "$1/cgroup.procs" && shift && exec "$@"', b"sh", cg, link,
                   b"--unshare", b"--make", b"zero-window:fin-wait-1:owned:4:1",
                   b"--make", b"lost-fin:last-ack:orphan:4:1"]
        with fx:
            with open(f"/proc/{fx.pid}/comm", "rb") as f:
                t.eq(f.read(), HOSTILE_COMM + b"\n", "the fixture's command name as the kernel has it")

            r = run_bytes(fx, a.finwatch, "list", "--no-daemon", "--processes")
            t.eq(r.returncode, 0, f"list: {r.stderr!r}")
            bad = sorted({c for c in r.stdout if c < 0x20 and c != 0x0a})
            t.eq(bad, [], "no control byte in the table but newlines")
            try:
                table = r.stdout.decode("utf-8")
            except UnicodeDecodeError as e:
                t.check(False, f"the table is not UTF-8: {e}")
                table = r.stdout.decode("utf-8", "replace")
            lines = table.rstrip("\n").split("\n")  # rows end at LF only: a CR is a name's
            t.eq(len(lines), 3, f"a header and two rows, none forged or erased: {lines}")
            t.check(any(f"/{HOSTILE_COMM_SHOWN}" in line for line in lines),
                    f"the command name escaped in the table: {lines}")
            t.eq(sum(unit_shown in line for line in lines), 2, f"the unit escaped in the table: {lines}")

            r = run_bytes(fx, a.finwatch, "list", "--no-daemon", "--json", "--processes")
            t.eq((r.returncode, r.stderr), (0, b""), "list --json")
            try:
                got = json.loads(r.stdout.decode("utf-8"))
            except ValueError as e:
                t.check(False, f"list --json is not valid JSON: {e}: {r.stdout[:200]!r}")
                got = []
            owned = [o for o in got if not o["orphan"]]
            t.eq(len(got), 2, "both sockets in the JSON")
            t.check(len(owned) == 1 and owned[0]["pid"] == fx.pid and owned[0]["process"] == HOSTILE_COMM_SHOWN,
                    f"the owner and its escaped command name: {[(o['pid'], o['process']) for o in owned]}")
            t.check(got and all(o["unit"] == unit_shown for o in got), f"units escaped: {[o['unit'] for o in got]}")
            t.check(got and all(o["cgroup"] and o["cgroup"].endswith("/" + unit_shown) for o in got),
                    f"cgroups escaped: {[o['cgroup'] for o in got]}")

            # --unit takes the name as shown, or its bytes
            for name in (unit_shown.encode(), unit_raw):
                r = run_bytes(fx, a.finwatch, "list", "--no-daemon", "--json", "--unit", name)
                t.eq(len(json.loads(r.stdout)) if r.returncode == 0 else r.returncode, 2, f"--unit {name!r}")

            d = fwtest.Daemon(a.finwatchd, conf, fx, work, journal=jd)
            try:
                recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= 2 else None)(
                    jd.records(f"_PID={d.pid}", "MESSAGE_ID=b4cd1459bf4140c695af9432d3238033")), 15) or []
                t.eq(len(recs), 2, "alerts for both")
                for rec in recs:
                    t.eq(rec.get("FINWATCH_UNIT"), unit_shown, "FINWATCH_UNIT escaped")
                metrics = fwtest.wait_for(lambda: os.path.exists(prom) and open(prom, "rb").read(), 10) or b""
                try:
                    text = metrics.decode("utf-8")
                except UnicodeDecodeError as e:
                    t.check(False, f"the metrics are not UTF-8: {e}")
                    text = metrics.decode("utf-8", "replace")
                label = unit_shown.replace("\\", "\\\\")  # and escaped for Prometheus
                t.check(f'finwatch_stuck_sockets_by_unit{{unit="{label}"}} 2\n' in text,
                        f"the unit label escaped: {[ln for ln in text.splitlines() if 'by_unit{' in ln]}")
                t.eq(sorted({c for c in metrics if c < 0x20 and c != 0x0a}), [], "no control byte in the metrics")
                if shutil.which("promtool"):
                    r = subprocess.run(["promtool", "check", "metrics"], input=metrics, capture_output=True)
                    # promtool lints too: only a parse error fails here
                    t.check(b"parsing error" not in r.stdout + r.stderr,
                            f"promtool parses the metrics: {r.stdout!r} {r.stderr!r}")
            finally:
                d.stop()
    finally:
        if os.path.isdir(cg):
            try:
                with open(os.path.join(cg, b"cgroup.procs")) as f:
                    for pid in f.read().split():
                        with open(os.path.join(parent, b"cgroup.procs"), "w") as p:
                            p.write(pid)
            except OSError:
                pass
            try:
                os.rmdir(cg)
            except OSError:
                pass


def test_orphan_budget(t, a, work, jd):
    """tcp_max_orphans is visible in the host's namespace only: the daemon
    runs there, the orphans are made in the fixture's (the count is global)."""
    with open("/proc/sys/net/ipv4/tcp_max_orphans") as f:
        max_orphans = int(f.read())
    # The count is the machine's: orphans of other programs (another test,
    # a benchmark) are already there. The budget is about 150 above them.
    with open("/proc/net/sockstat") as f:
        already = int(re.search(r"^TCP:.* orphan (\d+)", f.read(), re.M).group(1))
    budget = max(1, -(-((already + 150) * 10000) // max_orphans))  # in 1/100 %, rounded up
    t.check(budget * max_orphans // 10000 < already + 400,
            f"the fixture's 400 orphans cross the budget ({already} orphans already, budget {budget / 100}%)")
    conf = os.path.join(work, "budget.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[alert]\norphan_budget = {budget // 100}.{budget % 100:02d}%\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {work}/budget-control\n")
    d = fwtest.Daemon(a.finwatchd, conf, None, work, journal=jd)
    try:
        time.sleep(1)
        t.eq(jd.records(f"_PID={d.pid}", "MESSAGE_ID=f055b0afc3b14d7fab38c936e5f223d3"), [],
             "no orphan budget alert before the orphans")
        with fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:400"], extra=["--quiet"]):
            recs = fwtest.wait_for(lambda: jd.records(f"_PID={d.pid}", "MESSAGE_ID=f055b0afc3b14d7fab38c936e5f223d3"),
                                   15) or []
            time.sleep(1)
            recs = jd.records(f"_PID={d.pid}", "MESSAGE_ID=f055b0afc3b14d7fab38c936e5f223d3")
            t.eq(len(recs), 1, "one orphan budget alert while above it")
            if recs:
                t.check(int(recs[0]["FINWATCH_ORPHANS"]) >= 400, f"orphans counted: {recs[0].get('FINWATCH_ORPHANS')}")
                t.eq(int(recs[0]["FINWATCH_MAX_ORPHANS"]), max_orphans, "tcp_max_orphans")
                t.eq(recs[0]["PRIORITY"], "4", "a warning")
    finally:
        d.stop()


def main():
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    t = fwtest.Failures("test_owner")
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    try:
        test_causes(t, a)
        test_process_lookup(t, a)
        test_process_lookup_nested(t, a, work)
        test_fate(t, a)
        with fwtest.Journal() as jd:
            test_owner(t, a, work, jd)
            test_user_manager(t, a, work, jd)
            test_hostile_names(t, a, work, jd)
            test_orphan_budget(t, a, work, jd)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
