/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include "age.h"
#include "client.h"
#include "peer.h"
#include "util.h"

#define CLIENT_TIMEOUT_SEC 30

int client_connect(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct timeval tv = { .tv_sec = CLIENT_TIMEOUT_SEC };
        _cleanup_(closep) int fd = -EBADF;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0)
                return -errno;
        (void) setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        (void) setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
        return TAKE_FD(fd);
}

/* Send one request, with file descriptors (SCM_RIGHTS) if there are any. */
static int send_request_fds(int fd, uint16_t type, const void *payload, size_t len, const int *fds, size_t n_fds) {
        _cleanup_(freep) uint8_t *buf = malloc(sizeof(struct proto_header) + len);
        size_t total;

        if (!buf)
                return -ENOMEM;
        if (n_fds > PROTO_MAX_FDS)
                return -EINVAL;
        total = proto_put_header(buf, type, len);
        if (len)
                memcpy(buf + sizeof(struct proto_header), payload, len);
        return send_with_fds(fd, buf, total, fds, n_fds, MSG_NOSIGNAL);
}

/* Receive one reply into buf (PROTO_MAX_REPLY bytes) and check it. An ERROR
 * reply becomes its errno, with the daemon's sentence in errbuf. */
static int recv_reply_flags(int fd, uint8_t *buf, struct proto_msg *msg, int flags, char *errbuf, size_t errsize) {
        ssize_t n;
        int r;

        n = recv(fd, buf, PROTO_MAX_REPLY, MSG_TRUNC | flags);
        if (n < 0) {
                if (errno == EAGAIN && !(flags & MSG_DONTWAIT)) {
                        snprintf(errbuf, errsize, "finwatchd did not answer within %d s", CLIENT_TIMEOUT_SEC);
                        return -ETIMEDOUT;
                }
                if (errno == ECONNRESET || errno == EPIPE)
                        snprintf(errbuf, errsize, "finwatchd closed the connection without an answer (%s)",
                                 strerror(errno));
                return -errno;
        }
        if (n == 0) {
                snprintf(errbuf, errsize, "finwatchd closed the connection without an answer");
                return -ECONNRESET;
        }
        if ((size_t) n > PROTO_MAX_REPLY) {
                snprintf(errbuf, errsize, "reply too large");
                return -EBADMSG;
        }
        r = proto_decode(buf, (size_t) n, msg);
        if (r < 0) {
                snprintf(errbuf, errsize, r == -EPROTONOSUPPORT ? "the daemon speaks another protocol version"
                                                                : "malformed reply from the daemon");
                return r;
        }
        if (msg->type == PROTO_REPLY_ERROR) {
                struct proto_error e;

                memcpy(&e, msg->payload, sizeof(e));
                snprintf(errbuf, errsize, "%s", e.message);
                return e.error;
        }
        return 0;
}

static int recv_reply(int fd, uint8_t *buf, struct proto_msg *msg, char *errbuf, size_t errsize) {
        return recv_reply_flags(fd, buf, msg, 0, errbuf, errsize);
}

/* Send one request and receive the first message of its reply. A daemon
 * that refused us may have said why before it closed: that sentence is
 * the error then, not the broken pipe. */
static int transact(int fd, uint16_t type, const void *payload, size_t len, const int *fds, size_t n_fds,
                    uint8_t *buf, struct proto_msg *msg, char *errbuf, size_t errsize) {
        int r = send_request_fds(fd, type, payload, len, fds, n_fds);

        if (r < 0) {
                int said = recv_reply_flags(fd, buf, msg, MSG_DONTWAIT, errbuf, errsize);

                if (said < 0 && msg->type == PROTO_REPLY_ERROR)
                        return said;
                snprintf(errbuf, errsize, "cannot send the request to finwatchd: %s", strerror(-r));
                return r;
        }
        return recv_reply(fd, buf, msg, errbuf, errsize);
}

static int expect(const struct proto_msg *msg, uint16_t type, char *errbuf, size_t errsize) {
        if (msg->type == type)
                return 0;
        snprintf(errbuf, errsize, "unexpected reply %u from the daemon", (unsigned) msg->type);
        return -EBADMSG;
}

static int cmp_entry(const void *a, const void *b) {
        const struct daemon_entry *x = a, *y = b;

        return x->cookie < y->cookie ? -1 : x->cookie > y->cookie;
}

int client_list(int fd, struct daemon_table *ret, char *errbuf, size_t errsize) {
        _cleanup_(freep) uint8_t *buf = malloc(PROTO_MAX_REPLY);
        _cleanup_(client_table_done) struct daemon_table t = {};
        size_t allocated = 0;
        int r;

        if (!buf)
                return -ENOMEM;
        for (bool first = true;; first = false) {
                struct proto_msg msg = {};
                struct proto_tracked_head head;

                r = first ? transact(fd, PROTO_REQ_LIST, NULL, 0, NULL, 0, buf, &msg, errbuf, errsize)
                          : recv_reply(fd, buf, &msg, errbuf, errsize);
                if (r < 0)
                        return r;
                if (msg.type == PROTO_REPLY_END)
                        break;
                r = expect(&msg, PROTO_REPLY_TRACKED, errbuf, errsize);
                if (r < 0)
                        return r;
                memcpy(&head, msg.payload, sizeof(head));
                r = GROW(t.entries, allocated, t.n + head.count, 1024);
                if (r < 0)
                        return r;
                for (uint32_t i = 0; i < head.count; i++) {
                        struct proto_tracked e;

                        memcpy(&e, msg.payload + sizeof(head) + i * sizeof(e), sizeof(e));
                        t.entries[t.n++] = (struct daemon_entry) {
                                .cookie = e.cookie,
                                .age_usec = e.age_usec,
                                .first_seen_ago_usec = e.first_seen_ago_usec,
                                .state = e.state,
                                .no_timer_polls = e.no_timer_polls,
                                /* a value this client does not know: the daemon's own */
                                .age_source = e.age_source == AGE_SOURCE_KERNEL ? AGE_SOURCE_KERNEL
                                                                                : AGE_SOURCE_DAEMON,
                                .alerted = e.alerted != 0,
                                /* an unknown state from a newer daemon is unknown */
                                .peer = e.peer < _PEER_STATE_MAX ? e.peer : PEER_UNKNOWN,
                        };
                }
        }
        if (t.n > 1)
                qsort(t.entries, t.n, sizeof(*t.entries), cmp_entry);
        *ret = t;
        t = (struct daemon_table) {};
        return 0;
}

const struct daemon_entry *client_table_find(const struct daemon_table *t, uint64_t cookie) {
        struct daemon_entry key = { .cookie = cookie };

        if (!t || t->n == 0)
                return NULL;
        return bsearch(&key, t->entries, t->n, sizeof(key), cmp_entry);
}

void client_table_done(struct daemon_table *t) {
        free(t->entries);
        *t = (struct daemon_table) {};
}

int client_status(int fd, struct proto_status *ret, char *errbuf, size_t errsize) {
        _cleanup_(freep) uint8_t *buf = malloc(PROTO_MAX_REPLY);
        struct proto_msg msg = {};
        int r;

        if (!buf)
                return -ENOMEM;
        r = transact(fd, PROTO_REQ_STATUS, NULL, 0, NULL, 0, buf, &msg, errbuf, errsize);
        if (r >= 0)
                r = expect(&msg, PROTO_REPLY_STATUS, errbuf, errsize);
        if (r < 0)
                return r;
        /* an older daemon's is shorter (proto.h): the rest reads 0 */
        memset(ret, 0, sizeof(*ret));
        memcpy(ret, msg.payload, msg.payload_len < sizeof(*ret) ? msg.payload_len : sizeof(*ret));
        return 0;
}

int client_reload(int fd, char *errbuf, size_t errsize) {
        _cleanup_(freep) uint8_t *buf = malloc(PROTO_MAX_REPLY);
        struct proto_msg msg = {};
        int r;

        if (!buf)
                return -ENOMEM;
        r = transact(fd, PROTO_REQ_RELOAD, NULL, 0, NULL, 0, buf, &msg, errbuf, errsize);
        if (r >= 0)
                r = expect(&msg, PROTO_REPLY_OK, errbuf, errsize);
        return r;
}

int client_kill(int fd, const struct proto_sock_id_ns *ids, size_t n, const int *fds, size_t n_fds,
                struct proto_kill_result *results, char *errbuf, size_t errsize) {
        struct proto_kill_head head = { .count = (uint32_t) n };
        size_t len = sizeof(head) + n * sizeof(*ids);
        _cleanup_(freep) uint8_t *req = malloc(len);
        _cleanup_(freep) uint8_t *buf = malloc(PROTO_MAX_REPLY);
        struct proto_msg msg = {};
        int r;

        if (!req || !buf)
                return -ENOMEM;
        if (n == 0 || n > PROTO_KILL_NS_MAX)
                return -EINVAL;
        memcpy(req, &head, sizeof(head));
        memcpy(req + sizeof(head), ids, n * sizeof(*ids));
        r = transact(fd, PROTO_REQ_KILL_NS, req, len, fds, n_fds, buf, &msg, errbuf, errsize);
        /* a daemon older than this finwatch: 0.1 calls the request malformed,
         * later ones say they do not know it */
        if (r == -EOPNOTSUPP || (r == -EBADMSG && strcmp(errbuf, "malformed request") == 0)) {
                snprintf(errbuf, errsize, "version mismatch: the finwatchd running does not know this finwatch's "
                         "kill request (an older finwatchd: restart it after an upgrade); nothing was killed");
                return -EPROTONOSUPPORT;
        }
        if (r >= 0)
                r = expect(&msg, PROTO_REPLY_KILLED, errbuf, errsize);
        if (r < 0)
                return r;
        memcpy(&head, msg.payload, sizeof(head));
        if (head.count != n) {
                snprintf(errbuf, errsize, "the daemon answered for %u sockets, not %zu", head.count, n);
                return -EBADMSG;
        }
        memcpy(results, msg.payload + sizeof(head), n * sizeof(*results));
        return 0;
}
