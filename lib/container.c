/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <stdio.h>
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

/* Which engines a name may be of (container_of_name()): a bit per runtime. */
#define RUNTIMES_ALL ((1u << CONTAINER_RUNTIME_DOCKER) | (1u << CONTAINER_RUNTIME_CONTAINERD) | \
                      (1u << CONTAINER_RUNTIME_CRIO) | (1u << CONTAINER_RUNTIME_PODMAN))
/* those that run rootless, in a user's manager: podman, and Docker's rootless mode */
#define RUNTIMES_ROOTLESS ((1u << CONTAINER_RUNTIME_DOCKER) | (1u << CONTAINER_RUNTIME_PODMAN))

/* The ID of a container named PREFIX-ID and suffix (".scope" for a unit,
 * "" for a cgroupfs directory), ID 64 hex digits, PREFIX an engine's among
 * runtimes: true and *ret's id and runtime when it is one. */
static bool container_of_name(const char *name, size_t len, const char *suffix, unsigned runtimes,
                              struct container_ref *ret) {
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

                if (!(runtimes & (1u << engines[i].runtime)))
                        continue;
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

        assert(cgroup_name_is_slice(name, len)); /* the caller's: what follows is a slice's name */
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
                (void) container_of_name(p, len, "", RUNTIMES_ALL, ret);
}

/* A path whose first component, at p (len bytes), is no unit: the
 * cgroupfs driver's directories, where the engines make them, at the top
 * (only root makes cgroups there; deeper, whoever owns the subtree does). */
static void from_directories(const char *p, size_t len, struct container_ref *ret) {
        if (named(p, len, "kubepods"))
                from_kubepods(p + len, ret);
        else if (named(p, len, "docker")) {
                p = next_component(p + len, &len);
                if (container_of_id(p, len, ret))
                        ret->runtime = CONTAINER_RUNTIME_DOCKER;
        } else if (named(p, len, "libpod_parent")) {
                p = next_component(p + len, &len);
                (void) container_of_name(p, len, "", 1u << CONTAINER_RUNTIME_PODMAN, ret);
        }
}

/* Below the user's manager named manager (len bytes), p what follows it:
 * past the slices (the user's own, whatever their names: no pod), the
 * unit, a container if it is a rootless engine's scope; the user's. */
static void from_user_units(const char *p, const char *manager, size_t manager_len, struct container_ref *ret) {
        assert(manager_len <= CONTAINER_OWNER_MAX); /* cgroup_name_is_user_manager() */
        for (;;) {
                size_t len;

                p = next_component(p, &len);
                if (len == 0 || !cgroup_name_is_unit(p, len))
                        return;
                if (cgroup_name_is_slice(p, len)) {
                        p += len;
                        continue;
                }
                if (container_of_name(p, len, ".scope", RUNTIMES_ROOTLESS, ret)) {
                        memcpy(ret->owner, manager, manager_len);
                        ret->owner[manager_len] = '\0';
                }
                return;
        }
}

/* The system manager's: past the slices (a pod's among them), the unit: a
 * container's scope, or a user's manager. */
static void from_units(const char *p, struct container_ref *ret) {
        for (bool first = true;; first = false) {
                size_t len;

                p = next_component(p, &len);
                if (len == 0)
                        return;
                if (!cgroup_name_is_unit(p, len)) {
                        if (first)
                                from_directories(p, len, ret);
                        return;
                }
                if (cgroup_name_is_slice(p, len)) {
                        if (!ret->pod_uid[0])
                                (void) pod_of_slice(p, len, ret);
                        p += len;
                        continue;
                }
                if (cgroup_name_is_user_manager(p, len)) {
                        /* a user's container is in no pod: not in one of the system's slices either */
                        ret->pod_uid[0] = '\0';
                        ret->qos = POD_QOS_NONE;
                        from_user_units(p + len, p, len, ret);
                        return;
                }
                (void) container_of_name(p, len, ".scope", RUNTIMES_ALL, ret);
                return;
        }
}

void container_from_path(const char *path, struct container_ref *ret) {
        *ret = (struct container_ref) {};
        from_units(path, ret);
}

char *container_name(const struct container_ref *c, char buf[static CONTAINER_NAME_MAX]) {
        snprintf(buf, CONTAINER_NAME_MAX, "%s%s%s", c->owner, c->owner[0] ? "/" : "", c->id);
        return buf;
}

size_t container_name_owner_len(const char *name) {
        const char *slash = strrchr(name, '/');

        return slash ? (size_t) (slash - name) : 0;
}

char *container_name_short(const char *name, char buf[static CONTAINER_SHORT_NAME_MAX]) {
        const char *slash = strrchr(name, '/'), *id = slash ? slash + 1 : name;
        size_t owner = container_name_owner_len(name);

        if (owner > CONTAINER_OWNER_MAX)
                owner = CONTAINER_OWNER_MAX; /* no name container_name() gave: cut */
        snprintf(buf, CONTAINER_SHORT_NAME_MAX, "%.*s%s%.*s", (int) owner, name, slash ? "/" : "",
                 CONTAINER_SHORT_ID_LEN, id);
        return buf;
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

int container_sel_parse(const char *arg, struct container_sel *ret) {
        static const struct {
                const char *scheme;
                uint8_t runtime;
        } schemes[] = {
                /* kubectl get pod -o jsonpath='{..containerID}', and the engines */
                { "docker://", CONTAINER_RUNTIME_DOCKER },
                { "containerd://", CONTAINER_RUNTIME_CONTAINERD },
                { "cri-o://", CONTAINER_RUNTIME_CRIO },
                { "podman://", CONTAINER_RUNTIME_PODMAN },
        };
        struct container_sel sel = { .runtime = CONTAINER_RUNTIME_UNKNOWN };
        char hex[CONTAINER_ID_LEN + 1];
        const char *owner = "", *slash;
        size_t owner_len = 0, len;

        if (strstr(arg, "://")) {
                size_t i;

                for (i = 0; i < ELEMENTSOF(schemes); i++)
                        if (strncmp(arg, schemes[i].scheme, strlen(schemes[i].scheme)) == 0)
                                break;
                if (i == ELEMENTSOF(schemes))
                        return -EINVAL;
                sel.runtime = schemes[i].runtime;
                arg += strlen(schemes[i].scheme);
        }
        /* a user's container: behind its manager, as finwatch names it */
        slash = strchr(arg, '/');
        if (slash) {
                owner = arg;
                owner_len = (size_t) (slash - arg);
                if (!cgroup_name_is_user_manager(owner, owner_len))
                        return -EINVAL;
                arg = slash + 1;
        }
        len = strlen(arg);
        if (len == 0 || !lower(arg, hex, sizeof(hex)) || !all_hex(hex, len))
                return -EINVAL;
        snprintf(sel.prefix, sizeof(sel.prefix), "%.*s%s%s", (int) owner_len, owner, owner_len ? "/" : "", hex);
        *ret = sel;
        return 0;
}

bool container_sel_matches(const struct container_sel *sel, const char *name, uint8_t runtime) {
        if (!name || strncmp(name, sel->prefix, strlen(sel->prefix)) != 0)
                return false;
        /* the cgroupfs driver's kubepods/.../ID names no runtime: any scheme fits */
        return sel->runtime == CONTAINER_RUNTIME_UNKNOWN || runtime == CONTAINER_RUNTIME_UNKNOWN ||
               runtime == sel->runtime;
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
