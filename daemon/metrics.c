/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <string.h>

#include "cause.h"
#include "escape.h"
#include "metrics.h"
#include "peer.h"
#include "sockfmt.h"
#include "util.h"

void metrics_count_poll_error(struct metrics *m, int error) {
        for (size_t i = 0; i < METRICS_MAX_ERRORS; i++)
                if (m->poll_errors[i].error == error || m->poll_errors[i].error == 0) {
                        m->poll_errors[i].error = error;
                        m->poll_errors[i].count++;
                        return;
                }
        m->poll_errors_other++;
}

void metrics_label_set(struct metrics_label_count *c, const char *name) {
        escape_cut(c->label, sizeof(c->label), name);
}

static int cmp_count_desc(const void *a, const void *b) {
        const struct metrics_label_count *x = a, *y = b;

        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        return strcmp(x->label, y->label);
}

static int cmp_label(const void *a, const void *b) {
        const struct metrics_label_count *x = a, *y = b;

        return strcmp(x->label, y->label);
}

void metrics_top(struct metrics_label_count *out, struct metrics_label_count *in, size_t n) {
        size_t k = 0, m = 0;
        uint32_t other = 0;

        /* one label, one pair: names cut alike to fit are counted together */
        qsort(in, n, sizeof(*in), cmp_label);
        for (size_t i = 0; i < n; i++) {
                if (m > 0 && strcmp(in[m - 1].label, in[i].label) == 0)
                        in[m - 1].count += in[i].count;
                else
                        in[m++] = in[i];
        }
        qsort(in, m, sizeof(*in), cmp_count_desc);
        memset(out, 0, sizeof(*out) * (METRICS_TOP + 1));
        for (size_t i = 0; i < m; i++) {
                if (in[i].count == 0)
                        continue;
                if (k < METRICS_TOP)
                        out[k++] = in[i];
                else
                        other += in[i].count;
        }
        if (!other)
                return;
        /* a name "other" among the largest: the rest joins it, one series */
        for (size_t i = 0; i < k; i++)
                if (strcmp(out[i].label, "other") == 0) {
                        out[i].count += other;
                        return;
                }
        snprintf(out[k].label, sizeof(out[k].label), "other");
        out[k].count = other;
}

/* A label value (escaped already: valid UTF-8, no newline) as Prometheus
 * wants it: backslash, quote and newline escaped. */
static void print_label(FILE *f, const char *s) {
        for (; *s; s++) {
                if (*s == '\\' || *s == '"')
                        fputc('\\', f);
                if (*s == '\n') {
                        fputs("\\n", f);
                        continue;
                }
                fputc(*s, f);
        }
}

static void print_by(FILE *f, const char *name, const char *label, const char *help,
                     const struct metrics_label_count *v) {
        fprintf(f, "# HELP %s %s\n# TYPE %s gauge\n", name, help, name);
        for (size_t i = 0; i <= METRICS_TOP && v[i].count; i++) {
                fprintf(f, "%s{%s=\"", name, label);
                print_label(f, v[i].label);
                fprintf(f, "\"} %" PRIu32 "\n", v[i].count);
        }
}

static const char *errno_label(int error) {
        const char *name = strerrorname_np(-error);

        return name ? name : "unknown";
}

int metrics_format(FILE *f, const struct metrics *m) {
        fputs("# HELP finwatch_stuck_sockets TCP sockets stuck in a closing state, by state.\n"
              "# TYPE finwatch_stuck_sockets gauge\n", f);
        for (unsigned s = 0; s < FW_TCP_MAX_STATES; s++)
                if (m->watched_states & DIAG_STATE_BIT(s))
                        fprintf(f, "finwatch_stuck_sockets{state=\"%s\"} %" PRIu32 "\n", sockfmt_state_name((uint8_t) s),
                                m->stuck[s]);
        fputs("# HELP finwatch_stuck_sockets_by_cause TCP sockets stuck in a closing state, by cause.\n"
              "# TYPE finwatch_stuck_sockets_by_cause gauge\n", f);
        for (unsigned c = 0; c < _SOCK_CAUSE_MAX; c++)
                fprintf(f, "finwatch_stuck_sockets_by_cause{cause=\"%s\"} %" PRIu32 "\n",
                        cause_to_string((enum sock_cause) c), m->stuck_by_cause[c]);
        /* the peer's state, a label of four values: "reconnecting" counts
         * the sockets that block a client now */
        fputs("# HELP finwatch_stuck_sockets_by_peer TCP sockets stuck in a closing state, by what their peer does "
              "(reconnecting: it keeps trying to come back and cannot).\n"
              "# TYPE finwatch_stuck_sockets_by_peer gauge\n", f);
        for (unsigned p = PEER_SILENT; p < _PEER_STATE_MAX; p++)
                fprintf(f, "finwatch_stuck_sockets_by_peer{peer=\"%s\"} %" PRIu32 "\n", peer_state_to_string((uint8_t) p),
                        m->stuck_by_peer[p]);
        fprintf(f, "finwatch_stuck_sockets_by_peer{peer=\"unknown\"} %" PRIu32 "\n", m->stuck_by_peer[PEER_UNKNOWN]);
        print_by(f, "finwatch_stuck_sockets_by_unit", "unit",
                 "TCP sockets stuck in a closing state, by systemd unit (the 10 largest, then other).", m->by_unit);
        print_by(f, "finwatch_stuck_sockets_by_container", "container",
                 "TCP sockets stuck in a closing state, by container, its short ID (a user's rootless one "
                 "behind its manager, user@UID.service/ID; the 10 largest, then other; - in none).",
                 m->by_container);
        print_by(f, "finwatch_stuck_sockets_by_pod", "pod",
                 "TCP sockets stuck in a closing state, by Kubernetes pod UID (the 10 largest, then other; - in "
                 "none).", m->by_pod);
        print_by(f, "finwatch_stuck_sockets_by_netns", "netns",
                 "TCP sockets stuck in a closing state, by network namespace (the 10 largest, then other).", m->by_netns);
        fputs("# HELP finwatch_oldest_stuck_seconds How long the oldest stuck socket has been in its state.\n"
              "# TYPE finwatch_oldest_stuck_seconds gauge\n", f);
        for (unsigned s = 0; s < FW_TCP_MAX_STATES; s++)
                if (m->watched_states & DIAG_STATE_BIT(s))
                        fprintf(f, "finwatch_oldest_stuck_seconds{state=\"%s\"} %.3f\n", sockfmt_state_name((uint8_t) s),
                                (double) m->oldest_usec[s] / 1e6);
        fprintf(f, "# HELP finwatch_alerts_total Alert records sent to the journal.\n"
                   "# TYPE finwatch_alerts_total counter\n"
                   "finwatch_alerts_total %" PRIu64 "\n"
                   "# HELP finwatch_alerts_held_total Alert records held back by the rate limit.\n"
                   "# TYPE finwatch_alerts_held_total counter\n"
                   "finwatch_alerts_held_total %" PRIu64 "\n",
                m->alerts_sent, m->alerts_held);
        fprintf(f, "# HELP finwatch_kills_total Socket kills, by result.\n"
                   "# TYPE finwatch_kills_total counter\n"
                   "finwatch_kills_total{result=\"killed\"} %" PRIu64 "\n"
                   "finwatch_kills_total{result=\"gone\"} %" PRIu64 "\n"
                   "finwatch_kills_total{result=\"failed\"} %" PRIu64 "\n",
                m->kills_killed, m->kills_gone, m->kills_failed);
        if (m->max_orphans)
                fprintf(f, "# HELP finwatch_orphans Orphaned TCP sockets (all of them, stuck or not).\n"
                           "# TYPE finwatch_orphans gauge\n"
                           "finwatch_orphans %" PRIu64 "\n"
                           "# HELP finwatch_max_orphans net.ipv4.tcp_max_orphans: past it the kernel resets connections.\n"
                           "# TYPE finwatch_max_orphans gauge\n"
                           "finwatch_max_orphans %" PRIu64 "\n",
                        m->orphans, m->max_orphans);
        fprintf(f, "# HELP finwatch_polls_total Polls of the kernel, failed ones included.\n"
                   "# TYPE finwatch_polls_total counter\n"
                   "finwatch_polls_total %" PRIu64 "\n"
                   "# HELP finwatch_poll_duration_seconds How long the last poll took, up to writing this file.\n"
                   "# TYPE finwatch_poll_duration_seconds gauge\n"
                   "finwatch_poll_duration_seconds %.6f\n",
                m->polls, (double) m->poll_duration_usec / 1e6);
        /* The total is written from the start, 0 included, so increase()
         * sees a first failure; a reason's series only appears with its
         * first error, which increase() over it cannot see. */
        fprintf(f, "# HELP finwatch_poll_failures_total Failed polls.\n"
                   "# TYPE finwatch_poll_failures_total counter\n"
                   "finwatch_poll_failures_total %" PRIu64 "\n", m->poll_failures);
        fputs("# HELP finwatch_poll_errors_total Failed polls, by errno.\n"
              "# TYPE finwatch_poll_errors_total counter\n", f);
        for (size_t i = 0; i < METRICS_MAX_ERRORS && m->poll_errors[i].error; i++)
                fprintf(f, "finwatch_poll_errors_total{reason=\"%s\"} %" PRIu64 "\n",
                        errno_label(m->poll_errors[i].error), m->poll_errors[i].count);
        if (m->poll_errors_other)
                fprintf(f, "finwatch_poll_errors_total{reason=\"other\"} %" PRIu64 "\n", m->poll_errors_other);
        if (m->netns_others)
                fprintf(f, "# HELP finwatch_netns_watched Network namespaces watched besides finwatchd's own.\n"
                           "# TYPE finwatch_netns_watched gauge\n"
                           "finwatch_netns_watched %" PRIu32 "\n"
                           "# HELP finwatch_netns_unwatched Network namespaces found and not watched, by reason.\n"
                           "# TYPE finwatch_netns_unwatched gauge\n"
                           "finwatch_netns_unwatched{reason=\"denied\"} %" PRIu32 "\n"
                           "finwatch_netns_unwatched{reason=\"no_fds\"} %" PRIu32 "\n"
                           "finwatch_netns_unwatched{reason=\"max_netns\"} %" PRIu32 "\n"
                           "finwatch_netns_unwatched{reason=\"not_netns\"} %" PRIu32 "\n"
                           "# HELP finwatch_netns_discovery_seconds How long the last poll took to find the network "
                           "namespaces (part of the poll's duration).\n"
                           "# TYPE finwatch_netns_discovery_seconds gauge\n"
                           "finwatch_netns_discovery_seconds %.6f\n",
                        m->netns_watched, m->netns_denied, m->netns_no_fds, m->netns_over_cap, m->netns_not_netns,
                        (double) m->netns_discovery_usec / 1e6);
        fprintf(f, "# HELP finwatch_control_refused_total Control connections refused by the per-user limits.\n"
                   "# TYPE finwatch_control_refused_total counter\n"
                   "finwatch_control_refused_total %" PRIu64 "\n"
                   "# HELP finwatch_control_busy_total Control replies refused: too much waits for slow readers.\n"
                   "# TYPE finwatch_control_busy_total counter\n"
                   "finwatch_control_busy_total %" PRIu64 "\n"
                   "# HELP finwatch_control_accept_failures_total accept() failures (out of descriptors) that paused "
                   "the control socket.\n"
                   "# TYPE finwatch_control_accept_failures_total counter\n"
                   "finwatch_control_accept_failures_total %" PRIu64 "\n",
                m->control_refused, m->control_busy, m->control_accept_failures);
        return ferror(f) ? -EIO : 0;
}

static int format_cb(FILE *f, const void *userdata) {
        return metrics_format(f, userdata);
}

int metrics_write(const char *path, const struct metrics *m) {
        /* node_exporter runs as another user: readable by all */
        return write_file_atomic(path, 0644, format_cb, m);
}
