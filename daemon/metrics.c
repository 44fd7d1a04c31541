/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <string.h>

#include "cause.h"
#include "metrics.h"
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

static const char *errno_label(int error) {
        const char *name = strerrorname_np(-error);

        return name ? name : "unknown";
}

int metrics_format(FILE *f, const struct metrics *m) {
        fputs("# HELP finwatch_stuck_sockets TCP sockets stuck in a closing state, by state.\n"
              "# TYPE finwatch_stuck_sockets gauge\n", f);
        for (unsigned s = 0; s < FW_TCP_MAX_STATES; s++)
                if (m->watched_states & DIAG_STATE_BIT(s))
                        fprintf(f, "finwatch_stuck_sockets{state=\"%s\"} %" PRIu32 "\n", tcp_state_name((uint8_t) s),
                                m->stuck[s]);
        fputs("# HELP finwatch_stuck_sockets_by_cause TCP sockets stuck in a closing state, by cause.\n"
              "# TYPE finwatch_stuck_sockets_by_cause gauge\n", f);
        for (unsigned c = 0; c < _SOCK_CAUSE_MAX; c++)
                fprintf(f, "finwatch_stuck_sockets_by_cause{cause=\"%s\"} %" PRIu32 "\n",
                        sock_cause_to_string((enum sock_cause) c), m->stuck_by_cause[c]);
        fputs("# HELP finwatch_oldest_stuck_seconds How long the oldest stuck socket has been in its state.\n"
              "# TYPE finwatch_oldest_stuck_seconds gauge\n", f);
        for (unsigned s = 0; s < FW_TCP_MAX_STATES; s++)
                if (m->watched_states & DIAG_STATE_BIT(s))
                        fprintf(f, "finwatch_oldest_stuck_seconds{state=\"%s\"} %.3f\n", tcp_state_name((uint8_t) s),
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
                   "# HELP finwatch_poll_duration_seconds How long the last poll took.\n"
                   "# TYPE finwatch_poll_duration_seconds gauge\n"
                   "finwatch_poll_duration_seconds %.6f\n",
                m->polls, (double) m->poll_duration_usec / 1e6);
        fputs("# HELP finwatch_poll_errors_total Failed polls, by errno.\n"
              "# TYPE finwatch_poll_errors_total counter\n", f);
        for (size_t i = 0; i < METRICS_MAX_ERRORS && m->poll_errors[i].error; i++)
                fprintf(f, "finwatch_poll_errors_total{reason=\"%s\"} %" PRIu64 "\n",
                        errno_label(m->poll_errors[i].error), m->poll_errors[i].count);
        if (m->poll_errors_other)
                fprintf(f, "finwatch_poll_errors_total{reason=\"other\"} %" PRIu64 "\n", m->poll_errors_other);
        return ferror(f) ? -EIO : 0;
}

static int format_cb(FILE *f, const void *userdata) {
        return metrics_format(f, userdata);
}

int metrics_write(const char *path, const struct metrics *m) {
        /* node_exporter runs as another user: readable by all */
        return write_file_atomic(path, 0644, format_cb, m);
}
