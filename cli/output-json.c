/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finwatch list --json (output.h): each row's object written straight
 * out, as jansson would print it. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "container.h"
#include "escape.h"
#include "output.h"
#include "peer.h"
#include "sockfmt.h"
#include "textbuf.h"
#include "util.h"

/* The members of one row's object, each on a line of its own, indented as
 * JSON_INDENT(2) within the array: what jansson printed (the same keys in
 * the same order, the same values), but written straight out. */
static void put_json_null(struct textbuf *t) {
        textbuf_put(t, "null", 4);
}

static void put_json_bool(struct textbuf *t, bool v) {
        if (v)
                textbuf_put(t, "true", 4);
        else
                textbuf_put(t, "false", 5);
}

/* A string finwatch made, or null. */
static void put_json_text(struct textbuf *t, const char *s) {
        if (s)
                textbuf_json_string(t, s);
        else
                put_json_null(t);
}

/* Whose a container is (a user's manager, container.h): the start of its
 * name, or null. */
static void put_json_owner(struct textbuf *t, const char *container) {
        char owner[CONTAINER_NAME_MAX];
        size_t len = container ? container_name_owner_len(container) : 0;

        if (len == 0 || len >= sizeof(owner)) {
                put_json_null(t);
                return;
        }
        memcpy(owner, container, len);
        owner[len] = '\0';
        textbuf_json_string(t, owner);
}

/* A name another user wrote (escape.h, then JSON's own escapes), or null. */
static void put_json_name(struct textbuf *t, const char *s) {
        char escaped[ESCAPE_MAX_PER_BYTE * 4096 + 1];

        if (!s)
                put_json_null(t);
        else if (!escape_needed(s))
                textbuf_json_string(t, s);
        else
                textbuf_json_string(t, escape_cut(escaped, sizeof(escaped), s));
}

static void json_row(struct textbuf *t, const struct row *row, uint64_t now_realtime_usec) {
        const struct fw_sock *s = &row->sock;
        char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN];
        const char *state = sockfmt_state_or_null(s->state);
        bool info = s->info.len > 0, has_age = row->age.source != AGE_SOURCE_NONE;
        const char *runtime = row->container_id ? container_runtime_to_string(row->container_runtime) : NULL;
        const char *qos = row->pod_uid ? pod_qos_to_string(row->pod_qos) : NULL;

/* A key after the first, k a literal: its line's start made by the
 * compiler, one copy of a known length (50 keys a row) */
#define KEY(k) textbuf_put(t, ",\n    \"" k "\": ", sizeof(",\n    \"" k "\": ") - 1)
#define INFO(k, v)                                                             \
        do {                                                                   \
                KEY(k);                                                        \
                if (info)                                                      \
                        textbuf_u64(t, (v));                                   \
                else                                                           \
                        put_json_null(t);                                          \
        } while (0)
        sockfmt_address(local, sizeof(local), s->id.family, s->id.src);
        sockfmt_address(peer, sizeof(peer), s->id.family, s->id.dst);
        textbuf_put(t, "  {\n    \"family\": ", sizeof("  {\n    \"family\": ") - 1);
        put_json_text(t, s->id.family == AF_INET6 ? "ipv6" : "ipv4");
        KEY("proto");
        put_json_text(t, sockfmt_proto(s));
        KEY("local_address");
        put_json_text(t, local);
        KEY("local_port");
        textbuf_u64(t, s->id.sport);
        KEY("peer_address");
        put_json_text(t, peer);
        KEY("peer_port");
        textbuf_u64(t, s->id.dport);
        KEY("state");
        put_json_text(t, state);
        KEY("recv_q");
        textbuf_u64(t, s->recv_q);
        KEY("send_q");
        textbuf_u64(t, s->send_q);
        KEY("timer");
        put_json_text(t, sockfmt_timer_name(s->timer));
        KEY("timer_count");
        textbuf_u64(t, s->timer_count);
        KEY("timer_expires_ms");
        textbuf_u64(t, s->timer_expires);
        INFO("retransmits", s->info.retransmits);
        INFO("probes", s->info.probes);
        INFO("backoff", s->info.backoff);
        INFO("unacked", s->info.unacked);
        INFO("snd_wnd", s->info.snd_wnd);
        INFO("notsent_bytes", s->info.notsent_bytes);
        INFO("rto_usec", s->info.rto);
        INFO("last_data_sent_ms", s->info.last_data_sent);
        INFO("last_ack_recv_ms", s->info.last_ack_recv);
        KEY("age_seconds");
        if (has_age)
                textbuf_decimal(t, age_shown_usec(&row->age), 6);
        else
                put_json_null(t);
        KEY("age_min_seconds");
        if (has_age)
                textbuf_decimal(t, row->age.min_usec, 6);
        else
                put_json_null(t);
        KEY("age_max_seconds");
        if (has_age && row->age.has_max)
                textbuf_decimal(t, row->age.max_usec, 6);
        else
                put_json_null(t);
        KEY("age_source");
        put_json_text(t, has_age ? age_source_to_string(row->age.source) : NULL);
        KEY("first_seen");
        if (row->known && now_realtime_usec > row->first_seen_ago_usec) {
                textbuf_char(t, '"');
                textbuf_utc(t, (int64_t) ((now_realtime_usec - row->first_seen_ago_usec) / USEC_PER_SEC));
                textbuf_char(t, '"');
        } else
                put_json_null(t);
        KEY("alerted");
        if (row->known)
                put_json_bool(t, row->alerted);
        else
                put_json_null(t);
        KEY("orphan");
        put_json_bool(t, fw_sock_is_orphan(s));
        KEY("cause");
        put_json_text(t, cause_to_string(s->cause));
        KEY("cause_confirmed");
        put_json_bool(t, !row->cause_unconfirmed);
        KEY("peer");
        /* the daemon's verdict, null when none (one sample says nothing) */
        put_json_text(t, row->peer != PEER_UNKNOWN ? peer_state_to_string(row->peer) : NULL);
        KEY("fate");
        put_json_text(t, s->fate_msec == FATE_NEVER ? "never" : s->fate_msec < 0 ? "unknown" : "reaped");
        KEY("reaped_in_seconds");
        if (s->fate_msec >= 0)
                textbuf_decimal(t, (uint64_t) s->fate_msec, 3);
        else
                put_json_null(t);
        KEY("unit");
        if (row->cgroup_deleted)
                put_json_text(t, "(deleted)");
        else
                put_json_name(t, or_else(row->unit, NULL));
        KEY("cgroup");
        put_json_name(t, or_else(row->cgroup, NULL));
        KEY("cgroup_deleted");
        put_json_bool(t, row->cgroup_deleted);
        KEY("container_id");
        put_json_text(t, row->container_id);
        KEY("container_owner");
        put_json_owner(t, row->container_id);
        KEY("container_runtime");
        put_json_text(t, runtime);
        KEY("pod_uid");
        put_json_text(t, row->pod_uid);
        KEY("pod_qos");
        put_json_text(t, qos);
        KEY("netns");
        put_json_name(t, or_else(row->netns, "host"));
        KEY("netns_inode");
        if (s->id.netns_ino)
                textbuf_u64(t, s->id.netns_ino);
        else
                put_json_null(t);
        KEY("netns_unit");
        put_json_name(t, or_else(row->netns_unit, NULL));
        KEY("pid");
        if (row->pid > 0)
                textbuf_u64(t, (uint64_t) row->pid);
        else
                put_json_null(t);
        KEY("process");
        put_json_name(t, row->pid > 0 ? or_else(row->process, NULL) : NULL);
        KEY("uid");
        textbuf_u64(t, s->uid);
        KEY("inode");
        textbuf_u64(t, s->inode);
        /* JSON numbers: cookies and cgroup ids are counters, far below 2^53. */
        KEY("cookie");
        textbuf_u64(t, s->id.cookie);
        KEY("cgroup_id");
        if (s->has_cgroup_id)
                textbuf_u64(t, s->cgroup_id);
        else
                put_json_null(t);
        KEY("shutdown");
        if (s->has_shutdown)
                textbuf_u64(t, s->shutdown);
        else
                put_json_null(t);
        KEY("ifindex");
        textbuf_u64(t, s->id.ifindex);
        textbuf_put(t, "\n  }", 4);
#undef INFO
#undef KEY
}

int output_json(FILE *f, const struct row *rows, const uint32_t *order, size_t n, uint64_t now_realtime_usec) {
        _cleanup_(freep) struct textbuf *t = malloc(sizeof(*t));

        if (!t)
                return -ENOMEM; /* nothing written */
        /* One object at a time, straight out: nothing is allocated on the
         * way, so nothing but the writing fails between "[" and "]" (jansson
         * built each object, 45 allocations a row, and printed it with
         * "%.17g" reals: 8.4 G instructions for 50,000 rows, 30 times the
         * table's). */
        textbuf_init(t, f);
        textbuf_put(t, n ? "[\n" : "[", n ? 2 : 1);
        for (size_t i = 0; i < n; i++) {
                if (order && i + OUTPUT_PREFETCH < n) {
                        const char *ahead = (const char *) &rows[order[i + OUTPUT_PREFETCH]];

                        for (size_t off = 0; off < sizeof(*rows); off += 64)
                                __builtin_prefetch(ahead + off);
                }
                json_row(t, &rows[order ? order[i] : i], now_realtime_usec);
                textbuf_put(t, i + 1 < n ? ",\n" : "\n", i + 1 < n ? 2 : 1);
        }
        textbuf_put(t, "]\n", 2);
        return textbuf_done(t);
}
