/* SPDX-License-Identifier: GPL-2.0-or-later */
/* control.c itself, with a real sd-event loop and real clients on a socket
 * in a temporary directory: the cap per uid, the slots kept for root, the
 * lifetime requests do not extend, refused clients answered in words (not
 * reset), the budget of reply bytes queued for other users, and accept
 * paused when descriptors run out. The limits are set small through
 * control_set_limits(), so nothing waits for the real 10 s / 30 s timers.
 *
 * Uids: as root, a client of another uid is connected by a child that
 * setuid()s, connects and hands the socket back (the daemon sees the
 * credentials of whoever called connect()). Without root there is one uid,
 * ours: "self" is set to another, so that ours counts as unprivileged, and
 * set to ours for the moment a privileged client is accepted; the checks
 * that need several uids are made with one. */
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "control.h"
#include "test.h"
#include "util.h"

#define MSEC USEC_PER_MSEC
#define NOT_US ((uid_t) 4000000)     /* "self" when our uid must count as unprivileged */

struct harness {
        sd_event *event;
        struct control *control;
        char path[108];
        unsigned big_msgs;           /* LIST: this many full TRACKED messages, then END */
        bool root;
        uid_t uid[3];                /* unprivileged uids to connect as (all ours without root) */
        uint8_t buf[PROTO_MAX_REPLY];
};

/* The daemon's side: STATUS answered with one message, LIST with
 * big_msgs full ones (a large table), RELOAD with OK. */
static void handler(const struct proto_msg *req, const struct ucred *peer, struct reply *reply, void *userdata) {
        struct harness *h = userdata;

        switch (req->type) {
        case PROTO_REQ_STATUS: {
                struct proto_status st = { .tracked = 1 };

                control_reply_add(reply, PROTO_REPLY_STATUS, &st, sizeof(st));
                break;
        }
        case PROTO_REQ_LIST: {
                size_t len = sizeof(struct proto_tracked_head) + PROTO_TRACKED_PER_MSG * sizeof(struct proto_tracked);
                uint8_t *payload = calloc(1, len);
                struct proto_tracked_head head = { .count = PROTO_TRACKED_PER_MSG };
                uint64_t total = (uint64_t) h->big_msgs * PROTO_TRACKED_PER_MSG;

                if (!payload) {
                        control_reply_error(reply, -ENOMEM, "out of memory");
                        break;
                }
                memcpy(payload, &head, sizeof(head));
                for (unsigned i = 0; i < h->big_msgs; i++)
                        control_reply_add(reply, PROTO_REPLY_TRACKED, payload, len);
                control_reply_add(reply, PROTO_REPLY_END, &total, sizeof(total));
                free(payload);
                break;
        }
        default:
                control_reply_add(reply, PROTO_REPLY_OK, NULL, 0);
        }
}

static uint64_t now(void) {
        return now_usec(CLOCK_MONOTONIC);
}

/* Run the loop until it has nothing left to do at once. */
static void pump(struct harness *h) {
        for (int i = 0; i < 100000 && sd_event_run(h->event, 0) > 0; i++)
                ;
}

static void pump_for(struct harness *h, uint64_t usec) {
        uint64_t end = now() + usec;

        while (now() < end)
                (void) sd_event_run(h->event, 5 * MSEC);
}

static int connect_here(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        strcpy(sa.sun_path, path);
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

/* A client connected by a process of uid: by us for our own, else by a
 * child that takes uid and passes the connected socket back. Not accepted
 * yet: it waits in the backlog until the loop runs. */
static int connect_as(const char *path, uid_t uid) {
        union {
                struct cmsghdr align;
                uint8_t space[CMSG_SPACE(sizeof(int))];
        } cmsg = {};
        char byte = 0;
        struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
        struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = &cmsg, .msg_controllen = sizeof(cmsg) };
        int pair[2], fd = -EBADF, status;
        pid_t pid;

        if (uid == getuid())
                return connect_here(path);
        if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, pair) < 0)
                return -errno;
        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);

                if (setgroups(0, NULL) < 0 || setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0)
                        _exit(2);
                fd = connect_here(path);
                if (fd < 0)
                        _exit(3);
                cm->cmsg_level = SOL_SOCKET;
                cm->cmsg_type = SCM_RIGHTS;
                cm->cmsg_len = CMSG_LEN(sizeof(int));
                memcpy(CMSG_DATA(cm), &fd, sizeof(int));
                _exit(sendmsg(pair[1], &mh, 0) == 1 ? 0 : 4);
        }
        close(pair[1]);
        if (recvmsg(pair[0], &mh, MSG_CMSG_CLOEXEC) == 1 && CMSG_FIRSTHDR(&mh) &&
            CMSG_FIRSTHDR(&mh)->cmsg_type == SCM_RIGHTS)
                memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&mh)), sizeof(int));
        close(pair[0]);
        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                fprintf(stderr, "connect as uid %u failed (child status %d)\n", (unsigned) uid, status);
                if (fd >= 0)
                        close(fd);
                return -EIO;
        }
        return fd;
}

/* A privileged client, accepted at once (the loop is pumped: nothing else
 * may wait in the backlog). */
static int connect_privileged(struct harness *h) {
        int fd;

        if (h->root)
                fd = connect_as(h->path, 0);
        else {
                control_set_self(h->control, getuid());
                fd = connect_here(h->path);
        }
        pump(h);
        if (!h->root)
                control_set_self(h->control, NOT_US);
        return fd;
}

static int send_request(int fd, uint16_t type) {
        struct proto_header hdr;

        proto_put_header(&hdr, type, 0);
        return send(fd, &hdr, sizeof(hdr), MSG_DONTWAIT | MSG_NOSIGNAL) == sizeof(hdr) ? 0 : -errno;
}

/* What a client read: a reply's type (with the ERROR's errno and text),
 * 0 for an orderly close, -errno for an error (-ECONNRESET: a reset), or
 * -ETIMEDOUT when nothing came in time. */
struct answer {
        int type;
        int error;
        char text[248];
};

static struct answer decode_answer(const uint8_t *buf, size_t n) {
        struct answer a = {};
        struct proto_msg msg;

        if (proto_decode(buf, n, &msg) < 0)
                return (struct answer) { .type = -EBADMSG };
        a.type = msg.type;
        if (msg.type == PROTO_REPLY_ERROR) {
                struct proto_error e;

                memcpy(&e, msg.payload, sizeof(e));
                a.error = e.error;
                snprintf(a.text, sizeof(a.text), "%s", e.message);
        }
        return a;
}

/* The next message on fd, the loop run (h) or waited for (h NULL: the
 * loop runs in another process) meanwhile, at most 3 s. */
static struct answer await_answer(struct harness *h, uint8_t *buf, int fd) {
        uint64_t deadline = now() + 3 * USEC_PER_SEC;

        for (;;) {
                ssize_t n = recv(fd, buf, PROTO_MAX_REPLY, MSG_DONTWAIT);

                if (n > 0)
                        return decode_answer(buf, (size_t) n);
                if (n == 0)
                        return (struct answer) { .type = 0 };
                if (errno != EAGAIN)
                        return (struct answer) { .type = -errno };
                if (now() > deadline)
                        return (struct answer) { .type = -ETIMEDOUT };
                if (h)
                        (void) sd_event_run(h->event, 5 * MSEC);
                else
                        (void) poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, 20);
        }
}

/* Send a request and wait for the first message of its answer. */
static struct answer ask(struct harness *h, int fd, uint16_t type) {
        int r = send_request(fd, type);

        if (r < 0)
                return (struct answer) { .type = r };
        return await_answer(h, h->buf, fd);
}

/* Read the rest of a LIST reply; the type of its last message. */
static int read_to_end(struct harness *h, int fd) {
        struct answer a;

        do
                a = await_answer(h, h->buf, fd);
        while (a.type == PROTO_REPLY_TRACKED);
        return a.type;
}

static void close_all(struct harness *h, int *fds, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (fds[i] >= 0) {
                        close(fds[i]);
                        fds[i] = -EBADF;
                }
        pump(h);
}

static struct control_stats stats(const struct harness *h) {
        struct control_stats st;

        control_get_stats(h->control, &st);
        return st;
}

static void set_limits(struct harness *h, const struct control_limits *l) {
        CHECK_INT(control_set_limits(h->control, l), 0);
}

/* The N+1st connection of one uid is refused, and the refused client,
 * whose request was on its way before the daemon even accepted it, reads
 * the reason (ERROR, naming the uid), not a reset. Another uid still gets
 * in, and so does the first uid once one of its own closed. */
static void test_per_uid_cap(struct harness *h) {
        struct control_limits l = CONTROL_LIMITS_DEFAULT;
        int fds[CONTROL_MAX_PER_UID + 2];
        char want[64];
        struct answer a;
        int extra;

        set_limits(h, &l);
        for (unsigned i = 0; i < l.max_per_uid; i++) {
                fds[i] = connect_as(h->path, h->uid[0]);
                CHECK(fds[i] >= 0);
                CHECK_INT(ask(h, fds[i], PROTO_REQ_STATUS).type, PROTO_REPLY_STATUS);
        }
        CHECK_INT(control_clients(h->control), l.max_per_uid);

        extra = connect_as(h->path, h->uid[0]);
        CHECK(extra >= 0);
        CHECK_INT(send_request(extra, PROTO_REQ_STATUS), 0); /* before the daemon accepted it */
        a = await_answer(h, h->buf, extra);
        CHECK_INT(a.type, PROTO_REPLY_ERROR);  /* not -ECONNRESET, not STATUS */
        CHECK_INT(a.error, -EBUSY);
        snprintf(want, sizeof(want), "uid %u has %u connections open", (unsigned) h->uid[0], l.max_per_uid);
        CHECK(strstr(a.text, want) != NULL);
        if (!strstr(a.text, want))
                fprintf(stderr, "  refusal: \"%s\", expected it to contain \"%s\"\n", a.text, want);
        CHECK_INT(await_answer(h, h->buf, extra).type, 0); /* and then closed */
        close(extra);
        CHECK_INT(stats(h).refused, 1);

        if (h->root) {
                /* the cap is per uid: another user is not held back */
                fds[l.max_per_uid] = connect_as(h->path, h->uid[1]);
                CHECK_INT(ask(h, fds[l.max_per_uid], PROTO_REQ_STATUS).type, PROTO_REPLY_STATUS);
        } else
                fds[l.max_per_uid] = -EBADF;

        close(fds[0]);
        fds[0] = -EBADF;
        pump(h);
        fds[l.max_per_uid + 1] = connect_as(h->path, h->uid[0]);
        CHECK_INT(ask(h, fds[l.max_per_uid + 1], PROTO_REQ_STATUS).type, PROTO_REPLY_STATUS);
        close_all(h, fds, ELEMENTSOF(fds));
        CHECK_INT(control_clients(h->control), 0);
}

/* All slots taken: the next client, privileged or not, reads "all N
 * connections are taken" to its request, sent before it was accepted.
 * (Refused at once with its request unread, it would read ECONNRESET.)
 * Refused clients that never ask are let go after the refusal wait, and do
 * not count against those held later. */
static void test_full(struct harness *h) {
        struct control_limits l = CONTROL_LIMITS_DEFAULT;
        int fds[CONTROL_MAX_CLIENTS], silent[CONTROL_MAX_REFUSING];
        uint64_t refused = stats(h).refused;
        struct answer a;
        int extra;

        l.refuse_wait_usec = 200 * MSEC;
        set_limits(h, &l);
        for (unsigned i = 0; i < l.max_clients; i++) {
                fds[i] = connect_privileged(h);
                CHECK(fds[i] >= 0);
                CHECK_INT(ask(h, fds[i], PROTO_REQ_STATUS).type, PROTO_REPLY_STATUS);
        }
        CHECK_INT(control_clients(h->control), l.max_clients);

        for (int privileged = 1; privileged >= 0; privileged--) {
                extra = privileged ? (h->root ? connect_as(h->path, 0) : connect_here(h->path))
                                   : connect_as(h->path, h->uid[0]);
                CHECK(extra >= 0);
                if (!h->root && privileged)
                        control_set_self(h->control, getuid());
                CHECK_INT(send_request(extra, PROTO_REQ_STATUS), 0);
                a = await_answer(h, h->buf, extra);
                control_set_self(h->control, h->root ? 0 : NOT_US);
                CHECK_INT(a.type, PROTO_REPLY_ERROR);
                CHECK_INT(a.error, -EBUSY);
                CHECK(strstr(a.text, "all 64 connections are taken") != NULL);
                close(extra);
        }

        /* as many refused clients as are held, silent: let go in time */
        for (size_t i = 0; i < ELEMENTSOF(silent); i++)
                silent[i] = connect_as(h->path, h->uid[0]);
        pump_for(h, 400 * MSEC);
        for (size_t i = 0; i < ELEMENTSOF(silent); i++)
                CHECK_INT(await_answer(h, h->buf, silent[i]).type, 0);
        close_all(h, silent, ELEMENTSOF(silent));
        /* and the next is held (answered in words) again, not refused at once */
        extra = connect_as(h->path, h->uid[0]);
        CHECK_INT(send_request(extra, PROTO_REQ_STATUS), 0);
        a = await_answer(h, h->buf, extra);
        CHECK_INT(a.type, PROTO_REPLY_ERROR);
        close(extra);
        CHECK_INT(stats(h).refused, refused + 2 + ELEMENTSOF(silent) + 1);

        close_all(h, fds, ELEMENTSOF(fds));
        CHECK_INT(control_clients(h->control), 0);
}

/* Unprivileged clients, of several uids, cannot take the last `reserved`
 * slots; privileged ones can, up to the total. */
static void test_reserve(struct harness *h) {
        struct control_limits l = CONTROL_LIMITS_DEFAULT;
        int fds[8];
        size_t n = 0;
        struct answer a;
        char want[96];
        int extra;

        l.max_clients = 6;
        l.reserved = 2;
        l.max_per_uid = h->root ? 2 : 6;  /* several uids share the 4 slots; without root one takes them */
        set_limits(h, &l);

        for (unsigned i = 0; i < l.max_clients - l.reserved; i++) {
                fds[n] = connect_as(h->path, h->uid[i / 2 % 2]);
                CHECK_INT(ask(h, fds[n], PROTO_REQ_STATUS).type, PROTO_REPLY_STATUS);
                n++;
        }
        /* a third uid, below its own cap: the reserve refuses it */
        extra = connect_as(h->path, h->uid[2]);
        CHECK_INT(send_request(extra, PROTO_REQ_STATUS), 0);
        a = await_answer(h, h->buf, extra);
        CHECK_INT(a.type, PROTO_REPLY_ERROR);
        snprintf(want, sizeof(want), "4 connections of other users are open (the last 2 are kept for root)");
        CHECK(strstr(a.text, want) != NULL);
        if (!strstr(a.text, want))
                fprintf(stderr, "  refusal: \"%s\"\n", a.text);
        close(extra);

        /* privileged clients take the reserve */
        for (unsigned i = 0; i < l.reserved; i++) {
                fds[n] = connect_privileged(h);
                CHECK_INT(ask(h, fds[n], PROTO_REQ_STATUS).type, PROTO_REPLY_STATUS);
                n++;
        }
        CHECK_INT(control_clients(h->control), l.max_clients);
        /* and beyond the total, even a privileged one is refused (in words) */
        extra = h->root ? connect_as(h->path, 0) : connect_here(h->path);
        CHECK_INT(send_request(extra, PROTO_REQ_STATUS), 0);
        if (!h->root)
                control_set_self(h->control, getuid());
        a = await_answer(h, h->buf, extra);
        if (!h->root)
                control_set_self(h->control, NOT_US);
        CHECK_INT(a.type, PROTO_REPLY_ERROR);
        CHECK(strstr(a.text, "all 6 connections are taken") != NULL);
        close(extra);

        /* an unprivileged slot freed: the third uid gets in */
        close(fds[0]);
        fds[0] = -EBADF;
        pump(h);
        fds[n] = connect_as(h->path, h->uid[2]);
        CHECK_INT(ask(h, fds[n], PROTO_REQ_STATUS).type, PROTO_REPLY_STATUS);
        n++;
        close_all(h, fds, n);
        CHECK_INT(control_clients(h->control), 0);
}

/* An unprivileged client that keeps asking is closed at its lifetime all
 * the same; a privileged one is not. */
static void test_lifetime(struct harness *h) {
        struct control_limits l = CONTROL_LIMITS_DEFAULT;
        uint64_t start, closed_after = 0;
        unsigned privileged_answers = 0, answers = 0;
        int fds[2];

        l.lifetime_usec = 400 * MSEC;
        set_limits(h, &l);
        fds[1] = connect_privileged(h);
        start = now();
        fds[0] = connect_as(h->path, h->uid[0]);
        pump(h);
        while (now() < start + 3 * l.lifetime_usec) {
                if (!closed_after) {
                        struct answer a = ask(h, fds[0], PROTO_REQ_STATUS);

                        if (a.type == PROTO_REPLY_STATUS)
                                answers++;
                        else {
                                /* EOF, or ECONNRESET/EPIPE for a request sent as it closed */
                                CHECK(a.type == 0 || a.type == -ECONNRESET || a.type == -EPIPE);
                                closed_after = now() - start;
                        }
                }
                if (ask(h, fds[1], PROTO_REQ_STATUS).type == PROTO_REPLY_STATUS)
                        privileged_answers++;
                pump_for(h, 40 * MSEC);
        }
        CHECK(answers >= 3); /* it did keep asking */
        CHECK(closed_after >= l.lifetime_usec);
        CHECK(closed_after > 0 && closed_after < l.lifetime_usec + 400 * MSEC);
        if (!closed_after || closed_after > l.lifetime_usec + 400 * MSEC)
                fprintf(stderr, "  closed after %" PRIu64 " ms (lifetime %" PRIu64 " ms), %u answers\n",
                        closed_after / 1000, l.lifetime_usec / 1000, answers);
        CHECK(privileged_answers >= answers + 3);
        CHECK_INT(ask(h, fds[1], PROTO_REQ_STATUS).type, PROTO_REPLY_STATUS); /* still there */
        close_all(h, fds, ELEMENTSOF(fds));
        CHECK_INT(control_clients(h->control), 0);
}

/* Replies to unprivileged clients that do not read wait in our memory:
 * the first always gets its reply (even one larger than the budget), a
 * later one ERROR EBUSY while it waits; once the first read it, or left,
 * the budget is free again. Privileged replies do not count. The count
 * never underflows: 0 again when every client has gone. */
static void test_queue_budget(struct harness *h) {
        struct control_limits l = CONTROL_LIMITS_DEFAULT;
        uint64_t busy = stats(h).busy_replies;
        size_t reply_len, queued;
        int a, b, c, p;
        struct answer ans;

        l.queue_max = 512 << 10;
        set_limits(h, &l);
        h->big_msgs = 24; /* 1.5 MiB: far beyond what the kernel's socket buffer takes */
        reply_len = h->big_msgs * (sizeof(struct proto_header) + sizeof(struct proto_tracked_head) +
                                   PROTO_TRACKED_PER_MSG * sizeof(struct proto_tracked)) +
                    sizeof(struct proto_header) + sizeof(uint64_t);

        a = connect_as(h->path, h->uid[0]);
        b = connect_as(h->path, h->uid[1]);
        c = connect_as(h->path, h->uid[2]);
        pump(h); /* accepted before self changes for p (without root) */
        p = connect_privileged(h);

        CHECK_INT(ask(h, a, PROTO_REQ_LIST).type, PROTO_REPLY_TRACKED);
        pump(h);
        queued = stats(h).queued;
        CHECK(queued > l.queue_max && queued < reply_len); /* the rest of a's reply, beyond the budget */

        ans = ask(h, b, PROTO_REQ_LIST);
        CHECK_INT(ans.type, PROTO_REPLY_ERROR);
        CHECK_INT(ans.error, -EBUSY);
        CHECK(strstr(ans.text, "busy") != NULL);
        CHECK_INT(stats(h).busy_replies, busy + 1);
        CHECK_INT(stats(h).queued, queued); /* the refusal went out, nothing of it waits */

        /* root's reply is not counted, nor refused */
        CHECK_INT(ask(h, p, PROTO_REQ_LIST).type, PROTO_REPLY_TRACKED);
        pump(h);
        CHECK_INT(stats(h).queued, queued);
        CHECK_INT(read_to_end(h, p), PROTO_REPLY_END);
        CHECK_INT(stats(h).queued, queued);

        /* a reads its reply: the budget is free */
        CHECK_INT(read_to_end(h, a), PROTO_REPLY_END);
        CHECK_INT(stats(h).queued, 0);
        CHECK_INT(ask(h, b, PROTO_REQ_LIST).type, PROTO_REPLY_TRACKED);
        pump(h);
        CHECK(stats(h).queued > 0);
        ans = ask(h, c, PROTO_REQ_LIST);
        CHECK_INT(ans.type, PROTO_REPLY_ERROR);
        CHECK_INT(ans.error, -EBUSY);
        CHECK_INT(stats(h).busy_replies, busy + 2);

        /* b leaves with its reply unread: the budget is free again */
        close(b);
        pump(h);
        CHECK_INT(stats(h).queued, 0);
        CHECK_INT(ask(h, c, PROTO_REQ_LIST).type, PROTO_REPLY_TRACKED);
        CHECK_INT(await_answer(h, h->buf, c).type, PROTO_REPLY_TRACKED); /* reads a little, then leaves */
        pump(h);
        CHECK(stats(h).queued > 0);
        close(c);
        close(a);
        close(p);
        pump(h);
        CHECK_INT(stats(h).queued, 0); /* not an underflow to 2^64 - something */
        CHECK_INT(control_clients(h->control), 0);
        h->big_msgs = 0;
}

/* EMFILE: a child runs the loop with few descriptors left and reports
 * how often the loop turned while connections waited in the backlog. */
struct emfile_report {
        uint64_t iterations;
        uint64_t cpu_usec;
        uint64_t accept_failures;
        uint64_t queued;
        unsigned clients;
};

struct emfile_child {
        struct harness *h;
        int res_fd;
        sd_event_source *window;
        uint64_t iterations, it0, cpu0;
        bool done;
};

static uint64_t cpu_usec(void) {
        struct rusage ru;

        getrusage(RUSAGE_SELF, &ru);
        return (uint64_t) (ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * USEC_PER_SEC +
               (uint64_t) (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static void emfile_send_report(struct emfile_child *ec, uint64_t iterations, uint64_t cpu) {
        struct emfile_report rep = {
                .iterations = iterations,
                .cpu_usec = cpu,
                .accept_failures = stats(ec->h).accept_failures,
                .queued = stats(ec->h).queued,
                .clients = control_clients(ec->h->control),
        };

        if (write(ec->res_fd, &rep, sizeof(rep)) != sizeof(rep))
                _exit(5);
}

static int on_window_end(sd_event_source *s, uint64_t usec, void *userdata) {
        struct emfile_child *ec = userdata;

        emfile_send_report(ec, ec->iterations - ec->it0, cpu_usec() - ec->cpu0);
        return 0;
}

static int on_command(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        struct emfile_child *ec = userdata;
        char cmd;

        if (read(fd, &cmd, 1) != 1) {
                ec->done = true;
                return sd_event_source_set_enabled(s, SD_EVENT_OFF);
        }
        ec->it0 = ec->iterations;
        ec->cpu0 = cpu_usec();
        (void) sd_event_source_set_time_relative(ec->window, 1500 * MSEC);
        return sd_event_source_set_enabled(ec->window, SD_EVENT_ONESHOT);
}

/* The highest descriptor open, every one below it made open too (on
 * /dev/null): a limit of that + 1 + k then leaves exactly k free. */
static int fill_fds(void) {
        int max = 2, null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);

        for (int fd = 3; fd < 4096; fd++)
                if (fcntl(fd, F_GETFD) >= 0)
                        max = fd;
        for (int fd = 0; fd < max; fd++)
                if (fcntl(fd, F_GETFD) < 0)
                        (void) dup3(null_fd, fd, O_CLOEXEC);
        return max;
}

static _Noreturn void emfile_child_run(const char *path, int cmd_fd, int res_fd) {
        struct harness *h = calloc(1, sizeof(*h));
        struct control_limits l = CONTROL_LIMITS_DEFAULT;
        struct emfile_child ec = { .h = h, .res_fd = res_fd };
        struct rlimit rl;

        if (!h || sd_event_new(&h->event) < 0 || control_new(&h->control, h->event, path, handler, h) < 0)
                _exit(3);
        l.accept_pause_usec = 250 * MSEC;
        if (control_set_limits(h->control, &l) < 0 ||
            sd_event_add_io(h->event, NULL, cmd_fd, EPOLLIN, on_command, &ec) < 0 ||
            /* made now, off: the monotonic clock's timerfd exists before descriptors run out */
            sd_event_add_time_relative(h->event, &ec.window, CLOCK_MONOTONIC, USEC_PER_SEC, 0, on_window_end,
                                       &ec) < 0 ||
            sd_event_source_set_enabled(ec.window, SD_EVENT_OFF) < 0)
                _exit(3);
        /* room for 3 more descriptors: 3 clients */
        if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
                _exit(3);
        rl.rlim_cur = (rlim_t) fill_fds() + 1 + 3;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                _exit(3);
        if (write(res_fd, "R", 1) != 1)
                _exit(3);
        while (!ec.done) {
                if (sd_event_run(h->event, UINT64_MAX) < 0)
                        _exit(4);
                ec.iterations++;
        }
        emfile_send_report(&ec, ec.iterations, cpu_usec());
        sd_event_source_unref(ec.window);
        control_free(h->control);
        sd_event_unref(h->event);
        free(h);
        _exit(0);
}

static bool read_timeout(int fd, void *buf, size_t len, int msec) {
        if (poll(&(struct pollfd) { .fd = fd, .events = POLLIN }, 1, msec) != 1)
                return false;
        return read(fd, buf, len) == (ssize_t) len;
}

/* Out of descriptors with connections in the backlog: the loop must not
 * spin on the readable listening socket. It pauses, counts the failure,
 * and accepts again once descriptors are free. */
static void test_emfile(struct harness *h) {
        char path[sizeof(h->path) + 8]; /* the same directory: a short name */
        int cmd[2], res[2], fds[12], status;
        bool answered[12] = {};
        unsigned n_answered = 0, served_later = 0;
        struct emfile_report rep = {}, fin = {};
        struct answer a;
        uint64_t deadline;
        pid_t pid;
        char ready;
        int extra;

        snprintf(path, sizeof(path), "%s-emfile", h->path);
        CHECK(pipe2(cmd, O_CLOEXEC) == 0 && pipe2(res, O_CLOEXEC) == 0);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                close(cmd[1]);
                close(res[0]);
                emfile_child_run(path, cmd[0], res[1]);
        }
        close(cmd[0]);
        close(res[1]);
        CHECK(read_timeout(res[0], &ready, 1, 5000) && ready == 'R');

        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                fds[i] = connect_here(path);
                CHECK(fds[i] >= 0);
                CHECK_INT(send_request(fds[i], PROTO_REQ_STATUS), 0);
        }
        usleep(400 * 1000);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                ssize_t k = recv(fds[i], h->buf, PROTO_MAX_REPLY, MSG_DONTWAIT);

                if (k > 0 && decode_answer(h->buf, (size_t) k).type == PROTO_REPLY_STATUS) {
                        answered[i] = true;
                        n_answered++;
                }
        }
        CHECK(n_answered >= 1 && n_answered < ELEMENTSOF(fds)); /* some fit, not all */

        /* the loop over 1.5 s with 12 - n connections in the backlog */
        CHECK(write(cmd[1], "m", 1) == 1);
        CHECK(read_timeout(res[0], &rep, sizeof(rep), 10000));
        CHECK(rep.iterations < 200);
        CHECK(rep.cpu_usec < 300 * MSEC);
        CHECK(rep.accept_failures > 0);
        CHECK_INT(rep.clients, n_answered);
        printf("EMFILE: %u of %zu clients fit; then %" PRIu64 " loop iterations, %" PRIu64 " ms CPU in 1.5 s, %"
               PRIu64 " accept failures\n", n_answered, ELEMENTSOF(fds), rep.iterations, rep.cpu_usec / 1000,
               rep.accept_failures);

        /* descriptors freed: the rest are accepted and answered */
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (answered[i]) {
                        close(fds[i]);
                        fds[i] = -EBADF;
                }
        deadline = now() + 10 * USEC_PER_SEC;
        while (served_later < ELEMENTSOF(fds) - n_answered && now() < deadline)
                for (size_t i = 0; i < ELEMENTSOF(fds); i++) {
                        ssize_t k;

                        if (fds[i] < 0)
                                continue;
                        (void) poll(&(struct pollfd) { .fd = fds[i], .events = POLLIN }, 1, 10);
                        k = recv(fds[i], h->buf, PROTO_MAX_REPLY, MSG_DONTWAIT);
                        if (k < 0 && errno == EAGAIN)
                                continue;
                        CHECK(k > 0 && decode_answer(h->buf, (size_t) k).type == PROTO_REPLY_STATUS);
                        served_later++;
                        close(fds[i]);
                        fds[i] = -EBADF;
                }
        CHECK_INT(served_later, ELEMENTSOF(fds) - n_answered);
        extra = connect_here(path);
        CHECK_INT(send_request(extra, PROTO_REQ_STATUS), 0);
        a = await_answer(NULL, h->buf, extra);
        CHECK_INT(a.type, PROTO_REPLY_STATUS);
        close(extra);
        for (size_t i = 0; i < ELEMENTSOF(fds); i++)
                if (fds[i] >= 0)
                        close(fds[i]);

        close(cmd[1]);
        CHECK(read_timeout(res[0], &fin, sizeof(fin), 5000));
        CHECK(fin.accept_failures >= rep.accept_failures);
        CHECK_INT(fin.queued, 0);
        close(res[0]);
        CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

int main(void) {
        char dir[] = "/tmp/finwatch-test-control-XXXXXX";
        struct harness *h = calloc(1, sizeof(*h));

        signal(SIGPIPE, SIG_IGN);
        CHECK(h != NULL);
        CHECK(mkdtemp(dir) != NULL);
        CHECK(chmod(dir, 0755) == 0); /* other uids connect too */
        snprintf(h->path, sizeof(h->path), "%s/control", dir);
        h->root = geteuid() == 0;
        for (size_t i = 0; i < ELEMENTSOF(h->uid); i++)
                h->uid[i] = h->root ? (uid_t) (65534 - i) : getuid();
        if (!h->root)
                printf("not root: one unprivileged uid (ours, %u), the checks of several uids made with it\n",
                       (unsigned) getuid());

        CHECK_INT(sd_event_new(&h->event), 0);
        CHECK_INT(control_new(&h->control, h->event, h->path, handler, h), 0);
        control_set_self(h->control, h->root ? 0 : NOT_US);

        test_per_uid_cap(h);
        test_full(h);
        test_reserve(h);
        test_lifetime(h);
        test_queue_budget(h);
        test_emfile(h);

        control_free(h->control);
        sd_event_unref(h->event);
        free(h);
        rmdir(dir);
        return test_result("test-control");
}
