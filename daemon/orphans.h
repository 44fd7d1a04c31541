/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The kernel's orphan budget: when the orphan sockets pass
 * net.ipv4.tcp_max_orphans the kernel starts resetting connections
 * ("too many orphaned sockets"). finwatch warns before that. */

#include <stdbool.h>
#include <stdint.h>

struct orphan_count {
        uint64_t orphans;        /* TCP orphans now (/proc/net/sockstat) */
        uint64_t max_orphans;    /* net.ipv4.tcp_max_orphans; 0 unknown */
};

/* Read both; -errno when they cannot be read (tcp_max_orphans is only
 * visible in the initial network namespace on current kernels). */
int orphans_count_read(struct orphan_count *ret);

/* Parse /proc/net/sockstat's text for the TCP orphan count. */
int orphans_parse_sockstat(const char *text, uint64_t *ret);

/* Above the budget (in 1/100 %)? Alerts rise once: *armed goes false on
 * the way up and back to true when the share falls below 90% of the budget. */
bool orphans_budget_check(const struct orphan_count *c, unsigned budget_bp, bool *armed);
