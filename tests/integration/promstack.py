# SPDX-License-Identifier: GPL-2.0-or-later
"""Debian's node_exporter, Prometheus and Alertmanager as a test's own
children, on loopback in the test's own network namespace (the caller has
run fwtest.enter_private_world), each with its files in the test's work
directory, stopped by PID. Also: reading a scrape, the HTTP APIs, a webhook
receiver of the test's own, and the fast form of the shipped alert rules.

Never the packages' systemd units, never the host's network."""
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

import fwtest

NODE_EXPORTER = ("prometheus-node-exporter", "node_exporter")
PROMETHEUS = ("prometheus",)
ALERTMANAGER = ("prometheus-alertmanager", "alertmanager")


def find(names):
    for name in names:
        if shutil.which(name):
            return shutil.which(name)
    return None


def http_get(url, timeout=5):
    """The body of a GET as text, or None if it failed."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()
    except (OSError, urllib.error.URLError):
        return None


def api(base, path, **params):
    """A Prometheus or Alertmanager API answer as JSON, or None."""
    query = "?" + urllib.parse.urlencode(params) if params else ""
    text = http_get(base + path + query)
    return json.loads(text) if text else None


def series(text, name, **labels):
    """The value of one series in a scrape or textfile, or None."""
    want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
    for line in (text or "").splitlines():
        m = re.match(r"^([a-z_]+)(\{([^}]*)\})? (\S+)$", line)
        if not m or m.group(1) != name:
            continue
        got = ",".join(sorted((m.group(3) or "").split(","))) if m.group(3) else ""
        if got == want:
            return float(m.group(4))
    return None


class Server:
    """One daemon, a child of the test, its output in a log file; ready
    when ready_url answers."""

    def __init__(self, name, argv, work, ready_url):
        self.name = name
        self.ready_url = ready_url
        self.logpath = os.path.join(work, f"{name}.log")
        self.log = open(self.logpath, "w")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=subprocess.STDOUT, cwd=work)
        self.pid = self.proc.pid

    def wait_ready(self, timeout=30):
        ok = fwtest.wait_for(lambda: self.proc.poll() is not None or http_get(self.ready_url, 2) is not None,
                             timeout, 0.05)
        if not ok or self.proc.poll() is not None:
            raise RuntimeError(f"{self.name} did not start: {self.tail()}")

    def tail(self, n=3000):
        with open(self.logpath, errors="replace") as f:
            return f.read()[-n:]

    def stop(self):
        code = fwtest.stop_process(self.proc)
        self.log.close()
        return code


def node_exporter(binary, port, textdir, work):
    """Its textfile collector only, reading textdir."""
    return Server("node_exporter", [binary, f"--web.listen-address=127.0.0.1:{port}", "--collector.disable-defaults",
                                    "--collector.textfile", f"--collector.textfile.directory={textdir}"],
                  work, f"http://127.0.0.1:{port}/metrics")


def prometheus(binary, port, work, config):
    path = os.path.join(work, "prometheus.yml")
    with open(path, "w") as f:
        f.write(config)
    return Server("prometheus", [binary, f"--config.file={path}", f"--storage.tsdb.path={work}/prometheus-data",
                                 f"--web.listen-address=127.0.0.1:{port}"],
                  work, f"http://127.0.0.1:{port}/-/ready")


def alertmanager(binary, port, work, config):
    """Alone: no cluster (its gossip port stays closed)."""
    path = os.path.join(work, "alertmanager.yml")
    with open(path, "w") as f:
        f.write(config)
    return Server("alertmanager", [binary, f"--config.file={path}", f"--storage.path={work}/alertmanager-data",
                                   f"--web.listen-address=127.0.0.1:{port}", "--cluster.listen-address="],
                  work, f"http://127.0.0.1:{port}/-/ready")


class Webhook:
    """An HTTP server of the test's own on 127.0.0.1:port, for Alertmanager's
    webhook_configs: every POST is kept as (time.time(), decoded JSON)."""

    def __init__(self, port):
        self.calls = []
        calls = self.calls

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                at = time.time()
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                calls.append((at, json.loads(body)))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def alerts(self):
        """(time, status, labels) of each alert in each notification."""
        return [(at, a["status"], a["labels"]) for at, p in list(self.calls) for a in p["alerts"]]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


# The shipped rules wait minutes; a test has seconds. FAST divides every
# duration in them by 60, so a minute becomes a second: "for: 5m" becomes
# "for: 5s", a range "[15m]" becomes "[15s]", and a threshold compared with
# a value in seconds (a metric named *_seconds) is divided alike: "> 600"
# (10 minutes) becomes "> 10", "> 300" becomes "> 5". Counts ("> 1000",
# "> 0") stay as shipped.
FAST = 60


def fast_rules(text):
    """The rules with FAST applied, and the changes made, as (before, after)
    lines. Every duration must be whole minutes; anything else raises."""
    out, changes = [], []
    for line in text.splitlines():
        new = re.sub(r"^(\s*for: )(\d+)m$", lambda m: f"{m.group(1)}{int(m.group(2)) * 60 // FAST}s", line)
        new = re.sub(r"\[(\d+)m\]", lambda m: f"[{int(m.group(1)) * 60 // FAST}s]", new)
        new = re.sub(r"^(\s*expr: .*_seconds\b.* > )(\d+)$", lambda m: f"{m.group(1)}{int(m.group(2)) // FAST}", new)
        if re.search(r"^\s*for: |\[\d+[a-z]+\]", new) and not re.search(r"^\s*for: \d+s$|\[\d+s\]", new):
            raise ValueError(f"a duration FAST does not know: {line.strip()}")
        if new != line:
            changes.append((line.strip(), new.strip()))
        out.append(new)
    return "\n".join(out) + "\n", changes
