/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* How the CLI shows sockets: a netstat-style table or a JSON array. */

#include <jansson.h>
#include <stdio.h>

#include "diag.h"

/* Display order: family, local endpoint, peer endpoint, cookie. */
void output_sort(struct fw_sock *socks, size_t n);

/* One socket as a JSON object (new reference), NULL on allocation failure. */
json_t *output_sock_json(const struct fw_sock *s);

/* Print all rows; returns 0 or -errno (-ENOMEM, -EIO on a write error). */
int output_table(FILE *f, const struct fw_sock *socks, size_t n);
int output_json(FILE *f, const struct fw_sock *socks, size_t n);
