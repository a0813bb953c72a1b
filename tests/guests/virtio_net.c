/* SPDX-License-Identifier: MIT */
/*
 * virtio_net: drives a virtio-net device (VIRTIO 1.2 §5.1) with the polled
 * driver in lib/virtio.c, receiveq1 (queue 0) and transmitq1 (queue 1), and
 * exchanges real frames with whatever backend minivmm put behind it:
 * - ARP request for the peer, and the reply;
 * - mode=user (libslirp): DHCP DISCOVER, and the OFFER's yiaddr;
 * - a UDP datagram to peer:port that the host echoes back; the echo must
 *   carry valid IPv4 and UDP checksums and the same payload;
 * - malformed=1: TX chains the device must drop (shorter than the 12-byte
 *   header, header only, a frame above minivmm's maximum) and complete, then
 *   a frame whose header is split over descriptors (legal, §2.6.4) and a
 *   plain ARP exchange, which must still work.
 * Frames with an ARP request for our address are answered wherever they
 * arrive, so the peer can always resolve us.  Command line: README.md.
 * Device set-up, frame building and parsing are in lib/net.c.
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/net.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "virtio_net";

#define BOOTP_LEN	   548 /* 236 fixed + 312 options: libslirp drops shorter ones */
#define BOOTP_SERVER_PORT  67
#define BOOTP_CLIENT_PORT  68
#define DHCP_MAGIC	   0x63825363u
#define DHCP_OPT_MSG_TYPE  53
#define DHCP_OPT_SERVER_ID 54
#define DHCP_DISCOVER	   1
#define DHCP_OFFER	   2
#define DHCP_XID	   0x6d766d6eu /* "mvmn" */
#define GUEST_UDP_PORT	   40123

/*
 * minivmm's largest TX frame after the header (NET_MAX_FRAME in
 * devices/net_backend.h: a 64 KiB IP packet plus an Ethernet header with a
 * VLAN tag); one byte more must be dropped.
 */
#define MINIVMM_MAX_FRAME (65535u + 18u)

/* Frames looked at while waiting for one answer (the TAP also carries IPv6 chatter). */
#define WAIT_FRAMES 32
/* RTC seconds one frame may take: see virtio_wait_ticks. */
#define NET_WAIT_TICKS 15

static struct net_if nif;
static uint8_t tx_frame[VNET_HDR_LEN + ETH_FRAME_MAX] __attribute__((aligned(64)));
static uint8_t arp_answer[VNET_HDR_LEN + ETH_HLEN + ARP_LEN] __attribute__((aligned(64)));

/* What this test counts besides its checks. */
struct net {
	uint16_t ip_id;
	unsigned int
	    bad_rx_headers; /* RX virtio-net headers that were not all-zero, num_buffers 1 */
	unsigned int arp_answered;
};

/* What a wait is looking for; matchers fill in the rest. */
struct want {
	bool (*match)(const uint8_t *eth, uint32_t len, struct want *w);
	uint32_t tagged_ip;  /* ARP: a reply to this sender IP means a dropped frame leaked */
	bool tagged_seen;    /* ... and one came */
	const uint8_t *data; /* UDP: the payload sent */
	uint16_t peer_port;  /* UDP: the echo's source port */
	uint32_t data_len;   /* ... its length */
	uint32_t yiaddr;     /* DHCP: from the OFFER */
	uint32_t server_id;  /* DHCP: option 54 */
	bool ip_csum_ok;     /* IPv4 header checksum of the matched frame */
	bool udp_csum_ok;    /* UDP checksum present and valid */
	bool payload_ok;     /* UDP payload (or DHCP message type) as expected */
	uint16_t udp_csum;   /* the checksum field as received */
	uint8_t sender[6];   /* ARP: sha of the reply */
};

/* ---- Frames out ---- */

/*
 * One TX chain of `nbufs` device-readable buffers; the device must return
 * it (used length 0: nothing written).  Returns 0 or a VIRTIO_ERR_*.
 */
static int tx_chain(const struct virtio_buf *bufs, unsigned int nbufs, uint32_t *used)
{
	*used = 0xffffffffu;
	return virtio_request(&nif.txq, bufs, nbufs, false, used);
}

static bool tx_send(uint8_t *frame, uint32_t eth_len, const char *what)
{
	struct virtio_buf b = virtio_buf_of(frame, VNET_HDR_LEN + eth_len, false);
	uint32_t used;
	int err = tx_chain(&b, 1, &used);

	if (err || used != 0)
		return report(false, "send %s (%u bytes): %s, used length %u", what, eth_len,
			      virtio_strerror(err), used);
	return true;
}

/* IPv4/UDP from us with both checksums, around the payload already in tx_frame. */
static uint32_t build_udp(struct net *n, const uint8_t *eth_dst, uint32_t src, uint32_t dst,
			  uint16_t sport, uint16_t dport, uint32_t len)
{
	const struct net_udp_flow f = {
	    .eth_dst = eth_dst,
	    .eth_src = nif.mac,
	    .src = src,
	    .dst = dst,
	    .sport = sport,
	    .dport = dport,
	    .ip_id = ++n->ip_id,
	    .checksum = true,
	};

	return net_build_udp(tx_frame, &f, len);
}

/* ---- Frames in ---- */

/* An ARP request for our address: answer it, as any host on the link would. */
static void answer_arp(struct net *n, const uint8_t *eth, uint32_t len)
{
	uint32_t out = net_arp_answer(arp_answer, eth, len, nif.mac, nif.ip);

	if (out && tx_send(arp_answer, out, "ARP reply")) {
		n->arp_answered++;
		report_info("answered an ARP request from " IP_FMT,
			    IP_ARGS(get_be32(eth + ETH_HLEN + 14)));
	}
}

/*
 * Takes used RX buffers until `w` matches one (true), WAIT_FRAMES frames went
 * by, or the device stays silent for the driver's timeout.  Every buffer is
 * posted again after it was looked at.
 */
static bool rx_wait(struct net *n, struct want *w, const char *what)
{
	for (unsigned int seen = 0; seen < WAIT_FRAMES; seen++) {
		struct virtq_used_elem elem;
		const uint8_t *buf, *eth;
		uint32_t len;
		bool matched;
		int err = virtio_wait_ticks(&nif.rxq, &elem, NET_WAIT_TICKS);

		if (err < 0)
			return report(false, "%s: %s after %u other frames", what,
				      virtio_strerror(err), seen);
		if (elem.id >= NET_RX_BUFS || elem.len <= VNET_HDR_LEN ||
		    elem.len > NET_RX_BUF_SIZE)
			return report(false, "%s: used element id %u len %u", what, elem.id,
				      elem.len);
		buf = nif.rx_bufs[elem.id];
		eth = buf + VNET_HDR_LEN;
		len = elem.len - VNET_HDR_LEN;
		/* No offloads and no MRG_RXBUF: flags, GSO fields zero, num_buffers 1 (§5.1.6.4).
		 */
		for (unsigned int i = 0; i < VNET_HDR_LEN; i++)
			if (buf[i] != (i == VNET_NUM_BUFFERS ? 1 : 0))
				n->bad_rx_headers++;
		answer_arp(n, eth, len);
		matched = len >= ETH_HLEN &&
			  (!memcmp(eth, nif.mac, ETH_ALEN) ||
			   !memcmp(eth, net_broadcast_mac, ETH_ALEN)) &&
			  w->match(eth, len, w);
		net_rx_post(&nif, (uint16_t)elem.id);
		virtio_kick(&nif.rxq);
		if (matched)
			return true;
	}
	return report(false, "%s: no answer among %u frames", what, WAIT_FRAMES);
}

/* An ARP reply from the peer to us. */
static bool match_arp_reply(const uint8_t *eth, uint32_t len, struct want *w)
{
	const uint8_t *arp = eth + ETH_HLEN;

	if (len < ETH_HLEN + ARP_LEN || get_be16(eth + 12) != ETHERTYPE_ARP ||
	    get_be16(arp + 6) != ARP_REPLY || get_be32(arp + 14) != nif.peer_ip)
		return false;
	if (w->tagged_ip && get_be32(arp + 24) == w->tagged_ip) {
		w->tagged_seen = true;
		return false;
	}
	if (get_be32(arp + 24) != nif.ip || memcmp(arp + 18, nif.mac, ETH_ALEN))
		return false;
	memcpy(w->sender, arp + 8, ETH_ALEN);
	return true;
}

/*
 * The IPv4/UDP datagram src:sport -> dst:dport (dst 0: any), its checksums
 * checked into `w`; false if the frame is not that datagram.
 */
static bool match_udp(const uint8_t *eth, uint32_t len, uint32_t src, uint16_t sport, uint32_t dst,
		      uint16_t dport, struct net_udp_rx *u, struct want *w)
{
	if (!net_parse_udp(eth, len, u) || u->src != src || (dst && u->dst != dst) ||
	    u->sport != sport || u->dport != dport)
		return false;
	net_udp_verify(u);
	w->ip_csum_ok = u->ip_csum_ok;
	w->udp_csum_ok = u->udp_csum_ok;
	w->udp_csum = u->udp_csum;
	return true;
}

static bool match_echo(const uint8_t *eth, uint32_t len, struct want *w)
{
	struct net_udp_rx u;

	if (!match_udp(eth, len, nif.peer_ip, w->peer_port, nif.ip, GUEST_UDP_PORT, &u, w))
		return false;
	w->payload_ok = u.len == w->data_len && !memcmp(u.payload, w->data, u.len);
	return true;
}

/* A BOOTP reply (RFC 2131) for our xid and MAC; takes yiaddr and the DHCP options we want. */
static bool match_offer(const uint8_t *eth, uint32_t len, struct want *w)
{
	struct net_udp_rx u;
	const uint8_t *b;
	uint32_t plen, type = 0;

	if (!match_udp(eth, len, nif.peer_ip, BOOTP_SERVER_PORT, 0, BOOTP_CLIENT_PORT, &u, w))
		return false;
	b = u.payload;
	plen = u.len;
	if (plen < 240 || b[0] != 2 || get_be32(b + 4) != DHCP_XID ||
	    memcmp(b + 28, nif.mac, ETH_ALEN))
		return false;
	w->yiaddr = get_be32(b + 16);
	if (get_be32(b + 236) == DHCP_MAGIC) {
		for (uint32_t i = 240; i < plen && b[i] != 255;) {
			uint8_t opt = b[i], olen;

			if (opt == 0) {
				i++;
				continue;
			}
			if (i + 2 > plen || i + 2 + b[i + 1] > plen)
				break;
			olen = b[i + 1];
			if (opt == DHCP_OPT_MSG_TYPE && olen == 1)
				type = b[i + 2];
			if (opt == DHCP_OPT_SERVER_ID && olen == 4)
				w->server_id = get_be32(b + i + 2);
			i += 2u + olen;
		}
	}
	w->payload_ok = type == DHCP_OFFER;
	return true;
}

/* ---- Steps ---- */

static bool arp_exchange(struct net *n, const char *line, bool split, uint32_t tagged_ip)
{
	struct want w = {.match = match_arp_reply, .tagged_ip = tagged_ip};
	uint32_t len = net_build_arp(tx_frame, net_broadcast_mac, ARP_REQUEST, nif.mac, nif.ip,
				     net_zero_mac, nif.peer_ip);
	bool ok;

	if (split) {
		/* The header over two descriptors, the frame in a third: any layout is legal. */
		struct virtio_buf b[3] = {
		    virtio_buf_of(tx_frame, 5, false),
		    virtio_buf_of(tx_frame + 5, VNET_HDR_LEN - 5, false),
		    virtio_buf_of(tx_frame + VNET_HDR_LEN, len, false),
		};
		uint32_t used;
		int err = tx_chain(b, 3, &used);

		if (!report(err == 0 && used == 0,
			    "ARP request with the header split 5+7 over descriptors: %s, used %u",
			    virtio_strerror(err), used))
			return false;
	} else if (!tx_send(tx_frame, len, "ARP request")) {
		return false;
	}
	if (!rx_wait(n, &w, "ARP reply"))
		return false;
	memcpy(nif.peer_mac, w.sender, ETH_ALEN);
	ok = report(!(w.sender[0] & 1) && memcmp(w.sender, nif.mac, ETH_ALEN),
		    "ARP reply: " IP_FMT " is at " MAC_FMT, IP_ARGS(nif.peer_ip),
		    MAC_ARGS(w.sender));
	if (tagged_ip)
		ok &= report(!w.tagged_seen, "no ARP reply to " IP_FMT " (the oversized frame)",
			     IP_ARGS(tagged_ip));
	if (ok)
		printf("net: %s ok peer=" IP_FMT " mac=" MAC_FMT "\n", line, IP_ARGS(nif.peer_ip),
		       MAC_ARGS(w.sender));
	return ok;
}

static void dhcp_discover(struct net *n)
{
	struct want w = {.match = match_offer};
	uint8_t *bootp = tx_frame + NET_UDP_PAYLOAD;
	uint32_t len;

	memset(bootp, 0, BOOTP_LEN);
	bootp[0] = 1; /* BOOTREQUEST */
	bootp[1] = 1; /* Ethernet */
	bootp[2] = ETH_ALEN;
	put_be32(bootp + 4, DHCP_XID);
	put_be16(bootp + 10, 0x8000); /* broadcast the answer: we have no address yet */
	memcpy(bootp + 28, nif.mac, ETH_ALEN);
	put_be32(bootp + 236, DHCP_MAGIC);
	bootp[240] = DHCP_OPT_MSG_TYPE;
	bootp[241] = 1;
	bootp[242] = DHCP_DISCOVER;
	bootp[243] = 255;
	len = build_udp(n, net_broadcast_mac, 0, 0xffffffffu, BOOTP_CLIENT_PORT, BOOTP_SERVER_PORT,
			BOOTP_LEN);
	if (!tx_send(tx_frame, len, "DHCP DISCOVER") || !rx_wait(n, &w, "DHCP OFFER"))
		return;
	report(w.ip_csum_ok, "DHCP OFFER: IPv4 header checksum valid");
	report(w.udp_csum_ok, "DHCP OFFER: UDP checksum 0x%04x present and valid", w.udp_csum);
	report(w.payload_ok, "DHCP OFFER: message type OFFER (option 53)");
	if (report(w.yiaddr == nif.ip, "DHCP OFFER: yiaddr " IP_FMT " (expected " IP_FMT ")",
		   IP_ARGS(w.yiaddr), IP_ARGS(nif.ip)) &&
	    w.ip_csum_ok && w.udp_csum_ok && w.payload_ok)
		printf("net: dhcp-offer ok yiaddr=" IP_FMT " server=" IP_FMT "\n",
		       IP_ARGS(w.yiaddr), IP_ARGS(w.server_id));
}

static void udp_echo(struct net *n, uint16_t port, const char *token)
{
	uint8_t *payload = tx_frame + NET_UDP_PAYLOAD;
	/* Kept apart from tx_frame: ARP answers may be sent while the echo is awaited. */
	static uint8_t sent[96];
	struct want w = {.match = match_echo, .data = sent, .peer_port = port};
	uint32_t len;

	w.data_len = (uint32_t)snprintf((char *)sent, sizeof(sent), "minivmm-echo:%s", token);
	if (w.data_len >= sizeof(sent))
		w.data_len = sizeof(sent) - 1;
	memcpy(payload, sent, w.data_len);
	len = build_udp(n, nif.peer_mac, nif.ip, nif.peer_ip, GUEST_UDP_PORT, port, w.data_len);
	printf("net: udp sent " IP_FMT ":%u -> " IP_FMT ":%u (%u bytes)\n", IP_ARGS(nif.ip),
	       GUEST_UDP_PORT, IP_ARGS(nif.peer_ip), port, w.data_len);
	if (!tx_send(tx_frame, len, "UDP datagram") || !rx_wait(n, &w, "UDP echo"))
		return;
	report(w.ip_csum_ok, "UDP echo: IPv4 header checksum valid");
	report(w.udp_csum_ok, "UDP echo: UDP checksum 0x%04x present and valid", w.udp_csum);
	report(w.payload_ok, "UDP echo: payload is the %u bytes sent", w.data_len);
	if (w.ip_csum_ok && w.udp_csum_ok && w.payload_ok)
		printf("net: udp-echo ok\n");
}

/* A chain the device must drop (and complete, used length 0) without DEVICE_NEEDS_RESET. */
static bool send_malformed(const struct virtio_buf *bufs, unsigned int nbufs, const char *what)
{
	uint32_t used, total = 0;
	int err = tx_chain(bufs, nbufs, &used);

	for (unsigned int i = 0; i < nbufs; i++)
		total += bufs[i].len;
	printf("net: malformed %s (%u readable bytes) sent\n", what, total);
	return report(err == 0 && used == 0 && virtio_status(&nif.txq) == VIRTIO_STATUS_RUNNING,
		      "%s: completed (%s, used length %u), status 0x%x", what, virtio_strerror(err),
		      used, virtio_status(&nif.txq));
}

static void malformed(struct net *n)
{
	/* An ARP request from a sender nobody else uses: a reply to it means it got out. */
	uint32_t tagged_ip = nif.ip + 1, arp_len;
	struct virtio_buf b[2];
	bool ok = true;

	memset(tx_frame, 0, VNET_HDR_LEN);
	b[0] = virtio_buf_of(tx_frame, 6, false);
	ok &= send_malformed(b, 1, "6-byte chain (half a header)");
	b[1] = virtio_buf_of(tx_frame + 6, 4, false);
	ok &= send_malformed(b, 2, "6+4-byte chain (header short over two descriptors)");
	b[0] = virtio_buf_of(tx_frame, VNET_HDR_LEN, false);
	ok &= send_malformed(b, 1, "header-only chain (no frame)");

	/*
	 * One byte over the maximum: a real ARP request, then guest RAM from
	 * the image on as padding (device-readable, never written).
	 */
	arp_len = net_build_arp(tx_frame, net_broadcast_mac, ARP_REQUEST, nif.mac, tagged_ip,
				net_zero_mac, nif.peer_ip);
	b[0] = virtio_buf_of(tx_frame, VNET_HDR_LEN + arp_len, false);
	b[1] = virtio_buf_of((void *)(uintptr_t)KERNEL_LOAD_ADDR, MINIVMM_MAX_FRAME + 1 - arp_len,
			     false);
	ok &= send_malformed(b, 2, "oversized frame");
	if (ok)
		printf("net: malformed-tx dropped ok\n");
	if (arp_exchange(n, "split-header arp-reply", true, tagged_ip))
		arp_exchange(n, "arp-after-malformed", false, 0);
}

/* ---- Set-up ---- */

static bool setup(const struct boot_info *bi)
{
	char expect[24];
	uint8_t want_mac[ETH_ALEN];

	if (net_if_setup(bi, &nif, VIRTIO_BIT(VIRTIO_NET_F_STATUS)))
		return false;
	report(!(nif.mac[0] & 1), "MAC " MAC_FMT " is unicast", MAC_ARGS(nif.mac));
	if (cmdline_get(bi, "expect_mac", expect, sizeof(expect)))
		report(net_parse_mac(expect, want_mac) && !memcmp(want_mac, nif.mac, ETH_ALEN),
		       "MAC is expect_mac=%s", expect);
	if (nif.rxq.features & VIRTIO_BIT(VIRTIO_NET_F_STATUS))
		report(nif.link_status & VIRTIO_NET_S_LINK_UP, "link is up (status 0x%x)",
		       nif.link_status);
	printf("net: link up mac=" MAC_FMT "\n", MAC_ARGS(nif.mac));
	return true;
}

int guest_main(const struct boot_info *bi)
{
	static struct net n;
	char token[48] = "none";
	uint64_t port = 0, malformed_tx = 0;
	uint8_t status;
	bool args_ok = net_if_args(bi, &nif);

	cmdline_get(bi, "token", token, sizeof(token));
	if (!report(args_ok, "mode=%s ip=" IP_FMT " peer=" IP_FMT, nif.mode, IP_ARGS(nif.ip),
		    IP_ARGS(nif.peer_ip)) ||
	    !setup(bi))
		report_done();

	if (arp_exchange(&n, "arp-reply", false, 0)) {
		if (nif.user)
			dhcp_discover(&n);
		cmdline_get_u64(bi, "port", &port);
		if (report(port && port < 65536, "port=%lu for the UDP echo", port))
			udp_echo(&n, (uint16_t)port, token);
		if (cmdline_get_u64(bi, "malformed", &malformed_tx) && malformed_tx)
			malformed(&n);
	}
	report(n.bad_rx_headers == 0, "every RX header was zero with num_buffers 1 (%u bytes off)",
	       n.bad_rx_headers);
	status = virtio_status(&nif.rxq);
	report(status == VIRTIO_STATUS_RUNNING, "status 0x%x (DRIVER_OK, no DEVICE_NEEDS_RESET)",
	       status);
	printf("net: done arp-answered=%u\n", n.arp_answered);
	report_done();
}
