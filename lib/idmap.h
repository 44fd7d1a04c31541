/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A map from a nonzero 64-bit key (a cgroup id, a namespace inode, a hash)
 * to a 32-bit value: open addressing, at most 3/4 full, keys spread with
 * mix64(). What the daemon's labels and the cgroup cache look things up by. */

#include <stddef.h>
#include <stdint.h>

#define IDMAP_NONE UINT32_MAX   /* what idmap_get() says of a key not there */

struct idmap_slot {
        uint64_t key;           /* 0: empty */
        uint32_t value;
};

struct idmap {
        struct idmap_slot *slots;
        size_t capacity;        /* a power of two, or 0 */
        size_t size;
};

/* The value of key (nonzero), or IDMAP_NONE. */
uint32_t idmap_get(const struct idmap *m, uint64_t key);
/* Set key (nonzero) to value; 0 or -ENOMEM (the map as it was). */
int idmap_put(struct idmap *m, uint64_t key, uint32_t value);
/* Add key (nonzero) with value unless it is there: 1 added, 0 there
 * already (its value kept), -ENOMEM. One probe: a set's insert. */
int idmap_add(struct idmap *m, uint64_t key, uint32_t value);
/* Empty it, keeping its room. */
void idmap_clear(struct idmap *m);
void idmap_done(struct idmap *m);
