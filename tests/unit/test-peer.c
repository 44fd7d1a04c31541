/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Is the peer trying to come back (peer.c): built samples of the cases the
 * rule must tell apart, the verdict over polls, and the netstat parser. */
#include <errno.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "diag.h"
#include "peer.h"
#include "peers.h"
#include "test.h"
#include "util.h"

#define MS UINT64_C(1000)
#define S  UINT64_C(1000000)

/* A lost FIN, long stuck: retransmit timer, nothing acked for a minute. */
static struct peer_interval lost_fin(uint32_t segs_in_growth, int64_t syn) {
        struct peer_interval iv = {
                .prev = { .segs_in = 8, .data_segs_in = 1, .total_retrans = 7, .rto = 200000, .backoff = 7,
                          .timer = DIAG_TIMER_RETRANS },
                .usec = 500 * MS,
                .last_data_recv_ms = 60000,
                .last_ack_recv_ms = 60000,
                .syn_challenges = syn,
        };

        iv.cur = iv.prev;
        iv.cur.segs_in += segs_in_growth;
        return iv;
}

/* A zero-window peer answering the probes: persist timer, its ACKs. */
static struct peer_interval zero_window(uint32_t segs_in_growth, uint8_t backoff, uint64_t usec) {
        struct peer_interval iv = {
                .prev = { .segs_in = 100, .data_segs_in = 1, .total_retrans = 0, .rto = 204000, .backoff = backoff,
                          .timer = DIAG_TIMER_PERSIST },
                .usec = usec,
                .last_data_recv_ms = 60000,
                .last_ack_recv_ms = 150,
                .syn_challenges = 4, /* someone else's client reconnects in this namespace */
        };

        iv.cur = iv.prev;
        iv.cur.segs_in += segs_in_growth;
        return iv;
}

static void test_evidence(void) {
        struct peer_interval iv;

        /* nothing came in, whatever the namespace's counter did */
        iv = lost_fin(0, 10);
        CHECK_INT(peer_evidence(&iv), PEER_EV_NOTHING);
        iv.cur.total_retrans += 3; /* the FIN retransmitted into the void */
        CHECK_INT(peer_evidence(&iv), PEER_EV_NOTHING);

        /* SYNs from the peer's address and port: no ACK, no data, more
         * segments than the socket sent, the namespace's counter grew */
        iv = lost_fin(2, 2);
        CHECK_INT(peer_evidence(&iv), PEER_EV_RECONNECT);
        iv = lost_fin(1, 1);
        CHECK_INT(peer_evidence(&iv), PEER_EV_RECONNECT);
        /* the same without the counter's word */
        iv = lost_fin(2, 0);
        CHECK_INT(peer_evidence(&iv), PEER_EV_UNEXPLAINED);
        iv = lost_fin(2, -1);
        CHECK_INT(peer_evidence(&iv), PEER_EV_UNEXPLAINED);
        /* one SYN and one retransmission in the interval: explained */
        iv = lost_fin(1, 1);
        iv.cur.total_retrans++;
        CHECK_INT(peer_evidence(&iv), PEER_EV_EXPLAINED);
        /* the counters wrap */
        iv = lost_fin(3, 3);
        iv.prev.segs_in = UINT32_MAX - 1;
        iv.cur.segs_in = 1;
        iv.prev.total_retrans = UINT32_MAX;
        iv.cur.total_retrans = 0;
        CHECK_INT(peer_evidence(&iv), PEER_EV_RECONNECT);

        /* FIN_WAIT_1 whose peer still sends data: alive, even while other
         * clients reconnect in the namespace */
        iv = lost_fin(3, 5);
        iv.cur.data_segs_in += 3;
        CHECK_INT(peer_evidence(&iv), PEER_EV_LIVE);
        iv = lost_fin(1, 5);
        iv.last_data_recv_ms = 100; /* data_segs_in did not move (an old kernel) */
        CHECK_INT(peer_evidence(&iv), PEER_EV_LIVE);

        /* a zero-window peer answering probes: its ACKs say alive */
        iv = zero_window(3, 4, 5 * S);
        CHECK_INT(peer_evidence(&iv), PEER_EV_LIVE);
        /* ... and with the ACK older than the interval (a poll late), the
         * probes the schedule allows explain the segments: 5 s at
         * 204 ms << 2 is 6 probes, 7 with the one in flight */
        iv = zero_window(7, 2, 5 * S);
        iv.last_ack_recv_ms = 9000;
        CHECK_INT(peer_own_segments(&iv), 7);
        CHECK_INT(peer_evidence(&iv), PEER_EV_EXPLAINED);
        iv = zero_window(8, 2, 5 * S);
        iv.last_ack_recv_ms = 9000;
        CHECK_INT(peer_evidence(&iv), PEER_EV_RECONNECT);

        /* a FIN_WAIT_1 socket whose application does not read: the peer's
         * zero-window probes and keepalives come in, fail tcp_sequence(),
         * move neither the ACK clock nor data_segs_in; the namespace is
         * busy with someone else's reconnecting client */
        iv = lost_fin(2, 40);
        iv.recv_q = 65536;
        CHECK_INT(peer_evidence(&iv), PEER_EV_EXPLAINED);
        /* the same with the window open: keepalives the namespace's
         * challenges cannot all stand for */
        iv = lost_fin(3, 2);
        CHECK_INT(peer_evidence(&iv), PEER_EV_UNEXPLAINED);
        iv = lost_fin(3, 3);
        CHECK_INT(peer_evidence(&iv), PEER_EV_RECONNECT);
        /* own segments first, then the challenges for the rest */
        iv = lost_fin(3, 2);
        iv.cur.total_retrans++;
        CHECK_INT(peer_evidence(&iv), PEER_EV_RECONNECT);

        /* no interval: first sight, or twice in one dump */
        iv = lost_fin(2, 2);
        iv.usec = 0;
        CHECK_INT(peer_evidence(&iv), PEER_EV_NONE);
}

static void test_own_segments(void) {
        struct peer_interval iv = zero_window(0, 0, 1 * S);

        /* the persist timer's fastest: 200 ms floor, doubling, 120 s cap */
        iv.prev.rto = iv.cur.rto = 100000;
        CHECK_INT(peer_own_segments(&iv), 6);
        iv.prev.backoff = iv.cur.backoff = 20;
        CHECK_INT(peer_own_segments(&iv), 1);
        iv.usec = 600 * S;
        CHECK_INT(peer_own_segments(&iv), 6);
        /* the smaller backoff of the two samples */
        iv = zero_window(0, 1, 2 * S);
        iv.cur.backoff = 9;
        CHECK_INT(peer_own_segments(&iv), 2 * S / (408 * MS) + 1);
        /* retransmit timer: the retransmissions only */
        iv = lost_fin(0, 0);
        iv.cur.total_retrans += 2;
        CHECK_INT(peer_own_segments(&iv), 2);
}

static void test_update(void) {
        struct peer_verdict v = {};
        unsigned hold = 4;

        CHECK(!peer_update(&v, PEER_EV_NONE, hold));
        CHECK_INT(v.state, PEER_UNKNOWN);
        CHECK(!peer_update(&v, PEER_EV_NOTHING, hold));
        CHECK_INT(v.state, PEER_SILENT);
        CHECK(!peer_update(&v, PEER_EV_UNEXPLAINED, hold));
        CHECK_INT(v.state, PEER_ANSWERING);
        CHECK(peer_update(&v, PEER_EV_RECONNECT, hold)); /* news once */
        CHECK_INT(v.state, PEER_RECONNECTING);
        CHECK(!peer_update(&v, PEER_EV_RECONNECT, hold));
        /* a SYN that came with a retransmission, then the gaps of the
         * kernel's SYN retries: still reconnecting */
        CHECK(!peer_update(&v, PEER_EV_EXPLAINED, hold));
        CHECK_INT(v.state, PEER_RECONNECTING);
        for (unsigned i = 1; i < hold; i++) {
                peer_update(&v, PEER_EV_NOTHING, hold);
                CHECK_INT(v.state, PEER_RECONNECTING);
        }
        peer_update(&v, PEER_EV_NOTHING, hold);
        CHECK_INT(v.state, PEER_SILENT);
        /* a live peer ends a reconnecting spell at once */
        peer_update(&v, PEER_EV_RECONNECT, hold);
        peer_update(&v, PEER_EV_LIVE, hold);
        CHECK_INT(v.state, PEER_ANSWERING);
        CHECK_INT(v.quiet, 0);

        CHECK_INT(peer_hold_polls(5 * S), 12);
        CHECK_INT(peer_hold_polls(500 * MS), 120);
        CHECK_INT(peer_hold_polls(100 * MS), 255);
        CHECK_INT(peer_hold_polls(600 * S), 1);

        CHECK_STR(peer_state_to_string(PEER_UNKNOWN), "-");
        CHECK_STR(peer_state_to_string(PEER_RECONNECTING), "reconnecting");
        CHECK_STR(peer_state_to_string(200), "-");
}

static void test_netstat(void) {
        uint64_t v = 0;

        CHECK_INT(peer_netstat_syn_challenges("TcpExt: SyncookiesSent TCPChallengeACK TCPSYNChallenge TCPFastOpenActive\n"
                                              "TcpExt: 0 12 7 0\n"
                                              "IpExt: InNoRoutes\n"
                                              "IpExt: 0\n", &v), 0);
        CHECK_INT(v, 7);
        /* the name is whole-word: TCPSYNChallengeX is not it */
        CHECK_INT(peer_netstat_syn_challenges("TcpExt: TCPSYNChallengeX\nTcpExt: 3\n", &v), -ENOENT);
        CHECK_INT(peer_netstat_syn_challenges("IpExt: InNoRoutes\nIpExt: 0\n", &v), -ENOENT);
        CHECK_INT(peer_netstat_syn_challenges("", &v), -ENOENT);
        /* a names line without its values, a value that is no number */
        CHECK_INT(peer_netstat_syn_challenges("TcpExt: TCPSYNChallenge\n", &v), -EBADMSG);
        CHECK_INT(peer_netstat_syn_challenges("TcpExt: TCPSYNChallenge\nTcpExt: 1x\n", &v), -EBADMSG);
        /* fewer values than names: not found rather than misread */
        CHECK_INT(peer_netstat_syn_challenges("TcpExt: A B TCPSYNChallenge\nTcpExt: 1 2\n", &v), -ENOENT);
        /* this machine's own */
        CHECK_INT(peer_syn_challenges_read(0, &v), 0);
}

/* The daemon's side: a tracker entry's last dump against this one. */
static void test_judge(void) {
        struct tracked prev = {
                .state = FW_TCP_FIN_WAIT1, .seen_gen = 3, .last_seen = 10 * S, .segs_in = 8, .data_segs_in = 1,
                .total_retrans = 7, .backoff = 6, .timer = DIAG_TIMER_RETRANS, .peer = PEER_SILENT,
        };
        struct fw_sock s = {
                .state = FW_TCP_FIN_WAIT1, .timer = DIAG_TIMER_RETRANS,
                .info = { .len = 232, .segs_in = 10, .data_segs_in = 1, .total_retrans = 7, .rto = 200000,
                          .backoff = 6, .last_ack_recv = 60000, .last_data_recv = 60000 },
        };
        struct peer_verdict v;

        v = peers_judge(&prev, &s, 10 * S + 500 * MS, 2, 120);
        CHECK_INT(v.state, PEER_RECONNECTING);
        /* no counter: at most answering */
        v = peers_judge(&prev, &s, 10 * S + 500 * MS, -1, 120);
        CHECK_INT(v.state, PEER_ANSWERING);
        /* a new socket: no interval yet */
        v = peers_judge(NULL, &s, 10 * S + 500 * MS, 2, 120);
        CHECK_INT(v.state, PEER_UNKNOWN);
        /* restored from the state file: no counters to compare, the verdict kept */
        prev.seen_gen = 0;
        v = peers_judge(&prev, &s, 10 * S + 500 * MS, 2, 120);
        CHECK_INT(v.state, PEER_SILENT);
        /* a new state: judged anew */
        prev.seen_gen = 3;
        prev.state = FW_TCP_LAST_ACK;
        prev.peer = PEER_RECONNECTING;
        v = peers_judge(&prev, &s, 10 * S + 500 * MS, 2, 120);
        CHECK_INT(v.state, PEER_UNKNOWN);
        /* unread data in our receive queue: the peer probes our closed
         * window, not reconnecting, whatever the namespace's counter */
        prev.state = FW_TCP_FIN_WAIT1;
        prev.peer = PEER_SILENT;
        s.recv_q = 4096;
        v = peers_judge(&prev, &s, 10 * S + 500 * MS, 50, 120);
        CHECK_INT(v.state, PEER_ANSWERING);
        s.recv_q = 0;
        prev.peer = PEER_RECONNECTING;
        /* twice in one dump: no interval, the verdict kept */
        prev.state = FW_TCP_FIN_WAIT1;
        v = peers_judge(&prev, &s, 10 * S, 2, 120);
        CHECK_INT(v.state, PEER_RECONNECTING);
}

/* The namespace's counter over polls: growth over two intervals; a
 * counter that went down is a reset, not 2^64 challenges. */
static void test_syn_fold(void) {
        struct netns ns = {};

        CHECK_INT(peers_syn_fold(&ns, 100), -1);
        CHECK_INT(peers_syn_fold(&ns, 100), 0);
        CHECK_INT(peers_syn_fold(&ns, 103), 3);
        CHECK_INT(peers_syn_fold(&ns, 104), 4);
        CHECK_INT(peers_syn_fold(&ns, 104), 1);
        /* down: unknown, and a fresh baseline */
        CHECK_INT(peers_syn_fold(&ns, 5), -1);
        CHECK_INT(peers_syn_fold(&ns, 5), 0);
        CHECK_INT(peers_syn_fold(&ns, 7), 2);
        CHECK_INT(peers_syn_fold(&ns, 0), -1);
        /* large values still count */
        ns = (struct netns) {};
        CHECK_INT(peers_syn_fold(&ns, UINT64_MAX - 1), -1);
        CHECK_INT(peers_syn_fold(&ns, UINT64_MAX), 1);
}

static int count_records(const struct iovec *iov, int n, void *userdata) {
        unsigned *records = userdata;

        (*records)++;
        return 0;
}

/* A blocking record the rate limit refuses is tried again at a later poll,
 * and counts as nothing held back. */
static void test_announce(void) {
        _cleanup_(tracker_freep) struct tracker *t = NULL;
        _cleanup_(labels_freep) struct labels *l = NULL;
        struct fw_sock s = { .id = { .cookie = 42, .family = AF_INET }, .state = FW_TCP_FIN_WAIT1 };
        const struct tracked *e;
        struct alerter a;
        unsigned records = 0;

        CHECK_INT(tracker_new(&t), 0);
        CHECK_INT(labels_new(&l, NULL), 0);
        CHECK_INT(labels_begin(l, NULL), 0);
        alerter_init(&a, 1, count_records, &records);
        tracker_begin(t);
        CHECK(tracker_observe(t, &s, 10 * S) >= 0);
        tracker_set_peer(t, 42, PEER_RECONNECTING, 0, false);
        /* the minute's one record is gone already */
        a.window_open = true;
        a.window_start = 10 * S;
        a.sent_in_window = 1;
        peers_announce(t, &a, l, 10 * S);
        CHECK_INT(records, 0);
        CHECK_INT(a.held_stuck, 0);
        CHECK_INT(a.held_total, 0);
        e = tracker_get(t, 42);
        CHECK(e && !e->blocking_alerted);
        /* the next minute: it goes out, once */
        tracker_begin(t);
        CHECK(tracker_observe(t, &s, 70 * S) >= 0);
        peers_announce(t, &a, l, 70 * S);
        CHECK_INT(records, 1);
        e = tracker_get(t, 42);
        CHECK(e && e->blocking_alerted);
        tracker_begin(t);
        CHECK(tracker_observe(t, &s, 200 * S) >= 0);
        peers_announce(t, &a, l, 200 * S);
        CHECK_INT(records, 1);
}

int main(void) {
        test_judge();
        test_announce();
        test_syn_fold();
        test_evidence();
        test_own_segments();
        test_update();
        test_netstat();
        return test_result("test-peer");
}
