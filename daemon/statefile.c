/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-id128.h>

#include "statefile.h"
#include "util.h"

#define STATE_MAGIC "FWSTATE1"
#define STATE_VERSION 3          /* 1: records without netns_ino, 2: without REC_AGE_KERNEL; read still */
#define STATE_MAX_ENTRIES (UINT32_C(1) << 22) /* 4M sockets: far above any real table */

/* On disk: header, count records, then a 64-bit FNV-1a of everything before.
 * Host byte order: the file never leaves the machine or the boot. */
struct state_header {
        char magic[8];
        uint32_t version;
        uint32_t record_size;
        uint8_t boot_id[16];
        uint32_t count;
        uint32_t reserved;       /* 0 */
};
static_assert(sizeof(struct state_header) == 40, "state header layout");

enum {
        REC_ALERTED = 1 << 0,
        REC_ORPHAN = 1 << 1,
        REC_HAS_CGROUP = 1 << 2,
        REC_KILL_NOTED = 1 << 3, /* version 2 */
        REC_AGE_KERNEL = 1 << 4, /* version 3: state_since is the kernel's bound, maybe before first_seen */
        REC_FLAGS_ALL = REC_ALERTED | REC_ORPHAN | REC_HAS_CGROUP | REC_KILL_NOTED | REC_AGE_KERNEL,
};

struct state_record {
        uint64_t cookie;
        uint64_t first_seen;     /* usec, the host's CLOCK_BOOTTIME; 0 stays 0 */
        uint64_t state_since;
        uint64_t last_seen;
        uint64_t last_alert;
        uint64_t cgroup_id;
        uint8_t src[16];
        uint8_t dst[16];
        uint16_t sport, dport;
        uint32_t ifindex;
        uint8_t family, state, timer, timer_count;
        uint8_t flags;           /* REC_* */
        uint8_t reserved[3];     /* 0 */
        /* version 2 appends: */
        uint32_t netns_ino;      /* 0 = the daemon's own namespace */
        uint32_t reserved2;      /* 0 */
};
static_assert(sizeof(struct state_record) == 104, "state record layout");
#define STATE_RECORD_V1_SIZE 96  /* the same record up to netns_ino */

#define FNV1A_INIT UINT64_C(0xcbf29ce484222325)

/* 64-bit FNV-1a, continued from h (FNV1A_INIT to start). */
static uint64_t fnv1a(uint64_t h, const void *p, size_t len) {
        const uint8_t *b = p;

        for (size_t i = 0; i < len; i++) {
                h ^= b[i];
                h *= UINT64_C(0x100000001b3);
        }
        return h;
}

int statefile_clock_get(struct statefile_clock *ret) {
        sd_id128_t boot;
        int r;

        r = sd_id128_get_boot(&boot);
        if (r < 0)
                return r;
        *ret = (struct statefile_clock) {};
        memcpy(ret->boot_id, boot.bytes, sizeof(ret->boot_id));
        return 0;
}

int statefile_timens_offset(int64_t *ret_usec) {
        _cleanup_(fclosep) FILE *f = NULL;
        char line[128];

        *ret_usec = 0;
        /* "boottime <sec> <nsec>"; no file: a kernel without time namespaces */
        f = fopen("/proc/self/timens_offsets", "re");
        if (!f)
                return errno == ENOENT ? 0 : -errno;
        while (fgets(line, sizeof(line), f)) {
                long long sec;
                long nsec;

                if (sscanf(line, "boottime %lld %ld", &sec, &nsec) == 2) {
                        if (sec < -(INT64_MAX / 2000000) || sec > INT64_MAX / 2000000 || nsec < 0 ||
                            nsec >= 1000000000)
                                return -EBADMSG;
                        *ret_usec = (int64_t) sec * 1000000 + nsec / 1000;
                }
        }
        return 0;
}

/* Between our clock and the file's (the host's): 0 means "never" and stays
 * 0; a time before the other clock's start becomes its earliest time. */
static uint64_t shift_time(uint64_t t, int64_t by) {
        if (t == 0)
                return 0;
        if (by < 0)
                return t > (uint64_t) -by ? t - (uint64_t) -by : 1;
        return t <= UINT64_MAX - (uint64_t) by ? t + (uint64_t) by : UINT64_MAX;
}

/* The one place a tracker entry and its record meet, both ways. */
static void record_from_entry(struct state_record *r, const struct tracked *e, const struct statefile_clock *clock) {
        *r = (struct state_record) {
                .cookie = e->id.cookie,
                .first_seen = shift_time(e->first_seen, -clock->timens_offset),
                .state_since = shift_time(e->state_since, -clock->timens_offset),
                .last_seen = shift_time(e->last_seen, -clock->timens_offset),
                .last_alert = shift_time(e->last_alert, -clock->timens_offset),
                .cgroup_id = e->cgroup_id,
                .sport = e->id.sport,
                .dport = e->id.dport,
                .ifindex = e->id.ifindex,
                .family = e->id.family,
                .state = e->state,
                .timer = e->timer,
                .timer_count = e->timer_count,
                .flags = (uint8_t) ((e->alerted ? REC_ALERTED : 0) | (e->orphan ? REC_ORPHAN : 0) |
                                    (e->has_cgroup_id ? REC_HAS_CGROUP : 0) | (e->kill_noted ? REC_KILL_NOTED : 0) |
                                    (e->age_kernel ? REC_AGE_KERNEL : 0)),
                .netns_ino = e->id.netns_ino,
        };
        memcpy(r->src, e->id.src, sizeof(r->src));
        memcpy(r->dst, e->id.dst, sizeof(r->dst));
}

static void entry_from_record(struct tracked *e, const struct state_record *r, const struct statefile_clock *clock) {
        *e = (struct tracked) {
                .id = {
                        .cookie = r->cookie,
                        .sport = r->sport,
                        .dport = r->dport,
                        .ifindex = r->ifindex,
                        .netns_ino = r->netns_ino,
                        .family = r->family,
                },
                .first_seen = shift_time(r->first_seen, clock->timens_offset),
                .state_since = shift_time(r->state_since, clock->timens_offset),
                .last_seen = shift_time(r->last_seen, clock->timens_offset),
                .last_alert = shift_time(r->last_alert, clock->timens_offset),
                .cgroup_id = r->cgroup_id,
                .state = r->state,
                .timer = r->timer,
                .timer_count = r->timer_count,
                .alerted = r->flags & REC_ALERTED,
                .orphan = r->flags & REC_ORPHAN,
                .has_cgroup_id = r->flags & REC_HAS_CGROUP,
                .kill_noted = r->flags & REC_KILL_NOTED,
                .age_kernel = r->flags & REC_AGE_KERNEL,
        };
        memcpy(e->id.src, r->src, sizeof(e->id.src));
        memcpy(e->id.dst, r->dst, sizeof(e->id.dst));
}

static int save_to(FILE *f, const struct statefile_clock *clock, const struct tracker *t) {
        struct state_header h = {
                .magic = STATE_MAGIC,
                .version = STATE_VERSION,
                .record_size = sizeof(struct state_record),
                .count = (uint32_t) tracker_size(t),
        };
        const struct tracked *e;
        uint64_t sum = FNV1A_INIT;
        size_t iter = 0;

        memcpy(h.boot_id, clock->boot_id, sizeof(h.boot_id));

        if (fwrite(&h, sizeof(h), 1, f) != 1)
                return -EIO;
        sum = fnv1a(sum, &h, sizeof(h));
        while ((e = tracker_next(t, &iter))) {
                struct state_record r;

                record_from_entry(&r, e, clock);
                if (fwrite(&r, sizeof(r), 1, f) != 1)
                        return -EIO;
                sum = fnv1a(sum, &r, sizeof(r));
        }
        if (fwrite(&sum, sizeof(sum), 1, f) != 1)
                return -EIO;
        return 0;
}

struct save_args {
        const struct statefile_clock *clock;
        const struct tracker *tracker;
};

static int save_cb(FILE *f, const void *userdata) {
        const struct save_args *a = userdata;

        return save_to(f, a->clock, a->tracker);
}

int statefile_save(const char *path, const struct statefile_clock *clock, const struct tracker *t) {
        struct save_args a = { .clock = clock, .tracker = t };

        return write_file_atomic(path, 0600, save_cb, &a);
}

static int __attribute__((format(printf, 4, 5)))
fail(int r, char *errbuf, size_t errsize, const char *fmt, ...) {
        va_list ap;

        va_start(ap, fmt);
        vsnprintf(errbuf, errsize, fmt, ap);
        va_end(ap);
        return r;
}

static bool record_valid(const struct state_record *r, uint32_t version, uint64_t now) {
        if (r->cookie == 0 || (r->family != 2 /* AF_INET */ && r->family != 10 /* AF_INET6 */))
                return false;
        if (r->state == 0 || r->state >= FW_TCP_MAX_STATES || (r->flags & ~REC_FLAGS_ALL))
                return false;
        if (r->reserved[0] || r->reserved[1] || r->reserved[2] || r->reserved2)
                return false;
        if ((version < 2 && (r->flags & REC_KILL_NOTED)) || (version < 3 && (r->flags & REC_AGE_KERNEL)))
                return false;
        /* times only go forward, and none is in the future; only the
         * kernel's bound puts the start before we first saw it, never at 0 */
        if ((!(r->flags & REC_AGE_KERNEL) && r->first_seen > r->state_since) ||
            (r->state_since == 0 && r->first_seen != 0) || r->state_since > r->last_seen || r->last_seen > now ||
            r->last_alert > now)
                return false;
        /* alerted exactly when there was an alert, and not before the state began */
        if (((r->flags & REC_ALERTED) != 0) != (r->last_alert != 0) ||
            (r->last_alert != 0 && r->last_alert < r->state_since))
                return false;
        return true;
}

int statefile_parse(const void *buf, size_t len, const struct statefile_clock *clock, uint64_t now,
                    struct tracker *t, char *errbuf, size_t errsize) {
        uint64_t host_now = shift_time(now, -clock->timens_offset);
        const uint8_t *p = buf;
        struct state_header h;
        uint64_t sum;
        size_t body;

        assert(tracker_size(t) == 0);

        if (len < sizeof(h) + sizeof(sum))
                return fail(-EBADMSG, errbuf, errsize, "too short (%zu bytes)", len);
        memcpy(&h, p, sizeof(h));
        if (memcmp(h.magic, STATE_MAGIC, sizeof(h.magic)) != 0)
                return fail(-EBADMSG, errbuf, errsize, "not a finwatch state file");
        /* a daemon reads what an older one wrote: version 1's record is
         * version 2's without the fields version 2 appended; version 3 has
         * version 2's record and one more flag */
        if (!((h.version == 1 && h.record_size == STATE_RECORD_V1_SIZE) ||
              ((h.version == 2 || h.version == STATE_VERSION) && h.record_size == sizeof(struct state_record))) ||
            h.reserved != 0)
                return fail(-EBADMSG, errbuf, errsize, "unknown version %u, record size %u", h.version,
                            h.record_size);
        if (h.count > STATE_MAX_ENTRIES)
                return fail(-EBADMSG, errbuf, errsize, "too many entries (%u)", h.count);
        body = sizeof(h) + (size_t) h.count * h.record_size;
        if (len != body + sizeof(sum))
                return fail(-EBADMSG, errbuf, errsize, "size %zu does not match %u entries", len, h.count);
        memcpy(&sum, p + body, sizeof(sum));
        if (sum != fnv1a(FNV1A_INIT, p, body))
                return fail(-EBADMSG, errbuf, errsize, "checksum mismatch");
        if (memcmp(h.boot_id, clock->boot_id, sizeof(h.boot_id)) != 0)
                return fail(-ESTALE, errbuf, errsize, "written during another boot");

        /* Check every record before restoring any. */
        for (uint32_t i = 0; i < h.count; i++) {
                struct state_record r = {};

                memcpy(&r, p + sizeof(h) + (size_t) i * h.record_size, h.record_size);
                if (!record_valid(&r, h.version, host_now))
                        return fail(-EBADMSG, errbuf, errsize, "entry %u is invalid", i);
        }
        for (uint32_t i = 0; i < h.count; i++) {
                struct state_record r = {};
                struct tracked e;
                int ret;

                memcpy(&r, p + sizeof(h) + (size_t) i * h.record_size, h.record_size);
                entry_from_record(&e, &r, clock);
                ret = tracker_restore(t, &e);
                if (ret < 0)
                        /* the caller drops the whole tracker: nothing is trusted */
                        return fail(ret == -EEXIST ? -EBADMSG : ret, errbuf, errsize,
                                    "entry %u: %s", i, ret == -EEXIST ? "cookie repeated" : strerror(-ret));
        }
        return (int) h.count;
}

int statefile_load(const char *path, const struct statefile_clock *clock, uint64_t now, struct tracker *t,
                   char *errbuf, size_t errsize) {
        _cleanup_(freep) uint8_t *buf = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_(closep) int fd = -EBADF;
        struct stat st;

        /* never through a link, never waiting on a FIFO: what is there is
         * checked before a byte is read */
        fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
        if (fd < 0)
                return fail(-errno, errbuf, errsize, "%s",
                            errno == ELOOP ? "a symbolic link, not followed" : strerror(errno));
        if (fstat(fd, &st) < 0)
                return fail(-errno, errbuf, errsize, "%s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return fail(-EBADMSG, errbuf, errsize, "not a regular file (%s)", file_type_name(st.st_mode));
        if (st.st_size > (off_t) (sizeof(struct state_header) + 8 + (size_t) STATE_MAX_ENTRIES * sizeof(struct state_record)))
                return fail(-EBADMSG, errbuf, errsize, "too large for a state file (%lld bytes)", (long long) st.st_size);
        f = fdopen(fd, "r");
        if (!f)
                return fail(-errno, errbuf, errsize, "%s", strerror(errno));
        (void) TAKE_FD(fd); /* f owns it now */
        buf = malloc((size_t) st.st_size + 1);
        if (!buf)
                return -ENOMEM;
        if (fread(buf, 1, (size_t) st.st_size, f) != (size_t) st.st_size)
                return fail(-EIO, errbuf, errsize, "read error");
        return statefile_parse(buf, (size_t) st.st_size, clock, now, t, errbuf, errsize);
}
