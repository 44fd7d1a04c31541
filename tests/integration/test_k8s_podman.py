#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The DaemonSet's container in a real container runtime: the image
contrib/kubernetes/make-image builds from Debian 12's packages (mmdebstrap,
no image pulled from a registry) around this build, run by podman with
runc (k8s.podman_run_args: host network, UTS and PID, uid 0, every
capability dropped but the three added, no_new_privs, podman's default
seccomp profile, a read-only root, each volume at its mountPath), on the
node test_k8s.py makes: the test's world, whose network and PID
namespaces stand for the host's, with a real journald and pods that are
fixtures in network namespaces of their own, one named under /run/netns
after the container started. Never the machine's own network namespace,
never netns = all outside the test's PID namespace.

Checked: the container's process has exactly those capabilities,
no_new_privs, a seccomp filter and a read-only root; the liveness probe
passes; `podman exec ... finwatch list --netns all` (kubectl exec) lists the
node's and both pods' stuck sockets with the daemon's ages; the textfile
on the node's side of its hostPath counts them; finwatchd reached the
node's journald, and a record it wrote there (a second run, alerting
after 1 s) has the container's PID and matches node-problem-detector's
rules. The image is made before the test enters its world (mmdebstrap
needs Debian's mirror) and imported into a podman storage of the test's
own, removed at the end with the cgroups podman made."""
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time

import fwtest
import k8s
from test_k8s import NodeJournal, derived, metrics, rows_by_place

ROOTFS_ENV = "FINWATCH_K8S_ROOTFS"


def build_prefix(build):
    r = subprocess.run(["meson", "introspect", "--buildoptions", build], capture_output=True, text=True)
    if r.returncode != 0:
        return None
    return next((o["value"] for o in json.loads(r.stdout) if o["name"] == "prefix"), None)


def make_rootfs(a):
    """make-image's tree, outside the test's world (it downloads from
    Debian's mirror); its path goes in through the environment."""
    outer = tempfile.mkdtemp(prefix="finwatch-image-")
    tar = os.path.join(outer, "rootfs.tar")
    start = time.monotonic()
    r = subprocess.run([os.path.join(a.source, "contrib/kubernetes/make-image"), "--build", a.build,
                        "--no-import", "--rootfs", tar], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if r.returncode != 0:
        shutil.rmtree(outer, ignore_errors=True)
        print(r.stderr, file=sys.stderr)
        sys.exit(1)
    print(f"make-image made the tree in {time.monotonic() - start:.1f} s")
    os.environ[ROOTFS_ENV] = tar
    return outer


class Podman:
    """podman with a storage of the test's own (vfs), cgroupfs and runc;
    the containers it runs get a cgroup parent of the test's own."""

    def __init__(self, work):
        # named after the work directory: the test is PID 1 of its world
        self.cgroup = os.path.basename(work)
        self.base = ["podman", "--root", os.path.join(work, "storage"), "--runroot", "/run/fwtest-podman",
                     "--tmpdir", "/run/fwtest-libpod", "--storage-driver", "vfs", "--cgroup-manager", "cgroupfs",
                     "--events-backend", "file", "--runtime", shutil.which("runc")]
        self.names = []

    def __call__(self, *args, timeout=120, **kw):
        return subprocess.run([*self.base, *args], capture_output=True, text=True, timeout=timeout, **kw)

    def run(self, m, plan, name, image):
        """The DaemonSet's container, and what this machine needs besides:
        file and process limits no higher than ours (podman raises them,
        and the test's root has no CAP_SYS_RESOURCE here), conmon outside
        the container's cgroup, which is below one of the test's own."""
        nofile = resource.getrlimit(resource.RLIMIT_NOFILE)
        nproc = resource.getrlimit(resource.RLIMIT_NPROC)
        machine = ["--ulimit", f"nofile={nofile[0]}:{nofile[1]}", "--ulimit", f"nproc={nproc[0]}:{nproc[1]}",
                   "--cgroups", "no-conmon", "--cgroup-parent", "/" + self.cgroup]
        words = k8s.podman_run_args(m, plan, name, image)
        self.names.append(name)
        return self(words[0], *machine, *words[1:])

    def pid(self, name):
        r = self("inspect", "--format", "{{.State.Pid}}", name)
        return int(r.stdout.strip()) if r.returncode == 0 and r.stdout.strip().isdigit() else 0

    def cleanup(self):
        for name in self.names:
            self("rm", "-f", "-t", "10", name)
        # what podman made below the test's cgroup parent, in every hierarchy
        for h in os.listdir("/sys/fs/cgroup"):
            top = os.path.join("/sys/fs/cgroup", h, self.cgroup)
            if os.path.isdir(top):
                for d, subs, _ in sorted(os.walk(top), key=lambda w: -w[0].count("/")):
                    try:
                        os.rmdir(d)
                    except OSError:
                        pass


def root_read_only(pid):
    with open(f"/proc/{pid}/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == "/":
                return "ro" in fields[5].split(",")
    return False


def main():
    a = fwtest.parse_args("source", "build")
    fwtest.require_root_netns()
    for tool in ("podman", "runc", "mmdebstrap", "journalctl", "ip", "meson"):
        if not shutil.which(tool):
            fwtest.skip_or_fail(f"{tool} is needed")
    if not fwtest.find_journald():
        fwtest.skip_or_fail("systemd-journald is needed")
    if build_prefix(a.build) != "/usr":
        fwtest.skip_or_fail(f"{a.build} is not configured with --prefix=/usr: the image needs it")
    outer = None
    if os.environ.get("FINWATCH_PRIVATE_WORLD") != "1":
        outer = make_rootfs(a)
    try:
        fwtest.enter_private_world()  # netns = all reaches only what this test made
    finally:
        if outer:
            shutil.rmtree(outer, ignore_errors=True)

    t = fwtest.Failures("test_k8s_podman")
    m = k8s.Manifest(os.path.join(a.source, "contrib/kubernetes/finwatch.yaml"))
    control = m.config()["daemon"]["control_socket"]
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    os.chmod(work, 0o755)
    node_root = os.path.join(work, "node")
    podman = Podman(work)
    cleanup = []
    os.makedirs("/run/netns", exist_ok=True)
    subprocess.run(["mount", "--bind", "/run/netns", "/run/netns"], check=True)
    subprocess.run(["mount", "--make-shared", "/run/netns"], check=True)
    try:
        env = dict(os.environ, PODMAN=" ".join(podman.base))
        r = subprocess.run([os.path.join(a.source, "contrib/kubernetes/make-image"), "--build", a.build,
                            "--from-rootfs", os.environ[ROOTFS_ENV]], capture_output=True, text=True, env=env)
        image = r.stdout.strip()
        if not t.check(r.returncode == 0 and image, f"make-image --from-rootfs imports it: {r.stderr[-1500:]}"):
            t.done()
        t.eq(image, m.container["image"], "the image is the one the DaemonSet names")

        with NodeJournal() as jd, \
                fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:1"], unshare=False), \
                fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:2"]) as pod_a:
            places = {"node": None, "pod-a": os.stat(f"/proc/{pod_a.pid}/ns/net").st_ino}
            plan = k8s.mount_plan(m, node_root, os.path.join(work, "configmaps"))
            r = podman.run(m, plan, "finwatch-k8s", image)
            t.eq(r.returncode, 0, f"podman run with the DaemonSet's settings: {r.stderr.strip()[-1500:]}")

            def cli(*args):
                return podman("exec", "finwatch-k8s", "/usr/bin/finwatch", "--socket", control, *args)

            probe = m.container["livenessProbe"]["exec"]["command"]
            ok = fwtest.wait_for(lambda: podman("exec", "finwatch-k8s", *probe).returncode == 0, 30)
            t.check(ok, f"the liveness probe passes: {podman('logs', 'finwatch-k8s').stderr[-1500:]}")
            pid = podman.pid("finwatch-k8s")
            if t.check(pid > 0, "the container runs"):
                st = k8s.proc_caps(pid)
                want = k8s.caps_mask(m.caps_added())
                t.eq({k: st[k] for k in ("CapPrm", "CapEff", "CapBnd")},
                     {"CapPrm": want, "CapEff": want, "CapBnd": want}, f"capabilities exactly {m.caps_added()}")
                t.eq((st["CapInh"], st["CapAmb"]), (0, 0), "nothing inheritable or ambient")
                t.eq(st["NoNewPrivs"], 1, "no_new_privs")
                t.eq(st["Uid"], [0, 0, 0, 0], "uid 0")
                with open(f"/proc/{pid}/status") as f:
                    t.check("Seccomp:\t2" in f.read(), "a seccomp filter (the runtime's default profile)")
                t.check(root_read_only(pid), "a read-only root")
                with open(f"/proc/{pid}/mountinfo") as f:
                    mounts = [(ln.split()[4], ln.split()[5].split(",")) for ln in f]
                t.eq([p for p, opts in mounts if "rw" in opts and any(v.ro and p == v.path for v in plan)], [],
                     "each read-only volume is read-only")
                below = [p for p, opts in mounts
                         if "rw" in opts and any(v.rro and p.startswith(v.path + "/") for v in plan)]
                if below:
                    print(f"writable below a recursiveReadOnly: IfPossible volume (podman 4.3 has no recursive "
                          f"read-only bind): {' '.join(below)}")
                with open(f"/proc/{pid}/cmdline") as f:
                    t.eq(f.read().split("\0")[:-1], m.argv(), "the DaemonSet's command line")

            subprocess.run(["ip", "netns", "add", "fwpod-b"], check=True)
            cleanup.append(lambda: subprocess.run(["ip", "netns", "del", "fwpod-b"]))
            subprocess.run(["ip", "-n", "fwpod-b", "link", "set", "lo", "up"], check=True)
            pod_b = fwtest.Fixture(a.fixture, ["zero-window:fin-wait-1:owned:4:1"], unshare=False,
                                   prefix=("ip", "netns", "exec", "fwpod-b"))
            pod_b.__enter__()
            cleanup.append(pod_b.stop)
            places["pod-b"] = os.stat("/run/netns/fwpod-b").st_ino

            def listed():
                r = cli("list", "--netns", "all", "--json")
                got = rows_by_place(json.loads(r.stdout) if r.returncode == 0 else [], places)
                ok = ([len(got[p]) for p in ("node", "pod-a", "pod-b")] == [1, 2, 1] and
                      all(o["alerted"] is not None for p in got.values() for o in p))
                return got if ok else None

            got = fwtest.wait_for(listed, 20)
            t.check(got, f"podman exec finwatch list --netns all: the node's and both pods' stuck sockets, tracked: "
                    f"{cli('list', '--netns', 'all').stdout} {podman('logs', 'finwatch-k8s').stderr[-800:]}")
            if got:
                t.eq([(o["state"], o["netns"]) for o in got["pod-b"]], [("FIN_WAIT_1", "fwpod-b")],
                     "pod B by its name, made after the container started")
            prom = k8s.node_path(m, m.config()["metrics"]["textfile"], node_root)
            ok = fwtest.wait_for(lambda: (lambda v: v.get('finwatch_stuck_sockets{state="FIN_WAIT_1"}') == 2 and
                                          v.get('finwatch_stuck_sockets{state="LAST_ACK"}') == 2)(metrics(prom)), 15)
            t.check(ok, f"the textfile on the node's side of its hostPath counts them: {prom}")
            logs = podman("logs", "finwatch-k8s").stderr
            t.check("<3>" not in logs and "journald is not reachable" not in logs,
                    f"no error, and journald reachable: {logs.strip()[-800:]!r}")
            r = podman("stop", "-t", "30", "finwatch-k8s")
            code = podman("inspect", "--format", "{{.State.ExitCode}}", "finwatch-k8s").stdout.strip()
            t.eq((r.returncode, code), (0, "0"), "podman stop: finwatchd exits 0")

            # a record through the mounted journald socket, from the container
            mount, rel = m.mount_of(m.config_path())
            with open(os.path.join(work, "configmaps", mount["name"], rel), "w") as f:
                f.write(derived(m.config_text(), **{"alert.after": "1s", "daemon.state_file": ""}))
            r = podman.run(m, plan, "finwatch-k8s-alerts", image)
            t.eq(r.returncode, 0, f"podman run, alerting after 1 s: {r.stderr.strip()[-800:]}")
            pid2 = fwtest.wait_for(lambda: podman.pid("finwatch-k8s-alerts"), 10)
            recs = fwtest.wait_for(lambda: jd.records(f"_PID={pid2}", "MESSAGE_ID=b4cd1459bf4140c695af9432d3238033"),
                                   20) or []
            t.check(len(recs) >= 4, f"the node's journal has its stuck records, with the container's PID: {len(recs)}")
            doc, name, mon = k8s.npd_monitor(os.path.join(a.source, "contrib/kubernetes/node-problem-detector.yaml"))
            fired = [f for rec, f in k8s.NpdMonitor(mon).run(recs)]
            t.check(fired and all(f == k8s.expected_rules(rec) for rec, f in zip(recs, fired)),
                    "node-problem-detector's rules fire on them as meant")
            podman("stop", "-t", "30", "finwatch-k8s-alerts")
            for fn in reversed(cleanup):
                fn()
            cleanup.clear()
    finally:
        for fn in reversed(cleanup):
            fn()
        podman.cleanup()
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
