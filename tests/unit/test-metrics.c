/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <stdlib.h>
#include <sys/stat.h>

#include "cause.h"
#include "metrics.h"
#include "test.h"
#include "util.h"

int main(void) {
        struct metrics m = { .watched_states = DIAG_STATES_DEFAULT };
        char *text = NULL, dir[] = "/tmp/finwatch-test-XXXXXX", path[256];
        size_t size = 0;
        FILE *f;
        struct stat st;

        m.stuck[FW_TCP_FIN_WAIT1] = 3;
        m.stuck_by_cause[SOCK_CAUSE_LOST_FIN] = 2;
        m.stuck_by_cause[SOCK_CAUSE_NO_TIMER] = 1;
        m.stuck_by_peer[3] = 1; /* PEER_RECONNECTING */
        m.oldest_usec[FW_TCP_FIN_WAIT1] = 12500 * USEC_PER_MSEC;
        m.alerts_sent = 7;
        m.kills_killed = 2;
        m.kills_failed = 1;
        m.polls = 10;
        m.orphans = 42;
        m.max_orphans = 131072;
        m.poll_duration_usec = 1500;
        metrics_count_poll_error(&m, -ENOBUFS);
        metrics_count_poll_error(&m, -ENOBUFS);
        metrics_count_poll_error(&m, -EBADMSG);
        for (int e = 1; e <= 20; e++)
                metrics_count_poll_error(&m, -e);

        {
                struct metrics_label_count in[14];

                for (int i = 0; i < 14; i++) {
                        snprintf(in[i].label, sizeof(in[i].label), "unit%d.service", i);
                        in[i].count = (uint32_t) i + 1;
                }
                metrics_label_set(&in[13], "we\"ird\\unit");
                metrics_label_set(&in[12], "evil\x1b[2K\r\xff.scope");
                metrics_top(m.by_unit, in, 14);
        }
        f = open_memstream(&text, &size);
        CHECK_INT(metrics_format(f, &m), 0);
        fclose(f);
        CHECK(strstr(text, "# TYPE finwatch_stuck_sockets gauge\n") != NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets{state=\"FIN_WAIT_1\"} 3\n") != NULL);
        /* a watched state with no socket is a 0, not a missing series */
        CHECK(strstr(text, "finwatch_stuck_sockets{state=\"LAST_ACK\"} 0\n") != NULL);
        CHECK(strstr(text, "CLOSING") == NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_cause{cause=\"lost-fin\"} 2\n") != NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_cause{cause=\"unknown\"} 0\n") != NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_cause{cause=\"no-timer\"} 1\n") != NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_peer{peer=\"reconnecting\"} 1\n") != NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_peer{peer=\"silent\"} 0\n") != NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_peer{peer=\"unknown\"} 0\n") != NULL);
        CHECK(strstr(text, "finwatch_oldest_stuck_seconds{state=\"FIN_WAIT_1\"} 12.500\n") != NULL);
        CHECK(strstr(text, "finwatch_alerts_total 7\n") != NULL);
        CHECK(strstr(text, "finwatch_orphans 42\n") != NULL);
        /* by unit: the ten largest, the rest as other (1+2+3+4 = 10), labels escaped */
        /* escaped as finwatch list shows them (a backslash doubled), then
         * for Prometheus (each backslash doubled again, a quote escaped) */
        CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"we\\\"ird\\\\\\\\unit\"} 14\n") != NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"evil\\\\x1b[2K\\\\x0d\\\\xff.scope\"} 13\n") != NULL);
        for (const char *p = text; *p; p++)
                if ((unsigned char) *p < 0x20 && *p != '\n') {
                        fprintf(stderr, "control byte 0x%02x in the metrics\n", (unsigned char) *p);
                        test_failures++;
                        break;
                }
        CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"unit4.service\"} 5\n") != NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"unit3.service\"}") == NULL);
        CHECK(strstr(text, "finwatch_stuck_sockets_by_unit{unit=\"other\"} 10\n") != NULL);
        CHECK(strstr(text, "finwatch_max_orphans 131072\n") != NULL);
        CHECK(strstr(text, "finwatch_kills_total{result=\"killed\"} 2\n") != NULL);
        CHECK(strstr(text, "finwatch_kills_total{result=\"failed\"} 1\n") != NULL);
        CHECK(strstr(text, "finwatch_poll_duration_seconds 0.001500\n") != NULL);
        CHECK(strstr(text, "finwatch_poll_errors_total{reason=\"ENOBUFS\"} 2\n") != NULL);
        CHECK(strstr(text, "finwatch_poll_errors_total{reason=\"EBADMSG\"} 1\n") != NULL);
        /* eight reasons at most, the rest as "other" */
        CHECK(strstr(text, "finwatch_poll_errors_total{reason=\"other\"} 14\n") != NULL);
        CHECK(strstr(text, "finwatch_poll_failures_total 23\n") != NULL);

        /* the namespaces' series only when others are watched, how long
         * finding them took among them */
        CHECK(strstr(text, "finwatch_netns_") == NULL);
        free(text);
        m.netns_others = true;
        m.netns_watched = 200;
        m.netns_discovery_usec = 2500;
        f = open_memstream(&text, &size);
        CHECK_INT(metrics_format(f, &m), 0);
        fclose(f);
        CHECK(strstr(text, "finwatch_netns_watched 200\n") != NULL);
        CHECK(strstr(text, "finwatch_netns_discovery_seconds 0.002500\n") != NULL);
        free(text);

        /* no failure yet: the total is there, 0, and no reason's series */
        {
                struct metrics none = {0};

                f = open_memstream(&text, &size);
                CHECK_INT(metrics_format(f, &none), 0);
                fclose(f);
                CHECK(strstr(text, "\nfinwatch_poll_failures_total 0\n") != NULL);
                CHECK(strstr(text, "finwatch_poll_errors_total{") == NULL);
                free(text);
        }

        /* a long name is cut to whole characters: 31 of U+00E9 (62 bytes) fit in 63 */
        {
                struct metrics_label_count c;
                char name[81] = "";

                for (int i = 0; i < 40; i++)
                        strcat(name, "\xc3\xa9");
                metrics_label_set(&c, name);
                CHECK_INT(strlen(c.label), 62);
                CHECK(strncmp(c.label, name, 62) == 0);
        }

        /* written whole, readable by node_exporter */
        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/finwatch.prom", dir);
        CHECK_INT(metrics_write(path, &m), 0);
        CHECK_INT(stat(path, &st), 0);
        CHECK_INT(st.st_mode & 0777, 0644);
        CHECK_INT(metrics_write("/nonexistent-dir/finwatch.prom", &m), -ENOENT);
        unlink(path);
        rmdir(dir);
        return test_result("test-metrics");
}
