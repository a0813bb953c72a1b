/* SPDX-License-Identifier: MIT */
/*
 * MC146818 CMOS RTC at CMOS_INDEX_PORT, length 2 (offset 0 = index,
 * offset 1 = data).  Reports the host's real time in UTC; setting the clock
 * is ignored (the host clock is authoritative) and RTC interrupts (IRQ 8)
 * are not emulated.  The other indexes are a 128-byte NVRAM.
 */
#ifndef MINIVMM_CMOS_RTC_H
#define MINIVMM_CMOS_RTC_H

#include <stdint.h>
#include <time.h>

#include "vmm/log.h"

struct cmos_rtc;

/* Returns the current time (seconds since the Unix epoch, UTC). */
typedef time_t (*cmos_rtc_clock_fn)(void *opaque);

/* Returns 0, -EINVAL or -ENOMEM.  The clock is the host's time(). */
int cmos_rtc_create(struct cmos_rtc **out, const struct logger *log);
void cmos_rtc_destroy(struct cmos_rtc *rtc);

/*
 * Replaces the clock (tests inject a fixed time); now == NULL restores time().
 * now() runs under the device lock and must not call back into the device.
 */
void cmos_rtc_set_clock(struct cmos_rtc *rtc, cmos_rtc_clock_fn now, void *opaque);

void cmos_rtc_io_read(void *opaque, uint64_t offset, void *data, uint32_t len);
void cmos_rtc_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len);

#endif
