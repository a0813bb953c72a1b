/* SPDX-License-Identifier: MIT */
#include "vmm/unix_sock.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int unix_listen(const char *what, const char *path, int backlog, struct vmm_err *err)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct stat st;
	int fd, ret;

	if (strlen(path) >= sizeof(sa.sun_path))
		return vmm_errf(err, -ENAMETOOLONG, "%s %s: path longer than %zu bytes", what, path,
				sizeof(sa.sun_path) - 1);
	if (lstat(path, &st) == 0)
		return vmm_errf(err, -EEXIST,
				"%s %s: the path already exists (a stale socket? remove it or "
				"choose another)",
				what, path);
	memcpy(sa.sun_path, path, strlen(path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return vmm_errf(err, -errno, "%s: socket: %s", what, strerror(errno));
	/*
	 * The socket inode's mode becomes the file's at bind(): 0600 from the
	 * start, with no process-wide umask change that would race other
	 * threads.  The chmod() after it is the belt to those braces; until
	 * listen() a connect() is refused anyway.
	 */
	if (fchmod(fd, 0600) < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		ret = -errno;
		close(fd);
		return vmm_errf(err, ret, "%s %s: bind: %s", what, path, strerror(-ret));
	}
	if (chmod(path, 0600) < 0 || listen(fd, backlog) < 0) {
		ret = -errno;
		unlink(path);
		close(fd);
		return vmm_errf(err, ret, "%s %s: listen: %s", what, path, strerror(-ret));
	}
	return fd;
}
