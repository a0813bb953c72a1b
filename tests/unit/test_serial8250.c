/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdint.h>
#include <string.h>

#include "devices/serial8250.h"

/* Register offsets and bits, spelled as in the 16550 datasheet. */
enum { RBR = 0, THR = 0, DLL = 0, IER = 1, DLM = 1, IIR = 2, FCR = 2 };
enum { LCR = 3, MCR = 4, LSR = 5, MSR = 6, SCR = 7 };

struct fake_irq {
	struct irq_chip chip;
	pthread_mutex_t lock;
	int levels[64];
	int nlevels;
	int last_level;
};

struct fake_host {
	uint8_t tx[4096];
	size_t ntx;
	int rx_ready_calls;
	sem_t rx_ready_sem;
};

static void fake_set_level(void *opaque, uint32_t gsi, int level)
{
	struct fake_irq *irq = opaque;

	ck_assert_uint_eq(gsi, 4);
	pthread_mutex_lock(&irq->lock);
	if (irq->nlevels < 64)
		irq->levels[irq->nlevels] = level;
	irq->nlevels++;
	irq->last_level = level;
	pthread_mutex_unlock(&irq->lock);
}

static void fake_tx(void *opaque, const uint8_t *buf, size_t len)
{
	struct fake_host *host = opaque;

	for (size_t i = 0; i < len && host->ntx < sizeof(host->tx); i++)
		host->tx[host->ntx++] = buf[i];
}

static void fake_rx_ready(void *opaque)
{
	struct fake_host *host = opaque;

	__atomic_add_fetch(&host->rx_ready_calls, 1, __ATOMIC_SEQ_CST);
	sem_post(&host->rx_ready_sem);
}

static struct fake_irq irq;
static struct fake_host host;
static struct irq_line line;
static struct logger quiet = {LOG_ERROR, -1, "test"};
static struct serial8250 *uart;

static void setup(void)
{
	memset(&irq, 0, sizeof(irq));
	memset(&host, 0, sizeof(host));
	pthread_mutex_init(&irq.lock, NULL);
	sem_init(&host.rx_ready_sem, 0, 0);
	irq.chip.set_level = fake_set_level;
	irq.chip.opaque = &irq;
	line.chip = &irq.chip;
	line.gsi = 4;
	ck_assert_int_eq(serial8250_create(&uart, &line, fake_tx, fake_rx_ready, &host, &quiet), 0);
}

static void teardown(void)
{
	serial8250_destroy(uart);
	sem_destroy(&host.rx_ready_sem);
	pthread_mutex_destroy(&irq.lock);
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0x5a;
	serial8250_io_read(uart, off, &v, 1);
	return v;
}

static void wr(uint64_t off, uint8_t v)
{
	serial8250_io_write(uart, off, &v, 1);
}

/* The checks of Linux 6.1 autoconfig() / autoconfig_16550a(), in order. */
START_TEST(linux_autoconfig_detects_16550a)
{
	uint8_t scratch, save_mcr, save_lcr, status1, status2;

	/* IER test: only bits 0-3 exist. */
	scratch = rd(IER);
	wr(IER, 0);
	ck_assert_uint_eq(rd(IER) & 0x0f, 0);
	wr(IER, 0x0f);
	ck_assert_uint_eq(rd(IER) & 0x0f, 0x0f);
	wr(IER, scratch);

	/* LOOP test: MCR = LOOP | OUT2 | RTS must read back DCD | CTS. */
	save_mcr = rd(MCR);
	save_lcr = rd(LCR);
	wr(MCR, 0x10 | 0x0a);
	ck_assert_uint_eq(rd(MSR) & 0xf0, 0x90);
	wr(MCR, save_mcr);

	/* EFR init through LCR 0xbf, then FIFO enable: IIR bits 6-7 = 3. */
	wr(LCR, 0xbf);
	wr(FCR, 0);
	wr(LCR, 0);
	wr(FCR, 0x01);
	ck_assert_uint_eq(rd(IIR) >> 6, 3);

	/* autoconfig_16550a: no EFR behind LCR 0x80 / 0xbf. */
	wr(LCR, 0x80);
	ck_assert_uint_ne(rd(IIR), 0);
	wr(LCR, 0xbf);
	ck_assert_uint_ne(rd(IIR), 0);

	/* Not a National SuperIO: offset 2 under LCR 0xe0 does not track MCR.LOOP. */
	wr(LCR, 0);
	status1 = rd(MCR);
	wr(LCR, 0xe0);
	status2 = rd(2);
	ck_assert_uint_eq((status2 ^ status1) & 0x10, 0);
	wr(LCR, 0);
	wr(MCR, status1 ^ 0x10);
	wr(LCR, 0xe0);
	status2 = rd(2);
	wr(LCR, 0);
	wr(MCR, status1);
	ck_assert_uint_eq((status2 ^ status1) & 0x10, 0);

	/* Not a TI16750: IIR bit 5 never set. */
	wr(FCR, 0x01 | 0x20);
	status1 = rd(IIR) >> 5;
	wr(FCR, 0x01);
	wr(LCR, 0x80);
	wr(FCR, 0x01 | 0x20);
	status2 = rd(IIR) >> 5;
	wr(FCR, 0x01);
	wr(LCR, 0);
	ck_assert_uint_eq(status1, 6); /* 0xc1 >> 5: FIFO bits, no interrupt */
	ck_assert_uint_eq(status2, 6);

	/* Not an XScale: IER bit 6 (UUE) does not stick. */
	wr(IER, 0x40);
	ck_assert_uint_eq(rd(IER), 0);
	wr(LCR, save_lcr);

	/* Scratch register. */
	wr(SCR, 0xa5);
	ck_assert_uint_eq(rd(SCR), 0xa5);
	wr(SCR, 0x5a);
	ck_assert_uint_eq(rd(SCR), 0x5a);

	/* Nothing was transmitted; the IER test pulsed THRE and left the line low. */
	ck_assert_uint_eq(host.ntx, 0);
	ck_assert_int_eq(irq.nlevels, 2);
	ck_assert_int_eq(irq.levels[0], 1);
	ck_assert_int_eq(irq.levels[1], 0);
}
END_TEST

START_TEST(loopback_maps_mcr_to_msr_and_thr_to_rbr)
{
	/* Outside loopback the "cable" reports DCD, DSR and CTS. */
	ck_assert_uint_eq(rd(MSR), 0xb0);

	wr(MCR, 0x10 | 0x01);				/* LOOP | DTR: only DSR stays up */
	ck_assert_uint_eq(rd(MSR), 0x20 | 0x08 | 0x01); /* DSR, DDCD, DCTS */
	ck_assert_uint_eq(rd(MSR), 0x20);		/* deltas cleared by the read */

	wr(MCR, 0x10 | 0x04); /* OUT1 -> RI; DTR dropped */
	ck_assert_uint_eq(rd(MSR), 0x40 | 0x02);
	wr(MCR, 0x10); /* RI falls: trailing-edge indicator */
	ck_assert_uint_eq(rd(MSR), 0x04);
	wr(MCR, 0x10 | 0x0f);
	ck_assert_uint_eq(rd(MSR) & 0xf0, 0xf0);

	wr(THR, 'x');
	wr(THR, 'y');
	ck_assert_uint_eq(host.ntx, 0);
	ck_assert_uint_eq(rd(LSR), 0x61); /* DR | THRE | TEMT */
	ck_assert_uint_eq(rd(RBR), 'x');
	ck_assert_uint_eq(rd(RBR), 'y');
	ck_assert_uint_eq(rd(LSR), 0x60);

	wr(MCR, 0x00);
	wr(THR, 'z');
	ck_assert_uint_eq(host.ntx, 1);
	ck_assert_uint_eq(host.tx[0], 'z');
	ck_assert_uint_eq(rd(LSR), 0x60);
}
END_TEST

START_TEST(thre_interrupt_raise_and_clear_order)
{
	wr(IER, 0x02);
	ck_assert_int_eq(irq.nlevels, 1);
	ck_assert_int_eq(irq.levels[0], 1);

	/* IIR read reporting THRE acknowledges it. */
	ck_assert_uint_eq(rd(IIR), 0x02);
	ck_assert_int_eq(irq.nlevels, 2);
	ck_assert_int_eq(irq.levels[1], 0);
	ck_assert_uint_eq(rd(IIR), 0x01);
	ck_assert_int_eq(irq.nlevels, 2); /* no redundant calls */

	/* THR write: byte goes out, THR is empty again, THRE re-asserts. */
	wr(THR, 'A');
	ck_assert_uint_eq(host.ntx, 1);
	ck_assert_uint_eq(host.tx[0], 'A');
	ck_assert_int_eq(irq.nlevels, 3);
	ck_assert_int_eq(irq.levels[2], 1);

	/* Further THR writes while pending keep the line up without calls. */
	wr(THR, 'B');
	ck_assert_int_eq(irq.nlevels, 3);

	wr(IER, 0);
	ck_assert_int_eq(irq.nlevels, 4);
	ck_assert_int_eq(irq.levels[3], 0);

	/* Linux's THRE test: toggling ETBEI re-arms THRE after an ack. */
	wr(IER, 0x02);
	ck_assert_uint_eq(rd(IIR) & 0x01, 0);
	wr(IER, 0);
	wr(IER, 0x02);
	ck_assert_uint_eq(rd(IIR) & 0x01, 0);
	wr(IER, 0);
	ck_assert_int_eq(irq.levels[irq.nlevels - 1], 0);
	/* ... and TXEN test: LSR.TEMT with THRE reported right after IER. */
	wr(IER, 0x02);
	ck_assert_uint_eq(rd(LSR) & 0x40, 0x40);
	ck_assert_uint_eq(rd(IIR), 0x02);
}
END_TEST

START_TEST(rx_interrupt_and_lsr_dr)
{
	const uint8_t in[] = {'a', 'b'};

	ck_assert_uint_eq(rd(LSR) & 0x01, 0);
	ck_assert_uint_eq(serial8250_receive(uart, in, 2), 2);
	ck_assert_uint_eq(rd(LSR) & 0x01, 1);
	ck_assert_int_eq(irq.nlevels, 0); /* ERBFI off */

	wr(IER, 0x01);
	ck_assert_int_eq(irq.nlevels, 1);
	ck_assert_int_eq(irq.levels[0], 1);
	ck_assert_uint_eq(rd(IIR), 0x04);
	ck_assert_uint_eq(rd(IIR), 0x04); /* reading IIR does not ack RDA */
	ck_assert_uint_eq(rd(RBR), 'a');
	ck_assert_int_eq(irq.nlevels, 1);
	ck_assert_uint_eq(rd(RBR), 'b');
	ck_assert_int_eq(irq.nlevels, 2);
	ck_assert_int_eq(irq.levels[1], 0);
	ck_assert_uint_eq(rd(LSR) & 0x01, 0);
	ck_assert_uint_eq(rd(IIR), 0x01);
	ck_assert_uint_eq(rd(RBR), 0); /* empty RBR */

	/* Data arriving while ERBFI is set raises the line from the host side. */
	ck_assert_uint_eq(serial8250_receive(uart, in, 1), 1);
	ck_assert_int_eq(irq.nlevels, 3);
	ck_assert_int_eq(irq.levels[2], 1);
	ck_assert_uint_eq(serial8250_receive(uart, in, 0), 0);
}
END_TEST

START_TEST(interrupt_priority)
{
	const uint8_t in = 'q';

	wr(FCR, 0x01);
	wr(IER, 0x0f);
	/* THRE pending plus modem-status deltas (MCR loop change). */
	wr(MCR, 0x10 | 0x02);
	ck_assert_uint_eq(rd(IIR), 0xc2); /* THRE beats MSR; read acks THRE */
	ck_assert_uint_eq(rd(IIR), 0xc0); /* MSR change now */
	rd(MSR);
	ck_assert_uint_eq(rd(IIR), 0xc1);

	/* Loopback overflow: fill the queue, one more byte sets OE. */
	for (int i = 0; i < SERIAL8250_RX_QUEUE_SIZE; i++)
		wr(THR, (uint8_t)i);
	ck_assert_uint_eq(rd(IIR), 0xc4); /* RDA beats THRE */
	wr(THR, 0xee);
	ck_assert_uint_eq(rd(IIR), 0xc6); /* RLS beats RDA */
	ck_assert_uint_eq(rd(LSR), 0x63); /* DR | OE | THRE | TEMT */
	ck_assert_uint_eq(rd(LSR), 0x61); /* OE cleared by the read */
	ck_assert_uint_eq(rd(IIR), 0xc4);
	for (int i = 0; i < SERIAL8250_RX_QUEUE_SIZE; i++)
		ck_assert_uint_eq(rd(RBR), (uint8_t)i);
	ck_assert_uint_eq(rd(IIR), 0xc2);
	ck_assert_uint_eq(rd(IIR), 0xc1);
	ck_assert_int_eq(irq.levels[irq.nlevels - 1], 0);
	/* Host input is still taken in loopback (it is only the guest's wire). */
	ck_assert_uint_eq(serial8250_receive(uart, &in, 1), 1);
	ck_assert_uint_eq(rd(IIR), 0xc4);
}
END_TEST

START_TEST(dlab_selects_divisor_latch)
{
	wr(IER, 0x05);
	wr(LCR, 0x83);
	wr(DLL, 0x0c);
	wr(DLM, 0x01);
	ck_assert_uint_eq(rd(DLL), 0x0c);
	ck_assert_uint_eq(rd(DLM), 0x01);
	ck_assert_uint_eq(host.ntx, 0);
	wr(LCR, 0x03);
	ck_assert_uint_eq(rd(LCR), 0x03);
	ck_assert_uint_eq(rd(IER), 0x05);
	wr(THR, 'k');
	ck_assert_uint_eq(host.ntx, 1);
	wr(LCR, 0x83);
	ck_assert_uint_eq(rd(DLL), 0x0c); /* the THR write did not touch DLL */
	ck_assert_uint_eq(rd(DLM), 0x01);
}
END_TEST

START_TEST(rx_queue_full_short_count_and_rx_ready)
{
	uint8_t buf[SERIAL8250_RX_QUEUE_SIZE + 500];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 7);
	ck_assert_uint_eq(serial8250_receive(uart, buf, sizeof(buf)), SERIAL8250_RX_QUEUE_SIZE);
	ck_assert_uint_eq(serial8250_receive(uart, buf, 10), 0);

	/* Drain to exactly half: still no room signal. */
	for (size_t i = 0; i < SERIAL8250_RX_QUEUE_SIZE / 2; i++)
		ck_assert_uint_eq(rd(RBR), (uint8_t)(i * 7));
	ck_assert_int_eq(host.rx_ready_calls, 0);
	/* Below half: exactly one rx_ready. */
	ck_assert_uint_eq(rd(RBR), (uint8_t)((SERIAL8250_RX_QUEUE_SIZE / 2) * 7));
	ck_assert_int_eq(host.rx_ready_calls, 1);
	rd(RBR);
	ck_assert_int_eq(host.rx_ready_calls, 1);

	/* The host resumes where it stopped; order survives the ring wrap. */
	size_t off = SERIAL8250_RX_QUEUE_SIZE;
	ck_assert_uint_eq(serial8250_receive(uart, buf + off, sizeof(buf) - off), 500);
	for (size_t i = SERIAL8250_RX_QUEUE_SIZE / 2 + 2; i < sizeof(buf); i++)
		ck_assert_uint_eq(rd(RBR), (uint8_t)(i * 7));
	ck_assert_uint_eq(rd(LSR) & 0x01, 0);
	ck_assert_int_eq(host.rx_ready_calls, 1); /* never blocked again */
}
END_TEST

START_TEST(fcr_clears_only_the_fifo_depth)
{
	uint8_t buf[40];

	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	wr(FCR, 0x01);
	ck_assert_uint_eq(serial8250_receive(uart, buf, sizeof(buf)), sizeof(buf));
	wr(FCR, 0x01 | 0x02); /* clear RX FIFO */
	ck_assert_uint_eq(rd(RBR), 16);
	wr(FCR, 0x02); /* without FCR0: disables FIFOs (clears) but no extra clear */
	ck_assert_uint_eq(rd(IIR), 0x01);
	ck_assert_uint_eq(rd(RBR), 33);
	wr(FCR, 0x00); /* no change of FCR0: nothing cleared */
	ck_assert_uint_eq(rd(RBR), 34);
}
END_TEST

START_TEST(odd_access_widths_are_rejected)
{
	uint32_t v = 0x12345678;
	uint16_t w = 0;

	serial8250_io_read(uart, LSR, &v, 4);
	ck_assert_uint_eq(v, 0xffffffffu);
	serial8250_io_read(uart, SCR, &w, 2);
	ck_assert_uint_eq(w, 0xffff);
	v = 'Z';
	serial8250_io_write(uart, THR, &v, 4);
	serial8250_io_write(uart, IER, &v, 2);
	ck_assert_uint_eq(host.ntx, 0);
	ck_assert_uint_eq(rd(IER), 0);
	ck_assert_int_eq(irq.nlevels, 0);
	/* Out-of-range offsets (the bus should not send them) are harmless. */
	ck_assert_uint_eq(rd(8), 0xff);
	wr(100, 1);
	ck_assert_uint_eq(host.ntx, 0);
}
END_TEST

START_TEST(create_rejects_bad_arguments)
{
	struct serial8250 *u = NULL;

	ck_assert_int_eq(serial8250_create(NULL, &line, NULL, NULL, NULL, NULL), -EINVAL);
	ck_assert_int_eq(serial8250_create(&u, NULL, NULL, NULL, NULL, NULL), -EINVAL);
	/* NULL callbacks and logger are allowed. */
	ck_assert_int_eq(serial8250_create(&u, &line, NULL, NULL, NULL, NULL), 0);
	serial8250_io_write(u, THR, "x", 1);
	serial8250_io_write(u, 1, "\x08", 1);
	serial8250_destroy(u);
	serial8250_destroy(NULL);
}
END_TEST

#define STRESS_BYTES 200000

static void *producer(void *arg)
{
	uint8_t chunk[300];
	size_t sent = 0;

	(void)arg;
	while (sent < STRESS_BYTES) {
		size_t want =
		    STRESS_BYTES - sent < sizeof(chunk) ? STRESS_BYTES - sent : sizeof(chunk);
		for (size_t i = 0; i < want; i++)
			chunk[i] = (uint8_t)((sent + i) % 251);
		size_t n = serial8250_receive(uart, chunk, want);
		sent += n;
		if (n < want)
			sem_wait(&host.rx_ready_sem); /* one post per short count */
	}
	return NULL;
}

/* Event-loop thread feeding while the vCPU thread drains: no loss, no stall. */
START_TEST(concurrent_receive_and_drain)
{
	pthread_t thread;
	size_t got = 0;

	wr(IER, 0x01);
	ck_assert_int_eq(pthread_create(&thread, NULL, producer, NULL), 0);
	while (got < STRESS_BYTES) {
		if (!(rd(LSR) & 0x01))
			continue;
		ck_assert_uint_eq(rd(RBR), got % 251);
		got++;
	}
	pthread_join(thread, NULL);
	ck_assert_uint_eq(rd(LSR) & 0x01, 0);
	ck_assert_int_eq(irq.last_level, 0);
	/* The line alternates: it is only ever set on changes. */
	for (int i = 1; i < irq.nlevels && i < 64; i++)
		ck_assert_int_ne(irq.levels[i], irq.levels[i - 1]);
}
END_TEST

Suite *serial8250_suite(void)
{
	Suite *s = suite_create("serial8250");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, linux_autoconfig_detects_16550a);
	tcase_add_test(tc, loopback_maps_mcr_to_msr_and_thr_to_rbr);
	tcase_add_test(tc, thre_interrupt_raise_and_clear_order);
	tcase_add_test(tc, rx_interrupt_and_lsr_dr);
	tcase_add_test(tc, interrupt_priority);
	tcase_add_test(tc, dlab_selects_divisor_latch);
	tcase_add_test(tc, rx_queue_full_short_count_and_rx_ready);
	tcase_add_test(tc, fcr_clears_only_the_fifo_depth);
	tcase_add_test(tc, odd_access_widths_are_rejected);
	tcase_add_test(tc, create_rejects_bad_arguments);
	tcase_add_test(tc, concurrent_receive_and_drain);
	suite_add_tcase(s, tc);
	return s;
}
