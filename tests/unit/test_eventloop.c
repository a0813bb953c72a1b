/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/eventloop.h"

struct counter {
	int calls;
	int stop_after;
	int del_fd;
};

static void on_readable(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct counter *c = opaque;
	char buf[16];
	if (read(fd, buf, sizeof(buf)) < 0)
		return;
	c->calls++;
	if (c->del_fd >= 0)
		ev_del(loop, c->del_fd);
	if (c->calls >= c->stop_after)
		ev_stop(loop);
}

START_TEST(callbacks_run_until_stop)
{
	struct ev_loop *loop;
	struct counter c = {0, 2, -1};
	int p[2];

	ck_assert_int_eq(ev_loop_create(&loop), 0);
	ck_assert_int_eq(pipe(p), 0);
	ck_assert_int_eq(ev_add(loop, p[0], EPOLLIN, on_readable, &c), 0);
	ck_assert_int_eq(ev_add(loop, p[0], EPOLLIN, on_readable, &c), -EEXIST);
	ck_assert_int_eq(write(p[1], "a", 1), 1);
	ck_assert_int_eq(write(p[1], "b", 1), 1);
	/* Both bytes may arrive in one read; keep feeding until stopped. */
	c.stop_after = 1;
	ck_assert_int_eq(ev_run(loop), 0);
	ck_assert_int_ge(c.calls, 1);
	ck_assert_int_eq(ev_del(loop, p[0]), 0);
	ck_assert_int_eq(ev_del(loop, p[0]), -ENOENT);
	ev_loop_destroy(loop);
	close(p[0]);
	close(p[1]);
}
END_TEST

static void on_timer(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	*(int *)opaque += 1;
	ev_stop(loop);
}

START_TEST(timer_fires)
{
	struct ev_loop *loop;
	int fired = 0;

	ck_assert_int_eq(ev_loop_create(&loop), 0);
	ck_assert_int_ge(ev_add_timer_ms(loop, 20, on_timer, &fired), 0);
	ck_assert_int_eq(ev_run(loop), 0);
	ck_assert_int_eq(fired, 1);
	ev_loop_destroy(loop); /* closes the timerfd it owns */
}
END_TEST

static void *stop_later(void *arg)
{
	usleep(20000);
	ev_stop(arg);
	return NULL;
}

START_TEST(stop_from_another_thread)
{
	struct ev_loop *loop;
	pthread_t t;

	ck_assert_int_eq(ev_loop_create(&loop), 0);
	pthread_create(&t, NULL, stop_later, loop);
	ck_assert_int_eq(ev_run(loop), 0);
	pthread_join(t, NULL);
	ev_loop_destroy(loop);
}
END_TEST

/*
 * A device that spent its budget re-arms itself (writes its own eventfd)
 * every time: the loop must still run everyone else, timers included, and
 * a stop must win before the next callback (DESIGN "Budgets, not drains").
 */
struct busy {
	unsigned calls;
};

static void on_busy(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct busy *b = opaque;
	uint64_t v = 1;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) < 0)
		return;
	b->calls++;
	usleep(1000); /* one budget's worth of work */
	v = 1;
	if (write(fd, &v, sizeof(v)) < 0)
		return;
}

static void on_other(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	uint64_t v;

	(void)loop;
	(void)events;
	if (read(fd, &v, sizeof(v)) == sizeof(v))
		*(unsigned *)opaque += 1;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(self_rearming_callback_starves_nobody)
{
	struct ev_loop *loop;
	struct busy b = {0};
	unsigned other_calls = 0;
	int fired = 0, busy_fd = eventfd(1, EFD_NONBLOCK), other_fd = eventfd(1, EFD_NONBLOCK);
	uint64_t start, took;
	pthread_t t;

	ck_assert_int_eq(ev_loop_create(&loop), 0);
	ck_assert_int_eq(ev_add(loop, busy_fd, EPOLLIN, on_busy, &b), 0);
	ck_assert_int_eq(ev_add(loop, other_fd, EPOLLIN, on_other, &other_calls), 0);
	ck_assert_int_ge(ev_add_timer_ms(loop, 30, on_timer, &fired), 0);
	start = mono_ms();
	ck_assert_int_eq(ev_run(loop), 0);
	took = mono_ms() - start;
	ck_assert_int_eq(fired, 1);
	ck_assert_uint_eq(other_calls, 1);
	ck_assert_uint_ge(b.calls, 2);
	ck_assert_uint_lt(took, 30 + 50);

	ev_loop_destroy(loop);

	/* A stop from another thread (a signal handler) wins against it too. */
	ck_assert_int_eq(ev_loop_create(&loop), 0);
	ck_assert_int_eq(ev_add(loop, busy_fd, EPOLLIN, on_busy, &b), 0);
	start = mono_ms();
	pthread_create(&t, NULL, stop_later, loop); /* after 20 ms */
	ck_assert_int_eq(ev_run(loop), 0);
	took = mono_ms() - start;
	pthread_join(t, NULL);
	ck_assert_uint_lt(took, 20 + 50);
	ev_loop_destroy(loop);
	close(busy_fd);
	close(other_fd);
}
END_TEST

Suite *eventloop_suite(void)
{
	Suite *s = suite_create("eventloop");
	TCase *tc = tcase_create("loop");
	tcase_add_test(tc, callbacks_run_until_stop);
	tcase_add_test(tc, timer_fires);
	tcase_add_test(tc, stop_from_another_thread);
	tcase_add_test(tc, self_rearming_callback_starves_nobody);
	suite_add_tcase(s, tc);
	return s;
}
