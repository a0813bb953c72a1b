/* SPDX-License-Identifier: MIT */
/*
 * minivmm --jail through real KVM (root needed: run in the SVM test host).
 * - a jailed virtio-blk guest reads, writes and flushes its disk, and a
 *   jailed virtio-net guest gets ARP, DHCP and a UDP echo through slirp,
 *   with the same arguments as the unjailed tests plus --jail;
 * - while a jailed VM runs, what the kernel says about it: only the VM's
 *   files under /proc/PID/root, uid/gid, no capabilities, NoNewPrivs,
 *   PID 1 of its own PID namespace, its own mount/IPC/UTS namespaces, its
 *   cgroup leaf and limits (when a cgroup v2 with cpu/memory/pids can be
 *   had), and SIGTERM relayed (status 143) with the leaf removed after;
 * - failures: missing DIR, uid=0 as root, another uid without root.
 * Skipped with a printed reason when not root.
 */
#include <arpa/inet.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define JAIL_UID "65534"
#define CG_MOUNT "/sys/fs/cgroup"
#define CG_NAME	 "minivmm-test"

static bool need_root(void)
{
	if (geteuid() == 0)
		return true;
	printf("# skip %s: the jail tests need root (run them in tests/hostvm)\n", "jail");
	return false;
}

static void make_jail_dir(char *dir)
{
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static char *slurp(const char *path)
{
	static __thread char buf[8192];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	buf[0] = '\0';
	if (fd < 0)
		return buf;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

/* The value after "Key:\t" in a /proc status file ("" if absent). */
static void status_field(const char *status, const char *key, char *out, size_t outlen)
{
	char want[64];
	const char *p;

	snprintf(want, sizeof(want), "\n%s:", key);
	p = strstr(status, want);
	out[0] = '\0';
	if (!p)
		return;
	p += strlen(want);
	while (*p == '\t' || *p == ' ')
		p++;
	snprintf(out, outlen, "%.*s", (int)strcspn(p, "\n"), p);
}

/*
 * A cgroup v2 hierarchy with cpu, memory and pids to hand out: the one at
 * /sys/fs/cgroup, mounted there first if nothing is (the SVM test host mounts
 * none).  False on a v1 or hybrid host, where v1 holds the controllers.
 */
static bool cgroup2_usable(void)
{
	const char *ctl;

	if (access(CG_MOUNT "/cgroup.controllers", R_OK) != 0 &&
	    mount("none", CG_MOUNT, "cgroup2", 0, NULL) < 0)
		return false;
	ctl = slurp(CG_MOUNT "/cgroup.controllers");
	return strstr(ctl, "cpu") && strstr(ctl, "memory") && strstr(ctl, "pids");
}

static void copy_file(const char *from, const char *to)
{
	char buf[65536];
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ssize_t n;

	ck_assert(in >= 0 && out >= 0);
	while ((n = read(in, buf, sizeof(buf))) > 0)
		ck_assert_int_eq(write(out, buf, (size_t)n), n);
	close(in);
	close(out);
}

START_TEST(jailed_disk_guest)
{
	char img[] = "/tmp/minivmm-jail-blk-XXXXXX", dir[] = "/tmp/minivmm-jail-XXXXXX";
	char jail[128], disk[128], kernel[256];
	struct run_result r;
	int fd;

	if (!need_root())
		return;
	make_jail_dir(dir);
	fd = mkstemp(img);
	ck_assert_int_ge(fd, 0);
	/* The pattern tests/guests/virtio_blk.c expects from the host (as test_virtio_blk.c). */
	for (uint64_t i = 0; i < 128; i++) {
		uint64_t words[64];
		for (int w = 0; w < 64; w++)
			words[w] = (i * 0x0101010101010101ull) ^ 0x5a5a5a5a5a5a5a5aull;
		ck_assert_int_eq(write(fd, words, sizeof(words)), (ssize_t)sizeof(words));
	}
	/* The jailed VMM runs as 65534: the image must be its to write. */
	ck_assert_int_eq(fchown(fd, 65534, 65534), 0);
	close(fd);
	/* The ELF run also gets an empty network namespace of its own (it needs none). */
	snprintf(jail, sizeof(jail), "%s,uid=" JAIL_UID ",gid=" JAIL_UID "%s", dir,
		 _i ? ",netns=new" : "");
	snprintf(disk, sizeof(disk), "%s,serial=jailed", img);
	/*
	 * bzImage: a relative kernel path, which must resolve inside the jail as
	 * outside.  ELF: the kernel kept inside DIR itself, as Firecracker's
	 * jailer has it, which the jail's tmpfs on DIR must not hide.
	 */
	if (_i == 0) {
		snprintf(kernel, sizeof(kernel), "%s", guest_path("virtio_blk", 0));
	} else {
		snprintf(kernel, sizeof(kernel), "%s/virtio_blk.elf", dir);
		copy_file(guest_path("virtio_blk", 1), kernel);
	}
	RUN(&r, NULL, "--kernel", kernel, "--disk", disk, "--cmdline",
	    "expect_sectors=128 serial=jailed ro=0 discover=acpi", "--jail", jail);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	run_result_free(&r);
	/* The guest's writes (sectors 16..31) reached the host's file through the bind mount. */
	{
		uint64_t word;
		fd = open(img, O_RDONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(pread(fd, &word, sizeof(word), 20 * 512), (ssize_t)sizeof(word));
		ck_assert_uint_eq(word, (20 * 0x0101010101010101ull) ^ 0xa5a5a5a5a5a5a5a5ull);
		close(fd);
	}
	/* DIR on the host is untouched: the jail's root was a tmpfs in its own namespace. */
	if (_i == 1)
		ck_assert_int_eq(unlink(kernel), 0);
	ck_assert_int_eq(rmdir(dir), 0);
	unlink(img);
}
END_TEST

START_TEST(jailed_user_net_guest)
{
	char dir[] = "/tmp/minivmm-jail-XXXXXX", jail[128], cmdline[160], token[32];
	struct run_result r;
	struct echo e;

	if (!need_root())
		return;
	make_jail_dir(dir);
	snprintf(token, sizeof(token), "jail%d", (int)getpid());
	ck_assert_int_eq(echo_start(&e, "127.0.0.1", token), 0);
	snprintf(jail, sizeof(jail), "%s,uid=" JAIL_UID ",gid=" JAIL_UID, dir);
	snprintf(cmdline, sizeof(cmdline), "mode=user port=%u token=jail%d discover=acpi", e.port,
		 (int)getpid());
	RUN(&r, NULL, "--kernel", guest_path("virtio_net", 1), "--net", "user", "--cmdline",
	    cmdline, "--jail", jail);
	echo_stop(&e);
	ck_assert_status(&r, 0);
	ck_assert_output_has(&r, "net: dhcp-offer ok yiaddr=10.0.2.15");
	ck_assert_output_has(&r, "# minivmm-test: PASS");
	run_result_free(&r);
	rmdir(dir);
}
END_TEST

/* Every non-directory under root, relative, space-separated, sorted by walk order. */
static void list_leaves(const char *root, const char *rel, char *out, size_t outlen)
{
	char path[1024];
	DIR *d;
	struct dirent *de;

	snprintf(path, sizeof(path), "%s%s", root, rel);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char sub[1024];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", rel, de->d_name);
		snprintf(path, sizeof(path), "%s%s", root, sub);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode) && strlen(out) < outlen - 256) {
			list_leaves(root, sub, out, outlen);
		} else if (strlen(out) + strlen(sub) + 2 < outlen) {
			strcat(out, sub);
			strcat(out, " ");
		}
	}
	closedir(d);
}

static pid_t only_child(pid_t parent)
{
	char path[64];
	long child;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)parent, (int)parent);
	child = strtol(slurp(path), NULL, 10);
	return (pid_t)child;
}

START_TEST(jailed_process_is_confined)
{
	char dir[] = "/tmp/minivmm-jail-XXXXXX", jail[256], leaves[4096] = "", kernel[512];
	char root[64], path[256], v[256], status[8192], *cg_leaf_path = NULL;
	bool cgroup = false;
	int out[2], st;
	pid_t vmm, child = 0;
	struct stat a, b;

	if (!need_root())
		return;
	make_jail_dir(dir);
	cgroup = cgroup2_usable();
	if (cgroup)
		snprintf(jail, sizeof(jail),
			 "%s,uid=" JAIL_UID ",gid=" JAIL_UID ",cgroup=" CG_NAME
			 ",cpus=0.5,mem=256M,pids=16,nofile=128",
			 dir);
	else {
		printf("# jail: no cgroup v2 with cpu/memory/pids here; cgroup checks skipped\n");
		snprintf(jail, sizeof(jail), "%s,uid=" JAIL_UID ",gid=" JAIL_UID ",nofile=128",
			 dir);
	}
	snprintf(kernel, sizeof(kernel), "%s", guest_path("hang", 1));
	ck_assert_int_eq(pipe(out), 0);
	vmm = fork();
	if (vmm == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 0);
		dup2(out[1], 1);
		/* An inherited descriptor the jail must close. */
		open("/dev/null", O_RDONLY);
		execl(minivmm_bin(), minivmm_bin(), "--kernel", kernel, "--timeout", "60", "--jail",
		      jail, (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	/* The guest's line means the VM runs: the jail is complete by then. */
	{
		char buf[512];
		size_t got = 0;
		struct pollfd pfd = {out[0], POLLIN, 0};

		while (!strstr(buf, "halting forever") && poll(&pfd, 1, 60000) > 0) {
			ssize_t n = read(out[0], buf + got, sizeof(buf) - 1 - got);
			if (n <= 0)
				break;
			got += (size_t)n;
			buf[got] = '\0';
		}
		ck_assert_msg(got && strstr(buf, "halting forever"), "the jailed guest never ran");
	}
	child = only_child(vmm);
	ck_assert_int_gt(child, 0);

	snprintf(path, sizeof(path), "/proc/%d/status", (int)child);
	snprintf(status, sizeof(status), "%s", slurp(path));
	status_field(status, "Uid", v, sizeof(v));
	ck_assert_str_eq(v, "65534\t65534\t65534\t65534");
	status_field(status, "Gid", v, sizeof(v));
	ck_assert_str_eq(v, "65534\t65534\t65534\t65534");
	status_field(status, "Groups", v, sizeof(v));
	ck_assert_str_eq(v, "");
	for (const char *const *k =
		 (const char *const[]){"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", NULL};
	     *k; k++) {
		status_field(status, *k, v, sizeof(v));
		ck_assert_msg(!strcmp(v, "0000000000000000"), "%s is %s", *k, v);
	}
	status_field(status, "NoNewPrivs", v, sizeof(v));
	ck_assert_str_eq(v, "1");
	/* PID 1 of a PID namespace of its own: "NSpid: <host pid> 1". */
	status_field(status, "NSpid", v, sizeof(v));
	ck_assert_msg(strstr(v, "\t1") && v[strlen(v) - 1] == '1', "NSpid %s", v);

	for (const char *const *ns = (const char *const[]){"mnt", "pid", "ipc", "uts", NULL}; *ns;
	     ns++) {
		char mine[64];

		snprintf(path, sizeof(path), "/proc/%d/ns/%s", (int)child, *ns);
		snprintf(mine, sizeof(mine), "/proc/self/ns/%s", *ns);
		ck_assert_int_eq(stat(path, &a), 0);
		ck_assert_int_eq(stat(mine, &b), 0);
		ck_assert_msg(a.st_ino != b.st_ino, "%s namespace shared with the host", *ns);
	}
	/* The network namespace is the caller's unless netns= says otherwise. */
	snprintf(path, sizeof(path), "/proc/%d/ns/net", (int)child);
	ck_assert_int_eq(stat(path, &a), 0);
	ck_assert_int_eq(stat("/proc/self/ns/net", &b), 0);
	ck_assert_int_eq(a.st_ino, b.st_ino);

	/* Its root holds the kernel (at its path), /dev/kvm, /dev/urandom; nothing else. */
	snprintf(root, sizeof(root), "/proc/%d/root", (int)child);
	list_leaves(root, "", leaves, sizeof(leaves));
	{
		char want_kernel[1100], cwd[512];

		ck_assert_ptr_nonnull(getcwd(cwd, sizeof(cwd)));
		snprintf(want_kernel, sizeof(want_kernel), "%s%s%s ", kernel[0] == '/' ? "" : cwd,
			 kernel[0] == '/' ? "" : "/", kernel);
		ck_assert_msg(strstr(leaves, want_kernel), "no kernel in the jail: %s", leaves);
		ck_assert_msg(strstr(leaves, "/dev/kvm "), "no /dev/kvm: %s", leaves);
		/* Three leaves (kernel, kvm, urandom), plus kvm_pvm's marker on a PVM host. */
		int n = 0;
		for (const char *p = leaves; (p = strchr(p, ' ')); p++)
			n++;
		ck_assert_msg(n == 3, "the jail holds more than the VM's files: %s", leaves);
	}
	snprintf(path, sizeof(path), "%s/etc", root);
	ck_assert_int_ne(access(path, F_OK), 0);
	/* The jail's own /dev/kvm belongs to the jailed user. */
	snprintf(path, sizeof(path), "%s/dev/kvm", root);
	ck_assert_int_eq(stat(path, &a), 0);
	ck_assert(S_ISCHR(a.st_mode) && a.st_uid == 65534 && (a.st_mode & 0777) == 0600);
	/* Descriptors: none inherited beyond 0-2 (the extra /dev/null is gone). */
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)child);
	{
		DIR *d = opendir(path);
		struct dirent *de;
		char link[600], target[256];

		ck_assert_ptr_nonnull(d);
		while ((de = readdir(d))) {
			ssize_t n;
			if (de->d_name[0] == '.' || atoi(de->d_name) < 3)
				continue;
			snprintf(link, sizeof(link), "%s/%s", path, de->d_name);
			n = readlink(link, target, sizeof(target) - 1);
			target[n > 0 ? n : 0] = '\0';
			ck_assert_msg(strcmp(target, "/dev/null") != 0,
				      "inherited fd %s -> /dev/null still open", de->d_name);
		}
		closedir(d);
	}
	snprintf(path, sizeof(path), "/proc/%d/limits", (int)child);
	ck_assert_msg(strstr(slurp(path), "Max open files            128                  128"),
		      "%s", slurp(path));

	if (cgroup) {
		char want[128];

		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)child);
		snprintf(want, sizeof(want), "0::/" CG_NAME "/minivmm-%d\n", (int)vmm);
		ck_assert_str_eq(slurp(path), want);
		if (asprintf(&cg_leaf_path, CG_MOUNT "/" CG_NAME "/minivmm-%d", (int)vmm) < 0)
			cg_leaf_path = NULL;
		ck_assert_ptr_nonnull(cg_leaf_path);
		snprintf(path, sizeof(path), "%s/cpu.max", cg_leaf_path);
		ck_assert_str_eq(slurp(path), "50000 100000\n");
		snprintf(path, sizeof(path), "%s/memory.max", cg_leaf_path);
		ck_assert_str_eq(slurp(path), "268435456\n");
		snprintf(path, sizeof(path), "%s/pids.max", cg_leaf_path);
		ck_assert_str_eq(slurp(path), "16\n");
		/* The VMM's threads (main + 1 vCPU at least) are counted there. */
		snprintf(path, sizeof(path), "%s/pids.current", cg_leaf_path);
		ck_assert_int_ge(atoi(slurp(path)), 2);
	}

	/* SIGTERM to the launcher reaches the VM: stopped by SIGTERM, 143. */
	kill(vmm, SIGTERM);
	ck_assert_int_eq(waitpid(vmm, &st, 0), vmm);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 143);
	close(out[0]);
	if (cg_leaf_path) {
		ck_assert_msg(access(cg_leaf_path, F_OK) != 0, "%s left behind", cg_leaf_path);
		free(cg_leaf_path);
	}
	rmdir(dir);
}
END_TEST

START_TEST(jail_failures_are_one_line)
{
	struct run_result r;
	struct run_opts as_nobody = {.limit_s = 30, .run_as_user = JAIL_UID};
	char dir[] = "/tmp/minivmm-jail-XXXXXX", jail[128];
	const char *kernel = guest_path("exit_status", 1);

	if (!need_root())
		return;
	RUN(&r, NULL, "--kernel", kernel, "--jail", "/nonexistent/jail,uid=1,gid=1");
	ck_assert_status(&r, 125);
	ck_assert_stderr_has(&r, "minivmm: jail: cannot use /nonexistent/jail as the jail's root: "
				 "No such file or directory (create an empty directory");
	ck_assert_int_eq(strchr(r.err, '\n') - r.err + 1, (long)strlen(r.err)); /* one line */
	run_result_free(&r);

	make_jail_dir(dir);
	snprintf(jail, sizeof(jail), "%s,uid=0,gid=0", dir);
	RUN(&r, NULL, "--kernel", kernel, "--jail", jail);
	ck_assert_status(&r, 125);
	ck_assert_stderr_has(&r, "minivmm: jail: uid=0 is not allowed");
	run_result_free(&r);

	snprintf(jail, sizeof(jail), "%s", dir);
	RUN(&r, NULL, "--kernel", kernel, "--jail", jail);
	ck_assert_status(&r, 125);
	ck_assert_stderr_has(&r, "as root, say which user runs the VM: uid=U,gid=G");
	run_result_free(&r);

	/* Without root: only yourself. */
	snprintf(jail, sizeof(jail), "%s,uid=0", dir);
	RUN(&r, &as_nobody, "--kernel", kernel, "--jail", jail);
	ck_assert_status(&r, 125);
	ck_assert_stderr_has(&r, "minivmm: jail: uid=0 is not allowed: without root the VM runs "
				 "as yourself");
	run_result_free(&r);

	/* Too few pids for the VMM's threads. */
	snprintf(jail, sizeof(jail), "%s,uid=1,gid=1,pids=2", dir);
	RUN(&r, NULL, "--kernel", kernel, "--cpus", "2", "--jail", jail);
	ck_assert_status(&r, 125);
	ck_assert_stderr_has(&r, "jail: pids=2 is too few for 2 vCPUs");
	run_result_free(&r);

	RUN(&r, NULL, "--kernel", kernel, "--jail", "relative/dir,uid=1,gid=1");
	ck_assert_status(&r, 125);
	run_result_free(&r);
	rmdir(dir);
}
END_TEST

Suite *jail_suite(void)
{
	Suite *s = suite_create("jail");
	TCase *tc = tcase_create("jail");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, jail_failures_are_one_line);
	tcase_add_loop_test(tc, jailed_disk_guest, 0, 2);
	tcase_add_test(tc, jailed_user_net_guest);
	tcase_add_test(tc, jailed_process_is_confined);
	suite_add_tcase(s, tc);
	return s;
}
