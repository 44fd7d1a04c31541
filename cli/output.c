/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <endian.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cause.h"
#include "cgroup.h"
#include "container.h"
#include "escape.h"
#include "peer.h"
#include "output.h"
#include "proto.h"
#include "sockfmt.h"
#include "util.h"

/* s when set, else dflt (NULL and "" both mean unknown). */
static const char *or_else(const char *s, const char *dflt) {
        return s && *s ? s : dflt;
}

/* The display order - family, local address and port, peer address and
 * port, cookie - as bytes for one memcmp (numbers big-endian). Sorting
 * these small keys reads each (large) row once, not at every comparison. */
struct sort_key {
        uint8_t k[1 + 16 + 2 + 16 + 2 + 8];
        size_t at; /* the row's index before sorting */
};

static void sort_key_of(struct sort_key *key, const struct fw_sock *s, size_t at) {
        uint16_t sport = htobe16(s->id.sport), dport = htobe16(s->id.dport);
        uint64_t cookie = htobe64(s->id.cookie);
        uint8_t *p = key->k;

        *p++ = s->id.family;
        p = mempcpy(p, s->id.src, sizeof(s->id.src));
        p = mempcpy(p, &sport, sizeof(sport));
        p = mempcpy(p, s->id.dst, sizeof(s->id.dst));
        p = mempcpy(p, &dport, sizeof(dport));
        memcpy(p, &cookie, sizeof(cookie));
        key->at = at;
}

static int cmp_sort_key(const void *a, const void *b) {
        const struct sort_key *x = a, *y = b;

        return memcmp(x->k, y->k, sizeof(x->k));
}

void output_sort(struct row *rows, size_t n) {
        _cleanup_(freep) struct sort_key *keys = NULL;

        if (n < 2)
                return;
        keys = malloc(n * sizeof(*keys));
        if (!keys)
                return; /* unsorted is still right, only less tidy */
        memory_prefault(keys, n * sizeof(*keys));
        for (size_t i = 0; i < n; i++)
                sort_key_of(&keys[i], &rows[i].sock, i);
        qsort(keys, n, sizeof(*keys), cmp_sort_key);
        /* Rows are large: put each in place by following the cycles of the
         * permutation (one row of scratch). Position i takes row keys[i].at;
         * a done position gets at = i. */
        for (size_t i = 0; i < n; i++) {
                struct row held;
                size_t j = i;

                if (keys[i].at == i)
                        continue;
                held = rows[i];
                while (keys[j].at != i) {
                        size_t next = keys[j].at;

                        rows[j] = rows[next];
                        keys[j].at = j;
                        j = next;
                }
                rows[j] = held;
                keys[j].at = j;
        }
}

/* The text of every cell of one row. */
struct cells_text {
        char recv_q[16], send_q[16];
        char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN];
        char timer[TIMER_STRLEN];
        char age[DURATION_STRLEN + 1]; /* "~" or ">" and a duration */
        char fate[DURATION_STRLEN + 2];
        /* other users' names, escaped (escape.h): a unit's is shorter than
         * CGROUP_UNIT_MAX (cgroup.h: a user's behind its manager), a command
         * 15 bytes (owner.h), a namespace's 63 (netns.h) */
        char unit[ESCAPE_MAX_PER_BYTE * (CGROUP_UNIT_MAX - 1) + 1];
        char process[24 + ESCAPE_MAX_PER_BYTE * 15];
        char netns[ESCAPE_MAX_PER_BYTE * 63 + 1];
        const char *unit_shown, *netns_shown; /* the name itself, or its escape above */
        char container[CONTAINER_SHORT_NAME_MAX];
        char cookie[24];
};

/* name as shown: itself when it needs no escaping, as nearly all do */
static const char *shown(char *buf, size_t size, const char *name) {
        return escape_needed(name) ? escape_cut(buf, size, name) : name;
}

static void row_fill(struct cells_text *row, const struct row *r) {
        const struct fw_sock *s = &r->sock;

        *put_u64(row->recv_q, s->recv_q) = '\0';
        *put_u64(row->send_q, s->send_q) = '\0';
        sockfmt_endpoint(row->local, sizeof(row->local), s->id.family, s->id.src, s->id.sport);
        sockfmt_endpoint(row->peer, sizeof(row->peer), s->id.family, s->id.dst, s->id.dport);
        sockfmt_timer(row->timer, sizeof(row->timer), s);
        age_format(row->age, sizeof(row->age), &r->age);
        cause_format_fate(row->fate, sizeof(row->fate), s->fate_msec);
        if (r->pid > 0) {
                char *p = put_u64(row->process, (uint64_t) r->pid);

                *p++ = '/';
                escape_cut(p, sizeof(row->process) - (size_t) (p - row->process), or_else(r->process, "?"));
        } else
                strcpy(row->process, "-");
        row->unit_shown = shown(row->unit, sizeof(row->unit), r->cgroup_deleted ? "(deleted)" : or_else(r->unit, "-"));
        row->netns_shown = shown(row->netns, sizeof(row->netns), or_else(r->netns, "host"));
        /* the short ID, as docker ps, podman ps and crictl ps show it (a user's behind its manager) */
        container_name_short(or_else(r->container_id, "-"), row->container);
        *put_u64(row->cookie, s->id.cookie) = '\0';
}

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

static void row_cells(const struct cells_text *row, const struct row *r, const char *cells[_COL_MAX]) {
        const struct fw_sock *s = &r->sock;
        const char *state = sockfmt_state_or_null(s->state);

        cells[COL_PROTO] = sockfmt_proto(s);
        cells[COL_RECVQ] = row->recv_q;
        cells[COL_SENDQ] = row->send_q;
        cells[COL_LOCAL] = row->local;
        cells[COL_PEER] = row->peer;
        cells[COL_STATE] = state ? state : "?";
        cells[COL_TIMER] = row->timer;
        cells[COL_AGE] = row->age;
        cells[COL_ALERTED] = r->known ? (r->alerted ? "yes" : "no") : "-";
        cells[COL_ORPHAN] = fw_sock_is_orphan(s) ? "yes" : "no";
        cells[COL_CAUSE] = output_row_cause(r);
        cells[COL_FATE] = row->fate;
        cells[COL_PEER_STATE] = peer_state_to_string(r->peer);
        cells[COL_UNIT] = row->unit_shown;
        cells[COL_CONTAINER] = row->container;
        cells[COL_POD] = or_else(r->pod_uid, "-");
        cells[COL_QOS] = r->pod_uid ? or_else(pod_qos_to_string(r->pod_qos), "-") : "-";
        cells[COL_PROCESS] = row->process;
        cells[COL_NETNS] = row->netns_shown;
        cells[COL_COOKIE] = row->cookie;
}

/* A line, built in memory and written at once. */
struct line {
        FILE *f;
        size_t n;
        char buf[4096];
};

static void line_put(struct line *l, const char *s, size_t len) {
        if (len > sizeof(l->buf) - l->n) {
                fwrite(l->buf, 1, l->n, l->f);
                l->n = 0;
                if (len > sizeof(l->buf)) {
                        fwrite(s, 1, len, l->f);
                        return;
                }
        }
        memcpy(l->buf + l->n, s, len);
        l->n += len;
}

static void line_pad(struct line *l, size_t n) {
        static const char spaces[64] = "                                                                ";

        for (; n > sizeof(spaces); n -= sizeof(spaces))
                line_put(l, spaces, sizeof(spaces));
        line_put(l, spaces, n);
}

/* Columns are as wide as their widest cell on a terminal. Our own cells are
 * ASCII; names are escaped, so valid UTF-8 (escape.h), and a character of
 * theirs takes 0, 1 or 2 columns. */
static size_t cell_width(int c, const char *cell, size_t len) {
        return c == COL_UNIT || c == COL_PROCESS || c == COL_NETNS ? utf8_width(cell) : len;
}

static void print_cells(FILE *f, const char *const cells[_COL_MAX], const size_t width[_COL_MAX], unsigned flags) {
        struct line l; /* not zeroed: 4 KiB a row */

        l.f = f;
        l.n = 0;
        for (int c = 0; c < _COL_MAX; c++) {
                bool right = c == COL_RECVQ || c == COL_SENDQ || c == COL_AGE;
                size_t len = strlen(cells[c]), cw = cell_width(c, cells[c], len), pad = width[c] > cw ? width[c] - cw : 0;

                if ((c == COL_NETNS && !(flags & OUTPUT_NETNS)) ||
                    (c == COL_CONTAINER && !(flags & OUTPUT_CONTAINERS)) ||
                    ((c == COL_POD || c == COL_QOS) && !(flags & OUTPUT_PODS)))
                        continue;
                if (c == _COL_MAX - 1)
                        pad = 0; /* the last column is not padded */
                if (right)
                        line_pad(&l, pad);
                line_put(&l, cells[c], len);
                if (!right)
                        line_pad(&l, pad);
                line_put(&l, c == _COL_MAX - 1 ? "\n" : " ", 1);
        }
        fwrite(l.buf, 1, l.n, f);
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

struct rows_args {
        const struct row *rows;
        size_t n;
        uint64_t now_realtime_usec;
};

static void render_table(FILE *f, const struct row *rows, size_t n, unsigned flags) {
        size_t width[_COL_MAX];
        struct cells_text text;
        const char *cells[_COL_MAX];

        for (int c = 0; c < _COL_MAX; c++)
                width[c] = strlen(col_titles[c]);

        /* Two passes, each row formatted in each: the columns as wide as
         * their widest cell first, then the lines. Keeping every row's text
         * instead costs the same time (its pages are new) and 250 bytes a
         * row. */
        for (size_t i = 0; i < n; i++) {
                row_fill(&text, &rows[i]);
                row_cells(&text, &rows[i], cells);
                if (rows[i].container_id)
                        flags |= OUTPUT_CONTAINERS;
                if (rows[i].pod_uid)
                        flags |= OUTPUT_PODS;
                for (int c = 0; c < _COL_MAX; c++) {
                        size_t w = cell_width(c, cells[c], strlen(cells[c]));
                        if (w > width[c])
                                width[c] = w;
                }
        }

        print_cells(f, col_titles, width, flags);
        for (size_t i = 0; i < n; i++) {
                row_fill(&text, &rows[i]);
                row_cells(&text, &rows[i], cells);
                print_cells(f, cells, width, flags);
        }
}

int output_table(FILE *f, const struct row *rows, size_t n, unsigned flags) {
        /* Written as it is made: nothing can fail between its first byte and
         * its last but the writing itself, which holding it in memory would
         * not undo (and that made the table of 50k sockets, 7 MB, take 2.5
         * times as long). */
        render_table(f, rows, n, flags);
        if (fflush(f) != 0 || ferror(f))
                return -EIO;
        return 0;
}

int output_json_set(json_t *o, const char *key, json_t *v) {
        /* json_object_set_new steals v even on failure. */
        return v && json_object_set_new(o, key, v) == 0 ? 0 : -ENOMEM;
}

/* "2026-11-24T08:16:58Z" */
static json_t *json_time(uint64_t realtime_usec) {
        time_t t = (time_t) (realtime_usec / USEC_PER_SEC);
        struct tm tm;
        char buf[32];

        if (!gmtime_r(&t, &tm) || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
                return json_null();
        return json_string(buf);
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

/* The daemon's verdict on the peer, null when none (one sample says nothing). */
static json_t *json_peer(const struct row *row) {
        return row->peer != PEER_UNKNOWN ? json_string(peer_state_to_string(row->peer)) : json_null();
}

json_t *output_row_json(const struct row *row, uint64_t now_realtime_usec) {
        const struct fw_sock *s = &row->sock;
        char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN];
        const char *state = sockfmt_state_or_null(s->state);
        bool info = s->info.len > 0, has_age = row->age.source != AGE_SOURCE_NONE;
        json_t *o;
        int r = 0;

        o = json_object();
        if (!o)
                return NULL;

        sockfmt_address(local, sizeof(local), s->id.family, s->id.src);
        sockfmt_address(peer, sizeof(peer), s->id.family, s->id.dst);

        r |= output_json_set(o, "family", json_string(s->id.family == AF_INET6 ? "ipv6" : "ipv4"));
        r |= output_json_set(o, "proto", json_string(sockfmt_proto(s)));
        r |= output_json_set(o, "local_address", json_string(local));
        r |= output_json_set(o, "local_port", json_integer(s->id.sport));
        r |= output_json_set(o, "peer_address", json_string(peer));
        r |= output_json_set(o, "peer_port", json_integer(s->id.dport));
        r |= output_json_set(o, "state", state ? json_string(state) : json_null());
        r |= output_json_set(o, "recv_q", json_integer(s->recv_q));
        r |= output_json_set(o, "send_q", json_integer(s->send_q));
        r |= output_json_set(o, "timer", json_string(sockfmt_timer_name(s->timer)));
        r |= output_json_set(o, "timer_count", json_integer(s->timer_count));
        r |= output_json_set(o, "timer_expires_ms", json_integer(s->timer_expires));
        r |= output_json_set(o, "retransmits", info ? json_integer(s->info.retransmits) : json_null());
        r |= output_json_set(o, "probes", info ? json_integer(s->info.probes) : json_null());
        r |= output_json_set(o, "backoff", info ? json_integer(s->info.backoff) : json_null());
        r |= output_json_set(o, "unacked", info ? json_integer(s->info.unacked) : json_null());
        r |= output_json_set(o, "snd_wnd", info ? json_integer(s->info.snd_wnd) : json_null());
        r |= output_json_set(o, "notsent_bytes", info ? json_integer(s->info.notsent_bytes) : json_null());
        r |= output_json_set(o, "rto_usec", info ? json_integer(s->info.rto) : json_null());
        r |= output_json_set(o, "last_data_sent_ms", info ? json_integer(s->info.last_data_sent) : json_null());
        r |= output_json_set(o, "last_ack_recv_ms", info ? json_integer(s->info.last_ack_recv) : json_null());
        r |= output_json_set(o, "age_seconds", has_age ? json_real((double) age_shown_usec(&row->age) / 1e6) : json_null());
        r |= output_json_set(o, "age_min_seconds", has_age ? json_real((double) row->age.min_usec / 1e6) : json_null());
        r |= output_json_set(o, "age_max_seconds", has_age && row->age.has_max ? json_real((double) row->age.max_usec / 1e6)
                                                                       : json_null());
        r |= output_json_set(o, "age_source", has_age ? json_string(age_source_to_string(row->age.source)) : json_null());
        r |= output_json_set(o, "first_seen", row->known && now_realtime_usec > row->first_seen_ago_usec
                                              ? json_time(now_realtime_usec - row->first_seen_ago_usec)
                                              : json_null());
        r |= output_json_set(o, "alerted", row->known ? json_boolean(row->alerted) : json_null());
        r |= output_json_set(o, "orphan", json_boolean(fw_sock_is_orphan(s)));
        r |= output_json_set(o, "cause", json_string(cause_to_string(s->cause)));
        r |= output_json_set(o, "cause_confirmed", json_boolean(!row->cause_unconfirmed));
        r |= output_json_set(o, "peer", json_peer(row));
        r |= output_json_set(o, "fate", json_string(s->fate_msec == FATE_NEVER ? "never" : s->fate_msec < 0 ? "unknown" : "reaped"));
        r |= output_json_set(o, "reaped_in_seconds", s->fate_msec >= 0 ? json_real((double) s->fate_msec / 1e3) : json_null());
        r |= output_json_set(o, "unit", row->cgroup_deleted ? json_string("(deleted)")
                                : or_else(row->unit, NULL) ? output_json_name(row->unit) : json_null());
        r |= output_json_set(o, "cgroup", or_else(row->cgroup, NULL) ? output_json_name(row->cgroup) : json_null());
        r |= output_json_set(o, "cgroup_deleted", json_boolean(row->cgroup_deleted));
        r |= output_json_set(o, "container_id", row->container_id ? json_string(row->container_id) : json_null());
        r |= output_json_set(o, "container_owner", row->container_id && container_name_owner_len(row->container_id)
                                ? json_stringn(row->container_id, container_name_owner_len(row->container_id))
                                : json_null());
        r |= output_json_set(o, "container_runtime", row->container_id && container_runtime_to_string(row->container_runtime)
                                ? json_string(container_runtime_to_string(row->container_runtime)) : json_null());
        r |= output_json_set(o, "pod_uid", row->pod_uid ? json_string(row->pod_uid) : json_null());
        r |= output_json_set(o, "pod_qos", row->pod_uid && pod_qos_to_string(row->pod_qos)
                                ? json_string(pod_qos_to_string(row->pod_qos)) : json_null());
        r |= output_json_set(o, "netns", output_json_name(or_else(row->netns, "host")));
        r |= output_json_set(o, "netns_inode", s->id.netns_ino ? json_integer((json_int_t) s->id.netns_ino) : json_null());
        r |= output_json_set(o, "netns_unit", or_else(row->netns_unit, NULL) ? output_json_name(row->netns_unit) : json_null());
        r |= output_json_set(o, "pid", row->pid > 0 ? json_integer(row->pid) : json_null());
        r |= output_json_set(o, "process", row->pid > 0 && or_else(row->process, NULL) ? output_json_name(row->process) : json_null());
        r |= output_json_set(o, "uid", json_integer(s->uid));
        r |= output_json_set(o, "inode", json_integer(s->inode));
        /* JSON numbers: cookies and cgroup ids are counters, far below 2^53. */
        r |= output_json_set(o, "cookie", json_integer((json_int_t) s->id.cookie));
        r |= output_json_set(o, "cgroup_id", s->has_cgroup_id ? json_integer((json_int_t) s->cgroup_id) : json_null());
        r |= output_json_set(o, "shutdown", s->has_shutdown ? json_integer(s->shutdown) : json_null());
        r |= output_json_set(o, "ifindex", json_integer(s->id.ifindex));

        if (r != 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

/* Write a dumped object indented one level more, as an array element. */
static void put_indented(FILE *f, const char *text) {
        fputs("  ", f);
        for (const char *p = text; *p;) {
                size_t l = strcspn(p, "\n");

                fwrite(p, 1, l, f);
                p += l;
                if (*p == '\n') {
                        fputs("\n  ", f);
                        p++;
                }
        }
}

static int render_json(FILE *f, const void *args) {
        const struct rows_args *a = args;
        const struct row *rows = a->rows;
        uint64_t now_realtime_usec = a->now_realtime_usec;
        size_t n = a->n;

        /* One object at a time: the whole array as jansson values would take
         * about 6 KiB a socket (300 MB at 50k sockets); its text, about 1.4
         * KiB a socket, is held until it is written. */
        fputs(n ? "[\n" : "[", f);
        for (size_t i = 0; i < n; i++) {
                json_t *o = output_row_json(&rows[i], now_realtime_usec);
                char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;

                json_decref(o);
                if (!text)
                        return -ENOMEM;
                put_indented(f, text);
                free(text);
                fputs(i + 1 < n ? ",\n" : "\n", f);
        }
        fputs("]\n", f);
        return 0;
}

int output_json(FILE *f, const struct row *rows, size_t n, uint64_t now_realtime_usec) {
        return write_whole(f, render_json, &(const struct rows_args) {
                .rows = rows, .n = n, .now_realtime_usec = now_realtime_usec });
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
