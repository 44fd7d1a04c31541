/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "diag.h"
#include "peer.h"
#include "rto.h"
#include "util.h"

uint32_t peer_own_segments(const struct peer_interval *iv) {
        uint32_t own = iv->cur.total_retrans - iv->prev.total_retrans; /* a counter: wraps as it does */

        if (iv->prev.timer == DIAG_TIMER_PERSIST || iv->cur.timer == DIAG_TIMER_PERSIST) {
                /* the fastest schedule the interval can have had: the
                 * smaller backoff and rto of the two samples, the rto
                 * rounded down to msec. The faster the schedule, the more
                 * probes, the larger the allowance: that errs toward not
                 * flagging, the safe side (rto.h's cap is the kernel's
                 * default TCP_RTO_MAX; a lower cap would only allow more). */
                uint8_t backoff = iv->prev.backoff < iv->cur.backoff ? iv->prev.backoff : iv->cur.backoff;
                uint32_t rto = iv->prev.rto < iv->cur.rto ? iv->prev.rto : iv->cur.rto;
                uint64_t base = rto / 1000 > TCP_RTO_MIN_MSEC ? rto / 1000 : TCP_RTO_MIN_MSEC;
                uint64_t probes = iv->usec / 1000 / rto_backed_off(base, backoff) + 1;

                own += probes > UINT32_MAX - own ? UINT32_MAX - own : (uint32_t) probes;
        }
        return own;
}

enum peer_evidence peer_evidence(const struct peer_interval *iv) {
        uint32_t in = iv->cur.segs_in - iv->prev.segs_in;
        uint64_t interval_ms = iv->usec / 1000;
        uint32_t own;

        if (iv->usec == 0)
                return PEER_EV_NONE;
        if (in == 0)
                return PEER_EV_NOTHING;
        if (iv->cur.data_segs_in != iv->prev.data_segs_in || iv->last_data_recv_ms < interval_ms ||
            iv->last_ack_recv_ms < interval_ms)
                return PEER_EV_LIVE;
        /* our side does not read: the peer's window probes and keepalives
         * (out of window, answered with a dupack, never reach tcp_ack()) */
        if (iv->recv_q > 0)
                return PEER_EV_EXPLAINED;
        own = peer_own_segments(iv);
        if (in <= own)
                return PEER_EV_EXPLAINED;
        /* every unexplained segment needs a challenge ACK of the namespace's
         * to stand for it (the counter is the namespace's: an upper bound) */
        if (iv->syn_challenges < 0 || (uint64_t) iv->syn_challenges < (uint64_t) (in - own))
                return PEER_EV_UNEXPLAINED;
        return PEER_EV_RECONNECT;
}

bool peer_update(struct peer_verdict *v, enum peer_evidence ev, unsigned hold_polls) {
        uint8_t was = v->state;

        switch (ev) {
        case PEER_EV_NONE:
                return false;
        case PEER_EV_NOTHING:
                if (v->quiet < UINT8_MAX)
                        v->quiet++;
                if (v->state == PEER_UNKNOWN || v->quiet >= hold_polls)
                        v->state = PEER_SILENT;
                return false;
        case PEER_EV_LIVE:
                v->state = PEER_ANSWERING;
                break;
        case PEER_EV_EXPLAINED:
        case PEER_EV_UNEXPLAINED:
                if (v->state != PEER_RECONNECTING)
                        v->state = PEER_ANSWERING;
                break;
        case PEER_EV_RECONNECT:
                v->state = PEER_RECONNECTING;
                break;
        }
        v->quiet = 0;
        return v->state == PEER_RECONNECTING && was != PEER_RECONNECTING;
}

unsigned peer_hold_polls(uint64_t interval_usec) {
        uint64_t n = interval_usec ? PEER_HOLD_USEC / interval_usec : UINT8_MAX;

        return n < 1 ? 1 : n > UINT8_MAX ? UINT8_MAX : (unsigned) n;
}

const char *peer_state_to_string(uint8_t state) {
        static const char *const names[_PEER_STATE_MAX] = {
                [PEER_UNKNOWN] = "-",
                [PEER_SILENT] = "silent",
                [PEER_ANSWERING] = "answering",
                [PEER_RECONNECTING] = "reconnecting",
        };

        return state < _PEER_STATE_MAX ? names[state] : "-";
}

/* The line after p, or NULL. */
static const char *next_line(const char *p) {
        p = strchr(p, '\n');
        return p ? p + 1 : NULL;
}

int peer_netstat_syn_challenges(const char *text, uint64_t *ret) {
        static const char prefix[] = "TcpExt:";
        static const char name[] = "TCPSYNChallenge";

        for (const char *names = text; names; names = next_line(names)) {
                const char *values, *n, *v;

                if (strncmp(names, prefix, strlen(prefix)) != 0)
                        continue;
                values = next_line(names);
                if (!values || strncmp(values, prefix, strlen(prefix)) != 0)
                        return -EBADMSG;
                n = names + strlen(prefix);
                v = values + strlen(prefix);
                /* the names and the values, word for word */
                for (;;) {
                        size_t nl, vl;
                        char *end;
                        unsigned long long x;

                        n += strspn(n, " ");
                        v += strspn(v, " ");
                        nl = strcspn(n, " \n");
                        vl = strcspn(v, " \n");
                        if (nl == 0 || vl == 0)
                                break;
                        if (nl == strlen(name) && strncmp(n, name, nl) == 0) {
                                errno = 0;
                                x = strtoull(v, &end, 10);
                                if (errno || end != v + vl)
                                        return -EBADMSG;
                                *ret = x;
                                return 0;
                        }
                        n += nl;
                        v += vl;
                }
                names = values; /* the next pair, if any */
        }
        return -ENOENT;
}

int peer_syn_challenges_read(int pid, uint64_t *ret) {
        char path[64], buf[16384];
        _cleanup_(closep) int fd = -EBADF;
        size_t len = 0;

        if (pid > 0)
                snprintf(path, sizeof(path), "/proc/%d/net/netstat", pid);
        else
                snprintf(path, sizeof(path), "/proc/self/net/netstat");
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        for (;;) {
                ssize_t n = read(fd, buf + len, sizeof(buf) - 1 - len);

                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len == sizeof(buf) - 1)
                        return -EFBIG;
        }
        buf[len] = '\0';
        return peer_netstat_syn_challenges(buf, ret);
}
