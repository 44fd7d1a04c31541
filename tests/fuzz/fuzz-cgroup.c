/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A cgroup path (any bytes: another user's names) read for its unit and
 * its container and pod, and what is read holds: an ID of 64 hex digits, a
 * pod UID as container.h says, a user's container behind its manager's
 * unit and in no pod, a unit cut to any size without writing past it, and
 * a container's name (and its short form) read back by --container as
 * selecting that container. The input is also taken as a --container and
 * a --pod argument. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cgroup.h"
#include "container.h"
#include "fuzz.h"

static bool hex_only(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
                        return false;
        return true;
}

static void check_ref(const struct container_ref *c, const char *unit) {
        size_t pod = strlen(c->pod_uid), owner = strlen(c->owner);

        if (c->id[0] && (strlen(c->id) != CONTAINER_ID_LEN || !hex_only(c->id, CONTAINER_ID_LEN)))
                abort();
        if (!c->id[0] && (c->runtime != CONTAINER_RUNTIME_UNKNOWN || owner))
                abort();
        if (c->runtime >= _CONTAINER_RUNTIME_MAX || c->qos >= _POD_QOS_MAX || (pod == 0) != (c->qos == POD_QOS_NONE))
                abort();
        if (pod && pod != 32 && pod != POD_UID_MAX)
                abort();
        if (pod == POD_UID_MAX)
                for (size_t i = 0; i < pod; i++)
                        if ((i == 8 || i == 13 || i == 18 || i == 23) ? c->pod_uid[i] != '-'
                                                                      : !hex_only(c->pod_uid + i, 1))
                                abort();
        if (pod == 32 && !hex_only(c->pod_uid, 32))
                abort();
        /* a user's: its manager's, in no pod, the user's unit behind the same manager */
        if (owner) {
                if (!cgroup_name_is_user_manager(c->owner, owner) || pod ||
                    (c->runtime != CONTAINER_RUNTIME_PODMAN && c->runtime != CONTAINER_RUNTIME_DOCKER) ||
                    strncmp(unit, c->owner, owner) != 0 || unit[owner] != '/')
                        abort();
        }
}

static void check_name(const struct container_ref *c) {
        char name[CONTAINER_NAME_MAX], shortname[CONTAINER_SHORT_NAME_MAX];
        struct container_sel sel;

        if (!c->id[0])
                return;
        /* --container NAME and --container SHORT-NAME select it, and the system's
         * form never selects a user's */
        container_name(c, name);
        if (container_sel_parse(name, &sel) < 0 || !container_sel_matches(&sel, name, c->runtime))
                abort();
        container_name_short(name, shortname);
        if (container_sel_parse(shortname, &sel) < 0 || !container_sel_matches(&sel, name, c->runtime))
                abort();
        if (c->owner[0] && (container_sel_parse(c->id, &sel) < 0 || container_sel_matches(&sel, name, c->runtime)))
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *path = malloc(size + 1), unit[CGROUP_UNIT_MAX], *small;
        struct container_ref c;
        struct container_sel sel;
        char pod[POD_UID_MAX + 1];
        size_t cut;

        if (!path)
                return 0;
        memcpy(path, data, size);
        path[size] = '\0';

        cgroup_path_unit(path, unit, sizeof(unit));
        container_from_path(path, &c);
        /* a path with a name longer than a cgroup's (255 bytes) has its unit cut */
        if (strlen(unit) < sizeof(unit) - 1)
                check_ref(&c, unit);
        check_name(&c);

        /* cut to every size from a byte of the input: exactly that buffer, written within */
        cut = size ? (size_t) data[0] % 64 + 1 : 1;
        small = malloc(cut);
        if (small) {
                cgroup_path_unit(path, small, cut);
                if (strlen(small) >= cut || strncmp(small, unit, strlen(small)) != 0)
                        abort();
                free(small);
        }

        /* the same bytes as what a user types */
        if (container_sel_parse(path, &sel) == 0 && strlen(sel.prefix) >= CONTAINER_NAME_MAX)
                abort();
        (void) pod_uid_parse(path, pod);
        free(path);
        return 0;
}
