/* SPDX-License-Identifier: GPL-2.0-or-later */
#pragma once

/* One socket held, as owner.bpf.c's iterator writes it and owner-bpf.c
 * reads it: shared by the BPF program and the C that reads its output. */

#include <linux/types.h>

struct owner_bpf_record {
        __u32 inode;            /* the socket's inode (idiag_inode) */
        __s32 pid;              /* the process holding it, as the reader's pid namespace numbers it */
};
