/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <systemd/sd-daemon.h>

#include "control.h"
#include "fw-config.h"
#include "log.h"
#include "util.h"

struct client {
        struct control *control;
        struct client *prev, *next;
        int fd;
        struct ucred peer;
        sd_event_source *io;
        sd_event_source *timer;
        sd_event_source *lifetime; /* unprivileged and refused clients: the whole connection */
        struct reply out;        /* what is left to send */
        size_t sent;             /* bytes of out already sent */
        bool close_after;        /* close once out is sent (after a bad request) */
        bool privileged;         /* root, or our own user: the reserve, no lifetime, no budget */
        char refusal[128];       /* "" admitted; else held only to answer this to its request */
};

struct control {
        sd_event *event;
        sd_event_source *listen_io;
        sd_event_source *accept_timer; /* while accepting is paused (EMFILE and the like) */
        bool accept_told;        /* the failure was logged; said again once it works */
        uint64_t accept_warned;  /* usec, CLOCK_MONOTONIC, of that warning; 0 never */
        int listen_fd;
        char path[108];          /* bound by us: unlinked on free; "" if inherited */
        dev_t bound_dev;         /* what we bound at path: unlinked on free only */
        ino_t bound_ino;         /* while it is still there, not what took its place */
        control_handler_fn handler;
        void *userdata;
        uid_t self;              /* our own euid: the unit's ExecReload= runs as it */
        struct control_limits limits;
        struct client *clients;
        unsigned n_clients;      /* admitted ones: the slots taken */
        unsigned n_refusing;     /* refused ones waiting for their request */
        size_t queued;           /* bytes of out - sent of unprivileged clients */
        struct control_stats stats;
        uint8_t buf[PROTO_MAX_REQUEST + 1];
};

/* Who may send each request: decided here, once, before any handler runs
 * (chrony's and OpenBSD's daemons decide per message type the same way). */
enum access {
        ANYONE,
        ROOT,
        ROOT_OR_SELF,            /* root, or finwatchd's own user */
};

static const struct {
        enum access who;
        const char *what;        /* for the refusal: "only root may <what>" */
} access_of[] = {
        [PROTO_REQ_LIST] = { ANYONE, NULL },
        [PROTO_REQ_STATUS] = { ANYONE, NULL },
        [PROTO_REQ_KILL] = { ANYONE, NULL },     /* refused as a version mismatch, whoever asks */
        [PROTO_REQ_RELOAD] = { ROOT_OR_SELF, "reload finwatchd" },
        [PROTO_REQ_KILL_NS] = { ROOT, "kill sockets" },
};

/* Every request type proto_decode() lets through has its line in the
 * table; one without would need root. */
const char *control_refusal(uint16_t type, uid_t uid, uid_t self) {
        enum access who = type < ELEMENTSOF(access_of) ? access_of[type].who : ROOT;

        if (who == ROOT && uid != 0)
                return "only root may";
        if (who == ROOT_OR_SELF && uid != 0 && uid != self)
                return "only root (or finwatchd's own user) may";
        return NULL;
}

int control_reply_add(struct reply *r, uint16_t type, const void *payload, size_t payload_len) {
        size_t need = sizeof(struct proto_header) + payload_len;

        if (r->error)
                return r->error;
        if (GROW(r->data, r->allocated, r->len + need, 4096) < 0)
                return r->error = -ENOMEM;
        proto_put_header(r->data + r->len, type, payload_len);
        if (payload_len)
                memcpy(r->data + r->len + sizeof(struct proto_header), payload, payload_len);
        r->len += need;
        return 0;
}

int control_reply_error(struct reply *r, int error, const char *fmt, ...) {
        struct proto_error e = { .error = error < 0 ? error : -EIO };
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(e.message, sizeof(e.message), fmt, ap);
        va_end(ap);
        return control_reply_add(r, PROTO_REPLY_ERROR, &e, sizeof(e));
}

static void reply_reset(struct reply *r) {
        free(r->data);
        *r = (struct reply) {};
}

static void client_free(struct client *cl) {
        struct control *c = cl->control;

        if (cl->prev)
                cl->prev->next = cl->next;
        else
                c->clients = cl->next;
        if (cl->next)
                cl->next->prev = cl->prev;
        if (cl->refusal[0])
                c->n_refusing--;
        else
                c->n_clients--;
        if (!cl->privileged)
                c->queued -= cl->out.len - cl->sent;

        sd_event_source_disable_unref(cl->io);
        sd_event_source_disable_unref(cl->timer);
        sd_event_source_disable_unref(cl->lifetime);
        if (cl->fd >= 0)
                close(cl->fd);
        reply_reset(&cl->out);
        free(cl);
}

static void client_touch(struct client *cl) {
        uint64_t now;

        if (sd_event_now(cl->control->event, CLOCK_MONOTONIC, &now) >= 0)
                (void) sd_event_source_set_time(cl->timer, now + cl->control->limits.idle_timeout_usec);
}

/* Send what we can; 1 when all is sent, 0 when the socket is full, -errno. */
static int client_flush(struct client *cl) {
        while (cl->sent < cl->out.len) {
                struct proto_header h;
                ssize_t n;

                memcpy(&h, cl->out.data + cl->sent, sizeof(h));
                n = send(cl->fd, cl->out.data + cl->sent, h.length, MSG_DONTWAIT | MSG_NOSIGNAL);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        return -errno; /* EPIPE, ECONNRESET: the client left */
                }
                cl->sent += h.length;
                if (!cl->privileged)
                        cl->control->queued -= h.length;
                client_touch(cl);
        }
        reply_reset(&cl->out);
        cl->sent = 0;
        return 1;
}

static int client_send(struct client *cl) {
        int r = client_flush(cl);

        if (r < 0 || (r > 0 && cl->close_after)) {
                client_free(cl);
                return 0;
        }
        /* While a reply is pending, wait for room, not for requests. */
        return sd_event_source_set_io_events(cl->io, r > 0 ? EPOLLIN : EPOLLOUT);
}

static void client_request(struct client *cl, const uint8_t *buf, size_t len, const int *fds, size_t n_fds) {
        struct control *c = cl->control;
        struct proto_msg msg;
        const char *why;
        int r;

        if (cl->refusal[0]) {
                /* read, so that the answer is not lost to a reset */
                control_reply_error(&cl->out, -EBUSY, "%s", cl->refusal);
                cl->close_after = true;
                return;
        }
        if (len > PROTO_MAX_REQUEST) {
                control_reply_error(&cl->out, -EMSGSIZE, "request too large (at most %d bytes)", PROTO_MAX_REQUEST);
                cl->close_after = true;
                return;
        }
        r = proto_decode(buf, len, &msg);
        if (r == -EOPNOTSUPP) {
                /* a newer client: it hears so, and may go on with what we know */
                control_reply_error(&cl->out, r, "version mismatch: finwatchd " FW_VERSION " does not know request "
                                    "%u (a newer finwatch? restart finwatchd after an upgrade)", (unsigned) msg.type);
                return;
        }
        if (r == -EPROTONOSUPPORT) {
                control_reply_error(&cl->out, r, "unsupported protocol version (this finwatchd speaks version %d)",
                            PROTO_VERSION);
                cl->close_after = true;
                return;
        }
        if (r < 0 || msg.type >= PROTO_REPLY_ERROR) {
                control_reply_error(&cl->out, -EBADMSG, "malformed request");
                cl->close_after = true;
                return;
        }
        msg.fds = fds;
        msg.n_fds = n_fds;
        why = control_refusal(msg.type, cl->peer.uid, c->self);
        if (why) {
                control_reply_error(&cl->out, -EPERM, "permission denied: %s %s", why,
                                    msg.type < ELEMENTSOF(access_of) && access_of[msg.type].what
                                            ? access_of[msg.type].what : "send this request");
                return;
        }
        c->handler(&msg, &cl->peer, &cl->out, c->userdata);
        if (cl->out.error) {
                reply_reset(&cl->out);
                control_reply_error(&cl->out, -ENOMEM, "out of memory");
        }
        /* Replies to other users wait in our memory until read: together
         * they stay under the budget, but one always fits (a large table
         * can still be listed). Root's and our own are not counted. */
        if (!cl->privileged && c->queued > 0 && c->queued + cl->out.len > c->limits.queue_max) {
                reply_reset(&cl->out);
                c->stats.busy_replies++;
                control_reply_error(&cl->out, -EBUSY, "finwatchd is busy: %zu KiB of replies wait for clients that "
                                    "read slowly; try again", c->queued >> 10);
        }
}

/* One packet into buf, the descriptors that came with it into fds (ours to
 * close; *fds_cut when not all of them fit). The packet's real length
 * (MSG_TRUNC: even of one too large for buf), or -errno. */
static ssize_t receive(int fd, uint8_t *buf, size_t size, int *fds, size_t *n_fds, bool *fds_cut) {
        union {
                struct cmsghdr align;
                uint8_t space[CMSG_SPACE(sizeof(int) * PROTO_MAX_FDS)];
        } control;
        struct iovec iov = { .iov_base = buf, .iov_len = size };
        struct msghdr mh = {
                .msg_iov = &iov,
                .msg_iovlen = 1,
                .msg_control = &control,
                .msg_controllen = sizeof(control),
        };
        ssize_t n;

        *n_fds = 0;
        *fds_cut = false;
        n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_TRUNC | MSG_CMSG_CLOEXEC);
        if (n < 0)
                return -errno;
        for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
                size_t k;

                if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
                        continue;
                k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
                for (size_t i = 0; i < k; i++) {
                        int got;

                        memcpy(&got, CMSG_DATA(cm) + i * sizeof(int), sizeof(got));
                        if (*n_fds < PROTO_MAX_FDS)
                                fds[(*n_fds)++] = got;
                        else {
                                close(got);
                                *fds_cut = true;
                        }
                }
        }
        if (mh.msg_flags & MSG_CTRUNC)
                *fds_cut = true;
        return n;
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct client *cl = userdata;
        struct control *c = cl->control;
        ssize_t n;

        if (cl->out.len > 0)
                return client_send(cl);

        if (revents & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
                int fds[PROTO_MAX_FDS];
                size_t n_fds = 0;
                bool fds_cut;

                n = receive(fd, c->buf, sizeof(c->buf), fds, &n_fds, &fds_cut);
                if (n == -EAGAIN || n == -EINTR)
                        return 0;
                if (n > 0) {
                        client_touch(cl);
                        if (fds_cut) {
                                control_reply_error(&cl->out, -EMSGSIZE, "too many file descriptors (at most %d)",
                                                    PROTO_MAX_FDS);
                                cl->close_after = true;
                        } else
                                client_request(cl, c->buf, (size_t) n, fds, n_fds);
                        if (!cl->privileged)
                                c->queued += cl->out.len; /* a new reply: nothing of it sent yet */
                }
                /* whatever came along is ours to close, on every path: an
                 * empty packet can carry descriptors too */
                for (size_t i = 0; i < n_fds; i++)
                        close(fds[i]);
                if (n <= 0) {
                        client_free(cl); /* gone, or an error */
                        return 0;
                }
                return client_send(cl);
        }
        return 0;
}

static int on_client_timeout(sd_event_source *s, uint64_t usec, void *userdata) {
        struct client *cl = userdata;

        log_debug("control client pid %d uid %d %s", (int) cl->peer.pid, (int) cl->peer.uid,
                  s == cl->lifetime ? "reached its lifetime" : "timed out");
        client_free(cl);
        return 0;
}

/* NULL if a client may take a slot now, else why not (in buf). */
static const char *admission(const struct control *c, const struct client *new, char *buf, size_t size) {
        unsigned of_uid = 0, unprivileged = 0;

        if (c->n_clients >= c->limits.max_clients)
                return snprintf(buf, size, "finwatchd is busy: all %u connections are taken; try again",
                                c->limits.max_clients), buf;
        if (new->privileged)
                return NULL;
        for (const struct client *cl = c->clients; cl; cl = cl->next) {
                if (cl->refusal[0] || cl->privileged)
                        continue;
                unprivileged++;
                if (cl->peer.uid == new->peer.uid)
                        of_uid++;
        }
        if (of_uid >= c->limits.max_per_uid)
                return snprintf(buf, size, "finwatchd is busy: uid %u has %u connections open, the most one user "
                                "may; try again when one is closed", (unsigned) new->peer.uid, of_uid), buf;
        if (unprivileged >= c->limits.max_clients - c->limits.reserved)
                return snprintf(buf, size, "finwatchd is busy: %u connections of other users are open (the last %u "
                                "are kept for root); try again", unprivileged, c->limits.reserved), buf;
        return NULL;
}

/* The refused client is answered in the same way as the admitted, with
 * its request read first; only with no room for that is it told at once. */
static void refuse(int fd, const char *why) {
        struct reply r = {};

        /* best effort, never blocking: the client is told why, or not */
        if (control_reply_error(&r, -EBUSY, "%s", why) == 0)
                (void) send(fd, r.data, r.len, MSG_DONTWAIT | MSG_NOSIGNAL);
        reply_reset(&r);
        close(fd);
}

static int on_accept_resume(sd_event_source *s, uint64_t usec, void *userdata) {
        struct control *c = userdata;

        (void) sd_event_source_set_enabled(c->listen_io, SD_EVENT_ON);
        return 0;
}

/* Out of descriptors (or memory): the connection stays in the backlog and
 * the socket readable, so waiting for it again would spin. Stop listening
 * for a while instead, as OpenBSD's daemons do (accept_pause). */
static void pause_accepting(struct control *c, int error) {
        int r;

        c->stats.accept_failures++;
        /* once, and again only after a while: a limit that is reached, freed
         * and reached again makes no flood */
        if (!c->accept_told && (!c->accept_warned || now_usec(CLOCK_MONOTONIC) - c->accept_warned >=
                                                             CONTROL_ACCEPT_WARN_INTERVAL_USEC)) {
                log_warning("cannot accept control connections: %s; trying again every second until it works",
                            strerror(error));
                c->accept_warned = now_usec(CLOCK_MONOTONIC);
                c->accept_told = true;
        }
        (void) sd_event_source_set_enabled(c->listen_io, SD_EVENT_OFF);
        if (c->accept_timer)
                r = sd_event_source_set_time_relative(c->accept_timer, c->limits.accept_pause_usec);
        else
                r = sd_event_add_time_relative(c->event, &c->accept_timer, CLOCK_MONOTONIC,
                                               c->limits.accept_pause_usec, 0, on_accept_resume, c);
        if (r >= 0)
                r = sd_event_source_set_enabled(c->accept_timer, SD_EVENT_ONESHOT);
        if (r < 0) /* without the timer, spinning beats never listening again */
                (void) sd_event_source_set_enabled(c->listen_io, SD_EVENT_ON);
}

static int on_accept(sd_event_source *s, int lfd, uint32_t revents, void *userdata) {
        struct control *c = userdata;
        socklen_t len = sizeof(struct ucred);
        char why[sizeof(((struct client *) NULL)->refusal)];
        const char *refusal;
        struct client *cl;
        int fd, r;

        fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
                if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM)
                        pause_accepting(c, errno);
                return 0; /* EAGAIN, or the client gave up: nothing to do */
        }
        if (c->accept_told) {
                log_notice("accepting control connections again");
                c->accept_told = false;
        }

        cl = calloc(1, sizeof(*cl));
        if (!cl) {
                close(fd);
                return 0;
        }
        cl->control = c;
        cl->fd = fd;
        if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cl->peer, &len) < 0)
                cl->peer = (struct ucred) { .pid = 0, .uid = (uid_t) -1, .gid = (gid_t) -1 };
        cl->privileged = cl->peer.uid == 0 || cl->peer.uid == c->self;
        refusal = admission(c, cl, why, sizeof(why));
        if (refusal) {
                c->stats.refused++;
                if (c->n_refusing >= c->limits.max_refusing) {
                        free(cl);
                        refuse(fd, refusal);
                        return 0;
                }
                snprintf(cl->refusal, sizeof(cl->refusal), "%s", refusal);
                cl->privileged = false; /* a refusal's few bytes count like any reply */
                c->n_refusing++;
        } else
                c->n_clients++;
        cl->next = c->clients;
        if (c->clients)
                c->clients->prev = cl;
        c->clients = cl;

        r = sd_event_add_io(c->event, &cl->io, fd, EPOLLIN, on_client_io, cl);
        if (r >= 0)
                r = sd_event_add_time_relative(c->event, &cl->timer, CLOCK_MONOTONIC,
                                               c->limits.idle_timeout_usec, 0, on_client_timeout, cl);
        if (r >= 0 && (!cl->privileged || cl->refusal[0]))
                r = sd_event_add_time_relative(c->event, &cl->lifetime, CLOCK_MONOTONIC,
                                               cl->refusal[0] ? c->limits.refuse_wait_usec
                                                              : c->limits.lifetime_usec,
                                               0, on_client_timeout, cl);
        if (r < 0) {
                log_warning("control client: %s", strerror(-r));
                client_free(cl);
        }
        return 0;
}

static int listen_on(struct control *c, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;
        mode_t old;
        int r;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        strcpy(sa.sun_path, path);

        if (path[0] != '/')
                return -EINVAL; /* "" would be an abstract socket */
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        /* a stale socket of an earlier run goes; anything else there (a
         * file, a FIFO, a directory, a symbolic link, even to a socket) is
         * left alone and not listened on */
        if (lstat(path, &st) == 0) {
                if (!S_ISSOCK(st.st_mode))
                        return -ENOTSOCK;
                (void) unlink(path);
        }
        /* Anyone may connect and read; kill and reload check SO_PEERCRED. */
        old = umask(0111);
        r = bind(fd, (struct sockaddr *) &sa, sizeof(sa));
        umask(old);
        if (r < 0)
                return -errno;
        if (listen(fd, 128) < 0)
                return -errno;
        /* free() unlinks this socket, and nothing that took its place */
        if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
                strcpy(c->path, path);
                c->bound_dev = st.st_dev;
                c->bound_ino = st.st_ino;
        }
        return TAKE_FD(fd);
}

int control_new(struct control **ret, sd_event *event, const char *path, control_handler_fn handler,
                void *userdata) {
        _cleanup_(control_freep) struct control *c = calloc(1, sizeof(*c));
        int n, r;

        if (!c)
                return -ENOMEM;
        c->event = event;
        c->handler = handler;
        c->userdata = userdata;
        c->self = geteuid();
        c->limits = CONTROL_LIMITS_DEFAULT;
        c->listen_fd = -EBADF;

        n = sd_listen_fds(true);
        if (n == 1 && sd_is_socket_unix(SD_LISTEN_FDS_START, SOCK_SEQPACKET, 1, NULL, 0) > 0) {
                c->listen_fd = SD_LISTEN_FDS_START;
                (void) fd_set_nonblock_cloexec(c->listen_fd);
        } else {
                if (n > 0)
                        log_warning("ignoring %d file descriptor(s) passed by systemd: not one SOCK_SEQPACKET socket", n);
                r = listen_on(c, path);
                if (r < 0)
                        return r;
                c->listen_fd = r;
        }

        r = sd_event_add_io(event, &c->listen_io, c->listen_fd, EPOLLIN, on_accept, c);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(c);
        return 0;
}

struct control *control_free(struct control *c) {
        if (!c)
                return NULL;
        while (c->clients)
                client_free(c->clients);
        sd_event_source_disable_unref(c->listen_io);
        sd_event_source_disable_unref(c->accept_timer);
        if (c->listen_fd >= 0)
                close(c->listen_fd);
        if (c->path[0]) {
                struct stat st;

                if (lstat(c->path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_dev == c->bound_dev &&
                    st.st_ino == c->bound_ino)
                        (void) unlink(c->path);
        }
        free(c);
        return NULL;
}

unsigned control_clients(const struct control *c) {
        return c->n_clients;
}

int control_set_limits(struct control *c, const struct control_limits *limits) {
        if (limits->max_clients == 0 || limits->reserved >= limits->max_clients)
                return -EINVAL;
        c->limits = *limits;
        return 0;
}

void control_set_self(struct control *c, uid_t self) {
        c->self = self;
}

void control_get_stats(const struct control *c, struct control_stats *ret) {
        *ret = c->stats;
        ret->queued = c->queued;
}
