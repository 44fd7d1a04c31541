/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* sock_diag over libmnl: kernel-filtered dumps of TCP sockets by state, the
 * parser of dump replies (pure: bytes in, sockets out), and SOCK_DESTROY by
 * exact id and cookie. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

/* TCP states as the kernel numbers them (include/net/tcp_states.h; ABI).
 * Our own names, so that this header mixes with <netinet/tcp.h> and
 * <linux/tcp.h> alike. */
enum {
        FW_TCP_ESTABLISHED = 1,
        FW_TCP_SYN_SENT,
        FW_TCP_SYN_RECV,
        FW_TCP_FIN_WAIT1,
        FW_TCP_FIN_WAIT2,
        FW_TCP_TIME_WAIT,
        FW_TCP_CLOSE,
        FW_TCP_CLOSE_WAIT,
        FW_TCP_LAST_ACK,
        FW_TCP_LISTEN,
        FW_TCP_CLOSING,
        FW_TCP_NEW_SYN_RECV,
        FW_TCP_MAX_STATES,
};

/* idiag_timer values (net/ipv4/inet_diag.c) */
enum {
        DIAG_TIMER_OFF       = 0,
        DIAG_TIMER_RETRANS   = 1,
        DIAG_TIMER_KEEPALIVE = 2,
        DIAG_TIMER_TIMEWAIT  = 3,
        DIAG_TIMER_PERSIST   = 4, /* zero window probe */
};

#define DIAG_STATE_BIT(s) (UINT32_C(1) << (s))
#define DIAG_STATES_DEFAULT (DIAG_STATE_BIT(FW_TCP_FIN_WAIT1) | DIAG_STATE_BIT(FW_TCP_LAST_ACK))
/* The closing states finwatch may ever report, and so ever destroy. */
#define DIAG_STATES_CLOSING                                                   \
        (DIAG_STATE_BIT(FW_TCP_FIN_WAIT1) | DIAG_STATE_BIT(FW_TCP_LAST_ACK) |       \
         DIAG_STATE_BIT(FW_TCP_CLOSING) | DIAG_STATE_BIT(FW_TCP_FIN_WAIT2) |        \
         DIAG_STATE_BIT(FW_TCP_CLOSE_WAIT))

/* fw_sock.fate_msec when not a time */
#define FATE_NEVER   INT64_C(-1)      /* the kernel will not reap it */
#define FATE_UNKNOWN INT64_C(-2)      /* not known (yet) */

#define FW_TCPI_OPT_TIMESTAMPS 1   /* include/uapi/linux/tcp.h TCPI_OPT_TIMESTAMPS (ABI) */

/* The part of struct tcp_info finwatch uses. Fields the kernel did not send
 * (an older kernel's shorter tcp_info) are 0; info_len says how much came. */
struct fw_tcp_info {
        uint32_t len;              /* bytes of struct tcp_info received, 0 = none */
        uint8_t retransmits;       /* unrecovered RTO timeouts */
        uint8_t probes;            /* unanswered zero window probes */
        uint8_t backoff;           /* RTO exponential backoff */
        bool has_snd_wnd;          /* the kernel's tcp_info was long enough for it */
        uint32_t rto;              /* usec */
        uint32_t unacked;          /* segments */
        uint32_t total_retrans;    /* segments */
        uint32_t last_data_sent;   /* msec ago */
        uint32_t last_ack_recv;    /* msec ago */
        uint32_t notsent_bytes;    /* bytes queued but never sent */
        uint32_t snd_wnd;          /* bytes, the peer's advertised window */
        uint32_t last_data_recv;   /* msec ago */
        uint32_t segs_in;          /* segments received, all of them (RFC 4898 SegsIn) */
        uint32_t data_segs_in;     /* segments received that carried data */
        /* Since Linux 6.7, after tcpi_rcv_wnd and tcpi_rehash (past the end
         * of Debian 12's headers): RTO recoveries over the connection's
         * life, valid if has_total_rto. */
        uint16_t total_rto;            /* RTO timeouts, all recoveries */
        uint16_t total_rto_recoveries; /* RTO recoveries begun */
        uint32_t total_rto_time;       /* msec spent in RTO recoveries, the current one included */
        bool has_total_rto;
        uint8_t options;               /* tcpi_options: TCPI_OPT_* negotiated (TIMESTAMPS, SACK, ...) */
};

/* What identifies one socket: exactly what SOCK_DESTROY needs (addresses,
 * ports, interface, cookie) and the network namespace it lives in. One
 * struct, embedded wherever a socket is named (a dump's fw_sock, the
 * tracker's entry); the wire formats (proto.h, the state file) keep layouts
 * of their own, converted in one place each. Addresses stay in network byte
 * order as the kernel sent them (IPv4 in the first 4 bytes), ports are
 * host order. */
struct sock_id {
        uint64_t cookie;           /* unique for the boot, never reused; 0: none */
        uint8_t src[16];
        uint8_t dst[16];
        uint16_t sport;
        uint16_t dport;
        uint32_t ifindex;          /* bound device, 0 if none */
        uint32_t netns_ino;        /* its network namespace (netns.h), 0 = ours; nsfs
                                    * inode numbers are 32-bit (ns_common.inum) */
        uint8_t family;            /* AF_INET or AF_INET6 */
        uint8_t reserved[3];       /* 0 */
};
_Static_assert(sizeof(struct sock_id) == 56, "struct sock_id: no padding");

/* One socket of a dump, validated. */
struct fw_sock {
        struct sock_id id;
        uint64_t cgroup_id;        /* cgroup v2 id, valid if has_cgroup_id */
        uint8_t state;             /* FW_TCP_* */
        uint8_t timer;             /* DIAG_TIMER_* */
        uint8_t timer_count;       /* retransmits (RETRANS) or probes (PERSIST, KEEPALIVE) */
        uint32_t timer_expires;    /* msec until the timer fires */
        uint32_t recv_q;           /* bytes */
        uint32_t send_q;           /* bytes */
        uint32_t uid;
        uint32_t inode;            /* 0 for an orphan: no process owns it */
        uint8_t shutdown;          /* sk_shutdown bits (1 RCV, 2 SEND), valid if has_shutdown */
        bool has_shutdown;
        bool has_cgroup_id;
        uint8_t cause;             /* derived: enum sock_cause, by cause_annotate() (cause.h) */
        struct fw_tcp_info info;
        int64_t fate_msec;         /* derived (cause_annotate()): until the kernel aborts it;
                                    * FATE_NEVER, FATE_UNKNOWN */
};
/* finwatch list holds one (in a row) per stuck socket: keep it small, the
 * fields ordered so that nothing is padded. */
_Static_assert(sizeof(struct fw_sock) == 160, "struct fw_sock grew");

static inline bool fw_sock_is_orphan(const struct fw_sock *s) {
        return s->inode == 0;
}

static inline bool sock_id_equal(const struct sock_id *a, const struct sock_id *b) {
        return a->cookie == b->cookie && a->family == b->family && a->sport == b->sport && a->dport == b->dport &&
               a->ifindex == b->ifindex && a->netns_ino == b->netns_ino && memcmp(a->src, b->src, 16) == 0 &&
               memcmp(a->dst, b->dst, 16) == 0;
}

/* Called once per socket. A negative return aborts the parse with that error. */
typedef int (*diag_sock_fn)(const struct fw_sock *s, void *userdata);

/* Parse one datagram of a dump reply. Every header and attribute length is
 * checked before it is read; the buffer may hold anything.
 * seq/portid: what the request used (0 = do not check).
 * Returns 1 when NLMSG_DONE ended the dump, 0 when more datagrams must follow,
 * or -errno: -EBADMSG for malformed bytes, -EPROTO for a foreign sequence
 * number, the kernel's error from an NLMSG_ERROR, or the callback's error. */
int diag_parse_dump(const void *buf, size_t len, uint32_t seq, uint32_t portid,
                    diag_sock_fn fn, void *userdata);

/* Parse the answer to a SOCK_DESTROY request: 0 for an ACK, -errno otherwise. */
int diag_parse_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid);

/* Build requests into buf (at least DIAG_REQUEST_SIZE bytes); return their length. */
#define DIAG_REQUEST_SIZE 128
size_t diag_build_dump_request(void *buf, uint32_t seq, int family, uint32_t states);
size_t diag_build_destroy_request(void *buf, uint32_t seq, const struct sock_id *id, uint32_t states);

struct diag;

/* Open a NETLINK_SOCK_DIAG socket in the caller's network namespace. */
int diag_open(struct diag **ret);
/* Take a NETLINK_SOCK_DIAG socket someone else opened (bound, in whatever
 * namespace it was made): a duplicate of fd, which stays the caller's.
 * -ENOTSOCK/-EPROTOTYPE for anything else. */
int diag_adopt(int fd, struct diag **ret);
/* A stand-in for the kernel, for tests and fuzzers: every dump, lookup
 * and destroy above runs as with a socket, but each request goes to send
 * (0 or -errno) and each receive takes the datagram recv writes into buf
 * (its length; -EAGAIN when none is queued, which a blocking receive reads
 * as its timeout; or the -errno a receive fails with: -EMSGSIZE for one cut
 * short, -EPROTO for one not from the kernel, -ENOBUFS). Replies are
 * checked against DIAG_FAKE_PORTID and each request's nlmsg_seq. */
struct diag_fake_kernel {
        int (*send)(const void *req, size_t len, void *userdata);
        ssize_t (*recv)(void *buf, size_t size, void *userdata);
        void *userdata;
};
#define DIAG_FAKE_PORTID UINT32_C(0x7e57)
int diag_open_fake(const struct diag_fake_kernel *kernel, struct diag **ret);
/* The socket's descriptor (for SCM_RIGHTS), owned by d; -EBADF for a fake. */
int diag_fd(const struct diag *d);
struct diag *diag_free(struct diag *d);
static inline void diag_freep(struct diag **d) {
        if (*d)
                diag_free(*d);
}

/* Dump the TCP sockets of one family (AF_INET or AF_INET6) whose state is in
 * the mask, with tcp_info. The kernel filters by state. If the kernel drops
 * part of the reply (ENOBUFS) the dump is restarted once, so fn may see a
 * socket twice: callers dedupe by cookie. Returns 0 or -errno. */
int diag_dump(struct diag *d, int family, uint32_t states, diag_sock_fn fn, void *userdata);

/* Destroy exactly this socket (SOCK_DESTROY by addresses, ports, interface and
 * cookie). Returns 0, -ENOENT (gone, or the tuple belongs to a newer socket),
 * -EPERM (no CAP_NET_ADMIN), -EOPNOTSUPP (kernel without
 * CONFIG_INET_DIAG_DESTROY), or another -errno. */
int diag_destroy(struct diag *d, const struct sock_id *id, uint8_t state);

/* Look up exactly this socket (addresses, ports, interface and cookie) and
 * fill *ret with its current state. -ENOENT if it is gone or the tuple now
 * belongs to another socket. */
int diag_get(struct diag *d, const struct sock_id *id, struct fw_sock *ret);

/* Kill one listed socket, safely: look it up again by id and cookie, refuse
 * unless it is still in a closing state (DIAG_STATES_CLOSING; an
 * ESTABLISHED socket is never touched), SOCK_DESTROY it, and check that it
 * is gone. *ret_state gets the state it was in. Returns 0 killed; -ENOENT
 * gone already; -EBUSY refused, not in a closing state; -EAGAIN still there
 * after SOCK_DESTROY; -EPERM no CAP_NET_ADMIN; -EOPNOTSUPP kernel without
 * CONFIG_INET_DIAG_DESTROY; another -errno. */
int diag_kill(struct diag *d, const struct sock_id *id, uint8_t *ret_state);

/* One sentence for a diag_kill() result, for people. */
const char *diag_kill_strerror(int r);

/* Whether this kernel has SOCK_DESTROY: 1 yes, 0 no, -errno unknown.
 * Asks the kernel to destroy a socket that cannot exist. */
int diag_destroy_supported(struct diag *d);

/* A snapshot: both families (or one), deduplicated by cookie, appended to
 * an array of the caller's elements (size bytes each, a struct fw_sock at
 * sock_offset, the rest zeroed), so that it needs no copy of its own. */
struct diag_snapshot {
        void *v;
        size_t size, sock_offset;
        size_t n, allocated;
};
#define DIAG_SNAPSHOT_OF(type, member) \
        ((struct diag_snapshot) { .size = sizeof(type), .sock_offset = offsetof(type, member) })
#define diag_snapshot_sock(snap, i) \
        ((struct fw_sock *) ((char *) (snap)->v + (i) * (snap)->size + (snap)->sock_offset))
int diag_snapshot_take(struct diag *d, int family, uint32_t states, struct diag_snapshot *snap);
void diag_snapshot_done(struct diag_snapshot *snap);
/* Append one socket (the diag_sock_fn a snapshot uses). */
int diag_snapshot_add(const struct fw_sock *s, void *userdata);
/* Drop repeated cookies among the elements from index from on (the first
 * seen stays); the order is kept. */
void diag_snapshot_dedupe(struct diag_snapshot *snap, size_t from);
