/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll thread per VM serves every backend fd (stdin,
 * ioeventfds, timers, later TAP and the control socket).  Devices register
 * callbacks here and never start poll loops of their own.  Modelled on the
 * size of Redis' ae: add, mod, del, run, stop.
 */
#ifndef MINIVMM_EVENTLOOP_H
#define MINIVMM_EVENTLOOP_H

#include <stdint.h>
#include <sys/epoll.h>

struct ev_loop;

/* `events` is the EPOLLIN/EPOLLOUT/EPOLLHUP/EPOLLERR set that fired. */
typedef void (*ev_cb)(struct ev_loop *loop, int fd, uint32_t events, void *opaque);

int ev_loop_create(struct ev_loop **out);
void ev_loop_destroy(struct ev_loop *loop);

/* add/mod/del may be called from any thread, including from callbacks. */
int ev_add(struct ev_loop *loop, int fd, uint32_t events, ev_cb cb, void *opaque);
int ev_mod(struct ev_loop *loop, int fd, uint32_t events);
int ev_del(struct ev_loop *loop, int fd);

/* Runs callbacks until ev_stop(); returns 0, or -errno if epoll fails. */
int ev_run(struct ev_loop *loop);

/*
 * Makes ev_run() return before it runs another callback: the flag is
 * checked between every two callbacks (timers are callbacks too), so a stop
 * waits at most for the callback running now.  That is why a callback must
 * do a bounded amount of work and re-arm itself for the rest (devices:
 * virtio_queue_reschedule()).  Async-signal-safe.
 */
void ev_stop(struct ev_loop *loop);

/* Creates a one-shot CLOCK_MONOTONIC timerfd firing after `ms` and adds it. */
int ev_add_timer_ms(struct ev_loop *loop, uint64_t ms, ev_cb cb, void *opaque);

#endif
