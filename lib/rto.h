/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The kernel's exponential backoff of its retransmit and probe timers, in
 * msec: what both the fate (cause.c) and the age (age.c) count with. */

#include <stdint.h>

#define TCP_RTO_MAX_MSEC 120000      /* include/net/tcp.h TCP_RTO_MAX */
#define TCP_RTO_MIN_MSEC 200         /* include/net/tcp.h TCP_RTO_MIN */

/* base << shift, capped at TCP_RTO_MAX (inet_csk_rto_backoff(),
 * tcp_probe0_when()). */
static inline uint64_t rto_backed_off(uint64_t base_msec, unsigned shift) {
        uint64_t iv = shift >= 20 ? TCP_RTO_MAX_MSEC : base_msec << shift;

        return iv > TCP_RTO_MAX_MSEC ? TCP_RTO_MAX_MSEC : iv;
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
