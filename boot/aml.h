/* SPDX-License-Identifier: MIT */
/*
 * A small AML (ACPI Machine Language) byte-code builder, enough for a
 * microVM's DSDT: names, integers, strings, packages, scopes, devices and
 * ResourceTemplate buffers.  Encodings follow ACPI 6.3 section 20.2 (AML
 * grammar) and section 6.4 (resource descriptors).
 *
 * Errors are sticky: the first failing call records a negative errno and a
 * one-line message in the buffer and every later call becomes a no-op, so a
 * caller can emit a whole tree and check aml_buf.error once at the end.
 * No global state: everything lives in the struct aml_buf passed in.
 *
 * Nesting: *_begin() returns a mark; the matching aml_end() (or
 * aml_restemplate_end()) inserts the PkgLength once the body is known.
 * Close in LIFO order, like the braces of the ASL source.
 */
#ifndef MINIVMM_AML_H
#define MINIVMM_AML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "vmm/log.h"

/* Largest value a PkgLength can encode (28 bits, ACPI 6.3 20.2.4). */
#define AML_PKGLEN_MAX 0x0fffffffu

/* Flags of the Extended Interrupt descriptor (ACPI 6.3 6.4.3.6, byte 3). */
#define AML_IRQ_CONSUMER   (1u << 0) /* ResourceConsumer (else Producer) */
#define AML_IRQ_EDGE	   (1u << 1) /* Edge (else Level) */
#define AML_IRQ_ACTIVE_LOW (1u << 2) /* ActiveLow (else ActiveHigh) */
#define AML_IRQ_SHARED	   (1u << 3) /* Shared (else Exclusive) */
#define AML_IRQ_WAKE	   (1u << 4) /* SharedAndWake / ExclusiveAndWake */

struct aml_buf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t max_len;	    /* growing past this is -ENOSPC */
	int error;	    /* first error (negative errno), 0 if none */
	struct vmm_err err; /* what went wrong, for the caller to pass up */
};

/* max_len 0 means AML_PKGLEN_MAX, the most one definition block can hold. */
void aml_init(struct aml_buf *b, size_t max_len);
void aml_free(struct aml_buf *b);

/* Raw bytes (opcodes the builder has no helper for). */
int aml_bytes(struct aml_buf *b, const void *p, size_t n);
int aml_byte(struct aml_buf *b, uint8_t v);

/*
 * Encodes a PkgLength whose value (which counts its own bytes) is `value`.
 * Returns the number of bytes written to out (1..4) or -EINVAL if value
 * exceeds AML_PKGLEN_MAX.
 */
int aml_pkglen_encode(uint32_t value, uint8_t out[4]);

/*
 * Bytes the PkgLength needs in front of a body of body_len bytes (1..4), or
 * -EINVAL if the body is too large for any encoding.
 */
int aml_pkglen_size(size_t body_len);

/*
 * Pads one NameSeg ("_SB", "COM1", "S5") to four characters with '_'.
 * Returns 0, or -EINVAL unless 1..4 characters of [A-Z0-9_] with no leading
 * digit (ACPI 6.3 20.2.2).
 */
int aml_nameseg(const char *seg, size_t len, char out[4]);

/* Smallest integer encoding of v (ZeroOp, OneOp, Byte/Word/DWord/QWordConst). */
size_t aml_integer_encode(uint64_t v, uint8_t out[9]);

/* "PNP0501" -> 0x0105d041, the compressed EISA ID that EisaId() produces. */
int aml_eisaid_encode(const char *id, uint32_t *out);

/* Data objects. */
int aml_integer(struct aml_buf *b, uint64_t v);
int aml_string(struct aml_buf *b, const char *s); /* ASCII 0x01..0x7f */
int aml_eisaid(struct aml_buf *b, const char *id);

/* "\\_SB_.COM1", "_HID", "^PARN.X": root/parent prefixes and dotted segments. */
int aml_namestring(struct aml_buf *b, const char *path);

/* NameOp + NameString; the caller emits the value next (Name(_UID, 0)). */
int aml_name(struct aml_buf *b, const char *path);

/* Shorthands for Name(path, <integer>) and Name(path, "<string>"). */
int aml_name_integer(struct aml_buf *b, const char *path, uint64_t v);
int aml_name_string(struct aml_buf *b, const char *path, const char *s);

/* Scope(path) { ... }, Device(path) { ... }, Package(n) { ... }: end with aml_end(). */
size_t aml_scope_begin(struct aml_buf *b, const char *path);
size_t aml_device_begin(struct aml_buf *b, const char *path);
size_t aml_package_begin(struct aml_buf *b, uint8_t num_elements);
int aml_end(struct aml_buf *b, size_t mark);

/*
 * Method(name, nargs, Serialized|NotSerialized) { ... }: end with aml_end().
 * If (predicate) { ... }: emit the predicate right after aml_if_begin(),
 * then the body, then aml_end().  LEqual(a, b): aml_lequal() followed by
 * the two operands.  Arg0..Arg6.  Notify(path, value).
 */
size_t aml_method_begin(struct aml_buf *b, const char *name, unsigned nargs, bool serialized);
size_t aml_if_begin(struct aml_buf *b);
int aml_lequal(struct aml_buf *b);
int aml_arg(struct aml_buf *b, unsigned n);
int aml_notify(struct aml_buf *b, const char *path, uint64_t value);

/*
 * ResourceTemplate() { ... }: a Buffer whose size is known only at the end;
 * aml_restemplate_end() appends the EndTag (checksum 0: "treat as correct",
 * ACPI 6.3 6.4.2.9) and inserts BufferSize and PkgLength.
 */
size_t aml_restemplate_begin(struct aml_buf *b);
int aml_restemplate_end(struct aml_buf *b, size_t mark);

/* IO (Decode16, min, max, align, len): ACPI 6.3 6.4.2.5. */
int aml_res_io(struct aml_buf *b, uint16_t min, uint16_t max, uint8_t align, uint8_t len);
/* IRQNoFlags () {irq}: ACPI 6.3 6.4.2.1, irq 0..15 (ISA, edge, active high). */
int aml_res_irq_noflags(struct aml_buf *b, unsigned irq);
/* Memory32Fixed (ReadWrite|ReadOnly, base, size): ACPI 6.3 6.4.3.4. */
int aml_res_memory32_fixed(struct aml_buf *b, bool read_write, uint32_t base, uint32_t size);
/* Interrupt (flags from AML_IRQ_*) {gsi}: ACPI 6.3 6.4.3.6, one interrupt. */
int aml_res_interrupt(struct aml_buf *b, unsigned flags, uint32_t gsi);

#endif
