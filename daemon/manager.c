/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>

#include "cgroup.h"
#include "escape.h"
#include "fw-config.h"
#include "log.h"
#include "manager.h"
#include "orphans.h"
#include "peers.h"
#include "statefile.h"
#include "util.h"

uint64_t manager_now(void) {
        return now_usec(CLOCK_BOOTTIME);
}

/* Keep *last as the error of what keeps failing (0 once it works): true
 * when r is a new failure, to be said once. */
static bool newly_failing(int *last, int r) {
        bool news = r < 0 && r != *last;

        *last = r < 0 ? r : 0;
        return news;
}

/* ---- tracker callbacks ---- */

static void on_stuck(const struct tracked *e, uint64_t age, bool repeat, void *userdata) {
        struct manager *m = userdata;
        struct sock_labels labels;

        labels_of(m->labels, e, &labels);
        alert_stuck(&m->alerter, e, &labels, age, repeat, e->last_seen);
        m->state_dirty = true;
}

static void on_gone(const struct tracked *e, uint64_t now, void *userdata) {
        struct manager *m = userdata;
        struct sock_labels labels;

        /* Only what was alerted gets a "cleared" record: the rest was never news. */
        if (e->alerted) {
                labels_of(m->labels, e, &labels);
                alert_cleared(&m->alerter, e, &labels, now);
        }
        m->state_dirty = true;
}

static const struct tracker_ops tracker_ops = {
        .stuck = on_stuck,
        .gone = on_gone,
};

struct observe_ctx {
        struct manager *m;
        uint64_t now;
        uint32_t netns_ino;              /* 0: ours */
        const struct tcp_limits *limits; /* of that namespace */
        int64_t syn_challenges;          /* its growth over this interval and the one before, -1 unknown */
        unsigned peer_hold_polls;
};

static int observe(const struct fw_sock *s, void *userdata) {
        struct observe_ctx *ctx = userdata;
        struct fw_sock annotated = *s;
        const struct tracked *prev;
        struct peer_verdict peer;
        bool blocking_alerted;
        int r;

        annotated.id.netns_ino = ctx->netns_ino;
        cause_annotate(&annotated, ctx->limits);
        prev = tracker_get(ctx->m->tracker, annotated.id.cookie);
        if (prev && tracker_seen_in_dump(ctx->m->tracker, prev))
                return 0; /* a repeat within the dump: judged at its first sighting */
        peer = peers_judge(prev, &annotated, ctx->now, ctx->syn_challenges, ctx->peer_hold_polls);
        blocking_alerted = prev && prev->state == annotated.state && prev->blocking_alerted &&
                           peer.state == PEER_RECONNECTING;
        r = tracker_observe(ctx->m->tracker, &annotated, ctx->now);
        if (r > 0)
                ctx->m->state_dirty = true;
        if (r >= 0)
                tracker_set_peer(ctx->m->tracker, annotated.id.cookie, peer.state, peer.quiet, blocking_alerted);
        return r < 0 ? r : 0;
}

/* ---- the state file ---- */

static void save_state(struct manager *m, uint64_t now) {
        int r;

        if (!m->config.state_file[0])
                return;
        r = statefile_save(m->config.state_file, &m->clock, m->tracker);
        if (r < 0) {
                log_warning("cannot save state to %s: %s", m->config.state_file, strerror(-r));
                return;
        }
        m->state_dirty = false;
        m->last_save = now;
}

static int load_state(struct manager *m) {
        char err[256] = "";
        int r;

        if (!m->config.state_file[0])
                return 0;
        r = statefile_load(m->config.state_file, &m->clock, manager_now(), m->tracker, err, sizeof(err));
        if (r >= 0) {
                log_info("restored %d tracked socket%s from %s", r, r == 1 ? "" : "s", m->config.state_file);
                return 0;
        }
        if (r == -ENOENT)
                return 0;
        log_warning("ignoring state file %s: %s", m->config.state_file, err[0] ? err : strerror(-r));
        /* Part of it may be in: start over with nothing. */
        tracker_free(m->tracker);
        m->tracker = NULL;
        return tracker_new(&m->tracker);
}

/* ---- killing, in the namespace a socket lives in ---- */

size_t manager_netns_watched(const struct manager *m) {
        size_t n = 0;

        for (size_t i = 0; i < m->netns->n; i++)
                n += m->netns->v[i].seen && m->netns->v[i].ino != m->netns->home_ino;
        return n;
}

struct diag *manager_diag_of(struct manager *m, uint32_t netns_ino) {
        return netns_set_diag(m->netns, netns_ino);
}

void manager_count_kill(struct manager *m, int r) {
        if (r == 0)
                m->metrics.kills_killed++;
        else if (r == -ENOENT)
                m->metrics.kills_gone++;
        else
                m->metrics.kills_failed++;
        if (r == -EOPNOTSUPP)
                m->destroy_supported = 0;
        else if (r == 0)
                m->destroy_supported = 1;
        if ((r == -EPERM || r == -EOPNOTSUPP) && !m->kill_denied_told) {
                log_warning("cannot kill sockets: %s; watching and alerting go on", diag_kill_strerror(r));
                m->kill_denied_told = true;
        }
        if (r == 0 || r == -ENOENT)
                m->state_dirty = true;
}

static int policy_kill(const struct sock_id *id, uint8_t *state, void *userdata) {
        struct manager *m = userdata;
        struct diag *d = manager_diag_of(m, id->netns_ino);
        int r = d ? diag_kill(d, id, state) : -ENOENT;

        manager_count_kill(m, r);
        return r;
}

/* ---- after a poll ---- */

void manager_summarize(struct manager *m, uint64_t now) {
        int r = summary_build(&m->summary, m->tracker, m->labels, now);

        if (r < 0)
                log_error("counting the tracked sockets: %s", strerror(-r));
}

static void check_orphans(struct manager *m) {
        struct orphan_count c = {};
        char top[200];
        int r;

        r = orphans_count_read(&c);
        if (newly_failing(&m->orphans_error, r))
                log_warning("cannot read the orphan count (/proc/net/sockstat, net.ipv4.tcp_max_orphans): %s: "
                            "no orphan budget alerts until it can", strerror(-r));
        if (r < 0) {
                m->metrics.max_orphans = 0; /* not visible here: no budget */
                return;
        }
        m->metrics.orphans = c.orphans;
        m->metrics.max_orphans = c.max_orphans;
        if (orphans_budget_check(&c, m->config.orphan_budget_bp, &m->orphan_budget_armed)) {
                summary_top_orphan_units(&m->summary, 5, top, sizeof(top));
                alert_orphan_budget(&m->alerter, c.orphans, c.max_orphans, m->config.orphan_budget_bp, top);
        }
}

static void write_metrics(struct manager *m, uint64_t poll_duration) {
        struct metrics *x = &m->metrics;
        int r;

        if (!m->config.metrics_textfile[0])
                return;
        x->watched_states = m->config.states;
        summary_fill_metrics(&m->summary, x);
        x->alerts_sent = m->alerter.sent_total;
        x->alerts_held = m->alerter.held_total;
        x->polls = m->polls;
        x->poll_failures = m->poll_failures;
        x->poll_duration_usec = poll_duration;
        x->netns_discovery_usec = m->last_discovery_duration;
        x->netns_others = m->config.netns_mode != NETNS_HOST;
        x->netns_watched = (uint32_t) manager_netns_watched(m);
        x->netns_denied = m->netns_unwatched.denied;
        x->netns_no_fds = m->netns_unwatched.no_fds;
        x->netns_over_cap = m->netns_unwatched.over_cap;
        x->netns_not_netns = m->netns_unwatched.not_netns;
        if (m->control) {
                struct control_stats cs;

                control_get_stats(m->control, &cs);
                x->control_refused = cs.refused;
                x->control_busy = cs.busy_replies;
                x->control_accept_failures = cs.accept_failures;
        }

        r = metrics_write(m->config.metrics_textfile, x);
        if (r < 0 && !m->metrics_error_told) {
                log_warning("cannot write metrics to %s: %s", m->config.metrics_textfile, strerror(-r));
                m->metrics_error_told = true;
        } else if (r >= 0)
                m->metrics_error_told = false;
}

static void notify_status(struct manager *m) {
        char buf[256] = "STATUS=";
        size_t off = strlen(buf);

        summary_status_line(&m->summary, buf + off, sizeof(buf) - off);
        off = strlen(buf);
        if (m->last_poll_error < 0 && off < sizeof(buf))
                snprintf(buf + off, sizeof(buf) - off, " (last poll failed: %s)", strerror(-m->last_poll_error));
        (void) sd_notify(false, buf);
}

/* ---- the poll ---- */

static int dump_families(struct manager *m, struct diag *d, struct observe_ctx *ctx) {
        static const struct {
                unsigned flag;
                int family;
        } families[] = {
                { CONFIG_FAMILY_IPV4, AF_INET },
                { CONFIG_FAMILY_IPV6, AF_INET6 },
        };

        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                int r;

                if (!(m->config.families & families[i].flag))
                        continue;
                r = diag_dump(d, families[i].family, m->config.states, observe, ctx);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* max_netns as our file limit allows it: one descriptor per namespace, and
 * CONFIG_FD_RESERVE (at most half the limit) for everything else. Said once
 * per value when it is less than configured. */
static unsigned netns_cap(struct manager *m) {
        unsigned cap = m->config.max_netns;
        rlim_t want = (rlim_t) cap + CONFIG_FD_RESERVE;
        struct rlimit rl;

        /* the soft limit up to what we need, as far as the hard one allows
         * (systemd's advice for services that need many descriptors) */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
                rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
                rlim_t reserve = rl.rlim_cur / 2 < CONFIG_FD_RESERVE ? rl.rlim_cur / 2 : CONFIG_FD_RESERVE;
                rlim_t room = rl.rlim_cur - reserve;

                if (room < cap)
                        cap = room > 0 ? (unsigned) room : 1;
        }
        if (cap < m->config.max_netns && cap != m->netns_cap_told)
                log_warning("max_netns = %u does not fit the file limit (%llu descriptors): watching at most %u "
                            "network namespaces besides ours (raise LimitNOFILE=, see finwatchd(8))",
                            m->config.max_netns, (unsigned long long) rl.rlim_cur, cap);
        m->netns_cap_told = cap < m->config.max_netns ? cap : 0;
        return cap;
}

/* Find the namespaces again; in host mode that closes all but ours (a
 * reload from netns = all leaves nothing pinned). What could not be watched
 * is counted for status and metrics, and said in a warning that comes
 * again only when the counts change, at most every 10 minutes. */
static void discover_netns(struct manager *m, uint64_t now) {
        struct netns_unwatched *u = &m->netns_unwatched;
        char names[ESCAPE_MAX_PER_BYTE * NETNS_NAMES_MAX + 1];
        int r;

        r = netns_set_discover(m->netns, (enum netns_mode) m->config.netns_mode, m->config.netns_names,
                               m->netns_cap, u);
        if (r < 0 && r != m->netns_error)
                log_warning("cannot look for network namespaces, watching those found before: %s", strerror(-r));
        m->netns_error = r < 0 ? r : 0;
        if (netns_unwatched_total(u) == 0)
                m->netns_warned_of = *u; /* all watched again: the next trouble is said at once */
        if (netns_unwatched_total(u) == 0 || memcmp(u, &m->netns_warned_of, sizeof(*u)) == 0)
                return;
        /* a reason not said yet is said at once; new counts wait their turn */
        if (!(u->denied && !m->netns_warned_of.denied) && !(u->no_fds && !m->netns_warned_of.no_fds) &&
            !(u->over_cap && !m->netns_warned_of.over_cap) && !(u->not_netns && !m->netns_warned_of.not_netns) &&
            m->netns_warned &&
            now - m->netns_warned < MANAGER_NETNS_WARN_INTERVAL_USEC)
                return;
        escape_cut(names, sizeof(names), u->not_netns_names);
        log_warning("%u network namespace%s not watched: %u permission denied (watching needs CAP_SYS_ADMIN, and "
                    "CAP_SYS_PTRACE for other users' processes), %u out of file descriptors, %u past max_netns = %u, "
                    "%u entr%s of /run/netns that %s no network namespace%s%s%s",
                    netns_unwatched_total(u), netns_unwatched_total(u) == 1 ? "" : "s", u->denied, u->no_fds,
                    u->over_cap, m->netns_cap, u->not_netns, u->not_netns == 1 ? "y" : "ies",
                    u->not_netns == 1 ? "is" : "are", names[0] ? " (" : "", names, names[0] ? ")" : "");
        m->netns_warned = now;
        m->netns_warned_of = *u;
}

int manager_poll(struct manager *m, uint64_t now) {
        struct observe_ctx ctx = { .m = m, .now = now, .peer_hold_polls = peer_hold_polls(m->config.interval) };
        const struct policy_kill_ops kill_ops = { .kill = policy_kill, .userdata = m };
        uint64_t start = now_usec(CLOCK_MONOTONIC), discovery;
        bool other_netns = m->config.netns_mode != NETNS_HOST;
        int r = 0;

        m->polls++;
        /* Other namespaces' limits are read through the same /proc/sys
         * (netns.c): this says it for them too. */
        r = cause_limits_read(&m->limits);
        if (newly_failing(&m->limits_error, r))
                log_warning("cannot read net.ipv4.tcp_orphan_retries and tcp_retries2: %s: "
                            "the fates assume the kernel's defaults", strerror(-r));
        discovery = now_usec(CLOCK_MONOTONIC);
        discover_netns(m, now);
        m->last_discovery_duration = other_netns ? now_usec(CLOCK_MONOTONIC) - discovery : 0;
        r = labels_begin(m->labels, m->netns); /* -ENOMEM: a failed poll, said below */

        tracker_begin(m->tracker);
        /* our own namespace (the set's home), then the others when watched;
         * ours always in host mode, whatever an earlier discovery said */
        for (size_t n = 0; r >= 0 && n < m->netns->n; n++) {
                struct netns *ns = &m->netns->v[n];
                bool home = ns->ino == m->netns->home_ino;
                bool watched = home ? !other_netns || ns->seen : other_netns && ns->seen;
                int e;

                if (!watched)
                        continue;
                ctx.netns_ino = home ? 0 : (uint32_t) ns->ino;
                ctx.limits = home ? &m->limits : &ns->limits;
                ctx.syn_challenges = peers_syn_growth(ns, home, &e);
                /* ours unreadable: said once (the others' have no process, often) */
                if (home && newly_failing(&m->syn_counter_error, e))
                        log_warning("cannot read TcpExtTCPSYNChallenge from /proc/self/net/netstat: %s: "
                                    "peers that keep reconnecting are not told apart", strerror(-e));
                r = dump_families(m, ns->diag, &ctx);
        }

        if (r < 0) {
                /* A partial dump proves nothing about what is gone: no sweep,
                 * no alerts from it. Say it once per new error. */
                m->poll_failures++;
                metrics_count_poll_error(&m->metrics, r);
                if (r != m->last_poll_error)
                        log_error("poll failed, keeping the previous state: %s", strerror(-r));
                m->last_poll_error = r;
        } else {
                if (m->last_poll_error < 0)
                        log_notice("socket dumps work again");
                m->last_poll_error = 0;
                r = tracker_sweep(m->tracker, now, m->config.alert_after, m->config.alert_repeat, &tracker_ops, m);
                if (r >= 0)
                        peers_announce(m->tracker, &m->alerter, m->labels, now);
                if (r < 0)
                        log_error("tracker sweep: %s", strerror(-r));
                else if ((r = policy_run(&m->policy, &m->config, m->tracker, &m->alerter, m->labels, &kill_ops,
                                         now)) < 0)
                        log_error("auto-kill: %s", strerror(-r));
                else if (r > 0)
                        m->state_dirty = true;
        }
        /* one count of the table, for everyone who reports it */
        manager_summarize(m, now);
        if (m->last_poll_error == 0)
                check_orphans(m);
        alert_tick(&m->alerter, now, false);

        if (m->state_dirty && now - m->last_save >= MANAGER_SAVE_INTERVAL_USEC)
                save_state(m, now);
        /* the metrics say how long the poll took up to their writing */
        write_metrics(m, now_usec(CLOCK_MONOTONIC) - start);
        notify_status(m);
        if (!m->ready && m->last_poll_error == 0) {
                (void) sd_notify(false, "READY=1");
                m->ready = true;
        }
        /* the status: the whole poll, what it wrote included */
        m->last_poll_duration = now_usec(CLOCK_MONOTONIC) - start;
        return m->last_poll_error;
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        int r;

        (void) manager_poll(m, manager_now());

        /* Next poll one interval after this one was due; if we fell behind,
         * one interval from now instead of a burst. */
        usec += m->config.interval;
        if (usec < manager_now())
                usec = manager_now() + m->config.interval;
        r = sd_event_source_set_time(s, usec);
        if (r >= 0)
                r = sd_event_source_set_enabled(s, SD_EVENT_ON);
        if (r < 0) {
                /* sd-event would switch the timer off and the watchdog would
                 * still be fed: stop loudly instead of watching nothing. */
                log_error("cannot schedule the next poll: %s", strerror(-r));
                return sd_event_exit(sd_event_source_get_event(s), 1);
        }
        return 0;
}

/* ---- reload ---- */

/* Sockets in states or families the new config does not watch would vanish
 * from the dumps and be reported "cleared" while still stuck: forget them
 * quietly instead. */
static void drop_unwatched(struct manager *m, const struct config *c) {
        _cleanup_(freep) uint64_t *drop = NULL;
        size_t n = 0, allocated = 0, iter = 0;
        const struct tracked *e;

        while ((e = tracker_next(m->tracker, &iter))) {
                unsigned fam = e->id.family == AF_INET ? CONFIG_FAMILY_IPV4 : CONFIG_FAMILY_IPV6;

                /* back to netns = host: the others' sockets are no longer seen */
                if ((c->states & DIAG_STATE_BIT(e->state)) && (c->families & fam) &&
                    (e->id.netns_ino == 0 || c->netns_mode != NETNS_HOST))
                        continue;
                if (GROW(drop, allocated, n + 1, 64) < 0)
                        break;
                drop[n++] = e->id.cookie;
        }
        for (size_t i = 0; i < n; i++)
                tracker_forget(m->tracker, drop[i]);
        if (n > 0) {
                log_info("no longer watching %zu tracked socket%s (states, families or namespaces changed)", n,
                         n == 1 ? "" : "s");
                m->state_dirty = true;
        }
}

int manager_reload(struct manager *m, char *err, size_t errsize) {
        struct config c;
        int r;

        (void) sd_notify(false, "RELOADING=1");
        r = config_load(m->config_path, &c, err, errsize);
        if (r == -ENOENT) {
                log_notice("%s does not exist, using the defaults", m->config_path);
                config_defaults(&c);
        } else if (r < 0) {
                log_error("reload failed, keeping the running config: %s", err);
                (void) sd_notify(false, "READY=1");
                return r;
        }

        drop_unwatched(m, &c);
        manager_summarize(m, manager_now()); /* what status says, now */
        if (strcmp(c.control_socket, m->config.control_socket) != 0)
                log_notice("the control socket stays at %s until a restart", m->config.control_socket);
        if (strcmp(c.state_file, m->config.state_file) != 0)
                log_notice("the state file is now %s", c.state_file);
        m->config = c;
        m->netns_cap = netns_cap(m);
        m->alerter.max_per_minute = c.alert_max_per_minute;
        /* The new interval takes effect from now. */
        (void) sd_event_source_set_time(m->poll_timer, manager_now() + c.interval);
        log_info("reloaded %s", m->config_path);
        (void) sd_notify(false, "READY=1");
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        char err[512];

        (void) manager_reload(userdata, err, sizeof(err));
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* ---- lifecycle ---- */

static void make_parent_dir(const char *path) {
        char dir[256];
        char *slash;

        if (!path[0] || strlen(path) >= sizeof(dir))
                return;
        strcpy(dir, path);
        slash = strrchr(dir, '/');
        if (!slash || slash == dir)
                return;
        *slash = '\0';
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                log_warning("cannot create %s: %s", dir, strerror(errno));
}

/* The loop, its signals, the poll timer and the watchdog. */
static int setup_event(struct manager *m) {
        sigset_t mask;
        int r;

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        r = sd_event_new(&m->event);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGTERM, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_exit_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_sighup, m);
        if (r >= 0)
                /* First poll at once; accuracy 1us: the interval is the user's. */
                r = sd_event_add_time(m->event, &m->poll_timer, CLOCK_BOOTTIME, 0, 1, on_poll_timer, m);
        if (r >= 0)
                r = sd_event_set_watchdog(m->event, true);
        return r;
}

int manager_new(struct manager **ret, const struct config *config, const char *config_path,
                control_handler_fn handler) {
        _cleanup_(manager_freep) struct manager *m = calloc(1, sizeof(*m));
        struct cgroup_cache *cgroups = NULL;
        int r;

        if (!m)
                return -ENOMEM;
        m->config = *config;
        m->config_path = config_path;
        m->orphan_budget_armed = true;

        r = statefile_clock_get(&m->clock);
        if (r < 0) {
                log_error("cannot read the boot id: %s", strerror(-r));
                return r;
        }
        r = statefile_timens_offset(&m->clock.timens_offset);
        if (r < 0)
                log_warning("cannot read /proc/self/timens_offsets (%s): taking CLOCK_BOOTTIME for the host's; "
                            "ages from a state file written in another time namespace would be off", strerror(-r));

        r = tracker_new(&m->tracker);
        if (r < 0) {
                log_error("cannot set up the table of sockets: %s", strerror(-r));
                return r;
        }

        /* ours alone unless [monitor] netns watches others */
        m->netns_cap = netns_cap(m);
        r = netns_set_new(&m->netns);
        if (r < 0) {
                log_error("netlink sock_diag unavailable: %s", strerror(-r));
                return r;
        }

        if (alert_journal_reachable(NULL))
                alerter_init(&m->alerter, config->alert_max_per_minute, alert_sink_journal, NULL);
        else {
                log_warning("journald is not reachable (/run/systemd/journal/socket): alerts go to stderr");
                alerter_init(&m->alerter, config->alert_max_per_minute, alert_sink_stderr, NULL);
        }

        if (cgroup_cache_new(&cgroups) < 0)
                log_notice("no cgroup v2 hierarchy: sockets are not attributed to units");
        r = labels_new(&m->labels, cgroups);
        if (r < 0) {
                log_error("cannot set up the labels: %s", strerror(-r));
                return r;
        }

        r = setup_event(m);
        if (r < 0) {
                log_error("event loop setup: %s", strerror(-r));
                return r;
        }

        /* /run/finwatch when run by hand; systemd's RuntimeDirectory= otherwise */
        make_parent_dir(m->config.state_file);
        make_parent_dir(m->config.control_socket);

        r = control_new(&m->control, m->event, m->config.control_socket, handler, m);
        if (r == -ENOTSOCK) {
                struct stat st;

                log_error("cannot listen on %s: it is %s, not a socket: left alone (remove it, or set "
                          "[daemon] control_socket)", m->config.control_socket,
                          lstat(m->config.control_socket, &st) == 0 ? file_type_name(st.st_mode) : "something else");
                return r;
        }
        if (r < 0) {
                log_error("cannot listen on %s: %s", m->config.control_socket, strerror(-r));
                return r;
        }
        if (FW_CONTROL_QUEUE_MIB > 0) { /* a benchmark's build (-Dcontrol_queue_mib) */
                struct control_limits limits = CONTROL_LIMITS_DEFAULT;

                limits.queue_max = (size_t) FW_CONTROL_QUEUE_MIB << 20;
                (void) control_set_limits(m->control, &limits);
                log_notice("replies queued for other users' clients: up to %d MiB (set at build time)",
                           FW_CONTROL_QUEUE_MIB);
        }

        r = diag_destroy_supported(manager_diag_of(m, 0));
        m->destroy_supported = r >= 0 ? r : -1;
        if (r == 0)
                log_warning("this kernel cannot kill sockets (built without CONFIG_INET_DIAG_DESTROY): "
                            "watching and alerting only");

        r = load_state(m);
        if (r < 0) {
                log_error("cannot set up the table of sockets: %s", strerror(-r));
                return r;
        }
        m->started = manager_now();

        *ret = TAKE_PTR(m);
        return 0;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        control_free(m->control);
        sd_event_source_unref(m->poll_timer);
        sd_event_unref(m->event);
        policy_state_done(&m->policy);
        summary_done(&m->summary);
        labels_free(m->labels);
        netns_set_free(m->netns);
        tracker_free(m->tracker);
        free(m);
        return NULL;
}

int manager_run(struct manager *m) {
        int r;

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        /* Nothing held back is lost, and ages outlive the restart. */
        alert_tick(&m->alerter, manager_now(), true);
        save_state(m, manager_now());
        if (r < 0) {
                log_error("event loop: %s", strerror(-r));
                return 1;
        }
        return r;
}
