/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "cgroup.h"
#include "container.h"
#include "escape.h"
#include "sockfmt.h"
#include "summary.h"
#include "util.h"

void summary_done(struct summary *s) {
        free(s->by_label);
        *s = (struct summary) {};
}

/* Counts for n labels: those so far kept, the new ones 0. */
static int fit(struct summary *s, size_t n) {
        if (n <= s->n_labels)
                return 0;
        if (GROW(s->by_label, s->allocated, n, 64) < 0)
                return -ENOMEM;
        memset(s->by_label + s->n_labels, 0, (n - s->n_labels) * sizeof(*s->by_label));
        s->n_labels = n;
        return 0;
}

int summary_build(struct summary *s, const struct tracker *t, struct labels *l, uint64_t now) {
        const struct tracked *e;
        size_t iter = 0;

        s->at = now;
        s->labels = l;
        s->tracked = 0;
        memset(s->per_state, 0, sizeof(s->per_state));
        memset(s->oldest_usec, 0, sizeof(s->oldest_usec));
        memset(s->by_cause, 0, sizeof(s->by_cause));
        memset(s->by_peer, 0, sizeof(s->by_peer));
        s->n_labels = 0;
        if (fit(s, labels_count(l)) < 0)
                return -ENOMEM;

        while ((e = tracker_next(t, &iter))) {
                uint64_t age = tracker_age(e, now);
                struct cgroup_labels cl = labels_cgroup(l, e);
                uint32_t ns = labels_netns(l, e);

                /* a unit seen for the first time is a new label */
                if (fit(s, labels_count(l)) < 0)
                        return -ENOMEM;
                s->tracked++;
                s->per_state[e->state]++;
                if (age > s->oldest_usec[e->state])
                        s->oldest_usec[e->state] = age;
                if (e->cause < _SOCK_CAUSE_MAX)
                        s->by_cause[e->cause]++;
                if (e->peer < _PEER_STATE_MAX)
                        s->by_peer[e->peer]++;
                s->by_label[cl.unit].in_unit++;
                s->by_label[cl.container].in_container++;
                s->by_label[cl.pod].in_pod++;
                s->by_label[ns].in_netns++;
                if (e->orphan)
                        s->by_label[cl.unit].orphans_in_unit++;
        }
        return 0;
}

/* Label ids in order of a count, largest first; ties by id (stable). */
struct ranked {
        uint32_t id, count;
};

static int cmp_ranked(const void *a, const void *b) {
        const struct ranked *x = a, *y = b;

        if (x->count != y->count)
                return x->count > y->count ? -1 : 1;
        return x->id < y->id ? -1 : x->id > y->id;
}

void summary_top_orphan_units(const struct summary *s, unsigned max, char *buf, size_t size) {
        _cleanup_(freep) struct ranked *v = calloc(s->n_labels ? s->n_labels : 1, sizeof(*v));
        size_t n = 0, off = 0;

        buf[0] = '\0';
        if (!v)
                return;
        /* orphans of no known unit are no one's to name */
        for (size_t i = LABEL_NONE + 1; i < s->n_labels; i++)
                if (s->by_label[i].orphans_in_unit)
                        v[n++] = (struct ranked) { .id = (uint32_t) i, .count = s->by_label[i].orphans_in_unit };
        qsort(v, n, sizeof(*v), cmp_ranked);
        for (size_t i = 0; i < n && i < max && off < size; i++) {
                char name[ESCAPE_MAX_PER_BYTE * (CGROUP_UNIT_MAX - 1) + 1];
                int r = snprintf(buf + off, size - off, "%s%s=%u", i ? ", " : "",
                                 escape_cut(name, sizeof(name), labels_name(s->labels, v[i].id)), v[i].count);

                if (r < 0 || (size_t) r >= size - off) {
                        buf[off] = '\0'; /* whole entries only */
                        break;
                }
                off += (size_t) r;
        }
}

void summary_status_line(const struct summary *s, char *buf, size_t size) {
        size_t off = (size_t) snprintf(buf, size, "tracking %u stuck socket%s", s->tracked, s->tracked == 1 ? "" : "s");

        for (unsigned st = 0, first = 1; st < FW_TCP_MAX_STATES && off < size; st++) {
                if (!s->per_state[st])
                        continue;
                off += (size_t) snprintf(buf + off, size - off, "%s%u %s", first ? ": " : ", ", s->per_state[st],
                                         sockfmt_state_name((uint8_t) st));
                first = 0;
        }
}

enum by { BY_UNIT, BY_CONTAINER, BY_POD, BY_NETNS };

static uint32_t count_by(const struct summary_label *c, enum by by) {
        switch (by) {
        case BY_UNIT:
                return c->in_unit;
        case BY_CONTAINER:
                return c->in_container;
        case BY_POD:
                return c->in_pod;
        default:
                return c->in_netns;
        }
}

/* The METRICS_TOP largest by units, containers (by the short name, a
 * user's behind its manager: two of one short ID are one label), pods or
 * namespaces into out. */
static void fill_top(const struct summary *s, enum by by, struct metrics_label_count *out) {
        _cleanup_(freep) struct metrics_label_count *in = calloc(s->n_labels ? s->n_labels : 1, sizeof(*in));
        size_t n = 0;

        if (!in) {
                memset(out, 0, sizeof(*out) * (METRICS_TOP + 1));
                return;
        }
        for (size_t i = 0; i < s->n_labels; i++) {
                uint32_t count = count_by(&s->by_label[i], by);
                char shortname[CONTAINER_SHORT_NAME_MAX];
                const char *name = labels_name(s->labels, (uint32_t) i);

                if (!count)
                        continue;
                if (by == BY_CONTAINER)
                        name = container_name_short(name, shortname);
                metrics_label_set(&in[n], name);
                in[n++].count = count;
        }
        metrics_top(out, in, n);
}

void summary_fill_metrics(const struct summary *s, struct metrics *m) {
        memcpy(m->stuck, s->per_state, sizeof(m->stuck));
        memcpy(m->oldest_usec, s->oldest_usec, sizeof(m->oldest_usec));
        memset(m->stuck_by_cause, 0, sizeof(m->stuck_by_cause));
        for (size_t i = 0; i < _SOCK_CAUSE_MAX && i < ELEMENTSOF(m->stuck_by_cause); i++)
                m->stuck_by_cause[i] = s->by_cause[i];
        _Static_assert(sizeof(m->stuck_by_peer) == sizeof(s->by_peer), "a metric per peer state");
        memcpy(m->stuck_by_peer, s->by_peer, sizeof(m->stuck_by_peer));
        fill_top(s, BY_UNIT, m->by_unit);
        fill_top(s, BY_CONTAINER, m->by_container);
        fill_top(s, BY_POD, m->by_pod);
        fill_top(s, BY_NETNS, m->by_netns);
}
