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
        h.type = 77;
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
        k.head.flags = PROTO_KILL_DRY_RUN;
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
        /* the largest kill request fits the cap */
        CHECK(sizeof(struct proto_header) + sizeof(struct proto_kill_head) +
              PROTO_KILL_MAX * sizeof(struct proto_sock_id) <= PROTO_MAX_REQUEST);
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

        /* the largest list message fits a reply */
        CHECK(sizeof(struct proto_header) + sizeof(struct proto_tracked_head) +
              PROTO_TRACKED_PER_MSG * sizeof(struct proto_tracked) <= PROTO_MAX_REPLY);
}

int main(void) {
        test_requests();
        test_kill();
        test_replies();
        return test_result("test-protocol");
}
