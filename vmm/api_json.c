/* SPDX-License-Identifier: MIT */
/* JSON bodies of the HTTP API (vmm/api_json.h), through json-c. */
#include "vmm/api_json.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int fault(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fault(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

int api_json_parse(const char *body, size_t len, struct json_object **out, char *err, size_t errlen)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (len == 0)
		return fault(err, errlen, "the request needs a JSON body");
	if (len > API_BODY_MAX)
		return fault(err, errlen, "body of %zu bytes is larger than the limit of %d bytes",
			     len, API_BODY_MAX);
	/* json-c would stop at a NUL and take what came before it for the whole body. */
	if (memchr(body, '\0', len))
		return fault(err, errlen, "body contains a NUL byte");
	/* The depth bounds json-c's recursion and allocation on nested junk. */
	tok = json_tokener_new_ex(API_JSON_DEPTH);
	if (!tok)
		return fault(err, errlen, "out of memory");
	obj = json_tokener_parse_ex(tok, body, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (jerr == json_tokener_continue || (!obj && jerr == json_tokener_success)) {
		json_object_put(obj);
		return fault(err, errlen, "body is not complete JSON");
	}
	if (jerr != json_tokener_success) {
		json_object_put(obj);
		return fault(err, errlen, "body is not valid JSON: %s",
			     json_tokener_error_desc(jerr));
	}
	while (end < len && strchr(" \t\r\n", body[end]))
		end++;
	if (end < len) {
		json_object_put(obj);
		return fault(err, errlen, "body has bytes after its JSON value (offset %zu)", end);
	}
	if (!json_object_is_type(obj, json_type_object)) {
		json_object_put(obj);
		return fault(err, errlen, "body must be a JSON object");
	}
	*out = obj;
	return 0;
}

static const char *type_word(enum api_jtype t)
{
	switch (t) {
	case AJ_STRING:
		return "a string";
	case AJ_BOOL:
		return "a boolean";
	case AJ_UINT:
		return "a non-negative integer";
	case AJ_UNSUPPORTED:
		break;
	}
	return "?";
}

static int take(const struct api_jfield *f, struct json_object *v, char *err, size_t errlen)
{
	switch (f->type) {
	case AJ_STRING: {
		const char *s;
		if (!json_object_is_type(v, json_type_string))
			break;
		s = json_object_get_string(v);
		/* A "\u0000" inside would cut a path short where the caller cannot see it. */
		if ((size_t)json_object_get_string_len(v) != strlen(s))
			return fault(err, errlen, "field \"%s\" contains a NUL character", f->name);
		if (strlen(s) > API_STRING_MAX)
			return fault(err, errlen, "field \"%s\" is longer than %d bytes", f->name,
				     API_STRING_MAX);
		*(const char **)f->out = s;
		return 0;
	}
	case AJ_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			break;
		*(bool *)f->out = json_object_get_boolean(v);
		return 0;
	case AJ_UINT: {
		uint64_t u;
		if (!json_object_is_type(v, json_type_int))
			break;
		if (json_object_get_int64(v) < 0)
			return fault(err, errlen, "field \"%s\" must not be negative", f->name);
		u = json_object_get_uint64(v);
		if (u > f->max)
			return fault(err, errlen, "field \"%s\" is %llu, more than %llu", f->name,
				     (unsigned long long)u, (unsigned long long)f->max);
		*(uint64_t *)f->out = u;
		return 0;
	}
	case AJ_UNSUPPORTED:
		return fault(err, errlen, "field \"%s\" is not supported by minivmm", f->name);
	}
	return fault(err, errlen, "field \"%s\" must be %s", f->name, type_word(f->type));
}

int api_json_fields(struct json_object *obj, const struct api_jfield *fields, size_t n, char *err,
		    size_t errlen)
{
	/* Unknown names first: a misspelt required field says "unknown", not "missing". */
	json_object_object_foreach(obj, key, val)
	{
		size_t i;
		(void)val;
		for (i = 0; i < n; i++) {
			if (strcmp(fields[i].name, key) == 0)
				break;
		}
		if (i == n)
			return fault(err, errlen, "unknown field \"%.64s\"", key);
	}
	for (size_t i = 0; i < n; i++) {
		struct json_object *v = NULL;
		bool given = json_object_object_get_ex(obj, fields[i].name, &v) && v;
		int ret;

		if (fields[i].present)
			*fields[i].present = given;
		if (!given) {
			if (fields[i].required)
				return fault(err, errlen, "missing field \"%s\"", fields[i].name);
			continue;
		}
		ret = take(&fields[i], v, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

char *api_json_text(struct json_object *obj)
{
	const char *s = json_object_to_json_string_ext(obj, JSON_C_TO_STRING_PLAIN);

	return s ? strdup(s) : NULL;
}

char *api_json_fault(const char *msg)
{
	struct json_object *o = json_object_new_object();
	char *text;

	if (!o)
		return NULL;
	json_object_object_add(o, "fault_message", json_object_new_string(msg));
	text = api_json_text(o);
	json_object_put(o);
	return text;
}

/* Names are the library's ("vcpu0.run_ns"); a few levels are all they use. */
#define METRIC_DEPTH 4

void api_json_put_metric(struct json_object *root, const char *name, uint64_t value)
{
	struct json_object *node = root, *child;
	char part[64];
	const char *p = name, *dot;
	int dots = 0;

	/* Checked whole first, so that a name that ends up flat leaves no empty objects. */
	for (const char *q = name; *q; q++) {
		if (*q == '.' &&
		    (q == name || q[1] == '.' || q[1] == '\0' || ++dots > METRIC_DEPTH))
			goto flat;
	}
	if (!name[0])
		goto flat;
	while ((dot = strchr(p, '.'))) {
		size_t len = (size_t)(dot - p);
		if (len >= sizeof(part))
			goto flat;
		memcpy(part, p, len);
		part[len] = '\0';
		if (json_object_object_get_ex(node, part, &child)) {
			/* Only existing nodes can collide; below a new one everything is new. */
			if (!json_object_is_type(child, json_type_object))
				goto flat;
		} else {
			child = json_object_new_object();
			if (!child)
				return;
			json_object_object_add(node, part, child);
		}
		node = child;
		p = dot + 1;
	}
	if (json_object_object_get_ex(node, p, &child) &&
	    json_object_is_type(child, json_type_object))
		goto flat;
	json_object_object_add(node, p, json_object_new_uint64(value));
	return;
flat:
	json_object_object_add(root, name, json_object_new_uint64(value));
}
