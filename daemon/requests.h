/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* The answers to the control socket's requests (proto.h): the daemon's
 * table (LIST), what it is doing (STATUS), kills in the namespace each
 * socket lives in, with the audit record of each (KILL), and RELOAD. Who
 * may ask what is decided before any of these runs (control.c). */

#include "control.h"

/* The control_handler_fn; userdata is the struct manager. */
void requests_handle(const struct proto_msg *req, const struct ucred *peer, struct reply *reply, void *userdata);
