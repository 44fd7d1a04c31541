/* SPDX-License-Identifier: GPL-2.0-or-later */
#include "peer.h"
#include "policy.h"
#include "util.h"

#define BUDGET_WINDOW_USEC (60 * UINT64_C(1000000))

bool policy_wants_kill(const struct config *c, const struct tracked *e, uint64_t now) {
        /* [kill] blocking: a socket that keeps a client out now goes at once */
        bool blocking = c->kill_blocking && e->peer == PEER_RECONNECTING;

        if (c->kill_auto == KILL_POLICY_NO && !blocking)
                return false;
        if (!(DIAG_STATES_CLOSING & DIAG_STATE_BIT(e->state)))
                return false;
        if (!blocking && (now < e->state_since || tracker_age(e, now) < config_kill_after(c, e->state)))
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

void policy_state_done(struct policy_state *ps) {
        free(ps->due);
        *ps = (struct policy_state) {};
}

int policy_run(struct policy_state *ps, const struct config *c, struct tracker *t, struct alerter *a,
               struct labels *l, const struct policy_kill_ops *ops, uint64_t now) {
        const struct tracked *e;
        size_t n = 0, iter = 0;
        unsigned deferred = 0;
        bool changed = false;

        if (c->kill_auto == KILL_POLICY_NO && !c->kill_blocking)
                return 0;

        /* Collect first: a kill removes entries from the table. */
        while ((e = tracker_next(t, &iter))) {
                if (e->kill_noted || !policy_wants_kill(c, e, now))
                        continue;
                if (GROW(ps->due, ps->due_allocated, n + 1, 64) < 0)
                        return -ENOMEM;
                ps->due[n++] = e->id.cookie;
        }

        for (size_t i = 0; i < n; i++) {
                struct sock_labels labels;
                struct tracked copy;
                uint8_t state;
                int r;

                e = tracker_get(t, ps->due[i]);
                if (!e)
                        continue;
                if (!policy_budget_take(&ps->budget, c->kill_max_per_minute, now)) {
                        deferred++;
                        continue;
                }
                copy = *e;
                labels_of(l, &copy, &labels);
                changed = true;
                if (c->kill_auto == KILL_POLICY_DRY_RUN) {
                        alert_killed(a, &copy, &labels, 0, tracker_age(&copy, now), KILL_AUTO_DRY_RUN, 0, 0);
                        tracker_set_kill_noted(t, copy.id.cookie);
                        continue;
                }
                state = copy.state;
                r = ops->kill(&copy.id, &state, ops->userdata);
                alert_killed(a, &copy, &labels, r, tracker_age(&copy, now), KILL_AUTO, 0, 0);
                if (r == 0 || r == -ENOENT)
                        tracker_forget(t, copy.id.cookie);
                else
                        tracker_set_kill_noted(t, copy.id.cookie); /* no retry every poll */
        }

        if (deferred > 0 && !ps->budget.deferral_told) {
                alert_kill_deferred(a, deferred, c->kill_max_per_minute);
                ps->budget.deferral_told = true;
        }
        return changed;
}
