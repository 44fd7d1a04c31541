/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <fcntl.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "diag.h"
#include "util.h"

/* The kernel caps one dump datagram near 32 KiB (netlink's max_recvmsg_len);
 * twice that leaves room so MSG_TRUNC never happens with a sane kernel. */
#define DIAG_RECV_SIZE 65536

/* The original struct tcp_info (Linux 2.6) ends before tcpi_rcv_rtt; an
 * INET_DIAG_INFO shorter than that is not a tcp_info at all. */
#define TCP_INFO_MIN_LEN offsetof(struct tcp_info, tcpi_rcv_rtt)

/* What struct tcp_info has after tcpi_snd_wnd, where the headers of Debian 12
 * (Linux 6.1) end: include/uapi/linux/tcp.h of Linux 6.7 and later. */
struct tcp_info_tail {
        uint32_t rcv_wnd;
        uint32_t rehash;
        uint16_t total_rto;
        uint16_t total_rto_recoveries;
        uint32_t total_rto_time;
};
#define TCP_INFO_TAIL_OFFSET (offsetof(struct tcp_info, tcpi_snd_wnd) + sizeof(uint32_t))
_Static_assert(TCP_INFO_TAIL_OFFSET == 232, "struct tcp_info: tcpi_snd_wnd at 228 (ABI)");

/* How long one receive may block before the dump is declared stuck. */
#define DIAG_RECV_TIMEOUT_SEC 10

struct diag {
        struct mnl_socket *nl;   /* NULL for a fake (diag_open_fake) */
        struct diag_fake_kernel fake;
        uint32_t portid;
        uint32_t seq;        /* last sequence number used */
        bool dirty;          /* a failed exchange may have left replies queued */
        uint8_t buf[DIAG_RECV_SIZE] __attribute__((aligned(8)));
};

static_assert(sizeof(struct inet_diag_msg) % NLMSG_ALIGNTO == 0, "inet_diag_msg is padded");

/* Walk the netlink headers of a datagram ourselves before libmnl sees it:
 * libmnl 1.0.4 reads nlmsg_len as int, so a length >= 2^31 would pass its
 * checks. Each message must lie wholly within the bytes received. */
static int validate_headers(const uint8_t *buf, size_t len) {
        size_t off = 0;

        if (len == 0)
                return -EBADMSG;

        while (off < len) {
                struct nlmsghdr h;
                size_t step;

                if (len - off < sizeof(h))
                        return -EBADMSG;
                memcpy(&h, buf + off, sizeof(h));
                if (h.nlmsg_len < sizeof(h) || h.nlmsg_len > len - off)
                        return -EBADMSG;

                /* The last message may come without its alignment padding. */
                step = NLMSG_ALIGN((size_t) h.nlmsg_len);
                off += step < len - off ? step : len - off;
        }
        return 0;
}

struct parse_ctx {
        diag_sock_fn fn;
        void *userdata;
        int error;           /* first error met in a callback, negative errno */
        bool done;           /* NLMSG_DONE seen */
        bool acked;          /* NLMSG_ERROR with error 0 seen */
};

static int ctx_fail(struct parse_ctx *ctx, int error) {
        if (ctx->error == 0)
                ctx->error = error;
        return MNL_CB_ERROR;
}

static int parse_attrs(const uint8_t *p, size_t rem, struct fw_sock *s) {
        uint32_t seen = 0;

        while (rem > 0) {
                const struct nlattr *a = (const struct nlattr *) p;
                const uint8_t *data;
                uint16_t type;
                size_t dlen, step;

                if (rem < sizeof(struct nlattr) || !mnl_attr_ok(a, (int) rem))
                        return -EBADMSG;

                type = mnl_attr_get_type(a);
                data = mnl_attr_get_payload(a);
                dlen = mnl_attr_get_payload_len(a);

                /* The kernel never repeats an attribute we read (it may
                 * repeat INET_DIAG_PAD, one before each 64-bit attribute on
                 * some architectures). */
                if (type == INET_DIAG_INFO || type == INET_DIAG_SHUTDOWN || type == INET_DIAG_CGROUP_ID) {
                        if (seen & (UINT32_C(1) << type))
                                return -EBADMSG;
                        seen |= UINT32_C(1) << type;
                }

                switch (type) {
                case INET_DIAG_INFO: {
                        struct tcp_info ti = {};
                        struct tcp_info_tail tail = {};

                        if (dlen < TCP_INFO_MIN_LEN)
                                return -EBADMSG;
                        /* A newer kernel's longer tcp_info is cut to ours, an
                         * older one's shorter leaves the rest zero. */
                        memcpy(&ti, data, dlen < sizeof(ti) ? dlen : sizeof(ti));
                        if (dlen >= TCP_INFO_TAIL_OFFSET + sizeof(tail))
                                memcpy(&tail, data + TCP_INFO_TAIL_OFFSET, sizeof(tail));
                        s->info = (struct fw_tcp_info) {
                                .len = dlen > UINT32_MAX ? UINT32_MAX : (uint32_t) dlen,
                                .retransmits = ti.tcpi_retransmits,
                                .probes = ti.tcpi_probes,
                                .backoff = ti.tcpi_backoff,
                                .options = ti.tcpi_options,
                                .rto = ti.tcpi_rto,
                                .unacked = ti.tcpi_unacked,
                                .total_retrans = ti.tcpi_total_retrans,
                                .last_data_sent = ti.tcpi_last_data_sent,
                                .last_ack_recv = ti.tcpi_last_ack_recv,
                                .notsent_bytes = ti.tcpi_notsent_bytes,
                                .snd_wnd = ti.tcpi_snd_wnd,
                                .has_snd_wnd = dlen >= offsetof(struct tcp_info, tcpi_snd_wnd) + sizeof(ti.tcpi_snd_wnd),
                                .last_data_recv = ti.tcpi_last_data_recv,
                                .segs_in = ti.tcpi_segs_in,
                                .data_segs_in = ti.tcpi_data_segs_in,
                                .has_total_rto = dlen >= TCP_INFO_TAIL_OFFSET + sizeof(tail),
                                .total_rto = tail.total_rto,
                                .total_rto_recoveries = tail.total_rto_recoveries,
                                .total_rto_time = tail.total_rto_time,
                        };
                        break;
                }
                case INET_DIAG_SHUTDOWN:
                        if (dlen != sizeof(uint8_t))
                                return -EBADMSG;
                        s->shutdown = *data;
                        s->has_shutdown = true;
                        break;
                case INET_DIAG_CGROUP_ID:
                        if (dlen != sizeof(uint64_t))
                                return -EBADMSG;
                        s->cgroup_id = mnl_attr_get_u64(a);
                        s->has_cgroup_id = true;
                        break;
                default:
                        /* Unknown and padding attributes are skipped. */
                        break;
                }

                step = MNL_ALIGN((size_t) a->nla_len);
                if (step > rem)
                        step = rem; /* the last attribute may lack padding */
                p += step;
                rem -= step;
        }
        return 0;
}

static int dump_data_cb(const struct nlmsghdr *nlh, void *data) {
        struct parse_ctx *ctx = data;
        const struct inet_diag_msg *m;
        struct fw_sock s = {};
        size_t plen;
        int r;

        if (nlh->nlmsg_type != SOCK_DIAG_BY_FAMILY)
                return ctx_fail(ctx, -EBADMSG);

        plen = mnl_nlmsg_get_payload_len(nlh);
        if (plen < sizeof(*m))
                return ctx_fail(ctx, -EBADMSG);
        m = mnl_nlmsg_get_payload(nlh);

        if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
                return ctx_fail(ctx, -EBADMSG);
        if (m->idiag_state == 0 || m->idiag_state >= FW_TCP_MAX_STATES)
                return ctx_fail(ctx, -EBADMSG);

        s.id.family = m->idiag_family;
        s.state = m->idiag_state;
        s.fate_msec = FATE_UNKNOWN; /* until cause_annotate() */
        s.timer = m->idiag_timer;
        s.timer_count = m->idiag_retrans;
        s.timer_expires = m->idiag_expires;
        s.recv_q = m->idiag_rqueue;
        s.send_q = m->idiag_wqueue;
        s.uid = m->idiag_uid;
        s.inode = m->idiag_inode;
        s.id.sport = ntohs(m->id.idiag_sport);
        s.id.dport = ntohs(m->id.idiag_dport);
        s.id.ifindex = m->id.idiag_if;
        s.id.cookie = (uint64_t) m->id.idiag_cookie[1] << 32 | m->id.idiag_cookie[0];
        memcpy(s.id.src, m->id.idiag_src, sizeof(s.id.src));
        memcpy(s.id.dst, m->id.idiag_dst, sizeof(s.id.dst));

        r = parse_attrs((const uint8_t *) m + sizeof(*m), plen - sizeof(*m), &s);
        if (r < 0)
                return ctx_fail(ctx, r);

        r = ctx->fn ? ctx->fn(&s, ctx->userdata) : 0;
        if (r < 0)
                return ctx_fail(ctx, r);
        return MNL_CB_OK;
}

static int done_cb(const struct nlmsghdr *nlh, void *data) {
        struct parse_ctx *ctx = data;
        int status;

        /* NLMSG_DONE carries the dump's own result: a negative errno when the
         * kernel gave up half way. libmnl's default ignores it. */
        if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(status)) {
                memcpy(&status, mnl_nlmsg_get_payload(nlh), sizeof(status));
                if (status < 0)
                        return ctx_fail(ctx, status);
        }
        ctx->done = true;
        return MNL_CB_STOP;
}

static int error_cb(const struct nlmsghdr *nlh, void *data) {
        struct parse_ctx *ctx = data;
        struct nlmsgerr e;

        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(e))
                return ctx_fail(ctx, -EBADMSG);
        memcpy(&e, mnl_nlmsg_get_payload(nlh), sizeof(e));
        if (e.error > 0 || e.error < -4095)
                return ctx_fail(ctx, -EBADMSG);
        if (e.error < 0)
                return ctx_fail(ctx, e.error);
        ctx->acked = true;
        return MNL_CB_STOP;
}

static int run_callbacks(const void *buf, size_t len, uint32_t seq, uint32_t portid,
                         struct parse_ctx *ctx) {
        static mnl_cb_t ctl_cbs[NLMSG_MIN_TYPE] = {
                [NLMSG_ERROR] = error_cb,
                [NLMSG_DONE] = done_cb,
        };
        int r;

        /* libmnl casts the buffer to headers: it must be aligned. */
        assert(((uintptr_t) buf & (NLMSG_ALIGNTO - 1)) == 0);

        r = validate_headers(buf, len);
        if (r < 0)
                return r;

        errno = 0;
        r = mnl_cb_run2(buf, len, seq, portid, dump_data_cb, ctx, ctl_cbs, ELEMENTSOF(ctl_cbs));
        if (r == MNL_CB_ERROR) {
                if (ctx->error < 0)
                        return ctx->error;
                /* libmnl's own checks: ESRCH foreign port, EPROTO foreign seq,
                 * EINTR dump interrupted, EBADMSG short message. */
                if (errno == ESRCH)
                        return -EPROTO;
                return errno > 0 ? -errno : -EBADMSG;
        }
        return 0;
}

int diag_parse_dump(const void *buf, size_t len, uint32_t seq, uint32_t portid,
                    diag_sock_fn fn, void *userdata) {
        struct parse_ctx ctx = { .fn = fn, .userdata = userdata };
        int r;

        r = run_callbacks(buf, len, seq, portid, &ctx);
        if (r < 0)
                return r;
        if (ctx.acked)
                return -EBADMSG; /* an ACK is no answer to a dump */
        return ctx.done ? 1 : 0;
}

int diag_parse_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid) {
        struct parse_ctx ctx = {};
        int r;

        /* Only the ACK (or the error) counts; anything else is no answer. */
        r = run_callbacks(buf, len, seq, portid, &ctx);
        if (r < 0)
                return r;
        return ctx.acked ? 0 : -EBADMSG;
}

size_t diag_build_dump_request(void *buf, uint32_t seq, int family, uint32_t states) {
        struct nlmsghdr *nlh;
        struct inet_diag_req_v2 *req;

        memset(buf, 0, DIAG_REQUEST_SIZE);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
        nlh->nlmsg_seq = seq;

        req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
        req->sdiag_family = (uint8_t) family;
        req->sdiag_protocol = IPPROTO_TCP;
        req->idiag_states = states;
        /* INET_DIAG_SHUTDOWN and INET_DIAG_CGROUP_ID come unasked. */
        req->idiag_ext = 1 << (INET_DIAG_INFO - 1);

        assert(nlh->nlmsg_len <= DIAG_REQUEST_SIZE);
        return nlh->nlmsg_len;
}

size_t diag_build_destroy_request(void *buf, uint32_t seq, const struct sock_id *id, uint32_t states) {
        struct nlmsghdr *nlh;
        struct inet_diag_req_v2 *req;

        memset(buf, 0, DIAG_REQUEST_SIZE);
        nlh = mnl_nlmsg_put_header(buf);
        nlh->nlmsg_type = SOCK_DESTROY;
        nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
        nlh->nlmsg_seq = seq;

        req = mnl_nlmsg_put_extra_header(nlh, sizeof(*req));
        req->sdiag_family = id->family;
        req->sdiag_protocol = IPPROTO_TCP;
        req->idiag_states = states;
        req->id.idiag_sport = htons(id->sport);
        req->id.idiag_dport = htons(id->dport);
        memcpy(req->id.idiag_src, id->src, sizeof(req->id.idiag_src));
        memcpy(req->id.idiag_dst, id->dst, sizeof(req->id.idiag_dst));
        req->id.idiag_if = id->ifindex;
        req->id.idiag_cookie[0] = (uint32_t) id->cookie;
        req->id.idiag_cookie[1] = (uint32_t) (id->cookie >> 32);

        assert(nlh->nlmsg_len <= DIAG_REQUEST_SIZE);
        return nlh->nlmsg_len;
}

int diag_open(struct diag **ret) {
        _cleanup_(diag_freep) struct diag *d = NULL;
        struct timeval tv = { .tv_sec = DIAG_RECV_TIMEOUT_SEC };

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;

        d->nl = mnl_socket_open2(NETLINK_SOCK_DIAG, SOCK_CLOEXEC);
        if (!d->nl)
                return -errno;
        if (mnl_socket_bind(d->nl, 0, MNL_SOCKET_AUTOPID) < 0)
                return -errno;
        d->portid = mnl_socket_get_portid(d->nl);

        if (setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;

        *ret = TAKE_PTR(d);
        return 0;
}

int diag_adopt(int fd, struct diag **ret) {
        _cleanup_(diag_freep) struct diag *d = NULL;
        _cleanup_(closep) int copy = -EBADF;
        struct timeval tv = { .tv_sec = DIAG_RECV_TIMEOUT_SEC };
        int domain = 0, protocol = 0;
        socklen_t len = sizeof(int);

        if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
                return errno == ENOTSOCK ? -ENOTSOCK : -errno;
        len = sizeof(int);
        if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) < 0)
                return -errno;
        if (domain != AF_NETLINK || protocol != NETLINK_SOCK_DIAG)
                return -EPROTOTYPE;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        copy = fcntl(fd, F_DUPFD_CLOEXEC, 3);
        if (copy < 0)
                return -errno;
        d->nl = mnl_socket_fdopen(copy);
        if (!d->nl)
                return -errno;
        copy = -EBADF; /* d->nl owns it now */
        d->portid = mnl_socket_get_portid(d->nl);
        if (d->portid == 0)
                return -ENOTCONN; /* never bound: no replies could come */
        if (setsockopt(mnl_socket_get_fd(d->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0)
                return -errno;
        d->dirty = true; /* whatever its owner left queued goes first */
        *ret = TAKE_PTR(d);
        return 0;
}

int diag_open_fake(const struct diag_fake_kernel *kernel, struct diag **ret) {
        struct diag *d;

        assert(kernel && kernel->send && kernel->recv);
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->fake = *kernel;
        d->portid = DIAG_FAKE_PORTID;
        *ret = d;
        return 0;
}

int diag_fd(const struct diag *d) {
        return d->nl ? mnl_socket_get_fd(d->nl) : -EBADF;
}

struct diag *diag_free(struct diag *d) {
        if (!d)
                return NULL;
        if (d->nl)
                mnl_socket_close(d->nl);
        free(d);
        return NULL;
}

/* Receive one datagram from the kernel into d->buf. */
static ssize_t diag_recv(struct diag *d, int flags) {
        if (!d->nl) {
                ssize_t n = d->fake.recv(d->buf, sizeof(d->buf), d->fake.userdata);

                assert(n <= (ssize_t) sizeof(d->buf));
                /* as SO_RCVTIMEO ends a blocking receive */
                return n == -EAGAIN && !(flags & MSG_DONTWAIT) ? -ETIMEDOUT : n;
        }
        for (;;) {
                struct sockaddr_nl sa = {};
                struct iovec iov = { .iov_base = d->buf, .iov_len = sizeof(d->buf) };
                struct msghdr msg = {
                        .msg_name = &sa,
                        .msg_namelen = sizeof(sa),
                        .msg_iov = &iov,
                        .msg_iovlen = 1,
                };
                ssize_t n;

                n = recvmsg(mnl_socket_get_fd(d->nl), &msg, flags);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        if (errno == EAGAIN && !(flags & MSG_DONTWAIT))
                                return -ETIMEDOUT;
                        return -errno;
                }
                if (msg.msg_flags & MSG_TRUNC)
                        return -EMSGSIZE;
                /* Only the kernel (port 0) answers sock_diag. */
                if (msg.msg_namelen != sizeof(sa) || sa.nl_family != AF_NETLINK || sa.nl_pid != 0)
                        return -EPROTO;
                return n;
        }
}

/* After a failed exchange the kernel may still hold the rest of a dump for
 * us: read until nothing is left, so the next request starts clean. Each
 * receive lets the kernel produce the next part of a running dump. */
static void diag_drain(struct diag *d) {
        for (int i = 0; i < 100000; i++) {
                ssize_t n = diag_recv(d, MSG_DONTWAIT);

                if (n == -EAGAIN)
                        break;
                if (n < 0 && n != -EPROTO && n != -EMSGSIZE && n != -ENOBUFS)
                        break;
        }
        d->dirty = false;
}

static uint32_t diag_next_seq(struct diag *d) {
        if (++d->seq == 0)
                d->seq = 1; /* 0 would switch libmnl's sequence check off */
        return d->seq;
}

static int diag_send(struct diag *d, const void *req, size_t len) {
        ssize_t n;

        if (d->dirty)
                diag_drain(d);

        if (!d->nl)
                return d->fake.send(req, len, d->fake.userdata);
        n = mnl_socket_sendto(d->nl, req, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        return 0;
}

/* Send a request that is answered by one datagram; receive it into d->buf. */
static ssize_t diag_exchange(struct diag *d, const void *req, size_t len) {
        ssize_t n;
        int r;

        r = diag_send(d, req, len);
        if (r < 0)
                return r;
        n = diag_recv(d, 0);
        if (n < 0)
                d->dirty = true;
        return n;
}

static int dump_once(struct diag *d, int family, uint32_t states, diag_sock_fn fn, void *userdata) {
        uint8_t req[DIAG_REQUEST_SIZE] __attribute__((aligned(8)));
        uint32_t seq = diag_next_seq(d);
        size_t len;
        int r;

        len = diag_build_dump_request(req, seq, family, states);
        r = diag_send(d, req, len);
        if (r < 0)
                return r;

        for (;;) {
                ssize_t n = diag_recv(d, 0);

                if (n < 0) {
                        d->dirty = true;
                        return (int) n;
                }
                r = diag_parse_dump(d->buf, (size_t) n, seq, d->portid, fn, userdata);
                if (r < 0) {
                        d->dirty = true;
                        return r;
                }
                if (r > 0)
                        return 0;
        }
}

int diag_dump(struct diag *d, int family, uint32_t states, diag_sock_fn fn, void *userdata) {
        int r;

        assert(d);
        if (family != AF_INET && family != AF_INET6)
                return -EAFNOSUPPORT;

        r = dump_once(d, family, states, fn, userdata);
        if (r == -ENOBUFS)
                /* The kernel dropped part of the reply: once more, then report. */
                r = dump_once(d, family, states, fn, userdata);
        return r;
}

int diag_destroy(struct diag *d, const struct sock_id *id, uint8_t state) {
        uint8_t req[DIAG_REQUEST_SIZE] __attribute__((aligned(8)));
        uint32_t seq;
        size_t len;
        ssize_t n;
        int r;

        assert(d && id);
        /* INET_DIAG_NOCOOKIE in both words would make the kernel skip the
         * cookie check and kill whatever holds the tuple now. */
        if (id->cookie == UINT64_MAX || (id->family != AF_INET && id->family != AF_INET6))
                return -EINVAL;

        seq = diag_next_seq(d);
        len = diag_build_destroy_request(req, seq, id, DIAG_STATE_BIT(state));
        n = diag_exchange(d, req, len);
        if (n < 0)
                return (int) n;
        r = diag_parse_ack(d->buf, (size_t) n, seq, d->portid);
        if (r == -EBADMSG || r == -EPROTO)
                d->dirty = true;
        return r;
}

static int get_one(const struct fw_sock *s, void *userdata) {
        struct fw_sock *ret = userdata;

        if (ret->id.cookie != 0)
                return -EBADMSG; /* an exact lookup answers with one socket */
        *ret = *s;
        return 0;
}

int diag_get(struct diag *d, const struct sock_id *id, struct fw_sock *ret) {
        uint8_t req[DIAG_REQUEST_SIZE] __attribute__((aligned(8)));
        struct nlmsghdr *nlh;
        struct fw_sock found = {};
        uint32_t seq;
        size_t len;
        ssize_t n;
        int r;

        if (id->cookie == 0 || id->cookie == UINT64_MAX || (id->family != AF_INET && id->family != AF_INET6))
                return -EINVAL;

        /* The destroy request names the socket the same way; only the type
         * and flags differ. */
        seq = diag_next_seq(d);
        /* the kernel finds it by id alone (inet_diag_find_one_icsk) */
        len = diag_build_destroy_request(req, seq, id, DIAG_STATES_CLOSING | DIAG_STATE_BIT(FW_TCP_ESTABLISHED));
        nlh = (struct nlmsghdr *) req;
        nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        nlh->nlmsg_flags = NLM_F_REQUEST;
        ((struct inet_diag_req_v2 *) mnl_nlmsg_get_payload(nlh))->idiag_ext = 1 << (INET_DIAG_INFO - 1);

        n = diag_exchange(d, req, len);
        if (n < 0)
                return (int) n;
        r = diag_parse_dump(d->buf, (size_t) n, seq, d->portid, get_one, &found);
        if (r < 0) {
                if (r != -ENOENT)
                        d->dirty = true;
                return r;
        }
        if (found.id.cookie != id->cookie)
                return -ENOENT;
        found.id.netns_ino = id->netns_ino; /* the kernel does not say: the caller's */
        *ret = found;
        return 0;
}

int diag_kill(struct diag *d, const struct sock_id *id, uint8_t *ret_state) {
        struct fw_sock now;
        int r;

        r = diag_get(d, id, &now);
        if (r < 0)
                return r;
        *ret_state = now.state;
        /* Cookies are never reused and a socket never leaves the closing
         * states for ESTABLISHED: checked here, it holds until the destroy. */
        if (!(DIAG_STATES_CLOSING & DIAG_STATE_BIT(now.state)))
                return -EBUSY;

        r = diag_destroy(d, &now.id, now.state);
        if (r < 0)
                return r;

        r = diag_get(d, &now.id, &now);
        if (r == -ENOENT)
                return 0;
        return r < 0 ? r : -EAGAIN;
}

const char *diag_kill_strerror(int r) {
        switch (r) {
        case 0:
                return "killed";
        case -ENOENT:
                return "already gone";
        case -EBUSY:
                return "refused: no longer in a closing state";
        case -EAGAIN:
                return "still there after SOCK_DESTROY";
        case -ENXIO:
                return "its network namespace is out of reach (finwatchd does not watch it, and no socket "
                       "for it came with the request)";
        case -EPERM:
        case -EACCES:
                return "permission denied: killing sockets needs root (CAP_NET_ADMIN)";
        case -EOPNOTSUPP:
                return "this kernel cannot kill sockets: it was built without CONFIG_INET_DIAG_DESTROY";
        default:
                return strerror(-r);
        }
}

int diag_destroy_supported(struct diag *d) {
        /* Port 0 to port 0 with a cookie no socket has: a kernel that has
         * SOCK_DESTROY looks for it and says ENOENT, one without says
         * EOPNOTSUPP before looking. */
        struct sock_id none = { .family = AF_INET, .cookie = UINT64_MAX - 1 };
        int r = diag_destroy(d, &none, FW_TCP_LAST_ACK);

        if (r == -ENOENT || r == -EPERM || r == 0)
                return 1;
        if (r == -EOPNOTSUPP)
                return 0;
        return r;
}

int diag_snapshot_add(const struct fw_sock *s, void *userdata) {
        struct diag_snapshot *snap = userdata;
        char *e;

        assert(snap->size >= sizeof(struct fw_sock) && snap->sock_offset <= snap->size - sizeof(struct fw_sock));
        if (snap->n >= snap->allocated) {
                size_t was = snap->allocated;

                if (grow_array(&snap->v, &snap->allocated, snap->n + 1, snap->size, 256) < 0)
                        return -ENOMEM;
                memory_prefault((char *) snap->v + was * snap->size, (snap->allocated - was) * snap->size);
        }
        e = (char *) snap->v + snap->n++ * snap->size;
        memset(e, 0, snap->size);
        memcpy(e + snap->sock_offset, s, sizeof(*s));
        return 0;
}

/* Copy element i to position w (w <= i) unless it is there already. */
static void snapshot_move(struct diag_snapshot *snap, size_t w, size_t i) {
        if (w != i)
                memcpy((char *) snap->v + w * snap->size, (char *) snap->v + i * snap->size, snap->size);
}

void diag_snapshot_dedupe(struct diag_snapshot *snap, size_t from) {
        _cleanup_(freep) uint64_t *set = NULL;
        size_t w = from, m, mask;
        bool zero_seen = false;

        if (from > snap->n || snap->n - from < 2)
                return;
        m = snap->n - from;
        /* The cookies seen so far, in an open-addressing set at most half
         * full (0 marks a free slot; a cookie of 0 is tracked on its own). */
        for (mask = 15; mask < SIZE_MAX / 4 && mask / 2 < m; mask = mask * 2 + 1)
                ;
        set = mask < SIZE_MAX / 4 ? calloc(mask + 1, sizeof(*set)) : NULL;
        if (!set) {
                /* quadratic, but correct */
                for (size_t i = from; i < snap->n; i++) {
                        bool seen = false;

                        for (size_t j = from; j < w && !seen; j++)
                                seen = diag_snapshot_sock(snap, j)->id.cookie == diag_snapshot_sock(snap, i)->id.cookie;
                        if (!seen)
                                snapshot_move(snap, w++, i);
                }
                snap->n = w;
                return;
        }
        memory_prefault(set, (mask + 1) * sizeof(*set));
        for (size_t i = from; i < snap->n; i++) {
                uint64_t cookie = diag_snapshot_sock(snap, i)->id.cookie;
                bool seen;

                if (cookie == 0) {
                        seen = zero_seen;
                        zero_seen = true;
                } else {
                        size_t h = (size_t) mix64(cookie) & mask;

                        while (set[h] != 0 && set[h] != cookie)
                                h = (h + 1) & mask;
                        seen = set[h] == cookie;
                        set[h] = cookie;
                }
                if (!seen) /* the first seen stays, in its order */
                        snapshot_move(snap, w++, i);
        }
        snap->n = w;
}

int diag_snapshot_take(struct diag *d, int family, uint32_t states, struct diag_snapshot *snap) {
        static const int families[] = { AF_INET, AF_INET6 };
        size_t from = snap->n; /* cookies are unique across namespaces: only the new part */
        int r;

        for (size_t i = 0; i < ELEMENTSOF(families); i++) {
                if (family != AF_UNSPEC && family != families[i])
                        continue;
                r = diag_dump(d, families[i], states, diag_snapshot_add, snap);
                if (r < 0)
                        return r;
        }
        diag_snapshot_dedupe(snap, from);
        return 0;
}

void diag_snapshot_done(struct diag_snapshot *snap) {
        free(snap->v);
        snap->v = NULL;
        snap->n = snap->allocated = 0;
}
