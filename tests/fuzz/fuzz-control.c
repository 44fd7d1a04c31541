/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control socket's state machine: the real control.c on a real
 * sd-event loop and real AF_UNIX SOCK_SEQPACKET connections, answered by
 * the real requests_handle() over a manager made by hand (as test-requests
 * makes it) whose sock_diag socket is a fake kernel. The input is a script
 * of what clients do, over up to MAX_CLIENTS connections of several users
 * (when run as root: connect() with another effective uid, so the per-uid
 * caps, the reserve for root, refusals and the queue budget all come into
 * play); the loop runs between any two steps, without ever waiting on a
 * timer. Checked:
 *   - every message a client reads decodes as a reply, fits the CLI's
 *     buffer, and the replies come in whole groups in the order of the
 *     packets sent: TRACKED... END (END counts them all), STATUS, KILLED
 *     (a result for each socket named, in order), OK, or ERROR;
 *   - a client that sends one well-formed request at a time is never
 *     reset, never closed with a request unanswered, and at the end gets
 *     every reply it is owed (nothing stuck in the daemon);
 *   - once every client has closed: no client left (control_clients()), no
 *     bytes counted as queued, the daemon's descriptors back to what they
 *     were; after control_free() and the loop's end, back to before.
 *
 * The script:
 *   header: 2 bytes. h0: bits 0-2 the fake kernel's answer to kills (none,
 *     gone, killed, established, EPERM, EOPNOTSUPP), bit 3 a table of
 *     LARGE_TABLE sockets (else 3), bits 4-5 the config
 *     a reload reads (empty, bad, missing, one that watches fewer states).
 *     h1: loop iterations after each step (0: until idle, and the strict
 *     checks on).
 *   then steps, op % 13 (c: a client slot byte):
 *     0 CONNECT u         a new client, uid u % 9 of root, 1000..1007
 *     1 REQUEST c t n m   a request of type t (n ids for kills), m mutates it
 *     2 RAW c len2 bytes  any bytes, one packet
 *     3 FDS c n k p       n descriptors (SCM_RIGHTS, of kind k) with packet p
 *     4 READ c            one message
 *     5 READ_ALL c        all there is
 *     6 SHUTDOWN c how    SHUT_RD, SHUT_WR, SHUT_RDWR
 *     7 CLOSE c           (with replies unread, maybe)
 *     8 HANGUP            connect and close before the daemon accepts
 *     9 HUGE c b          a packet over PROTO_MAX_REQUEST
 *    10 EMPTY c           a packet of no bytes
 *    11 RUN               the loop until idle
 *    12 PIPELINE c n      requests back to back, nothing read between (n >= 200:
 *                         200 STATUS, replies enough to fill the socket) */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <libmnl/libmnl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "fuzz.h"
#include "log.h"
#include "manager.h"
#include "requests.h"
#include "util.h"

#define MAX_CLIENTS 96            /* past CONTROL_MAX_CLIENTS + CONTROL_MAX_REFUSING */
#define LARGE_TABLE 5000          /* a LIST of three messages. A socket fills up with replies
                                   * that pile up unread (PIPELINE); the 16 MiB of lists the
                                   * queue budget takes would cost seconds an input (the
                                   * integration tests reach it: test_owner.py) */
#define MAX_EXPECTED 64           /* replies a client waits for, remembered */
#define SETTLE_MAX 100000         /* dispatches before the loop counts as spinning */

static const uid_t uids[9] = { 0, 1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007 };

/* ---- the fake kernel: how kills go ---- */

enum kernel_mode {
        KERNEL_SILENT,            /* nothing comes: the receive times out */
        KERNEL_GONE,              /* every lookup: ENOENT */
        KERNEL_KILLS,             /* found in LAST_ACK, destroyed, then gone */
        KERNEL_ESTABLISHED,       /* found, but no longer closing */
        KERNEL_EPERM,             /* found, the destroy refused */
        KERNEL_NO_DESTROY,        /* found, a kernel without SOCK_DESTROY */
        _KERNEL_MODE_MAX,
};

struct kernel {
        enum kernel_mode mode;
        uint8_t reply[1024] __attribute__((aligned(8)));
        size_t reply_len;         /* queued, not yet received */
        uint64_t destroyed[64];
        size_t n_destroyed;
};

static void kernel_error(struct kernel *k, const struct nlmsghdr *req, int error) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(k->reply);
        struct nlmsgerr *e;

        nlh->nlmsg_type = NLMSG_ERROR;
        nlh->nlmsg_seq = req->nlmsg_seq;
        nlh->nlmsg_pid = DIAG_FAKE_PORTID;
        e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
        e->error = error;
        e->msg = *req;
        k->reply_len = nlh->nlmsg_len;
}

static void kernel_found(struct kernel *k, const struct nlmsghdr *req, const struct inet_diag_req_v2 *r,
                         uint8_t state) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(k->reply);
        struct inet_diag_msg *m;

        nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        nlh->nlmsg_seq = req->nlmsg_seq;
        nlh->nlmsg_pid = DIAG_FAKE_PORTID;
        m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
        m->idiag_family = r->sdiag_family;
        m->idiag_state = state;
        m->id = r->id;
        k->reply_len = nlh->nlmsg_len;
}

static bool kernel_was_destroyed(const struct kernel *k, uint64_t cookie) {
        for (size_t i = 0; i < k->n_destroyed; i++)
                if (k->destroyed[i] == cookie)
                        return true;
        return false;
}

static int kernel_send(const void *buf, size_t len, void *userdata) {
        struct kernel *k = userdata;
        struct nlmsghdr req;
        struct inet_diag_req_v2 r;
        uint64_t cookie;

        if (len < NLMSG_HDRLEN + sizeof(r))
                abort();
        memcpy(&req, buf, sizeof(req));
        memcpy(&r, (const uint8_t *) buf + NLMSG_HDRLEN, sizeof(r));
        cookie = (uint64_t) r.id.idiag_cookie[1] << 32 | r.id.idiag_cookie[0];
        k->reply_len = 0;
        if (k->mode == KERNEL_SILENT)
                return 0;
        if (req.nlmsg_type == SOCK_DESTROY) {
                if (k->mode == KERNEL_EPERM || k->mode == KERNEL_NO_DESTROY) {
                        kernel_error(k, &req, k->mode == KERNEL_EPERM ? -EPERM : -EOPNOTSUPP);
                        return 0;
                }
                if (k->n_destroyed < ELEMENTSOF(k->destroyed))
                        k->destroyed[k->n_destroyed++] = cookie;
                kernel_error(k, &req, 0); /* the ACK */
                return 0;
        }
        if (k->mode == KERNEL_GONE || kernel_was_destroyed(k, cookie))
                kernel_error(k, &req, -ENOENT);
        else
                kernel_found(k, &req, &r, k->mode == KERNEL_ESTABLISHED ? FW_TCP_ESTABLISHED : FW_TCP_LAST_ACK);
        return 0;
}

static ssize_t kernel_recv(void *buf, size_t size, void *userdata) {
        struct kernel *k = userdata;
        size_t n = k->reply_len;

        if (n == 0)
                return -EAGAIN;
        memcpy(buf, k->reply, n);
        k->reply_len = 0;
        return (ssize_t) n;
}

/* ---- what stays from input to input ---- */

struct world {
        char dir[64];
        char path[108];            /* the control socket */
        char conf[4][128];         /* empty, bad, missing, fewer states */
        struct manager m;
        struct kernel kernel;
        struct tracker *tables[2]; /* small, large */
        struct tracked *saved[2];  /* their entries, to put back what a kill took */
        size_t n_saved[2];
        int pool[5];               /* descriptors clients pass: /dev/null, a pipe, a unix
                                    * socket, NETLINK_ROUTE, sock_diag in an empty netns */
        uint64_t empty_ns_ino;     /* that namespace's inode, 0 if it could not be made */
        bool root;
        struct config defaults;
};

static struct world w;

static int sink(const struct iovec *iov, int n, void *userdata) {
        for (int i = 0; i < n; i++) {
                const char *s = iov[i].iov_base, *eq = memchr(s, '=', iov[i].iov_len);

                if (!eq || eq == s || s[0] == '_')
                        abort();
                for (const char *c = s; c < eq; c++)
                        if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
                                abort();
        }
        return 0;
}

static void write_file(const char *path, const char *text) {
        FILE *f = fopen(path, "we");

        if (!f)
                abort();
        fputs(text, f);
        fclose(f);
}

static void fill_table(size_t which, size_t n) {
        uint64_t now = manager_now();

        w.saved[which] = calloc(n, sizeof(struct tracked));
        w.n_saved[which] = n;
        if (tracker_new(&w.tables[which]) < 0 || !w.saved[which])
                abort();
        for (size_t i = 0; i < n; i++) {
                struct tracked *e = &w.saved[which][i];

                *e = (struct tracked) {
                        .id = { .cookie = 1000 + i, .family = i % 5 ? AF_INET : AF_INET6, .sport = 9000,
                                .dport = (uint16_t) (40000 + i) },
                        .first_seen = now - 60 * UINT64_C(1000000), .state_since = now - 30 * UINT64_C(1000000),
                        .last_seen = now, .state = i % 2 ? FW_TCP_LAST_ACK : FW_TCP_FIN_WAIT1,
                        .timer = DIAG_TIMER_RETRANS, .orphan = i % 3 == 0, .alerted = i % 4 == 0,
                };
                e->id.src[0] = 127;
                e->id.src[3] = 1;
                e->id.dst[0] = 127;
                e->id.dst[3] = 2;
                if (tracker_restore(w.tables[which], e) < 0)
                        abort();
        }
}

/* A sock_diag socket in a network namespace of its own, empty: what a
 * client passes for a namespace the daemon does not watch, and where a
 * kill can reach nothing. -errno without the privilege to make one. */
static int open_empty_netns_diag(uint64_t *ret_ino) {
        _cleanup_(closep) int home = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        struct diag *d = NULL;
        struct stat st;
        int fd = -EBADF, r;

        if (home < 0)
                return -errno;
        if (unshare(CLONE_NEWNET) < 0)
                return -errno;
        r = stat("/proc/thread-self/ns/net", &st) < 0 ? -errno : diag_open(&d);
        if (setns(home, CLONE_NEWNET) < 0)
                abort(); /* stuck in the new namespace: nothing after this would mean anything */
        if (r < 0)
                return r;
        fd = fcntl(diag_fd(d), F_DUPFD_CLOEXEC, 3);
        diag_free(d);
        *ret_ino = (uint64_t) st.st_ino;
        return fd < 0 ? -errno : fd;
}

static void cleanup_world(void) {
        for (size_t i = 0; i < ELEMENTSOF(w.conf); i++)
                (void) unlink(w.conf[i]);
        (void) rmdir(w.dir);
}

static void setup_world(void) {
        const struct diag_fake_kernel kernel = { .send = kernel_send, .recv = kernel_recv, .userdata = &w.kernel };
        struct rlimit rl;
        struct diag *d;
        int p[2], sp[2], r;

        log_max_level = LOG_CRIT;
        unsetenv("NOTIFY_SOCKET");
        unsetenv("LISTEN_FDS");
        unsetenv("LISTEN_PID");
        w.root = geteuid() == 0;
        /* room for every client's descriptor on both ends, and 253 passed */
        if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096) {
                rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
                (void) setrlimit(RLIMIT_NOFILE, &rl);
        }

        snprintf(w.dir, sizeof(w.dir), "/tmp/fuzz-control-XXXXXX");
        if (!mkdtemp(w.dir) || chmod(w.dir, 0711) < 0) /* other users connect too */
                abort();
        atexit(cleanup_world);
        snprintf(w.path, sizeof(w.path), "%s/control", w.dir);
        for (size_t i = 0; i < ELEMENTSOF(w.conf); i++)
                snprintf(w.conf[i], sizeof(w.conf[i]), "%s/conf%zu", w.dir, i);
        write_file(w.conf[0], "");
        write_file(w.conf[1], "[monitor]\ninterval = soon\n");
        write_file(w.conf[3], "[monitor]\nstates = fin_wait_1\n");

        /* the manager, by hand (tests/unit/test-requests.c does the same) */
        config_defaults(&w.defaults);
        w.defaults.state_file[0] = '\0';
        w.defaults.orphan_budget_bp = 0;
        w.m.config = w.defaults;
        fill_table(0, 3);
        fill_table(1, LARGE_TABLE);
        r = labels_new(&w.m.labels, NULL);
        if (r >= 0)
                r = netns_set_new(&w.m.netns);
        if (r >= 0)
                r = diag_open_fake(&kernel, &d);
        if (r < 0)
                abort();
        diag_free(w.m.netns->v[0].diag); /* our namespace's sock_diag socket is the fake kernel */
        w.m.netns->v[0].diag = d;
        if (labels_begin(w.m.labels, w.m.netns) < 0)
                abort();
        w.m.destroy_supported = 1;

        w.pool[0] = open("/dev/null", O_RDONLY | O_CLOEXEC);
        if (pipe2(p, O_CLOEXEC) < 0 || socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0)
                abort();
        w.pool[1] = p[0];
        close(p[1]);
        w.pool[2] = sp[0];
        close(sp[1]);
        w.pool[3] = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
        r = open_empty_netns_diag(&w.empty_ns_ino);
        w.pool[4] = r >= 0 ? r : fcntl(w.pool[0], F_DUPFD_CLOEXEC, 3);
        for (size_t i = 0; i < ELEMENTSOF(w.pool); i++)
                if (w.pool[i] < 0)
                        abort();
}

/* ---- the clients ---- */

enum expect {
        EXPECT_ANY_ERROR,         /* a malformed packet, or a request the daemon refuses */
        EXPECT_LIST,
        EXPECT_STATUS,
        EXPECT_KILLED,
        EXPECT_OK,
};

struct client {
        int fd;                   /* -EBADF: the slot is free */
        bool clean;               /* one well-formed request at a time, nothing else */
        bool untracked;           /* sent more than MAX_EXPECTED unanswered: order not checked */
        bool eof, reset, shut_rd;
        bool in_list;
        uint64_t list_sum;
        unsigned groups;          /* whole replies read */
        struct {
                enum expect what;
                uint32_t count;           /* of a kill: the sockets named */
                uint64_t first_cookie;
        } expected[MAX_EXPECTED];
        size_t n_expected, first; /* a ring */
};

struct run {
        sd_event *event;
        struct control *control;
        struct client clients[MAX_CLIENTS];
        unsigned budget;          /* loop iterations after each step, 0 = until idle */
        bool strict;              /* the loop runs until idle after each step */
        uint64_t started;         /* usec, CLOCK_MONOTONIC */
        const uint8_t *p;
        size_t left;
        uint8_t rbuf[PROTO_MAX_REPLY + 1] __attribute__((aligned(8)));
        uint8_t sbuf[PROTO_MAX_REQUEST + 256] __attribute__((aligned(8)));
};

static struct run run;

/* The checks that need each step to be done before the next: with the
 * loop run until idle after each step, and before the first of the
 * daemon's timers (a refused client's second) could have fired. */
static bool strict(const struct run *r) {
        return r->strict && now_usec(CLOCK_MONOTONIC) - r->started < CONTROL_REFUSE_WAIT_USEC * 8 / 10;
}

static unsigned next_byte(struct run *r) {
        if (r->left == 0)
                return 0;
        r->left--;
        return *r->p++;
}

static struct client *pick(struct run *r) {
        struct client *cl = &r->clients[next_byte(r) % MAX_CLIENTS];

        return cl->fd >= 0 ? cl : NULL;
}

/* Run the loop: until nothing is left to do, or budget dispatches. A loop
 * still busy after SETTLE_MAX spins. */
static void settle(struct run *r, unsigned budget) {
        for (unsigned i = 0; budget == 0 || i < budget; i++) {
                int k = sd_event_run(r->event, 0);

                if (k < 0 || i >= SETTLE_MAX)
                        abort();
                if (k == 0)
                        return;
        }
}

static int count_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        if (!d)
                abort();
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static void expect(struct client *cl, enum expect what, uint32_t count, uint64_t first_cookie) {
        size_t i;

        if (cl->untracked || cl->n_expected >= MAX_EXPECTED) {
                /* past what we remember: the order is no longer checked */
                cl->clean = false;
                cl->untracked = true;
                return;
        }
        i = (cl->first + cl->n_expected++) % MAX_EXPECTED;
        cl->expected[i].what = what;
        cl->expected[i].count = count;
        cl->expected[i].first_cookie = first_cookie;
}

/* One whole reply came: was it the answer to the oldest packet? */
static void group_done(struct run *r, struct client *cl, const struct proto_msg *msg) {
        if (cl->untracked)
                ;
        else if (cl->n_expected == 0) {
                struct proto_error e;

                /* only a refusal comes unasked, at once, when too many wait for theirs */
                if (msg->type != PROTO_REPLY_ERROR || cl->groups > 0)
                        abort();
                memcpy(&e, msg->payload, sizeof(e));
                if (e.error != -EBUSY)
                        abort();
        } else {
                size_t i = cl->first;

                cl->first = (cl->first + 1) % MAX_EXPECTED;
                cl->n_expected--;
                if (msg->type != PROTO_REPLY_ERROR)
                        switch (cl->expected[i].what) {
                        case EXPECT_ANY_ERROR:
                                abort();
                        case EXPECT_LIST:
                                if (msg->type != PROTO_REPLY_END)
                                        abort();
                                break;
                        case EXPECT_STATUS:
                                if (msg->type != PROTO_REPLY_STATUS)
                                        abort();
                                break;
                        case EXPECT_KILLED: {
                                struct proto_kill_head head;
                                struct proto_kill_result res;

                                if (msg->type != PROTO_REPLY_KILLED)
                                        abort();
                                memcpy(&head, msg->payload, sizeof(head));
                                if (head.count != cl->expected[i].count)
                                        abort();
                                memcpy(&res, msg->payload + sizeof(head), sizeof(res));
                                if (res.cookie != cl->expected[i].first_cookie || res.error > 0)
                                        abort();
                                break;
                        }
                        case EXPECT_OK:
                                if (msg->type != PROTO_REPLY_OK)
                                        abort();
                                break;
                        }
        }
        cl->groups++;
}

/* Read one message: 1 read, 0 nothing there, -1 the connection ended. */
static int read_one(struct run *r, struct client *cl) {
        struct proto_msg msg;
        ssize_t n;

        if (cl->eof || cl->reset)
                return -1;
        n = recv(cl->fd, r->rbuf, sizeof(r->rbuf), MSG_DONTWAIT | MSG_TRUNC);
        if (n < 0) {
                if (errno == EAGAIN)
                        return 0;
                if (errno != ECONNRESET)
                        abort();
                /* the daemon closed with a packet of ours unread */
                if (strict(r) && cl->clean)
                        abort();
                cl->reset = true;
                return -1;
        }
        if (n == 0) {
                /* closed: never with a request of a clean client read and unanswered */
                if (strict(r) && cl->clean && cl->n_expected > 0 && !cl->shut_rd)
                        abort();
                cl->eof = true;
                return -1;
        }
        if ((size_t) n > PROTO_MAX_REPLY || proto_decode(r->rbuf, (size_t) n, &msg) < 0 ||
            msg.type < PROTO_REPLY_ERROR)
                abort(); /* the CLI could not read it */
        if (msg.type == PROTO_REPLY_TRACKED) {
                struct proto_tracked_head head;

                memcpy(&head, msg.payload, sizeof(head));
                cl->in_list = true;
                cl->list_sum += head.count;
                return 1;
        }
        if (cl->in_list) {
                uint64_t total;

                /* a list ends with its END, which counts it whole */
                if (msg.type != PROTO_REPLY_END)
                        abort();
                memcpy(&total, msg.payload, sizeof(total));
                if (total != cl->list_sum)
                        abort();
                cl->in_list = false;
                cl->list_sum = 0;
        } else if (msg.type == PROTO_REPLY_END) {
                uint64_t total;

                memcpy(&total, msg.payload, sizeof(total));
                if (total != 0)
                        abort(); /* an empty table's list is END alone */
        }
        group_done(r, cl, &msg);
        return 1;
}

static void client_close(struct client *cl) {
        if (cl->fd >= 0)
                close(cl->fd);
        *cl = (struct client) { .fd = -EBADF };
}

static void do_connect(struct run *r, uid_t uid, bool hang_up) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        struct client *cl = NULL;
        int fd, k;

        for (size_t i = 0; i < MAX_CLIENTS && !cl; i++)
                if (r->clients[i].fd < 0)
                        cl = &r->clients[i];
        if (!cl)
                return;
        fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0)
                abort();
        strcpy(sa.sun_path, w.path);
        /* SO_PEERCRED is who connected: another user, for the connect alone */
        if (uid != 0 && w.root && seteuid(uid) < 0)
                abort();
        k = connect(fd, (struct sockaddr *) &sa, sizeof(sa));
        if (uid != 0 && w.root && seteuid(0) < 0)
                abort();
        if (k < 0 || hang_up) {
                close(fd);
                return;
        }
        *cl = (struct client) { .fd = fd, .clean = true };
}

/* Send one packet (with descriptors); false when it did not go. */
static bool send_packet(struct client *cl, const void *buf, size_t len, const int *fds, size_t n_fds) {
        return send_with_fds(cl->fd, buf, len, fds, n_fds, MSG_DONTWAIT | MSG_NOSIGNAL) == 0;
}

/* Build a request of a type the script picks into r->sbuf: its length,
 * and what should answer it. */
static size_t build_request(struct run *r, unsigned t, unsigned n, unsigned mutation, enum expect *ret_expect,
                            uint32_t *ret_count, uint64_t *ret_first, bool *ret_mutated) {
        static const uint16_t types[] = {
                PROTO_REQ_LIST, PROTO_REQ_STATUS, PROTO_REQ_KILL_NS, PROTO_REQ_RELOAD, PROTO_REQ_KILL,
                6 /* a newer client's */, 0, PROTO_REPLY_OK /* a reply, as a request */,
        };
        uint16_t type = types[t % ELEMENTSOF(types)];
        const struct tracker *table = w.m.tracker;
        uint8_t *p = r->sbuf + sizeof(struct proto_header);
        size_t payload = 0, len;

        *ret_count = 0;
        *ret_first = 0;
        if (type == PROTO_REQ_KILL || type == PROTO_REQ_KILL_NS) {
                size_t item = type == PROTO_REQ_KILL ? sizeof(struct proto_sock_id) : sizeof(struct proto_sock_id_ns);
                uint32_t count = n >= 250 ? (uint32_t) (type == PROTO_REQ_KILL ? PROTO_KILL_MAX : PROTO_KILL_NS_MAX)
                                          : n % 8 + 1;
                struct proto_kill_head head = { .count = count };

                for (uint32_t i = 0; i < count; i++) {
                        unsigned pickb = next_byte(r);
                        const struct tracked *e = NULL;
                        struct sock_id id = { .cookie = 1 + pickb, .family = AF_INET, .sport = 1, .dport = 2 };
                        size_t iter = 0;

                        for (unsigned k = 0; k <= (pickb & 0x3f) % (tracker_size(table) + 1); k++)
                                e = tracker_next(table, &iter);
                        if (e)
                                id = e->id;
                        switch (pickb >> 6) {
                        case 0: id.netns_ino = 0; break;
                        case 1: id.netns_ino = (uint32_t) w.m.netns->home_ino; break;
                        case 2: id.netns_ino = (uint32_t) w.empty_ns_ino; break;
                        case 3: id.netns_ino = 4026532999u; break;
                        }
                        if (i == 0)
                                *ret_first = id.cookie;
                        if (type == PROTO_REQ_KILL) {
                                struct proto_sock_id wid;

                                proto_id_from_sock(&wid, &id, FW_TCP_LAST_ACK);
                                memcpy(p + sizeof(head) + i * item, &wid, item);
                        } else {
                                struct proto_sock_id_ns wid;

                                proto_id_ns_from_sock(&wid, &id, FW_TCP_LAST_ACK);
                                memcpy(p + sizeof(head) + i * item, &wid, item);
                        }
                }
                memcpy(p, &head, sizeof(head));
                payload = sizeof(head) + count * item;
                *ret_count = count;
        }
        len = proto_put_header(r->sbuf, type, payload);

        switch (type) {
        case PROTO_REQ_LIST: *ret_expect = EXPECT_LIST; break;
        case PROTO_REQ_STATUS: *ret_expect = EXPECT_STATUS; break;
        case PROTO_REQ_KILL_NS: *ret_expect = EXPECT_KILLED; break;
        case PROTO_REQ_RELOAD: *ret_expect = EXPECT_OK; break;
        default: *ret_expect = EXPECT_ANY_ERROR; break;
        }
        /* what a broken or hostile client sends instead */
        *ret_mutated = false;
        if (mutation % 16 != 0 && mutation % 16 < 10) {
                struct proto_header h, was;
                size_t len_was = len;

                memcpy(&h, r->sbuf, sizeof(h));
                was = h;
                switch (mutation % 16) {
                case 1: h.magic ^= 1; break;
                case 2: h.version++; break;
                case 3: h.reserved = mutation >> 4 | 1; break;
                case 4: r->sbuf[len++] = 0; break;               /* a byte more than the header says */
                case 5: h.length--; break;                      /* a byte less */
                case 6: h.length = mutation << 8; break;
                case 7: /* the count, or the type */
                        if (payload >= 8)
                                r->sbuf[sizeof(h)] ^= 1;
                        else
                                h.type = 0x7fff;
                        break;
                case 8: /* the family of the first socket */
                        if (payload >= 8 + 56)
                                r->sbuf[sizeof(h) + 8 + 48] = 0;
                        break;
                case 9: /* cut short */
                        if (len > sizeof(h))
                                len--;
                        break;
                }
                memcpy(r->sbuf, &h, sizeof(h));
                if (memcmp(&h, &was, sizeof(h)) != 0 || len != len_was || (mutation % 16 == 8 && payload >= 64) ||
                    (mutation % 16 == 7 && payload >= 8)) {
                        *ret_mutated = true;
                        *ret_expect = EXPECT_ANY_ERROR;
                }
        }
        return len;
}

/* Does a request of this kind leave the connection open when answered? */
static bool keeps_open(enum expect what, bool mutated, bool type_unknown) {
        return what != EXPECT_ANY_ERROR || (!mutated && type_unknown);
}

static void do_request(struct run *r, struct client *cl, const int *fds, size_t n_fds) {
        unsigned t = next_byte(r), n = next_byte(r), mutation = next_byte(r);
        enum expect what;
        uint32_t count;
        uint64_t first;
        bool mutated;
        size_t len = build_request(r, t, n, mutation, &what, &count, &first, &mutated);
        struct proto_header h;

        memcpy(&h, r->sbuf, sizeof(h));
        /* an unknown type (a newer client's) and the 0.1 kill are answered
         * with an error and the connection kept; the rest of the errors close */
        if (!keeps_open(what, mutated, h.type < PROTO_REPLY_ERROR) || cl->n_expected > 0)
                cl->clean = false;
        if (send_packet(cl, r->sbuf, len, fds, n_fds))
                expect(cl, what, count, first);
}

static void do_fds(struct run *r, struct client *cl) {
        int fds[SEND_FDS_MAX];
        unsigned n = next_byte(r), kind = next_byte(r), packet = next_byte(r);

        for (unsigned i = 0; i < n && i < ELEMENTSOF(fds); i++)
                fds[i] = w.pool[(kind + i * (kind >> 4)) % ELEMENTSOF(w.pool)];
        if (n > ELEMENTSOF(fds))
                n = ELEMENTSOF(fds);
        if (packet % 4 == 0) {
                /* descriptors on an empty packet: the daemon takes it for the end */
                cl->clean = false;
                (void) send_packet(cl, "", 0, fds, n);
                return;
        }
        do_request(r, cl, fds, n);
}

static void do_huge(struct run *r, struct client *cl) {
        size_t len = PROTO_MAX_REQUEST + 1 + next_byte(r);
        uint8_t *big = calloc(1, len);

        proto_put_header(big, PROTO_REQ_LIST, len - sizeof(struct proto_header));
        cl->clean = false;
        if (send_packet(cl, big, len, NULL, 0))
                expect(cl, EXPECT_ANY_ERROR, 0, 0);
        free(big);
}

static void do_raw(struct run *r, struct client *cl) {
        size_t len = next_byte(r);

        len |= (size_t) next_byte(r) << 8;
        if (len > r->left)
                len = r->left;
        cl->clean = false;
        /* whatever the bytes are, they are answered with something (or, when
         * empty, taken for the end) */
        if (len > 0 && send_packet(cl, r->p, len, NULL, 0)) {
                struct proto_msg msg;
                int k = proto_decode(r->p, len, &msg);

                if (k == 0 && msg.type == PROTO_REQ_LIST)
                        expect(cl, EXPECT_LIST, 0, 0);
                else if (k == 0 && msg.type == PROTO_REQ_STATUS)
                        expect(cl, EXPECT_STATUS, 0, 0);
                else if (k == 0 && msg.type == PROTO_REQ_RELOAD)
                        expect(cl, EXPECT_OK, 0, 0);
                else if (k == 0 && msg.type == PROTO_REQ_KILL_NS) {
                        struct proto_kill_head head;
                        struct proto_sock_id_ns id;

                        memcpy(&head, msg.payload, sizeof(head));
                        memcpy(&id, msg.payload + sizeof(head), sizeof(id));
                        expect(cl, EXPECT_KILLED, head.count, id.id.cookie);
                } else
                        expect(cl, EXPECT_ANY_ERROR, 0, 0);
        } else if (len == 0)
                (void) send_packet(cl, "", 0, NULL, 0);
        r->p += len;
        r->left -= len;
}

/* Read everything each client is owed, the loop running between reads. */
static void drain_all(struct run *r) {
        for (;;) {
                bool progress = false;

                settle(r, 0);
                for (size_t i = 0; i < MAX_CLIENTS; i++) {
                        struct client *cl = &r->clients[i];

                        while (cl->fd >= 0 && !cl->shut_rd && read_one(r, cl) > 0)
                                progress = true;
                }
                if (!progress)
                        break;
        }
        /* nothing stuck: a clean client still open has every reply */
        for (size_t i = 0; i < MAX_CLIENTS; i++) {
                const struct client *cl = &r->clients[i];

                if (cl->fd >= 0 && cl->clean && !cl->shut_rd && !cl->eof && !cl->reset && cl->n_expected > 0 &&
                    strict(r))
                        abort();
        }
}

/* Put back what kills and reloads took from the manager. */
static void reset_world(unsigned h0) {
        size_t which = h0 & 8 ? 1 : 0;
        struct tracker *t = w.tables[which];
        bool changed = t != w.m.tracker;

        if (tracker_size(t) != w.n_saved[which]) {
                for (size_t i = 0; i < w.n_saved[which]; i++)
                        (void) tracker_restore(t, &w.saved[which][i]);
                changed = true;
        }
        w.m.tracker = t;
        w.m.config = w.defaults;
        w.m.config_path = w.conf[(h0 >> 4) % 4];
        w.m.metrics = (struct metrics) {};
        w.m.destroy_supported = 1;
        w.m.kill_denied_told = false;
        alerter_init(&w.m.alerter, 100, sink, NULL);
        if (changed) /* what STATUS reads (a kill counts the table again itself) */
                manager_summarize(&w.m, manager_now());
        w.m.started = manager_now();
        w.kernel.mode = (enum kernel_mode) ((h0 & 7) % _KERNEL_MODE_MAX);
        w.kernel.n_destroyed = 0;
        w.kernel.reply_len = 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        sd_event_source *monotonic = NULL;
        int fds_before, fds_open;
        unsigned h0, h1;

        if (!w.dir[0])
                setup_world();
        run.p = data;
        run.left = size;
        h0 = next_byte(&run);
        h1 = next_byte(&run);
        run.budget = h1;
        run.strict = h1 == 0;
        run.started = now_usec(CLOCK_MONOTONIC);
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                run.clients[i] = (struct client) { .fd = -EBADF };
        reset_world(h0);

        fds_before = count_fds();
        if (sd_event_new(&run.event) < 0)
                abort();
        /* the loop's timerfds exist before the count, as the daemon's do */
        if (sd_event_add_time(run.event, &w.m.poll_timer, CLOCK_BOOTTIME, UINT64_MAX, 0, NULL, NULL) < 0 ||
            sd_event_add_time(run.event, &monotonic, CLOCK_MONOTONIC, UINT64_MAX, 0, NULL, NULL) < 0 ||
            sd_event_source_set_enabled(w.m.poll_timer, SD_EVENT_OFF) < 0 ||
            sd_event_source_set_enabled(monotonic, SD_EVENT_OFF) < 0)
                abort();
        w.m.event = run.event;
        if (control_new(&run.control, run.event, w.path, requests_handle, &w.m) < 0)
                abort();
        w.m.control = run.control;
        fds_open = count_fds();

        while (run.left > 0) {
                unsigned op = next_byte(&run) % 13;
                struct client *cl;

                switch (op) {
                case 0:
                        do_connect(&run, uids[next_byte(&run) % ELEMENTSOF(uids)], false);
                        break;
                case 1:
                        if ((cl = pick(&run)))
                                do_request(&run, cl, NULL, 0);
                        break;
                case 2:
                        if ((cl = pick(&run)))
                                do_raw(&run, cl);
                        break;
                case 3:
                        if ((cl = pick(&run)))
                                do_fds(&run, cl);
                        break;
                case 4:
                        if ((cl = pick(&run)) && !cl->shut_rd)
                                (void) read_one(&run, cl);
                        break;
                case 5:
                        if ((cl = pick(&run)) && !cl->shut_rd)
                                while (read_one(&run, cl) > 0)
                                        ;
                        break;
                case 6:
                        if ((cl = pick(&run))) {
                                unsigned how = next_byte(&run) % 3;

                                (void) shutdown(cl->fd, how == 0 ? SHUT_RD : how == 1 ? SHUT_WR : SHUT_RDWR);
                                if (how != 1)
                                        cl->shut_rd = true;
                                if (how != 0 && cl->n_expected == 0)
                                        cl->clean = false; /* nothing more to ask: its end is no news */
                        }
                        break;
                case 7:
                        if ((cl = pick(&run)))
                                client_close(cl);
                        break;
                case 8:
                        do_connect(&run, uids[next_byte(&run) % ELEMENTSOF(uids)], true);
                        break;
                case 9:
                        if ((cl = pick(&run)))
                                do_huge(&run, cl);
                        break;
                case 10:
                        if ((cl = pick(&run))) {
                                cl->clean = false;
                                (void) send_packet(cl, "", 0, NULL, 0);
                        }
                        break;
                case 11:
                        settle(&run, 0);
                        break;
                case 12:
                        if ((cl = pick(&run))) {
                                unsigned b = next_byte(&run), n = b < 200 ? b % 8 + 2 : 200;

                                /* 200 fill a socket: STATUS then, the daemon's cheapest */
                                for (unsigned i = 0; i < n; i++) {
                                        enum expect what = i % 2 || b >= 200 ? EXPECT_STATUS : EXPECT_LIST;

                                        proto_put_header(run.sbuf, what == EXPECT_LIST ? PROTO_REQ_LIST
                                                                                      : PROTO_REQ_STATUS, 0);
                                        cl->clean = false;
                                        if (send_packet(cl, run.sbuf, sizeof(struct proto_header), NULL, 0))
                                                expect(cl, what, 0, 0);
                                }
                        }
                        break;
                }
                settle(&run, run.budget);
        }

        drain_all(&run);
        for (size_t i = 0; i < MAX_CLIENTS; i++)
                client_close(&run.clients[i]);
        settle(&run, 0);
        /* every client gone, and everything it held */
        {
                struct control_stats st;

                control_get_stats(run.control, &st);
                if (control_clients(run.control) != 0 || st.queued != 0 || count_fds() != fds_open)
                        abort();
        }
        w.m.control = control_free(run.control);
        w.m.poll_timer = sd_event_source_unref(w.m.poll_timer);
        sd_event_source_unref(monotonic);
        w.m.event = NULL;
        run.event = sd_event_unref(run.event);
        if (count_fds() != fds_before)
                abort();
        return 0;
}
