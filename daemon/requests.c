/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "age.h"
#include "fw-config.h"
#include "manager.h"
#include "requests.h"
#include "util.h"

static void handle_list(struct manager *m, struct reply *reply) {
        _cleanup_(freep) uint8_t *buf = NULL;
        struct proto_tracked_head head = {};
        const struct tracked *e;
        uint64_t now = manager_now(), total = 0;
        size_t iter = 0;

        buf = malloc(sizeof(head) + PROTO_TRACKED_PER_MSG * sizeof(struct proto_tracked));
        if (!buf) {
                control_reply_error(reply, -ENOMEM, "out of memory");
                return;
        }
        for (;;) {
                e = tracker_next(m->tracker, &iter);
                if (e) {
                        struct proto_tracked t = {
                                .cookie = e->id.cookie,
                                .age_usec = tracker_age(e, now),
                                .first_seen_ago_usec = now > e->first_seen ? now - e->first_seen : 0,
                                .state = e->state,
                                .alerted = e->alerted,
                                .age_source = tracker_age_source(e),
                                .peer = e->peer,
                                .no_timer_polls = e->no_timer_polls,
                        };
                        memcpy(buf + sizeof(head) + head.count * sizeof(t), &t, sizeof(t));
                        head.count++;
                        total++;
                }
                if ((!e && head.count > 0) || head.count == PROTO_TRACKED_PER_MSG) {
                        memcpy(buf, &head, sizeof(head));
                        control_reply_add(reply, PROTO_REPLY_TRACKED, buf,
                                          sizeof(head) + head.count * sizeof(struct proto_tracked));
                        head.count = 0;
                }
                if (!e)
                        break;
        }
        control_reply_add(reply, PROTO_REPLY_END, &total, sizeof(total));
}

/* The counts as of the last poll (the summary), the counters as of now. */
static void handle_status(struct manager *m, struct reply *reply) {
        struct proto_status st = {
                .uptime_usec = manager_now() - m->started,
                .interval_usec = m->config.interval,
                .last_poll_usec = m->last_poll_duration,
                .polls = m->polls,
                .poll_failures = m->poll_failures,
                .alerts_sent = m->alerter.sent_total,
                .alerts_held = m->alerter.held_total,
                .kills_ok = m->metrics.kills_killed + m->metrics.kills_gone,
                .kills_failed = m->metrics.kills_failed,
                .tracked = m->summary.tracked,
                .destroy_supported = m->destroy_supported,
                .last_poll_error = m->last_poll_error,
                .netns_mode = (uint32_t) m->config.netns_mode,
                .netns_watched = (uint32_t) manager_netns_watched(m),
                .netns_denied = m->netns_unwatched.denied,
                .netns_no_fds = m->netns_unwatched.no_fds,
                .netns_over_cap = m->netns_unwatched.over_cap,
                .netns_cap = m->netns_cap,
                .netns_not_netns = m->netns_unwatched.not_netns,
        };
        struct control_stats cs = {};

        if (m->control)
                control_get_stats(m->control, &cs);
        st.control_refused = cs.refused;
        st.control_busy = cs.busy_replies;
        st.control_accept_failures = cs.accept_failures;

        snprintf(st.version, sizeof(st.version), "%s", FW_VERSION);
        snprintf(st.config_path, sizeof(st.config_path), "%s", m->config_path);
        for (size_t s = 0; s < ELEMENTSOF(st.per_state) && s < ELEMENTSOF(m->summary.per_state); s++)
                st.per_state[s] = m->summary.per_state[s];
        control_reply_add(reply, PROTO_REPLY_STATUS, &st, sizeof(st));
}

/* Kill one socket with d (NULL: its namespace is out of reach), record
 * who asked and what came of it. */
static int kill_one(struct manager *m, struct diag *d, const struct sock_id *id, uint8_t *state,
                    const struct ucred *peer, uint64_t now) {
        const struct tracked *known = tracker_get(m->tracker, id->cookie);
        struct tracked view = {};
        struct sock_labels labels;
        char netns[32];
        int r;

        r = d ? diag_kill(d, id, state) : -ENXIO;
        if (known)
                view = *known;
        view.id = *id;
        view.state = *state;
        labels_of(m->labels, &view, &labels);
        if (!labels.netns && id->netns_ino) {
                /* a namespace the daemon does not watch: named by its inode */
                snprintf(netns, sizeof(netns), "net:[%" PRIu32 "]", id->netns_ino);
                labels.netns = netns;
        }
        alert_killed(&m->alerter, &view, &labels, r,
                     known ? tracker_age(known, now) : UINT64_MAX, KILL_MANUAL,
                     (uint32_t) peer->uid, (uint32_t) peer->pid);
        manager_count_kill(m, r);
        if (r == 0 || r == -ENOENT)
                tracker_forget(m->tracker, id->cookie);
        return r;
}

/* The sock_diag sockets a request brought, by the namespace each is in. */
struct passed {
        uint64_t ino;
        struct diag *diag;
};

static size_t adopt_passed(const struct proto_msg *req, struct passed *out) {
        size_t n = 0;

        for (size_t i = 0; i < req->n_fds && n < PROTO_MAX_FDS; i++) {
                struct diag *d;
                uint64_t ino;

                /* anything but a sock_diag socket whose namespace we can name is ignored */
                if (netns_of_socket(req->fds[i], &ino) < 0 || diag_adopt(req->fds[i], &d) < 0)
                        continue;
                out[n++] = (struct passed) { .ino = ino, .diag = d };
        }
        return n;
}

/* Where a socket of this namespace is killed: the daemon's own socket
 * there, else one the client passed, else nowhere. */
static struct diag *diag_for(struct manager *m, uint32_t netns_ino, const struct passed *passed, size_t n_passed) {
        struct diag *d = manager_diag_of(m, netns_ino);

        for (size_t i = 0; !d && netns_ino && i < n_passed; i++)
                if (passed[i].ino == netns_ino)
                        d = passed[i].diag;
        return d;
}

static void handle_kill_ns(struct manager *m, const struct proto_msg *req, const struct ucred *peer,
                           struct reply *reply) {
        _cleanup_(freep) uint8_t *out = NULL;
        struct passed passed[PROTO_MAX_FDS];
        struct proto_kill_head head;
        uint64_t now = manager_now();
        size_t n_passed;

        memcpy(&head, req->payload, sizeof(head));
        out = malloc(sizeof(head) + (size_t) head.count * sizeof(struct proto_kill_result));
        if (!out) {
                control_reply_error(reply, -ENOMEM, "out of memory");
                return;
        }
        n_passed = adopt_passed(req, passed);
        for (uint32_t i = 0; i < head.count; i++) {
                struct proto_sock_id_ns w;
                struct proto_kill_result res;
                struct sock_id id;
                uint8_t state;
                int r;

                memcpy(&w, req->payload + sizeof(head) + i * sizeof(w), sizeof(w));
                proto_id_ns_to_sock(&w, &id, &state);
                /* ours, named by its inode (0 says the same) */
                if (id.netns_ino == m->netns->home_ino)
                        id.netns_ino = 0;
                r = kill_one(m, diag_for(m, id.netns_ino, passed, n_passed), &id, &state, peer, now);
                res = (struct proto_kill_result) { .cookie = id.cookie, .error = r, .state = state };
                memcpy(out + sizeof(head) + i * sizeof(res), &res, sizeof(res));
        }
        for (size_t i = 0; i < n_passed; i++)
                diag_free(passed[i].diag);
        manager_summarize(m, now); /* what status says, now */
        head.flags = 0;
        memcpy(out, &head, sizeof(head));
        control_reply_add(reply, PROTO_REPLY_KILLED, out,
                          sizeof(head) + (size_t) head.count * sizeof(struct proto_kill_result));
}

static void handle_reload(struct manager *m, struct reply *reply) {
        char err[512] = "";

        if (manager_reload(m, err, sizeof(err)) < 0)
                control_reply_error(reply, -EINVAL, "reload failed, running config kept: %s", err);
        else
                control_reply_add(reply, PROTO_REPLY_OK, NULL, 0);
}

void requests_handle(const struct proto_msg *req, const struct ucred *peer, struct reply *reply, void *userdata) {
        struct manager *m = userdata;

        switch (req->type) {
        case PROTO_REQ_LIST:
                handle_list(m, reply);
                break;
        case PROTO_REQ_STATUS:
                handle_status(m, reply);
                break;
        case PROTO_REQ_KILL_NS:
                handle_kill_ns(m, req, peer, reply);
                break;
        case PROTO_REQ_KILL:
                /* 0.1's kill names no namespace: which socket it meant is a
                 * guess, and a wrong guess reads "already gone" */
                control_reply_error(reply, -EPROTONOSUPPORT, "version mismatch: finwatchd " FW_VERSION " kills only "
                                    "with each socket's namespace named; use the finwatch that came with it");
                break;
        case PROTO_REQ_RELOAD:
                handle_reload(m, reply);
                break;
        default:
                control_reply_error(reply, -EOPNOTSUPP, "unknown request %u", (unsigned) req->type);
        }
}
