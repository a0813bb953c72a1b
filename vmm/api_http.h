/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API's transport (README "HTTP API"): HTTP/1.1 on a Unix socket,
 * served by libmicrohttpd in external-polling (epoll) mode on a thread of
 * its own, "api", which loads the seccomp role SC_ROLE_API before it reads a
 * byte from a client.  Requests go to api_handle() (vmm/api.h).
 *
 * Limits, so that no client can block another or the VM: at most
 * API_HTTP_MAX_CONNS connections, API_HTTP_TIMEOUT_S of silence closes
 * one, MHD's per-connection memory is bounded and a body over
 * API_BODY_MAX is refused (by Content-Length before it is read).
 */
#ifndef MINIVMM_API_HTTP_H
#define MINIVMM_API_HTTP_H

#include <stddef.h>

#include "vmm/api.h"

#define API_HTTP_MAX_CONNS 128
#define API_HTTP_TIMEOUT_S 10
/* Headers and MHD's read buffer; bodies are copied out of it as they arrive. */
#define API_HTTP_CONN_MEMORY (64 * 1024)

struct api_server;

/*
 * Creates the socket at `path` (refusing an existing path; mode 0600 set
 * before listen(), so no client can connect while it is wider) and the
 * server around it; nothing is served until api_server_start().
 * -errno with err naming the path and the cause.
 */
int api_server_create(const char *path, struct api_ctx *ctx, enum mvm_seccomp seccomp,
		      struct api_server **out, char *err, size_t errlen);

/* Starts the "api" thread. */
int api_server_start(struct api_server *s, char *err, size_t errlen);

/*
 * Stops the thread (bounded: it waits for a request being handled, which
 * waits at most for a pause/resume's 5 s), closes every connection and
 * removes the socket file it created.
 */
void api_server_destroy(struct api_server *s);

#endif
