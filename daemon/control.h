/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The control socket: accepts clients on an AF_UNIX SOCK_SEQPACKET socket
 * (inherited through socket activation, or bound here), reads one request at
 * a time, checks it (protocol.h) before anything else reads it, hands it to
 * the handler, and sends the reply without ever blocking: a slow or silent
 * client has a timeout and costs nobody else anything. */

#include <stdbool.h>
#include <sys/socket.h>
#include <systemd/sd-event.h>

#include "proto.h"

/* The limits, as systemd's varlink servers keep them (connections in all and
 * per uid), with a reserve no other user can take from root, as ext4 keeps
 * blocks for root. "Privileged": root, or finwatchd's own user (the unit's
 * ExecReload= runs as it). finwatchd(8) says the same. */
#define CONTROL_MAX_CLIENTS 64           /* connections in all */
#define CONTROL_RESERVED 8               /* of them, only for privileged clients */
#define CONTROL_MAX_PER_UID 8            /* one unprivileged uid's connections at a time */
#define CONTROL_CLIENT_TIMEOUT_USEC (10 * UINT64_C(1000000))   /* idle: no request, nothing sent */
#define CONTROL_CLIENT_LIFETIME_USEC (30 * UINT64_C(1000000))  /* an unprivileged connection in all:
                                                                * requests do not extend it */
#define CONTROL_MAX_REFUSING 16          /* refused clients held until their request came, to
                                          * answer it with the reason (a close with a request
                                          * unread reaches the client as ECONNRESET instead) */
#define CONTROL_REFUSE_WAIT_USEC (1 * UINT64_C(1000000))
#define CONTROL_QUEUE_MAX (16u << 20)    /* bytes of replies waiting for unprivileged readers,
                                          * all of them together (one reply always fits) */
#define CONTROL_ACCEPT_PAUSE_USEC (1 * UINT64_C(1000000))      /* after EMFILE and the like */
#define CONTROL_ACCEPT_WARN_INTERVAL_USEC (10 * 60 * UINT64_C(1000000))

/* The same limits as one value, the defines above its defaults: a test (or
 * a benchmark build) sets others with control_set_limits(). */
struct control_limits {
        unsigned max_clients;           /* connections in all */
        unsigned reserved;              /* of them, only for privileged clients; < max_clients */
        unsigned max_per_uid;           /* one unprivileged uid's connections */
        unsigned max_refusing;          /* refused clients held for their request */
        uint64_t idle_timeout_usec;     /* no request, nothing sent */
        uint64_t lifetime_usec;         /* an unprivileged connection in all */
        uint64_t refuse_wait_usec;      /* a refused client's wait for its request */
        uint64_t accept_pause_usec;     /* after EMFILE and the like */
        size_t queue_max;               /* bytes of replies queued for unprivileged readers */
};
#define CONTROL_LIMITS_DEFAULT                                          \
        ((struct control_limits) {                                      \
                .max_clients = CONTROL_MAX_CLIENTS,                     \
                .reserved = CONTROL_RESERVED,                           \
                .max_per_uid = CONTROL_MAX_PER_UID,                     \
                .max_refusing = CONTROL_MAX_REFUSING,                   \
                .idle_timeout_usec = CONTROL_CLIENT_TIMEOUT_USEC,       \
                .lifetime_usec = CONTROL_CLIENT_LIFETIME_USEC,          \
                .refuse_wait_usec = CONTROL_REFUSE_WAIT_USEC,           \
                .accept_pause_usec = CONTROL_ACCEPT_PAUSE_USEC,         \
                .queue_max = CONTROL_QUEUE_MAX,                         \
        })

/* A reply under construction: whole messages, one after the other. */
struct reply {
        uint8_t *data;
        size_t len;
        size_t allocated;
        int error;        /* -ENOMEM once an append failed */
};

/* Append one message; returns 0 or -ENOMEM (remembered in r->error). */
int control_reply_add(struct reply *r, uint16_t type, const void *payload, size_t payload_len);
/* Append an error message with a sentence for the user. */
int control_reply_error(struct reply *r, int error, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Called for each checked request. Fill *reply (at least one message).
 * peer: the client's credentials (SO_PEERCRED). */
typedef void (*control_handler_fn)(const struct proto_msg *req, const struct ucred *peer, struct reply *reply,
                                   void *userdata);

struct control;

/* Who may send a request type, decided before any handler runs: NULL if a
 * peer of uid may (self: finwatchd's own euid), else the start of the
 * refusal ("only root may"). */
const char *control_refusal(uint16_t type, uid_t uid, uid_t self);

/* Listen on path, or on the socket systemd passed (sd_listen_fds). path
 * must be absolute (-EINVAL: "" would bind an abstract socket). A stale
 * socket at path is replaced; anything else there is left alone and
 * -ENOTSOCK returned. control_free() unlinks the socket it bound, and only
 * while that socket is still what path holds. */
int control_new(struct control **ret, sd_event *event, const char *path, control_handler_fn handler,
                void *userdata);
struct control *control_free(struct control *c);
static inline void control_freep(struct control **c) {
        if (*c)
                control_free(*c);
}
unsigned control_clients(const struct control *c);

/* Other limits than CONTROL_LIMITS_DEFAULT: for the connections accepted
 * from now on (the counts and the budget also for those already open).
 * -EINVAL if reserved does not leave unprivileged clients a slot. */
int control_set_limits(struct control *c, const struct control_limits *limits);
/* Whose connections count as privileged beside root's (finwatchd's own
 * user; geteuid() by default), decided as each is accepted. */
void control_set_self(struct control *c, uid_t self);

/* What the socket went through: for status and the metrics. */
struct control_stats {
        uint64_t refused;          /* connections refused by the limits above */
        uint64_t busy_replies;     /* replies refused for the queue budget */
        uint64_t accept_failures;  /* accept4() failures that paused accepting (EMFILE, ...) */
        size_t queued;             /* bytes of replies queued for unprivileged clients now */
};
void control_get_stats(const struct control *c, struct control_stats *ret);
