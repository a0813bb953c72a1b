/* SPDX-License-Identifier: MIT */
/*
 * AML byte-code builder; see aml.h.  Opcode values and encodings are from
 * ACPI 6.3 section 20 (AML grammar) and section 6.4 (resource data types).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "boot/aml.h"

/* ACPI 6.3 20.2: opcodes and prefixes used below. */
#define AML_ZERO_OP	  0x00
#define AML_ONE_OP	  0x01
#define AML_NAME_OP	  0x08
#define AML_BYTE_PREFIX	  0x0a
#define AML_WORD_PREFIX	  0x0b
#define AML_DWORD_PREFIX  0x0c
#define AML_STRING_PREFIX 0x0d
#define AML_QWORD_PREFIX  0x0e
#define AML_SCOPE_OP	  0x10
#define AML_BUFFER_OP	  0x11
#define AML_PACKAGE_OP	  0x12
#define AML_DUAL_NAME	  0x2e
#define AML_MULTI_NAME	  0x2f
#define AML_EXT_OP_PREFIX 0x5b
#define AML_DEVICE_OP	  0x82 /* after AML_EXT_OP_PREFIX */
#define AML_METHOD_OP	  0x14
#define AML_ARG0_OP	  0x68 /* Arg0Op..Arg6Op: 0x68..0x6e */
#define AML_LEQUAL_OP	  0x93
#define AML_IF_OP	  0xa0
#define AML_NOTIFY_OP	  0x86
#define AML_ROOT_CHAR	  '\\'
#define AML_PARENT_PREFIX '^'
#define AML_NULL_NAME	  0x00

/* ACPI 6.3 6.4.2 / 6.4.3: resource descriptor tags. */
#define RES_IRQ_NOFLAGS	   0x22 /* small item 0x04, length 2 */
#define RES_IO		   0x47 /* small item 0x08, length 7 */
#define RES_END_TAG	   0x79 /* small item 0x0f, length 1 */
#define RES_MEMORY32_FIXED 0x86
#define RES_EXT_INTERRUPT  0x89
#define RES_IO_DECODE16	   0x01

__attribute__((format(printf, 3, 4))) static int aml_fail(struct aml_buf *b, int ret,
							  const char *fmt, ...)
{
	char msg[sizeof(b->err.msg)];
	va_list ap;

	if (b->error)
		return b->error;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	b->error = ret;
	return vmm_errf(&b->err, ret, "AML: %s", msg);
}

void aml_init(struct aml_buf *b, size_t max_len)
{
	memset(b, 0, sizeof(*b));
	b->max_len = max_len ? max_len : AML_PKGLEN_MAX;
}

void aml_free(struct aml_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

static int aml_reserve(struct aml_buf *b, size_t n)
{
	size_t want, cap;
	uint8_t *p;

	if (b->error)
		return b->error;
	if (n > b->max_len || b->len > b->max_len - n)
		return aml_fail(b, -ENOSPC, "%zu bytes of AML exceed the %zu-byte limit",
				b->len + n, b->max_len);
	want = b->len + n;
	if (want <= b->cap)
		return 0;
	cap = b->cap ? b->cap : 256;
	while (cap < want)
		cap *= 2;
	p = realloc(b->data, cap);
	if (!p)
		return aml_fail(b, -ENOMEM, "out of memory growing the buffer to %zu bytes", cap);
	b->data = p;
	b->cap = cap;
	return 0;
}

int aml_bytes(struct aml_buf *b, const void *p, size_t n)
{
	int ret = aml_reserve(b, n);

	if (ret)
		return ret;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	return 0;
}

int aml_byte(struct aml_buf *b, uint8_t v)
{
	return aml_bytes(b, &v, 1);
}

/* Inserts n bytes at pos, shifting the tail: used to prefix a finished body. */
static int aml_insert(struct aml_buf *b, size_t pos, const uint8_t *p, size_t n)
{
	int ret;

	if (b->error)
		return b->error;
	if (pos > b->len)
		return aml_fail(b, -EINVAL, "mark %zu is past the end (%zu): unbalanced begin/end",
				pos, b->len);
	ret = aml_reserve(b, n);
	if (ret)
		return ret;
	memmove(b->data + pos + n, b->data + pos, b->len - pos);
	memcpy(b->data + pos, p, n);
	b->len += n;
	return 0;
}

/* ---- Encodings ----------------------------------------------------------- */

/* Largest PkgLength value that fits in 1, 2, 3 and 4 bytes (ACPI 6.3 20.2.4). */
static const uint32_t pkglen_limit[4] = {0x3f, 0xfff, 0xfffff, AML_PKGLEN_MAX};

int aml_pkglen_encode(uint32_t value, uint8_t out[4])
{
	int n, i;

	if (value <= pkglen_limit[0]) {
		out[0] = (uint8_t)value;
		return 1;
	}
	for (n = 2; n <= 4; n++)
		if (value <= pkglen_limit[n - 1])
			break;
	if (n > 4)
		return -EINVAL;
	/* Lead byte: bits 7-6 count the follow bytes, bits 3-0 the low nibble. */
	out[0] = (uint8_t)(((n - 1) << 6) | (value & 0x0f));
	for (i = 1; i < n; i++)
		out[i] = (uint8_t)(value >> (4 + 8 * (i - 1)));
	return n;
}

int aml_pkglen_size(size_t body_len)
{
	int n;

	for (n = 1; n <= 4; n++)
		if (body_len <= pkglen_limit[n - 1] - (size_t)n)
			return n;
	return -EINVAL;
}

static bool is_lead_name_char(char c)
{
	return (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_lead_name_char(c) || (c >= '0' && c <= '9');
}

int aml_nameseg(const char *seg, size_t len, char out[4])
{
	size_t i;

	if (len < 1 || len > 4 || !is_lead_name_char(seg[0]))
		return -EINVAL;
	for (i = 0; i < 4; i++) {
		if (i >= len) {
			out[i] = '_';
			continue;
		}
		if (!is_name_char(seg[i]))
			return -EINVAL;
		out[i] = seg[i];
	}
	return 0;
}

size_t aml_integer_encode(uint64_t v, uint8_t out[9])
{
	size_t n, i;

	if (v == 0) {
		out[0] = AML_ZERO_OP;
		return 1;
	}
	if (v == 1) {
		out[0] = AML_ONE_OP;
		return 1;
	}
	if (v <= UINT8_MAX) {
		out[0] = AML_BYTE_PREFIX;
		n = 1;
	} else if (v <= UINT16_MAX) {
		out[0] = AML_WORD_PREFIX;
		n = 2;
	} else if (v <= UINT32_MAX) {
		out[0] = AML_DWORD_PREFIX;
		n = 4;
	} else {
		out[0] = AML_QWORD_PREFIX;
		n = 8;
	}
	for (i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(v >> (8 * i));
	return n + 1;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int aml_eisaid_encode(const char *id, uint32_t *out)
{
	unsigned letters[3];
	int digits[4];
	uint8_t bytes[4];
	int i;

	if (!id || strlen(id) != 7)
		return -EINVAL;
	for (i = 0; i < 3; i++) {
		if (id[i] < 'A' || id[i] > 'Z')
			return -EINVAL;
		letters[i] = (unsigned)(id[i] - '@'); /* 'A' = 1 .. 'Z' = 26, five bits */
	}
	for (i = 0; i < 4; i++) {
		digits[i] = hex_value(id[3 + i]);
		if (digits[i] < 0)
			return -EINVAL;
	}
	/*
	 * The ID is a big-endian bit string (0, 3 x 5-bit letters, 4 nibbles),
	 * stored as a little-endian DWORD: that is what iasl's EisaId() emits.
	 */
	bytes[0] = (uint8_t)((letters[0] << 2) | (letters[1] >> 3));
	bytes[1] = (uint8_t)(((letters[1] & 7) << 5) | letters[2]);
	bytes[2] = (uint8_t)((digits[0] << 4) | digits[1]);
	bytes[3] = (uint8_t)((digits[2] << 4) | digits[3]);
	*out = (uint32_t)bytes[0] | (uint32_t)bytes[1] << 8 | (uint32_t)bytes[2] << 16 |
	       (uint32_t)bytes[3] << 24;
	return 0;
}

/* ---- Data objects --------------------------------------------------------- */

int aml_integer(struct aml_buf *b, uint64_t v)
{
	uint8_t enc[9];
	size_t n = aml_integer_encode(v, enc);

	return aml_bytes(b, enc, n);
}

int aml_string(struct aml_buf *b, const char *s)
{
	size_t i, n;
	int ret;

	if (b->error)
		return b->error;
	if (!s)
		return aml_fail(b, -EINVAL, "NULL string");
	n = strlen(s);
	/* AsciiCharList is 0x01..0x7f; NUL terminates (ACPI 6.3 20.2.3). */
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] > 0x7f)
			return aml_fail(b, -EINVAL, "string \"%s\" is not ASCII", s);
	ret = aml_byte(b, AML_STRING_PREFIX);
	if (!ret)
		ret = aml_bytes(b, s, n + 1);
	return ret;
}

int aml_eisaid(struct aml_buf *b, const char *id)
{
	uint32_t v;

	if (b->error)
		return b->error;
	if (aml_eisaid_encode(id, &v))
		return aml_fail(b, -EINVAL, "bad EISA ID \"%s\" (want 3 letters + 4 hex digits)",
				id ? id : "(null)");
	/* Always a DWordConst, as EisaId() compiles, whatever the value. */
	aml_byte(b, AML_DWORD_PREFIX);
	for (int i = 0; i < 4; i++)
		aml_byte(b, (uint8_t)(v >> (8 * i)));
	return b->error;
}

int aml_namestring(struct aml_buf *b, const char *path)
{
	uint8_t enc[2 + 255 + 2 + 255 * 4]; /* prefixes, multi-name header, segs */
	size_t n = 0, nsegs = 0, prefix_end;
	const char *p, *dot;

	if (b->error)
		return b->error;
	if (!path)
		return aml_fail(b, -EINVAL, "NULL name");
	p = path;
	if (*p == AML_ROOT_CHAR) {
		enc[n++] = AML_ROOT_CHAR;
		p++;
	} else {
		while (*p == AML_PARENT_PREFIX) {
			if (n >= 255)
				return aml_fail(b, -EINVAL, "name \"%.32s...\": too many '^'",
						path);
			enc[n++] = AML_PARENT_PREFIX;
			p++;
		}
	}
	prefix_end = n;
	if (*p == '\0' && n == 0)
		return aml_fail(b, -EINVAL, "empty name");
	if (*p == '\0') {
		/* "\\" alone is the root scope: RootChar followed by NullName. */
		enc[n++] = AML_NULL_NAME;
		return aml_bytes(b, enc, n);
	}
	n += 2; /* room for a DualNamePrefix or MultiNamePrefix + count */
	for (;;) {
		dot = strchr(p, '.');
		size_t len = dot ? (size_t)(dot - p) : strlen(p);

		if (nsegs == 255)
			return aml_fail(b, -EINVAL, "name \"%.32s...\": more than 255 segments",
					path);
		if (aml_nameseg(p, len, (char *)enc + n))
			return aml_fail(b, -EINVAL,
					"bad name \"%s\": each segment needs 1-4 of [A-Z0-9_], "
					"not starting with a digit",
					path);
		n += 4;
		nsegs++;
		if (!dot)
			break;
		p = dot + 1;
	}
	if (nsegs == 1) {
		memmove(enc + prefix_end, enc + prefix_end + 2, 4);
		n -= 2;
	} else if (nsegs == 2) {
		memmove(enc + prefix_end + 1, enc + prefix_end + 2, 8);
		enc[prefix_end] = AML_DUAL_NAME;
		n -= 1;
	} else {
		enc[prefix_end] = AML_MULTI_NAME;
		enc[prefix_end + 1] = (uint8_t)nsegs;
	}
	return aml_bytes(b, enc, n);
}

int aml_name(struct aml_buf *b, const char *path)
{
	aml_byte(b, AML_NAME_OP);
	return aml_namestring(b, path);
}

int aml_name_integer(struct aml_buf *b, const char *path, uint64_t v)
{
	aml_name(b, path);
	return aml_integer(b, v);
}

int aml_name_string(struct aml_buf *b, const char *path, const char *s)
{
	aml_name(b, path);
	return aml_string(b, s);
}

/* ---- Nesting --------------------------------------------------------------- */

size_t aml_scope_begin(struct aml_buf *b, const char *path)
{
	size_t mark;

	aml_byte(b, AML_SCOPE_OP);
	mark = b->len;
	aml_namestring(b, path);
	return mark;
}

size_t aml_device_begin(struct aml_buf *b, const char *path)
{
	size_t mark;

	aml_byte(b, AML_EXT_OP_PREFIX);
	aml_byte(b, AML_DEVICE_OP);
	mark = b->len;
	aml_namestring(b, path);
	return mark;
}

size_t aml_package_begin(struct aml_buf *b, uint8_t num_elements)
{
	size_t mark;

	aml_byte(b, AML_PACKAGE_OP);
	mark = b->len;
	aml_byte(b, num_elements);
	return mark;
}

size_t aml_method_begin(struct aml_buf *b, const char *name, unsigned nargs, bool serialized)
{
	size_t mark;

	aml_byte(b, AML_METHOD_OP);
	mark = b->len;
	aml_namestring(b, name);
	if (nargs > 7)
		aml_fail(b, -EINVAL, "Method %s: %u arguments, at most 7", name, nargs);
	/* MethodFlags (20.2.5.2): ArgCount bits 0-2, SerializeFlag bit 3, SyncLevel 0. */
	aml_byte(b, (uint8_t)(nargs | (serialized ? 0x08 : 0)));
	return mark;
}

size_t aml_if_begin(struct aml_buf *b)
{
	aml_byte(b, AML_IF_OP);
	return b->len;
}

int aml_lequal(struct aml_buf *b)
{
	return aml_byte(b, AML_LEQUAL_OP);
}

int aml_arg(struct aml_buf *b, unsigned n)
{
	if (n > 6)
		return aml_fail(b, -EINVAL, "Arg%u: methods have Arg0..Arg6", n);
	return aml_byte(b, (uint8_t)(AML_ARG0_OP + n));
}

int aml_notify(struct aml_buf *b, const char *path, uint64_t value)
{
	/* DefNotify := NotifyOp NotifyObject(SuperName) NotifyValue(TermArg), 19.6.94. */
	aml_byte(b, AML_NOTIFY_OP);
	aml_namestring(b, path);
	return aml_integer(b, value);
}

int aml_end(struct aml_buf *b, size_t mark)
{
	uint8_t enc[4];
	size_t body;
	int n;

	if (b->error)
		return b->error;
	if (mark > b->len)
		return aml_fail(b, -EINVAL, "mark %zu is past the end (%zu): unbalanced begin/end",
				mark, b->len);
	body = b->len - mark;
	n = aml_pkglen_size(body);
	if (n < 0)
		return aml_fail(b, -ENOSPC, "%zu-byte body is too large for a PkgLength", body);
	aml_pkglen_encode((uint32_t)(body + (size_t)n), enc);
	return aml_insert(b, mark, enc, (size_t)n);
}

size_t aml_restemplate_begin(struct aml_buf *b)
{
	aml_byte(b, AML_BUFFER_OP);
	return b->len;
}

int aml_restemplate_end(struct aml_buf *b, size_t mark)
{
	static const uint8_t end_tag[2] = {RES_END_TAG, 0x00};
	uint8_t size_enc[9];
	size_t n;

	if (b->error)
		return b->error;
	if (mark > b->len)
		return aml_fail(b, -EINVAL, "mark %zu is past the end (%zu): unbalanced begin/end",
				mark, b->len);
	if (aml_bytes(b, end_tag, sizeof(end_tag)))
		return b->error;
	/* Buffer := BufferOp PkgLength BufferSize ByteList (ACPI 6.3 20.2.5.4). */
	n = aml_integer_encode(b->len - mark, size_enc);
	if (aml_insert(b, mark, size_enc, n))
		return b->error;
	return aml_end(b, mark);
}

/* ---- Resource descriptors ------------------------------------------------ */

int aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len)
{
	uint8_t d[8] = {
	    RES_IO,	  RES_IO_DECODE16,     (uint8_t)min, (uint8_t)(min >> 8),
	    (uint8_t)max, (uint8_t)(max >> 8), align,	     len,
	};

	if (b->error)
		return b->error;
	if (min > max)
		return aml_fail(b, -EINVAL, "IO descriptor: min 0x%x above max 0x%x", min, max);
	return aml_bytes(b, d, sizeof(d));
}

int aml_res_irq_noflags(struct aml_buf *b, unsigned irq)
{
	uint8_t d[3];

	if (b->error)
		return b->error;
	if (irq > 15)
		return aml_fail(b, -EINVAL, "IRQNoFlags: IRQ %u is not an ISA IRQ (0-15)", irq);
	d[0] = RES_IRQ_NOFLAGS;
	d[1] = (uint8_t)(1u << irq);
	d[2] = (uint8_t)((1u << irq) >> 8);
	return aml_bytes(b, d, sizeof(d));
}

int aml_res_memory32_fixed(struct aml_buf *b, bool read_write, uint32_t base, uint32_t size)
{
	uint8_t d[12] = {RES_MEMORY32_FIXED, 9, 0, read_write ? 1 : 0};
	int i;

	if (b->error)
		return b->error;
	if (size == 0 || (uint64_t)base + size > (1ull << 32))
		return aml_fail(b, -EINVAL, "Memory32Fixed: [0x%x, +0x%x) is empty or above 4 GiB",
				base, size);
	for (i = 0; i < 4; i++) {
		d[4 + i] = (uint8_t)(base >> (8 * i));
		d[8 + i] = (uint8_t)(size >> (8 * i));
	}
	return aml_bytes(b, d, sizeof(d));
}

int aml_res_interrupt(struct aml_buf *b, unsigned flags, uint32_t gsi)
{
	/* Length 6: flags, table length, one DWORD; no ResourceSource. */
	uint8_t d[9] = {RES_EXT_INTERRUPT, 6, 0, 0, 1};
	int i;

	if (b->error)
		return b->error;
	if (flags &
	    ~(AML_IRQ_CONSUMER | AML_IRQ_EDGE | AML_IRQ_ACTIVE_LOW | AML_IRQ_SHARED | AML_IRQ_WAKE))
		return aml_fail(b, -EINVAL, "Interrupt: unknown flags 0x%x", flags);
	d[3] = (uint8_t)flags;
	for (i = 0; i < 4; i++)
		d[5 + i] = (uint8_t)(gsi >> (8 * i));
	return aml_bytes(b, d, sizeof(d));
}
