/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* How the CLI shows sockets: a netstat-style table or a JSON array. */

#include <jansson.h>
#include <stdio.h>

#include "age.h"
#include "diag.h"

/* A row: the kernel's view of a socket and, when the daemon tracks it,
 * how long it has been stuck. */
struct row {
        struct fw_sock sock;
        uint64_t age_usec;              /* the daemon's: stuck at least this long, valid if known */
        uint64_t first_seen_ago_usec;   /* since the daemon first saw it, valid if known */
        /* Whose it is (owner.h): NULL (or "") and 0 when unknown. The strings
         * belong to whoever made the row and outlive it (finwatch: a strpool). */
        const char *unit;
        const char *cgroup;             /* path below the cgroup root */
        const char *process;            /* the command name */
        const char *netns;              /* a /run/netns name or "net:[INODE]"; NULL: "host" */
        const char *netns_unit;         /* for an unnamed namespace: a unit running in it */
        /* The container and pod of its cgroup (container.h): hex digits and
         * dashes only, and a user manager's unit; NULL when none. */
        const char *container_id;       /* its name, container_name(): the ID, a user's behind its manager */
        const char *pod_uid;
        uint8_t container_runtime;      /* enum container_runtime, with a container_id */
        uint8_t pod_qos;                /* enum pod_qos, with a pod_uid */
        /* How long it has been stuck, the daemon's and the kernel's
         * measures combined (gather_ages()): what the Age column and
         * --older-than use. */
        struct age_view age;
        uint8_t daemon_age_source;      /* enum age_source of age_usec, valid if known */
        int pid;
        bool known;                     /* the daemon tracks it: age, first seen and alerted are valid */
        bool alerted;
        uint8_t no_timer_polls;         /* the daemon's dumps in a row without a timer, valid if known */
        bool cause_unconfirmed;         /* sock.cause no-timer from too few samples (gather.c); fate unknown */
        bool cgroup_deleted;
        uint8_t peer;                   /* enum peer_state (peer.h), the daemon's verdict; 0 unknown */
};

/* For the output files (output.c, output-json.c): s when set, else dflt
 * (NULL and "" both mean unknown). */
static inline const char *or_else(const char *s, const char *dflt) {
        return s && *s ? s : dflt;
}
/* Rows (or their cells) read in the display order, all over memory, are
 * asked for this many rows ahead (__builtin_prefetch): a cache miss each
 * otherwise, at 50,000 rows most of the time spent writing them out. */
#define OUTPUT_PREFETCH 8

/* output_table() flags */
#define OUTPUT_NETNS 1u                 /* a Netns column */
#define OUTPUT_PROCESSES 2u             /* a Process column (rows looked up with gather's processes) */

/* Display order: family, local endpoint, peer endpoint, cookie. The
 * indices of rows in that order (malloc'ed; NULL out of memory); the rows
 * put in that order by it (order is left as 0, 1, 2, ...); or both. */
uint32_t *output_order(const struct row *rows, size_t n);

/* The display order as bytes (numbers big-endian; an IPv4 address its 4
 * bytes: the same order as the 16 with zeros after them) in big-endian
 * words, compared word by word: an IPv4 row's key is its first three, an
 * IPv6 row's three more kept apart (21 bytes against 45). Sorting these
 * small keys reads each (large) row once, not at every comparison;
 * gather() makes each while its row is in the cache. */
struct output_key {
        uint64_t w[3];
        uint32_t at;            /* the row's index */
        uint32_t more;          /* an IPv6 row's: 1 + its index in more[]; 0 none */
};
struct output_keys {
        struct output_key *v;
        size_t n, allocated;
        uint64_t (*more)[3];
        size_t n_more, more_allocated;
};
/* The key of a row (index at) added. 0 or -ENOMEM. */
int output_keys_add(struct output_keys *k, const struct fw_sock *s, size_t at);
/* Sort the keys (v is reordered) and return their rows' indices in that
 * order (malloc'ed; NULL out of memory). */
uint32_t *output_keys_order(struct output_keys *k);
/* Whether keys i and j (of v as it is) are of one socket: its cookie is
 * in them, and no other socket's is the same. */
bool output_keys_same(const struct output_keys *k, size_t i, size_t j);
void output_keys_done(struct output_keys *k);
void output_permute(struct row *rows, uint32_t *order, size_t n);
void output_sort(struct row *rows, size_t n);

/* Set o[key] = v, which it takes even on failure; 0, or -ENOMEM (v NULL
 * included). */
int output_json_set(json_t *o, const char *key, json_t *v);
/* A name another user wrote, escaped as in the table; NULL when out of memory. */
json_t *output_json_name(const char *s);

/* The Cause column's text: the cause, "no-timer?" for a no-timer not
 * confirmed (gather_confirm_causes()). */
const char *output_row_cause(const struct row *r);

/* The status is built whole in memory and written to f at once: when it
 * fails (-ENOMEM), nothing reaches f. The table and the JSON need no
 * memory once their first byte is written (textbuf.h): they cannot fail
 * but for the writing, and are written as they are made. -EIO on a write
 * error. */

/* finwatchd's status (proto.h), as lines for people or a JSON object. 0 or -errno. */
struct proto_status;
int output_status(FILE *f, const struct proto_status *st, bool json);

/* All rows, in the order order gives (indices into rows; NULL: as they
 * are); 0 or -errno. The Container column when a row is in a container,
 * Pod and QoS when one is in a pod. */
int output_table(FILE *f, const struct row *rows, const uint32_t *order, size_t n, unsigned flags);

/* The table made a row at a time (what output_table() does): each row's
 * cells made once, when it is added (gather() adds each as it comes, while
 * it is in the cache), then the lines in order (indices as added). Adding
 * cannot fail but for memory, which writing then says (-ENOMEM, nothing
 * written). */
struct output_table;
int output_table_new(struct output_table **ret, unsigned flags);
void output_table_add(struct output_table *t, const struct row *row, size_t index);
int output_table_write(struct output_table *t, FILE *f, const uint32_t *order, size_t n);
struct output_table *output_table_free(struct output_table *t);
static inline void output_table_freep(struct output_table **t) {
        output_table_free(*t);
}
/* The rows as a JSON array, as output_table() takes them, each object as
 * jansson printed it with JSON_INDENT(2) in the array (its reals exact
 * decimals: "90.5", never "%.17g"'s 45.123456000000002). now_realtime_usec:
 * wall clock, to turn "first seen N ago" into a time. */
int output_json(FILE *f, const struct row *rows, const uint32_t *order, size_t n, uint64_t now_realtime_usec);

/* A row's age as decisions see it: the lower bound (age_min_seconds, the
 * daemon's or the kernel's), true and *ret_usec when known. The summary's
 * oldest ages read it. */
bool output_row_age(const struct row *r, uint64_t *ret_usec);

/* Render with fn into memory, then write it to f at once, as output_json()
 * does: on failure (-ENOMEM) nothing reaches f; -EIO on a write error. */
int output_whole(FILE *f, int (*fn)(FILE *m, const void *args), const void *args);
