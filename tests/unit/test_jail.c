/* SPDX-License-Identifier: MIT */
/*
 * The pure parts of the jail (vmm/jail.c): --jail parsing, the lexical
 * path normalisation, the list of paths a VM needs inside its root, and the
 * cgroup v2 settings.  The jail itself is exercised by the integration tests
 * (tests/integration/test_jail.c, as root in the SVM test host).
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vmm/jail.h"

static char err[512];

static const struct jail_path *find(const struct jail_path *p, int n, const char *target)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(p[i].target, target))
			return &p[i];
	return NULL;
}

START_TEST(parse_full)
{
	struct mvm_jail j;

	ck_assert_int_eq(mvm_jail_parse(&j,
					"/srv/jail,uid=1000,gid=1001,cgroup=vms,cpus=1.5,mem=512M,"
					"pids=32,netns=/run/netns/a,nofile=256,fsize=64M",
					err, sizeof(err)),
			 0);
	ck_assert_str_eq(j.dir, "/srv/jail");
	ck_assert(j.uid_set && j.gid_set);
	ck_assert_uint_eq(j.uid, 1000);
	ck_assert_uint_eq(j.gid, 1001);
	ck_assert_str_eq(j.cgroup, "vms");
	ck_assert_uint_eq(j.millicpus, 1500);
	ck_assert_uint_eq(j.mem_bytes, 512ull << 20);
	ck_assert_uint_eq(j.pids, 32);
	ck_assert_str_eq(j.netns, "/run/netns/a");
	ck_assert_uint_eq(j.nofile, 256);
	ck_assert_uint_eq(j.fsize, 64ull << 20);
	mvm_jail_free(&j);
}
END_TEST

START_TEST(parse_defaults)
{
	struct mvm_jail j;

	ck_assert_int_eq(mvm_jail_parse(&j, "/j", err, sizeof(err)), 0);
	ck_assert_str_eq(j.dir, "/j");
	ck_assert(!j.uid_set && !j.gid_set);
	ck_assert_ptr_null(j.cgroup);
	ck_assert_ptr_null(j.netns);
	ck_assert_uint_eq(j.nofile, JAIL_DEFAULT_NOFILE);
	ck_assert_uint_eq(j.fsize, 0);
	ck_assert(!jail_wants_cgroup(&j));
	mvm_jail_free(&j);
	ck_assert_int_eq(mvm_jail_parse(&j, "/j,uid=root,gid=0", err, sizeof(err)), 0);
	ck_assert_uint_eq(j.uid, 0);
	mvm_jail_free(&j);
}
END_TEST

START_TEST(parse_rejects)
{
	static const struct {
		const char *spec, *says;
	} bad[] = {
	    {"", "DIR first"},
	    {"uid=5", "DIR first"},
	    {",uid=5", "DIR first"},
	    {"/j,uid", "not KEY=VALUE"},
	    {"/j,uid=", "not KEY=VALUE"},
	    {"/j,,uid=1", "not KEY=VALUE"},
	    {"/j,uid=no-such-user-here", "uid=no-such-user-here"},
	    {"/j,gid=-1", "gid=-1"},
	    {"/j,cpus=0", "cpus=0"},
	    {"/j,cpus=1.2345", "cpus=1.2345"},
	    {"/j,cpus=2000", "cpus=2000"},
	    {"/j,cpus=x", "cpus=x"},
	    {"/j,mem=1M", "at least 16M"},
	    {"/j,mem=lots", "mem=lots"},
	    {"/j,pids=0", "pids=0"},
	    {"/j,nofile=3", "nofile=3"},
	    {"/j,fsize=0", "fsize=0"},
	    {"/j,colour=blue", "unknown option \"colour\""},
	};

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct mvm_jail j;

		err[0] = '\0';
		ck_assert_msg(mvm_jail_parse(&j, bad[i].spec, err, sizeof(err)) == -EINVAL,
			      "accepted \"%s\"", bad[i].spec);
		ck_assert_msg(strstr(err, bad[i].says), "\"%s\": message \"%s\" lacks \"%s\"",
			      bad[i].spec, err, bad[i].says);
		ck_assert_msg(!strncmp(err, "jail: ", 6), "\"%s\"", err);
		ck_assert_ptr_null(j.dir); /* freed on failure */
	}
}
END_TEST

START_TEST(cpus_fractions)
{
	static const struct {
		const char *s;
		unsigned milli;
	} ok[] = {{"1", 1000}, {"0.5", 500}, {".25", 250}, {"2.05", 2050}, {"0.001", 1}};

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		struct mvm_jail j;
		char spec[64];

		snprintf(spec, sizeof(spec), "/j,cpus=%s", ok[i].s);
		ck_assert_int_eq(mvm_jail_parse(&j, spec, err, sizeof(err)), 0);
		ck_assert_uint_eq(j.millicpus, ok[i].milli);
		mvm_jail_free(&j);
	}
}
END_TEST

START_TEST(normalize_paths)
{
	static const struct {
		const char *cwd, *path, *want;
	} cases[] = {
	    {"/home/u", "root.img", "/home/u/root.img"},
	    {"/home/u", "./a/../b//c.img", "/home/u/b/c.img"},
	    {"/home/u", "../../../../x", "/x"},
	    {"/home/u", "/abs/k", "/abs/k"},
	    {"/", "k", "/k"},
	    {"/a", "..", "/"},
	    {"/a/", "b/", "/a/b"},
	};
	char out[JAIL_PATH_MAX];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		ck_assert_int_eq(jail_normalize(cases[i].cwd, cases[i].path, out, sizeof(out)), 0);
		ck_assert_str_eq(out, cases[i].want);
	}
	ck_assert_int_eq(jail_normalize("relative", "x", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(jail_normalize("/a", "", out, sizeof(out)), -EINVAL);
	ck_assert_int_eq(jail_normalize("/a", "bcdefgh", out, 6), -ENAMETOOLONG);
}
END_TEST

START_TEST(paths_of_a_vm)
{
	struct mvm_config cfg;
	struct jail_path p[JAIL_MAX_PATHS];
	const struct jail_path *e;
	int n;

	config_init(&cfg);
	ck_assert_int_eq(mvm_config_set(&cfg, "boot", "kernel", "k/bzImage", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "boot", "initrd", "/boot/i.img", err, sizeof(err)),
			 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "disk0", "path", "root.img", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "disk1", "path", "/data/ro.img", err, sizeof(err)),
			 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "disk1", "ro", "true", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "console", "log", "out/con.log", err, sizeof(err)),
			 0);
	n = jail_plan_paths(&cfg, "/home/u", p, JAIL_MAX_PATHS);
	ck_assert_int_eq(n, 8);

	e = find(p, n, "/home/u/k/bzImage");
	ck_assert(e && e->kind == JAIL_FILE_RO && e->optional);
	ck_assert_str_eq(e->source, "k/bzImage"); /* bound from the path as given */
	e = find(p, n, "/boot/i.img");
	ck_assert(e && e->kind == JAIL_FILE_RO);
	e = find(p, n, "/home/u/root.img");
	ck_assert(e && e->kind == JAIL_FILE_RW);
	e = find(p, n, "/data/ro.img");
	ck_assert(e && e->kind == JAIL_FILE_RO);
	e = find(p, n, "/home/u/out/con.log");
	ck_assert(e && e->kind == JAIL_FILE_RW && !e->optional);
	e = find(p, n, "/dev/kvm");
	ck_assert(e && e->kind == JAIL_DEV);
	ck_assert_ptr_nonnull(find(p, n, "/dev/urandom"));
	ck_assert_ptr_nonnull(find(p, n, "/sys/module/kvm_pvm"));
	/* No NIC: neither the TUN device nor the resolver. */
	ck_assert_ptr_null(find(p, n, "/dev/net/tun"));
	ck_assert_ptr_null(find(p, n, "/etc/resolv.conf"));
	config_release(&cfg);
}
END_TEST

START_TEST(paths_for_nics_and_duplicates)
{
	struct mvm_config cfg;
	struct jail_path p[JAIL_MAX_PATHS];
	const struct jail_path *e;
	int n;

	config_init(&cfg);
	ck_assert_int_eq(mvm_config_set(&cfg, "boot", "kernel", "/k", err, sizeof(err)), 0);
	/* The same image read-only, then writable under another spelling: one writable mount. */
	ck_assert_int_eq(mvm_config_set(&cfg, "disk0", "path", "/d/x.img", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "disk0", "ro", "true", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "disk1", "path", "/d/./y/../x.img", err, sizeof(err)),
			 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "net0", "backend", "tap", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "net0", "tap", "tap0", err, sizeof(err)), 0);
	ck_assert_int_eq(mvm_config_set(&cfg, "net1", "backend", "user", err, sizeof(err)), 0);
	n = jail_plan_paths(&cfg, "/", p, JAIL_MAX_PATHS);
	ck_assert_int_gt(n, 0);
	e = find(p, n, "/d/x.img");
	ck_assert(e && e->kind == JAIL_FILE_RW);
	ck_assert_ptr_null(find(p, n, "/d/y/../x.img"));
	e = find(p, n, "/dev/net/tun");
	ck_assert(e && e->kind == JAIL_DEV);
	e = find(p, n, "/etc/resolv.conf");
	ck_assert(e && e->kind == JAIL_FILE_RO && e->optional);
	/* Too small an array is an error, not a silent cut. */
	ck_assert_int_eq(jail_plan_paths(&cfg, "/", p, 3), -ENOSPC);
	config_release(&cfg);
}
END_TEST

START_TEST(cgroup_settings)
{
	struct mvm_jail j;
	struct jail_cg_setting s[4];
	char ctl[64];
	int n;

	ck_assert_int_eq(mvm_jail_parse(&j, "/j,cpus=0.5,mem=256M,pids=20", err, sizeof(err)), 0);
	ck_assert(jail_wants_cgroup(&j));
	n = jail_cgroup_settings(&j, s, 4);
	ck_assert_int_eq(n, 4);
	ck_assert_str_eq(s[0].file, "cpu.max");
	ck_assert_str_eq(s[0].value, "50000 100000");
	ck_assert_str_eq(s[1].file, "memory.max");
	ck_assert_str_eq(s[1].value, "268435456");
	ck_assert_str_eq(s[2].file, "memory.swap.max");
	ck_assert_str_eq(s[2].value, "0");
	ck_assert(s[2].optional && !s[1].optional);
	ck_assert_str_eq(s[3].file, "pids.max");
	ck_assert_str_eq(s[3].value, "20");
	jail_cgroup_controllers(&j, ctl, sizeof(ctl));
	ck_assert_str_eq(ctl, "+cpu +memory +pids");
	mvm_jail_free(&j);

	ck_assert_int_eq(mvm_jail_parse(&j, "/j,cpus=2", err, sizeof(err)), 0);
	n = jail_cgroup_settings(&j, s, 4);
	ck_assert_int_eq(n, 1);
	ck_assert_str_eq(s[0].value, "200000 100000");
	jail_cgroup_controllers(&j, ctl, sizeof(ctl));
	ck_assert_str_eq(ctl, "+cpu");
	mvm_jail_free(&j);

	/* cgroup= alone: placement in a leaf, no limits, no controllers. */
	ck_assert_int_eq(mvm_jail_parse(&j, "/j,cgroup=/sys/fs/cgroup/x", err, sizeof(err)), 0);
	ck_assert(jail_wants_cgroup(&j));
	ck_assert_int_eq(jail_cgroup_settings(&j, s, 4), 0);
	jail_cgroup_controllers(&j, ctl, sizeof(ctl));
	ck_assert_str_eq(ctl, "");
	mvm_jail_free(&j);
}
END_TEST

Suite *jail_suite(void)
{
	Suite *s = suite_create("jail");
	TCase *tc = tcase_create("pure");

	tcase_add_test(tc, parse_full);
	tcase_add_test(tc, parse_defaults);
	tcase_add_test(tc, parse_rejects);
	tcase_add_test(tc, cpus_fractions);
	tcase_add_test(tc, normalize_paths);
	tcase_add_test(tc, paths_of_a_vm);
	tcase_add_test(tc, paths_for_nics_and_duplicates);
	tcase_add_test(tc, cgroup_settings);
	suite_add_tcase(s, tc);
	return s;
}
