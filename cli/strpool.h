/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Interned strings: each distinct string is stored once and stays at the
 * same address until strpool_done(). Rows point into it, so a row stays
 * small however many sockets share a cgroup, unit or process name. */

#include <stddef.h>

struct strpool {
        char **slots;           /* open addressing; NULL is empty */
        size_t n, allocated;    /* allocated: 0 or a power of two */
};

/* The pool's copy of s (added if new); NULL when out of memory. */
const char *strpool_add(struct strpool *p, const char *s);
void strpool_done(struct strpool *p);
