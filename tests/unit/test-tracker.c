/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The tracker with an injected clock. */
#include <netinet/in.h>
#include <stdlib.h>

#include "cause.h"
#include "test.h"
#include "tracker.h"
#include "util.h"

#define S USEC_PER_SEC
#define AFTER (120 * S)

struct events {
        unsigned stuck, repeats, gone;
        uint64_t last_age;
        uint64_t last_cookie;
        bool last_gone_alerted;
};

static void on_stuck(const struct tracked *e, uint64_t age, bool repeat, void *userdata) {
        struct events *ev = userdata;

        if (repeat)
                ev->repeats++;
        else
                ev->stuck++;
        ev->last_age = age;
        ev->last_cookie = e->id.cookie;
}

static void on_gone(const struct tracked *e, uint64_t now, void *userdata) {
        struct events *ev = userdata;

        ev->gone++;
        ev->last_cookie = e->id.cookie;
        ev->last_gone_alerted = e->alerted;
}

static const struct tracker_ops ops = { .stuck = on_stuck, .gone = on_gone };

static struct fw_sock sock(uint64_t cookie, uint8_t state) {
        return (struct fw_sock) {
                .id.cookie = cookie, .state = state, .id.family = AF_INET, .id.sport = 9000,
                .id.dport = (uint16_t) (cookie & 0xffff), .timer = DIAG_TIMER_RETRANS,
        };
}

/* One complete dump at time now holding the given sockets. */
static int dump(struct tracker *t, uint64_t now, const struct fw_sock *s, size_t n, uint64_t repeat,
                struct events *ev) {
        tracker_begin(t);
        for (size_t i = 0; i < n; i++)
                CHECK(tracker_observe(t, &s[i], now) >= 0);
        return tracker_sweep(t, now, AFTER, repeat, &ops, ev);
}

static void test_lifecycle(void) {
        struct tracker *t;
        struct events ev = {};
        struct fw_sock a = sock(1001, FW_TCP_LAST_ACK);
        const struct tracked *e;

        CHECK_INT(tracker_new(&t), 0);

        /* appears */
        CHECK_INT(dump(t, 10 * S, &a, 1, 0, &ev), 0);
        CHECK_INT(tracker_size(t), 1);
        e = tracker_get(t, 1001);
        CHECK(e && e->first_seen == 10 * S && e->state_since == 10 * S && !e->alerted);

        /* persists, not yet old enough */
        CHECK_INT(dump(t, 129 * S, &a, 1, 0, &ev), 0);
        CHECK_INT(ev.stuck, 0);

        /* alert once, at the threshold */
        CHECK_INT(dump(t, 130 * S, &a, 1, 0, &ev), 0);
        CHECK_INT(ev.stuck, 1);
        CHECK_INT(ev.last_age, 120 * S);
        CHECK(tracker_get(t, 1001)->alerted);
        CHECK_INT(dump(t, 500 * S, &a, 1, 0, &ev), 0);
        CHECK_INT(ev.stuck, 1);
        CHECK_INT(ev.repeats, 0);

        /* vanishes from one dump and comes back: still the same socket, same age */
        CHECK_INT(dump(t, 505 * S, NULL, 0, 0, &ev), 0);
        CHECK_INT(ev.gone, 0);
        CHECK_INT(tracker_size(t), 1);
        CHECK_INT(dump(t, 510 * S, &a, 1, 0, &ev), 0);
        CHECK_INT(tracker_get(t, 1001)->state_since, 10 * S);
        CHECK_INT(tracker_get(t, 1001)->misses, 0);

        /* gone only after two dumps without it */
        CHECK_INT(dump(t, 515 * S, NULL, 0, 0, &ev), 0);
        CHECK_INT(ev.gone, 0);
        CHECK_INT(dump(t, 520 * S, NULL, 0, 0, &ev), 1);
        CHECK_INT(ev.gone, 1);
        CHECK(ev.last_gone_alerted);
        CHECK_INT(tracker_size(t), 0);
        CHECK(tracker_get(t, 1001) == NULL);

        /* a socket that goes before its alert is gone unalerted */
        struct fw_sock b = sock(1002, FW_TCP_FIN_WAIT1);
        CHECK_INT(dump(t, 600 * S, &b, 1, 0, &ev), 0);
        CHECK_INT(dump(t, 605 * S, NULL, 0, 0, &ev), 0);
        CHECK_INT(dump(t, 610 * S, NULL, 0, 0, &ev), 1);
        CHECK(!ev.last_gone_alerted);
        tracker_free(t);
}

static void test_repeat_and_state_change(void) {
        struct tracker *t;
        struct events ev = {};
        struct fw_sock a = sock(7, FW_TCP_FIN_WAIT1);

        CHECK_INT(tracker_new(&t), 0);
        CHECK_INT(dump(t, 0, &a, 1, 60 * S, &ev), 0);
        CHECK_INT(dump(t, 120 * S, &a, 1, 60 * S, &ev), 0);
        CHECK_INT(ev.stuck, 1);
        CHECK_INT(dump(t, 179 * S, &a, 1, 60 * S, &ev), 0);
        CHECK_INT(ev.repeats, 0);
        CHECK_INT(dump(t, 180 * S, &a, 1, 60 * S, &ev), 0);
        CHECK_INT(ev.repeats, 1);
        CHECK_INT(ev.last_age, 180 * S);
        CHECK_INT(dump(t, 240 * S, &a, 1, 60 * S, &ev), 0);
        CHECK_INT(ev.repeats, 2);

        /* the counters the peer verdict compares, and the verdict kept */
        a.info.segs_in = 12;
        a.info.data_segs_in = 3;
        a.info.total_retrans = 5;
        a.info.backoff = 4;
        CHECK_INT(dump(t, 245 * S, &a, 1, 60 * S, &ev), 0);
        CHECK_INT(tracker_get(t, 7)->segs_in, 12);
        CHECK_INT(tracker_get(t, 7)->data_segs_in, 3);
        CHECK_INT(tracker_get(t, 7)->total_retrans, 5);
        CHECK_INT(tracker_get(t, 7)->backoff, 4);
        tracker_set_peer(t, 7, 3, 2, true);
        CHECK_INT(tracker_get(t, 7)->peer, 3);
        CHECK_INT(tracker_get(t, 7)->peer_quiet, 2);
        CHECK(tracker_get(t, 7)->blocking_alerted);
        tracker_set_peer(t, 8, 3, 0, false); /* not there: nothing */
        CHECK(!tracker_get(t, 8));

        /* FIN_WAIT_1 -> CLOSING: a new state, a new age, a new alert, the
         * peer judged anew */
        a.state = FW_TCP_CLOSING;
        CHECK_INT(dump(t, 250 * S, &a, 1, 60 * S, &ev), 0);
        CHECK_INT(tracker_get(t, 7)->peer, 0);
        CHECK(!tracker_get(t, 7)->blocking_alerted);
        CHECK_INT(tracker_get(t, 7)->state_since, 250 * S);
        CHECK(!tracker_get(t, 7)->alerted);
        CHECK_INT(tracker_get(t, 7)->first_seen, 0);
        CHECK_INT(dump(t, 370 * S, &a, 1, 60 * S, &ev), 0);
        CHECK_INT(ev.stuck, 2);
        tracker_free(t);
}

static void test_no_cookie_and_partial_dump(void) {
        struct tracker *t;
        struct events ev = {};
        struct fw_sock z = sock(0, FW_TCP_LAST_ACK), a = sock(5, FW_TCP_LAST_ACK);

        CHECK_INT(tracker_new(&t), 0);
        tracker_begin(t);
        CHECK_INT(tracker_observe(t, &z, 0), 0);
        CHECK_INT(tracker_size(t), 0);
        CHECK_INT(tracker_observe(t, &a, 0), 1);
        CHECK_INT(tracker_observe(t, &a, 0), 0); /* seen twice in one dump: once */
        CHECK_INT(tracker_size(t), 1);
        /* failed dumps are not swept: begin without sweep changes nothing */
        tracker_begin(t);
        tracker_begin(t);
        tracker_begin(t);
        CHECK_INT(tracker_sweep(t, 10 * S, AFTER, 0, &ops, &ev), 0);
        CHECK_INT(tracker_get(t, 5)->misses, 1);
        tracker_free(t);
}

/* Many sockets, removed in a scattered order: the open addressing table
 * keeps finding every survivor. */
static void test_scale(void) {
        enum { N = 100000 };
        struct tracker *t;
        struct fw_sock *all = calloc(N, sizeof(*all));
        struct events ev = {};
        size_t alive = 0, iter = 0, seen = 0;

        CHECK_INT(tracker_new(&t), 0);
        for (size_t i = 0; i < N; i++)
                all[i] = sock(1000000 + i * 7, FW_TCP_FIN_WAIT1);
        CHECK_INT(dump(t, 0, all, N, 0, &ev), 0);
        CHECK_INT(tracker_size(t), N);

        /* keep every third one */
        for (size_t i = 0; i < N; i++)
                if (i % 3 == 0)
                        all[alive++] = all[i];
        CHECK_INT(dump(t, S, all, alive, 0, &ev), 0);
        CHECK_INT(dump(t, 2 * S, all, alive, 0, &ev), (int) (N - alive));
        CHECK_INT(tracker_size(t), alive);
        CHECK_INT(ev.gone, N - alive);
        for (size_t i = 0; i < alive; i++)
                CHECK(tracker_get(t, all[i].id.cookie) != NULL);
        for (size_t i = 0; i < N; i++)
                if (i % 3 != 0 && tracker_get(t, 1000000 + i * 7) != NULL) {
                        fprintf(stderr, "cookie %zu still there\n", 1000000 + i * 7);
                        test_failures++;
                        break;
                }
        while (tracker_next(t, &iter))
                seen++;
        CHECK_INT(seen, alive);
        /* steady state: the same sockets again allocate nothing new */
        size_t mem = tracker_memory(t);
        CHECK_INT(dump(t, 3 * S, all, alive, 0, &ev), 0);
        CHECK_INT(tracker_memory(t), mem);
        tracker_free(t);
        free(all);
}

static void test_restore(void) {
        struct tracker *t;
        struct events ev = {};
        struct tracked saved = { .id.cookie = 42, .first_seen = 5 * S, .state_since = 5 * S, .last_seen = 9 * S,
                                 .state = FW_TCP_LAST_ACK, .id.family = AF_INET, .alerted = true };
        struct fw_sock a = sock(42, FW_TCP_LAST_ACK);

        CHECK_INT(tracker_new(&t), 0);
        CHECK_INT(tracker_restore(t, &saved), 0);
        CHECK_INT(tracker_restore(t, &saved), -EEXIST);
        saved.id.cookie = 0;
        CHECK_INT(tracker_restore(t, &saved), -EINVAL);
        /* seen again after the restart: the old age stands, no second alert */
        CHECK_INT(dump(t, 300 * S, &a, 1, 0, &ev), 0);
        CHECK_INT(tracker_get(t, 42)->state_since, 5 * S);
        CHECK_INT(ev.stuck, 0);
        tracker_free(t);
}

/* Random inserts and removals against a plain array: the table must hold
 * exactly what the array holds through every growth, wrap-around at the
 * table's end and backward shift. */
static void test_random_against_reference(void) {
        enum { UNIVERSE = 5000, OPS = 400000 };
        static bool in[UNIVERSE];
        struct tracker *t;
        uint64_t x = 0x9e3779b97f4a7c15ull;
        size_t n = 0, wrong = 0;

        CHECK_INT(tracker_new(&t), 0);
        for (size_t op = 0; op < OPS; op++) {
                uint64_t c;

                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                /* the live share drifts up and down, so the table grows a lot */
                c = 1 + x % (op < OPS / 2 ? UNIVERSE : UNIVERSE / 3);
                if ((x >> 40) % 3 != 0) {
                        struct fw_sock s = sock(c, FW_TCP_LAST_ACK);

                        CHECK(tracker_observe(t, &s, op) >= 0);
                        n += !in[c - 1];
                        in[c - 1] = true;
                } else {
                        wrong += tracker_forget(t, c) != in[c - 1];
                        n -= in[c - 1];
                        in[c - 1] = false;
                }
                if (op % 9973 == 0)
                        for (uint64_t k = 1; k <= UNIVERSE; k++)
                                wrong += (tracker_get(t, k) != NULL) != in[k - 1];
        }
        CHECK_INT(wrong, 0);
        CHECK_INT(tracker_size(t), n);
        tracker_free(t);
}

/* no-timer only after CAUSE_NO_TIMER_POLLS dumps in a row showed it; a
 * dump with a timer starts the count again. */
static void test_no_timer_polls(void) {
        struct tracker *t;
        struct events ev = {};
        struct fw_sock off = sock(4001, FW_TCP_LAST_ACK), on;
        const struct tracked *e;

        off.timer = DIAG_TIMER_OFF;
        off.send_q = 1;
        off.cause = SOCK_CAUSE_NO_TIMER;  /* as cause_annotate() says of one sample */
        off.fate_msec = FATE_NEVER;
        on = off;
        on.timer = DIAG_TIMER_RETRANS;
        on.cause = SOCK_CAUSE_LOST_FIN;
        on.fate_msec = 5000;

        CHECK(tracker_new(&t) >= 0);
        for (unsigned i = 1; i < CAUSE_NO_TIMER_POLLS; i++) {
                CHECK(dump(t, i * S, &off, 1, 0, &ev) >= 0);
                e = tracker_get(t, 4001);
                CHECK_INT(e->no_timer_polls, i);
                CHECK_INT(e->cause, SOCK_CAUSE_UNKNOWN);
                CHECK_INT(e->fate_msec, FATE_UNKNOWN);
        }
        /* the timer was only off for a moment: back to the count's start */
        CHECK(dump(t, 10 * S, &on, 1, 0, &ev) >= 0);
        e = tracker_get(t, 4001);
        CHECK_INT(e->no_timer_polls, 0);
        CHECK_INT(e->cause, SOCK_CAUSE_LOST_FIN);
        CHECK_INT(e->fate_msec, 5000);
        for (unsigned i = 1; i < CAUSE_NO_TIMER_POLLS; i++)
                CHECK(dump(t, (10 + i) * S, &off, 1, 0, &ev) >= 0);
        CHECK_INT(tracker_get(t, 4001)->cause, SOCK_CAUSE_UNKNOWN);
        /* the N-th in a row: confirmed */
        CHECK(dump(t, 20 * S, &off, 1, 0, &ev) >= 0);
        e = tracker_get(t, 4001);
        CHECK_INT(e->no_timer_polls, CAUSE_NO_TIMER_POLLS);
        CHECK_INT(e->cause, SOCK_CAUSE_NO_TIMER);
        CHECK_INT(e->fate_msec, FATE_NEVER);
        /* a dump that misses it does not break the count, the count saturates */
        CHECK(dump(t, 21 * S, NULL, 0, 0, &ev) >= 0);
        for (unsigned i = 0; i < 300; i++)
                CHECK(dump(t, (22 + i) * S, &off, 1, 0, &ev) >= 0);
        e = tracker_get(t, 4001);
        CHECK_INT(e->no_timer_polls, 255);
        CHECK_INT(e->cause, SOCK_CAUSE_NO_TIMER);

        /* a new state counts anew */
        off.state = FW_TCP_CLOSING;
        CHECK(dump(t, 400 * S, &off, 1, 0, &ev) >= 0);
        e = tracker_get(t, 4001);
        CHECK_INT(e->no_timer_polls, 1);
        CHECK_INT(e->cause, SOCK_CAUSE_UNKNOWN);
        tracker_free(t);

        /* a socket a dump reports three times (restarted after ENOBUFS) is
         * one sighting, not three polls */
        CHECK(tracker_new(&t) >= 0);
        off.state = FW_TCP_LAST_ACK;
        {
                struct fw_sock thrice[3] = { off, off, off };

                CHECK(dump(t, 1 * S, thrice, 3, 0, &ev) >= 0);
                e = tracker_get(t, 4001);
                CHECK_INT(e->no_timer_polls, 1);
                CHECK_INT(e->cause, SOCK_CAUSE_UNKNOWN);
                CHECK(tracker_seen_in_dump(t, e));
                tracker_begin(t);
                CHECK(!tracker_seen_in_dump(t, tracker_get(t, 4001)));
        }
        tracker_free(t);
}

/* A lost FIN the kernel has retransmitted for at least 18.768 s (6.1's
 * tcp_info: the schedule alone, age.c R1). */
static struct fw_sock stuck_for_a_while(uint64_t cookie) {
        struct fw_sock s = sock(cookie, FW_TCP_FIN_WAIT1);

        s.timer_expires = 6936;
        s.send_q = 5;
        s.info = (struct fw_tcp_info) { .len = 232, .retransmits = 6, .backoff = 6, .rto = 13056000, .unacked = 1 };
        return s;
}

/* A daemon started into the trouble: its clock starts at the kernel's
 * lower bound, it alerts at its first poll. The bound is taken at the
 * first sighting in a state only: one poll's wrong bound must not stick. */
static void test_kernel_bound(void) {
        const uint64_t kmin = 18768 * USEC_PER_MSEC, t0 = 1000 * S;
        struct tracker *t;
        struct events ev = {};
        struct fw_sock a = stuck_for_a_while(8);
        const struct tracked *e;

        CHECK_INT(tracker_new(&t), 0);
        tracker_begin(t);
        CHECK_INT(tracker_observe(t, &a, t0), 1);
        CHECK_INT(tracker_sweep(t, t0, 10 * S, 0, &ops, &ev), 0);
        e = tracker_get(t, 8);
        CHECK(e && e->age_kernel && e->state_since == t0 - kmin && e->first_seen == t0);
        CHECK_INT(ev.stuck, 1); /* [alert] after 10 s: at once */
        CHECK_INT(ev.last_age, kmin);
        tracker_sweep(t, t0, AFTER, 0, &ops, &ev);

        /* our clock goes on from there; a bound that says less changes nothing */
        a.info.retransmits = a.info.backoff = 1;
        a.info.rto = 408000;
        a.timer_expires = 300;
        (void) dump(t, t0 + 5 * S, &a, 1, 0, &ev);
        e = tracker_get(t, 8);
        CHECK(e && e->age_kernel && e->state_since == t0 - kmin);

        /* a socket we saw first: our clock, and a later poll's bound (here
         * 18.8 s, where our clock says 10 s) is not taken: the kernel's
         * bound of a known socket is no measure ours lacks, and a wrong one
         * would stay for good */
        a = sock(9, FW_TCP_LAST_ACK);
        (void) dump(t, t0, &a, 1, 0, &ev);
        e = tracker_get(t, 9);
        CHECK(e && !e->age_kernel && e->state_since == t0);
        a = stuck_for_a_while(9);
        a.state = FW_TCP_LAST_ACK;
        (void) dump(t, t0 + 10 * S, &a, 1, 0, &ev);
        e = tracker_get(t, 9);
        CHECK(e && !e->age_kernel && e->state_since == t0);
        /* ... and not when ours is the larger */
        a = sock(10, FW_TCP_FIN_WAIT1);
        (void) dump(t, t0 - 100 * S, &a, 1, 0, &ev);
        a = stuck_for_a_while(10);
        (void) dump(t, t0, &a, 1, 0, &ev);
        e = tracker_get(t, 10);
        CHECK(e && !e->age_kernel && e->state_since == t0 - 100 * S);

        /* a new state starts over, and the kernel's bound applies to it */
        a.state = FW_TCP_CLOSING;
        (void) dump(t, t0 + S, &a, 1, 0, &ev);
        e = tracker_get(t, 10);
        CHECK(e && e->age_kernel && e->state_since == t0 + S - kmin);

        /* a bound longer than the clock has run: it starts at 1, not 0 */
        a = stuck_for_a_while(11);
        (void) dump(t, 5 * S, &a, 1, 0, &ev);
        e = tracker_get(t, 11);
        CHECK(e && e->state_since == 1);
        tracker_free(t);
}

int main(void) {
        test_kernel_bound();
        test_random_against_reference();
        test_lifecycle();
        test_repeat_and_state_change();
        test_no_cookie_and_partial_dump();
        test_scale();
        test_restore();
        test_no_timer_polls();
        return test_result("test-tracker");
}
