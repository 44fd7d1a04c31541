/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The sock_diag reply parser, on replies recorded from the kernel and on
 * replies built here, whole, cut short and corrupted. */
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdlib.h>

#include "cause.h"
#include "diag.h"
#include "recording.h"
#include "sockfmt.h"
#include "test.h"
#include "util.h"

#define SEQ 7
#define PORTID 1234

struct collected {
        struct fw_sock socks[4096];
        size_t n;
        int fail_at; /* return an error for this socket (1-based), 0 = never */
};

static int collect(const struct fw_sock *s, void *userdata) {
        struct collected *c = userdata;

        if (c->fail_at && (size_t) c->fail_at == c->n + 1)
                return -ECANCELED;
        if (c->n < ELEMENTSOF(c->socks))
                c->socks[c->n] = *s;
        c->n++;
        return 0;
}

/* ---- building replies ---- */

struct spec {
        uint8_t family, state, timer, retrans;
        uint16_t sport, dport;
        uint32_t inode;
        uint64_t cookie;
        size_t info_len;        /* 0: no INET_DIAG_INFO */
        uint8_t retransmits, probes;
        uint32_t snd_wnd, notsent;
        bool shutdown, cgroup;
        uint64_t cgroup_id;
};

static const struct spec default_spec = {
        .family = AF_INET, .state = FW_TCP_FIN_WAIT1, .timer = DIAG_TIMER_RETRANS, .retrans = 3,
        .sport = 9000, .dport = 40001, .cookie = 0x100000002ULL,
        .info_len = sizeof(struct tcp_info), .retransmits = 3, .probes = 0, .snd_wnd = 65483, .notsent = 0,
        .shutdown = true, .cgroup = true, .cgroup_id = 777,
};

/* Append one SOCK_DIAG_BY_FAMILY message at buf+*off. */
static void put_sock(uint8_t *buf, size_t *off, const struct spec *sp) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *off);
        struct inet_diag_msg *m;

        nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nlh->nlmsg_seq = SEQ;
        nlh->nlmsg_pid = PORTID;
        m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
        m->idiag_family = sp->family;
        m->idiag_state = sp->state;
        m->idiag_timer = sp->timer;
        m->idiag_retrans = sp->retrans;
        m->id.idiag_sport = htons(sp->sport);
        m->id.idiag_dport = htons(sp->dport);
        if (sp->family == AF_INET) {
                inet_pton(AF_INET, "127.0.0.1", m->id.idiag_src);
                inet_pton(AF_INET, "127.0.0.2", m->id.idiag_dst);
        } else {
                inet_pton(AF_INET6, "::1", m->id.idiag_src);
                inet_pton(AF_INET6, "::ffff:10.1.2.3", m->id.idiag_dst);
        }
        m->id.idiag_cookie[0] = (uint32_t) sp->cookie;
        m->id.idiag_cookie[1] = (uint32_t) (sp->cookie >> 32);
        m->idiag_inode = sp->inode;
        m->idiag_uid = 1000;
        m->idiag_wqueue = 17;
        if (sp->info_len) {
                uint8_t raw[512] = {};
                struct tcp_info ti = {};

                ti.tcpi_retransmits = sp->retransmits;
                ti.tcpi_probes = sp->probes;
                ti.tcpi_backoff = 2;
                ti.tcpi_options = FW_TCPI_OPT_TIMESTAMPS | 2; /* and SACK */
                ti.tcpi_rto = 1600000;
                ti.tcpi_unacked = 1;
                ti.tcpi_snd_wnd = sp->snd_wnd;
                ti.tcpi_notsent_bytes = sp->notsent;
                ti.tcpi_segs_in = 12;
                ti.tcpi_data_segs_in = 1;
                memcpy(raw, &ti, sizeof(ti) < sp->info_len ? sizeof(ti) : sp->info_len);
                /* Linux 6.7's tail after tcpi_rcv_wnd and tcpi_rehash:
                 * total_rto 4 (u16), total_rto_recoveries 1 (u16),
                 * total_rto_time 20695 ms (u32) */
                memcpy(raw + sizeof(ti) + 8, &(uint16_t) { 4 }, 2);
                memcpy(raw + sizeof(ti) + 10, &(uint16_t) { 1 }, 2);
                memcpy(raw + sizeof(ti) + 12, &(uint32_t) { 20695 }, 4);
                mnl_attr_put(nlh, INET_DIAG_INFO, sp->info_len, raw);
        }
        if (sp->shutdown)
                mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 2);
        if (sp->cgroup) {
                /* the kernel pads u64 attributes with INET_DIAG_PAD first */
                mnl_attr_put(nlh, INET_DIAG_PAD, 0, NULL);
                mnl_attr_put_u64(nlh, INET_DIAG_CGROUP_ID, sp->cgroup_id);
        }
        *off += nlh->nlmsg_len;
}

static void put_ctl(uint8_t *buf, size_t *off, uint16_t type, int status) {
        struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + *off);

        nlh->nlmsg_type = type;
        nlh->nlmsg_flags = NLM_F_MULTI;
        nlh->nlmsg_seq = SEQ;
        nlh->nlmsg_pid = PORTID;
        if (type == NLMSG_ERROR) {
                struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
                e->error = status;
        } else {
                int *p = mnl_nlmsg_put_extra_header(nlh, sizeof(int));
                *p = status;
        }
        *off += nlh->nlmsg_len;
}

static int parse(const uint8_t *buf, size_t len, struct collected *c) {
        /* parse from a fresh heap copy of exactly len bytes, so that ASan
         * catches any read past the end */
        uint8_t *copy = malloc(len ? len : 1);
        int r;

        memcpy(copy, buf, len);
        c->n = 0;
        r = diag_parse_dump(copy, len, SEQ, PORTID, collect, c);
        free(copy);
        return r;
}

static uint8_t buf[65536] __attribute__((aligned(8)));

static void test_good(void) {
        struct collected *c = calloc(1, sizeof(*c));
        struct spec sp6 = default_spec;
        size_t off = 0;
        const struct fw_sock *s;
        char text[ENDPOINT_STRLEN];

        put_sock(buf, &off, &default_spec);
        sp6.family = AF_INET6;
        sp6.state = FW_TCP_LAST_ACK;
        sp6.timer = DIAG_TIMER_PERSIST;
        sp6.inode = 4321;
        sp6.cookie = 9;
        sp6.probes = 5;
        sp6.snd_wnd = 0;
        sp6.notsent = 3000;
        sp6.cgroup = false;
        put_sock(buf, &off, &sp6);
        put_ctl(buf, &off, NLMSG_DONE, 0);

        CHECK_INT(parse(buf, off, c), 1);
        CHECK_INT(c->n, 2);

        s = &c->socks[0];
        CHECK_INT(s->id.family, AF_INET);
        CHECK_INT(s->state, FW_TCP_FIN_WAIT1);
        CHECK_INT(s->timer, DIAG_TIMER_RETRANS);
        CHECK_INT(s->timer_count, 3);
        CHECK_INT(s->id.sport, 9000);
        CHECK_INT(s->id.dport, 40001);
        CHECK(s->id.cookie == 0x100000002ULL);
        CHECK_INT(s->uid, 1000);
        CHECK_INT(s->send_q, 17);
        CHECK(fw_sock_is_orphan(s));
        CHECK_INT(s->info.len, sizeof(struct tcp_info));
        CHECK_INT(s->info.retransmits, 3);
        CHECK_INT(s->info.backoff, 2);
        CHECK_INT(s->info.options, FW_TCPI_OPT_TIMESTAMPS | 2);
        CHECK_INT(s->info.rto, 1600000);
        CHECK_INT(s->info.unacked, 1);
        CHECK_INT(s->info.snd_wnd, 65483);
        CHECK(s->has_shutdown && s->shutdown == 2);
        CHECK(s->has_cgroup_id && s->cgroup_id == 777);
        CHECK_STR(sockfmt_endpoint(text, sizeof(text), s->id.family, s->id.src, s->id.sport), "127.0.0.1:9000");
        CHECK_STR(sockfmt_endpoint(text, sizeof(text), s->id.family, s->id.dst, s->id.dport), "127.0.0.2:40001");

        s = &c->socks[1];
        CHECK_INT(s->id.family, AF_INET6);
        CHECK_INT(s->state, FW_TCP_LAST_ACK);
        CHECK_INT(s->timer, DIAG_TIMER_PERSIST);
        CHECK(!fw_sock_is_orphan(s));
        CHECK_INT(s->info.probes, 5);
        CHECK_INT(s->info.snd_wnd, 0);
        CHECK_INT(s->info.notsent_bytes, 3000);
        CHECK(!s->has_cgroup_id);
        CHECK_STR(sockfmt_endpoint(text, sizeof(text), s->id.family, s->id.src, s->id.sport), "[::1]:9000");
        CHECK_STR(sockfmt_endpoint(text, sizeof(text), s->id.family, s->id.dst, s->id.dport), "10.1.2.3:40001");

        /* Without NLMSG_DONE the dump is not complete: 0, sockets delivered. */
        CHECK_INT(parse(buf, off - NLMSG_HDRLEN - 4, c), 0);
        CHECK_INT(c->n, 2);

        /* A callback's error stops the parse and comes back. */
        c->fail_at = 2;
        CHECK_INT(parse(buf, off, c), -ECANCELED);
        CHECK_INT(c->n, 1);
        free(c);
}

static void test_tcp_info_lengths(void) {
        struct collected *c = calloc(1, sizeof(*c));
        struct spec sp = default_spec;
        size_t off;

        /* A newer kernel's longer tcp_info: our fields are read, the rest ignored. */
        sp.info_len = sizeof(struct tcp_info) + 40;
        off = 0;
        put_sock(buf, &off, &sp);
        put_ctl(buf, &off, NLMSG_DONE, 0);
        CHECK_INT(parse(buf, off, c), 1);
        CHECK_INT(c->n, 1);
        CHECK_INT(c->socks[0].info.snd_wnd, 65483);
        CHECK_INT(c->socks[0].info.len, sizeof(struct tcp_info) + 40);
        CHECK_INT(c->socks[0].info.segs_in, 12);
        CHECK_INT(c->socks[0].info.data_segs_in, 1);
        CHECK(c->socks[0].info.has_total_rto);
        CHECK_INT(c->socks[0].info.total_rto, 4);
        CHECK_INT(c->socks[0].info.total_rto_recoveries, 1);
        CHECK_INT(c->socks[0].info.total_rto_time, 20695);

        /* Linux 6.1's 232 bytes (Debian 12): no total_rto fields. */
        sp.info_len = sizeof(struct tcp_info);
        off = 0;
        put_sock(buf, &off, &sp);
        put_ctl(buf, &off, NLMSG_DONE, 0);
        CHECK_INT(parse(buf, off, c), 1);
        CHECK(!c->socks[0].info.has_total_rto);
        CHECK_INT(c->socks[0].info.total_rto_time, 0);
        CHECK_INT(c->socks[0].info.segs_in, 12);

        /* An old kernel's short one: what is missing reads 0. */
        sp.info_len = offsetof(struct tcp_info, tcpi_rcv_rtt);
        off = 0;
        put_sock(buf, &off, &sp);
        put_ctl(buf, &off, NLMSG_DONE, 0);
        CHECK_INT(parse(buf, off, c), 1);
        CHECK_INT(c->n, 1);
        CHECK_INT(c->socks[0].info.retransmits, 3);
        CHECK_INT(c->socks[0].info.snd_wnd, 0);

        /* Shorter than any tcp_info ever was: an error. */
        sp.info_len = 8;
        off = 0;
        put_sock(buf, &off, &sp);
        put_ctl(buf, &off, NLMSG_DONE, 0);
        CHECK_INT(parse(buf, off, c), -EBADMSG);

        /* No tcp_info at all is fine (len 0). */
        sp.info_len = 0;
        off = 0;
        put_sock(buf, &off, &sp);
        put_ctl(buf, &off, NLMSG_DONE, 0);
        CHECK_INT(parse(buf, off, c), 1);
        CHECK_INT(c->socks[0].info.len, 0);
        free(c);
}

/* One good socket message then DONE, for the corruption cases. */
static size_t one_sock(size_t *msg_len) {
        size_t off = 0;

        put_sock(buf, &off, &default_spec);
        *msg_len = off;
        put_ctl(buf, &off, NLMSG_DONE, 0);
        return off;
}

static struct nlattr *find_attr(uint16_t type) {
        struct nlmsghdr *nlh = (struct nlmsghdr *) buf;
        struct nlattr *a;

        mnl_attr_for_each(a, nlh, sizeof(struct inet_diag_msg))
                if (mnl_attr_get_type(a) == type)
                        return a;
        return NULL;
}

static void test_corrupt(void) {
        struct collected *c = calloc(1, sizeof(*c));
        struct nlmsghdr *nlh = (struct nlmsghdr *) buf;
        struct inet_diag_msg *m;
        struct nlattr *a;
        size_t len, msg_len;

        /* nothing at all */
        CHECK_INT(parse(buf, 0, c), -EBADMSG);
        /* less than a header */
        len = one_sock(&msg_len);
        CHECK_INT(parse(buf, 10, c), -EBADMSG);

        /* nlmsg_len of 2^31 and more: libmnl 1.0.4 would read past the end */
        len = one_sock(&msg_len);
        nlh->nlmsg_len = 0x80000000u;
        CHECK_INT(parse(buf, len, c), -EBADMSG);
        CHECK_INT(c->n, 0);
        nlh->nlmsg_len = 0xfffffff0u;
        CHECK_INT(parse(buf, len, c), -EBADMSG);

        /* nlmsg_len past the bytes received, and below a header */
        len = one_sock(&msg_len);
        nlh->nlmsg_len = (uint32_t) len + 4;
        CHECK_INT(parse(buf, len, c), -EBADMSG);
        nlh->nlmsg_len = 8;
        CHECK_INT(parse(buf, len, c), -EBADMSG);

        /* a payload shorter than struct inet_diag_msg */
        len = one_sock(&msg_len);
        nlh->nlmsg_len = NLMSG_HDRLEN + 40;
        /* keep the stream consistent: DONE right after the short message */
        {
                size_t off = NLMSG_HDRLEN + 40;
                put_ctl(buf, &off, NLMSG_DONE, 0);
                len = off;
        }
        CHECK_INT(parse(buf, len, c), -EBADMSG);

        /* an attribute longer than the message */
        len = one_sock(&msg_len);
        a = find_attr(INET_DIAG_SHUTDOWN);
        CHECK(a != NULL);
        a->nla_len = 400;
        CHECK_INT(parse(buf, len, c), -EBADMSG);
        /* an attribute shorter than its own header */
        a->nla_len = 2;
        CHECK_INT(parse(buf, len, c), -EBADMSG);

        /* attributes of the wrong size */
        len = one_sock(&msg_len);
        a = find_attr(INET_DIAG_SHUTDOWN);
        a->nla_len = NLA_HDRLEN + 4; /* u8 stretched over the padding */
        CHECK_INT(parse(buf, len, c), -EBADMSG);
        len = one_sock(&msg_len);
        a = find_attr(INET_DIAG_CGROUP_ID);
        CHECK(a != NULL);
        a->nla_len = NLA_HDRLEN + 4;
        /* the 4 bytes left become an attribute header with garbage: still an error */
        CHECK_INT(parse(buf, len, c), -EBADMSG);

        /* the same attribute twice */
        len = one_sock(&msg_len);
        a = find_attr(INET_DIAG_PAD);
        CHECK(a != NULL);
        a->nla_type = INET_DIAG_SHUTDOWN;
        a->nla_len = NLA_HDRLEN; /* and empty, which is wrong too */
        CHECK_INT(parse(buf, len, c), -EBADMSG);

        /* INET_DIAG_PAD may come more than once (before each 64-bit
         * attribute on architectures without fast unaligned access) */
        {
                size_t off = 0;
                struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
                put_sock(buf, &off, &default_spec);
                mnl_attr_put(h, INET_DIAG_PAD, 0, NULL);
                mnl_attr_put(h, INET_DIAG_PAD, 0, NULL);
                off = h->nlmsg_len;
                put_ctl(buf, &off, NLMSG_DONE, 0);
                CHECK_INT(parse(buf, off, c), 1);
                CHECK_INT(c->n, 1);
        }

        /* unknown attributes are skipped */
        len = one_sock(&msg_len);
        a = find_attr(INET_DIAG_PAD);
        a->nla_type = 200;
        CHECK_INT(parse(buf, len, c), 1);
        CHECK_INT(c->n, 1);

        /* trailing bytes after the attributes that are no attribute */
        {
                size_t off = 0;
                struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
                put_sock(buf, &off, &default_spec);
                h->nlmsg_len += 3;
                memset(buf + off, 0xab, 3);
                off = NLMSG_ALIGN(h->nlmsg_len);
                put_ctl(buf, &off, NLMSG_DONE, 0);
                CHECK_INT(parse(buf, off, c), -EBADMSG);
        }

        /* garbage after the last message */
        len = one_sock(&msg_len);
        memset(buf + len, 0x5a, 3);
        CHECK_INT(parse(buf, len + 3, c), -EBADMSG);

        /* wrong family, impossible state, foreign type */
        len = one_sock(&msg_len);
        m = mnl_nlmsg_get_payload(nlh);
        m->idiag_family = 7;
        CHECK_INT(parse(buf, len, c), -EBADMSG);
        len = one_sock(&msg_len);
        m->idiag_state = 0;
        CHECK_INT(parse(buf, len, c), -EBADMSG);
        m->idiag_state = 99;
        CHECK_INT(parse(buf, len, c), -EBADMSG);
        len = one_sock(&msg_len);
        nlh->nlmsg_type = 99;
        CHECK_INT(parse(buf, len, c), -EBADMSG);

        /* a foreign sequence number or port */
        len = one_sock(&msg_len);
        nlh->nlmsg_seq = SEQ + 1;
        CHECK_INT(parse(buf, len, c), -EPROTO);
        len = one_sock(&msg_len);
        nlh->nlmsg_pid = PORTID + 1;
        CHECK_INT(parse(buf, len, c), -EPROTO);

        /* NLMSG_ERROR in the middle of a dump: its errno, after what came before */
        {
                size_t off = 0;
                put_sock(buf, &off, &default_spec);
                put_ctl(buf, &off, NLMSG_ERROR, -EPERM);
                put_sock(buf, &off, &default_spec);
                put_ctl(buf, &off, NLMSG_DONE, 0);
                CHECK_INT(parse(buf, off, c), -EPERM);
                CHECK_INT(c->n, 1);
        }
        /* an NLMSG_ERROR too short for struct nlmsgerr */
        {
                size_t off = 0;
                struct nlmsghdr *h = mnl_nlmsg_put_header(buf);
                h->nlmsg_type = NLMSG_ERROR;
                h->nlmsg_seq = SEQ;
                h->nlmsg_len = NLMSG_HDRLEN + 4;
                off = NLMSG_HDRLEN + 4;
                CHECK_INT(parse(buf, off, c), -EBADMSG);
        }
        /* an ACK is no answer to a dump; an absurd error code is malformed */
        {
                size_t off = 0;
                put_ctl(buf, &off, NLMSG_ERROR, 0);
                CHECK_INT(parse(buf, off, c), -EBADMSG);
                off = 0;
                put_ctl(buf, &off, NLMSG_ERROR, 5);
                CHECK_INT(parse(buf, off, c), -EBADMSG);
        }
        /* NLMSG_DONE carrying the dump's failure */
        {
                size_t off = 0;
                put_sock(buf, &off, &default_spec);
                put_ctl(buf, &off, NLMSG_DONE, -ENOMEM);
                CHECK_INT(parse(buf, off, c), -ENOMEM);
        }
        free(c);
}

/* Every prefix of a reply is either cut at a message boundary (parsed, not
 * complete unless DONE was in it) or an error; never a crash or a read past
 * the end (ASan watches). */
static void check_prefixes(const uint8_t *data, size_t len, uint32_t seq, uint32_t portid, size_t step) {
        struct collected *c = calloc(1, sizeof(*c));
        size_t bounds[4096], nb = 0, off = 0;

        while (off < len && nb < ELEMENTSOF(bounds)) {
                const struct nlmsghdr *h = (const void *) (data + off);
                off += NLMSG_ALIGN(h->nlmsg_len);
                bounds[nb++] = off;
        }

        for (size_t cut = 1; cut < len; cut += step) {
                uint8_t *copy = malloc(cut);
                bool at_boundary = false;
                size_t msgs = 0;
                int r;

                for (size_t i = 0; i < nb; i++)
                        if (bounds[i] == cut) {
                                at_boundary = true;
                                msgs = i + 1;
                        }
                memcpy(copy, data, cut);
                c->n = 0;
                r = diag_parse_dump(copy, cut, seq, portid, collect, c);
                free(copy);
                if (at_boundary) {
                        if (r != 0) {
                                fprintf(stderr, "cut at boundary %zu: %d\n", cut, r);
                                test_failures++;
                        }
                        if (c->n != msgs) {
                                fprintf(stderr, "cut at boundary %zu: %zu sockets, expected %zu\n", cut, c->n, msgs);
                                test_failures++;
                        }
                } else if (r != -EBADMSG) {
                        fprintf(stderr, "cut at %zu of %zu: %d, expected -EBADMSG\n", cut, len, r);
                        test_failures++;
                }
        }
        free(c);
}

static void test_truncated_built(void) {
        size_t off = 0;
        struct spec sp = default_spec;

        put_sock(buf, &off, &sp);
        sp.family = AF_INET6;
        sp.cookie++;
        put_sock(buf, &off, &sp);
        put_ctl(buf, &off, NLMSG_DONE, 0);
        check_prefixes(buf, off, SEQ, PORTID, 1);
}

/* ---- replies recorded from the kernel (tests/fixtures/replies) ---- */

struct expect_sock {
        const char *local, *peer_prefix;
        uint8_t state, timer;
        bool orphan;
};

static bool matches(const struct fw_sock *s, const struct expect_sock *e) {
        char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN];

        sockfmt_endpoint(local, sizeof(local), s->id.family, s->id.src, s->id.sport);
        sockfmt_endpoint(peer, sizeof(peer), s->id.family, s->id.dst, s->id.dport);
        return strcmp(local, e->local) == 0 && strncmp(peer, e->peer_prefix, strlen(e->peer_prefix)) == 0 &&
               s->state == e->state && s->timer == e->timer && fw_sock_is_orphan(s) == e->orphan;
}

/* Set idiag_timer of every socket in a recorded datagram: the kernel's own
 * bytes, as a socket whose timer went off would send them. */
static void set_timers(uint8_t *data, size_t len, uint8_t timer) {
        size_t off = 0;

        while (len - off >= sizeof(struct nlmsghdr)) {
                struct nlmsghdr *h = (struct nlmsghdr *) (data + off);

                if (h->nlmsg_len < sizeof(*h) || h->nlmsg_len > len - off)
                        break;
                if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
                        ((struct inet_diag_msg *) NLMSG_DATA(h))->idiag_timer = timer;
                off += NLMSG_ALIGN(h->nlmsg_len);
        }
}

/* timer < 0: as recorded */
static void parse_recording_timer(const char *path, struct collected *c, int *ret_done, int timer) {
        struct recording rec;
        int r = 0;

        c->n = 0;
        *ret_done = 0;
        if (recording_load(path, &rec) < 0) {
                fprintf(stderr, "cannot load %s\n", path);
                test_failures++;
                return;
        }
        for (size_t i = 0; i < rec.n; i++) {
                if (timer >= 0)
                        set_timers(rec.dgram[i].data, rec.dgram[i].len, (uint8_t) timer);
                r = diag_parse_dump(rec.dgram[i].data, rec.dgram[i].len, rec.seq, rec.portid, collect, c);
                if (r != (i + 1 == rec.n ? 1 : 0)) {
                        fprintf(stderr, "%s: datagram %zu of %zu: %d\n", path, i + 1, rec.n, r);
                        test_failures++;
                }
                check_prefixes(rec.dgram[i].data, rec.dgram[i].len, rec.seq, rec.portid,
                               rec.dgram[i].len > 4096 ? 61 : 1);
        }
        *ret_done = r;
        recording_free(&rec);
}

static void parse_recording(const char *path, struct collected *c, int *ret_done) {
        parse_recording_timer(path, c, ret_done, -1);
}

static void check_expected(const char *name, struct collected *c, const struct expect_sock *e, size_t ne) {
        CHECK_INT(c->n, ne);
        for (size_t i = 0; i < ne; i++) {
                size_t hits = 0, want = 0;

                for (size_t j = 0; j < c->n; j++)
                        if (matches(&c->socks[j], &e[i]))
                                hits++;
                /* the same expectation may stand more than once */
                for (size_t j = 0; j < ne; j++)
                        if (strcmp(e[j].local, e[i].local) == 0 && e[j].state == e[i].state &&
                            e[j].timer == e[i].timer && e[j].orphan == e[i].orphan)
                                want++;
                if (hits != want) {
                        fprintf(stderr, "%s: %s %s found %zu times, want %zu\n", name, e[i].local,
                                sockfmt_state_or_null(e[i].state), hits, want);
                        test_failures++;
                }
        }
        for (size_t j = 0; j < c->n; j++) {
                const struct fw_sock *s = &c->socks[j];

                CHECK(s->info.len >= offsetof(struct tcp_info, tcpi_snd_wnd) + 4);
                CHECK(s->has_shutdown);
                CHECK(s->has_cgroup_id);
                if (s->timer == DIAG_TIMER_RETRANS) {
                        /* the lost FIN: retransmitted, unacknowledged */
                        CHECK(s->info.unacked > 0);
                        CHECK(s->info.retransmits > 0 || s->info.total_retrans > 0);
                } else if (s->timer == DIAG_TIMER_PERSIST) {
                        /* the zero window: nothing may be sent, bytes wait */
                        CHECK_INT(s->info.snd_wnd, 0);
                        CHECK(s->info.notsent_bytes > 0 || s->send_q > 0);
                }
                /* a timer armed: never no-timer (cause.c) */
                CHECK(cause_of(s) != SOCK_CAUSE_NO_TIMER);
        }
}

/* The same real sockets with their timer off, or only a keepalive: every
 * one of them still has its FIN unacknowledged or unsent, so each is a
 * no-timer candidate, from the fields the kernel sent. */
static void check_no_timer(const char *path, struct collected *c) {
        static const int timers[] = { DIAG_TIMER_OFF, DIAG_TIMER_KEEPALIVE };
        int done;

        for (size_t t = 0; t < ELEMENTSOF(timers); t++) {
                parse_recording_timer(path, c, &done, timers[t]);
                CHECK_INT(done, 1);
                CHECK(c->n > 0);
                for (size_t j = 0; j < c->n && j < ELEMENTSOF(c->socks); j++) {
                        const struct fw_sock *s = &c->socks[j];

                        CHECK_INT(s->timer, timers[t]);
                        CHECK(s->send_q > 0);
                        CHECK(s->info.unacked > 0 || s->info.notsent_bytes > 0);
                        CHECK_INT(cause_of(s), SOCK_CAUSE_NO_TIMER);
                }
        }
}

static void test_recorded(const char *dir) {
        struct collected *c = calloc(1, sizeof(*c));
        char path[4096];
        int done;

        /* Made by tests/fixtures/record-replies.sh: see the expectations there. */
        static const struct expect_sock v4[] = {
                { "127.0.0.1:9000", "127.0.0.1:", FW_TCP_FIN_WAIT1, DIAG_TIMER_RETRANS, true },
                { "127.0.0.1:9000", "127.0.0.1:", FW_TCP_FIN_WAIT1, DIAG_TIMER_RETRANS, true },
                { "127.0.0.1:9100", "127.0.0.1:", FW_TCP_LAST_ACK, DIAG_TIMER_PERSIST, false },
        };
        static const struct expect_sock v6[] = {
                { "[::1]:9000", "[::1]:", FW_TCP_LAST_ACK, DIAG_TIMER_RETRANS, false },
                { "[::1]:9100", "[::1]:", FW_TCP_FIN_WAIT1, DIAG_TIMER_PERSIST, true },
                { "127.0.0.1:9050", "127.0.0.1:", FW_TCP_FIN_WAIT1, DIAG_TIMER_RETRANS, true },
        };

        snprintf(path, sizeof(path), "%s/small-v4.rec", dir);
        parse_recording(path, c, &done);
        CHECK_INT(done, 1);
        check_expected("small-v4", c, v4, ELEMENTSOF(v4));

        snprintf(path, sizeof(path), "%s/small-v6.rec", dir);
        parse_recording(path, c, &done);
        CHECK_INT(done, 1);
        check_expected("small-v6", c, v6, ELEMENTSOF(v6));
        check_no_timer(path, c);
        snprintf(path, sizeof(path), "%s/small-v4.rec", dir);
        check_no_timer(path, c);

        /* A real no-timer socket: Debian 12's ksmbd (Linux 6.1) in LAST_ACK,
         * its FIN lost, recorded by the VM scenario no_timer_ksmbd
         * (tests/vm/guest/scenarios.py): no timer, Send-Q 1. */
        snprintf(path, sizeof(path), "%s/ksmbd-no-timer-v6.rec", dir);
        parse_recording(path, c, &done);
        CHECK_INT(done, 1);
        CHECK_INT(c->n, 1);
        if (c->n == 1) {
                const struct tcp_limits defaults = { .orphan_retries = 0, .retries2 = 15 };
                struct fw_sock *s = &c->socks[0];
                char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN];

                sockfmt_endpoint(local, sizeof(local), s->id.family, s->id.src, s->id.sport);
                sockfmt_endpoint(peer, sizeof(peer), s->id.family, s->id.dst, s->id.dport);
                CHECK_STR(local, "127.0.0.1:445");
                CHECK_STR(peer, "127.0.0.1:41002");
                CHECK_INT(s->state, FW_TCP_LAST_ACK);
                CHECK_INT(s->timer, DIAG_TIMER_OFF);
                CHECK_INT(s->send_q, 1);
                CHECK_INT(s->info.unacked, 1);
                CHECK(fw_sock_is_orphan(s));
                CHECK(!s->info.has_total_rto); /* 6.1: no total_rto* */
                CHECK_INT(cause_of(s), SOCK_CAUSE_NO_TIMER);
                cause_annotate(s, &defaults);
                CHECK_INT(s->fate_msec, FATE_NEVER);
        }

        /* A multipart reply: 600 sockets over several datagrams. */
        snprintf(path, sizeof(path), "%s/many-v4.rec", dir);
        parse_recording(path, c, &done);
        CHECK_INT(done, 1);
        CHECK_INT(c->n, 600);
        for (size_t j = 0; j < c->n && j < ELEMENTSOF(c->socks); j++)
                CHECK(c->socks[j].state == FW_TCP_FIN_WAIT1);
        free(c);
}

static void test_ack(void) {
        size_t off = 0;

        put_ctl(buf, &off, NLMSG_ERROR, 0);
        CHECK_INT(diag_parse_ack(buf, off, SEQ, PORTID), 0);
        off = 0;
        put_ctl(buf, &off, NLMSG_ERROR, -ENOENT);
        CHECK_INT(diag_parse_ack(buf, off, SEQ, PORTID), -ENOENT);
        CHECK_INT(diag_parse_ack(buf, off, SEQ + 1, PORTID), -EPROTO);
        off = 0;
        put_ctl(buf, &off, NLMSG_DONE, 0);
        CHECK_INT(diag_parse_ack(buf, off, SEQ, PORTID), -EBADMSG);
        CHECK_INT(diag_parse_ack(buf, 3, SEQ, PORTID), -EBADMSG);
}

static void test_requests(void) {
        uint8_t req[DIAG_REQUEST_SIZE] __attribute__((aligned(8)));
        const struct nlmsghdr *nlh = (const void *) req;
        const struct inet_diag_req_v2 *r = (const void *) (req + NLMSG_HDRLEN);
        struct fw_sock s = { .id.family = AF_INET6, .state = FW_TCP_LAST_ACK, .id.sport = 9000, .id.dport = 40000,
                             .id.ifindex = 3, .id.cookie = 0x1122334455667788ULL };
        size_t len;

        len = diag_build_dump_request(req, 5, AF_INET, DIAG_STATES_DEFAULT);
        CHECK_INT(len, NLMSG_HDRLEN + sizeof(*r));
        CHECK_INT(nlh->nlmsg_type, SOCK_DIAG_BY_FAMILY);
        CHECK_INT(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_DUMP);
        CHECK_INT(nlh->nlmsg_seq, 5);
        CHECK_INT(r->sdiag_family, AF_INET);
        CHECK_INT(r->sdiag_protocol, IPPROTO_TCP);
        CHECK_INT(r->idiag_states, (1 << 4) | (1 << 9));
        CHECK(r->idiag_ext & (1 << (INET_DIAG_INFO - 1)));

        len = diag_build_destroy_request(req, 6, &s.id, DIAG_STATE_BIT(s.state));
        CHECK_INT(len, NLMSG_HDRLEN + sizeof(*r));
        CHECK_INT(nlh->nlmsg_type, SOCK_DESTROY);
        CHECK_INT(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
        CHECK_INT(r->sdiag_family, AF_INET6);
        CHECK_INT(ntohs(r->id.idiag_sport), 9000);
        CHECK_INT(ntohs(r->id.idiag_dport), 40000);
        CHECK_INT(r->id.idiag_if, 3);
        CHECK_INT(r->id.idiag_cookie[0], 0x55667788);
        CHECK_INT(r->id.idiag_cookie[1], 0x11223344);
}

/* Repeated cookies go, the first of each stays, the order is kept. */
static void test_snapshot_dedupe(void) {
        static const uint64_t in[] = { 7, 3, 9, 3, 1, 7, 7, 5 }, want[] = { 7, 3, 9, 1, 5 };
        struct diag_snapshot snap = { .size = sizeof(struct fw_sock) }; /* the socket is the element */
        for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                struct fw_sock s = { .id.cookie = in[i], .id.sport = (uint16_t) i };

                CHECK_INT(diag_snapshot_add(&s, &snap), 0);
        }
        diag_snapshot_dedupe(&snap, 0);
        CHECK_INT(snap.n, sizeof(want) / sizeof(want[0]));
        for (size_t i = 0; i < snap.n && i < sizeof(want) / sizeof(want[0]); i++)
                CHECK_INT(diag_snapshot_sock(&snap, i)->id.cookie, want[i]);
        CHECK_INT(diag_snapshot_sock(&snap, 1)->id.sport, 1); /* the first 3, not the one at 3 */
        diag_snapshot_done(&snap);

        /* no repeats: untouched */
        for (uint64_t c = 100; c > 0; c--) {
                struct fw_sock s = { .id.cookie = c };

                CHECK_INT(diag_snapshot_add(&s, &snap), 0);
        }
        diag_snapshot_dedupe(&snap, 0);
        CHECK_INT(snap.n, 100);
        CHECK_INT(diag_snapshot_sock(&snap, 0)->id.cookie, 100);
        diag_snapshot_done(&snap);

        /* elements of the caller's own, the socket inside them */
        {
                struct item {
                        uint64_t before;
                        struct fw_sock sock;
                        char after[5];
                };
                struct diag_snapshot items = DIAG_SNAPSHOT_OF(struct item, sock);

                for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
                        struct fw_sock s = { .id.cookie = in[i], .id.sport = (uint16_t) i };

                        CHECK_INT(diag_snapshot_add(&s, &items), 0);
                }
                diag_snapshot_dedupe(&items, 0);
                CHECK_INT(items.n, 5);
                /* from an index on: what came before is left alone */
                {
                        struct fw_sock s = { .id.cookie = 7 };

                        CHECK_INT(diag_snapshot_add(&s, &items), 0);
                        CHECK_INT(diag_snapshot_add(&s, &items), 0);
                        diag_snapshot_dedupe(&items, 5);
                        CHECK_INT(items.n, 6);
                        CHECK_INT(((struct item *) items.v)[0].sock.id.cookie, 7);
                        CHECK_INT(((struct item *) items.v)[5].sock.id.cookie, 7);
                }
                CHECK_INT(((struct item *) items.v)[4].sock.id.cookie, 5);
                CHECK_INT(((struct item *) items.v)[4].before, 0);
                diag_snapshot_done(&items);
        }
}

/* ---- diag_dump over a fake kernel: dumps across several datagrams ---- */

/* Each request is answered with the next of answers: datagrams (a length)
 * and failed receives (an -errno), queued behind what is still unread. */
struct fake {
        uint8_t dgram[4][8192] __attribute__((aligned(8)));
        size_t len[4];
        const ssize_t *answers[4];  /* indexes into dgram, or -errno; ends with 0 */
        size_t requests;
        const ssize_t *queue;       /* the receive queue: the rest of the last answer */
        uint32_t seq;               /* of the last request */
        size_t received;
};

static int fake_send(const void *req, size_t len, void *userdata) {
        struct fake *f = userdata;
        struct nlmsghdr h;

        memcpy(&h, req, sizeof(h));
        f->seq = h.nlmsg_seq;
        if (f->queue && *f->queue)
                return -EIO; /* something unread: diag_send drains first */
        f->queue = f->requests < ELEMENTSOF(f->answers) ? f->answers[f->requests] : NULL;
        f->requests++;
        return 0;
}

static ssize_t fake_recv(void *dst, size_t size, void *userdata) {
        struct fake *f = userdata;
        ssize_t a;

        if (!f->queue || !*f->queue)
                return -EAGAIN;
        a = *f->queue++;
        f->received++;
        if (a < 0)
                return a;
        a--; /* 1-based */
        /* the kernel's answer to the request just sent */
        for (size_t off = 0; off < f->len[a];) {
                struct nlmsghdr *h = (struct nlmsghdr *) (f->dgram[a] + off);

                h->nlmsg_seq = f->seq;
                h->nlmsg_pid = DIAG_FAKE_PORTID;
                off += NLMSG_ALIGN(h->nlmsg_len);
        }
        memcpy(dst, f->dgram[a], f->len[a]);
        return (ssize_t) f->len[a];
}

static void test_fake_kernel(void) {
        static struct fake f;
        static const ssize_t whole[] = { 1, 2, 3, 0 }, cut[] = { 1, -ENOBUFS, 2, 0 },
                             unended[] = { 1, 0 }, foreign[] = { 1, -EPROTO, 2, 0 }, done[] = { 3, 0 };
        const struct diag_fake_kernel k = { .send = fake_send, .recv = fake_recv, .userdata = &f };
        struct collected *c = calloc(1, sizeof(*c));
        struct spec sp = default_spec;
        struct diag *d;
        size_t off;

        CHECK_INT(diag_open_fake(&k, &d), 0);
        CHECK_INT(diag_fd(d), -EBADF);
        /* datagrams 1 and 2: two sockets each; 3: NLMSG_DONE */
        for (size_t i = 0; i < 2; i++) {
                off = 0;
                put_sock(f.dgram[i], &off, &sp);
                sp.cookie++;
                put_sock(f.dgram[i], &off, &sp);
                sp.cookie++;
                f.len[i] = off;
        }
        off = 0;
        put_ctl(f.dgram[2], &off, NLMSG_DONE, 0);
        f.len[2] = off;

        /* one dump, three datagrams */
        f.answers[0] = whole;
        CHECK_INT(diag_dump(d, AF_INET, DIAG_STATES_DEFAULT, collect, c), 0);
        CHECK_INT(c->n, 4);
        CHECK_INT(f.requests, 1);
        CHECK_INT(f.received, 3);

        /* ENOBUFS half way: what is left is drained, the dump asked for
         * once more, and the sockets before the loss are seen again
         * (callers dedupe by cookie) */
        c->n = 0;
        f.requests = 0;
        f.answers[0] = cut;
        f.answers[1] = whole;
        CHECK_INT(diag_dump(d, AF_INET, DIAG_STATES_DEFAULT, collect, c), 0);
        CHECK_INT(c->n, 6);
        CHECK_INT(f.requests, 2);

        /* a dump the kernel never ends: the receive times out */
        c->n = 0;
        f.requests = 0;
        f.received = 0;
        f.answers[0] = unended;
        CHECK_INT(diag_dump(d, AF_INET, DIAG_STATES_DEFAULT, collect, c), -ETIMEDOUT);
        CHECK_INT(c->n, 2);

        /* a datagram not from the kernel: the dump fails, and the rest of
         * it is drained (not parsed) before the next request */
        c->n = 0;
        f.requests = 0;
        f.received = 0;
        f.answers[0] = foreign;
        f.answers[1] = done;
        CHECK_INT(diag_dump(d, AF_INET, DIAG_STATES_DEFAULT, collect, c), -EPROTO);
        CHECK_INT(c->n, 2);
        CHECK_INT(diag_dump(d, AF_INET6, DIAG_STATES_DEFAULT, collect, c), 0);
        CHECK_INT(c->n, 2);
        CHECK_INT(f.received, 4);
        diag_free(d);
        free(c);
}

int main(int argc, char **argv) {
        test_snapshot_dedupe();
        if (argc < 2) {
                fprintf(stderr, "usage: test-diag REPLIES-DIR\n");
                return 2;
        }
        test_good();
        test_tcp_info_lengths();
        test_corrupt();
        test_truncated_built();
        test_ack();
        test_requests();
        test_fake_kernel();
        test_recorded(argv[1]);
        return test_result("test-diag");
}
