/* SPDX-License-Identifier: MIT */
/*
 * Request and reply bodies of the HTTP API (vmm/api.c), with json-c.
 *
 * A request body is hostile input from an API client: it is parsed with a
 * bounded size and nesting depth, must be one JSON object and nothing after
 * it, and each endpoint lists its fields in a table: a missing required
 * field, a wrong type, an unknown field or a Firecracker field minivmm does
 * not implement is refused with a message that names it.
 */
#ifndef MINIVMM_API_JSON_H
#define MINIVMM_API_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Firecracker's limit on a request body (its API server's 50 KiB). */
#define API_BODY_MAX (50 * 1024)
/* Our bodies are flat objects (rate limiters would be two levels): anything deeper is junk. */
#define API_JSON_DEPTH 8
/* Longest string value taken (paths, boot_args: MVM_MAX_CMDLINE). */
#define API_STRING_MAX 4096

enum api_jtype {
	AJ_STRING,	/* -> const char ** (owned by the parsed object) */
	AJ_BOOL,	/* -> bool * */
	AJ_UINT,	/* -> uint64_t *, 0..max */
	AJ_UNSUPPORTED, /* a Firecracker field minivmm refuses when given (null = absent) */
};

struct api_jfield {
	const char *name;
	enum api_jtype type;
	bool required;
	void *out;
	bool *present; /* optional: set when the field was given (not null) */
	uint64_t max;  /* AJ_UINT bound */
};

/*
 * Parses `body` (len bytes, not NUL-terminated) into a JSON object.  0 and
 * *out (json_object_put() it), or -EINVAL with err saying what is wrong
 * (empty, not JSON, not an object, too deep, trailing bytes, too large).
 */
int api_json_parse(const char *body, size_t len, struct json_object **out, char *err,
		   size_t errlen);

/*
 * Fills the outputs of `fields` from obj.  -EINVAL with err naming the
 * first field that is missing, unknown, unsupported or of the wrong type.
 * A JSON null counts as absent.
 */
int api_json_fields(struct json_object *obj, const struct api_jfield *fields, size_t n, char *err,
		    size_t errlen);

/* {"fault_message": msg} as a malloc'd string (NULL when out of memory). */
char *api_json_fault(const char *msg);

/*
 * Adds `value` under a dotted metric name ("vcpu0.exits_io") to root,
 * nesting one object per dot: {"vcpu0": {"exits_io": N}}.  A name whose
 * path runs into a number (or is malformed) stays flat under its full name.
 */
void api_json_put_metric(struct json_object *root, const char *name, uint64_t value);

/* The object as compact text, malloc'd (NULL when out of memory). */
char *api_json_text(struct json_object *obj);

#endif
