/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The kernel's exponential backoff of its retransmit and probe timers, in
 * msec: what both the fate (cause.c) and the age (age.c) count with. */

#include <stdint.h>

#define TCP_RTO_MAX_MSEC 120000      /* include/net/tcp.h TCP_RTO_MAX */
#define TCP_RTO_MIN_MSEC 200         /* include/net/tcp.h TCP_RTO_MIN */
/* Since Linux 6.15 the caps are tcp_rto_max(sk), from net.ipv4.tcp_rto_max_ms
 * or TCP_RTO_MAX_MS, at least this (1 s) and at most TCP_RTO_MAX. A lower
 * bound may count with no larger cap than the socket proves; an upper bound
 * with TCP_RTO_MAX. */
#define TCP_RTO_MAX_MIN_MSEC 1000

/* base << shift, capped at TCP_RTO_MAX (inet_csk_rto_backoff(),
 * tcp_probe0_when()). */
static inline uint64_t rto_backed_off(uint64_t base_msec, unsigned shift) {
        uint64_t iv = shift >= 20 ? TCP_RTO_MAX_MSEC : base_msec << shift;

        return iv > TCP_RTO_MAX_MSEC ? TCP_RTO_MAX_MSEC : iv;
}

/* base << shift, capped at cap (tcp_probe0_when() with tcp_rto_max(sk)). */
static inline uint64_t rto_backed_off_capped(uint64_t base_msec, unsigned shift, uint64_t cap_msec) {
        uint64_t iv = rto_backed_off(base_msec, shift);

        return iv > cap_msec ? cap_msec : iv;
}

/* The sum of n timer intervals after `first`, each double the one before,
 * capped at TCP_RTO_MAX (tcp_retransmit_timer() doubling icsk_rto). */
static inline uint64_t rto_backoff_sum(uint64_t first_msec, unsigned n) {
        uint64_t iv = first_msec, total = 0;

        for (unsigned i = 0; i < n; i++) {
                iv = iv * 2 > TCP_RTO_MAX_MSEC ? TCP_RTO_MAX_MSEC : iv * 2;
                total += iv;
        }
        return total;
}
