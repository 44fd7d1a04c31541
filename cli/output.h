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

/* output_table() flags */
#define OUTPUT_NETNS 1u                 /* a Netns column */

/* Display order: family, local endpoint, peer endpoint, cookie. */
void output_sort(struct row *rows, size_t n);

/* One row as a JSON object (new reference), NULL on allocation failure.
 * now_realtime_usec: wall clock, to turn "first seen N ago" into a time. */
json_t *output_row_json(const struct row *r, uint64_t now_realtime_usec);

/* Set o[key] = v, which it takes even on failure; 0, or -ENOMEM (v NULL
 * included). */
int output_json_set(json_t *o, const char *key, json_t *v);
/* A name another user wrote, escaped as in the table; NULL when out of memory. */
json_t *output_json_name(const char *s);

/* The Cause column's text: the cause, "no-timer?" for a no-timer not
 * confirmed (gather_confirm_causes()). */
const char *output_row_cause(const struct row *r);

/* JSON and the status are built whole in memory and written to f at once:
 * when they fail (-ENOMEM), nothing reaches f. The table cannot fail but
 * for the writing: it is written as it is made. -EIO on a write error. */

/* finwatchd's status (proto.h), as lines for people or a JSON object. 0 or -errno. */
struct proto_status;
int output_status(FILE *f, const struct proto_status *st, bool json);

/* All rows; 0 or -errno. The Container column when a row is in a container,
 * Pod and QoS when one is in a pod. */
int output_table(FILE *f, const struct row *rows, size_t n, unsigned flags);
int output_json(FILE *f, const struct row *rows, size_t n, uint64_t now_realtime_usec);

/* A row's age as decisions see it: the lower bound (age_min_seconds, the
 * daemon's or the kernel's), true and *ret_usec when known. The summary's
 * oldest ages read it. */
bool output_row_age(const struct row *r, uint64_t *ret_usec);

/* Render with fn into memory, then write it to f at once, as output_json()
 * does: on failure (-ENOMEM) nothing reaches f; -EIO on a write error. */
int output_whole(FILE *f, int (*fn)(FILE *m, const void *args), const void *args);
