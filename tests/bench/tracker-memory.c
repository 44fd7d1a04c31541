/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Memory and time of the parser and tracker at N tracked sockets (default
 * 1,000,000), fed synthetic dump replies: the kernel caps orphans near
 * tcp_max_orphans, so a real million is not to be had. Prints the RSS
 * growth per tracked socket and the time per poll of all of them. */
#include <libmnl/libmnl.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "tracker.h"
#include "util.h"

static long rss_kib(void) {
        FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        long v = -1;

        while (f && fgets(line, sizeof(line), f))
                if (sscanf(line, "VmRSS: %ld kB", &v) == 1)
                        break;
        if (f)
                fclose(f);
        return v;
}

/* One datagram of up to 32 KiB holding sockets [first, first+n). */
static size_t build(uint8_t *buf, uint64_t first, size_t n, bool done) {
        size_t off = 0;

        for (size_t i = 0; i < n; i++) {
                struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + off);
                struct inet_diag_msg *m;
                struct tcp_info ti = { .tcpi_retransmits = 3, .tcpi_unacked = 1, .tcpi_rto = 1600000 };

                nlh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
                nlh->nlmsg_flags = NLM_F_MULTI;
                m = mnl_nlmsg_put_extra_header(nlh, sizeof(*m));
                m->idiag_family = AF_INET;
                m->idiag_state = (first + i) % 2 ? FW_TCP_FIN_WAIT1 : FW_TCP_LAST_ACK;
                m->idiag_timer = DIAG_TIMER_RETRANS;
                m->id.idiag_sport = htons(9000);
                m->id.idiag_dport = htons((uint16_t) (first + i));
                m->id.idiag_src[0] = htonl(0x7f000001);
                m->id.idiag_dst[0] = htonl(0x7f000001 + (uint32_t) ((first + i) >> 16));
                m->id.idiag_cookie[0] = (uint32_t) (first + i + 1);
                m->id.idiag_cookie[1] = (uint32_t) ((first + i + 1) >> 32);
                mnl_attr_put(nlh, INET_DIAG_INFO, sizeof(ti), &ti);
                mnl_attr_put_u8(nlh, INET_DIAG_SHUTDOWN, 3);
                mnl_attr_put_u64(nlh, INET_DIAG_CGROUP_ID, 1);
                off += nlh->nlmsg_len;
        }
        if (done) {
                struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf + off);
                int *status;

                nlh->nlmsg_type = NLMSG_DONE;
                status = mnl_nlmsg_put_extra_header(nlh, sizeof(int));
                *status = 0;
                off += nlh->nlmsg_len;
        }
        return off;
}

struct ctx {
        struct tracker *t;
        uint64_t now;
};

static int observe(const struct fw_sock *s, void *userdata) {
        struct ctx *c = userdata;

        return tracker_observe(c->t, s, c->now) < 0 ? -ENOMEM : 0;
}

int main(int argc, char **argv) {
        uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
        static uint8_t buf[65536] __attribute__((aligned(8)));
        struct ctx c = { .now = USEC_PER_SEC };
        long before;
        uint64_t t0, t1;
        const size_t per = 80; /* sockets a datagram, as the kernel packs them */

        before = rss_kib();
        if (tracker_new(&c.t) < 0)
                return 1;
        for (int poll = 0; poll < 3; poll++) {
                t0 = now_usec(CLOCK_MONOTONIC);
                tracker_begin(c.t);
                for (uint64_t first = 0; first < n; first += per) {
                        size_t k = n - first < per ? (size_t) (n - first) : per;
                        size_t len = build(buf, first, k, first + k >= n);

                        if (diag_parse_dump(buf, len, 0, 0, observe, &c) < 0)
                                return 1;
                }
                tracker_sweep(c.t, c.now, 120 * USEC_PER_SEC, 0, NULL, NULL);
                t1 = now_usec(CLOCK_MONOTONIC);
                printf("poll %d: %llu sockets in %.1f ms (building the replies included)\n", poll,
                       (unsigned long long) n, (double) (t1 - t0) / 1000);
                c.now += 5 * USEC_PER_SEC;
        }
        printf("tracked %zu sockets: table %zu bytes (%.0f B/socket), RSS grew %ld KiB (%.0f B/socket)\n",
               tracker_size(c.t), tracker_memory(c.t), (double) tracker_memory(c.t) / (double) n,
               rss_kib() - before, (double) (rss_kib() - before) * 1024 / (double) n);
        tracker_free(c.t);
        return 0;
}
