/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Whose is a socket a process still owns: the process holding its
 * descriptor, looked up for the sockets asked about only. No kernel
 * interface names it. Where BPF may be loaded (root: CAP_BPF and
 * CAP_PERFMON; Linux 5.17+ with BTF), a task_file iterator reads every
 * process's sockets in the kernel (owner.bpf.c): one pass over every open
 * file. Otherwise each candidate process's descriptors are read from
 * procfs (a readlink each, "socket:[INODE]"; by number where procfs gives
 * their count, Linux 6.2+, otherwise listed), in proportion to every
 * descriptor those processes hold, live connections too.
 * tests/bench/RESULTS.md has what each costs; either way finwatch list does
 * it only when asked (--processes). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "owner-record.h"

struct inode_owner {
        uint32_t inode;         /* the socket's (idiag_inode); the caller's */
        pid_t pid;              /* set: a process holding it, 0 none found */
        char comm[16];          /* set: its command name as the kernel has it */
};

/* What a lookup read: each process's descriptors at most once, its command
 * name at most once and only if it holds a wanted socket. */
struct owner_stats {
        bool bpf;               /* read by the BPF iterator (no fd directory) */
        unsigned pids_read;     /* fd directories read */
        unsigned fds_read;      /* descriptors looked at (readlink, or records) */
        unsigned comms_read;    /* command names read */
};

/* How a lookup reads: BPF where it loads, else procfs; or only one. */
enum owner_via {
        OWNER_VIA_ANY,
        OWNER_VIA_BPF,
        OWNER_VIA_PROC,
};

/* Where the holders of the sockets asked about are likely to be, to read
 * them first: the sockets' own cgroups (where the processes that made them
 * ran; absolute cgroup directories, NULL entries skipped) and network
 * namespaces (inodes). */
struct owner_hints {
        const char *const *cgroup_dirs;
        size_t n_cgroup_dirs;
        const uint64_t *netns;
        size_t n_netns;
};

/* Readers at most: one per CPU up to this, the caller's thread one of them. */
#define OWNER_MAX_READERS 8

/* Find the processes holding the sockets of wanted[] (sorted here by
 * inode), under proc_root ("/proc"; a test gives a tree of its own).
 *
 * By BPF (via ANY or BPF, proc_root a procfs of our pid namespace): every
 * socket held, each holder's command name read once from proc_root; a
 * socket several hold is the lowest pid's. ANY falls back to procfs when
 * the program cannot be loaded or read; BPF returns that -errno instead
 * (owner_bpf_read(); -EXDEV too for a proc_root that is no procfs). Out
 * of memory after the read, the pids found are set and names may be
 * missing.
 *
 * From procfs (via PROC, or ANY as a fallback): the processes of the
 * hinted cgroups first, then those in the hinted network
 * namespaces, then the rest, until every socket is found. A process we may
 * not read is passed over; a socket several hold is the lowest pid's of
 * those read. Each of those three groups is read by up to one reader per
 * CPU (threads that take its processes in turn and stop when every socket
 * is found), so a lookup among busy processes takes its time over the
 * CPUs, not once per process. Returns how many were found, or -errno:
 * proc_root cannot be read, or -ENOMEM (the pids found are set, names may
 * be missing); *stats if not NULL (the readers' sums). hints may be NULL. */
int owner_find(const char *proc_root, const struct owner_hints *hints, enum owner_via via, struct inode_owner *wanted,
               size_t n, struct owner_stats *stats);

/* Every socket held by a process proc_root shows, by the BPF iterator:
 * *ret (to free) and *n. 0, or -errno: -EOPNOTSUPP built without libbpf,
 * -EXDEV proc_root is not our pid namespace's, -EPERM not allowed to load
 * BPF, or whatever loading, attaching or reading failed with. */
int owner_bpf_read(const char *proc_root, struct owner_bpf_record **ret, size_t *n);

/* Each socket of wanted[] (sorted by inode) held in records[] given the
 * lowest pid holding it (records in any order; pid <= 0 ignored), pids
 * already set kept if lower. How many got their first pid. */
int owner_merge_records(struct inode_owner *wanted, size_t n, const struct owner_bpf_record *records,
                        size_t n_records);

/* Whether a process's status text (/proc/PID/status, NUL-terminated) says
 * the procfs it came from numbers processes as the process's own pid
 * namespace does: its NSpid line, the pid from that procfs's namespace down
 * to its own, has one number. No NSpid line (before Linux 4.1): no. */
bool owner_status_in_own_pidns(const char *status);

/* struct inode_owner by inode (qsort, bsearch). */
int owner_cmp_inode(const void *a, const void *b);

/* The inode of a descriptor's link text "socket:[INODE]" (len bytes, no
 * NUL needed): 1 and *ret, or 0 for anything else. */
int owner_parse_socket_link(const char *text, size_t len, uint32_t *ret);
