#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-or-later
"""The shipped alert rules in the real engine, end to end, and the Grafana
dashboard's queries against the same Prometheus.

Debian's node_exporter, Prometheus and Alertmanager run as this test's
children on loopback in its own network namespace (fwtest.enter_private_world);
finwatchd and the stuck sockets in another one, made empty by the fixture
before anything is stuck, so that the whole chain is up and quiet when the
sockets get stuck: finwatchd's textfile -> node_exporter -> Prometheus
(scrape and evaluation every second) -> Alertmanager (group_wait 1 s) -> a
webhook receiver of the test's own (promstack.Webhook).

The shipped rules wait 5 and 10 minutes; the test runs them in their fast
form (promstack.fast_rules: every duration, and every threshold in seconds,
divided by 60: a minute becomes a second; counts stay). With 600 sockets
stuck in FIN_WAIT_1 and 401 in LAST_ACK:
  FinwatchSocketsStuck fires for each state and FinwatchManySocketsStuck
  (more than 1000, as shipped) fires; the test prints the time from the
  sockets getting stuck to the webhook call and where it went;
  finwatch kill of the FIN_WAIT_1 sockets resolves those two (webhook
  status resolved), LAST_ACK stays firing;
  a kill that does not work (fw-nlfault.so ineffective-kill) fires
  FinwatchKillsFailing; failed polls (error-mid-dump) FinwatchPollsFailing;
  finwatchd stopped, its file stays and FinwatchMetricsStale fires;
and no other notification is sent. Every query of contrib/grafana/finwatch.json,
its variables substituted as Grafana would, runs without error and returns
data (the orphan panel excepted where finwatchd cannot see tcp_max_orphans,
i.e. outside the host's network namespace: then it must return none)."""
import datetime
import json
import os
import re
import shutil
import tempfile
import threading
import time

import fwtest
import promstack

EXPORTER_PORT, PROMETHEUS_PORT, ALERTMANAGER_PORT, WEBHOOK_PORT = 19100, 19090, 19093, 19099
PROM = f"http://127.0.0.1:{PROMETHEUS_PORT}"
AM = f"http://127.0.0.1:{ALERTMANAGER_PORT}"
EXPORTER = f"http://127.0.0.1:{EXPORTER_PORT}/metrics"
INSTANCE = f"127.0.0.1:{EXPORTER_PORT}"
# finwatchd's poll, the scrape, the rule evaluation, Alertmanager's
# group_wait and group_interval: every one of them 1 s
TICK = 1
FIN_WAIT_1, LAST_ACK = 600, 401
AGE_OVER = 600 // promstack.FAST  # FinwatchSocketsStuck's threshold, fast form
FOR = 300 // promstack.FAST       # and its for:

PROMETHEUS_CONFIG = f"""
global:
  scrape_interval: {TICK}s
  scrape_timeout: {TICK}s
  evaluation_interval: {TICK}s
rule_files: [finwatch-alerts-fast.yml]
alerting:
  alertmanagers:
    - static_configs: [{{targets: ['127.0.0.1:{ALERTMANAGER_PORT}']}}]
scrape_configs:
  - job_name: node
    static_configs: [{{targets: ['{INSTANCE}']}}]
"""

# one group per alert ('...'): each notification is about one alert
ALERTMANAGER_CONFIG = f"""
route:
  receiver: test
  group_by: ['...']
  group_wait: {TICK}s
  group_interval: {TICK}s
  repeat_interval: 1h
receivers:
  - name: test
    webhook_configs:
      - url: http://127.0.0.1:{WEBHOOK_PORT}/
        send_resolved: true
"""


def rfc3339(s):
    """Seconds since the epoch from the APIs' times (nanoseconds and all)."""
    m = re.match(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?(Z|[+-]\d\d:\d\d)$", s)
    zone = "+00:00" if m.group(3) == "Z" else m.group(3)
    return datetime.datetime.fromisoformat(m.group(1) + zone).timestamp() + float(m.group(2) or 0)


def query(expr, **params):
    """The result of a Prometheus query (instant, or range with start=...),
    or the error as a string."""
    path = "/api/v1/query_range" if "start" in params else "/api/v1/query"
    r = promstack.api(PROM, path, query=expr, **params)
    if not r or r.get("status") != "success":
        return f"error: {r and r.get('error')}"
    return r["data"]["result"]


def value(expr):
    r = query(expr)
    return float(r[0]["value"][1]) if isinstance(r, list) and len(r) == 1 else None


class Stack:
    """What the test started, stopped by PID in reverse order."""

    def __init__(self):
        self.servers = []
        self.hook = None

    def stop(self):
        for s in reversed(self.servers):
            s.stop()
        if self.hook:
            self.hook.close()


class Timeline(threading.Thread):
    """Watches each stage of the chain every 0.1 s and keeps the first time
    (time.time()) the FIN_WAIT_1 sockets were seen there."""

    def __init__(self, textfile):
        super().__init__(daemon=True)
        self.textfile = textfile
        self.first = {}
        self.running = True

    def mark(self, name, at=None):
        self.first.setdefault(name, at if at is not None else time.time())

    def run(self):
        while self.running:
            try:
                with open(self.textfile) as f:
                    text = f.read()
            except OSError:
                text = ""
            if (promstack.series(text, "finwatch_stuck_sockets", state="FIN_WAIT_1") or 0) > 0:
                self.mark("textfile")
            if (promstack.series(text, "finwatch_oldest_stuck_seconds", state="FIN_WAIT_1") or 0) > AGE_OVER:
                self.mark("textfile over")
            scrape = promstack.http_get(EXPORTER, 2)
            if (promstack.series(scrape, "finwatch_oldest_stuck_seconds", state="FIN_WAIT_1") or 0) > AGE_OVER:
                self.mark("node_exporter over")
            for a in (promstack.api(PROM, "/api/v1/alerts") or {}).get("data", {}).get("alerts", []):
                if a["labels"].get("alertname") == "FinwatchSocketsStuck" and a["labels"].get("state") == "FIN_WAIT_1":
                    self.mark("pending", rfc3339(a["activeAt"]))
                    if a["state"] == "firing":
                        self.mark("firing")
            for a in promstack.api(AM, "/api/v2/alerts") or []:
                if a["labels"].get("alertname") == "FinwatchSocketsStuck" and a["labels"].get("state") == "FIN_WAIT_1":
                    self.mark("alertmanager")
            time.sleep(0.1)

    def stop(self):
        self.running = False
        self.join()


def notified(hook, status, alertname, **labels):
    """The first time the webhook got this alert with this status, or None."""
    for at, st, l in hook.alerts():
        if st == status and l.get("alertname") == alertname and all(l.get(k) == v for k, v in labels.items()):
            return at
    return None


def wait_notified(hook, status, alertname, timeout, **labels):
    return fwtest.wait_for(lambda: notified(hook, status, alertname, **labels), timeout, 0.05)


def start_stack(t, a, tools, work, textdir):
    st = Stack()
    with open(a.rules) as f:
        fast, changes = promstack.fast_rules(f.read())
    with open(os.path.join(work, "finwatch-alerts-fast.yml"), "w") as f:
        f.write(fast)
    print("the shipped rules in their fast form (promstack.fast_rules, every minute a second):")
    for before, after in changes:
        print(f"  {before}\n    -> {after}")
    t.eq(len(changes), 6, "fast_rules changed 2 for:, 2 ranges and 2 thresholds in seconds")
    st.hook = promstack.Webhook(WEBHOOK_PORT)
    st.servers.append(promstack.node_exporter(tools["node_exporter"], EXPORTER_PORT, textdir, work))
    st.servers.append(promstack.alertmanager(tools["alertmanager"], ALERTMANAGER_PORT, work, ALERTMANAGER_CONFIG))
    st.servers.append(promstack.prometheus(tools["prometheus"], PROMETHEUS_PORT, work, PROMETHEUS_CONFIG))
    return st


def wait_stack_ready(st):
    for s in st.servers:
        s.wait_ready()

    def ready():
        am = promstack.api(PROM, "/api/v1/alertmanagers") or {}
        rules = promstack.api(PROM, "/api/v1/rules") or {}
        n_rules = sum(len(g["rules"]) for g in rules.get("data", {}).get("groups", []))
        return (am.get("data", {}).get("activeAlertmanagers") and n_rules == 5
                and value(f'finwatch_polls_total{{instance="{INSTANCE}"}}') is not None)
    # Prometheus hands its discovered Alertmanagers over every 5 s
    if not fwtest.wait_for(ready, 30, 0.1):
        raise RuntimeError("Prometheus did not scrape finwatchd's metrics, load the rules and find Alertmanager: "
                           + st.servers[-1].tail())


def substitute(expr, instance, start, end):
    """A dashboard query as Grafana sends it: $__rate_interval is
    max($__interval + scrape interval, 4 scrape intervals) = 4 s here."""
    subs = {"__rate_interval": f"{4 * TICK}s", "__interval": f"{TICK}s", "__range": f"{int(end - start)}s",
            "instance": instance}
    out = re.sub(r"\$\{(\w+)\}|\$(\w+)", lambda m: subs.get(m.group(1) or m.group(2), m.group(0)), expr)
    return out, re.findall(r"\$\{?\w+", out)


def panels_of(panels):
    for p in panels:
        yield p
        yield from panels_of(p.get("panels", []))


def dashboard(t, path, start, end, orphans_visible):
    """Every panel query of the dashboard, for one host and for All."""
    with open(path) as f:
        dash = json.load(f)
    variables = {v["name"]: v for v in dash.get("templating", {}).get("list", [])}
    ds = variables.get("datasource", {})
    t.check(ds.get("type") == "datasource" and ds.get("query") == "prometheus",
            "the dashboard has a Prometheus data source variable")
    inst = variables.get("instance", {})
    q = inst.get("query")
    q = q.get("query") if isinstance(q, dict) else q
    m = re.fullmatch(r"label_values\((\w+), *instance\)", q or "")
    t.check(inst.get("type") == "query" and m, f"the dashboard has an instance variable from label_values: {q!r}")
    if m:
        values = promstack.api(PROM, "/api/v1/label/instance/values", **{"match[]": m.group(1)}) or {}
        t.eq(values.get("data"), [INSTANCE], f"the instance variable's query ({q}) finds the host")
    instances = [INSTANCE, inst.get("allValue") or ".+"]

    count = 0
    for p in panels_of(dash.get("panels", [])):
        if p.get("type") == "row":
            continue
        t.eq(p.get("datasource"), {"type": "prometheus", "uid": "${datasource}"},
             f"panel {p.get('title')!r} uses the data source variable")
        t.check(p.get("targets"), f"panel {p.get('title')!r} has queries")
        for tgt in p.get("targets", []):
            t.eq(tgt.get("datasource"), p.get("datasource"), f"{p.get('title')!r} {tgt.get('refId')}: data source")
            for instance in instances:
                expr, unknown = substitute(tgt.get("expr", ""), instance, start, end)
                t.eq(unknown, [], f"{p.get('title')!r} {tgt.get('refId')}: every variable known")
                if tgt.get("instant"):
                    r = query(expr, time=end)
                else:
                    r = query(expr, start=start, end=end, step=TICK)
                count += 1
                what = f"panel {p.get('title')!r} {tgt.get('refId')} ({instance}): {expr}"
                if not isinstance(r, list):
                    t.check(False, f"{what}: {r}")
                    continue
                n = len(r)
                has = any(v[1] != "NaN" for s in r for v in (s.get("values") or [s.get("value")]))
                if "finwatch_orphans" in expr and not orphans_visible:
                    t.eq(n, 0, f"{what}: no data where tcp_max_orphans cannot be seen")
                    print(f"  no data, as it must be here (no tcp_max_orphans in this namespace): {what}")
                    continue
                t.check(n > 0 and has, f"{what}: returns data ({n} series)")
                print(f"  {n} series: {what}")
    print(f"dashboard: {count} queries run")
    t.check(count > 0, "the dashboard has queries")


def scenario(t, a, st, d, home, work, textfile, fault):
    sock = os.path.join(work, "control")
    hook = st.hook
    begin = time.time()
    t.eq(hook.calls, [], "no notification while nothing is stuck")
    t.eq((promstack.api(PROM, "/api/v1/alerts") or {}).get("data", {}).get("alerts"), [],
         "no alert pending or firing while nothing is stuck")

    timeline = Timeline(textfile)
    timeline.start()
    makes = [f"lost-fin:fin-wait-1:orphan:4:{FIN_WAIT_1}", f"lost-fin:last-ack:orphan:4:{LAST_ACK}"]
    started = time.time()
    with fwtest.Fixture(a.fixture, makes, extra=["--quiet"], unshare=False,
                        prefix=("nsenter", f"--net=/proc/{home.pid}/ns/net")):
        stuck = time.time()
        print(f"{FIN_WAIT_1 + LAST_ACK} sockets stuck between {started:.3f} and {stuck:.3f} "
              f"({stuck - started:.3f} s, fw-stuck start to READY)")
        fired = wait_notified(hook, "firing", "FinwatchSocketsStuck", 60, state="FIN_WAIT_1")
        t.check(fired, "FinwatchSocketsStuck FIN_WAIT_1 reached the webhook")
        t.check(wait_notified(hook, "firing", "FinwatchSocketsStuck", 10, state="LAST_ACK"),
                "FinwatchSocketsStuck LAST_ACK reached the webhook")
        many = notified(hook, "firing", "FinwatchManySocketsStuck", instance=INSTANCE)
        t.check(many, "FinwatchManySocketsStuck (1001 > 1000, as shipped) reached the webhook")
        timeline.stop()
        report_delay(t, timeline, stuck, started, fired, many)

        # the chain carried the right numbers
        with open(textfile) as f:
            text = f.read()
        scrape = promstack.http_get(EXPORTER)
        for state, n in (("FIN_WAIT_1", FIN_WAIT_1), ("LAST_ACK", LAST_ACK)):
            t.eq(promstack.series(text, "finwatch_stuck_sockets", state=state), float(n), f"textfile: {state}")
            t.eq(promstack.series(scrape, "finwatch_stuck_sockets", state=state), float(n), f"node_exporter: {state}")
            t.eq(value(f'finwatch_stuck_sockets{{state="{state}"}}'), float(n), f"Prometheus: {state}")
        am = [x["labels"] for x in promstack.api(AM, "/api/v2/alerts") or [] if x["status"]["state"] == "active"]
        t.eq(sorted((x["alertname"], x.get("state", "")) for x in am),
             [("FinwatchManySocketsStuck", ""), ("FinwatchSocketsStuck", "FIN_WAIT_1"),
              ("FinwatchSocketsStuck", "LAST_ACK")], "Alertmanager holds the three alerts, active")

        # finwatch kill of the FIN_WAIT_1 sockets: those alerts resolve
        killed = time.time()
        r = home.run(a.finwatch, "--socket", sock, "kill", "--state", "fin-wait-1", "--yes")
        t.eq(r.returncode, 0, f"finwatch kill --state fin-wait-1 ({r.stderr.strip()})")
        t.eq([s for s in fwtest.ss_sockets(home) if s[0] == "FIN_WAIT_1"], [], "no FIN_WAIT_1 socket left (ss)")
        resolved = wait_notified(hook, "resolved", "FinwatchSocketsStuck", 30, state="FIN_WAIT_1")
        t.check(resolved, "after finwatch kill, FinwatchSocketsStuck FIN_WAIT_1 is resolved at the webhook")
        t.check(wait_notified(hook, "resolved", "FinwatchManySocketsStuck", 10),
                "and FinwatchManySocketsStuck (401 left)")
        if resolved:
            print(f"finwatch kill to the webhook's resolved: {resolved - killed:.2f} s")
        am = [x["labels"] for x in promstack.api(AM, "/api/v2/alerts") or [] if x["status"]["state"] == "active"]
        t.eq([(x["alertname"], x.get("state")) for x in am], [("FinwatchSocketsStuck", "LAST_ACK")],
             "Alertmanager: LAST_ACK still active, the rest resolved")

        # a kill that does not work: SOCK_DESTROY acknowledged, the sockets stay
        set_fault(fault, "ineffective-kill")
        failed = time.time()
        r = home.run(a.finwatch, "--socket", sock, "kill", "--state", "last-ack", "--yes")
        set_fault(fault, "none")
        t.eq(r.returncode, 1, "an ineffective kill fails")
        at = wait_notified(hook, "firing", "FinwatchKillsFailing", 30, result="failed")
        t.check(at, "FinwatchKillsFailing reached the webhook")
        if at:
            print(f"failed kill to the webhook: {at - failed:.2f} s")

        # polls that fail (a dump that ends in an error), three in a row
        def poll_errors():
            with open(textfile) as f:
                return re.findall(r'^finwatch_poll_errors_total\{reason="([^"]+)"\} (\S+)$', f.read(), re.M)

        def poll_failures():
            with open(textfile) as f:
                m = re.search(r'^finwatch_poll_failures_total (\S+)$', f.read(), re.M)
            return float(m.group(1)) if m else None
        before = poll_failures()
        t.check(before is not None and not poll_errors(),
                f"the failure total is in the textfile before any failure ({before}), no reason yet")
        set_fault(fault, "error-mid-dump")
        failing = time.time()
        t.check(fwtest.wait_for(lambda: (poll_failures() or 0) >= (before or 0) + 3, 20),
                "three failed polls in the textfile")
        set_fault(fault, "none")
        reasons = [r for r, _ in poll_errors()]
        t.eq(len(reasons), 1, f"one reason: {reasons}")
        with open(textfile) as f:
            text = f.read()
        total = re.search(r'^finwatch_poll_failures_total (\S+)$', text, re.M)
        t.eq(sum(float(n) for n in re.findall(r'^finwatch_poll_errors_total\{[^}]*\} (\S+)$', text, re.M)),
             total and float(total.group(1)), "the reasons add up to the total")
        at = wait_notified(hook, "firing", "FinwatchPollsFailing", 30)
        t.check(at, f"FinwatchPollsFailing ({reasons}) reached the webhook")
        if at:
            print(f"first failed poll to the webhook: {at - failing:.2f} s")

        # the dashboard, on everything the test has seen so far
        orphans_visible = home.run("test", "-e", "/proc/sys/net/ipv4/tcp_max_orphans").returncode == 0
        with open(textfile) as f:
            t.eq("finwatch_max_orphans " in f.read(), orphans_visible,
                 "finwatchd writes the orphan metrics exactly where tcp_max_orphans is visible")
        dashboard(t, a.dashboard, begin, time.time(), orphans_visible)

        # finwatchd stops; its file stays, unchanged: stale
        stopped = time.time()
        t.eq(d.stop(), 0, "finwatchd exits cleanly")
        at = wait_notified(hook, "firing", "FinwatchMetricsStale", 30, file=textfile)
        t.check(at, f"FinwatchMetricsStale for {textfile} (node_exporter's file label) reached the webhook")
        if at:
            print(f"finwatchd stopped to the webhook: {at - stopped:.2f} s "
                  f"(the fast threshold is {300 // promstack.FAST} s)")

    # nothing else: every notification is one of these; LAST_ACK and the
    # stale metrics never resolved (still true), the failure alerts may
    # have resolved once their 15 s window passed
    want = {("firing", "FinwatchSocketsStuck", "FIN_WAIT_1"), ("firing", "FinwatchSocketsStuck", "LAST_ACK"),
            ("firing", "FinwatchManySocketsStuck", None), ("resolved", "FinwatchSocketsStuck", "FIN_WAIT_1"),
            ("resolved", "FinwatchManySocketsStuck", None), ("firing", "FinwatchKillsFailing", None),
            ("firing", "FinwatchPollsFailing", None), ("firing", "FinwatchMetricsStale", None)}
    may = {("resolved", "FinwatchKillsFailing", None), ("resolved", "FinwatchPollsFailing", None)}
    got = [(st_, l["alertname"], l.get("state")) for _, st_, l in hook.alerts()]
    t.eq(set(got) - may, want, "the webhook got exactly these notifications")
    t.eq(len(got), len(set(got)), f"each once: {sorted(got)}")
    t.check(all(l.get("instance") == INSTANCE for _, _, l in hook.alerts()), "every alert names the host")


def report_delay(t, tl, stuck, started, fired, many):
    """The time from the sockets getting stuck to the webhook, by stage."""
    samples = query(f'finwatch_oldest_stuck_seconds{{state="FIN_WAIT_1"}}[5m]')
    over = [float(ts) for s in (samples if isinstance(samples, list) else []) for ts, v in s["values"]
            if float(v) > AGE_OVER]
    if over:
        tl.mark("scraped over", min(over))
    stages = [
        ("textfile", "finwatchd's textfile has the sockets", "poll interval 1 s"),
        ("textfile over", f"textfile: oldest age over {AGE_OVER} s", f"rule threshold {AGE_OVER} s"),
        ("node_exporter over", "node_exporter serves it", "on the next read"),
        ("scraped over", "Prometheus scraped it (the sample's time, exact)", "scrape interval 1 s"),
        ("pending", "rule pending (activeAt, exact)", "evaluation interval 1 s"),
        ("firing", "rule firing (/api/v1/alerts)", f"for: {FOR} s"),
        ("alertmanager", "Alertmanager has it (/api/v2/alerts)", "sent at once"),
    ]
    print(f"from the sockets stuck (fw-stuck READY; it started {stuck - started:.2f} s before) to the webhook, "
          "each stage's first time, seen every 0.1 s unless exact:")
    for key, what, why in stages:
        at = tl.first.get(key)
        print(f"  {'+%6.2f s' % (at - stuck) if at else '    never'}  {what}  ({why})")
    if fired:
        print(f"  +{fired - stuck:6.2f} s  webhook called: FinwatchSocketsStuck FIN_WAIT_1  (group_wait {TICK} s)")
        print(f"stuck to webhook: {fired - stuck:.2f} s (from fw-stuck's start {fired - started:.2f} s); "
              f"the rule's own wait is {AGE_OVER + FOR} s ({AGE_OVER} s threshold + {FOR} s for:), "
              f"the chain adds {fired - stuck - AGE_OVER - FOR:.2f} s")
        t.check(AGE_OVER + FOR <= fired - started and fired - stuck < AGE_OVER + FOR + 6 * TICK + 2,
                f"the webhook came {fired - stuck:.2f} s after the sockets got stuck: "
                f"no sooner than the rule allows, no later than its ticks explain")
    if many:
        print(f"stuck to webhook, FinwatchManySocketsStuck (for: {600 // promstack.FAST} s): {many - stuck:.2f} s")


def set_fault(path, name):
    with open(path + ".tmp", "w") as f:
        f.write(name + "\n")
    os.rename(path + ".tmp", path)


def main():
    a = fwtest.parse_args("nlfault", "rules", "dashboard")
    fwtest.require_root_netns()
    tools = {"node_exporter": promstack.find(promstack.NODE_EXPORTER), "prometheus": promstack.find(promstack.PROMETHEUS),
             "alertmanager": promstack.find(promstack.ALERTMANAGER)}
    if not all(tools.values()):
        fwtest.skip_or_fail("prometheus, prometheus-alertmanager and prometheus-node-exporter are needed: "
                            f"{tools}")
    fwtest.enter_private_world()  # the monitoring stack's network namespace: the test's own

    t = fwtest.Failures("test_alerting")
    wall = time.monotonic()
    work = tempfile.mkdtemp(prefix="finwatch-alerting-")
    os.chmod(work, 0o755)
    textdir = os.path.join(work, "textfile")
    os.makedirs(textdir)
    textfile = os.path.join(textdir, "finwatch.prom")
    fault = os.path.join(work, "fault")
    set_fault(fault, "none")
    conf = os.path.join(work, "finwatch.conf")
    with open(conf, "w") as f:
        f.write(f"[monitor]\ninterval = {TICK}s\n[alert]\nafter = 1s\n[metrics]\ntextfile = {textfile}\n"
                f"[daemon]\nstate_file =\ncontrol_socket = {work}/control\n")
    asan = os.environ.get("ASAN_OPTIONS", "")
    prefix = ["env", f"LD_PRELOAD={a.nlfault}", f"FWFAULT_FILE={fault}",
              # the module comes before the ASan runtime in a sanitized build
              f"ASAN_OPTIONS={asan + ':' if asan else ''}verify_asan_link_order=0"]
    st = None
    try:
        # finwatchd's namespace: empty until the sockets are made in it
        with fwtest.Fixture(a.fixture, []) as home:
            d = fwtest.Daemon(a.finwatchd, conf, home, work, prefix=prefix)
            try:
                st = start_stack(t, a, tools, work, textdir)
                wait_stack_ready(st)
                print(f"stack ready {time.monotonic() - wall:.1f} s after the test started")
                scenario(t, a, st, d, home, work, textfile, fault)
            finally:
                if st:
                    st.stop()
                if d.alive():
                    d.stop()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"test_alerting: {time.monotonic() - wall:.1f} s")
    t.done()


if __name__ == "__main__":
    main()
