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

#define CONTROL_MAX_CLIENTS 64
#define CONTROL_CLIENT_TIMEOUT_USEC (10 * UINT64_C(1000000))

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

/* Listen on path, or on the socket systemd passed (sd_listen_fds). */
int control_new(struct control **ret, sd_event *event, const char *path, control_handler_fn handler,
                void *userdata);
struct control *control_free(struct control *c);
static inline void control_freep(struct control **c) {
        if (*c)
                control_free(*c);
}
unsigned control_clients(const struct control *c);
