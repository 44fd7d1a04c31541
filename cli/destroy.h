/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* Killing the gathered sockets with SOCK_DESTROY: through finwatchd, which
 * records every kill with who asked, or, without a daemon, here. */

#include <stddef.h>

#include "gather.h"

/* Kill every row of g (all of them: select first). socket_path: through
 * the daemon listening there; NULL: directly, each in the namespace it
 * lives in, each kill recorded in the journal as finwatchd records its own
 * (MESSAGE_ID, who asked, the result; FINWATCH_KILL_VIA=finwatch), and
 * *ret_unrecorded is 0, or -errno when the journal would not take one. results[i] gets row i's diag_kill() result. 0, or -errno when
 * the kills could not be asked for at all (err says why). */
int destroy_rows(const struct gathered *g, const char *socket_path, int *results, int *ret_unrecorded, char *err,
                 size_t errsize);
