/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-id128.h>

#include "log.h"
#include "manager.h"
#include "sockfmt.h"
#include "statefile.h"
#include "util.h"

static uint64_t now_boottime(void) {
        return now_usec(CLOCK_BOOTTIME);
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
};

static int observe(const struct fw_sock *s, void *userdata) {
        struct observe_ctx *ctx = userdata;
        int r;

        r = tracker_observe(ctx->m->tracker, s, ctx->now);
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
                                         per_state[s], tcp_state_to_string((uint8_t) s));
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
        r = statefile_save(m->config.state_file, m->boot_id, m->tracker);
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
        r = statefile_load(m->config.state_file, m->boot_id, now_boottime(), m->tracker, err, sizeof(err));
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

/* ---- poll ---- */

int manager_poll(struct manager *m, uint64_t now) {
        struct observe_ctx ctx = { .m = m, .now = now };
        static const struct {
                unsigned flag;
                int family;
        } families[] = {
                { CONFIG_FAMILY_IPV4, AF_INET },
                { CONFIG_FAMILY_IPV6, AF_INET6 },
        };
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        int r = 0;

        m->polls++;
        tracker_begin(m->tracker);
        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                if (!(m->config.families & families[i].flag))
                        continue;
                r = diag_dump(m->diag, families[i].family, m->config.states, observe, &ctx);
                if (r < 0)
                        break;
        }

        if (r < 0) {
                /* A partial dump proves nothing about what is gone: no sweep,
                 * no alerts from it. Say it once per new error. */
                m->poll_failures++;
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
        }
        alert_tick(&m->alerter, now, false);
        m->last_poll_duration = now_usec(CLOCK_MONOTONIC) - start;

        if (m->state_dirty && now - m->last_save >= MANAGER_SAVE_INTERVAL_USEC)
                save_state(m, now);
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
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

/* ---- config ---- */

int manager_reload(struct manager *m) {
        struct config c;
        char err[512] = "";
        int r;

        (void) sd_notify(false, "RELOADING=1");
        r = config_load(m->config_path, &c, err, sizeof(err));
        if (r == -ENOENT) {
                log_notice("%s does not exist, using the defaults", m->config_path);
                config_defaults(&c);
        } else if (r < 0) {
                log_error("reload failed, keeping the running config: %s", err);
                (void) sd_notify(false, "READY=1");
                return r;
        }

        m->config = c;
        m->alerter.max_per_minute = c.alert_max_per_minute;
        /* The new interval takes effect from now. */
        (void) sd_event_source_set_time(m->poll_timer, now_boottime() + c.interval);
        log_info("reloaded %s", m->config_path);
        (void) sd_notify(false, "READY=1");
        return 0;
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        (void) manager_reload(userdata);
        return 0;
}

static int on_exit_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        return sd_event_exit(sd_event_source_get_event(s), 0);
}

/* ---- lifecycle ---- */

int manager_new(struct manager **ret, const struct config *config, const char *config_path) {
        _cleanup_(manager_freep) struct manager *m = NULL;
        sd_id128_t boot;
        sigset_t mask;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->config = *config;
        m->config_path = config_path;

        r = sd_id128_get_boot(&boot);
        if (r < 0) {
                log_error("cannot read the boot id: %s", strerror(-r));
                return r;
        }
        memcpy(m->boot_id, boot.bytes, sizeof(m->boot_id));

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

        if (m->config.state_file[0]) {
                /* /run/finwatch when run by hand; systemd's RuntimeDirectory= otherwise */
                char dir[sizeof(m->config.state_file)];
                char *slash;

                strcpy(dir, m->config.state_file);
                slash = strrchr(dir, '/');
                if (slash && slash != dir) {
                        *slash = '\0';
                        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                                log_warning("cannot create %s: %s", dir, strerror(errno));
                }
        }
        load_state(m);
        if (!m->tracker)
                return -ENOMEM;

        *ret = TAKE_PTR(m);
        return 0;
}

struct manager *manager_free(struct manager *m) {
        if (!m)
                return NULL;
        sd_event_source_unref(m->poll_timer);
        sd_event_unref(m->event);
        diag_free(m->diag);
        tracker_free(m->tracker);
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
