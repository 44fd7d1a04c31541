/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Why a socket is stuck, read from its timer and struct tcp_info, and what
 * the kernel will do about it. Pure: the sysctls come in as numbers. */

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

enum sock_cause {
        SOCK_CAUSE_UNKNOWN,
        SOCK_CAUSE_LOST_FIN,          /* retransmit timer, unacknowledged data: the FIN left and was lost */
        SOCK_CAUSE_PEER_ZERO_WINDOW,  /* persist timer, window 0, unsent bytes: the peer stopped reading */
        SOCK_CAUSE_BLOCKED_LOCALLY,   /* persist timer, window open, unsent bytes: the FIN never left */
        SOCK_CAUSE_NO_TIMER,          /* FIN unsent or unacknowledged, neither a retransmit nor a
                                       * persist timer: nothing will send it again (see cause_of) */
        _SOCK_CAUSE_MAX,
};

/* "lost-fin", "peer-zero-window", "blocked-locally", "no-timer", "unknown" */
const char *cause_to_string(enum sock_cause c);

/* The cause one sample shows. SOCK_CAUSE_NO_TIMER from one sample is a
 * candidate only: a timer is off for a moment while its handler runs (it
 * clears icsk_pending before it rearms), and sock_diag reads it without the
 * socket's lock. See cause_confirmed(). */
enum sock_cause cause_of(const struct fw_sock *s);

/* Samples in a row that must show no timer before the cause is no-timer. */
#define CAUSE_NO_TIMER_POLLS 3

/* The cause once `polls` samples in a row (this one included) showed no
 * timer: no-timer from fewer than CAUSE_NO_TIMER_POLLS is unknown; any other
 * cause is itself. */
enum sock_cause cause_confirmed(enum sock_cause c, unsigned polls);

/* The per-namespace sysctls that decide when the kernel gives up. */
struct tcp_limits {
        unsigned orphan_retries;      /* net.ipv4.tcp_orphan_retries (0 means 8) */
        unsigned retries2;            /* net.ipv4.tcp_retries2 */
};

/* Read them in the caller's network namespace; defaults (0, 15) for what
 * cannot be read, and then -errno (a sandbox without /proc/sys). */
int cause_limits_read(struct tcp_limits *ret);


/* Milliseconds until the kernel aborts the socket by its own timers, from
 * the retries left, the backoff so far and the RTO; FATE_NEVER for an owned
 * socket whose peer answers window probes (only TCP_USER_TIMEOUT or a kill
 * ends it) and for no-timer (no timer counts retries: orphan or not, only
 * a segment from the peer or a kill ends it), FATE_UNKNOWN when the
 * signature says too little. */
int64_t cause_fate_msec(const struct fw_sock *s, enum sock_cause cause, const struct tcp_limits *l);

/* Fill s->cause and s->fate_msec. */
void cause_annotate(struct fw_sock *s, const struct tcp_limits *l);

/* "never", "~3min 5s", or "-" when unknown. */
char *cause_format_fate(char *buf, size_t size, int64_t fate_msec);
/* The same at p (room for DURATION_STRLEN + 1), no NUL; returns the end. */
char *cause_put_fate(char *p, int64_t fate_msec);
