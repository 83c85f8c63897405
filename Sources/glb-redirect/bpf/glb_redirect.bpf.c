// SPDX-License-Identifier: GPL-2.0
/*
 * glb-redirect: the backend half of GLB (docs/design.md §7) as an eBPF TC program,
 * attached at tcx ingress of the backend's interface (or, on kernels before
 * 6.6, as a clsact ingress filter).
 *
 * A GLB GUE packet (Ethernet / IPv4 / UDP to the GUE port / GUE / GLB hop list
 * / inner IPv4 or IPv6 packet; or the same over an IPv6 underlay: outer IPv6,
 * private type 1 and 16-byte IPv6 hops) is
 *   - taken locally when the inner packet belongs here: decapsulated in place
 *     (outer Ethernet header kept, IP/UDP/GUE removed) and passed up the
 *     stack, where the VIP lives on lo;
 *   - forwarded when it does not and a next hop is left: the outer IP header
 *     is rewritten (src = old dst, dst = next hop, next_hop + 1) and the frame
 *     is sent out again;
 *   - dropped when it is addressed to our GUE port but malformed: such a
 *     packet can be neither decapsulated nor forwarded safely, and the stack
 *     could do nothing useful with it either (no GUE socket listens there).
 * Everything else passes untouched, and so do GUE packets in frames not
 * addressed to this host's MAC and outer IP fragments. Such packets get
 * TC_ACT_UNSPEC (TCX_NEXT), not TC_ACT_OK: "no opinion", so the programs and
 * filters after this one on the same hook still see them, as they would
 * without glb-redirect. A verdict of OK would end the hook's processing and
 * silently bypass another tool's filters for all of the host's traffic.
 *
 * The file reads top to bottom as the decision tree: glb_redirect() first,
 * then each step in the order it is called. Every exit is counted, see
 * glb_redirect_counters.h.
 *
 * Packet bytes are read into stack copies, so no packet pointer survives a
 * helper that rewrites the packet. A helper call costs more than everything
 * else the program does with a frame that is not GUE, so the headers are
 * copied straight from the skb's linear data where they are at the offsets a
 * director's packets put them at (load_at(), copy_inner4()), which is where
 * they are in nearly every frame; anything else, and anything beyond the
 * linear data, is read with bpf_skb_load_bytes(), so that a non-linear skb
 * needs no pull and the skb is never changed just to be read. Either way the
 * program sees the same bytes and decides the same. Nothing is written
 * through a packet pointer: the verifier would then make the program unshare
 * every cloned skb (one that a tap such as tcpdump also holds) before it
 * starts, whatever the frame; the helpers that write unshare only the frames
 * they change.
 *
 * Checksums when forwarding: the IPv4 header checksum is updated
 * incrementally; the outer UDP checksum is left at 0 when it is 0 (allowed
 * for UDP over IPv4, GLB's XDP director sends 0), and otherwise updated
 * incrementally for the address and next_hop changes, as GLB's own
 * ipt_GLBREDIRECT does, so a checksummed tunnel stays checksummed end to end.
 * Over IPv6 the UDP checksum is mandatory (the director always fills it in):
 * it is updated the same way, and there is no header checksum.
 *
 * Needs Linux 6.3 or later (the DECAP_L3 flags of bpf_skb_adjust_room());
 * built and verified on 6.18 with libbpf 1.1.
 */

#include <stdbool.h>
#include <stddef.h>
#include <linux/bpf.h>
#include <linux/pkt_cls.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "glb_redirect_defs.h"
#include "glb_redirect_counters.h"
#include "glb_redirect_maps.h"

char LICENSE[] SEC("license") = "GPL";

/* What one step decided, and the counter that says why. */
enum glb_action {
	GLB_CONTINUE,      /* parsing step passed: go on */
	GLB_PASS,          /* not ours: TC_ACT_UNSPEC, untouched */
	GLB_TAKE_LOCALLY,  /* decapsulate, TC_ACT_OK */
	GLB_FORWARD,       /* no local flow: next hop, or last resort */
	GLB_DROP,          /* malformed GLB GUE: TC_ACT_SHOT */
};

struct glb_decision {
	enum glb_action action;
	__u32 counter; /* the outcome's counter; none for CONTINUE and FORWARD (counted later) */
};

#define CONTINUE() ((struct glb_decision){ GLB_CONTINUE, 0 })
#define PASS(c) ((struct glb_decision){ GLB_PASS, (c) })
#define TAKE(c) ((struct glb_decision){ GLB_TAKE_LOCALLY, (c) })
#define FORWARD() ((struct glb_decision){ GLB_FORWARD, 0 })
#define DROP(c) ((struct glb_decision){ GLB_DROP, (c) })

/* The settings from glb_config, with defaults applied. */
struct glb_settings {
	__u16 gue_port;    /* host order */
	__u64 netns;       /* for bpf_sk*_lookup_*() */
};

/* What the outer headers told us about a GLB GUE packet. */
struct glb_packet {
	__u64 netns;       /* for bpf_sk*_lookup_*(), from glb_config */
	__u32 udp_off;     /* outer UDP header */
	__u32 priv_off;    /* GLB private data (after the 4-byte GUE header) */
	__u32 inner_off;   /* inner IP header; inner_off - ETH_HLEN bytes are removed on decap */
	__be32 outer_saddr;
	__be32 outer_daddr; /* this host */
	struct in6_addr outer_saddr6; /* IPv6 underlay (outer_v6) */
	struct in6_addr outer_daddr6; /* this host */
	__be32 outer_flowinfo; /* IPv6: traffic class and flow label, for the FIB lookup */
	__sum16 udp_check;
	__u8 outer_tos;
	bool outer_v6;     /* outer IPv6 header: IPv6 hops (GLB_PRIVATE_TYPE_IPV6_HOPS) */
	__u8 inner_proto;  /* GLB_GUE_PROTO_IPV4 or GLB_GUE_PROTO_IPV6 */
	__u8 next_hop;
	__u8 hop_count;
};

/* ICMP and ICMPv6 share this 8-byte header shape. */
struct glb_icmp_hdr {
	__u8 type;
	__u8 code;
	__sum16 checksum;
	__be32 rest;
};

static __always_inline void count(__u32 counter);
static __always_inline struct glb_settings read_config(void);
static __always_inline struct glb_decision parse_outer(struct __sk_buff *skb, struct glb_packet *pkt);
static __always_inline struct glb_decision parse_gue(struct __sk_buff *skb, struct glb_packet *pkt, bool v6);
static __always_inline struct glb_decision decide_inner_ipv4(struct __sk_buff *skb,
							     const struct glb_packet *pkt);
static __always_inline struct glb_decision decide_inner_ipv6(struct __sk_buff *skb,
							     const struct glb_packet *pkt);
static __always_inline int forward_to_next_hop(struct __sk_buff *skb, const struct glb_packet *pkt);
static __always_inline int take_locally(struct __sk_buff *skb, const struct glb_packet *pkt,
					__u32 reason);

/* ------------------------------------------------------------------------ */
/* The decision tree                                                        */
/* ------------------------------------------------------------------------ */

SEC("tc")
int glb_redirect(struct __sk_buff *skb)
{
	struct glb_packet pkt = {};
	struct glb_decision d;

	/*
	 * Every exit counts exactly one outcome. "packets" and "forwarded" are
	 * their sums (glb_redirect_counters.h): the loader adds them up, so that
	 * no frame pays for counting them.
	 */
	/* 1. Only Ethernet / IPv4 or IPv6 / UDP to the GUE port is ours. */
	d = parse_outer(skb, &pkt);
	if (d.action != GLB_CONTINUE) {
		count(d.counter);
		return TC_ACT_UNSPEC;
	}

	/*
	 * 2. The GUE header and the GLB hop list must be well-formed. (v6 is a
	 * constant in each call, so each underlay gets its own copy, reading its
	 * usual offsets without a helper call.)
	 */
	d = pkt.outer_v6 ? parse_gue(skb, &pkt, true) : parse_gue(skb, &pkt, false);
	if (d.action != GLB_CONTINUE) {
		count(d.counter);
		return TC_ACT_SHOT;
	}

	/* 3. Does the inner packet belong to this host? */
	if (pkt.inner_proto == GLB_GUE_PROTO_IPV4)
		d = decide_inner_ipv4(skb, &pkt);
	else
		d = decide_inner_ipv6(skb, &pkt);

	/* 4. Act on it. */
	switch (d.action) {
	case GLB_TAKE_LOCALLY:
		return take_locally(skb, &pkt, d.counter);
	case GLB_FORWARD:
		return forward_to_next_hop(skb, &pkt);
	default:
		count(d.counter);
		return TC_ACT_SHOT;
	}
}

/* ------------------------------------------------------------------------ */
/* Counters and configuration                                               */
/* ------------------------------------------------------------------------ */

static __always_inline void count(__u32 counter)
{
	__u64 *value = bpf_map_lookup_elem(&glb_counters, &counter);

	if (value)
		*value += 1; /* per-CPU slot: no atomics needed */
}

static __always_inline struct glb_settings read_config(void)
{
	struct glb_settings s = {
		.gue_port = GLB_GUE_PORT_DEFAULT,
		.netns = (__u64)BPF_F_CURRENT_NETNS,
	};
	__u32 key = 0;
	struct glb_config *cfg = bpf_map_lookup_elem(&glb_config, &key);

	if (cfg) {
		if (cfg->gue_port)
			s.gue_port = cfg->gue_port;
		if ((cfg->flags & GLB_CFG_F_NETNS_ID) && cfg->netns_id >= 0)
			s.netns = (__u64)cfg->netns_id;
	}
	return s;
}

/* ------------------------------------------------------------------------ */
/* Reading the packet                                                       */
/* ------------------------------------------------------------------------ */

/*
 * data + off for a constant off, as the one "pointer += constant" instruction
 * that the verifier accepts from a loader without CAP_PERFMON (attach needs
 * only CAP_BPF and CAP_NET_ADMIN): it then refuses to add a variable to a
 * packet pointer, as a Spectre v1 defence. Written in asm so that the
 * compiler cannot merge several such additions (a switch's cases) into one
 * addition of a variable.
 */
#define packet_at(data, off)                                                   \
	({                                                                     \
		void *__p = (data);                                            \
		asm volatile("%0 += %1" : "+r"(__p) : "i"(off));               \
		__p;                                                           \
	})

/*
 * Copies sizeof(hdr) bytes of the frame at off into hdr; false when the frame
 * ends before them. load() reads with bpf_skb_load_bytes(); load_at(), for an
 * off known at compile time, copies straight from the packet when the bytes
 * lie in the linear data (no helper call), else falls back to load();
 * load_usually_at() is load_at() when off is usual_off, else load().
 */
#define load(skb, off, hdr) (bpf_skb_load_bytes((skb), (off), &(hdr), sizeof(hdr)) == 0)

#define load_at(skb, off, hdr)                                                 \
	({                                                                     \
		const void *__at = packet_at((void *)(long)(skb)->data, off);  \
		bool __ok = true;                                              \
                                                                               \
		if (__at + sizeof(hdr) <= (void *)(long)(skb)->data_end)       \
			(hdr) = *(const typeof(hdr) *)__at;                    \
		else                                                           \
			__ok = load(skb, off, hdr);                            \
		__ok;                                                          \
	})

#define load_usually_at(skb, off, usual_off, hdr)                              \
	((off) == (usual_off) ? load_at(skb, usual_off, hdr) : load(skb, off, hdr))

/* load_usually_at() with the usual offset of the outer family (v6 a constant). */
#define load_usually_at_either(skb, off, v6, usual4_off, usual6_off, hdr)       \
	((v6) ? load_usually_at(skb, off, usual6_off, hdr)                     \
	      : load_usually_at(skb, off, usual4_off, hdr))

/* ------------------------------------------------------------------------ */
/* 1. Outer headers: Ethernet / IPv4 or IPv6 / UDP to the GUE port         */
/* ------------------------------------------------------------------------ */

static __always_inline struct glb_decision parse_outer6(struct __sk_buff *skb,
							 struct glb_packet *pkt);

static __always_inline struct glb_decision
parse_outer(struct __sk_buff *skb, struct glb_packet *pkt)
{
	struct glb_settings cfg;
	struct iphdr ip;
	struct udphdr udp;
	__be16 proto;
	__u32 udp_off;

	/* (Only the ethertype matters; a frame shorter than an Ethernet header has none.) */
	if (!load_at(skb, offsetof(struct ethhdr, h_proto), proto))
		return PASS(GLB_C_NOT_GUE);
	if (proto == bpf_htons(ETH_P_IPV6))
		return parse_outer6(skb, pkt);
	if (proto != bpf_htons(ETH_P_IP))
		return PASS(GLB_C_NOT_GUE);

	if (!load_at(skb, ETH_HLEN, ip) ||
	    ip.version != 4 || ip.ihl < 5 || ip.protocol != IPPROTO_UDP)
		return PASS(GLB_C_NOT_GUE);

	/* A later fragment has no UDP header; it may be GUE, we cannot tell. */
	if (ip.frag_off & bpf_htons(GLB_IPV4_OFFSET_MASK))
		return PASS(GLB_C_OUTER_FRAGMENT);

	/* Only UDP gets this far: the settings are read for it, not for every frame. */
	cfg = read_config();
	udp_off = ETH_HLEN + ip.ihl * 4;
	if (!load_usually_at(skb, udp_off, GLB_OUTER_UDP_OFF, udp) ||
	    udp.dest != bpf_htons(cfg.gue_port))
		return PASS(GLB_C_NOT_GUE);

	/* GUE to our port, but only the first fragment: leave it to reassembly. */
	if (ip.frag_off & bpf_htons(GLB_IPV4_MF))
		return PASS(GLB_C_OUTER_FRAGMENT);

	/*
	 * Seen only because the interface is promiscuous (or a bridge port), or
	 * sent to a broadcast/multicast MAC: the stack would not take it, and
	 * forwarding it would duplicate another host's traffic.
	 */
	if (skb->pkt_type != GLB_PACKET_HOST)
		return PASS(GLB_C_NOT_FOR_THIS_HOST);

	pkt->netns = cfg.netns;
	pkt->udp_off = udp_off;
	pkt->outer_saddr = ip.saddr;
	pkt->outer_daddr = ip.daddr;
	pkt->outer_tos = ip.tos;
	pkt->udp_check = udp.check;
	return CONTINUE();
}

/*
 * The IPv6 underlay: the director sends no extension headers. Only a fragment
 * header is looked into, so that fragments of GUE are counted as such (left
 * to reassembly, as over IPv4); other extension headers mean "not GUE".
 */
static __always_inline struct glb_decision
parse_outer6(struct __sk_buff *skb, struct glb_packet *pkt)
{
	struct glb_settings cfg;
	struct ipv6hdr ip6;
	struct udphdr udp;
	__u32 udp_off = GLB_OUTER6_UDP_OFF;
	bool fragment = false;

	if (!load_at(skb, ETH_HLEN, ip6) || ip6.version != 6)
		return PASS(GLB_C_NOT_GUE);

	if (ip6.nexthdr == GLB_NEXTHDR_FRAGMENT) {
		struct glb_ipv6_frag_hdr frag;

		if (!load(skb, udp_off, frag) || frag.nexthdr != IPPROTO_UDP)
			return PASS(GLB_C_NOT_GUE);
		/* A later fragment has no UDP header; it may be GUE, we cannot tell. */
		if (frag.frag_off & bpf_htons(GLB_IPV6_FRAG_OFFSET_MASK))
			return PASS(GLB_C_OUTER_FRAGMENT);
		fragment = true;
		udp_off += sizeof(frag);
	} else if (ip6.nexthdr != IPPROTO_UDP) {
		return PASS(GLB_C_NOT_GUE);
	}

	cfg = read_config();
	if (!load_usually_at(skb, udp_off, GLB_OUTER6_UDP_OFF, udp) ||
	    udp.dest != bpf_htons(cfg.gue_port))
		return PASS(GLB_C_NOT_GUE);

	/* GUE to our port, but only the first fragment: leave it to reassembly. */
	if (fragment)
		return PASS(GLB_C_OUTER_FRAGMENT);

	/* (Not addressed to this host's MAC: as for IPv4.) */
	if (skb->pkt_type != GLB_PACKET_HOST)
		return PASS(GLB_C_NOT_FOR_THIS_HOST);

	pkt->outer_v6 = true;
	pkt->netns = cfg.netns;
	pkt->udp_off = udp_off;
	pkt->outer_saddr6 = ip6.saddr;
	pkt->outer_daddr6 = ip6.daddr;
	pkt->outer_flowinfo = *(__be32 *)&ip6 & bpf_htonl(GLB_IPV6_FLOWINFO_MASK);
	pkt->udp_check = udp.check;
	return CONTINUE();
}

/* ------------------------------------------------------------------------ */
/* 2. GUE header and GLB private data                                       */
/* ------------------------------------------------------------------------ */

/*
 * v6: the outer header is IPv6 (a constant at each call): then the private
 * data must be of type 1, with 16-byte hops; under IPv4, of GLB's type 0.
 */
static __always_inline struct glb_decision
parse_gue(struct __sk_buff *skb, struct glb_packet *pkt, bool v6)
{
	struct glb_gue_hdr gue;
	struct glb_private_hdr priv;
	__u32 gue_off = pkt->udp_off + sizeof(struct udphdr);
	__u32 hop_len = v6 ? GLB_HOP_LEN_IPV6 : GLB_HOP_LEN_IPV4;
	__u16 priv_type = v6 ? GLB_PRIVATE_TYPE_IPV6_HOPS : GLB_PRIVATE_TYPE_HOPS;
	__u32 hlen;

	if (!load_usually_at_either(skb, gue_off, v6, GLB_GUE_OFF, GLB_GUE6_OFF, gue))
		return DROP(GLB_C_DROP_TRUNCATED);

	if ((gue.ver_c_hlen >> GLB_GUE_VERSION_SHIFT) != 0 ||
	    (gue.ver_c_hlen & GLB_GUE_CONTROL_BIT))
		return DROP(GLB_C_DROP_BAD_GUE_VERSION);

	/* hlen counts 32-bit words after the base header: the GLB private data needs one. */
	hlen = gue.ver_c_hlen & GLB_GUE_HLEN_MASK;
	if (hlen * 4 < sizeof(priv))
		return DROP(GLB_C_DROP_BAD_HLEN);

	pkt->priv_off = gue_off + sizeof(gue);
	if (!load_usually_at_either(skb, pkt->priv_off, v6, GLB_PRIV_OFF, GLB_PRIV6_OFF, priv))
		return DROP(GLB_C_DROP_TRUNCATED);

	/* A hop list of the other family could not be forwarded to. */
	if (priv.type != bpf_htons(priv_type))
		return DROP(GLB_C_DROP_BAD_PRIVATE_TYPE);

	/* The hops must fit in hlen (GLB fills it exactly; spare words are tolerated). */
	if (sizeof(priv) + hop_len * (__u32)priv.hop_count > hlen * 4 ||
	    priv.next_hop > priv.hop_count)
		return DROP(GLB_C_DROP_BAD_HOP_COUNT);

	if (gue.proto != GLB_GUE_PROTO_IPV4 && gue.proto != GLB_GUE_PROTO_IPV6)
		return DROP(GLB_C_DROP_BAD_INNER_PROTO);

	pkt->inner_off = pkt->priv_off + hlen * 4;
	pkt->inner_proto = gue.proto;
	pkt->next_hop = priv.next_hop;
	pkt->hop_count = priv.hop_count;
	return CONTINUE();
}

/* ------------------------------------------------------------------------ */
/* 3. The inner packet: does it belong to this host?                        */
/* ------------------------------------------------------------------------ */

/*
 * TCP: a SYN starts a connection here; any other segment belongs here only if
 * a local socket knows its flow (established, handshaking, time-wait) or it
 * is the ACK of a SYN cookie a local listener handed out.
 */
static __always_inline struct glb_decision
decide_tcp(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns,
	   void *iph, __u32 iph_len, struct tcphdr *th)
{
	struct bpf_sock *sk;
	long cookie;

	if (th->syn && !th->ack)
		return TAKE(GLB_C_ACCEPTED_SYN);

	sk = bpf_skc_lookup_tcp(skb, tuple, tuple_size, netns, 0);
	if (!sk)
		return FORWARD();

	/* TCP_NEW_SYN_RECV (a request socket) and TIME_WAIT count as known flows. */
	if (sk->state != BPF_TCP_LISTEN) {
		bpf_sk_release(sk);
		return TAKE(GLB_C_ACCEPTED_ESTABLISHED);
	}

	/* Only a listener: this segment is ours only if it completes a SYN cookie. */
	cookie = bpf_tcp_check_syncookie(sk, iph, iph_len, th, sizeof(*th));
	bpf_sk_release(sk);
	if (cookie == 0)
		return TAKE(GLB_C_ACCEPTED_SYN_COOKIE);
	return FORWARD();
}

/*
 * UDP: ours if a local socket matches (new flows end up on the last hop);
 * counted in `taken` when it is.
 */
static __always_inline struct glb_decision
decide_udp(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 tuple_size, __u64 netns,
	   __u32 taken)
{
	struct bpf_sock *sk = bpf_sk_lookup_udp(skb, tuple, tuple_size, netns, 0);

	if (!sk)
		return FORWARD();
	bpf_sk_release(sk);
	return TAKE(taken);
}

/*
 * ICMP error: the quoted packet was sent by this host (src = local VIP:port,
 * dst = remote client), so the tuple was reversed by the caller. A listener
 * alone says nothing about the quoted connection: only a non-listening TCP
 * socket, or a UDP socket, keeps the error here.
 */
static __always_inline struct glb_decision
decide_icmp_error(struct __sk_buff *skb, struct bpf_sock_tuple *tuple, __u32 tuple_size,
		  __u64 netns, __u8 quoted_proto)
{
	struct bpf_sock *sk;
	bool listener;

	if (quoted_proto == IPPROTO_TCP) {
		sk = bpf_skc_lookup_tcp(skb, tuple, tuple_size, netns, 0);
		if (!sk)
			return FORWARD();
		listener = sk->state == BPF_TCP_LISTEN;
		bpf_sk_release(sk);
		return listener ? FORWARD() : TAKE(GLB_C_ACCEPTED_ICMP_ERROR);
	}
	return decide_udp(skb, tuple, tuple_size, netns, GLB_C_ACCEPTED_ICMP_ERROR);
}

/*
 * ICMP: an echo request is answered here (the tunnel health check); an error
 * is matched on the tuple of the packet it quotes, read from after the ICMP
 * header at icmp_off.
 */
static __always_inline struct glb_decision
decide_icmpv4(struct __sk_buff *skb, const struct glb_icmp_hdr *icmp, __u32 icmp_off, __u64 netns)
{
	struct bpf_sock_tuple tuple = {};
	struct glb_ports ports;
	struct iphdr quoted;
	__u32 quoted_off = icmp_off + GLB_ICMP_HDR_LEN;

	if (icmp->type == GLB_ICMP_ECHO_REQUEST)
		return TAKE(GLB_C_ACCEPTED_ICMP_ECHO);
	if (icmp->type != GLB_ICMP_DEST_UNREACH && icmp->type != GLB_ICMP_TIME_EXCEEDED &&
	    icmp->type != GLB_ICMP_PARAMETER_PROB)
		return TAKE(GLB_C_ACCEPTED_OTHER_PROTO);

	if (!load(skb, quoted_off, quoted))
		return DROP(GLB_C_DROP_TRUNCATED);
	if (quoted.version != 4 || quoted.ihl < 5 ||
	    (quoted.frag_off & bpf_htons(GLB_IPV4_OFFSET_MASK)) ||
	    (quoted.protocol != IPPROTO_TCP && quoted.protocol != IPPROTO_UDP))
		return TAKE(GLB_C_ACCEPTED_OTHER_PROTO);

	if (!load(skb, quoted_off + quoted.ihl * 4, ports))
		return DROP(GLB_C_DROP_TRUNCATED);

	tuple.ipv4.saddr = quoted.daddr;
	tuple.ipv4.daddr = quoted.saddr;
	tuple.ipv4.sport = ports.dest;
	tuple.ipv4.dport = ports.source;
	return decide_icmp_error(skb, &tuple, sizeof(tuple.ipv4), netns, quoted.protocol);
}

/*
 * The start of the inner upper-layer header, as much as any decision reads:
 * the whole TCP header (without options), the UDP ports, the ICMP header.
 */
union glb_l4_start {
	struct tcphdr th;
	struct glb_ports ports;
	struct glb_icmp_hdr icmp;
};

/* An inner IPv4 header without options and the upper-layer header after it. */
struct glb_inner4 {
	struct iphdr ip;
	union glb_l4_start l4;
};

/* An inner IPv6 header and the upper-layer header after it (no extension headers). */
struct glb_inner6 {
	struct ipv6hdr ip6;
	union glb_l4_start l4;
};

#define GLB_COPY_AT(data, data_end, off, out)                                   \
	case off: {                                                            \
		const void *p = packet_at(data, off);                          \
                                                                               \
		if (p + sizeof(*(out)) > (data_end))                           \
			return false;                                          \
		*(out) = *(const typeof(*(out)) *)p;                           \
		return true;                                                   \
	}

/*
 * The inner headers copied straight from the linear data, when they start at
 * one of the offsets a director's packets put them at and the linear data
 * holds sizeof(*out) bytes there; false otherwise, and the caller reads what
 * it needs with load(). Each case reads at a constant offset (packet_at()).
 * When the copy succeeds, it holds every byte of the inner packet that a
 * decision would otherwise load() (the network header, then up to 20 bytes
 * of the upper layer right after it), so it decides the same.
 */
static __always_inline bool
copy_inner4(struct __sk_buff *skb, __u32 off, struct glb_inner4 *out)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	switch (off) {
	GLB_COPY_AT(data, data_end, GLB_INNER_OFF(0), out);
	GLB_COPY_AT(data, data_end, GLB_INNER_OFF(1), out);
	GLB_COPY_AT(data, data_end, GLB_INNER_OFF(2), out);
	GLB_COPY_AT(data, data_end, GLB_INNER_OFF(3), out);
	GLB_COPY_AT(data, data_end, GLB_INNER6_OFF(0), out);
	GLB_COPY_AT(data, data_end, GLB_INNER6_OFF(1), out);
	GLB_COPY_AT(data, data_end, GLB_INNER6_OFF(2), out);
	GLB_COPY_AT(data, data_end, GLB_INNER6_OFF(3), out);
	default:
		return false;
	}
}

static __always_inline bool
copy_inner6(struct __sk_buff *skb, __u32 off, struct glb_inner6 *out)
{
	void *data = (void *)(long)skb->data;
	void *data_end = (void *)(long)skb->data_end;

	switch (off) {
	GLB_COPY_AT(data, data_end, GLB_INNER_OFF(0), out);
	GLB_COPY_AT(data, data_end, GLB_INNER_OFF(1), out);
	GLB_COPY_AT(data, data_end, GLB_INNER_OFF(2), out);
	GLB_COPY_AT(data, data_end, GLB_INNER_OFF(3), out);
	GLB_COPY_AT(data, data_end, GLB_INNER6_OFF(0), out);
	GLB_COPY_AT(data, data_end, GLB_INNER6_OFF(1), out);
	GLB_COPY_AT(data, data_end, GLB_INNER6_OFF(2), out);
	GLB_COPY_AT(data, data_end, GLB_INNER6_OFF(3), out);
	default:
		return false;
	}
}

/*
 * The first len bytes of the upper-layer header at l4_off into l4: already
 * there when the copy of the inner headers covered it (have_l4).
 */
static __always_inline bool
read_l4(struct __sk_buff *skb, __u32 l4_off, union glb_l4_start *l4, __u32 len, bool have_l4)
{
	return have_l4 || bpf_skb_load_bytes(skb, l4_off, l4, len) == 0;
}

static __always_inline struct glb_decision
decide_l4(struct __sk_buff *skb, __u8 proto, __u32 l4_off, union glb_l4_start *l4, bool have_l4,
	  struct bpf_sock_tuple *tuple, __u32 tuple_size, struct glb_ports *ports, __u64 netns,
	  void *iph, __u32 iph_len, bool v6);

static __always_inline struct glb_decision
decide_inner_ipv4(struct __sk_buff *skb, const struct glb_packet *pkt)
{
	struct bpf_sock_tuple tuple = {};
	struct glb_inner4 in;
	bool have_l4 = copy_inner4(skb, pkt->inner_off, &in);
	__u32 l4_off;

	if (!have_l4 && bpf_skb_load_bytes(skb, pkt->inner_off, &in.ip, sizeof(in.ip)) < 0)
		return DROP(GLB_C_DROP_TRUNCATED);
	if (in.ip.version != 4 || in.ip.ihl < 5)
		return DROP(GLB_C_DROP_BAD_INNER_PROTO);

	/* A later fragment carries no ports to match. */
	if (in.ip.frag_off & bpf_htons(GLB_IPV4_OFFSET_MASK))
		return TAKE(GLB_C_ACCEPTED_OTHER_PROTO);

	/* IPv4 options: the copy did not reach the upper-layer header. */
	if (in.ip.ihl != 5)
		have_l4 = false;
	l4_off = pkt->inner_off + in.ip.ihl * 4;
	tuple.ipv4.saddr = in.ip.saddr;
	tuple.ipv4.daddr = in.ip.daddr;

	return decide_l4(skb, in.ip.protocol, l4_off, &in.l4, have_l4, &tuple, sizeof(tuple.ipv4),
			 (struct glb_ports *)&tuple.ipv4.sport, pkt->netns, &in.ip, sizeof(in.ip), false);
}

static __always_inline struct glb_decision
decide_icmpv6(struct __sk_buff *skb, const struct glb_icmp_hdr *icmp, __u32 icmp_off, __u64 netns)
{
	struct bpf_sock_tuple tuple = {};
	struct glb_ports ports;
	struct ipv6hdr quoted;
	__u32 quoted_off = icmp_off + GLB_ICMP_HDR_LEN;

	if (icmp->type == GLB_ICMPV6_ECHO_REQUEST)
		return TAKE(GLB_C_ACCEPTED_ICMP_ECHO);
	if (icmp->type != GLB_ICMPV6_DEST_UNREACH && icmp->type != GLB_ICMPV6_PKT_TOOBIG &&
	    icmp->type != GLB_ICMPV6_TIME_EXCEED && icmp->type != GLB_ICMPV6_PARAMPROB)
		return TAKE(GLB_C_ACCEPTED_OTHER_PROTO);

	if (!load(skb, quoted_off, quoted))
		return DROP(GLB_C_DROP_TRUNCATED);
	/* The quoted header's extension headers are not walked (as in GLB). */
	if (quoted.version != 6 ||
	    (quoted.nexthdr != IPPROTO_TCP && quoted.nexthdr != IPPROTO_UDP))
		return TAKE(GLB_C_ACCEPTED_OTHER_PROTO);

	if (!load(skb, quoted_off + sizeof(quoted), ports))
		return DROP(GLB_C_DROP_TRUNCATED);

	__builtin_memcpy(tuple.ipv6.saddr, &quoted.daddr, sizeof(tuple.ipv6.saddr));
	__builtin_memcpy(tuple.ipv6.daddr, &quoted.saddr, sizeof(tuple.ipv6.daddr));
	tuple.ipv6.sport = ports.dest;
	tuple.ipv6.dport = ports.source;
	return decide_icmp_error(skb, &tuple, sizeof(tuple.ipv6), netns, quoted.nexthdr);
}

static __always_inline struct glb_decision
decide_inner_ipv6(struct __sk_buff *skb, const struct glb_packet *pkt)
{
	struct bpf_sock_tuple tuple = {};
	struct glb_inner6 in;
	bool have_l4 = copy_inner6(skb, pkt->inner_off, &in);
	__u32 l4_off = pkt->inner_off + sizeof(in.ip6);
	__u8 nexthdr;
	int i;

	if (!have_l4 && bpf_skb_load_bytes(skb, pkt->inner_off, &in.ip6, sizeof(in.ip6)) < 0)
		return DROP(GLB_C_DROP_TRUNCATED);
	if (in.ip6.version != 6)
		return DROP(GLB_C_DROP_BAD_INNER_PROTO);

	/*
	 * Skip extension headers to the upper layer, as the director does.
	 * Unrolled: a loader without CAP_PERFMON has the verifier also follow
	 * the loop's exit branch as if mispredicted (a Spectre v1 defence), and
	 * on the IPv6 underlay's paths that walk past the bound was never pruned
	 * ("sequence of jumps is too complex"); unrolled, there is no back edge
	 * to walk.
	 */
	nexthdr = in.ip6.nexthdr;
#pragma unroll
	for (i = 0; i < GLB_MAX_IPV6_EXT_HDRS; i++) {
		if (nexthdr == GLB_NEXTHDR_HOP || nexthdr == GLB_NEXTHDR_ROUTING ||
		    nexthdr == GLB_NEXTHDR_DEST) {
			struct glb_ipv6_opt_hdr opt;

			if (!load(skb, l4_off, opt))
				return DROP(GLB_C_DROP_TRUNCATED);
			nexthdr = opt.nexthdr;
			l4_off += (opt.hdrlen + 1) * 8;
		} else if (nexthdr == GLB_NEXTHDR_AUTH) {
			struct glb_ipv6_opt_hdr auth;

			/* AH counts its length in 4-byte words, minus two. */
			if (!load(skb, l4_off, auth))
				return DROP(GLB_C_DROP_TRUNCATED);
			nexthdr = auth.nexthdr;
			l4_off += (auth.hdrlen + 2) * 4;
		} else if (nexthdr == GLB_NEXTHDR_FRAGMENT) {
			struct glb_ipv6_frag_hdr frag;

			if (!load(skb, l4_off, frag))
				return DROP(GLB_C_DROP_TRUNCATED);
			/* A later fragment carries no ports to match. */
			if (frag.frag_off & bpf_htons(GLB_IPV6_FRAG_OFFSET_MASK))
				return TAKE(GLB_C_ACCEPTED_OTHER_PROTO);
			nexthdr = frag.nexthdr;
			l4_off += sizeof(frag);
		} else {
			break;
		}
		/* The copy did not reach the upper-layer header. */
		have_l4 = false;
	}

	__builtin_memcpy(tuple.ipv6.saddr, &in.ip6.saddr, sizeof(tuple.ipv6.saddr));
	__builtin_memcpy(tuple.ipv6.daddr, &in.ip6.daddr, sizeof(tuple.ipv6.daddr));

	return decide_l4(skb, nexthdr, l4_off, &in.l4, have_l4, &tuple, sizeof(tuple.ipv6),
			 (struct glb_ports *)&tuple.ipv6.sport, pkt->netns, &in.ip6, sizeof(in.ip6), true);
}

/*
 * The upper layer of an inner packet, for IPv4 and IPv6 alike once the caller
 * has put the addresses into `tuple`: `ports` points at the tuple's port pair
 * (sport, dport), `iph` at the inner network header. `v6` is a constant at
 * each call, so each caller gets its own branch-free copy.
 */
static __always_inline struct glb_decision
decide_l4(struct __sk_buff *skb, __u8 proto, __u32 l4_off, union glb_l4_start *l4, bool have_l4,
	  struct bpf_sock_tuple *tuple, __u32 tuple_size, struct glb_ports *ports, __u64 netns,
	  void *iph, __u32 iph_len, bool v6)
{
	if (proto == IPPROTO_TCP) {
		if (!read_l4(skb, l4_off, l4, sizeof(l4->th), have_l4))
			return DROP(GLB_C_DROP_TRUNCATED);
		ports->source = l4->th.source;
		ports->dest = l4->th.dest;
		return decide_tcp(skb, tuple, tuple_size, netns, iph, iph_len, &l4->th);
	}
	if (proto == IPPROTO_UDP) {
		if (!read_l4(skb, l4_off, l4, sizeof(l4->ports), have_l4))
			return DROP(GLB_C_DROP_TRUNCATED);
		*ports = l4->ports;
		return decide_udp(skb, tuple, tuple_size, netns, GLB_C_ACCEPTED_UDP_SOCKET);
	}
	if (proto == (v6 ? IPPROTO_ICMPV6 : IPPROTO_ICMP)) {
		if (!read_l4(skb, l4_off, l4, sizeof(l4->icmp), have_l4))
			return DROP(GLB_C_DROP_TRUNCATED);
		return v6 ? decide_icmpv6(skb, &l4->icmp, l4_off, netns)
			  : decide_icmpv4(skb, &l4->icmp, l4_off, netns);
	}
	/* Other protocols (IPv6: or more extension headers than are walked). */
	return TAKE(GLB_C_ACCEPTED_OTHER_PROTO);
}

/* ------------------------------------------------------------------------ */
/* 4a. Forward: rewrite the outer header to the next hop and send it        */
/* ------------------------------------------------------------------------ */

static __always_inline int send_rewritten(struct __sk_buff *skb, struct bpf_fib_lookup *fib);
static __always_inline int forward6_to_next_hop(struct __sk_buff *skb, const struct glb_packet *pkt);

static __always_inline int forward4_to_next_hop(struct __sk_buff *skb, const struct glb_packet *pkt);

static __always_inline int
forward_to_next_hop(struct __sk_buff *skb, const struct glb_packet *pkt)
{
	if (pkt->outer_v6)
		return forward6_to_next_hop(skb, pkt);
	return forward4_to_next_hop(skb, pkt);
}

static __always_inline int
forward4_to_next_hop(struct __sk_buff *skb, const struct glb_packet *pkt)
{
	__u32 hops_off = pkt->priv_off + sizeof(struct glb_private_hdr);
	__u32 idx = pkt->next_hop;
	bool skipped_self = false;
	bool found = false;
	__be32 hop = 0;
	__u8 new_next_hop;
	int i;

	/* The next hop that is not this host; never forward to ourselves. */
	for (i = 0; i < GLB_MAX_HOPS; i++) {
		if (idx >= pkt->hop_count)
			break;
		if (!load_usually_at(skb, hops_off + idx * 4, GLB_HOPS_OFF, hop)) {
			count(GLB_C_DROP_TRUNCATED);
			return TC_ACT_SHOT;
		}
		if (hop != pkt->outer_daddr) {
			found = true;
			break;
		}
		skipped_self = true;
		idx++;
	}
	if (skipped_self)
		count(GLB_C_FORWARDED_SKIPPED_SELF);

	/* No hop left: the local stack is the best we have (it answers with a RST). */
	if (!found)
		return take_locally(skb, pkt, GLB_C_ACCEPTED_LAST_RESORT);

	/*
	 * Rewrite, reading nothing from the packet from here on:
	 * next_hop = idx + 1 in the GLB private data, src = old dst, dst = hop.
	 * next_hop and hop_count form one 16-bit word at an even offset from the
	 * UDP header (8 + 4 + 2), as the UDP checksum counts it.
	 */
	new_next_hop = idx + 1;
	{
		__u32 udp_csum_off = pkt->udp_off + offsetof(struct udphdr, check);
		__u32 ip_off = ETH_HLEN;
		__be16 old_word = bpf_htons(((__u16)pkt->next_hop << 8) | pkt->hop_count);
		__be16 new_word = bpf_htons(((__u16)new_next_hop << 8) | pkt->hop_count);
		__be32 addrs[2] = { pkt->outer_daddr, hop };

		/*
		 * skb->csum of a CHECKSUM_COMPLETE skb stays right: the address
		 * change is cancelled by the IPv4 checksum change and accounted by
		 * BPF_F_PSEUDO_HDR, the next_hop change by the UDP checksum change;
		 * without a UDP checksum, the next_hop write must update it itself.
		 */
		if (bpf_skb_store_bytes(skb, pkt->priv_off + offsetof(struct glb_private_hdr, next_hop),
					&new_next_hop, sizeof(new_next_hop),
					pkt->udp_check ? 0 : BPF_F_RECOMPUTE_CSUM) < 0)
			goto error;
		if (pkt->udp_check &&
		    bpf_l4_csum_replace(skb, udp_csum_off, old_word, new_word,
					BPF_F_MARK_MANGLED_0 | sizeof(new_word)) < 0)
			goto error;

		if (bpf_skb_store_bytes(skb, ip_off + offsetof(struct iphdr, saddr), addrs,
					sizeof(addrs), 0) < 0)
			goto error;
		/* The old dst only moved to the src field: both sums change by old src -> hop. */
		if (bpf_l3_csum_replace(skb, ip_off + offsetof(struct iphdr, check),
					pkt->outer_saddr, hop, sizeof(hop)) < 0)
			goto error;
		if (pkt->udp_check &&
		    bpf_l4_csum_replace(skb, udp_csum_off, pkt->outer_saddr, hop,
					BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0 | sizeof(hop)) < 0)
			goto error;
	}

	{
		struct bpf_fib_lookup fib = {};

		fib.family = AF_INET;
		fib.tos = pkt->outer_tos;
		fib.l4_protocol = IPPROTO_UDP;
		fib.ifindex = skb->ifindex;
		fib.ipv4_src = pkt->outer_daddr;
		fib.ipv4_dst = hop;
		return send_rewritten(skb, &fib);
	}

error:
	count(GLB_C_FORWARD_ERROR);
	return TC_ACT_SHOT;
}

static __always_inline bool
same_ipv6(const struct in6_addr *a, const struct in6_addr *b)
{
	return ((a->s6_addr32[0] ^ b->s6_addr32[0]) | (a->s6_addr32[1] ^ b->s6_addr32[1]) |
		(a->s6_addr32[2] ^ b->s6_addr32[2]) | (a->s6_addr32[3] ^ b->s6_addr32[3])) == 0;
}

/*
 * The IPv6 underlay: the same steps with 16-byte hops (private type 1). The
 * hlen check bounds hop_count by GLB_MAX_IPV6_HOPS.
 */
static __always_inline int
forward6_to_next_hop(struct __sk_buff *skb, const struct glb_packet *pkt)
{
	__u32 hops_off = pkt->priv_off + sizeof(struct glb_private_hdr);
	__u32 idx = pkt->next_hop;
	bool skipped_self = false;
	bool found = false;
	struct in6_addr hop = {};
	__u8 new_next_hop;
	int i;

	/* The next hop that is not this host; never forward to ourselves. */
	for (i = 0; i < GLB_MAX_IPV6_HOPS; i++) {
		if (idx >= pkt->hop_count)
			break;
		if (!load_usually_at(skb, hops_off + idx * GLB_HOP_LEN_IPV6, GLB_HOPS6_OFF, hop)) {
			count(GLB_C_DROP_TRUNCATED);
			return TC_ACT_SHOT;
		}
		if (!same_ipv6(&hop, &pkt->outer_daddr6)) {
			found = true;
			break;
		}
		skipped_self = true;
		idx++;
	}
	if (skipped_self)
		count(GLB_C_FORWARDED_SKIPPED_SELF);

	if (!found)
		return take_locally(skb, pkt, GLB_C_ACCEPTED_LAST_RESORT);

	/* Rewrite: next_hop = idx + 1, src = old dst, dst = hop (hop limit unchanged). */
	new_next_hop = idx + 1;
	{
		__u32 udp_csum_off = pkt->udp_off + offsetof(struct udphdr, check);
		__be16 old_word = bpf_htons(((__u16)pkt->next_hop << 8) | pkt->hop_count);
		__be16 new_word = bpf_htons(((__u16)new_next_hop << 8) | pkt->hop_count);
		struct in6_addr addrs[2] = { pkt->outer_daddr6, hop };
		struct in6_addr old_saddr = pkt->outer_saddr6;
		__s64 diff;

		if (bpf_skb_store_bytes(skb, pkt->priv_off + offsetof(struct glb_private_hdr, next_hop),
					&new_next_hop, sizeof(new_next_hop),
					pkt->udp_check ? 0 : BPF_F_RECOMPUTE_CSUM) < 0)
			goto error;
		if (pkt->udp_check &&
		    bpf_l4_csum_replace(skb, udp_csum_off, old_word, new_word,
					BPF_F_MARK_MANGLED_0 | sizeof(new_word)) < 0)
			goto error;

		/*
		 * No IPv6 header checksum cancels the address change in
		 * skb->csum (CHECKSUM_COMPLETE): the store accounts for it, and
		 * the pseudo-header update below for the UDP checksum's change
		 * (the two cancel, as the packet's sum does not change).
		 */
		if (bpf_skb_store_bytes(skb, ETH_HLEN + offsetof(struct ipv6hdr, saddr), addrs,
					sizeof(addrs), BPF_F_RECOMPUTE_CSUM) < 0)
			goto error;
		/* The old dst only moved to the src field: the sum changes by old src -> hop. */
		if (pkt->udp_check) {
			diff = bpf_csum_diff(old_saddr.s6_addr32, sizeof(old_saddr), hop.s6_addr32,
					     sizeof(hop), 0);
			if (diff < 0 ||
			    bpf_l4_csum_replace(skb, udp_csum_off, 0, diff,
						BPF_F_PSEUDO_HDR | BPF_F_MARK_MANGLED_0) < 0)
				goto error;
		}
	}

	{
		struct bpf_fib_lookup fib = {};

		fib.family = AF_INET6;
		fib.flowinfo = pkt->outer_flowinfo;
		fib.l4_protocol = IPPROTO_UDP;
		fib.ifindex = skb->ifindex;
		__builtin_memcpy(fib.ipv6_src, &pkt->outer_daddr6, sizeof(fib.ipv6_src));
		__builtin_memcpy(fib.ipv6_dst, &hop, sizeof(fib.ipv6_dst));
		return send_rewritten(skb, &fib);
	}

error:
	count(GLB_C_FORWARD_ERROR);
	return TC_ACT_SHOT;
}

/*
 * Send the rewritten frame towards fib's destination (family, addresses and
 * ingress device filled in by the caller): with the FIB's answer (MACs, egress
 * device) when it has one; otherwise let bpf_redirect_neigh() resolve the
 * neighbour (no neighbour entry yet: through the device and gateway the FIB
 * found; forwarding disabled on the ingress device or any other failure:
 * through the ingress device with the kernel's own route lookup).
 */
static __always_inline int
send_rewritten(struct __sk_buff *skb, struct bpf_fib_lookup *fib)
{
	__u32 method;
	long rc, ret;

	rc = bpf_fib_lookup(skb, fib, sizeof(*fib), 0);
	if (rc == BPF_FIB_LKUP_RET_SUCCESS) {
		__u8 macs[2 * ETH_ALEN];

		__builtin_memcpy(macs, fib->dmac, ETH_ALEN);
		__builtin_memcpy(macs + ETH_ALEN, fib->smac, ETH_ALEN);
		if (bpf_skb_store_bytes(skb, 0, macs, sizeof(macs), 0) < 0)
			goto error;
		ret = bpf_redirect(fib->ifindex, 0);
		method = GLB_C_FORWARD_FIB_OK;
	} else if (rc == BPF_FIB_LKUP_RET_NO_NEIGH) {
		struct bpf_redir_neigh nh;

		/*
		 * Every byte set: an initializer may leave the rest of the
		 * address union unwritten, and a loader without CAP_PERFMON
		 * may not hand uninitialized stack to a helper.
		 */
		__builtin_memset(&nh, 0, sizeof(nh));
		nh.nh_family = fib->family;
		/* the gateway, or the hop itself */
		if (fib->family == AF_INET6)
			__builtin_memcpy(nh.ipv6_nh, fib->ipv6_dst, sizeof(nh.ipv6_nh));
		else
			nh.ipv4_nh = fib->ipv4_dst;
		ret = bpf_redirect_neigh(fib->ifindex, &nh, sizeof(nh), 0);
		method = GLB_C_FORWARD_NEIGH_FALLBACK;
	} else {
		ret = bpf_redirect_neigh(skb->ifindex, NULL, 0, 0);
		method = GLB_C_FORWARD_NEIGH_FALLBACK;
	}
	if (ret != TC_ACT_REDIRECT)
		goto error;

	count(method);
	return TC_ACT_REDIRECT;

error:
	count(GLB_C_FORWARD_ERROR);
	return TC_ACT_SHOT;
}

/* ------------------------------------------------------------------------ */
/* 4b. Take locally: decapsulate in place                                   */
/* ------------------------------------------------------------------------ */

static __always_inline int
take_locally(struct __sk_buff *skb, const struct glb_packet *pkt, __u32 reason)
{
	bool inner_v6 = pkt->inner_proto == GLB_GUE_PROTO_IPV6;
	bool outer_v6 = pkt->outer_v6;
	__s32 outer_len = pkt->inner_off - ETH_HLEN;
	__u64 flags = inner_v6 ? GLB_ADJ_ROOM_DECAP_L3_IPV6 : GLB_ADJ_ROOM_DECAP_L3_IPV4;

	/*
	 * Remove outer IP + UDP + GUE + hops behind the Ethernet header; the
	 * DECAP flag sets skb->protocol to the inner IP version. The checksum
	 * state is reset, so the stack verifies the inner checksums itself.
	 */
	if (bpf_skb_adjust_room(skb, -outer_len, BPF_ADJ_ROOM_MAC, flags) < 0)
		goto error;

	/* The ethertype names the inner family (unchanged when it is the outer one). */
	if (inner_v6 != outer_v6) {
		__be16 proto = bpf_htons(inner_v6 ? ETH_P_IPV6 : ETH_P_IP);

		if (bpf_skb_store_bytes(skb, offsetof(struct ethhdr, h_proto), &proto,
					sizeof(proto), 0) < 0)
			goto error;
	}

	count(reason);
	return TC_ACT_OK;

error:
	count(GLB_C_DECAP_ERROR);
	return TC_ACT_SHOT;
}
