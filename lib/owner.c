/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "owner.h"
#include "util.h"

int owner_parse_socket_link(const char *text, size_t len, uint32_t *ret) {
        static const char prefix[] = "socket:[";
        const size_t plen = sizeof(prefix) - 1;
        uint64_t v = 0;
        size_t i;

        if (len < plen + 2 || memcmp(text, prefix, plen) != 0 || text[len - 1] != ']')
                return 0;
        for (i = plen; i < len - 1; i++) {
                if (text[i] < '0' || text[i] > '9' || i - plen >= 10)
                        return 0;
                v = v * 10 + (uint64_t) (text[i] - '0');
        }
        if (i == plen || v > UINT32_MAX)
                return 0;
        *ret = (uint32_t) v;
        return 1;
}

static int cmp_wanted(const void *a, const void *b) {
        const struct inode_owner *x = a, *y = b;

        return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return x < y ? -1 : x > y;
}

struct lookup {
        const char *proc_root;
        struct inode_owner *wanted;
        size_t n, found;
        size_t *hits;            /* indices into wanted found in the process read last */
        size_t n_hits;
        struct owner_stats stats;
        char dents[32768] __attribute__((aligned(8)));
};

/* The command name as the kernel has it: all of it, a newline in it too
 * (only the one the kernel adds is dropped; fgets stopped at the first, so
 * "nginx\nevil" showed as "nginx"). "" when it cannot be read. */
static void read_comm(struct lookup *l, pid_t pid, char comm[16]) {
        char path[4200], buf[17];
        _cleanup_(closep) int fd = -EBADF;
        ssize_t len;

        comm[0] = '\0';
        snprintf(path, sizeof(path), "%s/%d/comm", l->proc_root, (int) pid);
        l->stats.comms_read++;
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return;
        len = read(fd, buf, sizeof(buf));
        if (len <= 0)
                return;
        if (buf[len - 1] == '\n')
                len--;
        if (len > 15)
                len = 15;
        memcpy(comm, buf, (size_t) len);
        comm[len] = '\0';
}

struct linux_dirent64 {
        uint64_t d_ino;
        int64_t d_off;
        unsigned short d_reclen;
        unsigned char d_type;
        char d_name[];
};

/* Read the descriptors of pid once (getdents64 straight into our buffer:
 * no DIR's own), stopping when every socket is found; then its command
 * name once, if it holds any. */
static void read_pid(struct lookup *l, pid_t pid) {
        _cleanup_(closep) int dir = -EBADF;
        char path[4200];
        ssize_t got;

        snprintf(path, sizeof(path), "%s/%d/fd", l->proc_root, (int) pid);
        dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return; /* gone, or not ours to see */
        l->stats.pids_read++;
        l->n_hits = 0;
        while (l->found < l->n && (got = syscall(SYS_getdents64, dir, l->dents, sizeof(l->dents))) > 0) {
                for (ssize_t off = 0; off < got && l->found < l->n;) {
                        const struct linux_dirent64 *de = (const void *) (l->dents + off);
                        struct inode_owner key, *w;
                        char target[64];
                        ssize_t len;

                        off += de->d_reclen;
                        if (de->d_name[0] == '.')
                                continue;
                        /* a socket's link is "socket:[N]": anything longer is no socket */
                        len = readlinkat(dir, de->d_name, target, sizeof(target));
                        l->stats.fds_read++;
                        if (len <= 0 || len >= (ssize_t) sizeof(target) ||
                            !owner_parse_socket_link(target, (size_t) len, &key.inode))
                                continue;
                        w = bsearch(&key, l->wanted, l->n, sizeof(*l->wanted), cmp_wanted);
                        if (!w || w->pid)
                                continue; /* not asked about, or another holds it too */
                        w->pid = pid;
                        l->hits[l->n_hits++] = (size_t) (w - l->wanted);
                        l->found++;
                }
        }
        if (l->n_hits > 0) {
                char comm[16];

                read_comm(l, pid, comm);
                for (size_t i = 0; i < l->n_hits; i++)
                        memcpy(l->wanted[l->hits[i]].comm, comm, sizeof(comm));
        }
}

/* The pids of a cgroup (cgroup.procs), appended to *pids. */
static void cgroup_pids(const char *dir, pid_t **pids, size_t *n, size_t *allocated) {
        _cleanup_(fclosep) FILE *f = NULL;
        char path[4200];
        int pid;

        snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
        f = fopen(path, "re");
        while (f && fscanf(f, "%d", &pid) == 1)
                if (pid > 0 && GROW(*pids, *allocated, *n + 1, 64) >= 0)
                        (*pids)[(*n)++] = (pid_t) pid;
}

static int cmp_u64(const void *a, const void *b) {
        uint64_t x = *(const uint64_t *) a, y = *(const uint64_t *) b;

        return x < y ? -1 : x > y;
}

/* Whether pid lives in one of the namespaces (sorted inodes) we look in
 * first: a stat of its ns file, far cheaper than reading its descriptors. */
static bool in_netns(const char *proc_root, pid_t pid, const uint64_t *netns, size_t n) {
        char path[4200];
        struct stat st;
        uint64_t ino;

        snprintf(path, sizeof(path), "%s/%d/ns/net", proc_root, (int) pid);
        if (stat(path, &st) < 0)
                return false;
        ino = (uint64_t) st.st_ino;
        return bsearch(&ino, netns, n, sizeof(*netns), cmp_u64) != NULL;
}

int owner_find(const char *proc_root, const struct owner_hints *hints, struct inode_owner *wanted, size_t n,
               struct owner_stats *stats) {
        _cleanup_(freep) struct lookup *l = NULL;
        _cleanup_(freep) size_t *hits = NULL;
        _cleanup_(freep) pid_t *first = NULL, *later = NULL;
        _cleanup_(freep) uint64_t *netns = NULL;
        size_t n_first = 0, first_allocated = 0, n_later = 0, later_allocated = 0, n_netns = 0, kept = 0;
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (stats)
                *stats = (struct owner_stats) {};
        for (size_t i = 0; i < n; i++) {
                wanted[i].pid = 0;
                wanted[i].comm[0] = '\0';
        }
        if (n == 0)
                return 0;
        l = calloc(1, sizeof(*l));
        hits = calloc(n, sizeof(*hits));
        if (!l || !hits)
                return -ENOMEM;
        *l = (struct lookup) { .proc_root = proc_root, .wanted = wanted, .n = n, .hits = hits };
        qsort(wanted, n, sizeof(*wanted), cmp_wanted);

        /* the processes of the sockets' cgroups first, each once */
        for (size_t i = 0; hints && i < hints->n_cgroup_dirs; i++)
                if (hints->cgroup_dirs[i])
                        cgroup_pids(hints->cgroup_dirs[i], &first, &n_first, &first_allocated);
        if (n_first > 1)
                qsort(first, n_first, sizeof(*first), cmp_pid);
        for (size_t i = 0; i < n_first; i++)
                if (i == 0 || first[i] != first[kept - 1])
                        first[kept++] = first[i];
        n_first = kept;
        for (size_t i = 0; i < n_first && l->found < n; i++)
                read_pid(l, first[i]);
        if (hints && hints->n_netns > 0) {
                netns = malloc(hints->n_netns * sizeof(*netns));
                if (netns) {
                        memcpy(netns, hints->netns, hints->n_netns * sizeof(*netns));
                        n_netns = hints->n_netns;
                        qsort(netns, n_netns, sizeof(*netns), cmp_u64);
                }
        }

        /* then those in the sockets' namespaces, then the rest, if any
         * socket is still unknown */
        if (l->found < n) {
                d = opendir(proc_root);
                if (!d)
                        r = -errno;
                while (d && l->found < n && (de = readdir(d))) {
                        char *end;
                        long pid = strtol(de->d_name, &end, 10);
                        pid_t key = (pid_t) pid;

                        if (*end != '\0' || pid <= 0 || pid > INT32_MAX)
                                continue;
                        if (n_first && bsearch(&key, first, n_first, sizeof(*first), cmp_pid))
                                continue; /* read above */
                        if (n_netns && !in_netns(proc_root, key, netns, n_netns)) {
                                if (GROW(later, later_allocated, n_later + 1, 256) >= 0)
                                        later[n_later++] = key;
                                else
                                        read_pid(l, key); /* no room to put it off */
                                continue;
                        }
                        read_pid(l, key);
                }
                if (d)
                        closedir(d);
                for (size_t i = 0; i < n_later && l->found < n; i++)
                        read_pid(l, later[i]);
        }
        if (stats)
                *stats = l->stats;
        return r < 0 ? r : (int) l->found;
}
