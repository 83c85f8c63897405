/*
 * tcx_attach: puts the first program of an eBPF object last on an interface's tcx ingress
 * hook, as another tool would; the attachment outlives this process. Debian 12's bpftool
 * predates tcx, so the loader tests use this to put a program beside glb-redirect's.
 *
 *   tcx_attach IFACE OBJECT
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define BPF_TCX_INGRESS 46

int main(int argc, char **argv)
{
	struct bpf_object *object;
	struct bpf_program *program;
	unsigned int ifindex;

	if (argc != 3) {
		fprintf(stderr, "usage: %s IFACE OBJECT\n", argv[0]);
		return 2;
	}
	ifindex = if_nametoindex(argv[1]);
	if (!ifindex) {
		fprintf(stderr, "tcx_attach: %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	object = bpf_object__open_file(argv[2], NULL);
	if (!object || bpf_object__load(object)) {
		fprintf(stderr, "tcx_attach: loading %s: %s\n", argv[2], strerror(errno));
		return 1;
	}
	program = bpf_object__next_program(object, NULL);
	if (!program || bpf_prog_attach(bpf_program__fd(program), ifindex,
					(enum bpf_attach_type)BPF_TCX_INGRESS, 0)) {
		fprintf(stderr, "tcx_attach: attaching to %s: %s\n", argv[1], strerror(errno));
		return 1;
	}
	return 0;
}
