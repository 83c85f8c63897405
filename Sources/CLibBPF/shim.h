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

#endif
