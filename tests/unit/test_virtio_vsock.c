/* SPDX-License-Identifier: MIT */
/*
 * virtio-vsock driven like a guest driver would (the real virtio-mmio
 * transport, split rings in fake guest memory), with its host side on real
 * Unix sockets in a temp dir and the device's event loop on a thread of
 * its own, as in a VM.  The test thread plays the guest (its notifies run
 * the device like a vCPU without ioeventfds) and the host programs.
 */
#include <check.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/virtio_config.h>
#include <linux/virtio_ids.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_vsock.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "devices/virtio_vsock.h"
#include "devices/vsock_muxer.h"
#include "tests/unit/virtio_driver.h"

#define RXQ	  VIRTIO_VSOCK_RXQ
#define TXQ	  VIRTIO_VSOCK_TXQ
#define EVQ	  VIRTIO_VSOCK_EVQ
#define CID	  3u
#define GUEST_BUF 65536u /* what the guest advertises unless a test says otherwise */
#define RXBUF	  (VIRTIO_VSOCK_HDR_LEN + 4096u)
#define NRX	  8u

static struct virtio_test_driver drv;
static struct virtio_vsock *vs;
static struct ev_loop *loop;
static pthread_t loop_thread;
static char dir[48], path[64];
static struct vtd_buf rxbufs[VIRTQ_MAX_SIZE]; /* by descriptor head */
static struct vtd_buf txbuf;		      /* one reusable tx buffer (one chain at a time) */
static uint32_t guest_fwd;		      /* what the guest consumed (its fwd_cnt) */
static uint32_t host_fwd;		      /* the host's fwd_cnt in its latest header */

static void *run_loop(void *arg)
{
	(void)arg;
	ev_run(loop);
	return NULL;
}

static void setup(void)
{
	struct vmm_err err = {{0}};

	snprintf(dir, sizeof(dir), "/tmp/minivmm-vsock-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/v.sock", dir);
	vtd_init(&drv, 3);
	ck_assert_int_eq(ev_loop_create(&loop), 0);
	ck_assert_int_eq(virtio_vsock_create(&vs, CID, path, loop, drv.log, &err), 0);
	vtd_attach(&drv, &virtio_vsock_ops, vs, loop);
	drv.qsize = 128; /* room for more than a wake-up's budget of chains */
	vtd_driver_init(&drv, 0);
	txbuf = vtd_alloc(&drv, VIRTIO_VSOCK_HDR_LEN + VIRTIO_VSOCK_MAX_PKT + 64, false);
	guest_fwd = 0;
	ck_assert_int_eq(pthread_create(&loop_thread, NULL, run_loop, NULL), 0);
}

static void teardown(void)
{
	char p[160];

	ev_stop(loop);
	pthread_join(loop_thread, NULL);
	vtd_detach(&drv);
	virtio_vsock_destroy(vs);
	ev_loop_destroy(loop);
	vtd_fini(&drv);
	/* The device removed its socket; a test's own listeners are removed here. */
	snprintf(p, sizeof(p), "%s/v.sock_1234", dir);
	unlink(p);
	rmdir(dir);
}

/* ---- The guest ---- */

static struct virtio_vsock_hdr hdr(uint16_t op, uint32_t src_port, uint32_t dst_port, uint32_t len)
{
	return (struct virtio_vsock_hdr){.src_cid = htole64(CID),
					 .dst_cid = htole64(2),
					 .src_port = htole32(src_port),
					 .dst_port = htole32(dst_port),
					 .len = htole32(len),
					 .type = htole16(VIRTIO_VSOCK_TYPE_STREAM),
					 .op = htole16(op),
					 .buf_alloc = htole32(GUEST_BUF),
					 .fwd_cnt = htole32(guest_fwd)};
}

/* One packet on the tx queue, waited for. */
static void send_hdr(struct virtio_vsock_hdr h, const void *payload, uint32_t len)
{
	uint8_t *p = vtd_host(&drv, txbuf);
	struct vtd_buf b = txbuf;

	memcpy(p, &h, sizeof(h));
	if (len)
		memcpy(p + sizeof(h), payload, len);
	b.len = (uint32_t)sizeof(h) + len;
	vtd_add_chain(&drv, TXQ, &b, 1);
	vtd_notify(&drv, TXQ);
	ck_assert_uint_eq(vtd_used_pending(&drv, TXQ), 1);
	ck_assert_uint_eq(vtd_take_used(&drv, TXQ, NULL), 0);
}

static void send_op(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	send_hdr(hdr(op, src_port, dst_port, 0), NULL, 0);
}

static void send_data(uint32_t src_port, uint32_t dst_port, const void *data, uint32_t len)
{
	send_hdr(hdr(VIRTIO_VSOCK_OP_RW, src_port, dst_port, len), data, len);
}

static void post_rx(unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		struct vtd_buf b = vtd_alloc(&drv, RXBUF, true);
		uint16_t head = vtd_add_chain(&drv, RXQ, &b, 1);
		rxbufs[head] = b;
	}
	vtd_notify(&drv, RXQ);
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Waits up to `ms` for a packet to the guest; false if none came. */
static bool wait_rx(unsigned ms)
{
	uint64_t end = now_ms() + ms;

	while (vtd_used_pending(&drv, RXQ) == 0) {
		if (now_ms() > end)
			return false;
		usleep(1000);
	}
	return true;
}

/* The next packet to the guest (payload into `data` if not NULL); its buffer is re-posted. */
static struct virtio_vsock_hdr recv_pkt(void *data)
{
	struct virtio_vsock_hdr h;
	uint32_t id, len;
	struct vtd_buf b;

	ck_assert_msg(wait_rx(2000), "no packet for the guest");
	len = vtd_take_used(&drv, RXQ, &id);
	b = rxbufs[id];
	ck_assert_uint_ge(len, sizeof(h));
	memcpy(&h, vtd_host(&drv, b), sizeof(h));
	ck_assert_uint_eq(len, sizeof(h) + le32toh(h.len));
	ck_assert_uint_eq(le64toh(h.src_cid), 2);
	ck_assert_uint_eq(le64toh(h.dst_cid), CID);
	ck_assert_uint_eq(le16toh(h.type), VIRTIO_VSOCK_TYPE_STREAM);
	ck_assert(vtd_guard_intact(&drv, b));
	if (data)
		memcpy(data, vtd_host(&drv, b) + sizeof(h), le32toh(h.len));
	host_fwd = le32toh(h.fwd_cnt);
	rxbufs[vtd_add_chain(&drv, RXQ, &b, 1)] = b;
	vtd_notify(&drv, RXQ);
	return h;
}

static void expect_op(uint16_t op, uint32_t src_port, uint32_t dst_port)
{
	struct virtio_vsock_hdr h = recv_pkt(NULL);

	ck_assert_msg(le16toh(h.op) == op, "got %s, expected %s", vsock_op_name(le16toh(h.op)),
		      vsock_op_name(op));
	ck_assert_uint_eq(le32toh(h.src_port), src_port);
	ck_assert_uint_eq(le32toh(h.dst_port), dst_port);
}

static void expect_nothing(unsigned ms)
{
	ck_assert_msg(!wait_rx(ms), "unexpected packet for the guest");
}

/* ---- Host programs ---- */

static int host_listen(uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", path, port);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 4), 0);
	return fd;
}

static int host_connect(void)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

/* Reads exactly len bytes within 2 s; returns what it got. */
static size_t read_full(int fd, void *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;
		if (poll(&p, 1, 2000) != 1)
			break;
		n = read(fd, (char *)buf + got, len - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	return got;
}

/* EOF (or reset) within 2 s. */
static bool host_sees_eof(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	return poll(&p, 1, 2000) == 1 && read(fd, &c, 1) <= 0;
}

/* A guest connect to host port 1234 from guest port 5000, accepted: the host's end. */
static int guest_connects(int lfd)
{
	int afd;

	send_op(VIRTIO_VSOCK_OP_REQUEST, 5000, 1234);
	expect_op(VIRTIO_VSOCK_OP_RESPONSE, 1234, 5000);
	afd = accept(lfd, NULL, NULL);
	ck_assert_int_ge(afd, 0);
	return afd;
}

/* A host connect to guest port 52, the guest accepts: returns the host fd, *local the port. */
static int host_connects(uint32_t *local)
{
	struct virtio_vsock_hdr h;
	char line[32];
	int fd = host_connect();

	ck_assert_int_eq(write(fd, "CONNECT 52\n", 11), 11);
	h = recv_pkt(NULL);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	ck_assert_uint_eq(le32toh(h.dst_port), 52);
	*local = le32toh(h.src_port);
	send_op(VIRTIO_VSOCK_OP_RESPONSE, 52, *local);
	snprintf(line, sizeof(line), "OK %u\n", *local);
	{
		char got[32] = {0};
		ck_assert_uint_eq(read_full(fd, got, strlen(line)), strlen(line));
		ck_assert_str_eq(got, line);
	}
	return fd;
}

/* ---- Tests ---- */

START_TEST(identity_and_config)
{
	uint64_t cid;
	struct stat st;

	ck_assert_uint_eq(vtd_read32(&drv, VIRTIO_MMIO_DEVICE_ID), VIRTIO_ID_VSOCK);
	ck_assert_uint_eq(virtio_vsock_ops.nqueues, 3);
	/* Streams only: no SEQPACKET feature. */
	ck_assert_uint_eq(vtd_device_features(&drv) & (1ull << VIRTIO_VSOCK_F_SEQPACKET), 0);
	cid = vtd_read32(&drv, VIRTIO_MMIO_CONFIG) |
	      (uint64_t)vtd_read32(&drv, VIRTIO_MMIO_CONFIG + 4) << 32;
	ck_assert_uint_eq(cid, CID);
	/* The host socket: a socket, 0600. */
	ck_assert_int_eq(stat(path, &st), 0);
	ck_assert(S_ISSOCK(st.st_mode));
	ck_assert_uint_eq(st.st_mode & 0777, 0600);
}
END_TEST

START_TEST(existing_path_refused)
{
	struct virtio_vsock *other;
	struct vmm_err err = {{0}};

	ck_assert_int_eq(virtio_vsock_create(&other, 4, path, loop, drv.log, &err), -EEXIST);
	ck_assert_ptr_nonnull(strstr(err.msg, "already exists"));
	ck_assert_int_eq(virtio_vsock_create(&other, 2, "/tmp/x", loop, drv.log, &err), -EINVAL);
}
END_TEST

START_TEST(guest_to_host_stream)
{
	int lfd = host_listen(1234), afd;
	char buf[64] = {0};
	struct virtio_vsock_hdr h;
	struct virtio_vsock_stats st;

	post_rx(NRX);
	afd = guest_connects(lfd);
	send_data(5000, 1234, "hello", 5);
	ck_assert_uint_eq(read_full(afd, buf, 5), 5);
	ck_assert_str_eq(buf, "hello");
	ck_assert_int_eq(write(afd, "world!", 6), 6);
	h = recv_pkt(buf);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	ck_assert_uint_eq(le32toh(h.len), 6);
	ck_assert_int_eq(memcmp(buf, "world!", 6), 0);
	ck_assert_uint_eq(le32toh(h.buf_alloc), VSOCK_BUF_ALLOC);
	ck_assert_uint_eq(le32toh(h.fwd_cnt), 5); /* the host took the guest's 5 bytes */
	/* The guest closes: SHUTDOWN both; the host reader sees EOF, the guest gets RST. */
	{
		struct virtio_vsock_hdr s = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 5000, 1234, 0);
		s.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_RCV | VIRTIO_VSOCK_SHUTDOWN_SEND);
		send_hdr(s, NULL, 0);
	}
	expect_op(VIRTIO_VSOCK_OP_RST, 1234, 5000);
	ck_assert(host_sees_eof(afd));
	virtio_vsock_get_stats(vs, &st);
	ck_assert_uint_eq(st.conns_opened, 1);
	ck_assert_uint_eq(st.tx_bytes, 5);
	ck_assert_uint_eq(st.rx_bytes, 6);
	close(afd);
	close(lfd);
}
END_TEST

START_TEST(guest_connect_refused)
{
	post_rx(NRX);
	/* Nobody listens on PATH_77: RST at once, nothing waits. */
	send_op(VIRTIO_VSOCK_OP_REQUEST, 5000, 77);
	expect_op(VIRTIO_VSOCK_OP_RST, 77, 5000);
	ck_assert_uint_eq(virtio_vsock_nconns(vs), 0);
}
END_TEST

START_TEST(host_to_guest_connect_split_line)
{
	int fd = host_connect();
	struct virtio_vsock_hdr h;
	char buf[64] = {0}, want[32];
	uint32_t local;

	post_rx(NRX);
	/* The line in three pieces, and data right behind it in the last one. */
	ck_assert_int_eq(write(fd, "CONN", 4), 4);
	usleep(20000);
	ck_assert_int_eq(write(fd, "ECT 5", 5), 5);
	usleep(20000);
	ck_assert_int_eq(write(fd, "2\nearly", 7), 7);
	h = recv_pkt(NULL);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	ck_assert_uint_eq(le32toh(h.dst_port), 52);
	local = le32toh(h.src_port);
	ck_assert_uint_ge(local, 1u << 30);
	/* Nothing but the REQUEST until the guest answers. */
	expect_nothing(50);
	send_op(VIRTIO_VSOCK_OP_RESPONSE, 52, local);
	snprintf(want, sizeof(want), "OK %u\n", local);
	ck_assert_uint_eq(read_full(fd, buf, strlen(want)), strlen(want));
	ck_assert_str_eq(buf, want);
	/* The bytes that followed the line arrive first, and the OK line is not counted. */
	h = recv_pkt(buf);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
	ck_assert_uint_eq(le32toh(h.len), 5);
	ck_assert_int_eq(memcmp(buf, "early", 5), 0);
	ck_assert_uint_eq(le32toh(h.fwd_cnt), 0);
	send_data(52, local, "ping", 4);
	ck_assert_uint_eq(read_full(fd, buf, 4), 4);
	ck_assert_int_eq(memcmp(buf, "ping", 4), 0);
	close(fd);
	/* Host EOF: the guest hears SHUTDOWN(SEND). */
	h = recv_pkt(NULL);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
}
END_TEST

START_TEST(host_connect_garbage_and_refusal)
{
	int fd = host_connect();
	uint32_t local;
	struct virtio_vsock_hdr h;

	post_rx(NRX);
	ck_assert_int_eq(write(fd, "GET / HTTP/1.0\r\n", 16), 16);
	ck_assert(host_sees_eof(fd));
	close(fd);
	expect_nothing(50);
	/* The guest refuses (no listener): RST, and the host sees EOF, no OK. */
	fd = host_connect();
	ck_assert_int_eq(write(fd, "CONNECT 9\n", 10), 10);
	h = recv_pkt(NULL);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	local = le32toh(h.src_port);
	send_op(VIRTIO_VSOCK_OP_RST, 9, local);
	ck_assert(host_sees_eof(fd));
	close(fd);
	/* A line that never ends is cut off at VSOCK_LINE_MAX. */
	fd = host_connect();
	for (int i = 0; i < 8; i++)
		(void)!send(fd, "CONNECT ", 8, MSG_NOSIGNAL);
	ck_assert(host_sees_eof(fd));
	close(fd);
}
END_TEST

START_TEST(mvm_style_client_connect)
{
	char err[256] = "";
	int fd;

	post_rx(NRX);
	/* Nobody answers: the client gives up after its timeout. */
	fd = vsock_uds_connect(path, 52, 200, err, sizeof(err));
	ck_assert_int_eq(fd, -ETIMEDOUT);
	ck_assert_ptr_nonnull(strstr(err, "no answer"));
	/* The REQUEST it caused is still in the rx queue. */
	expect_op(VIRTIO_VSOCK_OP_REQUEST, 1u << 30, 52);
	ck_assert_int_eq(vsock_uds_connect("/nonexistent/x", 52, 200, err, sizeof(err)), -ENOENT);
}
END_TEST

START_TEST(credit_stall_and_update)
{
	static uint8_t big[20000];
	int lfd = host_listen(1234), afd;
	struct virtio_vsock_hdr h;
	uint32_t got = 0;

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7);
	post_rx(NRX);
	/* The guest advertises only 8 KiB. */
	{
		struct virtio_vsock_hdr r = hdr(VIRTIO_VSOCK_OP_REQUEST, 5000, 1234, 0);
		r.buf_alloc = htole32(8192);
		send_hdr(r, NULL, 0);
	}
	expect_op(VIRTIO_VSOCK_OP_RESPONSE, 1234, 5000);
	afd = accept(lfd, NULL, NULL);
	ck_assert_int_eq(write(afd, big, sizeof(big)), (ssize_t)sizeof(big));
	while (got < 8192) {
		h = recv_pkt(NULL);
		ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
		got += le32toh(h.len);
	}
	ck_assert_uint_eq(got, 8192);
	/* No credit left: the host stops reading its socket. */
	expect_nothing(100);
	/* The guest consumed it all: a CREDIT_UPDATE lets the rest through. */
	guest_fwd = 8192;
	{
		struct virtio_vsock_hdr u = hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, 1234, 0);
		u.buf_alloc = htole32(8192);
		send_hdr(u, NULL, 0);
	}
	while (got < 16384) {
		h = recv_pkt(NULL);
		ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_RW);
		got += le32toh(h.len);
	}
	ck_assert_uint_eq(got, 16384);
	expect_nothing(50);
	/* CREDIT_REQUEST is answered with the host's credit. */
	send_op(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 5000, 1234);
	h = recv_pkt(NULL);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	ck_assert_uint_eq(le32toh(h.buf_alloc), VSOCK_BUF_ALLOC);
	close(afd);
	close(lfd);
}
END_TEST

START_TEST(slow_reader_buffered_then_overrun)
{
	static uint8_t chunk[VIRTIO_VSOCK_MAX_PKT];
	int lfd = host_listen(1234), afd, sndbuf = 4096;
	uint32_t sent = 0;
	struct virtio_vsock_hdr h;
	size_t drained = 0;
	uint8_t sink[65536];

	post_rx(NRX);
	afd = guest_connects(lfd);
	ck_assert_int_eq(setsockopt(afd, SOL_SOCKET, SO_RCVBUF, &sndbuf, sizeof(sndbuf)), 0);
	/* The host reads nothing: the device keeps what the socket refuses, up to its credit. */
	while (sent + sizeof(chunk) <= VSOCK_BUF_ALLOC) {
		memset(chunk, (int)(sent >> 16) + 1, sizeof(chunk));
		send_data(5000, 1234, chunk, sizeof(chunk));
		sent += sizeof(chunk);
	}
	ck_assert_uint_eq(virtio_vsock_nconns(vs), 1);
	/* No RST: within credit.  (What the socket took directly may be announced.) */
	while (wait_rx(50))
		ck_assert_uint_eq(le16toh(recv_pkt(NULL).op), VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	/* The host reads it all back in order; freed space is announced. */
	while (drained < sent) {
		size_t n = read_full(afd, sink,
				     sizeof(sink) < sent - drained ? sizeof(sink) : sent - drained);
		ck_assert_uint_gt(n, 0);
		for (size_t i = 0; i < n; i++)
			ck_assert_uint_eq(sink[i], ((drained + i) >> 16) + 1);
		drained += n;
	}
	/*
	 * The guest must have been told enough to keep sending: at least the
	 * threshold free as it sees it (the last CREDIT_UPDATE may have come
	 * before the last bytes drained).
	 */
	while (wait_rx(100))
		ck_assert_uint_eq(le16toh(recv_pkt(NULL).op), VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	ck_assert_uint_ge(VSOCK_BUF_ALLOC - (sent - host_fwd), VSOCK_CREDIT_THRESHOLD);
	ck_assert_uint_gt(host_fwd, 0);
	/* Now overrun: fill the credit again without the host reading, then one packet more. */
	sent = 0;
	while (sent + sizeof(chunk) <= VSOCK_BUF_ALLOC) {
		send_data(5000, 1234, chunk, sizeof(chunk));
		sent += sizeof(chunk);
	}
	/* (the guest ignores the credit the host last announced, and sends 2x) */
	for (int i = 0; i < 4; i++)
		send_data(5000, 1234, chunk, sizeof(chunk));
	for (;;) {
		h = recv_pkt(NULL);
		if (le16toh(h.op) == VIRTIO_VSOCK_OP_RST)
			break;
		ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	}
	ck_assert_uint_eq(virtio_vsock_nconns(vs), 0);
	close(afd);
	close(lfd);
}
END_TEST

START_TEST(half_close_both_ways)
{
	int lfd = host_listen(1234), afd;
	char buf[16] = {0};
	struct virtio_vsock_hdr h;

	post_rx(NRX);
	afd = guest_connects(lfd);
	/* Host shuts its sending side: the guest hears SHUTDOWN(SEND) and may still send. */
	ck_assert_int_eq(shutdown(afd, SHUT_WR), 0);
	h = recv_pkt(NULL);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(le32toh(h.flags), VIRTIO_VSOCK_SHUTDOWN_SEND);
	send_data(5000, 1234, "late", 4);
	ck_assert_uint_eq(read_full(afd, buf, 4), 4);
	ck_assert_str_eq(buf, "late");
	/* The guest shuts its sending side: the host reads EOF after the data. */
	{
		struct virtio_vsock_hdr s = hdr(VIRTIO_VSOCK_OP_SHUTDOWN, 5000, 1234, 0);
		s.flags = htole32(VIRTIO_VSOCK_SHUTDOWN_SEND);
		send_hdr(s, NULL, 0);
	}
	ck_assert(host_sees_eof(afd));
	/* Its RST ends it without an answer. */
	send_op(VIRTIO_VSOCK_OP_RST, 5000, 1234);
	expect_nothing(50);
	ck_assert_uint_eq(virtio_vsock_nconns(vs), 0);
	close(afd);
	close(lfd);
}
END_TEST

START_TEST(tx_budget_per_wakeup)
{
	int lfd = host_listen(1234), afd;
	struct vtd_buf b[100];
	char buf[128];

	post_rx(NRX);
	afd = guest_connects(lfd);
	/* 100 one-byte packets, one kick: 64 served now, the rest on the next wake-up. */
	for (int i = 0; i < 100; i++) {
		struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234, 1);
		b[i] = vtd_alloc(&drv, sizeof(h) + 1, false);
		memcpy(vtd_host(&drv, b[i]), &h, sizeof(h));
		vtd_host(&drv, b[i])[sizeof(h)] = (uint8_t)('a' + i % 26);
		vtd_add_chain(&drv, TXQ, &b[i], 1);
	}
	vtd_notify(&drv, TXQ);
	ck_assert_uint_eq(vtd_used_pending(&drv, TXQ), VIRTIO_VSOCK_BUDGET_PACKETS);
	vtd_notify(&drv, TXQ);
	ck_assert_uint_eq(vtd_used_pending(&drv, TXQ), 100);
	ck_assert_uint_eq(read_full(afd, buf, 100), 100);
	for (int i = 0; i < 100; i++)
		ck_assert_int_eq(buf[i], 'a' + i % 26);
	close(afd);
	close(lfd);
}
END_TEST

START_TEST(guest_rst_closes_host_socket)
{
	int lfd = host_listen(1234), afd;

	post_rx(NRX);
	afd = guest_connects(lfd);
	send_op(VIRTIO_VSOCK_OP_RST, 5000, 1234);
	ck_assert(host_sees_eof(afd));
	expect_nothing(50);
	close(afd);
	close(lfd);
}
END_TEST

START_TEST(hostile_packets)
{
	int lfd = host_listen(1234), afd;
	struct virtio_vsock_hdr h;
	struct virtio_vsock_stats st;

	post_rx(NRX);
	afd = guest_connects(lfd);
	/* Forged source CID, or not to the host: dropped, never answered. */
	h = hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234, 1);
	h.src_cid = htole64(7);
	send_hdr(h, "x", 1);
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 5000, 1234, 0);
	h.dst_cid = htole64(9);
	send_hdr(h, NULL, 0);
	h = hdr(VIRTIO_VSOCK_OP_REQUEST, 5000, 1234, 0);
	h.src_cid = htole64(0xffffffff00000003ull); /* the low half matching is not enough */
	send_hdr(h, NULL, 0);
	expect_nothing(50);
	virtio_vsock_get_stats(vs, &st);
	ck_assert_uint_eq(st.errors, 3);
	ck_assert_uint_eq(virtio_vsock_nconns(vs), 1);
	/* A bad type resets the connection it names. */
	h = hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234, 1);
	h.type = htole16(VIRTIO_VSOCK_TYPE_SEQPACKET);
	send_hdr(h, "x", 1);
	expect_op(VIRTIO_VSOCK_OP_RST, 1234, 5000);
	ck_assert(host_sees_eof(afd));
	close(afd);
	/* Each of these on a fresh connection: RST, connection gone. */
	for (int k = 0; k < 5; k++) {
		afd = guest_connects(lfd);
		switch (k) {
		case 0: /* unknown op */
			send_hdr(hdr(99, 5000, 1234, 0), NULL, 0);
			break;
		case 1: /* len beyond the chain */
			send_hdr(hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234, 100), "abc", 3);
			break;
		case 2: /* len over the 64 KiB packet limit (and the chain) */
			send_hdr(hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234, 0x80000000u), "abc", 3);
			break;
		case 3: /* payload on a control packet */
			send_hdr(hdr(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 5000, 1234, 3), "abc", 3);
			break;
		case 4: /* REQUEST on a live connection */
			send_op(VIRTIO_VSOCK_OP_REQUEST, 5000, 1234);
			break;
		}
		expect_op(VIRTIO_VSOCK_OP_RST, 1234, 5000);
		ck_assert(host_sees_eof(afd));
		close(afd);
		ck_assert_uint_eq(virtio_vsock_nconns(vs), 0);
	}
	/* Data for no connection: RST. An RST for none: nothing. */
	send_data(6000, 1234, "x", 1);
	expect_op(VIRTIO_VSOCK_OP_RST, 1234, 6000);
	send_op(VIRTIO_VSOCK_OP_RST, 6000, 1234);
	expect_nothing(50);
	/* A chain shorter than a header: dropped (warning), the device carries on. */
	{
		struct vtd_buf b = txbuf;
		b.len = 20;
		vtd_add_chain(&drv, TXQ, &b, 1);
		vtd_notify(&drv, TXQ);
		ck_assert_uint_eq(vtd_take_used(&drv, TXQ, NULL), 0);
	}
	ck_assert(!vtd_needs_reset(&drv));
	close(lfd);
}
END_TEST

START_TEST(header_split_across_buffers)
{
	int lfd = host_listen(1234), afd;
	struct virtio_vsock_hdr h = hdr(VIRTIO_VSOCK_OP_RW, 5000, 1234, 6);
	struct vtd_buf parts[4];
	uint8_t *p;
	char buf[8] = {0};

	post_rx(NRX);
	afd = guest_connects(lfd);
	/* 10 + 30 + 7 bytes: the header ends inside the third buffer, with payload after it. */
	parts[0] = vtd_alloc(&drv, 10, false);
	parts[1] = vtd_alloc(&drv, 30, false);
	parts[2] = vtd_alloc(&drv, 7, false);
	parts[3] = vtd_alloc(&drv, 3, false);
	p = (uint8_t *)&h;
	memcpy(vtd_host(&drv, parts[0]), p, 10);
	memcpy(vtd_host(&drv, parts[1]), p + 10, 30);
	memcpy(vtd_host(&drv, parts[2]), p + 40, 4);
	memcpy(vtd_host(&drv, parts[2]) + 4, "abc", 3);
	memcpy(vtd_host(&drv, parts[3]), "def", 3);
	vtd_add_chain(&drv, TXQ, parts, 4);
	vtd_notify(&drv, TXQ);
	ck_assert_uint_eq(vtd_take_used(&drv, TXQ, NULL), 0);
	ck_assert_uint_eq(read_full(afd, buf, 6), 6);
	ck_assert_str_eq(buf, "abcdef");
	close(afd);
	close(lfd);
}
END_TEST

START_TEST(device_reset_closes_host_sockets)
{
	int lfd = host_listen(1234), afd, hfd;
	uint32_t local;

	post_rx(NRX);
	afd = guest_connects(lfd);
	hfd = host_connects(&local);
	ck_assert_uint_eq(virtio_vsock_nconns(vs), 2);
	vtd_write32(&drv, VIRTIO_MMIO_STATUS, 0);
	ck_assert(host_sees_eof(afd));
	ck_assert(host_sees_eof(hfd));
	ck_assert_uint_eq(virtio_vsock_nconns(vs), 0);
	close(hfd);
	close(afd);
	close(lfd);
}
END_TEST

START_TEST(connect_before_driver_is_up)
{
	int fd;
	char buf[32] = {0}, want[32];
	struct virtio_vsock_hdr h;
	uint32_t local;

	/* The driver is not there (reset); a host program connects anyway. */
	vtd_write32(&drv, VIRTIO_MMIO_STATUS, 0);
	fd = host_connect();
	ck_assert_int_eq(write(fd, "CONNECT 52\n", 11), 11);
	usleep(50000);
	/* firecracker#1253: the REQUEST waits for the driver instead of vanishing. */
	vtd_driver_init(&drv, 0);
	post_rx(NRX);
	h = recv_pkt(NULL);
	ck_assert_uint_eq(le16toh(h.op), VIRTIO_VSOCK_OP_REQUEST);
	ck_assert_uint_eq(le32toh(h.dst_port), 52);
	local = le32toh(h.src_port);
	send_op(VIRTIO_VSOCK_OP_RESPONSE, 52, local);
	snprintf(want, sizeof(want), "OK %u\n", local);
	ck_assert_uint_eq(read_full(fd, buf, strlen(want)), strlen(want));
	ck_assert_str_eq(buf, want);
	close(fd);
}
END_TEST

START_TEST(transport_reset_event)
{
	struct vtd_buf ev = vtd_alloc(&drv, 4, true);
	int lfd = host_listen(1234), afd;
	uint32_t id;

	post_rx(NRX);
	afd = guest_connects(lfd);
	/* No event buffer yet: pending; the connections close at once. */
	ck_assert_int_eq(virtio_vsock_transport_reset(vs), -EAGAIN);
	ck_assert(host_sees_eof(afd));
	ck_assert_uint_eq(vtd_used_pending(&drv, EVQ), 0);
	/* The driver posts one: delivered on its notify. */
	vtd_add_chain(&drv, EVQ, &ev, 1);
	vtd_notify(&drv, EVQ);
	ck_assert_uint_eq(vtd_take_used(&drv, EVQ, &id), 4);
	ck_assert_uint_eq(le32toh(*(uint32_t *)vtd_host(&drv, ev)),
			  VIRTIO_VSOCK_EVENT_TRANSPORT_RESET);
	/* With a buffer waiting it goes out at once. */
	vtd_add_chain(&drv, EVQ, &ev, 1);
	vtd_notify(&drv, EVQ);
	ck_assert_uint_eq(vtd_used_pending(&drv, EVQ), 0);
	ck_assert_int_eq(virtio_vsock_transport_reset(vs), 0);
	ck_assert_uint_eq(vtd_take_used(&drv, EVQ, NULL), 4);
	close(afd);
	close(lfd);
}
END_TEST

static void collect(void *opaque, const char *name, uint64_t value)
{
	char *out = opaque;
	size_t n = strlen(out);

	snprintf(out + n, 1024 - n, "%s=%llu ", name, (unsigned long long)value);
}

START_TEST(metrics_names)
{
	char out[1024] = "";
	int lfd = host_listen(1234), afd;

	post_rx(NRX);
	afd = guest_connects(lfd);
	send_data(5000, 1234, "abc", 3);
	virtio_vsock_ops.metrics(vs, "vsock", collect, out);
	ck_assert_ptr_nonnull(strstr(out, "vsock.tx_packets=2 "));
	ck_assert_ptr_nonnull(strstr(out, "vsock.tx_bytes=3 "));
	ck_assert_ptr_nonnull(strstr(out, "vsock.rx_packets=1 "));
	ck_assert_ptr_nonnull(strstr(out, "vsock.conns_opened=1 "));
	ck_assert_ptr_nonnull(strstr(out, "vsock.conns_reset=0 "));
	ck_assert_ptr_nonnull(strstr(out, "vsock.errors=0 "));
	close(afd);
	close(lfd);
}
END_TEST

Suite *virtio_vsock_suite(void)
{
	Suite *s = suite_create("virtio_vsock");
	TCase *tc = tcase_create("virtio_vsock");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, identity_and_config);
	tcase_add_test(tc, existing_path_refused);
	tcase_add_test(tc, guest_to_host_stream);
	tcase_add_test(tc, guest_connect_refused);
	tcase_add_test(tc, host_to_guest_connect_split_line);
	tcase_add_test(tc, host_connect_garbage_and_refusal);
	tcase_add_test(tc, mvm_style_client_connect);
	tcase_add_test(tc, credit_stall_and_update);
	tcase_add_test(tc, slow_reader_buffered_then_overrun);
	tcase_add_test(tc, half_close_both_ways);
	tcase_add_test(tc, tx_budget_per_wakeup);
	tcase_add_test(tc, guest_rst_closes_host_socket);
	tcase_add_test(tc, hostile_packets);
	tcase_add_test(tc, header_split_across_buffers);
	tcase_add_test(tc, device_reset_closes_host_sockets);
	tcase_add_test(tc, connect_before_driver_is_up);
	tcase_add_test(tc, transport_reset_event);
	tcase_add_test(tc, metrics_names);
	suite_add_tcase(s, tc);
	return s;
}
