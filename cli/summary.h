/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* finwatch list --summary: the stuck sockets counted by peer address, peer
 * network (/24, /64), local port, unit, cause and network namespace, with
 * each group's oldest age and what the kernel will do about it. One pass
 * over the rows, one open-addressing table per grouping: no allocation per
 * socket but the tables' doublings. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "output.h"

enum summary_by {
        SUMMARY_BY_PEER_ADDRESS,
        SUMMARY_BY_PEER_NETWORK,        /* IPv4 (v4-mapped too) /24, IPv6 /64 */
        SUMMARY_BY_LOCAL_PORT,
        SUMMARY_BY_UNIT,
        SUMMARY_BY_CAUSE,
        SUMMARY_BY_NETNS,
        _SUMMARY_BY_MAX,
};

/* What a set of sockets adds up to. */
struct summary_stats {
        size_t count;
        size_t ages_known;              /* sockets whose age is known (output_row_age()) */
        uint64_t oldest_usec;           /* the largest known age, valid if ages_known */
        size_t never;                   /* fate never: the kernel will not reap them */
        size_t reaped;                  /* the kernel will reap them, by its own timers */
        size_t fate_unknown;
        int64_t reaped_first_msec;      /* the soonest of the reaped ones' fates, valid if reaped */
        int64_t reaped_last_msec;       /* the latest: every one of them gone by then */
};

/* A group's key; what the grouping does not use is 0 (NULL). */
struct summary_key {
        uint8_t addr[16];               /* peer address or network, IPv4 in the first 4 bytes */
        uint16_t port;                  /* local port */
        uint8_t family;                 /* of addr: AF_INET (v4-mapped included) or AF_INET6 */
        uint8_t cause;                  /* enum sock_cause */
        bool cause_unconfirmed;         /* a no-timer? (output_row_cause()) */
        uint8_t reserved[3];            /* 0: no padding, so that "= {}" zeroes every byte hashed */
        const char *name;               /* unit, "(deleted)" or NULL (unknown); netns name or NULL (host);
                                         * the rows' strings, which outlive the summary */
};

struct summary_group {
        struct summary_key key;
        struct summary_stats st;
};

struct summary_grouping {
        struct summary_group *v;        /* sorted by summary_build(): count, then oldest, then key */
        size_t n, allocated;
        uint32_t *slots;                /* index + 1 into v, 0 empty; nslots a power of two; freed once built */
        size_t nslots;
};

struct summary {
        struct summary_stats total;
        struct summary_grouping by[_SUMMARY_BY_MAX];
};

/* Group the rows (all of them: select before; order: those of rows to
 * take, as gather() leaves them, NULL for rows[0..n)). 0 or -ENOMEM (then
 * s holds nothing). */
int summary_build(struct summary *s, const struct row *rows, const uint32_t *order, size_t n);
void summary_done(struct summary *s);

/* The table shows each grouping's first SUMMARY_TABLE_ROWS groups and a
 * line for the rest; JSON shows every group. */
#define SUMMARY_TABLE_ROWS 10

/* flags: OUTPUT_NETNS shows the by-namespace table (JSON always has it).
 * 0 or -errno, as output_table() and output_json(). */
int summary_table(FILE *f, const struct summary *s, unsigned flags);
int summary_json(FILE *f, const struct summary *s);
