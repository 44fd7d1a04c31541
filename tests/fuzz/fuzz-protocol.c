/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control protocol decoder, and reading what it accepted. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t *buf = malloc(size ? size : 1);
        struct proto_msg m;

        memcpy(buf, data, size);
        if (proto_decode(buf, size, &m) == 0 && (m.type == PROTO_REQ_KILL || m.type == PROTO_REQ_KILL_NS)) {
                size_t item = m.type == PROTO_REQ_KILL ? sizeof(struct proto_sock_id) : sizeof(struct proto_sock_id_ns);
                struct proto_kill_head head;
                volatile uint64_t sum = 0;

                /* what a handler does with a decoded kill: every id it names is inside */
                memcpy(&head, m.payload, sizeof(head));
                for (uint32_t i = 0; i < head.count; i++) {
                        union {
                                struct proto_sock_id w;
                                struct proto_sock_id_ns ns;
                        } u;
                        struct sock_id id;
                        uint8_t state;

                        memcpy(&u, m.payload + sizeof(head) + i * item, item);
                        if (m.type == PROTO_REQ_KILL)
                                proto_id_to_sock(&u.w, &id, &state);
                        else
                                proto_id_ns_to_sock(&u.ns, &id, &state);
                        sum += id.cookie + id.netns_ino + state;
                }
                (void) sum;
        }
        free(buf);
        return 0;
}
