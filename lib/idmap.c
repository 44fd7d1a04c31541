/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "idmap.h"
#include "util.h"

static struct idmap_slot *slot_of(const struct idmap *m, uint64_t key) {
        size_t i = (size_t) mix64(key) & (m->capacity - 1);

        while (m->slots[i].key != 0 && m->slots[i].key != key)
                i = (i + 1) & (m->capacity - 1);
        return &m->slots[i];
}

uint32_t idmap_get(const struct idmap *m, uint64_t key) {
        const struct idmap_slot *s;

        if (m->capacity == 0 || key == 0)
                return IDMAP_NONE;
        s = slot_of(m, key);
        return s->key ? s->value : IDMAP_NONE;
}

static int make_room(struct idmap *m) {
        if ((m->size + 1) * 4 > m->capacity * 3) {
                size_t capacity = m->capacity ? m->capacity * 2 : 64;
                struct idmap_slot *old = m->slots, *slots = calloc(capacity, sizeof(*slots));
                size_t old_capacity = m->capacity;

                if (!slots)
                        return -ENOMEM;
                m->slots = slots;
                m->capacity = capacity;
                for (size_t i = 0; i < old_capacity; i++)
                        if (old[i].key)
                                *slot_of(m, old[i].key) = old[i];
                free(old);
        }
        return 0;
}

/* key's value set (replace) or set only if key has none: 1 set, 0 kept
 * (only without replace), or -errno. */
static int set(struct idmap *m, uint64_t key, uint32_t value, bool replace) {
        struct idmap_slot *s;

        if (key == 0)
                return -EINVAL;
        if (make_room(m) < 0)
                return -ENOMEM;
        s = slot_of(m, key);
        if (s->key && !replace)
                return 0;
        if (!s->key)
                m->size++;
        *s = (struct idmap_slot) { .key = key, .value = value };
        return 1;
}

int idmap_put(struct idmap *m, uint64_t key, uint32_t value) {
        int r = set(m, key, value, true);

        return r < 0 ? r : 0;
}

int idmap_add(struct idmap *m, uint64_t key, uint32_t value) {
        return set(m, key, value, false);
}

void idmap_clear(struct idmap *m) {
        if (m->slots)
                memset(m->slots, 0, m->capacity * sizeof(*m->slots));
        m->size = 0;
}

void idmap_done(struct idmap *m) {
        free(m->slots);
        *m = (struct idmap) {};
}
