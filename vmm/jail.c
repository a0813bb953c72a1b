/* SPDX-License-Identifier: MIT */
/*
 * The jail (vmm/jail.h has the what and the why).  The order follows
 * Firecracker's jailer where it applies, adapted to a VMM that does not
 * exec: close descriptors, resolve everything that needs the host's file
 * system (users, paths, libslirp, cgroup2 mount, netns), cgroup leaf, fork
 * into new namespaces, private tmpfs root with bind mounts and device nodes,
 * pivot_root, rlimits, setsid, no_new_privs, capabilities and ids dropped.
 *
 * Every failing step returns -errno with one line "jail: cannot STEP: WHY
 * (HOW TO FIX)".
 */
#include "vmm/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <poll.h>
#include <pwd.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "devices/net_backend.h"
#include "vmm/log.h"

/* ---- parsing ---- */

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s[0] || s[0] == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* "2", "0.5", "1.25": CPUs with up to three decimals, as thousandths. */
static int parse_millicpus(const char *s, uint32_t *out)
{
	uint64_t whole = 0, frac = 0;
	const char *dot = strchr(s, '.');
	char buf[32];
	size_t fl;

	if (strlen(s) >= sizeof(buf))
		return -EINVAL;
	snprintf(buf, sizeof(buf), "%.*s", dot ? (int)(dot - s) : (int)strlen(s), s);
	if (parse_u64(buf[0] ? buf : "0", 0, 1024, &whole) < 0)
		return -EINVAL;
	if (dot) {
		fl = strlen(dot + 1);
		if (fl == 0 || fl > 3 || parse_u64(dot + 1, 0, 999, &frac) < 0)
			return -EINVAL;
		for (; fl < 3; fl++)
			frac *= 10;
	}
	if (whole * 1000 + frac == 0 || whole * 1000 + frac > 1024 * 1000)
		return -EINVAL;
	*out = (uint32_t)(whole * 1000 + frac);
	return 0;
}

static int parse_uid(const char *s, uid_t *out)
{
	uint64_t v;
	struct passwd pw, *res = NULL;
	char buf[1024];

	if (parse_u64(s, 0, UINT32_MAX - 1, &v) == 0) {
		*out = (uid_t)v;
		return 0;
	}
	if (getpwnam_r(s, &pw, buf, sizeof(buf), &res) != 0 || !res)
		return -EINVAL;
	*out = res->pw_uid;
	return 0;
}

static int parse_gid(const char *s, gid_t *out)
{
	uint64_t v;
	struct group gr, *res = NULL;
	char buf[4096];

	if (parse_u64(s, 0, UINT32_MAX - 1, &v) == 0) {
		*out = (gid_t)v;
		return 0;
	}
	if (getgrnam_r(s, &gr, buf, sizeof(buf), &res) != 0 || !res)
		return -EINVAL;
	*out = res->gr_gid;
	return 0;
}

void mvm_jail_free(struct mvm_jail *j)
{
	free(j->dir);
	free(j->cgroup);
	free(j->netns);
	memset(j, 0, sizeof(*j));
}

int mvm_jail_parse(struct mvm_jail *j, const char *spec, char *err, size_t errlen)
{
	char *copy, *opt, *save = NULL;
	int ret = 0;

	memset(j, 0, sizeof(*j));
	j->nofile = JAIL_DEFAULT_NOFILE;
	copy = strdup(spec);
	if (!copy)
		return errbuf(err, errlen, -ENOMEM, "jail: out of memory");
	/* The directory first; strtok_r would skip an empty one. */
	opt = copy;
	save = strchr(copy, ',');
	if (save)
		*save++ = '\0';
	if (!opt[0] || strchr(opt, '=')) {
		ret = errbuf(err, errlen, -EINVAL,
			     "jail: expected DIR[,uid=U][,gid=G][,cgroup=PATH][,cpus=N][,mem=SIZE]"
			     "[,pids=N][,netns=PATH|new][,nofile=N][,fsize=SIZE], DIR first");
		goto out;
	}
	j->dir = strdup(opt);
	if (!j->dir) {
		ret = errbuf(err, errlen, -ENOMEM, "jail: out of memory");
		goto out;
	}
	while (save && (opt = strsep(&save, ","))) {
		char *eq = strchr(opt, '=');
		const char *v = eq ? eq + 1 : "";
		uint64_t n;

		if (!eq || !v[0]) {
			ret = errbuf(
			    err, errlen, -EINVAL,
			    "jail: \"%s\" is not KEY=VALUE (keys: uid, gid, cgroup, cpus, mem, "
			    "pids, netns, nofile, fsize)",
			    opt);
			goto out;
		}
		*eq = '\0';
		if (!strcmp(opt, "uid")) {
			if (parse_uid(v, &j->uid) < 0) {
				ret = errbuf(err, errlen, -EINVAL,
					     "jail: uid=%s: not a number nor a known user", v);
				goto out;
			}
			j->uid_set = true;
		} else if (!strcmp(opt, "gid")) {
			if (parse_gid(v, &j->gid) < 0) {
				ret = errbuf(err, errlen, -EINVAL,
					     "jail: gid=%s: not a number nor a known group", v);
				goto out;
			}
			j->gid_set = true;
		} else if (!strcmp(opt, "cgroup")) {
			free(j->cgroup);
			j->cgroup = strdup(v);
			if (!j->cgroup) {
				ret = errbuf(err, errlen, -ENOMEM, "jail: out of memory");
				goto out;
			}
		} else if (!strcmp(opt, "cpus")) {
			if (parse_millicpus(v, &j->millicpus) < 0) {
				ret = errbuf(err, errlen, -EINVAL,
					     "jail: cpus=%s: want a number of CPUs, e.g. 1 or 0.5 "
					     "(0.001 to 1024)",
					     v);
				goto out;
			}
		} else if (!strcmp(opt, "mem")) {
			if (mvm_parse_size(v, &j->mem_bytes) < 0 || j->mem_bytes < (16u << 20)) {
				ret = errbuf(err, errlen, -EINVAL,
					     "jail: mem=%s: want a size of at least 16M, e.g. 512M",
					     v);
				goto out;
			}
		} else if (!strcmp(opt, "pids")) {
			if (parse_u64(v, 1, 1u << 22, &j->pids) < 0) {
				ret = errbuf(err, errlen, -EINVAL,
					     "jail: pids=%s: want a number of tasks, e.g. 64", v);
				goto out;
			}
		} else if (!strcmp(opt, "netns")) {
			free(j->netns);
			j->netns = strdup(v);
			if (!j->netns) {
				ret = errbuf(err, errlen, -ENOMEM, "jail: out of memory");
				goto out;
			}
		} else if (!strcmp(opt, "nofile")) {
			if (parse_u64(v, 64, 1u << 20, &n) < 0) {
				ret = errbuf(err, errlen, -EINVAL,
					     "jail: nofile=%s: want a number of descriptors, 64 to "
					     "1048576",
					     v);
				goto out;
			}
			j->nofile = n;
		} else if (!strcmp(opt, "fsize")) {
			if (mvm_parse_size(v, &j->fsize) < 0 || j->fsize == 0) {
				ret = errbuf(err, errlen, -EINVAL,
					     "jail: fsize=%s: want a size, e.g. 64M", v);
				goto out;
			}
		} else {
			ret = errbuf(
			    err, errlen, -EINVAL,
			    "jail: unknown option \"%s\" (keys: uid, gid, cgroup, cpus, mem, "
			    "pids, netns, nofile, fsize)",
			    opt);
			goto out;
		}
	}
out:
	free(copy);
	if (ret < 0)
		mvm_jail_free(j);
	return ret;
}

/* ---- the pure parts ---- */

int jail_normalize(const char *cwd, const char *path, char *out, size_t outlen)
{
	char buf[JAIL_PATH_MAX * 2 + 2];
	size_t len = 0;
	char *p, *save = NULL;

	if (!path || !path[0] || (path[0] != '/' && (!cwd || cwd[0] != '/')))
		return -EINVAL;
	if ((size_t)snprintf(buf, sizeof(buf), "%s/%s", path[0] == '/' ? "" : cwd, path) >=
	    sizeof(buf))
		return -ENAMETOOLONG;
	if (outlen < 2)
		return -ENAMETOOLONG;
	out[0] = '\0';
	for (p = strtok_r(buf, "/", &save); p; p = strtok_r(NULL, "/", &save)) {
		size_t n = strlen(p);

		if (!strcmp(p, "."))
			continue;
		if (!strcmp(p, "..")) {
			while (len > 0 && out[len - 1] != '/')
				len--;
			if (len > 0)
				len--; /* the '/' too */
			out[len] = '\0';
			continue;
		}
		if (len + 1 + n + 1 > outlen)
			return -ENAMETOOLONG;
		out[len++] = '/';
		memcpy(out + len, p, n);
		len += n;
		out[len] = '\0';
	}
	if (len == 0) {
		out[0] = '/';
		out[1] = '\0';
	}
	return 0;
}

static int plan_add(struct jail_path *out, size_t max, size_t *n, const char *cwd,
		    const char *source, enum jail_path_kind kind, bool optional)
{
	char target[JAIL_PATH_MAX];
	int ret;

	if (!source || !source[0])
		return 0;
	ret = jail_normalize(cwd, source, target, sizeof(target));
	if (ret < 0)
		return ret;
	for (size_t i = 0; i < *n; i++) {
		if (strcmp(out[i].target, target) != 0)
			continue;
		/* The same file twice (a disk given twice, kernel == initrd): one mount. */
		if (kind == JAIL_FILE_RW && out[i].kind == JAIL_FILE_RO)
			out[i].kind = JAIL_FILE_RW;
		out[i].optional = out[i].optional && optional;
		return 0;
	}
	if (*n >= max)
		return -ENOSPC;
	memcpy(out[*n].target, target, strlen(target) + 1);
	out[*n].source = source;
	out[*n].kind = kind;
	out[*n].optional = optional;
	(*n)++;
	return 0;
}

int jail_plan_paths(const struct mvm_config *cfg, const char *cwd, struct jail_path *out,
		    size_t max)
{
	bool tap = false, user = false;
	size_t n = 0;
	int ret = 0;

	/*
	 * Missing images are optional: the VMM's own error ("kernel X: No such
	 * file") then reads as it would without the jail.
	 */
	ret = ret ?: plan_add(out, max, &n, cwd, cfg->kernel, JAIL_FILE_RO, true);
	ret = ret ?: plan_add(out, max, &n, cwd, cfg->initrd, JAIL_FILE_RO, true);
	for (unsigned i = 0; i < cfg->ndisks && i < MVM_MAX_DISKS; i++)
		ret = ret
			  ?: plan_add(out, max, &n, cwd, cfg->disks[i].path,
				      cfg->disks[i].read_only ? JAIL_FILE_RO : JAIL_FILE_RW, true);
	/* mvm_jail_enter creates it first, so that the jailed VMM can truncate it. */
	ret = ret ?: plan_add(out, max, &n, cwd, cfg->console_log, JAIL_FILE_RW, false);
	ret = ret ?: plan_add(out, max, &n, cwd, "/dev/kvm", JAIL_DEV, true);
	/* Not opened by the VMM today (getrandom(2)); for libraries that still read it. */
	ret = ret ?: plan_add(out, max, &n, cwd, "/dev/urandom", JAIL_DEV, true);
	for (unsigned i = 0; i < cfg->nnets && i < MVM_MAX_NICS; i++) {
		tap |= cfg->nets[i].backend == MVM_NET_TAP;
		user |= cfg->nets[i].backend == MVM_NET_USER;
	}
	if (tap)
		ret = ret ?: plan_add(out, max, &n, cwd, "/dev/net/tun", JAIL_DEV, true);
	/* libslirp reads the host's resolver for the guest's DNS at 10.0.2.3. */
	if (user)
		ret = ret ?: plan_add(out, max, &n, cwd, "/etc/resolv.conf", JAIL_FILE_RO, true);
	/* vm.c tells a PVM host by this directory (CPU template auto). */
	ret = ret ?: plan_add(out, max, &n, cwd, "/sys/module/kvm_pvm", JAIL_DIR, true);
	return ret < 0 ? ret : (int)n;
}

bool jail_wants_cgroup(const struct mvm_jail *j)
{
	return j->cgroup || j->millicpus || j->mem_bytes || j->pids;
}

int jail_cgroup_settings(const struct mvm_jail *j, struct jail_cg_setting *out, size_t max)
{
	size_t n = 0;

#define CG_SET(f, opt, ...)                                                                        \
	do {                                                                                       \
		if (n < max) {                                                                     \
			snprintf(out[n].file, sizeof(out[n].file), "%s", f);                       \
			snprintf(out[n].value, sizeof(out[n].value), __VA_ARGS__);                 \
			out[n].optional = opt;                                                     \
			n++;                                                                       \
		}                                                                                  \
	} while (0)
	/* cpu.max "QUOTA PERIOD" in µs: the default 100 ms period, quota scaled. */
	if (j->millicpus)
		CG_SET("cpu.max", false, "%llu 100000", (unsigned long long)j->millicpus * 100);
	if (j->mem_bytes) {
		CG_SET("memory.max", false, "%llu", (unsigned long long)j->mem_bytes);
		/* Without it the limit could be dodged into swap. */
		CG_SET("memory.swap.max", true, "0");
	}
	if (j->pids)
		CG_SET("pids.max", false, "%llu", (unsigned long long)j->pids);
#undef CG_SET
	return (int)n;
}

void jail_cgroup_controllers(const struct mvm_jail *j, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s", j->millicpus ? "+cpu " : "", j->mem_bytes ? "+memory " : "",
		 j->pids ? "+pids " : "");
	if (out[0])
		out[strlen(out) - 1] = '\0';
}

/* ---- cgroup v2 ---- */

/*
 * The cgroup2 mount point holding `want` (or any, if want is NULL), from
 * /proc/self/mountinfo (field 5 is the mount point; the fs type follows " - ").
 */
static int find_cgroup2(const char *want, char *mnt, size_t mntlen)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096];
	size_t best = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char point[JAIL_PATH_MAX], *sep = strstr(line, " - ");
		size_t len;

		if (!sep || strncmp(sep + 3, "cgroup2 ", 8) != 0)
			continue;
		if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1)
			continue;
		len = strlen(point);
		if (want && (strncmp(want, point, len) != 0 || (want[len] && want[len] != '/')))
			continue;
		if (len >= mntlen || (best && len <= best && want))
			continue;
		memcpy(mnt, point, len + 1);
		best = len ? len : 1;
		if (!want)
			break;
	}
	fclose(f);
	return best ? 0 : -ENOENT;
}

static int write_file(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;
	int e;

	if (fd < 0)
		return -errno;
	n = write(fd, value, strlen(value));
	e = errno;
	close(fd);
	return n < 0 ? -e : 0;
}

/* The cgroup prepared in the parent: the leaf's path and its cgroup.procs. */
struct jail_cgroup {
	char leaf[JAIL_PATH_MAX];
	int procs_fd;
};

/*
 * cgroup v2 "no internal processes": a cgroup that distributes a controller
 * to its children (subtree_control) may hold no process itself, except the
 * root.  So the VMM goes into a leaf of its own, PARENT/minivmm-PID, and
 * every level from the mount down to PARENT gets the controllers enabled.
 */
static int cgroup_prepare(const struct mvm_jail *j, struct jail_cgroup *cg, char *err,
			  size_t errlen)
{
	char mnt[JAIL_PATH_MAX], parent[JAIL_PATH_MAX], ctl[64], path[JAIL_PATH_MAX + 64];
	struct jail_cg_setting set[4];
	const char *name = j->cgroup ? j->cgroup : JAIL_DEFAULT_CGROUP;
	int ret, n;

	cg->procs_fd = -1;
	cg->leaf[0] = '\0';
	ret = find_cgroup2(name[0] == '/' ? name : NULL, mnt, sizeof(mnt));
	if (ret < 0)
		return errbuf(err, errlen, ret,
			      "jail: cannot use cgroup %s: no cgroup v2 file system is mounted%s "
			      "(mount -t cgroup2 none /sys/fs/cgroup, or leave out cgroup=, cpus=, "
			      "mem=, pids=)",
			      name, name[0] == '/' ? " there" : "");
	if (name[0] == '/')
		snprintf(parent, sizeof(parent), "%s", name);
	else if ((size_t)snprintf(parent, sizeof(parent), "%s/%s", mnt, name) >= sizeof(parent))
		return errbuf(err, errlen, -ENAMETOOLONG, "jail: cgroup=%s: path too long", name);
	if (mkdir(parent, 0755) < 0 && errno != EEXIST)
		return errbuf(err, errlen, -errno, "jail: cannot create cgroup %s: %s", parent,
			      strerror(errno));
	jail_cgroup_controllers(j, ctl, sizeof(ctl));
	if (ctl[0]) {
		/* Top-down: a child can only enable what its parent passes on. */
		size_t len = strlen(mnt);

		for (;;) {
			const char *slash = strchr(parent + len + (parent[len] == '/'), '/');
			size_t upto = slash ? (size_t)(slash - parent) : strlen(parent);

			snprintf(path, sizeof(path), "%.*s/cgroup.subtree_control", (int)len,
				 parent);
			ret = write_file(path, ctl);
			if (ret < 0)
				return errbuf(
				    err, errlen, ret, "jail: cannot enable \"%s\" in %.*s: %s (%s)",
				    ctl, (int)len, parent, strerror(-ret),
				    ret == -EBUSY
					? "cgroup v2 lets no cgroup with processes of its own hand "
					  "controllers to children: pick a cgroup= whose parents "
					  "hold no processes"
				    : ret == -ENOENT ? "a controller is not available there: "
						       "see cgroup.controllers; on a hybrid "
						       "cgroup v1/v2 host it is held by v1"
						     : "are you root, or is it delegated to you?");
			if (len >= strlen(parent))
				break;
			len = upto;
		}
	}
	if ((size_t)snprintf(cg->leaf, sizeof(cg->leaf), "%s/minivmm-%d", parent, (int)getpid()) >=
	    sizeof(cg->leaf))
		return errbuf(err, errlen, -ENAMETOOLONG, "jail: cgroup=%s: path too long", name);
	/* A leaf left by a killed run with the same pid is empty: reuse it. */
	if (mkdir(cg->leaf, 0755) < 0 && errno != EEXIST)
		return errbuf(err, errlen, -errno, "jail: cannot create cgroup %s: %s", cg->leaf,
			      strerror(errno));
	n = jail_cgroup_settings(j, set, 4);
	for (int i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/%s", cg->leaf, set[i].file);
		ret = write_file(path, set[i].value);
		if (ret == -ENOENT && set[i].optional)
			continue;
		if (ret < 0) {
			errbuf(err, errlen, ret, "jail: cannot set %s to \"%s\": %s", path,
			       set[i].value, strerror(-ret));
			rmdir(cg->leaf);
			return ret;
		}
	}
	snprintf(path, sizeof(path), "%s/cgroup.procs", cg->leaf);
	cg->procs_fd = open(path, O_WRONLY | O_CLOEXEC);
	if (cg->procs_fd < 0) {
		ret = -errno;
		rmdir(cg->leaf);
		return errbuf(err, errlen, ret, "jail: cannot open %s: %s", path, strerror(-ret));
	}
	return 0;
}

/* ---- building the root ---- */

static int mkdirs(const char *path, mode_t mode)
{
	char buf[JAIL_PATH_MAX * 2];
	size_t len = strlen(path);

	if (len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/*
 * The flags a read-only remount must keep: a bind mount of a mount with
 * nosuid/nodev/noexec or an atime mode may not drop them (and in a user
 * namespace they are locked).
 */
static unsigned long kept_flags(const char *path)
{
	struct statvfs sv;
	unsigned long f = 0;

	if (statvfs(path, &sv) < 0)
		return 0;
	f |= (sv.f_flag & ST_NOSUID) ? MS_NOSUID : 0;
	f |= (sv.f_flag & ST_NODEV) ? MS_NODEV : 0;
	f |= (sv.f_flag & ST_NOEXEC) ? MS_NOEXEC : 0;
	f |= (sv.f_flag & ST_NOATIME) ? MS_NOATIME : 0;
	f |= (sv.f_flag & ST_NODIRATIME) ? MS_NODIRATIME : 0;
	f |= (sv.f_flag & ST_RELATIME) ? MS_RELATIME : 0;
	return f;
}

struct jail_ctx {
	const struct mvm_jail *j;
	bool root; /* really privileged (not a user namespace of our own) */
	char cwd[JAIL_PATH_MAX];
	struct jail_path paths[JAIL_MAX_PATHS];
	int npaths;
	int netns_fd;
	struct jail_cgroup cg;
	int alive_rd; /* read end of a pipe only the parent holds open for writing */
};

/*
 * Exposes one path; src_fd is an O_PATH descriptor of the source opened
 * before the tmpfs hid DIR (a kernel kept inside DIR, as Firecracker's
 * jailer has it, must stay reachable), or -1 when the host lacks it.
 */
static int expose(const struct jail_ctx *c, const struct jail_path *p, int src_fd, char *err,
		  size_t errlen)
{
	char target[JAIL_PATH_MAX * 2], src[64];
	struct stat st;
	char *slash;
	int fd, ret;

	if (src_fd < 0)
		return 0; /* optional and missing: the VMM says so itself */
	if (fstat(src_fd, &st) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot expose %s inside the jail: %s",
			      p->source, strerror(errno));
	/* The magic link reaches the file even where DIR's tmpfs now covers its path. */
	snprintf(src, sizeof(src), "/proc/self/fd/%d", src_fd);
	snprintf(target, sizeof(target), "%s%s", c->j->dir, p->target);
	slash = strrchr(target, '/');
	*slash = '\0';
	ret = mkdirs(target, 0755);
	*slash = '/';
	if (ret < 0)
		return errbuf(err, errlen, ret, "jail: cannot create %s: %s", target,
			      strerror(-ret));
	if (p->kind == JAIL_DIR)
		return mkdir(target, 0555) < 0 && errno != EEXIST
			   ? errbuf(err, errlen, -errno, "jail: cannot create %s: %s", target,
				    strerror(errno))
			   : 0;
	if (p->kind == JAIL_DEV && c->root) {
		/*
		 * A node of our own, owned by the jailed user (Firecracker's
		 * jailer does the same): the host's /dev/kvm is often root:kvm
		 * 0660 or, without udev, root 0600.
		 */
		if (mknod(target, S_IFCHR | 0600, st.st_rdev) < 0 ||
		    chown(target, c->j->uid, c->j->gid) < 0)
			return errbuf(err, errlen, -errno,
				      "jail: cannot create the device node %s (%u:%u): %s", target,
				      major(st.st_rdev), minor(st.st_rdev), strerror(errno));
		return 0;
	}
	fd = open(target, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errbuf(err, errlen, -errno, "jail: cannot create %s: %s", target,
			      strerror(errno));
	close(fd);
	if (mount(src, target, NULL, MS_BIND, NULL) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot bind-mount %s into the jail: %s",
			      p->source, strerror(errno));
	if (p->kind == JAIL_FILE_RO &&
	    mount(NULL, target, NULL,
		  MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | kept_flags(target), NULL) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot make %s read-only in the jail: %s",
			      p->source, strerror(errno));
	return 0;
}

/* Mount namespace, tmpfs root, bind mounts, pivot_root. */
static int build_root(const struct jail_ctx *c, char *err, size_t errlen)
{
	char cwd_in[JAIL_PATH_MAX * 2];
	int fds[JAIL_MAX_PATHS];
	int ret;

	/*
	 * Slave, recursively, before anything else: our mounts must not
	 * propagate back to the host (systemd makes / shared), and pivot_root
	 * refuses a shared parent mount.  Slave rather than private keeps
	 * host mounts reaching us (Firecracker #1089).
	 */
	if (mount(NULL, "/", NULL, MS_SLAVE | MS_REC, NULL) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot make / a slave mount: %s",
			      strerror(errno));
	for (int i = 0; i < c->npaths; i++) {
		fds[i] = open(c->paths[i].source, O_PATH | O_CLOEXEC);
		if (fds[i] < 0 && !c->paths[i].optional) {
			ret = errbuf(err, errlen, -errno,
				     "jail: cannot expose %s inside the jail: %s",
				     c->paths[i].source, strerror(errno));
			for (int k = 0; k < i; k++)
				if (fds[k] >= 0)
					close(fds[k]);
			return ret;
		}
	}
	/*
	 * A private tmpfs on DIR: the root holds only what we put there, DIR on
	 * the host stays as it was, and everything vanishes with the namespace.
	 */
	if (mount("minivmm-jail", c->j->dir, "tmpfs", MS_NOSUID, "mode=0755,size=1m") < 0) {
		ret = errbuf(err, errlen, -errno, "jail: cannot mount a tmpfs on %s: %s", c->j->dir,
			     strerror(errno));
		for (int i = 0; i < c->npaths; i++)
			if (fds[i] >= 0)
				close(fds[i]);
		return ret;
	}
	ret = 0;
	for (int i = 0; i < c->npaths && ret == 0; i++)
		ret = expose(c, &c->paths[i], fds[i], err, errlen);
	for (int i = 0; i < c->npaths; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (ret < 0)
		return ret;
	snprintf(cwd_in, sizeof(cwd_in), "%s%s", c->j->dir, c->cwd);
	ret = mkdirs(cwd_in, 0755);
	if (ret < 0)
		return errbuf(err, errlen, ret, "jail: cannot create %s: %s", cwd_in,
			      strerror(-ret));
	/* pivot_root(".", "."): the old root ends up on top, and is detached. */
	if (chdir(c->j->dir) < 0 || syscall(SYS_pivot_root, ".", ".") < 0)
		return errbuf(err, errlen, -errno,
			      "jail: cannot pivot_root into %s: %s (DIR must be a directory on a "
			      "local file system)",
			      c->j->dir, strerror(errno));
	if (umount2(".", MNT_DETACH) < 0 || chdir("/") < 0)
		return errbuf(err, errlen, -errno, "jail: cannot detach the old root: %s",
			      strerror(errno));
	/* Nothing may be added to the root by the jailed VMM. */
	if (mount(NULL, "/", NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID, NULL) < 0)
		return errbuf(err, errlen, -errno,
			      "jail: cannot make the jail's root read-only: %s", strerror(errno));
	/* Relative paths in the configuration resolve as they did outside. */
	if (chdir(c->cwd) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot enter %s in the jail: %s", c->cwd,
			      strerror(errno));
	return 0;
}

/* ---- privileges ---- */

static int drop_privileges(const struct jail_ctx *c, char *err, size_t errlen)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2];
	struct rlimit rl;

	rl.rlim_cur = rl.rlim_max = c->j->nofile;
	if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot set RLIMIT_NOFILE to %llu: %s",
			      (unsigned long long)c->j->nofile, strerror(errno));
	if (c->j->fsize) {
		rl.rlim_cur = rl.rlim_max = c->j->fsize;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			return errbuf(err, errlen, -errno, "jail: cannot set RLIMIT_FSIZE: %s",
				      strerror(errno));
	}
	/* Our own session: no controlling terminal, so no TIOCSTI into the caller's shell. */
	if (setsid() < 0)
		return errbuf(err, errlen, -errno, "jail: cannot start a session: %s",
			      strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot set no_new_privs: %s",
			      strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return errbuf(err, errlen, -errno,
			      "jail: cannot clear the ambient capabilities: %s", strerror(errno));
	/* The bounding set needs CAP_SETPCAP, so it goes before the uid change. */
	for (int cap = 0;; cap++) {
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) == 0)
			continue;
		if (errno == EINVAL)
			break; /* past the kernel's last capability */
		return errbuf(err, errlen, -errno,
			      "jail: cannot drop capability %d from the bounding set: %s", cap,
			      strerror(errno));
	}
	if (c->root && setgroups(0, NULL) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot drop supplementary groups: %s",
			      strerror(errno));
	if (setresgid(c->j->gid, c->j->gid, c->j->gid) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot switch to gid %u: %s",
			      (unsigned)c->j->gid, strerror(errno));
	if (setresuid(c->j->uid, c->j->uid, c->j->uid) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot switch to uid %u: %s",
			      (unsigned)c->j->uid, strerror(errno));
	/*
	 * Leaving uid 0 cleared effective and permitted already; in a user
	 * namespace of our own (same uid) it did not.  Inheritable too.
	 */
	memset(data, 0, sizeof(data));
	if (syscall(SYS_capset, &hdr, data) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot clear the capability sets: %s",
			      strerror(errno));
	/*
	 * If the parent dies the VM must not outlive it unseen (pdeath_signal
	 * is reset by the credential change, so set it now), and if it died
	 * already, its end of the pipe is closed.
	 */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot set the parent-death signal: %s",
			      strerror(errno));
	{
		struct pollfd pfd = {c->alive_rd, POLLIN, 0};

		if (poll(&pfd, 1, 0) > 0 && (pfd.revents & (POLLHUP | POLLIN)))
			return errbuf(err, errlen, -ESRCH, "jail: the launching process is gone");
	}
	return 0;
}

/* Rootless: a user namespace mapping only our own ids, where we may build a jail. */
static int enter_userns(uid_t uid, gid_t gid, char *err, size_t errlen)
{
	char map[64];
	int ret;

	if (unshare(CLONE_NEWUSER) < 0)
		return errbuf(
		    err, errlen, -errno,
		    "jail: cannot create a user namespace: %s (run as root, or allow "
		    "unprivileged user namespaces: sysctl kernel.unprivileged_userns_clone=1)",
		    strerror(errno));
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)uid, (unsigned)uid);
	ret = write_file("/proc/self/uid_map", map);
	if (ret == 0)
		ret = write_file("/proc/self/setgroups", "deny");
	snprintf(map, sizeof(map), "%u %u 1\n", (unsigned)gid, (unsigned)gid);
	if (ret == 0)
		ret = write_file("/proc/self/gid_map", map);
	if (ret < 0)
		return errbuf(err, errlen, ret, "jail: cannot map ids in the user namespace: %s",
			      strerror(-ret));
	return 0;
}

/* ---- the child ---- */

static int child_setup(struct jail_ctx *c, char *err, size_t errlen)
{
	int flags = CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWUTS;
	int ret;

	/* Into the leaf first: every thread and page of the VMM is accounted there. */
	if (c->cg.procs_fd >= 0) {
		ret = write(c->cg.procs_fd, "0", 1) < 0 ? -errno : 0;
		close(c->cg.procs_fd);
		c->cg.procs_fd = -1;
		if (ret < 0)
			return errbuf(err, errlen, ret, "jail: cannot move into cgroup %s: %s",
				      c->cg.leaf, strerror(-ret));
	}
	if (c->j->netns && !strcmp(c->j->netns, "new"))
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0)
		return errbuf(err, errlen, -errno,
			      "jail: cannot create mount/IPC/UTS namespaces: %s", strerror(errno));
	if (c->netns_fd >= 0) {
		ret = setns(c->netns_fd, CLONE_NEWNET) < 0 ? -errno : 0;
		close(c->netns_fd);
		c->netns_fd = -1;
		if (ret < 0)
			return errbuf(err, errlen, ret,
				      "jail: cannot join the network namespace %s: %s", c->j->netns,
				      strerror(-ret));
	}
	if (sethostname("minivmm", 7) < 0)
		return errbuf(err, errlen, -errno, "jail: cannot set the host name: %s",
			      strerror(errno));
	ret = build_root(c, err, errlen);
	if (ret < 0)
		return ret;
	/*
	 * Inherited descriptors (and ours, now used) must not reach the VMM:
	 * only stdin, stdout, stderr and the parent-alive pipe stay.
	 */
	if (c->alive_rd != 3) {
		if (dup2(c->alive_rd, 3) < 0)
			return errbuf(err, errlen, -errno, "jail: cannot move a descriptor: %s",
				      strerror(errno));
		close(c->alive_rd);
		c->alive_rd = 3;
	}
	if (syscall(SYS_close_range, 4, ~0U, 0) < 0)
		for (int fd = 4; fd < 65536; fd++)
			close(fd);
	ret = drop_privileges(c, err, errlen);
	close(c->alive_rd);
	return ret;
}

/* ---- the parent ---- */

static int wait_child(pid_t pid, const sigset_t *stops)
{
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(stops, &si), st;

		if (sig < 0)
			continue;
		if (sig != SIGCHLD) {
			/* The jailed VMM is PID 1 of its namespace: it handles these. */
			kill(pid, sig);
			continue;
		}
		if (waitpid(pid, &st, WNOHANG) != pid)
			continue;
		if (WIFEXITED(st))
			return WEXITSTATUS(st);
		return 128 + WTERMSIG(st);
	}
}

static int check_ids(struct jail_ctx *c, struct mvm_jail *j, char *err, size_t errlen)
{
	if (c->root) {
		if (!j->uid_set || !j->gid_set)
			return errbuf(err, errlen, -EINVAL,
				      "jail: as root, say which user runs the VM: uid=U,gid=G (an "
				      "unprivileged user that can read the kernel and disks)");
		if (j->uid == 0 || j->gid == 0)
			return errbuf(
			    err, errlen, -EPERM,
			    "jail: %s=0 is not allowed: the jailed VMM must not be root "
			    "(pick an unprivileged uid and gid, e.g. uid=65534,gid=65534)",
			    j->uid == 0 ? "uid" : "gid");
		return 0;
	}
	if (!j->uid_set)
		j->uid = getuid();
	if (!j->gid_set)
		j->gid = getgid();
	if (j->uid != getuid() || j->gid != getgid())
		return errbuf(err, errlen, -EPERM,
			      "jail: %s=%u is not allowed: without root the VM runs as yourself "
			      "(uid=%u, gid=%u; leave uid= and gid= out, or run as root)",
			      j->uid != getuid() ? "uid" : "gid",
			      (unsigned)(j->uid != getuid() ? j->uid : j->gid), (unsigned)getuid(),
			      (unsigned)getgid());
	return 0;
}

int mvm_jail_enter(const struct mvm_jail *jail, const struct mvm_config *cfg, int *status,
		   char *err, size_t errlen)
{
	struct mvm_jail j = *jail; /* ids filled in below; strings still owned by *jail */
	struct jail_ctx c;
	sigset_t stops, old;
	int alive[2], ret, console_fd;
	struct stat st;
	pid_t pid;

	memset(&c, 0, sizeof(c));
	c.j = &j;
	c.netns_fd = -1;
	c.cg.procs_fd = -1;
	c.root = geteuid() == 0;
	ret = check_ids(&c, &j, err, errlen);
	if (ret < 0)
		return ret;
	if (stat(j.dir, &st) < 0)
		return errbuf(err, errlen, -errno,
			      "jail: cannot use %s as the jail's root: %s (create an empty "
			      "directory for it, e.g. mkdir -p %s)",
			      j.dir, strerror(errno), j.dir);
	if (!S_ISDIR(st.st_mode) || j.dir[0] != '/')
		return errbuf(err, errlen, -ENOTDIR,
			      "jail: cannot use %s as the jail's root: %s (give an absolute path "
			      "to an empty directory)",
			      j.dir,
			      S_ISDIR(st.st_mode) ? "not an absolute path" : "not a directory");
	if (!getcwd(c.cwd, sizeof(c.cwd)))
		return errbuf(err, errlen, -errno, "jail: cannot get the current directory: %s",
			      strerror(errno));
	ret = jail_plan_paths(cfg, c.cwd, c.paths, JAIL_MAX_PATHS);
	if (ret < 0)
		return errbuf(err, errlen, ret, "jail: cannot list what the VM needs: %s",
			      strerror(-ret));
	c.npaths = ret;
	for (unsigned i = 0; i < cfg->nnets; i++) {
		struct vmm_err e = {{0}};

		if (cfg->nets[i].backend != MVM_NET_USER)
			continue;
		/* Inside the jail there is no libslirp file to dlopen: map it now. */
		ret = net_slirp_preload(&e);
		if (ret < 0)
			return errbuf(err, errlen, ret, "%s", e.msg);
		break;
	}
	if (j.pids && j.pids < (uint64_t)cfg->cpus + 4)
		return errbuf(
		    err, errlen, -EINVAL,
		    "jail: pids=%llu is too few for %u vCPUs (minivmm runs one thread per "
		    "vCPU plus a few: give at least pids=%u)",
		    (unsigned long long)j.pids, cfg->cpus, cfg->cpus + 4);
	/* The console log must exist to be bind-mounted; the VMM truncates it. */
	if (cfg->console_log) {
		console_fd = open(cfg->console_log, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (console_fd >= 0) {
			if (c.root && fchown(console_fd, j.uid, j.gid) < 0) {
				ret = -errno;
				close(console_fd);
				return errbuf(err, errlen, ret,
					      "jail: cannot give %s to uid %u: %s",
					      cfg->console_log, (unsigned)j.uid, strerror(-ret));
			}
			close(console_fd);
		} else if (errno != EEXIST) {
			return errbuf(err, errlen, -errno,
				      "jail: cannot create the console log %s: %s",
				      cfg->console_log, strerror(errno));
		}
	}
	if (j.netns && strcmp(j.netns, "new") != 0) {
		c.netns_fd = open(j.netns, O_RDONLY | O_CLOEXEC);
		if (c.netns_fd < 0)
			return errbuf(
			    err, errlen, -errno,
			    "jail: cannot open the network namespace %s: %s (e.g. ip netns "
			    "add NAME, then netns=/run/netns/NAME)",
			    j.netns, strerror(errno));
	}
	if (jail_wants_cgroup(&j)) {
		ret = cgroup_prepare(&j, &c.cg, err, errlen);
		if (ret < 0)
			goto fail;
	}
	if (pipe2(alive, O_CLOEXEC) < 0) {
		ret = errbuf(err, errlen, -errno, "jail: pipe: %s", strerror(errno));
		goto fail;
	}
	c.alive_rd = alive[0];

	/* Blocked before the fork, so that no stop signal or child exit is missed. */
	sigemptyset(&stops);
	sigaddset(&stops, SIGINT);
	sigaddset(&stops, SIGTERM);
	sigaddset(&stops, SIGHUP);
	sigaddset(&stops, SIGCHLD);
	sigprocmask(SIG_BLOCK, &stops, &old);
	if (!c.root) {
		ret = enter_userns(j.uid, j.gid, err, errlen);
		if (ret < 0)
			goto fail_unblock;
	}
	/* Affects only children: the next fork is PID 1 of the new namespace. */
	if (unshare(CLONE_NEWPID) < 0) {
		ret = errbuf(err, errlen, -errno, "jail: cannot create a PID namespace: %s",
			     strerror(errno));
		goto fail_unblock;
	}
	pid = fork();
	if (pid < 0) {
		ret = errbuf(err, errlen, -errno, "jail: fork: %s", strerror(errno));
		goto fail_unblock;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		close(alive[1]);
		/* An error here ends the child with status 125, which the parent passes on. */
		ret = child_setup(&c, err, errlen);
		return ret < 0 ? ret : 0;
	}
	close(alive[0]);
	if (c.netns_fd >= 0)
		close(c.netns_fd);
	if (c.cg.procs_fd >= 0)
		close(c.cg.procs_fd);
	*status = wait_child(pid, &stops);
	close(alive[1]);
	sigprocmask(SIG_SETMASK, &old, NULL);
	/* Empty now that its only process is gone. */
	if (c.cg.leaf[0])
		rmdir(c.cg.leaf);
	return 1;

fail_unblock:
	sigprocmask(SIG_SETMASK, &old, NULL);
	close(alive[0]);
	close(alive[1]);
fail:
	if (c.netns_fd >= 0)
		close(c.netns_fd);
	if (c.cg.procs_fd >= 0) {
		close(c.cg.procs_fd);
		rmdir(c.cg.leaf);
	}
	return ret;
}
