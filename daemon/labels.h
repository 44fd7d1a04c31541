/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The labels finwatchd prints and counts by: the systemd unit, container
 * and pod of a socket's cgroup and the name of its network namespace. Each
 * label is a string interned once and known by a small id, so a poll counts
 * sockets by id (summary.h) without a string comparison or a cgroup lookup
 * per socket: a cgroup id is looked up once, when first seen, and
 * remembered (a deleted cgroup too: its id never comes back), a namespace
 * once per poll. */

#include <stddef.h>
#include <stdint.h>

#include "alert.h"
#include "cgroup.h"
#include "netns.h"
#include "tracker.h"

#define LABEL_NONE 0            /* "-": no cgroup id, or a namespace not watched */

struct labels;

/* cgroups: NULL without cgroup v2 (every unit is "-"); the labels own it. */
int labels_new(struct labels **ret, struct cgroup_cache *cgroups);
struct labels *labels_free(struct labels *l);
static inline void labels_freep(struct labels **l) {
        labels_free(*l);
}

/* A poll starts: namespaces get their ids from the set of this poll (NULL:
 * ours alone), and every so often the tables are emptied, so units and
 * namespaces long gone do not pile up. Ids and names stay valid until the
 * next labels_begin(). */
int labels_begin(struct labels *l, const struct netns_set *netns);

/* What a socket's cgroup says, as label ids (LABEL_NONE: none). */
struct cgroup_labels {
        uint32_t unit;
        uint32_t container;        /* the container's name, its whole ID (container_name(), container.h) */
        uint32_t pod;              /* the pod's UID */
        uint8_t runtime;           /* enum container_runtime, with a container */
        uint8_t qos;               /* enum pod_qos, with a pod */
};

/* The label ids of a tracked socket: what its cgroup says, its namespace. */
struct cgroup_labels labels_cgroup(struct labels *l, const struct tracked *e);
uint32_t labels_netns(struct labels *l, const struct tracked *e);

const char *labels_name(const struct labels *l, uint32_t id);
/* How many ids there are now (every id is below it). */
size_t labels_count(const struct labels *l);

/* What an alert prints of a socket (alert.h), from its ids. */
void labels_of(struct labels *l, const struct tracked *e, struct sock_labels *ret);
