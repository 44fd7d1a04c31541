/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The table of stuck sockets, keyed by socket cookie: when each was first
 * seen, since when it is in its state, whether it was alerted. Open
 * addressing in one array: O(1) lookups, no allocation per socket once the
 * table has grown to fit. The tracker never reads a clock: every call that
 * needs the time takes `now` (usec, CLOCK_BOOTTIME in the daemon). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "age.h"
#include "diag.h"

/* 136 bytes: with the table between 8/15 and 4/5 full, 170-255 bytes a socket. */
struct tracked {
        struct sock_id id;       /* id.cookie is the key; 0 marks an empty slot */
        uint64_t first_seen;     /* usec: first dump that had it */
        uint64_t state_since;    /* usec: stuck since (its age is now - state_since): the first dump
                                  * that had it in this state, or earlier where the kernel's lower
                                  * bound of its time without progress says so (age_kernel; age.h),
                                  * and then possibly before first_seen */
        uint64_t last_seen;      /* usec: last dump that had it */
        uint64_t last_alert;     /* usec of the last "stuck" alert, 0 = none */
        uint64_t cgroup_id;      /* valid if has_cgroup_id */
        int64_t fate_msec;       /* at last_seen: FATE_* or msec until the kernel aborts it */
        uint32_t seen_gen;       /* generation of the last dump that had it */
        /* tcp_info at the last dump: what the next one is compared with (peer.h) */
        uint32_t segs_in, data_segs_in, total_retrans;
        uint8_t state;           /* FW_TCP_* */
        uint8_t timer;           /* DIAG_TIMER_* at the last dump */
        uint8_t timer_count;
        uint8_t misses;          /* complete dumps in a row without it */
        uint8_t cause;           /* enum sock_cause at the last dump, confirmed (cause_confirmed()) */
        uint8_t no_timer_polls;  /* dumps in a row that had it without a timer (cause_of() no-timer), saturating */
        bool orphan;
        bool alerted;            /* a "stuck" alert went out for this state */
        bool kill_noted;         /* the auto-kill policy acted on it (dry run, or a failed kill) */
        bool has_cgroup_id;
        uint8_t backoff;         /* tcp_info at the last dump (peer.h) */
        uint8_t peer;            /* enum peer_state: the verdict over polls (peer_update()) */
        uint8_t peer_quiet;      /* polls in a row with nothing from the peer */
        bool blocking_alerted;   /* the "blocking a client" record went out for this spell */
        bool age_kernel;         /* state_since came from the kernel's lower bound, not our clock */
};

_Static_assert(sizeof(struct tracked) == 136, "struct tracked: keep it small, it is the memory per socket");

struct tracker;

struct tracker_ops {
        /* Stuck past the alert threshold: first time (repeat false) or again
         * after the repeat interval. */
        void (*stuck)(const struct tracked *e, uint64_t age, bool repeat, void *userdata);
        /* Absent from two complete dumps in a row: about to be forgotten. */
        void (*gone)(const struct tracked *e, uint64_t now, void *userdata);
};

int tracker_new(struct tracker **ret);
struct tracker *tracker_free(struct tracker *t);
static inline void tracker_freep(struct tracker **t) {
        if (*t)
                tracker_free(*t);
}

/* usec: how long it has been stuck at `now` (0 if state_since is later). */
uint64_t tracker_age(const struct tracked *e, uint64_t now);

/* Whose lower bound that age is: AGE_SOURCE_KERNEL or AGE_SOURCE_DAEMON. */
enum age_source tracker_age_source(const struct tracked *e);

/* A dump starts: sockets observed from now on belong to a new generation. */
void tracker_begin(struct tracker *t);

/* One socket of the running dump. Returns 1 if it is new or changed state,
 * 0 if known, -ENOMEM. Sockets with cookie 0 (none) are ignored. */
int tracker_observe(struct tracker *t, const struct fw_sock *s, uint64_t now);

/* The dump is complete: count misses, forget what is gone (calling
 * ops->gone first), and call ops->stuck for what is due an alert.
 * alert_after and alert_repeat in usec, repeat 0 = never. Returns the number
 * of entries forgotten, or -ENOMEM. */
int tracker_sweep(struct tracker *t, uint64_t now, uint64_t alert_after, uint64_t alert_repeat,
                  const struct tracker_ops *ops, void *userdata);


/* The peer verdict reached for this socket at this dump (peer.h), and
 * whether its "blocking a client" record went out. */
void tracker_set_peer(struct tracker *t, uint64_t cookie, uint8_t peer, uint8_t quiet, bool blocking_alerted);

/* Remember that the kill policy acted on this socket. */
void tracker_set_kill_noted(struct tracker *t, uint64_t cookie);

/* Forget one socket now (it was killed). Returns true if it was there. */
bool tracker_forget(struct tracker *t, uint64_t cookie);

/* Put back an entry saved before a restart (as if it had been seen in an
 * earlier dump). -EEXIST if the cookie is there already, -EINVAL for cookie 0. */
int tracker_restore(struct tracker *t, const struct tracked *e);

const struct tracked *tracker_get(const struct tracker *t, uint64_t cookie);

/* Whether the running dump has had this entry already (tracker_observe()
 * takes only the first sighting of a socket in a dump). */
bool tracker_seen_in_dump(const struct tracker *t, const struct tracked *e);
size_t tracker_size(const struct tracker *t);
/* Iterate: start with *iter = 0; NULL at the end. */
const struct tracked *tracker_next(const struct tracker *t, size_t *iter);
/* Bytes the table holds (for the memory budget). */
size_t tracker_memory(const struct tracker *t);
