# SPDX-License-Identifier: GPL-2.0-or-later
"""Shared helpers for the integration tests: root and namespace checks, the
stuck-socket fixture in a private network namespace, ss as an oracle, and a
small check collector.

Every test runs the fixture with --unshare: it makes its own network
namespace, and the namespace (with every socket and nft rule in it) ends
with the fixture process, which these helpers stop by PID in every case.
"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time

SKIP = 77


# Daemons that exited badly (under FINWATCH_DAEMON_WRAPPER, valgrind's error
# exit code among them): every test that started one fails on them.
DAEMON_PROBLEMS = []


class Failures:
    def __init__(self, name):
        self.name = name
        self.count = 0

    def check(self, cond, what):
        if not cond:
            self.count += 1
            print(f"FAIL: {what}", file=sys.stderr, flush=True)
        return cond

    def eq(self, got, want, what):
        return self.check(got == want, f"{what}: got {got!r}, want {want!r}")

    def done(self):
        for problem in DAEMON_PROBLEMS:
            self.check(False, problem)
        if self.count:
            print(f"{self.name}: {self.count} check(s) failed", file=sys.stderr)
            sys.exit(1)
        print(f"{self.name}: all checks passed")
        sys.exit(0)


def parse_args(*extra):
    """The arguments every root test gets (--finwatch, --finwatchd,
    --fixture) and the ones it names in extra, as absolute paths."""
    import argparse

    ap = argparse.ArgumentParser()
    names = ["finwatch", "finwatchd", "fixture", *extra]
    for name in names:
        ap.add_argument("--" + name.replace("_", "-"), required=True)
    a = ap.parse_args()
    for name in names:
        setattr(a, name, os.path.abspath(getattr(a, name)))
    return a


def skip_or_fail(reason):
    """Outside CI a test that cannot run here is skipped (exit 77); in CI
    (CI=true) it fails, so a green run always means the kernel tests ran."""
    if os.environ.get("CI") == "true":
        print(f"cannot run in CI: {reason}", file=sys.stderr)
        sys.exit(1)
    print(f"skipped: {reason}")
    sys.exit(SKIP)


def require_root_netns():
    if os.geteuid() != 0:
        skip_or_fail("needs root (network namespaces, nftables)")
    for tool in ("nsenter", "unshare", "ss", "nft"):
        if not shutil.which(tool):
            skip_or_fail(f"{tool} not installed")
    r = subprocess.run(["unshare", "--net", "true"], capture_output=True)
    if r.returncode != 0:
        skip_or_fail("cannot create a network namespace: " + r.stderr.decode().strip())


def enter_private_world():
    """Run the rest of this test in a world of its own: a PID namespace with
    its own /proc, a network namespace, and a tmpfs on /run (so /run/netns is
    ours), made by re-running the test under unshare. What `--netns all` or
    `netns = all` then reaches is only what the test made, never another
    process's namespace on this machine. Returns in the new world; exits
    with the test's status in the old one."""
    if os.environ.get("FINWATCH_PRIVATE_WORLD") == "1":
        return
    setup = 'mount -t tmpfs tmpfs /run && mkdir /run/netns && ip link set lo up && exec "$@"'
    env = dict(os.environ, FINWATCH_PRIVATE_WORLD="1")
    proc = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "--pid", "--fork", "--mount-proc",
                             "--net", "sh", "-c", setup, "sh", sys.executable, *sys.argv], env=env)
    try:
        code = proc.wait()
    except BaseException:
        stop_process(proc)  # its PID namespace, and all in it, ends with it
        raise
    sys.exit(code if code >= 0 else 1)


def _raise_on_term(signum, frame):
    # meson's timeout sends SIGTERM: unwind so that fixtures are stopped.
    raise SystemExit(f"terminated by signal {signum}")


signal.signal(signal.SIGTERM, _raise_on_term)


def stop_process(proc, timeout=10):
    """End a process this test started: SIGTERM, then SIGKILL; its exit status."""
    if proc and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode if proc else None


class Fixture:
    """fw-stuck in its own network namespace; use as a context manager.
    unshare=False: in the caller's, which must be private already (the VM
    suite's guest); prefix: words before it (ip netns exec NAME)."""

    def __init__(self, binary, makes, established=0, extra=(), timeout=60, unshare=True, prefix=()):
        args = [*prefix, binary, "--unshare" if unshare else "--i-am-in-a-private-netns"]
        for m in makes:
            args += ["--make", m]
        if established:
            args += ["--established", str(established)]
        args += list(extra)
        self.args = args
        self.timeout = timeout
        self.proc = None
        self.manifest = []
        self.pid = None

    def __enter__(self):
        self.proc = subprocess.Popen(self.args, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self._wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def _wait_ready(self):
        # Read the raw pipe: a buffered reader would hide lines from select().
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + self.timeout
        pending = b""
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError("fixture not ready in time")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                err = self.proc.stderr.read()
                raise RuntimeError(f"fixture exited early ({self.proc.wait()}): {err.decode().strip()}")
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                line = line.decode().strip()
                if line.startswith("READY"):
                    self.pid = self.proc.pid
                    return
                if line:
                    self.manifest.append(json.loads(line))

    def stop(self):
        stop_process(self.proc)

    def run(self, *cmd, check=False, timeout=60, **kw):
        """Run a command inside the fixture's network namespace."""
        return subprocess.run(["nsenter", "-t", str(self.pid), "-n", *cmd], capture_output=True,
                              text=True, timeout=timeout, check=check, **kw)


_MAPPED = re.compile(r"^\[::ffff:(\d+\.\d+\.\d+\.\d+)\]:(\d+)$")


def norm_endpoint(ep):
    """ss prints v4-mapped addresses as [::ffff:a.b.c.d]:p; finwatch as a.b.c.d:p."""
    m = _MAPPED.match(ep)
    return f"{m.group(1)}:{m.group(2)}" if m else ep


def ss_sockets(fx, states=("fin-wait-1", "last-ack")):
    """(STATE, local, peer) for each socket ss sees in the fixture's namespace."""
    cmd = ["ss", "-tanH"]
    for s in states:
        cmd += ["state", s]
    r = fx.run(*cmd, check=True)
    out = set()
    for line in r.stdout.splitlines():
        f = line.split()
        if not f:
            continue
        # with a state filter ss leaves the State column out when there is one state
        if len(f) == 4:
            local, peer = f[2], f[3]
            state = states[0].upper().replace("-", "_")
        else:
            state, local, peer = f[0], f[3], f[4]
            state = {"FIN-WAIT-1": "FIN_WAIT_1", "LAST-ACK": "LAST_ACK", "CLOSING": "CLOSING",
                     "FIN-WAIT-2": "FIN_WAIT_2", "CLOSE-WAIT": "CLOSE_WAIT"}.get(state, state)
        out.add((state, norm_endpoint(local), norm_endpoint(peer)))
    return out


def wait_for(fn, timeout=20.0, interval=0.2):
    """Call fn until it returns a true value or the time is up; return the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def find_journald():
    for p in ("/lib/systemd/systemd-journald", "/usr/lib/systemd/systemd-journald"):
        if os.access(p, os.X_OK):
            return p
    return None


class Journal:
    """A real systemd-journald of the test's own, alone in a private mount
    namespace with tmpfs on /run (and on /var/log/journal if the host has
    one), so nothing reaches the host's journal. Never systemd as PID 1.
    Processes that should log to it run in its mount namespace (nsenter -m)."""

    SETUP = ("set -e; mount -t tmpfs tmpfs /run; "
             "if [ -d /var/log/journal ]; then mount -t tmpfs tmpfs /var/log/journal; fi; "
             "mkdir -p /run/systemd/journal; exec {journald}")

    def __init__(self):
        self.proc = None
        self.pid = None

    def __enter__(self):
        journald = find_journald()
        if not journald:
            raise RuntimeError("systemd-journald not found")
        self.proc = subprocess.Popen(
            ["unshare", "--mount", "--propagation", "private", "sh", "-c", self.SETUP.format(journald=journald)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.pid = self.proc.pid
        ok = wait_for(lambda: subprocess.run(
            ["nsenter", "-t", str(self.pid), "-m", "test", "-S", "/run/systemd/journal/socket"]).returncode == 0
            or self.proc.poll() is not None, timeout=20)
        if not ok or self.proc.poll() is not None:
            self.stop()
            raise RuntimeError("journald did not start")
        return self

    def __exit__(self, *exc):
        self.stop()
        return False

    def stop(self):
        stop_process(self.proc)

    def mount_ns(self):
        return f"/proc/{self.pid}/ns/mnt"

    def records(self, *matches):
        """Records as dicts (journalctl -o json), e.g. records("_PID=123")."""
        r = subprocess.run(["nsenter", "-t", str(self.pid), "-m", "journalctl", "--no-pager", "-o", "json",
                            *matches], capture_output=True, text=True, timeout=60)
        return [json.loads(line) for line in r.stdout.splitlines() if line.strip()]


class Listener:
    """A socket of the test's own at path, served by a thread that calls
    self.step() over and over until close(); the socket has a 0.2 s timeout,
    so step() returns at least that often. SOCK_SEQPACKET listens (a fake
    control socket), SOCK_DGRAM only binds."""

    def __init__(self, path, kind):
        import socket
        import threading
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, kind)
        self.sock.bind(path)
        if kind != socket.SOCK_DGRAM:
            self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.running = True
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while self.running:
            try:
                self.step()
            except OSError:
                continue

    def close(self):
        self.running = False
        self.thread.join()
        self.sock.close()


class NotifyListener(Listener):
    """A NOTIFY_SOCKET of the test's own: collects sd_notify() datagrams."""

    def __init__(self, path):
        import socket
        self.messages = []
        super().__init__(path, socket.SOCK_DGRAM)

    def step(self):
        data = self.sock.recv(4096)
        for line in data.decode(errors="replace").splitlines():
            self.messages.append((time.monotonic(), line))

    def seen(self, prefix):
        return [m for _, m in list(self.messages) if m.startswith(prefix)]


class Daemon:
    """finwatchd in the fixture's network namespace and, if given, the test
    journald's mount namespace (else one of its own with an empty /run,
    unless fresh_run is False: a caller whose /run is its own already);
    stopped by PID."""

    count = 0

    def __init__(self, binary, conf, fx, workdir, journal=None, notify=None, prefix=(), watchdog_usec=1000000,
                 fresh_run=True):
        Daemon.count += 1
        self.errpath = os.path.join(workdir, f"finwatchd-{Daemon.count}.err")
        self.err = open(self.errpath, "w")
        # fx None: the host's network namespace
        cmd = ["nsenter", f"--net=/proc/{fx.pid}/ns/net" if fx else "--net=/proc/self/ns/net"]
        if journal:
            cmd.append(f"--mount={journal.mount_ns()}")
        elif fresh_run:
            # no journald: a mount namespace of its own with an empty /run
            cmd = ["unshare", "--mount", "--propagation", "private", *cmd[:1], cmd[1], "--", "sh", "-c",
                   'mount -t tmpfs tmpfs /run && exec "$@"', "sh"]
        # e.g. valgrind (meson test --setup valgrind): the daemon runs under it
        # prefix: words before it all, e.g. env LD_PRELOAD=... (test_faults)
        wrapper = [*prefix, *os.environ.get("FINWATCH_DAEMON_WRAPPER", "").split()]
        daemon = [*wrapper, binary, "--config", conf]
        cmd += daemon if fresh_run and not journal else ["--", *daemon]
        env = dict(os.environ, WATCHDOG_USEC=str(watchdog_usec))
        env.pop("NOTIFY_SOCKET", None)
        if notify:
            env["NOTIFY_SOCKET"] = notify.path
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=self.err, env=env)
        self.pid = self.proc.pid

    def stderr(self):
        with open(self.errpath) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def signal(self, sig):
        self.proc.send_signal(sig)

    def stop(self):
        code = stop_process(self.proc, 60)
        self.err.close()
        if code != 0:
            DAEMON_PROBLEMS.append(f"finwatchd exited with {code}: {self.stderr()[-2000:]}")
        return code
