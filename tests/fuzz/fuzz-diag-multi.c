/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Dumps across several datagrams, as the daemon reads them: the input is
 * what a kernel answers to each request (datagrams, failed receives) and
 * when the daemon polls. Every poll is the real manager_poll() over a
 * sock_diag socket that is a fake kernel (diag_open_fake), so the dump
 * loop, the ENOBUFS restart, the drain of a failed exchange, the tracker,
 * the alerts and the auto-kill policy all run on it; the CLI's snapshot
 * and a lone kill run on the same queue. Checked after each step:
 *   - a poll that succeeded saw NLMSG_DONE answer the last dump request of
 *     each family it dumps, and a failed one forgot nothing;
 *   - the table holds valid sockets only, and the summary counts it all;
 *   - a snapshot holds each cookie once;
 *   - SOCK_DESTROY is only ever sent for the cookie just looked up, in a
 *     closing state, and never with the "no cookie" wildcard;
 *   - every journal record is made of well-formed fields.
 *
 * The script, one byte of operation and its arguments at a time:
 *   header: 4 bytes: kill policy (bits 0-1: no, dry run, yes) and families
 *     (bit 2: one, bit 3: v6), more states (bit 4), alert_after (s),
 *     kill_after (s), kill_max_per_minute (0: the default)
 *   op%8 == 0 DGRAM  len(2, LE) bytes: a datagram of the answer being made,
 *                    every header's seq and port set to the request's
 *   op%8 == 1 RAW    len(2, LE) bytes: the same, left as it is
 *   op%8 == 2 FAIL   e: a receive that fails (ENOBUFS, EMSGSIZE, EPROTO, ...)
 *   op%8 == 3 SOCKS  n, n x 3 bytes (cookie, state, flags): a well-formed
 *                    datagram of n sockets, op>>3 picks how it ends
 *                    (nothing, NLMSG_DONE, DONE with an error, NLMSG_ERROR...)
 *   op%8 == 4 ANSWER the answer being made goes to the next request (an
 *                    empty one too; POLL, SNAP and KILL close a non-empty one)
 *   op%8 == 5 POLL   s: s seconds later, one manager_poll()
 *   op%8 == 6 SNAP   f: diag_snapshot_take() (f: both families, v4, v6)
 *   op%8 == 7 KILL   c: diag_kill() of the socket with cookie c
 * A request with no answer left gets nothing (its receive times out). */
#include <arpa/inet.h>
#include <errno.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "log.h"
#include "manager.h"
#include "util.h"

/* The parser reads the datagram from the diag's own 64 KiB buffer: the
 * bytes past what was received are poisoned, so that ASan sees a read
 * beyond the datagram as it would past a buffer of its exact size. */
#ifndef __has_feature
#define __has_feature(x) 0
#endif
#if __has_feature(address_sanitizer) || defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#else
#define ASAN_POISON_MEMORY_REGION(p, n) ((void) (p), (void) (n))
#define ASAN_UNPOISON_MEMORY_REGION(p, n) ((void) (p), (void) (n))
#endif

#define MAX_ITEMS 512
#define MAX_ANSWERS 128
#define MAX_REQUESTS 256
#define ITEM_MAX 65535           /* bytes of a datagram: what a 2-byte length says */
#define S UINT64_C(1000000)

struct item {
        uint8_t *data;           /* NULL: a failed receive */
        size_t len;
        int error;
        bool stamp;              /* seq and port set to those of the request it answers */
        size_t answer;           /* which answer it belongs to */
};

struct request {
        uint16_t type;           /* SOCK_DIAG_BY_FAMILY (dump or lookup), SOCK_DESTROY */
        bool dump;
        uint8_t family;
        uint32_t seq;
        uint64_t cookie;         /* of a lookup or destroy */
        bool done_served;        /* a datagram with NLMSG_DONE in its seq came after it */
};

struct fake {
        struct item items[MAX_ITEMS];
        size_t n_items;
        size_t answer_end[MAX_ANSWERS]; /* items of answer a: [end[a-1], end[a]) */
        size_t n_answers;        /* closed ones */
        size_t answered;         /* answers handed to requests */
        uint32_t answer_seq[MAX_ANSWERS];
        size_t head, tail;       /* the receive queue: items[head..tail) */
        struct request requests[MAX_REQUESTS];
        size_t n_requests;
        struct manager *m;
        uint64_t allowed_cookie; /* a lone kill's, or 0: any tracked one (the policy's) */
};

static struct fake fake;

/* Where each header of a datagram is that the parser could reach, in
 * order (it walks them as validate_headers() in diag.c does). */
static size_t header_offsets(const uint8_t *buf, size_t len, size_t *offsets, size_t max) {
        size_t n = 0, off = 0;

        while (n < max && len - off >= sizeof(struct nlmsghdr)) {
                struct nlmsghdr h;
                size_t step;

                memcpy(&h, buf + off, sizeof(h));
                if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
                        break;
                offsets[n++] = off;
                step = NLMSG_ALIGN((size_t) h.nlmsg_len);
                off += step < len - off ? step : len - off;
        }
        return n;
}

static int fake_send(const void *req, size_t len, void *userdata) {
        struct fake *f = userdata;
        struct request *q;
        struct nlmsghdr h;
        struct inet_diag_req_v2 r;

        if (len < NLMSG_HDRLEN + sizeof(r))
                abort(); /* every request finwatch makes carries one */
        memcpy(&h, req, sizeof(h));
        memcpy(&r, (const uint8_t *) req + NLMSG_HDRLEN, sizeof(r));
        if (f->n_requests >= MAX_REQUESTS)
                return -ENOBUFS;
        q = &f->requests[f->n_requests++];
        *q = (struct request) {
                .type = h.nlmsg_type,
                .dump = h.nlmsg_flags & NLM_F_DUMP,
                .family = r.sdiag_family,
                .seq = h.nlmsg_seq,
                .cookie = (uint64_t) r.id.idiag_cookie[1] << 32 | r.id.idiag_cookie[0],
        };
        if (h.nlmsg_type == SOCK_DESTROY) {
                const struct request *get = f->n_requests >= 2 ? &f->requests[f->n_requests - 2] : NULL;

                /* never the wildcard, never a state that is not closing, and
                 * only the socket just looked up (and asked to be killed) */
                if (q->cookie == UINT64_MAX || (r.idiag_states & ~DIAG_STATES_CLOSING) ||
                    __builtin_popcount(r.idiag_states) != 1)
                        abort();
                if (!get || get->type != SOCK_DIAG_BY_FAMILY || get->dump || get->cookie != q->cookie)
                        abort();
                if (f->allowed_cookie ? q->cookie != f->allowed_cookie : !tracker_get(f->m->tracker, q->cookie))
                        abort();
        }
        /* the kernel's replies queue up behind whatever is still unread */
        if (f->answered < f->n_answers) {
                f->answer_seq[f->answered] = h.nlmsg_seq;
                f->tail = f->answer_end[f->answered++];
        }
        return 0;
}

static ssize_t fake_recv(void *buf, size_t size, void *userdata) {
        static size_t offsets[ITEM_MAX / sizeof(struct nlmsghdr)];
        struct fake *f = userdata;
        struct item *it;
        size_t n;

        ASAN_UNPOISON_MEMORY_REGION(buf, size);
        if (f->head >= f->tail)
                return -EAGAIN;
        it = &f->items[f->head++];
        if (!it->data)
                return it->error;
        if (it->len > size)
                abort();
        memcpy(buf, it->data, it->len);
        ASAN_POISON_MEMORY_REGION((uint8_t *) buf + it->len, size - it->len);
        n = header_offsets(buf, it->len, offsets, ELEMENTSOF(offsets));
        for (size_t i = 0; i < n; i++) {
                struct nlmsghdr h;

                memcpy(&h, (uint8_t *) buf + offsets[i], sizeof(h));
                if (it->stamp) {
                        h.nlmsg_seq = f->answer_seq[it->answer];
                        h.nlmsg_pid = DIAG_FAKE_PORTID;
                        memcpy((uint8_t *) buf + offsets[i], &h, sizeof(h));
                }
                /* which request a DONE here ends */
                if (h.nlmsg_type == NLMSG_DONE && (h.nlmsg_pid == 0 || h.nlmsg_pid == DIAG_FAKE_PORTID))
                        for (size_t q = 0; q < f->n_requests; q++)
                                if (f->requests[q].seq == h.nlmsg_seq)
                                        f->requests[q].done_served = true;
        }
        return (ssize_t) it->len;
}

/* ---- the script ---- */

struct script {
        const uint8_t *p;
        size_t left;
};

static unsigned next_byte(struct script *s) {
        if (s->left == 0)
                return 0;
        s->left--;
        return *s->p++;
}

/* The answer being made goes to the next request; an empty one only when
 * the script says so (ANSWER), for a request that gets nothing. */
static void close_answer(struct fake *f, bool even_empty) {
        size_t start = f->n_answers ? f->answer_end[f->n_answers - 1] : 0;

        if (f->n_answers < MAX_ANSWERS && (even_empty || f->n_items > start))
                f->answer_end[f->n_answers++] = f->n_items;
}

static struct item *new_item(struct fake *f) {
        struct item *it;

        if (f->n_items >= MAX_ITEMS || f->n_answers >= MAX_ANSWERS)
                return NULL;
        it = &f->items[f->n_items++];
        *it = (struct item) { .answer = f->n_answers };
        return it;
}

static void add_bytes(struct fake *f, struct script *s, bool stamp) {
        size_t len = next_byte(s);
        struct item *it;

        len |= (size_t) next_byte(s) << 8;
        if (len > s->left)
                len = s->left;
        it = new_item(f);
        if (it) {
                it->data = malloc(len ? len : 1);
                memcpy(it->data, s->p, len);
                it->len = len;
                it->stamp = stamp;
        }
        s->p += len;
        s->left -= len;
}

static void add_failure(struct fake *f, struct script *s) {
        static const int errors[] = { ENOBUFS, EMSGSIZE, EPROTO, EAGAIN, ENOMEM, EINTR };
        struct item *it = new_item(f);
        unsigned e = next_byte(s);

        if (it)
                it->error = -errors[e % ELEMENTSOF(errors)];
}

/* A datagram as the kernel makes it: n sockets, then how it ends. */
static void add_socks(struct fake *f, struct script *s, unsigned end) {
        static uint8_t buf[ITEM_MAX] __attribute__((aligned(8)));
        unsigned n = next_byte(s) % 64;
        size_t off = 0;
        struct item *it;

        for (unsigned i = 0; i < n; i++) {
                unsigned cookie = next_byte(s), state = next_byte(s), flags = next_byte(s);
                struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + off);
                struct inet_diag_msg *m;

                nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
                nlh->nlmsg_flags = NLM_F_MULTI;
                m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
                m->idiag_family = flags & 1 ? AF_INET6 : AF_INET;
                m->idiag_state = (uint8_t) (state & 0xf);
                m->idiag_timer = flags & 8 ? DIAG_TIMER_PERSIST : DIAG_TIMER_RETRANS;
                m->idiag_retrans = (uint8_t) (flags >> 4);
                m->idiag_inode = flags & 2 ? 0 : 4242 + cookie;
                m->id.idiag_sport = htons(9000);
                m->id.idiag_dport = htons((uint16_t) (40000 + cookie));
                m->id.idiag_src[0] = htonl(INADDR_LOOPBACK);
                m->id.idiag_dst[0] = htonl(INADDR_LOOPBACK + 1 + (state >> 4));
                /* cookie 0 (none), and INET_DIAG_NOCOOKIE: never to be destroyed */
                m->id.idiag_cookie[0] = state >> 4 == 0xf ? UINT32_MAX : cookie;
                m->id.idiag_cookie[1] = state >> 4 == 0xf ? UINT32_MAX : 0;
                if (flags & 4) {
                        struct tcp_info ti = { .tcpi_retransmits = (uint8_t) (flags >> 4), .tcpi_backoff = 3,
                                               .tcpi_rto = 1600000, .tcpi_snd_wnd = state >> 4 };

                        mnl_attr_put(nlh, INET_DIAG_INFO, sizeof(ti), &ti);
                }
                mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 3);
                off += nlh->nlmsg_len;
        }
        if (end % 8 >= 1 && end % 8 <= 5) {
                struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + off);

                nlh->nlmsg_flags = NLM_F_MULTI;
                switch (end % 8) {
                case 1: /* the dump is done */
                case 2: /* ... and failed half way */
                        nlh->nlmsg_type = NLMSG_DONE;
                        *(int *) mnl_nlmsg_put_extra_header(nlh, sizeof(int)) = end % 8 == 1 ? 0 : -EINTR;
                        break;
                case 3: /* an error in place of the rest */
                case 4: /* an ACK */
                        nlh->nlmsg_type = NLMSG_ERROR;
                        ((struct nlmsgerr *) mnl_nlmsg_put_extra_header(nlh, sizeof(struct nlmsgerr)))->error =
                                end % 8 == 3 ? -ENOENT : 0;
                        break;
                case 5: /* DONE without its status */
                        nlh->nlmsg_type = NLMSG_DONE;
                        break;
                }
                off += nlh->nlmsg_len;
        }
        it = new_item(f);
        if (it) {
                it->data = malloc(off ? off : 1);
                memcpy(it->data, buf, off);
                it->len = off;
                it->stamp = true;
        }
}

/* ---- the checks ---- */

static void check_field(const struct iovec *v) {
        const char *s = v->iov_base, *eq = memchr(s, '=', v->iov_len);

        if (!eq || eq == s || s[0] == '_')
                abort();
        for (const char *c = s; c < eq; c++)
                if (!((*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '_'))
                        abort();
}

static int sink(const struct iovec *iov, int n, void *userdata) {
        for (int i = 0; i < n; i++)
                check_field(&iov[i]);
        return 0;
}

static void check_table(const struct manager *m) {
        const struct tracked *e;
        size_t iter = 0, n = 0;

        while ((e = tracker_next(m->tracker, &iter))) {
                if (e->id.cookie == 0 || (e->id.family != AF_INET && e->id.family != AF_INET6) || e->state == 0 ||
                    e->state >= FW_TCP_MAX_STATES)
                        abort();
                n++;
        }
        if (n != tracker_size(m->tracker) || m->summary.tracked != n)
                abort();
}

static void do_poll(struct fake *f, struct manager *m, uint64_t now) {
        static const struct {
                unsigned flag;
                int family;
        } families[] = { { CONFIG_FAMILY_IPV4, AF_INET }, { CONFIG_FAMILY_IPV6, AF_INET6 } };
        uint64_t *before = NULL;
        size_t n_before = 0, iter = 0, first = f->n_requests;
        const struct tracked *e;
        int r;

        before = malloc((tracker_size(m->tracker) + 1) * sizeof(*before));
        while ((e = tracker_next(m->tracker, &iter)))
                before[n_before++] = e->id.cookie;
        f->allowed_cookie = 0;
        r = manager_poll(m, now);
        if (r > 0 || r != m->last_poll_error)
                abort();
        if (r == 0) {
                /* complete only when DONE came for each family's last dump */
                for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                        const struct request *last = NULL;

                        if (!(m->config.families & families[i].flag))
                                continue;
                        for (size_t q = first; q < f->n_requests; q++)
                                if (f->requests[q].dump && f->requests[q].family == families[i].family)
                                        last = &f->requests[q];
                        if (!last || !last->done_served)
                                abort();
                }
        } else
                /* a partial dump proves nothing gone */
                for (size_t i = 0; i < n_before; i++)
                        if (!tracker_get(m->tracker, before[i]))
                                abort();
        free(before);
        check_table(m);
}

static void do_snapshot(struct manager *m, unsigned how) {
        static const int families[] = { AF_UNSPEC, AF_INET, AF_INET6 };
        struct diag_snapshot snap = DIAG_SNAPSHOT_OF(struct fw_sock, id);

        if (diag_snapshot_take(manager_diag_of(m, 0), families[how % 3], m->config.states, &snap) == 0)
                for (size_t i = 0; i < snap.n; i++) {
                        const struct fw_sock *s = diag_snapshot_sock(&snap, i);

                        if ((s->id.family != AF_INET && s->id.family != AF_INET6) || s->state == 0 ||
                            s->state >= FW_TCP_MAX_STATES)
                                abort();
                        for (size_t j = 0; j < i; j++)
                                if (diag_snapshot_sock(&snap, j)->id.cookie == s->id.cookie)
                                        abort();
                }
        diag_snapshot_done(&snap);
}

/* A lone kill (a KILL request's, or the CLI's without a daemon): the
 * tracked socket with this cookie, or one made up. */
static void do_kill(struct fake *f, struct manager *m, unsigned cookie) {
        const struct tracked *e = tracker_get(m->tracker, cookie);
        struct sock_id id = { .family = AF_INET, .cookie = cookie, .sport = 9000, .dport = 40000 };
        uint8_t state = FW_TCP_LAST_ACK;

        if (e)
                id = e->id;
        f->allowed_cookie = id.cookie;
        if (diag_kill(manager_diag_of(m, 0), &id, &state) > 0)
                abort();
        f->allowed_cookie = 0;
}

static int setup(struct manager **ret) {
        _cleanup_(manager_freep) struct manager *m = calloc(1, sizeof(*m));
        const struct diag_fake_kernel kernel = { .send = fake_send, .recv = fake_recv, .userdata = &fake };
        struct diag *d;
        int r;

        if (!m)
                return -ENOMEM;
        config_defaults(&m->config);
        m->config.state_file[0] = '\0';
        m->config.orphan_budget_bp = 0; /* the host's orphan count is no input */
        r = tracker_new(&m->tracker);
        if (r >= 0)
                r = labels_new(&m->labels, NULL);
        if (r >= 0)
                r = netns_set_new(&m->netns);
        if (r >= 0)
                r = diag_open_fake(&kernel, &d);
        if (r < 0)
                return r;
        /* our namespace's sock_diag socket is the fake kernel */
        diag_free(m->netns->v[0].diag);
        m->netns->v[0].diag = d;
        alerter_init(&m->alerter, m->config.alert_max_per_minute, sink, NULL);
        m->orphan_budget_armed = true;
        *ret = TAKE_PTR(m);
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        struct script s = { .p = data, .left = size };
        struct manager *m;
        uint64_t now = 1000 * S;
        unsigned h[4];

        log_max_level = LOG_CRIT; /* a failed poll is told; here it is the point */
        unsetenv("NOTIFY_SOCKET");
        fake = (struct fake) {};
        if (setup(&m) < 0)
                return 0;
        fake.m = m;
        for (size_t i = 0; i < ELEMENTSOF(h); i++)
                h[i] = next_byte(&s);
        m->config.kill_auto = (h[0] & 3) % 3;
        if (h[0] & 4)
                m->config.families = h[0] & 8 ? CONFIG_FAMILY_IPV6 : CONFIG_FAMILY_IPV4;
        if (h[0] & 16)
                m->config.states |= DIAG_STATES_CLOSING;
        m->config.alert_after = h[1] * S;
        m->config.kill_after = h[2] * S;
        m->config.kill_after_fin_wait_1 = m->config.kill_after_last_ack = 0; /* kill_after for both */
        if (h[3])
                m->config.kill_max_per_minute = h[3];
        m->started = now;

        while (s.left > 0) {
                unsigned op = next_byte(&s);

                switch (op % 8) {
                case 0:
                case 1:
                        add_bytes(&fake, &s, op % 8 == 0);
                        break;
                case 2:
                        add_failure(&fake, &s);
                        break;
                case 3:
                        add_socks(&fake, &s, op >> 3);
                        break;
                case 4:
                        close_answer(&fake, true);
                        break;
                case 5:
                        close_answer(&fake, false);
                        now += next_byte(&s) * S;
                        do_poll(&fake, m, now);
                        break;
                case 6:
                        close_answer(&fake, false);
                        do_snapshot(m, next_byte(&s));
                        break;
                case 7:
                        close_answer(&fake, false);
                        do_kill(&fake, m, next_byte(&s));
                        break;
                }
        }
        /* and a last poll over whatever is left */
        close_answer(&fake, false);
        do_poll(&fake, m, now + 3600 * S);

        manager_free(m);
        for (size_t i = 0; i < fake.n_items; i++)
                free(fake.items[i].data);
        return 0;
}
