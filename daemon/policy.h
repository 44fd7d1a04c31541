/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The auto-kill policy: which tracked sockets [kill] wants gone, and the
 * per-minute budget that caps a burst. Pure: no clock, no kernel. */

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "tracker.h"

/* Is this socket due for an automatic kill at now (usec)? Off (auto = no),
 * too young, an excluded port or peer, or outside only_ports: false. */
bool policy_wants_kill(const struct config *c, const struct tracked *e, uint64_t now);

struct kill_budget {
        uint64_t window_start;  /* usec */
        bool window_open;
        unsigned used;          /* kills in this window */
        bool deferral_told;     /* the "budget reached" record went out this window */
};

/* May one more automatic kill happen now? Counts it if so. */
bool policy_budget_take(struct kill_budget *b, unsigned max_per_minute, uint64_t now);
