/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API's routes and state rules (vmm/api.h; README "HTTP API").
 *
 * Every reply is built here: 204 for a PUT/PATCH that did its work, 200 and
 * a JSON body for a GET, 400 {"fault_message"} for a body or a state that
 * does not fit, 404/405 for an unknown path or method.  Messages name the
 * endpoint and the field, because a Firecracker client that meets minivmm
 * must learn from the reply alone what is missing.
 */
#include "vmm/api.h"

#include <errno.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/api_json.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define FAULT_MAX     768

/* Firecracker's default id, which clients may expect when --id is not given. */
#define DEFAULT_ID "anonymous-instance"

void api_ctx_init(struct api_ctx *ctx, struct mvm_config *cfg, const struct api_backend_ops *ops,
		  void *opaque, const char *id)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->cfg = cfg;
	ctx->ops = ops;
	ctx->opaque = opaque;
	snprintf(ctx->id, sizeof(ctx->id), "%s", id && id[0] ? id : DEFAULT_ID);
	ctx->metrics_fd = -1;
}

void api_ctx_release(struct api_ctx *ctx)
{
	for (unsigned i = 0; i < ctx->ndrives; i++)
		free(ctx->drives[i].path);
	free(ctx->boot_args);
	if (ctx->metrics_fd >= 0)
		close(ctx->metrics_fd);
	ctx->ndrives = 0;
	ctx->boot_args = NULL;
	ctx->metrics_fd = -1;
}

bool api_ready(const struct api_ctx *ctx)
{
	return ctx->kernel_set;
}

/* ---- Replies ---------------------------------------------------------------------- */

static void reply_fault(struct api_reply *r, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void reply_fault(struct api_reply *r, int status, const char *fmt, ...)
{
	char msg[FAULT_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	r->status = status;
	r->body = api_json_fault(msg);
}

static void reply_json(struct api_reply *r, struct json_object *obj)
{
	r->body = obj ? api_json_text(obj) : NULL;
	r->status = r->body ? 200 : 500;
	if (!r->body)
		r->body = api_json_fault("out of memory");
	json_object_put(obj);
}

/* ---- State ------------------------------------------------------------------------ */

static enum mvm_vm_state state(struct api_ctx *ctx)
{
	return ctx->started ? ctx->ops->state(ctx->opaque) : MVM_STATE_NOT_STARTED;
}

static const char *state_name(enum mvm_vm_state s)
{
	return mvm_vm_state_name(s);
}

/* Configuration endpoints: only before InstanceStart, as in Firecracker. */
static bool preboot_only(struct api_ctx *ctx, const char *what, struct api_reply *r)
{
	if (!ctx->started)
		return true;
	reply_fault(r, 400, "%s: only before InstanceStart; the VM is %s", what,
		    state_name(state(ctx)));
	return false;
}

/* Runtime endpoints: only once the VM runs (Running or Paused). */
static bool running_only(struct api_ctx *ctx, const char *what, struct api_reply *r)
{
	enum mvm_vm_state s = state(ctx);

	if (s == MVM_STATE_RUNNING || s == MVM_STATE_PAUSED)
		return true;
	reply_fault(r, 400, "%s: the VM is %s%s", what, state_name(s),
		    s == MVM_STATE_NOT_STARTED ? " (send InstanceStart first)" : "");
	return false;
}

/* Metrics endpoints: any state once started, Ended included (the last counters). */
static bool started_only(struct api_ctx *ctx, const char *what, struct api_reply *r)
{
	if (ctx->started)
		return true;
	reply_fault(r, 400, "%s: the VM is %s (send InstanceStart first)", what,
		    state_name(MVM_STATE_NOT_STARTED));
	return false;
}

/* A -errno from the library as a reply: state rules are the client's fault, the rest ours. */
static void reply_errno(struct api_reply *r, const char *what, int ret, const char *detail)
{
	if (ret == -EINVAL || ret == -EALREADY || ret == -ENODEV)
		reply_fault(r, 400, "%s: %s", what, detail && detail[0] ? detail : strerror(-ret));
	else
		reply_fault(r, 500, "%s: %s", what, detail && detail[0] ? detail : strerror(-ret));
}

/* ---- Bodies ----------------------------------------------------------------------- */

/* Parses and checks a body against a field table; on failure the reply says why. */
static struct json_object *body_fields(const char *what, const char *body, size_t len,
				       const struct api_jfield *f, size_t n, struct api_reply *r)
{
	struct json_object *obj;
	char err[FAULT_MAX - 128];

	if (api_json_parse(body, len, &obj, err, sizeof(err)) < 0 ||
	    api_json_fields(obj, f, n, err, sizeof(err)) < 0) {
		reply_fault(r, 400, "%s: %s", what, err);
		if (obj)
			json_object_put(obj);
		return NULL;
	}
	return obj;
}

/* Most configuration endpoints: the state rule first, so a late PUT learns why before its body. */
static struct json_object *preboot_body(struct api_ctx *ctx, const char *what, const char *body,
					size_t len, const struct api_jfield *f, size_t n,
					struct api_reply *r)
{
	if (!preboot_only(ctx, what, r))
		return NULL;
	return body_fields(what, body, len, f, n, r);
}

/* The id in the body must name the same object as the path (Firecracker checks it too). */
static bool body_id_matches(const char *what, const char *id, const char *field, const char *value,
			    struct api_reply *r)
{
	if (strcmp(value, id) == 0)
		return true;
	reply_fault(r, 400, "%s/%s: field \"%s\" (\"%.64s\") differs from the path", what, id,
		    field, value);
	return false;
}

/* A sink file the client named and we cannot open is its fault (400), not ours. */
static int open_sink(struct api_ctx *ctx, const char *what, enum api_sink kind, const char *path,
		     int *fd, struct api_reply *r)
{
	char err[512] = "";
	int ret = ctx->ops->open_sink(ctx->opaque, kind, path, fd, err, sizeof(err));

	if (ret < 0)
		reply_fault(r, 400, "%s: %s", what, err[0] ? err : strerror(-ret));
	return ret;
}

static int cfg_set(struct api_ctx *ctx, const char *what, const char *section, const char *key,
		   const char *value, struct api_reply *r)
{
	char err[512];

	if (mvm_config_set(ctx->cfg, section, key, value, err, sizeof(err)) < 0) {
		reply_fault(r, 400, "%s: %s", what, err);
		return -EINVAL;
	}
	return 0;
}

/* ---- GET / ------------------------------------------------------------------------ */

static void get_info(struct api_ctx *ctx, struct api_reply *r)
{
	struct json_object *o = json_object_new_object();
	enum mvm_vm_state s = state(ctx);
	struct mvm_exit ex;

	if (!o) {
		reply_json(r, NULL);
		return;
	}
	json_object_object_add(o, "id", json_object_new_string(ctx->id));
	json_object_object_add(o, "state", json_object_new_string(state_name(s)));
	json_object_object_add(o, "vmm_version", json_object_new_string(MINIVMM_VERSION));
	json_object_object_add(o, "app_name", json_object_new_string("minivmm"));
	/* Older Kata polls for "started": true instead of reading "state". */
	json_object_object_add(
	    o, "started", json_object_new_boolean(s == MVM_STATE_RUNNING || s == MVM_STATE_PAUSED));
	if (ctx->started)
		json_object_object_add(
		    o, "uptime_ms",
		    json_object_new_uint64(ctx->ops->uptime_ns(ctx->opaque) / 1000000));
	if (s == MVM_STATE_ENDED && ctx->ops->exit_info(ctx->opaque, &ex) == 0) {
		json_object_object_add(o, "exit_reason",
				       json_object_new_string(mvm_exit_reason_name(ex.reason)));
		if (ex.reason == MVM_EXIT_GUEST_STATUS)
			json_object_object_add(o, "exit_status",
					       json_object_new_int(ex.guest_status));
		if (ex.message[0])
			json_object_object_add(o, "exit_message",
					       json_object_new_string(ex.message));
	}
	reply_json(r, o);
}

/* ---- /machine-config -------------------------------------------------------------- */

static uint64_t cfg_get_u64(struct api_ctx *ctx, const char *section, const char *key)
{
	char buf[64];
	uint64_t v = 0;

	if (mvm_config_get(ctx->cfg, section, key, buf, sizeof(buf)) < 0)
		return 0;
	if (strcmp(key, "mem") == 0) {
		if (mvm_parse_size(buf, &v) < 0)
			return 0;
		return v >> 20;
	}
	return strtoull(buf, NULL, 10);
}

static void get_machine_config(struct api_ctx *ctx, struct api_reply *r)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		reply_json(r, NULL);
		return;
	}
	json_object_object_add(o, "vcpu_count",
			       json_object_new_uint64(cfg_get_u64(ctx, "vm", "cpus")));
	json_object_object_add(o, "mem_size_mib",
			       json_object_new_uint64(cfg_get_u64(ctx, "vm", "mem")));
	json_object_object_add(o, "smt", json_object_new_boolean(false));
	json_object_object_add(o, "track_dirty_pages", json_object_new_boolean(false));
	reply_json(r, o);
}

/* PUT (every field but the optional ones required, as Firecracker does) or PATCH. */
static void put_machine_config(struct api_ctx *ctx, bool patch, const char *body, size_t len,
			       struct api_reply *r)
{
	const char *what = patch ? "PATCH /machine-config" : "PUT /machine-config";
	uint64_t vcpus = 0, mib = 0;
	bool smt = false, dirty = false, have_vcpus = false, have_mib = false;
	struct api_jfield f[] = {
	    {"vcpu_count", AJ_UINT, !patch, &vcpus, &have_vcpus, MVM_MAX_CPUS},
	    {"mem_size_mib", AJ_UINT, !patch, &mib, &have_mib, MVM_MAX_MEM_BYTES >> 20},
	    {"smt", AJ_BOOL, false, &smt, NULL, 0},
	    {"track_dirty_pages", AJ_BOOL, false, &dirty, NULL, 0},
	    {"cpu_template", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	    {"huge_pages", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	};
	struct json_object *obj;
	char num[32];

	obj = preboot_body(ctx, what, body, len, f, ARRAY_SIZE(f), r);
	if (!obj)
		return;
	if (smt) {
		reply_fault(r, 400, "%s: field \"smt\": true is not supported by minivmm", what);
	} else if (dirty) {
		reply_fault(r, 400,
			    "%s: field \"track_dirty_pages\": true is not supported by minivmm "
			    "(no dirty-page tracking yet)",
			    what);
	} else if (have_vcpus && vcpus < MVM_MIN_CPUS) {
		reply_fault(r, 400, "%s: field \"vcpu_count\" must be %d..%d", what, MVM_MIN_CPUS,
			    MVM_MAX_CPUS);
	} else {
		r->status = 204;
		if (have_vcpus) {
			snprintf(num, sizeof(num), "%llu", (unsigned long long)vcpus);
			if (cfg_set(ctx, what, "vm", "cpus", num, r) < 0)
				goto out;
		}
		if (have_mib) {
			snprintf(num, sizeof(num), "%lluM", (unsigned long long)mib);
			cfg_set(ctx, what, "vm", "mem", num, r);
		}
	}
out:
	json_object_put(obj);
}

/* ---- /boot-source ----------------------------------------------------------------- */

static void put_boot_source(struct api_ctx *ctx, const char *body, size_t len, struct api_reply *r)
{
	const char *what = "PUT /boot-source";
	const char *kernel = NULL, *args = NULL, *initrd = NULL;
	bool have_args = false, have_initrd = false;
	struct api_jfield f[] = {
	    {"kernel_image_path", AJ_STRING, true, &kernel, NULL, 0},
	    {"boot_args", AJ_STRING, false, &args, &have_args, 0},
	    {"initrd_path", AJ_STRING, false, &initrd, &have_initrd, 0},
	};
	struct json_object *obj;
	char *copy = NULL;

	obj = preboot_body(ctx, what, body, len, f, ARRAY_SIZE(f), r);
	if (!obj)
		return;
	if (!kernel[0]) {
		reply_fault(r, 400, "%s: field \"kernel_image_path\" is empty", what);
		goto out;
	}
	if (have_args && strlen(args) >= MVM_MAX_CMDLINE) {
		reply_fault(r, 400, "%s: field \"boot_args\" is longer than %d bytes", what,
			    MVM_MAX_CMDLINE - 1);
		goto out;
	}
	if (have_args && !(copy = strdup(args))) {
		reply_fault(r, 500, "%s: out of memory", what);
		goto out;
	}
	/* A second PUT replaces the first entirely, initrd included (Firecracker). */
	if (cfg_set(ctx, what, "boot", "kernel", kernel, r) < 0 ||
	    cfg_set(ctx, what, "boot", "initrd", have_initrd ? initrd : "", r) < 0) {
		free(copy);
		goto out;
	}
	free(ctx->boot_args);
	ctx->boot_args = copy;
	ctx->kernel_set = true;
	r->status = 204;
out:
	json_object_put(obj);
}

/* ---- /drives/{drive_id} ----------------------------------------------------------- */

static int find_drive(struct api_ctx *ctx, const char *id)
{
	for (unsigned i = 0; i < ctx->ndrives; i++) {
		if (strcmp(ctx->drives[i].id, id) == 0)
			return (int)i;
	}
	return -1;
}

/* Disks the CLI configured (--disk) come first; API drives follow them. */
static unsigned first_api_disk(struct api_ctx *ctx)
{
	char section[16], buf[8];
	unsigned n = 0;

	for (; n < MVM_MAX_DISKS; n++) {
		snprintf(section, sizeof(section), "disk%u", n);
		if (mvm_config_get(ctx->cfg, section, "path", buf, sizeof(buf)) == 0 && !buf[0])
			break;
	}
	return n;
}

static void put_drive(struct api_ctx *ctx, const char *id, const char *body, size_t len,
		      struct api_reply *r)
{
	const char *what = "PUT /drives";
	const char *drive_id = NULL, *path = NULL, *cache = NULL, *engine = NULL;
	bool root = false, ro = false, have_cache = false, have_engine = false;
	struct api_jfield f[] = {
	    {"drive_id", AJ_STRING, true, &drive_id, NULL, 0},
	    {"path_on_host", AJ_STRING, true, &path, NULL, 0},
	    {"is_root_device", AJ_BOOL, true, &root, NULL, 0},
	    {"is_read_only", AJ_BOOL, false, &ro, NULL, 0},
	    {"cache_type", AJ_STRING, false, &cache, &have_cache, 0},
	    {"io_engine", AJ_STRING, false, &engine, &have_engine, 0},
	    {"partuuid", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	    {"rate_limiter", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	    {"socket", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	};
	struct json_object *obj;
	struct api_drive d;
	int at;

	obj = preboot_body(ctx, what, body, len, f, ARRAY_SIZE(f), r);
	if (!obj)
		return;
	if (!body_id_matches(what, id, "drive_id", drive_id, r))
		goto out;
	if (!path[0]) {
		reply_fault(r, 400, "%s/%s: field \"path_on_host\" is empty", what, id);
		goto out;
	}
	/* Firecracker's defaults; Async (io_uring) is not implemented. */
	if (have_cache && strcmp(cache, "Unsafe") != 0 && strcmp(cache, "Writeback") != 0) {
		reply_fault(r, 400,
			    "%s/%s: field \"cache_type\": \"%.32s\" (use Unsafe or Writeback)",
			    what, id, cache);
		goto out;
	}
	if (have_engine && strcmp(engine, "Sync") != 0) {
		reply_fault(r, 400,
			    "%s/%s: field \"io_engine\": \"%.32s\" is not supported by minivmm "
			    "(Sync only)",
			    what, id, engine);
		goto out;
	}
	at = find_drive(ctx, id);
	for (unsigned i = 0; root && i < ctx->ndrives; i++) {
		if (ctx->drives[i].root && (int)i != at) {
			reply_fault(r, 400, "%s/%s: drive \"%s\" is already the root device", what,
				    id, ctx->drives[i].id);
			goto out;
		}
	}
	if (at < 0 && first_api_disk(ctx) + ctx->ndrives >= MVM_MAX_DISKS) {
		reply_fault(r, 400, "%s/%s: too many drives (at most %d)", what, id, MVM_MAX_DISKS);
		goto out;
	}
	memset(&d, 0, sizeof(d));
	snprintf(d.id, sizeof(d.id), "%s", id);
	d.root = root;
	d.read_only = ro;
	/* Firecracker's default cache_type is Unsafe: guest flushes are not forwarded. */
	d.cache_unsafe = !have_cache || strcmp(cache, "Unsafe") == 0;
	d.path = strdup(path);
	if (!d.path) {
		reply_fault(r, 500, "%s/%s: out of memory", what, id);
		goto out;
	}
	if (at >= 0) {
		/* An update: same id, its place may change (root moves to the front). */
		free(ctx->drives[at].path);
		memmove(&ctx->drives[at], &ctx->drives[at + 1],
			(ctx->ndrives - (unsigned)at - 1) * sizeof(d));
		ctx->ndrives--;
	}
	/* The root device is vda, so that root=/dev/vda names it (as Firecracker orders). */
	if (root) {
		memmove(&ctx->drives[1], &ctx->drives[0], ctx->ndrives * sizeof(d));
		ctx->drives[0] = d;
	} else {
		ctx->drives[ctx->ndrives] = d;
	}
	ctx->ndrives++;
	r->status = 204;
out:
	json_object_put(obj);
}

/* PATCH on a running VM: a new backing file for an existing drive (Kata's hot-plug). */
static void patch_drive(struct api_ctx *ctx, const char *id, const char *body, size_t len,
			struct api_reply *r)
{
	const char *what = "PATCH /drives";
	const char *drive_id = NULL, *path = NULL;
	bool have_path = false;
	struct api_jfield f[] = {
	    {"drive_id", AJ_STRING, true, &drive_id, NULL, 0},
	    {"path_on_host", AJ_STRING, false, &path, &have_path, 0},
	    {"rate_limiter", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	};
	struct json_object *obj;
	char err[512] = "";
	int at, ret;

	obj = body_fields(what, body, len, f, ARRAY_SIZE(f), r);
	if (!obj)
		return;
	if (!body_id_matches(what, id, "drive_id", drive_id, r))
		goto out;
	if (!ctx->started) {
		reply_fault(r, 400,
			    "%s/%s: only on a started VM; use PUT /drives before "
			    "InstanceStart",
			    what, id);
		goto out;
	}
	if (!running_only(ctx, what, r))
		goto out;
	at = find_drive(ctx, id);
	if (at < 0) {
		reply_fault(r, 400, "%s/%s: no such drive", what, id);
		goto out;
	}
	if (!have_path || !path[0]) {
		/* Nothing else to update: Firecracker answers 204 too. */
		r->status = 204;
		goto out;
	}
	ret = ctx->ops->replace_disk(ctx->opaque, ctx->disk_base + (unsigned)at, path, err,
				     sizeof(err));
	if (ret < 0) {
		char what_id[128];
		snprintf(what_id, sizeof(what_id), "%s/%s", what, id);
		reply_errno(r, what_id, ret, err);
		goto out;
	}
	free(ctx->drives[at].path);
	ctx->drives[at].path = strdup(path);
	r->status = 204;
out:
	json_object_put(obj);
}

/* ---- /network-interfaces/{iface_id} ----------------------------------------------- */

static void put_iface(struct api_ctx *ctx, const char *id, const char *body, size_t len,
		      struct api_reply *r)
{
	const char *what = "PUT /network-interfaces";
	const char *iface_id = NULL, *tap = NULL, *mac = NULL;
	bool have_mac = false;
	struct api_jfield f[] = {
	    {"iface_id", AJ_STRING, true, &iface_id, NULL, 0},
	    {"host_dev_name", AJ_STRING, true, &tap, NULL, 0},
	    {"guest_mac", AJ_STRING, false, &mac, &have_mac, 0},
	    {"rx_rate_limiter", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	    {"tx_rate_limiter", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	};
	struct json_object *obj;
	char section[16], buf[8], w[128];
	unsigned slot = 0;
	int at = -1;

	obj = preboot_body(ctx, what, body, len, f, ARRAY_SIZE(f), r);
	if (!obj)
		return;
	if (!body_id_matches(what, id, "iface_id", iface_id, r))
		goto out;
	snprintf(w, sizeof(w), "%s/%s", what, id);
	for (unsigned i = 0; i < ctx->nifaces; i++) {
		if (strcmp(ctx->iface_ids[i], id) == 0)
			at = (int)i;
	}
	/* CLI NICs (--net) come first, as for drives. */
	for (; slot < MVM_MAX_NICS; slot++) {
		snprintf(section, sizeof(section), "net%u", slot);
		if (mvm_config_get(ctx->cfg, section, "backend", buf, sizeof(buf)) == 0 &&
		    (!buf[0] || strcmp(buf, "none") == 0))
			break;
	}
	if (at >= 0) {
		slot = slot - ctx->nifaces + (unsigned)at;
	} else if (slot >= MVM_MAX_NICS) {
		reply_fault(r, 400, "%s: too many network interfaces (at most %d)", w,
			    MVM_MAX_NICS);
		goto out;
	}
	snprintf(section, sizeof(section), "net%u", slot);
	/* The MAC first: the only value that can be refused, before the NIC exists. */
	if (cfg_set(ctx, w, section, "mac", have_mac ? mac : "", r) < 0 ||
	    cfg_set(ctx, w, section, "tap", tap, r) < 0 ||
	    cfg_set(ctx, w, section, "backend", "tap", r) < 0)
		goto out;
	if (at < 0)
		snprintf(ctx->iface_ids[ctx->nifaces++], sizeof(ctx->iface_ids[0]), "%s", id);
	r->status = 204;
out:
	json_object_put(obj);
}

/* ---- /vsock ----------------------------------------------------------------------- */

static void put_vsock(struct api_ctx *ctx, const char *body, size_t len, struct api_reply *r)
{
	const char *what = "PUT /vsock";
	const char *uds = NULL, *vsock_id = NULL;
	uint64_t cid = 0;
	struct api_jfield f[] = {
	    {"guest_cid", AJ_UINT, true, &cid, NULL, UINT32_MAX},
	    {"uds_path", AJ_STRING, true, &uds, NULL, 0},
	    /* Older Firecracker clients (Kata) still send it; it names nothing here. */
	    {"vsock_id", AJ_STRING, false, &vsock_id, NULL, 0},
	};
	struct json_object *obj;
	int ret;

	obj = preboot_body(ctx, what, body, len, f, ARRAY_SIZE(f), r);
	if (!obj)
		return;
	/* CIDs 0..2 are the hypervisor, local and host (VIRTIO 1.2 §5.10.4). */
	if (cid < 3) {
		reply_fault(r, 400, "%s: field \"guest_cid\" must be at least 3", what);
		goto out;
	}
	if (!uds[0]) {
		reply_fault(r, 400, "%s: field \"uds_path\" is empty", what);
		goto out;
	}
	ret = mvm_config_set_vsock(ctx->cfg, (uint32_t)cid, uds);
	if (ret < 0) {
		reply_errno(r, what, ret, NULL);
		goto out;
	}
	ctx->vsock_set = true;
	r->status = 204;
out:
	json_object_put(obj);
}

/* ---- /logger, /metrics ------------------------------------------------------------ */

static void put_logger(struct api_ctx *ctx, const char *body, size_t len, struct api_reply *r)
{
	static const struct {
		const char *fc, *ours;
	} levels[] = {
	    {"Error", "error"}, {"Warning", "warn"}, {"Warn", "warn"}, {"Info", "info"},
	    {"Debug", "debug"}, {"Trace", "debug"},  {"Off", "error"},
	};
	const char *what = "PUT /logger";
	const char *path = NULL, *level = NULL;
	bool have_path = false, have_level = false, show_level = false, show_origin = false;
	struct api_jfield f[] = {
	    {"log_path", AJ_STRING, false, &path, &have_path, 0},
	    {"level", AJ_STRING, false, &level, &have_level, 0},
	    /* Our lines always carry their prefix; the flags are taken and change nothing. */
	    {"show_level", AJ_BOOL, false, &show_level, NULL, 0},
	    {"show_log_origin", AJ_BOOL, false, &show_origin, NULL, 0},
	    {"module", AJ_UNSUPPORTED, false, NULL, NULL, 0},
	};
	struct json_object *obj;
	const char *ours = NULL;
	int fd = -1;

	obj = preboot_body(ctx, what, body, len, f, ARRAY_SIZE(f), r);
	if (!obj)
		return;
	for (size_t i = 0; have_level && i < ARRAY_SIZE(levels); i++) {
		if (strcasecmp(level, levels[i].fc) == 0)
			ours = levels[i].ours;
	}
	if (have_level && !ours) {
		reply_fault(r, 400,
			    "%s: field \"level\": \"%.32s\" (use Error, Warning, Info, Debug, "
			    "Trace or Off)",
			    what, level);
		goto out;
	}
	if (ours && cfg_set(ctx, what, "run", "log_level", ours, r) < 0)
		goto out;
	if (have_path && path[0] && open_sink(ctx, what, API_SINK_LOG, path, &fd, r) < 0)
		goto out;
	r->status = 204;
out:
	json_object_put(obj);
}

static void put_metrics(struct api_ctx *ctx, const char *body, size_t len, struct api_reply *r)
{
	const char *what = "PUT /metrics";
	const char *path = NULL;
	struct api_jfield f[] = {
	    {"metrics_path", AJ_STRING, true, &path, NULL, 0},
	};
	struct json_object *obj;
	int fd = -1;

	obj = preboot_body(ctx, what, body, len, f, ARRAY_SIZE(f), r);
	if (!obj)
		return;
	if (ctx->metrics_fd >= 0) {
		reply_fault(r, 400, "%s: metrics are already configured", what);
		goto out;
	}
	if (open_sink(ctx, what, API_SINK_METRICS, path, &fd, r) < 0)
		goto out;
	ctx->metrics_fd = fd;
	r->status = 204;
out:
	json_object_put(obj);
}

static void add_metric(void *opaque, const char *name, uint64_t value)
{
	api_json_put_metric(opaque, name, value);
}

static struct json_object *metrics_object(struct api_ctx *ctx, int *ret)
{
	struct json_object *o = json_object_new_object();

	if (!o) {
		*ret = -ENOMEM;
		return NULL;
	}
	*ret = ctx->ops->metrics(ctx->opaque, add_metric, o);
	if (*ret < 0) {
		json_object_put(o);
		return NULL;
	}
	json_object_object_add(o, "uptime_ms",
			       json_object_new_uint64(ctx->ops->uptime_ns(ctx->opaque) / 1000000));
	return o;
}

static void get_metrics(struct api_ctx *ctx, struct api_reply *r)
{
	struct json_object *o;
	int ret;

	if (!started_only(ctx, "GET /metrics", r))
		return;
	o = metrics_object(ctx, &ret);
	if (!o) {
		reply_errno(r, "GET /metrics", ret, NULL);
		return;
	}
	reply_json(r, o);
}

/*
 * One JSON line per FlushMetrics.  The sink is nonblocking: a reader that
 * does not keep up loses lines (counted), it never stalls the API thread.
 */
static void flush_metrics(struct api_ctx *ctx, struct api_reply *r)
{
	struct json_object *o;
	char *text, *line;
	size_t n;
	int ret;

	if (ctx->metrics_fd < 0) {
		reply_fault(r, 400, "FlushMetrics: no metrics_path configured (PUT /metrics)");
		return;
	}
	o = metrics_object(ctx, &ret);
	if (!o) {
		reply_errno(r, "FlushMetrics", ret, NULL);
		return;
	}
	json_object_object_add(o, "lines_lost", json_object_new_uint64(ctx->metrics_lines_lost));
	text = api_json_text(o);
	json_object_put(o);
	if (!text || asprintf(&line, "%s\n", text) < 0) {
		free(text);
		reply_fault(r, 500, "FlushMetrics: out of memory");
		return;
	}
	free(text);
	n = strlen(line);
	if (write(ctx->metrics_fd, line, n) != (ssize_t)n)
		ctx->metrics_lines_lost++;
	free(line);
	r->status = 204;
}

/* ---- /actions, /vm ---------------------------------------------------------------- */

/* Firecracker adds root= for the root drive when the client's boot_args have none. */
static int apply_boot_config(struct api_ctx *ctx, struct api_reply *r)
{
	const char *what = "InstanceStart";
	unsigned base = first_api_disk(ctx);
	char section[16];

	ctx->disk_base = base;
	char *cmdline = NULL;
	int ret = 0;

	for (unsigned i = 0; i < ctx->ndrives && ret == 0; i++) {
		const struct api_drive *d = &ctx->drives[i];
		snprintf(section, sizeof(section), "disk%u", base + i);
		ret = cfg_set(ctx, what, section, "path", d->path, r);
		if (ret == 0)
			ret = cfg_set(ctx, what, section, "ro", d->read_only ? "true" : "false", r);
		if (ret == 0)
			ret = cfg_set(ctx, what, section, "cache",
				      d->cache_unsafe ? "unsafe" : "writeback", r);
	}
	if (ret < 0)
		return ret;
	if (ctx->ndrives && ctx->drives[0].root && base == 0) {
		const char *args = ctx->boot_args ? ctx->boot_args : "console=ttyS0";
		bool has_root = strncmp(args, "root=", 5) == 0 || strstr(args, " root=");
		if (!has_root &&
		    asprintf(&cmdline, "%s%sroot=/dev/vda %s", args, args[0] ? " " : "",
			     ctx->drives[0].read_only ? "ro" : "rw") < 0) {
			reply_fault(r, 500, "%s: out of memory", what);
			return -ENOMEM;
		}
	}
	if (cmdline || ctx->boot_args)
		ret = cfg_set(ctx, what, "boot", "cmdline", cmdline ? cmdline : ctx->boot_args, r);
	free(cmdline);
	return ret;
}

static void instance_start(struct api_ctx *ctx, struct api_reply *r)
{
	char err[512] = "";
	int ret;

	if (!preboot_only(ctx, "InstanceStart", r))
		return;
	if (!ctx->kernel_set) {
		reply_fault(r, 400, "InstanceStart: no kernel configured (PUT /boot-source first)");
		return;
	}
	if (apply_boot_config(ctx, r) < 0)
		return;
	ret = ctx->ops->start(ctx->opaque, ctx->cfg, err, sizeof(err));
	if (ret < 0) {
		/* A VM that cannot be built is a configuration the client sent. */
		reply_fault(r, 400, "InstanceStart: %s", err[0] ? err : strerror(-ret));
		return;
	}
	ctx->started = true;
	r->status = 204;
}

static void put_actions(struct api_ctx *ctx, const char *body, size_t len, struct api_reply *r)
{
	const char *what = "PUT /actions";
	const char *action = NULL;
	struct api_jfield f[] = {
	    {"action_type", AJ_STRING, true, &action, NULL, 0},
	};
	struct json_object *obj = body_fields(what, body, len, f, ARRAY_SIZE(f), r);
	int ret;

	if (!obj)
		return;
	if (strcmp(action, "InstanceStart") == 0) {
		instance_start(ctx, r);
	} else if (strcmp(action, "SendCtrlAltDel") == 0) {
		if (running_only(ctx, "SendCtrlAltDel", r)) {
			ret = ctx->ops->power_button(ctx->opaque);
			if (ret < 0)
				reply_errno(r, "SendCtrlAltDel", ret, NULL);
			else
				r->status = 204;
		}
	} else if (strcmp(action, "InstanceHalt") == 0) {
		if (running_only(ctx, "InstanceHalt", r)) {
			ctx->ops->stop(ctx->opaque);
			r->status = 204;
		}
	} else if (strcmp(action, "FlushMetrics") == 0) {
		if (started_only(ctx, "FlushMetrics", r))
			flush_metrics(ctx, r);
	} else {
		reply_fault(r, 400,
			    "%s: field \"action_type\": \"%.32s\" is not supported (use "
			    "InstanceStart, SendCtrlAltDel, InstanceHalt or FlushMetrics)",
			    what, action);
	}
	json_object_put(obj);
}

static void patch_vm(struct api_ctx *ctx, const char *body, size_t len, struct api_reply *r)
{
	const char *what = "PATCH /vm";
	const char *want = NULL;
	struct api_jfield f[] = {
	    {"state", AJ_STRING, true, &want, NULL, 0},
	};
	struct json_object *obj = body_fields(what, body, len, f, ARRAY_SIZE(f), r);
	bool pause;
	int ret;

	if (!obj)
		return;
	if (strcmp(want, "Paused") != 0 && strcmp(want, "Resumed") != 0) {
		reply_fault(r, 400, "%s: field \"state\": \"%.32s\" (use Paused or Resumed)", what,
			    want);
		goto out;
	}
	pause = want[0] == 'P';
	if (!running_only(ctx, what, r))
		goto out;
	ret = pause ? ctx->ops->pause(ctx->opaque) : ctx->ops->resume(ctx->opaque);
	if (ret == -EINVAL)
		reply_fault(r, 400, "%s: cannot %s: the VM is %s", what, pause ? "pause" : "resume",
			    state_name(state(ctx)));
	else if (ret < 0)
		reply_errno(r, what, ret, NULL);
	else
		r->status = 204;
out:
	json_object_put(obj);
}

/* ---- Routing ---------------------------------------------------------------------- */

/* Firecracker endpoints minivmm knows by name and refuses (400, not 404). */
static const char *const unsupported[] = {
    "/snapshot",   "/balloon", "/mmds",	     "/entropy",
    "/cpu-config", "/hotplug", "/vm/config", "/serial",
};

/* "/drives/ID" -> ID if it is a sane id; NULL otherwise. */
static const char *path_id(const char *path, const char *prefix)
{
	size_t n = strlen(prefix);
	const char *id;

	if (strncmp(path, prefix, n) != 0)
		return NULL;
	id = path + n;
	if (!id[0] || strlen(id) > API_ID_MAX)
		return NULL;
	for (const char *p = id; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' || *p == '.'))
			return NULL;
	}
	return id;
}

static void method_not_allowed(struct api_reply *r, const char *method, const char *path,
			       const char *allowed)
{
	reply_fault(r, 405, "%.16s %s: method not allowed (use %s)", method, path, allowed);
}

void api_handle(struct api_ctx *ctx, const char *method, const char *path, const char *body,
		size_t len, struct api_reply *r)
{
	bool get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0,
	     patch = strcmp(method, "PATCH") == 0;
	const char *id;
	char shown[96];

	r->status = 500;
	r->body = NULL;
	/* Only printable ASCII of the path goes back into a message. */
	snprintf(shown, sizeof(shown), "%.80s", path);
	for (char *p = shown; *p; p++) {
		if (*p < 0x20 || *p > 0x7e)
			*p = '?';
	}
	if (strcmp(path, "/") == 0) {
		if (get)
			get_info(ctx, r);
		else
			method_not_allowed(r, method, shown, "GET");
	} else if (strcmp(path, "/machine-config") == 0) {
		if (get)
			get_machine_config(ctx, r);
		else if (put || patch)
			put_machine_config(ctx, patch, body, len, r);
		else
			method_not_allowed(r, method, shown, "GET, PUT or PATCH");
	} else if (strcmp(path, "/boot-source") == 0) {
		if (put)
			put_boot_source(ctx, body, len, r);
		else
			method_not_allowed(r, method, shown, "PUT");
	} else if (strncmp(path, "/drives/", 8) == 0) {
		if (!(id = path_id(path, "/drives/")))
			reply_fault(r, 400, "%s: a drive id is 1..%d of [A-Za-z0-9_.-]", shown,
				    API_ID_MAX);
		else if (put)
			put_drive(ctx, id, body, len, r);
		else if (patch)
			patch_drive(ctx, id, body, len, r);
		else
			method_not_allowed(r, method, shown, "PUT or PATCH");
	} else if (strncmp(path, "/network-interfaces/", 20) == 0) {
		if (!(id = path_id(path, "/network-interfaces/")))
			reply_fault(r, 400, "%s: an interface id is 1..%d of [A-Za-z0-9_.-]", shown,
				    API_ID_MAX);
		else if (put)
			put_iface(ctx, id, body, len, r);
		else if (patch)
			reply_fault(r, 400, "PATCH %s: not supported by minivmm (no rate limiters)",
				    shown);
		else
			method_not_allowed(r, method, shown, "PUT");
	} else if (strcmp(path, "/vsock") == 0) {
		if (put)
			put_vsock(ctx, body, len, r);
		else
			method_not_allowed(r, method, shown, "PUT");
	} else if (strcmp(path, "/actions") == 0) {
		if (put)
			put_actions(ctx, body, len, r);
		else
			method_not_allowed(r, method, shown, "PUT");
	} else if (strcmp(path, "/vm") == 0) {
		if (patch)
			patch_vm(ctx, body, len, r);
		else
			method_not_allowed(r, method, shown, "PATCH");
	} else if (strcmp(path, "/metrics") == 0) {
		if (get)
			get_metrics(ctx, r);
		else if (put)
			put_metrics(ctx, body, len, r);
		else
			method_not_allowed(r, method, shown, "GET or PUT");
	} else if (strcmp(path, "/logger") == 0) {
		if (put)
			put_logger(ctx, body, len, r);
		else
			method_not_allowed(r, method, shown, "PUT");
	} else {
		for (size_t i = 0; i < ARRAY_SIZE(unsupported); i++) {
			size_t n = strlen(unsupported[i]);
			if (strncmp(path, unsupported[i], n) == 0 &&
			    (path[n] == '\0' || path[n] == '/')) {
				reply_fault(r, 400, "%s: not supported by minivmm", shown);
				return;
			}
		}
		reply_fault(r, 404, "%s: no such endpoint", shown);
	}
}

void api_reply_message(const struct api_reply *r, char *buf, size_t len)
{
	struct json_object *fo = NULL, *m;

	snprintf(buf, len, "%s", "");
	if (r->body && api_json_parse(r->body, strlen(r->body), &fo, NULL, 0) == 0 &&
	    json_object_object_get_ex(fo, "fault_message", &m))
		snprintf(buf, len, "%s", json_object_get_string(m));
	json_object_put(fo);
}

/* ---- --config-file ---------------------------------------------------------------- */

/* One section of the file through the endpoint that takes it; err names the key. */
static int apply_one(struct api_ctx *ctx, const char *key, const char *path,
		     struct json_object *val, char *err, size_t errlen)
{
	const char *text = json_object_to_json_string_ext(val, JSON_C_TO_STRING_PLAIN);
	struct api_reply r;
	int ret = 0;

	api_handle(ctx, "PUT", path, text, text ? strlen(text) : 0, &r);
	if (r.status >= 300) {
		char msg[FAULT_MAX];
		api_reply_message(&r, msg, sizeof(msg));
		snprintf(err, errlen, "\"%s\": %s", key, msg);
		ret = -EINVAL;
	}
	free(r.body);
	return ret;
}

/* "drives": [{drive_id...}] -> PUT /drives/{drive_id} for each. */
static int apply_list(struct api_ctx *ctx, const char *key, const char *prefix,
		      const char *id_field, struct json_object *arr, char *err, size_t errlen)
{
	char path[160];

	if (!json_object_is_type(arr, json_type_array)) {
		snprintf(err, errlen, "\"%s\" must be an array", key);
		return -EINVAL;
	}
	for (size_t i = 0; i < json_object_array_length(arr); i++) {
		struct json_object *item = json_object_array_get_idx(arr, i), *idv;
		int ret;
		if (!json_object_is_type(item, json_type_object) ||
		    !json_object_object_get_ex(item, id_field, &idv) ||
		    !json_object_is_type(idv, json_type_string)) {
			snprintf(err, errlen, "\"%s\"[%zu]: missing field \"%s\"", key, i,
				 id_field);
			return -EINVAL;
		}
		snprintf(path, sizeof(path), "%s%.*s", prefix, API_ID_MAX + 1,
			 json_object_get_string(idv));
		ret = apply_one(ctx, key, path, item, err, errlen);
		if (ret < 0)
			return ret;
	}
	return 0;
}

int api_apply_config_json(struct api_ctx *ctx, const char *text, size_t len, char *err,
			  size_t errlen)
{
	/* Order matters for Firecracker too: the logger first, so that it sees the rest. */
	static const struct {
		const char *key, *path;
	} singles[] = {
	    {"logger", "/logger"},
	    {"metrics", "/metrics"},
	    {"machine-config", "/machine-config"},
	    {"boot-source", "/boot-source"},
	    {"vsock", "/vsock"},
	};
	static const char *const known[] = {"logger", "metrics", "machine-config",    "boot-source",
					    "vsock",  "drives",	 "network-interfaces"};
	struct json_object *root, *v;
	int ret;

	if (api_json_parse(text, len, &root, err, errlen) < 0)
		return -EINVAL;
	json_object_object_foreach(root, key, val)
	{
		size_t i;
		(void)val;
		for (i = 0; i < ARRAY_SIZE(known); i++) {
			if (strcmp(key, known[i]) == 0)
				break;
		}
		if (i == ARRAY_SIZE(known)) {
			snprintf(err, errlen, "unknown or unsupported key \"%.64s\"", key);
			json_object_put(root);
			return -EINVAL;
		}
	}
	ret = 0;
	for (size_t i = 0; i < ARRAY_SIZE(singles) && ret == 0; i++) {
		if (json_object_object_get_ex(root, singles[i].key, &v) && v)
			ret = apply_one(ctx, singles[i].key, singles[i].path, v, err, errlen);
	}
	if (ret == 0 && json_object_object_get_ex(root, "drives", &v) && v)
		ret = apply_list(ctx, "drives", "/drives/", "drive_id", v, err, errlen);
	if (ret == 0 && json_object_object_get_ex(root, "network-interfaces", &v) && v)
		ret = apply_list(ctx, "network-interfaces", "/network-interfaces/", "iface_id", v,
				 err, errlen);
	json_object_put(root);
	return ret;
}
