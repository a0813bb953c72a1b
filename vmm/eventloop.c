/* SPDX-License-Identifier: MIT */
#include "eventloop.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

struct ev_handler {
	int fd;
	ev_cb cb;
	void *opaque;
	bool owns_fd; /* timers: closed by ev_del / destroy */
	bool live;
	bool control;	 /* served while devices are paused (ev_set_control) */
	uint32_t events; /* as last added/modified: re-registered on resume */
};

struct ev_loop {
	int epfd;
	int stopfd;
	atomic_bool stop;
	pthread_mutex_t lock; /* guards handlers[] and devices_paused */
	bool devices_paused;  /* device sources are out of the epoll set */
	struct ev_handler *handlers;
	size_t nhandlers, cap;
};

int ev_loop_create(struct ev_loop **out)
{
	struct ev_loop *loop = calloc(1, sizeof(*loop));
	struct epoll_event ev = {.events = EPOLLIN};
	int ret;

	if (!loop)
		return -ENOMEM;
	pthread_mutex_init(&loop->lock, NULL);
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	loop->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (loop->epfd < 0 || loop->stopfd < 0) {
		ret = -errno;
		goto fail;
	}
	ev.data.fd = loop->stopfd;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, loop->stopfd, &ev) < 0) {
		ret = -errno;
		goto fail;
	}
	*out = loop;
	return 0;
fail:
	if (loop->epfd >= 0)
		close(loop->epfd);
	if (loop->stopfd >= 0)
		close(loop->stopfd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
	return ret;
}

void ev_loop_destroy(struct ev_loop *loop)
{
	if (!loop)
		return;
	for (size_t i = 0; i < loop->nhandlers; i++)
		if (loop->handlers[i].live && loop->handlers[i].owns_fd)
			close(loop->handlers[i].fd);
	free(loop->handlers);
	close(loop->epfd);
	close(loop->stopfd);
	pthread_mutex_destroy(&loop->lock);
	free(loop);
}

static struct ev_handler *find_locked(struct ev_loop *loop, int fd)
{
	for (size_t i = 0; i < loop->nhandlers; i++)
		if (loop->handlers[i].live && loop->handlers[i].fd == fd)
			return &loop->handlers[i];
	return NULL;
}

static int ev_add_common(struct ev_loop *loop, int fd, uint32_t events, ev_cb cb, void *opaque,
			 bool owns_fd)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	struct ev_handler *h = NULL;
	int ret = 0;

	pthread_mutex_lock(&loop->lock);
	if (find_locked(loop, fd)) {
		ret = -EEXIST;
		goto out;
	}
	for (size_t i = 0; i < loop->nhandlers; i++)
		if (!loop->handlers[i].live)
			h = &loop->handlers[i];
	if (!h) {
		if (loop->nhandlers == loop->cap) {
			size_t cap = loop->cap ? loop->cap * 2 : 16;
			struct ev_handler *n = realloc(loop->handlers, cap * sizeof(*n));
			if (!n) {
				ret = -ENOMEM;
				goto out;
			}
			loop->handlers = n;
			loop->cap = cap;
		}
		h = &loop->handlers[loop->nhandlers++];
	}
	*h = (struct ev_handler){fd, cb, opaque, owns_fd, true, false, events};
	/* A device source added while paused joins the epoll set on resume. */
	if (loop->devices_paused)
		goto out;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		ret = -errno;
		h->live = false;
	}
out:
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int ev_add(struct ev_loop *loop, int fd, uint32_t events, ev_cb cb, void *opaque)
{
	return ev_add_common(loop, fd, events, cb, opaque, false);
}

int ev_mod(struct ev_loop *loop, int fd, uint32_t events)
{
	struct epoll_event ev = {.events = events, .data.fd = fd};
	struct ev_handler *h;
	int ret = 0;

	pthread_mutex_lock(&loop->lock);
	h = find_locked(loop, fd);
	if (!h) {
		ret = -ENOENT;
	} else {
		h->events = events;
		if ((h->control || !loop->devices_paused) &&
		    epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
			ret = -errno;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int ev_del(struct ev_loop *loop, int fd)
{
	struct ev_handler *h;
	int ret = 0;

	pthread_mutex_lock(&loop->lock);
	h = find_locked(loop, fd);
	if (!h) {
		ret = -ENOENT;
	} else {
		epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
		if (h->owns_fd)
			close(fd);
		h->live = false;
	}
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int ev_run(struct ev_loop *loop)
{
	struct epoll_event events[32];

	while (!atomic_load(&loop->stop)) {
		int n = epoll_wait(loop->epfd, events, 32, -1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (int i = 0; i < n && !atomic_load(&loop->stop); i++) {
			int fd = events[i].data.fd;
			struct ev_handler h;
			struct ev_handler *p;

			if (fd == loop->stopfd)
				continue;
			/*
			 * Copy the handler out under the lock: a callback may
			 * add or delete handlers, which can move the array.
			 */
			pthread_mutex_lock(&loop->lock);
			p = find_locked(loop, fd);
			if (p)
				h = *p;
			/* Paused by an earlier callback of this batch: not served now. */
			if (p && !p->control && loop->devices_paused)
				p = NULL;
			pthread_mutex_unlock(&loop->lock);
			if (p)
				h.cb(loop, fd, events[i].events, h.opaque);
		}
	}
	return 0;
}

void ev_stop(struct ev_loop *loop)
{
	uint64_t one = 1;

	atomic_store(&loop->stop, true);
	/* write() is async-signal-safe; the eventfd wakes epoll_wait. */
	if (write(loop->stopfd, &one, sizeof(one)) < 0)
		return;
}

int ev_add_timer_ms(struct ev_loop *loop, uint64_t ms, ev_cb cb, void *opaque)
{
	struct itimerspec its = {
	    .it_value = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L}};
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	int ret;

	if (fd < 0)
		return -errno;
	if (timerfd_settime(fd, 0, &its, NULL) < 0) {
		ret = -errno;
		close(fd);
		return ret;
	}
	ret = ev_add_common(loop, fd, EPOLLIN, cb, opaque, true);
	if (ret < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

int ev_set_control(struct ev_loop *loop, int fd)
{
	struct ev_handler *h;
	int ret = 0;

	pthread_mutex_lock(&loop->lock);
	h = find_locked(loop, fd);
	if (!h) {
		ret = -ENOENT;
	} else if (!h->control && loop->devices_paused) {
		struct epoll_event ev = {.events = h->events, .data.fd = fd};
		if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0)
			ret = -errno;
	}
	if (ret == 0)
		h->control = true;
	pthread_mutex_unlock(&loop->lock);
	return ret;
}

int ev_pause_devices(struct ev_loop *loop, bool paused)
{
	int ret = 0;

	pthread_mutex_lock(&loop->lock);
	if (loop->devices_paused == paused)
		goto out;
	for (size_t i = 0; i < loop->nhandlers; i++) {
		struct ev_handler *h = &loop->handlers[i];
		struct epoll_event ev = {.events = h->events, .data.fd = h->fd};

		if (!h->live || h->control)
			continue;
		/*
		 * DEL of a registered fd cannot fail; an ADD that fails
		 * (ENOMEM) loses that source, so report it instead of hiding it.
		 */
		if (paused)
			epoll_ctl(loop->epfd, EPOLL_CTL_DEL, h->fd, NULL);
		else if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, h->fd, &ev) < 0 && ret == 0)
			ret = -errno;
	}
	loop->devices_paused = paused;
out:
	pthread_mutex_unlock(&loop->lock);
	return ret;
}
