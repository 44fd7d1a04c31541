/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <string.h>

#include "cgroup.h"
#include "container.h"
#include "util.h"

static bool is_hex(char c) {
        return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static bool all_hex(const char *s, size_t len) {
        for (size_t i = 0; i < len; i++)
                if (!is_hex(s[i]))
                        return false;
        return true;
}

static bool named(const char *name, size_t len, const char *what) {
        return len == strlen(what) && memcmp(name, what, len) == 0;
}

/* A bare ID (the cgroupfs driver's kubepods and docker directories): true
 * and *ret's id, the runtime unknown. */
static bool container_of_id(const char *name, size_t len, struct container_ref *ret) {
        if (len != CONTAINER_ID_LEN || !all_hex(name, len))
                return false;
        memcpy(ret->id, name, len);
        ret->id[len] = '\0';
        ret->runtime = CONTAINER_RUNTIME_UNKNOWN;
        return true;
}

/* The ID of a container named PREFIX-ID and suffix (".scope" for a unit,
 * "" for a cgroupfs directory), ID 64 hex digits: true and *ret's id and
 * runtime when it is one. */
static bool container_of_name(const char *name, size_t len, const char *suffix, struct container_ref *ret) {
        static const struct {
                const char *prefix;
                uint8_t runtime;
        } engines[] = {
                { "docker-", CONTAINER_RUNTIME_DOCKER },
                { "cri-containerd-", CONTAINER_RUNTIME_CONTAINERD },
                { "crio-", CONTAINER_RUNTIME_CRIO },
                { "libpod-", CONTAINER_RUNTIME_PODMAN },
        };
        size_t s = strlen(suffix);

        if (len < s || memcmp(name + len - s, suffix, s) != 0)
                return false;
        len -= s;
        for (size_t i = 0; i < ELEMENTSOF(engines); i++) {
                size_t p = strlen(engines[i].prefix);

                /* libpod-conmon-ID, crio-conmon-ID: "conmon-ID" is no ID */
                if (len <= p || memcmp(name, engines[i].prefix, p) != 0 || !container_of_id(name + p, len - p, ret))
                        continue;
                ret->runtime = engines[i].runtime;
                return true;
        }
        return false;
}

/* A pod UID of len bytes at s, its dashes written sep: a UUID or 32 hex
 * digits (a static pod's). True and buf (with "-") when it is one; buf
 * untouched when not. */
static bool pod_uid_of(const char *s, size_t len, char sep, char buf[static POD_UID_MAX + 1]) {
        char uid[POD_UID_MAX + 1];

        if (len == 32 && all_hex(s, len)) {
                memcpy(buf, s, len);
                buf[len] = '\0';
                return true;
        }
        if (len != POD_UID_MAX)
                return false;
        for (size_t i = 0; i < len; i++) {
                bool dash = i == 8 || i == 13 || i == 18 || i == 23;

                if (dash ? s[i] != sep : !is_hex(s[i]))
                        return false;
                uid[i] = dash ? '-' : s[i];
        }
        uid[len] = '\0';
        memcpy(buf, uid, sizeof(uid));
        return true;
}

/* A pod's slice: ...kubepods[-burstable|-besteffort]-podUID.slice, UID with
 * "_" for "-", and before "kubepods" nothing or a parent's name and "-" (a
 * kubelet's --cgroup-root). */
static bool pod_of_slice(const char *name, size_t len, struct container_ref *ret) {
        static const struct {
                const char *tail;
                uint8_t qos;
        } kinds[] = {
                { "kubepods-pod", POD_QOS_GUARANTEED },
                { "kubepods-burstable-pod", POD_QOS_BURSTABLE },
                { "kubepods-besteffort-pod", POD_QOS_BESTEFFORT },
        };
        static const size_t uid_lens[] = { POD_UID_MAX, 32 };

        len -= strlen(".slice");
        for (size_t u = 0; u < ELEMENTSOF(uid_lens); u++) {
                char uid[POD_UID_MAX + 1];
                size_t before;

                if (len <= uid_lens[u] || !pod_uid_of(name + len - uid_lens[u], uid_lens[u], '_', uid))
                        continue;
                before = len - uid_lens[u];
                for (size_t k = 0; k < ELEMENTSOF(kinds); k++) {
                        size_t t = strlen(kinds[k].tail);

                        if (before < t || memcmp(name + before - t, kinds[k].tail, t) != 0 ||
                            (before > t && name[before - t - 1] != '-'))
                                continue;
                        memcpy(ret->pod_uid, uid, sizeof(uid));
                        ret->qos = kinds[k].qos;
                        return true;
                }
        }
        return false;
}

/* The next component of p: its start in *ret_name and length (0: none). */
static const char *next_component(const char *p, size_t *ret_len) {
        p += strspn(p, "/");
        *ret_len = strcspn(p, "/");
        return p;
}

/* The cgroupfs driver's kubepods directory, p what follows it:
 * [burstable|besteffort/]podUID[/ID]. */
static void from_kubepods(const char *p, struct container_ref *ret) {
        uint8_t qos = POD_QOS_GUARANTEED;
        size_t len;

        p = next_component(p, &len);
        if (named(p, len, "burstable") || named(p, len, "besteffort")) {
                qos = named(p, len, "burstable") ? POD_QOS_BURSTABLE : POD_QOS_BESTEFFORT;
                p = next_component(p + len, &len);
        }
        if (len <= 3 || memcmp(p, "pod", 3) != 0 || !pod_uid_of(p + 3, len - 3, '-', ret->pod_uid))
                return;
        ret->qos = qos;
        p = next_component(p + len, &len);
        if (!container_of_id(p, len, ret))
                (void) container_of_name(p, len, "", ret);
}

/* A path that starts in no unit: the first kubepods, docker or libpod-ID
 * directory decides. */
static void from_directories(const char *p, struct container_ref *ret) {
        for (;;) {
                size_t len;

                p = next_component(p, &len);
                if (len == 0)
                        return;
                if (named(p, len, "kubepods")) {
                        from_kubepods(p + len, ret);
                        return;
                }
                if (named(p, len, "docker")) {
                        p = next_component(p + len, &len);
                        if (container_of_id(p, len, ret))
                                ret->runtime = CONTAINER_RUNTIME_DOCKER;
                        return;
                }
                if (len > strlen("libpod-") && memcmp(p, "libpod-", strlen("libpod-")) == 0) {
                        (void) container_of_name(p, len, "", ret);
                        return;
                }
                p += len;
        }
}

/* Past the slices (a pod's among them), the unit: a container's scope, or
 * a user's manager, whose own units are read the same way. */
static void from_units(const char *p, bool system, struct container_ref *ret) {
        for (bool first = true;; first = false) {
                size_t len;

                p = next_component(p, &len);
                if (len == 0)
                        return;
                if (!cgroup_name_is_unit(p, len)) {
                        if (system && first)
                                from_directories(p, ret);
                        return;
                }
                if (cgroup_name_is_slice(p, len)) {
                        if (!ret->pod_uid[0])
                                (void) pod_of_slice(p, len, ret);
                        p += len;
                        continue;
                }
                if (system && cgroup_name_is_user_manager(p, len)) {
                        /* a user's pods and containers are the user's: none of the system's slices */
                        *ret = (struct container_ref) {};
                        from_units(p + len, false, ret);
                        return;
                }
                (void) container_of_name(p, len, ".scope", ret);
                return;
        }
}

void container_from_path(const char *path, struct container_ref *ret) {
        *ret = (struct container_ref) {};
        from_units(path, true, ret);
}

const char *container_runtime_to_string(uint8_t runtime) {
        static const char *const names[_CONTAINER_RUNTIME_MAX] = {
                [CONTAINER_RUNTIME_DOCKER] = "docker",
                [CONTAINER_RUNTIME_CONTAINERD] = "containerd",
                [CONTAINER_RUNTIME_CRIO] = "cri-o",
                [CONTAINER_RUNTIME_PODMAN] = "podman",
        };

        return runtime < _CONTAINER_RUNTIME_MAX ? names[runtime] : NULL;
}

const char *pod_qos_to_string(uint8_t qos) {
        static const char *const names[_POD_QOS_MAX] = {
                [POD_QOS_GUARANTEED] = "guaranteed",
                [POD_QOS_BURSTABLE] = "burstable",
                [POD_QOS_BESTEFFORT] = "besteffort",
        };

        return qos < _POD_QOS_MAX ? names[qos] : NULL;
}

/* arg in lower case into buf of size (arg shorter); false when too long. */
static bool lower(const char *arg, char *buf, size_t size) {
        size_t len = strlen(arg);

        if (len >= size)
                return false;
        for (size_t i = 0; i <= len; i++)
                buf[i] = arg[i] >= 'A' && arg[i] <= 'Z' ? (char) (arg[i] - 'A' + 'a') : arg[i];
        return true;
}

int container_id_prefix_parse(const char *arg, char buf[static CONTAINER_ID_LEN + 1]) {
        const char *scheme = strstr(arg, "://");
        size_t len;

        /* containerd://ID, docker://ID, cri-o://ID: a pod's status says so */
        if (scheme) {
                for (const char *c = arg; c < scheme; c++)
                        if (!((*c >= 'a' && *c <= 'z') || *c == '-'))
                                return -EINVAL;
                arg = scheme + 3;
        }
        len = strlen(arg);
        if (len == 0 || !lower(arg, buf, CONTAINER_ID_LEN + 1) || !all_hex(buf, len))
                return -EINVAL;
        return 0;
}

int pod_uid_parse(const char *arg, char buf[static POD_UID_MAX + 1]) {
        char low[POD_UID_MAX + 1];
        size_t len = strlen(arg);

        if (!lower(arg, low, sizeof(low)))
                return -EINVAL;
        if (pod_uid_of(low, len, '-', buf) || pod_uid_of(low, len, '_', buf))
                return 0;
        return -EINVAL;
}
