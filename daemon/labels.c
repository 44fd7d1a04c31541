/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "cgroup.h"
#include "container.h"
#include "idmap.h"
#include "labels.h"
#include "util.h"

/* Empty the tables this often (polls), or once they hold this many names
 * and more than twice as many as the last poll used: a host that runs a
 * container an hour would otherwise keep every name, and one whose stuck
 * sockets come from 5,000 units must not intern them all again each poll. */
#define LABELS_RESET_POLLS 720
#define LABELS_MAX_NAMES 4096

struct labels {
        struct cgroup_cache *cgroups;  /* owned; NULL without cgroup v2 */
        char **names;                  /* id -> name, owned */
        size_t n_names, names_allocated;
        uint32_t *used;                /* id -> the poll (generation) that last used it */
        size_t used_allocated;
        uint32_t generation;           /* this poll's, counting from 1 */
        struct idmap by_name;          /* hash of a name -> its id, checked with strcmp */
        struct idmap cgroup_ids;       /* cgroup id -> its index in by_cgroup */
        struct cgroup_labels *by_cgroup;
        size_t n_cgroups, cgroups_allocated;
        struct idmap netns;            /* namespace inode -> the id of its name, this poll */
        uint32_t host;                 /* the id of "host": our own namespace */
        unsigned polls;                /* since the tables were last emptied */
};

/* id, marked as used by this poll. */
static uint32_t use(struct labels *l, uint32_t id) {
        if (id < l->n_names && id < l->used_allocated)
                l->used[id] = l->generation;
        return id;
}

static uint64_t hash_name(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (; *s; s++)
                h = (h ^ (uint8_t) *s) * UINT64_C(0x100000001b3);
        return h ? h : 1; /* 0 marks an empty slot */
}

/* The id of name, interned if new; LABEL_NONE when out of memory. Rare: a
 * name is interned once, when its unit or namespace is first seen. */
static uint32_t intern(struct labels *l, const char *name) {
        uint64_t h = hash_name(name);

        /* distinct names with one hash: the next key, h + 1, ... */
        for (uint64_t k = h;; k = k + 1 ? k + 1 : 1) {
                uint32_t id = idmap_get(&l->by_name, k);
                char *copy;

                if (id == IDMAP_NONE) {
                        if (GROW(l->names, l->names_allocated, l->n_names + 1, 64) < 0 ||
                            GROW(l->used, l->used_allocated, l->n_names + 1, 64) < 0)
                                return LABEL_NONE;
                        copy = strdup(name);
                        if (!copy)
                                return LABEL_NONE;
                        id = (uint32_t) l->n_names;
                        if (idmap_put(&l->by_name, k, id) < 0) {
                                free(copy);
                                return LABEL_NONE;
                        }
                        l->names[l->n_names++] = copy;
                        return use(l, id);
                }
                if (strcmp(l->names[id], name) == 0)
                        return use(l, id);
        }
}

static void reset(struct labels *l) {
        for (size_t i = 0; i < l->n_names; i++)
                free(l->names[i]);
        l->n_names = 0;
        idmap_clear(&l->by_name);
        idmap_clear(&l->cgroup_ids);
        l->n_cgroups = 0;
        idmap_clear(&l->netns);
        l->polls = 0;
        /* "-" is LABEL_NONE: the first name, always */
        (void) intern(l, "-");
        l->host = intern(l, "host");
}

int labels_new(struct labels **ret, struct cgroup_cache *cgroups) {
        _cleanup_(labels_freep) struct labels *l = calloc(1, sizeof(*l));

        if (!l) {
                cgroup_cache_free(cgroups);
                return -ENOMEM;
        }
        l->cgroups = cgroups;
        reset(l);
        if (l->n_names != 2)
                return -ENOMEM;
        *ret = TAKE_PTR(l);
        return 0;
}

struct labels *labels_free(struct labels *l) {
        if (!l)
                return NULL;
        for (size_t i = 0; i < l->n_names; i++)
                free(l->names[i]);
        free(l->names);
        free(l->used);
        idmap_done(&l->by_name);
        idmap_done(&l->cgroup_ids);
        free(l->by_cgroup);
        idmap_done(&l->netns);
        cgroup_cache_free(l->cgroups);
        free(l);
        return NULL;
}

int labels_begin(struct labels *l, const struct netns_set *netns) {
        size_t used = 0;

        for (size_t i = 0; i < l->n_names; i++)
                used += l->used[i] == l->generation;
        l->generation++;
        if (++l->polls >= LABELS_RESET_POLLS || (l->n_names >= LABELS_MAX_NAMES && l->n_names > 2 * used))
                reset(l);
        if (l->cgroups)
                cgroup_cache_refresh_allowed(l->cgroups);
        /* A namespace's name can change (found under /run/netns later): its
         * id is taken again each poll, from the few namespaces there are. */
        idmap_clear(&l->netns);
        for (size_t i = 0; netns && i < netns->n; i++) {
                const struct netns *ns = &netns->v[i];
                int r;

                if (ns->ino == netns->home_ino)
                        continue;
                r = idmap_put(&l->netns, ns->ino, intern(l, ns->name));
                if (r < 0)
                        return r;
        }
        return 0;
}

struct cgroup_labels labels_cgroup(struct labels *l, const struct tracked *e) {
        struct cgroup_labels cl = { LABEL_NONE, LABEL_NONE, LABEL_NONE, 0, 0 };
        char unit[CGROUP_UNIT_MAX], name[CONTAINER_NAME_MAX];
        struct container_ref c;
        const char *path;
        uint32_t at;
        int r;

        if (!e->has_cgroup_id || !l->cgroups || e->cgroup_id == 0)
                return cl;
        at = idmap_get(&l->cgroup_ids, e->cgroup_id);
        if (at != IDMAP_NONE) {
                cl = l->by_cgroup[at];
                use(l, cl.unit);
                use(l, cl.container);
                use(l, cl.pod);
                return cl;
        }
        r = cgroup_cache_unit(l->cgroups, e->cgroup_id, unit, sizeof(unit), &path);
        if (r < 0)
                return cl; /* not remembered: asked again next time */
        if (r == 0)
                cl.unit = intern(l, "(deleted cgroup)"); /* a cgroup id never comes back */
        else {
                cl.unit = unit[0] ? intern(l, unit) : LABEL_NONE;
                container_from_path(path, &c);
                if (c.id[0]) {
                        cl.container = intern(l, container_name(&c, name));
                        cl.runtime = c.runtime;
                }
                if (c.pod_uid[0]) {
                        cl.pod = intern(l, c.pod_uid);
                        cl.qos = c.qos;
                }
        }
        if (GROW(l->by_cgroup, l->cgroups_allocated, l->n_cgroups + 1, 64) < 0 ||
            idmap_put(&l->cgroup_ids, e->cgroup_id, (uint32_t) l->n_cgroups) < 0)
                return cl; /* not remembered: asked again next time */
        l->by_cgroup[l->n_cgroups++] = cl;
        return cl;
}

uint32_t labels_netns(struct labels *l, const struct tracked *e) {
        uint32_t id;

        if (e->id.netns_ino == 0)
                return use(l, l->host);
        id = idmap_get(&l->netns, e->id.netns_ino);
        return id == IDMAP_NONE ? LABEL_NONE : use(l, id);
}

const char *labels_name(const struct labels *l, uint32_t id) {
        return id < l->n_names ? l->names[id] : "-";
}

size_t labels_count(const struct labels *l) {
        return l->n_names;
}

void labels_of(struct labels *l, const struct tracked *e, struct sock_labels *ret) {
        struct cgroup_labels cl = labels_cgroup(l, e);
        uint32_t ns = labels_netns(l, e);

        *ret = (struct sock_labels) {
                .unit = cl.unit == LABEL_NONE ? NULL : labels_name(l, cl.unit),
                .netns = ns == LABEL_NONE ? NULL : labels_name(l, ns),
                .container_id = cl.container == LABEL_NONE ? NULL : labels_name(l, cl.container),
                .container_runtime = cl.runtime,
                .pod_uid = cl.pod == LABEL_NONE ? NULL : labels_name(l, cl.pod),
                .pod_qos = cl.qos,
        };
}
