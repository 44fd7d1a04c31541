/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <syslog.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>

#include "age.h"
#include "alert.h"
#include "cause.h"
#include "diag.h"
#include "record.h"
#include "sockfmt.h"
#include "util.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

static void send_record(struct alerter *a, struct record *r) {
        int ret = a->sink(r->iov, r->n, a->sink_userdata);

        a->last_error = ret < 0 ? ret : 0;
        a->sent_total++;
}

void alerter_init(struct alerter *a, unsigned max_per_minute, alert_sink_fn sink, void *userdata) {
        *a = (struct alerter) {
                .sink = sink,
                .sink_userdata = userdata,
                .max_per_minute = max_per_minute,
        };
}

void alert_tick(struct alerter *a, uint64_t now, bool force) {
        struct record r = {};
        unsigned held = a->held_stuck + a->held_cleared;

        if (!a->window_open)
                return;
        if (!force && now - a->window_start < ALERT_WINDOW_USEC)
                return;

        if (held > 0) {
                record_field(&r, "MESSAGE=%u more finwatch alerts held back by the rate limit (%u stuck, %u cleared; "
                          "at most %u a minute)", held, a->held_stuck, a->held_cleared, a->max_per_minute);
                record_field(&r, "PRIORITY=%d", LOG_WARNING);
                record_field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_SUMMARY);
                record_field(&r, "SYSLOG_IDENTIFIER=finwatchd");
                record_field(&r, "FINWATCH_HELD=%u", held);
                record_field(&r, "FINWATCH_HELD_STUCK=%u", a->held_stuck);
                record_field(&r, "FINWATCH_HELD_CLEARED=%u", a->held_cleared);
                record_field(&r, "FINWATCH_MAX_PER_MINUTE=%u", a->max_per_minute);
                send_record(a, &r);
        }
        a->window_open = false;
        a->held_stuck = a->held_cleared = 0;
        a->sent_in_window = 0;
}

/* May one more record go out now? */
static bool admit(struct alerter *a, uint64_t now) {
        alert_tick(a, now, false);
        if (!a->window_open) {
                a->window_open = true;
                a->window_start = now;
                a->sent_in_window = 0;
        }
        if (a->sent_in_window >= a->max_per_minute)
                return false;
        a->sent_in_window++;
        return true;
}

struct endpoints {
        char local[ENDPOINT_STRLEN];
        char peer[ENDPOINT_STRLEN];
};

static const struct endpoints *endpoints_of(struct endpoints *ep, const struct tracked *e) {
        sockfmt_endpoint(ep->local, sizeof(ep->local), e->id.family, e->id.src, e->id.sport);
        sockfmt_endpoint(ep->peer, sizeof(ep->peer), e->id.family, e->id.dst, e->id.dport);
        return ep;
}

/* What a record says of a tracked socket. */
static struct record_sock record_sock_of(const struct tracked *e, const struct sock_labels *l) {
        return (struct record_sock) {
                .id = e->id,
                .cgroup_id = e->cgroup_id,
                .fate_msec = e->fate_msec,
                .state = e->state,
                .timer = e->timer,
                .timer_count = e->timer_count,
                .cause = e->cause,
                .orphan = e->orphan,
                .has_cgroup_id = e->has_cgroup_id,
                .peer = e->peer,
                .unit = l->unit,
                .netns = l->netns,
                .container_id = l->container_id,
                .container_runtime = l->container_runtime,
                .pod_uid = l->pod_uid,
                .pod_qos = l->pod_qos,
        };
}

/* The fields every socket record has; MESSAGE, PRIORITY and MESSAGE_ID come first. */
static void socket_fields(struct record *r, const struct tracked *e, const struct sock_labels *l) {
        struct record_sock v = record_sock_of(e, l);

        record_socket(r, "finwatchd", &v);
}

/* FINWATCH_AGE_SOURCE: whose lower bound the age is (the larger wins) */
static const char *age_source_of(const struct tracked *e) {
        return age_source_to_string(tracker_age_source(e));
}

void alert_stuck(struct alerter *a, const struct tracked *e, const struct sock_labels *l, uint64_t age, bool repeat,
                 uint64_t now) {
        char age_s[DURATION_STRLEN];
        struct endpoints ep;
        struct record r = {};

        if (!admit(a, now)) {
                a->held_stuck++;
                a->held_total++;
                return;
        }
        endpoints_of(&ep, e);
        record_field(&r, "MESSAGE=%s %s -> %s stuck for %s, %s", sockfmt_state_name(e->state), ep.local, ep.peer,
              format_duration(age_s, sizeof(age_s), age), e->orphan ? "orphan" : "owned by a process");
        record_field(&r, "PRIORITY=%d", LOG_WARNING);
        record_field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_STUCK);
        record_field(&r, "FINWATCH_AGE_USEC=%" PRIu64, age);
        record_field(&r, "FINWATCH_AGE_SOURCE=%s", age_source_of(e));
        record_field(&r, "FINWATCH_REPEAT=%s", repeat ? "yes" : "no");
        socket_fields(&r, e, l);
        send_record(a, &r);
}

void alert_cleared(struct alerter *a, const struct tracked *e, const struct sock_labels *l, uint64_t now) {
        uint64_t stuck = tracker_age(e, e->last_seen);
        char age_s[DURATION_STRLEN];
        struct endpoints ep;
        struct record r = {};

        if (!admit(a, now)) {
                a->held_cleared++;
                a->held_total++;
                return;
        }
        endpoints_of(&ep, e);
        record_field(&r, "MESSAGE=%s %s -> %s cleared after being stuck for %s", sockfmt_state_name(e->state),
              ep.local, ep.peer, format_duration(age_s, sizeof(age_s), stuck));
        record_field(&r, "PRIORITY=%d", LOG_NOTICE);
        record_field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_CLEARED);
        record_field(&r, "FINWATCH_AGE_USEC=%" PRIu64, stuck);
        record_field(&r, "FINWATCH_AGE_SOURCE=%s", age_source_of(e));
        socket_fields(&r, e, l);
        send_record(a, &r);
}

bool alert_blocking(struct alerter *a, const struct tracked *e, const struct sock_labels *l, uint64_t now) {
        uint64_t age = tracker_age(e, now);
        char age_s[DURATION_STRLEN];
        struct endpoints ep;
        struct record r = {};

        if (!admit(a, now))
                return false; /* not held back: the caller tries again next poll */
        endpoints_of(&ep, e);
        record_field(&r, "MESSAGE=%s %s -> %s, stuck for %s, blocks a client: the peer keeps reconnecting from "
                     "%s and cannot until this socket goes", sockfmt_state_name(e->state), ep.local, ep.peer,
                     format_duration(age_s, sizeof(age_s), age), ep.peer);
        record_field(&r, "PRIORITY=%d", LOG_WARNING);
        record_field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_BLOCKING);
        record_field(&r, "FINWATCH_AGE_USEC=%" PRIu64, age);
        record_field(&r, "FINWATCH_AGE_SOURCE=%s", age_source_of(e));
        socket_fields(&r, e, l);
        send_record(a, &r);
        return true;
}

int alert_sink_journal(const struct iovec *iov, int n, void *userdata) {
        return sd_journal_sendv(iov, n);
}

int alert_sink_stderr(const struct iovec *iov, int n, void *userdata) {
        const char *prio = "4";
        const struct iovec *msg = NULL;

        for (int i = 0; i < n; i++) {
                const char *s = iov[i].iov_base;

                if (iov[i].iov_len > 9 && strncmp(s, "PRIORITY=", 9) == 0)
                        prio = s + 9;
                else if (iov[i].iov_len > 8 && strncmp(s, "MESSAGE=", 8) == 0)
                        msg = &iov[i];
        }
        fprintf(stderr, "<%.1s>%.*s", prio, msg ? (int) msg->iov_len - 8 : 0,
                msg ? (const char *) msg->iov_base + 8 : "");
        for (int i = 0; i < n; i++) {
                const char *s = iov[i].iov_base;

                if (strncmp(s, "FINWATCH_", 9) == 0 || strncmp(s, "MESSAGE_ID=", 11) == 0)
                        fprintf(stderr, " %.*s", (int) iov[i].iov_len, s);
        }
        fputc('\n', stderr);
        return 0;
}

bool alert_journal_reachable(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(closep) int fd = -EBADF;

        if (!path)
                path = JOURNAL_SOCKET;
        if (strlen(path) >= sizeof(sa.sun_path))
                return false;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return false;
        return connect(fd, (struct sockaddr *) &sa, sizeof(sa)) == 0;
}

void alert_killed(struct alerter *a, const struct tracked *e, const struct sock_labels *l, int result, uint64_t age,
                  enum kill_origin origin, uint32_t uid, uint32_t pid) {
        struct record_sock v = record_sock_of(e, l);
        struct record_kill k = {
                .result = result, .age_usec = age, .origin = origin, .uid = uid, .pid = pid, .via = "finwatchd",
                .age_source = tracker_age_source(e),
        };
        struct record r = {};

        record_killed(&r, "finwatchd", &v, &k);
        send_record(a, &r);
}

void alert_kill_deferred(struct alerter *a, unsigned n, unsigned max_per_minute) {
        struct record r = {};

        record_field(&r, "MESSAGE=auto-kill budget of %u a minute reached: %u stuck socket%s wait for the next minute",
              max_per_minute, n, n == 1 ? "" : "s");
        record_field(&r, "PRIORITY=%d", LOG_WARNING);
        record_field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_KILL_DEFERRED);
        record_field(&r, "SYSLOG_IDENTIFIER=finwatchd");
        record_field(&r, "FINWATCH_DEFERRED=%u", n);
        record_field(&r, "FINWATCH_MAX_PER_MINUTE=%u", max_per_minute);
        send_record(a, &r);
}

void alert_orphan_budget(struct alerter *a, uint64_t orphans, uint64_t max_orphans, unsigned budget_bp,
                         const char *top_units) {
        struct record r = {};

        record_field(&r, "MESSAGE=%" PRIu64 " orphaned TCP sockets, %" PRIu64 ".%02" PRIu64 "%% of net.ipv4.tcp_max_orphans "
                  "(%" PRIu64 "), past the %u.%02u%% budget%s%s", orphans,
              max_orphans ? orphans * 100 / max_orphans : 0, max_orphans ? orphans * 10000 / max_orphans % 100 : 0,
              max_orphans, budget_bp / 100, budget_bp % 100, top_units[0] ? "; most from " : "", top_units);
        record_field(&r, "PRIORITY=%d", LOG_WARNING);
        record_field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_ORPHAN_BUDGET);
        record_field(&r, "SYSLOG_IDENTIFIER=finwatchd");
        record_field(&r, "FINWATCH_ORPHANS=%" PRIu64, orphans);
        record_field(&r, "FINWATCH_MAX_ORPHANS=%" PRIu64, max_orphans);
        record_field(&r, "FINWATCH_ORPHAN_BUDGET_BP=%u", budget_bp);
        if (top_units[0])
                record_field(&r, "FINWATCH_TOP_UNITS=%s", top_units);
        send_record(a, &r);
}
