/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <syslog.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <systemd/sd-journal.h>

#include "alert.h"
#include "cause.h"
#include "diag.h"
#include "escape.h"
#include "sockfmt.h"
#include "util.h"

#define JOURNAL_SOCKET "/run/systemd/journal/socket"

/* A record under construction: fixed storage, no allocation. */
#define RECORD_FIELDS 30
struct record {
        struct iovec iov[RECORD_FIELDS];
        char text[RECORD_FIELDS][256];
        int n;
};

static void __attribute__((format(printf, 2, 3))) field(struct record *r, const char *fmt, ...) {
        va_list ap;
        int len;

        if (r->n >= RECORD_FIELDS)
                return;
        va_start(ap, fmt);
        len = vsnprintf(r->text[r->n], sizeof(r->text[r->n]), fmt, ap);
        va_end(ap);
        if (len < 0)
                return;
        if ((size_t) len >= sizeof(r->text[r->n]))
                len = sizeof(r->text[r->n]) - 1;
        r->iov[r->n] = (struct iovec) { .iov_base = r->text[r->n], .iov_len = (size_t) len };
        r->n++;
}

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
                field(&r, "MESSAGE=%u more finwatch alerts held back by the rate limit (%u stuck, %u cleared; "
                          "at most %u a minute)", held, a->held_stuck, a->held_cleared, a->max_per_minute);
                field(&r, "PRIORITY=%d", LOG_WARNING);
                field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_SUMMARY);
                field(&r, "SYSLOG_IDENTIFIER=finwatchd");
                field(&r, "FINWATCH_HELD=%u", held);
                field(&r, "FINWATCH_HELD_STUCK=%u", a->held_stuck);
                field(&r, "FINWATCH_HELD_CLEARED=%u", a->held_cleared);
                field(&r, "FINWATCH_MAX_PER_MINUTE=%u", a->max_per_minute);
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

/* The fields every socket record has; MESSAGE, PRIORITY and MESSAGE_ID come first. */
static void socket_fields(struct record *r, const struct tracked *e, const struct sock_labels *l,
                          const struct endpoints *ep) {
        const char *local = ep->local, *peer = ep->peer;
        /* names escaped (escape.h), as finwatch list and the metrics show
         * them, and cut to whole characters to fit a field */
        char name[sizeof(r->text[0])];

        field(r, "SYSLOG_IDENTIFIER=finwatchd");
        field(r, "FINWATCH_STATE=%s", sockfmt_state_name(e->state));
        field(r, "FINWATCH_LOCAL=%s", local);
        field(r, "FINWATCH_PEER=%s", peer);
        field(r, "FINWATCH_COOKIE=%" PRIu64, e->id.cookie);
        field(r, "FINWATCH_ORPHAN=%s", e->orphan ? "yes" : "no");
        field(r, "FINWATCH_TIMER=%s", sockfmt_timer_name(e->timer));
        field(r, "FINWATCH_TIMER_COUNT=%u", (unsigned) e->timer_count);
        field(r, "FINWATCH_CAUSE=%s", cause_to_string(e->cause));
        if (l->netns)
                field(r, "FINWATCH_NETNS=%s", escape_cut(name, sizeof(name) - strlen("FINWATCH_NETNS="), l->netns));
        if (e->fate_msec == FATE_NEVER)
                field(r, "FINWATCH_FATE=never");
        else if (e->fate_msec < 0)
                field(r, "FINWATCH_FATE=unknown");
        else {
                field(r, "FINWATCH_FATE=reaped");
                field(r, "FINWATCH_REAPED_IN_SEC=%" PRId64, (e->fate_msec + 999) / 1000);
        }
        if (e->has_cgroup_id) {
                field(r, "FINWATCH_CGROUP_ID=%" PRIu64, e->cgroup_id);
                if (l->unit && l->unit[0])
                        field(r, "FINWATCH_UNIT=%s", escape_cut(name, sizeof(name) - strlen("FINWATCH_UNIT="), l->unit));
        }
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
        field(&r, "MESSAGE=%s %s -> %s stuck for %s, %s", sockfmt_state_name(e->state), ep.local, ep.peer,
              format_duration(age_s, sizeof(age_s), age), e->orphan ? "orphan" : "owned by a process");
        field(&r, "PRIORITY=%d", LOG_WARNING);
        field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_STUCK);
        field(&r, "FINWATCH_AGE_USEC=%" PRIu64, age);
        field(&r, "FINWATCH_REPEAT=%s", repeat ? "yes" : "no");
        socket_fields(&r, e, l, &ep);
        send_record(a, &r);
}

void alert_cleared(struct alerter *a, const struct tracked *e, const struct sock_labels *l, uint64_t now) {
        uint64_t stuck = e->last_seen > e->state_since ? e->last_seen - e->state_since : 0;
        char age_s[DURATION_STRLEN];
        struct endpoints ep;
        struct record r = {};

        if (!admit(a, now)) {
                a->held_cleared++;
                a->held_total++;
                return;
        }
        endpoints_of(&ep, e);
        field(&r, "MESSAGE=%s %s -> %s cleared after being stuck for %s", sockfmt_state_name(e->state),
              ep.local, ep.peer, format_duration(age_s, sizeof(age_s), stuck));
        field(&r, "PRIORITY=%d", LOG_NOTICE);
        field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_CLEARED);
        field(&r, "FINWATCH_AGE_USEC=%" PRIu64, stuck);
        socket_fields(&r, e, l, &ep);
        send_record(a, &r);
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
        static const char *const origins[] = {
                [KILL_MANUAL] = "manual", [KILL_AUTO] = "auto", [KILL_AUTO_DRY_RUN] = "dry-run",
        };
        char age_s[DURATION_STRLEN] = "";
        struct endpoints ep;
        struct record r = {};
        const char *verb;

        endpoints_of(&ep, e);
        if (age != UINT64_MAX)
                format_duration(age_s, sizeof(age_s), age);
        if (origin == KILL_AUTO_DRY_RUN)
                verb = "would kill (dry run)";
        else if (result == 0)
                verb = "killed";
        else
                verb = "failed to kill";
        field(&r, "MESSAGE=%s %s %s -> %s%s%s%s%s", verb, sockfmt_state_name(e->state), ep.local, ep.peer,
              age_s[0] ? " stuck for " : "", age_s, result < 0 ? ": " : "",
              result < 0 ? diag_kill_strerror(result) : "");
        field(&r, "PRIORITY=%d", result < 0 && origin != KILL_AUTO_DRY_RUN ? LOG_ERR : LOG_NOTICE);
        field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_KILLED);
        field(&r, "FINWATCH_KILL_ORIGIN=%s", origins[origin]);
        field(&r, "FINWATCH_KILL_RESULT=%s", result == 0 ? (origin == KILL_AUTO_DRY_RUN ? "dry-run" : "killed")
                                                          : result == -ENOENT ? "gone" : "failed");
        if (result < 0)
                field(&r, "FINWATCH_KILL_ERRNO=%d", -result);
        if (origin == KILL_MANUAL) {
                field(&r, "FINWATCH_REQUESTER_UID=%" PRIu32, uid);
                field(&r, "FINWATCH_REQUESTER_PID=%" PRIu32, pid);
        }
        if (age != UINT64_MAX)
                field(&r, "FINWATCH_AGE_USEC=%" PRIu64, age);
        socket_fields(&r, e, l, &ep);
        send_record(a, &r);
}

void alert_kill_deferred(struct alerter *a, unsigned n, unsigned max_per_minute) {
        struct record r = {};

        field(&r, "MESSAGE=auto-kill budget of %u a minute reached: %u stuck socket%s wait for the next minute",
              max_per_minute, n, n == 1 ? "" : "s");
        field(&r, "PRIORITY=%d", LOG_WARNING);
        field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_KILL_DEFERRED);
        field(&r, "SYSLOG_IDENTIFIER=finwatchd");
        field(&r, "FINWATCH_DEFERRED=%u", n);
        field(&r, "FINWATCH_MAX_PER_MINUTE=%u", max_per_minute);
        send_record(a, &r);
}

void alert_orphan_budget(struct alerter *a, uint64_t orphans, uint64_t max_orphans, unsigned budget_bp,
                         const char *top_units) {
        struct record r = {};

        field(&r, "MESSAGE=%" PRIu64 " orphaned TCP sockets, %" PRIu64 ".%02" PRIu64 "%% of net.ipv4.tcp_max_orphans "
                  "(%" PRIu64 "), past the %u.%02u%% budget%s%s", orphans,
              max_orphans ? orphans * 100 / max_orphans : 0, max_orphans ? orphans * 10000 / max_orphans % 100 : 0,
              max_orphans, budget_bp / 100, budget_bp % 100, top_units[0] ? "; most from " : "", top_units);
        field(&r, "PRIORITY=%d", LOG_WARNING);
        field(&r, "MESSAGE_ID=" ALERT_MESSAGE_ID_ORPHAN_BUDGET);
        field(&r, "SYSLOG_IDENTIFIER=finwatchd");
        field(&r, "FINWATCH_ORPHANS=%" PRIu64, orphans);
        field(&r, "FINWATCH_MAX_ORPHANS=%" PRIu64, max_orphans);
        field(&r, "FINWATCH_ORPHAN_BUDGET_BP=%u", budget_bp);
        if (top_units[0])
                field(&r, "FINWATCH_TOP_UNITS=%s", top_units);
        send_record(a, &r);
}
