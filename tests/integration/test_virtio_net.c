/* SPDX-License-Identifier: MIT */
/*
 * virtio-net through real KVM, driven by tests/guests/virtio_net.c: frames
 * both ways through each backend.
 * - user (libslirp): ARP for the gateway 10.0.2.2, DHCP OFFER of 10.0.2.15,
 *   and a UDP datagram to 10.0.2.2:PORT that slirp hands to 127.0.0.1:PORT,
 *   where a thread here echoes it back;
 * - tap: in a network namespace of its own (a forked child that unshares
 *   CLONE_NEWNET, so nothing outside it is touched), a persistent TAP with
 *   10.99.0.1/24 and the echo socket on it, ARP and the UDP echo, then the
 *   malformed chains below; skipped with a printed reason when not root or
 *   when the namespace or /dev/net/tun is not available;
 * - malformed TX chains: minivmm drops them with a warning, completes them,
 *   and keeps forwarding.
 */
#include <arpa/inet.h>
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define TAP_NAME  "mvmtest0"
#define TAP_HOST  "10.99.0.1"
#define TAP_GUEST "10.99.0.2"
#define TAP_MASK  "255.255.255.0"

static void make_token(char *buf, size_t size)
{
	snprintf(buf, size, "%d-%ld", (int)getpid(), (long)time(NULL) % 100000);
}

/* user mode: _i bit 0 = format (bzImage, PVH ELF); _i 1 also uses discover=cmdline. */
START_TEST(user_arp_dhcp_udp_echo)
{
	char token[32], cmdline[160];
	struct run_result r;
	struct echo e;

	make_token(token, sizeof(token));
	ck_assert_int_eq(echo_start(&e, "127.0.0.1", token), 0);
	snprintf(cmdline, sizeof(cmdline), "mode=user port=%u token=%s discover=%s", e.port, token,
		 _i ? "cmdline" : "acpi");
	RUN(&r, NULL, "--kernel", guest_path("virtio_net", _i), "--net", "user", "--cmdline",
	    cmdline);
	echo_stop(&e);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	ck_assert_output_has(&r, "net: arp-reply ok peer=10.0.2.2 mac=52:55:0a:00:02:02");
	ck_assert_output_has(&r, "net: dhcp-offer ok yiaddr=10.0.2.15 server=10.0.2.2");
	ck_assert_output_has(&r, "net: udp-echo ok");
	ck_assert_stderr_has(&r, "eth0: user-mode networking");
	/* slirp sent the guest's datagram from a loopback socket of its own, exactly once. */
	ck_assert_int_eq(e.good, 1);
	ck_assert_int_eq(e.bad, 0);
	ck_assert_msg(!strncmp(e.from, "127.0.0.1:", 10), "echo request came from %s", e.from);
	ck_assert_ptr_null(strstr(r.err, "virtio-net:"));
	run_result_free(&r);
}
END_TEST

START_TEST(user_mac_override)
{
	char token[32], cmdline[160];
	struct run_result r;
	struct echo e;

	make_token(token, sizeof(token));
	ck_assert_int_eq(echo_start(&e, "127.0.0.1", token), 0);
	snprintf(cmdline, sizeof(cmdline),
		 "mode=user port=%u token=%s expect_mac=52:54:00:12:34:56", e.port, token);
	RUN(&r, NULL, "--kernel", guest_path("virtio_net", 1), "--net",
	    "user,mac=52:54:00:12:34:56", "--cmdline", cmdline);
	echo_stop(&e);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "net: link up mac=52:54:00:12:34:56");
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	ck_assert_output_has(&r, "- MAC is expect_mac=52:54:00:12:34:56");
	ck_assert_output_has(&r, "net: udp-echo ok");
	ck_assert_int_eq(e.good, 1);
	run_result_free(&r);
}
END_TEST

START_TEST(malformed_tx_is_dropped_and_survived)
{
	char token[32], cmdline[160];
	struct run_result r;
	struct echo e;

	make_token(token, sizeof(token));
	ck_assert_int_eq(echo_start(&e, "127.0.0.1", token), 0);
	snprintf(cmdline, sizeof(cmdline), "mode=user port=%u token=%s malformed=1", e.port, token);
	RUN(&r, NULL, "--kernel", guest_path("virtio_net", 1), "--net", "user", "--cmdline",
	    cmdline);
	echo_stop(&e);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	ck_assert_output_has(&r, "net: malformed-tx dropped ok");
	/* A good frame after them still goes through, also with its header split. */
	ck_assert_output_has(&r, "net: split-header arp-reply ok");
	ck_assert_output_has(&r, "net: arp-after-malformed ok");
	/* One rate-limited warning per dropped chain (burst 10), none for the split header. */
	ck_assert_stderr_has(&r, "virtio-net: TX chain of 6 readable, 0 writable bytes dropped");
	ck_assert_stderr_has(&r, "virtio-net: TX chain of 10 readable, 0 writable bytes dropped");
	ck_assert_stderr_has(&r, "virtio-net: TX chain of 12 readable, 0 writable bytes dropped");
	/* 12 + NET_MAX_FRAME (65553) + 1 */
	ck_assert_stderr_has(&r,
			     "virtio-net: TX chain of 65566 readable, 0 writable bytes dropped");
	ck_assert_ptr_null(strstr(r.err, "TX chain of 66 readable"));
	ck_assert_ptr_null(strstr(r.err, "bad TX descriptor chain"));
	ck_assert_int_eq(e.good, 1);
	run_result_free(&r);
}
END_TEST

START_TEST(no_nic_no_device)
{
	struct run_result r;

	RUN(&r, NULL, "--kernel", guest_path("virtio_net", 1), "--cmdline", "mode=user port=9");
	ck_assert_int_ne(r.status, 0);
	ck_assert_output_has(&r, "not ok 3 - a virtio-net device (DeviceID 1) at 0x0");
	run_result_free(&r);
}
END_TEST

/* ---- TAP, inside a network namespace of a forked child ---- */

/* What the child sends back through a pipe, followed by out_len + err_len bytes. */
struct tap_outcome {
	int skipped;	 /* 1: the environment cannot run this; reason says why */
	int setup_error; /* 1: set-up failed where it should not; reason says why */
	char reason[256];
	int status;
	int timed_out;
	double seconds;
	int good, bad;
	char from[64];
	size_t out_len, err_len;
};

static int set_addr(int sock, unsigned long req, const char *addr)
{
	struct ifreq ifr;
	struct sockaddr_in sa = {.sin_family = AF_INET};

	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, TAP_NAME);
	inet_pton(AF_INET, addr, &sa.sin_addr);
	memcpy(&ifr.ifr_addr, &sa, sizeof(sa));
	return ioctl(sock, req, &ifr);
}

/*
 * In the new namespace: a persistent TAP as minivmm opens it (IFF_TAP |
 * IFF_NO_PI | IFF_VNET_HDR), 10.99.0.1/24, up.  Persistent so it can be
 * configured before minivmm attaches; it goes away with the namespace.
 */
static int tap_setup(struct tap_outcome *o)
{
	struct ifreq ifr;
	int fd, sock;

	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		o->skipped = 1;
		snprintf(o->reason, sizeof(o->reason), "/dev/net/tun: %s", strerror(errno));
		return -1;
	}
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, TAP_NAME);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 || ioctl(fd, TUNSETPERSIST, 1) < 0) {
		snprintf(o->reason, sizeof(o->reason), "TUNSETIFF/TUNSETPERSIST %s: %s", TAP_NAME,
			 strerror(errno));
		o->skipped = errno == EPERM;
		o->setup_error = !o->skipped;
		close(fd);
		return -1;
	}
	close(fd);
	sock = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.ifr_name, TAP_NAME);
	if (sock < 0 || set_addr(sock, SIOCSIFADDR, TAP_HOST) < 0 ||
	    set_addr(sock, SIOCSIFNETMASK, TAP_MASK) < 0 || ioctl(sock, SIOCGIFFLAGS, &ifr) < 0 ||
	    (ifr.ifr_flags |= IFF_UP, ioctl(sock, SIOCSIFFLAGS, &ifr) < 0)) {
		o->setup_error = 1;
		snprintf(o->reason, sizeof(o->reason), "configuring %s %s/24: %s", TAP_NAME,
			 TAP_HOST, strerror(errno));
		if (sock >= 0)
			close(sock);
		return -1;
	}
	close(sock);
	return 0;
}

static void write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void tap_child(int out_fd, int format)
{
	struct tap_outcome o;
	struct run_result r = {0};
	char token[32], cmdline[160];
	struct echo e;
	int ret;

	memset(&o, 0, sizeof(o));
	if (geteuid() != 0) {
		o.skipped = 1;
		snprintf(o.reason, sizeof(o.reason), "not root (euid %d)", (int)geteuid());
	} else if (unshare(CLONE_NEWNET) < 0) {
		o.skipped = 1;
		snprintf(o.reason, sizeof(o.reason), "unshare(CLONE_NEWNET): %s", strerror(errno));
	} else if (tap_setup(&o) == 0) {
		make_token(token, sizeof(token));
		ret = echo_start(&e, TAP_HOST, token);
		if (ret < 0) {
			o.setup_error = 1;
			snprintf(o.reason, sizeof(o.reason), "UDP socket on %s: %s", TAP_HOST,
				 strerror(-ret));
		} else {
			snprintf(cmdline, sizeof(cmdline),
				 "mode=tap ip=" TAP_GUEST " peer=" TAP_HOST
				 " port=%u token=%s malformed=1",
				 e.port, token);
			RUN(&r, NULL, "--kernel", guest_path("virtio_net", format), "--net",
			    "tap=" TAP_NAME, "--cmdline", cmdline);
			echo_stop(&e);
			o.status = r.status;
			o.timed_out = r.timed_out;
			o.seconds = r.seconds;
			o.good = e.good;
			o.bad = e.bad;
			snprintf(o.from, sizeof(o.from), "%s", e.from);
			o.out_len = strlen(r.out);
			o.err_len = strlen(r.err);
		}
	}
	write_all(out_fd, &o, sizeof(o));
	if (r.out)
		write_all(out_fd, r.out, o.out_len);
	if (r.err)
		write_all(out_fd, r.err, o.err_len);
	run_result_free(&r);
}

/* Reads everything the child writes, then reaps it; returns the bytes (malloc'ed). */
static char *read_child(int fd, pid_t pid, size_t *len)
{
	size_t cap = 1 << 16;
	char *buf = malloc(cap);
	int status;

	*len = 0;
	for (;;) {
		ssize_t n;

		if (*len == cap)
			buf = realloc(buf, cap *= 2);
		n = read(fd, buf + *len, cap - *len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		*len += (size_t)n;
	}
	close(fd);
	waitpid(pid, &status, 0);
	return buf;
}

START_TEST(tap_arp_udp_echo_in_netns)
{
	struct tap_outcome o;
	struct run_result r;
	size_t len;
	char *buf;
	int pipefd[2];
	pid_t pid;

	ck_assert_int_eq(pipe(pipefd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(pipefd[0]);
		tap_child(pipefd[1], _i);
		_exit(0);
	}
	close(pipefd[1]);
	buf = read_child(pipefd[0], pid, &len);
	ck_assert_msg(len >= sizeof(o), "the TAP child reported nothing (%zu bytes)", len);
	memcpy(&o, buf, sizeof(o));
	if (o.skipped) {
		printf("virtio-net TAP test skipped: %s\n", o.reason);
		free(buf);
		return;
	}
	ck_assert_msg(!o.setup_error, "TAP set-up in the namespace failed: %s", o.reason);
	ck_assert_uint_eq(len, sizeof(o) + o.out_len + o.err_len);
	memset(&r, 0, sizeof(r));
	r.status = o.status;
	r.timed_out = o.timed_out;
	r.seconds = o.seconds;
	r.out = strndup(buf + sizeof(o), o.out_len);
	r.err = strndup(buf + sizeof(o) + o.out_len, o.err_len);
	free(buf);

	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	ck_assert_output_has(&r, "net: arp-reply ok peer=" TAP_HOST);
	ck_assert_output_has(&r, "net: udp-echo ok");
	ck_assert_stderr_has(&r, "TAP " TAP_NAME);
	/* The dropped chains never reach the TAP; the good frames after them do. */
	ck_assert_output_has(&r, "net: malformed-tx dropped ok");
	ck_assert_output_has(&r, "net: arp-after-malformed ok");
	ck_assert_stderr_has(&r,
			     "virtio-net: TX chain of 65566 readable, 0 writable bytes dropped");
	ck_assert_int_eq(o.good, 1);
	ck_assert_int_eq(o.bad, 0);
	ck_assert_str_eq(o.from, TAP_GUEST ":40123");
	run_result_free(&r);
}
END_TEST

Suite *virtio_net_suite(void)
{
	Suite *s = suite_create("virtio-net");
	TCase *tc = tcase_create("guest-driver");
	tcase_set_timeout(tc, 60);
	tcase_add_loop_test(tc, user_arp_dhcp_udp_echo, 0, 2);
	tcase_add_test(tc, user_mac_override);
	tcase_add_test(tc, malformed_tx_is_dropped_and_survived);
	tcase_add_test(tc, no_nic_no_device);
	tcase_add_loop_test(tc, tap_arp_udp_echo_in_netns, 0, 2);
	suite_add_tcase(s, tc);
	return s;
}
