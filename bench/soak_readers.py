#!/usr/bin/env python3
# The soak's feed side: long-polling GET /changes readers and Server-Sent Event streams, all from
# seq 0, each checking that it sees every seq once and in order, plus the service's RSS sampled
# every second. Runs until the file STOP holds the outbox head H, then until every reader reached
# H (deadline 60 s). Writes each reader's seqs to OUT/<reader>.seqs, the RSS samples (KiB, one a
# line) to OUT/rss, and exits 1 when a reader failed.
# Usage: soak_readers.py PORT PID OUT STOP [long-pollers=4] [streams=4]
import http.client
import json
import os
import sys
import threading
import time

port, pid, out, stop_file = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
pollers = int(sys.argv[5]) if len(sys.argv) > 5 else 4
streams = int(sys.argv[6]) if len(sys.argv) > 6 else 4
DRAIN_SECONDS = 60

failures = []
target_head = None  # set once STOP holds the head
lock = threading.Lock()


def fail(name, message):
    with lock:
        failures.append(f"{name}: {message}")


def rss_kib():
    with open(f"/proc/{pid}/status") as f:
        return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))


class reader:
    def __init__(self, name):
        self.name = name
        self.seqs = []
        self.requests = 0

    def take(self, seq):
        if self.seqs and seq <= self.seqs[-1]:
            raise RuntimeError(f"seq {seq} after {self.seqs[-1]}: repeated or out of order")
        self.seqs.append(seq)

    def finished(self):
        return target_head is not None and (target_head == 0 or (self.seqs and self.seqs[-1] >= target_head))

    def save(self):
        with open(os.path.join(out, self.name + ".seqs"), "w") as f:
            f.write("".join(f"{s}\n" for s in self.seqs))


def long_poll(r):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    since = 0
    while not r.finished():
        conn.request("GET", f"/changes?since={since}&limit=1000&wait=2")
        res = conn.getresponse()
        body = res.read()
        r.requests += 1
        if res.status != 200:
            raise RuntimeError(f"GET /changes answered {res.status}: {body[:200]!r}")
        page = json.loads(body)
        for change in page["changes"]:
            r.take(change["seq"])
        since = page["next_since"]


def stream(r):
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/changes?since=0", headers={"Accept": "text/event-stream"})
    res = conn.getresponse()
    r.requests += 1
    if res.status != 200:
        raise RuntimeError(f"the stream answered {res.status}: {res.read()[:200]!r}")
    event_id = None
    while not r.finished():
        line = res.readline()
        if not line:
            raise RuntimeError("the stream ended")
        line = line.rstrip(b"\r\n")
        if line.startswith(b"id:"):
            event_id = int(line[3:].strip())
        elif line.startswith(b"data:"):
            seq = json.loads(line[5:])["seq"]
            if event_id is not None and event_id != seq:
                raise RuntimeError(f"id {event_id} but data seq {seq}")
            r.take(seq)
            event_id = None
    conn.close()


def run(fn, r):
    try:
        fn(r)
    except Exception as e:  # noqa: BLE001 - every failure is reported with its reader
        fail(r.name, str(e))
    r.save()


readers = [(long_poll, reader(f"poll{i}")) for i in range(pollers)]
readers += [(stream, reader(f"sse{i}")) for i in range(streams)]
threads = [threading.Thread(target=run, args=rr, daemon=True) for rr in readers]
for t in threads:
    t.start()

samples = []
deadline = None
with open(os.path.join(out, "rss"), "w") as rss_out:
    while any(t.is_alive() for t in threads):
        sample = rss_kib()
        samples.append(sample)
        rss_out.write(f"{sample}\n")
        rss_out.flush()
        if target_head is None and os.path.exists(stop_file):
            text = open(stop_file).read().strip()
            if text:
                target_head = int(text)
                deadline = time.monotonic() + DRAIN_SECONDS
        if deadline is not None and time.monotonic() > deadline:
            fail("readers", f"not every reader reached seq {target_head} within {DRAIN_SECONDS} s")
            break
        time.sleep(1)

for _, r in readers:
    print(f"{r.name}: {len(r.seqs)} events, {r.requests} requests, last seq {r.seqs[-1] if r.seqs else 0}")
for f in failures:
    print("FAIL " + f, file=sys.stderr)
sys.exit(1 if failures else 0)
