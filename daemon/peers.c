/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#include "peers.h"

struct peer_verdict peers_judge(const struct tracked *prev, const struct fw_sock *s, uint64_t now,
                                int64_t syn_challenges, unsigned hold_polls) {
        struct peer_verdict v = {};
        enum peer_evidence ev = PEER_EV_NONE;

        /* a new state is a new story: judged anew */
        if (prev && prev->state == s->state) {
                v = (struct peer_verdict) { .state = prev->peer, .quiet = prev->peer_quiet };
                /* not a restored entry (no counters), and the kernel sent them */
                if (prev->seen_gen != 0 && s->info.len > 0 && now > prev->last_seen) {
                        struct peer_interval iv = {
                                .prev = { .segs_in = prev->segs_in, .data_segs_in = prev->data_segs_in,
                                          .total_retrans = prev->total_retrans, .rto = s->info.rto,
                                          .backoff = prev->backoff, .timer = prev->timer },
                                .cur = { .segs_in = s->info.segs_in, .data_segs_in = s->info.data_segs_in,
                                         .total_retrans = s->info.total_retrans, .rto = s->info.rto,
                                         .backoff = s->info.backoff, .timer = s->timer },
                                .usec = now - prev->last_seen,
                                .last_data_recv_ms = s->info.last_data_recv,
                                .last_ack_recv_ms = s->info.last_ack_recv,
                                .recv_q = s->recv_q,
                                .syn_challenges = syn_challenges,
                        };

                        ev = peer_evidence(&iv);
                }
        }
        (void) peer_update(&v, ev, hold_polls);
        return v;
}

int64_t peers_syn_growth(struct netns *ns, bool home, int *ret_error) {
        uint64_t v;
        int r = -ENOENT;

        if (home || ns->pid > 0)
                r = peer_syn_challenges_read(home ? 0 : ns->pid, &v);
        if (r >= 0 && !home) {
                char path[64];
                struct stat st;

                snprintf(path, sizeof(path), "/proc/%d/ns/net", ns->pid);
                if (stat(path, &st) < 0 || (uint64_t) st.st_ino != ns->ino)
                        r = -ESRCH; /* gone, or moved: the next discovery finds another */
        }
        *ret_error = r < 0 ? r : 0;
        if (r < 0) {
                ns->has_syn_challenges = false;
                return -1;
        }
        return peers_syn_fold(ns, v);
}

int64_t peers_syn_fold(struct netns *ns, uint64_t v) {
        uint64_t growth, sum;

        /* the first reading, or the counter went down (a reset, or another
         * namespace behind a reused inode): a fresh baseline, not a wrap */
        if (!ns->has_syn_challenges || v < ns->syn_challenges) {
                ns->syn_challenges = v;
                ns->syn_growth_before = 0;
                ns->has_syn_challenges = true;
                return -1;
        }
        growth = v - ns->syn_challenges;
        ns->syn_challenges = v;
        sum = growth + ns->syn_growth_before;
        if (sum < growth)
                sum = UINT64_MAX;
        ns->syn_growth_before = growth;
        return sum > INT64_MAX ? INT64_MAX : (int64_t) sum;
}

void peers_announce(struct tracker *t, struct alerter *a, struct labels *l, uint64_t now) {
        const struct tracked *e;
        size_t iter = 0;

        while ((e = tracker_next(t, &iter))) {
                struct sock_labels labels;

                if (e->peer != PEER_RECONNECTING || e->blocking_alerted || e->last_seen != now)
                        continue;
                labels_of(l, e, &labels);
                if (alert_blocking(a, e, &labels, now)) /* refused by the rate limit: the next poll */
                        tracker_set_peer(t, e->id.cookie, e->peer, e->peer_quiet, true);
        }
}
