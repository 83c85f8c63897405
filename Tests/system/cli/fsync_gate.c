/* Preloaded into glb-director-cli by the interrupted-write tests: fsync(2) waits until the
 * file named by GLB_TEST_FSYNC_GATE exists, so a test can act while a temporary file is
 * complete but not yet renamed, for as long as it needs and without timing. A signal
 * interrupts the wait as it would interrupt a slow disk. On entering the wait it creates
 * "<gate>.held", which tells the test the writer is there: the temporary file exists from
 * mkstemp a little earlier, but only from here on is it complete and known to the writer's
 * clean-up, so a test that acted on the file's appearance alone would race the writer. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int fsync(int fd)
{
	static int (*real_fsync)(int);
	const char *gate = getenv("GLB_TEST_FSYNC_GATE");
	if (!real_fsync)
		real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	if (gate && access(gate, F_OK) != 0) {
		char held[PATH_MAX];
		if (snprintf(held, sizeof held, "%s.held", gate) < (int)sizeof held) {
			int marker = open(held, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
			if (marker >= 0)
				close(marker);
		}
	}
	while (gate && access(gate, F_OK) != 0)
		usleep(1000);
	return real_fsync(fd);
}
