/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <jansson.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "cgroup.h"
#include "escape.h"
#include "sockfmt.h"
#include "summary.h"
#include "util.h"

/* The bytes of a key before its name: hashed and compared as they are. */
#define KEY_FIXED offsetof(struct summary_key, name)
_Static_assert(offsetof(struct summary_key, name) == 24 && sizeof(struct summary_key) == 32,
               "struct summary_key: no padding");

static const char *const deleted_unit = "(deleted)"; /* as list shows it; no unit name has parentheses */

static void stats_add(struct summary_stats *st, const struct row *r, bool has_age, uint64_t age) {
        int64_t fate = r->sock.fate_msec;

        st->count++;
        if (has_age) {
                if (!st->ages_known || age > st->oldest_usec)
                        st->oldest_usec = age;
                st->ages_known++;
        }
        if (fate == FATE_NEVER)
                st->never++;
        else if (fate < 0)
                st->fate_unknown++;
        else {
                if (!st->reaped || fate < st->reaped_first_msec)
                        st->reaped_first_msec = fate;
                if (!st->reaped || fate > st->reaped_last_msec)
                        st->reaped_last_msec = fate;
                st->reaped++;
        }
}

/* The peer's address as shown: a v4-mapped one is its IPv4 address. */
static void peer_of(struct summary_key *k, const struct fw_sock *s) {
        const uint8_t *a = s->id.dst;

        if (s->id.family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *) a)) {
                k->family = AF_INET;
                memcpy(k->addr, a + 12, 4);
        } else if (s->id.family == AF_INET6) {
                k->family = AF_INET6;
                memcpy(k->addr, a, 16);
        } else {
                k->family = AF_INET;
                memcpy(k->addr, a, 4);
        }
}

/* The key of row r in grouping by, into a zeroed *k. */
static void key_of(struct summary_key *k, enum summary_by by, const struct row *r) {
        switch (by) {
        case SUMMARY_BY_PEER_ADDRESS:
                peer_of(k, &r->sock);
                break;
        case SUMMARY_BY_PEER_NETWORK:
                peer_of(k, &r->sock);
                if (k->family == AF_INET)
                        k->addr[3] = 0;                 /* /24 */
                else
                        memset(k->addr + 8, 0, 8);      /* /64 */
                break;
        case SUMMARY_BY_LOCAL_PORT:
                k->port = r->sock.id.sport;
                break;
        case SUMMARY_BY_UNIT:
                k->name = r->cgroup_deleted ? deleted_unit : r->unit && *r->unit ? r->unit : NULL;
                break;
        case SUMMARY_BY_CAUSE:
                k->cause = r->sock.cause;
                k->cause_unconfirmed = r->cause_unconfirmed;
                break;
        case SUMMARY_BY_NETNS:
                k->name = r->netns && *r->netns ? r->netns : NULL;
                break;
        default:
                abort();
        }
}

static uint64_t key_hash(const struct summary_key *k) {
        uint64_t w[KEY_FIXED / 8], h = 0;

        memcpy(w, k, sizeof(w));
        for (size_t i = 0; i < ELEMENTSOF(w); i++)
                h = mix64(h ^ w[i]);
        if (k->name) {
                uint64_t f = UINT64_C(0xcbf29ce484222325); /* FNV-1a */

                for (const char *c = k->name; *c; c++)
                        f = (f ^ (unsigned char) *c) * UINT64_C(0x100000001b3);
                h = mix64(h ^ f);
        }
        return h;
}

static bool key_equal(const struct summary_key *a, const struct summary_key *b) {
        if (memcmp(a, b, KEY_FIXED) != 0)
                return false;
        /* names are interned (strpool): equal pointers nearly always */
        return a->name == b->name || (a->name && b->name && strcmp(a->name, b->name) == 0);
}

/* Slots for twice the groups n rows can make at most: no rehash while the
 * rows are read, and no probe runs long. The pages of the slots of a
 * grouping of few groups are never written, so never faulted in. */
static int grouping_init(struct summary_grouping *g, size_t n) {
        size_t nslots = 16;

        if (n >= UINT32_MAX / 2)
                return -ENOMEM;
        while (nslots < 2 * n)
                nslots *= 2;
        g->slots = calloc(nslots, sizeof(*g->slots));
        if (!g->slots)
                return -ENOMEM;
        g->nslots = nslots;
        return 0;
}

/* The group of key k, added if new; NULL when out of memory. */
static struct summary_group *grouping_get(struct summary_grouping *g, const struct summary_key *k) {
        size_t mask = g->nslots - 1, j, had = g->allocated;

        for (j = (size_t) key_hash(k) & mask; g->slots[j]; j = (j + 1) & mask) {
                struct summary_group *grp = &g->v[g->slots[j] - 1];

                if (key_equal(&grp->key, k))
                        return grp;
        }
        if (GROW(g->v, g->allocated, g->n + 1, 64) < 0)
                return NULL;
        /* a fault per page of a large array costs more than its groups (util.h) */
        if (g->allocated > had)
                memory_prefault(g->v + had, (g->allocated - had) * sizeof(*g->v));
        g->v[g->n] = (struct summary_group) { .key = *k };
        g->slots[j] = (uint32_t) (g->n + 1);
        return &g->v[g->n++];
}

static int cmp_name(const char *a, const char *b) {
        if (!a || !b)
                return a ? -1 : b ? 1 : 0; /* unknown last */
        return strcmp(a, b);
}

/* Most sockets first, then the oldest (a known age before none), then the
 * key, so that ties come out the same every time. */
static int cmp_group(const void *x, const void *y) {
        const struct summary_group *a = x, *b = y;
        int c;

        if (a->st.count != b->st.count)
                return a->st.count > b->st.count ? -1 : 1;
        if (!!a->st.ages_known != !!b->st.ages_known)
                return a->st.ages_known ? -1 : 1;
        if (a->st.ages_known && a->st.oldest_usec != b->st.oldest_usec)
                return a->st.oldest_usec > b->st.oldest_usec ? -1 : 1;
        /* family first (IPv4 before IPv6, as list sorts), then the bytes */
        if (a->key.family != b->key.family)
                return a->key.family < b->key.family ? -1 : 1;
        c = memcmp(a->key.addr, b->key.addr, sizeof(a->key.addr));
        if (c)
                return c;
        if (a->key.port != b->key.port)
                return a->key.port < b->key.port ? -1 : 1;
        if (a->key.cause != b->key.cause)
                return a->key.cause < b->key.cause ? -1 : 1;
        if (a->key.cause_unconfirmed != b->key.cause_unconfirmed)
                return a->key.cause_unconfirmed ? 1 : -1;
        return cmp_name(a->key.name, b->key.name);
}

void summary_done(struct summary *s) {
        for (int b = 0; b < _SUMMARY_BY_MAX; b++) {
                free(s->by[b].v);
                free(s->by[b].slots);
        }
        *s = (struct summary) {};
}

int summary_build(struct summary *s, const struct row *rows, const uint32_t *order, size_t n) {
        *s = (struct summary) {};
        for (int b = 0; b < _SUMMARY_BY_MAX; b++)
                if (grouping_init(&s->by[b], n) < 0) {
                        summary_done(s);
                        return -ENOMEM;
                }
        for (size_t i = 0; i < n; i++) {
                const struct row *r = &rows[order ? order[i] : i];
                uint64_t age = 0;
                bool has_age = output_row_age(r, &age);

                stats_add(&s->total, r, has_age, age);
                for (int b = 0; b < _SUMMARY_BY_MAX; b++) {
                        struct summary_key k = {}; /* every byte: keys are hashed as bytes */

                        struct summary_group *grp;

                        key_of(&k, (enum summary_by) b, r);
                        grp = grouping_get(&s->by[b], &k);
                        if (!grp) {
                                summary_done(s);
                                return -ENOMEM;
                        }
                        stats_add(&grp->st, r, has_age, age);
                }
        }
        for (int b = 0; b < _SUMMARY_BY_MAX; b++) {
                /* the slots point by index: sorting would scramble them */
                free(s->by[b].slots);
                s->by[b].slots = NULL;
                s->by[b].nslots = 0;
                if (s->by[b].n > 1) /* none: v is NULL, which qsort may not take */
                        qsort(s->by[b].v, s->by[b].n, sizeof(*s->by[b].v), cmp_group);
        }
        return 0;
}

/* ---- how it is shown ---- */

static const struct {
        const char *title;      /* the table's first column */
        const char *json;       /* the JSON array's name */
        const char *one, *many; /* "... 1 more peer address", "... 3 more peer addresses" */
} groupings[_SUMMARY_BY_MAX] = {
        [SUMMARY_BY_PEER_ADDRESS] = { "Peer Address", "by_peer_address", "peer address", "peer addresses" },
        [SUMMARY_BY_PEER_NETWORK] = { "Peer Network", "by_peer_network", "peer network", "peer networks" },
        [SUMMARY_BY_LOCAL_PORT]   = { "Local Port",   "by_local_port",   "local port", "local ports" },
        [SUMMARY_BY_UNIT]         = { "Unit",         "by_unit",         "unit", "units" },
        [SUMMARY_BY_CAUSE]        = { "Cause",        "by_cause",        "cause", "causes" },
        [SUMMARY_BY_NETNS]        = { "Netns",        "by_netns",        "network namespace", "network namespaces" },
};

/* A key as text: escaped when another user named it (escape.h). */
static char *key_text(char *buf, size_t size, enum summary_by by, const struct summary_key *k) {
        char *p;

        switch (by) {
        case SUMMARY_BY_PEER_ADDRESS:
                return sockfmt_address(buf, size, k->family, k->addr);
        case SUMMARY_BY_PEER_NETWORK:
                sockfmt_address(buf, size, k->family, k->addr);
                p = buf + strlen(buf);
                if ((size_t) (p - buf) + 4 <= size)
                        strcpy(p, k->family == AF_INET ? "/24" : "/64");
                return buf;
        case SUMMARY_BY_LOCAL_PORT:
                *put_u64(buf, k->port) = '\0';
                return buf;
        case SUMMARY_BY_CAUSE:
                return copy_cut(buf, size, k->cause_unconfirmed ? "no-timer?" : cause_to_string(k->cause));
        case SUMMARY_BY_UNIT:
        case SUMMARY_BY_NETNS:
                if (!k->name)
                        return copy_cut(buf, size, by == SUMMARY_BY_UNIT ? "-" : "host");
                return escape_needed(k->name) ? escape_cut(buf, size, k->name) : copy_cut(buf, size, k->name);
        default:
                abort();
        }
}

/* Room for the longest key: an escaped unit name is the longest (output.c's cells_text). */
#define KEY_STRLEN (ESCAPE_MAX_PER_BYTE * (CGROUP_UNIT_MAX - 1) + 1)

enum { SCOL_KEY, SCOL_COUNT, SCOL_OLDEST, SCOL_NEVER, SCOL_REAPED, _SCOL_MAX };

static const char *const scol_titles[_SCOL_MAX] = { NULL, "Count", "Oldest", "Never", "Reaped By Kernel" };

struct stats_text {
        char count[24], oldest[DURATION_STRLEN], never[24], reaped[24 + 4 + DURATION_STRLEN + 2];
};

/* Oldest: "-" when no age is known. Reaped By Kernel: "N by ~T", every one
 * of the N gone by T (the latest fate), or "-". */
static void stats_fill(struct stats_text *t, const struct summary_stats *st) {
        char *p;

        *put_u64(t->count, st->count) = '\0';
        if (st->ages_known)
                format_duration(t->oldest, sizeof(t->oldest), st->oldest_usec);
        else
                strcpy(t->oldest, "-");
        *put_u64(t->never, st->never) = '\0';
        if (!st->reaped) {
                strcpy(t->reaped, "-");
                return;
        }
        p = put_u64(t->reaped, st->reaped);
        p = stpcpy(p, " by ");
        cause_format_fate(p, sizeof(t->reaped) - (size_t) (p - t->reaped), st->reaped_last_msec);
}

static void put_cells(FILE *f, const char *const cells[_SCOL_MAX], const size_t width[_SCOL_MAX]) {
        for (int c = 0; c < _SCOL_MAX; c++) {
                size_t w = c == SCOL_KEY ? utf8_width(cells[c]) : strlen(cells[c]);
                size_t pad = width[c] > w ? width[c] - w : 0;
                bool right = c != SCOL_KEY && c != SCOL_REAPED;

                if (right)
                        fprintf(f, "%*s", (int) pad, "");
                fputs(cells[c], f);
                if (c == _SCOL_MAX - 1)
                        break;
                if (!right)
                        fprintf(f, "%*s", (int) pad, "");
                fputc(' ', f);
        }
        fputc('\n', f);
}

static void render_grouping(FILE *f, enum summary_by by, const struct summary_grouping *g) {
        size_t shown = g->n < SUMMARY_TABLE_ROWS ? g->n : SUMMARY_TABLE_ROWS, width[_SCOL_MAX], rest = 0;
        const char *cells[_SCOL_MAX];
        struct stats_text t;
        char key[KEY_STRLEN];

        cells[SCOL_KEY] = groupings[by].title;
        for (int c = 0; c < _SCOL_MAX; c++)
                width[c] = c == SCOL_KEY ? strlen(cells[c]) : strlen(scol_titles[c]);
        /* two passes over the few rows shown: widths, then lines */
        for (int pass = 0; pass < 2; pass++) {
                if (pass == 1) {
                        cells[SCOL_KEY] = groupings[by].title;
                        for (int c = 1; c < _SCOL_MAX; c++)
                                cells[c] = scol_titles[c];
                        put_cells(f, cells, width);
                }
                for (size_t i = 0; i < shown; i++) {
                        stats_fill(&t, &g->v[i].st);
                        cells[SCOL_KEY] = key_text(key, sizeof(key), by, &g->v[i].key);
                        cells[SCOL_COUNT] = t.count;
                        cells[SCOL_OLDEST] = t.oldest;
                        cells[SCOL_NEVER] = t.never;
                        cells[SCOL_REAPED] = t.reaped;
                        if (pass == 1) {
                                put_cells(f, cells, width);
                                continue;
                        }
                        for (int c = 0; c < _SCOL_MAX; c++) {
                                size_t w = c == SCOL_KEY ? utf8_width(cells[c]) : strlen(cells[c]);

                                if (w > width[c])
                                        width[c] = w;
                        }
                }
        }
        for (size_t i = shown; i < g->n; i++)
                rest += g->v[i].st.count;
        if (g->n > shown)
                fprintf(f, "... %zu more %s (%zu socket%s)\n", g->n - shown,
                        g->n - shown == 1 ? groupings[by].one : groupings[by].many, rest, rest == 1 ? "" : "s");
}

int summary_table(FILE *f, const struct summary *s, unsigned flags) {
        const struct summary_stats *st = &s->total;
        char age[DURATION_STRLEN], fate[DURATION_STRLEN + 2];

        fprintf(f, "%zu stuck socket%s", st->count, st->count == 1 ? "" : "s");
        if (st->count) {
                if (st->ages_known)
                        fprintf(f, ", oldest %s", format_duration(age, sizeof(age), st->oldest_usec));
                else
                        fputs(", ages unknown", f);
                fprintf(f, ": %zu never reaped by the kernel", st->never);
                if (st->reaped)
                        fprintf(f, ", %zu reaped by %s", st->reaped,
                                cause_format_fate(fate, sizeof(fate), st->reaped_last_msec));
                if (st->fate_unknown)
                        fprintf(f, ", %zu fate unknown", st->fate_unknown);
        }
        fputc('\n', f);
        for (int b = 0; b < _SUMMARY_BY_MAX && st->count; b++) {
                if (b == SUMMARY_BY_NETNS && !(flags & OUTPUT_NETNS))
                        continue;
                fputc('\n', f);
                render_grouping(f, (enum summary_by) b, &s->by[b]);
        }
        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}

static int stats_json(json_t *o, const struct summary_stats *st) {
        int r = 0;

        r |= output_json_set(o, "count", json_integer((json_int_t) st->count));
        r |= output_json_set(o, "oldest_age_seconds", st->ages_known ? json_real((double) st->oldest_usec / 1e6) : json_null());
        r |= output_json_set(o, "ages_known", json_integer((json_int_t) st->ages_known));
        r |= output_json_set(o, "fate_never", json_integer((json_int_t) st->never));
        r |= output_json_set(o, "fate_reaped", json_integer((json_int_t) st->reaped));
        r |= output_json_set(o, "fate_unknown", json_integer((json_int_t) st->fate_unknown));
        r |= output_json_set(o, "reaped_first_in_seconds",
                     st->reaped ? json_real((double) st->reaped_first_msec / 1e3) : json_null());
        r |= output_json_set(o, "reaped_last_in_seconds",
                     st->reaped ? json_real((double) st->reaped_last_msec / 1e3) : json_null());
        return r;
}

static int key_json(json_t *o, enum summary_by by, const struct summary_key *k) {
        char buf[INET6_ADDRSTRLEN + 8];

        switch (by) {
        case SUMMARY_BY_PEER_ADDRESS:
        case SUMMARY_BY_PEER_NETWORK:
                key_text(buf, sizeof(buf), by, k);
                return output_json_set(o, by == SUMMARY_BY_PEER_ADDRESS ? "peer_address" : "peer_network", json_string(buf)) |
                       output_json_set(o, "family", json_string(k->family == AF_INET6 ? "ipv6" : "ipv4"));
        case SUMMARY_BY_LOCAL_PORT:
                return output_json_set(o, "local_port", json_integer(k->port));
        case SUMMARY_BY_UNIT:
                return output_json_set(o, "unit", k->name ? output_json_name(k->name) : json_null());
        case SUMMARY_BY_CAUSE:
                return output_json_set(o, "cause", json_string(cause_to_string(k->cause))) |
                       output_json_set(o, "cause_confirmed", json_boolean(!k->cause_unconfirmed));
        case SUMMARY_BY_NETNS:
                return output_json_set(o, "netns", output_json_name(k->name ? k->name : "host"));
        default:
                abort();
        }
}

/* One object, compact, on a line of its own; 0 or -ENOMEM. */
static int put_object(FILE *f, json_t *o, int r) {
        char *text = o && r == 0 ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;

        json_decref(o);
        if (!text)
                return -ENOMEM;
        fputs(text, f);
        free(text);
        return 0;
}

static int render_json(FILE *f, const void *args) {
        const struct summary *s = args;
        json_t *o = json_object();
        int r;

        /* {"total": {...}, "by_peer_address": [{...}, ...], ...}: one object a
         * line, each dumped alone (a summary of 50k peers as jansson values
         * would take 100 MB) */
        fputs("{\n  \"total\": ", f);
        r = put_object(f, o, o ? stats_json(o, &s->total) : -ENOMEM);
        if (r < 0)
                return r;
        for (int b = 0; b < _SUMMARY_BY_MAX; b++) {
                const struct summary_grouping *g = &s->by[b];

                fprintf(f, ",\n  \"%s\": [%s", groupings[b].json, g->n ? "\n" : "");
                for (size_t i = 0; i < g->n; i++) {
                        o = json_object();
                        fputs("    ", f);
                        r = put_object(f, o, o ? key_json(o, (enum summary_by) b, &g->v[i].key) |
                                                         stats_json(o, &g->v[i].st)
                                               : -ENOMEM);
                        if (r < 0)
                                return r;
                        fputs(i + 1 < g->n ? ",\n" : "\n  ", f);
                }
                fputc(']', f);
        }
        fputs("\n}\n", f);
        return 0;
}

int summary_json(FILE *f, const struct summary *s) {
        return output_whole(f, render_json, s);
}
