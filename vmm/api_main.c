/* SPDX-License-Identifier: MIT */
/*
 * The Firecracker-style run (vmm/api_main.h): the real API backend over the
 * public mvm_vm_* functions, and the main thread that does what the api
 * thread may not (create the VM, open files a client names).
 */
#include "vmm/api_main.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "vmm/api.h"
#include "vmm/api_http.h"
#include "vmm/config.h"
#include "vmm/log.h"

/* Firecracker config files are a few hundred bytes; anything near this is not one. */
#define CONFIG_FILE_MAX (1024 * 1024)

enum cli_req {
	REQ_NONE = 0,
	REQ_START,
	REQ_REPLACE_DISK,
	REQ_OPEN_SINK,
};

/* The api thread's requests to the main thread, one at a time, under `lock`. */
struct cli {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t main_thread;
	const struct api_cli_opts *opts;
	struct mvm_vm *vm; /* set by the main thread at start; read by the api thread after */
	bool ended;	   /* the run ended (exit callback) */
	bool closing;	   /* the main thread stopped serving requests */
	/* The request in flight. */
	enum cli_req req;
	struct mvm_config *cfg;
	unsigned index;
	const char *path;
	enum api_sink sink;
	int fd;
	int ret;
	char err[512];
};

/* ---- Work done on the main thread -------------------------------------------------- */

static void on_exit_cb(void *opaque, const struct mvm_exit *exit)
{
	struct cli *c = opaque;

	pthread_mutex_lock(&c->lock);
	c->ended = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

static int do_start(struct cli *c, struct mvm_config *cfg, char *err, size_t errlen)
{
	struct mvm_vm *vm = NULL;
	int ret;

	mvm_config_set_exit_callback(cfg, on_exit_cb, c);
	ret = mvm_vm_create(cfg, &vm, err, errlen);
	if (ret < 0)
		return ret;
	if (c->opts->on_vm)
		c->opts->on_vm(vm);
	ret = mvm_vm_start(vm, err, errlen);
	if (ret < 0) {
		if (c->opts->on_vm)
			c->opts->on_vm(NULL);
		mvm_vm_destroy(vm);
		return ret;
	}
	c->vm = vm;
	return 0;
}

/*
 * Nonblocking and read-write, as Firecracker opens them: O_RDWR on a FIFO
 * does not wait for a reader, and a reader that does not keep up costs
 * lines, never a blocked thread.
 */
static int do_open_sink(enum api_sink which, const char *path, int *fd_out, char *err,
			size_t errlen)
{
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_APPEND | O_CREAT, 0600);

	if (fd < 0) {
		int e = errno;
		snprintf(err, errlen, "%s: %s", path, strerror(e));
		return -e;
	}
	if (which == API_SINK_LOG) {
		/* minivmm's log lines go to stderr: from now on that is the client's file. */
		if (dup2(fd, STDERR_FILENO) < 0) {
			int e = errno;
			close(fd);
			snprintf(err, errlen, "%s: dup2: %s", path, strerror(e));
			return -e;
		}
		close(fd);
		fd = -1;
	}
	*fd_out = fd;
	return 0;
}

static void serve(struct cli *c)
{
	switch (c->req) {
	case REQ_START:
		c->ret = do_start(c, c->cfg, c->err, sizeof(c->err));
		break;
	case REQ_REPLACE_DISK:
		c->ret = mvm_vm_replace_disk(c->vm, c->index, c->path, c->err, sizeof(c->err));
		break;
	case REQ_OPEN_SINK:
		c->ret = do_open_sink(c->sink, c->path, &c->fd, c->err, sizeof(c->err));
		break;
	case REQ_NONE:
		break;
	}
}

/* From the api thread: hand the request to the main thread and wait for its answer. */
static int post(struct cli *c, enum cli_req req, char *err, size_t errlen)
{
	int ret;

	if (pthread_equal(pthread_self(), c->main_thread)) {
		/* The config file and --kernel boots run on the main thread already. */
		c->req = req;
		c->err[0] = '\0';
		serve(c);
		c->req = REQ_NONE;
		snprintf(err, errlen, "%s", c->err);
		return c->ret;
	}
	pthread_mutex_lock(&c->lock);
	if (c->closing) {
		pthread_mutex_unlock(&c->lock);
		snprintf(err, errlen, "minivmm is shutting down");
		return -ESHUTDOWN;
	}
	c->req = req;
	c->err[0] = '\0';
	pthread_cond_broadcast(&c->cond);
	while (c->req != REQ_NONE)
		pthread_cond_wait(&c->cond, &c->lock);
	ret = c->ret;
	snprintf(err, errlen, "%s", c->err);
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* ---- The backend the router drives ------------------------------------------------- */

static int b_start(void *o, struct mvm_config *cfg, char *err, size_t errlen)
{
	struct cli *c = o;

	c->cfg = cfg;
	return post(c, REQ_START, err, errlen);
}

static enum mvm_vm_state b_state(void *o)
{
	return mvm_vm_state(((struct cli *)o)->vm);
}

static uint64_t b_uptime(void *o)
{
	return mvm_vm_uptime_ns(((struct cli *)o)->vm);
}

static int b_exit_info(void *o, struct mvm_exit *exit)
{
	return mvm_vm_exit_info(((struct cli *)o)->vm, exit);
}

static int b_pause(void *o)
{
	return mvm_vm_pause(((struct cli *)o)->vm);
}

static int b_resume(void *o)
{
	return mvm_vm_resume(((struct cli *)o)->vm);
}

static int b_power_button(void *o)
{
	return mvm_vm_power_button(((struct cli *)o)->vm);
}

static void b_stop(void *o)
{
	mvm_vm_request_stop(((struct cli *)o)->vm);
}

static int b_metrics(void *o, mvm_metric_fn fn, void *arg)
{
	return mvm_vm_metrics(((struct cli *)o)->vm, fn, arg);
}

static int b_replace_disk(void *o, unsigned index, const char *path, char *err, size_t errlen)
{
	struct cli *c = o;

	c->index = index;
	c->path = path;
	return post(c, REQ_REPLACE_DISK, err, errlen);
}

static int b_open_sink(void *o, enum api_sink which, const char *path, int *fd, char *err,
		       size_t errlen)
{
	struct cli *c = o;
	int ret;

	c->sink = which;
	c->path = path;
	c->fd = -1;
	ret = post(c, REQ_OPEN_SINK, err, errlen);
	*fd = c->fd;
	return ret;
}

static const struct api_backend_ops real_ops = {
    .start = b_start,
    .state = b_state,
    .uptime_ns = b_uptime,
    .exit_info = b_exit_info,
    .pause = b_pause,
    .resume = b_resume,
    .power_button = b_power_button,
    .stop = b_stop,
    .metrics = b_metrics,
    .replace_disk = b_replace_disk,
    .open_sink = b_open_sink,
};

/* ---- The run ----------------------------------------------------------------------- */

static int load_config_file(struct api_ctx *ctx, const char *path, char *err, size_t errlen)
{
	char msg[512];
	struct stat st;
	char *text;
	int fd, ret;
	ssize_t n;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "--config-file %s: %s", path, strerror(-ret));
		return ret;
	}
	if (fstat(fd, &st) < 0 || st.st_size > CONFIG_FILE_MAX) {
		close(fd);
		snprintf(err, errlen, "--config-file %s: not a file of at most %d bytes", path,
			 CONFIG_FILE_MAX);
		return -EINVAL;
	}
	text = malloc((size_t)st.st_size + 1);
	if (!text) {
		close(fd);
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	n = read(fd, text, (size_t)st.st_size);
	close(fd);
	if (n != st.st_size) {
		free(text);
		snprintf(err, errlen, "--config-file %s: short read", path);
		return -EIO;
	}
	ret = api_apply_config_json(ctx, text, (size_t)n, msg, sizeof(msg));
	free(text);
	if (ret < 0)
		snprintf(err, errlen, "--config-file %s: %s", path, msg);
	return ret;
}

/* Boots at once through the router, so that its state says Running afterwards. */
static int start_now(struct api_ctx *ctx, char *err, size_t errlen)
{
	struct api_reply r;
	static const char body[] = "{\"action_type\":\"InstanceStart\"}";
	int ret = 0;

	api_handle(ctx, "PUT", "/actions", body, sizeof(body) - 1, &r);
	if (r.status != 204) {
		api_reply_message(&r, err, errlen);
		ret = -EINVAL;
	}
	free(r.body);
	return ret;
}

int api_cli_run(struct mvm_config *cfg, const struct api_cli_opts *o, struct mvm_exit *exit,
		char *err, size_t errlen)
{
	struct cli c = {.opts = o, .fd = -1};
	struct api_server *server = NULL;
	struct api_ctx ctx;
	int ret;

	pthread_mutex_init(&c.lock, NULL);
	/* Timed waits below measure on the monotonic clock: wall-clock jumps do not matter. */
	{
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&c.cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	c.main_thread = pthread_self();
	memset(exit, 0, sizeof(*exit));
	api_ctx_init(&ctx, cfg, &real_ops, &c, o->id);
	ctx.kernel_set = o->boot_now;

	if (o->sock) {
		/* Bound and listening before the boot: clients' connects wait in the backlog. */
		ret = api_server_create(o->sock, &ctx, cfg->seccomp, &server, err, errlen);
		if (ret < 0)
			goto out;
	}
	if (o->config_file) {
		ret = load_config_file(&ctx, o->config_file, err, errlen);
		if (ret < 0)
			goto out;
	}
	if (o->boot_now || o->config_file) {
		ret = start_now(&ctx, err, errlen);
		if (ret < 0)
			goto out;
	}
	if (server) {
		ret = api_server_start(server, err, errlen);
		if (ret < 0)
			goto out;
	}

	pthread_mutex_lock(&c.lock);
	for (;;) {
		struct timespec ts;

		if (c.req != REQ_NONE) {
			/* Unlocked while it works: an exit callback may need the lock. */
			pthread_mutex_unlock(&c.lock);
			serve(&c);
			pthread_mutex_lock(&c.lock);
			c.req = REQ_NONE;
			pthread_cond_broadcast(&c.cond);
			continue;
		}
		if (c.ended || (o->stop && *o->stop && !c.vm))
			break;
		/* Signals reach the VM through on_vm; before one exists we poll the flag. */
		ts = monotonic_after_ms(200);
		pthread_cond_timedwait(&c.cond, &c.lock, &ts);
	}
	c.closing = true;
	pthread_mutex_unlock(&c.lock);
	ret = 0;
out:
	/* The api thread first: nothing may call into the VM once it is destroyed. */
	api_server_destroy(server);
	if (c.vm && ret < 0)
		mvm_vm_request_stop(c.vm);
	if (c.vm) {
		mvm_vm_wait(c.vm, exit);
		if (o->on_vm)
			o->on_vm(NULL);
		mvm_vm_destroy(c.vm);
	} else if (ret == 0) {
		exit->reason = MVM_EXIT_STOPPED;
	}
	api_ctx_release(&ctx);
	pthread_cond_destroy(&c.cond);
	pthread_mutex_destroy(&c.lock);
	return ret;
}
