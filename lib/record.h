/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Journal records, built without allocation: the fields every socket record
 * has, and the audit record of a kill, written the same way whoever killed
 * (finwatchd for its clients and its policy, finwatch when it killed without
 * the daemon). Sending is the caller's: sd_journal_sendv(r.iov, r.n). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "diag.h"

#define RECORD_MESSAGE_ID_KILLED "176cef42821a44f49b664d8769c52f27"

#define RECORD_FIELDS 32
struct record {
        struct iovec iov[RECORD_FIELDS];
        char text[RECORD_FIELDS][256];
        int n;
};

/* One "KEY=value" field; one that does not fit is cut, one too many left out. */
void record_field(struct record *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* What a record says of a socket: the tracker's entry or a listed row. */
struct record_sock {
        struct sock_id id;
        uint64_t cgroup_id;        /* valid if has_cgroup_id */
        int64_t fate_msec;         /* FATE_* or msec */
        uint8_t state, timer, timer_count, cause;
        bool orphan, has_cgroup_id;
        uint8_t peer;              /* enum peer_state (peer.h), FINWATCH_PEER_STATE; 0: left out */
        const char *unit;          /* FINWATCH_UNIT, NULL: left out */
        const char *netns;         /* FINWATCH_NETNS, NULL: left out */
        /* FINWATCH_CONTAINER_ID (with FINWATCH_CONTAINER_RUNTIME) and
         * FINWATCH_POD_UID (with FINWATCH_POD_QOS), as container.h gives
         * them (hex digits and dashes); NULL: left out */
        const char *container_id;
        const char *pod_uid;
        uint8_t container_runtime; /* enum container_runtime */
        uint8_t pod_qos;           /* enum pod_qos */
};

/* The fields every socket record has (after MESSAGE, PRIORITY, MESSAGE_ID). */
void record_socket(struct record *r, const char *identifier, const struct record_sock *s);

/* How a kill was asked for. */
enum kill_origin {
        KILL_MANUAL,        /* finwatch kill, through the daemon or not */
        KILL_AUTO,          /* the [kill] policy */
        KILL_AUTO_DRY_RUN,  /* the policy in dry-run: nothing was killed */
};

struct record_kill {
        int result;                /* diag_kill()'s */
        uint64_t age_usec;         /* stuck at least this long, UINT64_MAX unknown */
        uint8_t age_source;        /* enum age_source (age.h): FINWATCH_AGE_SOURCE, 0 left out */
        enum kill_origin origin;
        uint32_t uid, pid;         /* who asked (manual kills) */
        const char *via;           /* FINWATCH_KILL_VIA: "finwatchd", "finwatch" (no daemon) */
};

/* The audit record of one kill, whole. identifier: SYSLOG_IDENTIFIER. */
void record_killed(struct record *r, const char *identifier, const struct record_sock *s,
                   const struct record_kill *k);
