/* SPDX-License-Identifier: GPL-2.0-or-later */
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "proto.h"
#include "util.h"

static bool zero(const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                if (p[i])
                        return false;
        return true;
}

static bool nul_terminated(const char *s, size_t size) {
        return memchr(s, '\0', size) != NULL;
}

/* A payload of a head (count, second word) and count items of item_size. */
static int check_array(const uint8_t *p, size_t len, size_t item_size, size_t max, uint32_t *ret_count,
                       uint32_t *ret_word) {
        uint32_t head[2];

        if (len < sizeof(head))
                return -EBADMSG;
        memcpy(head, p, sizeof(head));
        if (head[0] > max || len != sizeof(head) + (size_t) head[0] * item_size)
                return -EBADMSG;
        *ret_count = head[0];
        *ret_word = head[1];
        return 0;
}

static bool sock_id_valid(const struct proto_sock_id *id) {
        return zero(id->reserved, sizeof(id->reserved)) && (id->family == AF_INET || id->family == AF_INET6) &&
               id->state != 0 && id->state < FW_TCP_MAX_STATES;
}

static int check_payload(uint16_t type, const uint8_t *p, size_t len) {
        uint32_t count, word;

        switch (type) {
        case PROTO_REQ_LIST:
        case PROTO_REQ_STATUS:
        case PROTO_REQ_RELOAD:
        case PROTO_REPLY_OK:
                return len == 0 ? 0 : -EBADMSG;

        case PROTO_REQ_KILL:
                /* 0.1's layout, checked as 0.1 did (a dry-run flag of 1 was allowed) */
                if (check_array(p, len, sizeof(struct proto_sock_id), PROTO_KILL_MAX, &count, &word) < 0 ||
                    count == 0 || (word & ~1u))
                        return -EBADMSG;
                for (uint32_t i = 0; i < count; i++) {
                        struct proto_sock_id id;

                        memcpy(&id, p + sizeof(struct proto_kill_head) + i * sizeof(id), sizeof(id));
                        if (!sock_id_valid(&id))
                                return -EBADMSG;
                }
                return 0;

        case PROTO_REQ_KILL_NS:
                if (check_array(p, len, sizeof(struct proto_sock_id_ns), PROTO_KILL_NS_MAX, &count, &word) < 0 ||
                    count == 0 || word != 0)
                        return -EBADMSG;
                for (uint32_t i = 0; i < count; i++) {
                        struct proto_sock_id_ns id;

                        memcpy(&id, p + sizeof(struct proto_kill_head) + i * sizeof(id), sizeof(id));
                        if (!sock_id_valid(&id.id) || id.reserved != 0)
                                return -EBADMSG;
                }
                return 0;

        case PROTO_REPLY_ERROR: {
                struct proto_error e;

                if (len != sizeof(e))
                        return -EBADMSG;
                memcpy(&e, p, sizeof(e));
                return e.reserved == 0 && e.error < 0 && nul_terminated(e.message, sizeof(e.message)) ? 0 : -EBADMSG;
        }
        case PROTO_REPLY_TRACKED:
                if (check_array(p, len, sizeof(struct proto_tracked), PROTO_TRACKED_PER_MSG, &count, &word) < 0 ||
                    word != 0)
                        return -EBADMSG;
                return 0;
        case PROTO_REPLY_END:
                return len == sizeof(uint64_t) ? 0 : -EBADMSG;
        case PROTO_REPLY_STATUS: {
                struct proto_status s;

                if (len != sizeof(s) && len != PROTO_STATUS_V0_SIZE)
                        return -EBADMSG;
                memset(&s, 0, sizeof(s));
                memcpy(&s, p, len);
                return nul_terminated(s.version, sizeof(s.version)) &&
                       nul_terminated(s.config_path, sizeof(s.config_path)) ? 0 : -EBADMSG;
        }
        case PROTO_REPLY_KILLED:
                if (check_array(p, len, sizeof(struct proto_kill_result), PROTO_KILL_MAX, &count, &word) < 0 ||
                    word != 0)
                        return -EBADMSG;
                return 0;
        default:
                /* a request of a newer client (replies are only ever ours) */
                return type < PROTO_REPLY_ERROR ? -EOPNOTSUPP : -EBADMSG;
        }
}

int proto_decode(const void *buf, size_t len, struct proto_msg *ret) {
        struct proto_header h;
        int r;

        if (len < sizeof(h))
                return -EBADMSG;
        memcpy(&h, buf, sizeof(h));
        if (h.magic != PROTO_MAGIC)
                return -EBADMSG;
        if (h.version != PROTO_VERSION)
                return -EPROTONOSUPPORT;
        if (h.length != len || h.reserved != 0)
                return -EBADMSG;
        r = check_payload(h.type, (const uint8_t *) buf + sizeof(h), len - sizeof(h));
        if (r == -EOPNOTSUPP)
                ret->type = h.type;
        if (r < 0)
                return r;
        *ret = (struct proto_msg) {
                .type = h.type,
                .payload = (const uint8_t *) buf + sizeof(h),
                .payload_len = len - sizeof(h),
        };
        return 0;
}

size_t proto_put_header(void *buf, uint16_t type, size_t payload_len) {
        struct proto_header h = {
                .magic = PROTO_MAGIC,
                .version = PROTO_VERSION,
                .type = type,
                .length = (uint32_t) (sizeof(h) + payload_len),
        };

        memcpy(buf, &h, sizeof(h));
        return sizeof(h) + payload_len;
}

void proto_id_from_sock(struct proto_sock_id *w, const struct sock_id *id, uint8_t state) {
        *w = (struct proto_sock_id) {
                .cookie = id->cookie,
                .sport = id->sport,
                .dport = id->dport,
                .ifindex = id->ifindex,
                .family = id->family,
                .state = state,
        };
        memcpy(w->src, id->src, sizeof(w->src));
        memcpy(w->dst, id->dst, sizeof(w->dst));
}

void proto_id_to_sock(const struct proto_sock_id *w, struct sock_id *id, uint8_t *state) {
        *id = (struct sock_id) {
                .cookie = w->cookie,
                .sport = w->sport,
                .dport = w->dport,
                .ifindex = w->ifindex,
                .family = w->family,
        };
        memcpy(id->src, w->src, sizeof(id->src));
        memcpy(id->dst, w->dst, sizeof(id->dst));
        *state = w->state;
}

void proto_id_ns_from_sock(struct proto_sock_id_ns *w, const struct sock_id *id, uint8_t state) {
        *w = (struct proto_sock_id_ns) { .netns_ino = id->netns_ino };
        proto_id_from_sock(&w->id, id, state);
}

void proto_id_ns_to_sock(const struct proto_sock_id_ns *w, struct sock_id *id, uint8_t *state) {
        proto_id_to_sock(&w->id, id, state);
        id->netns_ino = w->netns_ino;
}
