/* SPDX-License-Identifier: MIT */
/*
 * HTTP on a Unix socket through libmicrohttpd (vmm/api_http.h).
 *
 * Every client is hostile: its bytes are parsed by MHD (request line,
 * headers, Content-Length framing) under its connection and memory limits,
 * and by api_handle() under API_BODY_MAX.  MHD runs in external-polling
 * epoll mode on our own thread so that this thread, not one MHD creates
 * behind our back, is the one that loads the API's seccomp filter.
 */
#include "vmm/api_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <poll.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "vmm/api_json.h"
#include "vmm/log.h"
#include "vmm/seccomp.h"
#include "vmm/unix_sock.h"

struct api_server {
	struct api_ctx *ctx;
	struct MHD_Daemon *mhd;
	int listen_fd;
	int stop_fd; /* eventfd: api_server_destroy() -> the thread */
	char *path;
	bool thread_started;
	pthread_t thread;
	struct sc_filters filters;
};

/* One request's body as it arrives; freed when MHD says the request is over. */
struct api_req {
	char *body;
	size_t len;
	bool too_big;
};

static enum MHD_Result send_reply(struct MHD_Connection *c, int status, char *body)
{
	struct MHD_Response *resp;
	enum MHD_Result ret;

	resp = MHD_create_response_from_buffer(
	    body ? strlen(body) : 0, body, body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!resp) {
		free(body);
		return MHD_NO;
	}
	if (body)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, "application/json");
	ret = MHD_queue_response(c, (unsigned)status, resp);
	MHD_destroy_response(resp);
	return ret;
}

static enum MHD_Result send_fault(struct MHD_Connection *c, int status, const char *msg)
{
	return send_reply(c, status, api_json_fault(msg));
}

/* Content-Length, if given, must be a plain number within the body limit. */
static bool length_too_big(struct MHD_Connection *c)
{
	const char *cl =
	    MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
	char *end;
	unsigned long long n;

	if (!cl)
		return false;
	errno = 0;
	n = strtoull(cl, &end, 10);
	return errno || end == cl || n > API_BODY_MAX;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_size, void **con_cls)
{
	struct api_server *s = cls;
	struct api_req *rq = *con_cls;
	struct api_reply reply;
	char msg[128];

	if (!rq) {
		/* Headers are in; no body byte has been handled yet. */
		rq = calloc(1, sizeof(*rq));
		if (!rq)
			return MHD_NO;
		*con_cls = rq;
		if (length_too_big(c)) {
			/*
			 * Refused before reading the body: MHD sends this reply
			 * and closes the connection instead of draining it.
			 */
			snprintf(msg, sizeof(msg),
				 "request body is larger than the limit of %d bytes", API_BODY_MAX);
			return send_fault(c, 400, msg);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		/* Chunked bodies have no Content-Length: the same limit as they arrive. */
		if (!rq->too_big && rq->len + *upload_size <= API_BODY_MAX) {
			char *grown = realloc(rq->body, rq->len + *upload_size);
			if (!grown)
				return MHD_NO;
			memcpy(grown + rq->len, upload_data, *upload_size);
			rq->body = grown;
			rq->len += *upload_size;
		} else {
			rq->too_big = true;
		}
		*upload_size = 0;
		return MHD_YES;
	}
	if (rq->too_big) {
		snprintf(msg, sizeof(msg), "request body is larger than the limit of %d bytes",
			 API_BODY_MAX);
		return send_fault(c, 400, msg);
	}
	api_handle(s->ctx, method, url, rq->body, rq->len, &reply);
	return send_reply(c, reply.status, reply.body);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct api_req *rq = *con_cls;

	if (rq) {
		free(rq->body);
		free(rq);
		*con_cls = NULL;
	}
}

/* MHD's own messages (malformed requests, limits hit) as our one-line log. */
static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char line[256];
	size_t n;

	vsnprintf(line, sizeof(line), fmt, ap);
	n = strlen(line);
	while (n && line[n - 1] == '\n')
		line[--n] = '\0';
	fprintf(stderr, "minivmm: api: %s\n", line);
}

static void *api_thread(void *opaque)
{
	struct api_server *s = opaque;
	const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	struct vmm_err e = {{0}};
	struct pollfd pfd[2];

	/* Before the first client byte: from here on a parser bug has only these calls. */
	if (sc_filters_apply(&s->filters, SC_ROLE_API, "api", &e) < 0) {
		fprintf(stderr, "minivmm: api: %s\n", e.msg);
		return NULL;
	}
	pfd[0] = (struct pollfd){.fd = info->epoll_fd, .events = POLLIN};
	pfd[1] = (struct pollfd){.fd = s->stop_fd, .events = POLLIN};
	for (;;) {
		MHD_UNSIGNED_LONG_LONG mhd_ms = 0;
		int timeout = 1000;

		/* MHD's next connection timeout; at least once a second regardless. */
		if (MHD_get_timeout(s->mhd, &mhd_ms) == MHD_YES && mhd_ms < 1000)
			timeout = (int)mhd_ms;
		if (poll(pfd, 2, timeout) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents)
			break;
		MHD_run(s->mhd);
	}
	return NULL;
}

static int make_socket(const char *path, char *err, size_t errlen)
{
	struct vmm_err e = {{0}};
	int ret = unix_listen("--api-sock", path, API_HTTP_MAX_CONNS, &e);

	return ret < 0 ? errbuf(err, errlen, ret, "%s", e.msg) : ret;
}

int api_server_create(const char *path, struct api_ctx *ctx, enum mvm_seccomp seccomp,
		      struct api_server **out, char *err, size_t errlen)
{
	struct api_server *s = calloc(1, sizeof(*s));
	struct vmm_err e = {{0}};
	int ret;

	if (!s)
		return errbuf(err, errlen, -ENOMEM, "out of memory");
	s->ctx = ctx;
	s->listen_fd = -1;
	s->stop_fd = -1;
	s->path = strdup(path);
	if (!s->path) {
		ret = errbuf(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	ret = sc_filters_build(&s->filters, seccomp, 0, &e);
	if (ret < 0) {
		errbuf(err, errlen, ret, "%s", e.msg);
		goto fail;
	}
	s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->stop_fd < 0) {
		ret = errbuf(err, errlen, -errno, "eventfd: %s", strerror(errno));
		goto fail;
	}
	ret = make_socket(path, err, errlen);
	if (ret < 0)
		goto fail;
	s->listen_fd = ret;
	/* The logger first: until MHD has read that option it prints with its own. */
	s->mhd = MHD_start_daemon(MHD_USE_EPOLL | MHD_USE_ERROR_LOG, 0, NULL, NULL, on_request, s,
				  MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
				  MHD_OPTION_LISTEN_SOCKET, s->listen_fd,
				  MHD_OPTION_CONNECTION_LIMIT, (unsigned)API_HTTP_MAX_CONNS,
				  MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)API_HTTP_TIMEOUT_S,
				  MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)API_HTTP_CONN_MEMORY,
				  MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_END);
	if (!s->mhd) {
		ret =
		    errbuf(err, errlen, -EIO, "--api-sock %s: libmicrohttpd would not start", path);
		unlink(path);
		goto fail;
	}
	*out = s;
	return 0;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	if (s->stop_fd >= 0)
		close(s->stop_fd);
	sc_filters_free(&s->filters);
	free(s->path);
	free(s);
	return ret;
}

int api_server_start(struct api_server *s, char *err, size_t errlen)
{
	int ret = pthread_create(&s->thread, NULL, api_thread, s);

	if (ret)
		return errbuf(err, errlen, -ret, "cannot start the api thread: %s", strerror(ret));
	pthread_setname_np(s->thread, "api");
	s->thread_started = true;
	return 0;
}

void api_server_destroy(struct api_server *s)
{
	uint64_t one = 1;

	if (!s)
		return;
	if (s->thread_started) {
		if (write(s->stop_fd, &one, sizeof(one)) < 0) {
			/* An eventfd write only fails at 2^64-1: the thread is woken anyway. */
		}
		pthread_join(s->thread, NULL);
	}
	/* MHD closes the listen socket it was given (MHD_OPTION_LISTEN_SOCKET). */
	MHD_stop_daemon(s->mhd);
	unlink(s->path);
	close(s->stop_fd);
	sc_filters_free(&s->filters);
	free(s->path);
	free(s);
}
