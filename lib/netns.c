/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
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

/* Mark ino seen, or enter and add it. path: its ns file. */
static int consider(struct netns_set *s, const char *path, const char *name, pid_t pid, unsigned *denied) {
        struct netns *ns;
        struct diag *d = NULL;
        struct tcp_limits limits;
        struct stat st;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == EACCES || errno == EPERM ? ((*denied)++, 0) : 0;
        if (fstat(fd, &st) < 0) {
                close(fd);
                return 0;
        }
        ns = netns_set_find(s, (uint64_t) st.st_ino);
        if (ns) {
                ns->seen = true;
                /* a name found later is better than an inode */
                if (name && strncmp(ns->name, "net:[", 5) == 0)
                        snprintf(ns->name, sizeof(ns->name), "%s", name);
                close(fd);
                return 0;
        }
        r = open_in(s, fd, &d, &limits);
        close(fd);
        if (r == -EPERM) {
                (*denied)++;
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

int netns_set_discover(struct netns_set *s, enum netns_mode mode, const char *names, unsigned *ret_denied) {
        unsigned denied = 0;
        DIR *d;
        struct dirent *de;
        int r;

        for (size_t i = 0; i < s->n; i++)
                s->v[i].seen = s->v[i].ino == s->home_ino &&
                               (mode != NETNS_NAMED || name_listed(names ? names : "", "host"));

        if (mode == NETNS_ALL || mode == NETNS_NAMED) {
                d = opendir(NETNS_RUN_DIR);
                while (d && (de = readdir(d))) {
                        char path[512];

                        if (de->d_name[0] == '.')
                                continue;
                        if (mode == NETNS_NAMED && !name_listed(names ? names : "", de->d_name))
                                continue;
                        snprintf(path, sizeof(path), NETNS_RUN_DIR "/%s", de->d_name);
                        r = consider(s, path, de->d_name, 0, &denied);
                        if (r < 0) {
                                closedir(d);
                                return r;
                        }
                }
                if (d)
                        closedir(d);
        }
        if (mode == NETNS_ALL) {
                d = opendir("/proc");
                while (d && (de = readdir(d))) {
                        char path[64], *end;
                        long pid = strtol(de->d_name, &end, 10);
                        struct stat st;

                        if (*end || pid <= 0)
                                continue;
                        snprintf(path, sizeof(path), "/proc/%ld/ns/net", pid);
                        /* most processes share a few namespaces: stat first, open only new ones */
                        if (stat(path, &st) == 0 && netns_set_find(s, (uint64_t) st.st_ino)) {
                                netns_set_find(s, (uint64_t) st.st_ino)->seen = true;
                                continue;
                        }
                        r = consider(s, path, NULL, (pid_t) pid, &denied);
                        if (r < 0) {
                                closedir(d);
                                return r;
                        }
                }
                if (d)
                        closedir(d);
        }

        /* close what is gone; our socket was what kept it alive */
        for (size_t i = 0; i < s->n;) {
                if (s->v[i].seen || s->v[i].ino == s->home_ino) {
                        i++;
                        continue;
                }
                diag_free(s->v[i].diag);
                s->v[i] = s->v[--s->n];
        }
        if (ret_denied)
                *ret_denied = denied;
        return (int) s->n;
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
