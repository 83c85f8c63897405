/* SPDX-License-Identifier: GPL-2.0 */
/*
 * glb-redirect: constants and wire structures (GLB GUE, docs/design.md §3).
 *
 *   Ethernet / IPv4 (outer) / UDP dst port 19523 /
 *   GUE base header (4 bytes) / GLB private data (4 bytes, type 0) /
 *   hop_count IPv4 addresses / inner IPv4 or IPv6 packet
 *
 * or, over an IPv6 underlay:
 *
 *   Ethernet / IPv6 (outer) / UDP dst port 19523 /
 *   GUE base header (4 bytes) / GLB private data (4 bytes, type 1) /
 *   hop_count IPv6 addresses / inner IPv4 or IPv6 packet
 */
#ifndef GLB_REDIRECT_DEFS_H
#define GLB_REDIRECT_DEFS_H

#include <linux/types.h>

/* UDP port the director sends GUE to, unless glb_config says otherwise. */
#define GLB_GUE_PORT_DEFAULT 19523

/* GUE base header: byte 0 = version (2 bits) | C (1 bit) | hlen (5 bits). */
#define GLB_GUE_VERSION_SHIFT 6
#define GLB_GUE_CONTROL_BIT 0x20
#define GLB_GUE_HLEN_MASK 0x1f

/* GUE "proto/ctype" byte: the IANA protocol of the inner packet. */
#define GLB_GUE_PROTO_IPV4 4   /* IPPROTO_IPIP */
#define GLB_GUE_PROTO_IPV6 41  /* IPPROTO_IPV6 */

/*
 * GLB private data types: the family of the hop list, which must be the outer
 * header's (a hop is where the outer header is sent next). Type 0 is GLB's own.
 */
#define GLB_PRIVATE_TYPE_HOPS 0       /* 4-byte IPv4 hops, outer IPv4 only */
#define GLB_PRIVATE_TYPE_IPV6_HOPS 1  /* 16-byte IPv6 hops, outer IPv6 only */

#define GLB_HOP_LEN_IPV4 4
#define GLB_HOP_LEN_IPV6 16

/*
 * hlen counts 32-bit words of optional fields and private data: at most 31,
 * one of which is the GLB private header, so at most 30 hops can be listed.
 * Loops over hops are bounded by this.
 */
#define GLB_MAX_HOPS 30
/* (31 * 4 - 4) / 16: at most 7 IPv6 hops fit in hlen. */
#define GLB_MAX_IPV6_HOPS 7

/* IPv6 extension headers skipped (at most) before the inner upper layer. */
#define GLB_MAX_IPV6_EXT_HDRS 8

struct glb_gue_hdr {
	__u8 ver_c_hlen;   /* version:2, C:1, hlen:5 */
	__u8 proto;        /* GLB_GUE_PROTO_IPV4 or GLB_GUE_PROTO_IPV6 */
	__be16 flags;      /* 0 from GLB's director; not interpreted (as GLB) */
} __attribute__((packed));

struct glb_private_hdr {
	__be16 type;       /* GLB_PRIVATE_TYPE_HOPS */
	__u8 next_hop;     /* index into the hop list of the next hop to try */
	__u8 hop_count;    /* number of addresses that follow */
	/* __be32 hops[hop_count]; (type 0), struct in6_addr hops[hop_count]; (type 1) */
} __attribute__((packed));

/*
 * Where a director's packets have each header: Ethernet (14), an outer IPv4
 * header without options (20), UDP (8), GUE (4), the GLB private data (4),
 * the hop list, and the inner packet after 0 to 3 hops (GLB lists one hop,
 * or three with alt_hash_fields). glb-redirect reads headers found there
 * without a helper call; other layouts are read with bpf_skb_load_bytes().
 */
#define GLB_OUTER_UDP_OFF (14 + 20)
#define GLB_GUE_OFF (GLB_OUTER_UDP_OFF + 8)
#define GLB_PRIV_OFF (GLB_GUE_OFF + sizeof(struct glb_gue_hdr))
#define GLB_HOPS_OFF (GLB_PRIV_OFF + sizeof(struct glb_private_hdr))
#define GLB_INNER_OFF(hops) (GLB_HOPS_OFF + GLB_HOP_LEN_IPV4 * (hops))

/* The same over an IPv6 underlay: an outer IPv6 header without extension headers (40). */
#define GLB_OUTER6_UDP_OFF (14 + 40)
#define GLB_GUE6_OFF (GLB_OUTER6_UDP_OFF + 8)
#define GLB_PRIV6_OFF (GLB_GUE6_OFF + sizeof(struct glb_gue_hdr))
#define GLB_HOPS6_OFF (GLB_PRIV6_OFF + sizeof(struct glb_private_hdr))
#define GLB_INNER6_OFF(hops) (GLB_HOPS6_OFF + GLB_HOP_LEN_IPV6 * (hops))

/* First 8 bytes of a TCP or UDP header, as far as a socket lookup needs. */
struct glb_ports {
	__be16 source;
	__be16 dest;
} __attribute__((packed));

/* IPv6 extension header prefix (hop-by-hop, routing, destination options). */
struct glb_ipv6_opt_hdr {
	__u8 nexthdr;
	__u8 hdrlen;       /* in 8-byte units, not counting the first 8 bytes */
} __attribute__((packed));

struct glb_ipv6_frag_hdr {
	__u8 nexthdr;
	__u8 reserved;
	__be16 frag_off;   /* offset:13, res:2, M:1 */
	__be32 identification;
} __attribute__((packed));

#define GLB_IPV6_FRAG_OFFSET_MASK 0xfff8

#define GLB_IPV4_MF 0x2000
#define GLB_IPV4_OFFSET_MASK 0x1fff

/* IPv6 next-header values handled while walking extension headers. */
#define GLB_NEXTHDR_HOP 0
#define GLB_NEXTHDR_ROUTING 43
#define GLB_NEXTHDR_FRAGMENT 44
#define GLB_NEXTHDR_DEST 60
#define GLB_NEXTHDR_AUTH 51

/* ICMP types that matter here. */
#define GLB_ICMP_ECHO_REQUEST 8
#define GLB_ICMP_DEST_UNREACH 3
#define GLB_ICMP_TIME_EXCEEDED 11
#define GLB_ICMP_PARAMETER_PROB 12
#define GLB_ICMPV6_DEST_UNREACH 1
#define GLB_ICMPV6_PKT_TOOBIG 2
#define GLB_ICMPV6_TIME_EXCEED 3
#define GLB_ICMPV6_PARAMPROB 4
#define GLB_ICMPV6_ECHO_REQUEST 128
/* ICMP and ICMPv6 headers are 8 bytes; the quoted packet follows. */
#define GLB_ICMP_HDR_LEN 8

/* __sk_buff->pkt_type of a frame addressed to this host's MAC (linux/if_packet.h). */
#define GLB_PACKET_HOST 0

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif

/* The traffic class and flow label bits of an IPv6 header's first word (bpf_fib_lookup's flowinfo). */
#define GLB_IPV6_FLOWINFO_MASK 0x0fffffff

/*
 * bpf_skb_adjust_room() flags that say which L3 header follows the removed
 * bytes (kernel 6.3+: the helper then sets skb->protocol). Bits 7 and 8 of the
 * flags; Debian 12's UAPI header (6.1) lacks them. Own names, so that a newer
 * header that declares them as enum members cannot clash with these.
 */
#define GLB_ADJ_ROOM_DECAP_L3_IPV4 (1ULL << 7)
#define GLB_ADJ_ROOM_DECAP_L3_IPV6 (1ULL << 8)

#endif /* GLB_REDIRECT_DEFS_H */
