/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

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

int owner_cmp_inode(const void *a, const void *b) {
        const struct inode_owner *x = a, *y = b;

        return x->inode < y->inode ? -1 : x->inode > y->inode;
}

static int cmp_pid(const void *a, const void *b) {
        pid_t x = *(const pid_t *) a, y = *(const pid_t *) b;

        return x < y ? -1 : x > y;
}

/* What the readers share: the sockets asked about (sorted by inode; a
 * reader claims one with a compare-and-swap of its pid), how many are
 * found, and the processes of the phase being read, taken in turn. */
struct lookup {
        const char *proc_root;
        bool procfs;            /* proc_root is a procfs (not a test's tree) */
        struct inode_owner *wanted;
        size_t n;
        size_t found;           /* atomic */
        const pid_t *pids;      /* the phase's */
        size_t n_pids;
        size_t next;            /* atomic: the next of pids[] to read */
};

/* A process that held a wanted socket, and its command name. */
struct holder {
        pid_t pid;
        char comm[16];
};

/* One reader (a thread, or the caller's): its own buffer, counts and
 * holders, summed and merged when all have stopped. */
struct reader {
        struct lookup *l;
        struct owner_stats stats;
        struct holder *holders;
        size_t n_holders, holders_allocated;
        char dents[32768] __attribute__((aligned(8)));
};

static bool all_found(const struct lookup *l) {
        return __atomic_load_n(&l->found, __ATOMIC_RELAXED) >= l->n;
}

/* The command name as the kernel has it: all of it, a newline in it too
 * (only the one the kernel adds is dropped; fgets stopped at the first, so
 * "nginx\nevil" showed as "nginx"). "" when it cannot be read. */
static void read_comm(const char *proc_root, pid_t pid, char comm[16], struct owner_stats *stats) {
        char path[4200], buf[17];
        _cleanup_(closep) int fd = -EBADF;
        ssize_t len;

        comm[0] = '\0';
        snprintf(path, sizeof(path), "%s/%d/comm", proc_root, (int) pid);
        stats->comms_read++;
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

/* Descriptor name (its number) of dir, read: whether it is open; a socket
 * asked about and not yet claimed is claimed for pid (*holds). */
static bool read_fd(struct reader *r, int dir, const char *name, pid_t pid, bool *holds) {
        struct lookup *l = r->l;
        struct inode_owner key, *w;
        pid_t cur;
        char target[64];
        ssize_t len;

        /* a socket's link is "socket:[N]": anything longer is no socket */
        len = readlinkat(dir, name, target, sizeof(target));
        if (len < 0)
                return false;
        r->stats.fds_read++;
        if (len == 0 || len >= (ssize_t) sizeof(target) || !owner_parse_socket_link(target, (size_t) len, &key.inode))
                return true;
        w = bsearch(&key, l->wanted, l->n, sizeof(*l->wanted), owner_cmp_inode);
        if (!w)
                return true; /* not asked about */
        /* held by several (inherited): the lowest pid read, whichever
         * reader got there first */
        cur = __atomic_load_n(&w->pid, __ATOMIC_RELAXED);
        while (cur == 0 || pid < cur)
                if (__atomic_compare_exchange_n(&w->pid, &cur, pid, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
                        if (cur == 0)
                                __atomic_fetch_add(&l->found, 1, __ATOMIC_RELAXED);
                        *holds = true;
                        break;
                }
        return true;
}

/* The descriptors of dir listed (util.h dirent_next(), into the reader's
 * buffer), those numbered below from skipped (tried already). */
static void read_listed(struct reader *r, int dir, unsigned from, pid_t pid, bool *holds) {
        struct dirent_reader dr = { .fd = dir, .buf = r->dents, .size = sizeof(r->dents) };
        const struct linux_dirent64 *de;

        while (!all_found(r->l) && (de = dirent_next(&dr))) {
                if (de->d_name[0] == '.' || (from > 0 && strtoul(de->d_name, NULL, 10) < from))
                        continue;
                (void) read_fd(r, dir, de->d_name, pid, holds);
        }
}

/* The descriptors of dir read by number from 0 until all open_fds are seen,
 * without listing them (the listing costs a fifth of the reading: 0.8 of
 * 4.3 us a descriptor here); a table found sparse (more holes than
 * descriptors, plus 64) is listed from where it got to. */
static void read_numbered(struct reader *r, int dir, size_t open_fds, pid_t pid, bool *holds) {
        size_t seen = 0, holes = 0;

        for (unsigned fd = 0; seen < open_fds && !all_found(r->l); fd++) {
                char name[12];

                snprintf(name, sizeof(name), "%u", fd);
                if (read_fd(r, dir, name, pid, holds))
                        seen++;
                else if (errno != ENOENT)
                        return; /* not ours to read (any more) */
                else if (++holes > seen + 64) {
                        read_listed(r, dir, fd + 1, pid, holds);
                        return;
                }
        }
}

/* Read the descriptors of pid once, stopping when every socket is found;
 * then its command name once, if it holds any. */
static void read_pid(struct reader *r, pid_t pid) {
        struct lookup *l = r->l;
        _cleanup_(closep) int dir = -EBADF;
        char path[4200];
        bool holds = false;
        struct stat st;

        snprintf(path, sizeof(path), "%s/%d/fd", l->proc_root, (int) pid);
        dir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dir < 0)
                return; /* gone, or not ours to see */
        r->stats.pids_read++;
        /* procfs since Linux 6.2 gives the number of open descriptors as
         * the directory's size */
        if (l->procfs && fstat(dir, &st) == 0 && st.st_size > 0)
                read_numbered(r, dir, (size_t) st.st_size, pid, &holds);
        else
                read_listed(r, dir, 0, pid, &holds);
        if (holds) {
                if (GROW(r->holders, r->holders_allocated, r->n_holders + 1, 16) < 0)
                        return; /* its sockets found, its name not kept */
                r->holders[r->n_holders].pid = pid;
                read_comm(l->proc_root, pid, r->holders[r->n_holders].comm, &r->stats);
                r->n_holders++;
        }
}

static void *reader_run(void *arg) {
        struct reader *r = arg;
        struct lookup *l = r->l;
        size_t i;

        while (!all_found(l) && (i = __atomic_fetch_add(&l->next, 1, __ATOMIC_RELAXED)) < l->n_pids)
                read_pid(r, l->pids[i]);
        return NULL;
}

/* Read the processes of one phase with up to n_readers readers: the
 * caller's thread and as many more as there are processes to share. */
static void read_phase(struct lookup *l, const pid_t *pids, size_t n_pids, struct reader *readers,
                       size_t n_readers) {
        pthread_t threads[OWNER_MAX_READERS];
        size_t started = 0;

        if (n_pids == 0 || all_found(l))
                return;
        l->pids = pids;
        l->n_pids = n_pids;
        l->next = 0;
        for (size_t i = 1; i < n_readers && i < n_pids; i++) {
                if (pthread_create(&threads[started], NULL, reader_run, &readers[i]) != 0)
                        break; /* fewer readers, the same result */
                started++;
        }
        reader_run(&readers[0]);
        for (size_t i = 0; i < started; i++)
                pthread_join(threads[i], NULL);
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

static int cmp_holder(const void *a, const void *b) {
        const struct holder *x = a, *y = b;

        return x->pid < y->pid ? -1 : x->pid > y->pid;
}

/* Each pid of list[] once, in order (list is sorted). */
static size_t dedup_pids(pid_t *list, size_t n) {
        size_t kept = 0;

        for (size_t i = 0; i < n; i++)
                if (kept == 0 || list[i] != list[kept - 1])
                        list[kept++] = list[i];
        return kept;
}

static size_t n_readers_here(void) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);

        return cpus < 1 ? 1 : cpus > OWNER_MAX_READERS ? OWNER_MAX_READERS : (size_t) cpus;
}

int owner_merge_records(struct inode_owner *wanted, size_t n, const struct owner_bpf_record *records,
                        size_t n_records) {
        int found = 0;

        for (size_t i = 0; i < n_records; i++) {
                struct inode_owner key = { .inode = records[i].inode }, *w;

                if (records[i].pid <= 0 || !(w = bsearch(&key, wanted, n, sizeof(*wanted), owner_cmp_inode)))
                        continue;
                if (w->pid == 0)
                        found++;
                if (w->pid == 0 || records[i].pid < w->pid)
                        w->pid = records[i].pid;
        }
        return found;
}

bool owner_status_in_own_pidns(const char *status) {
        const char *line = strstr(status, "\nNSpid:"), *end;

        if (!line)
                return false;
        line += strlen("\nNSpid:");
        line += strspn(line, " \t");
        end = line + strcspn(line, "\n");
        /* one number: no tab or space before the line's end */
        return end > line && line + strcspn(line, " \t") >= end;
}

/* By BPF: every socket held, each wanted one given its lowest pid; the
 * holders named, each once. -errno when the iterator could not be read:
 * nothing set then. */
static int find_by_bpf(struct lookup *l, struct holder **ret, size_t *n_ret, struct owner_stats *stats) {
        _cleanup_(freep) struct owner_bpf_record *records = NULL;
        _cleanup_(freep) pid_t *pids = NULL;
        struct holder *holders;
        size_t n_records, n_pids = 0;
        int r;

        r = owner_bpf_read(l->proc_root, &records, &n_records);
        if (r < 0)
                return r;
        stats->bpf = true;
        stats->fds_read = (unsigned) n_records;
        l->found = (size_t) owner_merge_records(l->wanted, l->n, records, n_records);
        pids = malloc((l->found ? l->found : 1) * sizeof(*pids));
        if (!pids)
                return 0; /* the pids found, no names */
        for (size_t i = 0; i < l->n; i++)
                if (l->wanted[i].pid)
                        pids[n_pids++] = l->wanted[i].pid;
        if (n_pids > 1)
                qsort(pids, n_pids, sizeof(*pids), cmp_pid);
        n_pids = dedup_pids(pids, n_pids);
        holders = calloc(n_pids ? n_pids : 1, sizeof(*holders));
        if (!holders)
                return 0;
        for (size_t i = 0; i < n_pids; i++) {
                holders[i].pid = pids[i];
                read_comm(l->proc_root, pids[i], holders[i].comm, stats);
        }
        *ret = holders;
        *n_ret = n_pids;
        return 0;
}

/* From procfs: the processes of the sockets' cgroups, then of their
 * namespaces, then the rest, each group by the readers, until every socket
 * is found; the holders each reader named, gathered. */
static int find_in_proc(struct lookup *l, const struct owner_hints *hints, struct holder **ret, size_t *n_ret,
                        struct owner_stats *stats) {
        _cleanup_(freep) struct reader *readers = NULL;
        _cleanup_(freep) pid_t *first = NULL, *near = NULL, *later = NULL;
        _cleanup_(freep) uint64_t *netns = NULL;
        size_t n_first = 0, first_allocated = 0, n_near = 0, near_allocated = 0, n_later = 0, later_allocated = 0;
        size_t n_netns = 0, n_readers = n_readers_here(), n_holders = 0;
        struct holder *holders;
        DIR *d;
        struct dirent *de;
        int r = 0;

        readers = calloc(n_readers, sizeof(*readers));
        if (!readers)
                return -ENOMEM;
        for (size_t i = 0; i < n_readers; i++)
                readers[i].l = l;

        /* the processes of the sockets' cgroups first, each once */
        for (size_t i = 0; hints && i < hints->n_cgroup_dirs; i++)
                if (hints->cgroup_dirs[i])
                        cgroup_pids(hints->cgroup_dirs[i], &first, &n_first, &first_allocated);
        if (n_first > 1)
                qsort(first, n_first, sizeof(*first), cmp_pid);
        n_first = dedup_pids(first, n_first);
        read_phase(l, first, n_first, readers, n_readers);
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
        if (!all_found(l)) {
                d = opendir(l->proc_root);
                if (!d)
                        r = -errno;
                while (d && (de = readdir(d))) {
                        char *end;
                        long pid = strtol(de->d_name, &end, 10);
                        pid_t key = (pid_t) pid;
                        bool is_near;

                        if (*end != '\0' || pid <= 0 || pid > INT32_MAX)
                                continue;
                        if (n_first && bsearch(&key, first, n_first, sizeof(*first), cmp_pid))
                                continue; /* read above */
                        is_near = !n_netns || in_netns(l->proc_root, key, netns, n_netns);
                        if (is_near ? GROW(near, near_allocated, n_near + 1, 256) < 0
                                    : GROW(later, later_allocated, n_later + 1, 256) < 0) {
                                r = -ENOMEM;
                                break;
                        }
                        if (is_near)
                                near[n_near++] = key;
                        else
                                later[n_later++] = key;
                }
                if (d)
                        closedir(d);
                read_phase(l, near, n_near, readers, n_readers);
                read_phase(l, later, n_later, readers, n_readers);
        }

        /* the readers' counts summed, their holders gathered */
        for (size_t i = 0; i < n_readers; i++) {
                stats->pids_read += readers[i].stats.pids_read;
                stats->fds_read += readers[i].stats.fds_read;
                stats->comms_read += readers[i].stats.comms_read;
                n_holders += readers[i].n_holders;
        }
        holders = calloc(n_holders ? n_holders : 1, sizeof(*holders));
        if (!holders && r == 0)
                r = -ENOMEM;
        n_holders = 0;
        for (size_t i = 0; i < n_readers; i++) {
                if (holders)
                        for (size_t j = 0; j < readers[i].n_holders; j++)
                                holders[n_holders++] = readers[i].holders[j];
                free(readers[i].holders);
        }
        *ret = holders;
        *n_ret = n_holders;
        return r;
}

int owner_find(const char *proc_root, const struct owner_hints *hints, enum owner_via via, struct inode_owner *wanted,
               size_t n, struct owner_stats *stats) {
        struct lookup l = { .proc_root = proc_root, .wanted = wanted, .n = n };
        _cleanup_(freep) struct holder *holders = NULL;
        struct owner_stats ignored;
        size_t n_holders = 0;
        bool by_bpf = false;
        struct statfs fs;
        int r;

        if (!stats)
                stats = &ignored;
        *stats = (struct owner_stats) {};
        for (size_t i = 0; i < n; i++) {
                wanted[i].pid = 0;
                wanted[i].comm[0] = '\0';
        }
        if (n == 0)
                return 0;
        l.procfs = statfs(proc_root, &fs) == 0 && fs.f_type == PROC_SUPER_MAGIC;
        qsort(wanted, n, sizeof(*wanted), owner_cmp_inode);
        if (via != OWNER_VIA_PROC) {
                r = l.procfs ? find_by_bpf(&l, &holders, &n_holders, stats) : -EXDEV;
                by_bpf = r >= 0;
                if (!by_bpf && via == OWNER_VIA_BPF)
                        return r;
        }
        if (!by_bpf)
                r = find_in_proc(&l, hints, &holders, &n_holders, stats);

        /* each holder's name given to the sockets it holds */
        if (n_holders > 1)
                qsort(holders, n_holders, sizeof(*holders), cmp_holder);
        for (size_t i = 0; i < n && n_holders; i++) {
                struct holder key = { .pid = wanted[i].pid }, *h;

                if (key.pid && (h = bsearch(&key, holders, n_holders, sizeof(*holders), cmp_holder)))
                        memcpy(wanted[i].comm, h->comm, sizeof(h->comm));
        }
        return r < 0 ? r : (int) l.found;
}
