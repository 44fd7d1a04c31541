/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cause.h"
#include "cgroup.h"
#include "client.h"
#include "escape.h"
#include "gather.h"
#include "owner.h"
#include "util.h"

int gather_parse_endpoint(const char *arg, struct endpoint_sel *ret) {
        char buf[INET6_ADDRSTRLEN + 8];
        const char *addr = buf, *port = NULL;
        struct endpoint_sel sel = { .set = true };
        char *colon;

        if (strlen(arg) >= sizeof(buf) || !*arg)
                return -EINVAL;
        strcpy(buf, arg);
        if (buf[0] == '[') {
                char *end = strchr(buf, ']');

                if (!end || (end[1] != '\0' && end[1] != ':'))
                        return -EINVAL;
                *end = '\0';
                addr = buf + 1;
                if (end[1] == ':')
                        port = end + 2;
        } else if ((colon = strchr(buf, ':')) && !strchr(colon + 1, ':')) {
                /* exactly one colon: IPv4:PORT or :PORT */
                *colon = '\0';
                port = colon + 1;
        }
        if (*addr) {
                if (inet_pton(AF_INET, addr, sel.addr) == 1)
                        sel.family = AF_INET;
                else if (inet_pton(AF_INET6, addr, sel.addr) == 1)
                        sel.family = AF_INET6;
                else
                        return -EINVAL;
                sel.has_addr = true;
        }
        if (port) {
                uint64_t p;

                if (parse_u64(port, &p) < 0 || p < 1 || p > 65535)
                        return -EINVAL;
                sel.port = (uint16_t) p;
                sel.has_port = true;
        }
        if (!sel.has_addr && !sel.has_port)
                return -EINVAL;
        *ret = sel;
        return 0;
}

bool gather_endpoint_matches(const struct endpoint_sel *sel, uint8_t family, const uint8_t addr[16], uint16_t port) {
        uint8_t a[16];

        if (!sel->set)
                return true;
        if (sel->has_port && sel->port != port)
                return false;
        if (!sel->has_addr)
                return true;
        memcpy(a, addr, sizeof(a));
        /* a v4-mapped socket address is an IPv4 address */
        if (family == AF_INET6 && IN6_IS_ADDR_V4MAPPED((const struct in6_addr *) a)) {
                memmove(a, a + 12, 4);
                memset(a + 4, 0, 12);
                family = AF_INET;
        }
        if (family != sel->family)
                return false;
        return memcmp(a, sel->addr, family == AF_INET ? 4 : 16) == 0;
}

void gathered_done(struct gathered *g) {
        free(g->rows);
        netns_set_free(g->netns);
        strpool_done(&g->strings);
        *g = (struct gathered) {};
}

struct diag *gather_diag(const struct gathered *g, const struct row *row) {
        return netns_set_diag(g->netns, row->sock.id.netns_ino);
}

static int cmp_inode(const void *a, const void *b) {
        const struct inode_owner *x = a, *y = b;

        return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* What a cgroup id says of a row, kept for the next rows of that cgroup:
 * a host's stuck sockets come from few cgroups (a few services, a few
 * containers), interleaved in the dump. Direct-mapped, CGROUP_NAMES_SLOTS
 * of them: a cgroup whose slot another took is looked up again. */
#define CGROUP_NAMES_SLOTS 64
struct cgroup_names {
        uint64_t id;
        bool valid;
        bool deleted;
        const char *cgroup, *unit, *container_id, *pod_uid; /* in the pool */
        uint8_t container_runtime, pod_qos;
};

static void cgroup_names_of(struct gathered *g, struct cgroup_cache *cc, uint64_t id, struct cgroup_names *ret) {
        char unit[CGROUP_UNIT_MAX], name[CONTAINER_NAME_MAX];
        struct container_ref c;
        const char *path;
        int r;

        if (ret->valid && ret->id == id)
                return;
        *ret = (struct cgroup_names) { .id = id, .valid = true };
        r = cgroup_cache_unit(cc, id, unit, sizeof(unit), &path);
        if (r == 0)
                ret->deleted = true;
        if (r <= 0)
                return;
        ret->cgroup = strpool_add(&g->strings, path);
        ret->unit = strpool_add(&g->strings, unit);
        container_from_path(path, &c);
        if (c.id[0]) {
                ret->container_id = strpool_add(&g->strings, container_name(&c, name));
                ret->container_runtime = c.runtime;
        }
        if (c.pod_uid[0]) {
                ret->pod_uid = strpool_add(&g->strings, c.pod_uid);
                ret->pod_qos = c.qos;
        }
}

void gather_annotate(struct gathered *g, struct cgroup_cache *cc) {
        _cleanup_(freep) struct inode_owner *wanted = NULL;
        struct cgroup_names names[CGROUP_NAMES_SLOTS] = {};
        const char *owned_cgroup = NULL;
        bool one_cgroup = true;
        size_t n_wanted = 0;

        wanted = calloc(g->n ? g->n : 1, sizeof(*wanted));

        for (size_t i = 0; i < g->n; i++) {
                struct row *row = &g->rows[i];
                const char *path = NULL;

                if (cc && row->sock.has_cgroup_id) {
                        struct cgroup_names *n = &names[mix64(row->sock.cgroup_id) % CGROUP_NAMES_SLOTS];

                        cgroup_names_of(g, cc, row->sock.cgroup_id, n);
                        path = n->cgroup;
                        row->cgroup = n->cgroup;
                        row->unit = n->unit;
                        row->cgroup_deleted = n->deleted;
                        row->container_id = n->container_id;
                        row->container_runtime = n->container_runtime;
                        row->pod_uid = n->pod_uid;
                        row->pod_qos = n->pod_qos;
                }
                if (wanted && !fw_sock_is_orphan(&row->sock)) {
                        wanted[n_wanted++].inode = row->sock.inode;
                        /* one cgroup: look among its processes only */
                        if (!path || (owned_cgroup && strcmp(owned_cgroup, path) != 0))
                                one_cgroup = false;
                        owned_cgroup = path;
                }
        }

        if (n_wanted > 0) {
                char dir[512];
                bool narrow = one_cgroup && owned_cgroup && strcmp(owned_cgroup, "/") != 0;

                if (narrow)
                        snprintf(dir, sizeof(dir), "%s%s", cgroup_cache_root(cc), owned_cgroup);
                (void) owner_find_pids(narrow ? dir : NULL, wanted, n_wanted);
                for (size_t i = 0; i < g->n; i++) {
                        struct inode_owner key = { .inode = g->rows[i].sock.inode }, *w;

                        if (fw_sock_is_orphan(&g->rows[i].sock))
                                continue;
                        w = bsearch(&key, wanted, n_wanted, sizeof(*wanted), cmp_inode);
                        if (w && w->pid) {
                                g->rows[i].pid = w->pid;
                                g->rows[i].process = strpool_add(&g->strings, w->comm);
                        }
                }
        }
}

/* Take the kernel's snapshot of one namespace into rows (appending: the
 * snapshot is taken into the rows themselves). */
static int take_rows(struct gathered *g, const struct netns *ns, int family, uint32_t states, bool named) {
        struct diag_snapshot snap = DIAG_SNAPSHOT_OF(struct row, sock);
        bool home = ns->ino == g->netns->home_ino;
        struct tcp_limits limits = ns->limits;
        size_t first = g->n;
        int r;

        snap.v = g->rows;
        snap.n = g->n;
        snap.allocated = g->allocated;
        r = diag_snapshot_take(ns->diag, family, states, &snap);
        g->rows = snap.v;
        g->n = snap.n;
        g->allocated = snap.allocated;
        if (r < 0)
                return r;
        if (home)
                (void) cause_limits_read(&limits); /* ours: as they are now */
        for (size_t i = first; i < g->n; i++) {
                struct row *row = &g->rows[i];

                row->sock.id.netns_ino = home ? 0 : (uint32_t) ns->ino; /* nsfs inodes are 32-bit */
                cause_annotate(&row->sock, &limits);
                if (named) {
                        row->netns = ns->name;
                        row->netns_unit = ns->unit;
                }
        }
        return 0;
}

static int failed(int r, char *err, size_t errsize, const char *what) {
        snprintf(err, errsize, "%s", what);
        return r;
}

/* finwatchd's ages for the rows it tracks; a note when it does not answer. */
static void join_daemon(struct gathered *g, const char *socket_path) {
        struct daemon_table table = {};
        char err[200] = "";
        _cleanup_(closep) int fd = client_connect(socket_path);
        int r;

        if (fd < 0) {
                snprintf(g->daemon_note, sizeof(g->daemon_note), "no finwatchd answers at %s (%s)", socket_path,
                         strerror(-fd));
                /* none there, or the socket of one that is not running;
                 * anything else (a full backlog, EACCES) is a daemon */
                g->daemon_runs = fd != -ENOENT && fd != -ECONNREFUSED;
                return;
        }
        g->daemon_runs = true;
        r = client_list(fd, &table, err, sizeof(err));
        if (r < 0) {
                snprintf(g->daemon_note, sizeof(g->daemon_note), "finwatchd did not answer (%s)",
                         err[0] ? err : strerror(-r));
                return;
        }
        g->have_daemon = true;
        /* cookies are unique for the boot, across namespaces: the join is safe */
        for (size_t i = 0; i < g->n; i++) {
                const struct daemon_entry *e = client_table_find(&table, g->rows[i].sock.id.cookie);
                struct row *row = &g->rows[i];

                /* an age belongs to a state: the daemon's must be this one */
                if (e && e->state == row->sock.state) {
                        row->known = true;
                        row->age_usec = e->age_usec;
                        row->first_seen_ago_usec = e->first_seen_ago_usec;
                        row->daemon_age_source = e->age_source;
                        row->alerted = e->alerted;
                        row->no_timer_polls = e->no_timer_polls;
                        row->peer = e->peer;
                }
        }
        client_table_done(&table);
}

/* no-timer needs CAUSE_NO_TIMER_POLLS samples in a row: the daemon's
 * (which says how many it had), this one agreeing. Without a daemon, or
 * before it has seen enough, the cause stays no-timer, marked unconfirmed,
 * and the fate is unknown. */
void gather_confirm_causes(struct row *rows, size_t n) {
        for (size_t i = 0; i < n; i++) {
                struct row *row = &rows[i];

                if (cause_confirmed(row->sock.cause, row->known ? row->no_timer_polls : 0) == row->sock.cause)
                        continue;
                row->cause_unconfirmed = true;
                row->sock.fate_msec = FATE_UNKNOWN;
        }
}

int gather(const struct selection *sel, const char *socket_path, bool ask_daemon, struct gathered *ret, char *err,
           size_t errsize) {
        _cleanup_(gathered_done) struct gathered g = {};
        _cleanup_(cgroup_cache_freep) struct cgroup_cache *cc = NULL;
        int family = sel->v4 == sel->v6 ? AF_UNSPEC : sel->v4 ? AF_INET : AF_INET6;
        int r;

        *ret = (struct gathered) {};
        r = netns_set_new(&g.netns);
        if (r < 0)
                return failed(r, err, errsize, "cannot open netlink sock_diag socket");
        if (sel->netns) {
                r = netns_set_discover(g.netns, strcmp(sel->netns, "all") == 0 ? NETNS_ALL : NETNS_NAMED,
                                       sel->netns, 0, &g.netns_unwatched);
                if (r < 0)
                        return failed(r, err, errsize, "cannot list network namespaces");
        }
        for (size_t i = 0; i < g.netns->n; i++) {
                if (!g.netns->v[i].seen)
                        continue;
                r = take_rows(&g, &g.netns->v[i], family, sel->states, sel->netns != NULL);
                if (r < 0)
                        return failed(r, err, errsize, "socket dump failed");
        }
        if (ask_daemon)
                join_daemon(&g, socket_path);
        gather_confirm_causes(g.rows, g.n);
        gather_ages(&g);
        (void) cgroup_cache_new(&cc); /* none without cgroup v2: units unknown */
        gather_annotate(&g, cc);
        output_sort(g.rows, g.n);
        *ret = g;
        g = (struct gathered) {};
        return 0;
}

void gather_ages(struct gathered *g) {
        for (size_t i = 0; i < g->n; i++) {
                struct row *row = &g->rows[i];
                struct age_bounds k;

                age_from_kernel(&row->sock, &k);
                age_combine(&k, row->known, row->age_usec, row->daemon_age_source, &row->age);
        }
}

/* --unit NAME: the unit's name as finwatch shows it (escaped) or as it is. */
static bool unit_matches(const char *unit, const char *want) {
        char shown[ESCAPE_MAX_PER_BYTE * (CGROUP_UNIT_MAX - 1) + 1];

        if (!unit)
                return false;
        if (strcmp(unit, want) == 0)
                return true;
        return escape_needed(unit) && strcmp(escape_cut(shown, sizeof(shown), unit), want) == 0;
}

size_t gather_select(struct gathered *g, const struct selection *sel) {
        size_t kept = 0;

        for (size_t i = 0; i < g->n; i++) {
                const struct row *row = &g->rows[i];
                const struct fw_sock *s = &row->sock;
                uint64_t age;

                /* the kernel filtered by state already, to the closing states
                 * --state accepts: ESTABLISHED never gets here */
                if (sel->have_older && (!output_row_age(row, &age) || age < sel->older_than))
                        continue;
                if (sel->have_cookie && s->id.cookie != sel->cookie)
                        continue;
                if (sel->unit && !unit_matches(row->unit, sel->unit))
                        continue;
                if (sel->have_container &&
                    !container_sel_matches(&sel->container, row->container_id, row->container_runtime))
                        continue;
                if (sel->have_pod && (!row->pod_uid || strcmp(row->pod_uid, sel->pod) != 0))
                        continue;
                if (!gather_endpoint_matches(&sel->local, s->id.family, s->id.src, s->id.sport) ||
                    !gather_endpoint_matches(&sel->peer, s->id.family, s->id.dst, s->id.dport))
                        continue;
                g->rows[kept++] = *row;
        }
        g->n = kept;
        return kept;
}

unsigned gather_containers_distinct(const struct row *rows, size_t n, const char **ret_first,
                                    const char **ret_second) {
        *ret_first = *ret_second = NULL;
        for (size_t i = 0; i < n; i++) {
                const char *c = rows[i].container_id;

                if (!c)
                        continue;
                if (!*ret_first)
                        *ret_first = c;
                else if (strcmp(c, *ret_first) != 0) {
                        *ret_second = c;
                        return 2;
                }
        }
        return *ret_first ? 1 : 0;
}
