#!/usr/bin/python3
"""tls_client.py - a real TLS client (Python's ssl module) for test_tls.c.

  tls_client.py echo PORT NBYTES      send NBYTES of a pattern, read the echo
                                      back, verify it byte for byte
  tls_client.py cert PORT PEMFILE     the server's certificate is PEMFILE's
  tls_client.py chat PORT NICK        register on a chat listener: 001 comes
  tls_client.py version PORT MAXVER   a client capped at MAXVER (1.2) gets in
  tls_client.py proxyecho PORT SRC    a PROXY v1 header naming SRC, then TLS echo
  tls_client.py hellostorm PORT N     N ClientHellos, each reset at once
Exit 0 on success; why on stderr otherwise.
"""
import socket
import ssl
import struct
import sys
import select
import time


def connect(port, maxver=None):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if maxver == "1.2":
        ctx.maximum_version = ssl.TLSVersion.TLSv1_2
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    return ctx.wrap_socket(raw)


def pattern(n):
    block = bytes((i * 7 + 3) % 251 for i in range(251))
    return (block * (n // len(block) + 1))[:n]


def echo(port, n):
    """One thread, non-blocking: OpenSSL does not take an SSL_read and an
    SSL_write on one connection from two threads at once."""
    s = connect(port)
    s.setblocking(False)
    data = pattern(n)
    sent, got = 0, bytearray()
    deadline = time.monotonic() + 60
    while len(got) < n:
        if time.monotonic() > deadline:
            sys.exit(f"echo: timed out with {sent} sent, {len(got)} of {n} back")
        want_w = sent < n
        r, w, _ = select.select([s], [s] if want_w else [], [], 1.0)
        if w or (want_w and not r):
            try:
                sent += s.send(data[sent:sent + 65536])
            except (ssl.SSLWantWriteError, ssl.SSLWantReadError, BlockingIOError):
                pass
        while True:
            try:
                b = s.recv(65536)
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError):
                break
            if not b:
                sys.exit(f"echo: closed after {len(got)} of {n} bytes")
            got += b
            if not s.pending():
                break
    if bytes(got) != data:
        bad = next(i for i in range(n) if got[i] != data[i])
        sys.exit(f"echo: {n} bytes back, first difference at {bad}")
    print(f"echo ok: {n} bytes over {s.version()} {s.cipher()[0]}")


def proxyecho(port, src):
    """A PROXY v1 header in the clear, then TLS on the same socket."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=30)
    raw.sendall(f"PROXY TCP4 {src} 127.0.0.1 5555 {port}\r\n".encode())
    s = ctx.wrap_socket(raw)
    s.sendall(b"through a proxy\n")
    got = b""
    while len(got) < 16:
        b = s.recv(100)
        if not b:
            break
        got += b
    if got != b"through a proxy\n":
        sys.exit(f"proxyecho: got {got!r}")
    print("proxyecho ok:", s.version())


def hellostorm(port, n):
    """n clients that send a ClientHello and reset at once: the server
    drops each mid-handshake (perhaps while the pool works on it)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = out.read()
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(hello)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        s.close()
    print("hellostorm ok:", n)


def flood(port):
    """A ClientHello, then 1 MB more before any handshake could finish:
    the server must cut it, not hold it."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    try:
        s.sendall(out.read() + b"\x17\x03\x03" * 349525)
        while s.recv(65536):
            pass
    except OSError:
        pass
    print("flood ok: cut")


def cert(port, pem):
    s = connect(port)
    want = ssl.PEM_cert_to_DER_cert(open(pem).read())
    if s.getpeercert(binary_form=True) != want:
        sys.exit("the server's certificate is not " + pem)
    print("cert ok")


def chat(port, nick):
    s = connect(port)
    s.sendall(f"NICK {nick}\r\nUSER {nick} 0 * :{nick}\r\n".encode())
    buf = b""
    while b" 001 " not in buf:
        b = s.recv(4096)
        if not b:
            sys.exit("chat: closed before 001: " + buf.decode(errors="replace"))
        buf += b
    s.sendall(b"QUIT :bye\r\n")
    print("chat ok:", buf.split(b"\r\n")[0].decode())


def version(port, maxver):
    s = connect(port, maxver)
    s.sendall(b"v\n")
    if s.recv(10) != b"v\n":
        sys.exit("no echo")
    print("version ok:", s.version())


if __name__ == "__main__":
    cmd, port = sys.argv[1], int(sys.argv[2])
    {"echo": lambda: echo(port, int(sys.argv[3])),
     "cert": lambda: cert(port, sys.argv[3]),
     "chat": lambda: chat(port, sys.argv[3]),
     "version": lambda: version(port, sys.argv[3]),
     "proxyecho": lambda: proxyecho(port, sys.argv[3]),
     "hellostorm": lambda: hellostorm(port, int(sys.argv[3])),
     "flood": lambda: flood(port)}[cmd]()
