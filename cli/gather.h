/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* What finwatch shows and kills: the kernel's snapshot of the stuck sockets
 * (one dump per family and namespace), joined with finwatchd's ages,
 * annotated with cause, fate, unit and process, and the selection the user
 * asked for. No printing: the verbs (finwatch.c) say what happened. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "container.h"
#include "netns.h"
#include "output.h"
#include "owner.h"
#include "strpool.h"

/* An ADDR[:PORT] selector: "1.2.3.4", "1.2.3.4:80", "[::1]:80", "::1", ":80". */
struct endpoint_sel {
        bool set, has_addr, has_port;
        uint8_t family;
        uint8_t addr[16];
        uint16_t port;
};

/* -EINVAL unless arg is one of the forms above. */
int gather_parse_endpoint(const char *arg, struct endpoint_sel *ret);
/* Whether an endpoint matches (a v4-mapped address is its IPv4 address). */
bool gather_endpoint_matches(const struct endpoint_sel *sel, uint8_t family, const uint8_t addr[16], uint16_t port);

/* Which sockets, and where from: what list and kill share, and kill's own. */
struct selection {
        uint32_t states;           /* DIAG_STATE_BIT mask */
        bool have_state;
        uint64_t older_than;       /* usec, valid if have_older */
        bool have_older;
        bool v4, v6;
        bool no_daemon;
        const char *unit;          /* only sockets of this systemd unit */
        struct container_sel container; /* only of the containers it names, if have_container */
        bool have_container;
        char pod[POD_UID_MAX + 1]; /* only of the pod of this UID, if have_pod */
        bool have_pod;
        const char *netns;         /* NULL: ours; "all"; or names */
        bool processes;            /* look up the process of each owned socket (costly: owner.h) */
        enum owner_via processes_via; /* how (FINWATCH_PROCESS_LOOKUP) */
        struct endpoint_sel local, peer;
        uint64_t cookie;           /* valid if have_cookie */
        bool have_cookie;
};
#define SELECTION_DEFAULT { .states = DIAG_STATES_DEFAULT }

struct gathered {
        struct row *rows;          /* as the dumps gave them */
        size_t n_rows, allocated;  /* rows made (a socket the dumps gave twice twice) */
        uint32_t *order;           /* n of rows' indices: the rows shown, each socket once, in the
                                    * display order (output.h); NULL: rows[0..n) are those, in it */
        size_t n;
        bool have_daemon;          /* finwatchd answered: rows it tracks are known */
        int processes_error;       /* -errno: the lookup by BPF alone failed (processes unknown) */
        bool daemon_runs;          /* something listens at the control socket (answered or not):
                                    * kills go through it, never around it */
        struct netns_set *netns;   /* ours, and the namespaces looked at */
        struct strpool strings;    /* the rows' units, cgroups and process names */
        /* for the caller to tell the user */
        struct netns_unwatched netns_unwatched; /* namespaces left out, and why */
        char daemon_note[256];     /* why finwatchd's ages are missing; "" if it answered or was not asked */
};

/* Mark the rows whose no-timer is not yet a verdict (cause.h
 * cause_confirmed(): the daemon's count of dumps in a row, none without
 * it): cause_unconfirmed, fate unknown. */
void gather_confirm_causes(struct row *rows, size_t n);

/* Ask finwatchd at socket_path (if ask_daemon) for its ages, take the
 * snapshot, each socket annotated and joined with the daemon's age as it
 * comes and kept only if sel selects it (gather_select()), and find the
 * display order (order; the rows are not moved: gathered_sort() moves
 * them). 0, or -errno with err naming what failed ("socket dump failed",
 * ...); on failure *ret holds nothing. */
struct gather_hook {
        /* each row kept, as it is made (its index in rows): what it shows
         * can be made while the row is in the cache (output_table_add()) */
        void (*row)(void *userdata, const struct row *row, size_t index);
        void *userdata;
        /* and only given to row(): rows stays NULL, n counts them (the
         * table needs no more, and 50,000 rows are 14 MB to write) */
        bool rows_unkept;
};
int gather(const struct selection *sel, const char *socket_path, bool ask_daemon, const struct gather_hook *hook,
           struct gathered *ret, char *err, size_t errsize);
void gathered_done(struct gathered *g);
/* The display order of rows[0..n) from their keys (the key of rows[i]
 * added i-th; sorted here): order, each socket once, n its length, n_rows the rows.
 * inet_diag dumps can give a socket twice (never marked: NLM_F_DUMP_INTR is
 * not set for them), and its two rows have one key (its cookie is in it,
 * and no other socket's is the same): neighbours once sorted, the first
 * taken first, it is kept. Out of memory, order is NULL (a repeat kept). */
void gather_order(struct gathered *g, struct output_keys *keys);

/* Put the rows shown in the display order, the others dropped (order is
 * then NULL, rows[0..n) the rows). */
void gathered_sort(struct gathered *g);

/* What gather() adds to the rows of a snapshot: their cgroup, unit,
 * container and pod, from the hierarchy cc (NULL: none, all unknown).
 * Apart so a test can give it a tree of its own. */
struct cgroup_cache;
void gather_annotate(struct gathered *g, struct cgroup_cache *cc);

/* Each row's age (row.age): the kernel's bounds of its time without
 * progress, and the daemon's age where it tracks the row (known). */
void gather_ages(struct gathered *g);

/* Keep only the rows the selection wants (their order stays): stuck at
 * least older_than (the lower bound of their age: a socket of no known age
 * is not selected), of the unit, the container (by its name's start,
 * container_sel_matches()) and the pod, with the cookie and endpoints.
 * Returns how many are left. */
size_t gather_select(struct gathered *g, const struct selection *sel);

/* How many containers the rows are in, counted up to 2 (2: more than
 * one); rows in none count for none. The names of the first two in
 * *ret_first and *ret_second (NULL: fewer). kill --container refuses 2. */
unsigned gather_containers_distinct(const struct row *rows, size_t n, const char **ret_first,
                                    const char **ret_second);

/* The sock_diag socket for a row's namespace. */
struct diag *gather_diag(const struct gathered *g, const struct row *row);
