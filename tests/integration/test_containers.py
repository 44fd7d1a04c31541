#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Containers and pods: cgroup trees shaped as Docker, containerd (CRI),
CRI-O and podman make them with systemd's driver, the kubelet's pod slices
(burstable, Guaranteed without a QoS slice), the cgroupfs driver's
kubepods directories, a conmon scope beside its container and a rootless
podman container behind a user's manager, made by the test in the cgroup
v2 hierarchy (/sys/fs/cgroup/unified on a hybrid host such as this one),
each holding real stuck sockets (fw-stuck moved into it before it makes
any). The test's tree is one directory, fwtest-PID, which finwatch and
finwatchd see as the hierarchy's root (bound over the cgroup2 mount in the
test journald's private mount namespace, where they run), so the shapes
start at the top as on a host (/kubepods/..., /kubepods.slice/...)
without the test touching the host's own top level.

Every socket is attributed to its container and pod in the table, the
JSON, the journal records (a real journald) and the metrics' labels (the
short ID; a user's container behind its manager); --container (the
system's; a user's in the user's form; a scheme's runtime) and --pod
select exactly their sockets in list and in kill through finwatchd, with
ss as the oracle of what went. In a second network namespace, cgroups
named by those who may name their own - an unprivileged LXC container's
subtree claiming a Docker container and a pod of the first namespace, a
user's manager claiming a pod, a CRI-O container and a system container's
ID - hold stuck sockets too: none passes for a system container or any
pod. Every cgroup the test made is removed, on failure too."""
import json
import os
import shutil
import subprocess
import tempfile
import time


import fwtest
from test_owner import cgroup2_root, in_cgroup, own_cgroup, remove_cgroups

STUCK = "b4cd1459bf4140c695af9432d3238033"
KILLED = "176cef42821a44f49b664d8769c52f27"

D = "d0" * 32                     # Docker
C1 = "c1c1" + "0" * 60            # two containers of one pod: "c1c" fits both
C2 = "c1c2" + "0" * 60
C3 = "c3" * 32                    # CRI-O, a Guaranteed pod
C4 = "c4" * 32                    # the cgroupfs driver, burstable
C5 = "c5" * 32                    # the cgroupfs driver, Guaranteed
C6 = "c6" * 32                    # rootless podman
C7 = "c7" * 32                    # podman, and its conmon beside it
USER = "user@4242.service"
U6 = f"{USER}/{C6}"               # a user's container: named behind its manager
P1 = "1234abcd-5678-4ef0-9abc-def012345678"
P2 = "22222222-3333-4444-8555-666666666666"
P3 = "33333333-4444-4555-9666-777777777777"
P4 = "44444444-5555-4666-a777-888888888888"


def slice_uid(uid):
    return uid.replace("-", "_")


def shapes():
    """name: (cgroup below the test's root, what fw-stuck makes there,
    container, runtime, pod, qos, unit). Each (cause, family) once: the
    fixtures share one network namespace and its listening ports."""
    kp = "kubepods.slice"
    burst = f"{kp}/kubepods-burstable.slice/kubepods-burstable-pod{slice_uid(P1)}.slice"
    user = f"user.slice/user-4242.slice/{USER}"
    return {
        "docker": (f"system.slice/docker-{D}.scope", "lost-fin:last-ack:orphan:4:2",
                   D, "docker", None, None, f"docker-{D}.scope"),
        "c1": (f"{burst}/cri-containerd-{C1}.scope", "zero-window:fin-wait-1:owned:4:1",
               C1, "containerd", P1, "burstable", f"cri-containerd-{C1}.scope"),
        "c2": (f"{burst}/cri-containerd-{C2}.scope", "zero-window:fin-wait-1:owned:6:1",
               C2, "containerd", P1, "burstable", f"cri-containerd-{C2}.scope"),
        "guaranteed": (f"{kp}/kubepods-pod{slice_uid(P2)}.slice/crio-{C3}.scope", "zero-window:last-ack:owned:mapped:1",
                       C3, "cri-o", P2, "guaranteed", f"crio-{C3}.scope"),
        "fs-burstable": (f"kubepods/burstable/pod{P3}/{C4}", "lost-fin:fin-wait-1:orphan:6:1",
                         C4, None, P3, "burstable", None),
        "fs-guaranteed": (f"kubepods/pod{P4}/{C5}", "lost-fin:fin-wait-1:orphan:mapped:1",
                          C5, None, P4, "guaranteed", None),
        "conmon": (f"machine.slice/libpod-conmon-{C7}.scope", "blocked-locally:fin-wait-1:orphan:4:1",
                   None, None, None, None, f"libpod-conmon-{C7}.scope"),
        "rootless": (f"{user}/user.slice/libpod-{C6}.scope/container", "blocked-locally:fin-wait-1:owned:6:1",
                     U6, "podman", None, None, f"{USER}/libpod-{C6}.scope"),
        "podman": (f"machine.slice/libpod-{C7}.scope", "blocked-locally:last-ack:orphan:mapped:1",
                   C7, "podman", None, None, f"libpod-{C7}.scope"),
    }


def hostile_shapes():
    """In a second namespace: cgroups named like the engines' by those who
    may make cgroups of their own, claiming the first namespace's
    containers and pods. Nothing but what is said here."""
    user = f"user.slice/user-4242.slice/{USER}"
    return {
        # an unprivileged LXC container owns its lxc.payload.NAME: the
        # cgroupfs names below it are its own, no engine's
        "lxc-docker": (f"lxc.payload.c1/docker/{D}", "lost-fin:last-ack:orphan:4:1",
                       None, None, None, None, None),
        "lxc-kubepods": (f"lxc.payload.c1/kubepods/pod{P2}/{C3}", "zero-window:fin-wait-1:owned:4:1",
                         None, None, None, None, None),
        # systemd-run --user --scope: any name in the user's manager; a
        # rootless engine's scope is the user's container, in no pod
        "user-pod": (f"{user}/kubepods-pod{slice_uid(P1)}.slice/docker-{C1}.scope",
                     "blocked-locally:fin-wait-1:orphan:6:1",
                     f"{USER}/{C1}", "docker", None, None, f"{USER}/docker-{C1}.scope"),
        "user-crio": (f"{user}/user.slice/crio-{C3}.scope", "lost-fin:fin-wait-1:orphan:mapped:1",
                      None, None, None, None, f"{USER}/crio-{C3}.scope"),
        # a name the kernel puts after a removed directory's path: it lives
        "named-deleted": (f"{user}/odd.slice/odd (deleted)", "zero-window:last-ack:orphan:6:1",
                          None, None, None, None, f"{USER}/odd.slice"),
    }


def short(cid):
    """The Container column's short form: 12 digits, a user's behind its manager."""
    owner, _, cid = cid.rpartition("/")
    return f"{owner}/{cid[:12]}" if owner else cid[:12]


def owner_of(cid):
    return cid.rpartition("/")[0] or None if cid else None


def key(o):
    addr = lambda a, p: f"[{a}]:{p}" if ":" in a else f"{a}:{p}"
    return (o["state"], addr(o["local_address"], o["local_port"]), addr(o["peer_address"], o["peer_port"]))


def start(root, shapes_, first_args, fixtures):
    """A fixture per shape, each moved into its cgroup first, appended to
    fixtures (the caller stops them, on failure too); the first makes a
    network namespace (first_args), the others enter it. Returns (the
    first, {(state, local, peer): shape name})."""
    names, started, whose = list(shapes_), [], {}
    base = fwtest.Fixture("sh", [], timeout=60)
    base.args = in_cgroup(os.path.join(root, shapes_[names[0]][0]), *first_args, "--make", shapes_[names[0]][1])
    base.__enter__()
    fixtures.append(base)
    started.append(base)
    enter = ["nsenter", "-t", str(base.pid), "-n"]
    for name in names[1:]:
        fx = fwtest.Fixture("sh", [], timeout=60)
        fx.args = in_cgroup(os.path.join(root, shapes_[name][0]), *enter, first_args[0],
                            "--i-am-in-a-private-netns", "--make", shapes_[name][1])
        fx.__enter__()
        fixtures.append(fx)
        started.append(fx)
    # which fixture made which socket: their manifests
    for name, fx in zip(names, started):
        for m in fx.manifest:
            whose[(m["state"], m["local"], m["peer"])] = name
    return base, whose


def test_containers(t, a, work, jd):
    hierarchy = cgroup2_root()
    if not hierarchy:
        fwtest.skip_or_fail("no cgroup v2 hierarchy")
    print(f"cgroup v2 hierarchy at {hierarchy}")
    home = os.path.join(hierarchy, own_cgroup().lstrip("/"))
    top = os.path.join(hierarchy, f"fwtest-{os.getpid()}")
    sh, evil = shapes(), hostile_shapes()
    sock = os.path.join(work, "control")
    prom = os.path.join(work, "containers.prom")
    conf = os.path.join(work, "containers.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[alert]\nafter = 1s\n[metrics]\ntextfile = {prom}\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {sock}\n")
    fixtures, bound = [], False
    try:
        for cg, *_ in [*sh.values(), *evil.values()]:
            os.makedirs(os.path.join(top, cg))
        # finwatch and finwatchd (in the journal's mount namespace, private
        # to the test) see the test's tree as the whole hierarchy
        r = subprocess.run(["nsenter", "-t", str(jd.pid), "-m", "mount", "--bind", top, hierarchy],
                           capture_output=True, text=True)
        if not t.check(r.returncode == 0, f"bind {top} over {hierarchy}: {r.stderr.strip()}"):
            return
        bound = True
        base, whose = start(top, sh, [a.fixture, "--unshare"], fixtures)
        t.eq(len(whose), 10, "ten stuck sockets made")
        evil_base, evil_whose = start(top, evil, [a.fixture, "--unshare"], fixtures)
        t.eq(len(evil_whose), len(evil), "a stuck socket in each hostile cgroup")
        time.sleep(0.5)
        view = ["--mount=" + jd.mount_ns()]
        run_hostile(t, a, evil_base, evil, evil_whose, view)
        run(t, a, base, sh, whose, work, jd, conf, sock, prom, view)
    finally:
        for fx in reversed(fixtures):
            fx.stop()
        if bound:
            subprocess.run(["nsenter", "-t", str(jd.pid), "-m", "umount", hierarchy])
        remove_cgroups(top, home)
        t.check(not os.path.exists(top), "every cgroup the test made is removed")


def in_view(fx, view, *cmd):
    """cmd in the fixture's network namespace and the test's view of the hierarchy."""
    return subprocess.run(["nsenter", "-t", str(fx.pid), "-n", *view, *cmd], capture_output=True, text=True,
                          timeout=60)


def run_hostile(t, a, fx, evil, whose, view):
    def listed(*args):
        r = in_view(fx, view, a.finwatch, "list", "--no-daemon", "--json", *args)
        t.eq(r.returncode, 0, f"hostile: list {' '.join(args)}: {r.stderr.strip()}")
        return json.loads(r.stdout) if r.returncode == 0 else []

    got = listed()
    t.eq(sorted(key(o) for o in got), sorted(whose), "hostile: every socket listed")
    for o in got:
        name = whose.get(key(o))
        if not t.check(name is not None, f"hostile: {key(o)} was made"):
            continue
        _, _, cid, runtime, pod, qos, unit = evil[name]
        t.eq((o.get("container_id"), o.get("container_owner"), o.get("container_runtime"), o.get("pod_uid"),
              o.get("pod_qos"), o.get("unit")), (cid, owner_of(cid), runtime, pod, qos, unit),
             f"{name}: container, owner, runtime, pod, QoS, unit")
        t.eq(o.get("cgroup_deleted"), False, f"{name}: its cgroup lives")
    for args, names in ((["--container", D[:12]], []),
                        (["--container", C1[:12]], []),
                        (["--container", "docker://" + C1], []),
                        (["--container", C3[:12]], []),
                        (["--container", f"{USER}/{C1[:12]}"], ["user-pod"]),
                        (["--container", f"docker://{USER}/{C1}"], ["user-pod"]),
                        (["--container", f"podman://{USER}/{C1}"], []),
                        (["--container", f"{USER}/{C3[:12]}"], []),
                        (["--pod", P1], []),
                        (["--pod", P2], [])):
        t.eq(sorted(key(o) for o in listed(*args)), sorted(k for k, n in whose.items() if n in names),
             f"hostile: list {' '.join(args)}")
    r = in_view(fx, view, a.finwatch, "list", "--no-daemon")
    row = next((line for line in r.stdout.splitlines()[1:] if f" {USER}/{C1[:12]} " in line + " "), None)
    t.check(row is not None and P1 not in r.stdout and D[:12] not in r.stdout,
            f"hostile: the table shows the user's container behind its manager, no pod, no Docker {D[:12]}: "
            f"{r.stdout}")


def run(t, a, base, sh, whose, work, jd, conf, sock, prom, view):
    def listed(*args, daemon=False):
        cmd = [a.finwatch, "--socket", sock, "list", "--json", *args]
        if not daemon:
            cmd.insert(4, "--no-daemon")
        r = in_view(base, view, *cmd)
        t.eq(r.returncode, 0, f"{' '.join(args)}: {r.stderr.strip()}")
        return json.loads(r.stdout) if r.returncode == 0 else []

    def sockets_of(*names):
        return sorted(k for k, n in whose.items() if n in names)

    got = listed()
    t.eq(sorted(key(o) for o in got), sorted(whose), "every socket listed")
    for o in got:
        name = whose.get(key(o))
        if not t.check(name is not None, f"{key(o)} was made"):
            continue
        _, _, cid, runtime, pod, qos, unit = sh[name]
        t.eq((o.get("container_id"), o.get("container_owner"), o.get("container_runtime"), o.get("pod_uid"),
              o.get("pod_qos")), (cid, owner_of(cid), runtime, pod, qos),
             f"{name}: container, owner, runtime, pod, QoS")
        t.eq(o["unit"], unit, f"{name}: unit")

    # the table: the short ID (a user's behind its manager), the pod's UID and class
    r = in_view(base, view, a.finwatch, "list", "--no-daemon")
    lines = r.stdout.splitlines()
    t.check(lines and all(f" {c} " in lines[0] for c in ("Container", "Pod", "QoS")), f"columns: {lines[:1]}")
    for line in lines[1:]:
        fields = line.split()
        name = next((n for k, n in whose.items() if k[1] in fields and k[2] in fields), None)
        if not t.check(name is not None, f"a made socket: {line}"):
            continue
        _, _, cid, _, pod, qos, _ = sh[name]
        t.check((short(cid) if cid else "-") in fields and (pod or "-") in fields and (qos or "-") in fields,
                f"{name}'s row shows {cid and short(cid)}, {pod}, {qos}: {line}")

    # --container (the first digits, any case, the kubelet's form; a user's
    # in the user's form only; a scheme: its runtime) and --pod select exactly theirs
    for args, names in ((["--container", D[:12]], ["docker"]),
                        (["--container", C1], ["c1"]),
                        (["--container", "c1c"], ["c1", "c2"]),
                        (["--container", "containerd://" + C2], ["c2"]),
                        (["--container", "cri-o://" + C2], []),
                        (["--container", "docker://c4"], ["fs-burstable"]),       # the cgroupfs driver's: any runtime
                        (["--container", "podman://c"], ["fs-burstable", "fs-guaranteed", "podman"]),  # runtime unknown: any
                        (["--container", "podman://c7"], ["podman"]),
                        (["--container", C6[:12].upper()], []),                   # a user's is not the system's
                        (["--container", f"{USER}/{C6[:12].upper()}"], ["rootless"]),
                        (["--container", f"podman://{USER}/{C6}"], ["rootless"]),
                        (["--container", C7[:12]], ["podman"]),        # not its conmon
                        (["--container", "c4"], ["fs-burstable"]),
                        (["--container", "e"], []),
                        (["--pod", P1], ["c1", "c2"]),
                        (["--pod", slice_uid(P2)], ["guaranteed"]),
                        (["--pod", P3], ["fs-burstable"]),
                        (["--pod", P4.upper()], ["fs-guaranteed"]),
                        (["--pod", P1, "--container", C2[:8]], ["c2"]),
                        (["--pod", P2, "--container", C1[:8]], []),
                        (["--unit", f"user@4242.service/libpod-{C6}.scope"], ["rootless"])):
        t.eq(sorted(key(o) for o in listed(*args)), sockets_of(*names), f"list {' '.join(args)}")
    for bad in (["--container", "xyz"], ["--container", ""], ["--container", "0" * 65], ["--pod", "1234"],
                ["--pod", P1 + "0"], ["--container", "://c1"], ["--container", "crio://c1"],
                ["--container", "user@x.service/c6"], ["--container", f"{USER}/"]):
        r = in_view(base, view, a.finwatch, "list", "--no-daemon", *bad)
        t.eq((r.returncode, r.stdout), (2, ""), f"list {' '.join(bad)}: a usage error ({r.stderr.strip()})")

    d = fwtest.Daemon(a.finwatchd, conf, base, work, journal=jd)
    try:
        # the journal: every stuck socket with its container and pod
        recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= len(whose) else None)(
            jd.records(f"_PID={d.pid}", f"MESSAGE_ID={STUCK}")), 20) or []
        t.eq(len(recs), len(whose), "a stuck record for each")
        for rec in recs:
            name = next((n for k, n in whose.items()
                         if (k[0], k[1], k[2]) == (rec.get("FINWATCH_STATE"), rec.get("FINWATCH_LOCAL"),
                                                   rec.get("FINWATCH_PEER"))), None)
            if not t.check(name is not None, f"a record of a made socket: {rec.get('FINWATCH_LOCAL')}"):
                continue
            _, _, cid, runtime, pod, qos, unit = sh[name]
            t.eq((rec.get("FINWATCH_CONTAINER_ID"), rec.get("FINWATCH_CONTAINER_RUNTIME"), rec.get("FINWATCH_POD_UID"),
                  rec.get("FINWATCH_POD_QOS"), rec.get("FINWATCH_UNIT")), (cid, runtime, pod, qos, unit),
                 f"{name}: FINWATCH_CONTAINER_ID, _RUNTIME, FINWATCH_POD_UID, _QOS, FINWATCH_UNIT")

        # the metrics: the short ID and the UID, one series each
        want_c = {D[:12]: 2, C1[:12]: 1, C2[:12]: 1, C3[:12]: 1, C4[:12]: 1, C5[:12]: 1, short(U6): 1, C7[:12]: 1,
                  "-": 1}
        want_p = {P1: 2, P2: 1, P3: 1, P4: 1, "-": 5}

        def series(text, metric, label):
            out = {}
            for line in text.splitlines():
                if line.startswith(metric + "{"):
                    lab, _, v = line.rpartition(" ")
                    out[lab[len(metric) + 1 + len(label) + 2:-2]] = int(v)
            return out

        text = fwtest.wait_for(lambda: (lambda x: x if x and series(x, "finwatch_stuck_sockets_by_container",
                                                                     "container") == want_c else None)(
            open(prom).read() if os.path.exists(prom) else None), 10) or (open(prom).read() if os.path.exists(prom)
                                                                          else "")
        t.eq(series(text, "finwatch_stuck_sockets_by_container", "container"), want_c, "metrics by container")
        t.eq(series(text, "finwatch_stuck_sockets_by_pod", "pod"), want_p, "metrics by pod")
        t.check(not any(cid in text for cid in (D, C1, C2, C3, C4, C5, C6, C7)), "no whole ID in a label")

        # kill through the daemon: digits that fit two containers, each
        # with a socket selected, are refused; with one selected, taken
        before = fwtest.ss_sockets(base)
        t.eq(len(before), len(whose), f"ss sees the {len(whose)} stuck sockets")
        r = in_view(base, view, a.finwatch, "--socket", sock, "kill", "--container", "c1c", "--yes")
        t.check(r.returncode == 2 and "more than one container" in r.stderr and r.stdout == "",
                f"kill --container c1c refused: {r.returncode} {r.stdout!r} {r.stderr.strip()!r}")
        t.eq(fwtest.ss_sockets(base), before, "nothing killed (ss)")
        r = in_view(base, view, a.finwatch, "--socket", sock, "kill", "--container", "c1c", "--ipv4", "--dry-run")
        t.check(r.returncode == 0 and len(r.stdout.splitlines()) == 1 and r.stdout.startswith("would kill "),
                f"kill --container c1c --ipv4 --dry-run: c1's alone: {r.returncode} {r.stdout!r} {r.stderr.strip()!r}")
        r = in_view(base, view, a.finwatch, "--socket", sock, "kill", "--container", C6[:12], "--yes")
        t.check(r.returncode == 0 and r.stdout == "" and "no stuck socket matches" in r.stderr,
                f"kill --container {C6[:12]}: a user's is not the system's: {r.returncode} {r.stdout!r} "
                f"{r.stderr.strip()!r}")
        t.eq(fwtest.ss_sockets(base), before, "nothing killed (ss)")
        left = set(before)
        for args, names in ((["--container", C1[:12]], ["c1"]),
                            (["--pod", P2], ["guaranteed"]),
                            (["--pod", P1], ["c2"]),
                            (["--container", C7[:12]], ["podman"]),
                            (["--container", f"{USER}/{C6[:12]}", "--state", "fin-wait-1"], ["rootless"])):
            r = in_view(base, view, a.finwatch, "--socket", sock, "kill", *args, "--yes")
            gone = set(sockets_of(*names))
            t.eq((r.returncode, len(r.stdout.splitlines())), (0, len(gone)),
                 f"kill {' '.join(args)}: {r.stdout.strip()} {r.stderr.strip()}")
            t.check(all(line.startswith("killed ") for line in r.stdout.splitlines()), f"killed: {r.stdout!r}")
            left -= gone
            t.eq(fwtest.ss_sockets(base), left, f"kill {' '.join(args)}: exactly {', '.join(names)}'s went (ss)")
        recs = fwtest.wait_for(lambda: (lambda r: r if len(r) >= 5 else None)(
            jd.records(f"_PID={d.pid}", f"MESSAGE_ID={KILLED}")), 10) or []
        got = sorted((r.get("FINWATCH_CONTAINER_ID"), r.get("FINWATCH_POD_UID"), r.get("FINWATCH_KILL_RESULT"),
                      r.get("FINWATCH_KILL_VIA")) for r in recs)
        t.eq(got, sorted([(C1, P1, "killed", "finwatchd"), (C3, P2, "killed", "finwatchd"),
                          (C2, P1, "killed", "finwatchd"), (C7, None, "killed", "finwatchd"),
                          (U6, None, "killed", "finwatchd")]), "kill records name the container and pod")
    finally:
        t.eq(d.stop(), 0, "finwatchd exits cleanly")


def main():
    a = fwtest.parse_args()
    fwtest.require_root_netns()
    t = fwtest.Failures("test_containers")
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    try:
        with fwtest.Journal() as jd:
            test_containers(t, a, work, jd)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
