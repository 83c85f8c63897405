"""python3 -m glbdemo [--keep | --down] [--underlay ipv4|ipv6] --bin DIR --work DIR"""
import argparse
import signal
import sys

from .cluster import ANNOUNCE_METRICS, DIRECTOR_METRICS, UNDERLAYS, VIP, VIP6, Cluster, url_host
from .scenario import Scenario


def main():
    ap = argparse.ArgumentParser(prog="scripts/demo", description="SwiftGLB's local demo cluster.")
    ap.add_argument("--bin", required=True, help="folder with glb-director, glb-director-cli, glb-redirect, glb-healthcheck, glb-announce")
    ap.add_argument("--work", required=True, help="folder for configuration, content and logs")
    ap.add_argument("--keep", action="store_true", help="leave the cluster up after the scenario")
    ap.add_argument("--down", action="store_true", help="remove a cluster left up by --keep, and exit")
    ap.add_argument("--underlay", choices=UNDERLAYS, default="ipv4",
                    help="the directors' and backends' addresses: ipv4, or ipv6 only (BGP over IPv6, outer IPv6 "
                         "tunnels; clients on an IPv4 and an IPv6 VIP)")
    ap.add_argument("--pace", type=float, default=6.0, help="seconds of traffic per phase")
    args = ap.parse_args()

    cluster = Cluster(args.bin, args.work, underlay=args.underlay)
    if args.down:
        if not cluster.exists():
            print("demo: no cluster is up")
        cluster.down()
        return 0

    def interrupted(*_):
        raise KeyboardInterrupt
    # Also when started in the background, where SIGINT arrives ignored.
    signal.signal(signal.SIGINT, interrupted)
    signal.signal(signal.SIGTERM, interrupted)
    try:
        print("demo: building the cluster (namespaces, a router with BIRD, directors d1-d3 each with a health checker, "
              "BIRD and glb-announce, backends b1-b4)")
        if cluster.ipv6:
            print(f"demo: IPv6 underlay: directors and backends have IPv6 addresses only, BGP and BFD run over IPv6, "
                  f"tunnels are outer IPv6; clients use the VIPs {VIP} and {VIP6}")
        cluster.up()
        print(f"demo: cluster up; logs in {cluster.logs}")
        scenario = Scenario(cluster, pace=args.pace)
        scenario.run()
        text, events, unexcused = scenario.report()
        print(text)
    except KeyboardInterrupt:
        print("\ndemo: interrupted, removing the cluster")
        cluster.down()
        return 130
    except Exception:
        print(f"demo: failed; logs in {cluster.logs}", file=sys.stderr)
        if not args.keep:
            cluster.down(quiet=True)
        raise
    if args.keep:
        print(f"\ndemo: the cluster is still up. Try:\n  ip netns exec {cluster.ns['client'].name} curl -si http://{VIP}/small.bin | head -5\n"
              + (f"  ip netns exec {cluster.ns['client'].name} curl -si http://{url_host(VIP6)}/small.bin | head -5\n" if cluster.ipv6 else "")
              + f"  ip netns exec {cluster.ns['d1'].name} curl -s http://{DIRECTOR_METRICS}/metrics | grep forwarded\n"
              f"  ip netns exec {cluster.ns['d1'].name} curl -s http://{ANNOUNCE_METRICS}/status\n"
              f"  ip -n {cluster.ns['router'].name} route show {VIP}\n"
              f"  ip netns exec {cluster.ns['b2'].name} {cluster.bin}/glb-redirect stats --iface eth0\n"
              f"Remove it with: scripts/demo --down")
    else:
        cluster.down(quiet=True)
    return 0 if not unexcused else 1


if __name__ == "__main__":
    sys.exit(main())
