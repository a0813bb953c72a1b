/* SPDX-License-Identifier: MIT */
/*
 * The HTTP API's routes, state rules and bodies (vmm/api.c, vmm/api_json.c)
 * over a fake backend: every endpoint in every state, and the hostile body
 * classes (missing field, wrong type, unknown field, oversized, not an
 * object, nested junk, trailing bytes).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vmm/api.h"
#include "tests/unit/fake_api_backend.h"
#include "vmm/api_json.h"

static struct fake_api fk;
static struct api_ctx ctx;
static struct mvm_config *cfg;
static int pipefd[2];
static struct api_reply last;

static void setup(void)
{
	fake_api_init(&fk);
	ck_assert_int_eq(pipe2(pipefd, O_NONBLOCK), 0);
	fk.sink_fd = pipefd[1];
	cfg = mvm_config_new();
	ck_assert_ptr_nonnull(cfg);
	api_ctx_init(&ctx, cfg, &fake_api_ops, &fk, "vm-1");
	memset(&last, 0, sizeof(last));
}

static void teardown(void)
{
	free(last.body);
	api_ctx_release(&ctx);
	mvm_config_free(cfg);
	close(pipefd[0]);
	close(pipefd[1]);
}

/* One request; returns the status, keeps the body in `last`. */
static int req(const char *method, const char *path, const char *body)
{
	free(last.body);
	api_handle(&ctx, method, path, body, body ? strlen(body) : 0, &last);
	/* Every reply but 204 carries a JSON object. */
	if (last.status == 204) {
		ck_assert_ptr_null(last.body);
	} else {
		struct json_object *o;
		ck_assert_ptr_nonnull(last.body);
		ck_assert_int_eq(api_json_parse(last.body, strlen(last.body), &o, NULL, 0), 0);
		if (last.status >= 400)
			ck_assert(json_object_object_get_ex(o, "fault_message", NULL));
		json_object_put(o);
	}
	return last.status;
}

static void assert_fault(const char *needle)
{
	ck_assert_msg(last.body && strstr(last.body, needle), "fault \"%s\" lacks \"%s\"",
		      last.body ? last.body : "(none)", needle);
}

#define BOOT "{\"kernel_image_path\":\"/k\",\"boot_args\":\"console=ttyS0\"}"

static void boot(void)
{
	ck_assert_int_eq(req("PUT", "/boot-source", BOOT), 204);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
}

START_TEST(info_before_and_after_start)
{
	ck_assert_int_eq(req("GET", "/", NULL), 200);
	assert_fault("\"state\":\"Not started\"");
	assert_fault("\"id\":\"vm-1\"");
	assert_fault("\"started\":false");
	boot();
	ck_assert_int_eq(req("GET", "/", NULL), 200);
	assert_fault("\"state\":\"Running\"");
	assert_fault("\"started\":true");
	assert_fault("\"uptime_ms\":1500");
	fk.state = MVM_STATE_ENDED;
	ck_assert_int_eq(req("GET", "/", NULL), 200);
	assert_fault("\"exit_reason\":\"poweroff\"");
}
END_TEST

START_TEST(machine_config)
{
	ck_assert_int_eq(req("GET", "/machine-config", NULL), 200);
	assert_fault("\"vcpu_count\":1");
	ck_assert_int_eq(req("PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":512}"),
			 204);
	ck_assert_int_eq(req("GET", "/machine-config", NULL), 200);
	assert_fault("\"vcpu_count\":2");
	assert_fault("\"mem_size_mib\":512");
	ck_assert_int_eq(req("PATCH", "/machine-config", "{\"vcpu_count\":3}"), 204);
	ck_assert_int_eq(req("GET", "/machine-config", NULL), 200);
	assert_fault("\"vcpu_count\":3");
	assert_fault("\"mem_size_mib\":512");
	/* PUT needs both; smt/track_dirty_pages only false. */
	ck_assert_int_eq(req("PUT", "/machine-config", "{\"vcpu_count\":2}"), 400);
	assert_fault("missing field \\\"mem_size_mib\\\"");
	ck_assert_int_eq(
	    req("PUT", "/machine-config", "{\"vcpu_count\":2,\"mem_size_mib\":512,\"smt\":true}"),
	    400);
	assert_fault("smt");
	ck_assert_int_eq(req("PUT", "/machine-config",
			     "{\"vcpu_count\":2,\"mem_size_mib\":512,\"track_dirty_pages\":true}"),
			 400);
	assert_fault("track_dirty_pages");
	ck_assert_int_eq(req("PUT", "/machine-config",
			     "{\"vcpu_count\":2,\"mem_size_mib\":512,\"smt\":false,"
			     "\"track_dirty_pages\":false}"),
			 204);
	ck_assert_int_eq(req("PUT", "/machine-config",
			     "{\"vcpu_count\":2,\"mem_size_mib\":512,\"cpu_template\":\"T2\"}"),
			 400);
	assert_fault("\\\"cpu_template\\\" is not supported");
	ck_assert_int_eq(req("PUT", "/machine-config", "{\"vcpu_count\":0,\"mem_size_mib\":512}"),
			 400);
	ck_assert_int_eq(req("PUT", "/machine-config", "{\"vcpu_count\":65,\"mem_size_mib\":512}"),
			 400);
	ck_assert_int_eq(req("PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":1}"),
			 400);
	assert_fault("[vm] mem");
	ck_assert_int_eq(req("PUT", "/machine-config", "{\"vcpu_count\":-1,\"mem_size_mib\":512}"),
			 400);
	assert_fault("negative");
	ck_assert_int_eq(
	    req("PUT", "/machine-config", "{\"vcpu_count\":\"2\",\"mem_size_mib\":512}"), 400);
	assert_fault("\\\"vcpu_count\\\" must be a non-negative integer");
	ck_assert_int_eq(req("PUT", "/machine-config", "{\"vcpu_count\":1.5,\"mem_size_mib\":512}"),
			 400);
	ck_assert_int_eq(req("PUT", "/machine-config",
			     "{\"vcpu_count\":1,\"mem_size_mib\":99999999999999999999}"),
			 400);
	boot();
	ck_assert_int_eq(req("PUT", "/machine-config", "{\"vcpu_count\":1,\"mem_size_mib\":512}"),
			 400);
	assert_fault("only before InstanceStart");
	ck_assert_int_eq(req("GET", "/machine-config", NULL), 200);
}
END_TEST

START_TEST(bad_bodies)
{
	static const struct {
		const char *body, *needle;
	} cases[] = {
	    {"", "needs a JSON body"},
	    {"[1,2]", "must be a JSON object"},
	    {"\"x\"", "must be a JSON object"},
	    {"{", "not complete"},
	    {"{\"kernel_image_path\":\"/k\"} x", "after its JSON value"},
	    {"{\"kernel_image_path\":\"/k\"}{}", "after its JSON value"},
	    {"{\"kernel_image_path\":1}", "must be a string"},
	    {"{\"kernel_image_path\":\"/k\",\"bogus\":1}", "unknown field \\\"bogus\\\""},
	    {"{\"boot_args\":\"x\"}", "missing field \\\"kernel_image_path\\\""},
	    {"{\"kernel_image_path\":\"/k\\u0000x\"}", "NUL"},
	    {"{\"kernel_image_path\":\"/k\",\"boot_args\":{\"a\":[[[[[[[[[[1]]]]]]]]]]}}", "JSON"},
	    {"{\"kernel_image_path\":\"/k\",\"boot_args\":[]}", "must be a string"},
	    {"{\"kernel_image_path\":\"\"}", "empty"},
	    {"nul\0", "JSON"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_msg(req("PUT", "/boot-source", cases[i].body) == 400, "case %zu", i);
		assert_fault(cases[i].needle);
	}
	/* A NUL inside the body, with the length covering it. */
	free(last.body);
	api_handle(&ctx, "PUT", "/boot-source", "{\"a\":1}\0{}", 10, &last);
	ck_assert_int_eq(last.status, 400);
	assert_fault("NUL byte");
	/* Oversized. */
	{
		size_t n = API_BODY_MAX + 2;
		char *big = malloc(n + 1);
		memset(big, ' ', n);
		big[0] = '{';
		big[n - 1] = '}';
		big[n] = '\0';
		ck_assert_int_eq(req("PUT", "/boot-source", big), 400);
		assert_fault("larger than the limit");
		free(big);
	}
	/* null counts as absent. */
	ck_assert_int_eq(
	    req("PUT", "/boot-source", "{\"kernel_image_path\":\"/k\",\"initrd_path\":null}"), 204);
}
END_TEST

START_TEST(routes_and_methods)
{
	ck_assert_int_eq(req("GET", "/nope", NULL), 404);
	ck_assert_int_eq(req("GET", "/drives", NULL), 404);
	ck_assert_int_eq(req("DELETE", "/", NULL), 405);
	ck_assert_int_eq(req("POST", "/actions", "{}"), 405);
	ck_assert_int_eq(req("GET", "/boot-source", NULL), 405);
	ck_assert_int_eq(req("PUT", "/snapshot/create", "{}"), 400);
	assert_fault("not supported by minivmm");
	ck_assert_int_eq(req("PUT", "/balloon", "{}"), 400);
	ck_assert_int_eq(req("PUT", "/drives/", "{}"), 400);
	ck_assert_int_eq(req("PUT", "/drives/a b", "{}"), 400);
	ck_assert_int_eq(req("GET", "/\x01\xff", NULL), 404);
	assert_fault("/??");
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"Reboot\"}"), 400);
	assert_fault("\\\"action_type\\\"");
}
END_TEST

START_TEST(state_rules)
{
	/* Runtime requests before start. */
	ck_assert_int_eq(req("PATCH", "/vm", "{\"state\":\"Paused\"}"), 400);
	assert_fault("Not started");
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 400);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceHalt\"}"), 400);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}"), 400);
	ck_assert_int_eq(req("GET", "/metrics", NULL), 400);
	ck_assert_int_eq(
	    req("PATCH", "/drives/root", "{\"drive_id\":\"root\",\"path_on_host\":\"/x\"}"), 400);
	/* InstanceStart without a kernel. */
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	assert_fault("no kernel");
	ck_assert_int_eq(fk.starts, 0);
	/* A start the backend refuses leaves the VM configurable. */
	fk.start_ret = -ENOENT;
	ck_assert_int_eq(req("PUT", "/boot-source", BOOT), 204);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	assert_fault("no such file");
	fk.start_ret = 0;
	ck_assert_int_eq(req("PUT", "/boot-source", BOOT), 204);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 400);
	/* Configuration after start. */
	ck_assert_int_eq(req("PUT", "/boot-source", BOOT), 400);
	ck_assert_int_eq(req("PUT", "/drives/a",
			     "{\"drive_id\":\"a\",\"path_on_host\":\"/x\","
			     "\"is_root_device\":false}"),
			 400);
	ck_assert_int_eq(req("PUT", "/network-interfaces/e",
			     "{\"iface_id\":\"e\","
			     "\"host_dev_name\":\"tap0\"}"),
			 400);
	ck_assert_int_eq(req("PUT", "/vsock", "{\"guest_cid\":3,\"uds_path\":\"/v\"}"), 400);
	ck_assert_int_eq(req("PUT", "/metrics", "{\"metrics_path\":\"/m\"}"), 400);
	ck_assert_int_eq(req("PUT", "/logger", "{\"log_path\":\"/l\"}"), 400);
	/* Pause / resume. */
	ck_assert_int_eq(req("PATCH", "/vm", "{\"state\":\"Resumed\"}"), 400);
	assert_fault("cannot resume");
	ck_assert_int_eq(req("PATCH", "/vm", "{\"state\":\"Paused\"}"), 204);
	ck_assert_int_eq(req("GET", "/", NULL), 200);
	assert_fault("\"state\":\"Paused\"");
	ck_assert_int_eq(req("PATCH", "/vm", "{\"state\":\"Paused\"}"), 400);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 400);
	ck_assert_int_eq(req("PATCH", "/vm", "{\"state\":\"Resumed\"}"), 204);
	ck_assert_int_eq(req("PATCH", "/vm", "{\"state\":\"Running\"}"), 400);
	assert_fault("Paused or Resumed");
	ck_assert_int_eq(fk.pauses, 1);
	ck_assert_int_eq(fk.resumes, 1);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"SendCtrlAltDel\"}"), 204);
	ck_assert_int_eq(fk.buttons, 1);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceHalt\"}"), 204);
	ck_assert_int_eq(fk.stops, 1);
	/* Ended (the fake's stop ends at once): runtime requests are refused, GET answers. */
	ck_assert_int_eq(req("PATCH", "/vm", "{\"state\":\"Paused\"}"), 400);
	assert_fault(mvm_vm_state_name(MVM_STATE_ENDED));
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceHalt\"}"), 400);
	ck_assert_int_eq(req("GET", "/metrics", NULL), 200);
}
END_TEST

START_TEST(drives_and_root)
{
	ck_assert_int_eq(req("PUT", "/drives/data",
			     "{\"drive_id\":\"data\",\"path_on_host\":"
			     "\"/d.img\",\"is_root_device\":false}"),
			 204);
	ck_assert_int_eq(req("PUT", "/drives/rootfs",
			     "{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r.img\","
			     "\"is_root_device\":true,\"is_read_only\":true}"),
			 204);
	/* A second root is refused; drive_id must match the path. */
	ck_assert_int_eq(req("PUT", "/drives/r2",
			     "{\"drive_id\":\"r2\",\"path_on_host\":\"/x\","
			     "\"is_root_device\":true}"),
			 400);
	assert_fault("already the root device");
	ck_assert_int_eq(req("PUT", "/drives/x",
			     "{\"drive_id\":\"y\",\"path_on_host\":\"/x\","
			     "\"is_root_device\":false}"),
			 400);
	assert_fault("differs from the path");
	ck_assert_int_eq(req("PUT", "/drives/x",
			     "{\"drive_id\":\"x\",\"path_on_host\":\"/x\","
			     "\"is_root_device\":false,\"rate_limiter\":{}}"),
			 400);
	assert_fault("\\\"rate_limiter\\\" is not supported");
	ck_assert_int_eq(req("PUT", "/drives/x",
			     "{\"drive_id\":\"x\",\"path_on_host\":\"/x\","
			     "\"is_root_device\":false,\"io_engine\":\"Async\"}"),
			 400);
	ck_assert_int_eq(req("PUT", "/drives/x", "{\"drive_id\":\"x\",\"is_root_device\":false}"),
			 400);
	assert_fault("missing field \\\"path_on_host\\\"");
	ck_assert_int_eq(req("PUT", "/boot-source", BOOT), 204);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
	/* The root drive became vda and root= was added, read-only. */
	ck_assert_str_eq(fk.cmdline_at_start, "console=ttyS0 root=/dev/vda ro");
	{
		char buf[64];
		ck_assert_int_eq(mvm_config_get(cfg, "disk0", "path", buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "/r.img");
		ck_assert_int_eq(mvm_config_get(cfg, "disk1", "path", buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "/d.img");
	}
	/* PATCH swaps the backing file of the drive it names. */
	ck_assert_int_eq(
	    req("PATCH", "/drives/data", "{\"drive_id\":\"data\",\"path_on_host\":\"/new.img\"}"),
	    204);
	ck_assert_int_eq(fk.replaced_index, 1);
	ck_assert_str_eq(fk.replaced_path, "/new.img");
	ck_assert_int_eq(
	    req("PATCH", "/drives/zz", "{\"drive_id\":\"zz\",\"path_on_host\":\"/n\"}"), 400);
	assert_fault("no such drive");
}
END_TEST

START_TEST(boot_args_keep_root)
{
	ck_assert_int_eq(req("PUT", "/drives/r",
			     "{\"drive_id\":\"r\",\"path_on_host\":\"/r\","
			     "\"is_root_device\":true}"),
			 204);
	ck_assert_int_eq(req("PUT", "/boot-source",
			     "{\"kernel_image_path\":\"/k\",\"boot_args\":"
			     "\"console=ttyS0 root=/dev/vdb\"}"),
			 204);
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
	ck_assert_str_eq(fk.cmdline_at_start, "console=ttyS0 root=/dev/vdb");
}
END_TEST

START_TEST(metrics_nested_and_flushed)
{
	char line[4096];
	ssize_t n;

	ck_assert_int_eq(req("PUT", "/metrics", "{\"metrics_path\":\"/nonexistent\"}"), 400);
	assert_fault("No such file");
	ck_assert_int_eq(req("PUT", "/metrics", "{\"metrics_path\":\"/m\"}"), 204);
	ck_assert_int_eq(req("PUT", "/metrics", "{\"metrics_path\":\"/m\"}"), 400);
	boot();
	ck_assert_int_eq(req("GET", "/metrics", NULL), 200);
	assert_fault("\"vcpu0\":{\"exits_io\":42,\"run_ns\":7}");
	assert_fault("\"blk0\":{\"read_bytes\":4096}");
	assert_fault("\"flat\":1");
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"FlushMetrics\"}"), 204);
	n = read(pipefd[0], line, sizeof(line) - 1);
	ck_assert_int_gt(n, 0);
	line[n] = '\0';
	ck_assert_ptr_nonnull(strstr(line, "\"exits_io\":42"));
	ck_assert_int_eq(line[n - 1], '\n');
}
END_TEST

START_TEST(logger_and_vsock)
{
	ck_assert_int_eq(req("PUT", "/logger",
			     "{\"log_path\":\"/l\",\"level\":\"Debug\","
			     "\"show_level\":true,\"show_log_origin\":false}"),
			 204);
	ck_assert_int_eq(req("PUT", "/logger", "{\"level\":\"Loud\"}"), 400);
	assert_fault("\\\"level\\\"");
	ck_assert_int_eq(req("PUT", "/logger", "{\"module\":\"x\"}"), 400);
	ck_assert_int_eq(req("PUT", "/vsock", "{\"guest_cid\":2,\"uds_path\":\"/v\"}"), 400);
	assert_fault("at least 3");
	ck_assert_int_eq(req("PUT", "/vsock", "{\"guest_cid\":3}"), 400);
	assert_fault("uds_path");
	ck_assert_int_eq(req("PUT", "/vsock",
			     "{\"vsock_id\":\"vsock0\",\"guest_cid\":3,"
			     "\"uds_path\":\"/tmp/v.sock\"}"),
			 204);
	{
		char buf[64];
		ck_assert_int_eq(mvm_config_get(cfg, "vsock", "uds", buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "/tmp/v.sock");
	}
	ck_assert_int_eq(
	    req("PUT", "/network-interfaces/eth0",
		"{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":\"zz\"}"),
	    400);
	assert_fault("mac");
	ck_assert_int_eq(req("PUT", "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap0\",\"guest_mac\":"
			     "\"06:00:ac:10:00:02\"}"),
			 204);
	ck_assert_int_eq(req("PUT", "/network-interfaces/eth0",
			     "{\"iface_id\":\"eth0\",\"host_dev_name\":\"tap1\"}"),
			 204);
	{
		char buf[16];
		ck_assert_int_eq(mvm_config_get(cfg, "net1", "backend", buf, sizeof(buf)), 0);
		ck_assert_str_eq(buf, "none");
	}
}
END_TEST

START_TEST(config_file)
{
	static const char good[] =
	    "{\"boot-source\":{\"kernel_image_path\":\"/k\",\"boot_args\":\"console=ttyS0\"},"
	    "\"drives\":[{\"drive_id\":\"rootfs\",\"path_on_host\":\"/r\",\"is_root_device\":true,"
	    "\"is_read_only\":false}],"
	    "\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":128},"
	    "\"network-interfaces\":[]}";
	char err[512];

	ck_assert_int_eq(api_apply_config_json(&ctx, good, strlen(good), err, sizeof(err)), 0);
	ck_assert(api_ready(&ctx));
	ck_assert_int_eq(req("GET", "/machine-config", NULL), 200);
	assert_fault("\"mem_size_mib\":128");
	ck_assert_int_eq(req("PUT", "/actions", "{\"action_type\":\"InstanceStart\"}"), 204);
	ck_assert_str_eq(fk.cmdline_at_start, "console=ttyS0 root=/dev/vda rw");

	err[0] = '\0';
	ck_assert_int_eq(api_apply_config_json(&ctx, "{\"balloon\":{}}", 14, err, sizeof(err)),
			 -EINVAL);
	ck_assert_ptr_nonnull(strstr(err, "\"balloon\""));
}
END_TEST

START_TEST(config_file_errors)
{
	static const struct {
		const char *text, *needle;
	} cases[] = {
	    {"[]", "JSON object"},
	    {"{\"boot-source\":{\"kernel_image_path\":3}}", "\"boot-source\": PUT /boot-source"},
	    {"{\"drives\":{}}", "must be an array"},
	    {"{\"drives\":[{\"path_on_host\":\"/r\"}]}", "drive_id"},
	    {"{\"drives\":[{\"drive_id\":\"a\",\"path_on_host\":\"/r\"}]}", "is_root_device"},
	    {"{\"machine-config\":{\"vcpu_count\":2,\"mem_size_mib\":128,\"x\":1}}",
	     "unknown field \"x\""},
	};
	char err[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		ck_assert_int_eq(api_apply_config_json(&ctx, cases[i].text, strlen(cases[i].text),
						       err, sizeof(err)),
				 -EINVAL);
		ck_assert_msg(strstr(err, cases[i].needle), "case %zu: \"%s\" lacks \"%s\"", i, err,
			      cases[i].needle);
	}
}
END_TEST

START_TEST(metric_names)
{
	struct json_object *o = json_object_new_object();
	char *t;

	api_json_put_metric(o, "a.b.c", 1);
	api_json_put_metric(o, "a.b.d", 2);
	api_json_put_metric(o, "a.b", 3);     /* collides with an object: stays flat */
	api_json_put_metric(o, "a.b.c.e", 4); /* runs into a number: flat */
	api_json_put_metric(o, ".x", 5);
	api_json_put_metric(o, "y.", 6);
	api_json_put_metric(o, "p.q.r.s.t.u.v", 7);
	t = api_json_text(o);
	ck_assert_str_eq(t, "{\"a\":{\"b\":{\"c\":1,\"d\":2}},\"a.b\":3,\"a.b.c.e\":4,\".x\":5,"
			    "\"y.\":6,\"p.q.r.s.t.u.v\":7}");
	free(t);
	json_object_put(o);
}
END_TEST

Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("routes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, info_before_and_after_start);
	tcase_add_test(tc, machine_config);
	tcase_add_test(tc, bad_bodies);
	tcase_add_test(tc, routes_and_methods);
	tcase_add_test(tc, state_rules);
	tcase_add_test(tc, drives_and_root);
	tcase_add_test(tc, boot_args_keep_root);
	tcase_add_test(tc, metrics_nested_and_flushed);
	tcase_add_test(tc, logger_and_vsock);
	tcase_add_test(tc, config_file);
	tcase_add_test(tc, config_file_errors);
	tcase_add_test(tc, metric_names);
	suite_add_tcase(s, tc);
	return s;
}
