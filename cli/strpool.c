/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "strpool.h"

static size_t hash(const char *s) {
        uint64_t h = UINT64_C(0xcbf29ce484222325); /* FNV-1a */

        for (; *s; s++) {
                h ^= (unsigned char) *s;
                h *= UINT64_C(0x100000001b3);
        }
        return (size_t) h;
}

static char **find(char **slots, size_t allocated, const char *s) {
        size_t mask = allocated - 1, i = hash(s) & mask;

        while (slots[i] && strcmp(slots[i], s) != 0)
                i = (i + 1) & mask;
        return &slots[i];
}

const char *strpool_add(struct strpool *p, const char *s) {
        char **slot;

        if (p->allocated == 0 || (p->n + 1) * 2 > p->allocated) {
                size_t a = p->allocated ? p->allocated * 2 : 64;
                char **slots = calloc(a, sizeof(*slots));

                if (!slots)
                        return NULL;
                for (size_t i = 0; i < p->allocated; i++)
                        if (p->slots[i])
                                *find(slots, a, p->slots[i]) = p->slots[i];
                free(p->slots);
                p->slots = slots;
                p->allocated = a;
        }
        slot = find(p->slots, p->allocated, s);
        if (!*slot) {
                *slot = strdup(s);
                if (!*slot)
                        return NULL;
                p->n++;
        }
        return *slot;
}

void strpool_done(struct strpool *p) {
        for (size_t i = 0; i < p->allocated; i++)
                free(p->slots[i]);
        free(p->slots);
        *p = (struct strpool) {};
}
