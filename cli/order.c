/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The display order of the rows (output.h): sort keys made as the rows
 * come, sorted, a socket the dumps gave twice found by them. */
#include <endian.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "util.h"

int output_keys_add(struct output_keys *k, const struct fw_sock *s, size_t at) {
        uint8_t b[48] = {}, *p = b;
        size_t alen = s->id.family == AF_INET ? 4 : 16;
        uint16_t sport = htobe16(s->id.sport), dport = htobe16(s->id.dport);
        uint64_t cookie = htobe64(s->id.cookie), w[6];
        struct output_key *key;

        if (k->n >= k->allocated) {
                size_t was = k->allocated;

                if (GROW(k->v, k->allocated, k->n + 1, 256) < 0)
                        return -ENOMEM;
                memory_prefault(k->v + was, (k->allocated - was) * sizeof(*k->v));
        }
        *p++ = s->id.family;
        p = mempcpy(p, s->id.src, alen);
        p = mempcpy(p, &sport, sizeof(sport));
        p = mempcpy(p, s->id.dst, alen);
        p = mempcpy(p, &dport, sizeof(dport));
        p = mempcpy(p, &cookie, sizeof(cookie));
        for (size_t i = 0; i < ELEMENTSOF(w); i++) {
                memcpy(&w[i], b + 8 * i, sizeof(w[i]));
                w[i] = be64toh(w[i]);
        }
        key = &k->v[k->n];
        *key = (struct output_key) { .w = { w[0], w[1], w[2] }, .at = (uint32_t) at };
        if (p > b + sizeof(key->w)) { /* IPv6: the rest apart */
                if (GROW(k->more, k->more_allocated, k->n_more + 1, 64) < 0)
                        return -ENOMEM;
                memcpy(k->more[k->n_more], w + 3, sizeof(k->more[0]));
                key->more = (uint32_t) ++k->n_more;
        }
        k->n++;
        return 0;
}

void output_keys_done(struct output_keys *k) {
        free(k->v);
        free(k->more);
        *k = (struct output_keys) {};
}

/* a's bytes against b's (not their index): <0, 0, >0. */
static inline int key_cmp(const struct output_key *a, const struct output_key *b, const uint64_t (*more)[3]) {
        for (size_t i = 0; i < ELEMENTSOF(a->w); i++)
                if (a->w[i] != b->w[i])
                        return a->w[i] < b->w[i] ? -1 : 1;
        /* the first 24 bytes alike: IPv6 rows both (an IPv4 row's cookie
         * ends within them, and the families differ in the first byte) */
        if (a->more && b->more)
                for (size_t i = 0; i < ELEMENTSOF(more[0]); i++)
                        if (more[a->more - 1][i] != more[b->more - 1][i])
                                return more[a->more - 1][i] < more[b->more - 1][i] ? -1 : 1;
        return 0;
}

bool output_keys_same(const struct output_keys *k, size_t i, size_t j) {
        return key_cmp(&k->v[i], &k->v[j], (const uint64_t (*)[3]) k->more) == 0;
}

static inline bool key_less(const struct output_key *a, const struct output_key *b, const uint64_t (*more)[3]) {
        int c = key_cmp(a, b, more);

        return c < 0 || (c == 0 && a->at < b->at);
}

static inline void key_swap(struct output_key *a, struct output_key *b) {
        struct output_key t = *a;

        *a = *b;
        *b = t;
}

/* Quicksort with the comparison inlined (qsort()'s call per comparison and
 * memcmp were most of the sort): median of three, the smaller side first
 * so the stack stays short, insertion sort below 16. */
static void sort_keys(struct output_key *v, size_t n, const uint64_t (*more)[3]) {
        struct {
                size_t lo, hi; /* [lo, hi) */
        } stack[64];
        size_t depth = 0;

        stack[depth++] = (typeof(stack[0])) { 0, n };
        while (depth > 0) {
                size_t lo = stack[depth - 1].lo, hi = stack[depth - 1].hi;

                depth--;
                while (hi - lo > 16) {
                        size_t mid = lo + (hi - lo) / 2, i = lo, j = hi - 1;
                        struct output_key pivot;

                        /* median of three, at mid */
                        if (key_less(&v[mid], &v[lo], more))
                                key_swap(&v[mid], &v[lo]);
                        if (key_less(&v[hi - 1], &v[mid], more)) {
                                key_swap(&v[hi - 1], &v[mid]);
                                if (key_less(&v[mid], &v[lo], more))
                                        key_swap(&v[mid], &v[lo]);
                        }
                        pivot = v[mid];
                        /* Hoare's partition: v[lo] <= pivot <= v[hi - 1] stop the scans */
                        for (;;) {
                                while (key_less(&v[i], &pivot, more))
                                        i++;
                                while (key_less(&pivot, &v[j], more))
                                        j--;
                                if (i >= j)
                                        break;
                                key_swap(&v[i], &v[j]);
                                i++;
                                j--;
                        }
                        /* [lo, j] and [j + 1, hi): the larger waits, the smaller goes on */
                        if (j + 1 - lo < hi - (j + 1)) {
                                stack[depth++] = (typeof(stack[0])) { j + 1, hi };
                                hi = j + 1;
                        } else {
                                stack[depth++] = (typeof(stack[0])) { lo, j + 1 };
                                lo = j + 1;
                        }
                }
                for (size_t i = lo + 1; i < hi; i++)
                        for (size_t j = i; j > lo && key_less(&v[j], &v[j - 1], more); j--)
                                key_swap(&v[j], &v[j - 1]);
        }
}

uint32_t *output_keys_order(struct output_keys *k) {
        uint32_t *order = malloc((k->n ? k->n : 1) * sizeof(*order));

        if (!order)
                return NULL;
        sort_keys(k->v, k->n, (const uint64_t (*)[3]) k->more);
        for (size_t i = 0; i < k->n; i++)
                order[i] = k->v[i].at;
        return order;
}

uint32_t *output_order(const struct row *rows, size_t n) {
        _cleanup_(output_keys_done) struct output_keys k = {};

        if (n > UINT32_MAX)
                return NULL;
        for (size_t i = 0; i < n; i++)
                if (output_keys_add(&k, &rows[i].sock, i) < 0)
                        return NULL;
        return output_keys_order(&k);
}

void output_permute(struct row *rows, uint32_t *order, size_t n) {
        /* Rows are large: put each in place by following the cycles of the
         * permutation (one row of scratch). Position i takes row order[i];
         * a done position gets order[i] = i. */
        for (size_t i = 0; i < n; i++) {
                struct row held;
                size_t j = i;

                if (order[i] == i)
                        continue;
                held = rows[i];
                while (order[j] != i) {
                        size_t next = order[j];

                        rows[j] = rows[next];
                        order[j] = (uint32_t) j;
                        j = next;
                }
                rows[j] = held;
                order[j] = (uint32_t) j;
        }
}

void output_sort(struct row *rows, size_t n) {
        _cleanup_(freep) uint32_t *order = output_order(rows, n);

        if (order) /* else unsorted: still right, only less tidy */
                output_permute(rows, order, n);
}
