/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <stdlib.h>

#include "alert.h"
#include "test.h"
#include "util.h"

#define S USEC_PER_SEC

struct sink {
        unsigned records;
        char last[4096]; /* the last record's fields, one per line */
        char summaries[8][4096];
        unsigned n_summaries;
};

static int collect(const struct iovec *iov, int n, void *userdata) {
        struct sink *s = userdata;
        size_t off = 0;

        s->records++;
        for (int i = 0; i < n; i++)
                off += (size_t) snprintf(s->last + off, sizeof(s->last) - off, "%.*s\n", (int) iov[i].iov_len,
                                         (const char *) iov[i].iov_base);
        if (strstr(s->last, "MESSAGE_ID=" ALERT_MESSAGE_ID_SUMMARY) && s->n_summaries < 8)
                strcpy(s->summaries[s->n_summaries++], s->last);
        return 0;
}

static struct tracked entry(uint64_t cookie) {
        struct tracked e = {
                .id.cookie = cookie, .id.family = AF_INET, .state = FW_TCP_LAST_ACK, .id.sport = 445, .id.dport = 1094,
                .timer = DIAG_TIMER_RETRANS, .timer_count = 4, .orphan = true, .has_cgroup_id = true,
                .cgroup_id = 99, .state_since = 0, .last_seen = 183 * S,
        };
        inet_pton(AF_INET, "10.0.0.1", e.id.src);
        inet_pton(AF_INET, "10.0.0.2", e.id.dst);
        return e;
}

static void test_fields(void) {
        struct alerter a;
        struct sink s = {};
        struct tracked e = entry(77);
        const struct sock_labels l = { .unit = "nginx.service", .netns = "fwvm" }, none = {};

        alerter_init(&a, 60, collect, &s);
        alert_stuck(&a, &e, &l, 123 * S, false, 200 * S);
        CHECK_INT(s.records, 1);
        CHECK(strstr(s.last, "MESSAGE=LAST_ACK 10.0.0.1:445 -> 10.0.0.2:1094 stuck for 2min 3s, orphan\n") != NULL);
        CHECK(strstr(s.last, "PRIORITY=4\n") != NULL);
        CHECK(strstr(s.last, "MESSAGE_ID=" ALERT_MESSAGE_ID_STUCK "\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_STATE=LAST_ACK\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_LOCAL=10.0.0.1:445\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_PEER=10.0.0.2:1094\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_AGE_USEC=123000000\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_COOKIE=77\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_ORPHAN=yes\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_TIMER=retransmit\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_CGROUP_ID=99\n") != NULL);
        /* the labels the caller gives, and nothing where it gives none */
        CHECK(strstr(s.last, "FINWATCH_UNIT=nginx.service\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_NETNS=fwvm\n") != NULL);
        alert_stuck(&a, &e, &none, 123 * S, false, 200 * S);
        CHECK(strstr(s.last, "FINWATCH_UNIT=") == NULL && strstr(s.last, "FINWATCH_NETNS=") == NULL);
        CHECK(strstr(s.last, "FINWATCH_CGROUP_ID=99\n") != NULL);
        /* no verdict on the peer yet: no field */
        CHECK(strstr(s.last, "FINWATCH_PEER_STATE=") == NULL);
        s.records = 1;

        /* the peer keeps reconnecting: this socket blocks a client */
        e.peer = 3; /* PEER_RECONNECTING */
        alert_blocking(&a, &e, &l, 183 * S);
        CHECK_INT(s.records, 2);
        CHECK(strstr(s.last, "MESSAGE=LAST_ACK 10.0.0.1:445 -> 10.0.0.2:1094, stuck for 3min 3s, blocks a client: the "
                             "peer keeps reconnecting from 10.0.0.2:1094 and cannot until this socket goes\n") != NULL);
        CHECK(strstr(s.last, "MESSAGE_ID=" ALERT_MESSAGE_ID_BLOCKING "\n") != NULL);
        CHECK(strstr(s.last, "PRIORITY=4\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_PEER_STATE=reconnecting\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_COOKIE=77\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_AGE_SOURCE=daemon\n") != NULL);
        e.peer = 0;
        s.records = 1;

        alert_cleared(&a, &e, &l, 200 * S);
        CHECK_INT(s.records, 2);
        CHECK(strstr(s.last, "MESSAGE=LAST_ACK 10.0.0.1:445 -> 10.0.0.2:1094 cleared after being stuck for 3min 3s\n") != NULL);
        CHECK(strstr(s.last, "PRIORITY=5\n") != NULL);
        CHECK(strstr(s.last, "MESSAGE_ID=" ALERT_MESSAGE_ID_CLEARED "\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_AGE_USEC=183000000\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_AGE_SOURCE=daemon\n") != NULL);

        /* whose lower bound the age is: the kernel's when it started the clock */
        e.age_kernel = true;
        alert_stuck(&a, &e, &l, 123 * S, false, 200 * S);
        CHECK(strstr(s.last, "FINWATCH_AGE_SOURCE=kernel\n") != NULL);
        alert_killed(&a, &e, &l, 0, 123 * S, KILL_AUTO, 0, 0);
        CHECK(strstr(s.last, "FINWATCH_AGE_USEC=123000000\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_AGE_SOURCE=kernel\n") != NULL);
        alert_killed(&a, &e, &l, 0, UINT64_MAX, KILL_MANUAL, 0, 0);
        CHECK(strstr(s.last, "FINWATCH_AGE_SOURCE=") == NULL); /* no age, no source */
        e.age_kernel = false;
        alert_stuck(&a, &e, &l, 123 * S, false, 200 * S);
        CHECK(strstr(s.last, "FINWATCH_AGE_SOURCE=daemon\n") != NULL);
}

/* Other users' names in a record: escaped (escape.h), as finwatch list
 * shows them; a long one cut to whole characters, the field whole. */
static void test_hostile_labels(void) {
        struct alerter a;
        struct sink s = {};
        struct tracked e = entry(78);
        const struct sock_labels l = { .unit = "evil\x1b[2K\r\xff.scope", .netns = "ns\n\xfe" };
        char long_unit[256], want[300];

        alerter_init(&a, 60, collect, &s);
        alert_stuck(&a, &e, &l, 123 * S, false, 200 * S);
        CHECK(strstr(s.last, "FINWATCH_UNIT=evil\\x1b[2K\\x0d\\xff.scope\n") != NULL);
        CHECK(strstr(s.last, "FINWATCH_NETNS=ns\\x0a\\xfe\n") != NULL);
        for (const char *p = s.last; *p; p++)
                CHECK((unsigned char) *p >= 0x20 || *p == '\n');

        /* 80 of U+00E9 (160 bytes) and 60 ESCs: cut before the escape that does not fit */
        memset(long_unit, 0, sizeof(long_unit));
        for (int i = 0; i < 80; i++)
                memcpy(long_unit + 2 * i, "\xc3\xa9", 2);
        memset(long_unit + 160, 0x1b, 60);
        alert_stuck(&a, &e, &(const struct sock_labels) { .unit = long_unit }, 123 * S, false, 200 * S);
        strcpy(want, "FINWATCH_UNIT=");
        memcpy(want + strlen(want), long_unit, 160);
        want[14 + 160] = '\0';
        for (int i = 0; i < 20; i++) /* 255 - 14 - 160 = 81 bytes: 20 escapes */
                strcat(want, "\\x1b");
        strcat(want, "\n");
        CHECK(strstr(s.last, want) != NULL);
}

static const struct sock_labels nolabels;

static void test_rate_limit(void) {
        struct alerter a;
        struct sink s = {};
        struct tracked e = entry(1);

        alerter_init(&a, 3, collect, &s);
        for (int i = 0; i < 10; i++)
                alert_stuck(&a, &e, &nolabels, 200 * S, false, 1000 * S + (uint64_t) i);
        alert_cleared(&a, &e, &nolabels, 1010 * S);
        CHECK_INT(s.records, 3);
        alert_tick(&a, 1059 * S, false);
        CHECK_INT(s.records, 3);
        CHECK_INT(s.n_summaries, 0);
        /* the minute is over: one summary with the count */
        alert_tick(&a, 1060 * S, false);
        CHECK_INT(s.records, 4);
        CHECK_INT(s.n_summaries, 1);
        CHECK(strstr(s.summaries[0], "FINWATCH_HELD=8\n") != NULL);
        CHECK(strstr(s.summaries[0], "FINWATCH_HELD_STUCK=7\n") != NULL);
        CHECK(strstr(s.summaries[0], "FINWATCH_HELD_CLEARED=1\n") != NULL);
        CHECK(strstr(s.summaries[0], "PRIORITY=4\n") != NULL);
        alert_tick(&a, 1200 * S, false);
        CHECK_INT(s.n_summaries, 1);

        /* a new minute: three more, then held again; exit forces the summary */
        for (int i = 0; i < 5; i++)
                alert_stuck(&a, &e, &nolabels, 200 * S, false, 2000 * S);
        CHECK_INT(s.records, 7);
        alert_tick(&a, 2001 * S, true);
        CHECK_INT(s.n_summaries, 2);
        CHECK(strstr(s.summaries[1], "FINWATCH_HELD=2\n") != NULL);

        /* 100,000 at once: the limit, and one summary */
        s = (struct sink) {};
        alerter_init(&a, 60, collect, &s);
        for (int i = 0; i < 100000; i++)
                alert_stuck(&a, &e, &nolabels, 200 * S, false, 5000 * S);
        alert_tick(&a, 5060 * S, false);
        CHECK_INT(s.records, 61);
        CHECK(strstr(s.summaries[0], "FINWATCH_HELD=99940\n") != NULL);
        CHECK_INT(a.held_total, 99940);

        /* a blocking record refused: false for the caller to try again,
         * nothing counted as held back */
        s = (struct sink) {};
        alerter_init(&a, 1, collect, &s);
        alert_stuck(&a, &e, &nolabels, 200 * S, false, 6000 * S);
        CHECK(!alert_blocking(&a, &e, &nolabels, 6001 * S));
        CHECK_INT(a.held_total, 0);
        alert_tick(&a, 6060 * S, false);
        CHECK_INT(s.n_summaries, 0);
        CHECK(alert_blocking(&a, &e, &nolabels, 6061 * S));
        CHECK_INT(s.records, 2);
}

int main(void) {
        test_fields();
        test_hostile_labels();
        test_rate_limit();
        return test_result("test-alert");
}
