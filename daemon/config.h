/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* finwatch.conf: a table of keys, typed and range-checked values, parsed
 * into a staging config that replaces the running one only when the whole
 * file is valid. */

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

#define CONFIG_DEFAULT_PATH FW_SYSCONFDIR "/finwatch/finwatch.conf"
#define CONFIG_DEFAULT_STATE_FILE "/run/finwatch/state"
/* One descriptor per watched namespace: with the unit's LimitNOFILE=2048,
 * 1024 of them and CONFIG_FD_RESERVE for everything else. */
#define CONFIG_DEFAULT_MAX_NETNS 1024
#define CONFIG_FD_RESERVE 512       /* clients, passed descriptors, the cgroup walk, files */
#define CONFIG_DEFAULT_CONTROL_SOCKET PROTO_DEFAULT_SOCKET  /* one constant, the protocol's */

enum {
        CONFIG_FAMILY_IPV4 = 1 << 0,
        CONFIG_FAMILY_IPV6 = 1 << 1,
};

enum {
        KILL_POLICY_NO,
        KILL_POLICY_DRY_RUN,
        KILL_POLICY_YES,
};

#define CONFIG_MAX_CIDRS 32

struct cidr {
        uint8_t family;             /* AF_INET or AF_INET6 */
        uint8_t prefix;             /* bits */
        uint8_t addr[16];           /* network byte order, host bits zero */
};

/* A set of TCP ports, one bit each. */
struct portset {
        uint64_t bits[65536 / 64];
        bool any;                   /* at least one port set */
};

static inline bool portset_has(const struct portset *p, uint16_t port) {
        return p->bits[port / 64] & (UINT64_C(1) << (port % 64));
}

struct config {
        /* [monitor] */
        uint64_t interval;          /* usec between polls */
        uint32_t states;            /* DIAG_STATE_BIT mask */
        unsigned families;          /* CONFIG_FAMILY_* */
        int netns_mode;             /* enum netns_mode */
        char netns_names[160];      /* NETNS_NAMED: the names, comma separated */
        unsigned max_netns;         /* namespaces watched besides ours, at most (one descriptor each) */
        /* [alert] */
        uint64_t alert_after;       /* usec stuck before the first alert */
        uint64_t alert_repeat;      /* usec between repeated alerts, 0 = never */
        unsigned alert_max_per_minute;
        unsigned orphan_budget_bp;  /* alert when orphans pass this share of tcp_max_orphans, 1/100 %; 0 = off */
        /* [kill] */
        int kill_auto;              /* KILL_POLICY_* */
        uint64_t kill_after;        /* usec stuck before an automatic kill */
        uint64_t kill_after_fin_wait_1; /* usec, overrides kill_after for FIN_WAIT_1; 0 = kill_after */
        uint64_t kill_after_last_ack;   /* usec, likewise for LAST_ACK */
        unsigned kill_max_per_minute;
        bool kill_blocking;         /* kill at once a socket whose peer is reconnecting (peer.h),
                                     * whatever auto and after say; auto = dry-run: recorded only */
        struct portset kill_exclude_ports; /* never auto-kill a socket with such a local or peer port */
        struct portset kill_only_ports;    /* if any: only sockets with such a local or peer port */
        struct cidr kill_exclude_peers[CONFIG_MAX_CIDRS];
        unsigned n_kill_exclude_peers;
        /* [metrics] */
        char metrics_textfile[256]; /* Prometheus text file written after each poll, "" = none */
        /* [daemon] */
        char state_file[256];       /* where ages are kept across restarts, "" = nowhere */
        char control_socket[108];   /* the control socket's path (sun_path) */
};

/* The auto-kill threshold for a state. */
uint64_t config_kill_after(const struct config *c, uint8_t state);

/* Does the peer address fall in one of the excluded CIDRs? */
bool config_peer_excluded(const struct config *c, uint8_t family, const uint8_t addr[16]);

void config_defaults(struct config *c);

/* Parse FILE (path for messages) into *ret. On failure returns -errno and,
 * for a bad file, a message "PATH:LINE: ..." in errbuf. -ENOENT when the
 * file does not exist (callers use the defaults). */
int config_load(const char *path, struct config *ret, char *errbuf, size_t errsize);

/* Parse from an open stream; path is used in messages only. */
int config_parse(FILE *f, const char *path, struct config *ret, char *errbuf, size_t errsize);

/* Print the effective config in the file's own syntax. */
void config_print(FILE *f, const struct config *c);
