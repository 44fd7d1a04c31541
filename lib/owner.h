/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Whose is a socket a process still owns: the process, looked up only for
 * the sockets asked about, and only among the processes of their cgroup
 * (cgroup.h) when they share one. */

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Find which processes hold the given socket inodes: scans /proc/PID/fd of
 * the processes in cgroup_dir (an absolute cgroup directory; NULL: every
 * process). pids[i] and comms[i] are set for inodes[i] found (0 and "" if
 * not). Returns the number found. */
struct inode_owner {
        uint32_t inode;
        pid_t pid;
        char comm[16];
};
int owner_find_pids(const char *cgroup_dir, struct inode_owner *wanted, size_t n);
