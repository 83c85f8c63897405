/*
 * Counts heap allocations made on DPDK's lcore threads ("rte-worker-N"), for
 * glb-director's allocation test: LD_PRELOAD it, and at exit it writes the count
 * to the file named by GLB_ALLOC_REPORT. Allocations are forwarded to glibc's own
 * functions, so nothing else changes.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void *__libc_memalign(size_t, size_t);

static atomic_long worker_allocations;

static void note(void)
{
	char name[16];
	if (pthread_getname_np(pthread_self(), name, sizeof(name)) == 0 && strncmp(name, "rte-worker", 10) == 0)
		atomic_fetch_add(&worker_allocations, 1);
}

void *malloc(size_t n) { note(); return __libc_malloc(n); }
void *calloc(size_t n, size_t size) { note(); return __libc_calloc(n, size); }
void *realloc(void *p, size_t n) { note(); return __libc_realloc(p, n); }
void *memalign(size_t align, size_t n) { note(); return __libc_memalign(align, n); }
void *aligned_alloc(size_t align, size_t n) { note(); return __libc_memalign(align, n); }

int posix_memalign(void **out, size_t align, size_t n)
{
	note();
	void *p = __libc_memalign(align, n);
	if (p == NULL)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

__attribute__((destructor)) static void report(void)
{
	const char *path = getenv("GLB_ALLOC_REPORT");
	if (path == NULL)
		return;
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd < 0)
		return;
	dprintf(fd, "%ld\n", atomic_load(&worker_allocations));
	close(fd);
}
