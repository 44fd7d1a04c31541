/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Prometheus text metrics for node_exporter's textfile collector, written
 * after each poll with a temporary file and a rename, so a scrape never
 * sees half a file. */

#include <stdint.h>
#include <stdio.h>

#include "diag.h"

#define METRICS_MAX_ERRORS 8
#define METRICS_TOP 10    /* series by unit, container, pod or namespace: the largest, then "other" */

struct metrics_label_count {
        char label[64];         /* a name escaped (escape.h), cut at a whole character: metrics_label_set() */
        uint32_t count;
};

/* A unit's or namespace's name as a label: escaped (escape.h), so valid
 * UTF-8 with no control character, as finwatch list shows it. */
void metrics_label_set(struct metrics_label_count *c, const char *name);

struct metrics {
        uint32_t watched_states;          /* DIAG_STATE_BIT mask: a series per watched state */
        uint32_t stuck[FW_TCP_MAX_STATES];
        uint32_t stuck_by_cause[8];       /* indexed by enum sock_cause */
        uint32_t stuck_by_peer[4];        /* indexed by enum peer_state (peer.h) */
        uint64_t oldest_usec[FW_TCP_MAX_STATES];
        uint64_t alerts_sent, alerts_held;
        uint64_t kills_killed, kills_gone, kills_failed;
        uint64_t orphans, max_orphans;    /* the kernel's; max 0 = unknown */
        struct metrics_label_count by_unit[METRICS_TOP + 1];   /* count 0 ends the list */
        struct metrics_label_count by_container[METRICS_TOP + 1]; /* the short name (container.h): 12 hex
                                                                   * digits, a user's behind its manager */
        struct metrics_label_count by_pod[METRICS_TOP + 1];    /* the UID */
        struct metrics_label_count by_netns[METRICS_TOP + 1];
        uint64_t polls;
        uint64_t poll_failures;           /* of polls; by errno below */
        uint64_t poll_duration_usec;      /* the last poll, up to writing the file */
        uint64_t netns_discovery_usec;    /* of it, finding the namespaces (with netns_others) */
        struct {
                int error;                /* -errno */
                uint64_t count;
        } poll_errors[METRICS_MAX_ERRORS];
        uint64_t poll_errors_other;       /* errors beyond the slots */
        bool netns_others;                /* [monitor] netns other than host: the series below */
        uint32_t netns_watched;           /* besides ours */
        uint32_t netns_denied, netns_no_fds, netns_over_cap, netns_not_netns; /* found, not watched, by reason */
        uint64_t control_refused;         /* control connections refused by the per-uid caps */
        uint64_t control_busy;            /* replies refused for the queue budget */
        uint64_t control_accept_failures; /* accept() failures that paused accepting */
};

/* Count one failed poll under its errno (the last slot takes the rest). */
void metrics_count_poll_error(struct metrics *m, int error);

int metrics_format(FILE *f, const struct metrics *m);
/* Write atomically to path. 0 or -errno. */
int metrics_write(const char *path, const struct metrics *m);

/* Keep the METRICS_TOP largest of n (label, count) pairs in out, the rest
 * summed as "other": bounded cardinality whatever runs on the host. Pairs
 * of one label (names cut alike to fit a label) are one, their counts
 * summed: a series is never there twice, and no socket is left out. */
void metrics_top(struct metrics_label_count *out, struct metrics_label_count *in, size_t n);
