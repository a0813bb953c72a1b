/* SPDX-License-Identifier: MIT */
/*
 * net_bench: the direct-KVM half of bench/net.py.  Drives one virtio-net
 * device with the polled driver in lib/virtio.c (receiveq1 = 0,
 * transmitq1 = 1) and measures what goes through whatever backend minivmm
 * put behind it (a TAP, or libslirp):
 *   txsmall  60-byte frames (UDP, 18-byte payload) to peer:port, the TX ring
 *            kept full (VIRTQ_SIZE chains in flight, one kick per refill);
 *   txlarge  1514-byte frames (UDP, 1472-byte payload), the same way;
 *   rr       one 18-byte UDP datagram to peer:echo_port, wait for its echo,
 *            again (request/response, one in flight);
 *   rx       (rx=1) the host floods us with UDP; the receive ring is
 *            drained and refilled, frames and bytes counted.
 * Each phase lasts until the RTC second has ticked `ticks` times (a partial
 * second first: the host times the phase itself).  The guest
 * keeps no time: phases are bracketed by "net_bench: begin X" and
 * "net_bench: end X ..." lines, which the host times as they arrive, and the
 * host counts what it received itself.  Frames are built once and never
 * touched by the CPU again (UDP checksum 0, RFC 768): under PVM every guest
 * kernel instruction is emulated, and per-frame work would measure that.
 *
 * Command line: mode=tap|user, ip=A.B.C.D, peer=A.B.C.D (defaults: user
 * 10.0.2.15 -> 10.0.2.2, tap 10.99.0.2 -> 10.99.0.1), port=N (the host's
 * UDP sink), echo_port=N (its UDP echo; 0 skips rr), ticks=N (default 2),
 * rx=1 (run the rx phase), discover=acpi|cmdline (default acpi).  The
 * device set-up and the frame building are lib/net.c's, shared with
 * virtio_net.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/net.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "net_bench";

#define SMALL_PAYLOAD	  18 /* 14 + 20 + 8 + 18 = 60: the Ethernet minimum without FCS */
#define LARGE_PAYLOAD	  1472
#define GUEST_UDP_PORT	  40124
#define RTC_SECONDS	  0x00
#define RTC_CHECK_MASK	  63u /* a CMOS read is 2 exits: look every 64 frames */
#define SPIN_LIMIT	  2000000u
#define WAIT_TICKS	  5
#define RR_WAIT_TICKS	  2 /* 1-2 s: an echo later than that counts as lost */
#define PHASE_FRAME_LIMIT (1u << 30)

static struct net_if nif;
static uint8_t tx_frame[NET_UDP_PAYLOAD + LARGE_PAYLOAD] __attribute__((aligned(64)));
static uint8_t arp_frame[VNET_HDR_LEN + ETH_HLEN + ARP_LEN] __attribute__((aligned(64)));

struct bench {
	bool have_peer_mac;
	unsigned int arp_answered;
	uint64_t rx_frames, rx_bytes; /* counted by drain_rx() */
	bool echo_seen;
	uint16_t echo_port;
};

/* IPv4/UDP to the peer, checksum 0 ("none", RFC 768); returns the length after the header. */
static uint32_t build_udp(uint16_t dport, uint32_t payload)
{
	const struct net_udp_flow f = {
	    .eth_dst = nif.peer_mac,
	    .eth_src = nif.mac,
	    .src = nif.ip,
	    .dst = nif.peer_ip,
	    .sport = GUEST_UDP_PORT,
	    .dport = dport,
	};

	memcpy(tx_frame + NET_UDP_PAYLOAD, "minivmm-net-bench", payload < 17 ? payload : 17);
	return net_build_udp(tx_frame, &f, payload);
}

/* ---- TX: descriptor i of the TX queue always points at `frame`. ---- */

static uint16_t tx_inflight;

static void tx_point_at(const uint8_t *frame, uint32_t len)
{
	for (uint16_t i = 0; i < VIRTQ_SIZE; i++)
		nif.txq.desc[i] =
		    (struct virtq_desc){.addr = (uint64_t)(uintptr_t)frame, .len = len};
}

/* Takes back every completed TX chain; returns how many. */
static unsigned int tx_reap(void)
{
	uint16_t idx = __atomic_load_n(&nif.txq.used.idx, __ATOMIC_ACQUIRE);
	unsigned int n = (uint16_t)(idx - nif.txq.used_idx);

	nif.txq.used_idx = idx;
	tx_inflight = (uint16_t)(tx_inflight - n);
	return n;
}

/* Fills the ring, kicks once; false if nothing completed for SPIN_LIMIT polls. */
static bool tx_refill_and_reap(uint64_t *done)
{
	unsigned int n = 0;

	while (tx_inflight < VIRTQ_SIZE) {
		virtio_publish(&nif.txq, (uint16_t)(nif.txq.avail_idx % VIRTQ_SIZE));
		tx_inflight++;
	}
	virtio_kick(&nif.txq);
	for (uint32_t spins = 0; !(n = tx_reap()); spins++) {
		if (spins > SPIN_LIMIT)
			return false;
		cpu_relax();
	}
	*done += n;
	return true;
}

/*
 * Waits until every chain in flight came back (the next phase reuses the frame
 * buffer); returns how many did.
 */
static unsigned int tx_drain(void)
{
	unsigned int n = 0;

	for (uint32_t spins = 0; tx_inflight && spins < SPIN_LIMIT; spins++) {
		n += tx_reap();
		cpu_relax();
	}
	return n;
}

static void tx_one(const uint8_t *frame, uint32_t len)
{
	tx_drain();
	tx_point_at(frame, len);
	virtio_publish(&nif.txq, (uint16_t)(nif.txq.avail_idx % VIRTQ_SIZE));
	tx_inflight++;
	virtio_kick(&nif.txq);
	tx_drain();
}

/* ---- RX ---- */

/* One received frame: ARP (answer requests for us, learn the peer), the echo, or counted. */
static void rx_frame(struct bench *b, const uint8_t *eth, uint32_t len)
{
	const uint8_t *p = eth + ETH_HLEN;

	b->rx_frames++;
	b->rx_bytes += len;
	/*
	 * Only the fields that tell the echo apart, without net_parse_udp():
	 * under PVM every instruction here costs the rx and rr phases.
	 */
	if (len >= ETH_HLEN + ARP_LEN && get_be16(eth + 12) == ETHERTYPE_ARP &&
	    get_be32(p + 24) == nif.ip) {
		if (get_be16(p + 6) == ARP_REQUEST) {
			uint32_t out = net_arp_answer(arp_frame, eth, len, nif.mac, nif.ip);

			/* The TX ring may be mid-phase: ARP answers go out between phases only. */
			if (!tx_inflight) {
				tx_one(arp_frame, VNET_HDR_LEN + out);
				b->arp_answered++;
			}
		} else if (get_be16(p + 6) == ARP_REPLY && get_be32(p + 14) == nif.peer_ip) {
			memcpy(nif.peer_mac, p + 8, ETH_ALEN);
			b->have_peer_mac = true;
		}
	} else if (len >= ETH_HLEN + IP_HLEN + UDP_HLEN && get_be16(eth + 12) == ETHERTYPE_IPV4 &&
		   p[0] == 0x45 && p[9] == IPPROTO_UDP && get_be32(p + 12) == nif.peer_ip &&
		   get_be16(p + IP_HLEN) == b->echo_port &&
		   get_be16(p + IP_HLEN + 2) == GUEST_UDP_PORT) {
		b->echo_seen = true;
	}
}

/* Takes every used RX buffer, looks at it, posts it again; one kick. Returns how many. */
static unsigned int drain_rx(struct bench *b)
{
	uint16_t idx = __atomic_load_n(&nif.rxq.used.idx, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (nif.rxq.used_idx != idx) {
		const struct virtq_used_elem *e = &nif.rxq.used.ring[nif.rxq.used_idx % VIRTQ_SIZE];
		uint32_t id = e->id, len = e->len;

		nif.rxq.used_idx++;
		n++;
		if (id >= NET_RX_BUFS)
			continue; /* a broken device: never post an unknown id */
		if (len > VNET_HDR_LEN && len <= NET_RX_BUF_SIZE)
			rx_frame(b, nif.rx_bufs[id] + VNET_HDR_LEN, len - VNET_HDR_LEN);
		net_rx_post(&nif, (uint16_t)id);
	}
	if (n)
		virtio_kick(&nif.rxq);
	return n;
}

/* Polls the RX ring until `done` says so or `ticks` RTC seconds pass; true if it did. */
static bool rx_until(struct bench *b, bool *done, unsigned int ticks)
{
	uint8_t last = cmos_read(RTC_SECONDS);
	unsigned int seen = 0;

	for (uint32_t polls = 0; !*done; polls++) {
		if (!drain_rx(b))
			cpu_relax();
		if (!(polls & RTC_CHECK_MASK)) {
			uint8_t now = cmos_read(RTC_SECONDS);

			seen += now != last;
			last = now;
			if (seen >= ticks)
				return false;
		}
	}
	return true;
}

static bool resolve_peer(struct bench *b)
{
	for (int attempt = 0; attempt < 3 && !b->have_peer_mac; attempt++) {
		tx_one(arp_frame,
		       VNET_HDR_LEN + net_build_arp(arp_frame, net_broadcast_mac, ARP_REQUEST,
						    nif.mac, nif.ip, net_zero_mac, nif.peer_ip));
		rx_until(b, &b->have_peer_mac, WAIT_TICKS);
	}
	return report(b->have_peer_mac, "ARP: peer " IP_FMT " is at " MAC_FMT, IP_ARGS(nif.peer_ip),
		      MAC_ARGS(nif.peer_mac));
}

/* ---- Phases ---- */

static void tx_phase(struct bench *b, const char *name, uint16_t port, uint32_t payload,
		     uint64_t ticks)
{
	uint32_t len = VNET_HDR_LEN + build_udp(port, payload);
	uint64_t frames = 0, checks = 0;
	unsigned int seen = 0, stalls = 0;
	uint8_t last;

	tx_drain();
	tx_point_at(tx_frame, len);
	last = cmos_read(RTC_SECONDS);
	printf("net_bench: begin %s\n", name);
	while (seen < ticks && frames < PHASE_FRAME_LIMIT) {
		if (!tx_refill_and_reap(&frames)) {
			stalls++;
			break;
		}
		if (frames / (RTC_CHECK_MASK + 1) != checks) {
			uint8_t now = cmos_read(RTC_SECONDS);

			checks = frames / (RTC_CHECK_MASK + 1);
			seen += now != last;
			last = now;
		}
	}
	frames += tx_drain();
	printf("net_bench: end %s frames=%lu frame_bytes=%u stalls=%u\n", name, frames,
	       len - VNET_HDR_LEN, stalls);
	report(!stalls && frames > 0, "%s: %lu frames of %u bytes sent", name, frames,
	       len - VNET_HDR_LEN);
	drain_rx(b);
}

static void rr_phase(struct bench *b, uint64_t ticks)
{
	uint32_t len = VNET_HDR_LEN + build_udp(b->echo_port, SMALL_PAYLOAD);
	uint64_t ops = 0, lost = 0;
	unsigned int seen = 0;
	uint8_t last = cmos_read(RTC_SECONDS);

	printf("net_bench: begin rr\n");
	while (seen < ticks) {
		uint8_t now;

		b->echo_seen = false;
		tx_one(tx_frame, len);
		if (rx_until(b, &b->echo_seen, RR_WAIT_TICKS))
			ops++;
		else
			lost++;
		if (!(ops & 15)) {
			now = cmos_read(RTC_SECONDS);
			seen += now != last;
			last = now;
		}
		if (lost > 3)
			break;
	}
	printf("net_bench: end rr ops=%lu lost=%lu\n", ops, lost);
	report(ops > 0 && lost <= 3, "rr: %lu request/response exchanges, %lu lost", ops, lost);
}

static void rx_phase(struct bench *b, uint64_t ticks)
{
	bool never = false;
	uint64_t frames, bytes;

	drain_rx(b);
	frames = b->rx_frames;
	bytes = b->rx_bytes;
	printf("net_bench: begin rx\n");
	rx_until(b, &never, (unsigned int)ticks);
	frames = b->rx_frames - frames;
	bytes = b->rx_bytes - bytes;
	printf("net_bench: end rx frames=%lu bytes=%lu\n", frames, bytes);
	report(frames > 0, "rx: %lu frames, %lu bytes received", frames, bytes);
}

int guest_main(const struct boot_info *bi)
{
	static struct bench b;
	uint64_t port = 0, echo_port = 0, ticks = 2, rx = 0;
	bool ok = net_if_args(bi, &nif);

	cmdline_get_u64(bi, "port", &port);
	cmdline_get_u64(bi, "echo_port", &echo_port);
	cmdline_get_u64(bi, "ticks", &ticks);
	cmdline_get_u64(bi, "rx", &rx);
	b.echo_port = (uint16_t)echo_port;
	if (!report(ok && port && port < 65536 && echo_port < 65536 && ticks,
		    "arguments: mode=%s port=%lu echo_port=%lu ticks=%lu", nif.mode, port,
		    echo_port, ticks) ||
	    /* Without an RTC no phase would end (QEMU microvm has none under KVM unless rtc=on). */
	    !report(cmos_read(RTC_SECONDS) != 0xff, "an RTC times the phases") ||
	    net_if_setup(bi, &nif, 0) || !resolve_peer(&b))
		report_done();
	tx_phase(&b, "txsmall", (uint16_t)port, SMALL_PAYLOAD, ticks);
	tx_phase(&b, "txlarge", (uint16_t)port, LARGE_PAYLOAD, ticks);
	if (echo_port)
		rr_phase(&b, ticks);
	if (rx)
		rx_phase(&b, ticks);
	printf("net_bench: done arp-answered=%u\n", b.arp_answered);
	report_done();
}
