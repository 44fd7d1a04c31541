/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>

#include "config.h"
#include "diag.h"
#include "test.h"
#include "util.h"

static char err[512];

static int parse_text(const char *text, struct config *c) {
        FILE *f = fmemopen((void *) text, strlen(text), "r");
        int r;

        err[0] = '\0';
        r = config_parse(f, "test.conf", c, err, sizeof(err));
        fclose(f);
        return r;
}

static void expect_error(const char *text, const char *message) {
        struct config c;

        config_defaults(&c);
        if (parse_text(text, &c) != -EINVAL || !strstr(err, message)) {
                fprintf(stderr, "config %s: got \"%s\", expected \"%s\"\n", text, err, message);
                test_failures++;
        }
}

static void test_defaults(const char *shipped) {
        struct config d, c;
        char e[512];

        config_defaults(&d);
        CHECK_INT(d.interval, 5 * USEC_PER_SEC);
        CHECK_INT(d.states, DIAG_STATES_DEFAULT);
        CHECK_INT(d.families, CONFIG_FAMILY_IPV4 | CONFIG_FAMILY_IPV6);
        CHECK_INT(d.alert_after, 2 * USEC_PER_MIN);
        CHECK_INT(d.alert_repeat, 0);
        CHECK_INT(d.alert_max_per_minute, 60);
        CHECK_STR(d.state_file, "/run/finwatch/state");

        /* The shipped file states the defaults, exactly. */
        CHECK_INT(config_load(shipped, &c, e, sizeof(e)), 0);
        CHECK(memcmp(&c, &d, sizeof(c)) == 0);

        CHECK_INT(config_load("/nonexistent/finwatch.conf", &c, e, sizeof(e)), -ENOENT);
        /* an empty file is the defaults too */
        CHECK_INT(parse_text("", &c), 0);
        CHECK(memcmp(&c, &d, sizeof(c)) == 0);
}

static void test_good_values(void) {
        struct config c;

        CHECK_INT(parse_text("[monitor]\ninterval = 500ms\nstates = last-ack\nfamilies = ipv6\n"
                             "[alert]\nafter = 1min 30s\nrepeat = 2h\nmax_per_minute = 5\n"
                             "[daemon]\nstate_file =\n", &c), 0);
        CHECK_INT(c.interval, 500 * USEC_PER_MSEC);
        CHECK_INT(c.states, DIAG_STATE_BIT(FW_TCP_LAST_ACK));
        CHECK_INT(c.families, CONFIG_FAMILY_IPV6);
        CHECK_INT(c.alert_after, 90 * USEC_PER_SEC);
        CHECK_INT(c.alert_repeat, 2 * USEC_PER_HOUR);
        CHECK_INT(c.alert_max_per_minute, 5);
        CHECK_STR(c.state_file, "");

        CHECK_INT(parse_text("; comment\n# comment\n\n[alert]\nafter = 0\nrepeat = off ; inline comment\n", &c), 0);
        CHECK_INT(c.alert_after, 0);
        CHECK_INT(c.alert_repeat, 0);
        CHECK_INT(parse_text("[monitor]\nfamilies = ipv4, ipv6\ninterval = 1h\n", &c), 0);
        CHECK_INT(c.families, CONFIG_FAMILY_IPV4 | CONFIG_FAMILY_IPV6);
        CHECK_INT(c.interval, USEC_PER_HOUR);
        CHECK_INT(parse_text("[monitor]\nstates = fin-wait-1,last-ack,closing,fin-wait-2,close-wait\n", &c), 0);
        CHECK_INT(c.states, DIAG_STATES_CLOSING);
        CHECK_INT(parse_text("[daemon]\nstate_file = /var/lib/x/state\n", &c), 0);
        CHECK_STR(c.state_file, "/var/lib/x/state");
        CHECK_INT(parse_text("[daemon]\ncontrol_socket = /tmp/x/control\n", &c), 0);
        CHECK_STR(c.control_socket, "/tmp/x/control");

        CHECK_INT(parse_text("[kill]\nauto = dry-run\nafter = 20min\nafter_fin_wait_1 = 1h\nafter_last_ack = 5min\n"
                             "max_per_minute = 7\nexclude_ports = 22, 8000-8002\nonly_ports = 445\n"
                             "exclude_peers = 10.0.0.0/8, 2001:db8::/32, 192.0.2.7\n", &c), 0);
        CHECK_INT(c.kill_auto, KILL_POLICY_DRY_RUN);
        CHECK_INT(c.kill_after, 20 * USEC_PER_MIN);
        CHECK_INT(config_kill_after(&c, FW_TCP_FIN_WAIT1), USEC_PER_HOUR);
        CHECK_INT(config_kill_after(&c, FW_TCP_LAST_ACK), 5 * USEC_PER_MIN);
        CHECK_INT(config_kill_after(&c, FW_TCP_CLOSING), 20 * USEC_PER_MIN);
        CHECK_INT(c.kill_max_per_minute, 7);
        CHECK(portset_has(&c.kill_exclude_ports, 22) && portset_has(&c.kill_exclude_ports, 8001) &&
              !portset_has(&c.kill_exclude_ports, 8003) && !portset_has(&c.kill_exclude_ports, 21));
        CHECK(c.kill_only_ports.any && portset_has(&c.kill_only_ports, 445));
        CHECK_INT(c.n_kill_exclude_peers, 3);
        CHECK_INT(c.kill_exclude_peers[2].prefix, 32);
        CHECK(!c.kill_blocking); /* off by default */
        CHECK_INT(parse_text("[kill]\nblocking = yes\n", &c), 0);
        CHECK(c.kill_blocking);
        CHECK_INT(parse_text("[kill]\nblocking = no\n", &c), 0);
        CHECK(!c.kill_blocking);
        expect_error("[kill]\nblocking = maybe\n", "not one of yes, no");
        CHECK_INT(parse_text("[alert]\norphan_budget = 0.05%\n", &c), 0);
        CHECK_INT(c.orphan_budget_bp, 5);
        CHECK_INT(parse_text("[alert]\norphan_budget = 75%\n", &c), 0);
        CHECK_INT(c.orphan_budget_bp, 7500);
        CHECK_INT(parse_text("[alert]\norphan_budget = 2.5%\n", &c), 0);
        CHECK_INT(c.orphan_budget_bp, 250);
        CHECK_INT(parse_text("[alert]\norphan_budget = off\n", &c), 0);
        CHECK_INT(c.orphan_budget_bp, 0);
        CHECK_INT(parse_text("[kill]\nauto = yes\nexclude_ports =\n", &c), 0);
        CHECK_INT(c.kill_auto, KILL_POLICY_YES);
        CHECK(!c.kill_exclude_ports.any);
}

static void test_bad_values(void) {
        expect_error("[monitor]\ninterval = 5 parsecs\n", "test.conf:2: [monitor] interval = 5 parsecs: not a duration");
        expect_error("[monitor]\ninterval = 5ms\n", "test.conf:2: [monitor] interval = 5ms: out of range");
        expect_error("[monitor]\ninterval = 2h\n", "out of range (10ms to 1h)");
        expect_error("[monitor]\ninterval =\n", "not a duration");
        expect_error("[monitor]\nstates = established\n", "[monitor] states = established: not a list of states");
        expect_error("[monitor]\nstates =\n", "not a list of states");
        expect_error("[monitor]\nfamilies = ipx\n", "not a list of families");
        expect_error("[monitor]\nfamilies = ,\n", "not a list of families");
        expect_error("[alert]\nafter = -1s\n", "[alert] after = -1s: not a duration");
        expect_error("[alert]\nafter = 31d\n", "out of range (0 to 30d)");
        expect_error("[alert]\nrepeat = 500ms\n", "out of range (off, or 1s to 30d)");
        expect_error("[alert]\nrepeat = never\n", "not a duration");
        expect_error("[alert]\nmax_per_minute = 0\n", "out of range (1 to 100000)");
        expect_error("[alert]\nmax_per_minute = ten\n", "not a whole number");
        expect_error("[alert]\nmax_per_minute = 99999999999999999999\n", "not a whole number");
        expect_error("[daemon]\nstate_file = relative/path\n", "not an absolute path");
        expect_error("[daemon]\ncontrol_socket =\n", "not an absolute path (the control socket needs one)");
        expect_error("[daemon]\ncontrol_socket = run/x\n", "not an absolute path");
        expect_error("[daemon]\ncontrol_socket = /a/very/long/path/that/does/not/fit/in/sun_path/at/all/because/it/"
                     "goes/on/and/on/and/on/and/on/and/on/and/on/x\n", "too long");
        expect_error("[alert]\norphan_budget = 101%\n", "out of range (0.01% to 100%, or off)");
        expect_error("[alert]\norphan_budget = 0%\n", "out of range");
        expect_error("[alert]\norphan_budget = 50\n", "not a share");
        expect_error("[alert]\norphan_budget = half\n", "not a share");
        expect_error("[kill]\nauto = maybe\n", "[kill] auto = maybe: not one of no, dry-run, yes");
        expect_error("[kill]\nafter = 0\n", "out of range (1s to 30d)");
        expect_error("[kill]\nexclude_ports = 0\n", "port out of range");
        expect_error("[kill]\nexclude_ports = 70000\n", "port out of range");
        expect_error("[kill]\nexclude_ports = 90-80\n", "port out of range");
        expect_error("[kill]\nonly_ports = http\n", "not a list of ports");
        expect_error("[kill]\nexclude_peers = 10.0.0.0/33\n", "bad prefix length");
        expect_error("[kill]\nexclude_peers = example.com\n", "not a list of networks");
        /* unknown keys and sections, even empty ones, and keys outside sections */
        expect_error("[alert]\nafter = 1s\nfoo = 2\n", "test.conf:3: [alert] foo: unknown key");
        expect_error("[monitor]\ninterval = 1s\n[bogus]\n", "test.conf:3: [bogus]: unknown section");
        expect_error("interval = 1s\n", "test.conf:1: interval: key outside of any section");
        /* the same key twice, or continued on an indented line */
        expect_error("[alert]\nafter = 1s\nafter = 2s\n", "test.conf:3: [alert] after: set twice");
        expect_error("[alert]\nafter = 1s\n  2s\n", "test.conf:3: [alert] after: set twice");
        /* lines inih cannot take */
        expect_error("[alert]\njunk\n", "test.conf:2: syntax error");
        expect_error("[alert\n", "test.conf:1: syntax error");
        /* the first error is the one reported, whichever kind it is */
        expect_error("[alert]\njunk\nafter = soon\n", "test.conf:2: syntax error");
        expect_error("[alert]\nafter = soon\njunk\n", "test.conf:2: [alert] after = soon: not a duration");
        /* a byte order mark does not hide an unknown section */
        expect_error("\xEF\xBB\xBF[bogus]\n[alert]\nafter = 1s\n", "test.conf:1: [bogus]: unknown section");
}

static void test_long_lines(void) {
        char text[512];
        struct config c;

        /* 198 characters is the most; 199 is refused, not cut */
        snprintf(text, sizeof(text), "[daemon]\nstate_file = /%s\n", "");
        {
                char line[256];
                size_t prefix = strlen("state_file = /");
                memset(line, 'a', sizeof(line));
                memcpy(line, "state_file = /", prefix);
                line[198] = '\0';
                snprintf(text, sizeof(text), "[daemon]\n%s\n", line);
                CHECK_INT(parse_text(text, &c), 0);
                CHECK_INT(strlen(c.state_file), 198 - strlen("state_file = "));
                line[198] = 'a';
                line[199] = '\0';
                snprintf(text, sizeof(text), "[daemon]\n%s\n", line);
                CHECK_INT(parse_text(text, &c), -EINVAL);
                CHECK(strstr(err, "test.conf:2: line too long") != NULL);
        }
        /* a NUL byte inside a line */
        {
                static const char nul[] = "[alert]\nafter = 1s\0junk\n";
                FILE *f = fmemopen((void *) nul, sizeof(nul) - 1, "r");
                CHECK_INT(config_parse(f, "test.conf", &c, err, sizeof(err)), -EINVAL);
                CHECK(strstr(err, "NUL") != NULL);
                fclose(f);
        }
}

static void test_print_round_trip(void) {
        struct config c, back;
        char *text = NULL;
        size_t size = 0;
        FILE *f;

        CHECK_INT(parse_text("[monitor]\ninterval = 1min 500ms\nstates = close-wait,last-ack\nfamilies = ipv4\n"
                             "[alert]\nafter = 3d 7us\nrepeat = 45s\nmax_per_minute = 7\norphan_budget = 0.07%\n[daemon]\nstate_file = /x\n"
                             "[kill]\nauto = yes\nblocking = yes\nafter_last_ack = 90s\nexclude_ports = 22, 8000-8100, 9000\n"
                             "only_ports = 1-3\nexclude_peers = 10.1.0.0/16, 2001:db8::/48\n",
                             &c), 0);
        f = open_memstream(&text, &size);
        config_print(f, &c);
        fclose(f);
        CHECK_INT(parse_text(text, &back), 0);
        CHECK(memcmp(&c, &back, sizeof(c)) == 0);
        CHECK(strstr(text, "interval = 1min 500ms\n") != NULL);
        CHECK(strstr(text, "states = last-ack,close-wait\n") != NULL);
        free(text);
}

int main(int argc, char **argv) {
        if (argc < 2) {
                fprintf(stderr, "usage: test-config SHIPPED-CONF\n");
                return 2;
        }
        test_defaults(argv[1]);
        test_good_values();
        test_bad_values();
        test_long_lines();
        test_print_round_trip();
        return test_result("test-config");
}
