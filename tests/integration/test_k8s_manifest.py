#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""contrib/kubernetes/ as files, without privileges (no cluster, kubectl or
node-problem-detector is run: see contrib/kubernetes/README.md). The YAML
parses; the DaemonSet has the shape the README promises (host network and
PID, uid 0 with every capability dropped but those of the netns = all
drop-in, no privilege escalation, a read-only root, RuntimeDefault seccomp);
its ConfigMap's finwatch.conf passes `finwatchd --check-config`, and the
paths in the effective config (control socket, state file, textfile) and
the daemon's own (journald's socket, /run/netns, the cgroup tree) lie on
the volumes meant for them; its command and probe are where `meson install
--prefix=/usr` puts the programs, and its image is this version. The
node-problem-detector monitor: a journald source named as finwatchd names
its records, conditions and rules that agree, patterns Go's regexp reads as
Python's does, and a rule for every MESSAGE_ID finwatchd defines
(test_k8s.py matches them against real records)."""
import argparse
import configparser
import os
import re
import subprocess
import tempfile

import fwtest
import k8s


def dropin_caps(source):
    """CapabilityBoundingSet of contrib/systemd/finwatchd.service.d/netns.conf, without CAP_."""
    with open(os.path.join(source, "contrib/systemd/finwatchd.service.d/netns.conf")) as f:
        for line in f:
            if line.startswith("CapabilityBoundingSet="):
                return sorted(c.removeprefix("CAP_") for c in line.split("=", 1)[1].split())
    return None


def effective_config(finwatchd, text):
    """finwatchd --check-config on the text: (exit status, {section: {key: value}}, stderr)."""
    with tempfile.NamedTemporaryFile("w", suffix=".conf") as f:
        f.write(text)
        f.flush()
        r = subprocess.run([finwatchd, "--check-config", "--config", f.name], capture_output=True, text=True)
    cp = configparser.ConfigParser(interpolation=None)
    try:
        cp.read_string(r.stdout)
    except configparser.Error:
        return r.returncode, {}, r.stderr
    return r.returncode, {s: dict(cp[s]) for s in cp.sections()}, r.stderr


def check_daemonset(t, a, m):
    t.eq(m.kinds, ["Namespace", "ConfigMap", "DaemonSet"], "finwatch.yaml's objects")
    ns = next(d for d in m.docs if d["kind"] == "Namespace")["metadata"]
    t.eq(ns.get("labels", {}).get("pod-security.kubernetes.io/enforce"), "privileged",
         "the namespace admits host namespaces and capabilities (Pod Security)")
    t.check(all(d["metadata"].get("namespace") == ns["name"] for d in m.docs if d["kind"] != "Namespace"),
            "the ConfigMap and the DaemonSet are in that namespace")
    spec = m.daemonset["spec"]
    labels = spec["template"]["metadata"]["labels"]
    t.check(all(labels.get(k) == v for k, v in spec["selector"]["matchLabels"].items()),
            "the selector matches the pod's labels")

    pod = m.pod
    t.eq(pod.get("hostNetwork"), True, "hostNetwork")
    t.eq(pod.get("hostPID"), True, "hostPID")
    t.check(not pod.get("hostIPC"), "no hostIPC")
    t.eq(pod.get("automountServiceAccountToken"), False, "no service account token")
    t.eq(len(pod["containers"]), 1, "one container")
    t.check(not pod.get("initContainers"), "no init containers")

    sc = m.security
    t.eq(sc.get("privileged"), False, "not privileged")
    t.eq(sc.get("allowPrivilegeEscalation"), False, "allowPrivilegeEscalation: false (no_new_privs)")
    t.eq(sc.get("readOnlyRootFilesystem"), True, "readOnlyRootFilesystem")
    t.eq(sc.get("runAsUser"), 0, "uid 0 (added capabilities reach only uid 0's effective set)")
    t.eq(sc.get("capabilities", {}).get("drop"), ["ALL"], "every capability dropped")
    t.eq(sorted(m.caps_added()), dropin_caps(a.source),
         "then exactly those of contrib/systemd/finwatchd.service.d/netns.conf added")
    t.eq(sc.get("seccompProfile", {}).get("type"), "RuntimeDefault", "the runtime's seccomp profile")

    # volumes: each mount has its volume, each volume is mounted
    names = [mt["name"] for mt in m.mounts]
    t.eq(sorted(set(names)), sorted(m.volumes), "every volume mounted, every mount a volume")
    t.eq(len(names), len(set(names)), "each volume mounted once")
    t.check(all(mt["mountPath"].startswith("/") for mt in m.mounts), "absolute mount paths")

    # the program where meson install --prefix=/usr puts it (make-image)
    argv = m.argv()
    t.eq(argv[0], "/usr/sbin/finwatchd", "the command")
    t.eq(argv[1:], ["--config", "/etc/finwatch/finwatch.conf"], "its arguments")
    t.check(m.container["image"].endswith(":" + a.version), f"the image is version {a.version}: {m.container['image']}")

    # the config: on the ConfigMap, accepted by finwatchd, and its paths on
    # the volumes meant for them
    text = m.config_text()
    code, conf, err = effective_config(a.finwatchd, text)
    t.eq(code, 0, f"finwatchd --check-config accepts the ConfigMap's finwatch.conf: {err.strip()}")
    mon, daemon, metrics = conf.get("monitor", {}), conf.get("daemon", {}), conf.get("metrics", {})
    t.eq(mon.get("netns"), "all", "[monitor] netns = all")

    def on(path, what, kind, writable):
        mount, rel = m.mount_of(path)
        if not t.check(mount is not None, f"{what} {path} is on a volume"):
            return None
        vol = m.volume_of(mount)
        t.check(kind in vol, f"{what} {path} is on a {kind} volume: {mount['name']}")
        if writable:
            t.check(not mount.get("readOnly"), f"{what} {path}: its volume is writable")
        return vol

    for key, what in (("control_socket", "the control socket"), ("state_file", "the state file")):
        vol = on(daemon.get(key, ""), what, "hostPath", True)
        if vol:
            t.eq(vol["hostPath"]["path"], "/run/finwatch", f"{what}: the node's /run/finwatch")
    t.check(metrics.get("textfile"), "[metrics] textfile is set")
    vol = on(metrics.get("textfile", ""), "the textfile", "hostPath", True)
    if vol:
        mount, rel = m.mount_of(metrics["textfile"])
        t.eq(rel, os.path.basename(metrics["textfile"]), "the textfile right in the node_exporter directory")

    # the daemon's own paths: journald's socket (daemon/alert.c), named
    # namespaces (lib/netns.c), the cgroup tree (the first cgroup2 mount)
    with open(os.path.join(a.source, "daemon/alert.c")) as f:
        journal = re.search(r'#define JOURNAL_SOCKET "([^"]+)"', f.read()).group(1)
    vol = on(journal, "journald's socket", "hostPath", False)
    if vol:
        t.eq(vol["hostPath"]["path"], os.path.dirname(journal), "the node's journald socket directory")
    with open(os.path.join(a.source, "lib/netns.c")) as f:
        t.check('"/run/netns"' in f.read(), "lib/netns.c reads /run/netns")
    vol = on("/run/netns/x", "named network namespaces", "hostPath", False)
    if vol:
        mount, _ = m.mount_of("/run/netns/x")
        t.eq(vol["hostPath"]["path"], "/run/netns", "the node's /run/netns")
        t.eq(mount.get("mountPropagation"), "HostToContainer", "namespaces named after the start reach the pod")
    vol = on("/sys/fs/cgroup", "the cgroup tree", "hostPath", False)
    if vol:
        mount, _ = m.mount_of("/sys/fs/cgroup")
        t.eq((vol["hostPath"]["path"], mount.get("readOnly")), ("/sys/fs/cgroup", True), "the node's, read-only")
        t.eq(mount.get("recursiveReadOnly"), "IfPossible",
             "and below, where the runtime can: a cgroup v1 node's hierarchies are mounts under it")

    probe = m.container.get("livenessProbe", {}).get("exec", {}).get("command", [])
    t.eq(probe[:1], ["/usr/bin/finwatch"], "the liveness probe runs the CLI")
    t.eq(probe[probe.index("--socket") + 1] if "--socket" in probe else None, daemon.get("control_socket"),
         "on the daemon's control socket")


def check_npd(t, a):
    doc, name, mon = k8s.npd_monitor(os.path.join(a.source, "contrib/kubernetes/node-problem-detector.yaml"))
    t.eq(name, "finwatch-monitor.json", "the monitor's file name")
    t.eq(mon.get("plugin"), "journald", "a journald source")
    t.eq(mon.get("pluginConfig", {}).get("source"), "finwatchd", "of finwatchd's records (SYSLOG_IDENTIFIER)")
    t.check(mon.get("logPath"), "a logPath")
    conds = [c["type"] for c in mon.get("conditions", [])]
    t.check(all(c.get("reason") and c.get("message") for c in mon.get("conditions", [])),
            "each condition has its default reason and message")
    keys = set()
    for r in mon["rules"]:
        t.check(r["type"] in ("temporary", "permanent"), f"rule type {r['type']}")
        t.check(re.fullmatch(r"[A-Z][A-Za-z]+", r.get("reason", "")), f"reason {r.get('reason')!r} is CamelCase")
        if r["type"] == "permanent":
            t.check(r.get("condition") in conds, f"{r['reason']}: condition {r.get('condition')} is declared")
        t.eq(k8s.re2_subset_problems(r["pattern"]), [], f"{r['reason']}: Go's regexp reads it as Python's does")
        try:
            re.compile(r["pattern"])
        except re.error as e:
            t.check(False, f"{r['reason']}: pattern does not compile: {e}")
        keys.add(k8s.NpdMonitor.rule_key(r))
    t.eq(sorted(conds), sorted({r["condition"] for r in mon["rules"] if r["type"] == "permanent"}),
         "every condition has a rule that sets it")

    ids = k8s.message_ids_in_source(a.source)
    t.eq(sorted(ids), sorted(k8s.RECORD_IDS), "the MESSAGE_IDs finwatchd defines are those the tests know")
    t.check(k8s.message_ids_in_readme(a.source) <= ids, "README's table names only those")
    wanted = set()
    for mid in ids:
        for result in (("killed", "dry-run", "gone", "failed") if k8s.RECORD_IDS[mid] == "kill" else (None,)):
            wanted |= k8s.expected_rules({"MESSAGE_ID": mid, "FINWATCH_KILL_RESULT": result}) or set()
    t.eq(sorted(keys, key=str), sorted(wanted, key=str), "a rule for each record, and none for what is not one")


def main():
    ap = argparse.ArgumentParser()
    for name in ("source", "finwatchd", "version"):
        ap.add_argument("--" + name, required=True)
    a = ap.parse_args()
    t = fwtest.Failures("test_k8s_manifest")
    m = k8s.Manifest(os.path.join(a.source, "contrib/kubernetes/finwatch.yaml"))
    check_daemonset(t, a, m)
    check_npd(t, a)
    t.done()


if __name__ == "__main__":
    main()
