/* SPDX-License-Identifier: MIT */
/*
 * devices/vsock_conn.c alone: state transitions, credit arithmetic (with
 * the 32-bit counters about to wrap), and the CONNECT line parser of
 * devices/vsock_muxer.c.
 */
#include <check.h>
#include <errno.h>
#include <linux/virtio_vsock.h>
#include <string.h>

#include "devices/vsock_conn.h"
#include "devices/vsock_muxer.h"

static struct vsock_pkt pkt(uint16_t op, uint32_t len, uint32_t buf_alloc, uint32_t fwd_cnt)
{
	return (struct vsock_pkt){.src_cid = 3,
				  .dst_cid = 2,
				  .src_port = 5000,
				  .dst_port = 1234,
				  .len = len,
				  .type = VIRTIO_VSOCK_TYPE_STREAM,
				  .op = op,
				  .buf_alloc = buf_alloc,
				  .fwd_cnt = fwd_cnt};
}

/* A guest-initiated stream, RESPONSE already sent. */
static void established(struct vsock_conn *c, uint32_t peer_buf)
{
	struct vsock_pkt req = pkt(VIRTIO_VSOCK_OP_REQUEST, 0, peer_buf, 0);
	uint32_t flags;

	vsock_conn_init_peer(c, &req);
	ck_assert_int_eq(c->state, VSOCK_ESTABLISHED);
	ck_assert_uint_eq(c->local_port, 1234);
	ck_assert_uint_eq(c->peer_port, 5000);
	ck_assert_uint_eq(vsock_conn_next_control(c, &flags), VIRTIO_VSOCK_OP_RESPONSE);
	ck_assert_uint_eq(vsock_conn_next_control(c, &flags), 0);
}

START_TEST(local_init_handshake)
{
	struct vsock_conn c;
	struct vsock_pkt out = {0};
	uint32_t flags;

	vsock_conn_init_local(&c, 1u << 30, 52);
	ck_assert_int_eq(c.state, VSOCK_LOCAL_INIT);
	/* No data may flow before the guest answers. */
	ck_assert_uint_eq(vsock_conn_peer_credit(&c), 0);
	ck_assert_uint_eq(vsock_conn_next_control(&c, &flags), VIRTIO_VSOCK_OP_REQUEST);
	vsock_conn_stamp(&c, &out);
	ck_assert_uint_eq(out.src_port, 1u << 30);
	ck_assert_uint_eq(out.dst_port, 52);
	ck_assert_uint_eq(out.buf_alloc, VSOCK_BUF_ALLOC);
	ck_assert_uint_eq(out.fwd_cnt, 0);
	struct vsock_pkt resp = pkt(VIRTIO_VSOCK_OP_RESPONSE, 0, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &resp), VSOCK_V_ESTABLISHED);
	ck_assert_int_eq(c.state, VSOCK_ESTABLISHED);
	ck_assert_uint_eq(vsock_conn_peer_credit(&c), 4096);
}
END_TEST

START_TEST(local_init_refused_or_forged)
{
	struct vsock_conn c;
	uint32_t flags;
	struct vsock_pkt rst = pkt(VIRTIO_VSOCK_OP_RST, 0, 0, 0);
	struct vsock_pkt resp = pkt(VIRTIO_VSOCK_OP_RESPONSE, 0, 4096, 0);
	struct vsock_pkt rw = pkt(VIRTIO_VSOCK_OP_RW, 10, 4096, 0);

	/* Nobody listens in the guest: RST, the host socket closes, nothing sent back. */
	vsock_conn_init_local(&c, 1u << 30, 52);
	vsock_conn_next_control(&c, &flags);
	ck_assert_int_eq(vsock_conn_recv(&c, &rst), VSOCK_V_CLOSE);
	ck_assert_int_eq(c.state, VSOCK_CLOSED);
	/* A RESPONSE before our REQUEST went out was not asked for. */
	vsock_conn_init_local(&c, 1u << 30, 52);
	ck_assert_int_eq(vsock_conn_recv(&c, &resp), VSOCK_V_RESET);
	/* Data before the handshake completes. */
	vsock_conn_init_local(&c, 1u << 30, 52);
	vsock_conn_next_control(&c, &flags);
	ck_assert_int_eq(vsock_conn_recv(&c, &rw), VSOCK_V_RESET);
	ck_assert_int_eq(c.state, VSOCK_CLOSED);
	/* A closed connection ignores everything. */
	ck_assert_int_eq(vsock_conn_recv(&c, &rw), VSOCK_V_NONE);
}
END_TEST

START_TEST(established_bad_ops_reset)
{
	static const uint16_t bad[] = {VIRTIO_VSOCK_OP_REQUEST, VIRTIO_VSOCK_OP_RESPONSE,
				       VIRTIO_VSOCK_OP_INVALID, 8, 0xffff};
	struct vsock_conn c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct vsock_pkt p = pkt(bad[i], 0, 4096, 0);
		established(&c, 4096);
		ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_RESET);
		ck_assert_int_eq(c.state, VSOCK_CLOSED);
		ck_assert_uint_eq(c.pending, 0);
	}
}
END_TEST

START_TEST(data_and_overrun)
{
	struct vsock_conn c;
	struct vsock_pkt p;

	established(&c, 4096);
	p = pkt(VIRTIO_VSOCK_OP_RW, VSOCK_BUF_ALLOC - 100, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_DATA);
	ck_assert_uint_eq(vsock_conn_buffered(&c), VSOCK_BUF_ALLOC - 100);
	/* Exactly the rest of the credit is fine; one byte more is an overrun. */
	p = pkt(VIRTIO_VSOCK_OP_RW, 100, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_DATA);
	p = pkt(VIRTIO_VSOCK_OP_RW, 1, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_RESET);

	/* After the host socket took some, that much more may come. */
	established(&c, 4096);
	p = pkt(VIRTIO_VSOCK_OP_RW, VSOCK_BUF_ALLOC, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_DATA);
	vsock_conn_forwarded(&c, 1000);
	p = pkt(VIRTIO_VSOCK_OP_RW, 1000, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_DATA);
	p = pkt(VIRTIO_VSOCK_OP_RW, 1, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_RESET);
}
END_TEST

START_TEST(credit_wraps)
{
	struct vsock_conn c;
	struct vsock_pkt p;

	/* Our receive counters just below 2^32: buffered stays right across the wrap. */
	established(&c, 4096);
	c.recv_cnt = c.fwd_cnt = c.fwd_cnt_told = 0xfffffff0u;
	p = pkt(VIRTIO_VSOCK_OP_RW, 0x100, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_DATA);
	ck_assert_uint_eq(c.recv_cnt, 0xf0);
	ck_assert_uint_eq(vsock_conn_buffered(&c), 0x100);
	vsock_conn_forwarded(&c, 0x100);
	ck_assert_uint_eq(vsock_conn_buffered(&c), 0);
	ck_assert_uint_eq(c.fwd_cnt, 0xf0);

	/* The guest's counters wrap too: credit = buf_alloc - (tx_cnt - fwd_cnt). */
	established(&c, 8192);
	c.tx_cnt = 0xffffff00u;
	c.peer_fwd_cnt = 0xffffff00u;
	ck_assert_uint_eq(vsock_conn_peer_credit(&c), 8192);
	vsock_conn_sent(&c, 0x200); /* tx_cnt wraps to 0x100 */
	ck_assert_uint_eq(c.tx_cnt, 0x100);
	ck_assert_uint_eq(vsock_conn_peer_credit(&c), 8192 - 0x200);
	p = pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 8192, 0x80); /* guest consumed across the wrap */
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_NONE);
	ck_assert_uint_eq(vsock_conn_peer_credit(&c), 8192 - 0x80);
	/* A guest claiming to have consumed more than it got gets no credit, not 4 GiB. */
	p = pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 8192, 0x1000);
	vsock_conn_recv(&c, &p);
	ck_assert_uint_eq(vsock_conn_peer_credit(&c), 0);
	/* ... nor one that shrank its buffer below what is in flight. */
	p = pkt(VIRTIO_VSOCK_OP_CREDIT_UPDATE, 0, 0x10, 0);
	vsock_conn_recv(&c, &p);
	ck_assert_uint_eq(vsock_conn_peer_credit(&c), 0);
}
END_TEST

START_TEST(credit_update_when_low)
{
	struct vsock_conn c;
	struct vsock_pkt p, out = {0};
	uint32_t flags;

	established(&c, 4096);
	/* The guest fills all but 32 KiB; the host takes a little: below the threshold, tell it. */
	p = pkt(VIRTIO_VSOCK_OP_RW, VSOCK_BUF_ALLOC - 32 * 1024, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_DATA);
	vsock_conn_forwarded(&c, 0);
	ck_assert_uint_eq(c.pending, 0); /* nothing freed: nothing to say */
	vsock_conn_forwarded(&c, 10);
	ck_assert_uint_eq(vsock_conn_next_control(&c, &flags), VIRTIO_VSOCK_OP_CREDIT_UPDATE);
	vsock_conn_stamp(&c, &out);
	ck_assert_uint_eq(out.fwd_cnt, 10);
	ck_assert_uint_eq(out.buf_alloc, VSOCK_BUF_ALLOC);
	/* Plenty free as the guest sees it: no unasked update. */
	established(&c, 4096);
	p = pkt(VIRTIO_VSOCK_OP_RW, 1000, 4096, 0);
	vsock_conn_recv(&c, &p);
	vsock_conn_forwarded(&c, 1000);
	ck_assert_uint_eq(c.pending, 0);
	/* CREDIT_REQUEST always gets an answer; any header we send is one. */
	p = pkt(VIRTIO_VSOCK_OP_CREDIT_REQUEST, 0, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_NONE);
	ck_assert_uint_eq(c.pending, VSOCK_SEND_CREDIT_UPDATE);
	vsock_conn_stamp(&c, &out);
	ck_assert_uint_eq(c.pending, 0);
}
END_TEST

START_TEST(shutdown_both_ways)
{
	struct vsock_conn c;
	struct vsock_pkt p;
	uint32_t flags;

	established(&c, 4096);
	/* Host EOF: SHUTDOWN(SEND) once; no more credit used on our side. */
	vsock_conn_local_eof(&c);
	vsock_conn_local_eof(&c);
	ck_assert_uint_eq(vsock_conn_next_control(&c, &flags), VIRTIO_VSOCK_OP_SHUTDOWN);
	ck_assert_uint_eq(flags, VIRTIO_VSOCK_SHUTDOWN_SEND);
	ck_assert_uint_eq(vsock_conn_next_control(&c, &flags), 0);
	ck_assert_uint_eq(vsock_conn_peer_credit(&c), 0);
	/* The guest may still send: a half-closed stream keeps flowing the other way. */
	p = pkt(VIRTIO_VSOCK_OP_RW, 100, 4096, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_DATA);
	/* Its SHUTDOWN(SEND): flags accumulate; a repeat changes nothing. */
	p = pkt(VIRTIO_VSOCK_OP_SHUTDOWN, 0, 4096, 0);
	p.flags = VIRTIO_VSOCK_SHUTDOWN_SEND | 0xf0; /* unknown bits ignored */
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_PEER_SHUTDOWN);
	ck_assert_uint_eq(c.peer_shutdown, VIRTIO_VSOCK_SHUTDOWN_SEND);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_NONE);
	/* Data after its own SHUTDOWN(SEND) is a protocol error. */
	p = pkt(VIRTIO_VSOCK_OP_RW, 1, 4096, 0);
	{
		struct vsock_conn copy = c;
		ck_assert_int_eq(vsock_conn_recv(&copy, &p), VSOCK_V_RESET);
	}
	p = pkt(VIRTIO_VSOCK_OP_SHUTDOWN, 0, 4096, 0);
	p.flags = VIRTIO_VSOCK_SHUTDOWN_RCV;
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_PEER_SHUTDOWN);
	/* Both shut, but 100 bytes still wait for the host socket: not yet the end. */
	ck_assert(!vsock_conn_finished(&c));
	vsock_conn_forwarded(&c, 100);
	ck_assert(vsock_conn_finished(&c));
	/* The guest's RST ends anything without an answer. */
	p = pkt(VIRTIO_VSOCK_OP_RST, 0, 0, 0);
	ck_assert_int_eq(vsock_conn_recv(&c, &p), VSOCK_V_CLOSE);
}
END_TEST

START_TEST(connect_line_parser)
{
	uint32_t port = 0;
	size_t used = 0;

	ck_assert_int_eq(vsock_parse_connect("CONNECT 52\n", 11, &port, &used), 1);
	ck_assert_uint_eq(port, 52);
	ck_assert_uint_eq(used, 11);
	/* Bytes after the line are not the parser's. */
	ck_assert_int_eq(vsock_parse_connect("CONNECT 4294967295\nhello", 24, &port, &used), 1);
	ck_assert_uint_eq(port, 4294967295u);
	ck_assert_uint_eq(used, 19);
	/* Incomplete: every prefix of a good line asks for more. */
	for (size_t n = 0; n < 11; n++)
		ck_assert_int_eq(vsock_parse_connect("CONNECT 52\n", n, &port, &used), 0);
	/* Garbage as early as it shows. */
	ck_assert_int_eq(vsock_parse_connect("GET / HTTP/1.1\r\n", 16, &port, &used), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("C", 1, &port, &used), 0);
	ck_assert_int_eq(vsock_parse_connect("X", 1, &port, &used), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("connect 52\n", 11, &port, &used), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT \n", 9, &port, &used), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT -1\n", 11, &port, &used), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 52\r\n", 12, &port, &used), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 4294967296\n", 19, &port, &used), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 00000000052\n", 20, &port, &used), -EINVAL);
	ck_assert_int_eq(vsock_parse_connect("CONNECT 1 \n", 11, &port, &used), -EINVAL);
	/* A line that never ends: bounded. */
	{
		char buf[VSOCK_LINE_MAX + 8];
		memset(buf, '0', sizeof(buf));
		memcpy(buf, "CONNECT ", 8);
		ck_assert_int_eq(vsock_parse_connect(buf, sizeof(buf), &port, &used), -EINVAL);
	}
}
END_TEST

Suite *vsock_conn_suite(void)
{
	Suite *s = suite_create("vsock_conn");
	TCase *tc = tcase_create("vsock_conn");

	tcase_add_test(tc, local_init_handshake);
	tcase_add_test(tc, local_init_refused_or_forged);
	tcase_add_test(tc, established_bad_ops_reset);
	tcase_add_test(tc, data_and_overrun);
	tcase_add_test(tc, credit_wraps);
	tcase_add_test(tc, credit_update_when_low);
	tcase_add_test(tc, shutdown_both_ways);
	tcase_add_test(tc, connect_line_parser);
	suite_add_tcase(s, tc);
	return s;
}
