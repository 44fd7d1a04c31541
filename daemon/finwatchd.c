/* SPDX-License-Identifier: GPL-2.0-or-later */
/* finwatchd: track TCP sockets stuck in closing states, measure how long
 * each has been stuck, and alert through journald. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "fw-config.h"
#include "log.h"
#include "manager.h"
#include "requests.h"
#include "util.h"

static void usage(FILE *f) {
        fprintf(f,
                "Usage: finwatchd [OPTIONS]\n"
                "\n"
                "Track TCP sockets stuck in FIN_WAIT_1 or LAST_ACK, measure how long each\n"
                "has been stuck, and alert through journald.\n"
                "\n"
                "Options:\n"
                "  -c, --config FILE   configuration file (default " CONFIG_DEFAULT_PATH ")\n"
                "  -n, --check-config  print the effective configuration, or the error, and exit\n"
                "  -h, --help          show this help\n"
                "  -V, --version       show the version\n"
                "\n"
                "Signals: SIGHUP reloads the configuration, SIGTERM and SIGINT stop.\n");
}

int main(int argc, char **argv) {
        static const struct option options[] = {
                { "config",       required_argument, NULL, 'c' },
                { "check-config", no_argument,       NULL, 'n' },
                { "help",         no_argument,       NULL, 'h' },
                { "version",      no_argument,       NULL, 'V' },
                {}
        };
        _cleanup_(manager_freep) struct manager *m = NULL;
        const char *config_path = CONFIG_DEFAULT_PATH;
        bool check = false;
        struct config config;
        char err[512] = "";
        int c, r;

        while ((c = getopt_long(argc, argv, "c:nhV", options, NULL)) >= 0) {
                switch (c) {
                case 'c':
                        config_path = optarg;
                        break;
                case 'n':
                        check = true;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                case 'V':
                        printf("finwatchd %s\n", FW_VERSION);
                        return 0;
                default:
                        /* getopt said what was wrong, in one line */
                        return 2;
                }
        }
        if (optind < argc) {
                fprintf(stderr, "finwatchd: unexpected argument '%s' (see finwatchd --help)\n", argv[optind]);
                return 2;
        }

        r = config_load(config_path, &config, err, sizeof(err));
        if (r == -ENOENT) {
                config_defaults(&config);
                if (!check)
                        log_notice("%s does not exist, using the defaults", config_path);
        } else if (r < 0) {
                if (check)
                        fprintf(stderr, "finwatchd: %s\n", err);
                else
                        log_error("bad configuration: %s", err);
                return 1;
        }

        if (check) {
                if (r == -ENOENT)
                        printf("# %s does not exist: the defaults\n", config_path);
                config_print(stdout, &config);
                return 0;
        }

        r = manager_new(&m, &config, config_path, requests_handle);
        if (r < 0)
                return 1;
        return manager_run(m);
}
