/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What the table holds, counted in one pass after each poll: by state (and
 * the oldest age in each), by cause, by unit, container, pod and namespace
 * (label ids, labels.h), and the orphans by unit. Status, systemd's STATUS=, the
 * metrics and the orphan budget all read this one summary; nothing else
 * walks the table to count. */

#include <stddef.h>
#include <stdint.h>

#include "cause.h"
#include "labels.h"
#include "metrics.h"
#include "peer.h"
#include "tracker.h"

struct summary {
        uint64_t at;                              /* usec, CLOCK_BOOTTIME: when it was counted */
        uint32_t tracked;
        uint32_t per_state[FW_TCP_MAX_STATES];
        uint64_t oldest_usec[FW_TCP_MAX_STATES];  /* the age of the oldest in each state */
        uint32_t by_cause[_SOCK_CAUSE_MAX];
        uint32_t by_peer[_PEER_STATE_MAX];        /* indexed by enum peer_state */
        /* indexed by label id (labels names them), n_labels of them */
        struct summary_label {
                uint32_t in_unit;                 /* sockets whose unit this is */
                uint32_t in_container;            /* sockets whose container's name this is */
                uint32_t in_pod;                  /* sockets whose pod's UID this is */
                uint32_t in_netns;                /* sockets in the namespace of this name */
                uint32_t orphans_in_unit;
        } *by_label;
        size_t n_labels, allocated;
        const struct labels *labels;
};

void summary_done(struct summary *s);

/* Count the table at now, every label through l. 0 or -ENOMEM. */
int summary_build(struct summary *s, const struct tracker *t, struct labels *l, uint64_t now);

/* "nginx.service=120, docker-1.scope=4": the (at most) n units with the
 * most stuck orphans, largest first. */
void summary_top_orphan_units(const struct summary *s, unsigned n, char *buf, size_t size);

/* The STATUS= line: "tracking 3 stuck sockets: 2 FIN_WAIT_1, 1 LAST_ACK". */
void summary_status_line(const struct summary *s, char *buf, size_t size);

/* The counts the metrics textfile shows (the largest units, containers,
 * pods and namespaces, then "other"). */
void summary_fill_metrics(const struct summary *s, struct metrics *m);
