/* SPDX-License-Identifier: MIT */
/*
 * i8042 keyboard controller model.
 *
 * The command set follows the IBM PC/AT "8042 keyboard controller" reference
 * as Linux uses it (drivers/input/serio/i8042.c): every command that answers
 * does so at once, so __i8042_command() never waits for its 500 ms timeout.
 * The AUX loopback (0xd3) echoes with the AUX status bit, which also makes
 * Linux's active-multiplexing probe conclude "no MUX".  There are no PS/2
 * devices: bytes written to the keyboard or the mouse are dropped.
 */
#include "devices/i8042.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "boot/layout.h"

#define I8042_OFF_DATA 0
#define I8042_OFF_CMD  (I8042_CMD_PORT - I8042_DATA_PORT)

/* Status register (port 0x64 read). */
#define STR_OBF	    0x01 /* output buffer full */
#define STR_IBF	    0x02 /* input buffer full: never, commands complete at once */
#define STR_SYSFLAG 0x04 /* mirrors CTR bit 2 (POST passed) */
#define STR_CMDDAT  0x08 /* last write went to the command port */
#define STR_KEYLOCK 0x10 /* 1 = keyboard not inhibited by the key lock */
#define STR_AUXDATA 0x20 /* output byte came from the AUX (mouse) side */

/* Controller command byte ("CTR", internal RAM byte 0). */
#define CTR_KBDINT  0x01
#define CTR_SYSFLAG 0x04
#define CTR_KBDDIS  0x10
#define CTR_AUXDIS  0x20
#define CTR_XLATE   0x40

/* Output port (commands 0xd0/0xd1). */
#define OUTP_RESET_N 0x01 /* 0 holds the CPU in reset */
#define OUTP_A20     0x02

enum {
	CMD_READ_RAM = 0x20,  /* 0x20-0x3f: read RAM byte (0x20 = CTR) */
	CMD_WRITE_RAM = 0x60, /* 0x60-0x7f: write RAM byte (0x60 = CTR) */
	CMD_AUX_DISABLE = 0xa7,
	CMD_AUX_ENABLE = 0xa8,
	CMD_AUX_TEST = 0xa9,
	CMD_SELF_TEST = 0xaa,
	CMD_KBD_TEST = 0xab,
	CMD_KBD_DISABLE = 0xad,
	CMD_KBD_ENABLE = 0xae,
	CMD_READ_INPUT = 0xc0,
	CMD_READ_OUTP = 0xd0,
	CMD_WRITE_OUTP = 0xd1,
	CMD_KBD_LOOP = 0xd2,
	CMD_AUX_LOOP = 0xd3,
	CMD_AUX_SEND = 0xd4,
	CMD_PULSE_BASE = 0xf0, /* 0xf0-0xff: pulse output lines whose bit is 0 */
};

#define SELF_TEST_OK 0x55
#define PORT_TEST_OK 0x00
#define RAM_SIZE     32
#define INPUT_PORT   0xa0 /* keyboard not inhibited, colour display */

struct i8042 {
	pthread_mutex_t lock;
	struct machine_ctl ctl;
	const struct logger *log;
	struct ratelimit rl;

	uint8_t ram[RAM_SIZE]; /* ram[0] is the CTR */
	uint8_t outp;
	uint8_t pending_cmd; /* command waiting for its data byte, 0 if none */
	uint8_t out_byte;    /* last byte put in the output buffer */
	bool out_full;
	bool out_aux;
	bool last_was_cmd;
};

int i8042_create(struct i8042 **out, const struct machine_ctl *ctl, const struct logger *log)
{
	struct i8042 *kbc;
	int ret;

	if (!out || !ctl)
		return -EINVAL;
	kbc = calloc(1, sizeof(*kbc));
	if (!kbc)
		return -ENOMEM;
	ret = pthread_mutex_init(&kbc->lock, NULL);
	if (ret) {
		free(kbc);
		return -ret;
	}
	kbc->ctl = *ctl;
	kbc->log = log;
	kbc->rl = (struct ratelimit)RATELIMIT_INIT;
	/* What a BIOS leaves behind: translation on, POST passed, kbd IRQ on. */
	kbc->ram[0] = CTR_XLATE | CTR_SYSFLAG | CTR_KBDINT;
	kbc->outp = OUTP_RESET_N | OUTP_A20;
	*out = kbc;
	return 0;
}

void i8042_destroy(struct i8042 *kbc)
{
	if (!kbc)
		return;
	pthread_mutex_destroy(&kbc->lock);
	free(kbc);
}

static void put_output_locked(struct i8042 *kbc, uint8_t val, bool aux)
{
	kbc->out_byte = val;
	kbc->out_full = true;
	kbc->out_aux = aux;
}

static uint8_t status_locked(const struct i8042 *kbc)
{
	uint8_t s = STR_KEYLOCK;

	if (kbc->out_full)
		s |= STR_OBF;
	if (kbc->out_full && kbc->out_aux)
		s |= STR_AUXDATA;
	if (kbc->ram[0] & CTR_SYSFLAG)
		s |= STR_SYSFLAG;
	if (kbc->last_was_cmd)
		s |= STR_CMDDAT;
	return s;
}

/* Returns true when the command pulses the reset line. */
static bool command_locked(struct i8042 *kbc, uint8_t cmd)
{
	kbc->pending_cmd = 0;
	if (cmd >= CMD_READ_RAM && cmd < CMD_READ_RAM + RAM_SIZE) {
		put_output_locked(kbc, kbc->ram[cmd - CMD_READ_RAM], false);
		return false;
	}
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_SIZE) {
		kbc->pending_cmd = cmd;
		return false;
	}
	if (cmd >= CMD_PULSE_BASE)
		return !(cmd & OUTP_RESET_N); /* 0xfe: the classic reboot */

	switch (cmd) {
	case CMD_AUX_DISABLE:
		kbc->ram[0] |= CTR_AUXDIS;
		break;
	case CMD_AUX_ENABLE:
		kbc->ram[0] &= (uint8_t)~CTR_AUXDIS;
		break;
	case CMD_AUX_TEST:
	case CMD_KBD_TEST:
		put_output_locked(kbc, PORT_TEST_OK, false);
		break;
	case CMD_SELF_TEST:
		put_output_locked(kbc, SELF_TEST_OK, false);
		break;
	case CMD_KBD_DISABLE:
		kbc->ram[0] |= CTR_KBDDIS;
		break;
	case CMD_KBD_ENABLE:
		kbc->ram[0] &= (uint8_t)~CTR_KBDDIS;
		break;
	case CMD_READ_INPUT:
		put_output_locked(kbc, INPUT_PORT, false);
		break;
	case CMD_READ_OUTP:
		put_output_locked(kbc, kbc->outp, false);
		break;
	case CMD_WRITE_OUTP:
	case CMD_KBD_LOOP:
	case CMD_AUX_LOOP:
	case CMD_AUX_SEND:
		kbc->pending_cmd = cmd;
		break;
	default:
		log_debug(kbc->log, "i8042: ignoring unknown command 0x%02x", cmd);
		break;
	}
	return false;
}

/* Returns true when the data byte pulls the reset line. */
static bool data_locked(struct i8042 *kbc, uint8_t val)
{
	uint8_t cmd = kbc->pending_cmd;

	kbc->pending_cmd = 0;
	if (cmd >= CMD_WRITE_RAM && cmd < CMD_WRITE_RAM + RAM_SIZE) {
		kbc->ram[cmd - CMD_WRITE_RAM] = val;
		return false;
	}
	switch (cmd) {
	case CMD_WRITE_OUTP:
		kbc->outp = val;
		return !(val & OUTP_RESET_N);
	case CMD_KBD_LOOP:
		put_output_locked(kbc, val, false);
		break;
	case CMD_AUX_LOOP:
		put_output_locked(kbc, val, true);
		break;
	case CMD_AUX_SEND:
		log_debug(kbc->log, "i8042: no mouse attached, dropping 0x%02x", val);
		break;
	default:
		log_debug(kbc->log, "i8042: no keyboard attached, dropping 0x%02x", val);
		break;
	}
	return false;
}

void i8042_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct i8042 *kbc = opaque;
	uint8_t val = 0xff;

	pthread_mutex_lock(&kbc->lock);
	if (len != 1) {
		log_guest_error(kbc->log, &kbc->rl, "i8042: %u-byte read at offset %llu", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&kbc->lock);
		memset(data, 0xff, len);
		return;
	}
	if (offset == I8042_OFF_DATA) {
		/* Like the real part, an empty buffer re-reads the last byte. */
		val = kbc->out_byte;
		kbc->out_full = false;
	} else if (offset == I8042_OFF_CMD) {
		val = status_locked(kbc);
	}
	pthread_mutex_unlock(&kbc->lock);
	*(uint8_t *)data = val;
}

void i8042_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct i8042 *kbc = opaque;
	uint8_t val;
	bool reset = false;

	if (len != 1) {
		pthread_mutex_lock(&kbc->lock);
		log_guest_error(kbc->log, &kbc->rl, "i8042: %u-byte write at offset %llu", len,
				(unsigned long long)offset);
		pthread_mutex_unlock(&kbc->lock);
		return;
	}
	val = *(const uint8_t *)data;
	pthread_mutex_lock(&kbc->lock);
	if (offset == I8042_OFF_DATA) {
		kbc->last_was_cmd = false;
		reset = data_locked(kbc, val);
	} else if (offset == I8042_OFF_CMD) {
		kbc->last_was_cmd = true;
		reset = command_locked(kbc, val);
	}
	pthread_mutex_unlock(&kbc->lock);

	if (reset) {
		log_info(kbc->log, "i8042: guest pulsed the reset line");
		if (kbc->ctl.request_exit)
			kbc->ctl.request_exit(kbc->ctl.opaque, MVM_EXIT_REBOOT, 0);
	}
}
