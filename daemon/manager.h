/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The Manager owns the event loop and every source on it (poll timer,
 * signals, watchdog, the control socket), the netlink sockets, the tracker,
 * the alerter and the running config; it runs the poll and the reload. The
 * jobs a poll drives live in their own modules: the policy (policy.h), the
 * summary (summary.h), the labels (labels.h); the control requests are
 * answered by requests.h, handed in by finwatchd.c. */

#include <systemd/sd-event.h>

#include "alert.h"
#include "cause.h"
#include "config.h"
#include "control.h"
#include "diag.h"
#include "labels.h"
#include "metrics.h"
#include "netns.h"
#include "policy.h"
#include "statefile.h"
#include "summary.h"
#include "tracker.h"

#define MANAGER_SAVE_INTERVAL_USEC (30 * UINT64_C(1000000))
/* A warning about namespaces left out, again only after this and only when
 * the counts changed: one a poll would flood the journal. */
#define MANAGER_NETNS_WARN_INTERVAL_USEC (10 * 60 * UINT64_C(1000000))

struct manager {
        sd_event *event;
        sd_event_source *poll_timer;
        struct netns_set *netns;      /* ours (the home), and with [monitor] netns every watched one */
        struct netns_unwatched netns_unwatched; /* the last discovery's left out */
        int netns_error;              /* -errno while discovery fails (said once), else 0 */
        unsigned netns_cap;           /* max_netns as the file limit allows it */
        unsigned netns_cap_told;      /* the cap last said to be lower than max_netns, 0 none */
        uint64_t netns_warned;        /* usec of the last warning about unwatched ones, 0 never */
        struct netns_unwatched netns_warned_of; /* what it said */
        struct tracker *tracker;
        struct alerter alerter;
        struct labels *labels;        /* units and namespaces, interned */
        struct summary summary;       /* the table counted after the last poll */
        struct policy_state policy;   /* the auto-kill budget and its pass */
        struct config config;
        const char *config_path;      /* borrowed from argv */
        struct statefile_clock clock; /* boot id and time namespace offset, for the state file */

        struct control *control;
        uint64_t started;             /* usec, CLOCK_BOOTTIME */
        struct tcp_limits limits;     /* the sysctls, read each poll */
        int limits_error;             /* -errno while they cannot be read (said once), else 0 */
        int orphans_error;            /* the same for the orphan count */
        int syn_counter_error;        /* the same for our namespace's TcpExtTCPSYNChallenge */
        struct metrics metrics;       /* counters, and what the textfile shows */
        bool orphan_budget_armed;     /* the next crossing of the budget alerts */
        bool metrics_error_told;
        int destroy_supported;        /* 1, 0, or -1 unknown */
        bool kill_denied_told;        /* said once that we may not kill */

        bool ready;                   /* READY=1 sent */
        bool state_dirty;             /* tracker changed since the last save */
        uint64_t last_save;           /* usec, CLOCK_BOOTTIME */
        uint64_t polls, poll_failures;
        uint64_t last_poll_duration;  /* usec, the whole poll (what status says) */
        uint64_t last_discovery_duration; /* usec, of it finding the namespaces; 0 with netns = host */
        int last_poll_error;          /* -errno of the last failed poll, 0 after a good one */
};

/* Set up everything (config already loaded); handler answers the control
 * socket's requests, with the manager as its userdata. */
int manager_new(struct manager **ret, const struct config *config, const char *config_path,
                control_handler_fn handler);
struct manager *manager_free(struct manager *m);
static inline void manager_freep(struct manager **m) {
        if (*m)
                manager_free(*m);
}

/* Run until SIGTERM/SIGINT; returns the exit status. */
int manager_run(struct manager *m);

/* One poll: dump, track, alert, the policy, the summary. now in usec
 * CLOCK_BOOTTIME. Returns 0, or the poll's error (the state is kept). */
int manager_poll(struct manager *m, uint64_t now);

/* Re-read the config file; a bad file keeps the running config and its
 * error goes to errbuf. */
int manager_reload(struct manager *m, char *errbuf, size_t errsize);

/* Count the table again (the summary status, STATUS=, metrics read):
 * after each poll, and after what changes the table between polls. */
void manager_summarize(struct manager *m, uint64_t now);

/* The daemon's clock: CLOCK_BOOTTIME in usec. */
uint64_t manager_now(void);

/* Network namespaces watched besides ours. */
size_t manager_netns_watched(const struct manager *m);

/* The sock_diag socket the manager has in a namespace (0: ours), or NULL. */
struct diag *manager_diag_of(struct manager *m, uint32_t netns_ino);

/* Count a kill's result (diag_kill()): the metrics, whether the kernel can
 * kill, said once when it may not. */
void manager_count_kill(struct manager *m, int r);
