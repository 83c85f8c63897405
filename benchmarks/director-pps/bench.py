"""Measures glb-director and dpdk-testpmd on the same looping capture; see run."""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

from scapy.all import IP, TCP, Ether, wrpcap

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
POOL = 32767


def capture(path, count=16384):
    frames = [Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02") /
              IP(src=f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}", dst="192.0.2.80") /
              TCP(sport=1024 + i % 60000, dport=443, flags="S", seq=i) for i in range(count)]
    wrpcap(path, frames)


def ensure_hugepages(pages=1024):
    subprocess.run([os.path.join(ROOT, "scripts", "hugepages"), "ensure-free", str(pages)], check=True)


# EAL's lcores: the main lcore (control: signals, reloads, metrics; it sleeps) on CPU 0 and
# the forwarding lcore on CPU 1. GLB's distributor layout adds its worker, lcore 2, on CPU 0
# beside the sleeping main lcore: two busy lcores on the two CPUs.
ONE_LCORE = "0@0,1@1"
DISTRIBUTOR_LCORES = "0@0,1@1,2@0"


def eal(prefix, pcap, lcores=ONE_LCORE):
    return ["--no-pci", "--in-memory", f"--file-prefix={prefix}", f"--lcores={lcores}",
            f"--vdev=net_pcap0,rx_pcap={pcap},tx_pcap=/dev/null,infinite_rx=1"]


def testpmd(pcap, seconds):
    cmd = ["dpdk-testpmd", *eal("bench-testpmd", pcap), "--", "--forward-mode=io", f"--total-num-mbufs={POOL + 1}",
           "--stats-period=1", "--nb-cores=1", "--burst=32"]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    rates = []
    start = time.monotonic()
    for line in p.stdout:
        m = re.search(r"Rx-pps:\s+(\d+)", line)
        if m and time.monotonic() - start > 3:
            rates.append(int(m.group(1)))
            if len(rates) >= seconds:
                break
    os.killpg(p.pid, signal.SIGINT)
    p.wait(timeout=30)
    return statistics.median(rates) / 1e6


def director(binary, table, pcap, seconds, workdir, idle_sleep_us=0, distributor=False):
    """The director's forwarding rate in Mpps (median of `seconds` one-second samples): the
    packets lcore 1 sent, which in run to completion are all it received and in the
    distributor layout those its worker handed back."""
    lcores = {"lcore-1": {"rx": True, "tx": True, "flow_paths": [0]}}
    if distributor:
        lcores = {"lcore-1": {"rx": True, "tx": True, "flow_paths": [0], "dist": True, "num_dist_workers": 1},
                  "lcore-2": {"work": True, "work_source": 1}}
    config = {
        "outbound_gateway_mac": "52:54:00:12:34:56", "outbound_src_ip": "10.255.255.1",
        "flow_paths": [{"rx_port": 0, "rx_queue": 0, "tx_port": 0, "tx_queue": 0}],
        "lcores": lcores,
        "metrics_address": "127.0.0.1:9190", "mbuf_pool_size": POOL, "mbuf_data_size": 2176,
    }
    if idle_sleep_us:
        config["idle_sleep_us"] = idle_sleep_us
    cfg = os.path.join(workdir, "director.json")
    with open(cfg, "w") as f:
        json.dump(config, f)
    cmd = [os.path.join(binary, "glb-director"), *eal("bench-director", pcap, DISTRIBUTOR_LCORES if distributor else ONE_LCORE), "--", "--config-file", cfg, "--forwarding-table", table]
    p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
    for line in p.stdout:
        if "forwarding on" in line:
            break
    else:
        raise SystemExit("glb-director did not start")

    def sent():
        text = urllib.request.urlopen("http://127.0.0.1:9190/metrics").read().decode()
        # The second form is the series' name before 0.2.0, for --baseline-bin of older builds.
        m = (re.search(r'glb_director_lcore_sent_packets_total\{lcore="1"\} (\d+)', text)
             or re.search(r'glb_director_lcore_packets_total\{lcore="1",event="tx_packets"\} (\d+)', text))
        return int(m.group(1))

    time.sleep(3)
    rates = []
    last, at = sent(), time.monotonic()
    for _ in range(seconds):
        time.sleep(1)
        now, t = sent(), time.monotonic()
        rates.append((now - last) / (t - at))
        last, at = now, t
    os.killpg(p.pid, signal.SIGINT)
    p.wait(timeout=30)
    return statistics.median(rates) / 1e6


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=int, default=5)
    ap.add_argument("--idle-sleep-us", type=int, default=0,
                    help="also run the director with this idle_sleep_us each round, and report its cost at full rate")
    ap.add_argument("--distributor", action="store_true",
                    help="also run GLB's distributor layout each round: the distributor (rx and tx) on "
                         "lcore 1 and one worker (the packet path) on lcore 2")
    ap.add_argument("--baseline-bin",
                    help="also run the glb-director in this folder (an earlier build) each round, on the same "
                         "table, and report this build against it")
    args = ap.parse_args()
    ensure_hugepages()
    with tempfile.TemporaryDirectory() as work:
        pcap = os.path.join(work, "syn.pcap")
        capture(pcap)
        table_json = os.path.join(work, "table.json")
        with open(table_json, "w") as f:
            json.dump({"tables": [{"name": "bench", "hash_key": "00112233445566778899aabbccddeeff",
                                   "seed": "ffeeddccbbaa99887766554433221100",
                                   "binds": [{"ip": "192.0.2.80", "proto": "tcp", "port": 443}],
                                   "backends": [{"ip": f"10.9.0.{i}", "state": "active", "healthy": True} for i in range(1, 17)]}]}, f)
        table = os.path.join(work, "table.bin")
        subprocess.run([os.path.join(args.bin, "glb-director-cli"), "build-config", table_json, table], check=True)
        pmd, glb, idle, base, dist = [], [], [], [], []
        # What each round measures, in the order of its line. The runs of a round start in a
        # rotated order, one step further each round, so that each takes every position
        # equally often: the run right after testpmd sees dips the others do not, and would
        # otherwise always be this build's.
        runs = [("testpmd io", pmd, lambda: testpmd(pcap, args.seconds)),
                ("glb-director", glb, lambda: director(args.bin, table, pcap, args.seconds, work))]
        if args.baseline_bin:
            runs.append(("baseline", base, lambda: director(args.baseline_bin, table, pcap, args.seconds, work)))
        if args.distributor:
            runs.append(("distributor layout", dist, lambda: director(args.bin, table, pcap, args.seconds, work, distributor=True)))
        if args.idle_sleep_us:
            runs.append((f"with idle_sleep_us {args.idle_sleep_us}:", idle,
                         lambda: director(args.bin, table, pcap, args.seconds, work, idle_sleep_us=args.idle_sleep_us)))
        for r in range(args.rounds):
            shift = r % len(runs)
            for _, rates, measure in runs[shift:] + runs[:shift]:
                rates.append(measure())
            print(f"round {r + 1}: " + ", ".join(f"{name} {rates[-1]:.2f} Mpps" for name, rates, _ in runs), flush=True)
        mp, mg = statistics.median(pmd), statistics.median(glb)
        print(f"director-pps: one worker lcore, 16k SYNs looped from net_pcap to /dev/null, {args.rounds} alternating rounds")
        print(f"  dpdk-testpmd io forwarding: {mp:.2f} Mpps (median)")
        print(f"  glb-director:               {mg:.2f} Mpps (median)")
        print(f"  ratio:                      {mg / mp:.2f}")
        if base:
            mb = statistics.median(base)
            print(f"  baseline glb-director:      {mb:.2f} Mpps (median), ratio {mb / mp:.2f}; this build / baseline: {mg / mb:.3f}")
        if dist:
            md = statistics.median(dist)
            print(f"  glb-director, GLB's distributor layout (distributor + one worker): {md:.2f} Mpps (median), "
                  f"ratio {md / mp:.2f}; against run to completion: {md / mg:.3f}")
        if idle:
            mi = statistics.median(idle)
            print(f"  glb-director, idle_sleep_us {args.idle_sleep_us}: {mi:.2f} Mpps (median), {mi / mg:.3f} of the director without it")


if __name__ == "__main__":
    sys.exit(main())
