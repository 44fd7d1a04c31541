/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <assert.h>
#include <string.h>

#include "cause.h"
#include "age.h"
#include "tracker.h"
#include "util.h"

#define TRACKER_MIN_CAPACITY 64   /* slots */

struct tracker {
        struct tracked *slots;
        size_t capacity;          /* slots */
        size_t size;              /* used slots */
        uint32_t gen;             /* generation of the running or last dump */
        uint64_t *doomed;         /* cookies to forget after a sweep, reused */
        size_t doomed_allocated;
};

/* Mixed cookies map onto the slots by multiplication, so the table needs no
 * power-of-two size and can grow by half. */
static size_t slot_of(const struct tracker *t, uint64_t cookie) {
        return (size_t) (((unsigned __int128) mix64(cookie) * t->capacity) >> 64);
}

static size_t next_slot(const struct tracker *t, size_t i) {
        return i + 1 == t->capacity ? 0 : i + 1;
}

/* How far to is after from, going round the table. */
static size_t distance(const struct tracker *t, size_t from, size_t to) {
        return to >= from ? to - from : to + t->capacity - from;
}

int tracker_new(struct tracker **ret) {
        _cleanup_(tracker_freep) struct tracker *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->slots = calloc(TRACKER_MIN_CAPACITY, sizeof(*t->slots));
        if (!t->slots)
                return -ENOMEM;
        t->capacity = TRACKER_MIN_CAPACITY;
        *ret = TAKE_PTR(t);
        return 0;
}

struct tracker *tracker_free(struct tracker *t) {
        if (!t)
                return NULL;
        free(t->slots);
        free(t->doomed);
        free(t);
        return NULL;
}

/* The slot holding cookie, or the empty slot where it would go. */
static struct tracked *lookup(const struct tracker *t, uint64_t cookie) {
        size_t i = slot_of(t, cookie);

        /* The table is never full: an empty slot comes. */
        while (t->slots[i].id.cookie != 0 && t->slots[i].id.cookie != cookie)
                i = next_slot(t, i);
        return &t->slots[i];
}

static int grow(struct tracker *t) {
        struct tracked *old = t->slots;
        size_t old_capacity = t->capacity, capacity = t->capacity + t->capacity / 2;
        struct tracked *slots;

        if (capacity > SIZE_MAX / 2 / sizeof(*slots))
                return -ENOMEM;
        slots = calloc(capacity, sizeof(*slots));
        if (!slots)
                return -ENOMEM;
        t->slots = slots;
        t->capacity = capacity;
        for (size_t i = 0; i < old_capacity; i++)
                if (old[i].id.cookie != 0)
                        *lookup(t, old[i].id.cookie) = old[i];
        free(old);
        return 0;
}

/* Make room for one more entry: keep the load at or below four fifths
 * (linear probing: ~3 probes to find an entry, ~13 to miss one). Growing by
 * half, the table stays between 170 and 255 bytes a socket. */
static int reserve_one(struct tracker *t) {
        if ((t->size + 1) * 5 > t->capacity * 4)
                return grow(t);
        return 0;
}

/* Remove by backward shift, so no tombstones pile up. */
static void remove_slot(struct tracker *t, struct tracked *e) {
        size_t hole = (size_t) (e - t->slots);
        size_t i = hole;

        for (;;) {
                size_t home;

                i = next_slot(t, i);
                if (t->slots[i].id.cookie == 0)
                        break;
                home = slot_of(t, t->slots[i].id.cookie);
                /* Move it into the hole unless its home lies cyclically in (hole, i]. */
                if (distance(t, home, i) >= distance(t, hole, i)) {
                        t->slots[hole] = t->slots[i];
                        hole = i;
                }
        }
        t->slots[hole] = (struct tracked) {};
        t->size--;
}

void tracker_begin(struct tracker *t) {
        if (++t->gen == 0)
                t->gen = 1; /* 0 means "never seen in a dump" (restored entries) */
}

static void fill_from_sock(struct tracked *e, const struct fw_sock *s) {
        e->id = s->id;
        e->timer = s->timer;
        e->timer_count = s->timer_count;
        e->orphan = fw_sock_is_orphan(s);
        e->has_cgroup_id = s->has_cgroup_id;
        e->cgroup_id = s->cgroup_id;
        e->cause = s->cause;
        e->fate_msec = s->fate_msec;
        e->segs_in = s->info.segs_in;
        e->data_segs_in = s->info.data_segs_in;
        e->total_retrans = s->info.total_retrans;
        e->backoff = s->info.backoff;
}

void tracker_set_peer(struct tracker *t, uint64_t cookie, uint8_t peer, uint8_t quiet, bool blocking_alerted) {
        struct tracked *e = cookie ? lookup(t, cookie) : NULL;

        if (e && e->id.cookie) {
                e->peer = peer;
                e->peer_quiet = quiet;
                e->blocking_alerted = blocking_alerted;
        }
}

void tracker_set_kill_noted(struct tracker *t, uint64_t cookie) {
        struct tracked *e = cookie ? lookup(t, cookie) : NULL;

        if (e && e->id.cookie)
                e->kill_noted = true;
}

bool tracker_forget(struct tracker *t, uint64_t cookie) {
        struct tracked *e;

        if (cookie == 0)
                return false;
        e = lookup(t, cookie);
        if (e->id.cookie == 0)
                return false;
        remove_slot(t, e);
        return true;
}

uint64_t tracker_age(const struct tracked *e, uint64_t now) {
        return now > e->state_since ? now - e->state_since : 0;
}

enum age_source tracker_age_source(const struct tracked *e) {
        return e->age_kernel ? AGE_SOURCE_KERNEL : AGE_SOURCE_DAEMON;
}

/* At the first sighting in a state, the larger lower bound wins: our clock
 * (which starts now) or the kernel's bound of its time without progress
 * (which a daemon started an hour into the trouble sees at its first poll).
 * Only then: a state_since only ever moves earlier, so one poll's wrong
 * bound would stick for the socket's life, and once we watch it our own
 * clock is the measure. */
static void start_at_kernel_bound(struct tracked *e, const struct fw_sock *s, uint64_t now) {
        struct age_bounds b;
        uint64_t min, since;

        age_from_kernel(s, &b);
        if (b.min_msec == AGE_UNKNOWN)
                return;
        min = (uint64_t) b.min_msec * USEC_PER_MSEC;
        since = now > min ? now - min : 1; /* 0 means "never" in the state file */
        if (since < e->state_since) {
                e->state_since = since;
                e->age_kernel = true;
        }
}

int tracker_observe(struct tracker *t, const struct fw_sock *s, uint64_t now) {
        struct tracked *e;
        int r;

        if (s->id.cookie == 0)
                return 0;

        e = lookup(t, s->id.cookie);
        if (e->id.cookie == 0) {
                r = reserve_one(t);
                if (r < 0)
                        return r;
                e = lookup(t, s->id.cookie); /* the table may have moved */
                *e = (struct tracked) {
                        .id.cookie = s->id.cookie,
                        .first_seen = now,
                        .state_since = now,
                        .state = s->state,
                };
                t->size++;
                r = 1;
        } else if (e->seen_gen == t->gen)
                /* again in the same dump (one restarted after ENOBUFS
                 * repeats what it had sent): the first sighting stands */
                return 0;
        else if (e->state != s->state) {
                /* A new state is a new story: its own age, its own alert. */
                e->state = s->state;
                e->state_since = now;
                e->alerted = false;
                e->last_alert = 0;
                e->kill_noted = false;
                e->peer = 0; /* PEER_UNKNOWN: the peer is judged anew */
                e->peer_quiet = 0;
                e->blocking_alerted = false;
                e->age_kernel = false;
                e->no_timer_polls = 0;
                r = 1;
        } else
                r = 0;

        if (r == 1)
                start_at_kernel_bound(e, s, now);

        fill_from_sock(e, s);
        /* no-timer is a verdict of several dumps: a timer can be off for a moment */
        if (s->cause == SOCK_CAUSE_NO_TIMER) {
                if (e->no_timer_polls < UINT8_MAX)
                        e->no_timer_polls++;
        } else
                e->no_timer_polls = 0;
        if (cause_confirmed(s->cause, e->no_timer_polls) != s->cause) {
                e->cause = SOCK_CAUSE_UNKNOWN;
                e->fate_msec = FATE_UNKNOWN;
        }
        e->last_seen = now;
        e->seen_gen = t->gen;
        e->misses = 0;
        return r;
}

static int doom(struct tracker *t, uint64_t cookie, size_t n) {
        if (GROW(t->doomed, t->doomed_allocated, n + 1, 64) < 0)
                return -ENOMEM;
        t->doomed[n] = cookie;
        return 0;
}

int tracker_sweep(struct tracker *t, uint64_t now, uint64_t alert_after, uint64_t alert_repeat,
                  const struct tracker_ops *ops, void *userdata) {
        size_t n = 0;
        int r = 0;

        /* One pass decides; removal comes after, since a backward shift
         * could move an entry past the cursor. */
        for (size_t i = 0; i < t->capacity; i++) {
                struct tracked *e = &t->slots[i];
                uint64_t age;

                if (e->id.cookie == 0)
                        continue;

                if (e->seen_gen != t->gen) {
                        if (e->misses < UINT8_MAX)
                                e->misses++;
                        if (e->misses >= 2) {
                                r = doom(t, e->id.cookie, n);
                                if (r < 0)
                                        break;
                                n++;
                                if (ops && ops->gone)
                                        ops->gone(e, now, userdata);
                        }
                        continue;
                }

                age = tracker_age(e, now);
                if (!e->alerted) {
                        if (age >= alert_after) {
                                e->alerted = true;
                                e->last_alert = now;
                                if (ops && ops->stuck)
                                        ops->stuck(e, age, false, userdata);
                        }
                } else if (alert_repeat > 0 && now - e->last_alert >= alert_repeat) {
                        e->last_alert = now;
                        if (ops && ops->stuck)
                                ops->stuck(e, age, true, userdata);
                }
        }

        for (size_t i = 0; i < n; i++) {
                struct tracked *e = lookup(t, t->doomed[i]);

                assert(e->id.cookie == t->doomed[i]);
                remove_slot(t, e);
        }
        return r < 0 ? r : (int) n;
}

int tracker_restore(struct tracker *t, const struct tracked *saved) {
        struct tracked *e;
        int r;

        if (saved->id.cookie == 0)
                return -EINVAL;
        e = lookup(t, saved->id.cookie);
        if (e->id.cookie != 0)
                return -EEXIST;
        r = reserve_one(t);
        if (r < 0)
                return r;
        e = lookup(t, saved->id.cookie);
        *e = *saved;
        e->seen_gen = 0;
        e->misses = 0;
        t->size++;
        return 0;
}

bool tracker_seen_in_dump(const struct tracker *t, const struct tracked *e) {
        return e->seen_gen == t->gen;
}

const struct tracked *tracker_get(const struct tracker *t, uint64_t cookie) {
        const struct tracked *e;

        if (cookie == 0)
                return NULL;
        e = lookup(t, cookie);
        return e->id.cookie ? e : NULL;
}

size_t tracker_size(const struct tracker *t) {
        return t->size;
}

const struct tracked *tracker_next(const struct tracker *t, size_t *iter) {
        for (; *iter < t->capacity; (*iter)++)
                if (t->slots[*iter].id.cookie != 0)
                        return &t->slots[(*iter)++];
        return NULL;
}

size_t tracker_memory(const struct tracker *t) {
        return sizeof(*t) + t->capacity * sizeof(*t->slots) + t->doomed_allocated * sizeof(*t->doomed);
}
