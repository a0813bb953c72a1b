/* SPDX-License-Identifier: MIT */
/*
 * The guest side of tests/linux/vsock-checks.sh: a small static AF_VSOCK
 * program for the test initramfs (busybox has no vsock support).
 *
 *   vsock_tool echo PORT            echo server, a child per connection, forever
 *   vsock_tool recv PORT            accepts one connection, copies it to stdout
 *   vsock_tool source PORT BYTES    accepts connections, sends each BYTES of gen(1)
 *   vsock_tool send CID PORT        connects, copies stdin to it, half-closes,
 *                                   copies what comes back to stdout
 *   vsock_tool gen BYTES SEED       a reproducible byte stream on stdout
 *   vsock_tool parallel CID PORT N BYTES
 *                                   N connections at once to an echo server,
 *                                   BYTES each way on each, every byte checked
 * Listeners print "vsock-tool: listening PORT" to stderr once they accept.  Errors
 * print one line to stderr and exit 1.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/vm_sockets.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void die(const char *what)
{
	fprintf(stderr, "vsock-tool: %s: %s\n", what, strerror(errno));
	exit(1);
}

/*
 * xorshift64* as a byte stream: the same bytes however the stream is cut
 * into calls (reads and writes come back in any sizes).
 */
struct gen {
	uint64_t s, w;
	unsigned left;
};

static void gen_init(struct gen *g, uint64_t seed)
{
	*g = (struct gen){.s = seed ? seed : 1};
}

static void gen_fill(struct gen *g, uint8_t *buf, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (g->left == 0) {
			g->s ^= g->s >> 12;
			g->s ^= g->s << 25;
			g->s ^= g->s >> 27;
			g->w = g->s * 0x2545F4914F6CDD1Dull;
			g->left = 8;
		}
		buf[i] = (uint8_t)g->w;
		g->w >>= 8;
		g->left--;
	}
}

static int listen_on(unsigned port)
{
	struct sockaddr_vm sa = {
	    .svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket(AF_VSOCK)");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(fd, 128) < 0)
		die("listen");
	/* stderr: stdout may be the data (recv). */
	fprintf(stderr, "vsock-tool: listening %u\n", port);
	return fd;
}

static int connect_to(unsigned cid, unsigned port)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = cid, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket(AF_VSOCK)");
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("connect");
	return fd;
}

static int write_all(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Copies in to out until EOF; returns the bytes copied, -1 on error. */
static long long copy(int in, int out)
{
	static uint8_t buf[65536];
	long long total = 0;

	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			return total;
		if (write_all(out, buf, (size_t)n) < 0)
			return -1;
		total += n;
	}
}

/*
 * Serves every connection on port in a child of its own (forever): serve(),
 * then a half-close, then the peer's close awaited so the RST comes from its
 * side.
 */
static int serve_forked(unsigned port, void (*serve)(int fd, unsigned long long arg),
			unsigned long long arg)
{
	int lfd = listen_on(port);

	signal(SIGCHLD, SIG_IGN);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0) {
			if (errno == EINTR)
				continue;
			die("accept");
		}
		if (fork() == 0) {
			char c;

			close(lfd);
			serve(fd, arg);
			shutdown(fd, SHUT_WR);
			while (read(fd, &c, 1) > 0)
				;
			_exit(0);
		}
		close(fd);
	}
}

static void serve_echo(int fd, unsigned long long arg)
{
	(void)arg;
	copy(fd, fd);
}

static int cmd_echo(unsigned port)
{
	return serve_forked(port, serve_echo, 0);
}

static int cmd_recv(unsigned port)
{
	int lfd = listen_on(port), fd = accept(lfd, NULL, NULL);
	long long n;

	if (fd < 0)
		die("accept");
	n = copy(fd, 1);
	if (n < 0)
		die("recv");
	fprintf(stderr, "vsock-tool: received %lld bytes\n", n);
	close(fd);
	return 0;
}

static void send_gen(int fd, unsigned long long bytes, uint64_t seed)
{
	static uint8_t buf[65536];
	struct gen g;

	gen_init(&g, seed);
	while (bytes) {
		size_t n = bytes < sizeof(buf) ? (size_t)bytes : sizeof(buf);
		gen_fill(&g, buf, n);
		if (write_all(fd, buf, n) < 0)
			die("write");
		bytes -= n;
	}
}

static void serve_source(int fd, unsigned long long bytes)
{
	send_gen(fd, bytes, 1);
}

static int cmd_source(unsigned port, unsigned long long bytes)
{
	return serve_forked(port, serve_source, bytes);
}

static int cmd_send(unsigned cid, unsigned port)
{
	int fd = connect_to(cid, port);
	long long n = copy(0, fd);

	if (n < 0)
		die("send");
	shutdown(fd, SHUT_WR);
	if (copy(fd, 1) < 0)
		die("read back");
	fprintf(stderr, "vsock-tool: sent %lld bytes\n", n);
	close(fd);
	return 0;
}

struct pconn {
	int fd;
	struct gen wgen, rgen;
	unsigned long long sent, got;
	uint8_t wbuf[4096];
	size_t wlen, woff;
};

static int cmd_parallel(unsigned cid, unsigned port, unsigned n, unsigned long long bytes)
{
	struct pconn *c = calloc(n, sizeof(*c));
	struct pollfd *p = calloc(n, sizeof(*p));
	unsigned done = 0, bad = 0;
	uint8_t buf[4096], want[4096];

	if (!c || !p)
		die("calloc");
	for (unsigned i = 0; i < n; i++) {
		c[i].fd = connect_to(cid, port);
		fcntl(c[i].fd, F_SETFL, O_NONBLOCK);
		gen_init(&c[i].wgen, 1000 + i);
		gen_init(&c[i].rgen, 1000 + i);
	}
	while (done < n) {
		for (unsigned i = 0; i < n; i++) {
			p[i].fd = c[i].fd;
			p[i].events =
			    (c[i].got < bytes ? POLLIN : 0) | (c[i].sent < bytes ? POLLOUT : 0);
			if (!p[i].events)
				p[i].fd = -1;
		}
		if (poll(p, n, 60000) <= 0) {
			fprintf(stderr, "vsock-tool: parallel: stalled (%u of %u done)\n", done, n);
			return 1;
		}
		for (unsigned i = 0; i < n; i++) {
			struct pconn *k = &c[i];
			if ((p[i].revents & POLLOUT) && k->sent < bytes) {
				if (k->woff == k->wlen) {
					k->wlen = bytes - k->sent < sizeof(k->wbuf)
						      ? bytes - k->sent
						      : sizeof(k->wbuf);
					gen_fill(&k->wgen, k->wbuf, k->wlen);
					k->woff = 0;
				}
				ssize_t w = write(k->fd, k->wbuf + k->woff, k->wlen - k->woff);
				if (w > 0) {
					k->woff += (size_t)w;
					k->sent += (unsigned long long)w;
					if (k->sent == bytes)
						shutdown(k->fd, SHUT_WR);
				}
			}
			if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
				ssize_t r = read(k->fd, buf, sizeof(buf));
				if (r > 0) {
					/* The echo comes back in the order it went: regenerate and
					 * compare. */
					gen_fill(&k->rgen, want, (size_t)r);
					if (memcmp(buf, want, (size_t)r) != 0)
						bad++;
					k->got += (unsigned long long)r;
					if (k->got == bytes)
						done++;
				} else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
					fprintf(
					    stderr,
					    "vsock-tool: parallel: connection %u ended at %llu\n",
					    i, k->got);
					return 1;
				}
			}
		}
	}
	printf("vsock-tool: parallel %u ok %u bad\n", done, bad);
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "echo") == 0)
		return cmd_echo((unsigned)strtoul(argv[2], NULL, 0));
	if (argc == 3 && strcmp(argv[1], "recv") == 0)
		return cmd_recv((unsigned)strtoul(argv[2], NULL, 0));
	if (argc == 4 && strcmp(argv[1], "source") == 0)
		return cmd_source((unsigned)strtoul(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
	if (argc == 4 && strcmp(argv[1], "send") == 0)
		return cmd_send((unsigned)strtoul(argv[2], NULL, 0),
				(unsigned)strtoul(argv[3], NULL, 0));
	if (argc == 4 && strcmp(argv[1], "gen") == 0) {
		send_gen(1, strtoull(argv[2], NULL, 0), strtoull(argv[3], NULL, 0));
		return 0;
	}
	if (argc == 6 && strcmp(argv[1], "parallel") == 0)
		return cmd_parallel(
		    (unsigned)strtoul(argv[2], NULL, 0), (unsigned)strtoul(argv[3], NULL, 0),
		    (unsigned)strtoul(argv[4], NULL, 0), strtoull(argv[5], NULL, 0));
	fprintf(stderr, "usage: vsock_tool echo PORT | recv PORT | source PORT BYTES |\n"
			"       send CID PORT | gen BYTES SEED | parallel CID PORT N BYTES\n");
	return 2;
}
