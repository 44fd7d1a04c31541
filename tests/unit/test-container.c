/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Containers and pods from cgroup paths (container.c): every shape the
 * engines and the kubelet make, with systemd's driver and with cgroupfs,
 * rootless podman and Docker behind a user's manager (whose unit still
 * reads as cgroup.c names it, and whose container is named behind it),
 * conmon's scopes, and names that only look like one: IDs that are not 64
 * hex digits, other users' bytes, overlong names, and the names of those
 * who may make cgroups of their own (an unprivileged LXC container's
 * subtree, a user's manager) but are no engine. --container's forms and
 * what they select. */
#include <stdlib.h>

#include "cgroup.h"
#include "container.h"
#include "escape.h"
#include "test.h"
#include "util.h"

#define ID  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define ID2 "fedcba9876543210fedcba9876543210fedcba9876543210fedcba9876543210"
#define UID "1234abcd-5678-4ef0-9abc-def012345678"
#define UID_ "1234abcd_5678_4ef0_9abc_def012345678"
#define UID2_ "99999999_8888_4777_a666_555555555555"
#define UID2 "99999999-8888-4777-a666-555555555555"
#define USER "/user.slice/user-1000.slice/user@1000.service"
#define MGR "user@1000.service/"    /* a user's container's name: behind its manager */
#define STATIC_UID "0fe4a2a1f0f7f1a6e4b1a3c5d7e9f0a2"  /* a static pod's: 32 hex digits */

#define DOCKER CONTAINER_RUNTIME_DOCKER
#define CONTAINERD CONTAINER_RUNTIME_CONTAINERD
#define CRIO CONTAINER_RUNTIME_CRIO
#define PODMAN CONTAINER_RUNTIME_PODMAN
#define UNKNOWN CONTAINER_RUNTIME_UNKNOWN
#define GUARANTEED POD_QOS_GUARANTEED
#define BURSTABLE POD_QOS_BURSTABLE
#define BESTEFFORT POD_QOS_BESTEFFORT

static const struct {
        const char *path;
        const char *name;         /* container_name(): the ID, a user's behind its manager; "" none */
        uint8_t runtime;
        const char *pod;          /* "" none */
        uint8_t qos;
} cases[] = {
        /* systemd's driver: a scope per container */
        { "/system.slice/docker-" ID ".scope", ID, DOCKER, "", 0 },
        { "/docker-" ID ".scope", ID, DOCKER, "", 0 },
        { "/machine.slice/libpod-" ID ".scope", ID, PODMAN, "", 0 },
        { "/machine.slice/machine-libpod_pod_" ID2 ".slice/libpod-" ID ".scope", ID, PODMAN, "", 0 },
        /* below a container is the container's, whatever the names there
         * (its own systemd; kind's nodes: a cluster in a container) */
        { "/system.slice/docker-" ID ".scope/system.slice/nginx.service", ID, DOCKER, "", 0 },
        { "/system.slice/docker-" ID ".scope/kubelet.slice/kubelet-kubepods.slice/kubelet-kubepods-burstable.slice/"
          "kubelet-kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID2 ".scope", ID, DOCKER, "", 0 },
        { "//system.slice//docker-" ID ".scope/", ID, DOCKER, "", 0 },
        /* Kubernetes, systemd's driver: pod slices by QoS class, UID's "-" as "_" */
        { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID ".scope",
          ID, CONTAINERD, UID, BURSTABLE },
        { "/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_ ".slice/crio-" ID ".scope",
          ID, CRIO, UID, BESTEFFORT },
        { "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope", ID, CONTAINERD, UID, GUARANTEED },
        { "/kubepods.slice/kubepods-pod" UID_ ".slice/docker-" ID ".scope", ID, DOCKER, UID, GUARANTEED },
        /* the pod's own cgroup, conmon beside the container: the pod alone */
        { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice", "", 0, UID, BURSTABLE },
        { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/crio-conmon-" ID ".scope",
          "", 0, UID, BURSTABLE },
        { "/kubepods.slice/kubepods-burstable.slice", "", 0, "", 0 },
        { "/kubepods.slice", "", 0, "", 0 },
        /* a static pod's UID is 32 hex digits */
        { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" STATIC_UID ".slice/cri-containerd-" ID
          ".scope", ID, CONTAINERD, STATIC_UID, BURSTABLE },
        /* a kubelet with --cgroup-root=/k8s */
        { "/k8s.slice/k8s-kubepods.slice/k8s-kubepods-besteffort.slice/k8s-kubepods-besteffort-pod" UID_
          ".slice/cri-containerd-" ID ".scope", ID, CONTAINERD, UID, BESTEFFORT },
        /* two pod slices (no kubelet makes it): the first */
        { "/kubepods.slice/kubepods-pod" UID_ ".slice/kubepods-pod" UID2_ ".slice/crio-" ID ".scope",
          ID, CRIO, UID, GUARANTEED },
        /* the cgroupfs driver: directories */
        { "/kubepods/burstable/pod" UID "/" ID, ID, UNKNOWN, UID, BURSTABLE },
        { "/kubepods/besteffort/pod" UID "/" ID, ID, UNKNOWN, UID, BESTEFFORT },
        { "/kubepods/pod" UID "/" ID, ID, UNKNOWN, UID, GUARANTEED },
        { "/kubepods/pod" UID "/" ID "/sub", ID, UNKNOWN, UID, GUARANTEED },
        { "/kubepods/pod" UID, "", 0, UID, GUARANTEED },
        { "/kubepods/burstable/pod" UID "/crio-" ID, ID, CRIO, UID, BURSTABLE },
        { "/kubepods/burstable/pod" UID "/crio-conmon-" ID, "", 0, UID, BURSTABLE },
        { "/kubepods/burstable/pod" STATIC_UID "/" ID, ID, UNKNOWN, STATIC_UID, BURSTABLE },
        { "/kubepods/burstable", "", 0, "", 0 },
        { "/kubepods", "", 0, "", 0 },
        { "/docker/" ID, ID, DOCKER, "", 0 },
        { "/docker/" ID "/sub", ID, DOCKER, "", 0 },
        { "/docker/" ID "/docker/" ID2, ID, DOCKER, "", 0 },    /* Docker in Docker: the outer */
        { "/kubepods/pod" UID "/" ID "/kubepods/pod" UID2 "/" ID2, ID, UNKNOWN, UID, GUARANTEED },
        { "/libpod_parent/libpod-" ID, ID, PODMAN, "", 0 },
        { "/libpod_parent/libpod-" ID "/container", ID, PODMAN, "", 0 },
        { "/libpod_parent/conmon", "", 0, "", 0 },
        { "/libpod_parent/libpod-conmon-" ID, "", 0, "", 0 },
        { "/libpod_parent/docker-" ID, "", 0, "", 0 },
        /* ... only at the top, where only root makes cgroups: below, whoever
         * owns the subtree names them (an unprivileged LXC container owns
         * its lxc.payload.NAME), and a kubelet's --cgroup-root with cgroupfs
         * is not told from that */
        { "/lxc.payload.c1/docker/" ID, "", 0, "", 0 },
        { "/lxc.payload.c1/kubepods/pod" UID "/" ID, "", 0, "", 0 },
        { "/lxc.payload.c1/kubepods/burstable/pod" UID "/" ID, "", 0, "", 0 },
        { "/lxc.payload.c1/libpod_parent/libpod-" ID, "", 0, "", 0 },
        { "/lxc.payload.c1/libpod-" ID, "", 0, "", 0 },
        { "/lxc.payload.c1/crio-" ID, "", 0, "", 0 },
        { "/kubelet/kubepods/burstable/pod" UID "/" ID, "", 0, "", 0 },
        { "/libpod-" ID, "", 0, "", 0 },
        /* rootless podman and Docker, behind a user's manager: the user's */
        { USER "/user.slice/libpod-" ID ".scope", MGR ID, PODMAN, "", 0 },
        { USER "/user.slice/libpod-" ID ".scope/container", MGR ID, PODMAN, "", 0 },
        { USER "/user.slice/user-libpod_pod_" ID2 ".slice/libpod-" ID ".scope", MGR ID, PODMAN, "", 0 },
        { USER "/libpod-" ID ".scope", MGR ID, PODMAN, "", 0 },
        { USER "/user.slice/docker-" ID ".scope", MGR ID, DOCKER, "", 0 },
        { "/user.slice/user-4294967295.slice/user@4294967295.service/user.slice/libpod-" ID ".scope",
          "user@4294967295.service/" ID, PODMAN, "", 0 },
        { USER "/user.slice/libpod-conmon-" ID ".scope", "", 0, "", 0 },
        { USER "/init.scope", "", 0, "", 0 },
        { USER, "", 0, "", 0 },
        /* ... a user makes any unit in there (systemd-run --user --scope):
         * no pod (no kubelet runs in a user's manager), no engine that runs
         * only as root, and the container is the user's, never the
         * system's of the same ID */
        { USER "/kubepods-pod" UID_ ".slice/docker-" ID ".scope", MGR ID, DOCKER, "", 0 },
        { USER "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/libpod-" ID ".scope",
          MGR ID, PODMAN, "", 0 },
        { USER "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice", "", 0, "", 0 },
        { USER "/kubepods.slice/kubepods-pod" UID_ ".slice/cri-containerd-" ID ".scope", "", 0, "", 0 },
        { USER "/user.slice/crio-" ID ".scope", "", 0, "", 0 },
        { USER "/user.slice/cri-containerd-" ID ".scope", "", 0, "", 0 },
        { USER "/app.slice/nginx.service/docker-" ID ".scope", "", 0, "", 0 },
        /* ... nor one of the system's slices: a user's container is in no pod */
        { "/kubepods.slice/kubepods-pod" UID_ ".slice/user@1000.service/user.slice/libpod-" ID ".scope",
          MGR ID, PODMAN, "", 0 },
        { "/kubepods.slice/kubepods-pod" UID_ ".slice/user@1000.service", "", 0, "", 0 },
        /* ... a user's cgroups are the user's: no cgroupfs directories in there */
        { USER "/docker/" ID, "", 0, "", 0 },
        { USER "/kubepods/pod" UID "/" ID, "", 0, "", 0 },
        /* no container, no pod */
        { "/", "", 0, "", 0 },
        { "", "", 0, "", 0 },
        { "/system.slice/docker.service", "", 0, "", 0 },
        { "/system.slice/containerd.service", "", 0, "", 0 },
        { "/init.scope", "", 0, "", 0 },
        { "/user.slice/user-1000.slice/session-2.scope", "", 0, "", 0 },
        /* ... a service that names its own cgroups like a container (a
         * delegated subtree) is that service, not the container */
        { "/system.slice/evil.service/docker-" ID ".scope", "", 0, "", 0 },
        { "/system.slice/evil.service/kubepods/pod" UID "/" ID, "", 0, "", 0 },
        { "/system.slice/evil.service/docker/" ID, "", 0, "", 0 },
        /* ... the cgroupfs names count only in no unit */
        { "/system.slice/kubepods/pod" UID "/" ID, "", 0, "", 0 },
        /* ... conmon: podman's and CRI-O's monitor, not the container */
        { "/machine.slice/libpod-conmon-" ID ".scope", "", 0, "", 0 },
        { "/system.slice/crio-conmon-" ID ".scope", "", 0, "", 0 },
        /* ... IDs that are not 64 lower-case hex digits */
        { "/system.slice/docker-" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde" ".scope", "", 0, "", 0 },
        { "/system.slice/docker-" ID "0.scope", "", 0, "", 0 },
        { "/system.slice/docker-" "0123456789ABCDEF0123456789abcdef0123456789abcdef0123456789abcdef" ".scope", "", 0, "", 0 },
        { "/system.slice/docker-" "g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" ".scope", "", 0, "", 0 },
        { "/system.slice/docker-0123abcd.scope", "", 0, "", 0 },
        { "/system.slice/docker-.scope", "", 0, "", 0 },
        { "/system.slice/docker-" ID ".service", "", 0, "", 0 },
        { "/system.slice/docker-" ID, "", 0, "", 0 },
        { "/system.slice/podman-" ID ".scope", "", 0, "", 0 },
        { "/docker/0123abcd", "", 0, "", 0 },
        { "/docker/docker-" ID, "", 0, "", 0 },
        { "/kubepods/pod" UID "/" ID "x", "", 0, UID, GUARANTEED },
        /* ... other users' bytes: a control character or the escaped text
         * of one is not hex */
        { "/system.slice/docker-\x1b[2K" "0123456789abcdef0123456789abcdef0123456789abcdef0123456789ab.scope", "", 0, "", 0 },
        { "/system.slice/docker-\\x30" "123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope", "", 0, "", 0 },
        { "/system.slice/docker-" ID "\xff.scope", "", 0, "", 0 },
        /* ... pod UIDs: "_" in a slice's name, "-" in a directory's, hex */
        { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID ".slice/crio-" ID ".scope",
          ID, CRIO, "", 0 },
        { "/kubepods/burstable/pod" UID_ "/" ID, "", 0, "", 0 },
        { "/kubepods.slice/kubepods-pod1234abcd_5678_4ef0_9abc_def01234567.slice", "", 0, "", 0 },
        { "/kubepods.slice/kubepods-pod1234abcd_5678_4ef0_9abc_def0123456789.slice", "", 0, "", 0 },
        { "/kubepods.slice/kubepods-pod1234ABCD_5678_4ef0_9abc_def012345678.slice", "", 0, "", 0 },
        { "/kubepods.slice/kubepods-pod1234abcd_5678-4ef0_9abc_def012345678.slice", "", 0, "", 0 },
        { "/kubepods.slice/kubepods-pod1234abcd_5678_4ef0_9abc_def01234567g.slice", "", 0, "", 0 },
        { "/kubepods.slice/kubepods-pod" STATIC_UID "0.slice", "", 0, "", 0 },
        { "/kubepods.slice/xkubepods-pod" UID_ ".slice", "", 0, "", 0 },
        { "/kubepods.slice/kubepods-guaranteed-pod" UID_ ".slice", "", 0, "", 0 },
        { "/kubepods.slice/kubepods-burstable-pod.slice", "", 0, "", 0 },
        { "/kubepods/guaranteed/pod" UID "/" ID, "", 0, "", 0 },
        { "/kubepods/burstable/" UID "/" ID, "", 0, "", 0 },
};

static void test_shapes(void) {
        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                struct container_ref c;

                memset(&c, 0x55, sizeof(c)); /* whatever was there is overwritten */
                char name[CONTAINER_NAME_MAX];

                container_from_path(cases[i].path, &c);
                container_name(&c, name);
                if (!c.id[0])
                        name[0] = '\0';
                if (strcmp(name, cases[i].name) != 0 || strcmp(c.pod_uid, cases[i].pod) != 0 ||
                    (c.id[0] && c.runtime != cases[i].runtime) || (!c.id[0] && (c.runtime != 0 || c.owner[0])) ||
                    c.qos != cases[i].qos) {
                        char shown[4096];

                        fprintf(stderr, "container_from_path(\"%s\") = \"%s\" runtime %u pod \"%s\" qos %u, "
                                "want \"%s\" %u \"%s\" %u\n", escape_cut(shown, sizeof(shown), cases[i].path),
                                name, c.runtime, c.pod_uid, c.qos, cases[i].name, cases[i].runtime, cases[i].pod,
                                cases[i].qos);
                        test_failures++;
                }
        }
}

/* The unit of a rootless container reads as issue 13 made it, and the
 * container, found in the same path, is named behind the same manager. */
static void test_unit_and_container(void) {
        static const struct {
                const char *path, *unit, *name;
        } both[] = {
                { USER "/libpod-" ID ".scope", MGR "libpod-" ID ".scope", MGR ID },
                { USER "/user.slice/libpod-" ID ".scope/container", MGR "libpod-" ID ".scope", MGR ID },
                { USER "/kubepods-pod" UID_ ".slice/docker-" ID ".scope", MGR "docker-" ID ".scope", MGR ID },
                { "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_ ".slice/cri-containerd-" ID
                  ".scope", "cri-containerd-" ID ".scope", ID },
        };

        for (size_t i = 0; i < ELEMENTSOF(both); i++) {
                char unit[CGROUP_UNIT_MAX], name[CONTAINER_NAME_MAX];
                struct container_ref c;

                cgroup_path_unit(both[i].path, unit, sizeof(unit));
                CHECK_STR(unit, both[i].unit);
                container_from_path(both[i].path, &c);
                CHECK_STR(c.id, ID);
                CHECK_STR(container_name(&c, name), both[i].name);
        }
}

/* A name another user wrote that looks like a container's but is not one:
 * no container, and its unit shows escaped (escape.h) as everywhere. */
static void test_hostile_unit(void) {
        static const struct {
                const char *path, *shown;
        } hostile[] = {
                { "/system.slice/docker-" ID "\x1b[2K\r.scope", "docker-" ID "\\x1b[2K\\x0d.scope" },
                { "/system.slice/docker-\xff" ID ".scope", "docker-\\xff" ID ".scope" },
                { "/kubepods.slice/kubepods-pod" UID_ "\n.slice/crio-" ID ".scope", "crio-" ID ".scope" },
        };

        for (size_t i = 0; i < ELEMENTSOF(hostile); i++) {
                char unit[CGROUP_UNIT_MAX], shown[ESCAPE_MAX_PER_BYTE * CGROUP_UNIT_MAX];
                struct container_ref c;

                cgroup_path_unit(hostile[i].path, unit, sizeof(unit));
                CHECK_STR(escape_cut(shown, sizeof(shown), unit), hostile[i].shown);
                container_from_path(hostile[i].path, &c);
                CHECK_STR(c.pod_uid, "");
                /* the third: a pod slice that is not one, the container in it is */
                CHECK_STR(c.id, i == 2 ? ID : "");
        }
}

/* Overlong: names of 255 bytes (a cgroup's longest) and a path of 4000. */
static void test_overlong(void) {
        char path[8192], name[300];
        struct container_ref c;
        size_t off = 0;

        /* 248 hex digits where 64 go */
        memset(name, 'a', sizeof(name));
        memcpy(name, "docker-", 7);
        strcpy(name + 255 - 6, ".scope");
        snprintf(path, sizeof(path), "/system.slice/%s", name);
        container_from_path(path, &c);
        CHECK_STR(c.id, "");
        /* a pod UID of 200 characters */
        snprintf(path, sizeof(path), "/kubepods.slice/kubepods-pod%0200d.slice", 0);
        container_from_path(path, &c);
        CHECK_STR(c.pod_uid, "");
        /* many slices deep: found at the end */
        while (off < 4000)
                off += (size_t) snprintf(path + off, sizeof(path) - off, "/a.slice");
        snprintf(path + off, sizeof(path) - off, "/docker-" ID ".scope");
        container_from_path(path, &c);
        CHECK_STR(c.id, ID);
        CHECK_INT(c.runtime, DOCKER);
        /* a cgroupfs path of many levels before kubepods: not at the top */
        off = 0;
        while (off < 4000)
                off += (size_t) snprintf(path + off, sizeof(path) - off, "/d");
        snprintf(path + off, sizeof(path) - off, "/kubepods/pod" UID "/" ID);
        container_from_path(path, &c);
        CHECK_STR(c.id, "");
        CHECK_STR(c.pod_uid, "");
        /* a user's, many slices deep */
        off = (size_t) snprintf(path, sizeof(path), USER);
        while (off < 4000)
                off += (size_t) snprintf(path + off, sizeof(path) - off, "/a.slice");
        snprintf(path + off, sizeof(path) - off, "/libpod-" ID ".scope");
        container_from_path(path, &c);
        CHECK_STR(c.id, ID);
        CHECK_STR(c.owner, "user@1000.service");
}

static void test_names(void) {
        CHECK_STR(container_runtime_to_string(DOCKER), "docker");
        CHECK_STR(container_runtime_to_string(CONTAINERD), "containerd");
        CHECK_STR(container_runtime_to_string(CRIO), "cri-o");
        CHECK_STR(container_runtime_to_string(PODMAN), "podman");
        CHECK(container_runtime_to_string(UNKNOWN) == NULL);
        CHECK(container_runtime_to_string(200) == NULL);
        CHECK_STR(pod_qos_to_string(GUARANTEED), "guaranteed");
        CHECK_STR(pod_qos_to_string(BURSTABLE), "burstable");
        CHECK_STR(pod_qos_to_string(BESTEFFORT), "besteffort");
        CHECK(pod_qos_to_string(POD_QOS_NONE) == NULL);
        CHECK(pod_qos_to_string(200) == NULL);
}

/* A container's name, and its short form: the system's by its ID, a
 * user's behind the manager's unit. */
static void test_container_names(void) {
        struct container_ref c = { .id = ID };
        char name[CONTAINER_NAME_MAX], shortname[CONTAINER_SHORT_NAME_MAX];

        CHECK_STR(container_name(&c, name), ID);
        CHECK_INT(container_name_owner_len(name), 0);
        CHECK_STR(container_name_short(name, shortname), "0123456789ab");
        strcpy(c.owner, "user@4294967295.service"); /* the longest */
        CHECK_STR(container_name(&c, name), "user@4294967295.service/" ID);
        CHECK_INT(container_name_owner_len(name), strlen("user@4294967295.service"));
        CHECK_STR(container_name_short(name, shortname), "user@4294967295.service/0123456789ab");
        CHECK_STR(container_name_short("-", shortname), "-");
        CHECK_STR(container_name_short("0123", shortname), "0123");
        /* not a name container_name() gives: cut, never past the buffer */
        CHECK_STR(container_name_short("user@4294967295000000000000.service/" ID, shortname),
                  "user@429496729500000000/0123456789ab");
}

static void test_parse_selectors(void) {
        static const struct {
                const char *arg, *want; /* NULL: refused */
                uint8_t runtime;
        } ids[] = {
                { "0123abcd4567", "0123abcd4567", UNKNOWN },
                { "0", "0", UNKNOWN },
                { ID, ID, UNKNOWN },
                { "0123ABCD", "0123abcd", UNKNOWN },
                /* as kubectl get pod -o jsonpath='{..containerID}' and the engines print it */
                { "containerd://" ID, ID, CONTAINERD },
                { "docker://0123", "0123", DOCKER },
                { "cri-o://0123", "0123", CRIO },
                { "podman://0123", "0123", PODMAN },
                /* a user's: behind its manager, as finwatch names it */
                { MGR "0123", MGR "0123", UNKNOWN },
                { MGR ID, MGR ID, UNKNOWN },
                { "podman://" MGR "0123AB", MGR "0123ab", PODMAN },
                { "user@4294967295.service/0", "user@4294967295.service/0", UNKNOWN },
                { "", NULL, 0 },
                { ID "0", NULL, 0 },           /* longer than any ID */
                { "0123-abcd", NULL, 0 },
                { "xyz", NULL, 0 },
                { "docker-0123", NULL, 0 },
                { "containerd://", NULL, 0 },
                { "Containerd://0123", NULL, 0 },
                { "a b://0123", NULL, 0 },
                { "\x1b[2K", NULL, 0 },
                /* only the schemes there are */
                { "://0123", NULL, 0 },
                { "-://0123", NULL, 0 },
                { "crio://0123", NULL, 0 },
                { "libpod://0123", NULL, 0 },
                { "http://0123", NULL, 0 },
                { "0123://", NULL, 0 },
                { "docker://docker://0123", NULL, 0 },
                { "docker:/0123", NULL, 0 },
                /* only a user's manager before the ID */
                { MGR, NULL, 0 },
                { "/0123", NULL, 0 },
                { "user@.service/0123", NULL, 0 },
                { "user@abc.service/0123", NULL, 0 },
                { "user@42949672950.service/0123", NULL, 0 },
                { "system.slice/0123", NULL, 0 },
                { MGR "/0123", NULL, 0 },
                { MGR MGR "0123", NULL, 0 },
                { "user@1000.service/libpod-0123", NULL, 0 },
        }, pods[] = {
                { UID, UID, 0 },
                { UID_, UID, 0 },
                { "1234ABCD-5678-4EF0-9ABC-DEF012345678", UID, 0 },
                { STATIC_UID, STATIC_UID, 0 },
                { "", NULL, 0 },
                { "1234abcd", NULL, 0 },       /* no prefixes: the whole UID */
                { UID "0", NULL, 0 },
                { "1234abcd-5678_4ef0-9abc-def012345678", NULL, 0 }, /* one form or the other */
                { "1234abcd-5678-4ef0-9abc-def01234567g", NULL, 0 },
                { "1234abcd5678-4ef0-9abc-def012345678x", NULL, 0 },
                { STATIC_UID "0", NULL, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(ids); i++) {
                struct container_sel sel = { .prefix = "unset", .runtime = 99 };
                int r = container_sel_parse(ids[i].arg, &sel);

                if (ids[i].want ? r != 0 || strcmp(sel.prefix, ids[i].want) != 0 || sel.runtime != ids[i].runtime
                                : r != -EINVAL || strcmp(sel.prefix, "unset") != 0) {
                        fprintf(stderr, "container_sel_parse(\"%s\") = %d \"%s\" %u\n", ids[i].arg, r, sel.prefix,
                                sel.runtime);
                        test_failures++;
                }
        }
        for (size_t i = 0; i < ELEMENTSOF(pods); i++) {
                char buf[POD_UID_MAX + 1] = "";
                int r = pod_uid_parse(pods[i].arg, buf);

                if (pods[i].want ? r != 0 || strcmp(buf, pods[i].want) != 0 : r != -EINVAL) {
                        fprintf(stderr, "pod_uid_parse(\"%s\") = %d \"%s\"\n", pods[i].arg, r, buf);
                        test_failures++;
                }
        }
}

/* What --container selects: the start of a name (a user's only in the
 * user's form), of the scheme's runtime or of none known. */
static void test_select(void) {
        static const struct {
                const char *arg, *name; /* name NULL: no container */
                uint8_t runtime;
                bool selected;
        } selects[] = {
                { "0123", ID, DOCKER, true },
                { "0123", ID2, DOCKER, false },
                { "0123", NULL, 0, false },
                { ID, ID, PODMAN, true },
                /* the system's container only: a user's of the same ID is not it */
                { "0123", MGR ID, PODMAN, false },
                { ID, MGR ID, DOCKER, false },
                { MGR "0123", MGR ID, PODMAN, true },
                { MGR "0123", ID, PODMAN, false },
                { MGR "0123", "user@10000.service/" ID, PODMAN, false },
                { "user@100.service/0123", MGR ID, PODMAN, false },
                /* a scheme: its runtime, or none known (the cgroupfs driver's kubepods/.../ID) */
                { "docker://0123", ID, DOCKER, true },
                { "docker://0123", ID, CONTAINERD, false },
                { "docker://0123", ID, UNKNOWN, true },
                { "containerd://0123", ID, CONTAINERD, true },
                { "containerd://0123", ID, CRIO, false },
                { "cri-o://0123", ID, CRIO, true },
                { "cri-o://0123", ID, PODMAN, false },
                { "podman://0123", ID, PODMAN, true },
                { "podman://0123", ID, DOCKER, false },
                { "podman://" MGR "0123", MGR ID, PODMAN, true },
                { "docker://" MGR "0123", MGR ID, PODMAN, false },
        };

        for (size_t i = 0; i < ELEMENTSOF(selects); i++) {
                struct container_sel sel;

                CHECK_INT(container_sel_parse(selects[i].arg, &sel), 0);
                if (container_sel_matches(&sel, selects[i].name, selects[i].runtime) != selects[i].selected) {
                        fprintf(stderr, "--container %s of %s (runtime %u): %s, want %s\n", selects[i].arg,
                                selects[i].name ? selects[i].name : "(none)", selects[i].runtime,
                                selects[i].selected ? "not selected" : "selected",
                                selects[i].selected ? "selected" : "not");
                        test_failures++;
                }
        }
}

int main(void) {
        test_shapes();
        test_unit_and_container();
        test_hostile_unit();
        test_overlong();
        test_names();
        test_container_names();
        test_parse_selectors();
        test_select();
        return test_result("test-container");
}
