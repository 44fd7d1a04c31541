/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* A cgroup hierarchy of a test's own: a directory tree under /tmp, where a
 * cgroup's id is its directory's inode number, as on cgroup2. Include after
 * test.h. */

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Make root/rel (and what leads to it); its inode number, the cgroup id. */
static inline uint64_t cgtree_make(const char *root, const char *rel) {
        char path[4096], *p;
        struct stat st;

        snprintf(path, sizeof(path), "%s%s", root, rel);
        for (p = path + strlen(root) + 1; (p = strchr(p, '/')); p++) {
                *p = '\0';
                (void) mkdir(path, 0755);
                *p = '/';
        }
        (void) mkdir(path, 0755);
        CHECK_INT(stat(path, &st), 0);
        return (uint64_t) st.st_ino;
}

/* Remove the tree at path (directories only, as the tests make). */
static inline void cgtree_remove(const char *path) {
        DIR *d = opendir(path);
        struct dirent *de;

        while (d && (de = readdir(d))) {
                char sub[4096];

                if (de->d_name[0] == '.' || de->d_type != DT_DIR ||
                    (size_t) snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name) >= sizeof(sub))
                        continue;
                cgtree_remove(sub);
        }
        if (d)
                closedir(d);
        rmdir(path);
}
