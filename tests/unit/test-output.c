/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "cause.h"
#include "cgroup.h"
#include "container.h"
#include "escape.h"
#include "gather.h"
#include "output.h"
#include "peer.h"
#include "test.h"
#include "util.h"

static struct fw_sock sock(int family, const char *src, uint16_t sport, const char *dst, uint16_t dport,
                           uint8_t state, uint64_t cookie) {
        struct fw_sock s = {
                .id.family = (uint8_t) family,
                .id.sport = sport,
                .id.dport = dport,
                .state = state,
                .id.cookie = cookie,
                .fate_msec = FATE_UNKNOWN,
        };
        CHECK_INT(inet_pton(family, src, s.id.src), 1);
        CHECK_INT(inet_pton(family, dst, s.id.dst), 1);
        return s;
}

/* 2026-11-24T10:00:00Z */
#define NOW_REALTIME (UINT64_C(1795514400) * USEC_PER_SEC)

static int json_at_now(FILE *f, const struct row *rows, size_t n) {
        return output_json(f, rows, NULL, n, NOW_REALTIME);
}

static int table(FILE *f, const struct row *rows, size_t n) {
        return output_table(f, rows, NULL, n, OUTPUT_PROCESSES);
}

/* as finwatch list shows it without --processes */
static int table_default(FILE *f, const struct row *rows, size_t n) {
        return output_table(f, rows, NULL, n, 0);
}

static char *render(int (*fn)(FILE *, const struct row *, size_t), const struct row *rows, size_t n) {
        char *text = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&text, &size);

        CHECK(f != NULL);
        CHECK_INT(fn(f, rows, n), 0);
        fclose(f);
        return text;
}

/* What gather() does: each row's age from the kernel's fields and the daemon's. */
static void ages(struct row *rows, size_t n) {
        struct gathered g = { .rows = rows, .n = n };

        gather_ages(&g);
}

static void test_table(void) {
        struct row s[3] = {};
        char *text;

        s[0].sock = sock(AF_INET6, "::1", 9000, "::1", 40000, FW_TCP_LAST_ACK, 77);
        s[0].sock.timer = DIAG_TIMER_RETRANS;
        s[0].sock.timer_count = 4;
        s[0].sock.inode = 1234;
        s[0].sock.send_q = 1;
        s[0].known = true;
        s[0].age_usec = 12 * USEC_PER_MIN + 3 * USEC_PER_SEC;
        s[0].alerted = true;
        s[0].sock.cause = SOCK_CAUSE_LOST_FIN;
        s[0].sock.fate_msec = 95 * 1000;
        s[0].unit = "nginx.service";
        s[0].pid = 812;
        s[0].process = "nginx";
        s[0].peer = PEER_RECONNECTING;
        s[1].sock = sock(AF_INET, "10.0.0.1", 445, "10.0.0.2", 1094, FW_TCP_FIN_WAIT1, 5);
        s[1].sock.timer = DIAG_TIMER_PERSIST;
        s[1].sock.timer_count = 2;
        s[1].sock.send_q = 123456;
        s[1].known = true;
        s[1].age_usec = 900 * USEC_PER_MSEC;
        s[1].sock.cause = SOCK_CAUSE_PEER_ZERO_WINDOW;
        s[1].sock.fate_msec = FATE_NEVER;
        s[1].cgroup_deleted = true;
        s[1].peer = PEER_ANSWERING;
        s[2].sock = sock(AF_INET6, "::ffff:127.0.0.1", 9000, "::ffff:127.0.0.1", 5555, FW_TCP_FIN_WAIT1,
                         18446744073709551614ULL);

        ages(s, 3);
        output_sort(s, 3);
        /* IPv4 sorts before IPv6, then by address */
        CHECK_INT(s[0].sock.id.cookie, 5);

        text = render(table, s, 3);
        CHECK_STR(text,
                  "Proto Recv-Q Send-Q Local Address  Foreign Address State      Timer              Age Alerted Orphan Cause            Fate      Peer         Unit          Process   Cookie\n"
                  "tcp        0 123456 10.0.0.1:445   10.0.0.2:1094   FIN_WAIT_1 persist(2)       900ms no      yes    peer-zero-window never     answering    (deleted)     -         5\n"
                  "tcp6       0      1 [::1]:9000     [::1]:40000     LAST_ACK   retransmit(4) 12min 3s yes     no     lost-fin         ~1min 35s reconnecting nginx.service 812/nginx 77\n"
                  "tcp6       0      0 127.0.0.1:9000 127.0.0.1:5555  FIN_WAIT_1 off                  - -       yes    unknown          -         -            -             -         18446744073709551614\n");
        free(text);

        /* without --processes, no Process column */
        text = render(table_default, s, 3);
        CHECK_STR(text,
                  "Proto Recv-Q Send-Q Local Address  Foreign Address State      Timer              Age Alerted Orphan Cause            Fate      Peer         Unit          Cookie\n"
                  "tcp        0 123456 10.0.0.1:445   10.0.0.2:1094   FIN_WAIT_1 persist(2)       900ms no      yes    peer-zero-window never     answering    (deleted)     5\n"
                  "tcp6       0      1 [::1]:9000     [::1]:40000     LAST_ACK   retransmit(4) 12min 3s yes     no     lost-fin         ~1min 35s reconnecting nginx.service 77\n"
                  "tcp6       0      0 127.0.0.1:9000 127.0.0.1:5555  FIN_WAIT_1 off                  - -       yes    unknown          -         -            -             18446744073709551614\n");
        free(text);

        /* a no-timer of one sample: marked, its fate unknown (gather.c) */
        s[0].sock.cause = SOCK_CAUSE_NO_TIMER;
        s[0].sock.fate_msec = FATE_UNKNOWN;
        s[0].cause_unconfirmed = true;
        text = render(table, s, 1);
        CHECK(strstr(text, " no-timer? - ") != NULL);
        free(text);
        s[0].cause_unconfirmed = false;
        s[0].sock.fate_msec = FATE_NEVER;
        text = render(table, s, 1);
        CHECK(strstr(text, " no-timer never ") != NULL);
        free(text);

        /* no rows: the header alone */
        text = render(table, s, 0);
        CHECK_STR(text, "Proto Recv-Q Send-Q Local Address Foreign Address State Timer Age Alerted Orphan Cause Fate Peer Unit Process Cookie\n");
        free(text);
}

static void test_json(void) {
        struct row s[2] = {};
        json_error_t err;
        json_t *root, *o;
        char *text;

        s[0].sock = sock(AF_INET, "10.0.0.1", 445, "10.0.0.2", 1094, FW_TCP_LAST_ACK, 5);
        s[0].sock.info.len = 232;
        s[0].sock.info.retransmits = 3;
        s[0].sock.info.probes = 0;
        s[0].sock.info.snd_wnd = 65535;
        s[0].sock.uid = 33;
        s[0].sock.has_cgroup_id = true;
        s[0].sock.cgroup_id = 4242;
        s[0].sock.timer = DIAG_TIMER_RETRANS;
        s[0].known = true;
        s[0].age_usec = 90500 * USEC_PER_MSEC;
        s[0].first_seen_ago_usec = 3600 * USEC_PER_SEC;
        s[0].alerted = true;
        s[0].peer = PEER_RECONNECTING;
        s[1].sock = sock(AF_INET6, "::ffff:192.0.2.7", 80, "2001:db8::1", 1, FW_TCP_FIN_WAIT1, 6);
        s[1].sock.inode = 99;
        s[1].sock.cause = SOCK_CAUSE_NO_TIMER;
        s[1].sock.fate_msec = FATE_UNKNOWN;
        s[1].cause_unconfirmed = true;
        ages(s, 2);

        text = render(json_at_now, s, 2);
        /* written as jansson wrote it (JSON_INDENT(2) in an array, keys in
         * this order), but for its reals: exact decimals where it printed
         * "%.17g" (90.5 then, but 45.123456 as 45.123456000000002), the
         * same double for a reader */
        CHECK(strncmp(text, "[\n  {\n    \"family\": \"ipv4\",\n    \"proto\": \"tcp\",\n"
                            "    \"local_address\": \"10.0.0.1\",\n    \"local_port\": 445,\n", 104) == 0);
        CHECK(strstr(text, "\n    \"age_seconds\": 90.5,\n    \"age_min_seconds\": 90.5,\n"
                           "    \"age_max_seconds\": null,\n    \"age_source\": \"daemon\",\n"
                           "    \"first_seen\": \"2026-11-24T09:00:00Z\",\n") != NULL);
        CHECK(strstr(text, "\n    \"ifindex\": 0\n  },\n  {\n") != NULL);
        {
                static const char *const keys[] = {
                        "family", "proto", "local_address", "local_port", "peer_address", "peer_port", "state",
                        "recv_q", "send_q", "timer", "timer_count", "timer_expires_ms", "retransmits", "probes",
                        "backoff", "unacked", "snd_wnd", "notsent_bytes", "rto_usec", "last_data_sent_ms",
                        "last_ack_recv_ms", "age_seconds", "age_min_seconds", "age_max_seconds", "age_source",
                        "first_seen", "alerted", "orphan", "cause", "cause_confirmed", "peer", "fate",
                        "reaped_in_seconds", "unit", "cgroup", "cgroup_deleted", "container_id", "container_owner",
                        "container_runtime", "pod_uid", "pod_qos", "netns", "netns_inode", "netns_unit", "pid",
                        "process", "uid", "inode", "cookie", "cgroup_id", "shutdown", "ifindex",
                };
                const char *p = text;

                for (size_t i = 0; i < ELEMENTSOF(keys); i++) {
                        char key[64];

                        snprintf(key, sizeof(key), "\n    \"%s\": ", keys[i]);
                        p = p ? strstr(p, key) : NULL;
                        if (!p) {
                                fprintf(stderr, "JSON key %s missing or out of order\n", keys[i]);
                                test_failures++;
                        }
                }
        }
        root = json_loads(text, JSON_REJECT_DUPLICATES, &err);
        CHECK(root && json_is_array(root) && json_array_size(root) == 2);
        if (!root) {
                fprintf(stderr, "bad JSON: %s\n%s\n", err.text, text);
                free(text);
                return;
        }

        o = json_array_get(root, 0);
        CHECK_STR(json_string_value(json_object_get(o, "family")), "ipv4");
        CHECK_STR(json_string_value(json_object_get(o, "local_address")), "10.0.0.1");
        CHECK_INT(json_integer_value(json_object_get(o, "local_port")), 445);
        CHECK_STR(json_string_value(json_object_get(o, "peer_address")), "10.0.0.2");
        CHECK_INT(json_integer_value(json_object_get(o, "peer_port")), 1094);
        CHECK_STR(json_string_value(json_object_get(o, "state")), "LAST_ACK");
        CHECK_STR(json_string_value(json_object_get(o, "timer")), "retransmit");
        CHECK_INT(json_integer_value(json_object_get(o, "retransmits")), 3);
        CHECK_INT(json_integer_value(json_object_get(o, "probes")), 0);
        CHECK_INT(json_integer_value(json_object_get(o, "snd_wnd")), 65535);
        CHECK(json_is_true(json_object_get(o, "orphan")));
        CHECK_INT(json_integer_value(json_object_get(o, "uid")), 33);
        CHECK_INT(json_integer_value(json_object_get(o, "inode")), 0);
        CHECK_INT(json_integer_value(json_object_get(o, "cookie")), 5);
        CHECK_INT(json_integer_value(json_object_get(o, "cgroup_id")), 4242);
        CHECK(json_is_integer(json_object_get(o, "send_q")));
        CHECK(json_is_integer(json_object_get(o, "recv_q")));
        CHECK(json_real_value(json_object_get(o, "age_seconds")) == 90.5);
        CHECK(json_real_value(json_object_get(o, "age_min_seconds")) == 90.5);
        CHECK(json_is_null(json_object_get(o, "age_max_seconds")));
        CHECK_STR(json_string_value(json_object_get(o, "age_source")), "daemon");
        CHECK_STR(json_string_value(json_object_get(o, "first_seen")), "2026-11-24T09:00:00Z");
        CHECK(json_is_true(json_object_get(o, "alerted")));
        CHECK(json_is_true(json_object_get(o, "cause_confirmed")));

        CHECK_STR(json_string_value(json_object_get(o, "peer")), "reconnecting");

        o = json_array_get(root, 1);
        CHECK_STR(json_string_value(json_object_get(o, "cause")), "no-timer");
        CHECK(json_is_false(json_object_get(o, "cause_confirmed")));
        CHECK_STR(json_string_value(json_object_get(o, "fate")), "unknown");
        /* no daemon's verdict: null */
        CHECK(json_is_null(json_object_get(o, "peer")));
        CHECK_STR(json_string_value(json_object_get(o, "family")), "ipv6");
        CHECK_STR(json_string_value(json_object_get(o, "local_address")), "192.0.2.7");
        CHECK_STR(json_string_value(json_object_get(o, "peer_address")), "2001:db8::1");
        CHECK(json_is_false(json_object_get(o, "orphan")));
        /* no tcp_info, no cgroup: null, not a made-up 0 */
        CHECK(json_is_null(json_object_get(o, "retransmits")));
        CHECK(json_is_null(json_object_get(o, "cgroup_id")));
        /* not tracked by the daemon: ages unknown */
        CHECK(json_is_null(json_object_get(o, "age_seconds")));
        CHECK(json_is_null(json_object_get(o, "age_min_seconds")));
        CHECK(json_is_null(json_object_get(o, "age_max_seconds")));
        CHECK(json_is_null(json_object_get(o, "age_source")));
        CHECK(json_is_null(json_object_get(o, "first_seen")));
        CHECK(json_is_null(json_object_get(o, "alerted")));

        json_decref(root);
        free(text);

        text = render(json_at_now, s, 0);
        CHECK_STR(text, "[]\n");
        free(text);
}

static int table_netns(FILE *f, const struct row *rows, size_t n) {
        return output_table(f, rows, NULL, n, OUTPUT_NETNS | OUTPUT_PROCESSES);
}

/* Names another user wrote: a command name that erases the line and
 * forges a row, bytes that are not UTF-8, in every name the table shows. */
static void hostile_rows(struct row s[3]) {
        s[0].sock = sock(AF_INET, "10.0.0.1", 80, "10.0.0.9", 1001, FW_TCP_FIN_WAIT1, 1);
        s[0].sock.inode = 11;
        s[0].pid = 4242;
        s[0].process = "\x1b[2K\rforged";
        s[0].unit = "evil\xff\xfe.scope";
        s[0].cgroup = "/user.slice/evil\xff\xfe.scope/\x80\xc0\xaf\xe6\x97";
        s[0].netns = "ns\x1b]0;t\a";
        s[0].netns_unit = "a\\b\n.service";
        s[1].sock = sock(AF_INET, "10.0.0.1", 80, "10.0.0.9", 1002, FW_TCP_LAST_ACK, 2);
        s[1].sock.inode = 12;
        s[1].pid = 7;
        s[1].process = "\xe6\x97\xa5\xe6\x9c\xac";      /* 日本: two wide characters */
        s[1].unit = "h\xc3\xa9llo.service";                /* héllo: kept */
        s[1].netns = "fwvm";
        s[2].sock = sock(AF_INET, "10.0.0.1", 80, "10.0.0.9", 1003, FW_TCP_LAST_ACK, 3);
        s[2].unit = "\xc2\x9b" "31m.scope";                  /* U+009B, the C1 CSI */
}

static void test_hostile_table(void) {
        struct row s[3] = {};
        char *text;

        hostile_rows(s);
        text = render(table_netns, s, 3);
        /* escaped, and the columns line up on a terminal: 日本 takes 4 of them */
        CHECK_STR(text,
                  "Proto Recv-Q Send-Q Local Address Foreign Address State      Timer Age Alerted Orphan Cause   Fate Peer Unit               Process                Netns          Cookie\n"
                  "tcp        0      0 10.0.0.1:80   10.0.0.9:1001   FIN_WAIT_1 off     - -       no     unknown -    -    evil\\xff\\xfe.scope 4242/\\x1b[2K\\x0dforged ns\\x1b]0;t\\x07 1\n"
                  "tcp        0      0 10.0.0.1:80   10.0.0.9:1002   LAST_ACK   off     - -       no     unknown -    -    h\xc3\xa9llo.service      7/\xe6\x97\xa5\xe6\x9c\xac                 fwvm           2\n"
                  "tcp        0      0 10.0.0.1:80   10.0.0.9:1003   LAST_ACK   off     - -       yes    unknown -    -    \\xc2\\x9b31m.scope  -                      host           3\n");
        /* no control byte but the newlines: nothing a terminal would obey */
        for (const char *p = text; p && *p; p++)
                if ((unsigned char) *p < 0x20 && *p != '\n') {
                        fprintf(stderr, "control byte 0x%02x in the table\n", (unsigned char) *p);
                        test_failures++;
                        break;
                }
        free(text);
}

static void test_hostile_json(void) {
        struct row s[3] = {};
        json_error_t err;
        json_t *root, *o;
        char *text;

        hostile_rows(s);
        text = render(json_at_now, s, 3);
        /* before, json_string refused the bytes and the list failed whole */
        root = text ? json_loads(text, JSON_REJECT_DUPLICATES, &err) : NULL;
        CHECK(root && json_array_size(root) == 3);
        if (!root) {
                fprintf(stderr, "bad JSON: %s\n%s\n", err.text, text ? text : "(nothing)");
                free(text);
                return;
        }
        /* the same text as the table */
        o = json_array_get(root, 0);
        CHECK_STR(json_string_value(json_object_get(o, "process")), "\\x1b[2K\\x0dforged");
        CHECK_STR(json_string_value(json_object_get(o, "unit")), "evil\\xff\\xfe.scope");
        CHECK_STR(json_string_value(json_object_get(o, "cgroup")),
                  "/user.slice/evil\\xff\\xfe.scope/\\x80\\xc0\\xaf\\xe6\\x97");
        CHECK_STR(json_string_value(json_object_get(o, "netns")), "ns\\x1b]0;t\\x07");
        CHECK_STR(json_string_value(json_object_get(o, "netns_unit")), "a\\\\b\\x0a.service");
        o = json_array_get(root, 1);
        CHECK_STR(json_string_value(json_object_get(o, "process")), "\xe6\x97\xa5\xe6\x9c\xac");
        CHECK_STR(json_string_value(json_object_get(o, "unit")), "h\xc3\xa9llo.service");
        o = json_array_get(root, 2);
        CHECK_STR(json_string_value(json_object_get(o, "unit")), "\\xc2\\x9b31m.scope");
        json_decref(root);
        free(text);
}

/* The longest unit name there is, a user's (cgroup.h: CGROUP_UNIT_MAX),
 * all of it bytes to escape: shown whole in the table and JSON, and --unit
 * takes it as shown. Before, the cell had room for 255 bytes escaped and
 * cut the name short. */
static void test_longest_unit(void) {
        char unit[CGROUP_UNIT_MAX], want[ESCAPE_MAX_PER_BYTE * CGROUP_UNIT_MAX], *text;
        size_t prefix = strlen("user@4294967295.service/");
        struct row s[1] = {};
        json_t *root;

        memcpy(unit, "user@4294967295.service/", prefix);
        memset(unit + prefix, 0x1b, sizeof(unit) - 1 - prefix);
        unit[sizeof(unit) - 1] = '\0';
        strcpy(want, "user@4294967295.service/");
        for (size_t i = prefix; i < sizeof(unit) - 1; i++)
                strcat(want, "\\x1b");
        s[0].sock = sock(AF_INET, "10.0.0.1", 80, "10.0.0.9", 1001, FW_TCP_LAST_ACK, 1);
        s[0].unit = unit;

        text = render(table, s, 1);
        CHECK(text && strstr(text, want) != NULL);
        free(text);
        text = render(json_at_now, s, 1);
        root = text ? json_loads(text, 0, NULL) : NULL;
        CHECK_STR(json_string_value(json_object_get(json_array_get(root, 0), "unit")), want);
        json_decref(root);
        free(text);
}

/* jansson's allocations fail from the fail_at-th on (0: never). */
static unsigned allocations, fail_at;

static void *failing_malloc(size_t size) {
        if (fail_at && ++allocations >= fail_at)
                return NULL;
        return malloc(size);
}

/* Nothing written half: the JSON needs no allocation between its "[" and
 * its "]" (before, `finwatch list --json` printed "[" and then failed when
 * jansson could not allocate; then it held all of it in memory, 70 MB at
 * 50,000 sockets). With every jansson allocation failing, it is written
 * whole all the same, and it parses. */
static void test_json_nothing_half_written(void) {
        struct row s[3] = {};
        json_t *root;
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        for (int i = 0; i < 3; i++)
                s[i].sock = sock(AF_INET, "10.0.0.1", 445, "10.0.0.2", (uint16_t) (1000 + i), FW_TCP_LAST_ACK,
                                 (uint64_t) i + 1);
        json_set_alloc_funcs(failing_malloc, free);
        fail_at = 1;
        allocations = 0;
        f = open_memstream(&text, &size);
        CHECK_INT(json_at_now(f, s, 3), 0);
        fclose(f);
        CHECK_INT(allocations, 0);
        fail_at = 0;
        json_set_alloc_funcs(malloc, free);
        root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        CHECK(root && json_array_size(root) == 3);
        json_decref(root);
        free(text);
}

/* Without the daemon: the kernel's estimate ("~", close bounds) and a
 * lower bound alone (">"), in the table and the JSON. */
static void test_kernel_ages(void) {
        struct row s[2] = {};
        json_t *root;
        char *text;

        s[0].sock = sock(AF_INET, "127.0.0.1", 9000, "127.0.0.1", 40000, FW_TCP_FIN_WAIT1, 1);
        s[0].sock.timer = DIAG_TIMER_RETRANS;
        s[0].sock.timer_expires = 6936;
        s[0].sock.send_q = 1;
        s[0].sock.info = (struct fw_tcp_info) {
                .len = 280, .retransmits = 6, .backoff = 6, .rto = 13056000, .unacked = 1, .last_data_sent = 19672,
                .total_rto = 6, .total_rto_recoveries = 1, .total_rto_time = 19260, .has_total_rto = true,
        };
        s[1].sock = sock(AF_INET, "127.0.0.1", 9200, "127.0.0.1", 40001, FW_TCP_LAST_ACK, 2);
        s[1].sock.timer = DIAG_TIMER_PERSIST;
        s[1].sock.timer_expires = 100;
        s[1].sock.send_q = 65;
        s[1].sock.info = (struct fw_tcp_info) {
                .len = 232, .backoff = 9, .rto = 204000, .has_snd_wnd = true, .snd_wnd = 0, .notsent_bytes = 65,
                .last_data_sent = 600000,
        };
        ages(s, 2);

        text = render(table, s, 2);
        CHECK(strstr(text, " ~19s ") != NULL);
        /* 204 + 408 + 816 + 6 x 1000 + 1000 - 100 ms: no cap above 1 s proven */
        CHECK(strstr(text, " >8s ") != NULL);
        free(text);

        text = render(json_at_now, s, 2);
        root = json_loads(text, 0, NULL);
        CHECK(root && json_array_size(root) == 2);
        if (root) {
                json_t *a = json_array_get(root, 0), *b = json_array_get(root, 1);

                CHECK(json_real_value(json_object_get(a, "age_seconds")) == 19.464);
                CHECK(json_real_value(json_object_get(a, "age_min_seconds")) == 19.26);
                CHECK(json_real_value(json_object_get(a, "age_max_seconds")) == 19.672);
                CHECK_STR(json_string_value(json_object_get(a, "age_source")), "kernel");
                CHECK(json_is_null(json_object_get(a, "alerted")));
                CHECK(json_real_value(json_object_get(b, "age_min_seconds")) == 8.328);
                /* bounds far apart: what the table shows, the lower bound,
                 * not the midpoint estimate */
                CHECK(json_real_value(json_object_get(b, "age_seconds")) == 8.328);
                CHECK(json_real_value(json_object_get(b, "age_max_seconds")) == 600.0);
                CHECK_STR(json_string_value(json_object_get(b, "age_source")), "kernel");
        }
        json_decref(root);
        free(text);
}

/* A container's short ID, a pod's UID and QoS class: columns when a row
 * has one, JSON fields always (null when none); a user's container behind
 * its manager, in the table and the JSON (container_owner). */
static void test_containers(void) {
        struct row s[4] = {};
        json_t *root, *o;
        char *text;

        for (int i = 0; i < 4; i++) {
                s[i].sock = sock(AF_INET, "10.0.0.1", 80, "10.0.0.2", (uint16_t) (1000 + i), FW_TCP_LAST_ACK,
                                 (uint64_t) i + 1);
                s[i].unit = "u.scope";
        }
        s[0].container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        s[0].container_runtime = CONTAINER_RUNTIME_CONTAINERD;
        s[0].pod_uid = "1234abcd-5678-4ef0-9abc-def012345678";
        s[0].pod_qos = POD_QOS_BURSTABLE;
        s[1].container_id = "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210";
        s[1].container_runtime = CONTAINER_RUNTIME_UNKNOWN;
        s[3].container_id = "user@1000.service/0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
        s[3].container_runtime = CONTAINER_RUNTIME_PODMAN;
        ages(s, 4);

        text = render(table, s, 3);
        CHECK_STR(text,
                  "Proto Recv-Q Send-Q Local Address Foreign Address State    Timer Age Alerted Orphan Cause   Fate Peer Unit    Container    Pod                                  QoS       Process Cookie\n"
                  "tcp        0      0 10.0.0.1:80   10.0.0.2:1000   LAST_ACK off     - -       yes    unknown -    -    u.scope 0123456789ab 1234abcd-5678-4ef0-9abc-def012345678 burstable -       1\n"
                  "tcp        0      0 10.0.0.1:80   10.0.0.2:1001   LAST_ACK off     - -       yes    unknown -    -    u.scope fedcba987654 -                                    -         -       2\n"
                  "tcp        0      0 10.0.0.1:80   10.0.0.2:1002   LAST_ACK off     - -       yes    unknown -    -    u.scope -            -                                    -         -       3\n");
        free(text);
        /* containers and no pod: no Pod and QoS columns; neither: the table as before */
        text = render(table, s + 1, 2);
        CHECK(strstr(text, " Container ") != NULL && strstr(text, " Pod ") == NULL && strstr(text, " QoS ") == NULL);
        free(text);
        text = render(table, s + 2, 1);
        CHECK(strstr(text, "Container") == NULL && strstr(text, " Pod ") == NULL);
        free(text);
        text = render(table, s + 3, 1);
        CHECK(strstr(text, " user@1000.service/0123456789ab ") != NULL);
        free(text);

        text = render(json_at_now, s, 3);
        root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        CHECK(root && json_array_size(root) == 3);
        o = json_array_get(root, 0);
        CHECK_STR(json_string_value(json_object_get(o, "container_id")), s[0].container_id);
        CHECK_STR(json_string_value(json_object_get(o, "container_runtime")), "containerd");
        CHECK_STR(json_string_value(json_object_get(o, "pod_uid")), s[0].pod_uid);
        CHECK_STR(json_string_value(json_object_get(o, "pod_qos")), "burstable");
        o = json_array_get(root, 1);
        CHECK_STR(json_string_value(json_object_get(o, "container_id")), s[1].container_id);
        CHECK(json_is_null(json_object_get(o, "container_runtime"))); /* the cgroupfs driver names none */
        CHECK(json_is_null(json_object_get(o, "pod_uid")));
        CHECK(json_is_null(json_object_get(o, "pod_qos")));
        CHECK(json_is_null(json_object_get(o, "container_owner")));
        o = json_array_get(root, 2);
        CHECK(json_is_null(json_object_get(o, "container_id")));
        CHECK(json_is_null(json_object_get(o, "container_owner")));
        CHECK(json_is_null(json_object_get(o, "container_runtime")));
        json_decref(root);
        free(text);
        text = render(json_at_now, s + 3, 1);
        root = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
        o = json_array_get(root, 0);
        CHECK_STR(json_string_value(json_object_get(o, "container_id")), s[3].container_id);
        CHECK_STR(json_string_value(json_object_get(o, "container_owner")), "user@1000.service");
        CHECK_STR(json_string_value(json_object_get(o, "container_runtime")), "podman");
        json_decref(root);
        free(text);
}

/* The table through an order (the rows not moved: what finwatch list does,
 * its cells made as each row comes) is the table of the rows sorted; so is
 * the JSON. */
static void test_in_order(void) {
        enum { N = 500 };
        struct row *rows = calloc(N, sizeof(*rows)), *sorted = calloc(N, sizeof(*sorted));
        static const char *const units[] = { "nginx.service", "evil\x1b[2K\xff.scope", "-", NULL };
        struct output_table *t = NULL;
        uint32_t *order;
        char *a = NULL, *b = NULL;
        size_t asize = 0, bsize = 0;
        FILE *fa, *fb;

        CHECK(rows && sorted);
        if (!rows || !sorted)
                return;
        srandom(5);
        for (size_t i = 0; i < N; i++) {
                char src[32], dst[32];
                int v6 = random() % 4 == 0;

                snprintf(src, sizeof(src), v6 ? "2001:db8::%ld" : "10.0.%ld.1", random() % 7);
                snprintf(dst, sizeof(dst), v6 ? "2001:db8::%ld" : "10.1.0.%ld", random() % 250);
                rows[i].sock = sock(v6 ? AF_INET6 : AF_INET, src, (uint16_t) (random() % 3), dst,
                                    (uint16_t) (random() % 60000), random() % 2 ? FW_TCP_LAST_ACK : FW_TCP_FIN_WAIT1,
                                    (uint64_t) random());
                rows[i].sock.timer = (uint8_t) (random() % 5);
                rows[i].sock.timer_count = (uint8_t) (random() % 9);
                rows[i].sock.send_q = (uint32_t) (random() % 100000);
                rows[i].sock.fate_msec = random() % 2 ? (int64_t) (random() % 10000000) : FATE_NEVER;
                rows[i].unit = units[random() % ELEMENTSOF(units)];
                rows[i].known = random() % 2;
                rows[i].age_usec = (uint64_t) random() * 10;
                if (random() % 3 == 0) {
                        rows[i].pid = (int) (random() % 100000);
                        rows[i].process = "nginx";
                }
        }
        ages(rows, N);
        memcpy(sorted, rows, N * sizeof(*rows));
        output_sort(sorted, N);
        order = output_order(rows, N);
        CHECK(order != NULL);
        for (size_t i = 0; order && i < N; i++)
                CHECK_INT(rows[order[i]].sock.id.cookie, sorted[i].sock.id.cookie);

        fa = open_memstream(&a, &asize);
        fb = open_memstream(&b, &bsize);
        CHECK_INT(output_table(fa, sorted, NULL, N, OUTPUT_PROCESSES), 0);
        CHECK_INT(output_table_new(&t, OUTPUT_PROCESSES), 0);
        for (size_t i = 0; i < N; i++)
                output_table_add(t, &rows[i], i);
        CHECK_INT(output_table_write(t, fb, order, N), 0);
        output_table_free(t);
        fclose(fa);
        fclose(fb);
        CHECK(asize > 0 && asize == bsize && memcmp(a, b, asize) == 0);
        free(a);
        free(b);

        fa = open_memstream(&a, &asize);
        fb = open_memstream(&b, &bsize);
        CHECK_INT(output_json(fa, sorted, NULL, N, NOW_REALTIME), 0);
        CHECK_INT(output_json(fb, rows, order, N, NOW_REALTIME), 0);
        fclose(fa);
        fclose(fb);
        CHECK(asize > 0 && asize == bsize && memcmp(a, b, asize) == 0);
        free(a);
        free(b);
        free(order);
        free(rows);
        free(sorted);
}

int main(void) {
        test_table();
        test_in_order();
        test_containers();
        test_kernel_ages();
        test_json();
        test_json_nothing_half_written();
        test_hostile_table();
        test_hostile_json();
        test_longest_unit();
        return test_result("test-output");
}
