#define _GNU_SOURCE
#include "CEphemeraIO.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

int ephemera_open_cached(const char *path) {
    struct open_how how;
    memset(&how, 0, sizeof how);
    how.flags = O_RDONLY | O_CLOEXEC;
    how.resolve = RESOLVE_CACHED;
    return (int)syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof how);
}

ssize_t ephemera_pread_nowait(int fd, void *buffer, size_t length, off_t offset) {
    struct iovec iov = { .iov_base = buffer, .iov_len = length };
    return preadv2(fd, &iov, 1, offset, RWF_NOWAIT);
}
