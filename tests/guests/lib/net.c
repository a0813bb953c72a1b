/* SPDX-License-Identifier: MIT */
#include "tests/guests/lib/net.h"

#include "tests/guests/lib/report.h"
#include "tests/guests/lib/str.h"

const uint8_t net_broadcast_mac[ETH_ALEN] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
const uint8_t net_zero_mac[ETH_ALEN];

/* ---- Text ----------------------------------------------------------------- */

bool net_parse_ip(const char *s, uint32_t *out)
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

bool net_parse_mac(const char *s, uint8_t mac[ETH_ALEN])
{
	for (int i = 0; i < ETH_ALEN; i++) {
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
		if (*s != (i == ETH_ALEN - 1 ? '\0' : ':'))
			return false;
		s++;
		mac[i] = (uint8_t)v;
	}
	return true;
}

/* ---- Checksums ------------------------------------------------------------ */

uint32_t net_csum_add(uint32_t sum, const uint8_t *p, uint32_t len)
{
	uint32_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (i < len)
		sum += (uint32_t)p[i] << 8;
	return sum;
}

uint16_t net_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Sum of the UDP pseudo-header (RFC 768): addresses, protocol, UDP length. */
static uint32_t pseudo_sum(const uint8_t *ip_hdr, uint16_t udp_len)
{
	return net_csum_add(0, ip_hdr + 12, 8) + IPPROTO_UDP + udp_len;
}

/* ---- Frames out ----------------------------------------------------------- */

uint8_t *net_eth_start(uint8_t *frame, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
	uint8_t *eth = frame + VNET_HDR_LEN;

	memset(frame, 0, VNET_HDR_LEN);
	memcpy(eth, dst, ETH_ALEN);
	memcpy(eth + 6, src, ETH_ALEN);
	put_be16(eth + 12, type);
	return eth + ETH_HLEN;
}

uint32_t net_build_arp(uint8_t *frame, const uint8_t *eth_dst, uint16_t oper, const uint8_t *sha,
		       uint32_t spa, const uint8_t *tha, uint32_t tpa)
{
	uint8_t *arp = net_eth_start(frame, eth_dst, sha, ETHERTYPE_ARP);

	put_be16(arp, 1); /* Ethernet */
	put_be16(arp + 2, ETHERTYPE_IPV4);
	arp[4] = ETH_ALEN;
	arp[5] = 4;
	put_be16(arp + 6, oper);
	memcpy(arp + 8, sha, ETH_ALEN);
	put_be32(arp + 14, spa);
	memcpy(arp + 18, tha, ETH_ALEN);
	put_be32(arp + 24, tpa);
	return ETH_HLEN + ARP_LEN;
}

uint32_t net_arp_answer(uint8_t *frame, const uint8_t *eth, uint32_t len, const uint8_t *mac,
			uint32_t ip)
{
	const uint8_t *arp = eth + ETH_HLEN;

	if (len < ETH_HLEN + ARP_LEN || get_be16(eth + 12) != ETHERTYPE_ARP ||
	    get_be16(arp + 6) != ARP_REQUEST || get_be32(arp + 24) != ip)
		return 0;
	return net_build_arp(frame, arp + 8, ARP_REPLY, mac, ip, arp + 8, get_be32(arp + 14));
}

uint32_t net_build_udp(uint8_t *frame, const struct net_udp_flow *f, uint32_t len)
{
	uint8_t *ip = net_eth_start(frame, f->eth_dst, f->eth_src, ETHERTYPE_IPV4);
	uint8_t *udp = ip + IP_HLEN;
	uint16_t udp_len = (uint16_t)(UDP_HLEN + len), sum;

	memset(ip, 0, IP_HLEN + UDP_HLEN);
	ip[0] = 0x45;
	put_be16(ip + 2, (uint16_t)(IP_HLEN + udp_len));
	put_be16(ip + 4, f->ip_id);
	put_be16(ip + 6, 0x4000); /* DF: the identification may repeat (RFC 6864) */
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	put_be32(ip + 12, f->src);
	put_be32(ip + 16, f->dst);
	put_be16(ip + 10, net_csum_fold(net_csum_add(0, ip, IP_HLEN)));

	put_be16(udp, f->sport);
	put_be16(udp + 2, f->dport);
	put_be16(udp + 4, udp_len);
	if (f->checksum) {
		sum = net_csum_fold(net_csum_add(pseudo_sum(ip, udp_len), udp, udp_len));
		put_be16(udp + 6, sum ? sum : 0xffff); /* 0 means "no checksum" (RFC 768) */
	}
	return ETH_HLEN + IP_HLEN + udp_len;
}

/* ---- Frames in ------------------------------------------------------------ */

bool net_parse_udp(const uint8_t *eth, uint32_t len, struct net_udp_rx *u)
{
	const uint8_t *ip = eth + ETH_HLEN, *udp;
	uint32_t ihl, total;
	uint16_t udp_len;

	if (len < ETH_HLEN + IP_HLEN + UDP_HLEN || get_be16(eth + 12) != ETHERTYPE_IPV4 ||
	    (ip[0] >> 4) != 4 || ip[9] != IPPROTO_UDP)
		return false;
	ihl = (ip[0] & 0xf) * 4u;
	total = get_be16(ip + 2);
	if (ihl < IP_HLEN || total < ihl + UDP_HLEN || ETH_HLEN + total > len)
		return false;
	udp = ip + ihl;
	udp_len = get_be16(udp + 4);
	if (udp_len < UDP_HLEN || udp_len > total - ihl)
		return false;
	*u = (struct net_udp_rx){
	    .ip = ip,
	    .udp = udp,
	    .payload = udp + UDP_HLEN,
	    .src = get_be32(ip + 12),
	    .dst = get_be32(ip + 16),
	    .sport = get_be16(udp),
	    .dport = get_be16(udp + 2),
	    .len = udp_len - UDP_HLEN,
	    .udp_csum = get_be16(udp + 6),
	};
	return true;
}

void net_udp_verify(struct net_udp_rx *u)
{
	uint16_t udp_len = (uint16_t)(UDP_HLEN + u->len);

	u->ip_csum_ok = net_csum_fold(net_csum_add(0, u->ip, (uint32_t)(u->udp - u->ip))) == 0;
	u->udp_csum_ok = u->udp_csum != 0 && net_csum_fold(net_csum_add(pseudo_sum(u->ip, udp_len),
									u->udp, udp_len)) == 0;
}

/* ---- The interface -------------------------------------------------------- */

bool net_if_args(const struct boot_info *bi, struct net_if *nif)
{
	char addr[20];
	bool ok = true;

	/* Zero-filled: cmdline_get() may leave a too-long value cut short without a NUL. */
	memset(nif->mode, 0, sizeof(nif->mode));
	memcpy(nif->mode, "user", 4);
	cmdline_get(bi, "mode", nif->mode, sizeof(nif->mode));
	nif->user = strcmp(nif->mode, "tap") != 0;
	nif->ip = nif->user ? 0x0a00020fu : 0x0a630002u;      /* 10.0.2.15 / 10.99.0.2 */
	nif->peer_ip = nif->user ? 0x0a000202u : 0x0a630001u; /* 10.0.2.2 / 10.99.0.1 */
	if (cmdline_get(bi, "ip", addr, sizeof(addr)))
		ok &= net_parse_ip(addr, &nif->ip);
	if (cmdline_get(bi, "peer", addr, sizeof(addr)))
		ok &= net_parse_ip(addr, &nif->peer_ip);
	return ok;
}

void net_rx_post(struct net_if *nif, uint16_t id)
{
	nif->rxq.desc[id] = (struct virtq_desc){
	    .addr = (uint64_t)(uintptr_t)nif->rx_bufs[id],
	    .len = NET_RX_BUF_SIZE,
	    .flags = VIRTQ_DESC_F_WRITE,
	};
	virtio_publish(&nif->rxq, id);
}

int net_if_setup(const struct boot_info *bi, struct net_if *nif, uint64_t features)
{
	struct virtio_dev *const queues[2] = {&nif->rxq, &nif->txq};
	const struct virtio_want want = {
	    .name = "virtio-net",
	    .device_id = VIRTIO_ID_NET,
	    .features = features | VIRTIO_BIT(VIRTIO_NET_F_MAC),
	};
	uint32_t word;
	int err = virtio_setup(bi, &want, queues, 2);

	if (err)
		return err;
	if (!report(nif->rxq.features & VIRTIO_BIT(VIRTIO_NET_F_MAC),
		    "VIRTIO_NET_F_MAC negotiated"))
		return VIRTIO_ERR_FEATURES;
	word = virtio_config32(&nif->rxq, VIRTIO_NET_CFG_MAC);
	for (int i = 0; i < 4; i++)
		nif->mac[i] = (uint8_t)(word >> (8 * i));
	word = virtio_config32(&nif->rxq, VIRTIO_NET_CFG_WORD1);
	nif->mac[4] = (uint8_t)word;
	nif->mac[5] = (uint8_t)(word >> 8);
	nif->link_status = (uint16_t)(word >> 16);
	for (uint16_t i = 0; i < NET_RX_BUFS; i++)
		net_rx_post(nif, i);
	virtio_kick(&nif->rxq);
	return 0;
}
