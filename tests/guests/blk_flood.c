/* SPDX-License-Identifier: MIT */
/*
 * blk_flood: a guest that never lets vda's request queue run dry (issue 10,
 * defect 2).  Every ring slot holds one INDIRECT request of seg_max reads of
 * size_max bytes each (the largest request the device allows: 254 MiB from
 * minivmm), all into one buffer, and each completion goes straight back on
 * the ring with a kick.  While it floods it reads vdb VDB_READS times, one
 * request at a time with the library's bounded wait: the other disk must
 * keep being served.  Then it floods until minivmm ends the run (the test
 * gives --timeout and expects status 102 on time).
 *
 * Only reads: both images stay as they were.  vda must hold one request
 * (seg_max * size_max bytes; a sparse file will do).
 */
#include "tests/guests/lib/guest.h"
#include "tests/guests/lib/virtio.h"

const char guest_name[] = "blk_flood";

#define MAX_SEGS  254u	     /* table entries for data: minivmm's seg_max */
#define MAX_SEG	  (1u << 20) /* bytes per segment: minivmm's size_max */
#define VDB_READS 3u

static struct virtio_dev vda, vdb;
static struct virtq_desc table[MAX_SEGS + 2] __attribute__((aligned(16)));
static struct virtio_blk_req_hdr hdr __attribute__((aligned(16)));
static uint8_t status;
static uint8_t data[MAX_SEG] __attribute__((aligned(4096)));
static uint8_t sector[VIRTIO_BLK_SECTOR_SIZE] __attribute__((aligned(4096)));
static unsigned long completed;

static uint64_t addr(const void *p)
{
	return (uint64_t)(uintptr_t)p;
}

/* Puts every completed request back on the ring at once, with a kick. */
static void refill(void)
{
	/* Acquire: the used element is read only after the index that publishes it. */
	while (__atomic_load_n(&vda.used.idx, __ATOMIC_ACQUIRE) != vda.used_idx) {
		uint16_t head = (uint16_t)vda.used.ring[vda.used_idx % VIRTQ_SIZE].id;

		vda.used_idx++;
		completed++;
		virtio_publish(&vda, head);
		virtio_kick(&vda);
	}
}

int guest_main(const struct boot_info *bi)
{
	struct virtio_want want_a = {
	    .name = "virtio-blk",
	    .device_id = VIRTIO_ID_BLOCK,
	    .index = 0,
	    .features = VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) | VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) |
			VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC),
	};
	struct virtio_want want_b = {
	    .name = "virtio-blk", .device_id = VIRTIO_ID_BLOCK, .index = 1};
	struct virtio_dev *const qa[1] = {&vda}, *const qb[1] = {&vdb};
	uint32_t nseg = MAX_SEGS, seg = MAX_SEG, served = 0;
	uint64_t capacity;

	if (virtio_setup(bi, &want_a, qa, 1) || virtio_setup(bi, &want_b, qb, 1))
		report_done();
	if (!report(vda.features & VIRTIO_BIT(VIRTIO_F_RING_INDIRECT_DESC),
		    "vda: INDIRECT_DESC negotiated"))
		report_done();
	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_SEG_MAX) &&
	    virtio_config32(&vda, VIRTIO_BLK_CFG_SEG_MAX) < nseg)
		nseg = virtio_config32(&vda, VIRTIO_BLK_CFG_SEG_MAX);
	if (vda.features & VIRTIO_BIT(VIRTIO_BLK_F_SIZE_MAX) &&
	    virtio_config32(&vda, VIRTIO_BLK_CFG_SIZE_MAX) < seg)
		seg =
		    virtio_config32(&vda, VIRTIO_BLK_CFG_SIZE_MAX) & ~(VIRTIO_BLK_SECTOR_SIZE - 1);
	capacity = virtio_config64(&vda, VIRTIO_BLK_CFG_CAPACITY) * VIRTIO_BLK_SECTOR_SIZE;
	if (!report(nseg > 0 && seg > 0 && capacity >= (uint64_t)nseg * seg,
		    "vda (%lu bytes) holds one request of %u x %u bytes", capacity, nseg, seg))
		report_done();

	/* One table serves every slot: the device only reads it, and writes the same bytes. */
	hdr = (struct virtio_blk_req_hdr){.type = VIRTIO_BLK_T_IN, .sector = 0};
	table[0] = (struct virtq_desc){addr(&hdr), sizeof(hdr), VIRTQ_DESC_F_NEXT, 1};
	for (uint16_t i = 1; i <= nseg; i++)
		table[i] = (struct virtq_desc){
		    addr(data), seg, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, (uint16_t)(i + 1)};
	table[nseg + 1] = (struct virtq_desc){addr(&status), 1, VIRTQ_DESC_F_WRITE, 0};
	/*
	 * Print before the flood: every byte is a port exit, and the flood
	 * keeps the host busy (under TCG on one CPU the vCPU then gets half).
	 */
	printf("blk_flood: flooding vda with %u requests of %u x %u bytes\n", VIRTQ_SIZE, nseg,
	       seg);
	for (uint16_t i = 0; i < VIRTQ_SIZE; i++) {
		vda.desc[i] = (struct virtq_desc){addr(table),
						  (nseg + 2) * (uint32_t)sizeof(struct virtq_desc),
						  VIRTQ_DESC_F_INDIRECT, 0};
		virtio_publish(&vda, i);
	}
	virtio_kick(&vda);

	while (served < VDB_READS) {
		refill();
		if (virtio_blk_request(&vdb, VIRTIO_BLK_T_IN, 0, sector, sizeof(sector), true,
				       false) != VIRTIO_BLK_S_OK)
			break;
		served++;
	}
	refill();
	report(served == VDB_READS, "vdb: %u of %u reads during the flood (vda: %lu done)", served,
	       VDB_READS, completed);
	printf("blk_flood: flooding until the end\n");
	for (;;)
		refill();
}
