/* SPDX-License-Identifier: MIT */
/*
 * The life cycle (vmm/control.c): the transition rule for every state and
 * command, the command channel against a real event loop on its own thread
 * (execution on the loop, timeout, release at the end, no self-post), and
 * the event loop's device pause (vmm/eventloop.c ev_pause_devices).
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "vmm/control.h"
#include "vmm/eventloop.h"

/* ---- The rule ---- */

START_TEST(every_state_and_command)
{
	/* Expected result per state (row) and command (column); -1: the state after is below. */
	static const int want[4][CTL_CMD_COUNT] = {
	    /*               START      PAUSE    RESUME   BUTTON   REPLACE  END */
	    [MVM_STATE_NOT_STARTED] = {0, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL},
	    [MVM_STATE_RUNNING] = {-EALREADY, 0, -EINVAL, 0, 0, 0},
	    [MVM_STATE_PAUSED] = {-EALREADY, -EINVAL, 0, -EINVAL, -EINVAL, 0},
	    [MVM_STATE_ENDED] = {-EALREADY, -EINVAL, -EINVAL, -EINVAL, -EINVAL, -EINVAL},
	};
	static const enum mvm_vm_state after[4][CTL_CMD_COUNT] = {
	    [MVM_STATE_NOT_STARTED] = {[CTL_START] = MVM_STATE_RUNNING},
	    [MVM_STATE_RUNNING] = {[CTL_PAUSE] = MVM_STATE_PAUSED,
				   [CTL_POWER_BUTTON] = MVM_STATE_RUNNING,
				   [CTL_REPLACE_DISK] = MVM_STATE_RUNNING,
				   [CTL_END] = MVM_STATE_ENDED},
	    [MVM_STATE_PAUSED] = {[CTL_RESUME] = MVM_STATE_RUNNING, [CTL_END] = MVM_STATE_ENDED},
	};

	for (int st = MVM_STATE_NOT_STARTED; st <= MVM_STATE_ENDED; st++) {
		for (int cmd = 0; cmd < CTL_CMD_COUNT; cmd++) {
			enum mvm_vm_state to = (enum mvm_vm_state)99;
			int ret = ctl_transition((enum mvm_vm_state)st, (enum ctl_cmd)cmd, &to);

			ck_assert_msg(ret == want[st][cmd], "state %d, %s: %d, want %d", st,
				      ctl_cmd_name((enum ctl_cmd)cmd), ret, want[st][cmd]);
			if (ret == 0)
				ck_assert_int_eq(to, after[st][cmd]);
			else
				ck_assert_int_eq(to, 99); /* untouched on refusal */
		}
	}
	ck_assert_int_eq(ctl_transition(MVM_STATE_RUNNING, CTL_CMD_COUNT, &(enum mvm_vm_state){0}),
			 -EINVAL);
}
END_TEST

/* ---- The channel, against a loop on its own thread ---- */

struct harness {
	struct control ctl;
	struct ev_loop *loop;
	pthread_t thread;
	pthread_t exec_thread; /* where the last command ran */
	int executed;
	int exec_result;
	int self_post; /* ctl_post from inside exec */
};

static int exec_cmd(void *opaque, struct ctl_request *req)
{
	struct harness *h = opaque;
	struct ctl_request inner = {.cmd = CTL_RESUME};

	h->exec_thread = pthread_self();
	h->executed++;
	h->self_post = ctl_post(&h->ctl, &inner);
	return h->exec_result;
}

static void *loop_main(void *arg)
{
	struct harness *h = arg;

	ctl_set_loop_thread(&h->ctl);
	ev_run(h->loop);
	ctl_end(&h->ctl);
	return NULL;
}

static void harness_init(struct harness *h, bool start_loop)
{
	*h = (struct harness){0};
	ck_assert_int_eq(ev_loop_create(&h->loop), 0);
	ck_assert_int_eq(ctl_init(&h->ctl, exec_cmd, h), 0);
	ck_assert_int_eq(ctl_state(&h->ctl), MVM_STATE_NOT_STARTED);
	ck_assert_uint_eq(ctl_uptime_ns(&h->ctl), 0);
	ck_assert_int_eq(ctl_start(&h->ctl), 0);
	ck_assert_int_eq(ctl_start(&h->ctl), -EALREADY);
	ck_assert_int_eq(ctl_attach(&h->ctl, h->loop), 0);
	if (start_loop)
		ck_assert_int_eq(pthread_create(&h->thread, NULL, loop_main, h), 0);
}

static void harness_fini(struct harness *h, bool joined)
{
	if (!joined) {
		ev_stop(h->loop);
		pthread_join(h->thread, NULL);
	}
	ctl_destroy(&h->ctl);
	ev_loop_destroy(h->loop);
}

START_TEST(commands_run_on_the_loop_thread)
{
	struct harness h;
	struct ctl_request req = {.cmd = CTL_PAUSE};

	harness_init(&h, true);
	ck_assert_int_eq(ctl_state(&h.ctl), MVM_STATE_RUNNING);
	ck_assert_int_eq(ctl_post(&h.ctl, &req), 0);
	ck_assert_int_eq(h.executed, 1);
	ck_assert(pthread_equal(h.exec_thread, h.thread));
	ck_assert_int_eq(h.self_post, -EDEADLK); /* the loop cannot wait for itself */
	ck_assert_int_eq(ctl_state(&h.ctl), MVM_STATE_PAUSED);

	/* Refused by the rule: not even sent. */
	ck_assert_int_eq(ctl_post(&h.ctl, &req), -EINVAL);
	ck_assert_int_eq(h.executed, 1);

	/* A failed command leaves the state alone. */
	h.exec_result = -EIO;
	req.cmd = CTL_RESUME;
	ck_assert_int_eq(ctl_post(&h.ctl, &req), -EIO);
	ck_assert_int_eq(ctl_state(&h.ctl), MVM_STATE_PAUSED);
	h.exec_result = 0;
	ck_assert_int_eq(ctl_post(&h.ctl, &req), 0);
	ck_assert_int_eq(ctl_state(&h.ctl), MVM_STATE_RUNNING);
	ck_assert_uint_gt(ctl_uptime_ns(&h.ctl), 0);

	ev_stop(h.loop);
	pthread_join(h.thread, NULL);
	ck_assert_int_eq(ctl_state(&h.ctl), MVM_STATE_ENDED);
	/* After the end: refused at once. */
	ck_assert_int_eq(ctl_post(&h.ctl, &req), -EINVAL);
	{
		uint64_t a = ctl_uptime_ns(&h.ctl);
		usleep(2000);
		ck_assert_uint_eq(ctl_uptime_ns(&h.ctl), a); /* frozen at the end */
	}
	harness_fini(&h, true);
}
END_TEST

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

START_TEST(a_loop_that_never_answers_times_out)
{
	struct harness h;
	struct ctl_request req = {.cmd = CTL_PAUSE};
	uint64_t t0;

	harness_init(&h, false); /* RUNNING, but nobody runs the loop */
	h.ctl.timeout_ms = 100;
	t0 = now_ms();
	ck_assert_int_eq(ctl_post(&h.ctl, &req), -ETIMEDOUT);
	ck_assert_uint_ge(now_ms() - t0, 100);
	ck_assert(!req.taken);
	ck_assert_int_eq(ctl_state(&h.ctl), MVM_STATE_RUNNING);
	/* Withdrawn: a loop that starts later finds nothing to run. */
	ck_assert_int_eq(pthread_create(&h.thread, NULL, loop_main, &h), 0);
	usleep(20000);
	ck_assert_int_eq(h.executed, 0);
	harness_fini(&h, false);
}
END_TEST

struct poster {
	struct harness *h;
	int result;
};

static void *post_pause(void *arg)
{
	struct poster *p = arg;
	struct ctl_request req = {.cmd = CTL_PAUSE};

	p->result = ctl_post(&p->h->ctl, &req);
	return NULL;
}

START_TEST(the_end_releases_waiters)
{
	struct harness h;
	struct poster p = {&h, 1};
	pthread_t t;
	uint64_t t0;

	harness_init(&h, false); /* the loop never takes the command */
	ck_assert_int_eq(pthread_create(&t, NULL, post_pause, &p), 0);
	usleep(50000);
	t0 = now_ms();
	ctl_end(&h.ctl); /* what vm_loop() does when ev_run() returns */
	pthread_join(t, NULL);
	ck_assert_int_eq(p.result, -ESHUTDOWN);
	ck_assert_uint_lt(now_ms() - t0, 1000); /* not the 5 s timeout */
	ck_assert_int_eq(ctl_state(&h.ctl), MVM_STATE_ENDED);
	ck_assert_int_eq(h.executed, 0);
	harness_fini(&h, true);
}
END_TEST

/* ---- Device pause in the event loop ---- */

struct served {
	int device, control;
	struct ev_loop *loop;
	bool pause_from_control;
};

static void on_device(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	uint64_t v;

	if (read(fd, &v, sizeof(v)) == sizeof(v))
		((struct served *)opaque)->device++;
}

static void on_control(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct served *s = opaque;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) == sizeof(v))
		s->control++;
	if (s->pause_from_control)
		ev_pause_devices(loop, true);
	else
		ev_stop(loop);
}

static void on_stop(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	ev_stop(loop);
}

static void ring(int fd)
{
	uint64_t one = 1;

	ck_assert_int_eq(write(fd, &one, sizeof(one)), sizeof(one));
}

/* A control source that lifts the pause, once the paused devices were passed over. */
static void on_resume(struct ev_loop *loop, int fd, uint32_t events, void *opaque)
{
	struct served *s = opaque;
	uint64_t v;

	if (read(fd, &v, sizeof(v)) != sizeof(v))
		return;
	s->control++;
	ck_assert_int_eq(s->device, 0);
	ck_assert_int_eq(ev_pause_devices(loop, false), 0);
}

static void add_stop_timer(struct ev_loop *loop, uint64_t ms)
{
	int fd = ev_add_timer_ms(loop, ms, on_stop, NULL);

	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ev_set_control(loop, fd), 0); /* it must fire while devices are paused */
}

START_TEST(paused_devices_are_not_served_control_is)
{
	struct served s = {0};
	struct ev_loop *loop;
	int dev = eventfd(0, EFD_NONBLOCK), dev2 = eventfd(0, EFD_NONBLOCK);
	int ctl = eventfd(0, EFD_NONBLOCK);

	ck_assert_int_eq(ev_loop_create(&loop), 0);
	ck_assert_int_eq(ev_add(loop, dev, EPOLLIN, on_device, &s), 0);
	ck_assert_int_eq(ev_add(loop, ctl, EPOLLIN, on_resume, &s), 0);
	ck_assert_int_eq(ev_set_control(loop, ctl), 0);
	ck_assert_int_eq(ev_set_control(loop, 12345), -ENOENT);

	ck_assert_int_eq(ev_pause_devices(loop, true), 0);
	ring(dev);
	/* Added and modified while paused: recorded, not served either. */
	ck_assert_int_eq(ev_add(loop, dev2, EPOLLIN, on_device, &s), 0);
	ring(dev2);
	ck_assert_int_eq(ev_mod(loop, dev2, EPOLLIN), 0);
	/*
	 * The control source is served (and asserts no device was) after
	 * 30 ms; the devices' readiness, kept meanwhile, is served after it.
	 */
	usleep(30000);
	ring(ctl);
	add_stop_timer(loop, 100);
	ck_assert_int_eq(ev_run(loop), 0);
	ck_assert_int_eq(s.control, 1);
	ck_assert_int_eq(s.device, 2);

	ev_del(loop, dev);
	ev_del(loop, dev2);
	ev_del(loop, ctl);
	ev_loop_destroy(loop);
	close(dev);
	close(dev2);
	close(ctl);
}
END_TEST

START_TEST(pause_takes_effect_within_the_batch)
{
	struct served s = {.pause_from_control = true};
	struct ev_loop *loop;
	int dev = eventfd(0, EFD_NONBLOCK), ctl = eventfd(0, EFD_NONBLOCK);

	ck_assert_int_eq(ev_loop_create(&loop), 0);
	/* The control source first, so epoll most likely reports it first too. */
	ck_assert_int_eq(ev_add(loop, ctl, EPOLLIN, on_control, &s), 0);
	ck_assert_int_eq(ev_set_control(loop, ctl), 0);
	ck_assert_int_eq(ev_add(loop, dev, EPOLLIN, on_device, &s), 0);
	/* Readiness order is the ready list's: the control source first. */
	ring(ctl);
	ring(dev);
	add_stop_timer(loop, 50);
	ck_assert_int_eq(ev_run(loop), 0);
	ck_assert_int_eq(s.control, 1);
	ck_assert_int_eq(s.device, 0);
	ev_del(loop, dev);
	ev_del(loop, ctl);
	ev_loop_destroy(loop);
	close(dev);
	close(ctl);
}
END_TEST

Suite *control_suite(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("core");

	tcase_set_timeout(tc, 20);
	tcase_add_test(tc, every_state_and_command);
	tcase_add_test(tc, commands_run_on_the_loop_thread);
	tcase_add_test(tc, a_loop_that_never_answers_times_out);
	tcase_add_test(tc, the_end_releases_waiters);
	tcase_add_test(tc, paused_devices_are_not_served_control_is);
	tcase_add_test(tc, pause_takes_effect_within_the_batch);
	suite_add_tcase(s, tc);
	return s;
}
