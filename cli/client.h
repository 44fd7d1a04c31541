/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The CLI's side of the control protocol (lib/proto.h). */

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* What the daemon knows of one socket. */
struct daemon_entry {
        uint64_t cookie;
        uint64_t age_usec;
        uint64_t first_seen_ago_usec;
        uint8_t state;
        uint8_t no_timer_polls;        /* proto_tracked.no_timer_polls */
        uint8_t age_source;            /* enum age_source (age.h), as the daemon said it */
        bool alerted;
        uint8_t peer;                   /* enum peer_state (peer.h); 0 unknown */
};

struct daemon_table {
        struct daemon_entry *entries; /* sorted by cookie */
        size_t n;
};

/* Connect to the control socket: an fd, or -errno (-ENOENT, -ECONNREFUSED:
 * no daemon). */
int client_connect(const char *path);

/* Ask for the daemon's table. 0 or -errno; errbuf says what the daemon said. */
int client_list(int fd, struct daemon_table *ret, char *errbuf, size_t errsize);
const struct daemon_entry *client_table_find(const struct daemon_table *t, uint64_t cookie);
void client_table_done(struct daemon_table *t);

int client_status(int fd, struct proto_status *ret, char *errbuf, size_t errsize);
int client_reload(int fd, char *errbuf, size_t errsize);

/* Kill ids[0..n) (n <= PROTO_KILL_NS_MAX), each in its namespace; fds:
 * sock_diag sockets of those namespaces (at most PROTO_MAX_FDS), for the
 * daemon to kill in where it does not watch. Results in the same order.
 * -EPROTONOSUPPORT: a daemon too old to know the request (errbuf says so). */
int client_kill(int fd, const struct proto_sock_id_ns *ids, size_t n, const int *fds, size_t n_fds,
                struct proto_kill_result *results, char *errbuf, size_t errsize);
