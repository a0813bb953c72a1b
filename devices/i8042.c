/* SPDX-License-Identifier: MIT */
/*
 * i8042 keyboard controller model.
 *
 * The command set follows the IBM PC/AT "8042 keyboard controller" reference
 * as Linux uses it (drivers/input/serio/i8042.c): every command that answers
 * does so at once, so __i8042_command() never waits for its 500 ms timeout.
 * The AUX loopback (0xd3) echoes with the AUX status bit, which also makes
 * Linux's active-multiplexing probe conclude "no MUX".  No mouse: bytes
 * written to it are dropped.
 *
 * The keyboard (IBM PS/2 keyboard command set, as atkbd.c drives it) answers
 * at once too, through a bounded queue the controller empties into its
 * one-byte output buffer whenever the guest has read the previous byte; each
 * byte loaded that way is an edge on IRQ 1 if the command byte's KBDINT bit
 * is set.  It only ever sends command replies and the keys of Ctrl-Alt-Del,
 * so the controller's set 2 -> set 1 translation (XLATE) is modelled for
 * those codes only.  The guest is hostile: a full queue drops the keyboard's
 * reply (the driver times out and retries), it never grows.
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

/* Keyboard commands and replies (atkbd.c names them ATKBD_CMD_* / ATKBD_RET_*). */
enum {
	KBD_CMD_SETLEDS = 0xed, /* + 1 parameter byte */
	KBD_CMD_ECHO = 0xee,
	KBD_CMD_SCANSET = 0xf0, /* + 1 parameter byte: 0 = query */
	KBD_CMD_GETID = 0xf2,
	KBD_CMD_SETREP = 0xf3, /* + 1 parameter byte */
	KBD_CMD_ENABLE = 0xf4,
	KBD_CMD_RESET_DIS = 0xf5,
	KBD_CMD_RESET_DEF = 0xf6,
	KBD_CMD_RESET_BAT = 0xff,
};
#define KBD_RET_ACK	 0xfa
#define KBD_RET_BAT_OK	 0xaa
#define KBD_ID_0	 0xab
#define KBD_ID_1	 0x83 /* an MF2 keyboard: ab 83 */
#define KBD_SET2	 2
#define KBD_BREAK_PREFIX 0xf0 /* set 2: the next code is a release */
#define KBD_EXT_PREFIX	 0xe0
#define KBD_QUEUE_LEN	 32

/* Set 2 make codes of the keys this keyboard can type. */
#define SET2_LEFTCTRL 0x14
#define SET2_LEFTALT  0x11
#define SET2_DELETE   0x71 /* after KBD_EXT_PREFIX */

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
	bool out_kbd; /* the output byte came from the keyboard (it raised IRQ 1) */
	bool last_was_cmd;

	/* The keyboard on the first port. */
	struct irq_line kbd_irq;
	uint8_t kbd_queue[KBD_QUEUE_LEN]; /* bytes sent, not yet taken by the controller */
	unsigned kbd_head, kbd_count;
	uint8_t kbd_pending; /* command waiting for its parameter byte, 0 if none */
	bool kbd_scanning;   /* keys are sent only while the driver has it enabled */
	bool xlate_break;    /* translating: a set 2 break prefix was swallowed */
};

int i8042_create(struct i8042 **out, const struct machine_ctl *ctl, const struct irq_line *kbd_irq,
		 const struct logger *log)
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
	if (kbd_irq)
		kbc->kbd_irq = *kbd_irq;
	/*
	 * The keyboard starts disabled: a key typed before the guest's driver
	 * enables it (atkbd sends 0xf4 once its probe is done) is refused with
	 * -EAGAIN instead of waiting in the buffer to garble that probe.
	 */
	kbc->kbd_scanning = false;
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
	kbc->out_kbd = false;
}

static bool kbd_push_locked(struct i8042 *kbc, uint8_t val)
{
	if (kbc->kbd_count == KBD_QUEUE_LEN)
		return false;
	kbc->kbd_queue[(kbc->kbd_head + kbc->kbd_count) % KBD_QUEUE_LEN] = val;
	kbc->kbd_count++;
	return true;
}

/*
 * The 8042's set 2 -> set 1 translation for the bytes this keyboard sends:
 * the three make codes, the ID byte 0x83 (-> 0x41) and the scan set query
 * answer; 0xe0 and the replies (0xfa, 0xaa, 0xab, 0xee) pass unchanged.
 */
static uint8_t xlate(uint8_t set2)
{
	switch (set2) {
	case SET2_LEFTCTRL:
		return 0x1d;
	case SET2_LEFTALT:
		return 0x38;
	case SET2_DELETE:
		return 0x53;
	case KBD_ID_1:
		return 0x41;
	case KBD_SET2:
		return 0x41;
	default:
		return set2;
	}
}

/*
 * Moves the keyboard's next byte into the output buffer if the guest has
 * read the last one and the interface is enabled.  Returns true when that
 * is an interrupt (the caller pulses kbd_irq after unlocking).
 */
static bool kbd_refill_locked(struct i8042 *kbc)
{
	while (!kbc->out_full && kbc->kbd_count && !(kbc->ram[0] & CTR_KBDDIS)) {
		uint8_t b = kbc->kbd_queue[kbc->kbd_head];

		kbc->kbd_head = (kbc->kbd_head + 1) % KBD_QUEUE_LEN;
		kbc->kbd_count--;
		if (kbc->ram[0] & CTR_XLATE) {
			/* A set 2 release is F0 + make code; set 1's is make code | 0x80. */
			if (b == KBD_BREAK_PREFIX) {
				kbc->xlate_break = true;
				continue;
			}
			b = (uint8_t)(xlate(b) | (kbc->xlate_break ? 0x80 : 0));
			kbc->xlate_break = false;
		}
		put_output_locked(kbc, b, false);
		kbc->out_kbd = true;
		return (kbc->ram[0] & CTR_KBDINT) != 0;
	}
	return false;
}

static void kbd_reply_locked(struct i8042 *kbc, const uint8_t *bytes, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (!kbd_push_locked(kbc, bytes[i]))
			log_guest_error(kbc->log, &kbc->rl,
					"i8042: keyboard queue full (the guest does not read port "
					"0x60), reply dropped");
}

/* A byte the guest wrote to the keyboard (data port, no controller command pending). */
static void kbd_write_locked(struct i8042 *kbc, uint8_t val)
{
	uint8_t ack = KBD_RET_ACK;
	uint8_t cmd = kbc->kbd_pending;

	kbc->kbd_pending = 0;
	if (cmd) {
		/* The parameter of SETLEDS / SETREP / SCANSET: acknowledged, LEDs and rate unused.
		 */
		kbd_reply_locked(kbc, &ack, 1);
		if (cmd == KBD_CMD_SCANSET && val == 0) {
			uint8_t set = KBD_SET2;

			kbd_reply_locked(kbc, &set, 1);
		}
		return;
	}
	switch (val) {
	case KBD_CMD_SETLEDS:
	case KBD_CMD_SCANSET:
	case KBD_CMD_SETREP:
		kbc->kbd_pending = val;
		kbd_reply_locked(kbc, &ack, 1);
		break;
	case KBD_CMD_ECHO:
		kbd_reply_locked(kbc, &val, 1);
		break;
	case KBD_CMD_GETID: {
		static const uint8_t id[] = {KBD_RET_ACK, KBD_ID_0, KBD_ID_1};

		kbd_reply_locked(kbc, id, sizeof(id));
		break;
	}
	case KBD_CMD_ENABLE:
		kbc->kbd_scanning = true;
		kbd_reply_locked(kbc, &ack, 1);
		break;
	case KBD_CMD_RESET_DIS:
		kbc->kbd_scanning = false;
		kbd_reply_locked(kbc, &ack, 1);
		break;
	case KBD_CMD_RESET_BAT: {
		static const uint8_t bat[] = {KBD_RET_ACK, KBD_RET_BAT_OK};

		/* A reset empties the keyboard's buffer and leaves it scanning. */
		kbc->kbd_count = 0;
		kbc->xlate_break = false;
		kbc->kbd_scanning = true;
		kbd_reply_locked(kbc, bat, sizeof(bat));
		break;
	}
	default:
		/* RESET_DEF, the set-3 key type commands, RESEND...: acknowledged. */
		kbd_reply_locked(kbc, &ack, 1);
		break;
	}
}

int i8042_ctrl_alt_del(struct i8042 *kbc)
{
	static const uint8_t keys[] = {
	    SET2_LEFTCTRL,  SET2_LEFTALT,     KBD_EXT_PREFIX, SET2_DELETE,
	    KBD_EXT_PREFIX, KBD_BREAK_PREFIX, SET2_DELETE,    KBD_BREAK_PREFIX,
	    SET2_LEFTALT,   KBD_BREAK_PREFIX, SET2_LEFTCTRL,
	};
	bool irq;
	int ret = 0;

	pthread_mutex_lock(&kbc->lock);
	if (!kbc->kbd_scanning)
		ret = -EAGAIN;
	else if (KBD_QUEUE_LEN - kbc->kbd_count < sizeof(keys))
		ret = -EBUSY;
	else
		for (size_t i = 0; i < sizeof(keys); i++)
			kbd_push_locked(kbc, keys[i]);
	irq = kbd_refill_locked(kbc);
	/*
	 * A key byte still unread from an earlier press: raise its edge again.
	 * Seen once in the SVM test host: a guest idle in HLT never read the
	 * first byte of a press and every later press found the queue full.
	 * A spare edge costs Linux one "interrupt without data"; a lost one
	 * costs the keyboard.
	 */
	if (!irq && kbc->out_full && kbc->out_kbd && (kbc->ram[0] & CTR_KBDINT))
		irq = true;
	pthread_mutex_unlock(&kbc->lock);
	if (irq)
		irq_line_pulse(&kbc->kbd_irq);
	return ret;
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
		kbd_write_locked(kbc, val);
		break;
	}
	return false;
}

void i8042_io_read(void *opaque, uint64_t offset, void *data, uint32_t len)
{
	struct i8042 *kbc = opaque;
	uint8_t val = 0xff;
	bool irq = false;

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
		irq = kbd_refill_locked(kbc);
	} else if (offset == I8042_OFF_CMD) {
		val = status_locked(kbc);
	}
	pthread_mutex_unlock(&kbc->lock);
	*(uint8_t *)data = val;
	if (irq)
		irq_line_pulse(&kbc->kbd_irq);
}

void i8042_io_write(void *opaque, uint64_t offset, const void *data, uint32_t len)
{
	struct i8042 *kbc = opaque;
	uint8_t val;
	bool reset = false;
	bool irq;

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
	/* A keyboard reply, or a command byte / 0xae that re-enabled the interface. */
	irq = kbd_refill_locked(kbc);
	pthread_mutex_unlock(&kbc->lock);
	if (irq)
		irq_line_pulse(&kbc->kbd_irq);

	if (reset) {
		log_info(kbc->log, "i8042: guest pulsed the reset line");
		if (kbc->ctl.request_exit)
			kbc->ctl.request_exit(kbc->ctl.opaque, MVM_EXIT_REBOOT, 0);
	}
}
