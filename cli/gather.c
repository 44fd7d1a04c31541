/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <arpa/inet.h>
#include <assert.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "cause.h"
#include "cgroup.h"
#include "client.h"
#include "escape.h"
#include "gather.h"
#include "idmap.h"
#include "owner.h"
#include "sockpipe.h"
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
        free(g->order);
        netns_set_free(g->netns);
        strpool_done(&g->strings);
        *g = (struct gathered) {};
}

void gathered_sort(struct gathered *g) {
        struct row *sorted;

        if (!g->order)
                return;
        /* a copy in order: order may leave rows out (repeats) */
        sorted = malloc((g->n ? g->n : 1) * sizeof(*sorted));
        if (!sorted)
                return; /* as they are: the order is still known */
        for (size_t i = 0; i < g->n; i++)
                sorted[i] = g->rows[g->order[i]];
        free(g->rows);
        free(g->order);
        g->rows = sorted;
        g->order = NULL;
        g->allocated = g->n_rows = g->n;
}

struct diag *gather_diag(const struct gathered *g, const struct row *row) {
        return netns_set_diag(g->netns, row->sock.id.netns_ino);
}

/* What a cgroup id says of a row, looked up once per cgroup and kept for
 * the other rows of that cgroup (a host's stuck sockets come from few
 * cgroups, interleaved in the dump; or from 5,000). */
struct cgroup_names {
        bool deleted;
        const char *cgroup, *unit, *container_id, *pod_uid; /* in the pool */
        uint8_t container_runtime, pod_qos;
};

struct cgroup_memo {
        struct idmap ids;        /* cgroup id -> its index in v */
        struct cgroup_names *v;
        size_t n, allocated;
};

static void cgroup_memo_done(struct cgroup_memo *m) {
        idmap_done(&m->ids);
        free(m->v);
        *m = (struct cgroup_memo) {};
}

static const struct cgroup_names *cgroup_names_of(struct gathered *g, struct cgroup_cache *cc, struct cgroup_memo *m,
                                                  uint64_t id) {
        static const struct cgroup_names unknown = {};
        char unit[CGROUP_UNIT_MAX], name[CONTAINER_NAME_MAX];
        struct container_ref c;
        struct cgroup_names names = {};
        const char *path;
        uint32_t at = idmap_get(&m->ids, id);
        int r;

        if (at != IDMAP_NONE)
                return &m->v[at];
        r = cgroup_cache_unit(cc, id, unit, sizeof(unit), &path);
        if (r == 0)
                names.deleted = true;
        if (r > 0) {
                names.cgroup = strpool_add(&g->strings, path);
                names.unit = strpool_add(&g->strings, unit);
                container_from_path(path, &c);
                if (c.id[0]) {
                        names.container_id = strpool_add(&g->strings, container_name(&c, name));
                        names.container_runtime = c.runtime;
                }
                if (c.pod_uid[0]) {
                        names.pod_uid = strpool_add(&g->strings, c.pod_uid);
                        names.pod_qos = c.qos;
                }
        }
        if (GROW(m->v, m->allocated, m->n + 1, 64) < 0 || idmap_put(&m->ids, id, (uint32_t) m->n) < 0)
                return &unknown; /* out of memory: the names unknown */
        m->v[m->n] = names;
        return &m->v[m->n++];
}

static void row_names(struct row *row, const struct cgroup_names *n) {
        row->cgroup = n->cgroup;
        row->unit = n->unit;
        row->cgroup_deleted = n->deleted;
        row->container_id = n->container_id;
        row->container_runtime = n->container_runtime;
        row->pod_uid = n->pod_uid;
        row->pod_qos = n->pod_qos;
}

static int cmp_ptr(const void *a, const void *b) {
        uintptr_t x = (uintptr_t) *(const char *const *) a, y = (uintptr_t) *(const char *const *) b;

        return x < y ? -1 : x > y;
}

/* The process holding each owned socket (--processes): owner.h, by BPF or
 * from procfs, there the processes of its cgroups and then of its
 * namespaces read first. -errno only when via BPF alone and that failed
 * (owner_bpf_read()'s); otherwise what is not found stays unknown. */
static int gather_processes(struct gathered *g, struct cgroup_cache *cc, enum owner_via via) {
        _cleanup_(freep) struct inode_owner *wanted = NULL;
        _cleanup_(freep) const char **cgroups = NULL;
        _cleanup_(freep) uint64_t *netns = NULL;
        size_t n_wanted = 0, n_cgroups = 0, n_netns = 0, kept = 0;
        struct owner_hints hints;
        int r;

        wanted = calloc(g->n ? g->n : 1, sizeof(*wanted));
        cgroups = calloc(g->n ? g->n : 1, sizeof(*cgroups));
        netns = calloc(g->n ? g->n : 1, sizeof(*netns));
        if (!wanted || !cgroups || !netns)
                return 0; /* processes unknown */
        for (size_t i = 0; i < g->n; i++) {
                const struct row *row = &g->rows[i];
                uint64_t ns = row->sock.id.netns_ino ? row->sock.id.netns_ino : g->netns->home_ino;

                if (fw_sock_is_orphan(&row->sock))
                        continue;
                wanted[n_wanted++].inode = row->sock.inode;
                /* interned: one pointer per cgroup; the root's names no
                 * service (and holds every process where nothing uses cgroup v2) */
                if (row->cgroup && strcmp(row->cgroup, "/") != 0)
                        cgroups[n_cgroups++] = row->cgroup;
                if (n_netns == 0 || netns[n_netns - 1] != ns)
                        netns[n_netns++] = ns; /* repeats left: owner_find takes them as they are */
        }
        if (n_wanted == 0)
                return 0;
        /* each socket once (a socket's inode is unique, whatever namespace) */
        qsort(wanted, n_wanted, sizeof(*wanted), owner_cmp_inode);
        for (size_t i = 0; i < n_wanted; i++)
                if (i == 0 || wanted[i].inode != wanted[kept - 1].inode)
                        wanted[kept++] = wanted[i];
        n_wanted = kept;
        /* each cgroup once, as a directory */
        if (n_cgroups > 1)
                qsort(cgroups, n_cgroups, sizeof(*cgroups), cmp_ptr);
        kept = 0;
        for (size_t i = 0; i < n_cgroups; i++)
                if (i == 0 || cgroups[i] != cgroups[kept - 1])
                        cgroups[kept++] = cgroups[i];
        n_cgroups = cc ? kept : 0;
        for (size_t i = 0; i < n_cgroups; i++) {
                char dir[PATH_MAX];

                /* the pool's copy, or NULL: a hint the less */
                cgroups[i] = (size_t) snprintf(dir, sizeof(dir), "%s%s", cgroup_cache_root(cc), cgroups[i]) <
                                             sizeof(dir) ? strpool_add(&g->strings, dir) : NULL;
        }
        hints = (struct owner_hints) { .cgroup_dirs = cgroups, .n_cgroup_dirs = n_cgroups, .netns = netns,
                                       .n_netns = n_netns };
        r = owner_find("/proc", &hints, via, wanted, n_wanted, NULL);
        if (r < 0 && via == OWNER_VIA_BPF)
                return r;
        for (size_t i = 0; i < g->n; i++) {
                struct inode_owner key = { .inode = g->rows[i].sock.inode }, *w;

                if (fw_sock_is_orphan(&g->rows[i].sock))
                        continue;
                w = bsearch(&key, wanted, n_wanted, sizeof(*wanted), owner_cmp_inode);
                if (w && w->pid) {
                        g->rows[i].pid = w->pid;
                        g->rows[i].process = strpool_add(&g->strings, w->comm);
                }
        }
        return 0;
}

void gather_annotate(struct gathered *g, struct cgroup_cache *cc) {
        _cleanup_(cgroup_memo_done) struct cgroup_memo memo = {};

        for (size_t i = 0; i < g->n; i++) {
                struct row *row = &g->rows[i];

                if (cc && row->sock.has_cgroup_id)
                        row_names(row, cgroup_names_of(g, cc, &memo, row->sock.cgroup_id));
        }
}

static int failed(int r, char *err, size_t errsize, const char *what) {
        snprintf(err, errsize, "%s", what);
        return r;
}

/* finwatchd's table of the sockets it tracks, asked before the dumps so
 * each row is joined as it comes; a note when it does not answer. */
static void ask_daemon_table(struct gathered *g, const char *socket_path, struct daemon_table *table) {
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
        r = client_list(fd, table, err, sizeof(err));
        if (r < 0) {
                snprintf(g->daemon_note, sizeof(g->daemon_note), "finwatchd did not answer (%s)",
                         err[0] ? err : strerror(-r));
                return;
        }
        g->have_daemon = true;
}

/* finwatchd's age of a row it tracks (cookies are unique for the boot,
 * across namespaces: the join is safe). */
static void row_join(struct row *row, const struct daemon_table *table) {
        const struct daemon_entry *e = client_table_find(table, row->sock.id.cookie);

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

/* no-timer needs CAUSE_NO_TIMER_POLLS samples in a row: the daemon's
 * (which says how many it had), this one agreeing. Without a daemon, or
 * before it has seen enough, the cause stays no-timer, marked unconfirmed,
 * and the fate is unknown. */
static void row_confirm_cause(struct row *row) {
        if (cause_confirmed(row->sock.cause, row->known ? row->no_timer_polls : 0) == row->sock.cause)
                return;
        row->cause_unconfirmed = true;
        row->sock.fate_msec = FATE_UNKNOWN;
}

void gather_confirm_causes(struct row *rows, size_t n) {
        for (size_t i = 0; i < n; i++)
                row_confirm_cause(&rows[i]);
}

static void row_age(struct row *row) {
        struct age_bounds k;

        age_from_kernel(&row->sock, &k);
        age_combine(&k, row->known, row->age_usec, row->daemon_age_source, &row->age);
}

void gather_ages(struct gathered *g) {
        for (size_t i = 0; i < g->n; i++)
                row_age(&g->rows[i]);
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

static bool row_selected(const struct row *row, const struct selection *sel) {
        const struct fw_sock *s = &row->sock;
        uint64_t age;

        /* the kernel filtered by state already, to the closing states
         * --state accepts: ESTABLISHED never gets here */
        if (sel->have_older && (!output_row_age(row, &age) || age < sel->older_than))
                return false;
        if (sel->have_cookie && s->id.cookie != sel->cookie)
                return false;
        if (sel->unit && !unit_matches(row->unit, sel->unit))
                return false;
        if (sel->have_container &&
            !container_sel_matches(&sel->container, row->container_id, row->container_runtime))
                return false;
        if (sel->have_pod && (!row->pod_uid || strcmp(row->pod_uid, sel->pod) != 0))
                return false;
        return gather_endpoint_matches(&sel->local, s->id.family, s->id.src, s->id.sport) &&
               gather_endpoint_matches(&sel->peer, s->id.family, s->id.dst, s->id.dport);
}

size_t gather_select(struct gathered *g, const struct selection *sel) {
        size_t kept = 0;

        for (size_t i = 0; i < g->n; i++) {
                if (!row_selected(&g->rows[i], sel))
                        continue;
                if (kept != i)
                        g->rows[kept] = g->rows[i];
                kept++;
        }
        g->n = kept;
        return kept;
}

/* One pass over the dumps: each socket, as it comes from the kernel and
 * while its row is in the cache, is deduplicated, annotated (cause, fate,
 * finwatchd's age, its cgroup's names), and kept only if selected. The
 * passes this replaces (dedupe, annotate, join, confirm, ages, names,
 * select) each read all the rows again, which at 50,000 rows (14 MB) no
 * longer fit in the cache. */
struct take {
        struct gathered *g;
        const struct selection *sel;
        const struct gather_hook *hook;    /* NULL: none */
        struct output_keys keys;           /* the kept rows' display order keys, made as they come */
        struct row scratch;                /* the row being made when rows are not kept */
        const struct daemon_table *daemon; /* NULL: not asked, or no answer */
        struct cgroup_cache *cc;           /* NULL: units unknown */
        struct cgroup_memo memo;
};

/* The namespace a socket was dumped in, as it goes with it (sockpipe.h). */
struct take_ctx {
        uint32_t netns_ino;                /* 0: ours */
        struct tcp_limits limits;          /* its sysctls */
        const struct netns *named;         /* --netns: its names on the rows */
};

static int take_sock(const struct fw_sock *s, const void *ctx_bytes, void *userdata) {
        struct take *t = userdata;
        struct gathered *g = t->g;
        struct row *row = &t->scratch;
        struct take_ctx ctx;

        memcpy(&ctx, ctx_bytes, sizeof(ctx));

        if (!t->hook || !t->hook->rows_unkept) {
                if (g->n >= g->allocated) {
                        size_t was = g->allocated;

                        if (GROW(g->rows, g->allocated, g->n + 1, 256) < 0)
                                return -ENOMEM;
                        memory_prefault(g->rows + was, (g->allocated - was) * sizeof(*g->rows));
                }
                row = &g->rows[g->n];
        }
        *row = (struct row) { .sock = *s };
        row->sock.id.netns_ino = ctx.netns_ino;
        cause_annotate(&row->sock, &ctx.limits);
        if (ctx.named) {
                row->netns = ctx.named->name;
                row->netns_unit = ctx.named->unit;
        }
        if (t->daemon)
                row_join(row, t->daemon);
        row_confirm_cause(row);
        row_age(row);
        if (t->cc && row->sock.has_cgroup_id)
                row_names(row, cgroup_names_of(g, t->cc, &t->memo, row->sock.cgroup_id));
        if (!row_selected(row, t->sel))
                return 0; /* its room takes the next */
        if (output_keys_add(&t->keys, &row->sock, g->n) < 0)
                return -ENOMEM;
        if (t->hook)
                t->hook->row(t->hook->userdata, row, g->n);
        g->n++;
        return 0;
}

/* Sorting finds a repeat for nothing; a set of the cookies taken, filled
 * as they came, cost a cache miss a row and its growth a page fault a page. */
void gather_order(struct gathered *g, struct output_keys *keys) {
        size_t kept = 0;

        assert(keys->n == g->n);
        g->n_rows = g->n;
        g->order = output_keys_order(keys);
        if (!g->order)
                return; /* out of memory: in the dump's order, a repeat left in */
        for (size_t i = 0; i < g->n; i++) {
                /* keys are sorted as the order is: keys->v[kept - 1] is order[kept - 1]'s */
                if (kept > 0 && output_keys_same(keys, i, kept - 1))
                        continue;
                keys->v[kept] = keys->v[i];
                g->order[kept++] = g->order[i];
        }
        g->n = kept;
}

/* Take the sockets of one namespace: parsed here, and handed to the
 * pipe (sockpipe.h: past the first SOCKPIPE_HERE, to its thread, which
 * takes them, take_sock(), meanwhile). */
static int take_netns(struct gathered *g, struct sockpipe *pipe, const struct netns *ns, int family, uint32_t states,
                      bool named) {
        static const int families[] = { AF_INET, AF_INET6 };
        bool home = ns->ino == g->netns->home_ino;
        struct take_ctx ctx = {
                .netns_ino = home ? 0 : (uint32_t) ns->ino, /* nsfs inodes are 32-bit */
                .limits = ns->limits,
                .named = named ? ns : NULL,
        };
        int r;

        _Static_assert(sizeof(ctx) <= SOCKPIPE_CTX_MAX, "a namespace's context fits a block");
        if (home)
                (void) cause_limits_read(&ctx.limits); /* ours: as they are now */
        r = sockpipe_context(pipe, &ctx, sizeof(ctx));
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(families); i++) {
                if (family != AF_UNSPEC && family != families[i])
                        continue;
                r = diag_dump(ns->diag, families[i], states, sockpipe_add, pipe);
        }
        return r;
}

int gather(const struct selection *sel, const char *socket_path, bool ask_daemon, const struct gather_hook *hook,
           struct gathered *ret, char *err, size_t errsize) {
        _cleanup_(gathered_done) struct gathered g = {};
        _cleanup_(cgroup_cache_freep) struct cgroup_cache *cc = NULL;
        _cleanup_(client_table_done) struct daemon_table table = {};
        int family = sel->v4 == sel->v6 ? AF_UNSPEC : sel->v4 ? AF_INET : AF_INET6;
        _cleanup_(output_keys_done) struct output_keys keys = {};
        _cleanup_(sockpipe_freep) struct sockpipe *pipe = NULL;
        struct take t = { .g = &g, .sel = sel, .hook = hook };
        int r = 0, k;

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
        if (ask_daemon) {
                ask_daemon_table(&g, socket_path, &table);
                t.daemon = g.have_daemon ? &table : NULL;
        }
        (void) cgroup_cache_new(&cc); /* none without cgroup v2: units unknown */
        t.cc = cc;
        r = sockpipe_new(&pipe, take_sock, &t);
        if (r < 0)
                return failed(r, err, errsize, "out of memory");
        for (size_t i = 0; r >= 0 && i < g.netns->n; i++)
                if (g.netns->v[i].seen)
                        r = take_netns(&g, pipe, &g.netns->v[i], family, sel->states, sel->netns != NULL);
        k = sockpipe_finish(pipe); /* every socket taken: t is ours again */
        if (r >= 0)
                r = k;
        keys = t.keys;
        t.keys = (struct output_keys) {};
        cgroup_memo_done(&t.memo);
        if (r < 0)
                return failed(r, err, errsize, "socket dump failed");
        if (sel->processes)
                g.processes_error = gather_processes(&g, cc, sel->processes_via);
        gather_order(&g, &keys);
        *ret = g;
        g = (struct gathered) {};
        return 0;
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
