/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Cause and fate from a socket's timer and tcp_info (cause.c), and the
 * unit a cgroup path belongs to (cgroup.c): pure, numbers in, names out. */
#include <stdlib.h>

#include "cause.h"
#include "cgroup.h"
#include "test.h"
#include "util.h"

static struct fw_sock sock(uint8_t timer, uint32_t inode) {
        struct fw_sock s = {
                .state = FW_TCP_FIN_WAIT1,
                .timer = timer,
                .inode = inode,
                .timer_expires = 200,
                .info = { .len = 232, .rto = 200000, .has_snd_wnd = true, .snd_wnd = 65536 },
        };
        return s;
}

static void test_cause(void) {
        struct fw_sock s;

        /* the FIN left and is not acknowledged */
        s = sock(DIAG_TIMER_RETRANS, 0);
        s.info.unacked = 1;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_LOST_FIN);
        s.info.unacked = 0;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);

        /* persist timer, unsent bytes: the window says who */
        s = sock(DIAG_TIMER_PERSIST, 7);
        s.info.notsent_bytes = 100;
        s.info.snd_wnd = 0;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_PEER_ZERO_WINDOW);
        s.info.snd_wnd = 65536;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_BLOCKED_LOCALLY);
        s.info.has_snd_wnd = false; /* a kernel before 5.4: cannot tell */
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);
        s.info.has_snd_wnd = true;
        s.info.notsent_bytes = 0;
        s.send_q = 0;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN); /* nothing waits */

        /* no tcp_info, no timer: unknown */
        s = sock(DIAG_TIMER_RETRANS, 0);
        s.info.len = 0;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);
        s = sock(DIAG_TIMER_OFF, 0);
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);

        CHECK_STR(cause_to_string(SOCK_CAUSE_LOST_FIN), "lost-fin");
        CHECK_STR(cause_to_string(SOCK_CAUSE_PEER_ZERO_WINDOW), "peer-zero-window");
        CHECK_STR(cause_to_string(SOCK_CAUSE_BLOCKED_LOCALLY), "blocked-locally");
        CHECK_STR(cause_to_string(SOCK_CAUSE_UNKNOWN), "unknown");
        CHECK_STR(cause_to_string((enum sock_cause) 77), "unknown");
}

/* Closing, the FIN unsent or unacknowledged, no timer that would send it. */
static void test_no_timer(void) {
        const struct tcp_limits defaults = { .orphan_retries = 0, .retries2 = 15 };
        struct fw_sock s;

        /* timer off, the FIN sent and not acknowledged (an orphan: fate never
         * all the same, no timer counts tcp_orphan_retries) */
        s = sock(DIAG_TIMER_OFF, 0);
        s.state = FW_TCP_LAST_ACK;
        s.send_q = 1;
        s.info.unacked = 1;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_NO_TIMER);
        cause_annotate(&s, &defaults);
        CHECK_INT(s.cause, SOCK_CAUSE_NO_TIMER);
        CHECK_INT(s.fate_msec, FATE_NEVER);
        /* only a keepalive: it sends nothing while the FIN waits */
        s = sock(DIAG_TIMER_KEEPALIVE, 42);
        s.send_q = 1;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_NO_TIMER);
        /* the FIN never left: unsent bytes, no persist timer */
        s = sock(DIAG_TIMER_OFF, 42);
        s.info.notsent_bytes = 1;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_NO_TIMER);
        s.state = FW_TCP_CLOSING;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_NO_TIMER);
        /* Send-Q alone proves it: no tcp_info needed; fate never without it too */
        s = sock(DIAG_TIMER_OFF, 0);
        s.info = (struct fw_tcp_info) {};
        s.send_q = 1;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_NO_TIMER);
        cause_annotate(&s, &defaults);
        CHECK_INT(s.fate_msec, FATE_NEVER);

        /* nothing unsent or unacknowledged: the FIN was never queued, the
         * peer's next ACK moves it on: not no-timer */
        s = sock(DIAG_TIMER_OFF, 0);
        s.state = FW_TCP_LAST_ACK;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);
        s = sock(DIAG_TIMER_KEEPALIVE, 42);
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);
        /* states where our FIN is acknowledged or not queued */
        s = sock(DIAG_TIMER_OFF, 42);
        s.send_q = 1;
        s.state = FW_TCP_FIN_WAIT2;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);
        s.state = FW_TCP_CLOSE_WAIT;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);
        /* a timer is armed: the other causes, not this one */
        s = sock(DIAG_TIMER_RETRANS, 0);
        s.send_q = 1;
        s.info.unacked = 1;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_LOST_FIN);
        s = sock(DIAG_TIMER_TIMEWAIT, 0);
        s.send_q = 1;
        CHECK_INT(cause_of(&s), SOCK_CAUSE_UNKNOWN);

        /* a verdict of CAUSE_NO_TIMER_POLLS samples in a row */
        CHECK_INT(CAUSE_NO_TIMER_POLLS, 3);
        CHECK_INT(cause_confirmed(SOCK_CAUSE_NO_TIMER, 0), SOCK_CAUSE_UNKNOWN);
        CHECK_INT(cause_confirmed(SOCK_CAUSE_NO_TIMER, 1), SOCK_CAUSE_UNKNOWN);
        CHECK_INT(cause_confirmed(SOCK_CAUSE_NO_TIMER, 2), SOCK_CAUSE_UNKNOWN);
        CHECK_INT(cause_confirmed(SOCK_CAUSE_NO_TIMER, 3), SOCK_CAUSE_NO_TIMER);
        CHECK_INT(cause_confirmed(SOCK_CAUSE_NO_TIMER, 255), SOCK_CAUSE_NO_TIMER);
        CHECK_INT(cause_confirmed(SOCK_CAUSE_LOST_FIN, 0), SOCK_CAUSE_LOST_FIN);

        CHECK_STR(cause_to_string(SOCK_CAUSE_NO_TIMER), "no-timer");
}

static void test_fate(void) {
        const struct tcp_limits defaults = { .orphan_retries = 0, .retries2 = 15 };
        const struct tcp_limits few = { .orphan_retries = 2, .retries2 = 3 };
        struct fw_sock s;
        char buf[64];

        /* a lost FIN, an orphan, 0 retransmissions so far, RTO 200 ms, the
         * timer 200 ms away: tcp_orphan_retries 0 means 8; then 8 more
         * intervals, each doubled: 400 ms .. 51.2 s */
        s = sock(DIAG_TIMER_RETRANS, 0);
        s.info.unacked = 1;
        cause_annotate(&s, &defaults);
        CHECK_INT(s.cause, SOCK_CAUSE_LOST_FIN);
        CHECK_INT(s.fate_msec, 200 + 400 + 800 + 1600 + 3200 + 6400 + 12800 + 25600 + 51200);
        /* 2 retries: 200 + 400 + 800 */
        cause_annotate(&s, &few);
        CHECK_INT(s.fate_msec, 200 + 400 + 800);
        /* owned: tcp_retries2, each interval capped at TCP_RTO_MAX (120 s) */
        s.inode = 42;
        cause_annotate(&s, &few);
        CHECK_INT(s.fate_msec, 200 + 400 + 800 + 1600);
        cause_annotate(&s, &defaults);
        CHECK(s.fate_msec > 15 * 60 * 1000 && s.fate_msec < 16 * 60 * 1000);
        /* retransmissions beyond the limit: the next expiry */
        s.info.retransmits = 20;
        cause_annotate(&s, &defaults);
        CHECK_INT(s.fate_msec, 200);

        /* a peer's zero window, owned: the kernel never ends it */
        s = sock(DIAG_TIMER_PERSIST, 42);
        s.info.notsent_bytes = 100;
        s.info.snd_wnd = 0;
        cause_annotate(&s, &defaults);
        CHECK_INT(s.cause, SOCK_CAUSE_PEER_ZERO_WINDOW);
        CHECK_INT(s.fate_msec, FATE_NEVER);
        /* an orphan: when its backoff reaches the limit at TCP_RTO_MAX */
        s.inode = 0;
        cause_annotate(&s, &defaults);
        CHECK(s.fate_msec > 0);

        /* without tcp_info: unknown */
        s = sock(DIAG_TIMER_RETRANS, 0);
        s.info.len = 0;
        cause_annotate(&s, &defaults);
        CHECK_INT(s.fate_msec, FATE_UNKNOWN);

        CHECK_STR(cause_format_fate(buf, sizeof(buf), FATE_NEVER), "never");
        CHECK_STR(cause_format_fate(buf, sizeof(buf), FATE_UNKNOWN), "-");
        CHECK_STR(cause_format_fate(buf, sizeof(buf), 921 * 1000), "~15min 21s");
}

static void test_cgroup_path_unit(void) {
        static const struct {
                const char *path, *unit;
        } cases[] = {
                { "/system.slice/nginx.service", "nginx.service" },
                { "/system.slice/docker-1234.scope", "docker-1234.scope" },
                /* a login session is the system manager's unit */
                { "/user.slice/user-1000.slice/session-2.scope", "session-2.scope" },
                { "/user.slice/user-1000.slice", "user-1000.slice" },
                /* a unit's own sub-cgroups belong to it, whatever their names:
                 * the first unit past the slices, as systemd counts */
                { "/system.slice/nginx.service/worker", "nginx.service" },
                { "/system.slice/docker-1234.scope/system.slice/nginx.service", "docker-1234.scope" },
                /* a slice alone is the unit when nothing inside is */
                { "/system.slice", "system.slice" },
                { "/system.slice/by-hand", "system.slice" },
                { "/machine.slice/machine-vm.scope/payload", "machine-vm.scope" },
                { "/init.scope", "init.scope" },
                /* a user's manager runs units of its own: named behind it */
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/app-x.service",
                  "user@1000.service/app-x.service" },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/nginx.service",
                  "user@1000.service/nginx.service" },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/nginx.service/worker",
                  "user@1000.service/nginx.service" },
                { "/user.slice/user-0.slice/user@0.service/nginx.service", "user@0.service/nginx.service" },
                /* a rootless container, and a container's systemd inside it */
                { "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-0123abcd.scope/container",
                  "user@1000.service/libpod-0123abcd.scope" },
                { "/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-0123abcd.scope/container/"
                  "system.slice/nginx.service",
                  "user@1000.service/libpod-0123abcd.scope" },
                /* the manager itself (init.scope holds systemd --user, the
                 * unit's main process), and what is in no unit of its */
                { "/user.slice/user-1000.slice/user@1000.service/init.scope", "user@1000.service" },
                { "/user.slice/user-1000.slice/user@1000.service", "user@1000.service" },
                { "/user.slice/user-1000.slice/user@1000.service/by-hand", "user@1000.service" },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice", "user@1000.service/app.slice" },
                { "/user.slice/user-1000.slice/user@1000.service/app.slice/init.scope",
                  "user@1000.service/init.scope" },
                /* a user manager is user@ and a uid: a template's instance is not one */
                { "/system.slice/user@web.service/app.slice/nginx.service", "user@web.service" },
                { "/system.slice/user@.service/nginx.service", "user@.service" },
                { "/system.slice/user@12345678901.service/nginx.service", "user@12345678901.service" },
                { "/", "" },
                { "/mine/by/hand", "" },
                { "/mine/nginx.service", "" },
                { "", "" },
        };
        char buf[CGROUP_UNIT_MAX];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                cgroup_path_unit(cases[i].path, buf, sizeof(buf));
                if (strcmp(buf, cases[i].unit) != 0) {
                        fprintf(stderr, "cgroup_path_unit(\"%s\") = \"%s\", want \"%s\"\n", cases[i].path, buf,
                                cases[i].unit);
                        test_failures++;
                }
        }
        /* cut to the buffer, never past it; a user's unit keeps its manager */
        cgroup_path_unit("/system.slice/a-very-long-name.service", buf, 6);
        CHECK_STR(buf, "a-ver");
        cgroup_path_unit("/user.slice/user-1000.slice/user@1000.service/app.slice/nginx.service", buf, 22);
        CHECK_STR(buf, "user@1000.service/ngi");
        /* the longest: a 255-byte unit behind the longest manager */
        {
                char path[400], want[CGROUP_UNIT_MAX];

                memset(want, 'x', sizeof(want));
                memcpy(want, "user@4294967295.service/", strlen("user@4294967295.service/"));
                strcpy(want + CGROUP_UNIT_MAX - 1 - strlen(".service"), ".service");
                snprintf(path, sizeof(path), "/user.slice/user-4294967295.slice/%.23s/app.slice/%s", want,
                         want + strlen("user@4294967295.service/"));
                cgroup_path_unit(path, buf, sizeof(buf));
                CHECK_INT(strlen(buf), CGROUP_UNIT_MAX - 1);
                CHECK_STR(buf, want);
        }
}

int main(void) {
        test_cause();
        test_no_timer();
        test_fate();
        test_cgroup_path_unit();
        return test_result("test-cause");
}
