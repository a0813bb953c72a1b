/* SPDX-License-Identifier: MIT */
/*
 * The event loop: one epoll thread per VM serves every backend fd (stdin,
 * ioeventfds, timers, later TAP and the control socket).  Devices register
 * callbacks here and never start poll loops of their own.  Modelled on the
 * size of Redis' ae: add, mod, del, run, stop.
 */
#ifndef MINIVMM_EVENTLOOP_H
#define MINIVMM_EVENTLOOP_H

#include <stdbool.h>
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

/*
 * Two classes of sources.  Everything added is a device source (virtqueue
 * notifications, TAP/slirp, console input, device timers) unless marked a
 * control source here (the stop eventfd, the control channel, --timeout, the
 * API socket): control sources are served while devices are paused.  Any
 * thread; -ENOENT if fd is not in the loop.
 */
int ev_set_control(struct ev_loop *loop, int fd);

/*
 * Pauses (true) or resumes (false) every device source: while paused their
 * fds are out of the epoll set (a level-triggered fd left in it but not
 * served would wake the loop forever), so nothing a device does on the
 * guest's behalf runs; ev_add/ev_mod of device sources are recorded and
 * take effect on resume.  Readiness that arrived meanwhile (an eventfd's
 * count, a TAP's queue) is reported again when the fd goes back in.  Called
 * from a control callback or before ev_run(); a device callback of the
 * batch being dispatched is skipped once devices are paused.
 */
int ev_pause_devices(struct ev_loop *loop, bool paused);

#endif
