/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What the CLI gathers, without the kernel: the ADDR[:PORT] selectors, the
 * selection of rows, and the units of rows over a cgroup tree of the test's
 * own (gather.c). */
#include <arpa/inet.h>
#include <stdlib.h>

#include "cause.h"
#include "cgroup.h"
#include "escape.h"
#include "gather.h"
#include "test.h"
#include "cgtree.h"
#include "util.h"

#define S UINT64_C(1000000)

static void test_parse_endpoint(void) {
        static const char *const bad[] = {
                "", ":", "1.2.3", "1.2.3.4:", "1.2.3.4:0", "1.2.3.4:65536", "1.2.3.4:80x", "[::1", "[::1]x",
                "[::1]:", "[1.2.3.4]:80x", "host:80", "::1:80:", ":-1",
        };
        struct endpoint_sel e;

        CHECK_INT(gather_parse_endpoint("10.0.0.1:445", &e), 0);
        CHECK(e.set && e.has_addr && e.has_port && e.family == AF_INET && e.port == 445);
        CHECK_INT(gather_parse_endpoint("10.0.0.1", &e), 0);
        CHECK(e.has_addr && !e.has_port);
        CHECK_INT(gather_parse_endpoint(":80", &e), 0);
        CHECK(!e.has_addr && e.has_port && e.port == 80);
        CHECK_INT(gather_parse_endpoint("[::1]:9000", &e), 0);
        CHECK(e.family == AF_INET6 && e.port == 9000 && e.addr[15] == 1);
        CHECK_INT(gather_parse_endpoint("::1", &e), 0);
        CHECK(e.family == AF_INET6 && !e.has_port);
        CHECK_INT(gather_parse_endpoint("[2001:db8::1]", &e), 0);
        CHECK(e.family == AF_INET6 && !e.has_port);
        for (size_t i = 0; i < ELEMENTSOF(bad); i++)
                if (gather_parse_endpoint(bad[i], &e) != -EINVAL) {
                        fprintf(stderr, "gather_parse_endpoint(\"%s\") accepted\n", bad[i]);
                        test_failures++;
                }
        {
                char longer[200];

                memset(longer, '1', sizeof(longer) - 1);
                longer[sizeof(longer) - 1] = '\0';
                CHECK_INT(gather_parse_endpoint(longer, &e), -EINVAL);
        }
}

static void test_endpoint_matches(void) {
        struct endpoint_sel e;
        uint8_t v4[16] = {}, mapped[16] = {}, v6[16] = {};

        inet_pton(AF_INET, "10.0.0.2", v4);
        inet_pton(AF_INET6, "::ffff:10.0.0.2", mapped);
        inet_pton(AF_INET6, "2001:db8::2", v6);

        CHECK(gather_endpoint_matches(&(struct endpoint_sel) {}, AF_INET, v4, 1)); /* no selector: all */
        CHECK_INT(gather_parse_endpoint("10.0.0.2:1094", &e), 0);
        CHECK(gather_endpoint_matches(&e, AF_INET, v4, 1094));
        CHECK(!gather_endpoint_matches(&e, AF_INET, v4, 1095));
        CHECK(gather_endpoint_matches(&e, AF_INET6, mapped, 1094)); /* v4-mapped is IPv4 */
        CHECK(!gather_endpoint_matches(&e, AF_INET6, v6, 1094));
        CHECK_INT(gather_parse_endpoint(":1094", &e), 0);
        CHECK(gather_endpoint_matches(&e, AF_INET6, v6, 1094));
        CHECK_INT(gather_parse_endpoint("2001:db8::2", &e), 0);
        CHECK(gather_endpoint_matches(&e, AF_INET6, v6, 7));
        CHECK(!gather_endpoint_matches(&e, AF_INET, v4, 7));
}

static struct row row(uint64_t cookie, uint16_t dport, const char *unit, bool known, uint64_t age) {
        struct row r = {
                .sock = { .id = { .cookie = cookie, .family = AF_INET, .sport = 9000, .dport = dport },
                          .state = FW_TCP_LAST_ACK },
                .unit = unit,
                .known = known,
                .age_usec = age,
        };

        inet_pton(AF_INET, "127.0.0.1", r.sock.id.src);
        inet_pton(AF_INET, "127.0.0.2", r.sock.id.dst);
        return r;
}

/* The cookies left after a selection over the same five rows. */
static size_t select_cookies(const struct selection *sel, uint64_t *out) {
        struct row rows[] = {
                row(1, 100, "nginx.service", true, 30 * S),
                row(2, 200, "nginx.service", true, 5 * S),
                row(3, 300, "squid.service", false, 0),
                row(4, 100, NULL, true, 60 * S),
                row(5, 500, "squid.service", true, 90 * S),
        };
        struct gathered g = { .rows = rows, .n = ELEMENTSOF(rows) };
        size_t n;

        gather_ages(&g);
        n = gather_select(&g, sel);

        for (size_t i = 0; i < n; i++)
                out[i] = g.rows[i].sock.id.cookie;
        return n;
}

static void test_select(void) {
        struct selection sel = SELECTION_DEFAULT;
        uint64_t c[8];

        CHECK_INT(select_cookies(&sel, c), 5); /* nothing asked: all, in order */
        CHECK(c[0] == 1 && c[4] == 5);

        sel.have_older = true; /* only what the daemon knows, and old enough */
        sel.older_than = 30 * S;
        CHECK_INT(select_cookies(&sel, c), 3);
        CHECK(c[0] == 1 && c[1] == 4 && c[2] == 5);

        sel = (struct selection) SELECTION_DEFAULT;
        sel.unit = "squid.service";
        CHECK_INT(select_cookies(&sel, c), 2);
        CHECK(c[0] == 3 && c[1] == 5);

        sel = (struct selection) SELECTION_DEFAULT;
        sel.have_cookie = true;
        sel.cookie = 4;
        CHECK_INT(select_cookies(&sel, c), 1);
        CHECK_INT(c[0], 4);

        sel = (struct selection) SELECTION_DEFAULT;
        CHECK_INT(gather_parse_endpoint(":100", &sel.peer), 0);
        CHECK_INT(select_cookies(&sel, c), 2);
        CHECK(c[0] == 1 && c[1] == 4);
        CHECK_INT(gather_parse_endpoint("127.0.0.1:9000", &sel.local), 0);
        sel.unit = "nginx.service"; /* all of them at once: AND */
        CHECK_INT(select_cookies(&sel, c), 1);
        CHECK_INT(c[0], 1);
        CHECK_INT(gather_parse_endpoint("127.0.0.9", &sel.local), 0);
        CHECK_INT(select_cookies(&sel, c), 0);
}

/* A user's manager runs units of its own: --unit nginx.service is the
 * system's nginx.service only, the user's has its manager in front. */
static void test_select_user_units(void) {
        char root[] = "/tmp/finwatch-test-gather-XXXXXX";
        struct cgroup_cache *cc = NULL;
        uint64_t ids[5];
        const char *const want[] = {
                "nginx.service",
                "user@1000.service/nginx.service",
                "user@1000.service/libpod-0123abcd.scope",
                "user@1000.service",
                "session-2.scope",
        };
        static const struct {
                const char *unit;
                uint64_t cookie;        /* the one selected, 0: none */
        } selections[] = {
                { "nginx.service", 1 },
                { "user@1000.service/nginx.service", 2 },
                { "user@1000.service/libpod-0123abcd.scope", 3 },
                { "user@1000.service", 4 }, /* the manager's own: not its units */
                { "session-2.scope", 5 },
                /* the cgroup path is not the unit's name */
                { "user@1000.service/app.slice/nginx.service", 0 },
                { "libpod-0123abcd.scope", 0 },
                { "app.slice", 0 },
        };

        CHECK(mkdtemp(root) != NULL);
        ids[0] = cgtree_make(root, "/system.slice/nginx.service");
        ids[1] = cgtree_make(root, "/user.slice/user-1000.slice/user@1000.service/app.slice/nginx.service");
        ids[2] = cgtree_make(root, "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-0123abcd.scope");
        ids[3] = cgtree_make(root, "/user.slice/user-1000.slice/user@1000.service/init.scope");
        ids[4] = cgtree_make(root, "/user.slice/user-1000.slice/session-2.scope");
        CHECK_INT(cgroup_cache_new_at(&cc, root), 0);

        for (size_t k = 0; k <= ELEMENTSOF(selections); k++) {
                struct row rows[ELEMENTSOF(ids)];
                struct gathered g = { .rows = rows, .n = ELEMENTSOF(rows) };
                struct selection sel = SELECTION_DEFAULT;

                /* orphans (inode 0): no process to look for */
                for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                        rows[i] = row(i + 1, (uint16_t) (100 + i), NULL, true, 60 * S);
                        rows[i].sock.has_cgroup_id = true;
                        rows[i].sock.cgroup_id = ids[i];
                }
                gather_annotate(&g, cc);
                if (k == ELEMENTSOF(selections)) {
                        /* the names, as the table and JSON show them */
                        for (size_t i = 0; i < ELEMENTSOF(rows); i++)
                                CHECK_STR(rows[i].unit, want[i]);
                        CHECK_STR(rows[1].cgroup, "/user.slice/user-1000.slice/user@1000.service/app.slice/nginx.service");
                } else {
                        sel.unit = selections[k].unit;
                        if (gather_select(&g, &sel) != (selections[k].cookie ? 1 : 0) ||
                            (selections[k].cookie && g.rows[0].sock.id.cookie != selections[k].cookie)) {
                                fprintf(stderr, "--unit %s: %zu rows, the first %" PRIu64 ", want cookie %" PRIu64 "\n",
                                        sel.unit, g.n, g.n ? g.rows[0].sock.id.cookie : 0, selections[k].cookie);
                                test_failures++;
                        }
                }
                strpool_done(&g.strings);
        }

        cgroup_cache_free(cc);
        cgtree_remove(root);
}

#define CID_A "aaaa0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
#define CID_B "aaaa1123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
#define CID_C "cccc0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab"
#define POD_1 "1234abcd-5678-4ef0-9abc-def012345678"
#define POD_2 "99999999-8888-4777-a666-555555555555"

/* Rows get the container and pod of their cgroup (container.h), and
 * --container (the ID's first digits: the system's; a user's behind its
 * manager; a scheme's runtime) and --pod (the UID) select them. */
static void test_select_containers(void) {
        char root[] = "/tmp/finwatch-test-gather-XXXXXX";
        struct cgroup_cache *cc = NULL;
        static const char *const paths[] = {
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234abcd_5678_4ef0_9abc_def012345678"
                ".slice/cri-containerd-" CID_A ".scope",
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1234abcd_5678_4ef0_9abc_def012345678"
                ".slice/cri-containerd-" CID_B ".scope",
                "/kubepods/pod" POD_2 "/" CID_C,
                "/system.slice/docker-" CID_C ".scope", /* the same ID as a pod's container: no engine does it */
                "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID_A ".scope/container",
                "/system.slice/nginx.service",
        };
        static const struct {
                const char *container, *pod;
                const char *cookies;    /* the ones selected, as digits */
        } selections[] = {
                { CID_A, NULL, "17" },
                { "aaaa", NULL, "127" },
                { "user@1000.service/aaaa", NULL, "5" },
                { "user@1000.service/" CID_A, NULL, "5" },
                { "podman://user@1000.service/aaaa", NULL, "5" },
                { "docker://user@1000.service/aaaa", NULL, "" },
                { "user@1001.service/aaaa", NULL, "" },
                { "AAAA1", NULL, "2" },
                { "c", NULL, "34" },
                { "docker://c", NULL, "34" },        /* the cgroupfs kubepods/.../ID: any runtime */
                { "cri-o://c", NULL, "3" },
                { "containerd://aaaa", NULL, "127" },
                { "podman://aaaa", NULL, "" },
                { "b", NULL, "" },
                { NULL, POD_1, "127" },
                { NULL, POD_2, "3" },
                { "cccc", POD_2, "3" },
                { "aaaa", POD_2, "" },
        };
        uint64_t ids[ELEMENTSOF(paths)];

        CHECK(mkdtemp(root) != NULL);
        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                ids[i] = cgtree_make(root, paths[i]);
        CHECK_INT(cgroup_cache_new_at(&cc, root), 0);

        for (size_t k = 0; k <= ELEMENTSOF(selections); k++) {
                struct row rows[ELEMENTSOF(ids) + 1];
                struct gathered g = { .rows = rows, .n = ELEMENTSOF(rows) };
                struct selection sel = SELECTION_DEFAULT;
                char got[16] = "";

                /* cookie i + 1 in paths[i]; cookie 7 in the first again */
                for (size_t i = 0; i < ELEMENTSOF(rows); i++) {
                        rows[i] = row(i + 1, (uint16_t) (100 + i), NULL, true, 60 * S);
                        rows[i].sock.has_cgroup_id = true;
                        rows[i].sock.cgroup_id = ids[i < ELEMENTSOF(ids) ? i : 0];
                }
                gather_annotate(&g, cc);
                if (k == ELEMENTSOF(selections)) {
                        CHECK_STR(rows[0].container_id, CID_A);
                        CHECK_INT(rows[0].container_runtime, CONTAINER_RUNTIME_CONTAINERD);
                        CHECK_STR(rows[0].pod_uid, POD_1);
                        CHECK_INT(rows[0].pod_qos, POD_QOS_BURSTABLE);
                        CHECK_STR(rows[0].unit, "cri-containerd-" CID_A ".scope");
                        CHECK(rows[0].container_id == rows[6].container_id); /* one copy */
                        CHECK_STR(rows[6].pod_uid, POD_1);
                        CHECK_STR(rows[2].container_id, CID_C);
                        CHECK_INT(rows[2].container_runtime, CONTAINER_RUNTIME_UNKNOWN);
                        CHECK_STR(rows[2].pod_uid, POD_2);
                        CHECK_INT(rows[2].pod_qos, POD_QOS_GUARANTEED);
                        CHECK_STR(rows[3].container_id, CID_C);
                        CHECK_INT(rows[3].container_runtime, CONTAINER_RUNTIME_DOCKER);
                        CHECK(rows[3].pod_uid == NULL);
                        CHECK_STR(rows[4].container_id, "user@1000.service/" CID_A);
                        CHECK_INT(rows[4].container_runtime, CONTAINER_RUNTIME_PODMAN);
                        CHECK_STR(rows[4].unit, "user@1000.service/libpod-" CID_A ".scope");
                        CHECK(rows[5].container_id == NULL && rows[5].pod_uid == NULL);
                        CHECK_STR(rows[5].unit, "nginx.service");
                } else {
                        if (selections[k].container) {
                                CHECK_INT(container_sel_parse(selections[k].container, &sel.container), 0);
                                sel.have_container = true;
                        }
                        if (selections[k].pod) {
                                CHECK_INT(pod_uid_parse(selections[k].pod, sel.pod), 0);
                                sel.have_pod = true;
                        }
                        gather_select(&g, &sel);
                        for (size_t i = 0; i < g.n && i < sizeof(got) - 1; i++)
                                got[i] = (char) ('0' + g.rows[i].sock.id.cookie);
                        if (strcmp(got, selections[k].cookies) != 0) {
                                fprintf(stderr, "--container %s --pod %s: cookies %s, want %s\n",
                                        selections[k].container ? selections[k].container : "-",
                                        selections[k].pod ? selections[k].pod : "-", got, selections[k].cookies);
                                test_failures++;
                        }
                }
                strpool_done(&g.strings);
        }

        cgroup_cache_free(cc);
        cgtree_remove(root);
}

/* kill --container refuses when the sockets selected are in more than one
 * container: how many there are among rows, up to two, and which. */
static void test_containers_distinct(void) {
        struct row rows[5] = {
                row(1, 100, NULL, true, 0), row(2, 200, NULL, true, 0), row(3, 300, NULL, true, 0),
                row(4, 400, NULL, true, 0), row(5, 500, NULL, true, 0),
        };
        const char *a = "x", *b = "x";

        CHECK_INT(gather_containers_distinct(rows, 0, &a, &b), 0);
        CHECK(a == NULL && b == NULL);
        CHECK_INT(gather_containers_distinct(rows, 5, &a, &b), 0); /* in none */
        CHECK(a == NULL && b == NULL);
        rows[1].container_id = CID_A;
        rows[3].container_id = CID_A;
        CHECK_INT(gather_containers_distinct(rows, 5, &a, &b), 1);
        CHECK(a == rows[1].container_id && b == NULL);
        /* one prefix, two containers, one of them with a socket selected: one */
        CHECK_INT(gather_containers_distinct(rows + 1, 1, &a, &b), 1);
        rows[4].container_id = CID_B;
        CHECK_INT(gather_containers_distinct(rows, 5, &a, &b), 2);
        CHECK(a == rows[1].container_id && b == rows[4].container_id);
        CHECK_INT(gather_containers_distinct(rows, 4, &a, &b), 1);
        /* a user's container of the same ID is another container */
        rows[4].container_id = "user@1000.service/" CID_A;
        CHECK_INT(gather_containers_distinct(rows, 5, &a, &b), 2);
        CHECK_STR(b, "user@1000.service/" CID_A);
        /* one string or two of the same name: one container */
        {
                char copy[] = CID_A;

                rows[4].container_id = copy;
                CHECK_INT(gather_containers_distinct(rows, 5, &a, &b), 1);
        }
}

/* --unit takes a name as finwatch shows it (escaped, escape.h) or as it is. */
static void test_select_escaped_unit(void) {
        struct row rows[] = {
                row(1, 100, "evil\x1b[2K\xff.scope", true, 0),
                row(2, 200, "a\\b.service", true, 0),
                row(3, 300, "nginx.service", true, 0),
        };
        static const struct {
                const char *unit;
                uint64_t cookie;
        } asked[] = {
                { "evil\\x1b[2K\\xff.scope", 1 }, /* as list shows it */
                { "evil\x1b[2K\xff.scope", 1 },     /* its bytes */
                { "a\\\\b.service", 2 },
                { "a\\b.service", 2 },
                { "nginx.service", 3 },
        };

        for (size_t i = 0; i < ELEMENTSOF(asked); i++) {
                struct row copy[ELEMENTSOF(rows)];
                struct selection sel = SELECTION_DEFAULT;
                struct gathered g = { .rows = copy, .n = ELEMENTSOF(rows) };

                memcpy(copy, rows, sizeof(rows));
                sel.unit = asked[i].unit;
                CHECK_INT(gather_select(&g, &sel), 1);
                CHECK_INT(copy[0].sock.id.cookie, asked[i].cookie);
        }
        {
                struct selection sel = SELECTION_DEFAULT;
                struct gathered g = { .rows = rows, .n = ELEMENTSOF(rows) };

                sel.unit = "evil\\x1b[2K.scope"; /* part of it is not it */
                CHECK_INT(gather_select(&g, &sel), 0);
        }
        /* the longest name there is (cgroup.h), escaped whole */
        {
                char unit[CGROUP_UNIT_MAX], shown[ESCAPE_MAX_PER_BYTE * CGROUP_UNIT_MAX] = "user@4294967295.service/";
                size_t prefix = strlen(shown);
                struct row one[] = { row(9, 900, unit, true, 0) };
                struct selection sel = SELECTION_DEFAULT;
                struct gathered g = { .rows = one, .n = 1 };

                memcpy(unit, shown, prefix);
                memset(unit + prefix, 0xff, sizeof(unit) - 1 - prefix);
                unit[sizeof(unit) - 1] = '\0';
                for (size_t i = prefix; i < sizeof(unit) - 1; i++)
                        strcat(shown, "\\xff");
                sel.unit = shown;
                CHECK_INT(gather_select(&g, &sel), 1);
        }
}

/* no-timer: the daemon's verdict, or unconfirmed without one */
static void test_confirm_causes(void) {
        struct row rows[4] = {};

        for (size_t i = 0; i < 4; i++) {
                rows[i].sock.cause = SOCK_CAUSE_NO_TIMER;
                rows[i].sock.fate_msec = FATE_NEVER;
        }
        rows[1].known = true;
        rows[1].no_timer_polls = CAUSE_NO_TIMER_POLLS;
        rows[2].known = true;
        rows[2].no_timer_polls = CAUSE_NO_TIMER_POLLS - 1;
        rows[3].sock.cause = SOCK_CAUSE_LOST_FIN;
        rows[3].sock.fate_msec = 1000;
        gather_confirm_causes(rows, 4);
        CHECK(rows[0].cause_unconfirmed);           /* no daemon: one sample */
        CHECK_INT(rows[0].sock.fate_msec, FATE_UNKNOWN);
        CHECK(!rows[1].cause_unconfirmed);          /* the daemon saw it so N times */
        CHECK_INT(rows[1].sock.fate_msec, FATE_NEVER);
        CHECK(rows[2].cause_unconfirmed);           /* not yet */
        CHECK_INT(rows[2].sock.fate_msec, FATE_UNKNOWN);
        CHECK(!rows[3].cause_unconfirmed);          /* other causes need no count */
        CHECK_INT(rows[3].sock.fate_msec, 1000);
        CHECK_INT(rows[0].sock.cause, SOCK_CAUSE_NO_TIMER);
}

/* --older-than without the daemon: the kernel's lower bound decides, and
 * only it (never the estimate or the upper bound). */
static void test_select_kernel_age(void) {
        struct selection sel = SELECTION_DEFAULT;
        struct row rows[3] = { row(1, 100, NULL, false, 0), row(2, 200, NULL, false, 0), row(3, 300, NULL, true, 50 * S) };
        struct gathered g = { .rows = rows, .n = ELEMENTSOF(rows) };

        /* a bare FIN retransmitted on 6.1: at least 18.8 s, at most 19.7 s */
        for (size_t i = 0; i < 2; i++) {
                rows[i].sock.timer = DIAG_TIMER_RETRANS;
                rows[i].sock.timer_expires = 6936;
                rows[i].sock.send_q = 1;
                rows[i].sock.info = (struct fw_tcp_info) {
                        .len = 232, .retransmits = 6, .backoff = 6, .rto = 13056000, .unacked = 1,
                        .last_data_sent = 19672,
                };
        }
        rows[1].sock.info.retransmits = 0; /* nothing says: no age */
        gather_ages(&g);
        CHECK_INT(rows[0].age.source, AGE_SOURCE_KERNEL);
        CHECK_INT(rows[0].age.min_usec, 18768 * UINT64_C(1000));
        CHECK_INT(rows[1].age.source, AGE_SOURCE_NONE);
        CHECK_INT(rows[2].age.source, AGE_SOURCE_DAEMON);
        sel.have_older = true;
        sel.older_than = 19 * S; /* below the upper bound, above the lower: not selected */
        CHECK_INT(gather_select(&g, &sel), 1);
        CHECK_INT(g.rows[0].sock.id.cookie, 3);

        g.n = 3;
        rows[0] = row(1, 100, NULL, false, 0);
        rows[0].sock.timer = DIAG_TIMER_RETRANS;
        rows[0].sock.timer_expires = 6936;
        rows[0].sock.send_q = 1;
        rows[0].sock.info = (struct fw_tcp_info) {
                .len = 232, .retransmits = 6, .backoff = 6, .rto = 13056000, .unacked = 1, .last_data_sent = 19672,
        };
        rows[1] = row(2, 200, NULL, false, 0);
        rows[2] = row(3, 300, NULL, true, 5 * S);
        gather_ages(&g);
        sel.older_than = 18 * S;
        CHECK_INT(gather_select(&g, &sel), 1);
        CHECK_INT(g.rows[0].sock.id.cookie, 1);
}

/* The display order and a socket the dumps gave twice: one row of it
 * shown, the first taken, among rows of every family in no order. */
static void test_order(void) {
        enum { N = 3000 };
        struct row *rows = calloc(N + 2, sizeof(*rows));
        struct output_keys keys = {};
        struct gathered g = { .rows = rows, .n = N + 2 };
        bool *shown = calloc(N + 2, sizeof(*shown));
        size_t n = 0;

        CHECK(rows && shown);
        if (!rows || !shown)
                return;
        srandom(3);
        for (size_t i = 0; i < N; i++) {
                struct fw_sock *s = &rows[i].sock;

                s->id.family = random() % 3 ? AF_INET : AF_INET6;
                /* few addresses and ports: most order is decided late in the key */
                s->id.src[0] = (uint8_t) (random() % 2);
                s->id.dst[s->id.family == AF_INET ? 3 : 15] = (uint8_t) (random() % 3);
                s->id.sport = (uint16_t) (random() % 2);
                s->id.dport = (uint16_t) (random() % 4);
                s->id.cookie = (uint64_t) random() << 20 | i;
        }
        /* the same sockets again, later in the dump, changed meanwhile */
        rows[N] = rows[17];
        rows[N].sock.send_q = 99;
        for (size_t i = 0; i < N; i++)
                if (rows[i].sock.id.family == AF_INET6) {
                        rows[N + 1] = rows[i]; /* an IPv6 one: its key's rest compared too */
                        break;
                }
        for (size_t i = 0; i < N + 2; i++)
                CHECK_INT(output_keys_add(&keys, &rows[i].sock, i), 0);
        gather_order(&g, &keys);
        CHECK(g.order != NULL);
        CHECK_INT(g.n, N);
        CHECK_INT(g.n_rows, N + 2);
        for (size_t i = 0; g.order && i < g.n; i++) {
                CHECK(g.order[i] < N); /* the first of each, the repeats left out */
                if (g.order[i] < N + 2 && !shown[g.order[i]]) {
                        shown[g.order[i]] = true;
                        n++;
                }
                if (i > 0) {
                        const struct sock_id *a = &rows[g.order[i - 1]].sock.id, *b = &rows[g.order[i]].sock.id;
                        size_t len = a->family == AF_INET ? 4 : 16;
                        int c = a->family != b->family ? (a->family < b->family ? -1 : 1)
                                : memcmp(a->src, b->src, len) ? memcmp(a->src, b->src, len)
                                : a->sport != b->sport ? (a->sport < b->sport ? -1 : 1)
                                : memcmp(a->dst, b->dst, len) ? memcmp(a->dst, b->dst, len)
                                : a->dport != b->dport ? (a->dport < b->dport ? -1 : 1)
                                : a->cookie < b->cookie ? -1 : 1;

                        if (c >= 0) {
                                fprintf(stderr, "rows %u and %u out of order\n", g.order[i - 1], g.order[i]);
                                test_failures++;
                                break;
                        }
                }
        }
        CHECK_INT(n, N); /* every socket once */
        gathered_sort(&g); /* the rows themselves in that order, the repeats gone */
        CHECK(g.order == NULL);
        CHECK_INT(g.n, N);
        CHECK_INT(g.rows[0].sock.id.family, AF_INET);
        for (size_t i = 0; i < g.n; i++)
                CHECK(g.rows[i].sock.send_q != 99);
        free(g.rows);
        output_keys_done(&keys);
        free(shown);
}

int main(void) {
        test_order();
        test_parse_endpoint();
        test_select_kernel_age();
        test_endpoint_matches();
        test_select();
        test_select_user_units();
        test_select_escaped_unit();
        test_select_containers();
        test_containers_distinct();
        test_confirm_causes();
        return test_result("test-gather");
}
