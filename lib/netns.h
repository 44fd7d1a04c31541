/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The network namespaces to watch, each with a sock_diag socket of its own:
 * a netlink socket answers for the namespace it was made in, so it is made
 * there (setns in, open, setns back) and stays bound to it. Found again on
 * every discovery; one that is gone is closed (our socket was what kept it). */

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cause.h"
#include "cgroup.h"
#include "diag.h"

enum netns_mode {
        NETNS_HOST,       /* our own namespace only */
        NETNS_ALL,        /* ours, the named ones (/run/netns), and those of running processes */
        NETNS_NAMED,      /* the names listed ("host" for ours) */
};

struct netns {
        uint64_t ino;             /* the namespace's inode: its identity */
        char name[64];            /* "host", the /run/netns name, or "net:[INODE]" */
        char unit[CGROUP_UNIT_MAX]; /* for unnamed ones: the unit of a process in it, "" unknown */
        struct diag *diag;
        struct tcp_limits limits; /* its sysctls, read when it was entered */
        int pid;                  /* a process in it, found by the last discovery; 0 none
                                   * (ours: 0, read through /proc/self) */
        uint64_t syn_challenges;  /* TcpExtTCPSYNChallenge at the last poll, valid if has_ */
        uint64_t syn_growth_before; /* how much it grew over the poll interval before that */
        bool has_syn_challenges;
        bool seen;                /* found by the last discovery: watched. Ours stays
                                   * in the set when it is not (NETNS_NAMED without
                                   * "host"): sockets are killed there still. */
};

struct netns_set {
        struct netns *v;
        size_t n, allocated;
        int home_fd;              /* our own namespace, to come back to */
        uint64_t home_ino;
        dev_t nsfs_dev;           /* st_dev of every namespace file (nsfs): what is
                                   * on another file system is not opened */
        /* /run/netns and /proc, kept open from the first discovery on and read
         * again from the start each time: out of descriptors, the namespaces
         * found are counted as such, not lost with the directory */
        void *run_dir, *proc_dir; /* DIR *, NULL until opened */
};

/* The set with our own namespace in it ("host"). */
int netns_set_new(struct netns_set **ret);
void netns_set_free(struct netns_set *s);
static inline void netns_set_freep(struct netns_set **s) {
        netns_set_free(*s);
}

#define NETNS_NAMES_MAX 192

/* The namespaces a discovery found and could not watch, each counted once
 * under the first reason it met (a process whose namespace we may not even
 * see is counted as one). */
struct netns_unwatched {
        unsigned denied;          /* EPERM, EACCES: CAP_SYS_ADMIN (and CAP_SYS_PTRACE) needed */
        unsigned no_fds;          /* EMFILE, ENFILE, ENOMEM: no descriptor for its sock_diag socket */
        unsigned over_cap;        /* past the cap on watched namespaces */
        unsigned not_netns;       /* /run/netns entries that are no network namespace,
                                   * each counted (two names of one file are two) */
        char not_netns_names[NETNS_NAMES_MAX]; /* theirs, ", " between, a last
                                   * "..." when they did not all fit; another
                                   * user's bytes: escape to show */
};

static inline unsigned netns_unwatched_total(const struct netns_unwatched *u) {
        return u->denied + u->no_fds + u->over_cap + u->not_netns;
}

/* Find the namespaces again: new ones are opened, gone ones closed (a
 * mode of NETNS_HOST closes all but ours). names: for NETNS_NAMED, a comma
 * or space separated list. max: at most this many watched besides ours, 0
 * for no cap; those watched already stay. Returns the number of namespaces,
 * or -errno; the ones left out are counted in *ret_unwatched (may be NULL). */
int netns_set_discover(struct netns_set *s, enum netns_mode mode, const char *names, unsigned max,
                       struct netns_unwatched *ret_unwatched);

struct netns *netns_set_find(struct netns_set *s, uint64_t ino);
/* The sock_diag socket of the namespace with this inode (0: ours, the
 * set's home), NULL if the set does not hold it: where a socket of that
 * namespace is dumped and killed. */
struct diag *netns_set_diag(struct netns_set *s, uint64_t ino);

/* The inode of the network namespace a socket lives in (SIOCGSKNS, which
 * needs CAP_NET_ADMIN there). 0 or -errno. */
int netns_of_socket(int fd, uint64_t *ret_ino);
