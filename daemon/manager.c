/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

#include "fw-config.h"
#include "log.h"
#include "manager.h"
#include "sockfmt.h"
#include "statefile.h"
#include "util.h"

static uint64_t now_boottime(void) {
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

        alert_stuck(&m->alerter, e, age, repeat, e->last_seen);
        m->state_dirty = true;
}

static void on_gone(const struct tracked *e, uint64_t now, void *userdata) {
        struct manager *m = userdata;

        /* Only what was alerted gets a "cleared" record: the rest was never news. */
        if (e->alerted)
                alert_cleared(&m->alerter, e, now);
        m->state_dirty = true;
}

static const struct tracker_ops tracker_ops = {
        .stuck = on_stuck,
        .gone = on_gone,
};

struct observe_ctx {
        struct manager *m;
        uint64_t now;
        uint64_t netns_ino;              /* 0: ours */
        const struct tcp_limits *limits; /* of that namespace */
};

static int observe(const struct fw_sock *s, void *userdata) {
        struct observe_ctx *ctx = userdata;
        struct fw_sock annotated = *s;
        int r;

        annotated.id.netns_ino = (uint32_t) ctx->netns_ino;
        cause_annotate(&annotated, ctx->limits);
        r = tracker_observe(ctx->m->tracker, &annotated, ctx->now);
        if (r > 0)
                ctx->m->state_dirty = true;
        return r < 0 ? r : 0;
}

/* ---- status, state file ---- */

static void notify_status(struct manager *m) {
        unsigned per_state[FW_TCP_MAX_STATES] = {};
        char buf[256];
        size_t off, iter = 0, n = tracker_size(m->tracker);
        const struct tracked *e;

        while ((e = tracker_next(m->tracker, &iter)))
                per_state[e->state]++;

        off = (size_t) snprintf(buf, sizeof(buf), "STATUS=tracking %zu stuck socket%s", n, n == 1 ? "" : "s");
        for (unsigned s = 0, first = 1; s < FW_TCP_MAX_STATES && off < sizeof(buf); s++) {
                if (!per_state[s])
                        continue;
                off += (size_t) snprintf(buf + off, sizeof(buf) - off, "%s%u %s", first ? ": " : ", ",
                                         per_state[s], sockfmt_state_name((uint8_t) s));
                first = 0;
        }
        if (m->last_poll_error < 0 && off < sizeof(buf))
                snprintf(buf + off, sizeof(buf) - off, " (last poll failed: %s)", strerror(-m->last_poll_error));
        (void) sd_notify(false, buf);
}

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

static void load_state(struct manager *m) {
        char err[256] = "";
        int r;

        if (!m->config.state_file[0])
                return;
        r = statefile_load(m->config.state_file, &m->clock, now_boottime(), m->tracker, err, sizeof(err));
        if (r >= 0) {
                log_info("restored %d tracked socket%s from %s", r, r == 1 ? "" : "s", m->config.state_file);
                return;
        }
        if (r == -ENOENT)
                return;
        log_warning("ignoring state file %s: %s", m->config.state_file, err[0] ? err : strerror(-r));
        /* Part of it may be in: start over with nothing. */
        tracker_free(m->tracker);
        m->tracker = NULL;
        if (tracker_new(&m->tracker) < 0)
                m->tracker = NULL;
}

/* ---- namespaces ---- */

/* The sock_diag socket of a namespace (0: ours); NULL when it is not watched. */
static struct diag *diag_of(struct manager *m, uint64_t netns_ino) {
        struct netns *ns;

        if (netns_ino == 0)
                return m->diag;
        ns = m->netns ? netns_set_find(m->netns, netns_ino) : NULL;
        return ns ? ns->diag : NULL;
}

static const char *netns_of(uint64_t netns_ino, void *userdata) {
        struct manager *m = userdata;
        struct netns *ns;

        if (netns_ino == 0)
                return "host";
        ns = m->netns ? netns_set_find(m->netns, netns_ino) : NULL;
        return ns ? ns->name : NULL;
}

/* Kill by the namespace the socket lives in. */
static int kill_in(struct manager *m, const struct sock_id *id, uint8_t *state) {
        struct diag *d = diag_of(m, id->netns_ino);

        return d ? diag_kill(d, id, state) : -ENOENT;
}

/* ---- kills ---- */

/* Collect a cookie to act on after a pass over the table (acting may change
 * the table). The buffer is the manager's, reused from poll to poll. */
static bool push_candidate(struct manager *m, size_t *n, uint64_t cookie) {
        if (GROW(m->candidates, m->candidates_allocated, *n + 1, 64) < 0)
                return false;
        m->candidates[(*n)++] = cookie;
        return true;
}

static void count_kill(struct manager *m, int r) {
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
}

/* The [kill] policy, after a complete poll: every due socket is killed (or,
 * in dry-run, recorded) within the per-minute budget; the rest wait. */
static void auto_kill(struct manager *m, uint64_t now) {
        const struct tracked *e;
        size_t n = 0, iter = 0;
        unsigned deferred = 0;

        if (m->config.kill_auto == KILL_POLICY_NO)
                return;

        /* Collect first: a kill removes entries from the table. */
        while ((e = tracker_next(m->tracker, &iter))) {
                if (e->kill_noted || !policy_wants_kill(&m->config, e, now))
                        continue;
                if (!push_candidate(m, &n, e->id.cookie))
                        break;
        }

        for (size_t i = 0; i < n; i++) {
                struct tracked copy;
                uint8_t state;
                int r;

                e = tracker_get(m->tracker, m->candidates[i]);
                if (!e)
                        continue;
                if (!policy_budget_take(&m->kill_budget, m->config.kill_max_per_minute, now)) {
                        deferred++;
                        continue;
                }
                copy = *e;
                if (m->config.kill_auto == KILL_POLICY_DRY_RUN) {
                        alert_killed(&m->alerter, &copy, 0, now - copy.state_since, KILL_AUTO_DRY_RUN, 0, 0);
                        tracker_set_kill_noted(m->tracker, copy.id.cookie);
                        continue;
                }
                state = copy.state;
                r = kill_in(m, &copy.id, &state);
                alert_killed(&m->alerter, &copy, r, now - copy.state_since, KILL_AUTO, 0, 0);
                count_kill(m, r);
                if (r == 0 || r == -ENOENT)
                        tracker_forget(m->tracker, copy.id.cookie);
                else
                        tracker_set_kill_noted(m->tracker, copy.id.cookie); /* no retry every poll */
                m->state_dirty = true;
        }

        if (deferred > 0 && !m->kill_budget.deferral_told) {
                alert_kill_deferred(&m->alerter, deferred, m->config.kill_max_per_minute);
                m->kill_budget.deferral_told = true;
        }
}

/* ---- control requests ---- */

static void handle_list(struct manager *m, struct reply *reply) {
        _cleanup_(freep) uint8_t *buf = NULL;
        struct proto_tracked_head head = {};
        const struct tracked *e;
        uint64_t now = now_boottime(), total = 0;
        size_t iter = 0;

        buf = malloc(sizeof(head) + PROTO_TRACKED_PER_MSG * sizeof(struct proto_tracked));
        if (!buf) {
                control_reply_error(reply, -ENOMEM, "out of memory");
                return;
        }
        for (;;) {
                e = tracker_next(m->tracker, &iter);
                if (e) {
                        struct proto_tracked t = {
                                .cookie = e->id.cookie,
                                .age_usec = now > e->state_since ? now - e->state_since : 0,
                                .first_seen_ago_usec = now > e->first_seen ? now - e->first_seen : 0,
                                .state = e->state,
                                .alerted = e->alerted,
                        };
                        memcpy(buf + sizeof(head) + head.count * sizeof(t), &t, sizeof(t));
                        head.count++;
                        total++;
                }
                if ((!e && head.count > 0) || head.count == PROTO_TRACKED_PER_MSG) {
                        memcpy(buf, &head, sizeof(head));
                        control_reply_add(reply, PROTO_REPLY_TRACKED, buf, sizeof(head) + head.count * sizeof(struct proto_tracked));
                        head.count = 0;
                }
                if (!e)
                        break;
        }
        control_reply_add(reply, PROTO_REPLY_END, &total, sizeof(total));
}

static void handle_status(struct manager *m, struct reply *reply) {
        struct proto_status st = {
                .uptime_usec = now_boottime() - m->started,
                .interval_usec = m->config.interval,
                .last_poll_usec = m->last_poll_duration,
                .polls = m->polls,
                .poll_failures = m->poll_failures,
                .alerts_sent = m->alerter.sent_total,
                .alerts_held = m->alerter.held_total,
                .kills_ok = m->metrics.kills_killed + m->metrics.kills_gone,
                .kills_failed = m->metrics.kills_failed,
                .tracked = (uint32_t) tracker_size(m->tracker),
                .destroy_supported = m->destroy_supported,
                .last_poll_error = m->last_poll_error,
        };
        const struct tracked *e;
        size_t iter = 0;

        snprintf(st.version, sizeof(st.version), "%s", FW_VERSION);
        snprintf(st.config_path, sizeof(st.config_path), "%s", m->config_path);
        while ((e = tracker_next(m->tracker, &iter)))
                if (e->state < ELEMENTSOF(st.per_state))
                        st.per_state[e->state]++;
        control_reply_add(reply, PROTO_REPLY_STATUS, &st, sizeof(st));
}

static void handle_kill(struct manager *m, const struct proto_msg *req, const struct ucred *peer,
                        struct reply *reply) {
        _cleanup_(freep) uint8_t *out = NULL;
        struct proto_kill_head head;
        uint64_t now = now_boottime();

        if (peer->uid != 0) {
                control_reply_error(reply, -EPERM, "permission denied: only root may kill sockets");
                return;
        }
        memcpy(&head, req->payload, sizeof(head));
        out = malloc(sizeof(head) + (size_t) head.count * sizeof(struct proto_kill_result));
        if (!out) {
                control_reply_error(reply, -ENOMEM, "out of memory");
                return;
        }

        for (uint32_t i = 0; i < head.count; i++) {
                struct proto_sock_id w;
                struct proto_kill_result res;
                const struct tracked *known;
                struct tracked view = {};
                struct sock_id id;
                uint8_t state;
                int r;

                memcpy(&w, req->payload + sizeof(head) + i * sizeof(w), sizeof(w));
                proto_id_to_sock(&w, &id, &state);
                known = tracker_get(m->tracker, id.cookie);
                /* the namespace it lives in, as the daemon saw it; ours if unknown */
                id.netns_ino = known ? known->id.netns_ino : 0;
                r = kill_in(m, &id, &state);
                if (known)
                        view = *known;
                else
                        view.id = id;
                view.state = state;
                alert_killed(&m->alerter, &view, r, known ? now - known->state_since : UINT64_MAX,
                             KILL_MANUAL, (uint32_t) peer->uid, (uint32_t) peer->pid);
                count_kill(m, r);
                if (r == 0 || r == -ENOENT) {
                        tracker_forget(m->tracker, id.cookie);
                        m->state_dirty = true;
                }
                res = (struct proto_kill_result) { .cookie = id.cookie, .error = r, .state = state };
                memcpy(out + sizeof(head) + i * sizeof(res), &res, sizeof(res));
        }
        head.flags = 0;
        memcpy(out, &head, sizeof(head));
        control_reply_add(reply, PROTO_REPLY_KILLED, out, sizeof(head) + (size_t) head.count * sizeof(struct proto_kill_result));
}

void manager_handle_request(const struct proto_msg *req, const struct ucred *peer, struct reply *reply,
                            void *userdata) {
        struct manager *m = userdata;
        char err[512] = "";

        switch (req->type) {
        case PROTO_REQ_LIST:
                handle_list(m, reply);
                break;
        case PROTO_REQ_STATUS:
                handle_status(m, reply);
                break;
        case PROTO_REQ_KILL:
                handle_kill(m, req, peer, reply);
                break;
        case PROTO_REQ_RELOAD:
                /* finwatchd's own user too: the unit's ExecReload= runs
                 * `finwatch reload` as User=finwatch. */
                if (peer->uid != 0 && peer->uid != geteuid())
                        control_reply_error(reply, -EPERM, "permission denied: only root (or finwatchd's own user) may reload finwatchd");
                else if (manager_reload(m, err, sizeof(err)) < 0)
                        control_reply_error(reply, -EINVAL, "reload failed, running config kept: %s", err);
                else
                        control_reply_add(reply, PROTO_REPLY_OK, NULL, 0);
                break;
        default:
                control_reply_error(reply, -EOPNOTSUPP, "unknown request %u", (unsigned) req->type);
        }
}

/* The unit of a cgroup, for FINWATCH_UNIT: valid until the next call. */
static const char *unit_of(uint64_t cgroup_id, void *userdata) {
        struct manager *m = userdata;
        const char *path;
        int r;

        if (!m->cgroups)
                return NULL;
        r = cgroup_cache_lookup(m->cgroups, cgroup_id, &path);
        if (r < 0)
                return NULL;
        if (r == 0)
                return "(deleted cgroup)";
        cgroup_path_unit(path, m->unit_buf, sizeof(m->unit_buf));
        return m->unit_buf;
}

/* ---- the orphan budget ---- */

struct unit_count {
        uint64_t cgroup_id;
        unsigned count;
};

static int cmp_count_desc(const void *a, const void *b) {
        const struct unit_count *x = a, *y = b;

        return x->count > y->count ? -1 : x->count < y->count;
}

/* "nginx.service=120, docker-1.scope=4": the units with the most tracked orphans. */
static void top_orphan_units(struct manager *m, char *buf, size_t size) {
        struct unit_count counts[256];
        size_t n = 0, iter = 0, off = 0;
        const struct tracked *e;

        buf[0] = '\0';
        while ((e = tracker_next(m->tracker, &iter))) {
                size_t i;

                if (!e->orphan || !e->has_cgroup_id)
                        continue;
                for (i = 0; i < n && counts[i].cgroup_id != e->cgroup_id; i++)
                        ;
                if (i == n) {
                        if (n == ELEMENTSOF(counts))
                                continue;
                        counts[n++] = (struct unit_count) { .cgroup_id = e->cgroup_id };
                }
                counts[i].count++;
        }
        qsort(counts, n, sizeof(*counts), cmp_count_desc);
        for (size_t i = 0; i < n && i < 5 && off < size; i++) {
                const char *unit = unit_of(counts[i].cgroup_id, m);
                int r = snprintf(buf + off, size - off, "%s%s=%u", i ? ", " : "",
                                 unit && unit[0] ? unit : "-", counts[i].count);

                if (r < 0 || (size_t) r >= size - off)
                        break;
                off += (size_t) r;
        }
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
                top_orphan_units(m, top, sizeof(top));
                alert_orphan_budget(&m->alerter, c.orphans, c.max_orphans, m->config.orphan_budget_bp, top);
        }
}

/* ---- metrics ---- */

/* Stuck sockets by unit and by namespace, for the metrics: a label each,
 * counted over the table (a pass, no allocation beyond the reused buffer). */
static void count_by_labels(struct manager *m) {
        struct metrics_label_count units[256], nets[64];
        size_t nu = 0, nn = 0, iter = 0;
        const struct tracked *e;

        while ((e = tracker_next(m->tracker, &iter))) {
                const char *unit = e->has_cgroup_id ? unit_of(e->cgroup_id, m) : NULL;
                const char *ns = netns_of(e->id.netns_ino, m);
                size_t i;

                if (!unit || !unit[0])
                        unit = "-";
                for (i = 0; i < nu && strcmp(units[i].label, unit) != 0; i++)
                        ;
                if (i == nu && nu < ELEMENTSOF(units)) {
                        snprintf(units[nu].label, sizeof(units[nu].label), "%.63s", unit);
                        units[nu++].count = 0;
                }
                if (i < nu)
                        units[i].count++;

                if (!ns)
                        ns = "-";
                for (i = 0; i < nn && strcmp(nets[i].label, ns) != 0; i++)
                        ;
                if (i == nn && nn < ELEMENTSOF(nets)) {
                        snprintf(nets[nn].label, sizeof(nets[nn].label), "%.63s", ns);
                        nets[nn++].count = 0;
                }
                if (i < nn)
                        nets[i].count++;
        }
        metrics_top(m->metrics.by_unit, units, nu);
        metrics_top(m->metrics.by_netns, nets, nn);
}

static void write_metrics(struct manager *m, uint64_t now) {
        struct metrics *x = &m->metrics;
        const struct tracked *e;
        size_t iter = 0;
        int r;

        if (!m->config.metrics_textfile[0])
                return;
        x->watched_states = m->config.states;
        memset(x->stuck, 0, sizeof(x->stuck));
        memset(x->oldest_usec, 0, sizeof(x->oldest_usec));
        memset(x->stuck_by_cause, 0, sizeof(x->stuck_by_cause));
        while ((e = tracker_next(m->tracker, &iter))) {
                uint64_t age = now > e->state_since ? now - e->state_since : 0;

                x->stuck[e->state]++;
                if (e->cause < ELEMENTSOF(x->stuck_by_cause))
                        x->stuck_by_cause[e->cause]++;
                if (age > x->oldest_usec[e->state])
                        x->oldest_usec[e->state] = age;
        }
        count_by_labels(m);
        x->alerts_sent = m->alerter.sent_total;
        x->alerts_held = m->alerter.held_total;
        x->polls = m->polls;
        x->poll_duration_usec = m->last_poll_duration;

        r = metrics_write(m->config.metrics_textfile, x);
        if (r < 0 && !m->metrics_error_told) {
                log_warning("cannot write metrics to %s: %s", m->config.metrics_textfile, strerror(-r));
                m->metrics_error_told = true;
        } else if (r >= 0)
                m->metrics_error_told = false;
}

/* ---- poll ---- */

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

int manager_poll(struct manager *m, uint64_t now) {
        struct observe_ctx ctx = { .m = m, .now = now };
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        int r = 0, limits_r;

        m->polls++;
        /* Other namespaces' limits are read through the same /proc/sys
         * (netns.c): this says it for them too. */
        limits_r = cause_limits_read(&m->limits);
        if (newly_failing(&m->limits_error, limits_r))
                log_warning("cannot read net.ipv4.tcp_orphan_retries and tcp_retries2: %s: "
                            "the fates assume the kernel's defaults", strerror(-limits_r));
        if (m->cgroups)
                cgroup_cache_refresh_allowed(m->cgroups);
        if (m->config.netns_mode != NETNS_HOST) {
                unsigned denied = 0;

                if (!m->netns && (r = netns_set_new(&m->netns)) < 0)
                        log_error("cannot watch other network namespaces: %s", strerror(-r));
                if (m->netns && netns_set_discover(m->netns, (enum netns_mode) m->config.netns_mode,
                                                   m->config.netns_names, &denied) >= 0 && denied > 0 &&
                    !m->netns_denied_told) {
                        log_warning("%u network namespace%s left out: permission denied (watching needs CAP_SYS_ADMIN, "
                                    "and CAP_SYS_PTRACE for other users' processes)", denied, denied == 1 ? "" : "s");
                        m->netns_denied_told = true;
                }
                r = 0;
        }

        tracker_begin(m->tracker);
        if (m->config.netns_mode == NETNS_HOST || !m->netns) {
                ctx.limits = &m->limits;
                r = dump_families(m, m->diag, &ctx);
        } else
                for (size_t n = 0; n < m->netns->n && r >= 0; n++) {
                        struct netns *ns = &m->netns->v[n];

                        ctx.netns_ino = ns->ino == m->netns->home_ino ? 0 : ns->ino;
                        ctx.limits = &ns->limits;
                        r = dump_families(m, ns->diag, &ctx);
                }

        if (r < 0) {
                /* A partial dump proves nothing about what is gone: no sweep,
                 * no alerts from it. Say it once per new error. */
                m->poll_failures++;
                metrics_count_poll_error(&m->metrics, r);
                if (r != m->last_poll_error)
                        log_error("socket dump failed, keeping the previous state: %s", strerror(-r));
                m->last_poll_error = r;
        } else {
                if (m->last_poll_error < 0)
                        log_notice("socket dumps work again");
                m->last_poll_error = 0;
                r = tracker_sweep(m->tracker, now, m->config.alert_after, m->config.alert_repeat,
                                  &tracker_ops, m);
                if (r < 0)
                        log_error("tracker sweep: %s", strerror(-r));
                else
                        auto_kill(m, now);
                check_orphans(m);
        }
        alert_tick(&m->alerter, now, false);
        m->last_poll_duration = now_usec(CLOCK_MONOTONIC) - start;

        if (m->state_dirty && now - m->last_save >= MANAGER_SAVE_INTERVAL_USEC)
                save_state(m, now);
        write_metrics(m, now);
        notify_status(m);
        if (!m->ready && m->last_poll_error == 0) {
                (void) sd_notify(false, "READY=1");
                m->ready = true;
        }
        return r < 0 ? r : 0;
}

static int on_poll_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        struct manager *m = userdata;
        int r;

        (void) manager_poll(m, now_boottime());

        /* Next poll one interval after this one was due; if we fell behind,
         * one interval from now instead of a burst. */
        usec += m->config.interval;
        if (usec < now_boottime())
                usec = now_boottime() + m->config.interval;
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

/* ---- config ---- */

/* Sockets in states or families the new config does not watch would vanish
 * from the dumps and be reported "cleared" while still stuck: forget them
 * quietly instead. */
static void drop_unwatched(struct manager *m, const struct config *c) {
        const struct tracked *e;
        size_t n = 0, iter = 0;

        while ((e = tracker_next(m->tracker, &iter))) {
                unsigned fam = e->id.family == AF_INET ? CONFIG_FAMILY_IPV4 : CONFIG_FAMILY_IPV6;

                if ((c->states & DIAG_STATE_BIT(e->state)) && (c->families & fam))
                        continue;
                if (!push_candidate(m, &n, e->id.cookie))
                        break;
        }
        for (size_t i = 0; i < n; i++)
                tracker_forget(m->tracker, m->candidates[i]);
        if (n > 0) {
                log_info("no longer watching %zu tracked socket%s (states or families changed)", n, n == 1 ? "" : "s");
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
        if (strcmp(c.control_socket, m->config.control_socket) != 0)
                log_notice("the control socket stays at %s until a restart", m->config.control_socket);
        if (strcmp(c.state_file, m->config.state_file) != 0)
                log_notice("the state file is now %s", c.state_file);
        m->config = c;
        m->alerter.max_per_minute = c.alert_max_per_minute;
        /* The new interval takes effect from now. */
        (void) sd_event_source_set_time(m->poll_timer, now_boottime() + c.interval);
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

int manager_new(struct manager **ret, const struct config *config, const char *config_path) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->config = *config;
        m->config_path = config_path;

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
        if (r < 0)
                return r;

        r = diag_open(&m->diag);
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

        m->orphan_budget_armed = true;
        m->alerter.unit_of = unit_of;
        m->alerter.netns_of = netns_of;
        m->alerter.unit_userdata = m;
        if (cgroup_cache_new(&m->cgroups) < 0)
                log_notice("no cgroup v2 hierarchy: sockets are not attributed to units");

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
                return -errno;

        r = sd_event_new(&m->event);
        if (r < 0)
                return r;
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
        if (r < 0) {
                log_error("event loop setup: %s", strerror(-r));
                return r;
        }

        /* /run/finwatch when run by hand; systemd's RuntimeDirectory= otherwise */
        make_parent_dir(m->config.state_file);
        make_parent_dir(m->config.control_socket);

        r = control_new(&m->control, m->event, m->config.control_socket, manager_handle_request, m);
        if (r < 0) {
                log_error("cannot listen on %s: %s", m->config.control_socket, strerror(-r));
                return r;
        }

        r = diag_destroy_supported(m->diag);
        m->destroy_supported = r >= 0 ? r : -1;
        if (r == 0)
                log_warning("this kernel cannot kill sockets (built without CONFIG_INET_DIAG_DESTROY): "
                            "watching and alerting only");

        load_state(m);
        if (!m->tracker)
                return -ENOMEM;
        m->started = now_boottime();

        *ret = TAKE_PTR(m);
        return 0;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        control_free(m->control);
        sd_event_source_unref(m->poll_timer);
        sd_event_unref(m->event);
        free(m->candidates);
        diag_free(m->diag);
        netns_set_free(m->netns);
        tracker_free(m->tracker);
        cgroup_cache_free(m->cgroups);
        free(m);
        return NULL;
}

int manager_run(struct manager *m) {
        int r;

        r = sd_event_loop(m->event);
        (void) sd_notify(false, "STOPPING=1");
        /* Nothing held back is lost, and ages outlive the restart. */
        alert_tick(&m->alerter, now_boottime(), true);
        save_state(m, now_boottime());
        if (r < 0) {
                log_error("event loop: %s", strerror(-r));
                return 1;
        }
        return r;
}
