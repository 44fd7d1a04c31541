/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The container and the Kubernetes pod a socket's cgroup belongs to, read
 * from the names container engines and the kubelet give their cgroups:
 *
 *   systemd's driver (a scope per container, a slice per pod):
 *     docker-ID.scope              Docker
 *     cri-containerd-ID.scope      containerd (CRI)
 *     crio-ID.scope                CRI-O
 *     libpod-ID.scope              podman
 *     kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podUID.slice/...
 *     kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podUID.slice/...
 *     kubepods.slice/kubepods-podUID.slice/...        (Guaranteed: no QoS slice)
 *     with UID's "-" written "_" (a "-" in a slice's name is a level)
 *   a user's manager (user@UID.service: rootless engines):
 *     user@UID.service/.../libpod-ID.scope            podman
 *     user@UID.service/.../docker-ID.scope            rootless Docker
 *   the cgroupfs driver (plain directories in no unit, at the top):
 *     /kubepods/burstable/podUID/ID, /kubepods/besteffort/podUID/ID,
 *     /kubepods/podUID/ID (Guaranteed), ID also crio-ID
 *     /docker/ID, /libpod_parent/libpod-ID
 *
 * ID is 64 lower-case hex digits, as each of these engines makes it; a pod
 * UID a UUID (8-4-4-4-12 lower-case hex digits) or, for a static pod, 32
 * hex digits.
 *
 * A name counts only where no one but the engine's owner can make it, so
 * that no container or user can pass for another container or pod:
 * - The system manager's: past its slices (only root makes a unit there),
 *   the unit is the container if it is an engine's scope, and all below it
 *   is that container's whatever the names there (cgroup_path_unit(),
 *   cgroup.h); a pod is a slice on the way to it.
 * - A user's manager: its user makes any unit, slice or scope there
 *   (systemd-run --user --scope), so only the rootless engines' scopes
 *   count, never a pod (no kubelet runs in a user's manager, and one above
 *   it is not the user's), and the container is the user's: owner says
 *   whose, and container_name() names it behind the manager, so it never
 *   reads as the system's container of the same ID.
 * - The cgroupfs driver's directories: only at the hierarchy's top, where
 *   only root makes cgroups; deeper (an unprivileged LXC container owns
 *   its lxc.payload.NAME subtree, a service its delegated one) they are no
 *   one's. So a kubelet's --cgroup-root with the cgroupfs driver
 *   (/ROOT/kubepods/...) is not read; with systemd's driver it is
 *   (ROOT-kubepods-....slice: slices).
 * Anything else is no container: conmon's scopes (libpod-conmon-ID.scope,
 * crio-conmon-ID.scope: podman's and CRI-O's monitor of a container, not
 * the container), an ID that is not 64 hex digits, a name that only looks
 * like one. What is taken is hex digits and dashes only, and a manager's
 * unit name (cgroup_name_is_user_manager()): nothing to escape. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum container_runtime {
        CONTAINER_RUNTIME_UNKNOWN,      /* the cgroupfs driver's kubepods/.../ID names none */
        CONTAINER_RUNTIME_DOCKER,
        CONTAINER_RUNTIME_CONTAINERD,
        CONTAINER_RUNTIME_CRIO,
        CONTAINER_RUNTIME_PODMAN,
        _CONTAINER_RUNTIME_MAX,
};

enum pod_qos {
        POD_QOS_NONE,                   /* no pod */
        POD_QOS_GUARANTEED,
        POD_QOS_BURSTABLE,
        POD_QOS_BESTEFFORT,
        _POD_QOS_MAX,
};

#define CONTAINER_ID_LEN 64
#define CONTAINER_SHORT_ID_LEN 12       /* what docker ps, podman ps and crictl ps show */
#define CONTAINER_OWNER_MAX (sizeof("user@4294967295.service") - 1)
#define POD_UID_MAX 36

struct container_ref {
        char id[CONTAINER_ID_LEN + 1];  /* the container's ID; "" none */
        char owner[CONTAINER_OWNER_MAX + 1]; /* "" the system's; a user's manager's unit, user@UID.service */
        char pod_uid[POD_UID_MAX + 1];  /* the pod's UID, with "-"; "" none */
        uint8_t runtime;                /* enum container_runtime, with an id */
        uint8_t qos;                    /* enum pod_qos, with a pod */
};

/* The container and pod of a cgroup path below the hierarchy's root
 * ("/kubepods.slice/..."): either, both or neither. */
void container_from_path(const char *path, struct container_ref *ret);

/* The name finwatch reports a container by (table, JSON, journal, metrics,
 * --container): the system's by its ID, a user's behind its manager,
 * "user@1000.service/ID", as cgroup_path_unit() names a user's units. */
#define CONTAINER_NAME_MAX (CONTAINER_OWNER_MAX + 1 + CONTAINER_ID_LEN + 1)
char *container_name(const struct container_ref *c, char buf[static CONTAINER_NAME_MAX]);
/* A name's short form: the first 12 digits of its ID, behind its manager
 * as in the name ("0123abcd4567", "user@1000.service/0123abcd4567"). */
#define CONTAINER_SHORT_NAME_MAX (CONTAINER_OWNER_MAX + 1 + CONTAINER_SHORT_ID_LEN + 1)
char *container_name_short(const char *name, char buf[static CONTAINER_SHORT_NAME_MAX]);
/* How long a name's owner is ("user@1000.service"): 0 for the system's. */
size_t container_name_owner_len(const char *name);

/* "docker", "containerd", "cri-o", "podman"; NULL for unknown. */
const char *container_runtime_to_string(uint8_t runtime);
/* "guaranteed", "burstable", "besteffort"; NULL for none. */
const char *pod_qos_to_string(uint8_t qos);

/* --container: which containers, by the start of their name. */
struct container_sel {
        char prefix[CONTAINER_NAME_MAX]; /* a name starts so: "0123ab", "user@1000.service/0123ab" */
        uint8_t runtime;                 /* the runtime the scheme named; unknown: any */
};
/* [SCHEME://][user@UID.service/]HEX: an ID or its first hex digits (upper
 * case taken as lower) - a system's container, or with its manager's unit
 * a user's; SCHEME as Kubernetes writes it in a pod's status and engines
 * print it (docker, containerd, cri-o, podman), then only a container of
 * that runtime (or of none known) is selected. 0, or -EINVAL when it is
 * not that. */
int container_sel_parse(const char *arg, struct container_sel *ret);
/* Whether the container of this name (NULL: none) and runtime is selected. */
bool container_sel_matches(const struct container_sel *sel, const char *name, uint8_t runtime);
/* --pod: a pod UID as Kubernetes shows it, with "-" (or "_", as in a slice's
 * name; upper case taken as lower), into buf as container_from_path() gives
 * it. 0, or -EINVAL. */
int pod_uid_parse(const char *arg, char buf[static POD_UID_MAX + 1]);
