/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <stdio.h>
#include <string.h>

#include "owner.h"
#include "util.h"

static int cmp_wanted(const void *a, const void *b) {
        const struct inode_owner *x = a, *y = b;

        return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static void scan_pid(pid_t pid, struct inode_owner *wanted, size_t n, int *found) {
        char dir[64], target[64];
        DIR *d;
        struct dirent *de;

        snprintf(dir, sizeof(dir), "/proc/%d/fd", (int) pid);
        d = opendir(dir);
        if (!d)
                return; /* gone, or not ours to see */
        while ((de = readdir(d))) {
                struct inode_owner key = {}, *w;
                unsigned long ino;
                ssize_t len;

                if (de->d_name[0] == '.')
                        continue;
                len = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
                if (len <= 0)
                        continue;
                target[len] = '\0';
                if (sscanf(target, "socket:[%lu]", &ino) != 1)
                        continue;
                key.inode = (uint32_t) ino;
                w = bsearch(&key, wanted, n, sizeof(*wanted), cmp_wanted);
                if (!w || w->pid)
                        continue;
                w->pid = pid;
                (*found)++;
        }
        closedir(d);
}

/* The command name as the kernel has it: all of it, a newline in it too
 * (only the one the kernel adds is dropped; fgets stopped at the first, so
 * "nginx\nevil" showed as "nginx"). */
static void read_comm(struct inode_owner *w) {
        char path[64], buf[sizeof(w->comm) + 1];
        size_t n;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/comm", (int) w->pid);
        f = fopen(path, "re");
        if (!f)
                return;
        n = fread(buf, 1, sizeof(buf), f);
        fclose(f);
        if (n > 0 && buf[n - 1] == '\n')
                n--;
        if (n >= sizeof(w->comm))
                n = sizeof(w->comm) - 1;
        memcpy(w->comm, buf, n);
        w->comm[n] = '\0';
}

int owner_find_pids(const char *cgroup_dir, struct inode_owner *wanted, size_t n) {
        int found = 0;

        if (n == 0)
                return 0;
        qsort(wanted, n, sizeof(*wanted), cmp_wanted);
        for (size_t i = 0; i < n; i++) {
                wanted[i].pid = 0;
                wanted[i].comm[0] = '\0';
        }

        if (cgroup_dir) {
                char path[4096];
                FILE *f;
                int pid;

                snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup_dir);
                f = fopen(path, "re");
                if (f) {
                        while (found < (int) n && fscanf(f, "%d", &pid) == 1)
                                scan_pid(pid, wanted, n, &found);
                        fclose(f);
                }
        } else {
                DIR *d = opendir("/proc");
                struct dirent *de;

                if (!d)
                        return -errno;
                while (found < (int) n && (de = readdir(d))) {
                        char *end;
                        long pid = strtol(de->d_name, &end, 10);

                        if (*end == '\0' && pid > 0)
                                scan_pid((pid_t) pid, wanted, n, &found);
                }
                closedir(d);
        }
        for (size_t i = 0; i < n; i++)
                if (wanted[i].pid)
                        read_comm(&wanted[i]);
        return found;
}
