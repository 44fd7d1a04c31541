/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <syslog.h>

#include "age.h"
#include "cause.h"
#include "container.h"
#include "escape.h"
#include "peer.h"
#include "record.h"
#include "sockfmt.h"
#include "util.h"

void record_field(struct record *r, const char *fmt, ...) {
        va_list ap;
        int len;

        if (r->n >= RECORD_FIELDS)
                return;
        va_start(ap, fmt);
        len = vsnprintf(r->text[r->n], sizeof(r->text[r->n]), fmt, ap);
        va_end(ap);
        if (len < 0)
                return;
        if ((size_t) len >= sizeof(r->text[r->n]))
                len = sizeof(r->text[r->n]) - 1;
        r->iov[r->n] = (struct iovec) { .iov_base = r->text[r->n], .iov_len = (size_t) len };
        r->n++;
}

void record_socket(struct record *r, const char *identifier, const struct record_sock *s) {
        char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN];
        /* names escaped (escape.h), as finwatch list and the metrics show
         * them, and cut to whole characters to fit a field */
        char name[sizeof(r->text[0])];

        sockfmt_endpoint(local, sizeof(local), s->id.family, s->id.src, s->id.sport);
        sockfmt_endpoint(peer, sizeof(peer), s->id.family, s->id.dst, s->id.dport);
        record_field(r, "SYSLOG_IDENTIFIER=%s", identifier);
        record_field(r, "FINWATCH_STATE=%s", sockfmt_state_name(s->state));
        record_field(r, "FINWATCH_LOCAL=%s", local);
        record_field(r, "FINWATCH_PEER=%s", peer);
        record_field(r, "FINWATCH_COOKIE=%" PRIu64, s->id.cookie);
        record_field(r, "FINWATCH_ORPHAN=%s", s->orphan ? "yes" : "no");
        record_field(r, "FINWATCH_TIMER=%s", sockfmt_timer_name(s->timer));
        record_field(r, "FINWATCH_TIMER_COUNT=%u", (unsigned) s->timer_count);
        record_field(r, "FINWATCH_CAUSE=%s", cause_to_string(s->cause));
        if (s->peer != PEER_UNKNOWN)
                record_field(r, "FINWATCH_PEER_STATE=%s", peer_state_to_string(s->peer));
        if (s->netns)
                record_field(r, "FINWATCH_NETNS=%s", escape_cut(name, sizeof(name) - strlen("FINWATCH_NETNS="), s->netns));
        if (s->fate_msec == FATE_NEVER)
                record_field(r, "FINWATCH_FATE=never");
        else if (s->fate_msec < 0)
                record_field(r, "FINWATCH_FATE=unknown");
        else {
                record_field(r, "FINWATCH_FATE=reaped");
                record_field(r, "FINWATCH_REAPED_IN_SEC=%" PRId64, (s->fate_msec + 999) / 1000);
        }
        if (s->has_cgroup_id) {
                record_field(r, "FINWATCH_CGROUP_ID=%" PRIu64, s->cgroup_id);
                if (s->unit && s->unit[0])
                        record_field(r, "FINWATCH_UNIT=%s",
                                     escape_cut(name, sizeof(name) - strlen("FINWATCH_UNIT="), s->unit));
                if (s->container_id) {
                        record_field(r, "FINWATCH_CONTAINER_ID=%s", s->container_id);
                        if (container_runtime_to_string(s->container_runtime))
                                record_field(r, "FINWATCH_CONTAINER_RUNTIME=%s",
                                             container_runtime_to_string(s->container_runtime));
                }
                if (s->pod_uid) {
                        record_field(r, "FINWATCH_POD_UID=%s", s->pod_uid);
                        if (pod_qos_to_string(s->pod_qos))
                                record_field(r, "FINWATCH_POD_QOS=%s", pod_qos_to_string(s->pod_qos));
                }
        }
}

void record_killed(struct record *r, const char *identifier, const struct record_sock *s,
                   const struct record_kill *k) {
        static const char *const origins[] = {
                [KILL_MANUAL] = "manual", [KILL_AUTO] = "auto", [KILL_AUTO_DRY_RUN] = "dry-run",
        };
        char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN], age_s[DURATION_STRLEN] = "";
        bool dry = k->origin == KILL_AUTO_DRY_RUN;
        const char *verb = dry ? "would kill (dry run)" : k->result == 0 ? "killed" : "failed to kill";

        sockfmt_endpoint(local, sizeof(local), s->id.family, s->id.src, s->id.sport);
        sockfmt_endpoint(peer, sizeof(peer), s->id.family, s->id.dst, s->id.dport);
        if (k->age_usec != UINT64_MAX)
                format_duration(age_s, sizeof(age_s), k->age_usec);
        record_field(r, "MESSAGE=%s %s %s -> %s%s%s%s%s", verb, sockfmt_state_name(s->state), local, peer,
                     age_s[0] ? " stuck for " : "", age_s, k->result < 0 ? ": " : "",
                     k->result < 0 ? diag_kill_strerror(k->result) : "");
        record_field(r, "PRIORITY=%d", k->result < 0 && !dry ? LOG_ERR : LOG_NOTICE);
        record_field(r, "MESSAGE_ID=" RECORD_MESSAGE_ID_KILLED);
        record_field(r, "FINWATCH_KILL_ORIGIN=%s", origins[k->origin]);
        record_field(r, "FINWATCH_KILL_RESULT=%s", k->result == 0 ? (dry ? "dry-run" : "killed")
                                                                   : k->result == -ENOENT ? "gone" : "failed");
        record_field(r, "FINWATCH_KILL_VIA=%s", k->via);
        if (k->result < 0)
                record_field(r, "FINWATCH_KILL_ERRNO=%d", -k->result);
        if (k->origin == KILL_MANUAL) {
                record_field(r, "FINWATCH_REQUESTER_UID=%" PRIu32, k->uid);
                record_field(r, "FINWATCH_REQUESTER_PID=%" PRIu32, k->pid);
        }
        if (k->age_usec != UINT64_MAX) {
                record_field(r, "FINWATCH_AGE_USEC=%" PRIu64, k->age_usec);
                if (age_source_to_string(k->age_source))
                        record_field(r, "FINWATCH_AGE_SOURCE=%s", age_source_to_string(k->age_source));
        }
        record_socket(r, identifier, s);
}
