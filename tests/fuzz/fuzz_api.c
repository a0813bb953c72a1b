/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API's router and bodies (vmm/api.c, vmm/api_json.c): what a
 * client's request becomes after libmicrohttpd has framed it.  An input is
 * a sequence of requests, each [method byte][path NUL][u16 body length]
 * [body], run against one fresh context over a fake backend whose start
 * succeeds, so one input walks pre-boot configuration, InstanceStart and
 * the runtime endpoints.  An input whose first byte is 0xff instead goes
 * whole to the --config-file loader.  Every reply must be 2xx without a
 * body only for 204, and anything else must carry a parseable fault.
 */
#include <stdio.h>
#include <stdlib.h>

#include "tests/fuzz/fuzz.h"
#include "tests/unit/fake_api_backend.h"
#include "vmm/api.h"
#include "vmm/api_json.h"
#include <json-c/json.h>

static void check_reply(const struct api_reply *r)
{
	struct json_object *o;

	if (r->status == 204) {
		if (r->body)
			abort();
		return;
	}
	if (!r->body || api_json_parse(r->body, strlen(r->body), &o, NULL, 0) < 0)
		abort();
	json_object_put(o);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const methods[] = {"GET", "PUT", "PATCH", "DELETE", "POST", ""};
	struct fuzz_in in = fuzz_in(data, size);
	struct mvm_config *cfg = mvm_config_new();
	struct fake_api fk;
	struct api_ctx ctx;
	char err[512];

	if (!cfg)
		abort();
	fake_api_init(&fk);
	api_ctx_init(&ctx, cfg, &fake_api_ops, &fk, "fuzz");
	if (size && data[0] == 0xff) {
		err[0] = '\0';
		if (api_apply_config_json(&ctx, (const char *)data + 1, size - 1, err,
					  sizeof(err)) < 0 &&
		    !err[0])
			abort(); /* every refusal says why */
	} else {
		while (!fuzz_empty(&in)) {
			const char *method = methods[fuzz_u8(&in) % 6];
			char path[128];
			size_t plen = 0, blen;
			struct api_reply r;
			char *body;

			while (!fuzz_empty(&in) && plen < sizeof(path) - 1) {
				char ch = (char)fuzz_u8(&in);
				if (!ch)
					break;
				path[plen++] = ch;
			}
			path[plen] = '\0';
			blen = fuzz_u16(&in);
			blen = blen < in.n ? blen : in.n;
			/* Exactly blen bytes: ASan sees any read past the body. */
			body = malloc(blen ? blen : 1);
			if (!body)
				abort();
			fuzz_bytes(&in, body, blen);
			api_handle(&ctx, method, path, body, blen, &r);
			check_reply(&r);
			free(r.body);
			free(body);
		}
	}
	api_ctx_release(&ctx);
	mvm_config_free(cfg);
	return 0;
}
