/*
 * CDPDKShim: what Swift cannot take from DPDK's headers directly.
 *
 * Swift imports DPDK's static-inline fast-path functions (rx/tx burst, ring
 * enqueue/dequeue, RCU quiescent state) and inlines them, but not macros, not
 * rte_errno, and not structures aligned beyond 16 bytes (struct rte_mbuf and
 * struct rte_mempool arrive as opaque pointers). The inline accessors below
 * give the packet loop what it needs from an mbuf; the functions in shim.c
 * wrap set-up steps whose C structures are awkward to fill from Swift.
 */
#ifndef CDPDK_SHIM_H
#define CDPDK_SHIM_H

#include <rte_config.h>
#include <rte_common.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ether.h>
#include <rte_lcore.h>
#include <rte_launch.h>
#include <rte_cycles.h>
#include <rte_malloc.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_ring.h>
#include <rte_rcu_qsbr.h>
#include <rte_bus_vdev.h>
#include <rte_version.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <netinet/in.h>

#define GLB_INLINE static inline __attribute__((always_inline))

/* ---- mbuf accessors ---------------------------------------------------- */

GLB_INLINE void *glb_mbuf_data(struct rte_mbuf *m) { return rte_pktmbuf_mtod(m, void *); }
GLB_INLINE uint16_t glb_mbuf_data_len(const struct rte_mbuf *m) { return m->data_len; }
GLB_INLINE uint16_t glb_mbuf_nb_segs(const struct rte_mbuf *m) { return m->nb_segs; }
GLB_INLINE uint16_t glb_mbuf_headroom(const struct rte_mbuf *m) { return rte_pktmbuf_headroom(m); }
GLB_INLINE uint16_t glb_mbuf_port(const struct rte_mbuf *m) { return m->port; }
GLB_INLINE uint32_t glb_mbuf_rss_hash(const struct rte_mbuf *m) { return m->hash.rss; }
GLB_INLINE int glb_mbuf_has_rss_hash(const struct rte_mbuf *m) { return (m->ol_flags & RTE_MBUF_F_RX_RSS_HASH) != 0; }

/* Moves the start of a single-segment packet by `offset` bytes (negative: into
 * the headroom, already checked by the caller) and sets its length. */
GLB_INLINE void glb_mbuf_reframe(struct rte_mbuf *m, int32_t offset, uint32_t length)
{
	m->data_off = (uint16_t)((int32_t)m->data_off + offset);
	m->data_len = (uint16_t)length;
	m->pkt_len = length;
}

/* Asks the port to fill the outer UDP checksum of an encapsulated frame whose checksum field
 * holds the pseudo-header sum: `ipv6` says which outer header (Ethernet without a tag). */
GLB_INLINE void glb_mbuf_request_udp_checksum(struct rte_mbuf *m, int ipv6)
{
	m->l2_len = RTE_ETHER_HDR_LEN;
	m->l3_len = ipv6 ? sizeof(struct rte_ipv6_hdr) : sizeof(struct rte_ipv4_hdr);
	m->ol_flags |= (ipv6 ? RTE_MBUF_F_TX_IPV6 : RTE_MBUF_F_TX_IPV4) | RTE_MBUF_F_TX_UDP_CKSUM;
}

GLB_INLINE void glb_mbuf_free(struct rte_mbuf *m) { rte_pktmbuf_free(m); }

GLB_INLINE void glb_mbuf_free_bulk(struct rte_mbuf **m, unsigned int count) { rte_pktmbuf_free_bulk(m, count); }

/* ---- rings of mbufs ------------------------------------------------------ */

GLB_INLINE unsigned int glb_ring_enqueue(struct rte_ring *r, struct rte_mbuf **m, unsigned int n)
{
	return rte_ring_enqueue_burst(r, (void *const *)m, n, NULL);
}

GLB_INLINE unsigned int glb_ring_dequeue(struct rte_ring *r, struct rte_mbuf **m, unsigned int n)
{
	return rte_ring_dequeue_burst(r, (void **)m, n, NULL);
}

/* ---- errors, atomics ---------------------------------------------------- */

GLB_INLINE int glb_rte_errno(void) { return rte_errno; }

GLB_INLINE void glb_atomic_store_ptr(void **slot, void *value) { __atomic_store_n(slot, value, __ATOMIC_RELEASE); }
GLB_INLINE void *glb_atomic_load_ptr(void **slot) { return __atomic_load_n(slot, __ATOMIC_ACQUIRE); }
GLB_INLINE void glb_atomic_store_u32(volatile uint32_t *slot, uint32_t value) { __atomic_store_n(slot, value, __ATOMIC_RELEASE); }
GLB_INLINE uint32_t glb_atomic_load_u32(volatile uint32_t *slot) { return __atomic_load_n(slot, __ATOMIC_ACQUIRE); }

/* ---- RCU (QSBR) --------------------------------------------------------- */

GLB_INLINE void glb_qsbr_quiescent(struct rte_rcu_qsbr *v, unsigned int thread) { rte_rcu_qsbr_quiescent(v, thread); }

/* Allocates and initialises a QSBR variable for `threads` reader threads. */
struct rte_rcu_qsbr *glb_qsbr_create(uint32_t threads);

/* ---- signals ------------------------------------------------------------ */

/* SIGINT/SIGTERM request a stop; SIGHUP/SIGUSR1 request a table reload. */
int glb_install_signal_handlers(void);
extern volatile int glb_stop_flag;
/* Read by every worker once per loop: a plain load of a flag set by a signal handler. */
GLB_INLINE int glb_stop_requested(void) { return __atomic_load_n(&glb_stop_flag, __ATOMIC_RELAXED) != 0; }
/* Returns 1 once per reload request (and clears it). */
int glb_take_reload_request(void);
/* The signal that requested the stop (0 if none). */
int glb_stop_signal(void);
void glb_request_stop(void);
/* With graceful stop on, the first SIGINT/SIGTERM is only counted (glb_stop_signals) and
 * the caller stops the lcores with glb_request_stop when its grace period ends; a second
 * signal stops them at once. */
void glb_set_graceful_stop(int enabled);
int glb_stop_signals(void);

/* Link state of a port without waiting: 1 up, 0 down, negative errno on error. */
int glb_port_link_up(uint16_t port);

/* ---- ports -------------------------------------------------------------- */

struct glb_port_setup {
	uint16_t rx_queues;
	uint16_t tx_queues;
	uint16_t rx_descriptors;
	uint16_t tx_descriptors;
	int rx_drop_enable;
	/* Largest frame the mbufs can hold; used to raise the port's MTU where it allows. */
	uint32_t max_frame;
	/* Ask the port to compute outer UDP checksums (only if it can: glb_port_can_offload_udp_checksum). */
	int udp_checksum_offload;
	/* Output: what was applied. */
	uint64_t rss_hash_functions;
	uint32_t mtu;
	uint16_t rx_descriptors_used;
	uint16_t tx_descriptors_used;
	char driver[64];
};

/* Configures queues (RSS over IP/TCP/UDP when several rx queues and the port
 * supports it), sets them up from `pool`, starts the port and enables
 * promiscuous mode. Returns 0, or a negative errno with a message in `error`. */
int glb_port_setup(uint16_t port, struct rte_mempool *pool, struct glb_port_setup *setup, char *error, size_t error_len);

/* 1 when the port can compute UDP checksums on transmit, 0 when not, negative errno on error. */
int glb_port_can_offload_udp_checksum(uint16_t port);

/* Creates a virtual device (e.g. net_tap) after EAL start-up and returns its
 * port id in `port`. */
int glb_vdev_create(const char *name, const char *args, uint16_t *port);

/* Bytes of hugepage memory DPDK has mapped so far. */
uint64_t glb_hugepage_bytes_in_use(void);

#endif
