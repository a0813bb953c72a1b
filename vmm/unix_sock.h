/* SPDX-License-Identifier: MIT */
/*
 * The listening Unix sockets minivmm offers to other users' processes: the
 * API socket (--api-sock, vmm/api_http.c) and the hybrid vsock socket
 * (devices/vsock_muxer.c).  Both are control surfaces of the VM, so both
 * are made the same careful way.
 */
#ifndef MINIVMM_UNIX_SOCK_H
#define MINIVMM_UNIX_SOCK_H

#include "vmm/log.h"

/*
 * A nonblocking, close-on-exec stream socket listening at path with mode
 * 0600 from the moment it exists.  An existing path is refused, never
 * unlinked: it may be someone else's file (a stale socket too).  On failure
 * nothing is left at path.  `what` starts the message ("--api-sock",
 * "vsock").  Returns the fd or -errno.
 */
int unix_listen(const char *what, const char *path, int backlog, struct vmm_err *err);

#endif
