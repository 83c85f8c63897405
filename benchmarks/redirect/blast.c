/*
 * blast: sends one Ethernet frame over and over through a packet socket, as fast as
 * the kernel takes it, for a given time; prints "PACKETS SECONDS".
 *
 *   blast IFACE FRAME_FILE SECONDS
 *
 * sendmmsg() batches and PACKET_QDISC_BYPASS keep the sender's own cost per packet
 * small, so the rate is set by what the receiving side does with each frame. On a
 * veth, the receive path runs in the sender's softirq context on the same CPU: pin
 * the sender (taskset) and the measured rate is that CPU's packet rate.
 *
 * SIGTERM or SIGINT ends the run early, with the same report: a test can send for as
 * long as it needs.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <net/if.h>
#include <linux/if_packet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define BATCH 64

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct sigaction sa;
	static unsigned char frame[9000];
	struct mmsghdr msgs[BATCH];
	struct sockaddr_ll addr;
	struct iovec iov;
	unsigned long long sent = 0;
	double seconds, start, elapsed;
	size_t len;
	FILE *f;
	int fd, one = 1, i;

	if (argc != 4 || (seconds = atof(argv[3])) <= 0) {
		fprintf(stderr, "usage: %s IFACE FRAME_FILE SECONDS\n", argv[0]);
		return 2;
	}
	f = fopen(argv[2], "rb");
	if (!f) {
		perror(argv[2]);
		return 1;
	}
	len = fread(frame, 1, sizeof(frame), f);
	fclose(f);
	if (len < 14) {
		fprintf(stderr, "%s: not an Ethernet frame\n", argv[2]);
		return 1;
	}

	/* Protocol 0: this socket only sends, the kernel queues nothing for it to read. */
	fd = socket(AF_PACKET, SOCK_RAW, 0);
	if (fd < 0) {
		perror("socket(AF_PACKET)");
		return 1;
	}
	if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) < 0)
		perror("PACKET_QDISC_BYPASS (sending through the qdisc)");
	memset(&addr, 0, sizeof(addr));
	addr.sll_family = AF_PACKET;
	addr.sll_ifindex = if_nametoindex(argv[1]);
	if (!addr.sll_ifindex) {
		fprintf(stderr, "%s: no such interface\n", argv[1]);
		return 1;
	}
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		perror("bind");
		return 1;
	}

	iov.iov_base = frame;
	iov.iov_len = len;
	memset(msgs, 0, sizeof(msgs));
	for (i = 0; i < BATCH; i++) {
		msgs[i].msg_hdr.msg_iov = &iov;
		msgs[i].msg_hdr.msg_iovlen = 1;
	}

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);

	start = now();
	do {
		int n = sendmmsg(fd, msgs, BATCH, 0);

		if (n < 0) {
			if (errno == ENOBUFS || errno == EAGAIN || errno == EINTR)
				continue;
			perror("sendmmsg");
			return 1;
		}
		sent += n;
	} while ((elapsed = now() - start) < seconds && !stop);

	printf("%llu %.6f\n", sent, elapsed);
	return 0;
}
