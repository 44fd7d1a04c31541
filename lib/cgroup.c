/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroup.h"
#include "util.h"

struct cgroup_entry {
        uint64_t id;
        char *path;              /* below the root, "/..." */
};

struct cgroup_cache {
        char root[256];          /* the cgroup2 mount point */
        struct cgroup_entry *entries; /* sorted by id */
        size_t n, allocated;
        bool may_refresh;
        bool complete;           /* the last walk saw every directory */
};

static int find_cgroup2(char *buf, size_t size) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[1024];
        int r = -ENOENT;

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                char mnt[256], fstype[64];
                const char *sep = strstr(line, " - ");

                /* ID PARENT MAJ:MIN ROOT MOUNTPOINT ... - FSTYPE SOURCE OPTS */
                if (!sep || sscanf(sep + 3, "%63s", fstype) != 1 || strcmp(fstype, "cgroup2") != 0)
                        continue;
                if (sscanf(line, "%*s %*s %*s %*s %255s", mnt) != 1)
                        continue;
                snprintf(buf, size, "%s", mnt);
                r = 0;
                break;
        }
        fclose(f);
        return r;
}

int cgroup_cache_new_at(struct cgroup_cache **ret, const char *root) {
        _cleanup_(cgroup_cache_freep) struct cgroup_cache *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        if (strlen(root) >= sizeof(c->root))
                return -ENAMETOOLONG;
        strcpy(c->root, root);
        c->may_refresh = true;
        *ret = TAKE_PTR(c);
        return 0;
}

int cgroup_cache_new(struct cgroup_cache **ret) {
        char root[256];
        int r;

        r = find_cgroup2(root, sizeof(root));
        if (r < 0)
                return r;
        return cgroup_cache_new_at(ret, root);
}

static void clear(struct cgroup_cache *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->entries[i].path);
        c->n = 0;
}

struct cgroup_cache *cgroup_cache_free(struct cgroup_cache *c) {
        if (!c)
                return NULL;
        clear(c);
        free(c->entries);
        free(c);
        return NULL;
}

static int add(struct cgroup_cache *c, uint64_t id, const char *path) {
        if (GROW(c->entries, c->allocated, c->n + 1, 128) < 0)
                return -ENOMEM;
        c->entries[c->n].path = strdup(path);
        if (!c->entries[c->n].path)
                return -ENOMEM;
        c->entries[c->n++].id = id;
        return 0;
}

/* Depth-first over the directories below fd_dir (whose path below the
 * root is rel), which it takes and closes. 0 when it saw everything, else
 * the first error (the rest is walked still). */
static int walk(struct cgroup_cache *c, int fd_dir, const char *rel, unsigned depth) {
        DIR *d;
        struct dirent *de;
        int r = 0;

        if (depth > 64) {
                close(fd_dir);
                return -ELOOP; /* deeper than any real hierarchy: not walked */
        }
        d = fdopendir(fd_dir);
        if (!d) {
                close(fd_dir);
                return -errno;
        }
        while ((de = readdir(d))) {
                char sub[4096];
                struct stat st;
                int fd, k;

                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", strcmp(rel, "/") ? rel : "", de->d_name) >= sizeof(sub))
                        continue;
                fd = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        if (errno != ENOENT && r == 0) /* ENOENT: gone meanwhile */
                                r = -errno;
                        continue;
                }
                if (fstat(fd, &st) < 0 || add(c, (uint64_t) st.st_ino, sub) < 0) {
                        close(fd);
                        if (r == 0)
                                r = -ENOMEM;
                        continue;
                }
                k = walk(c, fd, sub, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        closedir(d);
        return r;
}

static int cmp_entry(const void *a, const void *b) {
        const struct cgroup_entry *x = a, *y = b;

        return x->id < y->id ? -1 : x->id > y->id;
}

static int rescan(struct cgroup_cache *c) {
        struct stat st;
        int fd;

        clear(c);
        fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || add(c, (uint64_t) st.st_ino, "/") < 0) {
                close(fd);
                return -ENOMEM;
        }
        c->complete = walk(c, fd, "/", 0) >= 0;
        qsort(c->entries, c->n, sizeof(*c->entries), cmp_entry);
        return 0;
}

void cgroup_cache_refresh_allowed(struct cgroup_cache *c) {
        c->may_refresh = true;
}

const char *cgroup_cache_root(const struct cgroup_cache *c) {
        return c->root;
}

int cgroup_cache_lookup(struct cgroup_cache *c, uint64_t id, const char **ret_path) {
        struct cgroup_entry key = { .id = id }, *e;
        int r;

        e = c->n ? bsearch(&key, c->entries, c->n, sizeof(key), cmp_entry) : NULL;
        if (!e && c->may_refresh) {
                c->may_refresh = false;
                r = rescan(c);
                if (r < 0)
                        return r;
                e = c->n ? bsearch(&key, c->entries, c->n, sizeof(key), cmp_entry) : NULL;
        }
        if (!e)
                /* only a walk that saw everything says it is gone */
                return c->complete ? 0 : -EAGAIN;
        *ret_path = e->path;
        return 1;
}

bool cgroup_name_is_unit(const char *name, size_t len) {
        static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap", ".slice" };

        for (size_t i = 0; i < ELEMENTSOF(suffixes); i++) {
                size_t l = strlen(suffixes[i]);

                if (len > l && memcmp(name + len - l, suffixes[i], l) == 0)
                        return true;
        }
        return false;
}

bool cgroup_name_is_slice(const char *name, size_t len) {
        return len > 6 && memcmp(name + len - 6, ".slice", 6) == 0;
}

bool cgroup_name_is_user_manager(const char *name, size_t len) {
        const size_t prefix = strlen("user@"), suffix = strlen(".service");

        if (len <= prefix + suffix || len > prefix + 10 + suffix || memcmp(name, "user@", prefix) != 0 ||
            memcmp(name + len - suffix, ".service", suffix) != 0)
                return false;
        for (size_t i = prefix; i < len - suffix; i++)
                if (name[i] < '0' || name[i] > '9')
                        return false;
        return true;
}

/* The unit of the cgroup path p as one manager sees it (cgroup.h): its name
 * in *ret_name (length *ret_len, 0 for none); returns what follows a unit
 * that is not a slice (the unit's own subtree), NULL when there is none. */
static const char *first_unit(const char *p, const char **ret_name, size_t *ret_len) {
        *ret_name = NULL;
        *ret_len = 0;
        for (;;) {
                size_t len;

                p += strspn(p, "/");
                len = strcspn(p, "/");
                if (len == 0 || !cgroup_name_is_unit(p, len))
                        return NULL; /* the innermost slice so far, if any */
                *ret_name = p;
                *ret_len = len;
                if (!cgroup_name_is_slice(p, len))
                        return p + len;
                p += len;
        }
}

void cgroup_path_unit(const char *path, char *buf, size_t size) {
        const char *unit, *user_unit, *rest;
        size_t len, user_len;

        rest = first_unit(path, &unit, &len);
        if (rest && cgroup_name_is_user_manager(unit, len)) {
                bool manager_itself;

                /* systemd --user in its init.scope, directly below it */
                (void) first_unit(rest, &user_unit, &user_len);
                manager_itself = user_len == 0 ||
                                 (user_unit == rest + strspn(rest, "/") && user_len == strlen("init.scope") &&
                                  memcmp(user_unit, "init.scope", user_len) == 0);
                if (!manager_itself) {
                        snprintf(buf, size, "%.*s/%.*s", (int) len, unit, (int) user_len, user_unit);
                        return;
                }
        }
        snprintf(buf, size, "%.*s", (int) len, unit ? unit : "");
}

int cgroup_cache_unit(struct cgroup_cache *c, uint64_t id, char *buf, size_t size, const char **ret_path) {
        const char *path;
        int r = cgroup_cache_lookup(c, id, &path);

        if (r <= 0)
                return r;
        cgroup_path_unit(path, buf, size);
        if (ret_path)
                *ret_path = path;
        return 1;
}
