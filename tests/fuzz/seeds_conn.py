#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_conn (tests/fuzz/corpus/fuzz_conn/):
each starts with two bytes of limits, then events (fuzz_conn.c's header
says how they are coded). Run from anywhere; rewrites the seeds."""
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus", "fuzz_conn")

RECV, EOF, HUP, FAIL, WROTE, WROTE64, PAUSE, RESUME, CLOSE, SEND, FLUSH, TURN, OPEN = range(13)


def ev(op, conn=0, *args):
    return bytes([(conn << 4) | op]) + bytes(args)


def recv(conn, text, race=False):
    b = text.encode()
    return bytes([(conn << 4) | RECV | (0x80 if race else 0), len(b)]) + b


SEEDS = {
    # Echo, partial writes, a turn.
    "echo": b"\x05\x15" + recv(0, "hello\nworld\n") + ev(WROTE, 0, 3) + ev(FLUSH) +
            ev(WROTE, 0, 200) + ev(TURN, 0, 1),
    # A burst over output_max (disconnect), then the other connection.
    "burst_cut": b"\x00\x00" + recv(0, "b\x0fxxxxxxxxxxxxxxxx\n") + ev(TURN, 0, 0) +
                 recv(1, "hi\n") + ev(WROTE, 1, 3),
    # The same on drop_oldest: notes stand where lines went.
    "burst_drop": b"\x20\x00" + recv(0, "b\x0fxxxxxxxxxxxxxxxx\n") + ev(WROTE, 0, 5) +
                  recv(0, "b\x0fyyyyyyyyyyyyyyyy\n") + ev(TURN, 0, 0),
    # The protocol pauses itself until drained, kept input offered again.
    "pause_drain": b"\x1f\x05" + recv(0, "pd\nagain\nmore\n") + recv(0, "late\n", True) +
                   ev(WROTE64, 0, 10) + ev(FLUSH) + ev(TURN, 0, 0),
    # EOF while paused with kept requests; resume from outside.
    "eof_paused": b"\x10\x00" + recv(0, "p\na\nb") + ev(EOF, 0) + ev(RESUME, 0) + ev(FLUSH) +
                  ev(RESUME, 0) + ev(FLUSH) + ev(TURN, 0, 0),
    # A graceful close with output queued, then its deadline.
    "close_deadline": b"\x03\x00" + recv(0, "0123456789\n") + ev(CLOSE, 0, 1) +
                      ev(WROTE, 0, 2) + ev(TURN, 0, 100) + ev(TURN, 0, 100),
    # The protocol's timer: resume, then close at the timer.
    "timer": b"\x08\x20" + recv(0, "t\x05\n") + ev(TURN, 0, 2) + recv(0, "t\x05c\n") +
             ev(TURN, 0, 2) + ev(WROTE, 0, 50) + ev(TURN, 0, 0),
    # Errors, hang-up, reopen, shared chunks, close from the protocol.
    "errors": b"\x41\x00" + recv(0, "s\ns\n") + ev(FAIL, 0, 1) + ev(HUP, 1) + ev(OPEN, 2) +
              recv(2, "s\nc!\n") + ev(SEND, 2, 5) + ev(OPEN, 0) + ev(SEND, 0, 3) +
              ev(SEND, 0, 40) + ev(TURN, 0, 0),
    # An unfinished line past max_line.
    "long_line": b"\x1f\x00" + recv(0, "z" * 40) + ev(TURN, 0, 0),
}

# Each again on the io_uring-like backend (bit 7 of the first byte).
for name, data in list(SEEDS.items()):
    SEEDS["ring_" + name] = bytes([data[0] | 0x80]) + data[1:]

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
