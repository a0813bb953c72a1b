/* SPDX-License-Identifier: MIT */
/*
 * The public API (vmm/minivmm.h): a thin shell around struct vm.  Commands
 * from other threads go through the control channel (vmm/control.h) to the
 * VM's event-loop thread, which owns every state transition.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/virtio_vsock.h"
#include "devices/vsock_muxer.h"
#include "vmm/config.h"
#include "vmm/vm.h"

struct mvm_vm {
	struct vm *vm;
	pthread_mutex_t lock; /* guards the fields below */
	bool loop_thread_started;
	bool joined;
	pthread_t loop_thread;
	struct mvm_exit exit; /* vm_loop()'s result, once joined */
};

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

int mvm_vm_create(const struct mvm_config *cfg, struct mvm_vm **out, char *err, size_t errlen)
{
	struct vmm_err e = {{0}};
	struct mvm_vm *h;
	int ret;

	if (!cfg || !out) {
		set_err(err, errlen, "mvm_vm_create: no config or no result pointer");
		return -EINVAL;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		set_err(err, errlen, "out of memory");
		return -ENOMEM;
	}
	ret = vm_create(cfg, &h->vm, &e);
	if (ret < 0) {
		free(h);
		set_err(err, errlen, e.msg[0] ? e.msg : "cannot create the VM");
		return ret;
	}
	pthread_mutex_init(&h->lock, NULL);
	*out = h;
	return 0;
}

static void *loop_thread(void *arg)
{
	struct mvm_vm *h = arg;

	pthread_setname_np(pthread_self(), "mvm-loop");
	vm_loop(h->vm, &h->exit); /* loads the loop's seccomp filter first */
	return NULL;
}

int mvm_vm_start(struct mvm_vm *h, char *err, size_t errlen)
{
	struct vmm_err e = {{0}};
	sigset_t all, old;
	int ret;

	if (!h)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	ret = vm_start(h->vm, &e);
	if (ret < 0) {
		set_err(err, errlen, e.msg);
		goto out;
	}
	/*
	 * The loop thread takes no signal of the embedder's (SIGINT, SIGCHLD
	 * go to its own threads); only this new thread's mask is changed.
	 */
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	ret = -pthread_create(&h->loop_thread, NULL, loop_thread, h);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (ret < 0) {
		/* No loop will ever run: end the run here (off the loop, unconfined). */
		snprintf(e.msg, sizeof(e.msg), "cannot create the event-loop thread: %s",
			 strerror(-ret));
		set_err(err, errlen, e.msg);
		vm_request_exit(h->vm, MVM_EXIT_HOST_ERROR, 0, e.msg);
		vm_loop_abandon(h->vm, &h->exit);
		h->joined = true;
		goto out;
	}
	h->loop_thread_started = true;
out:
	pthread_mutex_unlock(&h->lock);
	return ret;
}

int mvm_vm_wait(struct mvm_vm *h, struct mvm_exit *exit)
{
	int ret = 0;

	if (!h)
		return -EINVAL;
	pthread_mutex_lock(&h->lock);
	if (h->loop_thread_started && !h->joined) {
		pthread_join(h->loop_thread, NULL);
		h->joined = true;
	} else if (!h->joined) {
		ret = -EINVAL; /* never started (or started through mvm_vm_run) */
	}
	if (ret == 0 && exit)
		*exit = h->exit;
	pthread_mutex_unlock(&h->lock);
	return ret;
}

int mvm_vm_run(struct mvm_vm *h, struct mvm_exit *exit)
{
	struct mvm_exit ex;
	int ret;

	if (!h)
		return -EINVAL;
	ret = vm_run(h->vm, &ex);
	if (ret == 0) {
		pthread_mutex_lock(&h->lock);
		h->exit = ex;
		h->joined = true;
		pthread_mutex_unlock(&h->lock);
		if (exit)
			*exit = ex;
	}
	return ret;
}

enum mvm_vm_state mvm_vm_state(struct mvm_vm *h)
{
	return ctl_state(&h->vm->control);
}

const char *mvm_vm_state_name(enum mvm_vm_state state)
{
	/*
	 * Firecracker's InstanceInfo.state names for the first three; it has
	 * no name for a VM whose run ended (its process exits), so "Halted".
	 */
	switch (state) {
	case MVM_STATE_NOT_STARTED:
		return "Not started";
	case MVM_STATE_RUNNING:
		return "Running";
	case MVM_STATE_PAUSED:
		return "Paused";
	case MVM_STATE_ENDED:
		return "Halted";
	}
	return "Unknown";
}

uint64_t mvm_vm_uptime_ns(struct mvm_vm *h)
{
	return ctl_uptime_ns(&h->vm->control);
}

int mvm_vm_exit_info(struct mvm_vm *h, struct mvm_exit *exit)
{
	if (!h || !exit)
		return -EINVAL;
	if (ctl_state(&h->vm->control) != MVM_STATE_ENDED)
		return -EAGAIN;
	/* ENDED is set after the exit was claimed and filled in (ctl_end). */
	*exit = h->vm->exit;
	return 0;
}

static int command(struct mvm_vm *h, enum ctl_cmd cmd)
{
	struct ctl_request req = {.cmd = cmd};

	if (!h)
		return -EINVAL;
	return ctl_post(&h->vm->control, &req);
}

int mvm_vm_pause(struct mvm_vm *h)
{
	return command(h, CTL_PAUSE);
}

int mvm_vm_resume(struct mvm_vm *h)
{
	return command(h, CTL_RESUME);
}

int mvm_vm_power_button(struct mvm_vm *h)
{
	return command(h, CTL_POWER_BUTTON);
}

void mvm_vm_request_stop(struct mvm_vm *h)
{
	if (h && h->vm)
		vm_request_stop(h->vm);
}

int mvm_vm_metrics(struct mvm_vm *h, mvm_metric_fn fn, void *opaque)
{
	if (!h)
		return -EINVAL;
	return vm_metrics(h->vm, fn, opaque);
}

int mvm_vm_replace_disk(struct mvm_vm *h, unsigned index, const char *path, char *err,
			size_t errlen)
{
	struct vmm_err e = {{0}};
	int ret;

	if (!h)
		return -EINVAL;
	ret = vm_replace_disk(h->vm, index, path, &e);
	if (ret < 0)
		set_err(err, errlen, e.msg);
	return ret;
}

void mvm_vm_destroy(struct mvm_vm *h)
{
	if (!h)
		return;
	/* A started VM nobody waited for: end its run and join its threads first. */
	pthread_mutex_lock(&h->lock);
	if (h->loop_thread_started && !h->joined) {
		vm_request_stop(h->vm);
		pthread_join(h->loop_thread, NULL);
		h->joined = true;
	}
	pthread_mutex_unlock(&h->lock);
	vm_destroy(h->vm);
	pthread_mutex_destroy(&h->lock);
	free(h);
}

/* How long the guest has to accept a host connection (Firecracker's LocalInit timeout is 2 s). */
#define VSOCK_CONNECT_TIMEOUT_MS 5000u

int mvm_vm_vsock_connect(struct mvm_vm *h, uint32_t port, char *err, size_t errlen)
{
	if (!h || !h->vm || !h->vm->vsock) {
		if (err && errlen)
			snprintf(err, errlen, "the VM has no vsock device");
		return -ENODEV;
	}
	return vsock_uds_connect(virtio_vsock_uds_path(h->vm->vsock), port,
				 VSOCK_CONNECT_TIMEOUT_MS, err, errlen);
}
