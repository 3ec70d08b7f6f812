#!/usr/bin/env python3
"""Userspace link emulator for the Sovereign test bed (a stand-in for tc netem).

Used when the kernel has no sch_netem (`tc qdisc add ... netem` answers "Specified qdisc kind
is unknown"), as on the Firecracker kernels this project's machines run.

For every link of the spec it creates one TUN device (IFF_TUN | IFF_NO_PI, layer 3) in each of
the link's two network namespaces and copies IP packets between them, holding each packet for
the link's one-way delay and dropping it with the link's loss probability: the same
impairments netem applies on an egress qdisc. The devices belong to this process's file
descriptors, so they vanish with it, however it ends.

    wire.py SPEC.json     SPEC: {"links": [{"id", "a": {"ns", "dev"}, "b": {"ns", "dev"},
                                             "delayMs": one-way ms, "lossPct": 0-100}]}

SIGHUP re-reads delayMs/lossPct of each link from SPEC (partition, heal, added latency);
SIGTERM/SIGINT stop it. Prints "ready" once every device exists. Standard library only.
"""

import ctypes
import errno
import fcntl
import heapq
import json
import os
import random
import select
import signal
import struct
import sys
import time

CLONE_NEWNET = 0x40000000
TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000

libc = ctypes.CDLL(None, use_errno=True)


def setns(fd: int) -> None:
    if libc.setns(fd, CLONE_NEWNET) != 0:
        e = ctypes.get_errno()
        raise OSError(e, f"setns: {os.strerror(e)}")


def open_tun(ns: str, dev: str, home: int) -> int:
    """Creates TUN device `dev` inside network namespace `ns`; returns its fd."""
    nsfd = os.open(f"/run/netns/{ns}", os.O_RDONLY)
    try:
        setns(nsfd)
        fd = os.open("/dev/net/tun", os.O_RDWR | os.O_NONBLOCK)
        fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH22x", dev.encode(), IFF_TUN | IFF_NO_PI))
        return fd
    finally:
        setns(home)
        os.close(nsfd)


def main() -> None:
    spec_path = sys.argv[1]
    with open(spec_path) as f:
        spec = json.load(f)
    home = os.open("/proc/self/ns/net", os.O_RDONLY)

    # fd -> (peer fd, link id); per link: [one-way delay s, loss probability]
    route: dict[int, tuple[int, str]] = {}
    impair: dict[str, list[float]] = {}
    for link in spec["links"]:
        fa = open_tun(link["a"]["ns"], link["a"]["dev"], home)
        fb = open_tun(link["b"]["ns"], link["b"]["dev"], home)
        route[fa] = (fb, link["id"])
        route[fb] = (fa, link["id"])
        impair[link["id"]] = [link.get("delayMs", 0) / 1000, link.get("lossPct", 0) / 100]

    reload = False
    stop = False

    def on_hup(_s, _f):
        nonlocal reload
        reload = True

    def on_term(_s, _f):
        nonlocal stop
        stop = True

    signal.signal(signal.SIGHUP, on_hup)
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)

    ep = select.epoll()
    for fd in route:
        ep.register(fd, select.EPOLLIN)
    print("ready", flush=True)

    queue: list[tuple[float, int, int, bytes]] = []  # (due, seq, out fd, packet)
    last_due: dict[int, float] = {}  # per out fd: keep FIFO order when the delay shrinks
    seq = 0
    while not stop:
        if reload:
            reload = False
            try:
                with open(spec_path) as f:
                    for link in json.load(f)["links"]:
                        if link["id"] in impair:
                            impair[link["id"]] = [link.get("delayMs", 0) / 1000, link.get("lossPct", 0) / 100]
                print("reloaded", flush=True)
            except (OSError, ValueError, KeyError) as e:
                print(f"reload failed: {e}", file=sys.stderr, flush=True)
        now = time.monotonic()
        while queue and queue[0][0] <= now:
            _, _, out, pkt = heapq.heappop(queue)
            try:
                os.write(out, pkt)
            except OSError:
                pass  # device down or queue full: the packet is lost, as on a wire
        timeout = max(0.0, queue[0][0] - now) if queue else 1.0
        try:
            events = ep.poll(timeout)
        except InterruptedError:
            continue
        now = time.monotonic()
        for fd, _ in events:
            out, lid = route[fd]
            delay, loss = impair[lid]
            for _ in range(64):
                try:
                    pkt = os.read(fd, 65536)
                except OSError as e:
                    if e.errno in (errno.EAGAIN, errno.EWOULDBLOCK):
                        break
                    raise
                if loss > 0 and (loss >= 1 or random.random() < loss):
                    continue
                due = max(now + delay, last_due.get(out, 0.0))
                last_due[out] = due
                seq += 1
                heapq.heappush(queue, (due, seq, out, pkt))


if __name__ == "__main__":
    main()
