/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stddef.h>

#include "age.h"
#include "rto.h"
#include "util.h"

/* The kernel's rules, as read in Linux 6.1 and 6.18 (net/ipv4/tcp_timer.c,
 * tcp_output.c, tcp_input.c, tcp.c tcp_get_info(); inet_diag.c for the
 * timer fields). "The stall" below is the time since the socket last made
 * progress: the last ACK that advanced snd_una, or the first sending of
 * what is outstanding if that came later.
 *
 * Retransmit timer (idiag_timer 1, which also covers the tail loss probe):
 *  R1 Each RTO timeout (tcp_retransmit_timer()) increments icsk_retransmits
 *     (tcpi_retransmits), and, on the normal path, icsk_backoff
 *     (tcpi_backoff) and doubles icsk_rto (tcpi_rto, capped at TCP_RTO_MAX)
 *     before re-arming the timer with the doubled value. An ACK that
 *     advances snd_una sets icsk_retransmits back to 0 (tcp_ack()); the
 *     backoff is only reset with a valid RTT sample (tcp_ack_update_rtt()).
 *     So the current recovery had min(retransmits, backoff) timeouts, the
 *     interval now running is tcpi_rto, of which tcpi_rto - timer_expires
 *     has passed, and each interval before was at least half the one after
 *     it (halving undoes a doubling or a cap). Their sum is a lower bound of
 *     the time since the recovery began, and so of the stall. Not so: a
 *     retransmission refused by local congestion (re-armed at
 *     TCP_RESOURCE_PROBE_INTERVAL without doubling) and the last interval
 *     of a TCP_USER_TIMEOUT (clamped; the socket is aborted at its end).
 *     The halving assumes no cap: since 6.15 the doubling is capped at
 *     tcp_rto_max(sk), which can be as low as 1 s, and halving from the
 *     current interval undercounts any capped one, never overcounts. (A cap
 *     lowered by TCP_RTO_MAX_MS below an icsk_rto already reached would make
 *     the running interval shorter than tcpi_rto: not handled.) R3's upper
 *     bound and estimate still take TCP_RTO_MAX as the cap; a smaller cap
 *     can make that upper bound fall below the lower one, and then no bound
 *     is given at all (below).
 *  R2 Since 6.7: tcp_update_rto_stats() counts a recovery
 *     (tcpi_total_rto_recoveries) and stamps its start (rto_stamp) at the
 *     first timeout with icsk_retransmits 0; tcp_get_info() adds the running
 *     recovery to tcpi_total_rto_time (msec, every recovery of the
 *     connection's life). With one recovery, in recovery now (retransmits >
 *     0), the current recovery lasted exactly total_rto_time: a lower bound
 *     of the stall. The u16 counters wrap: one recovery is trusted only if
 *     every timeout of the life is this one's (total_rto == retransmits).
 *     With more, it lasted at most total_rto_time.
 *  R3 Before the first timeout: the timer was (re-)armed at the last
 *     progress with the RTO, or a tail loss probe first whose timeout is at
 *     most the RTO (tcp_schedule_loss_probe()) and then the RTO from the
 *     probe's sending (tcp_rearm_rto()): at most twice the first RTO, which
 *     is tcpi_rto >> min(retransmits, backoff) if every timeout doubled it
 *     (R1) and tcpi_rto was not capped, else at most TCP_RTO_MAX. Hence the
 *     upper bound total_rto_time + 2 x first RTO, and the estimate
 *     total_rto_time + first RTO (measured here, a lost FIN on loopback:
 *     the truth was total_rto_time + 0.41 s with an RTO of 0.2 s).
 *  R4 tcpi_last_data_sent is the time since the last transmission that
 *     carried data, new or retransmitted (__tcp_transmit_skb() calls
 *     tcp_event_data_sent() for any segment longer than its header); a bare
 *     FIN carries none. With Send-Q 1 (write_seq - snd_una: the FIN alone is
 *     outstanding) every byte sent before was acknowledged, after it was
 *     sent: the stall began after that transmission, and last_data_sent is
 *     an upper bound. (It is none with data outstanding: retransmitting
 *     data refreshes it.)
 *
 * Persist timer (idiag_timer 4), the zero window probe:
 *  P1 It runs only with nothing in flight (tcp_probe_timer() returns when
 *     packets_out). Each probe (tcp_send_probe0()) increments icsk_backoff
 *     (up to tcp_retries2) and re-arms the timer with
 *     tcp_probe0_when() = max(icsk_rto, TCP_RTO_MIN) << backoff, capped at
 *     TCP_RTO_MAX, since 6.15 at tcp_rto_max(sk) (1 .. 120 s, a sysctl or
 *     a sockopt): the lower bound caps each interval at the smallest cap
 *     the socket proves (persist_cap_min()); icsk_rto itself is not doubled. A peer's zero-window ACK
 *     re-arms it from its arrival with the same interval (tcp_ack_probe())
 *     and sets icsk_probes_out (tcpi_probes) back to 0, so the probes are
 *     counted by the backoff, not tcpi_probes. The first probe waited the
 *     base interval from when the window closed (tcp_check_probe_timer()).
 *     The sum of the intervals for backoff 0 .. b-1 and the part of the
 *     current one that has passed is a lower bound. Not so if a backoff
 *     was left over from an earlier recovery without an RTT sample: the
 *     rule is skipped where that may be (persist_backoff_trusted()).
 *  P2 With the peer's window at 0 a probe carries no data
 *     (tcp_write_wakeup() sends tcp_xmit_probe_skb()), and with nothing in
 *     flight the last data sent was acknowledged after it was sent:
 *     last_data_sent is an upper bound (R4's reasoning). Not with the window
 *     open (blocked-locally): each probe tries to send the queued data.
 *
 * Anything else (no timer, a keepalive, a shorter tcp_info without the
 * fields) gives no bound: unknown, never a guess. */

#define AGE_SLACK_MSEC 20   /* jiffies rounded to msec, twice (HZ 100) */

static int64_t max64(int64_t a, int64_t b) {
        return a > b ? a : b;
}

/* Keep the smaller known upper bound. */
static void bound_above(int64_t *max, int64_t v) {
        if (*max == AGE_UNKNOWN || v < *max)
                *max = v;
}

/* R1: time since the current recovery's first timeout, at least. */
static int64_t retrans_schedule_min(const struct fw_sock *s, uint64_t rto, unsigned timeouts) {
        uint64_t total = s->timer_expires <= rto ? rto - s->timer_expires : 0;

        for (unsigned j = 1; j < timeouts && j < 64; j++)
                total += rto >> j;
        return (int64_t) total;
}

/* The smallest probe interval cap the socket proves (P1): since Linux 6.15
 * the cap is tcp_rto_max(sk) (net.ipv4.tcp_rto_max_ms or TCP_RTO_MAX_MS,
 * 1 .. 120 s), not TCP_RTO_MAX. The interval now running is at least
 * timer_expires and at most the cap. tcpi_rto proves nothing: the sockopt
 * can lower the cap below an icsk_rto already reached. */
static uint64_t persist_cap_min(const struct fw_sock *s) {
        return s->timer_expires > TCP_RTO_MAX_MIN_MSEC ? s->timer_expires : TCP_RTO_MAX_MIN_MSEC;
}

/* P1: time since the window closed, at least. */
static int64_t persist_schedule_min(const struct fw_sock *s, uint64_t rto) {
        uint64_t base = rto > TCP_RTO_MIN_MSEC ? rto : TCP_RTO_MIN_MSEC;
        uint64_t cap = persist_cap_min(s);
        uint64_t current = rto_backed_off_capped(base, s->info.backoff, cap);
        uint64_t total = s->timer_expires <= current ? current - s->timer_expires : 0;

        for (unsigned k = 0; k < s->info.backoff; k++)
                total += rto_backed_off_capped(base, k, cap);
        return (int64_t) total;
}

/* P1's premise: the backoff is this zero window's. An RTO recovery that
 * ended without an RTT sample (Karn: none from a retransmitted segment
 * without timestamps) leaves icsk_backoff and the backed-off icsk_rto, and
 * the next zero window's first probe is armed at tcp_probe0_base() with no
 * shift: the schedule would count minutes never waited. So: no RTO timeout
 * in the connection's life (total_rto, where the kernel sends it), and no
 * retransmission at all unless timestamps were negotiated (with them the
 * ACK that ends a recovery carries an RTT sample through TSecr, which
 * resets the backoff). total_retrans also counts fast retransmits, which
 * leave the backoff alone: skipping those costs a bound, never a wrong one;
 * and it covers a total_rto that wrapped (u16) to 0. */
static bool persist_backoff_trusted(const struct fw_sock *s) {
        if (s->info.has_total_rto && s->info.total_rto > 0)
                return false;
        if (s->info.total_retrans > 0 && !(s->info.options & FW_TCPI_OPT_TIMESTAMPS))
                return false;
        return true;
}

void age_from_kernel(const struct fw_sock *s, struct age_bounds *ret) {
        uint64_t rto = s->info.rto / 1000; /* usec -> msec */
        int64_t min = AGE_UNKNOWN, max = AGE_UNKNOWN, est = AGE_UNKNOWN;

        *ret = (struct age_bounds) { AGE_UNKNOWN, AGE_UNKNOWN, AGE_UNKNOWN };
        if (s->info.len == 0 || rto == 0)
                return;

        if (s->timer == DIAG_TIMER_RETRANS) {
                unsigned retransmits = s->info.retransmits, backoff = s->info.backoff;
                unsigned timeouts = retransmits < backoff ? retransmits : backoff;

                if (timeouts > 0)
                        min = retrans_schedule_min(s, rto, timeouts);
                if (s->info.has_total_rto && retransmits > 0 && s->info.total_rto_recoveries > 0) {
                        int64_t total = s->info.total_rto_time;
                        int64_t first = rto < TCP_RTO_MAX_MSEC ? (int64_t) (rto >> (timeouts < 63 ? timeouts : 63))
                                                               : TCP_RTO_MAX_MSEC;

                        bound_above(&max, total + 2 * first + AGE_SLACK_MSEC);
                        /* one recovery, and every timeout of the life is this
                         * recovery's: the u16 counters wrap, and a count that
                         * disagrees is a premise failed */
                        if (s->info.total_rto_recoveries == 1 && s->info.total_rto == retransmits) {
                                min = max64(min, total);
                                est = total + first;
                        }
                }
                if (s->send_q == 1 && s->info.notsent_bytes == 0)
                        bound_above(&max, s->info.last_data_sent);
        } else if (s->timer == DIAG_TIMER_PERSIST) {
                if (persist_backoff_trusted(s))
                        min = persist_schedule_min(s, rto);
                if (s->info.has_snd_wnd && s->info.snd_wnd == 0)
                        bound_above(&max, s->info.last_data_sent);
        }

        if (min <= 0)
                return; /* nothing, or only "at least 0" */
        if (max != AGE_UNKNOWN && max < min)
                /* A rule's premise failed and nothing says which. The lower
                 * bound is what decisions act on, and the schedule behind it
                 * is the more fragile rule (last_data_sent is a measure):
                 * no bound at all rather than acting on a contradicted one.
                 * (Clamping min to max would not do: max >= the truth.) */
                return;
        if (est == AGE_UNKNOWN)
                est = max != AGE_UNKNOWN ? min + (max - min) / 2 : min;
        if (est < min)
                est = min;
        if (max != AGE_UNKNOWN && est > max)
                est = max;
        *ret = (struct age_bounds) { .min_msec = min, .max_msec = max, .est_msec = est };
}

bool age_is_close(const struct age_bounds *b) {
        int64_t spread;

        if (b->min_msec == AGE_UNKNOWN || b->max_msec == AGE_UNKNOWN)
                return false;
        spread = b->max_msec - b->min_msec;
        return spread <= AGE_CLOSE_MSEC || spread <= b->est_msec / 10;
}

const char *age_source_to_string(enum age_source s) {
        switch (s) {
        case AGE_SOURCE_DAEMON:
                return "daemon";
        case AGE_SOURCE_KERNEL:
                return "kernel";
        default:
                return NULL;
        }
}

void age_combine(const struct age_bounds *kernel, bool have_daemon, uint64_t daemon_usec, uint8_t daemon_source,
                 struct age_view *ret) {
        bool have_kernel = kernel->min_msec != AGE_UNKNOWN;
        uint64_t kmin = have_kernel ? (uint64_t) kernel->min_msec * USEC_PER_MSEC : 0;
        struct age_view v = {};

        if (!have_kernel && !have_daemon) {
                *ret = v;
                return;
        }
        if (have_daemon && (!have_kernel || daemon_usec >= kmin)) {
                /* the daemon's clock may itself have started at a kernel bound */
                v.min_usec = daemon_usec;
                v.source = daemon_source == AGE_SOURCE_KERNEL ? AGE_SOURCE_KERNEL : AGE_SOURCE_DAEMON;
        } else {
                v.min_usec = kmin;
                v.source = AGE_SOURCE_KERNEL;
        }
        v.est_usec = v.min_usec;
        if (have_kernel) {
                uint64_t kest = (uint64_t) kernel->est_msec * USEC_PER_MSEC;
                uint64_t kmax = (uint64_t) kernel->max_msec * USEC_PER_MSEC;

                if (kernel->max_msec != AGE_UNKNOWN && kmax >= v.min_usec) {
                        v.has_max = true;
                        v.max_usec = kmax;
                }
                if (kest > v.est_usec && (!v.has_max || kest <= v.max_usec))
                        v.est_usec = kest;
                /* close as the kernel's bounds are, and still holding the lower bound */
                v.close = v.has_max && age_is_close(&(const struct age_bounds) {
                        .min_msec = (int64_t) (v.min_usec / USEC_PER_MSEC),
                        .max_msec = kernel->max_msec,
                        .est_msec = (int64_t) (v.est_usec / USEC_PER_MSEC),
                });
        }
        *ret = v;
}

uint64_t age_shown_usec(const struct age_view *v) {
        return v->source == AGE_SOURCE_KERNEL && v->close ? v->est_usec : v->min_usec;
}

char *age_put(char *p, const struct age_view *v) {
        if (v->source == AGE_SOURCE_NONE) {
                *p++ = '-';
                return p;
        }
        if (v->source == AGE_SOURCE_DAEMON)
                return put_duration(p, v->min_usec);
        *p++ = v->close ? '~' : '>';
        return put_duration(p, age_shown_usec(v));
}

char *age_format(char *buf, size_t size, const struct age_view *v) {
        char d[DURATION_STRLEN + 1];

        *age_put(d, v) = '\0';
        return copy_cut(buf, size, d);
}
