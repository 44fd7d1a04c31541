/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finwatchd: watch for TCP sockets stuck in closing states.
 *
 * This first version is the scanner alone: every interval it takes a
 * kernel-filtered snapshot and prints what it finds. Tracking, ages, alerts
 * and the control socket build on it. */
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-event.h>

#include "diag.h"
#include "fw-config.h"
#include "sockfmt.h"
#include "util.h"

struct scanner {
        struct diag *diag;
        uint64_t interval;    /* usec */
        uint32_t states;      /* DIAG_STATE_BIT mask */
        int family;           /* AF_UNSPEC for both */
        bool once;
        int status;           /* exit status */
};

static void print_snapshot(const struct diag_snapshot *snap, uint64_t took_usec) {
        unsigned per_state[FW_TCP_MAX_STATES] = {};
        char took[DURATION_STRLEN];

        for (size_t i = 0; i < snap->n; i++)
                per_state[snap->socks[i].state]++;

        printf("%zu stuck sockets (%u FIN_WAIT_1, %u LAST_ACK, %zu other), dump took %s\n",
               snap->n, per_state[FW_TCP_FIN_WAIT1], per_state[FW_TCP_LAST_ACK],
               snap->n - per_state[FW_TCP_FIN_WAIT1] - per_state[FW_TCP_LAST_ACK],
               format_duration(took, sizeof(took), took_usec));

        for (size_t i = 0; i < snap->n; i++) {
                const struct fw_sock *s = &snap->socks[i];
                char local[ENDPOINT_STRLEN], peer[ENDPOINT_STRLEN], timer[TIMER_STRLEN];

                printf("  %-10s %s -> %s timer=%s %s cookie=%" PRIu64 "\n",
                       tcp_state_to_string(s->state),
                       format_endpoint(local, sizeof(local), s->family, s->src, s->sport),
                       format_endpoint(peer, sizeof(peer), s->family, s->dst, s->dport),
                       format_timer(timer, sizeof(timer), s),
                       fw_sock_is_orphan(s) ? "orphan" : "owned", s->cookie);
        }
        fflush(stdout);
}

static int scan(struct scanner *sc) {
        struct diag_snapshot snap = {};
        uint64_t start, end;
        int r;

        start = now_usec(CLOCK_MONOTONIC);
        r = diag_snapshot_take(sc->diag, sc->family, sc->states, &snap);
        if (r < 0) {
                fprintf(stderr, "<3>socket dump failed: %s\n", strerror(-r));
                diag_snapshot_done(&snap);
                return r;
        }
        end = now_usec(CLOCK_MONOTONIC);
        print_snapshot(&snap, end > start ? end - start : 0);
        diag_snapshot_done(&snap);
        return 0;
}

static int on_tick(sd_event_source *s, uint64_t usec, void *userdata) {
        struct scanner *sc = userdata;
        int r;

        r = scan(sc);
        if (sc->once)
                return sd_event_exit(sd_event_source_get_event(s), r < 0 ? 1 : 0);

        r = sd_event_source_set_time(s, usec + sc->interval);
        if (r < 0)
                return r;
        return sd_event_source_set_enabled(s, SD_EVENT_ON);
}

static void usage(FILE *f) {
        fprintf(f,
                "Usage: finwatchd [OPTIONS]\n"
                "\n"
                "Watch for TCP sockets stuck in FIN_WAIT_1 or LAST_ACK and print them\n"
                "every interval.\n"
                "\n"
                "Options:\n"
                "  -i, --interval DURATION  time between polls (500ms, 5s, 1min; default 5s)\n"
                "  -s, --state LIST         states to watch (default fin-wait-1,last-ack)\n"
                "  -4, --ipv4 / -6, --ipv6  one family only\n"
                "      --once               poll once and exit\n"
                "  -h, --help               show this help\n"
                "  -V, --version            show the version\n");
}

static int parse_args(int argc, char **argv, struct scanner *sc) {
        enum { ARG_ONCE = 0x100 };
        static const struct option options[] = {
                { "interval", required_argument, NULL, 'i' },
                { "state",    required_argument, NULL, 's' },
                { "ipv4",     no_argument,       NULL, '4' },
                { "ipv6",     no_argument,       NULL, '6' },
                { "once",     no_argument,       NULL, ARG_ONCE },
                { "help",     no_argument,       NULL, 'h' },
                { "version",  no_argument,       NULL, 'V' },
                {}
        };
        bool v4 = false, v6 = false;
        int c;

        while ((c = getopt_long(argc, argv, "i:s:46hV", options, NULL)) >= 0) {
                switch (c) {
                case 'i':
                        if (parse_duration(optarg, &sc->interval) < 0 || sc->interval < 10 * USEC_PER_MSEC) {
                                fprintf(stderr, "finwatchd: invalid --interval '%s' (a duration of at least 10ms, e.g. 5s)\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case 's':
                        if (tcp_states_parse(optarg, &sc->states, NULL, NULL) < 0) {
                                fprintf(stderr, "finwatchd: invalid --state '%s' (fin-wait-1, last-ack, closing, fin-wait-2, close-wait)\n", optarg);
                                return -EINVAL;
                        }
                        break;
                case '4':
                        v4 = true;
                        break;
                case '6':
                        v6 = true;
                        break;
                case ARG_ONCE:
                        sc->once = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        printf("finwatchd %s\n", FW_VERSION);
                        return 0;
                default:
                        /* getopt said what was wrong */
                        return -EINVAL;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "finwatchd: unexpected argument '%s'\n", argv[optind]);
                return -EINVAL;
        }
        sc->family = v4 == v6 ? AF_UNSPEC : v4 ? AF_INET : AF_INET6;
        return 1;
}

int main(int argc, char **argv) {
        struct scanner sc = {
                .interval = 5 * USEC_PER_SEC,
                .states = DIAG_STATES_DEFAULT,
        };
        sd_event *e = NULL;
        sd_event_source *timer = NULL;
        sigset_t mask;
        int r, status = 1;

        r = parse_args(argc, argv, &sc);
        if (r <= 0)
                return r < 0 ? 2 : 0;

        r = diag_open(&sc.diag);
        if (r < 0) {
                fprintf(stderr, "<3>netlink sock_diag unavailable: %s\n", strerror(-r));
                return 1;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGTERM);
        sigaddset(&mask, SIGINT);
        sigprocmask(SIG_BLOCK, &mask, NULL);

        r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_time_relative(e, &timer, CLOCK_MONOTONIC, 0, 1, on_tick, &sc);
        if (r >= 0)
                r = sd_event_loop(e);
        if (r < 0)
                fprintf(stderr, "<3>event loop failed: %s\n", strerror(-r));
        else
                status = r;

        sd_event_source_unref(timer);
        sd_event_unref(e);
        diag_free(sc.diag);
        return status;
}
