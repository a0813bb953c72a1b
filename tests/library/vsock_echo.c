/* SPDX-License-Identifier: MIT */
/*
 * Guest side of tests/linux/library-checks.sh (built static, appended to the
 * test initramfs): listens on vsock port PORT, answers one connection's
 * first line with "echo: LINE", and exits.
 *
 *   vsock_echo PORT
 */
#include <linux/vm_sockets.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_vm addr = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY};
	char buf[256], out[300];
	int s, c, n;

	if (argc != 2)
		return 2;
	addr.svm_port = (unsigned)atoi(argv[1]);
	s = socket(AF_VSOCK, SOCK_STREAM, 0);
	if (s < 0 || bind(s, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(s, 1) < 0) {
		perror("vsock_echo: listen");
		return 1;
	}
	printf("vsock_echo: listening on port %u\n", addr.svm_port);
	fflush(stdout);
	c = accept(s, NULL, NULL);
	if (c < 0) {
		perror("vsock_echo: accept");
		return 1;
	}
	n = (int)read(c, buf, sizeof(buf) - 1);
	if (n <= 0)
		return 1;
	buf[n] = '\0';
	n = snprintf(out, sizeof(out), "echo: %s", buf);
	if (write(c, out, (size_t)n) != n)
		return 1;
	printf("vsock_echo: answered %d bytes\n", n);
	close(c);
	close(s);
	return 0;
}
