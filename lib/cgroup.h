/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A socket's cgroup (INET_DIAG_CGROUP_ID: the inode number of the cgroup v2
 * directory; it survives close(), so orphans have it too) and the systemd
 * unit that cgroup belongs to. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct cgroup_cache;

/* Find the cgroup v2 hierarchy (/sys/fs/cgroup, or /sys/fs/cgroup/unified
 * on a hybrid system). -ENOENT when there is none. */
int cgroup_cache_new(struct cgroup_cache **ret);
/* The same over the hierarchy at root (tests: a directory tree of their own). */
int cgroup_cache_new_at(struct cgroup_cache **ret, const char *root);
struct cgroup_cache *cgroup_cache_free(struct cgroup_cache *c);
static inline void cgroup_cache_freep(struct cgroup_cache **c) {
        cgroup_cache_free(*c);
}

/* The path of cgroup id below the hierarchy's root ("/" for the root,
 * "/system.slice/nginx.service"), valid until the next lookup. An id not
 * known yet is looked up by itself where the kernel allows it (cgroup v2
 * takes the id as a file handle: open_by_handle_at(), which needs
 * CAP_DAC_READ_SEARCH; its siblings come with it, from one listing of
 * their directory): a cost per cgroup asked about, never per cgroup on
 * the host. Elsewhere the cache walks the hierarchy again, at most once per
 * cgroup_cache_refresh_allowed(). A cgroup found gone is remembered as gone
 * (ids never come back), so it costs no walk or handle again. Returns 1
 * found, 0 not there (the cgroup was deleted), -EAGAIN not found by a walk
 * that could not see everything (a directory it could not open, EMFILE
 * say: cannot tell), -errno. */
int cgroup_cache_lookup(struct cgroup_cache *c, uint64_t id, const char **ret_path);
/* Allow one more walk. Call it before taking the dump whose ids are then
 * looked up: an id a later walk does not find is of a cgroup removed since. */
void cgroup_cache_refresh_allowed(struct cgroup_cache *c);
const char *cgroup_cache_root(const struct cgroup_cache *c);

/* How an id is looked up by itself: 1 and its path below the root in
 * path, 0 when the cgroup is gone, -errno when this way cannot tell
 * (-EPERM, -EOPNOTSUPP: never again; others: not this time). */
typedef int (*cgroup_resolve_fn)(void *userdata, uint64_t id, char *path, size_t size);
/* Tests: ids looked up by fn (NULL: by walks only) instead of by handle. */
void cgroup_cache_set_resolver(struct cgroup_cache *c, cgroup_resolve_fn fn, void *userdata);

/* What the cache did so far. */
struct cgroup_cache_stats {
        unsigned walks;           /* of the whole hierarchy */
        unsigned resolved;        /* ids looked up by themselves (found or gone) */
        unsigned listings;        /* directories listed for an id's siblings */
};
void cgroup_cache_get_stats(const struct cgroup_cache *c, struct cgroup_cache_stats *ret);

/* The unit of cgroup id (cgroup_path_unit() of its path) into buf, and its
 * path in *ret_path (if not NULL): 1, 0 when the cgroup is gone, -errno. */
int cgroup_cache_unit(struct cgroup_cache *c, uint64_t id, char *buf, size_t size, const char **ret_path);

/* The systemd unit a cgroup path belongs to, as its manager names it, cut to
 * size bytes. The system manager's: past the slices, the first component,
 * if it is a unit ("nginx.service", "docker-<id>.scope", "session-2.scope");
 * what is below it is that unit's own, whatever the names there (a
 * container's systemd, a service's workers). The innermost of the slices
 * when no unit follows them ("system.slice"); "" when the path starts with
 * no slice or unit (the root, a hand-made cgroup).
 *
 * A user's manager (user@UID.service, UID a number) runs units of its own:
 * those are named behind it, "user@1000.service/nginx.service",
 * "user@1000.service/libpod-<id>.scope", by the same rule below it, so that
 * they never read as the system's unit of the same name (a system unit's
 * name has no "/"). Its init.scope holds the manager itself, the system
 * unit's main process: "user@1000.service", as are cgroups below it that
 * are no unit of the user's. */
void cgroup_path_unit(const char *path, char *buf, size_t size);

/* What one component of a cgroup path (name, len bytes, no NUL needed) is
 * to systemd: a unit's name (.service, .scope, .socket, .mount, .swap,
 * .slice), a slice, a user's manager (user@UID.service, UID a decimal
 * number of at most 10 digits; an instance of user@.service named
 * otherwise is not one). */
bool cgroup_name_is_unit(const char *name, size_t len);
bool cgroup_name_is_slice(const char *name, size_t len);
bool cgroup_name_is_user_manager(const char *name, size_t len);

/* Room for any name cgroup_path_unit() gives: a unit name (255 bytes at
 * most, a cgroup directory's name) behind the longest user manager
 * ("user@4294967295.service/", a uid of 10 digits). */
#define CGROUP_UNIT_MAX (sizeof("user@4294967295.service/") - 1 + 255 + 1)
