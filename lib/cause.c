/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>

#include "cause.h"
#include "rto.h"
#include "util.h"

const char *cause_to_string(enum sock_cause c) {
        switch (c) {
        case SOCK_CAUSE_LOST_FIN:
                return "lost-fin";
        case SOCK_CAUSE_PEER_ZERO_WINDOW:
                return "peer-zero-window";
        case SOCK_CAUSE_BLOCKED_LOCALLY:
                return "blocked-locally";
        case SOCK_CAUSE_NO_TIMER:
                return "no-timer";
        default:
                return "unknown";
        }
}

/* Our FIN is queued and not acknowledged, by the state alone: tcp_close()
 * and tcp_shutdown() queue it (tcp_send_fin()) as they enter FIN_WAIT_1 or
 * LAST_ACK, CLOSING is FIN_WAIT_1 after the peer's FIN, and its ACK moves
 * each on (FIN_WAIT_2, CLOSE, TIME_WAIT). FIN_WAIT_2 and CLOSE_WAIT are not:
 * there our FIN is acknowledged, or not yet queued. */
static bool fin_owed(uint8_t state) {
        return state == FW_TCP_FIN_WAIT1 || state == FW_TCP_LAST_ACK || state == FW_TCP_CLOSING;
}

/* What proves the FIN waits: Send-Q (idiag_wqueue, write_seq - snd_una:
 * the FIN takes one sequence number, so it counts) without tcp_info;
 * tcpi_unacked (packets_out: sent, the retransmit timer's job) and
 * tcpi_notsent_bytes (write_seq - snd_nxt: never sent, the persist timer's
 * job when nothing is in flight) with it. All 0: tcp_send_fin() failed to
 * allocate, the FIN was never queued, and the peer's next ACK moves the
 * state on: not ours to call. */
static bool fin_waits(const struct fw_sock *s) {
        return s->send_q > 0 || s->info.unacked > 0 || s->info.notsent_bytes > 0;
}

enum sock_cause cause_of(const struct fw_sock *s) {
        bool unsent;

        /* net/ipv4/inet_diag.c: timer 1 (retransmit, loss probe, reorder) and
         * 4 (persist) come from icsk_pending; 2 is sk_timer, the keepalive,
         * which sends nothing while data or a FIN waits (tcp_keepalive_timer()
         * only re-arms itself when packets_out or the write queue is
         * non-empty). */
        if (s->timer == DIAG_TIMER_OFF || s->timer == DIAG_TIMER_KEEPALIVE)
                return fin_owed(s->state) && fin_waits(s) ? SOCK_CAUSE_NO_TIMER : SOCK_CAUSE_UNKNOWN;

        if (s->info.len == 0)
                return SOCK_CAUSE_UNKNOWN;
        unsent = s->info.notsent_bytes > 0 || s->send_q > 0;

        switch (s->timer) {
        case DIAG_TIMER_RETRANS:
                /* what was sent (the FIN at least) is not acknowledged */
                return s->info.unacked > 0 ? SOCK_CAUSE_LOST_FIN : SOCK_CAUSE_UNKNOWN;
        case DIAG_TIMER_PERSIST:
                if (!unsent)
                        return SOCK_CAUSE_UNKNOWN;
                /* tcp_info carries snd_wnd since Linux 5.4; without it we cannot tell */
                if (!s->info.has_snd_wnd)
                        return SOCK_CAUSE_UNKNOWN;
                return s->info.snd_wnd == 0 ? SOCK_CAUSE_PEER_ZERO_WINDOW : SOCK_CAUSE_BLOCKED_LOCALLY;
        default:
                return SOCK_CAUSE_UNKNOWN;
        }
}

enum sock_cause cause_confirmed(enum sock_cause c, unsigned polls) {
        return c == SOCK_CAUSE_NO_TIMER && polls < CAUSE_NO_TIMER_POLLS ? SOCK_CAUSE_UNKNOWN : c;
}

/* *ret = the value, or fallback when it cannot be read (then -errno). */
static int read_sysctl(const char *path, unsigned fallback, unsigned *ret) {
        _cleanup_(fclosep) FILE *f = fopen(path, "re");

        *ret = fallback;
        if (!f)
                return -errno;
        if (fscanf(f, "%u", ret) != 1) {
                *ret = fallback;
                return -EBADMSG;
        }
        return 0;
}

int cause_limits_read(struct tcp_limits *ret) {
        int r1 = read_sysctl("/proc/sys/net/ipv4/tcp_orphan_retries", 0, &ret->orphan_retries);
        int r2 = read_sysctl("/proc/sys/net/ipv4/tcp_retries2", 15, &ret->retries2);

        return r1 < 0 ? r1 : r2;
}

int64_t cause_fate_msec(const struct fw_sock *s, enum sock_cause cause, const struct tcp_limits *l) {
        bool orphan = fw_sock_is_orphan(s);
        /* net/ipv4/tcp_timer.c: tcp_orphan_retries() makes 0 mean 8 */
        unsigned orphan_retries = l->orphan_retries ? l->orphan_retries : 8;
        uint64_t rto = s->info.rto / 1000; /* usec -> msec */

        /* No timer: nothing retransmits, probes or counts retries. */
        if (cause == SOCK_CAUSE_NO_TIMER)
                return FATE_NEVER;
        if (s->info.len == 0 || rto == 0)
                return FATE_UNKNOWN;

        switch (cause) {
        case SOCK_CAUSE_LOST_FIN: {
                /* Aborted once the retransmissions so far reach the limit:
                 * the next expiry, then one doubled interval per retry left.
                 * The kernel doubles icsk_rto as it goes: tcpi_rto is current. */
                unsigned limit = orphan ? orphan_retries : l->retries2;
                unsigned done = s->info.retransmits;
                unsigned left = limit > done ? limit - done : 0;

                return (int64_t) s->timer_expires + (int64_t) rto_backoff_sum(rto, left);
        }
        case SOCK_CAUSE_PEER_ZERO_WINDOW: {
                /* Probes are answered (with a zero window): probes_out keeps
                 * going back to 0, so an owned socket is never aborted. An
                 * orphan is, at the first expiry where its backoff has
                 * reached tcp_orphan_retries and the probe interval
                 * TCP_RTO_MAX; the backoff stops growing at tcp_retries2.
                 * tcpi_rto is not backed off here: the interval is rto << b. */
                unsigned b = s->info.backoff;
                int64_t total = (int64_t) s->timer_expires;

                if (!orphan)
                        return FATE_NEVER;
                for (;;) {
                        if (b >= orphan_retries && rto_backed_off(rto, b) >= TCP_RTO_MAX_MSEC)
                                return total;
                        if (b >= l->retries2)
                                return FATE_NEVER;
                        b++;
                        total += (int64_t) rto_backed_off(rto, b);
                }
        }
        case SOCK_CAUSE_BLOCKED_LOCALLY: {
                /* Nothing answers the probes: aborted after the limit of them. */
                unsigned limit = orphan ? orphan_retries : l->retries2;
                unsigned done = s->info.probes;
                unsigned left = limit > done ? limit - done : 0;
                return (int64_t) s->timer_expires + (int64_t) rto_backoff_sum(rto_backed_off(rto, s->info.backoff), left);
        }
        default:
                return FATE_UNKNOWN;
        }
}

void cause_annotate(struct fw_sock *s, const struct tcp_limits *l) {
        enum sock_cause c = cause_of(s);

        s->cause = (uint8_t) c;
        s->fate_msec = cause_fate_msec(s, c, l);
}

char *cause_put_fate(char *p, int64_t fate_msec) {
        if (fate_msec == FATE_NEVER)
                return mempcpy(p, "never", 5);
        if (fate_msec < 0) {
                *p++ = '-';
                return p;
        }
        *p++ = '~';
        return put_duration(p, (uint64_t) fate_msec * USEC_PER_MSEC);
}

char *cause_format_fate(char *buf, size_t size, int64_t fate_msec) {
        char d[DURATION_STRLEN + 1];

        *cause_put_fate(d, fate_msec) = '\0';
        return copy_cut(buf, size, d);
}
