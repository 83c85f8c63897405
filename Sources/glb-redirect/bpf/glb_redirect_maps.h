/* SPDX-License-Identifier: GPL-2.0 */
/* glb-redirect: maps shared with the loader. */
#ifndef GLB_REDIRECT_MAPS_H
#define GLB_REDIRECT_MAPS_H

#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "glb_redirect_counters.h"

/*
 * glb_config: BPF_MAP_TYPE_ARRAY, 1 entry, key __u32 0, value struct glb_config
 * (8 bytes, little-endian on x86):
 *
 *   offset 0  __u16 gue_port   UDP port of GUE traffic, host byte order;
 *                              0 = GLB_GUE_PORT_DEFAULT (19523)
 *   offset 2  __u16 flags      GLB_CFG_F_* bits; unknown bits must be 0
 *   offset 4  __s32 netns_id   netns id for socket lookups, read only when
 *                              GLB_CFG_F_NETNS_ID is set; < 0 = the netns of
 *                              the interface the program is attached to
 *
 * An all-zero entry (what a fresh map holds) means: port 19523, socket lookups
 * in the current netns. netns_id 0 alone is not "current": nsid 0 is a real
 * peer-netns id (often the peer of a veth), hence the flag.
 */
struct glb_config {
	__u16 gue_port;
	__u16 flags;
	__s32 netns_id;
};

/* Use netns_id (when >= 0) for bpf_sk*_lookup_* instead of the current netns. */
#define GLB_CFG_F_NETNS_ID 0x0001

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct glb_config);
} glb_config SEC(".maps");

/* glb_counters: BPF_MAP_TYPE_PERCPU_ARRAY, key = enum glb_counter, value __u64 per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, GLB_COUNTER_MAX);
	__type(key, __u32);
	__type(value, __u64);
} glb_counters SEC(".maps");

#endif /* GLB_REDIRECT_MAPS_H */
