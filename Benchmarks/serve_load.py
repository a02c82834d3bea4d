#!/usr/bin/env python3
"""Load generator for `rnn serve` on loopback (standard library only; Benchmarks/serve_load.sh runs it).

  streams:  N concurrent generation streams (Server-Sent Events) for S seconds; each stream, when
            its text is done, starts the next request. Prints one JSON line: tokens/s over all
            streams, and the time a client waited for each token (p50, p99, in milliseconds):
            the gaps between a stream's tokens as the client reads them, the first from the
            request; tokens that arrive in one read count 0 after the first (the server writes
            what a stream drew while its last write went out in one write).
  requests: R short requests ({"length": 4, "stream": false}) at concurrency C, bounded by S
            seconds; prints the count by status and the server's RSS before and after (--pid).

Every loop is bounded in requests and time and stops by itself; it talks to 127.0.0.1 only.
"""
import argparse
import json
import selectors
import socket
import time


def percentile(values, q):
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def request_bytes(body):
    data = json.dumps(body).encode()
    return (b"POST /v1/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            b"Content-Type: application/json\r\nContent-Length: " + str(len(data)).encode() + b"\r\n\r\n" + data)


class Stream:
    """One client connection: a request sent, the answer read until the server closes it."""
    TOKEN = b'data: {"token"'

    def __init__(self, port, body, sel):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.setblocking(False)
        self.sock.sendall(request_bytes(body))  # small: fits the socket buffer
        self.start = self.last = time.perf_counter()
        self.tail = b""
        self.status = None
        self.sel = sel
        sel.register(self.sock, selectors.EVENT_READ, self)

    def read(self, gaps, counts):
        """Reads what has arrived; records token gaps; returns False at the end of the answer."""
        try:
            data = self.sock.recv(65536)
        except BlockingIOError:
            return True
        except ConnectionError:
            data = b""
        now = time.perf_counter()
        if not data:
            self.close()
            return False
        if self.status is None and (self.tail + data).startswith(b"HTTP/1.1 "):
            self.status = int((self.tail + data)[9:12])
            counts[self.status] = counts.get(self.status, 0) + 1
        chunk = self.tail + data
        n = chunk.count(self.TOKEN)
        for _ in range(n):
            gaps.append(now - self.last)
            self.last = now
        # Keep what may be the start of a marker cut by this read (too short to hold a whole one).
        self.tail = chunk[-(len(self.TOKEN) - 1):]
        return True

    def close(self):
        self.sel.unregister(self.sock)
        self.sock.close()


def run_streams(args):
    sel = selectors.DefaultSelector()
    seed = 0
    gaps, counts = [], {}

    def start():
        nonlocal seed
        seed += 1
        return Stream(args.port, {"model": args.model, "length": args.length, "seed": seed, "temperature": 1}, sel)

    streams = [start() for _ in range(args.streams)]
    begin = time.perf_counter()
    deadline = begin + args.seconds
    while time.perf_counter() < deadline:
        for key, _ in sel.select(timeout=0.1):
            s = key.data
            if not s.read(gaps, counts):
                streams.remove(s)
                streams.append(start())
    elapsed = time.perf_counter() - begin
    for s in streams:
        s.close()
    print(json.dumps({"model": args.model, "streams": args.streams, "seconds": round(elapsed, 2), "tokens": len(gaps),
                      "tokens_per_s": round(len(gaps) / elapsed, 1),
                      "p50_ms": round(percentile(gaps, 0.5) * 1000, 3), "p99_ms": round(percentile(gaps, 0.99) * 1000, 3),
                      "statuses": counts}))


def run_requests(args):
    sel = selectors.DefaultSelector()
    counts, gaps = {}, []
    before = rss_kib(args.pid) if args.pid else 0
    sent = 0
    body = {"model": args.model, "length": 4, "stream": False}
    live = []
    begin = time.perf_counter()
    deadline = begin + args.seconds
    while (sent < args.requests or live) and time.perf_counter() < deadline:
        while sent < args.requests and len(live) < args.concurrency:
            body["seed"] = sent
            live.append(Stream(args.port, body, sel))
            sent += 1
        for key, _ in sel.select(timeout=0.1):
            s = key.data
            if not s.read(gaps, counts):
                live.remove(s)
    for s in live:
        s.close()
    time.sleep(0.5)
    after = rss_kib(args.pid) if args.pid else 0
    print(json.dumps({"model": args.model, "requests": sent, "seconds": round(time.perf_counter() - begin, 2),
                      "statuses": counts, "rss_before_kib": before, "rss_after_kib": after,
                      "rss_change": round((after - before) / before, 4) if before else None}))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("mode", choices=["streams", "requests"])
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--model", required=True)
    p.add_argument("--streams", type=int, default=1)
    p.add_argument("--length", type=int, default=2000, help="characters per streamed request")
    p.add_argument("--seconds", type=float, default=10, help="time bound of the run")
    p.add_argument("--requests", type=int, default=100000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--pid", type=int, help="the server's process id, for its RSS")
    args = p.parse_args()
    run_streams(args) if args.mode == "streams" else run_requests(args)


if __name__ == "__main__":
    main()
