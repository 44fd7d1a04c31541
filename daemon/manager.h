/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The Manager owns the event loop and every source on it (poll timer,
 * signals, watchdog), the netlink socket, the tracker, the alerter and the
 * running config. */

#include <systemd/sd-event.h>

#include "statefile.h"

#include "alert.h"
#include "config.h"
#include "control.h"
#include "diag.h"
#include "metrics.h"
#include "netns.h"
#include "orphans.h"
#include "cgroup.h"
#include "cause.h"
#include "policy.h"
#include "tracker.h"

#define MANAGER_SAVE_INTERVAL_USEC (30 * UINT64_C(1000000))

struct manager {
        sd_event *event;
        sd_event_source *poll_timer;
        struct diag *diag;            /* our own network namespace */
        struct netns_set *netns;      /* [monitor] netns other than host: every watched one */
        bool netns_denied_told;
        struct tracker *tracker;
        struct alerter alerter;
        struct config config;
        const char *config_path;      /* borrowed from argv */
        struct statefile_clock clock; /* boot id and time namespace offset, for the state file */

        struct control *control;
        uint64_t started;             /* usec, CLOCK_BOOTTIME */
        struct tcp_limits limits;     /* the sysctls, read each poll */
        int limits_error;             /* -errno while they cannot be read (said once), else 0 */
        int orphans_error;            /* the same for the orphan count */
        struct cgroup_cache *cgroups; /* cgroup id -> path, NULL without cgroup v2 */
        char unit_buf[256];
        struct metrics metrics;       /* counters, and what the textfile shows */
        bool orphan_budget_armed;     /* the next crossing of the budget alerts */
        bool metrics_error_told;
        int destroy_supported;        /* 1, 0, or -1 unknown */
        struct kill_budget kill_budget;
        bool kill_denied_told;        /* said once that we may not kill */
        uint64_t *candidates;         /* auto-kill candidates of a poll, reused */
        size_t candidates_allocated;

        bool ready;                   /* READY=1 sent */
        bool state_dirty;             /* tracker changed since the last save */
        uint64_t last_save;           /* usec, CLOCK_BOOTTIME */
        uint64_t polls, poll_failures;
        uint64_t last_poll_duration;  /* usec */
        int last_poll_error;          /* -errno of the last failed poll, 0 after a good one */
};

/* Set up everything (config already loaded into m->config). */
int manager_new(struct manager **ret, const struct config *config, const char *config_path);
struct manager *manager_free(struct manager *m);
static inline void manager_freep(struct manager **m) {
        if (*m)
                manager_free(*m);
}

/* Run until SIGTERM/SIGINT; returns the exit status. */
int manager_run(struct manager *m);

/* One poll: dump, track, alert. now in usec CLOCK_BOOTTIME. */
int manager_poll(struct manager *m, uint64_t now);

/* Re-read the config file; a bad file keeps the running config and its
 * error goes to errbuf. */
int manager_reload(struct manager *m, char *errbuf, size_t errsize);

/* Answer one control request (the control_handler_fn). */
void manager_handle_request(const struct proto_msg *req, const struct ucred *peer, struct reply *reply,
                            void *userdata);
