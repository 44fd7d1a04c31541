/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "statefile.h"
#include "test.h"
#include "util.h"

static const struct statefile_clock clk = {
        .boot_id = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 },
};
static const struct statefile_clock *const boot = &clk;
static const struct statefile_clock other = { .boot_id = { 9 } };
static const struct statefile_clock *const other_boot = &other;

static struct tracked entry(uint64_t cookie, uint64_t since) {
        struct tracked e = {
                .cookie = cookie, .first_seen = since, .state_since = since + 1, .last_seen = since + 5,
                .last_alert = since + 3, .cgroup_id = 4242, .sport = 9000, .dport = (uint16_t) cookie,
                .ifindex = 1, .family = AF_INET6, .state = FW_TCP_LAST_ACK, .timer = DIAG_TIMER_PERSIST,
                .timer_count = 3, .orphan = true, .alerted = true, .has_cgroup_id = true,
        };
        e.src[15] = 1;
        e.dst[15] = 2;
        return e;
}

static char *read_all(const char *path, size_t *len) {
        FILE *f = fopen(path, "re");
        char *buf;
        struct stat st;

        CHECK(f != NULL);
        fstat(fileno(f), &st);
        buf = malloc((size_t) st.st_size);
        CHECK_INT(fread(buf, 1, (size_t) st.st_size, f), st.st_size);
        fclose(f);
        *len = (size_t) st.st_size;
        return buf;
}

int main(void) {
        char dir[] = "/tmp/finwatch-test-XXXXXX", path[256], err[256];
        struct tracker *t, *back;
        const struct tracked *e;
        char *buf;
        size_t len, iter = 0;
        unsigned bad = 0;

        CHECK(mkdtemp(dir) != NULL);
        snprintf(path, sizeof(path), "%s/state", dir);

        CHECK_INT(tracker_new(&t), 0);
        for (uint64_t c = 1; c <= 3; c++) {
                struct tracked x = entry(c * 1000, c * 100);
                CHECK_INT(tracker_restore(t, &x), 0);
        }
        CHECK_INT(statefile_save(path, boot, t), 0);

        /* round trip */
        CHECK_INT(tracker_new(&back), 0);
        CHECK_INT(statefile_load(path, boot, 1000, back, err, sizeof(err)), 3);
        while ((e = tracker_next(t, &iter))) {
                const struct tracked *b = tracker_get(back, e->cookie);
                struct tracked x = *e;

                CHECK(b != NULL);
                if (!b)
                        continue;
                x.seen_gen = b->seen_gen;
                x.misses = b->misses;
                CHECK(memcmp(&x, b, sizeof(x)) == 0);
        }
        tracker_free(back);

        /* A daemon in a time namespace whose CLOCK_BOOTTIME runs 10000 usec
         * ahead reads the same ages, and writes the host's times back. */
        {
                struct statefile_clock ahead = clk, behind = clk;
                struct tracker *again;

                ahead.timens_offset = 10000;
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_load(path, &ahead, 11000, back, err, sizeof(err)), 3);
                e = tracker_get(back, 2000);
                CHECK(e && e->first_seen == 10200 && e->state_since == 10201 && e->last_seen == 10205 &&
                      e->last_alert == 10203);
                CHECK_INT(statefile_save(path, &ahead, back), 0);
                CHECK_INT(tracker_new(&again), 0);
                CHECK_INT(statefile_load(path, boot, 1000, again, err, sizeof(err)), 3);
                e = tracker_get(again, 2000);
                CHECK(e && e->first_seen == 200 && e->last_alert == 203);
                tracker_free(again);
                tracker_free(back);

                /* one started 150 usec later: what came before its start is at its start */
                behind.timens_offset = -150;
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_load(path, &behind, 1000, back, err, sizeof(err)), 3);
                e = tracker_get(back, 1000);
                CHECK(e && e->first_seen == 1 && e->state_since == 1 && e->last_seen == 1);
                e = tracker_get(back, 2000);
                CHECK(e && e->first_seen == 50 && e->last_alert == 53);
                tracker_free(back);
                iter = 0;
        }

        /* another boot: ignored whole */
        CHECK_INT(tracker_new(&back), 0);
        CHECK_INT(statefile_load(path, other_boot, 1000, back, err, sizeof(err)), -ESTALE);
        CHECK(strstr(err, "another boot") != NULL);
        CHECK_INT(tracker_size(back), 0);
        tracker_free(back);

        /* timestamps from the future are not trusted */
        CHECK_INT(tracker_new(&back), 0);
        CHECK_INT(statefile_load(path, boot, 100, back, err, sizeof(err)), -EBADMSG);
        CHECK_INT(tracker_size(back), 0);
        tracker_free(back);

        /* every flipped byte and every cut is refused */
        buf = read_all(path, &len);
        CHECK_INT(len, 40 + 3 * 96 + 8);
        for (size_t i = 0; i < len; i++) {
                for (int bit = 0; bit < 8; bit += 3) {
                        int r;

                        buf[i] ^= (char) (1 << bit);
                        CHECK_INT(tracker_new(&back), 0);
                        r = statefile_parse(buf, len, boot, 1000, back, err, sizeof(err));
                        if (r >= 0)
                                bad++;
                        tracker_free(back);
                        buf[i] ^= (char) (1 << bit);
                }
        }
        for (size_t cut = 0; cut < len; cut++) {
                CHECK_INT(tracker_new(&back), 0);
                if (statefile_parse(buf, cut, boot, 1000, back, err, sizeof(err)) >= 0)
                        bad++;
                tracker_free(back);
        }
        CHECK_INT(bad, 0);
        free(buf);

        /* not a state file at all, and none */
        {
                FILE *f = fopen(path, "we");
                fputs("hello\n", f);
                fclose(f);
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_load(path, boot, 1000, back, err, sizeof(err)), -EBADMSG);
                tracker_free(back);
                unlink(path);
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_load(path, boot, 1000, back, err, sizeof(err)), -ENOENT);
                tracker_free(back);
        }

        /* an empty tracker round-trips to nothing */
        {
                struct tracker *empty;
                CHECK_INT(tracker_new(&empty), 0);
                CHECK_INT(statefile_save(path, boot, empty), 0);
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_load(path, boot, 1000, back, err, sizeof(err)), 0);
                tracker_free(back);
                tracker_free(empty);
                unlink(path);
        }

        tracker_free(t);
        rmdir(dir);
        return test_result("test-statefile");
}
