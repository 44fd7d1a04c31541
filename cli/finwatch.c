/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finwatch: show and remove TCP sockets stuck in closing states. */
#include <arpa/inet.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "cause.h"
#include "diag.h"
#include "fw-config.h"
#include "output.h"
#include "strpool.h"
#include "netns.h"
#include "cgroup.h"
#include "owner.h"
#include "proto.h"
#include "sockfmt.h"
#include "util.h"

enum {
        EXIT_OK = 0,
        EXIT_FAILURE_RUNTIME = 1,
        EXIT_USAGE = 2,
};

static const char *program = "finwatch";
static const char *arg_socket = PROTO_DEFAULT_SOCKET;

static void usage_main(FILE *f) {
        fprintf(f,
                "Usage: %s [--socket PATH] [--help] [--version] COMMAND [OPTIONS]\n"
                "\n"
                "Find and remove TCP connections stuck in FIN_WAIT_1 or LAST_ACK.\n"
                "\n"
                "Commands:\n"
                "  list      show the stuck sockets, with ages when finwatchd runs\n"
                "  kill      remove stuck sockets with SOCK_DESTROY, exactly the ones selected\n"
                "  status    show what finwatchd is doing\n"
                "  reload    make finwatchd re-read its configuration (root)\n"
                "\n"
                "Options:\n"
                "  --socket PATH   finwatchd's control socket (default " PROTO_DEFAULT_SOCKET ")\n"
                "\n"
                "Run '%s COMMAND --help' for the options of a command.\n",
                program, program);
}

static void usage_list(FILE *f) {
        fprintf(f,
                "Usage: %s list [OPTIONS]\n"
                "\n"
                "Show TCP sockets stuck in closing states: the kernel's view (netlink\n"
                "sock_diag, filtered by state in the kernel) with how long each has been\n"
                "stuck and whether it was alerted, from finwatchd. Without a daemon the\n"
                "ages are unknown ('-').\n"
                "\n"
                "Options:\n"
                "  -s, --state LIST          states to show, comma separated: fin-wait-1, last-ack,\n"
                "                            closing, fin-wait-2, close-wait (default: fin-wait-1,last-ack)\n"
                "  -o, --older-than DURATION only sockets stuck at least this long (needs finwatchd)\n"
                "  -j, --json                print a JSON array instead of the table\n"
                "  -4, --ipv4                only IPv4 sockets\n"
                "  -6, --ipv6                only IPv6 sockets (v4-mapped addresses show as IPv4)\n"
                "  -u, --unit NAME           only sockets of this systemd unit (e.g. nginx.service)\n"
                "  -N, --netns WHICH         network namespaces: host (default), all, or names (root)\n"
                "  -n, --no-daemon           do not ask finwatchd: the kernel's snapshot alone\n"
                "  -h, --help                show this help\n"
                "\n"
                "Exit status: 0 ok, 1 failure, 2 usage error.\n",
                program);
}

static void usage_kill(FILE *f) {
        fprintf(f,
                "Usage: %s kill SELECTOR... [OPTIONS]\n"
                "\n"
                "Remove stuck sockets with the kernel's SOCK_DESTROY, by their cookie, so a\n"
                "newer connection on the same addresses is never hit. Only sockets in the\n"
                "closing states are ever touched. Selectors combine with AND; at least one:\n"
                "  -s, --state LIST          fin-wait-1, last-ack, closing, fin-wait-2, close-wait\n"
                "                            (default: fin-wait-1,last-ack)\n"
                "  -o, --older-than DURATION stuck at least this long (needs finwatchd)\n"
                "  -u, --unit NAME           sockets of this systemd unit (e.g. nginx.service)\n"
                "  -N, --netns WHICH         in these network namespaces: host, all, or names (root)\n"
                "  -l, --local ADDR[:PORT]   local address and/or port ([v6]:port, :port)\n"
                "  -p, --peer ADDR[:PORT]    peer address and/or port\n"
                "  -c, --cookie N            the socket with this cookie\n"
                "Options:\n"
                "  -d, --dry-run             show what would be killed, kill nothing\n"
                "  -y, --yes                 do not ask (needed when not on a terminal)\n"
                "  -4, --ipv4 / -6, --ipv6   one family only\n"
                "  -n, --no-daemon           kill directly (root), not through finwatchd\n"
                "  -h, --help                show this help\n"
                "\n"
                "Killing a FIN_WAIT_1 socket sends the peer a RST; killing a LAST_ACK socket\n"
                "sends nothing (the peer's own timers end its side).\n"
                "Exit status: 0 every selected socket is gone (nothing selected: 0, with a\n"
                "note), 1 a kill failed, 2 usage error.\n",
                program);
}

static void usage_status(FILE *f) {
        fprintf(f,
                "Usage: %s status [--json]\n"
                "\n"
                "Show finwatchd's version, uptime, configuration, poll interval and\n"
                "duration, tracked sockets per state, alerts and kills so far, and whether\n"
                "the kernel can kill sockets.\n",
                program);
}

/* One line on stderr naming the problem; returns the exit code given. */
static int __attribute__((format(printf, 2, 3))) fail(int code, const char *fmt, ...) {
        va_list ap;

        fprintf(stderr, "%s: ", program);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return code;
}

/* The option getopt stumbled on, as the user wrote it. */
static const char *bad_option(char **argv, int optind_before, char buf[static 3]) {
        const char *word = argv[optind_before];

        if (word && strncmp(word, "--", 2) == 0)
                return word;
        if (optopt > 0 && optopt < 128) {
                buf[0] = '-';
                buf[1] = (char) optopt;
                buf[2] = '\0';
                return buf;
        }
        return word ? word : "?";
}

static int usage_error(const char *verb, int c, char **argv, int before) {
        char optbuf[3];

        if (c == ':')
                return fail(EXIT_USAGE, "%s: option '%s' needs a value", verb, bad_option(argv, before, optbuf));
        return fail(EXIT_USAGE, "%s: unknown option '%s' (see '%s %s --help')", verb,
                    bad_option(argv, before, optbuf), program, verb);
}

static int diag_error(const char *what, int r) {
        switch (-r) {
        case EPERM:
        case EACCES:
                return fail(EXIT_FAILURE_RUNTIME, "%s: permission denied for netlink sock_diag: %s",
                            what, strerror(-r));
        case EPROTONOSUPPORT:
        case EAFNOSUPPORT:
        case ENOENT:
        case EOPNOTSUPP:
                return fail(EXIT_FAILURE_RUNTIME,
                            "netlink sock_diag unavailable (kernel without CONFIG_INET_DIAG?): %s",
                            strerror(-r));
        default:
                return fail(EXIT_FAILURE_RUNTIME, "%s: %s", what, strerror(-r));
        }
}

static int parse_states_arg(const char *verb, const char *arg, uint32_t *states) {
        const char *bad;
        size_t bad_len;

        if (sockfmt_states_parse(arg, states, &bad, &bad_len) >= 0)
                return 0;
        if (bad_len == 0)
                return fail(EXIT_USAGE, "%s: --state needs a comma separated list of states "
                            "(fin-wait-1, last-ack, closing, fin-wait-2, close-wait)", verb);
        return fail(EXIT_USAGE, "%s: unknown state '%.*s' (known: fin-wait-1, last-ack, closing, fin-wait-2, "
                    "close-wait)", verb, (int) bad_len, bad);
}

static int parse_duration_arg(const char *verb, const char *opt, const char *arg, uint64_t *ret) {
        if (parse_duration(arg, ret) < 0)
                return fail(EXIT_USAGE, "%s: %s '%s' is not a duration (e.g. 30s, 5min, 2h)", verb, opt, arg);
        return 0;
}

/* The options list and kill share: which sockets, and where from. */
struct selection {
        const char *unit;      /* only sockets of this systemd unit */
        const char *netns;     /* "host" (NULL), "all", or names */
        uint32_t states;
        bool have_state;
        uint64_t older_than;   /* usec */
        bool have_older;
        bool v4, v6;
        bool no_daemon;
};

#define SELECTION_DEFAULT { .states = DIAG_STATES_DEFAULT }
#define SELECTION_OPTIONS                                               \
        { "state",      required_argument, NULL, 's' },                 \
        { "older-than", required_argument, NULL, 'o' },                 \
        { "ipv4",       no_argument,       NULL, '4' },                 \
        { "ipv6",       no_argument,       NULL, '6' },                 \
        { "no-daemon",  no_argument,       NULL, 'n' },                 \
        { "unit",       required_argument, NULL, 'u' },                 \
        { "netns",      required_argument, NULL, 'N' }
#define SELECTION_SHORT "s:o:46nu:N:"

/* Handle one of the shared options: -1 if c is not one, else 0 or an exit code. */
static int selection_option(struct selection *sel, const char *verb, int c, const char *arg) {
        int r;

        switch (c) {
        case 's':
                if ((r = parse_states_arg(verb, arg, &sel->states)) != 0)
                        return r;
                sel->have_state = true;
                return 0;
        case 'o':
                if ((r = parse_duration_arg(verb, "--older-than", arg, &sel->older_than)) != 0)
                        return r;
                sel->have_older = true;
                return 0;
        case '4':
                sel->v4 = true;
                return 0;
        case '6':
                sel->v6 = true;
                return 0;
        case 'n':
                sel->no_daemon = true;
                return 0;
        case 'N':
                if (!*arg)
                        return fail(EXIT_USAGE, "%s: --netns needs host, all, or names of network namespaces", verb);
                sel->netns = strcmp(arg, "host") == 0 ? NULL : arg;
                return 0;
        case 'u':
                if (!*arg)
                        return fail(EXIT_USAGE, "%s: --unit needs a unit name (e.g. nginx.service)", verb);
                sel->unit = arg;
                return 0;
        default:
                return -1;
        }
}

static int selection_family(const struct selection *sel) {
        return sel->v4 == sel->v6 ? AF_UNSPEC : sel->v4 ? AF_INET : AF_INET6;
}

/* ---- gathering rows: the kernel's snapshot, with the daemon's ages ---- */

struct gathered {
        struct row *rows;
        size_t n;
        bool have_daemon;
        struct netns_set *netns;   /* the namespaces looked at, when not just ours */
        struct strpool strings;    /* the rows' units, cgroups and process names */
};

static void gathered_done(struct gathered *g) {
        free(g->rows);
        netns_set_free(g->netns);
        strpool_done(&g->strings);
        *g = (struct gathered) {};
}

/* The sock_diag socket for a row's namespace; NULL: ours. */
static struct diag *row_diag(const struct gathered *g, const struct row *row) {
        struct netns *ns;

        if (!g->netns || row->sock.id.netns_ino == 0)
                return NULL;
        ns = netns_set_find(g->netns, row->sock.id.netns_ino);
        return ns ? ns->diag : NULL;
}

static int cmp_inode(const void *a, const void *b) {
        const struct inode_owner *x = a, *y = b;

        return x->inode < y->inode ? -1 : x->inode > y->inode;
}

/* Cause and fate, cgroup and unit, and for owned sockets the process. */
static void annotate_rows(struct gathered *g) {
        _cleanup_(freep) struct inode_owner *wanted = NULL;
        struct cgroup_cache *cc = NULL;
        const char *owned_cgroup = NULL;
        bool one_cgroup = true;
        size_t n_wanted = 0;

        (void) cgroup_cache_new(&cc); /* none without cgroup v2: units unknown */
        wanted = calloc(g->n ? g->n : 1, sizeof(*wanted));

        for (size_t i = 0; i < g->n; i++) {
                struct row *row = &g->rows[i];
                const char *path = NULL;
                int r;

                if (cc && row->sock.has_cgroup_id) {
                        r = cgroup_cache_lookup(cc, row->sock.cgroup_id, &path);
                        if (r > 0) {
                                char unit[256];

                                cgroup_path_unit(path, unit, sizeof(unit));
                                row->cgroup = strpool_add(&g->strings, path);
                                row->unit = strpool_add(&g->strings, unit);
                        } else if (r == 0)
                                row->cgroup_deleted = true;
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
        cgroup_cache_free(cc);
}

/* Take the kernel's snapshot of one namespace into rows (appending: the
 * snapshot is taken into the rows themselves). */
static int take_rows(struct diag *d, int family, uint32_t states, const struct netns *ns, uint64_t home_ino,
                     struct gathered *g, size_t *allocated) {
        struct diag_snapshot snap = DIAG_SNAPSHOT_OF(struct row, sock);
        struct tcp_limits limits;
        size_t first = g->n;
        int r;

        snap.v = g->rows;
        snap.n = g->n;
        snap.allocated = *allocated;
        r = diag_snapshot_take(d, family, states, &snap);
        g->rows = snap.v;
        g->n = snap.n;
        *allocated = snap.allocated;
        if (r < 0)
                return r;
        if (ns)
                limits = ns->limits;
        else
                (void) cause_limits_read(&limits);
        for (size_t i = first; i < g->n; i++) {
                struct row *row = &g->rows[i];

                row->sock.id.netns_ino = ns && ns->ino != home_ino ? (uint32_t) ns->ino : 0; /* nsfs inodes are 32-bit */
                cause_annotate(&row->sock, &limits);
                if (ns) {
                        row->netns = ns->name;
                        row->netns_unit = ns->unit;
                }
        }
        return 0;
}

/* Returns an exit code: EXIT_OK, or the failure already reported. */
static int gather(const char *verb, const struct selection *sel, bool ask_daemon, struct gathered *ret) {
        _cleanup_(diag_freep) struct diag *d = NULL;
        struct daemon_table table = {};
        int family = selection_family(sel);
        size_t allocated = 0;
        char err[256] = "";
        int r;

        *ret = (struct gathered) {};
        if (sel->netns) {
                unsigned denied = 0;

                r = netns_set_new(&ret->netns);
                if (r < 0)
                        return diag_error("cannot open netlink sock_diag socket", r);
                r = netns_set_discover(ret->netns, strcmp(sel->netns, "all") == 0 ? NETNS_ALL : NETNS_NAMED,
                                       sel->netns, &denied);
                if (r < 0) {
                        gathered_done(ret);
                        return fail(EXIT_FAILURE_RUNTIME, "%s: cannot list network namespaces: %s", verb, strerror(-r));
                }
                if (denied)
                        fprintf(stderr, "%s: %s: %u network namespace%s left out: permission denied (entering "
                                "needs CAP_SYS_ADMIN, and CAP_SYS_PTRACE for other users' processes)\n", program, verb,
                                denied, denied == 1 ? "" : "s");
                for (size_t i = 0; i < ret->netns->n; i++) {
                        r = take_rows(ret->netns->v[i].diag, family, sel->states, &ret->netns->v[i],
                                      ret->netns->home_ino, ret, &allocated);
                        if (r < 0) {
                                gathered_done(ret);
                                return diag_error("socket dump failed", r);
                        }
                }
        } else {
                r = diag_open(&d);
                if (r < 0)
                        return diag_error("cannot open netlink sock_diag socket", r);
                r = take_rows(d, family, sel->states, NULL, 0, ret, &allocated);
                if (r < 0) {
                        gathered_done(ret);
                        return diag_error("socket dump failed", r);
                }
        }

        if (ask_daemon) {
                _cleanup_(closep) int fd = client_connect(arg_socket);

                if (fd < 0)
                        fprintf(stderr, "%s: %s: no finwatchd answers at %s (%s); the kernel's snapshot alone, "
                                "ages unknown\n", program, verb, arg_socket, strerror(-fd));
                else if ((r = client_list(fd, &table, err, sizeof(err))) < 0)
                        fprintf(stderr, "%s: %s: finwatchd did not answer (%s); the kernel's snapshot alone, "
                                "ages unknown\n", program, verb, err[0] ? err : strerror(-r));
                else
                        ret->have_daemon = true;
        }
        /* cookies are unique for the boot, across namespaces: the join is safe */
        for (size_t i = 0; i < ret->n; i++) {
                const struct daemon_entry *e = client_table_find(&table, ret->rows[i].sock.id.cookie);
                struct row *row = &ret->rows[i];

                /* an age belongs to a state: the daemon's must be this one */
                if (e && e->state == row->sock.state) {
                        row->known = true;
                        row->age_usec = e->age_usec;
                        row->first_seen_ago_usec = e->first_seen_ago_usec;
                        row->alerted = e->alerted;
                }
        }
        client_table_done(&table);
        annotate_rows(ret);
        output_sort(ret->rows, ret->n);
        return EXIT_OK;
}

/* ---- list ---- */

static int verb_list(int argc, char **argv) {
        static const struct option options[] = {
                SELECTION_OPTIONS,
                { "json",       no_argument,       NULL, 'j' },
                { "help",       no_argument,       NULL, 'h' },
                {}
        };
        struct selection sel = SELECTION_DEFAULT;
        struct gathered g = {};
        bool json = false;
        size_t kept = 0;
        int c, r;

        opterr = 0;
        optind = 0; /* a full reset of getopt, '+' from main's parse included */
        for (;;) {
                int before = optind > 0 ? optind : 1; /* 0 until getopt resets */

                c = getopt_long(argc, argv, ":" SELECTION_SHORT "jh", options, NULL);
                if (c < 0)
                        break;
                if ((r = selection_option(&sel, "list", c, optarg)) >= 0) {
                        if (r != 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        usage_list(stdout);
                        return EXIT_OK;
                default:
                        return usage_error("list", c, argv, before);
                }
        }
        if (optind < argc)
                return fail(EXIT_USAGE, "list: unexpected argument '%s' (see '%s list --help')", argv[optind], program);
        if (sel.have_older && sel.no_daemon)
                return fail(EXIT_USAGE, "list: --older-than needs finwatchd's ages, not --no-daemon");

        r = gather("list", &sel, !sel.no_daemon, &g);
        if (r != EXIT_OK)
                return r;
        if (sel.have_older && !g.have_daemon) {
                gathered_done(&g);
                return fail(EXIT_FAILURE_RUNTIME, "list: --older-than needs finwatchd's ages, and no daemon answered");
        }
        for (size_t i = 0; i < g.n; i++)
                if ((!sel.have_older || (g.rows[i].known && g.rows[i].age_usec >= sel.older_than)) &&
                    (!sel.unit || (g.rows[i].unit && strcmp(g.rows[i].unit, sel.unit) == 0)))
                        g.rows[kept++] = g.rows[i];

        r = json ? output_json(stdout, g.rows, kept, now_usec(CLOCK_REALTIME))
                 : output_table(stdout, g.rows, kept, sel.netns ? OUTPUT_NETNS : 0);
        gathered_done(&g);
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "writing output: %s", strerror(-r));
        return EXIT_OK;
}

/* ---- kill ---- */

/* An ADDR[:PORT] selector: "1.2.3.4", "1.2.3.4:80", "[::1]:80", "::1", ":80". */
struct endpoint_sel {
        bool set, has_addr, has_port;
        uint8_t family;
        uint8_t addr[16];
        uint16_t port;
};

static int parse_endpoint_sel(const char *arg, struct endpoint_sel *ret) {
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

static bool endpoint_matches(const struct endpoint_sel *sel, uint8_t family, const uint8_t addr[16], uint16_t port) {
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

static void print_result(const struct row *row, int r, bool dry_run) {
        char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN];
        const struct fw_sock *s = &row->sock;

        sockfmt_endpoint(local, sizeof(local), s->id.family, s->id.src, s->id.sport);
        sockfmt_endpoint(peer, sizeof(peer), s->id.family, s->id.dst, s->id.dport);
        printf("%s %s %s -> %s cookie %" PRIu64 "%s%s\n",
               dry_run ? "would kill" : r == 0 ? "killed" : r == -ENOENT ? "already gone" : "failed",
               sockfmt_state_name(s->state), local, peer, s->id.cookie,
               r < 0 && r != -ENOENT ? ": " : "", r < 0 && r != -ENOENT ? diag_kill_strerror(r) : "");
}

static bool confirm(size_t n) {
        char answer[16];

        fprintf(stderr, "Kill %zu socket%s? [y/N] ", n, n == 1 ? "" : "s");
        fflush(stderr);
        if (!fgets(answer, sizeof(answer), stdin))
                return false;
        return answer[0] == 'y' || answer[0] == 'Y';
}

/* Kill rows through the daemon; results[i] for rows[i]. */
static int kill_via_daemon(int fd, const struct row *rows, size_t n, int *results) {
        _cleanup_(freep) struct proto_sock_id *ids = calloc(PROTO_KILL_MAX, sizeof(*ids));
        _cleanup_(freep) struct proto_kill_result *res = calloc(PROTO_KILL_MAX, sizeof(*res));
        char err[256] = "";
        int r;

        if (!ids || !res)
                return fail(EXIT_FAILURE_RUNTIME, "out of memory");
        for (size_t done = 0; done < n;) {
                size_t batch = n - done < PROTO_KILL_MAX ? n - done : PROTO_KILL_MAX;

                for (size_t i = 0; i < batch; i++)
                        proto_id_from_sock(&ids[i], &rows[done + i].sock.id, rows[done + i].sock.state);
                r = client_kill(fd, ids, batch, 0, res, err, sizeof(err));
                if (r < 0)
                        return fail(EXIT_FAILURE_RUNTIME, "kill: %s", err[0] ? err : strerror(-r));
                for (size_t i = 0; i < batch; i++)
                        results[done + i] = res[i].cookie == rows[done + i].sock.id.cookie ? res[i].error : -EBADMSG;
                done += batch;
        }
        return EXIT_OK;
}

static int verb_kill(int argc, char **argv) {
        static const struct option options[] = {
                SELECTION_OPTIONS,
                { "local",      required_argument, NULL, 'l' },
                { "peer",       required_argument, NULL, 'p' },
                { "cookie",     required_argument, NULL, 'c' },
                { "dry-run",    no_argument,       NULL, 'd' },
                { "yes",        no_argument,       NULL, 'y' },
                { "help",       no_argument,       NULL, 'h' },
                {}
        };
        struct selection sel = SELECTION_DEFAULT;
        struct endpoint_sel local = {}, peer = {};
        struct gathered g = {};
        uint64_t cookie = 0;
        bool have_cookie = false, dry_run = false, yes = false;
        _cleanup_(freep) int *results = NULL;
        size_t n = 0, failed = 0;
        int c, r;

        opterr = 0;
        optind = 0; /* a full reset of getopt, '+' from main's parse included */
        for (;;) {
                int before = optind > 0 ? optind : 1; /* 0 until getopt resets */

                c = getopt_long(argc, argv, ":" SELECTION_SHORT "l:p:c:dyh", options, NULL);
                if (c < 0)
                        break;
                if ((r = selection_option(&sel, "kill", c, optarg)) >= 0) {
                        if (r != 0)
                                return r;
                        continue;
                }
                switch (c) {
                case 'l':
                        if (parse_endpoint_sel(optarg, &local) < 0)
                                return fail(EXIT_USAGE, "kill: --local '%s' is not ADDR[:PORT] (e.g. 10.0.0.1:445, "
                                            "[::1]:80, :80)", optarg);
                        break;
                case 'p':
                        if (parse_endpoint_sel(optarg, &peer) < 0)
                                return fail(EXIT_USAGE, "kill: --peer '%s' is not ADDR[:PORT] (e.g. 10.0.0.2, "
                                            "[2001:db8::1]:1094, :1094)", optarg);
                        break;
                case 'c':
                        if (parse_u64(optarg, &cookie) < 0 || cookie == 0)
                                return fail(EXIT_USAGE, "kill: --cookie '%s' is not a socket cookie (a number "
                                            "from finwatch list)", optarg);
                        have_cookie = true;
                        break;
                case 'd':
                        dry_run = true;
                        break;
                case 'y':
                        yes = true;
                        break;
                case 'h':
                        usage_kill(stdout);
                        return EXIT_OK;
                default:
                        return usage_error("kill", c, argv, before);
                }
        }
        if (optind < argc)
                return fail(EXIT_USAGE, "kill: unexpected argument '%s' (see '%s kill --help')", argv[optind], program);
        if (!sel.have_state && !sel.have_older && !sel.unit && !local.set && !peer.set && !have_cookie)
                return fail(EXIT_USAGE, "kill: say which sockets: --state, --older-than, --unit, --local, --peer or --cookie");
        if (sel.have_older && sel.no_daemon)
                return fail(EXIT_USAGE, "kill: --older-than needs finwatchd's ages, not --no-daemon");

        r = gather("kill", &sel, !sel.no_daemon, &g);
        if (r != EXIT_OK)
                return r;
        if (sel.have_older && !g.have_daemon) {
                gathered_done(&g);
                return fail(EXIT_FAILURE_RUNTIME, "kill: --older-than needs finwatchd's ages, and no daemon answered");
        }

        for (size_t i = 0; i < g.n; i++) {
                const struct row *row = &g.rows[i];
                const struct fw_sock *s = &row->sock;

                /* the kernel filtered by state already; the closing states
                 * are all --state accepts, so ESTABLISHED never gets here */
                if (sel.have_older && (!row->known || row->age_usec < sel.older_than))
                        continue;
                if (have_cookie && s->id.cookie != cookie)
                        continue;
                if (sel.unit && (!row->unit || strcmp(row->unit, sel.unit) != 0))
                        continue;
                if (!endpoint_matches(&local, s->id.family, s->id.src, s->id.sport) ||
                    !endpoint_matches(&peer, s->id.family, s->id.dst, s->id.dport))
                        continue;
                g.rows[n++] = *row;
        }
        if (n == 0) {
                gathered_done(&g);
                fprintf(stderr, "%s: kill: no stuck socket matches\n", program);
                return EXIT_OK;
        }

        if (dry_run) {
                for (size_t i = 0; i < n; i++)
                        print_result(&g.rows[i], 0, true);
                gathered_done(&g);
                return EXIT_OK;
        }
        if (!yes) {
                if (!isatty(STDIN_FILENO)) {
                        gathered_done(&g);
                        return fail(EXIT_USAGE, "kill: %zu socket%s selected; not on a terminal, so nothing is "
                                    "killed without --yes", n, n == 1 ? "" : "s");
                }
                output_table(stderr, g.rows, n, sel.netns ? OUTPUT_NETNS : 0);
                if (!confirm(n)) {
                        gathered_done(&g);
                        fprintf(stderr, "%s: kill: nothing killed\n", program);
                        return EXIT_OK;
                }
        }

        results = calloc(n, sizeof(*results));
        if (!results) {
                gathered_done(&g);
                return fail(EXIT_FAILURE_RUNTIME, "out of memory");
        }
        if (g.have_daemon) {
                _cleanup_(closep) int fd = client_connect(arg_socket);

                r = fd < 0 ? fail(EXIT_FAILURE_RUNTIME, "kill: finwatchd went away: %s", strerror(-fd))
                           : kill_via_daemon(fd, g.rows, n, results);
                if (r != EXIT_OK) {
                        gathered_done(&g);
                        return r;
                }
        } else {
                _cleanup_(diag_freep) struct diag *d = NULL;

                r = diag_open(&d);
                if (r < 0) {
                        gathered_done(&g);
                        return diag_error("cannot open netlink sock_diag socket", r);
                }
                for (size_t i = 0; i < n; i++) {
                        struct diag *in = row_diag(&g, &g.rows[i]);
                        uint8_t state;

                        /* each in the namespace it lives in */
                        results[i] = diag_kill(in ? in : d, &g.rows[i].sock.id, &state);
                }
        }

        for (size_t i = 0; i < n; i++) {
                print_result(&g.rows[i], results[i], false);
                if (results[i] < 0 && results[i] != -ENOENT)
                        failed++;
        }
        /* the reason once, as a sentence, when every kill failed the same way */
        if (failed == n && (results[0] == -EOPNOTSUPP || results[0] == -EPERM))
                fprintf(stderr, "%s: kill: %s\n", program, diag_kill_strerror(results[0]));
        gathered_done(&g);
        return failed ? EXIT_FAILURE_RUNTIME : EXIT_OK;
}

/* ---- status, reload ---- */

static int connect_daemon(const char *verb) {
        int fd = client_connect(arg_socket);

        if (fd < 0)
                return fail(EXIT_FAILURE_RUNTIME, "%s: no finwatchd answers at %s: %s", verb, arg_socket,
                            strerror(-fd)), -1;
        return fd;
}

static int verb_status(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct proto_status st;
        char err[256] = "", a[DURATION_STRLEN], b[DURATION_STRLEN], d[DURATION_STRLEN];
        bool json = false;
        int c, r, fd;

        opterr = 0;
        optind = 0; /* a full reset of getopt, '+' from main's parse included */
        for (;;) {
                int before = optind > 0 ? optind : 1; /* 0 until getopt resets */

                c = getopt_long(argc, argv, ":jh", options, NULL);
                if (c < 0)
                        break;
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        usage_status(stdout);
                        return EXIT_OK;
                default:
                        return usage_error("status", c, argv, before);
                }
        }
        if (optind < argc)
                return fail(EXIT_USAGE, "status: unexpected argument '%s'", argv[optind]);

        fd = connect_daemon("status");
        if (fd < 0)
                return EXIT_FAILURE_RUNTIME;
        r = client_status(fd, &st, err, sizeof(err));
        close(fd);
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "status: %s", err[0] ? err : strerror(-r));

        if (json) {
                json_t *o = json_object(), *per = json_object();
                int jr;

                for (unsigned s = 0; s < ELEMENTSOF(st.per_state); s++)
                        if (st.per_state[s] && sockfmt_state_name((uint8_t) s))
                                json_object_set_new(per, sockfmt_state_name((uint8_t) s), json_integer(st.per_state[s]));
                json_object_set_new(o, "version", json_string(st.version));
                json_object_set_new(o, "uptime_seconds", json_real((double) st.uptime_usec / 1e6));
                json_object_set_new(o, "config", json_string(st.config_path));
                json_object_set_new(o, "interval_seconds", json_real((double) st.interval_usec / 1e6));
                json_object_set_new(o, "last_poll_seconds", json_real((double) st.last_poll_usec / 1e6));
                json_object_set_new(o, "polls", json_integer((json_int_t) st.polls));
                json_object_set_new(o, "poll_failures", json_integer((json_int_t) st.poll_failures));
                json_object_set_new(o, "last_poll_error",
                                    st.last_poll_error ? json_string(strerror(-st.last_poll_error)) : json_null());
                json_object_set_new(o, "tracked", json_integer(st.tracked));
                json_object_set_new(o, "tracked_by_state", per);
                json_object_set_new(o, "alerts_sent", json_integer((json_int_t) st.alerts_sent));
                json_object_set_new(o, "alerts_held", json_integer((json_int_t) st.alerts_held));
                json_object_set_new(o, "kills_ok", json_integer((json_int_t) st.kills_ok));
                json_object_set_new(o, "kills_failed", json_integer((json_int_t) st.kills_failed));
                json_object_set_new(o, "destroy_supported",
                                    st.destroy_supported < 0 ? json_null() : json_boolean(st.destroy_supported));
                jr = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
                json_decref(o);
                if (jr < 0 || fputc('\n', stdout) == EOF || fflush(stdout) != 0)
                        return fail(EXIT_FAILURE_RUNTIME, "writing output: %s", strerror(EIO));
                return EXIT_OK;
        }

        printf("finwatchd %s, up %s\n", st.version, format_duration(a, sizeof(a), st.uptime_usec));
        printf("config:      %s\n", st.config_path);
        printf("polls:       every %s, last took %s, %" PRIu64 " done, %" PRIu64 " failed%s%s\n",
               format_duration(b, sizeof(b), st.interval_usec), format_duration(d, sizeof(d), st.last_poll_usec),
               st.polls, st.poll_failures, st.last_poll_error ? ", last error: " : "",
               st.last_poll_error ? strerror(-st.last_poll_error) : "");
        printf("tracked:     %u stuck socket%s", st.tracked, st.tracked == 1 ? "" : "s");
        for (unsigned s = 0, first = 1; s < ELEMENTSOF(st.per_state); s++)
                if (st.per_state[s] && sockfmt_state_name((uint8_t) s)) {
                        printf("%s%u %s", first ? ": " : ", ", st.per_state[s], sockfmt_state_name((uint8_t) s));
                        first = 0;
                }
        printf("\nalerts:      %" PRIu64 " sent, %" PRIu64 " held back by the rate limit\n", st.alerts_sent,
               st.alerts_held);
        printf("kills:       %" PRIu64 " done, %" PRIu64 " failed\n", st.kills_ok, st.kills_failed);
        printf("SOCK_DESTROY: %s\n", st.destroy_supported > 0 ? "supported"
                                     : st.destroy_supported == 0 ? "not supported by this kernel (no CONFIG_INET_DIAG_DESTROY)"
                                                                 : "unknown");
        return fflush(stdout) == 0 ? EXIT_OK : fail(EXIT_FAILURE_RUNTIME, "writing output: %s", strerror(errno));
}

static int verb_reload(int argc, char **argv) {
        char err[256] = "";
        int r, fd;

        if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
                printf("Usage: %s reload\n\nMake finwatchd re-read its configuration file (root, or finwatchd's own\nuser, as the unit's ExecReload= does). Exit status 1 when the file is\nrefused: the running configuration stays.\n", program);
                return EXIT_OK;
        }
        if (argc > 1)
                return fail(EXIT_USAGE, "reload: unexpected argument '%s'", argv[1]);
        fd = connect_daemon("reload");
        if (fd < 0)
                return EXIT_FAILURE_RUNTIME;
        r = client_reload(fd, err, sizeof(err));
        close(fd);
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "reload: %s", err[0] ? err : strerror(-r));
        return EXIT_OK;
}

int main(int argc, char **argv) {
        enum { ARG_SOCKET = 0x100 };
        static const struct option options[] = {
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, 'V' },
                { "socket",  required_argument, NULL, ARG_SOCKET },
                {}
        };
        static const struct {
                const char *name;
                int (*fn)(int argc, char **argv);
        } verbs[] = {
                { "list",   verb_list },
                { "kill",   verb_kill },
                { "status", verb_status },
                { "reload", verb_reload },
        };
        const char *verb;
        int c;

        if (getenv("FINWATCH_SOCKET"))
                arg_socket = getenv("FINWATCH_SOCKET");

        opterr = 0;
        for (;;) {
                int before = optind > 0 ? optind : 1; /* 0 until getopt resets */
                char optbuf[3];

                /* '+': stop at the command; its options are its own. */
                c = getopt_long(argc, argv, "+:hV", options, NULL);
                if (c < 0)
                        break;
                switch (c) {
                case 'h':
                        usage_main(stdout);
                        return EXIT_OK;
                case 'V':
                        printf("finwatch %s\n", FW_VERSION);
                        return EXIT_OK;
                case ARG_SOCKET:
                        arg_socket = optarg;
                        break;
                case ':':
                        return fail(EXIT_USAGE, "option '%s' needs a value", bad_option(argv, before, optbuf));
                default:
                        return fail(EXIT_USAGE, "unknown option '%s' (see '%s --help')",
                                    bad_option(argv, before, optbuf), program);
                }
        }

        if (optind >= argc)
                return fail(EXIT_USAGE, "missing command (see '%s --help')", program);

        verb = argv[optind];
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(verb, verbs[i].name) == 0)
                        return verbs[i].fn(argc - optind, argv + optind);
        if (strcmp(verb, "help") == 0) {
                usage_main(stdout);
                return EXIT_OK;
        }
        return fail(EXIT_USAGE, "unknown command '%s' (see '%s --help')", verb, program);
}
