/* SPDX-License-Identifier: GPL-2.0 */
#ifndef GLB_REDIRECT_COUNTERS_H
#define GLB_REDIRECT_COUNTERS_H

enum glb_counter {
	GLB_C_PACKETS, /* every frame the program saw (the sum of the outcomes) */
	GLB_C_NOT_GUE, /* passed untouched: not Ethernet/IPv4 or IPv6/UDP to the GUE port */
	GLB_C_OUTER_FRAGMENT, /* passed untouched: an IPv4 or IPv6 UDP fragment, cannot be examined before reassembly */
	GLB_C_NOT_FOR_THIS_HOST, /* passed untouched: GUE in a frame not addressed to this host's MAC (broadcast, multicast, other host) */
	GLB_C_ACCEPTED_SYN, /* decapsulated: inner TCP SYN without ACK */
	GLB_C_ACCEPTED_ESTABLISHED, /* decapsulated: a local TCP socket that is not a listener (established, handshaking, time-wait) */
	GLB_C_ACCEPTED_SYN_COOKIE, /* decapsulated: an ACK carrying a valid SYN cookie of a local listener */
	GLB_C_ACCEPTED_ICMP_ERROR, /* decapsulated: ICMP error whose quoted packet belongs to a local socket */
	GLB_C_ACCEPTED_UDP_SOCKET, /* decapsulated: inner UDP matching a local socket */
	GLB_C_ACCEPTED_ICMP_ECHO, /* decapsulated: inner ICMP echo request (tunnel health check, pings to a VIP) */
	GLB_C_ACCEPTED_OTHER_PROTO, /* decapsulated: inner packet without flow state to match (other protocol, other ICMP, non-first fragment) */
	GLB_C_ACCEPTED_LAST_RESORT, /* decapsulated: no local flow and no next hop left (the stack answers, e.g. with a RST) */
	GLB_C_FORWARDED, /* sent on to the next hop (outer header rewritten, TC_ACT_REDIRECT; forward_fib_ok + forward_neigh_fallback) */
	GLB_C_FORWARDED_SKIPPED_SELF, /* packets whose hop list named this host next: that hop was skipped */
	GLB_C_FORWARD_FIB_OK, /* forwarded with MACs from bpf_fib_lookup and bpf_redirect */
	GLB_C_FORWARD_NEIGH_FALLBACK, /* forwarded with bpf_redirect_neigh because the FIB lookup did not give MACs */
	GLB_C_FORWARD_ERROR, /* dropped: rewriting or redirecting the packet failed */
	GLB_C_DROP_TRUNCATED, /* dropped: GUE to our port cut short (GUE header, private data, hops, inner headers) */
	GLB_C_DROP_BAD_GUE_VERSION, /* dropped: GUE version not 0, or a GUE control message */
	GLB_C_DROP_BAD_HLEN, /* dropped: GUE hlen too small for the GLB private data */
	GLB_C_DROP_BAD_PRIVATE_TYPE, /* dropped: GLB private data type not the outer family's (0 under IPv4, 1 under IPv6) */
	GLB_C_DROP_BAD_HOP_COUNT, /* dropped: hop list longer than hlen, or next_hop beyond hop_count */
	GLB_C_DROP_BAD_INNER_PROTO, /* dropped: GUE inner protocol not 4 or 41, or inner header not that IP version */
	GLB_C_DECAP_ERROR, /* dropped: bpf_skb_adjust_room or the ethertype rewrite failed */
	GLB_COUNTER_MAX
};

/*
 * Per-CPU counters of the glb-redirect program: map "glb_counters", entry i is
 * the u64 counter GLB_C_* with value i, one value per possible CPU (sum them).
 *
 * Format contract for the loader: one entry per line, "GLB_C_NAME, / * meaning * /",
 * the enum order is the map index and the counter's name is NAME in lower case
 * (GLB_C_ACCEPTED_SYN -> accepted_syn). Append new counters before
 * GLB_COUNTER_MAX; never reorder or remove.
 *
 * Every packet counted in "packets" ends in exactly one outcome:
 * not_gue, outer_fragment, not_for_this_host, one accepted_*, forwarded, forward_error, one drop_*,
 * or decap_error. forwarded_skipped_self, forward_fib_ok and
 * forward_neigh_fallback are details of other outcomes, not outcomes.
 *
 * The program does not write "packets" or "forwarded": they are sums of other
 * counters, which readers add up (packets = every outcome, forwarded =
 * forward_fib_ok + forward_neigh_fallback), so that no frame pays for them.
 * Their entries stay in the map, always 0 there, so the indexes never move.
 */

#endif /* GLB_REDIRECT_COUNTERS_H */
