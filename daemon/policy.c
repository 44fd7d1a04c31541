/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "policy.h"

#define BUDGET_WINDOW_USEC (60 * UINT64_C(1000000))

bool policy_wants_kill(const struct config *c, const struct tracked *e, uint64_t now) {
        if (c->kill_auto == KILL_POLICY_NO)
                return false;
        if (!(DIAG_STATES_CLOSING & DIAG_STATE_BIT(e->state)))
                return false;
        if (now < e->state_since || now - e->state_since < config_kill_after(c, e->state))
                return false;
        if (portset_has(&c->kill_exclude_ports, e->id.sport) || portset_has(&c->kill_exclude_ports, e->id.dport))
                return false;
        if (c->kill_only_ports.any && !portset_has(&c->kill_only_ports, e->id.sport) &&
            !portset_has(&c->kill_only_ports, e->id.dport))
                return false;
        if (config_peer_excluded(c, e->id.family, e->id.dst))
                return false;
        return true;
}

bool policy_budget_take(struct kill_budget *b, unsigned max_per_minute, uint64_t now) {
        if (!b->window_open || now - b->window_start >= BUDGET_WINDOW_USEC) {
                *b = (struct kill_budget) { .window_start = now, .window_open = true };
        }
        if (b->used >= max_per_minute)
                return false;
        b->used++;
        return true;
}
