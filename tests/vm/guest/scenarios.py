# SPDX-License-Identifier: GPL-2.0-or-later
"""The VM suite's scenarios: finwatch as a user installs it, under the
guest's real systemd 252 and the unit as shipped, on Debian 12's own 6.1
kernel. They run in this order in one boot. The package scenario comes
first, on a guest without finwatch, and leaves it without (purged; the
finwatch user stays, as Debian leaves it); install puts the meson build in
and every scenario after it starts from the service running with the FAST
config (install leaves it so) and leaves it so."""
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import time

from vmtest import (CONF, FAST, MSG_KILL, MSG_ORPHANS, MSG_STUCK, PAYLOAD, UNIT, Fixture, cursor,
                    finwatch_json, is_active, journal_has, main_pid, messages, read_sysctl, records, row_endpoints, rows_by_cookie,
                    run, ss_stuck, status, stuck_records, systemd_messages, unit_props, wait_for, write_conf,
                    write_sysctl)

TEST_USER = "alice"
DROPIN_DIR = "/etc/systemd/system/finwatchd.service.d"


def tracked_with_ages(fx, want_alerted=False, args=()):
    """finwatch list (through the daemon): the fixture's sockets, once all
    of them have a daemon age (and were alerted, if asked)."""
    want = fx.endpoints()

    def ready():
        rows = [r for r in finwatch_json("list", *args)
                if r["age_seconds"] is not None and (r["alerted"] or not want_alerted)]
        return rows if want <= row_endpoints(rows) else None

    rows = wait_for(ready, timeout=60) or []
    return [r for r in rows if row_endpoints([r]) <= want]


DEBS = os.path.join(PAYLOAD, "debs")
MSG_BLOCKING = "2bfea22c16d5495ebe5de59bd6f35e91"  # new in 0.3.0's catalog
STATE = "/run/finwatch/state"
WANTS = ("/etc/systemd/system/sockets.target.wants/finwatchd.socket",
         "/etc/systemd/system/multi-user.target.wants/finwatchd.service")


def apt_get(t, *args):
    """apt-get as an unattended run has it: no terminal, no question."""
    start = time.monotonic()
    r = t.cmd("apt-get", "-y", "-q", *args, env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"),
              stdin=subprocess.DEVNULL, timeout=300)
    t.note(f"     ({time.monotonic() - start:.1f} s)")
    return r


def deb_status():
    """dpkg's word on finwatch: 'ii 0.3.0-1' installed, 'rc 0.3.0-1'
    removed with its config left, '' never installed or purged."""
    r = run("dpkg-query", "-W", "-f=${db:Status-Abbrev}${Version}", "finwatch")
    # the abbreviation's second letter is the state: n for not installed
    return " ".join(r.stdout.split()) if r.returncode == 0 and r.stdout[1:2] != "n" else ""


def catalog_ids():
    """finwatch's MESSAGE_IDs in the journal's catalog database."""
    listed = run("journalctl", "--list-catalog").stdout
    return sorted(m for m in (MSG_STUCK, MSG_KILL, MSG_ORPHANS, MSG_BLOCKING) if m in listed)


def state_version():
    """The version in the state file's header (magic FWSTATE1, u32)."""
    with open(STATE, "rb") as f:
        head = f.read(12)
    return struct.unpack("<I", head[8:])[0] if len(head) == 12 and head[:8] == b"FWSTATE1" else None


def user_finwatch():
    r = run("getent", "passwd", "finwatch")
    return r.stdout.strip().split(":") if r.returncode == 0 else None


def units_running(t, when):
    for unit in ("finwatchd.socket", UNIT):
        t.eq(run("systemctl", "is-enabled", unit).stdout.strip(), "enabled", f"{unit} enabled {when}")
        t.eq(is_active(unit), "active", f"{unit} active {when}")


def package_gone(t, when, conf=None):
    """After remove (conf: the text left in the conffile) or purge (None)."""
    for unit in ("finwatchd.socket", UNIT):
        t.eq(is_active(unit), "inactive", f"{unit} stopped {when}")
    t.check(not os.path.exists("/usr/sbin/finwatchd"), f"no /usr/sbin/finwatchd {when}")
    t.check(not os.path.exists("/run/finwatch/control"), f"no control socket {when}")
    t.eq(catalog_ids(), [], f"finwatch's entries gone from the journal catalog {when} (systemd's trigger)")
    t.check(user_finwatch() is not None, f"the finwatch system user stays {when}")
    if conf is not None:
        t.check(os.path.exists(CONF) and open(CONF).read() == conf, f"{CONF} kept as it was {when}")
        return
    t.eq(deb_status(), "", f"dpkg knows no finwatch {when}")
    t.check(not os.path.exists("/etc/finwatch"), f"/etc/finwatch gone {when}")
    t.check(not os.path.exists("/run/finwatch"), f"/run/finwatch (the state) gone {when}")
    t.check(not any(os.path.lexists(w) for w in WANTS), f"no enablement symlink left {when}")


def package(t):
    """The Debian package, the README's recommended install, on a guest
    without finwatch. apt-get install of this checkout's package makes the
    system user, puts the records in the journal catalog, enables and
    starts both units, and the service finds and kills a stuck socket;
    purge takes it away again. Then the previous release's package (0.2.0:
    state file version 2, protocol 0.2) is installed, its config edited and
    stuck sockets alerted on, and it is upgraded to this checkout's package
    without a question: the edited conffile stays (the new default beside
    it), the catalog gets this release's records, the new daemon reads the
    old one's state (ages, alerted) and kills. apt-get remove stops it and
    keeps config and state; purge removes them and leaves the user. (Each
    apt-get takes 10-35 s under TCG.)"""
    with open(os.path.join(DEBS, "debs.json")) as f:
        debs = json.load(f)
    current, previous = os.path.join(DEBS, debs["current"]), os.path.join(DEBS, debs["previous"])
    version = debs["current_version"].rsplit("-", 1)[0]
    t.require(deb_status() == "" and not os.path.exists("/usr/sbin/finwatchd"), "no finwatch in the guest yet")
    t.require(user_finwatch() is None, "no finwatch user yet")
    t.eq(catalog_ids(), [], "no finwatch entry in the journal catalog yet")
    try:
        # A fresh install of this release.
        apt_get(t, "install", current)
        t.eq(deb_status(), f"ii {debs['current_version']}", "apt-get install ./" + debs["current"])
        pw = user_finwatch()
        t.check(pw is not None and int(pw[2]) < 1000 and pw[6].endswith("nologin"),
                f"postinst made finwatch a system user (systemd-sysusers): {pw}")
        t.eq(catalog_ids(), sorted((MSG_STUCK, MSG_KILL, MSG_ORPHANS, MSG_BLOCKING)),
             "journalctl --list-catalog has finwatch's records (systemd's trigger ran --update-catalog)")
        units_running(t, "after a fresh install")
        st = status()
        t.eq(st["version"], version, "finwatch status: this release's daemon")
        t.check(st["polls"] >= 1 and st["poll_failures"] == 0, f"it polls: {st['polls']}, failed {st['poll_failures']}")
        t.eq(st["destroy_supported"], True, "SOCK_DESTROY supported under the packaged unit")
        with Fixture(["lost-fin:fin-wait-1:orphan:4:1"]) as fx:
            t.check(wait_for(lambda: len(rows_by_cookie()) == 1, timeout=20), "the packaged service tracks the socket")
            r = t.cmd("finwatch", "kill", "--state", "fin-wait-1", "--yes")
            t.eq(r.stdout.count("killed"), 1, f"the packaged service kills: {r.stdout.strip()}")
            t.check(not (fx.endpoints() & ss_stuck()), "ss: it is gone")
        apt_get(t, "purge", "finwatch")
        package_gone(t, "after a fresh install and purge")

        # The previous release, upgraded to this one.
        apt_get(t, "install", previous)
        t.eq(deb_status(), f"ii {debs['previous_version']}", "apt-get install ./" + debs["previous"])
        t.eq(catalog_ids(), sorted((MSG_STUCK, MSG_KILL, MSG_ORPHANS)),
             "journalctl --list-catalog has the previous release's records (0.2.0 has no reconnecting-client "
             "record)")
        units_running(t, "after installing the previous release")
        st = status()
        t.eq(st["version"], debs["previous_version"].rsplit("-", 1)[0], "finwatch status: the daemon's version")
        t.check(st["polls"] >= 1 and st["poll_failures"] == 0, f"it polls: {st['polls']}, failed {st['poll_failures']}")

        # As a fleet would have it: an edited config.
        with open(CONF) as f:
            text = f.read()
        edited = re.sub(r"(?m)^after = 2min$", "after = 3s", re.sub(r"(?m)^interval = 5s$", "interval = 1s", text))
        t.require(edited.count("interval = 1s") == 1 and edited.count("after = 3s") == 1,
                  "the previous release's config has interval = 5s and [alert] after = 2min to edit")
        edited += "# edited by the VM suite's package scenario\n"
        with open(CONF, "w") as f:
            f.write(edited)
        t.cmd("systemctl", "reload", UNIT)
        t.eq(status()["interval_seconds"], 1.0, "the edited config in effect")
        c = cursor()
        with Fixture(["lost-fin:fin-wait-1:owned:4:2", "lost-fin:last-ack:owned:4:1"]) as fx:
            before = {r["cookie"]: r for r in tracked_with_ages(fx, want_alerted=True)}
            listed_at = time.monotonic()
            t.require(len(before) == 3, "the previous release's daemon tracks and alerted 3 sockets: " + ", ".join(
                f"{r['state']} :{r['peer_port']} age {r['age_seconds']} first_seen {r['first_seen']}"
                for r in before.values()))
            alerts = stuck_records(c, before)
            t.require(len(alerts) == 3, "their alerts are in the journal")
            alerted_at = max(int(rec["_SOURCE_REALTIME_TIMESTAMP"]) for rec in alerts.values()) / 1e6
            t.require(wait_for(lambda: os.path.exists(STATE) and os.stat(STATE).st_mtime >= alerted_at, timeout=45),
                      "the previous release's daemon saved its state after the alerts")
            t.eq(state_version(), 2, "the state file it wrote is version 2")
            pid = main_pid()

            c = cursor()
            apt_get(t, "-o", "Dpkg::Options::=--force-confdef", "-o", "Dpkg::Options::=--force-confold",
                    "install", current)
            t.eq(deb_status(), f"ii {debs['current_version']}", "upgraded to " + debs["current"])
            t.check(open(CONF).read() == edited, "the edited conffile is kept")
            dist = CONF + ".dpkg-dist"
            t.check(os.path.exists(dist) and "blocking = no" in open(dist).read(),
                    "dpkg put this release's default beside it (.dpkg-dist)")
            units_running(t, "after the upgrade")
            t.eq(catalog_ids(), sorted((MSG_STUCK, MSG_KILL, MSG_ORPHANS, MSG_BLOCKING)),
                 "the catalog has this release's new record too (the trigger ran on the upgrade)")
            t.check(main_pid() not in (0, pid), f"the service was restarted (pid {pid} -> {main_pid()})")
            st = status()
            t.eq(st["version"], version, "finwatch status: the new daemon")
            t.eq(st["interval_seconds"], 1.0, "the edited config in effect after the upgrade")
            restored = journal_has(lambda: [m for m in messages(c) if m.startswith("restored 3 tracked sockets")])
            t.check(restored, f"the new daemon read the old one's state file: {messages(c)[-5:]}")
            after = rows_by_cookie()
            elapsed = time.monotonic() - listed_at
            for cookie, old in before.items():
                now = after.get(cookie)
                if not t.check(now is not None and now["age_seconds"] is not None, f"cookie {cookie} tracked"):
                    continue
                t.eq(now["first_seen"], old["first_seen"], f"cookie {cookie}: first_seen kept")
                t.eq(now["alerted"], True, f"cookie {cookie}: still alerted")
                t.check(now["age_seconds"] >= old["age_seconds"] + elapsed - 3,
                        f"cookie {cookie}: age {old['age_seconds']:.1f} s, {elapsed:.1f} s later "
                        f"{now['age_seconds']:.1f} s")
            time.sleep(3)  # a few polls of the new daemon
            run("journalctl", "--sync")
            t.check(not stuck_records(c, before, wait=0), "no second alert for the sockets alerted before the upgrade")
            r = t.cmd("finwatch", "kill", "--state", "fin-wait-1,last-ack", "--yes")
            t.eq(r.stdout.count("killed"), 3, f"the upgraded service kills: {r.stdout.strip()}")
            t.check(not (fx.endpoints() & ss_stuck()), "ss: they are gone")

        apt_get(t, "remove", "finwatch")
        t.eq(deb_status(), f"rc {debs['current_version']}", "apt-get remove: the config stays")
        package_gone(t, "after remove", conf=edited)
        t.check(os.path.exists(STATE) and state_version() == 3,
                "the state file stays, written at stop by this release (version 3)")
        apt_get(t, "purge", "finwatch")
        package_gone(t, "after remove and purge")
    finally:
        if deb_status():
            run("apt-get", "-y", "purge", "finwatch", stdin=subprocess.DEVNULL)


def install(t):
    """The build, installed as the README says: files in place, then
    systemd-sysusers, journalctl --update-catalog, systemctl enable --now."""
    t.cmd("cp", "-a", os.path.join(PAYLOAD, "root") + "/.", "/")
    for f in ("/usr/bin/finwatch", "/usr/sbin/finwatchd", CONF, "/usr/lib/systemd/system/finwatchd.service",
              "/usr/lib/systemd/system/finwatchd.socket", "/usr/lib/sysusers.d/finwatch.conf",
              "/usr/lib/systemd/catalog/finwatch.catalog"):
        t.check(os.path.exists(f), f"installed {f}")
    t.cmd("systemd-sysusers")
    t.check(run("getent", "passwd", "finwatch").returncode == 0,
            "the finwatch user exists (systemd-sysusers; after the package scenario, the one its purge left)")
    t.cmd("journalctl", "--update-catalog")
    t.cmd("systemctl", "daemon-reload")
    t.cmd("systemctl", "enable", "--now", "finwatchd.socket", "finwatchd.service")
    for unit in ("finwatchd.socket", UNIT):
        t.eq(is_active(unit), "active", f"{unit} after enable --now")
        t.eq(run("systemctl", "is-enabled", unit).stdout.strip(), "enabled", f"{unit} enabled")
    st = status()
    t.check(st["polls"] >= 1 and st["poll_failures"] == 0, f"finwatch status: polls {st['polls']}, "
            f"failed {st['poll_failures']}")
    t.eq(st["destroy_supported"], True, "SOCK_DESTROY supported on the guest's kernel")
    # a normal user for the privileges scenario
    t.cmd("systemd-sysusers", "--inline", f'u {TEST_USER} 1000 "finwatch VM test user" /')
    write_conf(**FAST)
    t.cmd("systemctl", "reload", UNIT)


def seed(t):
    """The seed's picture: nft drops the server's FIN on the guest's
    loopback; finwatch list shows the sockets with ages, the alert is in the
    journal and journalctl -x explains it, finwatch kill removes them."""
    c = cursor()
    with Fixture(["lost-fin:fin-wait-1:owned:4:2", "lost-fin:last-ack:orphan:4:2",
                  "lost-fin:fin-wait-1:orphan:6:1"]) as fx:
        t.require(fx.endpoints() <= ss_stuck(), "ss sees the fixture's stuck sockets")
        rows = tracked_with_ages(fx, want_alerted=True)
        t.eq(row_endpoints(rows), fx.endpoints(), "finwatch list shows every stuck socket, alerted, with an age")
        t.check(all(r["age_seconds"] >= 3 for r in rows), "ages past [alert] after (3s)")
        table = run("finwatch", "list").stdout
        t.check(all(r["state"] in table for r in rows) and re.search(r"\b\d+s\b", table),
                f"the table shows states and ages:\n{table}")

        got = stuck_records(c, [r["cookie"] for r in rows])
        t.eq(len(got), len(rows), "one journal alert per stuck socket")
        for rec in got.values():
            t.eq(rec.get("_SYSTEMD_UNIT"), UNIT, "the alert comes from the service")
            t.eq(rec.get("FINWATCH_CAUSE"), "lost-fin", "the alert's cause")
        x = run("journalctl", "--no-pager", "-x", "-u", UNIT, f"--since=@{c:.6f}").stdout
        t.check("It sent its FIN and is still waiting for the peer" in x,
                "journalctl -x -u finwatchd shows the catalog's explanation")

        r = t.cmd("finwatch", "kill", "--state", "fin-wait-1,last-ack", "--yes")
        t.check(r.stdout.count("killed") == len(rows), f"a result line per socket: {r.stdout.strip()}")
        t.check(not (fx.endpoints() & ss_stuck()), "ss: the killed sockets are gone")
        def killed():
            return [k for k in records(c, f"MESSAGE_ID={MSG_KILL}") if k.get("FINWATCH_KILL_RESULT") == "killed"]

        kills = journal_has(lambda: (lambda k: k if len(k) >= len(rows) else None)(killed())) or killed()
        t.eq(len(kills), len(rows), "a journal record per kill")
        t.check(all(k.get("FINWATCH_REQUESTER_UID") == "0" for k in kills), "the records name root as requester")


def privileges(t):
    """A normal user lists and asks for status, and is refused kill and
    reload in words; nothing is killed."""
    with Fixture(["lost-fin:last-ack:owned:4:2"]) as fx:
        tracked_with_ages(fx)
        r = t.cmd("runuser", "-u", TEST_USER, "--", "finwatch", "list")
        t.check(all(local in r.stdout for _, local, _ in fx.endpoints()), f"{TEST_USER} sees the sockets")
        t.cmd("runuser", "-u", TEST_USER, "--", "finwatch", "status")
        rows = finwatch_json("list", user=TEST_USER)
        t.check(rows and all(r["age_seconds"] is not None for r in rows), f"{TEST_USER} gets the daemon's ages")
        r = t.cmd("runuser", "-u", TEST_USER, "--", "finwatch", "kill", "--state", "last-ack", "--yes", want=1)
        t.check("root" in r.stderr or "permission denied" in r.stderr, f"kill refused in words: {r.stderr.strip()}")
        t.check(fx.endpoints() <= ss_stuck(), "nothing was killed")
        r = t.cmd("runuser", "-u", TEST_USER, "--", "finwatch", "reload", want=1)
        t.check("only root" in r.stderr, f"reload refused in words: {r.stderr.strip()}")


def socket_activation(t):
    """With only finwatchd.socket left, the first finwatch status starts the
    service."""
    t.cmd("systemctl", "stop", UNIT)
    t.eq(is_active(UNIT), "inactive", "service stopped")
    t.eq(is_active("finwatchd.socket"), "active", "socket still listening")
    r = t.cmd("finwatch", "status")
    t.check("polls:" in r.stdout, f"finwatch status answered: {r.stdout.strip()[:300]}")
    t.eq(is_active(UNIT), "active", "the connection started the service")


def notify(t):
    """Type=notify: the service is active only once its first poll is done
    (READY=1 comes after it, with the first STATUS=)."""
    t.cmd("systemctl", "stop", UNIT)
    t.cmd("systemctl", "start", "--no-block", UNIT)
    samples = []
    # Sampled as fast as systemctl goes: active with the first poll's
    # STATUS= already there, never before it.
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        p = unit_props("ActiveState", "StatusText")
        samples.append((p["ActiveState"], p["StatusText"]))
        if p["ActiveState"] == "active":
            break
    t.note(f"samples: {samples[:3]} ... {samples[-1:]} ({len(samples)})")
    t.eq(samples[-1][0], "active", "the service became active")
    early = [s for s in samples if s[0] == "active" and not s[1].startswith("tracking")]
    t.check(not early, f"never active before the first poll's STATUS= (active without it: {early[:1]})")
    t.eq(unit_props("Type")["Type"], "notify", "the unit is Type=notify")
    # Type=simple is active the moment the process is forked; Type=notify
    # only once READY=1 came, after exec, setup and the first poll (tens of
    # ms even on a fast machine, more under TCG).
    p = unit_props("ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic")
    delay = (int(p["ActiveEnterTimestampMonotonic"]) - int(p["ExecMainStartTimestampMonotonic"])) / 1e3
    t.check(delay >= 10, f"active {delay:.1f} ms after the process started, not at once")


def reload(t):
    """systemctl reload with a good file applies it; with a bad one it says
    it failed, and the service keeps running with the old config."""
    pid = main_pid()
    write_conf(monitor={"interval": "2s"}, alert={"after": "3s"})
    c = cursor()
    t.cmd("systemctl", "reload", UNIT)
    t.eq(status()["interval_seconds"], 2.0, "the good file's interval is in effect")
    t.check(journal_has(lambda: any("reloaded" in m for m in messages(c))), "the journal says it reloaded")

    write_conf(monitor={"interval": "banana"}, alert={"after": "3s"})
    c = cursor()
    r = t.cmd("systemctl", "reload", UNIT, want=None)
    t.check(r.returncode != 0, f"systemctl reload reports the bad file as a failure (exit {r.returncode})")
    t.eq(is_active(UNIT), "active", "still running")
    t.eq(main_pid(), pid, "the same process")
    t.eq(status()["interval_seconds"], 2.0, "the old config stays")
    t.check(journal_has(lambda: any(m.startswith("reload failed") and "banana" in m for m in messages(c))),
            f"finwatchd's journal says why: {messages(c)[-3:]}")

    write_conf(**FAST)
    t.cmd("systemctl", "reload", UNIT)
    t.eq(status()["interval_seconds"], 1.0, "back to the FAST config")


def watchdog(t):
    """A finwatchd that stops answering (SIGSTOP) is killed by systemd after
    WatchdogSec and restarted; the new one has the same ages (state file)."""
    with Fixture(["lost-fin:fin-wait-1:owned:4:2", "lost-fin:last-ack:owned:6:1"]) as fx:
        before = {r["cookie"]: r for r in tracked_with_ages(fx, want_alerted=True)}
        t.require(len(before) == 3, "the daemon tracks the fixture's sockets")
        alerts = stuck_records(None, before)
        t.require(len(alerts) == 3, "their alerts are in the journal")
        alerted_at = max(int(rec["_SOURCE_REALTIME_TIMESTAMP"]) for rec in alerts.values()) / 1e6
        # Saved in the poll that alerted or, while something changed, at
        # most 30 s later: wait for a save after the last alert was sent.
        saved = wait_for(lambda: os.path.exists("/run/finwatch/state")
                         and os.stat("/run/finwatch/state").st_mtime >= alerted_at, timeout=45)
        t.require(saved, "the state file was saved after the alerts")
        pid, restarts = main_pid(), int(unit_props("NRestarts")["NRestarts"])
        c = cursor()
        os.kill(pid, signal.SIGSTOP)
        stopped_at = time.time()
        new = wait_for(lambda: (lambda p: p if p not in (0, pid) and is_active(UNIT) == "active" else None)(
            main_pid()), timeout=75, interval=1)
        t.require(new, "systemd restarted the stopped daemon")
        t.eq(int(unit_props("NRestarts")["NRestarts"]), restarts + 1, "NRestarts")
        timeout = journal_has(lambda: [rec for rec in records(c, "_PID=1", f"UNIT={UNIT}")
                                       if "Watchdog timeout" in rec.get("MESSAGE", "")])
        if t.check(timeout, f"systemd says why: {systemd_messages(c)[:4]}"):
            # sd-event sends WATCHDOG=1 at its first wake-up WatchdogSec/4
            # after the last one (the polls wake it every second): the last
            # came up to 8.5 s before the stop, so killed 21.5-30 s after it
            after = int(timeout[0]["__REALTIME_TIMESTAMP"]) / 1e6 - stopped_at
            t.check(20 <= after <= 40, f"the watchdog fired {after:.1f} s after SIGSTOP (WatchdogSec=30s)")
        after = rows_by_cookie()
        for cookie, old in before.items():
            now = after.get(cookie)
            if not t.check(now is not None and now["age_seconds"] is not None, f"cookie {cookie} tracked again"):
                continue
            t.eq(now["first_seen"], old["first_seen"], f"cookie {cookie}: first_seen from the state file")
            t.eq(now["alerted"], True, f"cookie {cookie}: still alerted")
        time.sleep(3)  # a few polls of the new daemon
        run("journalctl", "--sync")
        t.check(not stuck_records(c, before, wait=0), "no new alert for sockets alerted before the restart")


def fates_match(t, what, rows, recs):
    """The daemon's estimate (journal FINWATCH_REAPED_IN_SEC, sandboxed) and
    the CLI's (root, unsandboxed /proc/sys) name the same moment."""
    for r in rows:
        rec = recs.get(str(r["cookie"]))
        if not t.check(rec is not None and "FINWATCH_REAPED_IN_SEC" in rec, f"{what}: alert with a fate"):
            continue
        daemon_at = int(rec["__REALTIME_TIMESTAMP"]) / 1e6 + int(rec["FINWATCH_REAPED_IN_SEC"])
        cli_at = r["listed_at"] + r["reaped_in_seconds"]
        t.check(abs(daemon_at - cli_at) <= 3, f"{what}: the daemon's fate ({rec['FINWATCH_REAPED_IN_SEC']} s at "
                f"the alert) is the CLI's ({r['reaped_in_seconds']} s when listed): {daemon_at - cli_at:+.1f} s")


def sandbox_sysctls(t):
    """Under the unit's sandbox the fate still reads the guest's
    tcp_orphan_retries and tcp_retries2: other values, other estimates."""
    defaults = {k: read_sysctl(k) for k in ("tcp_orphan_retries", "tcp_retries2")}
    t.note(f"defaults: {defaults}")
    fates = {}
    try:
        for label, values in (("defaults", defaults), ("changed", {"tcp_orphan_retries": 10, "tcp_retries2": 6})):
            for k, v in values.items():
                write_sysctl(k, v)
            c = cursor()
            with Fixture(["lost-fin:fin-wait-1:owned:4:1", "lost-fin:fin-wait-1:orphan:4:1"]) as fx:
                rows = tracked_with_ages(fx, want_alerted=True)
                listed_at = time.time()
                for r in rows:
                    r["listed_at"] = listed_at
                recs = stuck_records(c, [r["cookie"] for r in rows])
                fates_match(t, label, rows, recs)
                fates[label] = {("orphan" if r["orphan"] else "owned"): r["reaped_in_seconds"] for r in rows}
                t.cmd("finwatch", "kill", "--state", "fin-wait-1", "--yes")
    finally:
        for k, v in defaults.items():
            write_sysctl(k, v)
    t.note(f"fates: {fates}")
    d, ch = fates.get("defaults", {}), fates.get("changed", {})
    # owned: 15 -> 6 retries of a doubling 0.2 s RTO (minutes -> seconds);
    # orphan: 8 (0 means 8) -> 10 retries (about 100 s -> about 400 s)
    t.check(d.get("owned", 0) > 300 and 0 < ch.get("owned", 0) < 60, "tcp_retries2 15 -> 6 shortens the owned fate")
    t.check(0 < d.get("orphan", 0) < 150 and ch.get("orphan", 0) > 200,
            "tcp_orphan_retries 0 -> 10 lengthens the orphan fate")


def orphan_budget(t):
    """The orphan budget alert fires under the sandbox: /proc/net/sockstat
    and tcp_max_orphans are readable."""
    old = read_sysctl("tcp_max_orphans")
    c = cursor()
    try:
        write_sysctl("tcp_max_orphans", 48)
        with Fixture(["lost-fin:fin-wait-1:orphan:4:30"]):
            recs = journal_has(lambda: records(c, f"MESSAGE_ID={MSG_ORPHANS}"), wait=30)
            if t.check(recs, "the orphan budget alert (30 orphans, tcp_max_orphans 48, budget 50%)"):
                t.eq(recs[0].get("FINWATCH_MAX_ORPHANS"), "48", "FINWATCH_MAX_ORPHANS")
                t.check(int(recs[0].get("FINWATCH_ORPHANS", "0")) >= 24, f"FINWATCH_ORPHANS {recs[0].get('FINWATCH_ORPHANS')}")
                t.eq(recs[0].get("_SYSTEMD_UNIT"), UNIT, "from the service")
            t.cmd("finwatch", "kill", "--state", "fin-wait-1", "--yes")
    finally:
        write_sysctl("tcp_max_orphans", old)


def unit_attribution(t):
    """Sockets made by another service are attributed to it."""
    holder = "fw-holder.service"
    out = "/run/fw-holder.out"
    c = cursor()
    t.cmd("systemd-run", "--unit", holder, f"--property=StandardOutput=file:{out}", "--property=StandardError=journal",
          os.path.join(PAYLOAD, "tools", "fw-stuck"), "--i-am-in-a-private-netns",
          "--make", "lost-fin:last-ack:owned:4:2", "--make", "lost-fin:fin-wait-1:orphan:4:1")
    try:
        t.require(wait_for(lambda: os.path.exists(out) and "READY" in open(out).read(), timeout=60),
                  f"{holder} made its sockets")
        with open(out) as f:
            made = {(m["state"], m["local"], m["peer"])
                    for m in map(json.loads, (line for line in f if line.startswith("{")))}

        def alerted():
            rows = [r for r in finwatch_json("list") if r["alerted"] and row_endpoints([r]) <= made]
            return rows if len(rows) == len(made) else None

        rows = wait_for(alerted, timeout=60) or []
        t.eq(len(rows), 3, "the holder's sockets are tracked and alerted")
        for r in rows:
            t.eq(r["unit"], holder, f"finwatch list: unit of {r['state']} {r['local_port']}->{r['peer_port']}")
        recs = stuck_records(c, [r["cookie"] for r in rows])
        t.eq(len(recs), 3, "an alert per socket")
        for rec in recs.values():
            t.eq(rec.get("FINWATCH_UNIT"), holder, "the daemon's FINWATCH_UNIT")
        t.cmd("finwatch", "kill", "--unit", holder, "--yes")
    finally:
        run("systemctl", "stop", holder)


def kill_other_netns(t):
    """Under the shipped unit (no setns, no CAP_SYS_ADMIN) finwatchd watches
    its own namespace only, yet `finwatch kill --netns NAME` kills there:
    the CLI passes it a sock_diag socket opened in that namespace, and the
    kill is in the daemon's journal with the namespace and who asked."""
    t.cmd("ip", "netns", "add", "fwkill")
    try:
        t.cmd("ip", "-n", "fwkill", "link", "set", "lo", "up")
        ino = os.stat("/run/netns/fwkill").st_ino
        c = cursor()
        with Fixture(["lost-fin:fin-wait-1:owned:4:2"], prefix=("ip", "netns", "exec", "fwkill")) as fx:
            t.require(fx.endpoints() <= ss_stuck(netns_name="fwkill"), "ss sees the sockets in fwkill")
            r = t.cmd("finwatch", "kill", "--netns", "fwkill", "--state", "fin-wait-1", "--yes")
            t.eq(r.stdout.count("killed FIN_WAIT_1"), 2, f"both killed: {r.stdout.strip()!r}")
            t.check(not (fx.endpoints() & ss_stuck(netns_name="fwkill")), "gone from fwkill (ss)")
            recs = journal_has(lambda: (lambda k: k if len(k) >= 2 else None)(
                [k for k in records(c, f"MESSAGE_ID={MSG_KILL}") if k.get("FINWATCH_KILL_RESULT") == "killed"]))
            t.check(recs and all(k.get("_SYSTEMD_UNIT") == UNIT and k.get("FINWATCH_NETNS") == f"net:[{ino}]"
                                 and k.get("FINWATCH_REQUESTER_UID") == "0" for k in recs),
                    f"recorded by the service, with the namespace: {[(k.get('_SYSTEMD_UNIT'), k.get('FINWATCH_NETNS')) for k in recs or []]}")
    finally:
        run("ip", "netns", "del", "fwkill")


def netns_all(t):
    """netns = all with the shipped drop-in: the daemon sees a namespace
    made in the guest (one held by a process, one named under /run/netns)."""
    os.makedirs(DROPIN_DIR, exist_ok=True)
    shutil.copy(os.path.join(PAYLOAD, "contrib", "netns.conf"), DROPIN_DIR)
    conf = {**FAST, "monitor": {**FAST["monitor"], "netns": "all"}}
    try:
        write_conf(**conf)
        t.cmd("systemctl", "daemon-reload")
        t.cmd("systemctl", "restart", UNIT)
        with open("/run/fw-results/security.txt", "a") as f:
            f.write(f"with the netns drop-in: online {exposure(UNIT)}\n")
        t.cmd("ip", "netns", "add", "fwvm")
        t.cmd("ip", "-n", "fwvm", "link", "set", "lo", "up")
        c = cursor()
        with Fixture(["lost-fin:fin-wait-1:owned:4:2"], unshare=True) as unnamed, \
                Fixture(["lost-fin:last-ack:owned:4:1"], prefix=("ip", "netns", "exec", "fwvm")) as named:
            want = {str(unnamed.netns_inode()): 2, "fwvm": 1}

            def seen():
                by = {}
                for rec in records(c, f"MESSAGE_ID={MSG_STUCK}"):
                    ns = rec.get("FINWATCH_NETNS", "host")
                    ns = ns[5:-1] if ns.startswith("net:[") else ns
                    by[ns] = by.get(ns, 0) + 1
                return by if all(by.get(k, 0) >= n for k, n in want.items()) else None

            by = journal_has(seen, wait=60)
            t.check(by, f"alerts carry each namespace (want {want}, got {by})")
            rows = finwatch_json("list", "--netns", "all")
            known = [r for r in rows if r["age_seconds"] is not None and r["netns"] != "host"]
            t.eq(len(known), 3, "finwatch list --netns all: the daemon's ages for the other namespaces")
            t.check(unnamed.endpoints() <= ss_stuck(netns_pid=unnamed.proc.pid)
                    and named.endpoints() <= ss_stuck(netns_name="fwvm"), "ss sees both namespaces' sockets")
            t.cmd("finwatch", "kill", "--netns", "all", "--state", "fin-wait-1,last-ack", "--yes")
            t.check(not ss_stuck(netns_pid=unnamed.proc.pid), "the unnamed namespace's sockets are killed")
            t.check(not ss_stuck(netns_name="fwvm"), "fwvm's socket is killed")
            st = status()
            t.eq(st["poll_failures"], 0, "no failed poll")
    finally:
        run("ip", "netns", "del", "fwvm")
        os.remove(os.path.join(DROPIN_DIR, "netns.conf"))
        write_conf(**FAST)
        run("systemctl", "daemon-reload")
        run("systemctl", "restart", UNIT)


def exposure(*args):
    r = run("systemd-analyze", "security", *args)
    m = re.search(r"Overall exposure level for \S+: ([0-9.]+)", r.stdout)
    return float(m.group(1)) if m else None


def security(t):
    """systemd-analyze security, online (the running guest) and offline."""
    online = exposure(UNIT)
    offline = exposure("--offline=true", "/usr/lib/systemd/system/finwatchd.service")
    t.note(f"SECURITY online={online} offline={offline}")
    t.check(online is not None and online <= 1.5, f"exposure in the running guest {online} <= 1.5")
    t.check(offline is not None and offline <= 1.5, f"exposure offline {offline} <= 1.5")
    with open("/run/fw-results/security.txt", "w") as f:
        f.write(f"online {online}\noffline {offline}\n")
        f.write(run("systemd-analyze", "security", UNIT).stdout)


def kernel(t):
    """The guest runs Debian 12's own kernel (6.1, whose tcp_info is shorter
    than a newer host's): every other scenario passes on it."""
    release = os.uname().release
    t.check(release.startswith("6.1."), f"the guest runs Debian 12's 6.1 kernel ({release})")


def kernel_ages(t):
    """6.1's shorter tcp_info has no total_rto*: the ages without a daemon
    come from the retransmit and probe schedules (lower bounds) and the last
    data sent (an upper bound for a bare FIN or a zero window), hold the
    truth, and are marked as what they are: "~" only where the bounds are
    close (the rule finwatch(8) gives), ">" where nothing bounds them above.
    One wait of 14 s."""
    started = time.monotonic()
    with Fixture(["lost-fin:fin-wait-1:owned:4:1", "lost-fin:last-ack:orphan:4:1",
                  "zero-window:fin-wait-1:owned:4:1", "blocked-locally:last-ack:owned:4:1"]) as fx:
        ready = time.monotonic()
        time.sleep(14)
        before = time.monotonic()
        rows = [r for r in finwatch_json("list", "--no-daemon") if row_endpoints([r]) <= fx.endpoints()]
        table = run("finwatch", "list", "--no-daemon").stdout
        after = time.monotonic()
        lo, hi = before - ready, after - started
        t.eq(len(rows), 4, "every stuck socket listed")
        for r in rows:
            what = f"{r['state']} :{r['local_port']}"
            t.eq(r["age_source"], "kernel", f"{what}: age_source")
            if r["age_min_seconds"] is None:
                t.check(False, f"{what}: a lower bound")
                continue
            t.check(r["age_min_seconds"] <= hi, f"{what}: lower bound {r['age_min_seconds']} <= truth (<= {hi:.2f})")
            t.check(r["age_max_seconds"] is None or r["age_max_seconds"] >= lo,
                    f"{what}: upper bound {r['age_max_seconds']} >= truth (>= {lo:.2f})")
            t.check(r["age_min_seconds"] >= lo / 3, f"{what}: the schedule says some of it ({r['age_min_seconds']})")
            close = (r["age_max_seconds"] is not None and
                     r["age_max_seconds"] - r["age_min_seconds"] <= max(2.0, r["age_seconds"] / 10))
            line = next((l for l in table.splitlines() if f":{r['local_port']} " in l and r["state"] in l
                         and f":{r['peer_port']} " in l), "")
            mark = "~" if close else ">"
            t.check(re.search(r" " + re.escape(mark) + r"\d", line) is not None,
                    f"{what}: the table marks it {mark} (bounds {r['age_min_seconds']} .. {r['age_max_seconds']}): "
                    f"{line}")
        bl = [r for r in rows if r["local_port"] == 9200]
        t.check(bl and bl[0]["age_max_seconds"] is None, "blocked locally: a lower bound only (no upper)")
        # the daemon's ages: its clock or the kernel's bound, never past the truth
        for r in finwatch_json("list"):
            if row_endpoints([r]) <= fx.endpoints() and r["age_min_seconds"] is not None:
                t.check(r["age_min_seconds"] <= time.monotonic() - started,
                        f"daemon: {r['state']} :{r['local_port']} age {r['age_min_seconds']} not past the truth")


def process_lookup_bpf(t):
    """finwatch list --processes by the BPF iterator on 6.1 (the kernel
    places its fields by its own BTF: the light skeleton's load): each owned
    socket's process as ss -p names it (its lowest pid), the same as
    procfs gives."""
    with Fixture(["lost-fin:fin-wait-1:owned:4:3", "zero-window:last-ack:owned:6:3"]) as fx:
        oracle = {}
        for line in run("ss", "-tanpeH", "state", "fin-wait-1", "state", "last-ack").stdout.splitlines():
            ino, pids = re.search(r"\bino:(\d+)", line), re.findall(r"\bpid=(\d+)", line)
            if ino and pids:
                oracle[int(ino.group(1))] = min(int(p) for p in pids)
        got = {}
        for via in ("bpf", "proc"):
            r = run("env", f"FINWATCH_PROCESS_LOOKUP={via}", "finwatch", "list", "--no-daemon", "--processes",
                    "--json")
            t.eq(r.returncode, 0, f"{via}: list --processes: {r.stderr.strip()}")
            rows = [o for o in json.loads(r.stdout or "[]") if row_endpoints([o]) <= fx.endpoints()]
            got[via] = {o["inode"]: o["pid"] for o in rows}
            t.eq(len(rows), 6, f"{via}: the fixture's 6 owned sockets listed")
        t.eq(got["bpf"], {i: p for i, p in oracle.items() if i in got["bpf"]}, "bpf: the holders ss -p names")
        t.eq(got["bpf"], got["proc"], "bpf and procfs agree")


def service_healthy(t):
    """After everything: no failed unit, no restart but the watchdog's."""
    t.eq(is_active(UNIT), "active", "finwatchd active")
    failures = [m for m in systemd_messages(None) if "Failed with result" in m]
    t.eq(failures, ["finwatchd.service: Failed with result 'watchdog'."],
         "in the whole boot the service failed once, by the watchdog scenario's SIGSTOP")
    t.check(run("systemctl", "is-failed", "--quiet", UNIT).returncode != 0, "finwatchd not failed")
    st = status()
    t.eq(st["poll_failures"], 0, "no failed poll since the last start")


KSMBD_CONF = """[global]
\tnetbios name = FWVM
[share]
\tpath = /srv/smb
\tguest ok = yes
\tread only = yes
"""
# NetBIOS session header and an SMB2 NEGOTIATE for dialect 2.0.2
SMB2_NEGOTIATE = (b"\x00\x00\x00\x66" + b"\xfeSMB" + (64).to_bytes(2, "little") + bytes(58)
                  + (36).to_bytes(2, "little") + (1).to_bytes(2, "little") + (1).to_bytes(2, "little")
                  + bytes(2) + bytes(4) + bytes(16) + bytes(8) + (0x0202).to_bytes(2, "little"))


def ss_line(port):
    """ss's two lines (socket, then tcp_info) for ksmbd's socket to 127.0.0.1:port."""
    r = run("ss", "-tnoiH", "sport", "=", ":445", "dport", "=", f":{port}")
    return " ".join(r.stdout.split())


def no_timer_ksmbd(t):
    """A real no-timer socket: Debian 12's in-kernel SMB server (ksmbd, 6.1).
    A client sends a NEGOTIATE and shuts down its side; ksmbd closes, its FIN
    is lost (nft, on input), and its socket sits in LAST_ACK with Send-Q 1
    and no timer at all: the kernel never retransmits the FIN, whatever
    tcp_orphan_retries says. finwatchd says no-timer, fate never, after its
    polls in a row; finwatch alone marks one sample no-timer?."""
    import socket
    t.cmd("modprobe", "ksmbd")
    os.makedirs("/etc/ksmbd", exist_ok=True)
    os.makedirs("/srv/smb", exist_ok=True)
    with open("/etc/ksmbd/ksmbd.conf", "w") as f:
        f.write(KSMBD_CONF)
    t.cmd("ksmbd.mountd")
    c = None
    try:
        t.require(wait_for(lambda: "445" in run("ss", "-tlnH", "sport", "=", ":445").stdout, timeout=20),
                  "ksmbd listens on 445")
        t.cmd("nft", "-f", "-", input="add table inet fwksmbd\n"
              "add chain inet fwksmbd in { type filter hook input priority 0; }\n"
              "add rule inet fwksmbd in tcp sport 445 tcp dport 41002 tcp flags & fin == fin drop\n")
        c = socket.socket()
        c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        c.bind(("127.0.0.1", 41002))
        c.connect(("127.0.0.1", 445))
        c.sendall(SMB2_NEGOTIATE)
        time.sleep(0.5)
        c.shutdown(socket.SHUT_WR)

        def confirmed():
            rows = [r for r in finwatch_json("list") if r["local_port"] == 445 and r["peer_port"] == 41002]
            return rows[0] if rows and rows[0]["cause_confirmed"] and rows[0]["cause"] == "no-timer" else None

        row = wait_for(confirmed, timeout=30)
        t.note(ss_line(41002))
        t.require(row is not None, "finwatch list (with the daemon): ksmbd's socket confirmed no-timer")
        t.eq(row["state"], "LAST_ACK", "its state")
        t.eq(row["timer"], "off", "no timer armed")
        t.eq((row["send_q"], row["unacked"], row["orphan"]), (1, 1, True), "Send-Q 1 (the FIN), unacked 1, orphan")
        t.eq(row["fate"], "never", "fate never")
        alone = [r for r in finwatch_json("list", "--no-daemon") if r["cookie"] == row["cookie"]]
        t.eq([(r["cause"], r["cause_confirmed"], r["fate"]) for r in alone], [("no-timer", False, "unknown")],
             "finwatch list --no-daemon: one sample, unconfirmed")
        table = run("finwatch", "list", "--no-daemon").stdout
        t.check(any(":41002" in line and " no-timer? " in line for line in table.splitlines()),
                "the table marks it no-timer?")
        before = re.search(r"segs_out:(\d+)", ss_line(41002))
        time.sleep(5)
        after = ss_line(41002)
        t.check("LAST-ACK" in after and "timer:" not in after, f"5 s later still LAST_ACK with no timer: {after}")
        later = re.search(r"segs_out:(\d+)", after)
        t.check(before and later and before.group(1) == later.group(1),
                f"the kernel sent nothing meanwhile (segs_out {before and before.group(1)} -> "
                f"{later and later.group(1)})")
        tool = os.path.join(PAYLOAD, "tools", "fw-diag-tool")
        t.require(os.path.exists(tool), "the payload has fw-diag-tool")
        t.cmd(tool, "capture", "6", "last-ack", "/run/fw-results/ksmbd-no-timer-v6.rec")
        t.cmd("finwatch", "kill", "--cookie", str(row["cookie"]), "--yes")
        t.check(wait_for(lambda: "LAST-ACK" not in ss_line(41002), timeout=10), "killed: gone")
    finally:
        if c:
            c.close()
        run("nft", "delete", "table", "inet", "fwksmbd")
        run("ksmbd.control", "-s")
        run("rmmod", "ksmbd")


SCENARIOS = [package, install, kernel, notify, reload, seed, privileges, socket_activation, watchdog, sandbox_sysctls,
             orphan_budget, unit_attribution, security, kill_other_netns, netns_all, no_timer_ksmbd, kernel_ages,
             process_lookup_bpf, service_healthy]

