"""The demo's clients: many short HTTP requests and long, slowly read downloads to the VIP,
from many source addresses, each connection recorded as one JSON line when it ends.

Runs inside the client namespace:
    python3 -m glbdemo.traffic --vip 10.100.0.1 --sources 10.90.0.100-163 --events events.jsonl ...
SIGTERM (or SIGINT) stops new connections; running ones finish (within --drain seconds).
"""
import argparse
import asyncio
import hashlib
import ipaddress
import json
import random
import signal
import time
import zlib


def parse_sources(text):
    """"10.90.0.100-163" (the last byte), "fd00:89::1:0-fd00:89::1:3f" (first and last
    address), or a comma-separated list of these and addresses."""
    out = []
    for part in text.split(","):
        if "-" in part:
            first, last = part.split("-")
            base = ipaddress.ip_address(first)
            count = (int(last) - (int(base) & 0xFF) if last.isdigit() else int(ipaddress.ip_address(last)) - int(base)) + 1
            out += [str(base + i) for i in range(count)]
        else:
            out.append(part)
    return out


class Recorder:
    def __init__(self, path):
        self.file = open(path, "a", buffering=1)

    def write(self, event):
        self.file.write(json.dumps(event) + "\n")


async def fetch(args, vip, source, path, kind, recorder, slow):
    """One connection to `vip`: GET `path`, read it all (slowly for long downloads), check it."""
    event = {"kind": kind, "vip": vip, "src": source, "start": time.time(), "backend": None, "bytes": 0}
    writer = None
    try:
        reader, writer = await asyncio.wait_for(
            asyncio.open_connection(vip, args.port, local_addr=(source, 0)), timeout=args.connect_timeout)
        event["sport"] = writer.get_extra_info("sockname")[1]
        event["connected"] = time.time()
        accept = "Accept-Encoding: gzip\r\n" if args.gzip else ""
        host = f"[{vip}]" if ":" in vip else vip
        writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\n{accept}Connection: close\r\n\r\n".encode())
        await writer.drain()
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=args.stall_timeout)
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {k.lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:] if l)}
        event["backend"] = headers.get("x-backend")
        if status != 200:
            raise RuntimeError(f"HTTP {status}")
        # A compressed answer has no length: it ends with the connection.
        compressed = headers.get("content-encoding") == "gzip"
        length = None if compressed else int(headers["content-length"])
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if compressed else None
        digest = hashlib.sha256()
        started = time.monotonic()
        while length is None or event["bytes"] < length:
            want = 65536 if length is None else min(65536, length - event["bytes"])
            chunk = await asyncio.wait_for(reader.read(want), timeout=args.stall_timeout)
            if not chunk:
                if compressed and inflate.eof:
                    break
                raise RuntimeError(f"connection closed after {event['bytes']} of {length or 'the compressed'} bytes")
            event["bytes"] += len(chunk)
            digest.update(inflate.decompress(chunk) if compressed else chunk)
            if slow:
                # Read at the configured rate: the receive window keeps the server's pace.
                ahead = event["bytes"] / args.long_rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        expected = args.large_sha256 if kind == "long" else args.small_sha256
        if expected and digest.hexdigest() != expected:
            raise RuntimeError("content differs from the file served")
        event["status"] = "ok"
    except (asyncio.TimeoutError, TimeoutError):
        event["status"] = "broken"
        event["error"] = "timeout (no progress)"
    except Exception as e:  # every other way a connection can fail is a broken connection
        event["status"] = "broken"
        event["error"] = f"{type(e).__name__}: {e}"
    finally:
        if writer is not None:
            writer.close()
    event["end"] = time.time()
    recorder.write(event)


async def main_async(args):
    sources = [a for text in args.sources for a in parse_sources(text)]
    # Each VIP with the sources of its family.
    targets = [(vip, [a for a in sources if ipaddress.ip_address(a).version == ipaddress.ip_address(vip).version])
               for vip in args.vip]
    for vip, of_family in targets:
        if not of_family:
            raise SystemExit(f"no source address of {vip}'s family")
    recorder = Recorder(args.events)
    rng = random.Random(args.seed)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    running = set()

    def launch(kind):
        path, slow = ("/large.bin", True) if kind == "long" else ("/small.bin", False)
        # One VIP draws nothing for the choice: its run is the same as before VIPs could be several.
        vip, of_family = targets[0] if len(targets) == 1 else rng.choice(targets)
        task = asyncio.create_task(fetch(args, vip, rng.choice(of_family), path, kind, recorder, slow))
        running.add(task)
        task.add_done_callback(running.discard)
        return task

    longs = set()
    interval = 1.0 / args.short_rate if args.short_rate > 0 else None
    next_short = time.monotonic()
    # Long downloads start at most this fast, so that failing ones are not retried in a storm.
    long_budget, long_per_second, budget_at = float(args.long_concurrency), max(20.0, args.long_concurrency / 2), time.monotonic()
    while not stop.is_set():
        now = time.monotonic()
        long_budget = min(float(args.long_concurrency), long_budget + (now - budget_at) * long_per_second)
        budget_at = now
        while len(longs) < args.long_concurrency and long_budget >= 1:
            long_budget -= 1
            t = launch("long")
            longs.add(t)
            t.add_done_callback(longs.discard)
        if interval is not None:
            now = time.monotonic()
            while next_short <= now:
                launch("short")
                next_short += interval
        try:
            await asyncio.wait_for(stop.wait(), timeout=0.01)
        except asyncio.TimeoutError:
            pass
    if running:
        await asyncio.wait(running, timeout=args.drain)
    for task in running:
        task.cancel()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vip", required=True, action="append",
                    help="the VIP; given more than once, each connection goes to one of them (its sources of the VIP's family)")
    ap.add_argument("--port", type=int, default=80)
    ap.add_argument("--sources", required=True, action="append",
                    help="client source addresses (parse_sources); may be given more than once")
    ap.add_argument("--events", required=True)
    ap.add_argument("--short-rate", type=float, default=40, help="short requests per second")
    ap.add_argument("--long-concurrency", type=int, default=100, help="long downloads kept running")
    ap.add_argument("--long-rate", type=float, default=100_000, help="bytes per second each long download reads")
    ap.add_argument("--small-sha256", default="")
    ap.add_argument("--large-sha256", default="")
    ap.add_argument("--connect-timeout", type=float, default=5)
    ap.add_argument("--stall-timeout", type=float, default=10)
    ap.add_argument("--drain", type=float, default=120)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--gzip", action="store_true",
                    help="ask for compressed answers (the backends' CPU then follows the bytes they serve)")
    asyncio.run(main_async(ap.parse_args()))


if __name__ == "__main__":
    main()
