/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finwatch's help texts: one per verb, what --help prints. */
#include <stdio.h>

#include "proto.h"
#include "usage.h"

const char *const program = "finwatch";

void usage_main(FILE *f) {
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

void usage_list(FILE *f) {
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
                "  -o, --older-than DURATION only sockets stuck at least this long (the lower bound of\n"
                "                            their age; of unknown age: never)\n"
                "  -j, --json                print a JSON array instead of the table\n"
                "      --summary             count the sockets instead, by peer address, peer /24\n"
                "                            or /64, local port, unit and cause: count, oldest age,\n"
                "                            how many the kernel never reaps and when it reaps the\n"
                "                            rest (10 groups each; with --json, all of them; with\n"
                "                            --netns, by namespace too)\n"
                "  -4, --ipv4                only IPv4 sockets\n"
                "  -6, --ipv6                only IPv6 sockets (v4-mapped addresses show as IPv4)\n"
                "  -u, --unit NAME           only sockets of this systemd unit (e.g. nginx.service;\n"
                "                            a user's: user@1000.service/nginx.service)\n"
                "      --container ID        only sockets of the system's container whose ID starts\n"
                "                            so (Docker, containerd, CRI-O, podman; 0123abcd4567,\n"
                "                            containerd://0123abcd4567; a user's rootless one:\n"
                "                            user@1000.service/0123abcd4567)\n"
                "      --pod UID             only sockets of this Kubernetes pod (its UID)\n"
                "  -N, --netns WHICH         network namespaces: host (default), all, or names (root)\n"
                "  -P, --processes           a Process column: the pid and command holding each owned\n"
                "                            socket (as ss -p), read by a BPF iterator as root, else\n"
                "                            from the descriptors in procfs (costly where the owners\n"
                "                            hold many connections; FINWATCH_PROCESS_LOOKUP=bpf|proc\n"
                "                            picks one); not by default\n"
                "  -n, --no-daemon           do not ask finwatchd: the kernel's snapshot alone\n"
                "  -h, --help                show this help\n"
                "\n"
                "Exit status: 0 ok, 1 failure, 2 usage error.\n",
                program);
}

void usage_kill(FILE *f) {
        fprintf(f,
                "Usage: %s kill SELECTOR... [OPTIONS]\n"
                "\n"
                "Remove stuck sockets with the kernel's SOCK_DESTROY, by their cookie, so a\n"
                "newer connection on the same addresses is never hit. Only sockets in the\n"
                "closing states are ever touched. Selectors combine with AND; at least one:\n"
                "  -s, --state LIST          fin-wait-1, last-ack, closing, fin-wait-2, close-wait\n"
                "                            (default: fin-wait-1,last-ack)\n"
                "  -o, --older-than DURATION stuck at least this long (the lower bound of their age;\n"
                "                            of unknown age: never)\n"
                "  -u, --unit NAME           sockets of this systemd unit (e.g. nginx.service;\n"
                "                            a user's: user@1000.service/nginx.service)\n"
                "      --container ID        sockets of the container whose ID starts so, as for\n"
                "                            list (refused when the sockets selected are in more\n"
                "                            than one container)\n"
                "      --pod UID             sockets of this Kubernetes pod (its UID)\n"
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

void usage_status(FILE *f) {
        fprintf(f,
                "Usage: %s status [--json]\n"
                "\n"
                "Show finwatchd's version, uptime, configuration, poll interval and\n"
                "duration, tracked sockets per state, alerts and kills so far, and whether\n"
                "the kernel can kill sockets.\n",
                program);
}

void usage_reload(FILE *f) {
        fprintf(f,
                "Usage: %s reload\n"
                "\n"
                "Make finwatchd re-read its configuration file (root, or finwatchd's own\n"
                "user, as the unit's ExecReload= does). Exit status 1 when the file is\n"
                "refused: the running configuration stays.\n",
                program);
}
