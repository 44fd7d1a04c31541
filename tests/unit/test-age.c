/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The kernel's bounds of how long a socket has been stuck (age.c), each
 * rule and its edges, with fw_sock values built from what the kernel sent
 * here (Linux 6.18: 280-byte tcp_info) and what Debian 12's 6.1 sends
 * (232 bytes, no total_rto*). */
#include "age.h"
#include "test.h"
#include "util.h"

/* A lost FIN on loopback, 19.7 s after it was sent (measured with ss -ti):
 * RTO 204 ms doubled six times, the seventh interval 6.1 s along. */
static struct fw_sock lost_fin_618(void) {
        return (struct fw_sock) {
                .state = FW_TCP_FIN_WAIT1,
                .timer = DIAG_TIMER_RETRANS,
                .timer_count = 6,
                .timer_expires = 6936,
                .send_q = 1,
                .inode = 7,
                .info = {
                        .len = 280, .retransmits = 6, .backoff = 6, .has_snd_wnd = true, .rto = 13056000,
                        .unacked = 1, .last_data_sent = 19672, .last_ack_recv = 19672, .snd_wnd = 65536,
                        .total_rto = 6, .total_rto_recoveries = 1, .total_rto_time = 19260, .has_total_rto = true,
                },
        };
}

static struct fw_sock as_61(struct fw_sock s) {
        s.info.len = 232;
        s.info.has_total_rto = false;
        s.info.total_rto = s.info.total_rto_recoveries = 0;
        s.info.total_rto_time = 0;
        return s;
}

static void test_one_recovery(void) {
        struct fw_sock s = lost_fin_618();
        struct age_bounds b;

        /* R2: the recovery lasted total_rto_time; R3: +2 x 204 ms at most;
         * R4: a bare FIN, last_data_sent the tighter upper bound */
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 19260);
        CHECK_INT(b.est_msec, 19260 + 204);
        CHECK_INT(b.max_msec, 19672);
        CHECK(age_is_close(&b));

        /* data outstanding besides the FIN: R4 says nothing, R3 bounds */
        s.send_q = 1000;
        age_from_kernel(&s, &b);
        CHECK_INT(b.max_msec, 19260 + 2 * 204 + 20);
        CHECK_INT(b.est_msec, 19464);
        CHECK(age_is_close(&b));

        /* the recovery is over (retransmits 0): total_rto_time is the past */
        s = lost_fin_618();
        s.info.retransmits = 0;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
        CHECK_INT(b.max_msec, AGE_UNKNOWN);
        CHECK_INT(b.est_msec, AGE_UNKNOWN);
        CHECK(!age_is_close(&b));

        /* an RTO at TCP_RTO_MAX: the first RTO is not known, at most 120 s */
        s = lost_fin_618();
        s.send_q = 2;
        s.info.rto = 120000000;
        s.info.retransmits = s.info.backoff = s.info.total_rto = 12;
        s.timer_expires = 30000;
        s.info.total_rto_time = 400000;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 400000);
        CHECK_INT(b.max_msec, 400000 + 2 * 120000 + 20);
        CHECK_INT(b.est_msec, 400000 + 120000);
        CHECK(!age_is_close(&b)); /* 4 minutes apart: a lower bound only */
}

static void test_recoveries_wrapped(void) {
        struct fw_sock s = lost_fin_618();
        struct age_bounds b;

        /* 65537 recoveries read as 1 (u16): total_rto_time is every
         * recovery's, not this one's; total_rto disagrees with retransmits,
         * so only the schedule (R1) bounds below */
        s.send_q = 5;
        s.info.total_rto = (6 + 65537 * 3) % 65536; /* 9 */
        s.info.total_rto_time = 900000;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 6120 + 12648);
        CHECK(b.min_msec < 900000);
}

static void test_several_recoveries(void) {
        struct fw_sock s = lost_fin_618();
        struct age_bounds b;

        /* R1 gives the lower bound: 6.12 s of the current interval and the
         * five before it, halving: 6528 + 3264 + 1632 + 816 + 408 */
        s.send_q = 5;
        s.info.total_rto_recoveries = 3;
        s.info.total_rto_time = 50000;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 6120 + 12648);
        CHECK_INT(b.max_msec, 50000 + 408 + 20);
        CHECK_INT(b.est_msec, 18768 + (50428 - 18768) / 2);
        CHECK(!age_is_close(&b));

        /* the totals below the schedule: a premise failed, and the lower
         * bound is not acted on when contradicted */
        s.info.total_rto_time = 10000;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
        CHECK_INT(b.max_msec, AGE_UNKNOWN);
        CHECK_INT(b.est_msec, AGE_UNKNOWN);

        /* backoff below retransmits (local congestion retried without
         * doubling): only the doubled timeouts count */
        s = lost_fin_618();
        s.info.has_total_rto = false;
        s.send_q = 5;
        s.info.backoff = 2;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 6120 + 6528);
}

static void test_short_tcp_info(void) {
        struct fw_sock s = as_61(lost_fin_618());
        struct age_bounds b;

        /* Debian 12: the schedule below, the bare FIN's last data above */
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 18768);
        CHECK_INT(b.max_msec, 19672);
        CHECK_INT(b.est_msec, 18768 + (19672 - 18768) / 2);
        CHECK(age_is_close(&b));
        CHECK(b.min_msec <= 19672 && 19672 <= b.max_msec); /* the truth, within */

        /* data outstanding: a lower bound only */
        s.send_q = 100;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 18768);
        CHECK_INT(b.max_msec, AGE_UNKNOWN);
        CHECK_INT(b.est_msec, 18768);
        CHECK(!age_is_close(&b));

        /* the first timeout: just the current interval's part */
        s = as_61(lost_fin_618());
        s.info.retransmits = s.info.backoff = 1;
        s.info.rto = 408000;
        s.timer_expires = 300;
        s.info.last_data_sent = 700;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 108);
        CHECK_INT(b.max_msec, 700);

        /* timer expired already (a dump as it fires): nothing of it counts */
        s.timer_expires = 500;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);

        /* before the first timeout (a tail loss probe or the RTO pending) */
        s = as_61(lost_fin_618());
        s.info.retransmits = s.info.backoff = 0;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
        CHECK_INT(b.max_msec, AGE_UNKNOWN);

        /* no tcp_info, no RTO, no timer, a keepalive: nothing */
        s = lost_fin_618();
        s.info.len = 0;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
        s = lost_fin_618();
        s.info.rto = 0;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
        s = lost_fin_618();
        s.timer = DIAG_TIMER_OFF;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
        s.timer = DIAG_TIMER_KEEPALIVE;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
}

/* A peer's zero window, measured: backoff 6, RTO 208 ms not doubled, the
 * probe interval 208 << 6 re-armed by the peer's answer 6.12 s ago. */
static struct fw_sock zero_window(void) {
        return (struct fw_sock) {
                .state = FW_TCP_FIN_WAIT1,
                .timer = DIAG_TIMER_PERSIST,
                .timer_expires = 7192,
                .send_q = 7169,
                .inode = 7,
                .info = {
                        .len = 232, .backoff = 6, .has_snd_wnd = true, .rto = 208000, .last_data_sent = 19664,
                        .last_ack_recv = 6120, .notsent_bytes = 7169, .snd_wnd = 0,
                },
        };
}

static void test_persist(void) {
        struct fw_sock s = zero_window();
        struct age_bounds b;

        /* P1: 208 x (1 + 2 + ... + 32), and of the interval now running
         * (13312 ms uncapped) nothing: the running interval proves a cap of
         * 7192 ms only (tcp_rto_max_ms, Linux 6.15+); P2: last data sent */
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 208 * 63);
        CHECK_INT(b.max_msec, 19664);
        CHECK(!age_is_close(&b));

        /* tcpi_probes is reset by every answer: the backoff counts, not it */
        s.info.probes = 0;
        s.timer_count = 0;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 208 * 63);

        /* the window open (blocked locally): each probe may carry data */
        s.info.snd_wnd = 65536;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 208 * 63);
        CHECK_INT(b.max_msec, AGE_UNKNOWN);
        CHECK(!age_is_close(&b));

        /* an RTO below TCP_RTO_MIN: the probe base is 200 ms */
        s = zero_window();
        s.info.rto = 5000;
        s.info.backoff = 0;
        s.timer_expires = 50;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 150);

        /* capped: a running interval of at least 100 s proves a cap of
         * 100 s, not TCP_RTO_MAX's 120 s: 208 x 511, three intervals of
         * 100 s and none of the running one */
        s = zero_window();
        s.info.backoff = 12;
        s.timer_expires = 100000;
        s.info.last_data_sent = 2000000;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 208 * 511 + 3 * 100000);
        CHECK_INT(b.max_msec, 2000000);
        CHECK(!age_is_close(&b));

        /* Linux 6.15+, tcp_rto_max_ms 1000: every interval from 208 << 3 on
         * is 1 s; nothing proves a larger cap than the 1 s minimum and the
         * running interval (timer_expires) */
        s = zero_window();
        s.info.backoff = 10;
        s.timer_expires = 400;
        s.info.last_data_sent = 2000000;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 208 + 416 + 832 + 7 * 1000 + 600);
        /* 5 s left of the running interval proves a cap of 5 s */
        s.timer_expires = 5000;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 208 * 31 + 5 * 5000);

        /* just armed, nothing passed: no bound */
        s = zero_window();
        s.info.backoff = 0;
        s.timer_expires = 208;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
}

static void test_persist_leftover_backoff(void) {
        struct fw_sock s = zero_window();
        struct age_bounds b;

        /* an RTO recovery in the connection's life: its backoff may be left
         * over (no RTT sample), the first probe not shifted: no schedule */
        s.info.len = 280;
        s.info.has_total_rto = true;
        s.info.total_rto = 3;
        s.info.total_rto_recoveries = 1;
        s.info.total_retrans = 3;
        s.info.options = FW_TCPI_OPT_TIMESTAMPS;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);

        /* no RTO timeout, a fast retransmit, timestamps off: skipped too
         * (total_rto may have wrapped) */
        s.info.total_rto = s.info.total_rto_recoveries = 0;
        s.info.options = 0;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);

        /* with timestamps the recovery's end had an RTT sample */
        s.info.options = FW_TCPI_OPT_TIMESTAMPS;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 208 * 63);

        /* Debian 12 (no total_rto): a retransmission without timestamps */
        s = zero_window();
        s.info.total_retrans = 1;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
        s.info.options = FW_TCPI_OPT_TIMESTAMPS;
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, 208 * 63);
}

/* The schedule above the sound upper bound: the lower bound is dropped. */
static void test_persist_contradicted(void) {
        struct fw_sock s = zero_window();
        struct age_bounds b;

        s.info.last_data_sent = 5000; /* below 208 * 63 */
        age_from_kernel(&s, &b);
        CHECK_INT(b.min_msec, AGE_UNKNOWN);
        CHECK_INT(b.max_msec, AGE_UNKNOWN);
        CHECK_INT(b.est_msec, AGE_UNKNOWN);
}

static void test_combine(void) {
        struct age_bounds k = { .min_msec = 19260, .max_msec = 19672, .est_msec = 19464 };
        struct age_bounds none = { AGE_UNKNOWN, AGE_UNKNOWN, AGE_UNKNOWN };
        struct age_view v;
        char buf[DURATION_STRLEN + 2];

        age_combine(&none, false, 0, 0, &v);
        CHECK_INT(v.source, AGE_SOURCE_NONE);
        CHECK_STR(age_format(buf, sizeof(buf), &v), "-");

        /* without a daemon: the kernel's */
        age_combine(&k, false, 0, 0, &v);
        CHECK_INT(v.source, AGE_SOURCE_KERNEL);
        CHECK_INT(v.min_usec, 19260000);
        CHECK_INT(v.est_usec, 19464000);
        CHECK(v.has_max);
        CHECK_INT(v.max_usec, 19672000);
        CHECK(v.close);
        CHECK_STR(age_format(buf, sizeof(buf), &v), "~19s");

        /* the daemon's is larger: it wins, shown as it is */
        age_combine(&k, true, 19500000, AGE_SOURCE_DAEMON, &v);
        CHECK_INT(v.source, AGE_SOURCE_DAEMON);
        CHECK_INT(v.min_usec, 19500000);
        CHECK_INT(v.est_usec, 19500000);
        CHECK_INT(v.max_usec, 19672000);
        CHECK_STR(age_format(buf, sizeof(buf), &v), "19s");
        /* a daemon that does not say: its own */
        age_combine(&none, true, 65000000, AGE_SOURCE_NONE, &v);
        CHECK_INT(v.source, AGE_SOURCE_DAEMON);
        CHECK(!v.has_max);
        CHECK_STR(age_format(buf, sizeof(buf), &v), "1min 5s");

        /* the kernel's is larger: it wins */
        age_combine(&k, true, 3000000, AGE_SOURCE_DAEMON, &v);
        CHECK_INT(v.source, AGE_SOURCE_KERNEL);
        CHECK_INT(v.min_usec, 19260000);

        /* the daemon's clock started at the kernel's bound and went on */
        age_combine(&k, true, 19400000, AGE_SOURCE_KERNEL, &v);
        CHECK_INT(v.source, AGE_SOURCE_KERNEL);
        CHECK_INT(v.min_usec, 19400000);
        CHECK_INT(v.est_usec, 19464000);
        CHECK(v.close);

        /* the daemon's above the kernel's upper bound: that bound is gone */
        age_combine(&k, true, 30000000, AGE_SOURCE_KERNEL, &v);
        CHECK(!v.has_max);
        CHECK(!v.close);
        CHECK_INT(v.est_usec, 30000000);
        CHECK_STR(age_format(buf, sizeof(buf), &v), ">30s");

        /* a lower bound only */
        k = (struct age_bounds) { .min_msec = 250000, .max_msec = AGE_UNKNOWN, .est_msec = 250000 };
        age_combine(&k, false, 0, 0, &v);
        CHECK(!v.close);
        CHECK_STR(age_format(buf, sizeof(buf), &v), ">4min 10s");

        /* what is shown: the estimate with close bounds, else the lower bound */
        k = (struct age_bounds) { .min_msec = 10000, .max_msec = 600000, .est_msec = 305000 };
        age_combine(&k, false, 0, 0, &v);
        CHECK(!v.close);
        CHECK_INT(v.est_usec, 305000000);
        CHECK_INT(age_shown_usec(&v), 10000000);
        CHECK_STR(age_format(buf, sizeof(buf), &v), ">10s");
        k = (struct age_bounds) { .min_msec = 19260, .max_msec = 19672, .est_msec = 19464 };
        age_combine(&k, false, 0, 0, &v);
        CHECK_INT(age_shown_usec(&v), 19464000);
        age_combine(&k, true, 19500000, AGE_SOURCE_DAEMON, &v);
        CHECK_INT(age_shown_usec(&v), 19500000);

        CHECK_STR(age_source_to_string(AGE_SOURCE_DAEMON), "daemon");
        CHECK_STR(age_source_to_string(AGE_SOURCE_KERNEL), "kernel");
        CHECK(age_source_to_string(AGE_SOURCE_NONE) == NULL);
}

int main(void) {
        test_one_recovery();
        test_recoveries_wrapped();
        test_several_recoveries();
        test_short_tcp_info();
        test_persist();
        test_persist_leftover_backoff();
        test_persist_contradicted();
        test_combine();
        return test_result("test-age");
}
