/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* How long a socket has been stuck, from the kernel's fields alone: a lower
 * and an upper bound of its time WITHOUT PROGRESS (nothing it sent was
 * acknowledged, nothing could be sent). That is what the kernel's timers
 * and counters measure, and it can be longer than the time in the closing
 * state: a recovery can begin before the application closed. Pure: one
 * dumped socket in, bounds out; the rules, and where in the kernel they
 * come from, are in age.c. finwatchd starts its clock at the lower bound;
 * decisions (alerts, --older-than, auto-kill) use only the lower bound. */

#include <stdbool.h>
#include <stdint.h>

#include "diag.h"

#define AGE_UNKNOWN INT64_C(-1)

/* Bounds are "close" (shown "~", an estimate) when they are at most this
 * far apart, or a tenth of the estimate. */
#define AGE_CLOSE_MSEC 2000

struct age_bounds {
        int64_t min_msec;   /* stuck at least this long; AGE_UNKNOWN: nothing says */
        int64_t max_msec;   /* at most this long; AGE_UNKNOWN: nothing says */
        int64_t est_msec;   /* the best guess, within [min, max]; AGE_UNKNOWN exactly when min is */
};

/* The kernel's bounds for one socket of a dump (its timer, timer_expires,
 * send_q and struct tcp_info, long or short). */
void age_from_kernel(const struct fw_sock *s, struct age_bounds *ret);

/* Both bounds known and close together (see AGE_CLOSE_MSEC). */
bool age_is_close(const struct age_bounds *b);

/* Whose measure an age is. Numbers are wire values (proto.h) and kept. */
enum age_source {
        AGE_SOURCE_NONE = 0,        /* no age (or, on the wire, a daemon that does not say) */
        AGE_SOURCE_DAEMON = 1,      /* finwatchd saw it stuck that long */
        AGE_SOURCE_KERNEL = 2,      /* the kernel's lower bound is the larger */
};

/* "daemon", "kernel", NULL for none */
const char *age_source_to_string(enum age_source s);

/* An age as finwatch shows it: the larger lower bound of the daemon's and
 * the kernel's, with the kernel's estimate and upper bound where they
 * still apply. */
struct age_view {
        uint64_t min_usec;          /* the lower bound: what decisions compare */
        uint64_t est_usec;          /* >= min_usec */
        uint64_t max_usec;          /* valid if has_max; >= est_usec */
        uint8_t source;             /* enum age_source; NONE: nothing is valid */
        bool has_max;
        bool close;                 /* the kernel's estimate, within close bounds: "~" */
};

/* Combine the kernel's bounds with the daemon's age (have_daemon: it
 * tracks the socket; daemon_source: what the daemon said its age came
 * from, NONE from a daemon that does not say). */
void age_combine(const struct age_bounds *kernel, bool have_daemon, uint64_t daemon_usec, uint8_t daemon_source,
                 struct age_view *ret);

/* The age shown (age_format()) and reported as age_seconds: the kernel's
 * estimate only with close bounds, else the lower bound. */
uint64_t age_shown_usec(const struct age_view *v);

/* "-", "2min 3s" (the daemon's), "~2min 3s" (the kernel's estimate, close
 * bounds) or ">2min 3s" (a lower bound only). */
char *age_format(char *buf, size_t size, const struct age_view *v);
/* The same at p (room for DURATION_STRLEN + 1), no NUL; returns the end. */
char *age_put(char *p, const struct age_view *v);
