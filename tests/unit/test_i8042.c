/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "devices/i8042.h"
#include "tests/unit/fake_machine.h"

enum { DATA = 0, CMD = 4 };
#define STR_OBF	    0x01
#define STR_IBF	    0x02
#define STR_AUXDATA 0x20

static struct fake_ctl rec;
static struct machine_ctl ctl;
static int irq_edges; /* rising edges on IRQ 1 */
static int irq_level;

static void rec_set_level(void *opaque, uint32_t gsi, int level)
{
	ck_assert_uint_eq(gsi, 1);
	if (level && !irq_level)
		irq_edges++;
	irq_level = level;
}

static const struct irq_chip rec_chip = {rec_set_level, NULL};
static const struct irq_line kbd_irq = {&rec_chip, 1};
static struct logger quiet = {LOG_ERROR, -1, "test"};
static struct i8042 *kbc;

static void setup(void)
{
	fake_ctl_init(&rec, &ctl);
	irq_edges = irq_level = 0;
	ck_assert_int_eq(i8042_create(&kbc, &ctl, &kbd_irq, &quiet), 0);
}

static void teardown(void)
{
	i8042_destroy(kbc);
}

static uint8_t rd(uint64_t off)
{
	uint8_t v = 0x5a;
	i8042_io_read(kbc, off, &v, 1);
	return v;
}

static void wr(uint64_t off, uint8_t v)
{
	i8042_io_write(kbc, off, &v, 1);
}

START_TEST(status_idle_after_create)
{
	uint8_t s = rd(CMD);

	ck_assert_uint_eq(s & (STR_OBF | STR_IBF), 0);
	ck_assert_uint_eq(s & 0x10, 0x10); /* key lock not engaged */
	ck_assert_uint_eq(s & 0x04, 0x04); /* system flag: POST passed */
	ck_assert_uint_ne(s, 0xff);	   /* Linux: 0xff means "no controller" */
}
END_TEST

START_TEST(self_test_and_ctr_read_write)
{
	wr(CMD, 0xaa);
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_IBF | STR_AUXDATA), STR_OBF);
	ck_assert_uint_eq(rd(DATA), 0x55);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);

	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, STR_OBF);
	ck_assert_uint_eq(rd(DATA), 0x45); /* XLATE | SYSFLAG | KBDINT */

	wr(CMD, 0x60);
	ck_assert_uint_eq(rd(CMD) & 0x08, 0x08); /* CMD/DATA: last write was a command */
	wr(DATA, 0x74);
	ck_assert_uint_eq(rd(CMD) & 0x08, 0);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x74);

	/* Port enable/disable commands edit the CTR. */
	wr(CMD, 0xa8); /* AUX enable */
	wr(CMD, 0xae); /* KBD enable */
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x44);
	wr(CMD, 0xad);
	wr(CMD, 0xa7);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x74);

	/* Interface tests pass; AUX loop echoes with the AUX bit. */
	wr(CMD, 0xab);
	ck_assert_uint_eq(rd(DATA), 0x00);
	wr(CMD, 0xd3);
	wr(DATA, 0x5a);
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_AUXDATA), STR_OBF | STR_AUXDATA);
	ck_assert_uint_eq(rd(DATA), 0x5a);
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_AUXDATA), 0);
	wr(CMD, 0xd2);
	wr(DATA, 0x11);
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_AUXDATA), STR_OBF);
	ck_assert_uint_eq(rd(DATA), 0x11);
	ck_assert_int_eq(rec.exits, 0);
}
END_TEST

START_TEST(pulse_reset_requests_reboot)
{
	wr(CMD, 0xfe);
	ck_assert_int_eq(rec.exits, 1);
	ck_assert_int_eq(rec.reason, MVM_EXIT_REBOOT);
	wr(CMD, 0xff); /* pulse nothing */
	ck_assert_int_eq(rec.exits, 1);
}
END_TEST

START_TEST(output_port_reset_bit)
{
	wr(CMD, 0xd0);
	ck_assert_uint_eq(rd(DATA), 0x03);
	wr(CMD, 0xd1);
	wr(DATA, 0x03); /* A20 on, reset released: nothing happens */
	ck_assert_int_eq(rec.exits, 0);
	wr(CMD, 0xd1);
	wr(DATA, 0x02); /* reset line asserted */
	ck_assert_int_eq(rec.exits, 1);
	ck_assert_int_eq(rec.reason, MVM_EXIT_REBOOT);
}
END_TEST

START_TEST(unknown_commands_and_stray_data_ignored)
{
	uint8_t before = rd(CMD);

	wr(CMD, 0x12);
	wr(CMD, 0xc8);
	ck_assert_uint_eq(rd(CMD), before | 0x08);
	/* 0xd4 consumes one byte for the (absent) mouse. */
	wr(CMD, 0xd4);
	wr(DATA, 0xff);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
	ck_assert_int_eq(rec.exits, 0);
	/* A command cancels a pending data byte: 0x60 then 0xaa. */
	wr(CMD, 0x60);
	wr(CMD, 0xaa);
	wr(DATA, 0x00);
	wr(CMD, 0x20);
	ck_assert_uint_eq(rd(DATA), 0x45);
}
END_TEST

START_TEST(odd_widths_and_offsets)
{
	uint32_t v = 0;
	uint8_t b = 0xfe;

	i8042_io_read(kbc, CMD, &v, 4);
	ck_assert_uint_eq(v, 0xffffffffu);
	v = 0xfe;
	i8042_io_write(kbc, CMD, &v, 4);
	i8042_io_write(kbc, CMD, &v, 2);
	ck_assert_int_eq(rec.exits, 0);
	for (uint64_t off = 1; off < 4; off++) {
		ck_assert_uint_eq(rd(off), 0xff);
		i8042_io_write(kbc, off, &b, 1);
	}
	ck_assert_int_eq(rec.exits, 0);
	struct i8042 *other = NULL;
	ck_assert_int_eq(i8042_create(NULL, &ctl, NULL, NULL), -EINVAL);
	ck_assert_int_eq(i8042_create(&other, NULL, NULL, NULL), -EINVAL);
	ck_assert_ptr_null(other);
}
END_TEST

/* Reads one keyboard byte the way Linux's interrupt handler does: OBF, not AUX. */
static uint8_t kbd_byte(void)
{
	ck_assert_uint_eq(rd(CMD) & (STR_OBF | STR_AUXDATA), STR_OBF);
	return rd(DATA);
}

static void enable_keyboard(void)
{
	wr(DATA, 0xf4);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
}

START_TEST(keyboard_answers_atkbd_probe)
{
	/* GETID: ACK, then ab 83, the second byte translated to 0x41 (XLATE is on). */
	wr(DATA, 0xf2);
	ck_assert_int_eq(irq_edges, 1);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	ck_assert_int_eq(irq_edges, 2); /* the next byte loaded: another edge */
	ck_assert_uint_eq(kbd_byte(), 0xab);
	ck_assert_uint_eq(kbd_byte(), 0x41);
	ck_assert_int_eq(irq_edges, 3);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
	/* SETLEDS and SETREP take a parameter: two ACKs each. */
	wr(DATA, 0xed);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	wr(DATA, 0x00);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	wr(DATA, 0xf3);
	wr(DATA, 0x20);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	/* Reset: ACK and the self-test result. */
	wr(DATA, 0xff);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	ck_assert_uint_eq(kbd_byte(), 0xaa);
	/* Echo. */
	wr(DATA, 0xee);
	ck_assert_uint_eq(kbd_byte(), 0xee);
	ck_assert_int_eq(rec.exits, 0);
}
END_TEST

START_TEST(ctrl_alt_del_set1_when_translating)
{
	static const uint8_t set1[] = {0x1d, 0x38, 0xe0, 0x53, 0xe0, 0xd3, 0xb8, 0x9d};
	int edges;

	/* Disabled until the driver enables scanning (atkbd_activate: 0xf4). */
	ck_assert_int_eq(i8042_ctrl_alt_del(kbc), -EAGAIN);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
	enable_keyboard();
	edges = irq_edges;
	ck_assert_int_eq(i8042_ctrl_alt_del(kbc), 0);
	for (size_t i = 0; i < sizeof(set1); i++)
		ck_assert_uint_eq(kbd_byte(), set1[i]);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
	ck_assert_int_eq(irq_edges - edges, (int)sizeof(set1)); /* one edge per byte */
	/* 0xf5 disables it again. */
	wr(DATA, 0xf5);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	ck_assert_int_eq(i8042_ctrl_alt_del(kbc), -EAGAIN);
}
END_TEST

START_TEST(ctrl_alt_del_set2_without_translation)
{
	static const uint8_t set2[] = {0x14, 0x11, 0xe0, 0x71, 0xe0, 0xf0,
				       0x71, 0xf0, 0x11, 0xf0, 0x14};

	wr(CMD, 0x60);
	wr(DATA, 0x05); /* KBDINT | SYSFLAG, no XLATE (i8042.direct=1) */
	enable_keyboard();
	ck_assert_int_eq(i8042_ctrl_alt_del(kbc), 0);
	for (size_t i = 0; i < sizeof(set2); i++)
		ck_assert_uint_eq(kbd_byte(), set2[i]);
	/* Untranslated IDs too. */
	wr(DATA, 0xf2);
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	ck_assert_uint_eq(kbd_byte(), 0xab);
	ck_assert_uint_eq(kbd_byte(), 0x83);
}
END_TEST

START_TEST(interface_disable_holds_bytes_and_kbdint_gates_irq)
{
	int edges;

	enable_keyboard();
	wr(CMD, 0xad); /* keyboard interface off: the bytes wait */
	ck_assert_int_eq(i8042_ctrl_alt_del(kbc), 0);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
	edges = irq_edges;
	wr(CMD, 0xae);
	ck_assert_int_eq(irq_edges, edges + 1);
	ck_assert_uint_eq(kbd_byte(), 0x1d);
	/* KBDINT off: bytes still arrive (polled), no edges. */
	wr(CMD, 0x60);
	wr(DATA, 0x44);
	edges = irq_edges;
	ck_assert_uint_eq(kbd_byte(), 0x38);
	ck_assert_int_eq(irq_edges, edges);
}
END_TEST

START_TEST(hostile_guest_cannot_grow_the_queue)
{
	int busy = 0;

	enable_keyboard();
	/* Never reading: the queue fills and a further press is refused whole... */
	for (int i = 0; i < 10; i++) {
		int edges = irq_edges;

		busy += i8042_ctrl_alt_del(kbc) == -EBUSY;
		/* ... but each press raises the unread byte's edge again (a lost edge). */
		ck_assert_int_eq(irq_edges, edges + 1);
	}
	ck_assert_int_ge(busy, 1);
	/* Thousands of GETIDs unread: replies dropped, nothing grows, no exit. */
	for (int i = 0; i < 5000; i++)
		wr(DATA, 0xf2);
	for (int i = 0; i < 64; i++)
		rd(DATA);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
	ck_assert_int_eq(rec.exits, 0);
	/* A reset empties the keyboard's buffer. */
	ck_assert_int_eq(i8042_ctrl_alt_del(kbc), 0);
	wr(DATA, 0xff);
	rd(DATA); /* the first key byte, already in the output buffer */
	ck_assert_uint_eq(kbd_byte(), 0xfa);
	ck_assert_uint_eq(kbd_byte(), 0xaa);
	ck_assert_uint_eq(rd(CMD) & STR_OBF, 0);
}
END_TEST

Suite *i8042_suite(void)
{
	Suite *s = suite_create("i8042");
	TCase *tc = tcase_create("registers");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, status_idle_after_create);
	tcase_add_test(tc, self_test_and_ctr_read_write);
	tcase_add_test(tc, pulse_reset_requests_reboot);
	tcase_add_test(tc, output_port_reset_bit);
	tcase_add_test(tc, unknown_commands_and_stray_data_ignored);
	tcase_add_test(tc, odd_widths_and_offsets);
	tcase_add_test(tc, keyboard_answers_atkbd_probe);
	tcase_add_test(tc, ctrl_alt_del_set1_when_translating);
	tcase_add_test(tc, ctrl_alt_del_set2_without_translation);
	tcase_add_test(tc, interface_disable_holds_bytes_and_kbdint_gates_irq);
	tcase_add_test(tc, hostile_guest_cannot_grow_the_queue);
	suite_add_tcase(s, tc);
	return s;
}
