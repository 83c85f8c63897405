/* Preloaded into glb-director-cli by the interrupted-write tests: fsync(2) waits until the
 * file named by GLB_TEST_FSYNC_GATE exists, so a test can act while a temporary file is
 * complete but not yet renamed, for as long as it needs and without timing. A signal
 * interrupts the wait as it would interrupt a slow disk. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <unistd.h>

int fsync(int fd)
{
	static int (*real_fsync)(int);
	const char *gate = getenv("GLB_TEST_FSYNC_GATE");
	if (!real_fsync)
		real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	while (gate && access(gate, F_OK) != 0)
		usleep(1000);
	return real_fsync(fd);
}
