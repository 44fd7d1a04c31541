/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The daemon's side of "is the peer trying to come back" (the rule is
 * lib/peer.h): the verdict for a socket from its tracker entry's last dump
 * and this one, each namespace's TcpExtTCPSYNChallenge read through a
 * process in it (no setns per poll), and the "blocking a client" records. */

#include <stdbool.h>
#include <stdint.h>

#include "alert.h"
#include "labels.h"
#include "netns.h"
#include "peer.h"
#include "tracker.h"

/* The verdict for s seen at now, after prev (its entry as of the last
 * dump, NULL for a new socket). syn_challenges: peers_syn_growth()'s. */
struct peer_verdict peers_judge(const struct tracked *prev, const struct fw_sock *s, uint64_t now,
                                int64_t syn_challenges, unsigned hold_polls);

/* The namespace's TcpExtTCPSYNChallenge growth over this poll interval and
 * the one before, read from /proc/self/net/netstat for ours (home) and
 * from /proc/PID/net/netstat of the process discovery found in another
 * (ns->pid, checked to be in it still: pids are reused). -1 when not
 * known: no process found in it, the first reading, a counter that went
 * down (peers_syn_fold()), or a failed one
 * (*ret_error gets its -errno, 0 otherwise). */
int64_t peers_syn_growth(struct netns *ns, bool home, int *ret_error);

/* Its pure part: fold reading v of the counter into ns. -1 at the first
 * reading and when the counter went down (taken as a reset: v is the new
 * baseline), the growth over this interval and the one before otherwise. */
int64_t peers_syn_fold(struct netns *ns, uint64_t v);

/* After a complete poll: a record for each socket that turned
 * reconnecting, once a spell, before the kill policy may take it. */
void peers_announce(struct tracker *t, struct alerter *a, struct labels *l, uint64_t now);
