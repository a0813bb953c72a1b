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
 * rx=1 (run the rx phase).
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "net_bench";

#define VIRTIO_ID_NET	  1
#define VIRTIO_NET_F_MAC  5
#define NET_CFG_MAC	  0
#define NET_CFG_STATUS	  4
#define VNET_HDR_LEN	  12
#define ETH_HLEN	  14
#define ETHERTYPE_IPV4	  0x0800
#define ETHERTYPE_ARP	  0x0806
#define ARP_LEN		  28
#define IP_HLEN		  20
#define UDP_HLEN	  8
#define IPPROTO_UDP	  17
#define SMALL_PAYLOAD	  18 /* 14 + 20 + 8 + 18 = 60: the Ethernet minimum without FCS */
#define LARGE_PAYLOAD	  1472
#define GUEST_UDP_PORT	  40124
#define RX_BUF_SIZE	  2048
#define RTC_SECONDS	  0x00
#define RTC_CHECK_MASK	  63u /* a CMOS read is 2 exits: look every 64 frames */
#define SPIN_LIMIT	  2000000u
#define WAIT_TICKS	  5
#define RR_WAIT_TICKS	  2 /* 1-2 s: an echo later than that counts as lost */
#define PHASE_FRAME_LIMIT (1u << 30)

static struct virtio_dev rxq, txq;
static uint8_t rx_bufs[VIRTQ_SIZE][RX_BUF_SIZE] __attribute__((aligned(64)));
static uint8_t tx_frame[VNET_HDR_LEN + ETH_HLEN + IP_HLEN + UDP_HLEN + LARGE_PAYLOAD]
    __attribute__((aligned(64)));
static uint8_t arp_frame[VNET_HDR_LEN + ETH_HLEN + ARP_LEN] __attribute__((aligned(64)));

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero_mac[6];

struct bench {
	uint8_t mac[6], peer_mac[6];
	uint32_t ip, peer_ip;
	bool have_peer_mac;
	unsigned int arp_answered;
	uint64_t rx_frames, rx_bytes; /* counted by drain_rx() */
	bool echo_seen;
	uint16_t echo_port;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)(v >> 16));
	put16(p + 2, (uint16_t)v);
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)get16(p) << 16 | get16(p + 2);
}

static bool parse_ip(const char *s, uint32_t *out)
{
	uint32_t v = 0;

	for (int part = 0; part < 4; part++) {
		uint32_t octet = 0;
		int digits = 0;

		for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
			octet = octet * 10 + (uint32_t)(*s - '0');
		if (!digits || octet > 255 || *s != (part == 3 ? '\0' : '.'))
			return false;
		s++;
		v = v << 8 | octet;
	}
	*out = v;
	return true;
}

static uint16_t ip_csum(const uint8_t *p)
{
	uint32_t sum = 0;

	for (int i = 0; i < IP_HLEN; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint8_t *eth_start(uint8_t *frame, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	uint8_t *eth = frame + VNET_HDR_LEN;

	memset(frame, 0, VNET_HDR_LEN);
	memcpy(eth, dst, 6);
	memcpy(eth + 6, src, 6);
	put16(eth + 12, type);
	return eth + ETH_HLEN;
}

static uint32_t build_arp(uint8_t *frame, const uint8_t *eth_dst, uint16_t oper, const uint8_t *sha,
			  uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	uint8_t *arp = eth_start(frame, eth_dst, sha, ETHERTYPE_ARP);

	put16(arp, 1);
	put16(arp + 2, ETHERTYPE_IPV4);
	arp[4] = 6;
	arp[5] = 4;
	put16(arp + 6, oper);
	memcpy(arp + 8, sha, 6);
	put32(arp + 14, spa);
	memcpy(arp + 18, tha, 6);
	put32(arp + 24, tpa);
	return ETH_HLEN + ARP_LEN;
}

/* IPv4/UDP to the peer, checksum 0 ("none", RFC 768); returns the length after the header. */
static uint32_t build_udp(struct bench *b, uint16_t dport, uint32_t payload)
{
	uint8_t *ip = eth_start(tx_frame, b->peer_mac, b->mac, ETHERTYPE_IPV4);
	uint8_t *udp = ip + IP_HLEN;
	uint16_t udp_len = (uint16_t)(UDP_HLEN + payload);

	memset(ip, 0, IP_HLEN + UDP_HLEN);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(IP_HLEN + udp_len));
	put16(ip + 6, 0x4000); /* DF: identification may repeat (RFC 6864) */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	put32(ip + 12, b->ip);
	put32(ip + 16, b->peer_ip);
	put16(ip + 10, ip_csum(ip));
	put16(udp, GUEST_UDP_PORT);
	put16(udp + 2, dport);
	put16(udp + 4, udp_len);
	memcpy(udp + UDP_HLEN, "minivmm-net-bench", payload < 17 ? payload : 17);
	return ETH_HLEN + IP_HLEN + udp_len;
}

/* ---- TX: descriptor i of the TX queue always points at `frame`. ---- */

static uint16_t tx_inflight;

static void tx_point_at(const uint8_t *frame, uint32_t len)
{
	for (uint16_t i = 0; i < VIRTQ_SIZE; i++)
		txq.desc[i] = (struct virtq_desc){.addr = (uint64_t)(uintptr_t)frame, .len = len};
}

/* Takes back every completed TX chain; returns how many. */
static unsigned int tx_reap(void)
{
	uint16_t idx = __atomic_load_n(&txq.used.idx, __ATOMIC_ACQUIRE);
	unsigned int n = (uint16_t)(idx - txq.used_idx);

	txq.used_idx = idx;
	tx_inflight = (uint16_t)(tx_inflight - n);
	return n;
}

/* Fills the ring, kicks once; false if nothing completed for SPIN_LIMIT polls. */
static bool tx_refill_and_reap(uint64_t *done)
{
	unsigned int n = 0;

	while (tx_inflight < VIRTQ_SIZE) {
		virtio_publish(&txq, (uint16_t)(txq.avail_idx % VIRTQ_SIZE));
		tx_inflight++;
	}
	virtio_kick(&txq);
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
	virtio_publish(&txq, (uint16_t)(txq.avail_idx % VIRTQ_SIZE));
	tx_inflight++;
	virtio_kick(&txq);
	tx_drain();
}

/* ---- RX ---- */

static void rx_post(uint16_t id)
{
	rxq.desc[id] = (struct virtq_desc){
	    .addr = (uint64_t)(uintptr_t)rx_bufs[id],
	    .len = RX_BUF_SIZE,
	    .flags = VIRTQ_DESC_F_WRITE,
	};
	virtio_publish(&rxq, id);
}

/* One received frame: ARP (answer requests for us, learn the peer), the echo, or counted. */
static void rx_frame(struct bench *b, const uint8_t *eth, uint32_t len)
{
	const uint8_t *p = eth + ETH_HLEN;

	b->rx_frames++;
	b->rx_bytes += len;
	if (len >= ETH_HLEN + ARP_LEN && get16(eth + 12) == ETHERTYPE_ARP &&
	    get32(p + 24) == b->ip) {
		if (get16(p + 6) == 1) {
			uint32_t out =
			    build_arp(arp_frame, p + 8, 2, b->mac, b->ip, p + 8, get32(p + 14));

			/* The TX ring may be mid-phase: ARP answers go out between phases only. */
			if (!tx_inflight) {
				tx_one(arp_frame, VNET_HDR_LEN + out);
				b->arp_answered++;
			}
		} else if (get16(p + 6) == 2 && get32(p + 14) == b->peer_ip) {
			memcpy(b->peer_mac, p + 8, 6);
			b->have_peer_mac = true;
		}
	} else if (len >= ETH_HLEN + IP_HLEN + UDP_HLEN && get16(eth + 12) == ETHERTYPE_IPV4 &&
		   p[0] == 0x45 && p[9] == IPPROTO_UDP && get32(p + 12) == b->peer_ip &&
		   get16(p + IP_HLEN) == b->echo_port && get16(p + IP_HLEN + 2) == GUEST_UDP_PORT) {
		b->echo_seen = true;
	}
}

/* Takes every used RX buffer, looks at it, posts it again; one kick. Returns how many. */
static unsigned int drain_rx(struct bench *b)
{
	uint16_t idx = __atomic_load_n(&rxq.used.idx, __ATOMIC_ACQUIRE);
	unsigned int n = 0;

	while (rxq.used_idx != idx) {
		const struct virtq_used_elem *e = &rxq.used.ring[rxq.used_idx % VIRTQ_SIZE];
		uint32_t id = e->id, len = e->len;

		rxq.used_idx++;
		n++;
		if (id >= VIRTQ_SIZE)
			continue; /* a broken device: never post an unknown id */
		if (len > VNET_HDR_LEN && len <= RX_BUF_SIZE)
			rx_frame(b, rx_bufs[id] + VNET_HDR_LEN, len - VNET_HDR_LEN);
		rx_post((uint16_t)id);
	}
	if (n)
		virtio_kick(&rxq);
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
		tx_one(arp_frame, VNET_HDR_LEN + build_arp(arp_frame, broadcast_mac, 1, b->mac,
							   b->ip, zero_mac, b->peer_ip));
		rx_until(b, &b->have_peer_mac, WAIT_TICKS);
	}
	return report(b->have_peer_mac, "ARP: peer %u.%u.%u.%u is at %02x:%02x:%02x:%02x:%02x:%02x",
		      b->peer_ip >> 24, (b->peer_ip >> 16) & 0xff, (b->peer_ip >> 8) & 0xff,
		      b->peer_ip & 0xff, b->peer_mac[0], b->peer_mac[1], b->peer_mac[2],
		      b->peer_mac[3], b->peer_mac[4], b->peer_mac[5]);
}

/* ---- Phases ---- */

static void tx_phase(struct bench *b, const char *name, uint16_t port, uint32_t payload,
		     uint64_t ticks)
{
	uint32_t len = VNET_HDR_LEN + build_udp(b, port, payload);
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
	uint32_t len = VNET_HDR_LEN + build_udp(b, b->echo_port, SMALL_PAYLOAD);
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

static bool setup(const struct boot_info *bi, struct bench *b)
{
	struct virtio_dev *const queues[2] = {&rxq, &txq};
	struct virtio_loc locs[VIRTIO_LOC_MAX];
	unsigned int n = virtio_find_acpi(bi, locs, VIRTIO_LOC_MAX);
	uint64_t base = virtio_pick(locs, n, VIRTIO_ID_NET, 0);
	uint32_t word;
	int err;

	if (!report(base != 0, "a virtio-net device at 0x%lx", base))
		return false;
	/* No offloads, no MRG_RXBUF: every RX buffer holds one whole frame. */
	err = virtio_dev_init_queues(queues, 2, base, VIRTIO_BIT(VIRTIO_NET_F_MAC));
	if (!report(err == 0 && (rxq.features & VIRTIO_BIT(VIRTIO_NET_F_MAC)),
		    "initialised with MAC: %s", virtio_strerror(err)))
		return false;
	word = virtio_config32(&rxq, NET_CFG_MAC);
	for (int i = 0; i < 4; i++)
		b->mac[i] = (uint8_t)(word >> (8 * i));
	word = virtio_config32(&rxq, NET_CFG_STATUS);
	b->mac[4] = (uint8_t)word;
	b->mac[5] = (uint8_t)(word >> 8);
	for (uint16_t i = 0; i < VIRTQ_SIZE; i++)
		rx_post(i);
	virtio_kick(&rxq);
	return true;
}

int guest_main(const struct boot_info *bi)
{
	static struct bench b;
	char mode[8] = "user", addr[20];
	uint64_t port = 0, echo_port = 0, ticks = 2, rx = 0;
	bool user, ok = true;

	cmdline_get(bi, "mode", mode, sizeof(mode));
	user = strcmp(mode, "tap") != 0;
	b.ip = user ? 0x0a00020fu : 0x0a630002u;
	b.peer_ip = user ? 0x0a000202u : 0x0a630001u;
	if (cmdline_get(bi, "ip", addr, sizeof(addr)))
		ok &= parse_ip(addr, &b.ip);
	if (cmdline_get(bi, "peer", addr, sizeof(addr)))
		ok &= parse_ip(addr, &b.peer_ip);
	cmdline_get_u64(bi, "port", &port);
	cmdline_get_u64(bi, "echo_port", &echo_port);
	cmdline_get_u64(bi, "ticks", &ticks);
	cmdline_get_u64(bi, "rx", &rx);
	b.echo_port = (uint16_t)echo_port;
	if (!report(ok && port && port < 65536 && echo_port < 65536 && ticks,
		    "arguments: mode=%s port=%lu echo_port=%lu ticks=%lu", mode, port, echo_port,
		    ticks) ||
	    /* Without an RTC no phase would end (QEMU microvm has none under KVM unless rtc=on). */
	    !report(cmos_read(RTC_SECONDS) != 0xff, "an RTC times the phases") || !setup(bi, &b) ||
	    !resolve_peer(&b))
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
