/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>
#include <linux/nsfs.h>
#include <linux/sockios.h>

#include "netns.h"
#include "cgroup.h"
#include "util.h"

#define NETNS_RUN_DIR "/run/netns"

static int add(struct netns_set *s, uint64_t ino, const char *name, struct diag *d, const struct tcp_limits *l) {
        if (GROW(s->v, s->allocated, s->n + 1, 8) < 0)
                return -ENOMEM;
        s->v[s->n] = (struct netns) { .ino = ino, .diag = d, .limits = *l, .seen = true };
        snprintf(s->v[s->n].name, sizeof(s->v[s->n].name), "%s", name);
        s->n++;
        return 0;
}

int netns_set_new(struct netns_set **ret) {
        _cleanup_(netns_set_freep) struct netns_set *s = calloc(1, sizeof(*s));
        _cleanup_(diag_freep) struct diag *d = NULL;
        struct tcp_limits limits;
        struct stat st;
        int r;

        if (!s)
                return -ENOMEM;
        s->home_fd = -EBADF;
        (void) cause_limits_read(&limits);
        s->home_fd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
        if (s->home_fd < 0 || fstat(s->home_fd, &st) < 0)
                return -errno;
        s->home_ino = (uint64_t) st.st_ino;
        s->nsfs_dev = st.st_dev;
        r = diag_open(&d);
        if (r < 0)
                return r;
        r = add(s, s->home_ino, "host", d, &limits);
        if (r < 0)
                return r;
        (void) TAKE_PTR(d); /* the set owns it now */
        *ret = TAKE_PTR(s);
        return 0;
}

void netns_set_free(struct netns_set *s) {
        if (!s)
                return;
        for (size_t i = 0; i < s->n; i++)
                diag_free(s->v[i].diag);
        free(s->v);
        if (s->home_fd >= 0)
                close(s->home_fd);
        if (s->run_dir)
                closedir(s->run_dir);
        if (s->proc_dir)
                closedir(s->proc_dir);
        free(s);
}

struct netns *netns_set_find(struct netns_set *s, uint64_t ino) {
        for (size_t i = 0; i < s->n; i++)
                if (s->v[i].ino == ino)
                        return &s->v[i];
        return NULL;
}

struct diag *netns_set_diag(struct netns_set *s, uint64_t ino) {
        struct netns *ns = netns_set_find(s, ino == 0 ? s->home_ino : ino);

        return ns ? ns->diag : NULL;
}

/* Open a sock_diag socket inside the namespace fd names, and read its
 * sysctls (/proc/sys/net answers for the reader's namespace). */
static int open_in(struct netns_set *s, int fd, struct diag **ret, struct tcp_limits *limits) {
        int r;

        if (setns(fd, CLONE_NEWNET) < 0)
                return -errno;
        r = diag_open(ret);
        (void) cause_limits_read(limits);
        /* back home whatever happened; failing that, nothing we do is right */
        if (setns(s->home_fd, CLONE_NEWNET) < 0)
                abort();
        return r;
}

/* What one discovery could not watch, by inode, each with its reason:
 * counted once each at the end, however many processes share it. */
enum skip_reason { SKIP_DENIED, SKIP_NO_FDS, SKIP_OVER_CAP, SKIP_NOT_NETNS };
struct skipped {
        uint64_t ino;             /* 0: unknown (not even stat allowed): counted each time */
        enum skip_reason why;
};
struct discovery {
        unsigned max;             /* watched besides ours; 0: no cap */
        struct skipped *v;
        size_t n, allocated;
        int error;                /* -ENOMEM once an append failed: the counts are low */
        char not_netns_names[NETNS_NAMES_MAX]; /* as in struct netns_unwatched */
        bool names_cut;           /* "..." ends them: nothing more goes in */
};

static void skip(struct discovery *dc, uint64_t ino, int error) {
        enum skip_reason why = error == -EACCES || error == -EPERM ? SKIP_DENIED
                               : error == -E2BIG ? SKIP_OVER_CAP : error == -ENOTTY ? SKIP_NOT_NETNS : SKIP_NO_FDS;

        if (GROW(dc->v, dc->allocated, dc->n + 1, 64) < 0) {
                dc->error = -ENOMEM;
                return;
        }
        dc->v[dc->n++] = (struct skipped) { .ino = ino, .why = why };
}

/* A /run/netns entry (name, or NULL for a process's ns file, counted by
 * inode) that is no network namespace: counted, and named. */
static void skip_not_netns(struct discovery *dc, const char *name, uint64_t ino) {
        size_t len = strlen(dc->not_netns_names);
        const char *sep = len ? ", " : "";

        skip(dc, name ? 0 : ino, -ENOTTY);
        if (!name || dc->names_cut)
                return;
        /* whole names only, and room kept for ", ..." after this one */
        if (len + strlen(sep) + strlen(name) + strlen(", ...") < sizeof(dc->not_netns_names))
                snprintf(dc->not_netns_names + len, sizeof(dc->not_netns_names) - len, "%s%s", sep, name);
        else {
                snprintf(dc->not_netns_names + len, sizeof(dc->not_netns_names) - len, "%s...", sep);
                dc->names_cut = true;
        }
}

static bool out_of_fds(int error) {
        return error == -EMFILE || error == -ENFILE || error == -ENOMEM || error == -ENOBUFS;
}

static size_t watched_besides_home(const struct netns_set *s) {
        return s->n - 1; /* the home is always in the set */
}

/* The kernel's word that fd is a network namespace: a file of nsfs, and
 * of the network type (a link to /proc/PID/ns/mnt is nsfs too). */
static bool is_netns(int fd) {
        struct statfs sf;

        return fstatfs(fd, &sf) == 0 && sf.f_type == NSFS_MAGIC && ioctl(fd, NS_GET_NSTYPE) == CLONE_NEWNET;
}

/* Mark ino seen, or enter and add it. path: its ns file; name: its
 * /run/netns name, NULL for a process's. Returns 0, or -ENOMEM; what could
 * not be watched goes to dc. */
static int consider(struct netns_set *s, const char *path, const char *name, pid_t pid, struct discovery *dc) {
        struct netns *ns;
        struct diag *d = NULL;
        struct tcp_limits limits;
        struct stat st, fst;
        int fd, r;

        /* /run/netns entries may be links to /proc/PID/ns/net (container
         * tools make them): followed. What the link or name leads to is
         * opened only if it is a file of nsfs (every namespace is one): a
         * FIFO, a device, a directory or a file elsewhere is never opened,
         * so never waited on */
        if (stat(path, &st) < 0) {
                if (errno == EACCES || errno == EPERM || out_of_fds(-errno))
                        skip(dc, 0, -errno);
                return 0; /* gone meanwhile */
        }
        if (!S_ISREG(st.st_mode) || st.st_dev != s->nsfs_dev) {
                skip_not_netns(dc, name, (uint64_t) st.st_ino);
                return 0;
        }
        ns = netns_set_find(s, (uint64_t) st.st_ino);
        if (ns) {
                ns->seen = true;
                if (pid > 0 && ns->pid == 0)
                        ns->pid = (int) pid;
                /* a name found later is better than an inode */
                if (name && strncmp(ns->name, "net:[", 5) == 0)
                        snprintf(ns->name, sizeof(ns->name), "%.*s", (int) sizeof(ns->name) - 1, name);
                return 0;
        }
        if (dc->max && watched_besides_home(s) >= dc->max) {
                skip(dc, (uint64_t) st.st_ino, -E2BIG);
                return 0;
        }
        /* without waiting all the same (it may have changed since the
         * stat), and taken only if the kernel says network namespace */
        fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0) {
                if (errno == EACCES || errno == EPERM || out_of_fds(-errno))
                        skip(dc, (uint64_t) st.st_ino, -errno);
                return 0;
        }
        if (!is_netns(fd)) {
                close(fd);
                skip_not_netns(dc, name, (uint64_t) st.st_ino);
                return 0;
        }
        if (fstat(fd, &fst) < 0 || fst.st_ino != st.st_ino) {
                close(fd);
                return 0; /* another one than the stat saw: the next discovery sees it */
        }
        r = open_in(s, fd, &d, &limits);
        close(fd);
        if (r == -EPERM || r == -EACCES || out_of_fds(r)) {
                skip(dc, (uint64_t) st.st_ino, r);
                return 0;
        }
        if (r < 0)
                return 0; /* gone meanwhile */
        {
                char ino_name[64];

                snprintf(ino_name, sizeof(ino_name), "net:[%llu]", (unsigned long long) st.st_ino);
                r = add(s, (uint64_t) st.st_ino, name ? name : ino_name, d, &limits);
        }
        if (r < 0) {
                diag_free(d);
                return r;
        }
        if (pid > 0) {
                s->v[s->n - 1].pid = (int) pid;
                /* which unit runs in it: the cgroup of the process we found it by */
                char cg[256], line[512];
                FILE *f;

                snprintf(cg, sizeof(cg), "/proc/%d/cgroup", (int) pid);
                f = fopen(cg, "re");
                if (f) {
                        while (fgets(line, sizeof(line), f))
                                if (strncmp(line, "0::", 3) == 0) {
                                        line[strcspn(line, "\n")] = '\0';
                                        cgroup_path_unit(line + 3, s->v[s->n - 1].unit, sizeof(s->v[s->n - 1].unit));
                                }
                        fclose(f);
                }
        }
        return 0;
}

static bool name_listed(const char *names, const char *name) {
        size_t len = strlen(name);

        for (const char *p = names; *p;) {
                size_t l;

                p += strspn(p, ", ");
                l = strcspn(p, ", ");
                if (l == len && strncmp(p, name, len) == 0)
                        return true;
                p += l;
        }
        return false;
}

static int cmp_skipped(const void *a, const void *b) {
        const struct skipped *x = a, *y = b;

        return x->ino < y->ino ? -1 : x->ino > y->ino;
}

/* Each namespace once, under the first reason found (the sort is stable
 * enough for that: equal inodes keep no order, so take the lowest reason). */
static void count_skipped(struct discovery *dc, struct netns_unwatched *u) {
        *u = (struct netns_unwatched) {};
        if (dc->n > 1)
                qsort(dc->v, dc->n, sizeof(*dc->v), cmp_skipped);
        for (size_t i = 0; i < dc->n;) {
                enum skip_reason why = dc->v[i].why;
                size_t j = i + 1;

                while (dc->v[i].ino != 0 && j < dc->n && dc->v[j].ino == dc->v[i].ino) {
                        if (dc->v[j].why < why)
                                why = dc->v[j].why;
                        j++;
                }
                if (why == SKIP_DENIED)
                        u->denied++;
                else if (why == SKIP_NO_FDS)
                        u->no_fds++;
                else if (why == SKIP_NOT_NETNS)
                        u->not_netns++;
                else
                        u->over_cap++;
                i = j;
        }
        memcpy(u->not_netns_names, dc->not_netns_names, sizeof(u->not_netns_names));
}

/* Consider every entry of dir: /run/netns (names) or /proc (pids). 0, or
 * -errno when the directory could not be read whole (not for ENOENT). */
static int scan(struct netns_set *s, const char *dir, enum netns_mode mode, const char *names,
                struct discovery *dc) {
        bool by_pid = strcmp(dir, "/proc") == 0;
        void **kept = by_pid ? &s->proc_dir : &s->run_dir;
        struct dirent *de;
        DIR *d = *kept;
        int r = 0;

        if (d) {
                struct stat st;

                /* removed and made again (ip netns): read the new one */
                if (fstat(dirfd(d), &st) == 0 && st.st_nlink == 0) {
                        closedir(d);
                        d = *kept = NULL;
                }
        }
        if (d)
                rewinddir(d);
        else {
                d = *kept = opendir(dir);
                if (!d)
                        return errno == ENOENT ? 0 : -errno; /* /run/netns may come later */
        }
        while (r >= 0 && (de = readdir(d))) {
                char path[512], *end;
                long pid = 0;

                if (de->d_name[0] == '.')
                        continue;
                if (by_pid) {
                        pid = strtol(de->d_name, &end, 10);
                        if (*end || pid <= 0)
                                continue;
                        snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
                } else {
                        if (mode == NETNS_NAMED && !name_listed(names ? names : "", de->d_name))
                                continue;
                        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                }
                r = consider(s, path, by_pid ? NULL : de->d_name, (pid_t) pid, dc);
        }
        return r;
}

int netns_set_discover(struct netns_set *s, enum netns_mode mode, const char *names, unsigned max,
                       struct netns_unwatched *ret_unwatched) {
        struct discovery dc = { .max = max };
        int r, r_run = 0, r_proc = 0;

        for (size_t i = 0; i < s->n; i++) {
                s->v[i].seen = s->v[i].ino == s->home_ino &&
                               (mode != NETNS_NAMED || name_listed(names ? names : "", "host"));
                s->v[i].pid = 0; /* found again below, if any is there still */
        }

        /* both, whatever the first said: what the second finds is counted */
        if (mode == NETNS_ALL || mode == NETNS_NAMED)
                r_run = scan(s, NETNS_RUN_DIR, mode, names, &dc);
        if (mode == NETNS_ALL)
                r_proc = scan(s, "/proc", mode, names, &dc);
        r = r_run < 0 ? r_run : r_proc;

        /* a directory not read whole (EMFILE, say): what it would have found
         * may be there still, so that is not closed: the named ones for
         * /run/netns, all for /proc */
        for (size_t i = 0; r < 0 && i < s->n; i++)
                if (s->v[i].ino != s->home_ino && (r_proc < 0 || strncmp(s->v[i].name, "net:[", 5) != 0))
                        s->v[i].seen = true;
        /* close what is gone; our socket was what kept it alive */
        for (size_t i = 0; i < s->n;) {
                if (s->v[i].seen || s->v[i].ino == s->home_ino) {
                        i++;
                        continue;
                }
                diag_free(s->v[i].diag);
                s->v[i] = s->v[--s->n];
        }
        if (ret_unwatched)
                count_skipped(&dc, ret_unwatched);
        free(dc.v);
        return r < 0 ? r : dc.error < 0 ? dc.error : (int) s->n;
}

int netns_of_socket(int fd, uint64_t *ret_ino) {
        _cleanup_(closep) int ns = ioctl(fd, SIOCGSKNS);
        struct stat st;

        if (ns < 0)
                return -errno;
        if (fstat(ns, &st) < 0)
                return -errno;
        *ret_ino = (uint64_t) st.st_ino;
        return 0;
}
