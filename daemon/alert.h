/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Alerts: one structured journald record per stuck socket, per cleared
 * socket, and a summary of what a rate limit held back. The MESSAGE_IDs and
 * FINWATCH_* fields are API: see README.md. */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "record.h"
#include "tracker.h"

#define ALERT_MESSAGE_ID_STUCK   "b4cd1459bf4140c695af9432d3238033"
#define ALERT_MESSAGE_ID_CLEARED "bbfca07b105e4dbe9b45054f9af909c9"
#define ALERT_MESSAGE_ID_SUMMARY "10dbc8dc976747ae9445d14576345c07"
#define ALERT_MESSAGE_ID_KILLED  RECORD_MESSAGE_ID_KILLED
#define ALERT_MESSAGE_ID_KILL_DEFERRED "840d2535a81d4912bc9b3ea265f0b2bf"
#define ALERT_MESSAGE_ID_ORPHAN_BUDGET "f055b0afc3b14d7fab38c936e5f223d3"
#define ALERT_MESSAGE_ID_BLOCKING "2bfea22c16d5495ebe5de59bd6f35e91"

#define ALERT_WINDOW_USEC (60 * UINT64_C(1000000))

/* Where records go. The journal sink is the real one; tests put their own. */
typedef int (*alert_sink_fn)(const struct iovec *iov, int n, void *userdata);

struct alerter {
        alert_sink_fn sink;
        void *sink_userdata;
        unsigned max_per_minute;
        uint64_t window_start;     /* usec; start of the current rate window */
        bool window_open;
        unsigned sent_in_window;
        unsigned held_stuck;       /* records held back in this window */
        unsigned held_cleared;
        uint64_t sent_total;       /* records sent, summaries included */
        uint64_t held_total;
        int last_error;            /* last sink failure, -errno, 0 = none */
};

/* What a socket record prints besides the socket itself, given by the
 * caller (labels.h): NULL leaves the field out. */
struct sock_labels {
        const char *unit;          /* FINWATCH_UNIT */
        const char *netns;         /* FINWATCH_NETNS: "host", a /run/netns name, "net:[INODE]" */
        const char *container_id;  /* FINWATCH_CONTAINER_ID, with FINWATCH_CONTAINER_RUNTIME */
        const char *pod_uid;       /* FINWATCH_POD_UID, with FINWATCH_POD_QOS */
        uint8_t container_runtime; /* enum container_runtime (container.h) */
        uint8_t pod_qos;           /* enum pod_qos */
};

void alerter_init(struct alerter *a, unsigned max_per_minute, alert_sink_fn sink, void *userdata);

void alert_stuck(struct alerter *a, const struct tracked *e, const struct sock_labels *l, uint64_t age, bool repeat,
                 uint64_t now);
void alert_cleared(struct alerter *a, const struct tracked *e, const struct sock_labels *l, uint64_t now);
/* Its peer keeps reconnecting from the same address and port (peer.h):
 * this socket blocks a client now. Once per spell; rate limited with the
 * other records, but a refused one is not held back: false, and the
 * caller tries again at a later poll. True when it went out. */
bool alert_blocking(struct alerter *a, const struct tracked *e, const struct sock_labels *l, uint64_t now);

/* The audit record of one kill (never rate limited: every kill is told).
 * result: diag_kill()'s. age: usec in its state, UINT64_MAX unknown.
 * uid/pid: who asked (manual kills). */
void alert_killed(struct alerter *a, const struct tracked *e, const struct sock_labels *l, int result, uint64_t age,
                  enum kill_origin origin, uint32_t uid, uint32_t pid);

/* The auto-kill budget made n kills wait for the next minute. */
void alert_kill_deferred(struct alerter *a, unsigned n, unsigned max_per_minute);

/* The orphan sockets passed the budget: counts, and the units with the
 * most stuck orphans ("nginx.service=120, docker-1.scope=4"). */
void alert_orphan_budget(struct alerter *a, uint64_t orphans, uint64_t max_orphans, unsigned budget_bp,
                         const char *top_units);

/* Close the rate window if a minute has passed, sending the summary of what
 * was held back. force: send it now whatever the time (on exit). */
void alert_tick(struct alerter *a, uint64_t now, bool force);

/* Sinks: journald, or stderr as "<PRIO>MESSAGE KEY=VALUE ..." lines. */
int alert_sink_journal(const struct iovec *iov, int n, void *userdata);
int alert_sink_stderr(const struct iovec *iov, int n, void *userdata);

/* Whether journald's socket takes datagrams (sd_journal_send() says 0 even
 * when nobody listens). path NULL: /run/systemd/journal/socket. */
bool alert_journal_reachable(const char *path);
