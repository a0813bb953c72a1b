/* SPDX-License-Identifier: MIT */
#include "tests/unit/fake_api_backend.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void fake_api_init(struct fake_api *f)
{
	memset(f, 0, sizeof(*f));
	f->replaced_index = -1;
	f->sink_fd = -1;
}

static int f_start(void *o, struct mvm_config *cfg, char *err, size_t errlen)
{
	struct fake_api *f = o;

	f->starts++;
	mvm_config_get(cfg, "boot", "cmdline", f->cmdline_at_start, sizeof(f->cmdline_at_start));
	if (f->start_ret < 0) {
		snprintf(err, errlen, "kernel: no such file");
		return f->start_ret;
	}
	f->state = MVM_STATE_RUNNING;
	return 0;
}

static enum mvm_vm_state f_state(void *o)
{
	return ((struct fake_api *)o)->state;
}

static uint64_t f_uptime(void *o)
{
	(void)o;
	return 1500000000ull;
}

static int f_exit_info(void *o, struct mvm_exit *ex)
{
	memset(ex, 0, sizeof(*ex));
	ex->reason = MVM_EXIT_POWEROFF;
	return ((struct fake_api *)o)->state == MVM_STATE_ENDED ? 0 : -EAGAIN;
}

static int f_pause(void *o)
{
	struct fake_api *f = o;

	if (f->state != MVM_STATE_RUNNING)
		return -EINVAL;
	f->pauses++;
	f->state = MVM_STATE_PAUSED;
	return 0;
}

static int f_resume(void *o)
{
	struct fake_api *f = o;

	if (f->state != MVM_STATE_PAUSED)
		return -EINVAL;
	f->resumes++;
	f->state = MVM_STATE_RUNNING;
	return 0;
}

static int f_button(void *o)
{
	struct fake_api *f = o;

	if (f->state != MVM_STATE_RUNNING)
		return -EINVAL;
	f->buttons++;
	return 0;
}

static void f_stop(void *o)
{
	struct fake_api *f = o;

	f->stops++;
	f->state = MVM_STATE_ENDED;
}

static int f_metrics(void *o, mvm_metric_fn fn, void *arg)
{
	(void)o;
	fn(arg, "vcpu0.exits_io", 42);
	fn(arg, "vcpu0.run_ns", 7);
	fn(arg, "blk0.read_bytes", 4096);
	fn(arg, "flat", 1);
	return 0;
}

static int f_replace(void *o, unsigned index, const char *path, char *err, size_t errlen)
{
	struct fake_api *f = o;

	(void)err;
	(void)errlen;
	if (index >= MVM_MAX_DISKS)
		abort(); /* the router must only name drives it knows */
	f->replaced_index = (int)index;
	snprintf(f->replaced_path, sizeof(f->replaced_path), "%s", path);
	return 0;
}

static int f_open_sink(void *o, enum api_sink which, const char *path, int *fd, char *err,
		       size_t errlen)
{
	struct fake_api *f = o;

	if (strcmp(path, "/nonexistent") == 0) {
		snprintf(err, errlen, "%s: No such file or directory", path);
		return -ENOENT;
	}
	/* A real fd, so that FlushMetrics writes somewhere. */
	if (which != API_SINK_METRICS)
		*fd = -1;
	else if (f->sink_fd >= 0)
		*fd = dup(f->sink_fd);
	else
		*fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
	return 0;
}

const struct api_backend_ops fake_api_ops = {
    f_start,  f_state, f_uptime,  f_exit_info, f_pause,	    f_resume,
    f_button, f_stop,  f_metrics, f_replace,   f_open_sink,
};
