/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finwatch: show and remove TCP sockets stuck in closing states. The verbs
 * and their options; what they show comes from gather.h, how from output.h. */
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "destroy.h"
#include "diag.h"
#include "escape.h"
#include "fw-config.h"
#include "gather.h"
#include "output.h"
#include "proto.h"
#include "sockfmt.h"
#include "summary.h"
#include "usage.h"
#include "util.h"

enum {
        EXIT_OK = 0,
        EXIT_FAILURE_RUNTIME = 1,
        EXIT_USAGE = 2,
        PARSED = -1,            /* an option loop went through: go on */
};

static const char *arg_socket = PROTO_DEFAULT_SOCKET;

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

/* One option of a verb: PARSED to go on, or an exit code. */
typedef int (*option_fn)(int c, const char *arg, void *userdata);

/* The one option loop of every verb (verb NULL: the options before it, up
 * to the verb): --help prints usage, an unknown or incomplete option is
 * said alike everywhere, a verb takes no other arguments. PARSED when the
 * options went through, else the exit code. */
static int parse_options(const char *verb, int argc, char **argv, const char *shortopts,
                         const struct option *longopts, option_fn fn, void *userdata, void (*usage)(FILE *)) {
        char optstring[64], optbuf[3];
        const char *where = verb ? verb : "";
        const char *sep = verb ? ": " : "";

        snprintf(optstring, sizeof(optstring), "%s:%sh", verb ? "" : "+", shortopts);
        opterr = 0;
        optind = 0; /* a full reset of getopt, '+' from main's parse included */
        for (;;) {
                int before = optind > 0 ? optind : 1; /* 0 until getopt resets */
                int c = getopt_long(argc, argv, optstring, longopts, NULL), r;

                if (c < 0)
                        break;
                if (c == 'h') {
                        usage(stdout);
                        return EXIT_OK;
                }
                if (c == ':')
                        return fail(EXIT_USAGE, "%s%soption '%s' needs a value", where, sep,
                                    bad_option(argv, before, optbuf));
                if (c == '?')
                        return fail(EXIT_USAGE, "%s%sunknown option '%s' (see '%s%s%s --help')", where, sep,
                                    bad_option(argv, before, optbuf), program, verb ? " " : "", where);
                r = fn(c, optarg, userdata);
                if (r != PARSED)
                        return r;
        }
        if (verb && optind < argc)
                return fail(EXIT_USAGE, "%s: unexpected argument '%s' (see '%s %s --help')", verb, argv[optind],
                            program, verb);
        return PARSED;
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

/* ---- the options list and kill share ---- */

enum { ARG_CONTAINER = 0x200, ARG_POD };

#define SELECTION_OPTIONS                                               \
        { "state",      required_argument, NULL, 's' },                 \
        { "older-than", required_argument, NULL, 'o' },                 \
        { "ipv4",       no_argument,       NULL, '4' },                 \
        { "ipv6",       no_argument,       NULL, '6' },                 \
        { "no-daemon",  no_argument,       NULL, 'n' },                 \
        { "unit",       required_argument, NULL, 'u' },                 \
        { "container",  required_argument, NULL, ARG_CONTAINER },      \
        { "pod",        required_argument, NULL, ARG_POD },            \
        { "netns",      required_argument, NULL, 'N' },                 \
        { "help",       no_argument,       NULL, 'h' }
#define SELECTION_SHORT "s:o:46nu:N:"

struct verb_args {
        const char *verb;
        struct selection sel;
        bool json, dry_run, yes;
        bool summary;           /* list --summary */
};

static int selection_option(int c, const char *arg, void *userdata) {
        struct verb_args *a = userdata;
        struct selection *sel = &a->sel;
        const char *verb = a->verb, *bad;
        size_t bad_len;

        switch (c) {
        case 's':
                if (sockfmt_states_parse(arg, &sel->states, &bad, &bad_len) < 0) {
                        if (bad_len == 0)
                                return fail(EXIT_USAGE, "%s: --state needs a comma separated list of states "
                                            "(fin-wait-1, last-ack, closing, fin-wait-2, close-wait)", verb);
                        return fail(EXIT_USAGE, "%s: unknown state '%.*s' (known: fin-wait-1, last-ack, closing, "
                                    "fin-wait-2, close-wait)", verb, (int) bad_len, bad);
                }
                sel->have_state = true;
                return PARSED;
        case 'o':
                if (parse_duration(arg, &sel->older_than) < 0)
                        return fail(EXIT_USAGE, "%s: --older-than '%s' is not a duration (e.g. 30s, 5min, 2h)", verb,
                                    arg);
                sel->have_older = true;
                return PARSED;
        case '4':
                sel->v4 = true;
                return PARSED;
        case '6':
                sel->v6 = true;
                return PARSED;
        case 'n':
                sel->no_daemon = true;
                return PARSED;
        case 'N':
                if (!*arg)
                        return fail(EXIT_USAGE, "%s: --netns needs host, all, or names of network namespaces", verb);
                sel->netns = strcmp(arg, "host") == 0 ? NULL : arg;
                return PARSED;
        case 'u':
                if (!*arg)
                        return fail(EXIT_USAGE, "%s: --unit needs a unit name (e.g. nginx.service)", verb);
                sel->unit = arg;
                return PARSED;
        case ARG_CONTAINER:
                if (container_sel_parse(arg, &sel->container) < 0)
                        return fail(EXIT_USAGE, "%s: --container '%s' is not a container ID or its first hex digits "
                                    "(e.g. 0123abcd4567, containerd://0123abcd4567, a user's "
                                    "user@1000.service/0123abcd4567)", verb, arg);
                sel->have_container = true;
                return PARSED;
        case ARG_POD:
                if (pod_uid_parse(arg, sel->pod) < 0)
                        return fail(EXIT_USAGE, "%s: --pod '%s' is not a pod UID (e.g. "
                                    "1234abcd-5678-4ef0-9abc-def012345678, as kubectl get pod -o "
                                    "jsonpath='{.metadata.uid}' shows it)", verb, arg);
                sel->have_pod = true;
                return PARSED;
        default:
                return fail(EXIT_USAGE, "%s: unknown option (see '%s %s --help')", verb, program, verb);
        }
}

/* Gather what the selection names (hook: each row as it is made, may be
 * NULL); an exit code. */
static int gather_or_fail(const struct verb_args *a, const struct gather_hook *hook, struct gathered *g) {
        char err[256] = "";
        int r;

        r = gather(&a->sel, arg_socket, !a->sel.no_daemon, hook, g, err, sizeof(err));
        if (r < 0)
                return diag_error(err, r);
        if (g->netns_unwatched.denied)
                fprintf(stderr, "%s: %s: %u network namespace%s left out: permission denied (entering needs "
                        "CAP_SYS_ADMIN, and CAP_SYS_PTRACE for other users' processes)\n", program, a->verb,
                        g->netns_unwatched.denied, g->netns_unwatched.denied == 1 ? "" : "s");
        if (g->netns_unwatched.not_netns) {
                char names[ESCAPE_MAX_PER_BYTE * NETNS_NAMES_MAX + 1];

                fprintf(stderr, "%s: %s: %u entr%s of /run/netns left out: not a network namespace: %s\n", program,
                        a->verb, g->netns_unwatched.not_netns, g->netns_unwatched.not_netns == 1 ? "y" : "ies",
                        escape_cut(names, sizeof(names), g->netns_unwatched.not_netns_names));
        }
        if (g->netns_unwatched.no_fds)
                fprintf(stderr, "%s: %s: %u network namespace%s left out: out of file descriptors (ulimit -n)\n",
                        program, a->verb, g->netns_unwatched.no_fds, g->netns_unwatched.no_fds == 1 ? "" : "s");
        /* kill: no way around a daemon that runs, or its record of who killed what is lost */
        if (g->daemon_runs && !g->have_daemon && strcmp(a->verb, "kill") == 0)
                return fail(EXIT_FAILURE_RUNTIME, "kill: %s; nothing killed (--no-daemon kills without it, "
                            "recorded in the journal by finwatch)", g->daemon_note);
        if (g->daemon_note[0])
                fprintf(stderr, "%s: %s: %s; the kernel's snapshot alone, ages from its fields\n", program,
                        a->verb, g->daemon_note);
        return EXIT_OK;
}

/* ---- list ---- */

enum { ARG_SUMMARY = 0x100 };

static int list_option(int c, const char *arg, void *userdata) {
        struct verb_args *a = userdata;

        if (c == 'j') {
                a->json = true;
                return PARSED;
        }
        if (c == ARG_SUMMARY) {
                a->summary = true;
                return PARSED;
        }
        if (c == 'P') {
                a->sel.processes = true;
                return PARSED;
        }
        return selection_option(c, arg, userdata);
}

/* list --summary: the selected rows, grouped. An exit code when grouping
 * failed (said), -errno when writing did. */
static int write_summary(const struct verb_args *a, const struct gathered *g) {
        _cleanup_(summary_done) struct summary s = {};
        int r;

        r = summary_build(&s, g->rows, g->order, g->n);
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "list --summary: grouping %zu sockets: %s", g->n, strerror(-r));
        return a->json ? summary_json(stdout, &s) : summary_table(stdout, &s, a->sel.netns ? OUTPUT_NETNS : 0);
}

static void table_add_row(void *userdata, const struct row *row, size_t index) {
        output_table_add(userdata, row, index);
}

/* How --processes reads (FINWATCH_PROCESS_LOOKUP): "bpf" or "proc" alone,
 * else BPF where it loads and procfs otherwise. */
static int processes_via(enum owner_via *ret) {
        const char *v = getenv("FINWATCH_PROCESS_LOOKUP");

        if (!v || !*v)
                *ret = OWNER_VIA_ANY;
        else if (strcmp(v, "bpf") == 0)
                *ret = OWNER_VIA_BPF;
        else if (strcmp(v, "proc") == 0)
                *ret = OWNER_VIA_PROC;
        else
                return fail(EXIT_USAGE, "FINWATCH_PROCESS_LOOKUP='%s': bpf or proc (or unset: BPF where it loads)", v);
        return EXIT_OK;
}

/* FINWATCH_PROCESS_LOOKUP=bpf and the iterator could not be read: why. */
static int processes_failed(int r) {
        const char *why;

        switch (-r) {
        case EPERM:
        case EACCES:
                why = "loading BPF needs CAP_BPF and CAP_PERFMON (root)";
                break;
        case EOPNOTSUPP:
                why = "this finwatch was built without BPF (meson -Dbpf=disabled)";
                break;
        case EXDEV:
                why = "/proc is not this pid namespace's (mount one of its own)";
                break;
        case ENOMEM:
                why = "out of memory";
                break;
        default:
                why = "the kernel refused the iterator (it needs Linux 5.17+ with BTF)";
        }
        return fail(EXIT_FAILURE_RUNTIME, "list --processes: the lookup by BPF (FINWATCH_PROCESS_LOOKUP=bpf) failed: "
                    "%s: %s", why, strerror(-r));
}

static int verb_list(int argc, char **argv) {
        static const struct option options[] = {
                SELECTION_OPTIONS,
                { "json",       no_argument,       NULL, 'j' },
                { "summary",    no_argument,       NULL, ARG_SUMMARY },
                { "processes",  no_argument,       NULL, 'P' },
                {}
        };
        struct verb_args a = { .verb = "list", .sel = SELECTION_DEFAULT };
        _cleanup_(gathered_done) struct gathered g = {};
        _cleanup_(output_table_freep) struct output_table *table = NULL;
        struct gather_hook hook = {};
        int r;

        r = parse_options("list", argc, argv, SELECTION_SHORT "jP", options, list_option, &a, usage_list);
        if (r != PARSED)
                return r;
        if (a.sel.processes && (r = processes_via(&a.sel.processes_via)) != EXIT_OK)
                return r;
        /* The table's cells made as each row comes, while it is in the
         * cache; with --processes, once they are known, after. */
        if (!a.summary && !a.json) {
                r = output_table_new(&table, (a.sel.netns ? OUTPUT_NETNS : 0) |
                                             (a.sel.processes ? OUTPUT_PROCESSES : 0));
                if (r < 0)
                        return fail(EXIT_FAILURE_RUNTIME, "out of memory");
                if (!a.sel.processes)
                        hook = (struct gather_hook) { .row = table_add_row, .userdata = table, .rows_unkept = true };
        }
        r = gather_or_fail(&a, hook.row ? &hook : NULL, &g);
        if (r != EXIT_OK)
                return r;
        if (g.processes_error < 0)
                return processes_failed(g.processes_error);
        if (table && !hook.row) {
                /* the rows in the display order, a socket the dumps gave
                 * twice once (order is then NULL; kept if memory ran out,
                 * over all the rows made) */
                gathered_sort(&g);
                for (size_t i = 0; i < g.n_rows; i++)
                        output_table_add(table, &g.rows[i], i);
        }
        r = a.summary ? write_summary(&a, &g)
            : a.json  ? output_json(stdout, g.rows, g.order, g.n, now_usec(CLOCK_REALTIME))
                      : output_table_write(table, stdout, g.order, g.n);
        if (r > 0)
                return r; /* said already */
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "writing output: %s", strerror(-r));
        return EXIT_OK;
}

/* ---- kill ---- */

static int kill_option(int c, const char *arg, void *userdata) {
        struct verb_args *a = userdata;

        switch (c) {
        case 'l':
                if (gather_parse_endpoint(arg, &a->sel.local) < 0)
                        return fail(EXIT_USAGE, "kill: --local '%s' is not ADDR[:PORT] (e.g. 10.0.0.1:445, "
                                    "[::1]:80, :80)", arg);
                return PARSED;
        case 'p':
                if (gather_parse_endpoint(arg, &a->sel.peer) < 0)
                        return fail(EXIT_USAGE, "kill: --peer '%s' is not ADDR[:PORT] (e.g. 10.0.0.2, "
                                    "[2001:db8::1]:1094, :1094)", arg);
                return PARSED;
        case 'c':
                if (parse_u64(arg, &a->sel.cookie) < 0 || a->sel.cookie == 0)
                        return fail(EXIT_USAGE, "kill: --cookie '%s' is not a socket cookie (a number from "
                                    "finwatch list)", arg);
                a->sel.have_cookie = true;
                return PARSED;
        case 'd':
                a->dry_run = true;
                return PARSED;
        case 'y':
                a->yes = true;
                return PARSED;
        default:
                return selection_option(c, arg, userdata);
        }
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

/* kill --container takes an ID's first digits, as docker and podman do, and
 * as they do refuses digits that name more than one container - among the
 * sockets selected: a prefix too short is a mistake, not a wish to kill in
 * every container it fits. */
static int one_container(const struct gathered *g, const struct selection *sel) {
        char first[CONTAINER_SHORT_NAME_MAX], second[CONTAINER_SHORT_NAME_MAX];
        const char *a, *b;

        if (!sel->have_container || gather_containers_distinct(g->rows, g->n, &a, &b) < 2)
                return EXIT_OK;
        return fail(EXIT_USAGE, "kill: --container %s: the selected sockets are in more than one container (%s, "
                    "%s, ...): nothing killed; give more of the ID", sel->container.prefix,
                    container_name_short(a, first), container_name_short(b, second));
}

static bool confirm(size_t n) {
        char answer[16];

        fprintf(stderr, "Kill %zu socket%s? [y/N] ", n, n == 1 ? "" : "s");
        fflush(stderr);
        if (!fgets(answer, sizeof(answer), stdin))
                return false;
        return answer[0] == 'y' || answer[0] == 'Y';
}

static int verb_kill(int argc, char **argv) {
        static const struct option options[] = {
                SELECTION_OPTIONS,
                { "local",      required_argument, NULL, 'l' },
                { "peer",       required_argument, NULL, 'p' },
                { "cookie",     required_argument, NULL, 'c' },
                { "dry-run",    no_argument,       NULL, 'd' },
                { "yes",        no_argument,       NULL, 'y' },
                {}
        };
        struct verb_args a = { .verb = "kill", .sel = SELECTION_DEFAULT };
        _cleanup_(gathered_done) struct gathered g = {};
        _cleanup_(freep) int *results = NULL;
        const struct selection *sel = &a.sel;
        char err[256] = "";
        size_t n, failed = 0;
        int r, unrecorded;

        r = parse_options("kill", argc, argv, SELECTION_SHORT "l:p:c:dy", options, kill_option, &a, usage_kill);
        if (r != PARSED)
                return r;
        if (!sel->have_state && !sel->have_older && !sel->unit && !sel->have_container && !sel->have_pod &&
            !sel->local.set && !sel->peer.set && !sel->have_cookie)
                return fail(EXIT_USAGE, "kill: say which sockets: --state, --older-than, --unit, --container, --pod, "
                            "--local, --peer or --cookie");
        r = gather_or_fail(&a, NULL, &g);
        if (r != EXIT_OK)
                return r;
        n = g.n; /* gather() kept only what the selection wants */
        gathered_sort(&g); /* what is killed, said in order */
        if (n == 0) {
                fprintf(stderr, "%s: kill: no stuck socket matches\n", program);
                return EXIT_OK;
        }
        r = one_container(&g, sel);
        if (r != EXIT_OK)
                return r;

        if (a.dry_run) {
                for (size_t i = 0; i < n; i++)
                        print_result(&g.rows[i], 0, true);
                return EXIT_OK;
        }
        if (!a.yes) {
                if (!isatty(STDIN_FILENO))
                        return fail(EXIT_USAGE, "kill: %zu socket%s selected; not on a terminal, so nothing is "
                                    "killed without --yes", n, n == 1 ? "" : "s");
                output_table(stderr, g.rows, NULL, n, sel->netns ? OUTPUT_NETNS : 0);
                if (!confirm(n)) {
                        fprintf(stderr, "%s: kill: nothing killed\n", program);
                        return EXIT_OK;
                }
        }

        results = calloc(n, sizeof(*results));
        if (!results)
                return fail(EXIT_FAILURE_RUNTIME, "out of memory");
        r = destroy_rows(&g, g.have_daemon ? arg_socket : NULL, results, &unrecorded, err, sizeof(err));
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "kill: %s", err);
        if (unrecorded < 0)
                fprintf(stderr, "%s: kill: the journal did not take the record of every kill: %s\n", program,
                        strerror(-unrecorded));

        for (size_t i = 0; i < n; i++) {
                print_result(&g.rows[i], results[i], false);
                if (results[i] < 0 && results[i] != -ENOENT)
                        failed++;
        }
        /* the reason once, as a sentence, when every kill failed the same way */
        if (failed == n && (results[0] == -EOPNOTSUPP || results[0] == -EPERM))
                fprintf(stderr, "%s: kill: %s\n", program, diag_kill_strerror(results[0]));
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

static int status_option(int c, const char *arg, void *userdata) {
        struct verb_args *a = userdata;

        if (c != 'j')
                return fail(EXIT_USAGE, "status: unknown option (see '%s status --help')", program);
        a->json = true;
        return PARSED;
}

static int verb_status(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        struct verb_args a = { .verb = "status" };
        struct proto_status st;
        char err[256] = "";
        int r, fd;

        r = parse_options("status", argc, argv, "j", options, status_option, &a, usage_status);
        if (r != PARSED)
                return r;
        fd = connect_daemon("status");
        if (fd < 0)
                return EXIT_FAILURE_RUNTIME;
        r = client_status(fd, &st, err, sizeof(err));
        close(fd);
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "status: %s", err[0] ? err : strerror(-r));
        r = output_status(stdout, &st, a.json);
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "writing output: %s", strerror(-r));
        return EXIT_OK;
}

static int no_option(int c, const char *arg, void *userdata) {
        return fail(EXIT_USAGE, "unknown option");
}

static int verb_reload(int argc, char **argv) {
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                {}
        };
        char err[256] = "";
        int r, fd;

        r = parse_options("reload", argc, argv, "", options, no_option, NULL, usage_reload);
        if (r != PARSED)
                return r;
        fd = connect_daemon("reload");
        if (fd < 0)
                return EXIT_FAILURE_RUNTIME;
        r = client_reload(fd, err, sizeof(err));
        close(fd);
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "reload: %s", err[0] ? err : strerror(-r));
        return EXIT_OK;
}

/* ---- the options before the verb ---- */

enum { ARG_SOCKET = 0x100 };

static int main_option(int c, const char *arg, void *userdata) {
        switch (c) {
        case 'V':
                printf("finwatch %s\n", FW_VERSION);
                return EXIT_OK;
        case ARG_SOCKET:
                arg_socket = arg;
                return PARSED;
        default:
                return fail(EXIT_USAGE, "unknown option (see '%s --help')", program);
        }
}

int main(int argc, char **argv) {
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
        int r;

        if (getenv("FINWATCH_SOCKET"))
                arg_socket = getenv("FINWATCH_SOCKET");

        /* '+': stop at the verb; its options are its own */
        r = parse_options(NULL, argc, argv, "V", options, main_option, NULL, usage_main);
        if (r != PARSED)
                return r;
        /* as finwatchd's control_socket: "" would be an abstract socket named by NULs */
        if (arg_socket[0] != '/')
                return fail(EXIT_USAGE, "the control socket '%s' is not an absolute path (--socket, FINWATCH_SOCKET)",
                            arg_socket);
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
