/* SPDX-License-Identifier: MIT */
/*
 * MC146818 RTC register model (Motorola MC146818A datasheet, "Address
 * Map" and "Register A-D").  Every read of a time register samples the
 * clock, so there is no update cycle and UIP is always clear: a guest that
 * waits for UIP == 0 (Linux mc146818_get_time()) never spins.
 */
#include "devices/cmos_rtc.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"

#define RTC_OFF_INDEX 0
#define RTC_OFF_DATA  (CMOS_DATA_PORT - CMOS_INDEX_PORT)

#define RTC_INDEX_MASK 0x7f /* bit 7 of the index port is the NMI mask */
#define RTC_NVRAM_SIZE 128

enum {
	RTC_SECONDS = 0x00,
	RTC_MINUTES = 0x02,
	RTC_HOURS = 0x04,
	RTC_WEEKDAY = 0x06,
	RTC_DAY = 0x07,
	RTC_MONTH = 0x08,
	RTC_YEAR = 0x09,
	RTC_REG_A = 0x0a,
	RTC_REG_B = 0x0b,
	RTC_REG_C = 0x0c,
	RTC_REG_D = 0x0d,
	RTC_CENTURY = 0x32, /* ACPI FADT "CENTURY" index, as on PCs */
};

#define REG_A_UIP     0x80
#define REG_A_DEFAULT 0x26 /* 32.768 kHz time base, 1024 Hz periodic rate */
#define REG_B_24H     0x02
#define REG_B_DM      0x04 /* 1 = binary, 0 = BCD */
#define REG_B_DEFAULT REG_B_24H
#define REG_D_VRT     0x80 /* valid RAM and time */
#define HOUR_PM	      0x80 /* 12-hour mode */

struct cmos_rtc {
	pthread_mutex_t lock;
	const struct logger *log;
	struct ratelimit rl;
	cmos_rtc_clock_fn now;
	void *now_opaque;
	uint8_t index;
	uint8_t nvram[RTC_NVRAM_SIZE]; /* also holds registers A and B */
};

static time_t host_clock(void *opaque)
{
	(void)opaque;
	return time(NULL);
}

int cmos_rtc_create(struct cmos_rtc **out, const struct logger *log)
{
	struct cmos_rtc *rtc;
	int ret;

	if (!out)
		return -EINVAL;
	rtc = calloc(1, sizeof(*rtc));
	if (!rtc)
		return -ENOMEM;
	ret = pthread_mutex_init(&rtc->lock, NULL);
	if (ret) {
		free(rtc);
		return -ret;
	}
	rtc->log = log;
	rtc->rl = (struct ratelimit)RATELIMIT_INIT;
	rtc->now = host_clock;
	rtc->nvram[RTC_REG_A] = REG_A_DEFAULT;
	rtc->nvram[RTC_REG_B] = REG_B_DEFAULT;
	*out = rtc;
	return 0;
}

void cmos_rtc_destroy(struct cmos_rtc *rtc)
{
	if (!rtc)
		return;
	pthread_mutex_destroy(&rtc->lock);
	free(rtc);
}

void cmos_rtc_set_clock(struct cmos_rtc *rtc, cmos_rtc_clock_fn now, void *opaque)
{
	pthread_mutex_lock(&rtc->lock);
	rtc->now = now ? now : host_clock;
	rtc->now_opaque = now ? opaque : NULL;
	pthread_mutex_unlock(&rtc->lock);
}

static bool is_time_register(uint8_t index)
{
	switch (index) {
	case RTC_SECONDS:
	case RTC_MINUTES:
	case RTC_HOURS:
	case RTC_WEEKDAY:
	case RTC_DAY:
	case RTC_MONTH:
	case RTC_YEAR:
	case RTC_CENTURY:
		return true;
	}
	return false;
}

static uint8_t encode(const struct cmos_rtc *rtc, int value)
{
	if (rtc->nvram[RTC_REG_B] & REG_B_DM)
		return (uint8_t)value;
	return (uint8_t)(((value / 10) << 4) | (value % 10));
}

static uint8_t read_time_locked(struct cmos_rtc *rtc, uint8_t index)
{
	time_t t = rtc->now(rtc->now_opaque);
	struct tm tm;
	int year, hour;

	if (!gmtime_r(&t, &tm))
		memset(&tm, 0, sizeof(tm)); /* out-of-range host clock: 1900-01-00 */
	year = tm.tm_year + 1900;
	if (year < 0)
		year = 0;

	switch (index) {
	case RTC_SECONDS:
		/* A leap second (tm_sec 60) would be out of the chip's range. */
		return encode(rtc, tm.tm_sec > 59 ? 59 : tm.tm_sec);
	case RTC_MINUTES:
		return encode(rtc, tm.tm_min);
	case RTC_HOURS:
		if (rtc->nvram[RTC_REG_B] & REG_B_24H)
			return encode(rtc, tm.tm_hour);
		hour = tm.tm_hour % 12;
		return (uint8_t)(encode(rtc, hour ? hour : 12) | (tm.tm_hour >= 12 ? HOUR_PM : 0));
	case RTC_WEEKDAY:
		return encode(rtc, tm.tm_wday + 1); /* 1 = Sunday */
	case RTC_DAY:
		return encode(rtc, tm.tm_mday);
	case RTC_MONTH:
		return encode(rtc, tm.tm_mon + 1);
	case RTC_YEAR:
		return encode(rtc, year % 100);
	case RTC_CENTURY:
		return encode(rtc, (year / 100) % 100);
	}
	return 0;
}

static uint8_t read_data_locked(struct cmos_rtc *rtc)
{
	uint8_t index = rtc->index;

	if (is_time_register(index))
		return read_time_locked(rtc, index);
	switch (index) {
	case RTC_REG_A:
		return rtc->nvram[RTC_REG_A] & (uint8_t)~REG_A_UIP;
	case RTC_REG_C:
		return 0; /* no interrupt flags: we raise no RTC interrupts */
	case RTC_REG_D:
		return REG_D_VRT;
	}
	return rtc->nvram[index];
}

static void write_data_locked(struct cmos_rtc *rtc, uint8_t val)
{
	uint8_t index = rtc->index;

	if (is_time_register(index)) {
		log_debug(rtc->log, "cmos: ignoring write 0x%02x to time register 0x%02x", val,
			  index);
		return;
	}
	switch (index) {
	case RTC_REG_A:
		rtc->nvram[RTC_REG_A] = val & (uint8_t)~REG_A_UIP; /* UIP is read-only */
		return;
	case RTC_REG_C:
	case RTC_REG_D:
		return; /* read-only */
	}
	rtc->nvram[index] = val;
}

void cmos_rtc_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct cmos_rtc *rtc = opaque;
	uint8_t val = 0xff; /* the index port is write-only */

	pthread_mutex_lock(&rtc->lock);
	if (len != 1) {
		log_guest_error(rtc->log, &rtc->rl, "cmos: %u-byte read at offset %llu", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&rtc->lock);
		memset(data, 0xff, len);
		return;
	}
	if (offset == RTC_OFF_DATA)
		val = read_data_locked(rtc);
	pthread_mutex_unlock(&rtc->lock);
	*(uint8_t *)data = val;
}

void cmos_rtc_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct cmos_rtc *rtc = opaque;
	uint8_t val;

	pthread_mutex_lock(&rtc->lock);
	if (len != 1) {
		log_guest_error(rtc->log, &rtc->rl, "cmos: %u-byte write at offset %llu", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&rtc->lock);
		return;
	}
	val = *(const uint8_t *)data;
	if (offset == RTC_OFF_INDEX)
		rtc->index = val & RTC_INDEX_MASK;
	else if (offset == RTC_OFF_DATA)
		write_data_locked(rtc, val);
	pthread_mutex_unlock(&rtc->lock);
}
