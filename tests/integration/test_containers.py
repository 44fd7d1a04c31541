#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""Containers and pods: cgroup trees shaped as Docker, containerd (CRI),
CRI-O and podman make them with systemd's driver, the kubelet's pod slices
(burstable, Guaranteed without a QoS slice), the cgroupfs driver's
kubepods directories, a conmon scope beside its container and a rootless
podman container behind a user's manager, made by the test in the cgroup
v2 hierarchy (/sys/fs/cgroup/unified on a hybrid host such as this one),
each holding real stuck sockets (fw-stuck moved into it before it makes
any). Every socket is attributed to its container and pod in the table,
the JSON, the journal records (a real journald) and the metrics' labels
(the short ID); --container and --pod select exactly their sockets in list
and in kill through finwatchd, with ss as the oracle of what went. Every
cgroup the test made is removed, on failure too."""
import json
import os
import shutil
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
P1 = "1234abcd-5678-4ef0-9abc-def012345678"
P2 = "22222222-3333-4444-8555-666666666666"
P3 = "33333333-4444-4555-9666-777777777777"
P4 = "44444444-5555-4666-a777-888888888888"


def slice_uid(uid):
    return uid.replace("-", "_")


def shapes(pid):
    """name: (cgroup below the hierarchy's root, what fw-stuck makes there,
    container, runtime, pod, qos, unit). Each (cause, family) once: the
    fixtures share one network namespace and its listening ports."""
    top = f"fwtest-{pid}.slice"       # systemd's driver: below a slice of the test's own
    fs = f"fwtest-{pid}"              # cgroupfs: a directory in no unit, as a kubelet's --cgroup-root
    kp = f"{top}/kubepods.slice"
    burst = f"{kp}/kubepods-burstable.slice/kubepods-burstable-pod{slice_uid(P1)}.slice"
    user = f"{top}/user-4242.slice/user@4242.service"
    return {
        "docker": (f"{top}/docker-{D}.scope", "lost-fin:last-ack:orphan:4:2",
                   D, "docker", None, None, f"docker-{D}.scope"),
        "c1": (f"{burst}/cri-containerd-{C1}.scope", "zero-window:fin-wait-1:owned:4:1",
               C1, "containerd", P1, "burstable", f"cri-containerd-{C1}.scope"),
        "c2": (f"{burst}/cri-containerd-{C2}.scope", "zero-window:fin-wait-1:owned:6:1",
               C2, "containerd", P1, "burstable", f"cri-containerd-{C2}.scope"),
        "guaranteed": (f"{kp}/kubepods-pod{slice_uid(P2)}.slice/crio-{C3}.scope", "zero-window:last-ack:owned:mapped:1",
                       C3, "cri-o", P2, "guaranteed", f"crio-{C3}.scope"),
        "fs-burstable": (f"{fs}/kubepods/burstable/pod{P3}/{C4}", "lost-fin:fin-wait-1:orphan:6:1",
                         C4, None, P3, "burstable", None),
        "fs-guaranteed": (f"{fs}/kubepods/pod{P4}/{C5}", "lost-fin:fin-wait-1:orphan:mapped:1",
                          C5, None, P4, "guaranteed", None),
        "conmon": (f"{top}/machine.slice/libpod-conmon-{C7}.scope", "blocked-locally:fin-wait-1:orphan:4:1",
                   None, None, None, None, f"libpod-conmon-{C7}.scope"),
        "rootless": (f"{user}/user.slice/libpod-{C6}.scope/container", "blocked-locally:fin-wait-1:owned:6:1",
                     C6, "podman", None, None, f"user@4242.service/libpod-{C6}.scope"),
        "podman": (f"{top}/machine.slice/libpod-{C7}.scope", "blocked-locally:last-ack:orphan:mapped:1",
                   C7, "podman", None, None, f"libpod-{C7}.scope"),
    }


def key(o):
    addr = lambda a, p: f"[{a}]:{p}" if ":" in a else f"{a}:{p}"
    return (o["state"], addr(o["local_address"], o["local_port"]), addr(o["peer_address"], o["peer_port"]))


def test_containers(t, a, work, jd):
    root = cgroup2_root()
    if not root:
        fwtest.skip_or_fail("no cgroup v2 hierarchy")
    print(f"cgroup v2 hierarchy at {root}")
    home = os.path.join(root, own_cgroup().lstrip("/"))
    pid = os.getpid()
    sh = shapes(pid)
    tops = [os.path.join(root, f"fwtest-{pid}.slice"), os.path.join(root, f"fwtest-{pid}")]
    sock = os.path.join(work, "control")
    prom = os.path.join(work, "containers.prom")
    conf = os.path.join(work, "containers.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = 200ms\n[alert]\nafter = 1s\n[metrics]\ntextfile = {prom}\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {sock}\n")
    fixtures = []
    try:
        for cg, *_ in sh.values():
            os.makedirs(os.path.join(root, cg))
        # the first makes the network namespace (and holds Docker's
        # container's sockets); the others enter it
        names = list(sh)
        base = fwtest.Fixture("sh", [], timeout=60)
        base.args = in_cgroup(os.path.join(root, sh[names[0]][0]), a.fixture, "--unshare", "--make", sh[names[0]][1])
        base.__enter__()
        fixtures.append(base)
        enter = ["nsenter", "-t", str(base.pid), "-n"]
        for name in names[1:]:
            fx = fwtest.Fixture("sh", [], timeout=60)
            fx.args = in_cgroup(os.path.join(root, sh[name][0]), *enter, a.fixture, "--i-am-in-a-private-netns",
                                "--make", sh[name][1])
            fx.__enter__()
            fixtures.append(fx)
        # which fixture made which socket: their manifests
        whose = {}
        for name, fx in zip(names, fixtures):
            for m in fx.manifest:
                whose[(m["state"], m["local"], m["peer"])] = name
        t.eq(len(whose), 10, "ten stuck sockets made")
        time.sleep(0.5)
        run(t, a, base, sh, whose, work, jd, conf, sock, prom)
    finally:
        for fx in reversed(fixtures):
            fx.stop()
        for top in tops:
            remove_cgroups(top, home)
        t.check(not any(os.path.exists(top) for top in tops), "every cgroup the test made is removed")


def run(t, a, base, sh, whose, work, jd, conf, sock, prom):
    def listed(*args, daemon=False):
        cmd = [a.finwatch, "--socket", sock, "list", "--json", *args]
        if not daemon:
            cmd.insert(4, "--no-daemon")
        r = base.run(*cmd)
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
        t.eq((o.get("container_id"), o.get("container_runtime"), o.get("pod_uid"), o.get("pod_qos")), (cid, runtime, pod, qos),
             f"{name}: container, runtime, pod, QoS")
        t.eq(o["unit"], unit, f"{name}: unit")

    # the table: the short ID, the pod's UID and class
    r = base.run(a.finwatch, "list", "--no-daemon")
    lines = r.stdout.splitlines()
    t.check(lines and all(f" {c} " in lines[0] for c in ("Container", "Pod", "QoS")), f"columns: {lines[:1]}")
    for line in lines[1:]:
        fields = line.split()
        name = next((n for k, n in whose.items() if k[1] in fields and k[2] in fields), None)
        if not t.check(name is not None, f"a made socket: {line}"):
            continue
        _, _, cid, _, pod, qos, _ = sh[name]
        t.check((cid[:12] if cid else "-") in fields and (pod or "-") in fields and (qos or "-") in fields,
                f"{name}'s row shows {cid and cid[:12]}, {pod}, {qos}: {line}")

    # --container (the first digits, any case, the kubelet's form) and --pod select exactly theirs
    for args, names in ((["--container", D[:12]], ["docker"]),
                        (["--container", C1], ["c1"]),
                        (["--container", "c1c"], ["c1", "c2"]),
                        (["--container", "containerd://" + C2], ["c2"]),
                        (["--container", C6[:12].upper()], ["rootless"]),
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
                ["--pod", P1 + "0"]):
        r = base.run(a.finwatch, "list", "--no-daemon", *bad)
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
        want_c = {D[:12]: 2, C1[:12]: 1, C2[:12]: 1, C3[:12]: 1, C4[:12]: 1, C5[:12]: 1, C6[:12]: 1, C7[:12]: 1,
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

        # kill through the daemon: digits that fit two containers are refused
        before = fwtest.ss_sockets(base)
        t.eq(len(before), len(whose), f"ss sees the {len(whose)} stuck sockets")
        r = base.run(a.finwatch, "--socket", sock, "kill", "--container", "c1c", "--yes")
        t.check(r.returncode == 2 and "more than one container" in r.stderr and r.stdout == "",
                f"kill --container c1c refused: {r.returncode} {r.stdout!r} {r.stderr.strip()!r}")
        t.eq(fwtest.ss_sockets(base), before, "nothing killed (ss)")
        left = set(before)
        for args, names in ((["--container", C1[:12]], ["c1"]),
                            (["--pod", P2], ["guaranteed"]),
                            (["--pod", P1], ["c2"]),
                            (["--container", C7[:12]], ["podman"]),
                            (["--container", C6[:12], "--state", "fin-wait-1"], ["rootless"])):
            r = base.run(a.finwatch, "--socket", sock, "kill", *args, "--yes")
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
                          (C6, None, "killed", "finwatchd")]), "kill records name the container and pod")
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
