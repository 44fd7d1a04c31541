/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

#include "client.h"
#include "destroy.h"
#include "record.h"
#include "util.h"

/* The next batch from row `from`: at most PROTO_KILL_NS_MAX sockets from at
 * most PROTO_MAX_FDS namespaces, each named by its inode (ours too: the
 * daemon's may be another) and with our sock_diag socket there along, for a
 * daemon that does not watch it. Returns the rows it takes. */
static size_t batch(const struct gathered *g, size_t from, struct proto_sock_id_ns *ids, int *fds, size_t *n_fds) {
        uint32_t inos[PROTO_MAX_FDS];
        size_t n = 0;

        *n_fds = 0;
        for (size_t i = from; i < g->n && n < PROTO_KILL_NS_MAX; i++, n++) {
                const struct row *row = &g->rows[i];
                struct sock_id id = row->sock.id;
                struct diag *d = gather_diag(g, row);
                size_t k = 0;

                if (id.netns_ino == 0)
                        id.netns_ino = (uint32_t) g->netns->home_ino; /* nsfs inodes are 32-bit */
                while (k < *n_fds && inos[k] != id.netns_ino)
                        k++;
                if (d && k == *n_fds) {
                        if (*n_fds == PROTO_MAX_FDS)
                                break; /* the next batch takes it */
                        inos[*n_fds] = id.netns_ino;
                        fds[(*n_fds)++] = diag_fd(d);
                }
                proto_id_ns_from_sock(&ids[n], &id, row->sock.state);
        }
        return n;
}

static int via_daemon(const struct gathered *g, const char *socket_path, int *results, char *err, size_t errsize) {
        _cleanup_(freep) struct proto_sock_id_ns *ids = calloc(PROTO_KILL_NS_MAX, sizeof(*ids));
        _cleanup_(freep) struct proto_kill_result *res = calloc(PROTO_KILL_NS_MAX, sizeof(*res));
        _cleanup_(closep) int fd = -EBADF;
        int fds[PROTO_MAX_FDS];
        int r;

        if (!ids || !res)
                return snprintf(err, errsize, "out of memory"), -ENOMEM;
        fd = client_connect(socket_path);
        if (fd < 0)
                return snprintf(err, errsize, "finwatchd went away: %s", strerror(-fd)), fd;
        for (size_t done = 0; done < g->n;) {
                size_t n_fds, n = batch(g, done, ids, fds, &n_fds);

                r = client_kill(fd, ids, n, fds, n_fds, res, err, errsize);
                if (r < 0) {
                        if (!err[0])
                                snprintf(err, errsize, "%s", strerror(-r));
                        return r;
                }
                for (size_t i = 0; i < n; i++)
                        results[done + i] = res[i].cookie == g->rows[done + i].sock.id.cookie ? res[i].error : -EBADMSG;
                done += n;
        }
        return 0;
}

/* sd_journal_sendv(), from libsystemd loaded now: only a kill without
 * finwatchd needs it, and linking it would load it (and the eight
 * libraries it needs) for every finwatch list. NULL and *ret_error when
 * it cannot be loaded. */
typedef int (*journal_sendv_fn)(const struct iovec *iov, int n);

static void dlclosep(void **lib) {
        if (*lib)
                (void) dlclose(*lib);
}

static journal_sendv_fn journal_sendv(void **lib, int *ret_error) {
        journal_sendv_fn fn;

        *lib = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
        if (!*lib) {
                *ret_error = -ELIBACC;
                return NULL;
        }
        fn = (journal_sendv_fn) dlsym(*lib, "sd_journal_sendv");
        if (!fn)
                *ret_error = -ELIBBAD;
        return fn;
}

/* The audit record the daemon would have written, written by us: a kill
 * without finwatchd is in the journal all the same (journald adds our
 * _UID and _PID, which it checks, beside the fields we claim). */
static int record_direct_kill(journal_sendv_fn sendv, const struct row *row, int result) {
        const struct fw_sock *s = &row->sock;
        char netns[32];
        struct record_sock v = {
                .id = s->id,
                .cgroup_id = s->cgroup_id,
                .fate_msec = s->fate_msec,
                .state = s->state,
                .timer = s->timer,
                .timer_count = s->timer_count,
                .cause = s->cause,
                .orphan = fw_sock_is_orphan(s),
                .has_cgroup_id = s->has_cgroup_id,
                .unit = row->unit,
                .netns = row->netns,
                .container_id = row->container_id,
                .container_runtime = row->container_runtime,
                .pod_uid = row->pod_uid,
                .pod_qos = row->pod_qos,
        };
        struct record_kill k = {
                .result = result,
                .age_usec = row->age.source != AGE_SOURCE_NONE ? row->age.min_usec : UINT64_MAX,
                .age_source = row->age.source,
                .origin = KILL_MANUAL,
                .uid = (uint32_t) getuid(),
                .pid = (uint32_t) getpid(),
                .via = "finwatch",
        };
        struct record r = {};

        if (!v.netns && s->id.netns_ino) {
                snprintf(netns, sizeof(netns), "net:[%" PRIu32 "]", s->id.netns_ino);
                v.netns = netns;
        }
        record_killed(&r, "finwatch", &v, &k);
        return sendv(r.iov, r.n);
}

int destroy_rows(const struct gathered *g, const char *socket_path, int *results, int *ret_unrecorded, char *err,
                 size_t errsize) {
        _cleanup_(dlclosep) void *lib = NULL;
        journal_sendv_fn sendv;

        *ret_unrecorded = 0;

        if (socket_path)
                return via_daemon(g, socket_path, results, err, errsize);
        sendv = journal_sendv(&lib, ret_unrecorded);
        for (size_t i = 0; i < g->n; i++) {
                struct diag *d = gather_diag(g, &g->rows[i]);
                uint8_t state;
                int r;

                results[i] = d ? diag_kill(d, &g->rows[i].sock.id, &state) : -ENOENT;
                r = sendv ? record_direct_kill(sendv, &g->rows[i], results[i]) : 0;
                if (r < 0 && *ret_unrecorded == 0)
                        *ret_unrecorded = r;
        }
        return 0;
}
