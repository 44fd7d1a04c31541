#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The DaemonSet of contrib/kubernetes/finwatch.yaml run as its kubelet
would run it, on a node made by the test (no cluster: what this leaves out
is in contrib/kubernetes/README.md). The node is the test's world
(fwtest.enter_private_world): its PID namespace is the pod's host PID, its
network namespace the pod's host network, its /run the node's /run, with a
real systemd-journald at /run/systemd/journal; its pods are fixtures with
network namespaces of their own, one found by its process and one named
under /run/netns after finwatchd started (as a CNI plugin names them). The
container (k8s.container_script) gets the manifest's command line, the
ConfigMap's finwatch.conf at its mountPath, every volume at its mountPath
(hostPath from the node, read-only and HostToContainer where it says), a
read-only root, the node's /proc, and exactly the capabilities it adds,
with no_new_privs, under setpriv as uid 0.

Checked: the capabilities and no_new_privs of the running daemon, the
read-only root, the liveness probe; `finwatch list --netns all` run in the
container (kubectl exec) lists the stuck sockets of the node's namespace
and of both pods with the daemon's ages; the textfile on the node's side
of its hostPath counts them; the node's own CLI reaches the daemon at
/run/finwatch/control; a second pod (a rollout) restores the ages from the
state file on the hostPath. Each added capability is needed: without
SYS_ADMIN no pod's sockets are seen, without SYS_PTRACE not those of the
pod found by its process, without NET_ADMIN a kill fails. Then the
node-problem-detector monitor of node-problem-detector.yaml is applied,
as node-problem-detector applies it (k8s.NpdMonitor), to the records
these daemons wrote to the node's journal through the hostPath socket -
every kind of record finwatchd writes - and each record fires exactly the
rules meant for it."""
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import fwtest
import k8s


class NodeJournal:
    """The node's journald: systemd-journald itself in the test's world
    (never systemd as PID 1), with the world's /run and a tmpfs over
    /var/log/journal, so that its socket is the node's
    /run/systemd/journal/socket, which the DaemonSet mounts."""

    def __enter__(self):
        journald = fwtest.find_journald()
        if os.path.isdir("/var/log/journal"):
            subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/var/log/journal"], check=True)
        os.makedirs("/run/systemd/journal", exist_ok=True)
        self.proc = subprocess.Popen([journald], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if not fwtest.wait_for(lambda: os.path.exists("/run/systemd/journal/socket") or self.proc.poll() is not None,
                               20) or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("journald did not start")
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        fwtest.stop_process(self.proc)

    def records(self, *matches):
        r = subprocess.run(["journalctl", "--no-pager", "-o", "json", *matches], capture_output=True, text=True,
                           timeout=60)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


def make_stage(stage, m, a):
    """The image's own files: finwatchd and finwatch where `meson install
    --prefix=/usr` puts them, and the mount points of its volumes."""
    for src, dst in ((a.finwatchd, "usr/sbin/finwatchd"), (a.finwatch, "usr/bin/finwatch")):
        os.makedirs(os.path.join(stage, os.path.dirname(dst)), exist_ok=True)
        shutil.copy2(src, os.path.join(stage, dst))
    for mt in m.mounts:
        top = mt["mountPath"].strip("/").split("/")[0]
        if top in k8s.IMAGE_DIRS:
            os.makedirs(os.path.join(stage, mt["mountPath"].lstrip("/")), exist_ok=True)


class Container:
    """finwatchd in a container of the DaemonSet's pod on the test's node
    (k8s.container_script), as uid 0 with the capabilities caps; conf:
    finwatch.conf for the ConfigMap's (the manifest's by default)."""

    count = 0

    def __init__(self, m, work, node_root, stage, caps, conf=None, fake_sysctls=None):
        Container.count += 1
        n = Container.count
        self.m, self.caps = m, list(caps)
        newroot = os.path.join(work, f"root-{n}")
        os.mkdir(newroot)
        cm = os.path.join(work, f"configmaps-{n}")
        plan = k8s.mount_plan(m, node_root, cm)
        if conf is not None:
            mount, rel = m.mount_of(m.config_path())
            with open(os.path.join(cm, mount["name"], rel), "w") as f:
                f.write(conf)
        script = k8s.container_script(m, plan, newroot, stage, m.argv(), self.caps, fake_sysctls)
        self.errpath = os.path.join(work, f"container-{n}.err")
        self.err = open(self.errpath, "w")
        self.proc = subprocess.Popen(k8s.container_command(m, script), stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=self.err)
        self.pid = self.proc.pid
        if not m.pod.get("hostPID"):  # the container's process is unshare's child
            self.pid = fwtest.wait_for(lambda: self._child(), 5) or self.pid

    def _child(self):
        try:
            with open(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children") as f:
                kids = f.read().split()
            return int(kids[0]) if kids else None
        except OSError:
            return None

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()

    def exec(self, *argv, **kw):
        """kubectl exec into it."""
        return k8s.exec_in(self.pid, self.m, self.caps, list(argv), **kw)

    def cli(self, *args):
        return self.exec("/usr/bin/finwatch", "--socket", CONTROL, *args)

    def status(self):
        r = self.cli("status", "--json")
        return json.loads(r.stdout) if r.returncode == 0 else None

    def wait_up(self):
        return fwtest.wait_for(lambda: self.status() is not None or self.proc.poll() is not None, 20) \
            and self.proc.poll() is None

    def stop(self):
        if self.pid != self.proc.pid and self.proc.poll() is None:  # the kubelet signals the container's process
            try:
                os.kill(self.pid, signal.SIGTERM)
                self.proc.wait(30)
            except (OSError, subprocess.TimeoutExpired):
                pass
        code = fwtest.stop_process(self.proc, 30)
        self.err.close()
        return code


CONTROL = None  # the control socket in the container, from the ConfigMap's config


def rows_by_place(rows, places):
    """{place: [rows]} by netns_inode (places: {name: inode}; None for the
    daemon's own namespace, the node's, which finwatch calls host)."""
    out = {name: [] for name in places}
    for o in rows:
        for name, ino in places.items():
            if o.get("netns_inode") == ino:
                out[name].append(o)
    return out


def metrics(path):
    vals = {}
    try:
        with open(path) as f:
            for line in f:
                if line.startswith("finwatch_") and " " in line:
                    k, v = line.rsplit(" ", 1)
                    vals[k] = float(v)
    except FileNotFoundError:
        pass
    return vals


def derived(text, **changes):
    """The ConfigMap's finwatch.conf with keys changed ("section.key": value;
    a key the file lacks is added at the end of its section)."""
    want = {tuple(k.split(".")): v for k, v in changes.items()}
    out, section, done = [], None, set()

    def add_missing(sec):
        for (s, k), v in want.items():
            if s == sec and (s, k) not in done:
                out.append(f"{k} = {v}")
                done.add((s, k))

    for line in text.splitlines():
        head = re.match(r"\[(\w+)\]\s*$", line)
        kv = re.match(r"\s*(\w+)\s*=", line)
        if head:
            add_missing(section)
            section = head.group(1)
        elif kv and (section, kv.group(1)) in want:
            out.append(f"{kv.group(1)} = {want[(section, kv.group(1))]}")
            done.add((section, kv.group(1)))
            continue
        out.append(line)
    add_missing(section)
    for sec in dict.fromkeys(s for s, k in want if (s, k) not in done):
        out.append(f"[{sec}]")
        add_missing(sec)
    return "\n".join(out) + "\n"


def shipped(t, a, m, env, places, jd):
    """The DaemonSet as shipped: the manifest's config, capabilities, mounts."""
    work, node_root, stage = env["work"], env["node_root"], env["stage"]
    conf = m.config()
    prom = k8s.node_path(m, conf["metrics"]["textfile"], node_root)
    state = k8s.node_path(m, conf["daemon"]["state_file"], node_root)
    control = k8s.node_path(m, conf["daemon"]["control_socket"], node_root)
    t.check(prom and state and control, "the textfile, state file and control socket are on hostPath volumes")
    prom, state, control = prom or "/nonexistent", state or "/nonexistent", control or "/nonexistent"

    c = Container(m, work, node_root, stage, m.caps())
    try:
        t.check(c.wait_up(), f"the DaemonSet's finwatchd answers: {c.stderr()[-1500:]}")
        st = k8s.proc_caps(c.pid)
        want = k8s.caps_mask(m.caps_added())
        t.eq({k: st[k] for k in ("CapPrm", "CapEff", "CapBnd")}, {"CapPrm": want, "CapEff": want, "CapBnd": want},
             f"its capabilities are exactly {m.caps_added()}")
        t.eq((st["CapInh"], st["CapAmb"]), (0, 0), "nothing inheritable or ambient")
        t.eq(st["NoNewPrivs"], 1, "no_new_privs (allowPrivilegeEscalation: false)")
        t.eq(st["Uid"], [0, 0, 0, 0], "uid 0")
        plan = k8s.mount_plan(m, node_root, os.path.join(work, "configmaps-check"))
        with open(f"/proc/{c.pid}/mountinfo") as f:
            mounts = [(ln.split()[4], ln.split()[5].split(",")) for ln in f]
        writable = [p for p, opts in mounts if "rw" in opts and any(
            (v.ro and p == v.path) or (v.rro and p.startswith(v.path + "/")) for v in plan)]
        t.eq(writable, [], "the read-only volumes are read-only, and every mount below those recursively so")
        r = c.exec("sh", "-c", "echo x > /probe")
        t.check(r.returncode != 0 and "Read-only file system" in r.stderr,
                f"its root is read-only: {r.stderr.strip()!r}")
        probe = m.container["livenessProbe"]["exec"]["command"]
        r = c.exec(*probe)
        t.eq(r.returncode, 0, f"the liveness probe passes: {r.stderr.strip()}")

        # a pod started after finwatchd, its namespace named under /run/netns
        subprocess.run(["ip", "netns", "add", "fwpod-b"], check=True)
        env["cleanup"].append(lambda: subprocess.run(["ip", "netns", "del", "fwpod-b"]))
        subprocess.run(["ip", "-n", "fwpod-b", "link", "set", "lo", "up"], check=True)
        pod_b = fwtest.Fixture(a.fixture, ["zero-window:fin-wait-1:owned:4:1"], unshare=False,
                               prefix=("ip", "netns", "exec", "fwpod-b"))
        pod_b.__enter__()
        env["cleanup"].append(pod_b.stop)
        places["pod-b"] = os.stat("/run/netns/fwpod-b").st_ino

        def listed():
            r = c.cli("list", "--netns", "all", "--json")
            rows = json.loads(r.stdout) if r.returncode == 0 else []
            got = rows_by_place(rows, places)
            ok = ([len(got[p]) for p in ("node", "pod-a", "pod-b")] == [1, 2, 1] and
                  all(o["alerted"] is not None for p in got.values() for o in p))
            return got if ok else None

        # the pod named after the start: at the next poll (5 s)
        got = fwtest.wait_for(listed, 20)
        t.check(got, "kubectl exec finwatch list --netns all: the node's stuck socket, both pods', tracked by "
                f"the daemon: {c.cli('list', '--netns', 'all').stdout} {c.stderr()[-800:]}")
        if got:
            t.eq([o["state"] for o in got["pod-a"]], ["LAST_ACK", "LAST_ACK"], "pod A (found by its process)")
            t.eq([(o["state"], o["netns"]) for o in got["pod-b"]], [("FIN_WAIT_1", "fwpod-b")],
                 "pod B, named under /run/netns after finwatchd started (HostToContainer)")
            t.eq([o["state"] for o in got["node"]], ["FIN_WAIT_1"], "the node's own namespace (host network)")
        ok = fwtest.wait_for(lambda: (lambda v: v.get('finwatch_stuck_sockets{state="FIN_WAIT_1"}') == 2 and
                                      v.get('finwatch_stuck_sockets{state="LAST_ACK"}') == 2)(metrics(prom)), 15)
        t.check(ok, f"the textfile on the node's side of its hostPath ({prom}) counts them: "
                f"{ {k: v for k, v in metrics(prom).items() if 'stuck_sockets{' in k} }")
        t.check(os.path.exists(prom) and os.stat(prom).st_uid == 0, "written by root")
        r = subprocess.run([a.finwatch, "--socket", control, "status", "--json"],
                           capture_output=True, text=True, timeout=60)
        t.check(r.returncode == 0 and json.loads(r.stdout).get("tracked") == 4,
                f"the node's own finwatch reaches it at the node's {control}: {r.stdout[:200]} {r.stderr}")
        err = c.stderr()
        t.check("<3>" not in err and "journald is not reachable" not in err,
                f"no error, and journald reachable through the hostPath: {err.strip()[-800:]!r}")
        ages = {o["cookie"]: o["age_min_seconds"] for p in (got or {}).values() for o in p}
    finally:
        t.eq(c.stop(), 0, "SIGTERM (the kubelet's stop): exit 0")

    # a rollout: a new pod restores the ages from the hostPath's state file
    t.check(os.path.isfile(state), "the state file stays on the node")
    c = Container(m, work, node_root, stage, m.caps())
    try:
        t.check(c.wait_up(), "the next pod's finwatchd answers")
        t.check(fwtest.wait_for(lambda: f"restored 4 tracked sockets from {conf['daemon']['state_file']}" in c.stderr(), 5),
                f"and restores the 4 sockets' ages from it: {c.stderr()[-600:]!r}")
        r = c.cli("list", "--netns", "all", "--json")
        now = {o["cookie"]: o["age_min_seconds"] for o in json.loads(r.stdout or "[]")}
        t.check(ages and all(now.get(k, -1) >= v for k, v in ages.items()),
                f"no age went back: {ages} then {now}")
    finally:
        t.eq(c.stop(), 0, "exit 0")
    return places


def needed_caps(t, a, m, env, places, jd):
    """Each added capability is needed (a quicker poll, 500 ms, so that a
    poll has run)."""
    work, node_root, stage = env["work"], env["node_root"], env["stage"]
    text = derived(m.config_text(), **{"monitor.interval": "500ms", "daemon.state_file": ""})
    for cap, want in (("SYS_ADMIN", 1), ("SYS_PTRACE", 2), ("NET_ADMIN", 4)):
        caps = [x for x in m.caps() if x != cap]
        c = Container(m, work, node_root, stage, caps, conf=text)
        try:
            t.check(c.wait_up(), f"without {cap}: finwatchd runs: {c.stderr()[-800:]}")
            time.sleep(1.5)
            st = c.status() or {}
            t.eq(st.get("tracked"), want, f"without {cap}: the sockets it tracks (4 with it)")
            if cap == "NET_ADMIN":
                node_sock = fwtest.subprocess.run(["ss", "-tanH", "state", "fin-wait-1"], capture_output=True,
                                                  text=True).stdout
                r = c.cli("kill", "--state", "fin-wait-1", "--netns", "all", "--yes")
                t.check(r.returncode != 0 and "CAP_NET_ADMIN" in r.stdout + r.stderr,
                        f"without NET_ADMIN a kill fails: {r.stdout.strip()} {r.stderr.strip()}")
                after = fwtest.subprocess.run(["ss", "-tanH", "state", "fin-wait-1"], capture_output=True,
                                              text=True).stdout
                t.eq(after, node_sock, "and the node's socket is still there (ss)")
        finally:
            t.eq(c.stop(), 0, f"without {cap}: exit 0")


def npd_records(t, a, m, env, places, jd):
    """Records of every kind, written by the container through the node's
    journald socket: stuck, dry-run kills, the auto-kill budget, a client
    blocked by a stuck socket, manual kills, cleared, and (a second run)
    the rate limit's summary and the orphan budget. The changes to the
    ConfigMap's config are for speed and to make each record; for the
    orphan budget, /proc/sys/net/ipv4 in the container is a tmpfs with
    tcp_max_orphans = 1 and the node's own retry counts, since a network
    namespace other than the machine's has no tcp_max_orphans."""
    import test_peer

    work, node_root, stage = env["work"], env["node_root"], env["stage"]
    text = derived(m.config_text(), **{"monitor.interval": "500ms", "alert.after": "1s", "kill.auto": "dry-run",
                                       "kill.after": "1s", "kill.max_per_minute": "1", "daemon.state_file": ""})
    with fwtest.Fixture(a.fixture, ["zero-window:last-ack:owned:4:1"]) as blocked:
        server, client = test_peer.FAST
        test_peer.add_drop_rule(blocked, client)
        helper = test_peer.Helper(blocked, "fast", str(server), str(client))
        made = time.monotonic()
        c = Container(m, work, node_root, stage, m.caps(), conf=text)
        try:
            t.check(c.wait_up(), f"finwatchd for the records answers: {c.stderr()[-800:]}")

            def blocker():
                r = c.cli("list", "--netns", "all", "--json")
                rows = [o for o in json.loads(r.stdout or "[]") if o["local_port"] == server] if r.returncode == 0 else []
                return rows[0] if rows and rows[0]["alerted"] is not None else None

            t.check(fwtest.wait_for(blocker, 15), "the socket the client will reconnect to is tracked")
            # as test_peer: the lost FIN's retransmissions are rare from 3 s on
            time.sleep(max(0.0, 3.2 - (time.monotonic() - made)))
            helper.tell()
            ok = fwtest.wait_for(lambda: jd.records("MESSAGE_ID=2bfea22c16d5495ebe5de59bd6f35e91"), 20)
            t.check(ok, f"a blocked client's record (the socket's peer: {(blocker() or {}).get('peer')})")
            # a socket that goes by other hands than finwatch's: cleared
            blocked.run("ss", "-K", "state", "last-ack", check=True)
            ok = fwtest.wait_for(lambda: jd.records("MESSAGE_ID=bbfca07b105e4dbe9b45054f9af909c9"), 10)
            t.check(ok, "a cleared record for the socket ss -K killed")
            r = c.cli("kill", "--state", "last-ack", "--netns", "all", "--yes")
            t.eq(r.returncode, 0, f"kubectl exec finwatch kill: {r.stdout.strip()} {r.stderr.strip()}")
        finally:
            t.eq(c.stop(), 0, "exit 0")
            helper.stop()

    sysctls = {"tcp_max_orphans": 1}
    for name in ("tcp_orphan_retries", "tcp_retries2"):
        with open(f"/proc/sys/net/ipv4/{name}") as f:
            sysctls[name] = f.read().strip()
    text = derived(m.config_text(), **{"monitor.interval": "500ms", "alert.after": "1s",
                                       "alert.max_per_minute": "1", "daemon.state_file": ""})
    c = Container(m, work, node_root, stage, m.caps(), conf=text, fake_sysctls=sysctls)
    try:
        t.check(c.wait_up(), f"finwatchd for the summary answers: {c.stderr()[-800:]}")
        ok = fwtest.wait_for(lambda: jd.records("MESSAGE_ID=f055b0afc3b14d7fab38c936e5f223d3"), 10)
        t.check(ok, f"an orphan budget record: {c.stderr()[-600:]!r}")
        time.sleep(1.5)
    finally:
        t.eq(c.stop(), 0, "exit 0, with the summary of what the rate limit held back")

    doc, name, mon = k8s.npd_monitor(os.path.join(a.source, "contrib/kubernetes/node-problem-detector.yaml"))
    npd = k8s.NpdMonitor(mon)
    every = jd.records()
    ours = [r for r in every if r.get("MESSAGE_ID") in k8s.RECORD_IDS]
    t.check(all(r.get("SYSLOG_IDENTIFIER") == mon["pluginConfig"]["source"] for r in ours),
            "every finwatch record has the SYSLOG_IDENTIFIER the monitor takes")
    seen = {}
    wrong = 0
    for rec, fired in npd.run(every):
        want = k8s.expected_rules(rec)
        kind = k8s.RECORD_IDS.get(rec.get("MESSAGE_ID"), "other")
        if kind == "kill":
            kind += " " + rec.get("FINWATCH_KILL_RESULT", "?")
        seen[kind] = seen.get(kind, 0) + 1
        if fired != (want or set()):
            wrong += 1
            if wrong <= 5:
                t.check(False, f"record {rec.get('MESSAGE')!r} ({kind}) fires {sorted(fired, key=str)}, "
                        f"want {sorted(want or (), key=str)}")
    t.eq(wrong, 0, "records whose rules were not the ones meant for them")
    print("node-problem-detector rules applied to finwatchd's records:",
          ", ".join(f"{k} {v}" for k, v in sorted(seen.items())))
    for kind in ("stuck", "cleared", "held back (rate limit)", "kill killed", "kill dry-run", "kill failed",
                 "auto-kill budget", "orphan budget", "blocks a client"):
        t.check(seen.get(kind), f"a real {kind} record was matched")
    t.eq(seen.get("other", 0), 0, "finwatchd wrote no record the monitor does not know")


def main():
    global CONTROL
    a = fwtest.parse_args("source")
    fwtest.require_root_netns()
    for tool in ("setpriv", "chroot", "findmnt", "ip", "journalctl"):
        if not shutil.which(tool):
            fwtest.skip_or_fail(f"{tool} is needed")
    if not fwtest.find_journald():
        fwtest.skip_or_fail("systemd-journald is needed")
    fwtest.enter_private_world()  # netns = all reaches only what this test made
    t = fwtest.Failures("test_k8s")
    m = k8s.Manifest(os.path.join(a.source, "contrib/kubernetes/finwatch.yaml"))
    CONTROL = m.config()["daemon"]["control_socket"]
    work = tempfile.mkdtemp(prefix="finwatch-test-")
    os.chmod(work, 0o755)
    env = {"work": work, "node_root": os.path.join(work, "node"), "stage": os.path.join(work, "stage"),
           "cleanup": []}
    make_stage(env["stage"], m, a)
    # the node's /run/netns, a shared mount point as `ip netns add` and the
    # CNI plugins leave it: what is named there later reaches the pod
    os.makedirs("/run/netns", exist_ok=True)
    subprocess.run(["mount", "--bind", "/run/netns", "/run/netns"], check=True)
    subprocess.run(["mount", "--make-shared", "/run/netns"], check=True)
    try:
        with NodeJournal() as jd, \
                fwtest.Fixture(a.fixture, ["lost-fin:fin-wait-1:orphan:4:1"], unshare=False), \
                fwtest.Fixture(a.fixture, ["lost-fin:last-ack:orphan:4:2"]) as pod_a:
            places = {"node": None,
                      "pod-a": os.stat(f"/proc/{pod_a.pid}/ns/net").st_ino}
            try:
                shipped(t, a, m, env, places, jd)
                needed_caps(t, a, m, env, places, jd)
                npd_records(t, a, m, env, places, jd)
            finally:
                for fn in reversed(env["cleanup"]):
                    fn()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    t.done()


if __name__ == "__main__":
    main()
