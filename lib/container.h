/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The container and the Kubernetes pod a socket's cgroup belongs to, read
 * from the names container engines and the kubelet give their cgroups:
 *
 *   systemd's driver (a scope per container, a slice per pod):
 *     docker-ID.scope              Docker
 *     cri-containerd-ID.scope      containerd (CRI)
 *     crio-ID.scope                CRI-O
 *     libpod-ID.scope              podman (rootless too, in a user's manager:
 *                                  user@UID.service/.../libpod-ID.scope)
 *     kubepods.slice/kubepods-burstable.slice/kubepods-burstable-podUID.slice/...
 *     kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-podUID.slice/...
 *     kubepods.slice/kubepods-podUID.slice/...        (Guaranteed: no QoS slice)
 *     with UID's "-" written "_" (a "-" in a slice's name is a level)
 *   the cgroupfs driver (plain directories in no unit):
 *     kubepods/burstable/podUID/ID, kubepods/besteffort/podUID/ID,
 *     kubepods/podUID/ID (Guaranteed), ID also crio-ID
 *     docker/ID, libpod_parent/libpod-ID
 *
 * ID is 64 lower-case hex digits, as each of these engines makes it; a pod
 * UID a UUID (8-4-4-4-12 lower-case hex digits) or, for a static pod, 32
 * hex digits.
 *
 * Which cgroups count follows cgroup_path_unit() (cgroup.h): a container
 * is the unit past the slices, the system manager's or a user manager's,
 * and everything below it is that container's whatever the names there, so
 * no container can pass for another by naming cgroups of its own; a pod is
 * a slice on the way to it. The cgroupfs driver's directories count only
 * in a path that starts in no unit (the root's own: only root makes
 * cgroups there), where the first kubepods, docker or libpod-ID directory
 * decides (below a kubelet's --cgroup-root too). Anything else is no
 * container: conmon's scopes (libpod-conmon-ID.scope, crio-conmon-ID.scope:
 * podman's and CRI-O's monitor of a container, not the container), an ID
 * that is not 64 hex digits, a name that only looks like one. What is
 * taken is hex digits and dashes only: nothing to escape. */

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
#define POD_UID_MAX 36

struct container_ref {
        char id[CONTAINER_ID_LEN + 1];  /* the container's ID; "" none */
        char pod_uid[POD_UID_MAX + 1];  /* the pod's UID, with "-"; "" none */
        uint8_t runtime;                /* enum container_runtime, with an id */
        uint8_t qos;                    /* enum pod_qos, with a pod */
};

/* The container and pod of a cgroup path below the hierarchy's root
 * ("/kubepods.slice/..."): either, both or neither. */
void container_from_path(const char *path, struct container_ref *ret);

/* "docker", "containerd", "cri-o", "podman"; NULL for unknown. */
const char *container_runtime_to_string(uint8_t runtime);
/* "guaranteed", "burstable", "besteffort"; NULL for none. */
const char *pod_qos_to_string(uint8_t qos);

/* --container: an ID or its first hex digits (upper case taken as lower),
 * also as Kubernetes writes it in a pod's status (containerd://ID), into
 * buf, lower case. 0, or -EINVAL when it is not that. */
int container_id_prefix_parse(const char *arg, char buf[static CONTAINER_ID_LEN + 1]);
/* --pod: a pod UID as Kubernetes shows it, with "-" (or "_", as in a slice's
 * name; upper case taken as lower), into buf as container_from_path() gives
 * it. 0, or -EINVAL. */
int pod_uid_parse(const char *arg, char buf[static POD_UID_MAX + 1]);
