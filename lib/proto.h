/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The control protocol between finwatchd and finwatch: AF_UNIX
 * SOCK_SEQPACKET, one message per packet, every message a fixed header and
 * a payload of fixed-size structs. Numbers are append-only: a request or
 * reply type, once released, keeps its number and layout for ever; a new
 * layout is a new type. Host byte order (the socket never leaves the host).
 *
 * A client sends one request and reads replies until the one that ends it:
 *   LIST    -> TRACKED... END         (the daemon's table: ages, alerts)
 *   STATUS  -> STATUS
 *   KILL_NS -> KILLED                 (root only; sock_diag sockets may come along)
 *   RELOAD  -> OK                     (root, or finwatchd's own user)
 *   KILL    -> ERROR                  (0.1's kill, without namespaces: refused as
 *                                      a version mismatch, never guessed at)
 *   any     -> ERROR                  (instead, when it fails)
 * and may then send another request on the same connection. A request type
 * this daemon does not know is answered ERROR -EOPNOTSUPP, the connection
 * kept: a client newer than the daemon says "version mismatch". */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define PROTO_MAGIC        UINT32_C(0x54435746) /* "FWCT" */
#define PROTO_VERSION      1
#define PROTO_MAX_REQUEST  65536  /* bytes; larger requests are refused */
#define PROTO_MAX_REPLY    65536  /* bytes; the client's receive buffer */
#define PROTO_DEFAULT_SOCKET "/run/finwatch/control"

enum proto_type {
        /* requests */
        PROTO_REQ_LIST = 1,
        PROTO_REQ_STATUS = 2,
        PROTO_REQ_KILL = 3,            /* 0.1; refused since 0.2 */
        PROTO_REQ_RELOAD = 4,
        PROTO_REQ_KILL_NS = 5,         /* since 0.2 */
        /* replies */
        PROTO_REPLY_ERROR = 100,
        PROTO_REPLY_TRACKED = 101,
        PROTO_REPLY_END = 102,
        PROTO_REPLY_STATUS = 103,
        PROTO_REPLY_KILLED = 104,
        PROTO_REPLY_OK = 105,
};

struct proto_header {
        uint32_t magic;          /* PROTO_MAGIC */
        uint16_t version;        /* PROTO_VERSION */
        uint16_t type;           /* enum proto_type */
        uint32_t length;         /* whole message, header included */
        uint32_t reserved;       /* 0 */
};
_Static_assert(sizeof(struct proto_header) == 16, "proto_header layout");

/* One socket of the daemon's table (PROTO_REPLY_TRACKED carries an array). */
struct proto_tracked {
        uint64_t cookie;
        uint64_t age_usec;             /* stuck this long at least (in its current state, or
                                        * without progress where the kernel says longer) */
        uint64_t first_seen_ago_usec;  /* since the daemon first saw it */
        uint8_t state;                 /* FW_TCP_* */
        uint8_t alerted;               /* 0 or 1 */
        uint8_t age_source;            /* since 0.3: what age_usec came from, enum age_source
                                        * (age.h): 1 its own clock, 2 the kernel's lower bound;
                                        * 0 from an older daemon (its own) */
        uint8_t peer;                  /* since 0.3: enum peer_state (peer.h), the verdict over
                                        * its polls; 0 from an older daemon: unknown */
        uint8_t no_timer_polls;        /* since 0.3: dumps in a row that showed it without a
                                        * timer (cause_of() no-timer), saturating at 255; no-timer
                                        * from CAUSE_NO_TIMER_POLLS on; 0 from an older daemon */
        uint8_t reserved[3];
};
_Static_assert(sizeof(struct proto_tracked) == 32, "proto_tracked layout");

/* PROTO_REPLY_TRACKED payload: a count, then that many entries. */
struct proto_tracked_head {
        uint32_t count;
        uint32_t reserved;
};
#define PROTO_TRACKED_PER_MSG \
        ((PROTO_MAX_REPLY - sizeof(struct proto_header) - sizeof(struct proto_tracked_head)) / sizeof(struct proto_tracked))

/* The exact identity of a socket, as sock_diag names it: what SOCK_DESTROY needs. */
struct proto_sock_id {
        uint64_t cookie;
        uint8_t src[16];
        uint8_t dst[16];
        uint16_t sport, dport;         /* host order */
        uint32_t ifindex;
        uint8_t family;                /* AF_INET or AF_INET6 */
        uint8_t state;                 /* as listed; the daemon checks it again */
        uint8_t reserved[6];
};
_Static_assert(sizeof(struct proto_sock_id) == 56, "proto_sock_id layout");

/* PROTO_REQ_KILL and PROTO_REQ_KILL_NS payload: head, then count ids. */
struct proto_kill_head {
        uint32_t count;                /* 1 .. PROTO_KILL_MAX (_NS_MAX) */
        uint32_t flags;                /* 0 (0.1 had a dry-run flag no client sent) */
};
#define PROTO_KILL_MAX \
        ((PROTO_MAX_REQUEST - sizeof(struct proto_header) - sizeof(struct proto_kill_head)) / sizeof(struct proto_sock_id))

/* One socket of a PROTO_REQ_KILL_NS: its identity and the namespace it
 * lives in (the inode of its nsfs file; 0: the daemon's own). For a
 * namespace the daemon does not watch, the request carries (SCM_RIGHTS) a
 * NETLINK_SOCK_DIAG socket the client opened there: the daemon checks
 * which namespace each belongs to (SIOCGSKNS) and sends SOCK_DESTROY on
 * it, with its own CAP_NET_ADMIN, which is what the kernel checks. */
struct proto_sock_id_ns {
        struct proto_sock_id id;
        uint32_t netns_ino;
        uint32_t reserved;             /* 0 */
};
_Static_assert(sizeof(struct proto_sock_id_ns) == 64, "proto_sock_id_ns layout");
#define PROTO_KILL_NS_MAX \
        ((PROTO_MAX_REQUEST - sizeof(struct proto_header) - sizeof(struct proto_kill_head)) / sizeof(struct proto_sock_id_ns))
/* sock_diag sockets one request may carry (the kernel's SCM_MAX_FD) */
#define PROTO_MAX_FDS 253

/* PROTO_REPLY_KILLED payload: head (count, 0), then count results, in order. */
struct proto_kill_result {
        uint64_t cookie;
        int32_t error;                 /* 0 killed, -ENOENT already gone, -errno failed */
        uint8_t state;                 /* the state the socket was in */
        uint8_t reserved[3];
};
_Static_assert(sizeof(struct proto_kill_result) == 16, "proto_kill_result layout");

struct proto_status {
        char version[32];              /* NUL-terminated */
        char config_path[256];         /* NUL-terminated */
        uint64_t uptime_usec;
        uint64_t interval_usec;
        uint64_t last_poll_usec;       /* duration of the last poll */
        uint64_t polls;
        uint64_t poll_failures;
        uint64_t alerts_sent;
        uint64_t alerts_held;
        uint64_t kills_ok;
        uint64_t kills_failed;
        uint32_t tracked;
        uint32_t per_state[16];        /* indexed by FW_TCP_* */
        int32_t destroy_supported;     /* 1 yes, 0 no (kernel without INET_DIAG_DESTROY), -1 unknown */
        int32_t last_poll_error;       /* -errno, 0 ok */
        uint32_t reserved;
        /* since 0.2.1; a 0.2.0 daemon's status ends above (PROTO_STATUS_V0_SIZE),
         * and the rest reads 0 */
        uint32_t netns_mode;           /* enum netns_mode: 0 host (the rest of netns_* is 0) */
        uint32_t netns_watched;        /* network namespaces watched besides ours */
        uint32_t netns_denied;         /* found and not watched: permission denied */
        uint32_t netns_no_fds;         /* ... out of file descriptors */
        uint32_t netns_over_cap;       /* ... past max_netns */
        uint32_t netns_cap;            /* max_netns as the file limit allows it */
        uint32_t netns_not_netns;      /* /run/netns entries that are no network namespace */
        uint32_t reserved2;
        uint64_t control_refused;      /* connections refused by the per-uid limits */
        uint64_t control_busy;         /* replies refused for the queue budget */
        uint64_t control_accept_failures;
};
#define PROTO_STATUS_V0_SIZE (32 + 256 + 9 * 8 + 4 + 64 + 3 * 4)
_Static_assert(sizeof(struct proto_status) == PROTO_STATUS_V0_SIZE + 8 * 4 + 3 * 8, "proto_status layout");

/* PROTO_REPLY_ERROR payload: an errno and a sentence for the user. */
struct proto_error {
        int32_t error;                 /* -errno */
        uint32_t reserved;
        char message[248];             /* NUL-terminated */
};
_Static_assert(sizeof(struct proto_error) == 256, "proto_error layout");

/* A decoded message: the header checked, the payload bounds known, and
 * the file descriptors that came with it (the receiver's, closed by it). */
struct proto_msg {
        uint16_t type;
        const uint8_t *payload;
        size_t payload_len;
        const int *fds;
        size_t n_fds;
};

/* Check a received message: magic, version, length equal to the bytes
 * received, reserved fields zero, a known type with a payload of exactly the
 * size that type has. Returns 0, -EPROTONOSUPPORT (another version),
 * -EOPNOTSUPP (a request type this side does not know: ret->type says
 * which), or -EBADMSG; the payload is not read before it is checked. */
int proto_decode(const void *buf, size_t len, struct proto_msg *ret);

/* Write a header for a message of payload_len bytes; returns the whole length. */
size_t proto_put_header(void *buf, uint16_t type, size_t payload_len);

/* Conversions between a socket's identity (and the state it was listed
 * in) and its wire form: the one place they meet. */
void proto_id_from_sock(struct proto_sock_id *w, const struct sock_id *id, uint8_t state);
void proto_id_to_sock(const struct proto_sock_id *w, struct sock_id *id, uint8_t *state);
void proto_id_ns_from_sock(struct proto_sock_id_ns *w, const struct sock_id *id, uint8_t state);
void proto_id_ns_to_sock(const struct proto_sock_id_ns *w, struct sock_id *id, uint8_t *state);
