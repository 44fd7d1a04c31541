/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The auto-kill policy: which tracked sockets [kill] wants gone, the
 * per-minute budget that caps a burst, and running it after a poll. No
 * clock and no kernel of its own: the time comes in, the kill is the
 * caller's. */

#include <stdbool.h>
#include <stdint.h>

#include "alert.h"
#include "config.h"
#include "labels.h"
#include "tracker.h"

/* Is this socket due for an automatic kill at now (usec)? Off (auto = no),
 * too young, an excluded port or peer, or outside only_ports: false. With
 * [kill] blocking, a socket whose peer is reconnecting is due at once,
 * whatever auto and after say (the exclusions still hold). */
bool policy_wants_kill(const struct config *c, const struct tracked *e, uint64_t now);

struct kill_budget {
        uint64_t window_start;  /* usec */
        bool window_open;
        unsigned used;          /* kills in this window */
        bool deferral_told;     /* the "budget reached" record went out this window */
};

/* May one more automatic kill happen now? Counts it if so. */
bool policy_budget_take(struct kill_budget *b, unsigned max_per_minute, uint64_t now);

/* How a kill is done: in the socket's namespace, counted (the manager's
 * manager_kill()). 0 killed, -ENOENT gone, -errno failed (diag_kill()). */
struct policy_kill_ops {
        int (*kill)(const struct sock_id *id, uint8_t *state, void *userdata);
        void *userdata;
};

/* What the policy keeps from poll to poll. */
struct policy_state {
        struct kill_budget budget;
        uint64_t *due;            /* cookies due in the running pass, reused */
        size_t due_allocated;
};

void policy_state_done(struct policy_state *ps);

/* Run the [kill] policy after a complete poll: every due socket is killed
 * (in dry-run, recorded) within the per-minute budget, each with its audit
 * record; the rest wait, said once a minute. Returns true if the table
 * changed (a socket killed, gone, or noted), -ENOMEM if the pass could not
 * be collected whole. */
int policy_run(struct policy_state *ps, const struct config *c, struct tracker *t, struct alerter *a,
               struct labels *l, const struct policy_kill_ops *ops, uint64_t now);
