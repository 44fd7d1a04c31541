/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finwatch: show (and later remove) TCP sockets stuck in closing states. */
#include <getopt.h>
#include <stdarg.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "diag.h"
#include "fw-config.h"
#include "output.h"
#include "sockfmt.h"
#include "util.h"

enum {
        EXIT_OK = 0,
        EXIT_FAILURE_RUNTIME = 1,
        EXIT_USAGE = 2,
};

static const char *program = "finwatch";

static void usage_main(FILE *f) {
        fprintf(f,
                "Usage: %s [--help] [--version] COMMAND [OPTIONS]\n"
                "\n"
                "Find TCP connections stuck in FIN_WAIT_1 or LAST_ACK.\n"
                "\n"
                "Commands:\n"
                "  list      show the stuck sockets (netstat-style table or JSON)\n"
                "\n"
                "Run '%s COMMAND --help' for the options of a command.\n",
                program, program);
}

static void usage_list(FILE *f) {
        fprintf(f,
                "Usage: %s list [OPTIONS]\n"
                "\n"
                "Show TCP sockets stuck in closing states, straight from the kernel\n"
                "(netlink sock_diag; the kernel filters by state).\n"
                "\n"
                "Options:\n"
                "  -s, --state LIST   states to show, comma separated: fin-wait-1, last-ack,\n"
                "                     closing, fin-wait-2, close-wait (default: fin-wait-1,last-ack)\n"
                "  -j, --json         print a JSON array instead of the table\n"
                "  -4, --ipv4         only IPv4 sockets\n"
                "  -6, --ipv6         only IPv6 sockets (v4-mapped addresses show as IPv4)\n"
                "  -h, --help         show this help\n"
                "\n"
                "Exit status: 0 ok, 1 failure, 2 usage error.\n",
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

static int verb_list(int argc, char **argv) {
        static const struct option options[] = {
                { "state", required_argument, NULL, 's' },
                { "json",  no_argument,       NULL, 'j' },
                { "ipv4",  no_argument,       NULL, '4' },
                { "ipv6",  no_argument,       NULL, '6' },
                { "help",  no_argument,       NULL, 'h' },
                {}
        };
        _cleanup_(diag_freep) struct diag *d = NULL;
        struct diag_snapshot snap = {};
        uint32_t states = DIAG_STATES_DEFAULT;
        bool json = false, v4 = false, v6 = false;
        int c, r, family;

        opterr = 0;
        optind = 1;
        for (;;) {
                int before = optind;
                char optbuf[3];

                c = getopt_long(argc, argv, ":s:j46h", options, NULL);
                if (c < 0)
                        break;
                switch (c) {
                case 's': {
                        const char *bad;
                        size_t bad_len;

                        if (tcp_states_parse(optarg, &states, &bad, &bad_len) < 0) {
                                if (bad_len == 0)
                                        return fail(EXIT_USAGE, "list: --state needs a comma separated list of states "
                                                    "(fin-wait-1, last-ack, closing, fin-wait-2, close-wait)");
                                return fail(EXIT_USAGE, "list: unknown state '%.*s' (known: fin-wait-1, last-ack, "
                                            "closing, fin-wait-2, close-wait)", (int) bad_len, bad);
                        }
                        break;
                }
                case 'j':
                        json = true;
                        break;
                case '4':
                        v4 = true;
                        break;
                case '6':
                        v6 = true;
                        break;
                case 'h':
                        usage_list(stdout);
                        return EXIT_OK;
                case ':':
                        return fail(EXIT_USAGE, "list: option '%s' needs a value", bad_option(argv, before, optbuf));
                default:
                        return fail(EXIT_USAGE, "list: unknown option '%s' (see '%s list --help')",
                                    bad_option(argv, before, optbuf), program);
                }
        }
        if (optind < argc)
                return fail(EXIT_USAGE, "list: unexpected argument '%s' (see '%s list --help')", argv[optind], program);

        family = v4 == v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6;

        r = diag_open(&d);
        if (r < 0)
                return diag_error("cannot open netlink sock_diag socket", r);

        r = diag_snapshot_take(d, family, states, &snap);
        if (r < 0) {
                diag_snapshot_done(&snap);
                return diag_error("socket dump failed", r);
        }

        output_sort(snap.socks, snap.n);
        r = json ? output_json(stdout, snap.socks, snap.n) : output_table(stdout, snap.socks, snap.n);
        diag_snapshot_done(&snap);
        if (r < 0)
                return fail(EXIT_FAILURE_RUNTIME, "writing output: %s", strerror(-r));
        return EXIT_OK;
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "help",    no_argument, NULL, 'h' },
                { "version", no_argument, NULL, 'V' },
                {}
        };
        const char *verb;
        int c;

        opterr = 0;
        for (;;) {
                int before = optind;
                char optbuf[3];

                /* '+': stop at the command; its options are its own. */
                c = getopt_long(argc, argv, "+hV", options, NULL);
                if (c < 0)
                        break;
                switch (c) {
                case 'h':
                        usage_main(stdout);
                        return EXIT_OK;
                case 'V':
                        printf("finwatch %s\n", FW_VERSION);
                        return EXIT_OK;
                default:
                        return fail(EXIT_USAGE, "unknown option '%s' (see '%s --help')",
                                    bad_option(argv, before, optbuf), program);
                }
        }

        if (optind >= argc)
                return fail(EXIT_USAGE, "missing command (see '%s --help')", program);

        verb = argv[optind];
        if (strcmp(verb, "list") == 0)
                return verb_list(argc - optind, argv + optind);
        if (strcmp(verb, "help") == 0) {
                usage_main(stdout);
                return EXIT_OK;
        }
        return fail(EXIT_USAGE, "unknown command '%s' (see '%s --help')", verb, program);
}
