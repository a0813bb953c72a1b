/* SPDX-License-Identifier: MIT */
#include <check.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"

#define ck_assert_bytes(buf, ...)                                                                  \
	do {                                                                                       \
		static const uint8_t expect_[] = {__VA_ARGS__};                                    \
		ck_assert_uint_eq((buf)->len, sizeof(expect_));                                    \
		ck_assert_mem_eq((buf)->data, expect_, sizeof(expect_));                           \
	} while (0)

/* Decodes a PkgLength at p; returns its value and sets *nbytes. */
static uint32_t decode_pkglen(const uint8_t *p, int *nbytes)
{
	int follow = p[0] >> 6;
	uint32_t v;

	*nbytes = follow + 1;
	if (!follow)
		return p[0] & 0x3f;
	v = p[0] & 0x0f;
	for (int i = 1; i <= follow; i++)
		v |= (uint32_t)p[i] << (4 + 8 * (i - 1));
	return v;
}

START_TEST(pkglen_encoding_boundaries)
{
	static const struct {
		uint32_t value;
		int n;
		uint8_t bytes[4];
	} cases[] = {
	    {0, 1, {0x00}},
	    {63, 1, {0x3f}},
	    {64, 2, {0x40, 0x04}},
	    {4095, 2, {0x4f, 0xff}},
	    {4096, 3, {0x80, 0x00, 0x01}},
	    {1048575, 3, {0x8f, 0xff, 0xff}},
	    {1048576, 4, {0xc0, 0x00, 0x00, 0x01}},
	    {AML_PKGLEN_MAX, 4, {0xcf, 0xff, 0xff, 0xff}},
	};
	uint8_t out[4];
	int nb;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		memset(out, 0xaa, sizeof(out));
		ck_assert_int_eq(aml_pkglen_encode(cases[i].value, out), cases[i].n);
		ck_assert_mem_eq(out, cases[i].bytes, (size_t)cases[i].n);
		ck_assert_uint_eq(decode_pkglen(out, &nb), cases[i].value);
		ck_assert_int_eq(nb, cases[i].n);
	}
	ck_assert_int_eq(aml_pkglen_encode(AML_PKGLEN_MAX + 1, out), -EINVAL);
	ck_assert_int_eq(aml_pkglen_encode(UINT32_MAX, out), -EINVAL);
}
END_TEST

START_TEST(pkglen_size_counts_itself)
{
	/* The value includes the PkgLength bytes, so a body of 63 needs two. */
	ck_assert_int_eq(aml_pkglen_size(0), 1);
	ck_assert_int_eq(aml_pkglen_size(62), 1);
	ck_assert_int_eq(aml_pkglen_size(63), 2);
	ck_assert_int_eq(aml_pkglen_size(4093), 2);
	ck_assert_int_eq(aml_pkglen_size(4094), 3);
	ck_assert_int_eq(aml_pkglen_size(1048572), 3);
	ck_assert_int_eq(aml_pkglen_size(1048573), 4);
	ck_assert_int_eq(aml_pkglen_size(AML_PKGLEN_MAX - 4), 4);
	ck_assert_int_eq(aml_pkglen_size(AML_PKGLEN_MAX - 3), -EINVAL);
	ck_assert_int_eq(aml_pkglen_size(SIZE_MAX), -EINVAL);
}
END_TEST

/* A Package of `body` raw bytes: the PkgLength must cover itself + body exactly. */
static void check_package_of(size_t body, int want_nbytes)
{
	struct aml_buf b;
	uint8_t *fill = calloc(1, body);
	size_t mark;
	uint32_t v;
	int nb;

	aml_init(&b, 0);
	mark = aml_package_begin(&b, 0);
	ck_assert_uint_eq(mark, 1);
	aml_bytes(&b, fill, body - 1); /* NumElements byte + filler = body */
	ck_assert_int_eq(aml_end(&b, mark), 0);
	ck_assert_int_eq(b.error, 0);
	ck_assert_uint_eq(b.data[0], 0x12);
	v = decode_pkglen(b.data + 1, &nb);
	ck_assert_int_eq(nb, want_nbytes);
	ck_assert_uint_eq(v, body + (size_t)nb);
	ck_assert_uint_eq(b.len, 1 + v);
	ck_assert_uint_eq(b.data[1 + nb], 0); /* NumElements moved behind the PkgLength */
	aml_free(&b);
	free(fill);
}

START_TEST(end_inserts_right_pkglen)
{
	check_package_of(62, 1);
	check_package_of(63, 2);
	check_package_of(4093, 2);
	check_package_of(4094, 3);
	check_package_of(1048572, 3);
	check_package_of(1048573, 4);
}
END_TEST

START_TEST(integers_use_smallest_encoding)
{
	static const struct {
		uint64_t v;
		size_t n;
		uint8_t bytes[9];
	} cases[] = {
	    {0, 1, {0x00}},
	    {1, 1, {0x01}},
	    {2, 2, {0x0a, 0x02}},
	    {0xff, 2, {0x0a, 0xff}},
	    {0x100, 3, {0x0b, 0x00, 0x01}},
	    {0xffff, 3, {0x0b, 0xff, 0xff}},
	    {0x10000, 5, {0x0c, 0x00, 0x00, 0x01, 0x00}},
	    {0xffffffffull, 5, {0x0c, 0xff, 0xff, 0xff, 0xff}},
	    {0x100000000ull, 9, {0x0e, 0, 0, 0, 0, 1, 0, 0, 0}},
	    {UINT64_MAX, 9, {0x0e, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	};
	struct aml_buf b;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		aml_init(&b, 0);
		ck_assert_int_eq(aml_integer(&b, cases[i].v), 0);
		ck_assert_uint_eq(b.len, cases[i].n);
		ck_assert_mem_eq(b.data, cases[i].bytes, cases[i].n);
		aml_free(&b);
	}
}
END_TEST

START_TEST(strings_and_eisaid)
{
	struct aml_buf b;
	uint32_t v = 0;

	aml_init(&b, 0);
	aml_string(&b, "LNRO0005");
	ck_assert_bytes(&b, 0x0d, 'L', 'N', 'R', 'O', '0', '0', '0', '5', 0x00);
	aml_free(&b);

	aml_init(&b, 0);
	aml_string(&b, "");
	ck_assert_bytes(&b, 0x0d, 0x00);
	aml_free(&b);

	aml_init(&b, 0);
	ck_assert_int_eq(aml_string(&b, "caf\xc3\xa9"), -EINVAL);
	ck_assert_uint_eq(b.len, 0);
	aml_free(&b);

	/* What iasl compiles EisaId("PNP0501") / EisaId("PNP0C0C") to. */
	ck_assert_int_eq(aml_eisaid_encode("PNP0501", &v), 0);
	ck_assert_uint_eq(v, 0x0105d041);
	ck_assert_int_eq(aml_eisaid_encode("PNP0C0C", &v), 0);
	ck_assert_uint_eq(v, 0x0c0cd041);
	ck_assert_int_eq(aml_eisaid_encode("pnp0501", &v), -EINVAL);
	ck_assert_int_eq(aml_eisaid_encode("PNP050G", &v), -EINVAL);
	ck_assert_int_eq(aml_eisaid_encode("PNP050", &v), -EINVAL);
	ck_assert_int_eq(aml_eisaid_encode("PNP05011", &v), -EINVAL);
	ck_assert_int_eq(aml_eisaid_encode("P1P0501", &v), -EINVAL);
	ck_assert_int_eq(aml_eisaid_encode(NULL, &v), -EINVAL);

	aml_init(&b, 0);
	aml_eisaid(&b, "PNP0501");
	ck_assert_bytes(&b, 0x0c, 0x41, 0xd0, 0x05, 0x01);
	aml_free(&b);

	aml_init(&b, 0);
	ck_assert_int_eq(aml_eisaid(&b, "LNRO0005"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(b.err.msg, "LNRO0005"));
	aml_free(&b);
}
END_TEST

START_TEST(nameseg_padding_and_validation)
{
	char out[4];

	ck_assert_int_eq(aml_nameseg("_SB", 3, out), 0);
	ck_assert_mem_eq(out, "_SB_", 4);
	ck_assert_int_eq(aml_nameseg("S", 1, out), 0);
	ck_assert_mem_eq(out, "S___", 4);
	ck_assert_int_eq(aml_nameseg("COM1", 4, out), 0);
	ck_assert_mem_eq(out, "COM1", 4);
	ck_assert_int_eq(aml_nameseg("", 0, out), -EINVAL);
	ck_assert_int_eq(aml_nameseg("COM12", 5, out), -EINVAL);
	ck_assert_int_eq(aml_nameseg("1ABC", 4, out), -EINVAL);
	ck_assert_int_eq(aml_nameseg("com1", 4, out), -EINVAL);
	ck_assert_int_eq(aml_nameseg("A-B", 3, out), -EINVAL);
	ck_assert_int_eq(aml_nameseg("AB\0C", 4, out), -EINVAL);
}
END_TEST

START_TEST(namestrings)
{
	struct aml_buf b;

	aml_init(&b, 0);
	aml_namestring(&b, "_HID");
	ck_assert_bytes(&b, '_', 'H', 'I', 'D');
	aml_free(&b);

	aml_init(&b, 0);
	aml_namestring(&b, "\\_S5");
	ck_assert_bytes(&b, '\\', '_', 'S', '5', '_');
	aml_free(&b);

	aml_init(&b, 0);
	aml_namestring(&b, "\\_SB.COM1");
	ck_assert_bytes(&b, '\\', 0x2e, '_', 'S', 'B', '_', 'C', 'O', 'M', '1');
	aml_free(&b);

	aml_init(&b, 0);
	aml_namestring(&b, "^^A.B.C");
	ck_assert_bytes(&b, '^', '^', 0x2f, 3, 'A', '_', '_', '_', 'B', '_', '_', '_', 'C', '_',
			'_', '_');
	aml_free(&b);

	aml_init(&b, 0);
	aml_namestring(&b, "\\");
	ck_assert_bytes(&b, '\\', 0x00);
	aml_free(&b);

	static const char *const bad[] = {"",	     "\\_SB.",	   "A..B",  ".A", "\\^A",
					  "TOOLONG", "\\_SB.9ABC", "lower", "A B"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		aml_init(&b, 0);
		ck_assert_int_eq(aml_namestring(&b, bad[i]), -EINVAL);
		ck_assert_uint_eq(b.len, 0);
		ck_assert_str_ne(b.err.msg, "");
		aml_free(&b);
	}
	aml_init(&b, 0);
	ck_assert_int_eq(aml_namestring(&b, NULL), -EINVAL);
	aml_free(&b);
}
END_TEST

START_TEST(errors_are_sticky)
{
	struct aml_buf b;
	size_t len, mark;

	aml_init(&b, 0);
	aml_name_integer(&b, "_UID", 0);
	len = b.len;
	ck_assert_int_eq(aml_name(&b, "BAD!"), -EINVAL);
	ck_assert_ptr_nonnull(strstr(b.err.msg, "BAD!"));
	/* Everything after the first error is a no-op that keeps reporting it. */
	ck_assert_int_eq(aml_integer(&b, 5), -EINVAL);
	mark = aml_device_begin(&b, "GOOD");
	ck_assert_int_eq(aml_end(&b, mark), -EINVAL);
	ck_assert_int_eq(aml_res_io(&b, 1, 2, 1, 1), -EINVAL);
	ck_assert_uint_eq(b.len, len + 1); /* only the NameOp before the bad name */
	ck_assert_int_eq(b.error, -EINVAL);
	aml_free(&b);
}
END_TEST

START_TEST(size_limit_is_enospc)
{
	struct aml_buf b;
	uint8_t big[32] = {0};

	aml_init(&b, 16);
	ck_assert_int_eq(aml_bytes(&b, big, 16), 0);
	ck_assert_int_eq(aml_byte(&b, 1), -ENOSPC);
	ck_assert_uint_eq(b.len, 16);
	ck_assert_str_ne(b.err.msg, "");
	aml_free(&b);

	/* The PkgLength inserted by aml_end() also counts against the limit. */
	aml_init(&b, 8);
	size_t mark = aml_scope_begin(&b, "ABCD");
	aml_bytes(&b, big, 3);
	ck_assert_uint_eq(b.len, 8);
	ck_assert_int_eq(aml_end(&b, mark), -ENOSPC);
	aml_free(&b);

	/* Huge lengths do not wrap the bounds check. */
	aml_init(&b, 0);
	aml_byte(&b, 0);
	ck_assert_int_eq(aml_bytes(&b, big, SIZE_MAX), -ENOSPC);
	aml_free(&b);
}
END_TEST

START_TEST(unbalanced_mark_is_reported)
{
	struct aml_buf b;

	aml_init(&b, 0);
	aml_byte(&b, 0);
	ck_assert_int_eq(aml_end(&b, 5), -EINVAL);
	aml_free(&b);
	aml_init(&b, 0);
	ck_assert_int_eq(aml_restemplate_end(&b, 7), -EINVAL);
	aml_free(&b);
}
END_TEST

START_TEST(resource_template_com1)
{
	struct aml_buf b;
	size_t mark;

	aml_init(&b, 0);
	mark = aml_restemplate_begin(&b);
	aml_res_io(&b, 0x3f8, 0x3f8, 0, 8);
	aml_res_irq_noflags(&b, 4);
	ck_assert_int_eq(aml_restemplate_end(&b, mark), 0);
	/* BufferOp, PkgLength 16, BufferSize 13, IO, IRQNoFlags, EndTag. */
	ck_assert_bytes(&b, 0x11, 0x10, 0x0a, 0x0d, 0x47, 0x01, 0xf8, 0x03, 0xf8, 0x03, 0x00, 0x08,
			0x22, 0x10, 0x00, 0x79, 0x00);
	aml_free(&b);
}
END_TEST

START_TEST(resource_template_mmio)
{
	struct aml_buf b;
	size_t mark;

	aml_init(&b, 0);
	mark = aml_restemplate_begin(&b);
	aml_res_memory32_fixed(&b, true, 0xd0001000, 0x1000);
	aml_res_interrupt(&b, AML_IRQ_CONSUMER | AML_IRQ_EDGE, 6);
	ck_assert_int_eq(aml_restemplate_end(&b, mark), 0);
	ck_assert_bytes(&b, 0x11, 0x1a, 0x0a, 0x17, /* 23-byte buffer */
			0x86, 0x09, 0x00, 0x01, 0x00, 0x10, 0x00, 0xd0, 0x00, 0x10, 0x00,
			0x00,						      /* mem */
			0x89, 0x06, 0x00, 0x03, 0x01, 0x06, 0x00, 0x00, 0x00, /* Interrupt {6} */
			0x79, 0x00);
	aml_free(&b);
}
END_TEST

START_TEST(resource_descriptor_validation)
{
	struct aml_buf b;

	aml_init(&b, 0);
	ck_assert_int_eq(aml_res_irq_noflags(&b, 16), -EINVAL);
	aml_free(&b);
	aml_init(&b, 0);
	ck_assert_int_eq(aml_res_io(&b, 0x400, 0x3ff, 1, 1), -EINVAL);
	aml_free(&b);
	aml_init(&b, 0);
	ck_assert_int_eq(aml_res_memory32_fixed(&b, true, 0x1000, 0), -EINVAL);
	aml_free(&b);
	aml_init(&b, 0);
	ck_assert_int_eq(aml_res_memory32_fixed(&b, true, 0xfffff000, 0x2000), -EINVAL);
	aml_free(&b);
	aml_init(&b, 0);
	ck_assert_int_eq(aml_res_memory32_fixed(&b, false, 0xfffff000, 0x1000), 0);
	ck_assert_uint_eq(b.data[3], 0); /* ReadOnly */
	aml_free(&b);
	aml_init(&b, 0);
	ck_assert_int_eq(aml_res_interrupt(&b, 0x20, 5), -EINVAL);
	aml_free(&b);
	aml_init(&b, 0);
	ck_assert_int_eq(aml_res_interrupt(&b, AML_IRQ_SHARED | AML_IRQ_ACTIVE_LOW, 0x12345678), 0);
	ck_assert_bytes(&b, 0x89, 0x06, 0x00, 0x0c, 0x01, 0x78, 0x56, 0x34, 0x12);
	aml_free(&b);
}
END_TEST

START_TEST(nested_device_in_scope)
{
	struct aml_buf b;
	uint8_t filler[70] = {0};
	size_t scope, dev;
	uint32_t v;
	int nb, nb2;

	aml_init(&b, 0);
	scope = aml_scope_begin(&b, "\\_SB_");
	dev = aml_device_begin(&b, "VR00");
	aml_bytes(&b, filler, sizeof(filler));
	ck_assert_int_eq(aml_end(&b, dev), 0);
	ck_assert_int_eq(aml_end(&b, scope), 0);
	ck_assert_int_eq(b.error, 0);

	/* ScopeOp PkgLength(2) "\_SB_" ExtOp DeviceOp PkgLength(2) "VR00" filler */
	ck_assert_uint_eq(b.data[0], 0x10);
	v = decode_pkglen(b.data + 1, &nb);
	ck_assert_int_eq(nb, 2);
	ck_assert_uint_eq(v, b.len - 1);
	ck_assert_mem_eq(b.data + 1 + nb, "\\_SB_", 5);
	ck_assert_uint_eq(b.data[1 + nb + 5], 0x5b);
	ck_assert_uint_eq(b.data[1 + nb + 6], 0x82);
	v = decode_pkglen(b.data + 1 + nb + 7, &nb2);
	ck_assert_int_eq(nb2, 2);
	ck_assert_uint_eq(v, 2 + 4 + sizeof(filler));
	ck_assert_mem_eq(b.data + 1 + nb + 7 + nb2, "VR00", 4);
	ck_assert_uint_eq(b.len, 1 + 2 + 5 + 2 + 2 + 4 + sizeof(filler));
	aml_free(&b);
}
END_TEST

START_TEST(s5_package)
{
	struct aml_buf b;
	size_t pkg;

	aml_init(&b, 0);
	aml_name(&b, "\\_S5");
	pkg = aml_package_begin(&b, 4);
	aml_integer(&b, 5);
	aml_integer(&b, 0);
	aml_integer(&b, 0);
	aml_integer(&b, 0);
	aml_end(&b, pkg);
	/* What iasl emits for Name (\_S5, Package (0x04) {0x05, Zero, Zero, Zero}). */
	ck_assert_bytes(&b, 0x08, '\\', '_', 'S', '5', '_', 0x12, 0x07, 0x04, 0x0a, 0x05, 0x00,
			0x00, 0x00);
	aml_free(&b);
}
END_TEST

START_TEST(event_method_with_if_and_notify)
{
	struct aml_buf b;
	size_t method, cond;

	aml_init(&b, 0);
	method = aml_method_begin(&b, "_EVT", 1, false);
	cond = aml_if_begin(&b);
	aml_lequal(&b);
	aml_arg(&b, 0);
	aml_integer(&b, 0x15);
	aml_notify(&b, "\\_SB_.PWRB", 0x80);
	aml_end(&b, cond);
	aml_end(&b, method);
	ck_assert_int_eq(b.error, 0);
	/*
	 * What iasl emits for Method (_EVT, 1, NotSerialized) {
	 * If ((Arg0 == 0x15)) { Notify (\_SB.PWRB, 0x80) } }.
	 */
	ck_assert_bytes(&b, 0x14, 0x19, '_', 'E', 'V', 'T', 0x01, 0xa0, 0x12, 0x93, 0x68, 0x0a,
			0x15, 0x86, '\\', 0x2e, '_', 'S', 'B', '_', 'P', 'W', 'R', 'B', 0x0a, 0x80);
	aml_free(&b);

	/* Serialized with 7 arguments; 8 and Arg7 do not exist. */
	aml_init(&b, 0);
	aml_end(&b, aml_method_begin(&b, "M000", 7, true));
	ck_assert_bytes(&b, 0x14, 0x06, 'M', '0', '0', '0', 0x0f);
	aml_free(&b);
	aml_init(&b, 0);
	aml_method_begin(&b, "M000", 8, false);
	ck_assert_int_eq(b.error, -EINVAL);
	aml_free(&b);
	aml_init(&b, 0);
	ck_assert_int_eq(aml_arg(&b, 7), -EINVAL);
	aml_free(&b);
}
END_TEST

Suite *aml_suite(void)
{
	Suite *s = suite_create("aml");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, pkglen_encoding_boundaries);
	tcase_add_test(tc, pkglen_size_counts_itself);
	tcase_add_test(tc, end_inserts_right_pkglen);
	tcase_add_test(tc, integers_use_smallest_encoding);
	tcase_add_test(tc, strings_and_eisaid);
	tcase_add_test(tc, nameseg_padding_and_validation);
	tcase_add_test(tc, namestrings);
	tcase_add_test(tc, errors_are_sticky);
	tcase_add_test(tc, size_limit_is_enospc);
	tcase_add_test(tc, unbalanced_mark_is_reported);
	tcase_add_test(tc, resource_template_com1);
	tcase_add_test(tc, resource_template_mmio);
	tcase_add_test(tc, resource_descriptor_validation);
	tcase_add_test(tc, nested_device_in_scope);
	tcase_add_test(tc, s5_package);
	tcase_add_test(tc, event_method_with_if_and_notify);
	suite_add_tcase(s, tc);
	return s;
}
