/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Is the peer of a stuck socket trying to come back? A client that
 * reconnects from the same address and port sends its SYN to the stuck
 * socket, which answers with a challenge ACK (RFC 5961) and counts the SYN
 * in tcpi_segs_in; the client's RST to that ACK ends the stuck socket,
 * unless it is lost too: then the client can never reconnect. Pure: two
 * samples of one socket, the interval between them and the namespace's
 * TcpExtTCPSYNChallenge counter in, a verdict out.
 *
 * The rule, for one interval (two polls of a socket in the same state):
 *   1. segs_in did not grow: nothing came in (PEER_EV_NOTHING).
 *   2. data came in (data_segs_in grew, or last_data_recv within the
 *      interval) or an acceptable ACK did (last_ack_recv within it): the
 *      peer is alive and talking on this connection (PEER_EV_LIVE). A SYN
 *      is answered before the ACK is processed (tcp_validate_incoming), so
 *      it never moves last_ack_recv; a zero-window peer's answers to the
 *      probes are ACKs and do.
 *   3. what the socket sent that an answer could come back to: its
 *      retransmissions (total_retrans grew) and, with the persist timer
 *      on, its window probes, at most one per rto_backed_off(max(rto,
 *      TCP_RTO_MIN), backoff) (rto.h; tcp_probe0_when()) over the interval,
 *      plus one: the fastest schedule, so the allowance errs large.
 *      segs_in grew by no more than that: PEER_EV_EXPLAINED. So it is
 *      when data waits in our receive queue (recv_q > 0): our application
 *      does not read, our window closes, and the peer's zero-window probes
 *      (seq rcv_nxt - 1) and keepalives fail tcp_sequence() and get a
 *      dupack without reaching tcp_ack(), so they move neither
 *      last_ack_recv nor data_segs_in. (Our window is 0 only with unread
 *      data queued, so recv_q stands for tcpi_rcv_wnd, which older kernels
 *      do not send.) A SYN to such a socket goes unflagged: the safe side.
 *   4. it grew by more, by N segments, and the namespace's
 *      TcpExtTCPSYNChallenge counter grew by N or more in this interval
 *      and the one before (the counter is read once a poll, a SYN may fall
 *      on either side of the dump; every SYN answered counts there):
 *      PEER_EV_RECONNECT. Less growth (other segments the rule does not
 *      know, e.g. a peer's keepalives while our window is open), or the
 *      counter unknown (no process known in that namespace to read it
 *      through): PEER_EV_UNEXPLAINED.
 * The state over polls (peer_update): RECONNECT makes it `reconnecting`,
 * LIVE makes it `answering`; EXPLAINED and UNEXPLAINED make it `answering`
 * unless it is `reconnecting` already (a SYN that came with a
 * retransmission is no evidence against); NOTHING keeps the state for
 * PEER_HOLD_USEC of polls (the kernel's SYN retries back off: 1, 2, 4, 8 s
 * apart...), then it is `silent`. */

#include <stdbool.h>
#include <stdint.h>

enum peer_state {
        PEER_UNKNOWN = 0,      /* not seen twice yet (or no daemon): "-" */
        PEER_SILENT,           /* nothing comes in */
        PEER_ANSWERING,        /* the peer answers, or sends, on this connection */
        PEER_RECONNECTING,     /* SYNs from the peer's address and port: it blocks a client */
        _PEER_STATE_MAX,
};

enum peer_evidence {
        PEER_EV_NONE,          /* no interval (first sight, no tcp_info) */
        PEER_EV_NOTHING,
        PEER_EV_LIVE,
        PEER_EV_EXPLAINED,
        PEER_EV_UNEXPLAINED,
        PEER_EV_RECONNECT,
};

/* usec: how long a verdict outlives the last segment that supported it */
#define PEER_HOLD_USEC (60 * UINT64_C(1000000))

/* One sample of a socket's counters (struct tcp_info). */
struct peer_sample {
        uint32_t segs_in;
        uint32_t data_segs_in;
        uint32_t total_retrans;
        uint32_t rto;          /* usec */
        uint8_t backoff;
        uint8_t timer;         /* DIAG_TIMER_* */
};

struct peer_interval {
        struct peer_sample prev, cur;
        uint64_t usec;                 /* between the two samples */
        uint32_t last_data_recv_ms;    /* at cur */
        uint32_t last_ack_recv_ms;     /* at cur */
        uint32_t recv_q;               /* bytes, at cur: received, not read by our application */
        int64_t syn_challenges;        /* the namespace's counter grew by this much over
                                        * this interval and the one before; -1 unknown */
};

/* What one interval shows. */
enum peer_evidence peer_evidence(const struct peer_interval *iv);

/* Segments the socket's own retransmissions and probes can explain over
 * the interval (rule 3). */
uint32_t peer_own_segments(const struct peer_interval *iv);

/* The verdict over polls: state and the polls since the last evidence. */
struct peer_verdict {
        uint8_t state;                 /* enum peer_state */
        uint8_t quiet;                 /* polls in a row with nothing coming in */
};

/* Fold one interval's evidence in; hold_polls: peer_hold_polls(). Returns
 * true when the state became PEER_RECONNECTING with this interval. */
bool peer_update(struct peer_verdict *v, enum peer_evidence ev, unsigned hold_polls);

/* PEER_HOLD_USEC in polls of this interval (1..255). */
unsigned peer_hold_polls(uint64_t interval_usec);

/* "-", "silent", "answering", "reconnecting" */
const char *peer_state_to_string(uint8_t state);

/* TcpExtTCPSYNChallenge from the text of a /proc/PID/net/netstat (pairs
 * of lines "TcpExt: names..." and "TcpExt: values..."). 0, -ENOENT when it
 * is not there, -EBADMSG for a malformed file. */
int peer_netstat_syn_challenges(const char *text, uint64_t *ret);

/* Read it for the namespace of process pid (0: ours, /proc/self). 0 or -errno. */
int peer_syn_challenges_read(int pid, uint64_t *ret);
