/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's answers to the control socket, against a tracker filled by
 * hand: the manager's state without its event loop, no root needed. Also
 * who may ask what (control.c's table). */
#include <arpa/inet.h>
#include <stdlib.h>
#include <unistd.h>

#include "age.h"
#include "control.h"
#include "fw-config.h"
#include "manager.h"
#include "requests.h"
#include "test.h"
#include "util.h"

#define S UINT64_C(1000000)

struct sink {
        unsigned records;
        char last[4096];
};

static int collect(const struct iovec *iov, int n, void *userdata) {
        struct sink *s = userdata;
        size_t off = 0;

        s->records++;
        for (int i = 0; i < n && off < sizeof(s->last); i++)
                off += (size_t) snprintf(s->last + off, sizeof(s->last) - off, "%.*s\n", (int) iov[i].iov_len,
                                         (const char *) iov[i].iov_base);
        return 0;
}

static struct tracked entry(uint64_t cookie, uint8_t state, uint64_t since, uint32_t netns) {
        struct tracked e = {
                .id = { .cookie = cookie, .family = AF_INET, .sport = 9000, .dport = (uint16_t) cookie,
                        .netns_ino = netns },
                .first_seen = since, .state_since = since, .last_seen = since, .state = state,
                .timer = DIAG_TIMER_RETRANS, .orphan = true, .cause = 1 /* lost-fin */,
        };

        inet_pton(AF_INET, "127.0.0.1", e.id.src);
        inet_pton(AF_INET, "127.0.0.1", e.id.dst);
        return e;
}

/* One request through requests_handle(); the reply's messages decoded. */
static size_t ask(struct manager *m, uint16_t type, const void *payload, size_t len, struct proto_msg *out,
                  size_t max, struct reply *r) {
        uint8_t buf[PROTO_MAX_REQUEST];
        const struct ucred root = { .pid = 4242, .uid = 0, .gid = 0 };
        struct proto_msg req;
        size_t n = 0;

        proto_put_header(buf, type, len);
        if (len)
                memcpy(buf + sizeof(struct proto_header), payload, len);
        CHECK_INT(proto_decode(buf, sizeof(struct proto_header) + len, &req), 0);
        *r = (struct reply) {};
        requests_handle(&req, &root, r, m);
        for (size_t off = 0; off < r->len && n < max;) {
                struct proto_header h;

                memcpy(&h, r->data + off, sizeof(h));
                CHECK_INT(proto_decode(r->data + off, h.length, &out[n]), 0);
                n++;
                off += h.length;
        }
        return n;
}

static const char *error_text(const struct proto_msg *msg) {
        static struct proto_error e;

        memcpy(&e, msg->payload, sizeof(e));
        return e.message;
}

int main(void) {
        char conf[] = "/tmp/finwatch-test-conf-XXXXXX";
        struct manager m = {};
        struct sink s = {};
        struct proto_msg out[8];
        struct reply r;
        uint64_t now = manager_now();
        size_t n;
        int fd;

        /* the manager's state, by hand */
        CHECK_INT(tracker_new(&m.tracker), 0);
        CHECK_INT(labels_new(&m.labels, NULL), 0);
        CHECK_INT(netns_set_new(&m.netns), 0); /* ours: a sock_diag socket needs no privilege */
        alerter_init(&m.alerter, 100, collect, &s);
        config_defaults(&m.config);
        m.started = now - 10 * S;
        fd = mkstemp(conf);
        CHECK(fd >= 0);
        close(fd);
        m.config_path = conf;
        {
                struct tracked a = entry(101, FW_TCP_FIN_WAIT1, now - 5 * S, 0);
                struct tracked b = entry(102, FW_TCP_LAST_ACK, now - 7 * S, 0);
                struct tracked c = entry(103, FW_TCP_LAST_ACK, now - 1 * S, 4026532999u);

                a.alerted = true;
                b.age_kernel = true; /* its clock started at the kernel's bound */
                CHECK_INT(tracker_restore(m.tracker, &a), 0);
                CHECK_INT(tracker_restore(m.tracker, &b), 0);
                CHECK_INT(tracker_restore(m.tracker, &c), 0);
        }
        CHECK_INT(labels_begin(m.labels, m.netns), 0);
        CHECK_INT(summary_build(&m.summary, m.tracker, m.labels, now), 0);

        /* LIST: every tracked socket with its age, then END with the count */
        n = ask(&m, PROTO_REQ_LIST, NULL, 0, out, 8, &r);
        CHECK_INT(n, 2);
        CHECK_INT(out[0].type, PROTO_REPLY_TRACKED);
        CHECK_INT(out[1].type, PROTO_REPLY_END);
        {
                struct proto_tracked_head head;
                uint64_t total;

                memcpy(&head, out[0].payload, sizeof(head));
                CHECK_INT(head.count, 3);
                for (uint32_t i = 0; i < head.count; i++) {
                        struct proto_tracked e;

                        memcpy(&e, out[0].payload + sizeof(head) + i * sizeof(e), sizeof(e));
                        if (e.cookie == 101) {
                                CHECK(e.age_usec >= 5 * S && e.age_usec < 6 * S);
                                CHECK_INT(e.alerted, 1);
                                CHECK_INT(e.state, FW_TCP_FIN_WAIT1);
                                CHECK_INT(e.age_source, AGE_SOURCE_DAEMON);
                        } else if (e.cookie == 102)
                                CHECK_INT(e.age_source, AGE_SOURCE_KERNEL);
                        else
                                CHECK(e.cookie == 103);
                }
                memcpy(&total, out[1].payload, sizeof(total));
                CHECK_INT(total, 3);
        }
        free(r.data);

        /* STATUS: the summary's counts */
        n = ask(&m, PROTO_REQ_STATUS, NULL, 0, out, 8, &r);
        CHECK_INT(n, 1);
        if (n == 1 && out[0].type == PROTO_REPLY_STATUS) {
                struct proto_status st;

                memcpy(&st, out[0].payload, sizeof(st));
                CHECK_INT(st.tracked, 3);
                CHECK_INT(st.per_state[FW_TCP_FIN_WAIT1], 1);
                CHECK_INT(st.per_state[FW_TCP_LAST_ACK], 2);
                CHECK_STR(st.version, FW_VERSION);
                CHECK_STR(st.config_path, conf);
                CHECK(st.uptime_usec >= 10 * S);
        }
        free(r.data);

        /* KILL_NS: a socket in a namespace the daemon does not watch, with no
         * socket passed for it: out of reach, recorded, and kept */
        {
                struct {
                        struct proto_kill_head head;
                        struct proto_sock_id_ns id;
                } k = { .head = { .count = 1 } };
                const struct tracked *c = tracker_get(m.tracker, 103);
                struct proto_kill_result res;

                proto_id_ns_from_sock(&k.id, &c->id, c->state);
                n = ask(&m, PROTO_REQ_KILL_NS, &k, sizeof(k), out, 8, &r);
                CHECK_INT(n, 1);
                CHECK_INT(out[0].type, PROTO_REPLY_KILLED);
                memcpy(&res, out[0].payload + sizeof(struct proto_kill_head), sizeof(res));
                CHECK_INT(res.cookie, 103);
                CHECK_INT(res.error, -ENXIO);
                CHECK(strstr(s.last, "FINWATCH_KILL_RESULT=failed\n") != NULL);
                CHECK(strstr(s.last, "FINWATCH_KILL_ERRNO=6\n") != NULL);
                CHECK(strstr(s.last, "FINWATCH_NETNS=net:[4026532999]\n") != NULL);
                CHECK(strstr(s.last, "FINWATCH_REQUESTER_UID=0\n") != NULL);
                CHECK(strstr(s.last, "FINWATCH_REQUESTER_PID=4242\n") != NULL);
                CHECK(tracker_get(m.tracker, 103) != NULL);
                CHECK_INT(m.metrics.kills_failed, 1);
                free(r.data);

                /* ours, and gone from the kernel: "gone", and forgotten */
                c = tracker_get(m.tracker, 102);
                proto_id_ns_from_sock(&k.id, &c->id, c->state);
                n = ask(&m, PROTO_REQ_KILL_NS, &k, sizeof(k), out, 8, &r);
                memcpy(&res, out[0].payload + sizeof(struct proto_kill_head), sizeof(res));
                CHECK_INT(res.error, -ENOENT);
                CHECK(strstr(s.last, "FINWATCH_KILL_RESULT=gone\n") != NULL);
                CHECK(strstr(s.last, "FINWATCH_NETNS=host\n") != NULL);
                CHECK(tracker_get(m.tracker, 102) == NULL);
                CHECK_INT(m.metrics.kills_gone, 1);
                free(r.data);

                /* status says so at once, not at the next poll */
                n = ask(&m, PROTO_REQ_STATUS, NULL, 0, out, 8, &r);
                if (n == 1 && out[0].type == PROTO_REPLY_STATUS) {
                        struct proto_status st;

                        memcpy(&st, out[0].payload, sizeof(st));
                        CHECK_INT(st.tracked, 2);
                        CHECK_INT(st.per_state[FW_TCP_LAST_ACK], 1);
                }
                free(r.data);

                /* ours named by its inode, as a CLI in another namespace than
                 * the daemon's names it: the same as 0 */
                c = tracker_get(m.tracker, 101);
                proto_id_ns_from_sock(&k.id, &c->id, c->state);
                k.id.netns_ino = (uint32_t) m.netns->home_ino;
                n = ask(&m, PROTO_REQ_KILL_NS, &k, sizeof(k), out, 8, &r);
                memcpy(&res, out[0].payload + sizeof(struct proto_kill_head), sizeof(res));
                CHECK_INT(res.error, -ENOENT);
                CHECK(strstr(s.last, "FINWATCH_NETNS=host\n") != NULL);
                free(r.data);
                {
                        struct tracked again = entry(101, FW_TCP_FIN_WAIT1, now - 5 * S, 0);

                        CHECK_INT(tracker_restore(m.tracker, &again), 0);
                }
        }

        /* 0.1's KILL: a version mismatch, nothing done */
        {
                struct {
                        struct proto_kill_head head;
                        struct proto_sock_id id;
                } k = { .head = { .count = 1 } };
                unsigned records = s.records;

                proto_id_from_sock(&k.id, &tracker_get(m.tracker, 101)->id, FW_TCP_FIN_WAIT1);
                n = ask(&m, PROTO_REQ_KILL, &k, sizeof(k), out, 8, &r);
                CHECK_INT(n, 1);
                CHECK_INT(out[0].type, PROTO_REPLY_ERROR);
                CHECK(strstr(error_text(&out[0]), "version mismatch") != NULL);
                CHECK_INT(s.records, records);
                CHECK(tracker_get(m.tracker, 101) != NULL);
                free(r.data);
        }

        /* RELOAD: a bad file is refused with its reason, the config stays; a
         * good one is taken */
        {
                FILE *f = fopen(conf, "we");

                fputs("[monitor]\ninterval = banana\n", f);
                fclose(f);
                n = ask(&m, PROTO_REQ_RELOAD, NULL, 0, out, 8, &r);
                CHECK_INT(out[0].type, PROTO_REPLY_ERROR);
                CHECK(strstr(error_text(&out[0]), "banana") != NULL);
                CHECK_INT(m.config.interval, 5 * S);
                free(r.data);
                f = fopen(conf, "we");
                fputs("[monitor]\ninterval = 2s\n", f);
                fclose(f);
                n = ask(&m, PROTO_REQ_RELOAD, NULL, 0, out, 8, &r);
                CHECK_INT(out[0].type, PROTO_REPLY_OK);
                CHECK_INT(m.config.interval, 2 * S);
                free(r.data);
        }

        /* who may ask what: one table, before any handler */
        CHECK(control_refusal(PROTO_REQ_LIST, 1000, 997) == NULL);
        CHECK(control_refusal(PROTO_REQ_STATUS, 1000, 997) == NULL);
        CHECK_STR(control_refusal(PROTO_REQ_KILL_NS, 1000, 997), "only root may");
        CHECK_STR(control_refusal(PROTO_REQ_KILL_NS, 997, 997), "only root may");
        CHECK(control_refusal(PROTO_REQ_KILL_NS, 0, 997) == NULL);
        CHECK_STR(control_refusal(PROTO_REQ_RELOAD, 1000, 997), "only root (or finwatchd's own user) may");
        CHECK(control_refusal(PROTO_REQ_RELOAD, 997, 997) == NULL);
        CHECK(control_refusal(PROTO_REQ_RELOAD, 0, 997) == NULL);
        CHECK_STR(control_refusal(200, 1000, 997), "only root may"); /* not in the table: root */

        unlink(conf);
        summary_done(&m.summary);
        labels_free(m.labels);
        netns_set_free(m.netns);
        tracker_free(m.tracker);
        return test_result("test-requests");
}
