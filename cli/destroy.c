/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "destroy.h"
#include "util.h"

static int via_daemon(const struct gathered *g, const char *socket_path, int *results, char *err, size_t errsize) {
        _cleanup_(freep) struct proto_sock_id *ids = calloc(PROTO_KILL_MAX, sizeof(*ids));
        _cleanup_(freep) struct proto_kill_result *res = calloc(PROTO_KILL_MAX, sizeof(*res));
        _cleanup_(closep) int fd = -EBADF;
        int r;

        if (!ids || !res)
                return snprintf(err, errsize, "out of memory"), -ENOMEM;
        fd = client_connect(socket_path);
        if (fd < 0)
                return snprintf(err, errsize, "finwatchd went away: %s", strerror(-fd)), fd;
        for (size_t done = 0; done < g->n;) {
                size_t batch = g->n - done < PROTO_KILL_MAX ? g->n - done : PROTO_KILL_MAX;

                for (size_t i = 0; i < batch; i++)
                        proto_id_from_sock(&ids[i], &g->rows[done + i].sock.id, g->rows[done + i].sock.state);
                r = client_kill(fd, ids, batch, 0, res, err, errsize);
                if (r < 0) {
                        if (!err[0])
                                snprintf(err, errsize, "%s", strerror(-r));
                        return r;
                }
                for (size_t i = 0; i < batch; i++)
                        results[done + i] = res[i].cookie == g->rows[done + i].sock.id.cookie ? res[i].error : -EBADMSG;
                done += batch;
        }
        return 0;
}

int destroy_rows(const struct gathered *g, const char *socket_path, int *results, char *err, size_t errsize) {
        if (socket_path)
                return via_daemon(g, socket_path, results, err, errsize);
        for (size_t i = 0; i < g->n; i++) {
                struct diag *d = gather_diag(g, &g->rows[i]);
                uint8_t state;

                results[i] = d ? diag_kill(d, &g->rows[i].sock.id, &state) : -ENOENT;
        }
        return 0;
}
