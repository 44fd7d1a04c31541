/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Labels and the summary (labels.c, summary.c) over a cgroup hierarchy of
 * the test's own (a directory tree: a cgroup's id is its directory's inode
 * number, as on cgroup2), and the cgroup walk itself (cgroup.c); a user's
 * units against the system's of the same name, down to the journal record
 * and the metrics. */
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alert.h"
#include "cgroup.h"
#include "container.h"
#include "labels.h"
#include "metrics.h"
#include "summary.h"
#include "test.h"
#include "cgtree.h"
#include "util.h"

#define S UINT64_C(1000000)

static char root[] = "/tmp/finwatch-test-cgroup-XXXXXX";

static uint64_t mkcg(const char *rel) {
        return cgtree_make(root, rel);
}

static unsigned open_fds(void) {
        DIR *d = opendir("/proc/self/fd");
        unsigned n = 0;

        while (d && readdir(d))
                n++;
        if (d)
                closedir(d);
        return n;
}

static struct tracked entry(uint64_t cookie, uint8_t state, uint64_t cgroup, bool orphan, uint32_t netns,
                            uint64_t since, uint8_t cause) {
        return (struct tracked) {
                .id = { .cookie = cookie, .family = 2, .netns_ino = netns },
                .state = state, .state_since = since, .first_seen = since, .last_seen = since,
                .cgroup_id = cgroup, .has_cgroup_id = cgroup != 0, .orphan = orphan, .cause = cause,
        };
}

/* An alert's record, as one string of KEY=VALUE lines. */
static int collect(const struct iovec *iov, int n, void *userdata) {
        char *out = userdata;
        size_t off = 0;

        for (int i = 0; i < n && off < 4096; i++)
                off += (size_t) snprintf(out + off, 4096 - off, "%.*s\n", (int) iov[i].iov_len,
                                         (const char *) iov[i].iov_base);
        return 0;
}

/* A user's manager runs units of its own: a unit of the user's is named
 * behind its manager, never like the system's unit of the same name, in the
 * labels, the journal, the top orphan units and the metrics. */
static void test_user_units(void) {
        struct cgroup_cache *cc = NULL;
        struct labels *l = NULL;
        struct tracker *t = NULL;
        struct summary s = {};
        struct metrics m = {};
        struct alerter a;
        struct sock_labels sl;
        char top[300], record[4096] = "", *text = NULL;
        size_t text_size = 0;
        FILE *f;
        uint64_t sys = mkcg("/system.slice/nginx.service"),
                 user = mkcg("/user.slice/user-1000.slice/user@1000.service/app.slice/nginx.service"),
                 pod = mkcg("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-0123abcd.scope"),
                 manager = mkcg("/user.slice/user-1000.slice/user@1000.service/init.scope");
        uint32_t u_sys, u_user;

        CHECK_INT(cgroup_cache_new_at(&cc, root), 0);
        CHECK_INT(labels_new(&l, cc), 0);
        CHECK_INT(labels_begin(l, NULL), 0);
        CHECK_INT(tracker_new(&t), 0);
        {
                const struct tracked e[] = {
                        entry(11, FW_TCP_FIN_WAIT1, user, true, 0, 100 * S, 1),
                        entry(12, FW_TCP_FIN_WAIT1, user, true, 0, 110 * S, 1),
                        entry(13, FW_TCP_LAST_ACK, user, true, 0, 120 * S, 1),
                        entry(14, FW_TCP_LAST_ACK, pod, true, 0, 130 * S, 1),
                        entry(15, FW_TCP_LAST_ACK, pod, true, 0, 140 * S, 1),
                        entry(16, FW_TCP_LAST_ACK, sys, true, 0, 150 * S, 1),
                        entry(17, FW_TCP_LAST_ACK, manager, false, 0, 160 * S, 1),
                };

                for (size_t i = 0; i < ELEMENTSOF(e); i++)
                        CHECK_INT(tracker_restore(t, &e[i]), 0);
        }

        /* two nginx.service, two names */
        u_user = labels_cgroup(l, tracker_get(t, 11)).unit;
        u_sys = labels_cgroup(l, tracker_get(t, 16)).unit;
        CHECK(u_user != LABEL_NONE && u_sys != LABEL_NONE && u_user != u_sys);
        CHECK_STR(labels_name(l, u_user), "user@1000.service/nginx.service");
        CHECK_STR(labels_name(l, u_sys), "nginx.service");
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 14)).unit), "user@1000.service/libpod-0123abcd.scope");
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 17)).unit), "user@1000.service");

        /* the journal: FINWATCH_UNIT */
        alerter_init(&a, 60, collect, record);
        labels_of(l, tracker_get(t, 12), &sl);
        alert_stuck(&a, tracker_get(t, 12), &sl, 100 * S, false, 200 * S);
        CHECK(strstr(record, "FINWATCH_UNIT=user@1000.service/nginx.service\n") != NULL);
        labels_of(l, tracker_get(t, 16), &sl);
        alert_stuck(&a, tracker_get(t, 16), &sl, 50 * S, false, 200 * S);
        CHECK(strstr(record, "FINWATCH_UNIT=nginx.service\n") != NULL);

        /* the orphan budget's top units and the metrics */
        CHECK_INT(summary_build(&s, t, l, 200 * S), 0);
        summary_top_orphan_units(&s, 5, top, sizeof(top));
        CHECK_STR(top, "user@1000.service/nginx.service=3, user@1000.service/libpod-0123abcd.scope=2, "
                       "nginx.service=1");
        summary_fill_metrics(&s, &m);
        f = open_memstream(&text, &text_size);
        CHECK(f != NULL);
        if (f) {
                CHECK_INT(metrics_format(f, &m), 0);
                fclose(f);
                CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"user@1000.service/nginx.service\"} 3\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"user@1000.service/libpod-0123abcd.scope\"} 2\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"nginx.service\"} 1\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"user@1000.service\"} 1\n"));
                free(text);
        }

        summary_done(&s);
        labels_free(l);
        tracker_free(t);
}

/* A resolver of the test's own in place of file handles: the tree's
 * cgroups by their inode, one id that is gone, -EPERM when told to (a
 * process without CAP_DAC_READ_SEARCH). */
struct fake_resolver {
        const uint64_t *ids;
        const char *const *paths;
        size_t n;
        uint64_t gone;
        bool eperm;
        unsigned calls;
};

static int fake_resolve(void *userdata, uint64_t id, char *path, size_t size) {
        struct fake_resolver *f = userdata;

        f->calls++;
        if (f->eperm)
                return -EPERM;
        if (id == f->gone)
                return 0;
        for (size_t i = 0; i < f->n; i++)
                if (f->ids[i] == id) {
                        snprintf(path, size, "%s", f->paths[i]);
                        return 1;
                }
        return -ESTALE; /* cannot tell: never said of a real one */
}

/* An id looked up by itself brings its siblings (one listing), a gone one
 * is remembered, and where handles are refused the cache walks, once a
 * refresh; a walk's miss is remembered too. */
static void test_cgroup_lookups(void) {
        static const char *const paths[] = {
                "/kubepods.slice/kubepods-pod1.slice/cri-containerd-1.scope",
                "/kubepods.slice/kubepods-pod1.slice/cri-containerd-2.scope",
                "/kubepods.slice/kubepods-pod1.slice/cri-containerd-3.scope",
                "/system.slice/nginx.service",
        };
        uint64_t ids[ELEMENTSOF(paths)];
        struct fake_resolver f = { .ids = ids, .paths = paths, .n = ELEMENTSOF(paths), .gone = UINT64_C(0x7ffffffff1) };
        struct cgroup_cache_stats st;
        struct cgroup_cache *cc = NULL;
        const char *path;

        for (size_t i = 0; i < ELEMENTSOF(paths); i++)
                ids[i] = mkcg(paths[i]);
        CHECK_INT(cgroup_cache_new_at(&cc, root), 0);
        cgroup_cache_set_resolver(cc, fake_resolve, &f);
        CHECK_INT(cgroup_cache_lookup(cc, ids[0], &path), 1);
        CHECK_STR(path, paths[0]);
        /* its siblings from the one listing: no lookup of their own */
        CHECK_INT(cgroup_cache_lookup(cc, ids[2], &path), 1);
        CHECK_STR(path, paths[2]);
        CHECK_INT(cgroup_cache_lookup(cc, ids[1], &path), 1);
        CHECK_STR(path, paths[1]);
        CHECK_INT(f.calls, 1);
        CHECK_INT(cgroup_cache_lookup(cc, ids[3], &path), 1);
        CHECK_STR(path, paths[3]);
        CHECK_INT(f.calls, 2);
        /* gone: said once by the resolver, remembered */
        for (int i = 0; i < 3; i++) {
                cgroup_cache_refresh_allowed(cc);
                CHECK_INT(cgroup_cache_lookup(cc, f.gone, &path), 0);
        }
        CHECK_INT(f.calls, 3);
        cgroup_cache_get_stats(cc, &st);
        CHECK_INT(st.walks, 0);
        CHECK_INT(st.resolved, 3);
        CHECK_INT(st.listings, 2);
        cgroup_cache_free(cc);

        /* refused: walks from then on, at most one a refresh, and a miss
         * of a walk that saw everything is remembered (0.3.0 walked again
         * at every refresh while a tracked socket's cgroup was gone) */
        f = (struct fake_resolver) { .ids = ids, .paths = paths, .n = ELEMENTSOF(paths), .eperm = true };
        CHECK_INT(cgroup_cache_new_at(&cc, root), 0);
        cgroup_cache_set_resolver(cc, fake_resolve, &f);
        CHECK_INT(cgroup_cache_lookup(cc, ids[3], &path), 1);
        CHECK_STR(path, paths[3]);
        for (int i = 0; i < 3; i++) {
                cgroup_cache_refresh_allowed(cc);
                CHECK_INT(cgroup_cache_lookup(cc, UINT64_C(0x7ffffffff2), &path), 0);
                CHECK_INT(cgroup_cache_lookup(cc, ids[1], &path), 1);
        }
        CHECK_INT(f.calls, 1);
        cgroup_cache_get_stats(cc, &st);
        CHECK_INT(st.walks, 2); /* the first id's, the gone one's first time */
        cgroup_cache_free(cc);
}

/* A host whose stuck sockets come from 5,000 units: every poll uses them
 * all, so the tables are not emptied at each poll (0.3.0 did past 4,096
 * names, and looked every cgroup up again, walking the hierarchy for the
 * gone ones); and a cgroup found gone stays "(deleted cgroup)" after the
 * tables are emptied, without a walk (one that cannot see everything now
 * would say "cannot tell"). */
static void test_many_units(void) {
        enum { UNITS = 5000 };
        struct cgroup_cache *cc = NULL;
        struct labels *l = NULL;
        struct tracker *t = NULL;
        uint64_t gone = UINT64_C(0x7ffffffff3);
        char rel[4096] = "";
        size_t count;

        CHECK_INT(tracker_new(&t), 0);
        for (unsigned i = 0; i < UNITS; i++) {
                char path[64];
                struct tracked e;

                snprintf(path, sizeof(path), "/many.slice/many-%u.service", i);
                e = entry(1000 + i, FW_TCP_FIN_WAIT1, mkcg(path), true, 0, 10 * S, 1);
                CHECK_INT(tracker_restore(t, &e), 0);
        }
        {
                struct tracked e = entry(999, FW_TCP_LAST_ACK, gone, true, 0, 10 * S, 1);

                CHECK_INT(tracker_restore(t, &e), 0);
        }
        CHECK_INT(cgroup_cache_new_at(&cc, root), 0);
        CHECK_INT(labels_new(&l, cc), 0);
        for (int poll = 0; poll < 3; poll++) {
                CHECK_INT(labels_begin(l, NULL), 0);
                if (poll > 0)
                        CHECK_INT(labels_count(l), count); /* kept: not emptied and filled again */
                for (unsigned i = 0; i < UNITS; i++)
                        (void) labels_cgroup(l, tracker_get(t, 1000 + i)).unit;
                CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 999)).unit), "(deleted cgroup)");
                count = labels_count(l);
                CHECK(count > UNITS);
        }
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 1000 + 4242)).unit), "many-4242.service");

        /* walks cannot see everything from now on; the tables emptied */
        for (int i = 0; i < 70; i++)
                strcat(rel, "/deep");
        (void) mkcg(rel);
        for (unsigned i = 0; i < 800; i++)
                CHECK_INT(labels_begin(l, NULL), 0);
        CHECK(labels_count(l) < 10);
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 999)).unit), "(deleted cgroup)");
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 1000 + 7)).unit), "many-7.service");

        labels_free(l);
        tracker_free(t);
        snprintf(rel, sizeof(rel), "%s/deep", root);
        cgtree_remove(rel);
        snprintf(rel, sizeof(rel), "%s/many.slice", root);
        cgtree_remove(rel);
}

#define CID "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"

/* Containers and pods: the whole ID and the UID in the journal records,
 * the short ID and the UID as bounded metric labels (the ten largest, then
 * other; none left out), a container that is no pod's, a pod's conmon, a
 * user's rootless container of the same ID as the system's (named behind
 * its manager: never counted or recorded as the system's). */
static void test_containers(void) {
        struct cgroup_cache *cc = NULL;
        struct labels *l = NULL;
        struct tracker *t = NULL;
        struct summary s = {};
        struct metrics m = {};
        struct alerter a;
        struct sock_labels sl;
        char record[4096] = "", *text = NULL;
        size_t text_size = 0;
        uint64_t cookie = 100, total = 0;
        uint64_t pod = mkcg("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                            "1234abcd_5678_4ef0_9abc_def012345678.slice/cri-containerd-" CID ".scope"),
                 conmon = mkcg("/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod"
                               "1234abcd_5678_4ef0_9abc_def012345678.slice/crio-conmon-" CID ".scope"),
                 rootless = mkcg("/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" CID ".scope"),
                 plain = mkcg("/system.slice/sshd.service");
        FILE *f;

        CHECK_INT(cgroup_cache_new_at(&cc, root), 0);
        CHECK_INT(labels_new(&l, cc), 0);
        CHECK_INT(labels_begin(l, NULL), 0);
        CHECK_INT(tracker_new(&t), 0);
        /* 8 docker containers, container k with k + 1 sockets, and two
         * sockets of the pod's container and the rootless one, one of
         * conmon and sshd: 11 labels, one past the budget */
        for (unsigned k = 0; k < 8; k++) {
                char rel[128];
                uint64_t id;

                snprintf(rel, sizeof(rel), "/system.slice/docker-%02x%062x.scope", k, 0);
                id = mkcg(rel);
                for (unsigned i = 0; i <= k; i++) {
                        struct tracked e = entry(cookie++, FW_TCP_LAST_ACK, id, true, 0, 100 * S, 1);

                        CHECK_INT(tracker_restore(t, &e), 0);
                }
        }
        {
                const struct tracked e[] = {
                        entry(1, FW_TCP_FIN_WAIT1, pod, false, 0, 100 * S, 1),
                        entry(2, FW_TCP_FIN_WAIT1, conmon, true, 0, 100 * S, 1),
                        entry(3, FW_TCP_FIN_WAIT1, rootless, true, 0, 100 * S, 1),
                        entry(4, FW_TCP_FIN_WAIT1, plain, true, 0, 100 * S, 1),
                        entry(5, FW_TCP_FIN_WAIT1, pod, false, 0, 100 * S, 1),
                        entry(6, FW_TCP_FIN_WAIT1, rootless, true, 0, 100 * S, 1),
                };

                for (size_t i = 0; i < ELEMENTSOF(e); i++)
                        CHECK_INT(tracker_restore(t, &e[i]), 0);
        }

        labels_of(l, tracker_get(t, 1), &sl);
        CHECK_STR(sl.container_id, CID);
        CHECK_INT(sl.container_runtime, CONTAINER_RUNTIME_CONTAINERD);
        CHECK_STR(sl.pod_uid, "1234abcd-5678-4ef0-9abc-def012345678");
        CHECK_INT(sl.pod_qos, POD_QOS_BURSTABLE);
        CHECK_STR(sl.unit, "cri-containerd-" CID ".scope");
        labels_of(l, tracker_get(t, 2), &sl);
        CHECK(sl.container_id == NULL);
        CHECK_STR(sl.pod_uid, "1234abcd-5678-4ef0-9abc-def012345678");
        labels_of(l, tracker_get(t, 3), &sl);
        CHECK_STR(sl.container_id, "user@1000.service/" CID);
        CHECK_INT(sl.container_runtime, CONTAINER_RUNTIME_PODMAN);
        CHECK(labels_cgroup(l, tracker_get(t, 3)).container != labels_cgroup(l, tracker_get(t, 1)).container);
        CHECK(sl.pod_uid == NULL);
        CHECK_STR(sl.unit, "user@1000.service/libpod-" CID ".scope");
        labels_of(l, tracker_get(t, 4), &sl);
        CHECK(sl.container_id == NULL && sl.pod_uid == NULL);

        /* the journal: the whole ID, the runtime, the pod's UID and class */
        alerter_init(&a, 60, collect, record);
        labels_of(l, tracker_get(t, 1), &sl);
        alert_stuck(&a, tracker_get(t, 1), &sl, 100 * S, false, 200 * S);
        CHECK(strstr(record, "FINWATCH_CONTAINER_ID=" CID "\n") != NULL);
        CHECK(strstr(record, "FINWATCH_CONTAINER_RUNTIME=containerd\n") != NULL);
        CHECK(strstr(record, "FINWATCH_POD_UID=1234abcd-5678-4ef0-9abc-def012345678\n") != NULL);
        CHECK(strstr(record, "FINWATCH_POD_QOS=burstable\n") != NULL);
        /* the fullest record there is - a failed manual kill with an age,
         * a peer's verdict, a namespace, a fate - keeps every field */
        {
                struct tracked e = *tracker_get(t, 1);

                e.peer = 3;
                e.fate_msec = 5000;
                sl.netns = "fwvm";
                alert_killed(&a, &e, &sl, -EPERM, 100 * S, KILL_MANUAL, 0, 1);
                CHECK(strstr(record, "FINWATCH_KILL_ERRNO=1\n") != NULL);
                CHECK(strstr(record, "FINWATCH_REAPED_IN_SEC=5\n") != NULL);
                CHECK(strstr(record, "FINWATCH_UNIT=cri-containerd-" CID ".scope\n") != NULL);
                CHECK(strstr(record, "FINWATCH_CONTAINER_ID=" CID "\n") != NULL);
                CHECK(strstr(record, "FINWATCH_POD_QOS=burstable\n") != NULL);
        }
        labels_of(l, tracker_get(t, 4), &sl);
        alert_stuck(&a, tracker_get(t, 4), &sl, 100 * S, false, 200 * S);
        CHECK(strstr(record, "FINWATCH_CONTAINER") == NULL && strstr(record, "FINWATCH_POD") == NULL);
        /* the user's: behind its manager */
        labels_of(l, tracker_get(t, 3), &sl);
        alert_stuck(&a, tracker_get(t, 3), &sl, 100 * S, false, 200 * S);
        CHECK(strstr(record, "FINWATCH_CONTAINER_ID=user@1000.service/" CID "\n") != NULL);
        CHECK(strstr(record, "FINWATCH_CONTAINER_RUNTIME=podman\n") != NULL);

        /* the metrics: short IDs, the ten largest, the rest as other */
        CHECK_INT(summary_build(&s, t, l, 200 * S), 0);
        summary_fill_metrics(&s, &m);
        f = open_memstream(&text, &text_size);
        CHECK(f != NULL);
        if (f) {
                CHECK_INT(metrics_format(f, &m), 0);
                fclose(f);
                /* container 07 (8 sockets), 01 (2), the pod's and the
                 * rootless one of the same ID (2 each: two labels, the
                 * user's behind its manager), "-" (conmon, sshd: 2); 00
                 * (1), the smallest, is "other" */
                CHECK(strstr(text, "finwatch_stuck_sockets_by_container{container=\"070000000000\"} 8\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_container{container=\"010000000000\"} 2\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_container{container=\"0123456789ab\"} 2\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_container{container=\"user@1000.service/0123456789ab\"} 2\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_container{container=\"-\"} 2\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_container{container=\"000000000000\"}") == NULL);
                CHECK(strstr(text, "finwatch_stuck_sockets_by_container{container=\"other\"} 1\n"));
                CHECK(strstr(text, CID) == NULL); /* no whole ID: 64 digits were cut at 63 */
                CHECK(strstr(text, "finwatch_stuck_sockets_by_pod{pod=\"1234abcd-5678-4ef0-9abc-def012345678\"} 3\n"));
                CHECK(strstr(text, "finwatch_stuck_sockets_by_pod{pod=\"-\"} 39\n"));
                /* none left out */
                for (size_t i = 0; i <= METRICS_TOP && m.by_container[i].count; i++)
                        total += m.by_container[i].count;
                CHECK_INT(total, 36 + 6);
                free(text);
        }

        summary_done(&s);
        labels_free(l);
        tracker_free(t);
}

int main(void) {
        struct cgroup_cache *cc = NULL;
        struct labels *l = NULL;
        struct tracker *t = NULL;
        struct summary s = {};
        struct metrics m = {};
        struct netns_set set = {};
        struct netns ns[2] = {};
        char top[200], line[256];
        uint64_t nginx, squid, gone, scope, deep;
        uint32_t a, b;

        CHECK(mkdtemp(root) != NULL);
        test_cgroup_lookups();
        test_many_units();
        nginx = mkcg("/system.slice/nginx.service");
        squid = mkcg("/system.slice/squid.service/worker");
        scope = mkcg("/machine.slice/docker-1.scope");
        /* a cgroup that is gone: an id no directory has (a real one's inode
         * could come back here, on ext4; cgroup2's ids never do) */
        gone = UINT64_C(0x7ffffffff0);

        CHECK_INT(cgroup_cache_new_at(&cc, root), 0);
        CHECK_INT(labels_new(&l, cc), 0);
        /* our namespace, and one other named "fwvm" */
        ns[0] = (struct netns) { .ino = 4026531840u, .seen = true };
        ns[1] = (struct netns) { .ino = 4026532001u, .seen = true };
        strcpy(ns[0].name, "host");
        strcpy(ns[1].name, "fwvm");
        set = (struct netns_set) { .v = ns, .n = 2, .home_ino = 4026531840u };
        CHECK_INT(labels_begin(l, &set), 0);

        CHECK_INT(tracker_new(&t), 0);
        {
                const struct tracked e[] = {
                        entry(1, FW_TCP_FIN_WAIT1, nginx, true, 0, 100 * S, 1),
                        entry(2, FW_TCP_FIN_WAIT1, nginx, true, 0, 150 * S, 1),
                        entry(3, FW_TCP_LAST_ACK, squid, false, 0, 50 * S, 2),
                        entry(4, FW_TCP_LAST_ACK, scope, true, 4026532001u, 190 * S, 3),
                        entry(5, FW_TCP_LAST_ACK, gone, true, 0, 10 * S, 1),
                        entry(6, FW_TCP_LAST_ACK, 0, true, 4026532999u, 20 * S, 0),
                };

                for (size_t i = 0; i < ELEMENTSOF(e); i++)
                        CHECK_INT(tracker_restore(t, &e[i]), 0);
        }

        /* one id per unit, the same for the same unit; names as systemd's */
        a = labels_cgroup(l, tracker_get(t, 1)).unit;
        b = labels_cgroup(l, tracker_get(t, 2)).unit;
        CHECK(a != LABEL_NONE && a == b);
        CHECK_STR(labels_name(l, a), "nginx.service");
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 3)).unit), "squid.service");
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 4)).unit), "docker-1.scope");
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 5)).unit), "(deleted cgroup)");
        CHECK_INT(labels_cgroup(l, tracker_get(t, 6)).unit, LABEL_NONE);
        CHECK_STR(labels_name(l, labels_netns(l, tracker_get(t, 1))), "host");
        CHECK_STR(labels_name(l, labels_netns(l, tracker_get(t, 4))), "fwvm");
        CHECK_INT(labels_netns(l, tracker_get(t, 6)), LABEL_NONE); /* not watched */
        {
                struct sock_labels sl;

                labels_of(l, tracker_get(t, 4), &sl);
                CHECK_STR(sl.unit, "docker-1.scope");
                CHECK_STR(sl.netns, "fwvm");
                labels_of(l, tracker_get(t, 6), &sl);
                CHECK(sl.unit == NULL && sl.netns == NULL);
        }

        /* a cgroup made after the walk is found with the next poll's walk */
        {
                struct tracked late = entry(7, FW_TCP_FIN_WAIT1, mkcg("/system.slice/late.service"), true, 0,
                                            190 * S, 1);

                CHECK_INT(tracker_restore(t, &late), 0);
                CHECK_INT(labels_begin(l, &set), 0);
                CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 7)).unit), "late.service");
        }

        /* the summary: one pass, counted by ids */
        CHECK_INT(summary_build(&s, t, l, 200 * S), 0);
        CHECK_INT(s.tracked, 7);
        CHECK_INT(s.per_state[FW_TCP_FIN_WAIT1], 3);
        CHECK_INT(s.per_state[FW_TCP_LAST_ACK], 4);
        CHECK_INT(s.oldest_usec[FW_TCP_FIN_WAIT1], 100 * S);
        CHECK_INT(s.oldest_usec[FW_TCP_LAST_ACK], 190 * S);
        CHECK_INT(s.by_cause[1], 4);
        CHECK_INT(s.by_cause[0], 1);
        summary_top_orphan_units(&s, 5, top, sizeof(top));
        /* largest first, then by first seen; no "-" for orphans of no unit */
        CHECK_STR(top, "nginx.service=2, docker-1.scope=1, (deleted cgroup)=1, late.service=1");
        summary_top_orphan_units(&s, 2, top, sizeof(top));
        CHECK_STR(top, "nginx.service=2, docker-1.scope=1");
        summary_top_orphan_units(&s, 5, top, 20); /* whole entries only */
        CHECK_STR(top, "nginx.service=2");
        summary_status_line(&s, line, sizeof(line));
        CHECK_STR(line, "tracking 7 stuck sockets: 3 FIN_WAIT_1, 4 LAST_ACK");
        summary_fill_metrics(&s, &m);
        CHECK_INT(m.stuck[FW_TCP_LAST_ACK], 4);
        CHECK_INT(m.stuck_by_cause[2], 1);
        CHECK_STR(m.by_unit[0].label, "nginx.service");
        CHECK_INT(m.by_unit[0].count, 2);
        CHECK_STR(m.by_netns[0].label, "host");
        CHECK_INT(m.by_netns[0].count, 5);
        {
                bool fwvm = false, dash = false;

                for (size_t i = 0; i < METRICS_TOP + 1 && m.by_netns[i].count; i++) {
                        fwvm |= strcmp(m.by_netns[i].label, "fwvm") == 0 && m.by_netns[i].count == 1;
                        dash |= strcmp(m.by_netns[i].label, "-") == 0 && m.by_netns[i].count == 1;
                }
                CHECK(fwvm && dash);
        }

        /* many units over the polls: the tables are emptied now and then,
         * and the labels come back the same */
        for (unsigned i = 0; i < 800; i++)
                CHECK_INT(labels_begin(l, &set), 0);
        CHECK(labels_count(l) < 10);
        CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 1)).unit), "nginx.service");

        summary_done(&s);
        labels_free(l); /* and the cgroup cache with it */
        tracker_free(t);

        /* a tree deeper than any real one is cut, with no descriptor left
         * open, and a walk that did not see everything says "cannot tell",
         * never "deleted" */
        {
                char rel[4096] = "";
                unsigned before;
                const char *path;

                for (int i = 0; i < 70; i++)
                        strcat(rel, "/d");
                deep = mkcg(rel);
                CHECK_INT(cgroup_cache_new_at(&cc, root), 0);
                before = open_fds();
                for (int i = 0; i < 5; i++) {
                        cgroup_cache_refresh_allowed(cc);
                        CHECK_INT(cgroup_cache_lookup(cc, deep, &path), -EAGAIN);
                }
                CHECK_INT(open_fds(), before);
                CHECK_INT(cgroup_cache_lookup(cc, nginx, &path), 1);
                CHECK_STR(path, "/system.slice/nginx.service");
                cgroup_cache_free(cc);
        }

        test_user_units();
        test_containers();

        /* a cgroup a user named (a delegated subtree takes any byte but
         * '/') and a namespace's name with bytes that are not UTF-8: the
         * labels keep them as they are, everything printed of them is
         * escaped (escape.h) - the orphan top list of the journal's
         * MESSAGE, the metrics */
        {
                uint64_t evil = cgtree_make(root, "/system.slice/evil\x1b[2K\r\xff.scope");
                struct netns hostile[2] = {};
                struct netns_set hset;
                char *text = NULL;
                size_t size = 0;
                FILE *f;

                hostile[0] = (struct netns) { .ino = 4026531840u, .seen = true };
                hostile[1] = (struct netns) { .ino = 4026532002u, .seen = true };
                strcpy(hostile[0].name, "host");
                strcpy(hostile[1].name, "ns\x1b]0;\xfe");
                hset = (struct netns_set) { .v = hostile, .n = 2, .home_ino = 4026531840u };
                CHECK_INT(cgroup_cache_new_at(&cc, root), 0);
                CHECK_INT(labels_new(&l, cc), 0);
                CHECK_INT(labels_begin(l, &hset), 0);
                CHECK_INT(tracker_new(&t), 0);
                {
                        const struct tracked e = entry(1, FW_TCP_FIN_WAIT1, evil, true, 4026532002u, 100 * S, 1);

                        CHECK_INT(tracker_restore(t, &e), 0);
                }
                CHECK_STR(labels_name(l, labels_cgroup(l, tracker_get(t, 1)).unit), "evil\x1b[2K\r\xff.scope");
                s = (struct summary) {};
                CHECK_INT(summary_build(&s, t, l, 200 * S), 0);
                summary_top_orphan_units(&s, 5, top, sizeof(top));
                CHECK_STR(top, "evil\\x1b[2K\\x0d\\xff.scope=1");
                m = (struct metrics) { .watched_states = DIAG_STATES_DEFAULT };
                summary_fill_metrics(&s, &m);
                CHECK_STR(m.by_unit[0].label, "evil\\x1b[2K\\x0d\\xff.scope");
                CHECK_STR(m.by_netns[0].label, "ns\\x1b]0;\\xfe");
                f = open_memstream(&text, &size);
                CHECK_INT(metrics_format(f, &m), 0);
                fclose(f);
                CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"evil\\\\x1b[2K\\\\x0d\\\\xff.scope\"} 1\n") != NULL);
                CHECK(strstr(text, "finwatch_stuck_sockets_by_netns{netns=\"ns\\\\x1b]0;\\\\xfe\"} 1\n") != NULL);
                for (const char *p = text; *p; p++)
                        if ((unsigned char) *p < 0x20 && *p != '\n') {
                                fprintf(stderr, "control byte 0x%02x in the metrics\n", (unsigned char) *p);
                                test_failures++;
                                break;
                        }
                free(text);
                summary_done(&s);
                labels_free(l);
                tracker_free(t);
        }

        cgtree_remove(root);
        return test_result("test-labels");
}
