/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The socket holders, read in the kernel: a task_file iterator (Linux 5.8+)
 * visits each process's open files once (threads sharing their leader's
 * table are skipped) and writes one record per socket: its inode and the
 * pid of the process holding it, as the reader's pid namespace numbers it.
 * No readlink per descriptor: a record costs a few loads, where procfs
 * costs a path walk and a syscall. owner-bpf.c loads it; the kernel's own
 * BTF places each field (CO-RE), so the few fields named below need only
 * their names to match the kernel's. */
#include <linux/types.h>
#include <stdbool.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "owner-record.h"

#define S_IFMT 0170000
#define S_IFSOCK 0140000

/* the kernel's types, the fields read only */
struct seq_file;
struct bpf_iter_meta {
        struct seq_file *seq;
} __attribute__((preserve_access_index));
struct upid {
        int nr;
} __attribute__((preserve_access_index));
struct pid {
        unsigned int level;
        struct upid numbers[1];
} __attribute__((preserve_access_index));
struct inode {
        unsigned short i_mode;
        unsigned long i_ino;
} __attribute__((preserve_access_index));
struct file {
        struct inode *f_inode;
} __attribute__((preserve_access_index));
struct task_struct {
        int tgid;
        struct task_struct *group_leader;
        struct pid *thread_pid;
} __attribute__((preserve_access_index));
/* the kernel's has a u32 fd between task and file: the loader places each
 * field by name (preserve_access_index), so what is not read is left out */
struct bpf_iter__task_file {
        struct bpf_iter_meta *meta;
        struct task_struct *task;
        struct file *file;
} __attribute__((preserve_access_index));

/* The reader's pid namespace's level (0: the first), which the iterator
 * numbers processes in (task_active_pid_ns(current)): the deepest level of
 * the reader's own pid. Looked up at the first record, kept for the rest
 * (owner-bpf.c loads the program for one read); a nested namespace cannot
 * learn it from inside (NS_GET_PARENT stops at it). */
static __u32 pid_level;
static bool pid_level_known;

static __u32 reader_pid_level(void) {
        struct task_struct *me;

        if (!pid_level_known) {
                me = (struct task_struct *) bpf_get_current_task();
                pid_level = BPF_CORE_READ(me, thread_pid, level);
                pid_level_known = true;
        }
        return pid_level;
}

SEC("iter/task_file")
int socket_holders(struct bpf_iter__task_file *ctx) {
        struct task_struct *task = ctx->task;
        struct file *file = ctx->file;
        struct owner_bpf_record rec;
        struct inode *inode;
        struct pid *pid;
        __u32 level;
        __u64 at;

        if (!task || !file)
                return 0; /* the last call, after the last file */
        inode = BPF_CORE_READ(file, f_inode);
        if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFSOCK)
                return 0;
        rec.inode = (__u32) BPF_CORE_READ(inode, i_ino);
        level = reader_pid_level();
        if (level == 0) {
                /* numbers[0] too, one read where that is four */
                rec.pid = BPF_CORE_READ(task, tgid);
        } else {
                /* the process's pid as a nested namespace numbers it:
                 * numbers[] of its leader's struct pid, one per level */
                pid = BPF_CORE_READ(task, group_leader, thread_pid);
                if (!pid || BPF_CORE_READ(pid, level) < level)
                        return 0; /* not seen from there */
                at = bpf_core_field_offset(struct pid, numbers) + (__u64) level * bpf_core_type_size(struct upid) +
                     bpf_core_field_offset(struct upid, nr);
                if (bpf_probe_read_kernel(&rec.pid, sizeof(rec.pid), (const char *) pid + at) < 0)
                        return 0;
        }
        bpf_seq_write(ctx->meta->seq, &rec, sizeof(rec));
        return 0;
}

char LICENSE[] SEC("license") = "GPL";
