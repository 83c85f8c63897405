#include "cdpdk_shim.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>

/* ---- RCU ---------------------------------------------------------------- */

struct rte_rcu_qsbr *glb_qsbr_create(uint32_t threads)
{
	size_t size = rte_rcu_qsbr_get_memsize(threads);
	struct rte_rcu_qsbr *v = rte_zmalloc("glb_qsbr", size, RTE_CACHE_LINE_SIZE);
	if (v == NULL)
		return NULL;
	if (rte_rcu_qsbr_init(v, threads) != 0) {
		rte_free(v);
		return NULL;
	}
	return v;
}

/* ---- signals ------------------------------------------------------------ */

volatile int glb_stop_flag;
static volatile sig_atomic_t stop_signal;
static volatile sig_atomic_t reload_requested;
static volatile sig_atomic_t stop_signals;
static volatile sig_atomic_t graceful_stop;

/* With a grace period, the first stop signal only asks the main loop to begin the graceful
 * stop; the lcores go on until it ends. A second signal, or no grace period, stops at once. */
static void on_stop(int sig)
{
	if (stop_signal == 0)
		stop_signal = sig;
	stop_signals = stop_signals + 1;
	if (!graceful_stop || stop_signals > 1)
		__atomic_store_n(&glb_stop_flag, 1, __ATOMIC_RELAXED);
}

void glb_set_graceful_stop(int enabled) { graceful_stop = enabled; }
int glb_stop_signals(void) { return stop_signals; }
static void on_reload(int sig) { (void)sig; reload_requested = 1; }

int glb_install_signal_handlers(void)
{
	struct sigaction stop = { 0 }, reload = { 0 };
	stop.sa_handler = on_stop;
	sigemptyset(&stop.sa_mask);
	reload.sa_handler = on_reload;
	sigemptyset(&reload.sa_mask);
	reload.sa_flags = SA_RESTART;
	if (sigaction(SIGINT, &stop, NULL) || sigaction(SIGTERM, &stop, NULL) ||
	    sigaction(SIGHUP, &reload, NULL) || sigaction(SIGUSR1, &reload, NULL))
		return -1;
	return 0;
}

int glb_stop_signal(void) { return stop_signal; }

void glb_request_stop(void)
{
	if (stop_signal == 0)
		stop_signal = SIGTERM;
	__atomic_store_n(&glb_stop_flag, 1, __ATOMIC_RELAXED);
}

int glb_take_reload_request(void)
{
	if (!reload_requested)
		return 0;
	reload_requested = 0;
	return 1;
}

/* ---- ports -------------------------------------------------------------- */

#define FAIL(code, ...) do { snprintf(error, error_len, __VA_ARGS__); return (code); } while (0)
/* After rte_eth_dev_configure the port holds queues (and mbufs of the pool): close it. */
#define FAIL_CLOSE(code, ...) do { rte_eth_dev_close(port); FAIL(code, __VA_ARGS__); } while (0)

int glb_port_setup(uint16_t port, struct rte_mempool *pool, struct glb_port_setup *s, char *error, size_t error_len)
{
	struct rte_eth_dev_info info;
	struct rte_eth_conf conf;
	int ret;

	if (!rte_eth_dev_is_valid_port(port))
		FAIL(-ENODEV, "port %u does not exist (check the --vdev/PCI arguments given to EAL)", port);
	ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0)
		FAIL(ret, "cannot read port %u's device info: %s", port, strerror(-ret));
	snprintf(s->driver, sizeof(s->driver), "%s", info.driver_name ? info.driver_name : "?");
	if (s->rx_queues > info.max_rx_queues || s->tx_queues > info.max_tx_queues)
		FAIL(-EINVAL, "port %u (%s) supports %u rx and %u tx queues, %u/%u requested (num_worker_queues / flow_paths)",
		     port, s->driver, info.max_rx_queues, info.max_tx_queues, s->rx_queues, s->tx_queues);

	memset(&conf, 0, sizeof(conf));
	s->rss_hash_functions = 0;
	if (s->rx_queues > 1) {
		uint64_t wanted = RTE_ETH_RSS_IP | RTE_ETH_RSS_TCP | RTE_ETH_RSS_UDP;
		s->rss_hash_functions = wanted & info.flow_type_rss_offloads;
		if (s->rss_hash_functions != 0) {
			conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
			conf.rx_adv_conf.rss_conf.rss_hf = s->rss_hash_functions;
		}
	}
	/* Let real NICs receive jumbo frames up to what the mbufs hold; virtual
	 * devices report their own limits. */
	uint32_t mtu = RTE_ETHER_MTU;
	uint32_t overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
	if (s->max_frame > overhead + 4) {
		mtu = s->max_frame - overhead - 4;
		if (info.max_rx_pktlen > overhead && mtu > info.max_rx_pktlen - overhead)
			mtu = info.max_rx_pktlen - overhead;
		if (info.max_mtu && mtu > info.max_mtu)
			mtu = info.max_mtu;
		if (mtu < info.min_mtu)
			mtu = info.min_mtu;
	}
	conf.rxmode.mtu = mtu;
	s->mtu = mtu;
	if (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE)
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_MBUF_FAST_FREE;
	if (s->udp_checksum_offload) {
		if (!(info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM))
			FAIL(-ENOTSUP, "port %u (%s) cannot compute UDP checksums", port, s->driver);
		conf.txmode.offloads |= RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
	}

	ret = rte_eth_dev_configure(port, s->rx_queues, s->tx_queues, &conf);
	if (ret != 0)
		FAIL(ret, "cannot configure port %u (%s): %s", port, s->driver, strerror(-ret));

	uint16_t rxd = s->rx_descriptors, txd = s->tx_descriptors;
	ret = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
	if (ret != 0)
		FAIL_CLOSE(ret, "cannot size port %u's descriptor rings: %s", port, strerror(-ret));
	s->rx_descriptors_used = rxd;
	s->tx_descriptors_used = txd;

	int socket = rte_eth_dev_socket_id(port);
	struct rte_eth_rxconf rxconf = info.default_rxconf;
	rxconf.rx_drop_en = s->rx_drop_enable ? 1 : 0;
	rxconf.offloads = conf.rxmode.offloads;
	for (uint16_t q = 0; q < s->rx_queues; q++) {
		ret = rte_eth_rx_queue_setup(port, q, rxd, socket, &rxconf, pool);
		if (ret != 0)
			FAIL_CLOSE(ret, "cannot set up rx queue %u of port %u (%s): %s", q, port, s->driver, strerror(-ret));
	}
	struct rte_eth_txconf txconf = info.default_txconf;
	txconf.offloads = conf.txmode.offloads;
	for (uint16_t q = 0; q < s->tx_queues; q++) {
		ret = rte_eth_tx_queue_setup(port, q, txd, socket, &txconf);
		if (ret != 0)
			FAIL_CLOSE(ret, "cannot set up tx queue %u of port %u (%s): %s", q, port, s->driver, strerror(-ret));
	}
	ret = rte_eth_dev_start(port);
	if (ret != 0)
		FAIL_CLOSE(ret, "cannot start port %u (%s): %s", port, s->driver, strerror(-ret));
	/* Virtual devices and some drivers cannot change it; not fatal. */
	rte_eth_promiscuous_enable(port);
	return 0;
}

int glb_vdev_create(const char *name, const char *args, uint16_t *port)
{
	int ret = rte_vdev_init(name, args);
	if (ret != 0)
		return ret;
	return rte_eth_dev_get_port_by_name(name, port);
}

static int add_segment_length(const struct rte_memseg_list *msl, const struct rte_memseg *ms, void *arg)
{
	(void)msl;
	*(uint64_t *)arg += ms->len;
	return 0;
}

uint64_t glb_hugepage_bytes_in_use(void)
{
	uint64_t total = 0;
	rte_memseg_walk(add_segment_length, &total);
	return total;
}

int glb_port_link_up(uint16_t port)
{
	struct rte_eth_link link;
	int ret = rte_eth_link_get_nowait(port, &link);
	if (ret < 0)
		return ret;
	return link.link_status == RTE_ETH_LINK_UP;
}

int glb_port_can_offload_udp_checksum(uint16_t port)
{
	struct rte_eth_dev_info info;
	if (!rte_eth_dev_is_valid_port(port))
		return -ENODEV;
	int ret = rte_eth_dev_info_get(port, &info);
	if (ret != 0)
		return ret;
	return (info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) ? 1 : 0;
}
