/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cause.h"
#include "cgroup.h"
#include "container.h"
#include "escape.h"
#include "idmap.h"
#include "peer.h"
#include "output.h"
#include "proto.h"
#include "sockfmt.h"
#include "textbuf.h"
#include "util.h"


enum {
        COL_PROTO, COL_RECVQ, COL_SENDQ, COL_LOCAL, COL_PEER, COL_STATE, COL_TIMER, COL_AGE, COL_ALERTED,
        COL_ORPHAN, COL_CAUSE, COL_FATE, COL_PEER_STATE, COL_UNIT, COL_CONTAINER, COL_POD, COL_QOS, COL_PROCESS,
        COL_NETNS, COL_COOKIE, _COL_MAX
};

/* Columns shown when a row has something for them (output_table()'s own flags) */
#define OUTPUT_CONTAINERS (1u << 8)
#define OUTPUT_PODS       (1u << 9)

static const char *const col_titles[_COL_MAX] = {
        "Proto", "Recv-Q", "Send-Q", "Local Address", "Foreign Address", "State", "Timer", "Age", "Alerted",
        "Orphan", "Cause", "Fate", "Peer", "Unit", "Container", "Pod", "QoS", "Process", "Netns", "Cookie",
};

static bool col_right(int c) {
        return c == COL_RECVQ || c == COL_SENDQ || c == COL_AGE;
}

static bool col_shown(int c, unsigned flags) {
        return !((c == COL_NETNS && !(flags & OUTPUT_NETNS)) || (c == COL_PROCESS && !(flags & OUTPUT_PROCESSES)) ||
                 (c == COL_CONTAINER && !(flags & OUTPUT_CONTAINERS)) ||
                 ((c == COL_POD || c == COL_QOS) && !(flags & OUTPUT_PODS)));
}

/* A name's cell as shown, once per name: the rows' names are interned (one
 * pointer per distinct name), so its escape and its width on a terminal
 * (escaped names are valid UTF-8, escape.h: a character takes 0, 1 or 2
 * columns) are worked out once, not once a row. */
struct shown_name {
        const char *text;        /* the name, or its escape in owned */
        char *owned;
        size_t len, width;
};

struct names_shown {
        struct idmap by_pointer; /* a name's address -> its index in v */
        struct shown_name *v;
        size_t n, allocated;
};

static void names_shown_done(struct names_shown *m) {
        for (size_t i = 0; i < m->n; i++)
                free(m->v[i].owned);
        free(m->v);
        idmap_done(&m->by_pointer);
}

/* name as shown (a container's short: container_name_short()): its
 * index in m->v (which may move as it grows: never keep a pointer). */
static uint32_t name_shown(struct names_shown *m, const char *name, bool container) {
        /* a container's name is shown unlike the same text elsewhere: its own key
         * (no user space address has the top bit set) */
        uint64_t key = (uint64_t) (uintptr_t) name | (container ? UINT64_C(1) << 63 : 0);
        uint32_t at = idmap_get(&m->by_pointer, key);
        char short_name[CONTAINER_SHORT_NAME_MAX];
        struct shown_name *e;

        if (at != IDMAP_NONE)
                return at;
        if (GROW(m->v, m->allocated, m->n + 1, 16) < 0 || idmap_put(&m->by_pointer, key, (uint32_t) m->n) < 0)
                return IDMAP_NONE; /* out of memory: "?" */
        e = &m->v[m->n];
        *e = (struct shown_name) { .text = name };
        if (container)
                name = container_name_short(name, short_name);
        if (escape_needed(name) || container) {
                e->owned = escape_needed(name) ? escape_dup(name) : strdup(name);
                e->text = e->owned ? e->owned : "?";
        }
        e->len = strlen(e->text);
        e->width = utf8_width(e->text);
        return (uint32_t) m->n++;
}

static const struct shown_name *name_at(const struct names_shown *m, uint32_t at) {
        static const struct shown_name unknown = { .text = "?", .len = 1, .width = 1 };

        return at < m->n ? &m->v[at] : &unknown;
}

/* What pass one keeps of a row for pass two: the words and names it shows,
 * by their index in the names (finwatch's own words are names too: static
 * strings, one address each), then its cells that are text made here, each
 * a length byte and its bytes. Small, as pass two reads them in the display
 * order, a cache miss or two each. */
enum { CELL_RECVQ, CELL_SENDQ, CELL_LOCAL, CELL_PEER, CELL_TIMER, CELL_AGE, CELL_FATE, CELL_PROCESS, CELL_COOKIE,
       _CELL_MAX };

enum { NAME_PROTO, NAME_STATE, NAME_ALERTED, NAME_ORPHAN, NAME_CAUSE, NAME_PEER_STATE, NAME_QOS, NAME_UNIT,
       NAME_CONTAINER, NAME_POD, NAME_NETNS, _NAME_MAX };

struct row_text {
        uint32_t name[_NAME_MAX];
        uint16_t process_width;
        /* then _CELL_MAX cells: a length byte, that many bytes */
} __attribute__((packed));

/* The names a table has seen, and the last one of each column: most rows
 * show what the row before them showed. */
struct names_seen {
        struct names_shown names;
        const char *last[_NAME_MAX];
        uint32_t last_at[_NAME_MAX];
};

static uint32_t name_of(struct names_seen *s, int which, const char *name) {
        if (s->last[which] != name) {
                s->last[which] = name;
                s->last_at[which] = name_shown(&s->names, name, which == NAME_CONTAINER);
        }
        return s->last_at[which];
}

struct arena {
        char *data;
        size_t len, allocated;
        int error;               /* -ENOMEM once it could not grow */
};

static char *arena_room(struct arena *a, size_t n) {
        if (a->allocated - a->len < n) {
                size_t was = a->allocated;

                if (grow_array((void **) &a->data, &a->allocated, a->len + n, 1, 64 << 10) < 0) {
                        a->error = -ENOMEM;
                        return NULL;
                }
                memory_prefault(a->data + was, a->allocated - was);
        }
        return a->data + a->len;
}

/* A cell written at len_at + 1 up to end (at most 255 bytes): its length
 * in the byte before it, its column grown to it. Returns end. */
static char *cell_done(char *len_at, char *end, size_t *width) {
        size_t n = (size_t) (end - len_at - 1);

        *len_at = (char) n;
        if (n > *width)
                *width = n;
        return end;
}

/* s (at most 255 bytes) as a cell: its length, its bytes. */
static char *cell_put(char *p, const char *s, size_t len) {
        *p++ = (char) len;
        return mempcpy(p, s, len);
}

#define ROW_TEXT_MAX (sizeof(struct row_text) + _CELL_MAX * (1 + 255))

/* Pass one: a row's cells made once, into the arena; the widths grown. */
static void row_text(struct arena *a, struct names_seen *seen, const struct row *r, size_t width[_COL_MAX],
                     size_t *extra, unsigned *flags) {
        static const int name_col[_NAME_MAX] = {
                [NAME_PROTO] = COL_PROTO, [NAME_STATE] = COL_STATE, [NAME_ALERTED] = COL_ALERTED,
                [NAME_ORPHAN] = COL_ORPHAN, [NAME_CAUSE] = COL_CAUSE, [NAME_PEER_STATE] = COL_PEER_STATE,
                [NAME_QOS] = COL_QOS, [NAME_UNIT] = COL_UNIT, [NAME_CONTAINER] = COL_CONTAINER, [NAME_POD] = COL_POD,
                [NAME_NETNS] = COL_NETNS,
        };
        const struct fw_sock *s = &r->sock;
        struct row_text t;
        char *start = arena_room(a, ROW_TEXT_MAX), *p, buf[24];
        const char *state = sockfmt_state_or_null(s->state);
        size_t len, row_extra = 0;

        if (!start)
                return;
        p = start + sizeof(t);
        /* each cell written where it goes, its length byte first */
        p = cell_done(p, put_u64(p + 1, s->recv_q), &width[COL_RECVQ]);
        p = cell_done(p, put_u64(p + 1, s->send_q), &width[COL_SENDQ]);
        p = cell_done(p, sockfmt_put_endpoint(p + 1, s->id.family, s->id.src, s->id.sport), &width[COL_LOCAL]);
        p = cell_done(p, sockfmt_put_endpoint(p + 1, s->id.family, s->id.dst, s->id.dport), &width[COL_PEER]);
        p = cell_done(p, sockfmt_put_timer(p + 1, s), &width[COL_TIMER]);
        p = cell_done(p, age_put(p + 1, &r->age), &width[COL_AGE]);
        p = cell_done(p, cause_put_fate(p + 1, s->fate_msec), &width[COL_FATE]);
        /* "PID/command", the command escaped */
        if (r->pid > 0) {
                const struct shown_name *comm =
                        name_at(&seen->names, name_shown(&seen->names, or_else(r->process, "?"), 0));

                len = (size_t) (put_u64(buf, (uint64_t) r->pid) - buf);
                buf[len++] = '/';
                *p++ = (char) (len + comm->len);
                p = mempcpy(p, buf, len);
                p = mempcpy(p, comm->text, comm->len);
                t.process_width = (uint16_t) (len + comm->width);
                row_extra = comm->len - comm->width;
        } else {
                p = cell_put(p, "-", 1);
                t.process_width = 1;
        }
        p = cell_done(p, put_u64(p + 1, s->id.cookie), &width[COL_COOKIE]);

        t.name[NAME_PROTO] = name_of(seen, NAME_PROTO, sockfmt_proto(s));
        t.name[NAME_STATE] = name_of(seen, NAME_STATE, state ? state : "?");
        t.name[NAME_ALERTED] = name_of(seen, NAME_ALERTED, r->known ? (r->alerted ? "yes" : "no") : "-");
        t.name[NAME_ORPHAN] = name_of(seen, NAME_ORPHAN, fw_sock_is_orphan(s) ? "yes" : "no");
        t.name[NAME_CAUSE] = name_of(seen, NAME_CAUSE, output_row_cause(r));
        t.name[NAME_PEER_STATE] = name_of(seen, NAME_PEER_STATE, peer_state_to_string(r->peer));
        t.name[NAME_QOS] = name_of(seen, NAME_QOS, r->pod_uid ? or_else(pod_qos_to_string(r->pod_qos), "-") : "-");
        t.name[NAME_UNIT] = name_of(seen, NAME_UNIT, r->cgroup_deleted ? "(deleted)" : or_else(r->unit, "-"));
        /* the short ID, as docker ps, podman ps and crictl ps show it (a user's behind its manager) */
        t.name[NAME_CONTAINER] = name_of(seen, NAME_CONTAINER, or_else(r->container_id, "-"));
        t.name[NAME_POD] = name_of(seen, NAME_POD, or_else(r->pod_uid, "-"));
        t.name[NAME_NETNS] = name_of(seen, NAME_NETNS, or_else(r->netns, "host"));
        memcpy(start, &t, sizeof(t));
        a->len += (size_t) (p - start);

        if (r->container_id)
                *flags |= OUTPUT_CONTAINERS;
        if (r->pod_uid)
                *flags |= OUTPUT_PODS;
        /* a line's bytes are its columns' and what its names' UTF-8
         * takes beyond their columns (a character of 2 to 4 bytes in one
         * or two columns): the most of that is kept */
        for (int i = 0; i < _NAME_MAX; i++) {
                const struct shown_name *nm = name_at(&seen->names, t.name[i]);

                if (nm->width > width[name_col[i]])
                        width[name_col[i]] = nm->width;
                row_extra += nm->len - nm->width; /* escaped: width <= len */
        }
        if (row_extra > *extra)
                *extra = row_extra;
        if (t.process_width > width[COL_PROCESS])
                width[COL_PROCESS] = t.process_width;
}

/* One cell of a line, padded to its column (the last one not). */
static void put_cell(struct textbuf *out, int c, const char *text, size_t len, size_t cell_width,
                     const size_t width[_COL_MAX], bool last) {
        size_t pad = !last && width[c] > cell_width ? width[c] - cell_width : 0;

        if (col_right(c)) {
                textbuf_pad(out, pad);
                textbuf_put(out, text, len);
        } else {
                textbuf_put(out, text, len);
                textbuf_pad(out, pad);
        }
        textbuf_char(out, last ? '\n' : ' ');
}

static void put_header(struct textbuf *out, const size_t width[_COL_MAX], unsigned flags) {
        for (int c = 0; c < _COL_MAX; c++)
                if (col_shown(c, flags))
                        put_cell(out, c, col_titles[c], strlen(col_titles[c]), strlen(col_titles[c]), width,
                                 c == COL_COOKIE);
}

/* The columns shown, in order, what each takes its text from, and how
 * long a line can be: worked out once, so that a row's line is a short
 * loop with nothing to decide. */
struct line_col {
        int8_t name;             /* NAME_*, or -1 */
        int8_t cell;             /* CELL_*, or -1 */
        bool right;              /* right-aligned */
        uint16_t width;
};

struct line_plan {
        struct line_col col[_COL_MAX];
        size_t n;
        size_t max_bytes;        /* columns, separators, names' UTF-8 beyond their columns */
};

static void line_plan(struct line_plan *lp, const size_t width[_COL_MAX], unsigned flags, size_t extra) {
        static const int8_t col_name[_COL_MAX] = {
                [COL_PROTO] = NAME_PROTO, [COL_STATE] = NAME_STATE, [COL_ALERTED] = NAME_ALERTED,
                [COL_ORPHAN] = NAME_ORPHAN, [COL_CAUSE] = NAME_CAUSE, [COL_PEER_STATE] = NAME_PEER_STATE,
                [COL_QOS] = NAME_QOS, [COL_UNIT] = NAME_UNIT, [COL_CONTAINER] = NAME_CONTAINER, [COL_POD] = NAME_POD,
                [COL_NETNS] = NAME_NETNS,
                [COL_RECVQ] = -1, [COL_SENDQ] = -1, [COL_LOCAL] = -1, [COL_PEER] = -1, [COL_TIMER] = -1,
                [COL_AGE] = -1, [COL_FATE] = -1, [COL_PROCESS] = -1, [COL_COOKIE] = -1,
        };
        static const int8_t col_cell[_COL_MAX] = {
                [COL_RECVQ] = CELL_RECVQ, [COL_SENDQ] = CELL_SENDQ, [COL_LOCAL] = CELL_LOCAL, [COL_PEER] = CELL_PEER,
                [COL_TIMER] = CELL_TIMER, [COL_AGE] = CELL_AGE, [COL_FATE] = CELL_FATE, [COL_PROCESS] = CELL_PROCESS,
                [COL_COOKIE] = CELL_COOKIE,
                [COL_PROTO] = -1, [COL_STATE] = -1, [COL_ALERTED] = -1, [COL_ORPHAN] = -1, [COL_CAUSE] = -1,
                [COL_PEER_STATE] = -1, [COL_QOS] = -1, [COL_UNIT] = -1, [COL_CONTAINER] = -1, [COL_POD] = -1,
                [COL_NETNS] = -1,
        };

        lp->n = 0;
        lp->max_bytes = extra;
        for (int c = 0; c < _COL_MAX; c++)
                if (col_shown(c, flags)) {
                        lp->col[lp->n++] = (struct line_col) {
                                .name = col_name[c], .cell = col_cell[c], .right = col_right(c),
                                .width = (uint16_t) width[c],
                        };
                        lp->max_bytes += width[c] + 1;
                }
}

/* n bytes from s to q, without a call for the short ones a cell has: two
 * copies of a constant size that overlap as much as they must. */
static inline char *copy_short(char *q, const char *s, size_t n) {
        if (n >= 16 && n <= 32) {
                memcpy(q, s, 16);
                memcpy(q + n - 16, s + n - 16, 16);
        } else if (n >= 8 && n < 16) {
                memcpy(q, s, 8);
                memcpy(q + n - 8, s + n - 8, 8);
        } else if (n >= 4 && n < 8) {
                memcpy(q, s, 4);
                memcpy(q + n - 4, s + n - 4, 4);
        } else if (n < 4) {
                for (size_t i = 0; i < n; i++)
                        q[i] = s[i];
        } else
                memcpy(q, s, n);
        return q + n;
}

/* Pass two: a row's line, from what pass one made of it alone (the row
 * itself is not read again): spaces, then each cell copied where its
 * column puts it. */
static void put_row(struct textbuf *out, const char *text, const struct names_shown *names,
                    const struct line_plan *lp) {
        struct row_text t;
        const char *cell[_CELL_MAX], *p = text + sizeof(t);
        size_t len[_CELL_MAX];
        char *line = textbuf_room(out, lp->max_bytes), *q = line;

        memcpy(&t, text, sizeof(t));
        for (int i = 0; i < _CELL_MAX; i++) {
                len[i] = (unsigned char) *p++;
                cell[i] = p;
                p += len[i];
        }
        memset(line, ' ', lp->max_bytes);
        for (size_t i = 0; i < lp->n; i++) {
                const struct line_col *lc = &lp->col[i];
                const char *txt;
                size_t l, w;

                if (lc->name >= 0) {
                        const struct shown_name *nm = name_at(names, t.name[lc->name]);

                        txt = nm->text;
                        l = nm->len;
                        w = nm->width;
                } else {
                        txt = cell[lc->cell];
                        l = len[lc->cell];
                        w = lc->cell == CELL_PROCESS ? t.process_width : l;
                }
                if (i + 1 == lp->n) { /* the last: not padded */
                        q = copy_short(q, txt, l);
                        *q++ = '\n';
                        break;
                }
                if (lc->right) {
                        q += lc->width - w;
                        q = copy_short(q, txt, l);
                } else
                        q = copy_short(q, txt, l) + (lc->width - w);
                q++; /* the space between */
        }
        out->n += (size_t) (q - line);
}

struct output_table {
        unsigned flags;
        size_t width[_COL_MAX];
        size_t extra;            /* the most bytes a line's names take beyond their columns */
        struct names_seen seen;
        struct arena text;       /* every row's cells (struct row_text) */
        size_t *at;              /* row index -> where its cells start in text */
        size_t n, allocated;
};

int output_table_new(struct output_table **ret, unsigned flags) {
        struct output_table *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->flags = flags;
        for (int c = 0; c < _COL_MAX; c++)
                t->width[c] = strlen(col_titles[c]);
        *ret = t;
        return 0;
}

struct output_table *output_table_free(struct output_table *t) {
        if (!t)
                return NULL;
        names_shown_done(&t->seen.names);
        free(t->text.data);
        free(t->at);
        free(t);
        return NULL;
}

void output_table_add(struct output_table *t, const struct row *row, size_t index) {
        if (t->text.error < 0)
                return;
        if (index >= t->allocated) {
                size_t was = t->allocated;

                if (grow_array((void **) &t->at, &t->allocated, index + 1, sizeof(*t->at), 1024) < 0) {
                        t->text.error = -ENOMEM;
                        return;
                }
                memory_prefault(t->at + was, (t->allocated - was) * sizeof(*t->at));
        }
        t->at[index] = t->text.len;
        if (index >= t->n)
                t->n = index + 1;
        row_text(&t->text, &t->seen, row, t->width, &t->extra, &t->flags);
}

int output_table_write(struct output_table *t, FILE *f, const uint32_t *order, size_t n) {
        _cleanup_(freep) struct textbuf *out = malloc(sizeof(*out));
        _cleanup_(freep) size_t *at = NULL;
        struct line_plan lp;

        if (t->text.error < 0)
                return t->text.error; /* nothing written */
        if (!out)
                return -ENOMEM;
        /* where each row's cells are, in the display order: one loop of
         * loads that do not wait on each other, so that the loop below
         * knows them ahead and can ask for the cells early */
        if (order) {
                at = malloc((n ? n : 1) * sizeof(*at));
                if (!at)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++) {
                        assert(order[i] < t->n);
                        at[i] = t->at[order[i]];
                }
        }
        /* Written as it is made: nothing can fail between its first byte and
         * its last but the writing itself, which holding it in memory would
         * not undo. */
        line_plan(&lp, t->width, t->flags, t->extra);
        /* every name is bounded (a unit's escaped name: 1 KiB), a line
         * a few KiB at most */
        assert(lp.max_bytes <= TEXTBUF_SIZE);
        textbuf_init(out, f);
        put_header(out, t->width, t->flags);
        for (size_t i = 0; i < n; i++) {
                if (at && i + OUTPUT_PREFETCH < n) {
                        __builtin_prefetch(t->text.data + at[i + OUTPUT_PREFETCH]);
                        __builtin_prefetch(t->text.data + at[i + OUTPUT_PREFETCH] + 64);
                }
                assert(at || i < t->n);
                put_row(out, t->text.data + (at ? at[i] : t->at[i]), &t->seen.names, &lp);
        }
        return textbuf_done(out);
}

int output_table(FILE *f, const struct row *rows, const uint32_t *order, size_t n, unsigned flags) {
        _cleanup_(output_table_freep) struct output_table *t = NULL;
        int r;

        r = output_table_new(&t, flags);
        if (r < 0)
                return r;
        /* Two passes: the columns are as wide as their widest cell, so
         * every cell is made (once) before the first line is written. The
         * first goes through the rows as they are in memory, the second in
         * the display order through what the first made of them, far
         * smaller than the rows. */
        for (size_t i = 0; i < n; i++)
                output_table_add(t, &rows[i], i);
        return output_table_write(t, f, order, n);
}

/* Output held in memory until it is whole. Not open_memstream: that copies
 * the whole text at each doubling and zeroes what it adds (list --json of
 * 50k sockets, 70 MB, took 1.6 times as long as with this); realloc moves
 * large blocks with mremap, and their pages are faulted in at once
 * (memory_prefault). */
struct outbuf {
        char *data;
        size_t len, allocated;
};

static ssize_t outbuf_write(void *cookie, const char *s, size_t n) {
        struct outbuf *b = cookie;

        if (n > b->allocated - b->len) {
                size_t a = b->allocated ? b->allocated : 64 * 1024;
                char *p;

                while (a - b->len < n) {
                        if (a > SIZE_MAX / 2)
                                return errno = ENOMEM, -1;
                        a *= 2;
                }
                p = realloc(b->data, a);
                if (!p)
                        return errno = ENOMEM, -1;
                memory_prefault(p + b->allocated, a - b->allocated);
                b->data = p;
                b->allocated = a;
        }
        memcpy(b->data + b->len, s, n);
        b->len += n;
        return (ssize_t) n;
}

static void outbuf_done(struct outbuf *b) {
        free(b->data);
}

/* Render with fn into memory, then write it to f in one piece: a failure on
 * the way (out of memory) leaves f untouched - never "[" alone, never half
 * an array. 0, or -ENOMEM, -EIO on a write error. */
static int write_whole(FILE *f, int (*fn)(FILE *m, const void *args), const void *args) {
        _cleanup_(outbuf_done) struct outbuf b = {};
        FILE *m = fopencookie(&b, "w", (cookie_io_functions_t) { .write = outbuf_write });
        int r;

        if (!m)
                return -ENOMEM;
        r = fn(m, args);
        if (fclose(m) != 0 && r >= 0)
                r = -ENOMEM; /* writing into memory fails only for want of it */
        if (r < 0)
                return r;
        if (fwrite(b.data, 1, b.len, f) != b.len || fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}

int output_json_set(json_t *o, const char *key, json_t *v) {
        /* json_object_set_new steals v even on failure. */
        return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

/* A name another user wrote, escaped as in the table (escape.h): valid
 * UTF-8, so json_string takes it. NULL when out of memory. */
json_t *output_json_name(const char *s) {
        _cleanup_(freep) char *escaped = NULL;

        if (!escape_needed(s))
                return json_string(s);
        escaped = escape_dup(s);
        return escaped ? json_string(escaped) : NULL;
}

static int status_json(FILE *f, const struct proto_status *st) {
        json_t *o = json_object(), *per = json_object();
        int r;

        if (!o || !per) {
                json_decref(o);
                json_decref(per);
                return -ENOMEM;
        }
        for (unsigned s = 0; s < ELEMENTSOF(st->per_state); s++)
                if (st->per_state[s] && sockfmt_state_or_null((uint8_t) s))
                        json_object_set_new(per, sockfmt_state_name((uint8_t) s), json_integer(st->per_state[s]));
        json_object_set_new(o, "version", json_string(st->version));
        json_object_set_new(o, "uptime_seconds", json_real((double) st->uptime_usec / 1e6));
        json_object_set_new(o, "config", json_string(st->config_path));
        json_object_set_new(o, "interval_seconds", json_real((double) st->interval_usec / 1e6));
        json_object_set_new(o, "last_poll_seconds", json_real((double) st->last_poll_usec / 1e6));
        json_object_set_new(o, "polls", json_integer((json_int_t) st->polls));
        json_object_set_new(o, "poll_failures", json_integer((json_int_t) st->poll_failures));
        json_object_set_new(o, "last_poll_error",
                            st->last_poll_error ? json_string(strerror(-st->last_poll_error)) : json_null());
        json_object_set_new(o, "tracked", json_integer(st->tracked));
        json_object_set_new(o, "tracked_by_state", per);
        json_object_set_new(o, "alerts_sent", json_integer((json_int_t) st->alerts_sent));
        json_object_set_new(o, "alerts_held", json_integer((json_int_t) st->alerts_held));
        json_object_set_new(o, "kills_ok", json_integer((json_int_t) st->kills_ok));
        json_object_set_new(o, "kills_failed", json_integer((json_int_t) st->kills_failed));
        json_object_set_new(o, "destroy_supported",
                            st->destroy_supported < 0 ? json_null() : json_boolean(st->destroy_supported));
        if (st->netns_mode != 0) {
                json_t *u = json_object();

                json_object_set_new(o, "netns_watched", json_integer(st->netns_watched));
                json_object_set_new(o, "netns_max", json_integer(st->netns_cap));
                if (u) {
                        json_object_set_new(u, "denied", json_integer(st->netns_denied));
                        json_object_set_new(u, "no_fds", json_integer(st->netns_no_fds));
                        json_object_set_new(u, "max_netns", json_integer(st->netns_over_cap));
                        json_object_set_new(u, "not_netns", json_integer(st->netns_not_netns));
                }
                json_object_set_new(o, "netns_unwatched", u ? u : json_null());
        }
        json_object_set_new(o, "control_refused", json_integer((json_int_t) st->control_refused));
        json_object_set_new(o, "control_busy", json_integer((json_int_t) st->control_busy));
        json_object_set_new(o, "control_accept_failures", json_integer((json_int_t) st->control_accept_failures));
        r = json_dumpf(o, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(o);
        if (r < 0)
                return -ENOMEM; /* into memory: only for want of it */
        fputc('\n', f);
        return 0;
}

struct status_args {
        const struct proto_status *st;
        bool json;
};

static int render_status(FILE *f, const void *args) {
        const struct status_args *sa = args;
        const struct proto_status *st = sa->st;
        char a[DURATION_STRLEN], b[DURATION_STRLEN], d[DURATION_STRLEN];

        if (sa->json)
                return status_json(f, st);
        fprintf(f, "finwatchd %s, up %s\n", st->version, format_duration(a, sizeof(a), st->uptime_usec));
        fprintf(f, "config:      %s\n", st->config_path);
        fprintf(f, "polls:       every %s, last took %s, %" PRIu64 " done, %" PRIu64 " failed%s%s\n",
                format_duration(b, sizeof(b), st->interval_usec),
                format_duration(d, sizeof(d), st->last_poll_usec), st->polls, st->poll_failures,
                st->last_poll_error ? ", last error: " : "",
                st->last_poll_error ? strerror(-st->last_poll_error) : "");
        fprintf(f, "tracked:     %u stuck socket%s", st->tracked, st->tracked == 1 ? "" : "s");
        for (unsigned s = 0, first = 1; s < ELEMENTSOF(st->per_state); s++)
                if (st->per_state[s] && sockfmt_state_or_null((uint8_t) s)) {
                        fprintf(f, "%s%u %s", first ? ": " : ", ", st->per_state[s],
                                sockfmt_state_name((uint8_t) s));
                        first = 0;
                }
        fprintf(f, "\nalerts:      %" PRIu64 " sent, %" PRIu64 " held back by the rate limit\n",
                st->alerts_sent, st->alerts_held);
        fprintf(f, "kills:       %" PRIu64 " done, %" PRIu64 " failed\n", st->kills_ok, st->kills_failed);
        fprintf(f, "SOCK_DESTROY: %s\n",
                st->destroy_supported > 0    ? "supported"
                : st->destroy_supported == 0 ? "not supported by this kernel (no CONFIG_INET_DIAG_DESTROY)"
                                             : "unknown");
        if (st->netns_mode != 0) {
                unsigned left = st->netns_denied + st->netns_no_fds + st->netns_over_cap + st->netns_not_netns;

                fprintf(f, "netns:       %u watched besides ours (at most %u)", st->netns_watched, st->netns_cap);
                if (left)
                        fprintf(f, ", %u NOT watched: %u permission denied, %u out of file descriptors, "
                                "%u past max_netns, %u not network namespaces", left, st->netns_denied,
                                st->netns_no_fds, st->netns_over_cap, st->netns_not_netns);
                fputc('\n', f);
        }
        if (st->control_refused || st->control_busy || st->control_accept_failures)
                fprintf(f, "control:     %" PRIu64 " connections refused (per-user limits), %" PRIu64
                        " replies refused (busy), %" PRIu64 " accept failures\n", st->control_refused,
                        st->control_busy, st->control_accept_failures);
        return 0;
}

int output_status(FILE *f, const struct proto_status *st, bool json) {
        return write_whole(f, render_status, &(const struct status_args) { .st = st, .json = json });
}

const char *output_row_cause(const struct row *r) {
        /* one sample (or too few): '?', as the Fate column's '~' marks an estimate */
        return r->cause_unconfirmed ? "no-timer?" : cause_to_string(r->sock.cause);
}

bool output_row_age(const struct row *r, uint64_t *ret_usec) {
        if (r->age.source == AGE_SOURCE_NONE)
                return false;
        *ret_usec = r->age.min_usec;
        return true;
}

int output_whole(FILE *f, int (*fn)(FILE *m, const void *args), const void *args) {
        return write_whole(f, fn, args);
}
