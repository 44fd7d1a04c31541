/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <linux/magic.h>

#include "cgroup.h"
#include "idmap.h"
#include "util.h"

/* Forget the gone ids past this many: a host that makes and removes
 * cgroups all day would otherwise keep every id. At worst one walk more. */
#define CGROUP_GONE_MAX 65536

/* FILEID_KERNFS (include/linux/exportfs.h): a kernfs node by its 64-bit id,
 * which is a cgroup's id (kernfs_node->id, its inode number on 64 bits). */
#define CGROUP_HANDLE_TYPE 0xfe

struct cgroup_entry {
        uint64_t id;
        char *path;              /* below the root, "/..." */
};

struct cgroup_cache {
        char root[256];          /* the cgroup2 mount point */
        int root_fd;             /* open on it: handles and listings start there; -EBADF */
        bool cgroup2;            /* it is cgroup v2: a directory entry's inode number is its id */
        cgroup_resolve_fn resolve; /* ids by themselves; NULL: walks only */
        void *resolve_userdata;
        struct cgroup_entry *entries; /* in no order: index finds them */
        size_t n, allocated;
        struct idmap index;      /* id -> its entry */
        struct idmap gone;       /* ids of cgroups found gone */
        bool may_refresh;
        bool complete;           /* the last walk saw every directory */
        struct cgroup_cache_stats stats;
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

/* An id by its file handle: the kernel finds the kernfs node (or says
 * ESTALE: gone), and the path is the descriptor's. */
static int resolve_by_handle(void *userdata, uint64_t id, char *path, size_t size) {
        struct cgroup_cache *c = userdata;
        struct {
                struct file_handle fh;
                uint64_t id;
        } h = { .fh = { .handle_bytes = sizeof(uint64_t), .handle_type = CGROUP_HANDLE_TYPE } };
        _cleanup_(closep) int fd = -EBADF;
        char link[64], target[4096];
        size_t root_len = strlen(c->root);
        ssize_t len;

        memcpy(h.fh.f_handle, &id, sizeof(id));
        fd = open_by_handle_at(c->root_fd, &h.fh, O_PATH | O_CLOEXEC);
        if (fd < 0)
                return errno == ESTALE ? 0 : -errno;
        snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
        len = readlink(link, target, sizeof(target));
        if (len <= 0 || (size_t) len >= sizeof(target))
                return len < 0 ? -errno : -ENAMETOOLONG;
        target[len] = '\0';
        /* removed since it was opened: the kernel says so after its path,
         * which a cgroup's own name could say too (a user's, delegated):
         * removed only if no directory of that name is this one */
        if ((size_t) len > strlen(" (deleted)") && strcmp(target + len - strlen(" (deleted)"), " (deleted)") == 0) {
                struct stat ours, named;

                if (fstat(fd, &ours) < 0 || stat(target, &named) < 0 || ours.st_ino != named.st_ino ||
                    ours.st_dev != named.st_dev)
                        return 0;
        }
        /* seen from elsewhere than our mount of it (another root): this
         * way cannot name it, a walk can */
        if (strncmp(target, c->root, root_len) != 0 || (target[root_len] != '/' && target[root_len] != '\0'))
                return -EOPNOTSUPP;
        if ((size_t) snprintf(path, size, "%s", target[root_len] ? target + root_len : "/") >= size)
                return -ENAMETOOLONG;
        return 1;
}

int cgroup_cache_new_at(struct cgroup_cache **ret, const char *root) {
        _cleanup_(cgroup_cache_freep) struct cgroup_cache *c = calloc(1, sizeof(*c));
        struct statfs sf;

        if (!c)
                return -ENOMEM;
        c->root_fd = -EBADF;
        if (strlen(root) >= sizeof(c->root))
                return -ENAMETOOLONG;
        strcpy(c->root, root);
        c->may_refresh = true;
        c->root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        /* by handle on cgroup v2 only: anywhere else the id is no kernfs node's */
        if (c->root_fd >= 0 && fstatfs(c->root_fd, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC) {
                c->cgroup2 = true;
                c->resolve = resolve_by_handle;
                c->resolve_userdata = c;
        }
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

void cgroup_cache_set_resolver(struct cgroup_cache *c, cgroup_resolve_fn fn, void *userdata) {
        c->resolve = fn;
        c->resolve_userdata = userdata;
}

void cgroup_cache_get_stats(const struct cgroup_cache *c, struct cgroup_cache_stats *ret) {
        *ret = c->stats;
}

static void clear(struct cgroup_cache *c) {
        for (size_t i = 0; i < c->n; i++)
                free(c->entries[i].path);
        c->n = 0;
        idmap_clear(&c->index);
}

struct cgroup_cache *cgroup_cache_free(struct cgroup_cache *c) {
        if (!c)
                return NULL;
        clear(c);
        free(c->entries);
        idmap_done(&c->index);
        idmap_done(&c->gone);
        if (c->root_fd >= 0)
                close(c->root_fd);
        free(c);
        return NULL;
}

/* Add id at path, unless known. */
static int add(struct cgroup_cache *c, uint64_t id, const char *path) {
        char *copy;

        if (id == 0 || idmap_get(&c->index, id) != IDMAP_NONE)
                return 0;
        if (GROW(c->entries, c->allocated, c->n + 1, 128) < 0)
                return -ENOMEM;
        copy = strdup(path);
        if (!copy)
                return -ENOMEM;
        if (idmap_put(&c->index, id, (uint32_t) c->n) < 0) {
                free(copy);
                return -ENOMEM;
        }
        c->entries[c->n++] = (struct cgroup_entry) { .id = id, .path = copy };
        return 0;
}

struct subdir {
        uint64_t ino;            /* d_ino: the cgroup's id on cgroup v2 */
        char name[256];
};

/* The subdirectories of fd (util.h dirent_next()). 0, or -errno. */
static int list_subdirs(int fd, struct subdir **ret, size_t *n, size_t *allocated) {
        char buf[8192] __attribute__((aligned(8)));
        struct dirent_reader dr = { .fd = fd, .buf = buf, .size = sizeof(buf) };
        const struct linux_dirent64 *de;

        *n = 0;
        while ((de = dirent_next(&dr))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if (GROW(*ret, *allocated, *n + 1, 16) < 0)
                        return -ENOMEM;
                (*ret)[*n].ino = de->d_ino;
                snprintf((*ret)[*n].name, sizeof((*ret)[*n].name), "%s", de->d_name);
                (*n)++;
        }
        return errno ? -errno : 0;
}

/* Depth-first over the directories below fd_dir (whose path below the
 * root is rel), which it takes and closes. 0 when it saw everything, else
 * the first error (the rest is walked still). On cgroup v2 a directory
 * entry's inode number is the cgroup's id: no fstat of each. */
static int walk(struct cgroup_cache *c, int fd_dir, const char *rel, unsigned depth) {
        _cleanup_(freep) struct subdir *subs = NULL;
        size_t n = 0, allocated = 0;
        int r;

        if (depth > 64) {
                close(fd_dir);
                return -ELOOP; /* deeper than any real hierarchy: not walked */
        }
        r = list_subdirs(fd_dir, &subs, &n, &allocated);
        for (size_t i = 0; i < n; i++) {
                char sub[4096];
                uint64_t id = subs[i].ino;
                struct stat st;
                int fd, k;

                if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", strcmp(rel, "/") ? rel : "", subs[i].name) >= sizeof(sub))
                        continue;
                fd = openat(fd_dir, subs[i].name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
                if (fd < 0) {
                        if (errno != ENOENT && r == 0) /* ENOENT: gone meanwhile */
                                r = -errno;
                        continue;
                }
                if (!c->cgroup2)
                        id = fstat(fd, &st) < 0 ? 0 : (uint64_t) st.st_ino;
                if (id == 0 || add(c, id, sub) < 0) {
                        close(fd);
                        if (r == 0)
                                r = -ENOMEM;
                        continue;
                }
                k = walk(c, fd, sub, depth + 1);
                if (k < 0 && r == 0)
                        r = k;
        }
        close(fd_dir);
        return r;
}

static int rescan(struct cgroup_cache *c) {
        struct stat st;
        int fd;

        clear(c);
        c->stats.walks++;
        fd = open(c->root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0 || add(c, (uint64_t) st.st_ino, "/") < 0) {
                close(fd);
                return -ENOMEM;
        }
        c->complete = walk(c, fd, "/", 0) >= 0;
        return 0;
}

/* The cgroups beside path (its parent's subdirectories), by the inode
 * numbers their directory entries carry (a cgroup's id on cgroup v2): the
 * cgroups a host's stuck sockets come from are siblings, a service's or a
 * pod's, so one listing answers for the next of them. Best effort. */
static void add_siblings(struct cgroup_cache *c, const char *path) {
        char parent[4096], sub[4096];
        const char *slash = strrchr(path, '/');
        _cleanup_(closep) int fd = -EBADF;
        char buf[32768] __attribute__((aligned(8)));
        struct dirent_reader dr = { .buf = buf, .size = sizeof(buf) };
        const struct linux_dirent64 *de;

        if (!slash || slash == path || (size_t) (slash - path) >= sizeof(parent) || c->root_fd < 0)
                return; /* the root, or a child of it: no listing of the whole top */
        memcpy(parent, path, (size_t) (slash - path));
        parent[slash - path] = '\0';
        fd = openat(c->root_fd, parent + 1, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
                return;
        c->stats.listings++;
        dr.fd = fd;
        while ((de = dirent_next(&dr))) {
                if (de->d_type != DT_DIR || de->d_name[0] == '.')
                        continue;
                if ((size_t) snprintf(sub, sizeof(sub), "%s/%s", parent, de->d_name) < sizeof(sub))
                        (void) add(c, de->d_ino, sub);
        }
}

static void remember_gone(struct cgroup_cache *c, uint64_t id) {
        if (c->gone.size >= CGROUP_GONE_MAX)
                idmap_clear(&c->gone);
        (void) idmap_put(&c->gone, id, 0);
}

/* Look id up by itself: 1 known now, 0 gone, -errno cannot tell this way. */
static int resolve(struct cgroup_cache *c, uint64_t id) {
        char path[4096];
        int r;

        r = c->resolve(c->resolve_userdata, id, path, sizeof(path));
        if (r == -EPERM || r == -EACCES || r == -EOPNOTSUPP || r == -EINVAL || r == -ENOSYS) {
                c->resolve = NULL; /* not allowed here, or not supported: walks from now on */
                return r;
        }
        if (r < 0)
                return r;
        c->stats.resolved++;
        if (r == 0) {
                remember_gone(c, id);
                return 0;
        }
        r = add(c, id, path);
        if (r < 0)
                return r;
        add_siblings(c, path);
        return 1;
}

void cgroup_cache_refresh_allowed(struct cgroup_cache *c) {
        c->may_refresh = true;
}

const char *cgroup_cache_root(const struct cgroup_cache *c) {
        return c->root;
}

int cgroup_cache_lookup(struct cgroup_cache *c, uint64_t id, const char **ret_path) {
        uint32_t at = idmap_get(&c->index, id);
        int r;

        if (at == IDMAP_NONE && idmap_get(&c->gone, id) != IDMAP_NONE)
                return 0;
        if (at == IDMAP_NONE && c->resolve) {
                r = resolve(c, id);
                if (r == 0)
                        return 0;
                at = idmap_get(&c->index, id);
        }
        if (at == IDMAP_NONE && c->may_refresh) {
                c->may_refresh = false;
                r = rescan(c);
                if (r < 0)
                        return r;
                at = idmap_get(&c->index, id);
        }
        if (at == IDMAP_NONE) {
                /* Only a walk that saw everything says it is gone: one made
                 * since the last refresh was allowed, which comes before the
                 * dump the id is from (cgroup.h), so the cgroup was there
                 * before the walk began, and it is gone for good. */
                if (!c->complete)
                        return -EAGAIN;
                remember_gone(c, id);
                return 0;
        }
        *ret_path = c->entries[at].path;
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
