#!/usr/bin/python3
"""ws_client.py - WebSocket IRC clients for test_ws_chat.c (issue 17).

A real RFC 6455 client (Debian's python3-websockets, 10.4, asyncio API)
and a hand-written one on a raw socket (for frames a real client will not
send: unmasked, invalid UTF-8, over the size limit; and for a member that
never reads), beside plain TCP IRC clients (asyncio streams).

  ws_client.py mixed WSPORT TCPPORT [tls]
      A WS member and a TCP member of #mix exchange PRIVMSGs both ways
      (UTF-8, a trailing CR LF the WS client sent is stripped, a TCP
      line's invalid UTF-8 reaches a text-mode WS member as U+FFFD, a
      binary.ircv3.net member as the bytes themselves) and each sees
      the other's JOIN, NICK, PART and QUIT as exact lines; no WS message
      holds a CR or LF; a QUIT ends with the ERROR line as a message, then
      a close frame. With tls: wss:// (certificate not verified).
  ws_client.py many WSPORT N SENDERS M
      N WS members of #many (opened in batches); SENDERS of them send M
      numbered PRIVMSGs each; every member gets every message of every
      other sender exactly once, in each sender's order.
  ws_client.py slow WSPORT TCPPORT
      A raw-socket WS member of #slow stops reading while a TCP member
      floods the channel; it is cut with "SendQ exceeded" (the others see
      its QUIT) while a WS and a TCP reader get every line in order; read
      back, its stream ends with the ERROR message, a close frame, EOF.
  ws_client.py kline WSPORT TCPPORT OPERPASS
      A TCP client opers up ([oper boss]) and K-lines a WS member of #k:
      it sees the QUIT "K-lined: ..."; the WS client gets the ERROR line
      as a message, then a close frame; the same user connecting again
      is refused at registration (465, ERROR, close frame).
  ws_client.py shutdown WSPORT PID
      SIGTERM to the daemon PID: a registered and an unregistered WS
      client each get ERROR "Server shutting down", close code 1001, EOF.
  ws_client.py proto WSPORT GOOD_ORIGIN PAGEFILE MAXMSG
      The HTTP side and the framing: GET / and /index.html serve PAGEFILE
      as text/html (HEAD / its head), other paths 404; a bad Origin gets
      403, a good one or none gets in; subprotocols in the client's order
      of preference (binary first: binary frames; an offer over two
      header lines is one list), none offered: text; a line break inside
      a message is refused, not split; ping -> pong; a clean close; an
      unmasked frame -> 1002, invalid UTF-8 in a text frame -> 1007, a
      message over MAXMSG bytes -> 1009.

Exit 0 on success; what went wrong on stderr otherwise. Every wait is
bounded (STEP seconds), so a silent server fails the run, never hangs it.
"""
import asyncio
import base64
import os
import re
import socket
import ssl
import struct
import sys
import time
import urllib.error
import urllib.request

import websockets

STEP = 10.0
HOST = "127.0.0.1"


class Fail(Exception):
    pass


def tls_context():
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


# ---- line clients (asyncio): WebSocket and TCP, one interface -------------

class Client:
    """One IRC connection: send(line), recv() -> line or None at EOF."""

    def __init__(self, name):
        self.name = name
        self.recent = []

    def seen(self, line):
        self.recent = (self.recent + [line])[-12:]

    def history(self):
        return "\n".join("    " + repr(l) for l in self.recent) or "    (nothing)"

    def fail(self, what):
        raise Fail(f"{self.name}: {what}; last lines:\n{self.history()}")

    async def expect(self, pred, what, timeout=STEP):
        """Reads until a line satisfies pred (lines before it are dropped)."""
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                self.fail(f"no {what} within {timeout} s")
            line = await self.recv(left)
            if line is None:
                self.fail(f"closed while waiting for {what}")
            if pred(line):
                return line

    async def expect_line(self, want, timeout=STEP):
        return await self.expect(lambda l: l == want, repr(want), timeout)

    async def expect_cmd(self, cmd, timeout=STEP):
        return await self.expect(lambda l: command(l) == cmd, cmd, timeout)

    async def register(self, nick, user=None, caps=None):
        self.nick = nick
        if caps:
            await self.send("CAP REQ :" + " ".join(caps))
        await self.send(f"NICK {nick}")
        await self.send(f"USER {user or nick} 0 * :{self.name} {nick}")
        if caps:
            await self.expect(lambda l: command(l) == "CAP" and " ACK " in l, "CAP ACK")
            await self.send("CAP END")
        await self.expect(lambda l: command(l) in ("376", "422"), "end of the welcome (376/422)")

    async def join(self, chan):
        await self.send(f"JOIN {chan}")
        await self.expect(lambda l: command(l) == "366", f"366 for {chan}")


def command(line):
    """The command of a line, after its optional tags and prefix."""
    words = line.split(" ")
    i = 0
    while i < len(words) and (words[i].startswith("@") or words[i].startswith(":")):
        i += 1
    return words[i] if i < len(words) else ""


class WsClient(Client):
    """python3-websockets: the real thing, as a browser would talk."""

    @classmethod
    async def open(cls, name, port, tls=False, subprotocols=("text.ircv3.net",), origin=None,
                   **kw):
        self = cls(name)
        uri = f"{'wss' if tls else 'ws'}://{HOST}:{port}/"
        self.ws = await asyncio.wait_for(
            websockets.connect(uri, subprotocols=list(subprotocols) or None, origin=origin,
                               ssl=tls_context() if tls else None, open_timeout=STEP,
                               close_timeout=STEP, ping_interval=None, **kw), STEP)
        return self

    async def send(self, line):
        if self.ws.subprotocol == "binary.ircv3.net":
            await self.ws.send(line.encode() if isinstance(line, str) else line)
        else:
            await self.ws.send(line)

    async def recv(self, timeout=STEP):
        try:
            m = await asyncio.wait_for(self.ws.recv(), timeout)
        except websockets.ConnectionClosed:
            return None
        except asyncio.TimeoutError:
            self.fail(f"nothing within {timeout:.1f} s")
        binary = self.ws.subprotocol == "binary.ircv3.net"
        if binary != isinstance(m, bytes):
            self.fail(f"a {'binary' if isinstance(m, bytes) else 'text'} message in "
                      f"{self.ws.subprotocol or 'no subprotocol'} mode: {m!r}")
        if isinstance(m, bytes):
            m = m.decode("utf-8", "replace")
        if "\r" in m or "\n" in m:
            self.fail(f"a message with CR or LF inside: {m!r}")
        self.seen(m)
        return m

    async def close(self):
        await self.ws.close()


class TcpClient(Client):
    """A plain IRC client on the chat listener: CR LF lines."""

    @classmethod
    async def open(cls, name, port):
        self = cls(name)
        self.r, self.w = await asyncio.wait_for(asyncio.open_connection(HOST, port), STEP)
        return self

    async def send(self, line):
        self.w.write((line.encode() if isinstance(line, str) else line) + b"\r\n")
        await self.w.drain()

    async def recv(self, timeout=STEP):
        try:
            b = await asyncio.wait_for(self.r.readline(), timeout)
        except asyncio.TimeoutError:
            self.fail(f"nothing within {timeout:.1f} s")
        except ConnectionError:
            return None
        if not b:
            return None
        line = b.rstrip(b"\r\n").decode("utf-8", "replace")
        self.seen(line)
        return line

    async def close(self):
        self.w.close()
        try:
            await self.w.wait_closed()
        except ConnectionError:
            pass


# ---- a raw-socket WebSocket client (blocking), frames written by hand ------

class RawWs:
    def __init__(self, port, subprotocol="text.ircv3.net", origin=None, rcvbuf=0, mss=0,
                 headers=()):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if mss:
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_MAXSEG, mss)
        self.sock.settimeout(STEP)
        self.sock.connect((HOST, port))
        self.buf = b""
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET / HTTP/1.1\r\nHost: {HOST}:{port}\r\nUpgrade: websocket\r\n"
               f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
               f"Sec-WebSocket-Version: 13\r\n")
        if subprotocol:
            req += f"Sec-WebSocket-Protocol: {subprotocol}\r\n"
        if origin:
            req += f"Origin: {origin}\r\n"
        req += "".join(h + "\r\n" for h in headers)
        self.sock.sendall((req + "\r\n").encode())
        while b"\r\n\r\n" not in self.buf:
            self._fill()
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        self.status = head.split(b"\r\n")[0].decode()
        self.headers = {k.strip().lower(): v.strip() for k, _, v in
                        (l.decode().partition(":") for l in head.split(b"\r\n")[1:])}
        if " 101 " not in self.status + " ":
            raise Fail(f"raw client: handshake answered {self.status!r}")

    def _fill(self, timeout=STEP):
        self.sock.settimeout(timeout)
        b = self.sock.recv(65536)
        if not b:
            raise EOFError
        self.buf += b

    def send_frame(self, opcode, payload, masked=True, fin=True):
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | opcode])
        mbit = 0x80 if masked else 0
        if n < 126:
            head += bytes([mbit | n])
        elif n < 65536:
            head += bytes([mbit | 126]) + struct.pack("!H", n)
        else:
            head += bytes([mbit | 127]) + struct.pack("!Q", n)
        if masked:
            mask = os.urandom(4)
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            head += mask
        self.sock.sendall(head + payload)

    def send_line(self, line):
        self.send_frame(0x1, line.encode())

    def recv_frame(self, timeout=STEP):
        """(opcode, payload), or None at EOF. Server frames are unmasked."""
        end = time.monotonic() + timeout
        while True:
            if len(self.buf) >= 2:
                b1 = self.buf[1]
                if b1 & 0x80:
                    raise Fail("raw client: a masked frame from the server")
                n, off = b1 & 0x7F, 2
                if n == 126 and len(self.buf) >= 4:
                    n, off = struct.unpack("!H", self.buf[2:4])[0], 4
                elif n == 127 and len(self.buf) >= 10:
                    n, off = struct.unpack("!Q", self.buf[2:10])[0], 10
                if (b1 & 0x7F) < 126 or off > 2:
                    if len(self.buf) >= off + n:
                        op, payload = self.buf[0] & 0x0F, self.buf[off:off + n]
                        self.buf = self.buf[off + n:]
                        return op, payload
            left = end - time.monotonic()
            if left <= 0:
                raise Fail(f"raw client: no frame within {timeout} s")
            try:
                self._fill(left)
            except (EOFError, ConnectionError):
                return None
            except socket.timeout:
                raise Fail(f"raw client: no frame within {timeout} s")

    def expect_close(self, code):
        """The server's close frame has code; then it closes TCP."""
        while True:
            f = self.recv_frame()
            if f is None:
                raise Fail(f"EOF without a close frame (wanted {code})")
            if f[0] == 0x8:
                got = struct.unpack("!H", f[1][:2])[0] if len(f[1]) >= 2 else None
                if got != code:
                    raise Fail(f"close code {got} ({f[1][2:]!r}), wanted {code}")
                self.answer_close()
                if self.recv_frame() is not None:
                    raise Fail("a frame after the close frame")
                return

    def answer_close(self):
        """Echoes a close frame, as RFC 6455 5.5.1 asks; the server may
        have closed TCP already."""
        try:
            self.send_frame(0x8, struct.pack("!H", 1000))
        except OSError:
            pass

    def close(self):
        self.sock.close()


# ---- mixed: a WS member and a TCP member of one channel --------------------

async def mixed(ws_port, tcp_port, tls):
    kind = "wss" if tls else "ws"
    w = await WsClient.open(kind, ws_port, tls=tls)
    if w.ws.subprotocol != "text.ircv3.net":
        w.fail(f"subprotocol {w.ws.subprotocol!r}, wanted text.ircv3.net")
    t = await TcpClient.open("tcp", tcp_port)
    await w.register("wsu", "wsu")
    await t.register("tcpu", "tcpu")
    W, T = "wsu!wsu@127.0.0.1", "tcpu!tcpu@127.0.0.1"

    await w.join("#mix")
    await t.join("#mix")
    await w.expect_line(f":{T} JOIN :#mix")
    await t.send("NAMES #mix")
    names = await t.expect_cmd("353")
    if set(names.split(":")[-1].split()) != {"@wsu", "tcpu"}:
        t.fail(f"NAMES #mix is {names!r}, wanted @wsu and tcpu")

    # Messages both ways, exact; a WS line sent with its own CR LF.
    await t.send("PRIVMSG #mix :hello from tcp")
    await w.expect_line(f":{T} PRIVMSG #mix :hello from tcp")
    await w.send("PRIVMSG #mix :hello from ws")
    await t.expect_line(f":{W} PRIVMSG #mix :hello from ws")
    await w.send("PRIVMSG #mix :sent with CR LF\r\n")
    await t.expect_line(f":{W} PRIVMSG #mix :sent with CR LF")
    await w.send("PRIVMSG #mix :héllo wörld ✓ 日本")
    await t.expect_line(f":{W} PRIVMSG #mix :héllo wörld ✓ 日本")
    await t.send("PRIVMSG #mix :ünïcode from tcp ✓")
    await w.expect_line(f":{T} PRIVMSG #mix :ünïcode from tcp ✓")
    # Invalid UTF-8 from TCP: a text-mode WS member gets U+FFFD instead; a
    # binary-mode one gets the bytes as they are.
    b = await WsClient.open(kind + "-binary", ws_port, tls=tls, subprotocols=["binary.ircv3.net"])
    await b.register("wsb", "wsb")
    await b.join("#mix")
    await w.expect_line(":wsb!wsb@127.0.0.1 JOIN :#mix")
    await t.expect_line(":wsb!wsb@127.0.0.1 JOIN :#mix")
    await t.send(b"PRIVMSG #mix :bad \xff byte")
    await w.expect_line(f":{T} PRIVMSG #mix :bad \ufffd byte")
    want = f":{T} PRIVMSG #mix :bad ".encode() + b"\xff byte"
    try:
        got = await asyncio.wait_for(b.ws.recv(), STEP)
    except asyncio.TimeoutError:
        b.fail("nothing within 10 s")
    if got != want:
        b.fail(f"got {got!r}, wanted {want!r} (binary mode passes bytes as they are)")
    await b.send("QUIT :binary bye")
    await w.expect_line(":wsb!wsb@127.0.0.1 QUIT :Quit: binary bye")
    await t.expect_line(":wsb!wsb@127.0.0.1 QUIT :Quit: binary bye")
    await b.close()
    # Private messages too.
    await w.send("PRIVMSG tcpu :psst")
    await t.expect_line(f":{W} PRIVMSG tcpu :psst")
    await t.send("PRIVMSG wsu :psst back")
    await w.expect_line(f":{T} PRIVMSG wsu :psst back")

    # NICK both ways: the other member and the client itself see it.
    await w.send("NICK wsu2")
    await w.expect_line(f":{W} NICK :wsu2")
    await t.expect_line(f":{W} NICK :wsu2")
    W = "wsu2!wsu@127.0.0.1"
    await t.send("NICK tcpu2")
    await t.expect_line(f":{T} NICK :tcpu2")
    await w.expect_line(f":{T} NICK :tcpu2")
    T = "tcpu2!tcpu@127.0.0.1"

    # PART and JOIN again, both ways.
    await t.send("PART #mix :bye ws")
    await w.expect_line(f":{T} PART #mix :bye ws")
    await t.join("#mix")
    await w.expect_line(f":{T} JOIN :#mix")
    await w.send("PART #mix :bye tcp")
    await t.expect_line(f":{W} PART #mix :bye tcp")
    await w.join("#mix")
    await t.expect_line(f":{W} JOIN :#mix")

    # The WS member quits: the TCP one sees the QUIT; the WS client gets
    # the ERROR line as a message, then a close frame (not just EOF).
    await w.send("QUIT :gone")
    await t.expect_line(f":{W} QUIT :Quit: gone")
    await w.expect_line("ERROR :Closing Link: wsu2 (Quit: gone)")
    rest = await w.recv()
    if rest is not None:
        w.fail(f"a message after the ERROR line: {rest!r}")
    try:
        await asyncio.wait_for(w.ws.wait_closed(), STEP)
    except asyncio.TimeoutError:
        w.fail("the connection stayed open after ERROR")
    if w.ws.close_code in (None, 1006):
        w.fail(f"no close frame after ERROR (close code {w.ws.close_code})")

    # And the other way: a new WS member sees the TCP one quit.
    w2 = await WsClient.open(kind + "2", ws_port, tls=tls)
    await w2.register("wsv", "wsv")
    await w2.join("#mix")
    await t.expect_line(f":wsv!wsv@127.0.0.1 JOIN :#mix")
    await t.send("QUIT :done")
    await w2.expect_line(f":{T} QUIT :Quit: done")
    await t.expect_line("ERROR :Closing Link: tcpu2 (Quit: done)")
    # A clean close from the client: the server answers the close frame.
    await w2.close()
    if w2.ws.close_code != 1000:
        w2.fail(f"close answered with code {w2.ws.close_code}, wanted 1000")
    await t.close()
    print(f"mixed over {kind}: messages, NICK, PART, JOIN and QUIT seen both ways")


# ---- many: N WS members, every message to every member once, in order ----

async def many(ws_port, n, senders, m):
    t0 = time.monotonic()
    members = [None] * n

    async def member(i):
        c = await WsClient.open(f"m{i}", ws_port, max_queue=None)
        await c.register(f"m{i}", f"m{i}")
        await c.join("#many")
        members[i] = c

    batch = 50
    for lo in range(0, n, batch):
        await asyncio.gather(*(member(i) for i in range(lo, min(n, lo + batch))))
    t_join = time.monotonic()

    # Every member reads on its own; got[i][s] is the next seq expected
    # from sender s (senders are members 0..senders-1).
    got = [[0] * senders for _ in range(n)]
    errors = []
    pat = re.compile(r"^:m(\d+)!\S+ PRIVMSG #many :(\d+) (\d+)$")
    want_total = sum(m * (senders - (1 if i < senders else 0)) for i in range(n))
    done = asyncio.Event()
    count = [0]

    async def reader(i):
        c = members[i]
        while True:
            try:
                line = await c.recv(60)
            except Fail as e:
                errors.append(str(e))
                return
            if line is None:
                errors.append(f"m{i}: closed")
                return
            mm = pat.match(line)
            if not mm:
                continue
            s, seq = int(mm.group(2)), int(mm.group(3))
            if s >= senders or int(mm.group(1)) != s or s == i:
                errors.append(f"m{i}: unexpected {line!r}")
            elif seq != got[i][s]:
                errors.append(f"m{i}: from m{s} got #{seq}, wanted #{got[i][s]} "
                              "(a loss, a duplicate or out of order)")
            else:
                got[i][s] += 1
                count[0] += 1
                if count[0] == want_total:
                    done.set()
            if errors:
                done.set()
                return

    readers = [asyncio.create_task(reader(i)) for i in range(n)]

    async def sender(s):
        for k in range(m):
            await members[s].send(f"PRIVMSG #many :{s} {k}")

    await asyncio.gather(*(sender(s) for s in range(senders)))
    try:
        await asyncio.wait_for(done.wait(), 30)
    except asyncio.TimeoutError:
        pass
    for r in readers:
        r.cancel()
    t_end = time.monotonic()
    short = [(i, sum(got[i]), m * (senders - (1 if i < senders else 0)))
             for i in range(n) if sum(got[i]) != m * (senders - (1 if i < senders else 0))]
    print(f"many: {n} members joined in {t_join - t0:.1f} s; {senders} senders x {m} "
          f"messages: {count[0]} of {want_total} deliveries in {t_end - t_join:.1f} s")
    await asyncio.gather(*(c.close() for c in members), return_exceptions=True)
    if errors:
        raise Fail(f"{len(errors)} errors, first: {errors[0]}")
    if short:
        i, have, want = short[0]
        raise Fail(f"{len(short)} members short of messages; m{i} has {have} of {want}")


# ---- slow: a WS member that stops reading is cut with SendQ exceeded -------

def slow_setup(ws_port):
    """The slow member, by hand: small buffers so that muxd's queue, not
    the kernel, holds what it does not read."""
    s = RawWs(ws_port, rcvbuf=65536, mss=1024)
    for line in ("NICK slow", "USER slow 0 * :slow reader", "JOIN #slow"):
        s.send_line(line)
    while True:
        f = s.recv_frame()
        if f is None:
            raise Fail("slow: closed while joining")
        if f[0] == 0x1 and re.match(rb"^:\S+ 366 ", f[1]):
            return s


async def slow(ws_port, tcp_port):
    s = slow_setup(ws_port)
    wr = await WsClient.open("wsreader", ws_port)
    await wr.register("wsr", "wsr")
    await wr.join("#slow")
    tr = await TcpClient.open("tcpreader", tcp_port)
    await tr.register("tcpr", "tcpr")
    await tr.join("#slow")
    snd = await TcpClient.open("sender", tcp_port)
    await snd.register("flood", "flood")
    await snd.join("#slow")

    pad = "p" * 440
    quit_line = ":slow!slow@127.0.0.1 QUIT :SendQ exceeded"
    state = {"wsr": 0, "tcpr": 0}
    quits = {"wsr": False, "tcpr": False}
    pat = re.compile(r"^:flood!\S+ PRIVMSG #slow :(\d+) p+$")

    async def read(c, key):
        while True:
            line = await c.recv(STEP)
            if line is None:
                c.fail("closed during the flood")
            if line == quit_line:
                quits[key] = True
                continue
            mm = pat.match(line)
            if not mm:
                continue
            if int(mm.group(1)) != state[key]:
                c.fail(f"got #{mm.group(1)}, wanted #{state[key]}")
            state[key] += 1

    readers = [asyncio.create_task(read(wr, "wsr")), asyncio.create_task(read(tr, "tcpr"))]
    window, cap = 200, 40000   # ~20 MB at most; the cut comes far sooner
    sent, limit = 0, cap
    t0 = time.monotonic()
    try:
        while min(state.values()) < limit:
            for r in readers:
                if r.done():
                    r.result()   # raises its Fail
            if time.monotonic() - t0 > 60:
                raise Fail(f"slow: {sent} sent, readers at {state}, QUIT seen {quits}")
            if limit == cap and all(quits.values()):
                limit = min(cap, sent + window)   # then a window more to show they go on
            if sent < limit and sent - min(state.values()) < window:
                upto = min(limit, min(state.values()) + window)
                while sent < upto:
                    snd.w.write(f"PRIVMSG #slow :{sent} {pad}\r\n".encode())
                    sent += 1
                await snd.w.drain()
            else:
                await asyncio.sleep(0.005)
    finally:
        for r in readers:
            r.cancel()
    if not all(quits.values()):
        raise Fail(f"slow: every message sent ({sent}) and no SendQ QUIT: {quits}")
    t_cut = time.monotonic() - t0

    # Read the slow one back: messages in order, then its ERROR line, a
    # close frame and EOF.
    nxt, error_seen = 0, False
    while True:
        f = s.recv_frame(STEP)
        if f is None:
            raise Fail(f"slow: EOF without a close frame (error line seen: {error_seen})")
        op, payload = f
        if op == 0x8:
            s.answer_close()
            break
        if op != 0x1:
            continue
        line = payload.decode("utf-8", "replace")
        if error_seen:
            raise Fail(f"slow: {line!r} after the ERROR line")
        if line == "ERROR :Closing Link: slow (SendQ exceeded)":
            error_seen = True
            continue
        mm = pat.match(line)
        if mm:
            if int(mm.group(1)) != nxt:
                raise Fail(f"slow: got #{mm.group(1)}, wanted #{nxt}")
            nxt += 1
    if not error_seen:
        raise Fail(f"slow: a close frame without the ERROR line before it ({nxt} messages)")
    if s.recv_frame(STEP) is not None:
        raise Fail("slow: data after the close frame")
    s.close()
    print(f"slow: cut after {nxt} of {sent} messages ({t_cut:.1f} s); the readers got "
          f"{state}; its stream ends ERROR, close frame, EOF")
    for c in (wr, tr, snd):
        await c.close()


# ---- kline: an operator's K-line cuts a WS member -------------------------

async def kline(ws_port, tcp_port, password):
    op = await TcpClient.open("oper", tcp_port)
    await op.register("op", "op")
    await op.send(f"OPER boss {password}")
    await op.expect_cmd("381")
    w = await WsClient.open("victim", ws_port)
    await w.register("kv", "kvictim")
    await w.join("#k")
    await op.join("#k")
    await op.send("KLINE kvictim@127.0.0.1 :spamming")
    await op.expect(lambda l: "K-line for kvictim@127.0.0.1 added" in l, "the K-line NOTICE")
    await op.expect_line(":kv!kvictim@127.0.0.1 QUIT :K-lined: spamming")
    await w.expect_line("ERROR :Closing Link: kv (K-lined: spamming)")
    rest = await w.recv()
    if rest is not None:
        w.fail(f"a message after the ERROR line: {rest!r}")
    if w.ws.close_code in (None, 1006):
        w.fail(f"no close frame after ERROR (close code {w.ws.close_code})")
    # The same user again: refused when it registers.
    w2 = await WsClient.open("victim again", ws_port)
    await w2.send("NICK kv2")
    await w2.send("USER kvictim 0 * :again")
    await w2.expect(lambda l: command(l) == "465" and "(spamming)" in l, "465")
    await w2.expect_line("ERROR :Closing Link: kv2 (K-lined: spamming)")
    if await w2.recv() is not None:
        w2.fail("not closed after ERROR")
    if w2.ws.close_code in (None, 1006):
        w2.fail(f"no close frame after ERROR (close code {w2.ws.close_code})")
    await op.close()
    print("kline: the WS member cut (QUIT to the channel, ERROR, close frame), then refused")


# ---- proto: HTTP, Origin, subprotocols, control frames, bad frames ---------

def http_get(port, path, origin=None, method="GET"):
    req = urllib.request.Request(f"http://{HOST}:{port}{path}", method=method)
    if origin:
        req.add_header("Origin", origin)
    try:
        with urllib.request.urlopen(req, timeout=STEP) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read()


async def proto(ws_port, good_origin, pagefile, maxmsg):
    page = open(pagefile, "rb").read()
    for path in ("/", "/index.html"):
        st, ctype, body = http_get(ws_port, path)
        if st != 200 or not ctype.startswith("text/html") or "utf-8" not in ctype.lower():
            raise Fail(f"GET {path}: {st} {ctype!r}, wanted 200 text/html; charset=utf-8")
        if body != page:
            raise Fail(f"GET {path}: {len(body)} bytes, not {pagefile} ({len(page)} bytes)")
    st, _, _ = http_get(ws_port, "/nope")
    if st != 404:
        raise Fail(f"GET /nope: {st}, wanted 404")
    st, ctype, body = http_get(ws_port, "/", method="HEAD")
    if st != 200 or not ctype.startswith("text/html") or body:
        raise Fail(f"HEAD /: {st} {ctype!r} with {len(body)} bytes of body, wanted 200 "
                   "text/html and none")

    # Origin: a listed one and none get in; another gets 403.
    try:
        c = await WsClient.open("evil", ws_port, origin="http://evil.example")
        await c.close()
        raise Fail("a WebSocket from Origin http://evil.example was accepted")
    except websockets.InvalidStatusCode as e:
        if e.status_code != 403:
            raise Fail(f"a bad Origin got HTTP {e.status_code}, wanted 403")
    for origin in (good_origin, None):
        c = await WsClient.open(f"origin {origin}", ws_port, origin=origin)
        await c.register(f"o{'k' if origin else 'n'}")
        await c.close()

    # Subprotocols: the client's order of preference wins.
    for offer, want in ((["binary.ircv3.net", "text.ircv3.net"], "binary.ircv3.net"),
                        (["text.ircv3.net", "binary.ircv3.net"], "text.ircv3.net"),
                        (["binary.ircv3.net"], "binary.ircv3.net"),
                        ([], None)):
        c = await WsClient.open(f"offer {offer}", ws_port, subprotocols=offer)
        if c.ws.subprotocol != want:
            c.fail(f"offered {offer}, got {c.ws.subprotocol!r}, wanted {want!r}")
        # register checks every frame's type against the mode (WsClient.recv).
        await c.register(f"sp{len(offer)}{'b' if want and 'binary' in want else 't'}")
        await c.send("PING :tok")
        await c.expect(lambda l: command(l) == "PONG" and l.endswith(":tok"), "PONG :tok")
        await c.close()
    # An unknown subprotocol alone: no header back, text mode.
    c = await WsClient.open("offer unknown", ws_port, subprotocols=["example.org"])
    if c.ws.subprotocol is not None:
        c.fail(f"offered only example.org, got {c.ws.subprotocol!r}")
    await c.close()
    # The offer over two header lines is one list (RFC 6455 11.3.4).
    r = RawWs(ws_port, subprotocol=None, headers=("Sec-WebSocket-Protocol: example.org",
                                                  "Sec-WebSocket-Protocol: binary.ircv3.net"))
    if r.headers.get("sec-websocket-protocol") != "binary.ircv3.net":
        raise Fail(f"an offer over two header lines got {r.headers}")
    r.close()

    # A message is one line: a line break inside does not make two (the
    # line is refused whole); a trailing CR LF is only stripped.
    r = RawWs(ws_port)
    for line in ("NICK crlf", "USER crlf 0 * :x", "PING :a\r\nPING :b", "PING :c\nPING :d",
                 "PING :e\r\n", "PING :last"):
        r.send_line(line)
    got = []
    while not got or not got[-1].endswith(b"PONG muxd.local :last"):
        f = r.recv_frame()
        if f is None:
            raise Fail(f"closed; got {got}")
        if f[0] == 0x1 and command(f[1].decode("utf-8", "replace")) in ("PONG", "NOTICE"):
            got.append(f[1])
    if [g.split(b" :", 1)[-1] for g in got] != [b"Line rejected: CR inside the line"] * 2 + \
            [b"e", b"last"]:
        raise Fail(f"line breaks inside messages: got {got}")
    r.close()

    # WebSocket ping -> pong with the same payload, on a raw socket.
    r = RawWs(ws_port)
    r.send_frame(0x9, b"are you there")
    op, payload = r.recv_frame()
    if (op, payload) != (0xA, b"are you there"):
        raise Fail(f"ping answered with opcode {op:#x} {payload!r}")
    # A client close is answered with a close frame, then EOF.
    r.send_frame(0x8, struct.pack("!H", 1000) + b"bye")
    r.expect_close(1000)
    r.close()

    cases = (("an unmasked frame", 1002, lambda r: r.send_frame(0x1, b"NICK x", masked=False)),
             ("invalid UTF-8 in a text frame", 1007,
              lambda r: r.send_frame(0x1, b"NICK \xff\xfe")),
             (f"a {maxmsg + 1}-byte message", 1009,
              lambda r: r.send_frame(0x1, b"PRIVMSG #a :" + b"x" * (maxmsg + 1 - 12))),
             (f"a {maxmsg + 1}-byte message in fragments", 1009,
              lambda r: (r.send_frame(0x1, b"PRIVMSG #a :", fin=False),
                         r.send_frame(0x0, b"x" * (maxmsg + 1 - 12)))))
    for what, code, act in cases:
        r = RawWs(ws_port)
        act(r)
        try:
            r.expect_close(code)
        except Fail as e:
            raise Fail(f"{what}: {e}")
        r.close()
    # A fragmented message within the limit is one line.
    r = RawWs(ws_port)
    r.send_frame(0x1, b"PI", fin=False)
    r.send_frame(0x9, b"between fragments")
    r.send_frame(0x0, b"NG :frag", fin=True)
    seen = []
    while True:
        op, payload = r.recv_frame()
        seen.append((op, payload))
        if op == 0x1 and payload.endswith(b":frag"):
            break
    if (0xA, b"between fragments") not in seen:
        raise Fail(f"no pong for a ping between fragments: {seen}")
    r.close()
    print("proto: page, HEAD, 404, Origin, subprotocols (order, two header lines), one line "
          "per message, ping, close, 1002, 1007, 1009, fragments")


# ---- shutdown: a graceful stop closes WS clients with 1001 -----------------

async def shutdown(ws_port, pid):
    a = await WsClient.open("registered", ws_port)
    await a.register("sd", "sd")
    b = RawWs(ws_port)   # not registered yet
    os.kill(pid, 15)
    await a.expect_line("ERROR :Closing Link: sd (Server shutting down)")
    if await a.recv() is not None:
        a.fail("not closed after ERROR")
    if a.ws.close_code != 1001:
        a.fail(f"close code {a.ws.close_code}, wanted 1001 (going away)")
    op, payload = b.recv_frame()
    if (op, payload) != (0x1, b"ERROR :Closing Link: 127.0.0.1 (Server shutting down)"):
        raise Fail(f"unregistered client: got {op:#x} {payload!r}")
    try:
        b.expect_close(1001)
    except Fail as e:
        raise Fail(f"unregistered client: {e}")
    b.close()
    print("shutdown: ERROR (Server shutting down), close 1001, EOF")


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, a = sys.argv[1], sys.argv[2:]
    try:
        if cmd == "mixed":
            asyncio.run(mixed(int(a[0]), int(a[1]), len(a) > 2 and a[2] == "tls"))
        elif cmd == "many":
            asyncio.run(many(int(a[0]), int(a[1]), int(a[2]), int(a[3])))
        elif cmd == "slow":
            asyncio.run(slow(int(a[0]), int(a[1])))
        elif cmd == "kline":
            asyncio.run(kline(int(a[0]), int(a[1]), a[2]))
        elif cmd == "shutdown":
            asyncio.run(shutdown(int(a[0]), int(a[1])))
        elif cmd == "proto":
            asyncio.run(proto(int(a[0]), a[1], a[2], int(a[3])))
        else:
            sys.exit(f"unknown command {cmd}\n{__doc__}")
    except Fail as e:
        sys.exit(f"ws_client.py {cmd}: {e}")
    except (OSError, websockets.WebSocketException, asyncio.TimeoutError) as e:
        sys.exit(f"ws_client.py {cmd}: {type(e).__name__}: {e}")


if __name__ == "__main__":
    main()
