/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

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
                .id.cookie = cookie, .first_seen = since, .state_since = since + 1, .last_seen = since + 5,
                .last_alert = since + 3, .cgroup_id = 4242, .id.sport = 9000, .id.dport = (uint16_t) cookie,
                .id.ifindex = 1, .id.family = AF_INET6, .state = FW_TCP_LAST_ACK, .timer = DIAG_TIMER_PERSIST,
                .timer_count = 3, .orphan = true, .alerted = true, .has_cgroup_id = true,
                /* what a restarted daemon must not lose: where it lives, and
                 * that the kill policy acted on it already */
                .id.netns_ino = (uint32_t) (4026532000u + cookie), .kill_noted = cookie == 2000,
        };
        e.id.src[15] = 1;
        e.id.dst[15] = 2;
        return e;
}

/* The file's checksum (64-bit FNV-1a), written out again here on purpose:
 * the test must not share the code it checks. */
static uint64_t fnv1a(const void *p, size_t len) {
        const uint8_t *b = p;
        uint64_t h = UINT64_C(0xcbf29ce484222325);

        for (size_t i = 0; i < len; i++) {
                h ^= b[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
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

/* A clock started at the kernel's bound, before the daemon first saw the
 * socket: kept across a restart, and only a version 3 file may say so. */
static void test_age_kernel(const char *dir) {
        char path[256], err[256];
        struct tracker *t, *back;
        const struct tracked *e;
        struct tracked x = entry(7000, 500);
        uint32_t version = 2;
        uint64_t sum;
        char *buf;
        size_t len;

        snprintf(path, sizeof(path), "%s/state-age", dir);
        x.state_since = 20; /* stuck since 20, first seen at 500 */
        x.age_kernel = true;
        CHECK_INT(tracker_new(&t), 0);
        CHECK_INT(tracker_restore(t, &x), 0);
        CHECK_INT(statefile_save(path, boot, t), 0);
        CHECK_INT(tracker_new(&back), 0);
        CHECK_INT(statefile_load(path, boot, 1000, back, err, sizeof(err)), 1);
        e = tracker_get(back, 7000);
        CHECK(e && e->age_kernel && e->state_since == 20 && e->first_seen == 500);
        tracker_free(back);

        /* without the flag, a start before the first sight is corrupt */
        buf = read_all(path, &len);
        CHECK_INT(len, 40 + 104 + 8);
        buf[40 + 92] &= (char) ~(1 << 4);
        sum = fnv1a(buf, 40 + 104);
        memcpy(buf + 40 + 104, &sum, 8);
        CHECK_INT(tracker_new(&back), 0);
        CHECK_INT(statefile_parse(buf, len, boot, 1000, back, err, sizeof(err)), -EBADMSG);
        tracker_free(back);

        /* and version 2 did not know the flag */
        buf[40 + 92] |= (char) (1 << 4);
        memcpy(buf + 8, &version, 4);
        sum = fnv1a(buf, 40 + 104);
        memcpy(buf + 40 + 104, &sum, 8);
        CHECK_INT(tracker_new(&back), 0);
        CHECK_INT(statefile_parse(buf, len, boot, 1000, back, err, sizeof(err)), -EBADMSG);
        tracker_free(back);

        /* a version 2 file without it is read */
        buf[40 + 92] &= (char) ~(1 << 4);
        buf[40 + 16] = (char) 0xf4;
        buf[40 + 17] = 0x01;
        sum = fnv1a(buf, 40 + 104);
        memcpy(buf + 40 + 104, &sum, 8);
        CHECK_INT(tracker_new(&back), 0);
        CHECK_INT(statefile_parse(buf, len, boot, 1000, back, err, sizeof(err)), 1);
        e = tracker_get(back, 7000);
        CHECK(e && !e->age_kernel && e->state_since == 500);
        tracker_free(back);
        free(buf);
        tracker_free(t);
        unlink(path);
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
                const struct tracked *b = tracker_get(back, e->id.cookie);
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

        /* a file version 1 wrote (records of 96 bytes, no namespace): read
         * by this version, the namespace "ours" and nothing noted */
        {
                uint8_t v1[40 + 3 * 96 + 8];
                uint32_t version = 1, record_size = 96;
                uint64_t sum;
                char *v2 = read_all(path, &len);

                memcpy(v1, v2, 40);
                memcpy(v1 + 8, &version, 4);
                memcpy(v1 + 12, &record_size, 4);
                for (int i = 0; i < 3; i++) {
                        memcpy(v1 + 40 + i * 96, v2 + 40 + i * 104, 96);
                        v1[40 + i * 96 + 92] &= (uint8_t) ~(1u << 3); /* version 1 had no REC_KILL_NOTED */
                }
                sum = fnv1a(v1, 40 + 3 * 96);
                memcpy(v1 + 40 + 3 * 96, &sum, 8);
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_parse(v1, sizeof(v1), boot, 1000, back, err, sizeof(err)), 3);
                e = tracker_get(back, 2000);
                CHECK(e && e->id.netns_ino == 0 && !e->kill_noted && e->first_seen == 200 && e->alerted &&
                      e->id.dport == 2000);
                tracker_free(back);

                /* but a version 1 record may not carry what only version 2 has */
                v1[40 + 92] |= 1u << 3;
                sum = fnv1a(v1, 40 + 3 * 96);
                memcpy(v1 + 40 + 3 * 96, &sum, 8);
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_parse(v1, sizeof(v1), boot, 1000, back, err, sizeof(err)), -EBADMSG);
                tracker_free(back);
                free(v2);
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
        CHECK_INT(len, 40 + 3 * 104 + 8);
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

        /* what is not a regular file is refused without being read,
         * followed or waited on: a FIFO (nobody writes it, an open for
         * reading would wait forever; alarm() makes that a failure), a
         * link to a good state file, a directory */
        {
                char other_path[300], target[300];
                struct tracker *three;

                CHECK_INT(mkfifo(path, 0600), 0);
                alarm(10);
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_load(path, boot, 1000, back, err, sizeof(err)), -EBADMSG);
                CHECK_STR(err, "not a regular file (a FIFO)");
                CHECK_INT(tracker_size(back), 0);
                tracker_free(back);
                alarm(0);
                unlink(path);

                snprintf(target, sizeof(target), "%s/elsewhere", dir);
                CHECK_INT(tracker_new(&three), 0);
                for (uint64_t c = 1; c <= 3; c++) {
                        struct tracked x = entry(c * 1000, c * 100);
                        CHECK_INT(tracker_restore(three, &x), 0);
                }
                CHECK_INT(statefile_save(target, boot, three), 0);
                CHECK_INT(symlink(target, path), 0);
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_load(path, boot, 1000, back, err, sizeof(err)), -ELOOP);
                CHECK_STR(err, "a symbolic link, not followed");
                CHECK_INT(tracker_size(back), 0);
                tracker_free(back);

                /* saving replaces the link, not the file it points to */
                {
                        struct tracker *empty;
                        struct stat st;

                        CHECK_INT(tracker_new(&empty), 0);
                        CHECK_INT(statefile_save(path, boot, empty), 0);
                        CHECK_INT(lstat(path, &st), 0);
                        CHECK(S_ISREG(st.st_mode));
                        CHECK_INT(tracker_new(&back), 0);
                        CHECK_INT(statefile_load(target, boot, 1000, back, err, sizeof(err)), 3);
                        tracker_free(back);
                        tracker_free(empty);
                }
                tracker_free(three);
                unlink(path);
                unlink(target);

                snprintf(other_path, sizeof(other_path), "%s/subdir", dir);
                CHECK_INT(mkdir(other_path, 0700), 0);
                CHECK_INT(tracker_new(&back), 0);
                CHECK_INT(statefile_load(other_path, boot, 1000, back, err, sizeof(err)), -EBADMSG);
                CHECK_STR(err, "not a regular file (a directory)");
                tracker_free(back);
                rmdir(other_path);
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
        test_age_kernel(dir);
        rmdir(dir);
        return test_result("test-statefile");
}
