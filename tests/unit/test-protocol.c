/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control protocol decoder: exact lengths, known types, reserved zero. */
#include <stdlib.h>

#include "proto.h"
#include "test.h"
#include "util.h"

static uint8_t buf[PROTO_MAX_REQUEST + 64] __attribute__((aligned(8)));

static size_t msg(uint16_t type, const void *payload, size_t len) {
        size_t n = proto_put_header(buf, type, len);

        if (len)
                memcpy(buf + sizeof(struct proto_header), payload, len);
        return n;
}

static int decode(size_t len) {
        struct proto_msg m;
        /* a fresh heap copy of exactly len bytes: ASan sees any overread */
        uint8_t *copy = malloc(len ? len : 1);
        int r;

        memcpy(copy, buf, len);
        r = proto_decode(copy, len, &m);
        free(copy);
        return r;
}

static void test_requests(void) {
        struct proto_header h;
        size_t n;

        n = msg(PROTO_REQ_LIST, NULL, 0);
        CHECK_INT(n, 16);
        CHECK_INT(decode(n), 0);
        CHECK_INT(decode(msg(PROTO_REQ_STATUS, NULL, 0)), 0);
        CHECK_INT(decode(msg(PROTO_REQ_RELOAD, NULL, 0)), 0);

        /* every cut is refused */
        n = msg(PROTO_REQ_LIST, NULL, 0);
        for (size_t cut = 0; cut < n; cut++)
                CHECK_INT(decode(cut), -EBADMSG);

        /* header fields */
        n = msg(PROTO_REQ_LIST, NULL, 0);
        memcpy(&h, buf, sizeof(h));
        h.version = 2;
        memcpy(buf, &h, sizeof(h));
        CHECK_INT(decode(n), -EPROTONOSUPPORT);
        h.version = PROTO_VERSION;
        h.magic ^= 1;
        memcpy(buf, &h, sizeof(h));
        CHECK_INT(decode(n), -EBADMSG);
        h.magic = PROTO_MAGIC;
        h.reserved = 1;
        memcpy(buf, &h, sizeof(h));
        CHECK_INT(decode(n), -EBADMSG);
        h.reserved = 0;
        h.length = 17;
        memcpy(buf, &h, sizeof(h));
        CHECK_INT(decode(n), -EBADMSG);
        h.length = 0xffffffffu;
        memcpy(buf, &h, sizeof(h));
        CHECK_INT(decode(n), -EBADMSG);
        h.length = 16;
        /* a request type of a newer client: named, so that it can be told */
        h.type = 77;
        memcpy(buf, &h, sizeof(h));
        {
                struct proto_msg m = {};

                CHECK_INT(proto_decode(buf, n, &m), -EOPNOTSUPP);
                CHECK_INT(m.type, 77);
        }
        /* an unknown reply type is no request at all */
        h.type = 150;
        memcpy(buf, &h, sizeof(h));
        CHECK_INT(decode(n), -EBADMSG);

        /* a payload where none belongs */
        CHECK_INT(decode(msg(PROTO_REQ_STATUS, "abcd", 4)), -EBADMSG);
}

static void test_kill(void) {
        struct {
                struct proto_kill_head head;
                struct proto_sock_id ids[3];
        } k = { .head = { .count = 3 } };
        size_t n;

        for (int i = 0; i < 3; i++)
                k.ids[i] = (struct proto_sock_id) { .cookie = 10 + (uint64_t) i, .family = 2, .state = 4 };
        n = msg(PROTO_REQ_KILL, &k, sizeof(k));
        CHECK_INT(decode(n), 0);
        /* count and payload must agree */
        k.head.count = 2;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), -EBADMSG);
        k.head.count = 4;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), -EBADMSG);
        k.head.count = 0;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k.head))), -EBADMSG);
        k.head.count = UINT32_MAX;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), -EBADMSG);
        /* unknown flags and dirty reserved bytes */
        k.head.count = 3;
        k.head.flags = 2;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), -EBADMSG);
        k.head.flags = 1; /* 0.1's dry-run flag: its layout still decodes */
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), 0);
        k.ids[2].reserved[5] = 1;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), -EBADMSG);
        k.ids[2].reserved[5] = 0;
        /* no such family, no such state */
        k.ids[1].family = 7;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), -EBADMSG);
        k.ids[1].family = 10;
        k.ids[1].state = 0;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), -EBADMSG);
        k.ids[1].state = 200;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), -EBADMSG);
        k.ids[1].state = 9;
        CHECK_INT(decode(msg(PROTO_REQ_KILL, &k, sizeof(k))), 0);
}

/* KILL_NS: each socket with its namespace; flags 0 only; and the largest
 * request decodes while one more socket is refused. */
static void test_kill_ns(void) {
        static struct {
                struct proto_kill_head head;
                struct proto_sock_id_ns ids[PROTO_KILL_NS_MAX + 1];
        } k;
        const struct sock_id id = { .cookie = 7, .family = 10, .sport = 9000, .dport = 40000, .netns_ino = 4026532001u };
        struct sock_id back;
        uint8_t state;

        for (size_t i = 0; i < PROTO_KILL_NS_MAX + 1; i++)
                proto_id_ns_from_sock(&k.ids[i], &id, FW_TCP_LAST_ACK);
        proto_id_ns_to_sock(&k.ids[0], &back, &state);
        CHECK(sock_id_equal(&back, &id) && state == FW_TCP_LAST_ACK);

        k.head.count = 1;
        CHECK_INT(decode(msg(PROTO_REQ_KILL_NS, &k, sizeof(k.head) + sizeof(k.ids[0]))), 0);
        k.head.flags = 1;
        CHECK_INT(decode(msg(PROTO_REQ_KILL_NS, &k, sizeof(k.head) + sizeof(k.ids[0]))), -EBADMSG);
        k.head.flags = 0;
        k.ids[0].reserved = 1;
        CHECK_INT(decode(msg(PROTO_REQ_KILL_NS, &k, sizeof(k.head) + sizeof(k.ids[0]))), -EBADMSG);
        k.ids[0].reserved = 0;
        k.head.count = (uint32_t) PROTO_KILL_NS_MAX;
        CHECK_INT(decode(msg(PROTO_REQ_KILL_NS, &k, sizeof(k.head) + PROTO_KILL_NS_MAX * sizeof(k.ids[0]))), 0);
        /* one more: past the count limit, and past the size of a request */
        k.head.count = (uint32_t) PROTO_KILL_NS_MAX + 1;
        CHECK_INT(decode(msg(PROTO_REQ_KILL_NS, &k, sizeof(k.head) + (PROTO_KILL_NS_MAX + 1) * sizeof(k.ids[0]))),
                  -EBADMSG);
}

/* The bytes on the wire, written out: released layouts never change
 * (append-only), whatever the structs in proto.h come to look like. */
static void test_wire_bytes(void) {
        static const uint8_t status_request[] = {
                0x46, 0x57, 0x43, 0x54, 0x01, 0x00, 0x02, 0x00, 0x10, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        };
        /* KILL_NS of one socket: [::1]:9000 -> [::1]:40000, LAST_ACK, cookie
         * 0x0102030405060708, interface 3, namespace 4026532001 */
        static const uint8_t kill_ns[] = {
                0x46, 0x57, 0x43, 0x54, 0x01, 0x00, 0x05, 0x00, 0x58, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
                0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1,
                0x28, 0x23, 0x40, 0x9c, 0x03, 0x00, 0x00, 0x00,
                0x0a, 0x09, 0, 0, 0, 0, 0, 0,
                0xa1, 0x00, 0x00, 0xf0, 0x00, 0x00, 0x00, 0x00,
        };
        struct {
                struct proto_kill_head head;
                struct proto_sock_id_ns id;
        } k = { .head = { .count = 1 } };
        struct sock_id id = { .cookie = UINT64_C(0x0102030405060708), .sport = 9000, .dport = 40000, .ifindex = 3,
                              .netns_ino = 4026532001u, .family = 10 };
        size_t n;

        n = msg(PROTO_REQ_STATUS, NULL, 0);
        CHECK_INT(n, sizeof(status_request));
        CHECK(memcmp(buf, status_request, sizeof(status_request)) == 0);

        id.src[15] = 1;
        id.dst[15] = 1;
        proto_id_ns_from_sock(&k.id, &id, FW_TCP_LAST_ACK);
        n = msg(PROTO_REQ_KILL_NS, &k, sizeof(k));
        CHECK_INT(n, sizeof(kill_ns));
        CHECK(memcmp(buf, kill_ns, sizeof(kill_ns)) == 0);
        CHECK_INT(decode(n), 0);
}

static void test_replies(void) {
        struct proto_error e = { .error = -EPERM };
        struct proto_status st = {};
        uint64_t total = 5;

        strcpy(e.message, "permission denied");
        CHECK_INT(decode(msg(PROTO_REPLY_ERROR, &e, sizeof(e))), 0);
        memset(e.message, 'x', sizeof(e.message)); /* no NUL */
        CHECK_INT(decode(msg(PROTO_REPLY_ERROR, &e, sizeof(e))), -EBADMSG);
        e.message[0] = '\0';
        e.error = 0; /* an error reply must carry an error */
        CHECK_INT(decode(msg(PROTO_REPLY_ERROR, &e, sizeof(e))), -EBADMSG);

        CHECK_INT(decode(msg(PROTO_REPLY_END, &total, sizeof(total))), 0);
        CHECK_INT(decode(msg(PROTO_REPLY_END, &total, 4)), -EBADMSG);

        strcpy(st.version, "0.1.0");
        CHECK_INT(decode(msg(PROTO_REPLY_STATUS, &st, sizeof(st))), 0);
        memset(st.config_path, 'a', sizeof(st.config_path));
        CHECK_INT(decode(msg(PROTO_REPLY_STATUS, &st, sizeof(st))), -EBADMSG);
}

int main(void) {
        test_requests();
        test_kill();
        test_kill_ns();
        test_wire_bytes();
        test_replies();
        return test_result("test-protocol");
}
