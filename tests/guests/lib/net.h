/* SPDX-License-Identifier: MIT */
/*
 * Networking for the virtio-net guests (virtio_net.c, net_bench.c): the
 * device (VIRTIO 1.2 §5.1) on the polled driver of lib/virtio.h with
 * receiveq1 and transmitq1, and just enough Ethernet, ARP (RFC 826), IPv4
 * and UDP (RFC 768) to build frames and read the answers.  Frames in and
 * out start with the 12-byte virtio-net header; lengths called "after the
 * header" leave it out.  IPv4 addresses are host-order uint32_t.
 */
#ifndef GUEST_NET_H
#define GUEST_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "tests/guests/lib/boot.h"
#include "tests/guests/lib/virtio.h"

#define VIRTIO_NET_F_MAC     5
#define VIRTIO_NET_F_STATUS  16
#define VIRTIO_NET_S_LINK_UP 1
#define VIRTIO_NET_CFG_MAC   0 /* u8[6], then le16 status at 6 (§5.1.4) */
#define VIRTIO_NET_CFG_WORD1 4 /* the 32-bit word holding mac[4..5] and status */

/* struct virtio_net_hdr_mrg_rxbuf: VERSION_1 always has num_buffers (§5.1.6). */
#define VNET_HDR_LEN	 12
#define VNET_NUM_BUFFERS 10 /* le16 offset inside the header */

#define ETH_ALEN       6
#define ETH_HLEN       14
#define ETH_FRAME_MAX  1514
#define ETHERTYPE_IPV4 0x0800
#define ETHERTYPE_ARP  0x0806
#define ARP_LEN	       28
#define ARP_REQUEST    1
#define ARP_REPLY      2
#define IP_HLEN	       20
#define UDP_HLEN       8
#define IPPROTO_UDP    17
/* Where net_build_udp() expects the payload in a frame. */
#define NET_UDP_PAYLOAD (VNET_HDR_LEN + ETH_HLEN + IP_HLEN + UDP_HLEN)

#define NET_RX_BUFS	VIRTQ_SIZE
#define NET_RX_BUF_SIZE 2048

#define IP_FMT	    "%u.%u.%u.%u"
#define IP_ARGS(a)  (a) >> 24, ((a) >> 16) & 0xff, ((a) >> 8) & 0xff, (a)&0xff
#define MAC_FMT	    "%02x:%02x:%02x:%02x:%02x:%02x"
#define MAC_ARGS(m) (m)[0], (m)[1], (m)[2], (m)[3], (m)[4], (m)[5]

extern const uint8_t net_broadcast_mac[ETH_ALEN];
extern const uint8_t net_zero_mac[ETH_ALEN];

/* Network byte order; inline because net_bench looks at every frame it receives. */
static inline void put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void put_be32(uint8_t *p, uint32_t v)
{
	put_be16(p, (uint16_t)(v >> 16));
	put_be16(p + 2, (uint16_t)v);
}

static inline uint16_t get_be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)get_be16(p) << 16 | get_be16(p + 2);
}

/* "A.B.C.D" and "aa:bb:cc:dd:ee:ff" (either case); false if malformed. */
bool net_parse_ip(const char *s, uint32_t *out);
bool net_parse_mac(const char *s, uint8_t mac[ETH_ALEN]);

/* RFC 1071: adds big-endian 16-bit words; only the last chunk of a sum may be odd. */
uint32_t net_csum_add(uint32_t sum, const uint8_t *p, uint32_t len);
/* Folds and complements: the checksum field, or 0 when a received sum checks out. */
uint16_t net_csum_fold(uint32_t sum);

/*
 * An all-zero virtio-net header and the Ethernet header at frame +
 * VNET_HDR_LEN; returns where the Ethernet payload goes.
 */
uint8_t *net_eth_start(uint8_t *frame, const uint8_t *dst, const uint8_t *src, uint16_t type);

/* An ARP packet (Ethernet/IPv4); returns the frame length after the header. */
uint32_t net_build_arp(uint8_t *frame, const uint8_t *eth_dst, uint16_t oper, const uint8_t *sha,
		       uint32_t spa, const uint8_t *tha, uint32_t tpa);

/*
 * If the frame at `eth` (`len` bytes) is an ARP request for `ip`, builds
 * the reply from `mac` in `frame` and returns its length after the header;
 * otherwise 0.  Any host on the link answers these.
 */
uint32_t net_arp_answer(uint8_t *frame, const uint8_t *eth, uint32_t len, const uint8_t *mac,
			uint32_t ip);

/* One direction of a UDP exchange. */
struct net_udp_flow {
	const uint8_t *eth_dst, *eth_src;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint16_t ip_id;
	bool checksum; /* compute the UDP checksum; else 0, "none" (RFC 768) */
};

/*
 * IPv4 (DF, TTL 64, header checksum) and UDP headers around the `len`
 * payload bytes already at frame + NET_UDP_PAYLOAD.  Returns the frame
 * length after the header.
 */
uint32_t net_build_udp(uint8_t *frame, const struct net_udp_flow *f, uint32_t len);

/* An IPv4/UDP datagram as received; net_parse_udp() fills in all but the checksum verdicts. */
struct net_udp_rx {
	const uint8_t *ip, *udp, *payload;
	uint32_t src, dst;
	uint16_t sport, dport;
	uint32_t len;	   /* payload bytes */
	uint16_t udp_csum; /* the checksum field as received */
	bool ip_csum_ok;   /* set by net_udp_verify() */
	bool udp_csum_ok;  /* ... present (non-zero) and valid */
};

/* False unless `eth` holds a whole, consistent IPv4/UDP datagram. */
bool net_parse_udp(const uint8_t *eth, uint32_t len, struct net_udp_rx *u);
/* Checks the IPv4 header and UDP checksums of a net_parse_udp() result. */
void net_udp_verify(struct net_udp_rx *u);

/*
 * One virtio-net interface: receiveq1 (queue 0, NET_RX_BUFS device-writable
 * buffers, each reposted after use) and transmitq1 (queue 1), and the
 * addresses.  Declare it static: the rings and buffers must be at fixed
 * guest-physical addresses.
 */
struct net_if {
	struct virtio_dev rxq, txq;
	uint8_t rx_bufs[NET_RX_BUFS][NET_RX_BUF_SIZE] __attribute__((aligned(64)));
	uint8_t mac[ETH_ALEN], peer_mac[ETH_ALEN];
	uint32_t ip, peer_ip;
	uint16_t link_status; /* config status; valid with VIRTIO_NET_F_STATUS */
	bool user;	      /* mode=user (libslirp), else mode=tap */
	char mode[8];
};

/*
 * mode=user|tap (default user), ip= and peer= (defaults 10.0.2.15 and
 * 10.0.2.2 for user, 10.99.0.2 and 10.99.0.1 for tap).  False if ip= or
 * peer= does not parse (the default stays).
 */
bool net_if_args(const struct boot_info *bi, struct net_if *nif);

/*
 * virtio_setup() of the first virtio-net device with both queues and
 * `features` (MAC is always wanted; no offloads, no MRG_RXBUF, so every RX
 * buffer holds one whole frame), then the check "VIRTIO_NET_F_MAC
 * negotiated", the MAC and link status from config space, and every RX
 * buffer posted.  Returns 0, or the error that ended the set-up (the check
 * that failed is already reported).
 */
int net_if_setup(const struct boot_info *bi, struct net_if *nif, uint64_t features);

/* Gives RX buffer `id` back to the device (without a kick). */
void net_rx_post(struct net_if *nif, uint16_t id);

#endif
