/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Names and text for what sock_diag reports: TCP states, timers, endpoints.
 * Shared by the daemon (logs, alerts) and the CLI (table, JSON). */

#include <stddef.h>
#include <stdint.h>

#include "diag.h"

/* "FIN_WAIT_1", "LAST_ACK", ...; NULL for a number that is no TCP state. */
const char *sockfmt_state_or_null(uint8_t state);
/* The same, but "?" for a number that is no TCP state: safe for printf. */
const char *sockfmt_state_name(uint8_t state);

/* Parse a comma separated list of the closing states finwatch watches:
 * fin-wait-1, last-ack, closing, fin-wait-2, close-wait (case, and - or _,
 * insensitive). Returns 0 and the DIAG_STATE_BIT mask, or -EINVAL with
 * *ret_bad and *ret_bad_len naming the offending word (empty for an empty list
 * or an empty word). */
int sockfmt_states_parse(const char *list, uint32_t *ret_mask, const char **ret_bad, size_t *ret_bad_len);

/* Write the mask back as "fin-wait-1,last-ack". */
char *sockfmt_states_format(char *buf, size_t size, uint32_t mask);

/* "retransmit", "persist", "keepalive", "timewait", "off", "unknown" */
const char *sockfmt_timer_name(uint8_t timer);

/* "127.0.0.1:9000", "[::1]:9000"; v4-mapped IPv6 shown as IPv4. */
#define ENDPOINT_STRLEN (46 + 2 + 1 + 5 + 1)
char *sockfmt_endpoint(char *buf, size_t size, uint8_t family, const uint8_t addr[16], uint16_t port);
/* The same at p (room for ENDPOINT_STRLEN), no NUL; returns the end. */
char *sockfmt_put_endpoint(char *p, uint8_t family, const uint8_t addr[16], uint16_t port);
/* The address alone, without brackets or port. */
char *sockfmt_address(char *buf, size_t size, uint8_t family, const uint8_t addr[16]);

/* "tcp" or "tcp6" */
const char *sockfmt_proto(const struct fw_sock *s);

/* "retransmit(3)", "persist(5)", "off" */
#define TIMER_STRLEN 32
char *sockfmt_timer(char *buf, size_t size, const struct fw_sock *s);
/* The same at p (room for TIMER_STRLEN), no NUL; returns the end. */
char *sockfmt_put_timer(char *p, const struct fw_sock *s);
