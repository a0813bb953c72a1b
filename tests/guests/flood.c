/* SPDX-License-Identifier: MIT */
/*
 * flood: asks minivmm for as much work as it can for `seconds=N` RTC
 * ticks (default 3), so that tests/integration/test_flood.c can check that
 * minivmm's memory and CPU stay bounded (issue 10, "resource bounds").
 * Each round, as fast as the exits go:
 * - console: 256 bytes to COM1 in one `rep outsb`; boot markers: 1 KiB to
 *   BOOT_MARKER_PORT in one `rep outsb`; log: 256 two-byte writes to the
 *   boot-marker port (one `rep outsw`, each a guest error) and QueueNotify
 *   writes for a queue virtio-rng lacks;
 * - net TX: a full ring (8) of UDP datagrams of 1000 bytes to 10.0.2.2
 *   (user-mode network) from 64 rotating source ports, one kick, while the
 *   guest never reposts an RX buffer (what comes back queues on the host);
 * - rng: 4 times a full ring of 4 KiB requests, one kick each;
 * - disk: 16 times two 128 KiB requests (a read and a write), one kick each.
 * Then one line of totals and checks that every request completed and no
 * device asked for a reset.  With `idle` on the command line it then
 * prints "# flood: idle" and halts with interrupts off instead of ending
 * the run, so the test can watch minivmm once the guest has stopped asking.
 * Devices: --disk (4 MiB or more), --net user, virtio-rng.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/net.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "flood";

#define RTC_SECONDS 0x00
/*
 * Sized for nested KVM under TCG, where every port access is an exit of
 * ~0.3 ms (KVM there exits per element of a `rep outs`), while a virtio
 * kick moves a whole ring: the port floods would otherwise starve the rest.
 */
#define CONSOLE_BYTES 256
#define MARKER_BYTES  1024
#define BAD_WORDS     256
#define BAD_NOTIFIES  2
#define PORT_REPEAT   1
#define TX_PER_ROUND  VIRTQ_SIZE
#define TX_PAYLOAD    1000
#define TX_PORTS      64
#define RNG_PER_ROUND VIRTQ_SIZE
#define RNG_BYTES     4096
#define RNG_BATCHES   4
#define BLK_PER_ROUND 2 /* three descriptors each, in a ring of VIRTQ_SIZE */
#define BLK_BATCHES   16
#define BLK_BYTES     131072
#define BLK_SPAN      6144 /* sectors (3 MiB) the disk requests rotate over */

static struct virtio_dev blk, rng;
static struct net_if nif;
static uint8_t text[CONSOLE_BYTES];
static uint8_t markers[MARKER_BYTES];
static uint16_t bad_words[BAD_WORDS];
static uint8_t rng_bufs[RNG_PER_ROUND][RNG_BYTES] __attribute__((aligned(64)));
static uint8_t blk_bufs[BLK_PER_ROUND][BLK_BYTES] __attribute__((aligned(4096)));
static uint8_t frames[TX_PER_ROUND][VNET_HDR_LEN + ETH_FRAME_MAX] __attribute__((aligned(64)));

static struct {
	uint64_t rounds, console, markers, bad_writes, tx, rng_bytes, blk;
	uint64_t tx_err, rng_err, blk_err;
	uint64_t tsc_ports, tsc_tx, tsc_rng, tsc_blk; /* where the guest's time went */
} c;

static void rep_outsb(uint16_t port, const void *buf, uint64_t n)
{
	asm volatile("cld; rep outsb" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

static void rep_outsw(uint16_t port, const void *buf, uint64_t n)
{
	asm volatile("cld; rep outsw" : "+S"(buf), "+c"(n) : "d"(port) : "memory");
}

static void fill_buffers(void)
{
	for (unsigned int i = 0; i < CONSOLE_BYTES; i++)
		text[i] = (i % 64 == 63) ? '\n' : (uint8_t)('a' + i % 26);
	for (unsigned int i = 0; i < MARKER_BYTES; i++)
		markers[i] = (uint8_t)i;
	for (unsigned int i = 0; i < BAD_WORDS; i++)
		bad_words[i] = (uint16_t)(0x4200 + i);
}

static uint64_t rdtsc(void)
{
	uint32_t lo, hi;

	asm volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (uint64_t)hi << 32 | lo;
}

/*
 * Publishes `nchains` chains at once and kicks once: chain i is descriptors
 * i*per .. i*per+per-1 of bufs (so nchains * per <= VIRTQ_SIZE), then takes
 * every used element back.  One notification for many requests keeps the
 * guest from spending the flood waiting on round trips.  Returns how many
 * failed; adds the used lengths to *used_total.
 */
static unsigned int batch(struct virtio_dev *dev, const struct virtio_buf *bufs,
			  unsigned int nchains, unsigned int per, uint64_t *used_total)
{
	unsigned int failed = 0;

	for (unsigned int i = 0; i < nchains * per; i++) {
		bool last = i % per == per - 1;

		dev->desc[i] = (struct virtq_desc){
		    .addr = bufs[i].addr,
		    .len = bufs[i].len,
		    .flags = (uint16_t)((bufs[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
					(last ? 0 : VIRTQ_DESC_F_NEXT)),
		    .next = (uint16_t)(last ? 0 : i + 1),
		};
	}
	for (unsigned int i = 0; i < nchains; i++)
		virtio_publish(dev, (uint16_t)(i * per));
	virtio_kick(dev);
	for (unsigned int i = 0; i < nchains; i++) {
		struct virtq_used_elem elem;

		if (virtio_wait(dev, &elem) < 0)
			failed++;
		else if (used_total)
			*used_total += elem.len;
	}
	return failed;
}

static void flood_ports(void)
{
	uint64_t t0 = rdtsc();

	for (unsigned int i = 0; i < PORT_REPEAT; i++) {
		rep_outsb(COM1_PORT, text, CONSOLE_BYTES);
		rep_outsb(BOOT_MARKER_PORT, markers, MARKER_BYTES);
		rep_outsw(BOOT_MARKER_PORT, bad_words, BAD_WORDS);
		for (unsigned int j = 0; j < BAD_NOTIFIES; j++)
			virtio_write32(&rng, VIRTIO_MMIO_QUEUE_NOTIFY, 99);
	}
	c.console += CONSOLE_BYTES * PORT_REPEAT;
	c.markers += MARKER_BYTES * PORT_REPEAT;
	c.bad_writes += (BAD_WORDS + BAD_NOTIFIES) * PORT_REPEAT;
	c.tsc_ports += rdtsc() - t0;
}

static void flood_tx(void)
{
	struct virtio_buf bufs[TX_PER_ROUND];
	uint64_t t0 = rdtsc();

	for (unsigned int i = 0; i < TX_PER_ROUND; i++) {
		const struct net_udp_flow f = {
		    .eth_dst = net_broadcast_mac,
		    .eth_src = nif.mac,
		    .src = nif.ip,
		    .dst = nif.peer_ip,
		    .sport = (uint16_t)(40000 + (c.tx + i) % TX_PORTS),
		    .dport = 9, /* discard: nothing listens on the host's loopback */
		    .ip_id = (uint16_t)(c.tx + i),
		    .checksum = true,
		};
		uint8_t *fr = frames[i];

		for (unsigned int k = 0; k < TX_PAYLOAD; k++)
			fr[NET_UDP_PAYLOAD + k] = (uint8_t)k;
		bufs[i] =
		    virtio_buf_of(fr, VNET_HDR_LEN + net_build_udp(fr, &f, TX_PAYLOAD), false);
	}
	c.tx_err += batch(&nif.txq, bufs, TX_PER_ROUND, 1, NULL);
	c.tx += TX_PER_ROUND;
	c.tsc_tx += rdtsc() - t0;
}

static void flood_rng(void)
{
	struct virtio_buf bufs[RNG_PER_ROUND];
	uint64_t before = c.rng_bytes, t0 = rdtsc();

	for (unsigned int i = 0; i < RNG_PER_ROUND; i++)
		bufs[i] = virtio_buf_of(rng_bufs[i], RNG_BYTES, true);
	c.rng_err += batch(&rng, bufs, RNG_PER_ROUND, 1, &c.rng_bytes);
	if (c.rng_bytes == before)
		c.rng_err++;
	c.tsc_rng += rdtsc() - t0;
}

/* BLK_PER_ROUND requests of header, BLK_BYTES of data and status; reads and writes alternate. */
static void flood_blk(void)
{
	static struct virtio_blk_req_hdr hdr[BLK_PER_ROUND];
	static uint8_t status[BLK_PER_ROUND];
	struct virtio_buf bufs[3 * BLK_PER_ROUND];
	uint64_t t0 = rdtsc();

	for (unsigned int i = 0; i < BLK_PER_ROUND; i++) {
		bool write = (c.blk + i) & 1;

		hdr[i] = (struct virtio_blk_req_hdr){
		    .type = write ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN,
		    .sector = ((c.blk + i) * (BLK_BYTES / VIRTIO_BLK_SECTOR_SIZE)) % BLK_SPAN,
		};
		status[i] = 0xff;
		bufs[3 * i] = virtio_buf_of(&hdr[i], sizeof(hdr[i]), false);
		bufs[3 * i + 1] = virtio_buf_of(blk_bufs[i], BLK_BYTES, !write);
		bufs[3 * i + 2] = virtio_buf_of(&status[i], 1, true);
	}
	c.blk_err += batch(&blk, bufs, BLK_PER_ROUND, 3, NULL);
	for (unsigned int i = 0; i < BLK_PER_ROUND; i++)
		if (*(volatile uint8_t *)&status[i] != VIRTIO_BLK_S_OK)
			c.blk_err++;
	c.blk += BLK_PER_ROUND;
	c.tsc_blk += rdtsc() - t0;
}

static void round_once(void)
{
	flood_ports();
	flood_tx();
	for (unsigned int i = 0; i < RNG_BATCHES; i++)
		flood_rng();
	for (unsigned int i = 0; i < BLK_BATCHES; i++)
		flood_blk();
	c.rounds++;
}

int guest_main(const struct boot_info *bi)
{
	static const struct virtio_want want_blk = {.name = "virtio-blk",
						    .device_id = VIRTIO_ID_BLOCK};
	static const struct virtio_want want_rng = {.name = "virtio-rng",
						    .device_id = VIRTIO_ID_RNG};
	struct virtio_dev *const blk_q[1] = {&blk};
	struct virtio_dev *const rng_q[1] = {&rng};
	uint64_t seconds = 3;
	unsigned int ticks = 0;
	uint8_t last;

	cmdline_get_u64(bi, "seconds", &seconds);
	fill_buffers();
	if (virtio_setup(bi, &want_blk, blk_q, 1) || virtio_setup(bi, &want_rng, rng_q, 1))
		report_done();
	net_if_args(bi, &nif);
	if (net_if_setup(bi, &nif, 0))
		report_done();

	/* At least one round, then until the RTC second has ticked `seconds` times. */
	last = cmos_read(RTC_SECONDS);
	do {
		uint8_t now;

		round_once();
		now = cmos_read(RTC_SECONDS);
		if (now != last) {
			last = now;
			ticks++;
		}
	} while (ticks < seconds);

	printf("\n# flood: rounds=%lu console=%lu markers=%lu bad_writes=%lu tx=%lu "
	       "rng_bytes=%lu blk=%lu\n",
	       c.rounds, c.console, c.markers, c.bad_writes, c.tx, c.rng_bytes, c.blk);
	printf("# flood: Mcycles ports=%lu tx=%lu rng=%lu blk=%lu\n", c.tsc_ports >> 20,
	       c.tsc_tx >> 20, c.tsc_rng >> 20, c.tsc_blk >> 20);
	report(c.tx_err == 0, "every TX frame came back (%lu failed)", c.tx_err);
	report(c.rng_err == 0, "every rng request was filled (%lu failed)", c.rng_err);
	report(c.blk_err == 0, "every disk request completed OK (%lu failed)", c.blk_err);
	report(virtio_status(&blk) == VIRTIO_STATUS_RUNNING, "virtio-blk status 0x%x",
	       virtio_status(&blk));
	report(virtio_status(&rng) == VIRTIO_STATUS_RUNNING, "virtio-rng status 0x%x",
	       virtio_status(&rng));
	report(virtio_status(&nif.txq) == VIRTIO_STATUS_RUNNING, "virtio-net status 0x%x",
	       virtio_status(&nif.txq));
	if (cmdline_get(bi, "idle", NULL, 0)) {
		printf("# flood: idle\n");
		halt_forever();
	}
	report_done();
}
