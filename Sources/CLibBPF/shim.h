/* libbpf 1.x (Debian's libbpf-dev) and the kernel headers the loader needs. */
#ifndef GLB_CLIBBPF_SHIM_H
#define GLB_CLIBBPF_SHIM_H

#include <string.h>
#include <bpf/libbpf.h>
#include <bpf/bpf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

/*
 * libbpf's option structs must be zero in every byte past the fields the caller sets,
 * padding included (OPTS_VALID rejects them with EINVAL otherwise). Swift does not promise
 * to zero or preserve padding, so these wrappers build the structs with LIBBPF_OPTS, which
 * memsets them, and Swift never holds one.
 */

static inline struct bpf_object *glb_object_open_mem(const void *buf, size_t size, const char *name,
						     char *log_buf, size_t log_size)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .kernel_log_buf = log_buf,
		    .kernel_log_size = log_size, .kernel_log_level = 0);
	return bpf_object__open_mem(buf, size, &opts);
}

static inline struct bpf_object *glb_object_open_file(const char *path, const char *name,
						      char *log_buf, size_t log_size)
{
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .kernel_log_buf = log_buf,
		    .kernel_log_size = log_size, .kernel_log_level = 0);
	return bpf_object__open_file(path, &opts);
}

static inline int glb_tc_hook_create(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	return bpf_tc_hook_create(&hook);
}

static inline int glb_tc_hook_destroy(int ifindex, enum bpf_tc_attach_point point)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = point);
	return bpf_tc_hook_destroy(&hook);
}

static inline int glb_tc_query(int ifindex, __u32 handle, __u32 priority, __u32 *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
	int err = bpf_tc_query(&hook, &opts);

	if (!err)
		*prog_id = opts.prog_id;
	return err;
}

static inline int glb_tc_attach(int ifindex, __u32 handle, __u32 priority, int prog_fd, __u32 flags,
				__u32 *prog_id)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority, .prog_fd = prog_fd,
		    .flags = flags);
	int err = bpf_tc_attach(&hook, &opts);

	if (!err)
		*prog_id = opts.prog_id;
	return err;
}

static inline int glb_tc_detach(int ifindex, __u32 handle, __u32 priority)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = handle, .priority = priority);
	return bpf_tc_detach(&hook, &opts);
}

/*
 * tcx (Linux 6.6 and later): the tc hook without a qdisc, where several programs run in a
 * list. Debian 12's headers predate it, so its attach type and flags are spelled out here
 * with the kernel's values. Attached with BPF_PROG_ATTACH (no link), a program stays until
 * it is detached or the interface goes, like a tc filter, and any process can find it
 * again with BPF_PROG_QUERY.
 */
#define GLB_BPF_TCX_INGRESS 46
#define GLB_BPF_F_REPLACE (1U << 2)
#define GLB_BPF_F_BEFORE (1U << 3)

/* The ids of the programs on ifindex's tcx ingress hook, in the order they run. */
static inline int glb_tcx_query(int ifindex, __u32 *prog_ids, __u32 *count)
{
	return bpf_prog_query(ifindex, (enum bpf_attach_type)GLB_BPF_TCX_INGRESS, 0, NULL, prog_ids, count);
}

/*
 * Attaches prog_fd first in the list, or, with replace_fd >= 0, in place of that program in
 * one step (every packet sees one of the two).
 */
static inline int glb_tcx_attach(int ifindex, int prog_fd, int replace_fd)
{
	LIBBPF_OPTS(bpf_prog_attach_opts, opts, .flags = GLB_BPF_F_BEFORE);
	if (replace_fd >= 0) {
		opts.flags = GLB_BPF_F_REPLACE;
		opts.replace_prog_fd = replace_fd;
	}
	return bpf_prog_attach_opts(prog_fd, ifindex, (enum bpf_attach_type)GLB_BPF_TCX_INGRESS, &opts);
}

static inline int glb_tcx_detach(int ifindex, int prog_fd)
{
	return bpf_prog_detach2(prog_fd, ifindex, (enum bpf_attach_type)GLB_BPF_TCX_INGRESS);
}

#endif
