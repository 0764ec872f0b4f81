#ifndef CEPHEMERA_IO_H
#define CEPHEMERA_IO_H

#include <sys/types.h>

/// Opens `path` read-only (close-on-exec) only if every component of it is already in the kernel's lookup cache
/// (openat2 with RESOLVE_CACHED, Linux 5.12+), so it never waits for the disk. Returns the descriptor, or -1 with
/// errno: EAGAIN when it would have had to wait, ENOENT when the cache knows there is no such file, ENOSYS or
/// EINVAL where the kernel cannot do this (then use a plain open on a thread that may block).
int ephemera_open_cached(const char *path);

/// preadv2 with RWF_NOWAIT: reads only what the page cache holds, never waiting for the disk. Returns the bytes
/// read (possibly fewer than asked), or -1 with errno EAGAIN when nothing could be read without waiting
/// (EOPNOTSUPP where the file system cannot say).
ssize_t ephemera_pread_nowait(int fd, void *buffer, size_t length, off_t offset);

#endif
