# SPDX-License-Identifier: GPL-2.0-or-later
"""contrib/kubernetes/ read the way a kubelet and node-problem-detector read
it, for the tests that run finwatchd with exactly its settings
(test_k8s.py under setpriv, test_k8s_podman.py in podman): the DaemonSet's
container (command, capabilities, volumes, the ConfigMap's finwatch.conf),
and the node-problem-detector monitor with its rules applied to journal
records as node-problem-detector applies them."""
import collections
import configparser
import json
import os
import re
import subprocess

import yaml

# The host paths a test may use as they are: inside the test's world
# (fwtest.enter_private_world) /run is a tmpfs of its own, and the cgroup
# tree is only read. Every other hostPath is a directory below the test's
# stand-in for the node's root, never the machine's own.
LIVE_HOST_PATHS = ("/run/", "/sys/fs/cgroup")

CAPS = {  # capabilities(7)
    "CHOWN": 0, "DAC_OVERRIDE": 1, "DAC_READ_SEARCH": 2, "FOWNER": 3, "FSETID": 4, "KILL": 5, "SETGID": 6,
    "SETUID": 7, "SETPCAP": 8, "LINUX_IMMUTABLE": 9, "NET_BIND_SERVICE": 10, "NET_BROADCAST": 11,
    "NET_ADMIN": 12, "NET_RAW": 13, "IPC_LOCK": 14, "IPC_OWNER": 15, "SYS_MODULE": 16, "SYS_RAWIO": 17,
    "SYS_CHROOT": 18, "SYS_PTRACE": 19, "SYS_PACCT": 20, "SYS_ADMIN": 21, "SYS_BOOT": 22, "SYS_NICE": 23,
    "SYS_RESOURCE": 24, "SYS_TIME": 25, "SYS_TTY_CONFIG": 26, "MKNOD": 27, "LEASE": 28, "AUDIT_WRITE": 29,
    "AUDIT_CONTROL": 30, "SETFCAP": 31, "MAC_OVERRIDE": 32, "MAC_ADMIN": 33, "SYSLOG": 34, "WAKE_ALARM": 35,
    "BLOCK_SUSPEND": 36, "AUDIT_READ": 37, "PERFMON": 38, "BPF": 39, "CHECKPOINT_RESTORE": 40,
}
# What containerd and CRI-O give a container that drops nothing (their
# default capability list), before its securityContext's drop and add.
RUNTIME_DEFAULT_CAPS = ("CHOWN", "DAC_OVERRIDE", "FSETID", "FOWNER", "MKNOD", "NET_RAW", "SETGID", "SETUID",
                        "SETFCAP", "SETPCAP", "NET_BIND_SERVICE", "SYS_CHROOT", "KILL", "AUDIT_WRITE")


def load_yaml(path):
    with open(path) as f:
        return [d for d in yaml.safe_load_all(f) if d is not None]


class Manifest:
    """contrib/kubernetes/finwatch.yaml: its objects, the DaemonSet's pod
    and its finwatchd container."""

    def __init__(self, path):
        self.path = path
        self.docs = load_yaml(path)
        self.kinds = [d.get("kind") for d in self.docs]
        sets = [d for d in self.docs if d.get("kind") == "DaemonSet"]
        if len(sets) != 1:
            raise ValueError(f"{path}: {len(sets)} DaemonSets")
        self.daemonset = sets[0]
        self.pod = self.daemonset["spec"]["template"]["spec"]
        self.container = self.pod["containers"][0]
        self.security = self.container.get("securityContext", {})
        self.volumes = {v["name"]: v for v in self.pod.get("volumes", [])}
        self.mounts = self.container.get("volumeMounts", [])

    def configmap(self, name):
        for d in self.docs:
            if d.get("kind") == "ConfigMap" and d["metadata"]["name"] == name:
                return d
        raise KeyError(f"no ConfigMap {name}")

    def argv(self):
        """The command line the kubelet starts (command, then args)."""
        return list(self.container["command"]) + list(self.container.get("args", []))

    def caps_added(self):
        return list(self.security.get("capabilities", {}).get("add", []))

    def caps(self):
        """The container's bounding set: the runtime's default list less
        what it drops (ALL: everything), with what it adds."""
        c = self.security.get("capabilities", {})
        drop = set(c.get("drop", []))
        base = set() if "ALL" in drop else set(RUNTIME_DEFAULT_CAPS) - drop
        return sorted(base | set(c.get("add", [])))

    def uid(self):
        return int(self.security.get("runAsUser", 0)), int(self.security.get("runAsGroup", 0))

    def no_new_privs(self):
        return not self.security.get("allowPrivilegeEscalation", True)

    def mount_of(self, path):
        """The volumeMount that holds a path in the container, and the path
        below it: the deepest mountPath that is a prefix."""
        best = None
        for m in self.mounts:
            mp = m["mountPath"].rstrip("/")
            if path == mp or path.startswith(mp + "/"):
                if best is None or len(mp) > len(best["mountPath"].rstrip("/")):
                    best = m
        if best is None:
            return None, None
        return best, os.path.relpath(path, best["mountPath"])

    def volume_of(self, mount):
        return self.volumes[mount["name"]]

    def config_path(self):
        argv = self.argv()
        return argv[argv.index("--config") + 1] if "--config" in argv else "/etc/finwatch/finwatch.conf"

    def config_text(self):
        """finwatch.conf as the container sees it: the ConfigMap key behind
        the --config path."""
        mount, rel = self.mount_of(self.config_path())
        if mount is None:
            raise ValueError(f"{self.config_path()} is on no volume: the image's default would be read")
        vol = self.volume_of(mount)
        if "configMap" not in vol:
            raise ValueError(f"{self.config_path()} is on volume {mount['name']}, not a ConfigMap")
        return self.configmap(vol["configMap"]["name"])["data"][rel]

    def config(self):
        """The ConfigMap's finwatch.conf as {section: {key: value}}."""
        cp = configparser.ConfigParser(interpolation=None, comment_prefixes=("#", ";"),
                                       inline_comment_prefixes=None)
        cp.read_string(self.config_text())
        return {s: dict(cp[s]) for s in cp.sections()}


def caps_mask(names):
    mask = 0
    for n in names:
        mask |= 1 << CAPS[n]
    return mask


def setpriv_args(cap_names, no_new_privs, uid=(0, 0)):
    """setpriv words for a container whose runtime gives it these
    capabilities: the bounding set is the list, and for uid 0 execve()
    makes it the permitted and effective sets (another uid gets none of
    them: Kubernetes sets no ambient capabilities); nothing inheritable or
    ambient, as runc and crun leave it."""
    caps = ",".join("+" + c.lower() for c in cap_names)
    bounding = "-all" + ("," + caps if caps else "")
    args = ["setpriv", f"--reuid={uid[0]}", f"--regid={uid[1]}", "--clear-groups", "--inh-caps=-all",
            "--ambient-caps=-all", f"--bounding-set={bounding}"]
    if no_new_privs:
        args.append("--no-new-privs")
    return args


def host_side(path, node_root):
    """Where the test keeps what the node has at path."""
    if any(path == p.rstrip("/") or path.startswith(p) for p in LIVE_HOST_PATHS):
        return path
    return os.path.join(node_root, path.lstrip("/"))


def node_path(manifest, path, node_root):
    """Where the test's node has what the container has at path, when that
    is on a hostPath volume; else None."""
    mount, rel = manifest.mount_of(path)
    if mount is None or "hostPath" not in manifest.volume_of(mount):
        return None
    return os.path.normpath(os.path.join(host_side(manifest.volume_of(mount)["hostPath"]["path"], node_root), rel))


# A volume as the container gets it: kind is hostPath, configMap or
# emptyDir; ro its readOnly, rro a recursiveReadOnly that asks for every
# mount below it read-only too (without it runc makes only the top one so).
Mount = collections.namedtuple("Mount", "path kind src ro prop rro")


def mount_plan(manifest, node_root, configmap_dir):
    """The container's volumes (Mount); a ConfigMap's keys are written to a
    directory below configmap_dir."""
    plan = []
    for m in manifest.mounts:
        vol = manifest.volume_of(m)
        ro = bool(m.get("readOnly", False))
        prop = m.get("mountPropagation", "None")
        rro = ro and m.get("recursiveReadOnly", "Disabled") in ("Enabled", "IfPossible")
        if "hostPath" in vol:
            src = host_side(vol["hostPath"]["path"], node_root)
            kind = vol["hostPath"].get("type", "")
            if kind == "DirectoryOrCreate":
                os.makedirs(src, mode=0o755, exist_ok=True)
            elif kind == "Directory" and not os.path.isdir(src):
                raise ValueError(f"hostPath {vol['hostPath']['path']} (type Directory) is missing")
            plan.append(Mount(m["mountPath"], "hostPath", src, ro, prop, rro))
        elif "configMap" in vol:
            d = os.path.join(configmap_dir, m["name"])
            os.makedirs(d, exist_ok=True)
            for key, text in manifest.configmap(vol["configMap"]["name"])["data"].items():
                with open(os.path.join(d, key), "w") as f:
                    f.write(text)
            plan.append(Mount(m["mountPath"], "configMap", d, True, prop, rro))
        elif "emptyDir" in vol:
            plan.append(Mount(m["mountPath"], "emptyDir", None, ro, prop, rro))
        else:
            raise ValueError(f"volume {m['name']}: a kind the tests do not know")
    return plan


# The image as the test stands it up: the node's own libraries and tools
# (read-only) under the installed finwatch (stage), as make-image's
# mmdebstrap tree would hold them.
IMAGE_DIRS = ("bin", "sbin", "lib", "lib32", "lib64", "libx32", "usr", "etc", "var", "opt")


def ro_below(path):
    """Shell words making path and every mount below it read-only (a
    recursive read-only bind, as runtimes mount /sys and readOnly volumes)."""
    import shlex
    return (f"findmnt -Rln -o TARGET {shlex.quote(path)} | while read -r m; do "
            f"mount -o remount,bind,ro \"$m\"; done")


def container_script(manifest, plan, newroot, stage, argv, cap_names, fake_sysctls=None):
    """A shell script that, run by `unshare --mount --propagation unchanged`
    in the test's world (the node), builds the container's view and execs
    the command in it, the way runc does for this pod:
    - a read-only root (readOnlyRootFilesystem): a tmpfs made read-only at
      the end, holding the image (overlays of the installed build on the
      node's /usr, /etc, ...) and the mount points;
    - /proc of the node's PID namespace (hostPID; without it the script
      runs in a PID namespace of its own, container_command, and mounts
      its own), /dev, /sys read-only with every mount below it;
    - each volume at its mountPath: hostPath bound from the node (rslave
      with HostToContainer, rprivate without; readOnly makes the top mount
      read-only, recursiveReadOnly every mount below it too), ConfigMaps as
      read-only tmpfs with their keys, emptyDir as tmpfs;
    - the network namespace is the script's: the node's with hostNetwork
      (container_command makes one of its own without);
    - capabilities, no_new_privs, the uid: setpriv (setpriv_args).
    fake_sysctls: {name: value} for /proc/sys/net/ipv4 (a tmpfs over it
    with just these files), for a record a child namespace cannot make."""
    import shlex
    q = shlex.quote
    lines = ["set -eu", "mount --make-rslave /", f"mount -t tmpfs -o mode=0755 fwroot {q(newroot)}"]
    for d in IMAGE_DIRS:
        host, img, target = f"/{d}", os.path.join(stage, d), os.path.join(newroot, d)
        if os.path.islink(host):
            lines.append(f"ln -s {q(os.readlink(host))} {q(target)}")
        elif os.path.isdir(img):
            lines.append(f"mkdir {q(target)} && mount -t overlay -o ro,lowerdir={img}:{host} fwimage {q(target)}")
        elif os.path.isdir(host):
            lines.append(f"mkdir {q(target)} && mount --bind {host} {q(target)} && "
                         f"mount -o remount,bind,ro {q(target)}")
    for d in ("proc", "dev", "sys", "run", "tmp"):
        lines.append(f"mkdir -p {q(os.path.join(newroot, d))}")
    proc = "--rbind /proc" if manifest.pod.get("hostPID") else "-t proc proc"
    lines += [f"mount {proc} {q(newroot)}/proc",
              f"mount --rbind /dev {q(newroot)}/dev",
              f"mount --rbind /sys {q(newroot)}/sys", ro_below(f"{newroot}/sys")]
    for mp, kind, src, ro, prop, rro in plan:
        target = q(newroot + mp)
        lines.append(f"mkdir -p {target} 2>/dev/null || test -d {target}")
        if kind == "hostPath":
            lines.append(f"mount --rbind {q(src)} {target}")
            lines.append(f"mount --make-{'rslave' if prop == 'HostToContainer' else 'rprivate'} {target}")
            if rro:
                lines.append(ro_below(newroot + mp))
            elif ro:
                lines.append(f"mount -o remount,bind,ro {target}")
        elif kind == "configMap":
            lines.append(f"mount -t tmpfs -o mode=0755 fwconfig {target} && cp -a {q(src)}/. {target}/ && "
                         f"mount -o remount,bind,ro {target}")
        else:
            lines.append(f"mount -t tmpfs -o mode=0755 fwempty {target}")
            if ro:
                lines.append(f"mount -o remount,bind,ro {target}")
    if fake_sysctls:
        d = q(f"{newroot}/proc/sys/net/ipv4")
        lines.append(f"mount -t tmpfs -o mode=0555 fwsysctl {d}")
        for k, v in fake_sysctls.items():
            lines.append(f"echo {q(str(v))} > {d}/{q(k)}")
        lines.append(f"mount -o remount,bind,ro {d}")
    if manifest.security.get("readOnlyRootFilesystem"):
        lines.append(f"mount -o remount,bind,ro {q(newroot)}")
    words = " ".join(q(w) for w in ["chroot", newroot, *setpriv_args(cap_names, manifest.no_new_privs(),
                                                                       manifest.uid()), *argv])
    lines.append(f"exec {words}")
    return "\n".join(lines) + "\n"


def container_command(manifest, script):
    """The command that runs container_script: a mount namespace of its own,
    and a network namespace without hostNetwork, a PID namespace without
    hostPID (then the container's process is the child of this one)."""
    words = ["unshare", "--mount", "--propagation", "unchanged"]
    if not manifest.pod.get("hostNetwork"):
        words.append("--net")
    if not manifest.pod.get("hostPID"):
        words += ["--pid", "--fork", "--kill-child"]
    return words + ["sh", "-c", script]


def exec_in(pid, manifest, cap_names, argv, **kw):
    """kubectl exec: argv in the container of process pid (its mount,
    network and PID namespaces and root), with the container's
    capabilities and uid."""
    cmd = ["nsenter", "-t", str(pid), "-m", "-n", "-p", "-r", "-w", "--",
           *setpriv_args(cap_names, manifest.no_new_privs(), manifest.uid()), *argv]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=kw.pop("timeout", 60), **kw)


def proc_caps(pid):
    """{CapInh, CapPrm, CapEff, CapBnd, CapAmb: int, NoNewPrivs: int, Uid: [...]}"""
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            v = v.strip()
            if k.startswith("Cap"):
                out[k] = int(v, 16)
            elif k == "NoNewPrivs":
                out[k] = int(v)
            elif k in ("Uid", "Gid"):
                out[k] = [int(x) for x in v.split()]
    return out


# ---- node-problem-detector ----

class NpdMonitor:
    """A system log monitor config (the JSON node-problem-detector.yaml
    holds) and its rules applied as node-problem-detector applies them
    (pkg/systemlogmonitor): the journald source takes records whose
    SYSLOG_IDENTIFIER is pluginConfig.source, each MESSAGE trimmed; every
    record goes into a ring of bufferSize messages, the ring is joined with
    newlines (empty slots too), and a rule fires when its pattern with \\z
    appended matches that text: to the end of the newest message. Patterns
    are Go regexps; the subset they use here means the same in Python's re
    (checked by re2_subset_problems)."""

    def __init__(self, config):
        self.config = config
        self.size = config.get("bufferSize") or 10
        self.rules = config["rules"]
        self.compiled = [re.compile(r["pattern"] + r"\Z", re.ASCII) for r in self.rules]

    @staticmethod
    def rule_key(rule):
        return (rule["type"], rule.get("condition") if rule["type"] == "permanent" else None, rule["reason"])

    def run(self, records):
        """For each record of the source, in order: (record, set of rule keys that fired)."""
        ring = [""] * self.size
        n = 0
        out = []
        for rec in records:
            if rec.get("SYSLOG_IDENTIFIER") != self.config["pluginConfig"]["source"]:
                continue
            ring[n % self.size] = str(rec.get("MESSAGE", "")).strip()
            n += 1
            text = "\n".join(ring[n % self.size:] + ring[:n % self.size])
            fired = {self.rule_key(r) for r, c in zip(self.rules, self.compiled) if c.search(text)}
            out.append((rec, fired))
        return out


def re2_subset_problems(pattern):
    """What in a pattern Go's regexp (RE2) rejects or reads otherwise than
    Python's re: lookaround, backreferences, atomic groups, \\Z, possessive
    quantifiers, (?P=name), \\v."""
    problems = []
    for bad, what in ((r"\(\?[=!]", "lookahead"), (r"\(\?<[=!]", "lookbehind"), (r"\\[1-9]", "backreference"),
                      (r"\(\?>", "atomic group"), (r"\\Z", r"\Z"), (r"[*+?}][+]", "possessive quantifier"),
                      (r"\(\?P=", "named backreference"), (r"\\v", r"\v")):
        if re.search(bad, pattern):
            problems.append(what)
    return problems


def npd_monitor(path):
    """The monitor JSON inside node-problem-detector.yaml's ConfigMap."""
    docs = load_yaml(path)
    if len(docs) != 1 or docs[0].get("kind") != "ConfigMap":
        raise ValueError(f"{path}: want one ConfigMap, got {[d.get('kind') for d in docs]}")
    data = docs[0]["data"]
    if len(data) != 1:
        raise ValueError(f"{path}: want one monitor file, got {list(data)}")
    name, text = next(iter(data.items()))
    return docs[0], name, json.loads(text)


# What each finwatchd record should turn into, by MESSAGE_ID (README.md's
# "Journal records", daemon/alert.h): the rules of node-problem-detector.yaml
# that fire on it, as (type, condition, reason).
RECORD_IDS = {
    "b4cd1459bf4140c695af9432d3238033": "stuck",
    "bbfca07b105e4dbe9b45054f9af909c9": "cleared",
    "10dbc8dc976747ae9445d14576345c07": "held back (rate limit)",
    "176cef42821a44f49b664d8769c52f27": "kill",
    "840d2535a81d4912bc9b3ea265f0b2bf": "auto-kill budget",
    "f055b0afc3b14d7fab38c936e5f223d3": "orphan budget",
    "2bfea22c16d5495ebe5de59bd6f35e91": "blocks a client",
}


def expected_rules(rec):
    """The rule keys that should fire on a finwatchd record, or None for a
    record this table does not know."""
    stuck = ("permanent", "FinwatchStuckSockets", "SocketStuck")
    mid = rec.get("MESSAGE_ID")
    if mid == "b4cd1459bf4140c695af9432d3238033":
        return {stuck, ("temporary", None, "StuckSocket")}
    if mid == "2bfea22c16d5495ebe5de59bd6f35e91":
        return {("permanent", "FinwatchStuckSockets", "StuckSocketBlocksClient"),
                ("temporary", None, "StuckSocketBlocksClient")}
    if mid == "bbfca07b105e4dbe9b45054f9af909c9":
        return {("temporary", None, "StuckSocketCleared")}
    if mid == "10dbc8dc976747ae9445d14576345c07":
        return {("temporary", None, "StuckSocketAlertsHeldBack")}
    if mid == "176cef42821a44f49b664d8769c52f27":
        result = rec.get("FINWATCH_KILL_RESULT")
        reason = {"killed": "StuckSocketKilled", "dry-run": "StuckSocketWouldBeKilled",
                  "gone": "StuckSocketKillFailed", "failed": "StuckSocketKillFailed"}.get(result)
        return {("temporary", None, reason)} if reason else None
    if mid == "840d2535a81d4912bc9b3ea265f0b2bf":
        return {("temporary", None, "AutoKillBudgetReached")}
    if mid == "f055b0afc3b14d7fab38c936e5f223d3":
        return {("permanent", "FinwatchOrphanBudget", "OrphanBudgetExceeded"),
                ("temporary", None, "OrphanBudgetExceeded")}
    return None


def message_ids_in_source(source):
    """The MESSAGE_IDs finwatchd's code defines (daemon/alert.h, lib/record.h)."""
    ids = set()
    for rel in ("daemon/alert.h", "lib/record.h"):
        with open(os.path.join(source, rel)) as f:
            ids |= set(re.findall(r'#define \w*MESSAGE_ID\w*\s+"([0-9a-f]{32})"', f.read()))
    return ids


def message_ids_in_readme(source):
    with open(os.path.join(source, "README.md")) as f:
        return set(re.findall(r"^\| `([0-9a-f]{32})` \|", f.read(), re.M))


def podman_run_args(manifest, plan, name, image):
    """`podman run` words for the DaemonSet's container, setting by setting:
    host network (and with it the host's UTS namespace, as the kubelet
    does), host PID, uid and gid, capabilities, no_new_privs, a read-only
    root without podman's extra tmpfs mounts, each volume at its mountPath
    (read-only, rslave as the mount says), the command for the entry point
    and the args for its arguments. The cgroup namespace is the runtime's
    default, as the pod spec cannot choose it; seccomp is podman's default
    profile, the RuntimeDefault of this runtime. recursiveReadOnly has no
    podman 4.3 form ("rro" came later): such a volume is read-only at its
    top only, as Kubernetes leaves it with IfPossible where the runtime
    cannot."""
    sc = manifest.security
    words = ["run", "-d", "--name", name]
    if manifest.pod.get("hostNetwork"):
        words += ["--network", "host", "--uts", "host"]
    else:
        words += ["--network", "none"]
    if manifest.pod.get("hostPID"):
        words += ["--pid", "host"]
    uid, gid = manifest.uid()
    words += ["--user", f"{uid}:{gid}"]
    drop = sc.get("capabilities", {}).get("drop", [])
    for cap in (["all"] if "ALL" in drop else drop):
        words += ["--cap-drop", cap.lower()]
    for cap in manifest.caps_added():
        words += ["--cap-add", cap.lower()]
    if manifest.no_new_privs():
        words += ["--security-opt", "no-new-privileges"]
    if sc.get("privileged"):
        words.append("--privileged")
    if sc.get("readOnlyRootFilesystem"):
        words += ["--read-only", "--read-only-tmpfs=false"]
    for mp, kind, src, ro, prop, rro in plan:
        if kind == "emptyDir":
            words += ["--tmpfs", mp + (":ro" if ro else "")]
            continue
        opts = ["ro" if ro else "rw", "rslave" if prop == "HostToContainer" else "rprivate"]
        words += ["-v", f"{src}:{mp}:{','.join(opts)}"]
    words += ["--entrypoint", json.dumps(list(manifest.container["command"])), image,
              *manifest.container.get("args", [])]
    return words
