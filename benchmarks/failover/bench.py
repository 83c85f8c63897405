"""Times failovers of the demo's fleet: the failure, then the router's route change (seen
with `ip monitor`), per failure mode, repeated; the failed director is brought back and
announced again before the next run."""
import argparse
import statistics
import threading
import time

from glbdemo.cluster import Cluster


def fail(cluster, mode, name):
    """Starts the failure; returns what undoes it."""
    if mode == "graceful":
        t = threading.Thread(target=cluster.stop_director, args=(name,))
        t.start()
        return lambda: (t.join(), cluster.start_director(name))
    if mode == "kill":
        cluster.kill_director(name)
        return lambda: cluster.start_director(name)
    cluster.hang_director(name)
    return lambda: cluster.hang_director(name, hung=False)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", default="/var/tmp/swiftglb-failover")
    ap.add_argument("--repetitions", type=int, default=10)
    args = ap.parse_args()
    cluster = Cluster(args.bin, args.work, prefix="glbfo", directors=3, large_size=64 << 10, log=lambda *_: None)
    results = {}
    try:
        cluster.up()
        names = list(cluster.directors)
        for i, mode in enumerate(("graceful", "kill", "hang")):
            times = []
            for rep in range(args.repetitions):
                name = names[(i + rep) % len(names)]
                cluster.wait_announced(names, timeout=60)
                time.sleep(0.5)
                failed = time.time()
                undo = fail(cluster, mode, name)
                seconds = cluster.routes.change_after(failed, without=cluster.directors[name].ip)
                times.append(seconds)
                print(f"{mode:8} run {rep + 1:2}: {name} {seconds * 1000:7.1f} ms", flush=True)
                undo()
            results[mode] = times
    finally:
        cluster.down(quiet=True)
    print("\nfailover (failure → router route change), ms:")
    print(f"{'mode':10} {'runs':>4} {'median':>8} {'worst':>8}")
    for mode, times in results.items():
        print(f"{mode:10} {len(times):4} {statistics.median(times) * 1000:8.1f} {max(times) * 1000:8.1f}")


if __name__ == "__main__":
    main()
