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
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "virtio_net";

#define VIRTIO_ID_NET	     1
#define VIRTIO_NET_F_MAC     5
#define VIRTIO_NET_F_STATUS  16
#define VIRTIO_NET_S_LINK_UP 1
#define NET_CFG_MAC	     0 /* u8[6], then le16 status at 6 (§5.1.4) */
#define NET_CFG_STATUS	     4 /* the 32-bit word holding mac[4..5] and status */

#define RXQ 0
#define TXQ 1

/* struct virtio_net_hdr_mrg_rxbuf: VERSION_1 always has num_buffers (§5.1.6). */
#define VNET_HDR_LEN	   12
#define VNET_NUM_BUFFERS   10 /* le16 offset inside the header */
#define ETH_HLEN	   14
#define ETH_FRAME_MAX	   1514
#define ETHERTYPE_IPV4	   0x0800
#define ETHERTYPE_ARP	   0x0806
#define ARP_LEN		   28
#define IP_HLEN		   20
#define UDP_HLEN	   8
#define IPPROTO_UDP	   17
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

#define RX_BUFS	    VIRTQ_SIZE
#define RX_BUF_SIZE 2048
/* Frames looked at while waiting for one answer (the TAP also carries IPv6 chatter). */
#define WAIT_FRAMES 32
/* RTC seconds one frame may take: see virtio_wait_ticks. */
#define NET_WAIT_TICKS 15

static struct virtio_dev rxq, txq;
static uint8_t rx_bufs[RX_BUFS][RX_BUF_SIZE] __attribute__((aligned(64)));
static uint8_t tx_frame[VNET_HDR_LEN + ETH_FRAME_MAX] __attribute__((aligned(64)));
static uint8_t arp_answer[VNET_HDR_LEN + ETH_HLEN + ARP_LEN] __attribute__((aligned(64)));

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
static const uint8_t zero_mac[6];

struct net {
	uint8_t mac[6];
	uint8_t peer_mac[6];
	uint32_t ip, peer_ip; /* host order */
	uint16_t ip_id;
	unsigned int
	    bad_rx_headers; /* RX virtio-net headers that were not all-zero, num_buffers 1 */
	unsigned int arp_answered;
};

/* What a wait is looking for; matchers fill in the rest. */
struct want {
	bool (*match)(struct net *n, const uint8_t *eth, uint32_t len, struct want *w);
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

/* ---- Bytes ---- */

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

/* RFC 1071: 16-bit big-endian words; only the last chunk of a sum may be odd. */
static uint32_t csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

static uint16_t csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sum of the UDP pseudo-header (RFC 768): addresses, protocol, UDP length. */
static uint32_t pseudo_sum(const uint8_t *ip_hdr, uint16_t udp_len)
{
	return csum_add(0, ip_hdr + 12, 8) + IPPROTO_UDP + udp_len;
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

static bool parse_mac(const char *s, uint8_t mac[6])
{
	for (int i = 0; i < 6; i++) {
		unsigned int v = 0;

		for (int d = 0; d < 2; d++, s++) {
			char c = *s;

			if (c >= '0' && c <= '9')
				v = v * 16 + (unsigned int)(c - '0');
			else if (c >= 'a' && c <= 'f')
				v = v * 16 + (unsigned int)(c - 'a' + 10);
			else if (c >= 'A' && c <= 'F')
				v = v * 16 + (unsigned int)(c - 'A' + 10);
			else
				return false;
		}
		if (*s != (i == 5 ? '\0' : ':'))
			return false;
		s++;
		mac[i] = (uint8_t)v;
	}
	return true;
}

#define IP_FMT	    "%u.%u.%u.%u"
#define IP_ARGS(a)  (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a)&0xff
#define MAC_FMT	    "%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC_ARGS(m) (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]

/* ---- Frames out ---- */

/* Ethernet header at frame + VNET_HDR_LEN, after an all-zero virtio-net header. */
static uint8_t *eth_start(uint8_t *frame, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	uint8_t *eth = frame + VNET_HDR_LEN;

	memset(frame, 0, VNET_HDR_LEN);
	memcpy(eth, dst, 6);
	memcpy(eth + 6, src, 6);
	put16(eth + 12, type);
	return eth + ETH_HLEN;
}

/* An ARP packet (RFC 826, Ethernet/IPv4); returns the frame length after the header. */
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

/*
 * IPv4 + UDP around the `len` payload bytes already at the payload offset;
 * both checksums computed.  Returns the frame length after the header.
 */
static uint32_t build_udp(struct net *n, uint8_t *frame, const uint8_t *eth_dst, uint32_t src,
			  uint32_t dst, uint16_t sport, uint16_t dport, uint32_t len)
{
	uint8_t *ip = eth_start(frame, eth_dst, n->mac, ETHERTYPE_IPV4);
	uint8_t *udp = ip + IP_HLEN;
	uint16_t udp_len = (uint16_t)(UDP_HLEN + len), sum;

	ip[0] = 0x45;
	ip[1] = 0;
	put16(ip + 2, (uint16_t)(IP_HLEN + udp_len));
	put16(ip + 4, ++n->ip_id);
	put16(ip + 6, 0x4000); /* DF */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	put16(ip + 10, 0);
	put32(ip + 12, src);
	put32(ip + 16, dst);
	put16(ip + 10, csum_fold(csum_add(0, ip, IP_HLEN)));

	put16(udp, sport);
	put16(udp + 2, dport);
	put16(udp + 4, udp_len);
	put16(udp + 6, 0);
	sum = csum_fold(csum_add(pseudo_sum(ip, udp_len), udp, udp_len));
	put16(udp + 6, sum ? sum : 0xffff); /* 0 means "no checksum" (RFC 768) */
	return ETH_HLEN + IP_HLEN + udp_len;
}

/*
 * One TX chain of `nbufs` device-readable buffers; the device must return
 * it (used length 0: nothing written).  Returns 0 or a VIRTIO_ERR_*.
 */
static int tx_chain(const struct virtio_buf *bufs, unsigned int nbufs, uint32_t *used)
{
	*used = 0xffffffffu;
	return virtio_request(&txq, bufs, nbufs, false, used);
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

/* ---- Frames in ---- */

static void rx_post(uint16_t id)
{
	rxq.desc[id] = (struct virtq_desc){
	    .addr = (uint64_t)(uintptr_t)rx_bufs[id],
	    .len = RX_BUF_SIZE,
	    .flags = VIRTQ_DESC_F_WRITE,
	};
	virtio_publish(&rxq, id);
}

/* An ARP request for our address: answer it, as any host on the link would. */
static void answer_arp(struct net *n, const uint8_t *eth, uint32_t len)
{
	const uint8_t *arp = eth + ETH_HLEN;
	uint32_t out;

	if (len < ETH_HLEN + ARP_LEN || get16(eth + 12) != ETHERTYPE_ARP || get16(arp + 6) != 1 ||
	    get32(arp + 24) != n->ip)
		return;
	out = build_arp(arp_answer, arp + 8, 2, n->mac, n->ip, arp + 8, get32(arp + 14));
	if (tx_send(arp_answer, out, "ARP reply")) {
		n->arp_answered++;
		report_info("answered an ARP request from " IP_FMT, IP_ARGS(get32(arp + 14)));
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
		int err = virtio_wait_ticks(&rxq, &elem, NET_WAIT_TICKS);

		if (err < 0)
			return report(false, "%s: %s after %u other frames", what,
				      virtio_strerror(err), seen);
		if (elem.id >= RX_BUFS || elem.len <= VNET_HDR_LEN || elem.len > RX_BUF_SIZE)
			return report(false, "%s: used element id %u len %u", what, elem.id,
				      elem.len);
		buf = rx_bufs[elem.id];
		eth = buf + VNET_HDR_LEN;
		len = elem.len - VNET_HDR_LEN;
		/* No offloads and no MRG_RXBUF: flags, GSO fields zero, num_buffers 1 (§5.1.6.4).
		 */
		for (unsigned int i = 0; i < VNET_HDR_LEN; i++)
			if (buf[i] != (i == VNET_NUM_BUFFERS ? 1 : 0))
				n->bad_rx_headers++;
		answer_arp(n, eth, len);
		matched = len >= ETH_HLEN &&
			  (!memcmp(eth, n->mac, 6) || !memcmp(eth, broadcast_mac, 6)) &&
			  w->match(n, eth, len, w);
		rx_post((uint16_t)elem.id);
		virtio_kick(&rxq);
		if (matched)
			return true;
	}
	return report(false, "%s: no answer among %u frames", what, WAIT_FRAMES);
}

/* An ARP reply from the peer to us. */
static bool match_arp_reply(struct net *n, const uint8_t *eth, uint32_t len, struct want *w)
{
	const uint8_t *arp = eth + ETH_HLEN;

	if (len < ETH_HLEN + ARP_LEN || get16(eth + 12) != ETHERTYPE_ARP || get16(arp + 6) != 2 ||
	    get32(arp + 14) != n->peer_ip)
		return false;
	if (w->tagged_ip && get32(arp + 24) == w->tagged_ip) {
		w->tagged_seen = true;
		return false;
	}
	if (get32(arp + 24) != n->ip || memcmp(arp + 18, n->mac, 6))
		return false;
	memcpy(w->sender, arp + 8, 6);
	return true;
}

/*
 * An IPv4/UDP frame src:sport -> dst:dport; checks both checksums.  Returns
 * the UDP payload (and its length), or NULL if it is not that datagram.
 */
static const uint8_t *udp_payload(const uint8_t *eth, uint32_t len, uint32_t src, uint16_t sport,
				  uint32_t dst, uint16_t dport, uint32_t *plen, struct want *w)
{
	const uint8_t *ip = eth + ETH_HLEN, *udp;
	uint32_t ihl, total;
	uint16_t udp_len;

	if (len < ETH_HLEN + IP_HLEN + UDP_HLEN || get16(eth + 12) != ETHERTYPE_IPV4 ||
	    (ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP)
		return NULL;
	ihl = (ip[0] & 0xf) * 4u;
	total = get16(ip + 2);
	if (ihl < IP_HLEN || total < ihl + UDP_HLEN || ETH_HLEN + total > len)
		return NULL;
	udp = ip + ihl;
	udp_len = get16(udp + 4);
	if (get32(ip + 12) != src || (dst && get32(ip + 16) != dst) || get16(udp) != sport ||
	    get16(udp + 2) != dport || udp_len < UDP_HLEN || udp_len > total - ihl)
		return NULL;
	w->ip_csum_ok = csum_fold(csum_add(0, ip, ihl)) == 0;
	w->udp_csum = get16(udp + 6);
	w->udp_csum_ok =
	    w->udp_csum != 0 && csum_fold(csum_add(pseudo_sum(ip, udp_len), udp, udp_len)) == 0;
	*plen = udp_len - UDP_HLEN;
	return udp + UDP_HLEN;
}

static bool match_echo(struct net *n, const uint8_t *eth, uint32_t len, struct want *w)
{
	uint32_t plen;
	const uint8_t *p =
	    udp_payload(eth, len, n->peer_ip, w->peer_port, n->ip, GUEST_UDP_PORT, &plen, w);

	if (!p)
		return false;
	w->payload_ok = plen == w->data_len && !memcmp(p, w->data, plen);
	return true;
}

/* A BOOTP reply (RFC 2131) for our xid and MAC; takes yiaddr and the DHCP options we want. */
static bool match_offer(struct net *n, const uint8_t *eth, uint32_t len, struct want *w)
{
	uint32_t plen, type = 0;
	const uint8_t *b =
	    udp_payload(eth, len, n->peer_ip, BOOTP_SERVER_PORT, 0, BOOTP_CLIENT_PORT, &plen, w);

	if (!b || plen < 240 || b[0] != 2 || get32(b + 4) != DHCP_XID || memcmp(b + 28, n->mac, 6))
		return false;
	w->yiaddr = get32(b + 16);
	if (get32(b + 236) == DHCP_MAGIC) {
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
				w->server_id = get32(b + i + 2);
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
	uint32_t len = build_arp(tx_frame, broadcast_mac, 1, n->mac, n->ip, zero_mac, n->peer_ip);
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
	memcpy(n->peer_mac, w.sender, 6);
	ok =
	    report(!(w.sender[0] & 1) && memcmp(w.sender, n->mac, 6),
		   "ARP reply: " IP_FMT " is at " MAC_FMT, IP_ARGS(n->peer_ip), MAC_ARGS(w.sender));
	if (tagged_ip)
		ok &= report(!w.tagged_seen, "no ARP reply to " IP_FMT " (the oversized frame)",
			     IP_ARGS(tagged_ip));
	if (ok)
		printf("net: %s ok peer=" IP_FMT " mac=" MAC_FMT "\n", line, IP_ARGS(n->peer_ip),
		       MAC_ARGS(w.sender));
	return ok;
}

static void dhcp_discover(struct net *n)
{
	struct want w = {.match = match_offer};
	uint8_t *bootp = tx_frame + VNET_HDR_LEN + ETH_HLEN + IP_HLEN + UDP_HLEN;
	uint32_t len;

	memset(bootp, 0, BOOTP_LEN);
	bootp[0] = 1; /* BOOTREQUEST */
	bootp[1] = 1; /* Ethernet */
	bootp[2] = 6;
	put32(bootp + 4, DHCP_XID);
	put16(bootp + 10, 0x8000); /* broadcast the answer: we have no address yet */
	memcpy(bootp + 28, n->mac, 6);
	put32(bootp + 236, DHCP_MAGIC);
	bootp[240] = DHCP_OPT_MSG_TYPE;
	bootp[241] = 1;
	bootp[242] = DHCP_DISCOVER;
	bootp[243] = 255;
	len = build_udp(n, tx_frame, broadcast_mac, 0, 0xffffffffu, BOOTP_CLIENT_PORT,
			BOOTP_SERVER_PORT, BOOTP_LEN);
	if (!tx_send(tx_frame, len, "DHCP DISCOVER") || !rx_wait(n, &w, "DHCP OFFER"))
		return;
	report(w.ip_csum_ok, "DHCP OFFER: IPv4 header checksum valid");
	report(w.udp_csum_ok, "DHCP OFFER: UDP checksum 0x%04x present and valid", w.udp_csum);
	report(w.payload_ok, "DHCP OFFER: message type OFFER (option 53)");
	if (report(w.yiaddr == n->ip, "DHCP OFFER: yiaddr " IP_FMT " (expected " IP_FMT ")",
		   IP_ARGS(w.yiaddr), IP_ARGS(n->ip)) &&
	    w.ip_csum_ok && w.udp_csum_ok && w.payload_ok)
		printf("net: dhcp-offer ok yiaddr=" IP_FMT " server=" IP_FMT "\n",
		       IP_ARGS(w.yiaddr), IP_ARGS(w.server_id));
}

static void udp_echo(struct net *n, uint16_t port, const char *token)
{
	uint8_t *payload = tx_frame + VNET_HDR_LEN + ETH_HLEN + IP_HLEN + UDP_HLEN;
	/* Kept apart from tx_frame: ARP answers may be sent while the echo is awaited. */
	static uint8_t sent[96];
	struct want w = {.match = match_echo, .data = sent, .peer_port = port};
	uint32_t len;

	w.data_len = (uint32_t)snprintf((char *)sent, sizeof(sent), "minivmm-echo:%s", token);
	if (w.data_len >= sizeof(sent))
		w.data_len = sizeof(sent) - 1;
	memcpy(payload, sent, w.data_len);
	len = build_udp(n, tx_frame, n->peer_mac, n->ip, n->peer_ip, GUEST_UDP_PORT, port,
			w.data_len);
	printf("net: udp sent " IP_FMT ":%u -> " IP_FMT ":%u (%u bytes)\n", IP_ARGS(n->ip),
	       GUEST_UDP_PORT, IP_ARGS(n->peer_ip), port, w.data_len);
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
	return report(err == 0 && used == 0 && virtio_status(&txq) == VIRTIO_STATUS_RUNNING,
		      "%s: completed (%s, used length %u), status 0x%x", what, virtio_strerror(err),
		      used, virtio_status(&txq));
}

static void malformed(struct net *n)
{
	/* An ARP request from a sender nobody else uses: a reply to it means it got out. */
	uint32_t tagged_ip = n->ip + 1, arp_len;
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
	arp_len = build_arp(tx_frame, broadcast_mac, 1, n->mac, tagged_ip, zero_mac, n->peer_ip);
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

static uint64_t discover(const struct boot_info *bi)
{
	struct virtio_loc locs[VIRTIO_LOC_MAX];
	char how[16] = "acpi";
	unsigned int n;

	cmdline_get(bi, "discover", how, sizeof(how));
	if (!strcmp(how, "cmdline"))
		n = virtio_find_cmdline(bi->cmdline, locs, VIRTIO_LOC_MAX);
	else
		n = virtio_find_acpi(bi, locs, VIRTIO_LOC_MAX);
	for (unsigned int i = 0; i < n; i++)
		printf("virtio: base=0x%lx size=0x%lx irq=%u device_id=%d\n", locs[i].base,
		       locs[i].size, locs[i].irq, virtio_probe(locs[i].base));
	report(n > 0, "discover=%s finds virtio-mmio windows (%u)", how, n);
	return virtio_pick(locs, n, VIRTIO_ID_NET, 0);
}

static bool setup(const struct boot_info *bi, struct net *n)
{
	struct virtio_dev *const queues[2] = {&rxq, &txq};
	char expect[24];
	uint32_t word;
	uint8_t want_mac[6];
	uint16_t link;
	uint64_t base;
	int err;

	base = discover(bi);
	if (!report(base != 0, "a virtio-net device (DeviceID %d) at 0x%lx", VIRTIO_ID_NET, base))
		return false;
	err = virtio_dev_init_queues(
	    queues, 2, base, VIRTIO_BIT(VIRTIO_NET_F_MAC) | VIRTIO_BIT(VIRTIO_NET_F_STATUS));
	printf("virtio_net: device_features=0x%lx features=0x%lx queue_num_max=%u/%u\n",
	       rxq.device_features, rxq.features, rxq.queue_num_max, txq.queue_num_max);
	if (!report(err == 0, "initialised with receiveq1 and transmitq1: %s (status 0x%x)",
		    virtio_strerror(err), virtio_status(&rxq)))
		return false;
	if (!report(rxq.features & VIRTIO_BIT(VIRTIO_NET_F_MAC), "VIRTIO_NET_F_MAC negotiated"))
		return false;
	word = virtio_config32(&rxq, NET_CFG_MAC);
	for (int i = 0; i < 4; i++)
		n->mac[i] = (uint8_t)(word >> (8 * i));
	word = virtio_config32(&rxq, NET_CFG_STATUS);
	n->mac[4] = (uint8_t)word;
	n->mac[5] = (uint8_t)(word >> 8);
	link = (uint16_t)(word >> 16);
	report(!(n->mac[0] & 1), "MAC " MAC_FMT " is unicast", MAC_ARGS(n->mac));
	if (cmdline_get(bi, "expect_mac", expect, sizeof(expect)))
		report(parse_mac(expect, want_mac) && !memcmp(want_mac, n->mac, 6),
		       "MAC is expect_mac=%s", expect);
	if (rxq.features & VIRTIO_BIT(VIRTIO_NET_F_STATUS))
		report(link & VIRTIO_NET_S_LINK_UP, "link is up (status 0x%x)", link);
	printf("net: link up mac=" MAC_FMT "\n", MAC_ARGS(n->mac));
	for (uint16_t i = 0; i < RX_BUFS; i++)
		rx_post(i);
	virtio_kick(&rxq);
	return true;
}

int guest_main(const struct boot_info *bi)
{
	static struct net n;
	char mode[8] = "user", addr[20], token[48] = "none";
	uint64_t port = 0, bad = 0;
	bool user;
	uint8_t status;

	cmdline_get(bi, "mode", mode, sizeof(mode));
	user = strcmp(mode, "tap") != 0;
	n.ip = user ? 0x0a00020fu : 0x0a630002u;      /* 10.0.2.15 / 10.99.0.2 */
	n.peer_ip = user ? 0x0a000202u : 0x0a630001u; /* 10.0.2.2 / 10.99.0.1 */
	if (cmdline_get(bi, "ip", addr, sizeof(addr)) && !parse_ip(addr, &n.ip))
		bad++;
	if (cmdline_get(bi, "peer", addr, sizeof(addr)) && !parse_ip(addr, &n.peer_ip))
		bad++;
	cmdline_get(bi, "token", token, sizeof(token));
	if (!report(!bad, "mode=%s ip=" IP_FMT " peer=" IP_FMT, mode, IP_ARGS(n.ip),
		    IP_ARGS(n.peer_ip)) ||
	    !setup(bi, &n))
		report_done();

	if (arp_exchange(&n, "arp-reply", false, 0)) {
		if (user)
			dhcp_discover(&n);
		cmdline_get_u64(bi, "port", &port);
		if (report(port && port < 65536, "port=%lu for the UDP echo", port))
			udp_echo(&n, (uint16_t)port, token);
		if (cmdline_get_u64(bi, "malformed", &bad) && bad)
			malformed(&n);
	}
	report(n.bad_rx_headers == 0, "every RX header was zero with num_buffers 1 (%u bytes off)",
	       n.bad_rx_headers);
	status = virtio_status(&rxq);
	report(status == VIRTIO_STATUS_RUNNING, "status 0x%x (DRIVER_OK, no DEVICE_NEEDS_RESET)",
	       status);
	printf("net: done arp-answered=%u\n", n.arp_answered);
	report_done();
}
