#!/usr/bin/python3
"""bench/soak_clients.py - the churning part of bench/soak.sh, for SECONDS:

  echo:  E slots, each a loop of: connect, send 1 to 16 KiB of a pattern,
         read it all back and compare, close; every 20th cycle instead
         sends 256 KiB and resets the connection (SO_LINGER 0) mid-write.
  chat:  J clients that register, then join and part channels and talk
         in them in a loop (their lines land on the checked muxd-load
         members); N never-readers that join the busiest channel and never
         read, so the server cuts them at its SendQ, and come back.

SIGUSR1 pauses the echo churn: cycles under way finish (and close), no
new one starts, until SIGUSR2 (bench/soak.sh samples RSS at rest then).

Prints one JSON object: cycles, bytes verified, mismatches, resets, chat
rounds, never-readers connected, errors (connect failures and the like, which a
soak must not have). Exit 1 when a byte mismatched or an echo came back
short.

usage: soak_clients.py SECONDS ECHO_PORT CHAT_PORT [E J N]
"""
import asyncio
import json
import random
import signal
import socket
import struct
import sys

secs, echo_port, chat_port = float(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
E, J, N = (int(x) for x in (sys.argv[4:7] if len(sys.argv) >= 7 else (5000, 40, 20)))
stats = dict(cycles=0, bytes=0, mismatches=0, short=0, resets=0, chat_rounds=0,
             never_readers=0, errors=0, first_error="")


def pattern(seed, n):
    r = random.Random(seed)
    return r.randbytes(n)


def error(what):
    stats["errors"] += 1
    if not stats["first_error"]:
        stats["first_error"] = what


async def echo_cycle(slot, k):
    seed = slot * 1000003 + k
    reset = (slot + k) % 20 == 7
    n = 256 * 1024 if reset else random.Random(seed).randint(1024, 16384)
    data = pattern(seed, n)
    try:
        r, w = await asyncio.open_connection("127.0.0.1", echo_port)
    except OSError as e:
        error(f"echo connect: {e}")
        await asyncio.sleep(0.1)
        return
    try:
        if reset:
            w.write(data)
            await asyncio.sleep(0.005)
            sock = w.get_extra_info("socket")
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            w.transport.abort()
            stats["resets"] += 1
            return
        w.write(data)
        got = await asyncio.wait_for(r.readexactly(n), 30)
        stats["bytes"] += n
        if got != data:
            stats["mismatches"] += 1
        stats["cycles"] += 1
    except asyncio.IncompleteReadError:
        stats["short"] += 1
    except (OSError, asyncio.TimeoutError) as e:
        error(f"echo: {e!r}")
    finally:
        if not reset:
            w.close()


async def echo_slot(slot, end, go):
    k = 0
    loop = asyncio.get_running_loop()
    while loop.time() < end:
        await go.wait()
        await echo_cycle(slot, k)
        k += 1


async def irc_login(nick, rcvbuf=0):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:  # before connecting, so the window starts small
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", chat_port))
    r, w = await asyncio.open_connection(sock=sock)
    w.write(f"NICK {nick}\r\nUSER {nick} 0 * :soak\r\n".encode())
    while True:
        line = await asyncio.wait_for(r.readline(), 30)
        if not line:
            raise OSError("closed before 001")
        if b" 001 " in line:
            return r, w
        if line.startswith(b"PING"):
            w.write(b"PONG" + line[4:])


async def drain(r):
    """Reads and drops whatever comes until closed."""
    while await r.read(65536):
        pass


async def chatter(i, end):
    loop = asyncio.get_running_loop()
    try:
        r, w = await irc_login(f"soakc{i}")
    except (OSError, asyncio.TimeoutError) as e:
        error(f"chat login: {e!r}")
        return
    reader = asyncio.ensure_future(drain(r))
    rnd = random.Random(i)
    while loop.time() < end:
        chan = f"#soak{rnd.randrange(4)}"
        w.write(f"JOIN {chan}\r\nPRIVMSG {chan} :hello from {i}\r\nPART {chan} :bye\r\n"
                .encode())
        stats["chat_rounds"] += 1
        await asyncio.sleep(0.2)
    w.write(b"QUIT :done\r\n")
    await asyncio.sleep(0.2)
    w.close()
    reader.cancel()


async def never_reader(i, end):
    """Joins the checked members' channels and never reads. The server
    cuts it once its queue passes output_max (bench/soak.sh counts that
    on /metrics: a client that never reads cannot see its own cut, whose
    FIN waits behind megabytes it will not take); every 90 s it leaves
    and comes back, so the cut ones return."""
    loop = asyncio.get_running_loop()
    k = 0
    while loop.time() < end:
        nick = f"soakn{i}x{k}"
        k += 1
        try:
            r, w = await irc_login(nick, 4096)
            w.write(b"JOIN #load0,#load1,#load2,#load3\r\n")
            stats["never_readers"] += 1
            await asyncio.sleep(min(90, max(0, end - loop.time())))
            w.transport.abort()
        except (OSError, asyncio.TimeoutError) as e:
            error(f"never-reader: {e!r}")
            await asyncio.sleep(1)


async def main():
    loop = asyncio.get_running_loop()
    end = loop.time() + secs
    go = asyncio.Event()
    go.set()
    loop.add_signal_handler(signal.SIGUSR1, go.clear)
    loop.add_signal_handler(signal.SIGUSR2, go.set)
    tasks = [echo_slot(s, end, go) for s in range(E)]
    tasks += [chatter(i, end) for i in range(J)]
    tasks += [never_reader(i, end) for i in range(N)]
    await asyncio.gather(*tasks)


asyncio.run(main())
print(json.dumps(stats))
sys.exit(1 if stats["mismatches"] or stats["short"] else 0)
