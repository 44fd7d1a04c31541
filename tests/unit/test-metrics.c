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
        m.poll_failures = 23;
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

        /* Names cut alike are one label: two docker scopes whose names (77
         * bytes) differ past the 63 bytes a label keeps were two series of
         * one label, which Prometheus refuses. One series, the counts summed,
         * none left out; a namespace named "other" and the rest past the
         * budget are one "other". */
        {
                struct metrics m2 = { .watched_states = DIAG_STATES_DEFAULT };
                struct metrics_label_count in[14];
                char *t = NULL;
                size_t tsize = 0;
                uint32_t total = 0;
                FILE *g;

                metrics_label_set(&in[0], "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef.scope");
                metrics_label_set(&in[1], "docker-0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdee.scope");
                in[0].count = 3;
                in[1].count = 4;
                metrics_top(m2.by_unit, in, 2);
                CHECK_INT(m2.by_unit[0].count, 7);
                CHECK_INT(m2.by_unit[1].count, 0);
                for (int i = 0; i < 14; i++) {
                        snprintf(in[i].label, sizeof(in[i].label), "ns%d", i);
                        in[i].count = 10 + (uint32_t) i;
                }
                snprintf(in[5].label, sizeof(in[5].label), "other");
                in[5].count = 100;
                metrics_top(m2.by_netns, in, 14);
                g = open_memstream(&t, &tsize);
                CHECK_INT(metrics_format(g, &m2), 0);
                fclose(g);
                CHECK(strstr(t, "finwatch_stuck_sockets_by_unit{unit=\"docker-0123456789abcdef0123456789abcdef0123456789abcdef01234567\"} 7\n") != NULL);
                /* the four smallest (10+11+12+13) and the namespace "other" (100) */
                CHECK(strstr(t, "finwatch_stuck_sockets_by_netns{netns=\"other\"} 146\n") != NULL);
                for (const char *p = strstr(t, "by_netns{netns=\"other\"}"), *q = p ? strstr(p + 1, "by_netns{netns=\"other\"}") : NULL;
                     q; q = NULL) {
                        fprintf(stderr, "two series of netns=\"other\"\n");
                        test_failures++;
                }
                for (size_t i = 0; i <= METRICS_TOP && m2.by_netns[i].count; i++)
                        total += m2.by_netns[i].count;
                CHECK_INT(total, 14 * 10 + (0 + 13) * 14 / 2 - 15 + 100);
                free(t);
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
