/* SPDX-License-Identifier: MIT */
/* The life cycle and the command channel (vmm/control.h). */
#include "vmm/control.h"

#include <errno.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/log.h"

const char *ctl_cmd_name(enum ctl_cmd cmd)
{
	static const char *const names[CTL_CMD_COUNT] = {
	    "start", "pause", "resume", "power button", "replace disk", "end",
	};
	return (unsigned)cmd < CTL_CMD_COUNT ? names[cmd] : "?";
}

int ctl_transition(enum mvm_vm_state from, enum ctl_cmd cmd, enum mvm_vm_state *to)
{
	switch (cmd) {
	case CTL_START:
		if (from != MVM_STATE_NOT_STARTED)
			return -EALREADY;
		*to = MVM_STATE_RUNNING;
		return 0;
	case CTL_PAUSE:
		if (from != MVM_STATE_RUNNING)
			return -EINVAL;
		*to = MVM_STATE_PAUSED;
		return 0;
	case CTL_RESUME:
		if (from != MVM_STATE_PAUSED)
			return -EINVAL;
		*to = MVM_STATE_RUNNING;
		return 0;
	case CTL_POWER_BUTTON:
		/* A paused guest could not act on it: refuse rather than queue. */
		if (from != MVM_STATE_RUNNING)
			return -EINVAL;
		*to = from;
		return 0;
	case CTL_REPLACE_DISK:
		/*
		 * Running only: while paused the devices' state must not change
		 * (a snapshot reads it) and the config-change interrupt would
		 * reach a stopped guest; before the start, configure the disk.
		 */
		if (from != MVM_STATE_RUNNING)
			return -EINVAL;
		*to = from;
		return 0;
	case CTL_END:
		if (from != MVM_STATE_RUNNING && from != MVM_STATE_PAUSED)
			return -EINVAL;
		*to = MVM_STATE_ENDED;
		return 0;
	case CTL_CMD_COUNT:
		break;
	}
	return -EINVAL;
}

int ctl_init(struct control *c, ctl_exec_fn exec, void *opaque)
{
	pthread_condattr_t attr;
	int ret;

	memset(c, 0, sizeof(*c));
	c->exec = exec;
	c->opaque = opaque;
	c->timeout_ms = CTL_TIMEOUT_MS;
	atomic_init(&c->state, MVM_STATE_NOT_STARTED);
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0)
		return -errno;
	pthread_mutex_init(&c->lock, NULL);
	/* Deadlines on CLOCK_MONOTONIC: a wall-clock step must not stretch or cut them. */
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	ret = -pthread_cond_init(&c->cond, &attr);
	pthread_condattr_destroy(&attr);
	if (ret < 0) {
		pthread_mutex_destroy(&c->lock);
		close(c->efd);
		c->efd = -1;
	}
	return ret;
}

void ctl_destroy(struct control *c)
{
	if (c->efd < 0)
		return;
	if (c->loop)
		ev_del(c->loop, c->efd);
	close(c->efd);
	c->efd = -1;
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
}

int ctl_start(struct control *c)
{
	enum mvm_vm_state to;
	int ret;

	pthread_mutex_lock(&c->lock);
	ret = ctl_transition(atomic_load(&c->state), CTL_START, &to);
	if (ret == 0) {
		atomic_store(&c->start_ns, clock_ns());
		atomic_store(&c->state, to);
	}
	pthread_mutex_unlock(&c->lock);
	return ret;
}

/* The doorbell rang: take the command, run it, hand back the result.  Loop thread. */
static void ctl_on_doorbell(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct control *c = opaque;
	struct ctl_request *req;
	enum mvm_vm_state to;
	uint64_t v;
	int ret;

	if (read(fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&c->lock);
	req = c->slot;
	if (req) {
		c->slot = NULL;
		req->taken = true;
		pthread_cond_broadcast(&c->cond); /* the slot is free for the next poster */
	}
	pthread_mutex_unlock(&c->lock);
	if (!req)
		return; /* withdrawn after a timeout */

	/* Again here: the state may have moved since the poster looked. */
	ret = ctl_transition(atomic_load(&c->state), req->cmd, &to);
	if (ret == 0)
		ret = c->exec(c->opaque, req);
	pthread_mutex_lock(&c->lock);
	if (ret == 0)
		atomic_store(&c->state, to);
	req->result = ret;
	req->done = true;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int ctl_attach(struct control *c, struct ev_loop *loop)
{
	int ret = ev_add(loop, c->efd, EPOLLIN, ctl_on_doorbell, c);

	if (ret < 0)
		return ret;
	c->loop = loop;
	return ev_set_control(loop, c->efd);
}

void ctl_set_loop_thread(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	c->loop_thread = pthread_self();
	c->loop_thread_known = true;
	pthread_mutex_unlock(&c->lock);
}

void ctl_end(struct control *c)
{
	pthread_mutex_lock(&c->lock);
	if (!c->shutdown) {
		c->shutdown = true;
		atomic_store(&c->end_ns, clock_ns());
		atomic_store(&c->state, MVM_STATE_ENDED);
	}
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
}

int ctl_post(struct control *c, struct ctl_request *req)
{
	struct timespec deadline = monotonic_after_ms(c->timeout_ms);
	enum mvm_vm_state to;
	uint64_t one = 1;
	int ret = 0;

	req->taken = req->done = false;
	req->result = 0;
	pthread_mutex_lock(&c->lock);
	if (c->loop_thread_known && pthread_equal(c->loop_thread, pthread_self())) {
		ret = -EDEADLK;
		goto out;
	}
	/* A quick answer where the rule alone decides (and no loop may exist yet). */
	ret = ctl_transition(atomic_load(&c->state), req->cmd, &to);
	if (ret < 0)
		goto out;
	while (c->slot && !c->shutdown && ret == 0)
		ret = -pthread_cond_timedwait(&c->cond, &c->lock, &deadline);
	if (c->shutdown) {
		ret = -ESHUTDOWN;
		goto out;
	}
	if (ret < 0)
		goto out; /* -ETIMEDOUT: another command held the slot */
	c->slot = req;
	if (write(c->efd, &one, sizeof(one)) < 0) {
		c->slot = NULL;
		ret = -errno;
		goto out;
	}
	while (!req->taken && !c->shutdown && ret == 0)
		ret = -pthread_cond_timedwait(&c->cond, &c->lock, &deadline);
	if (!req->taken) {
		/* Withdrawn: the loop never saw it and never will. */
		if (c->slot == req)
			c->slot = NULL;
		pthread_cond_broadcast(&c->cond);
		ret = c->shutdown ? -ESHUTDOWN : -ETIMEDOUT;
		goto out;
	}
	/* Taken: the loop finishes it (bounded work), even if the run ends meanwhile. */
	while (!req->done)
		pthread_cond_wait(&c->cond, &c->lock);
	ret = req->result;
out:
	pthread_mutex_unlock(&c->lock);
	return ret;
}

enum mvm_vm_state ctl_state(struct control *c)
{
	return (enum mvm_vm_state)atomic_load(&c->state);
}

uint64_t ctl_uptime_ns(struct control *c)
{
	uint64_t start = atomic_load(&c->start_ns), end = atomic_load(&c->end_ns);

	if (!start)
		return 0;
	return (end ? end : clock_ns()) - start;
}
