#!/usr/bin/python3
"""weechat_client.py - WeeChat (weechat-headless) as a real IRC client over
TLS, for test_tls_weechat.c, beside a Python ssl client in one channel.

  weechat_client.py PORT CAFILE DIR [1.2]

PORT is a TLS chat listener on 127.0.0.1 whose certificate is CAFILE
(self-signed, with IP:127.0.0.1 in its subjectAltName, so WeeChat verifies
it for real); DIR is an empty directory for WeeChat's home, which the
caller removes. With 1.2, WeeChat's GnuTLS offers TLS 1.2 only (else
its defaults: TLS 1.3). Steps, each bounded by STEP seconds:

  1. "pyc" (Python's ssl module) registers and joins #t.
  2. WeeChat starts with that home, no autoconnect, no scripts, configured
     only by -r commands: a server with TLS and verification on, no
     anti-flood delay, logger flushing at once, and a connect command that
     joins #t, says lines there, whispers to pyc and asks /whois pyc.
  3. pyc sees WeeChat's JOIN, channel PRIVMSG, private PRIVMSG, a CTCP
     ACTION and a long UTF-8 line split by WeeChat, whole.
  4. pyc answers in #t, with an ACTION and in private: the lines must
     appear in WeeChat's logger files (logs/irc.muxd.#t.weechatlog and, for
     the query buffer, logs/irc.muxd.pyc.weechatlog); a CTCP VERSION to
     WeeChat gets its NOTICE back.
  5. The /whois reply is in the server buffer's log; no log of WeeChat
     has an error line (=!=: a TLS warning, a refused command) or a 421
     ("Unknown command").
  6. SIGTERM to WeeChat's pid: it quits (/quit -yes), pyc sees its QUIT.

Exit 0 on success; why on stderr otherwise, with WeeChat's logs.
"""
import ctypes
import os
import signal
import socket
import ssl
import subprocess
import sys
import time

STEP = 5.0             # seconds for any one expected event (sanitizer builds)
WEECHAT = "/usr/bin/weechat-headless"
CHAN = "#t"
# Over 512 bytes, not ASCII: WeeChat splits it into lines that must reach
# pyc whole, within 512 bytes each as muxd relays them, split between
# characters, never inside one.
LONG = " ".join(f"wörd{i:03d}" for i in range(150))


class Failure(Exception):
    pass


class Client:
    """A line-oriented IRC client over Python's ssl module."""

    def __init__(self, port, cafile, nick):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        ctx.check_hostname = False
        ctx.load_verify_locations(cafile)
        raw = socket.create_connection(("127.0.0.1", port), timeout=STEP)
        self.s = ctx.wrap_socket(raw)
        self.s.settimeout(0.2)
        self.buf = b""
        self.seen = []
        self.send(f"NICK {nick}\r\nUSER {nick} 0 * :Python {nick}")

    def send(self, line):
        self.s.sendall(line.encode() + b"\r\n")

    def expect(self, pred, what):
        """The first line (seen before or arriving within STEP) that pred
        accepts; answers PINGs meanwhile."""
        for line in self.seen:
            if pred(line):
                self.seen.remove(line)
                return line
        deadline = time.monotonic() + STEP
        while time.monotonic() < deadline:
            while b"\r\n" in self.buf:
                raw, self.buf = self.buf.split(b"\r\n", 1)
                line = raw.decode(errors="replace")
                if line.startswith("PING "):
                    self.send("PONG " + line[5:])
                    continue
                if pred(line):
                    return line
                self.seen.append(line)
            try:
                b = self.s.recv(4096)
            except (socket.timeout, ssl.SSLWantReadError):
                continue
            if not b:
                raise Failure(f"pyc: closed while waiting for {what}")
            self.buf += b
        raise Failure(f"pyc: no {what} within {STEP:.0f} s; lines seen: {self.seen}")


def words(line):
    """(prefix nick, command, params) of a raw IRC line."""
    prefix = ""
    if line.startswith(":"):
        prefix, line = line[1:].split(" ", 1)
    trailing = None
    if " :" in line:
        line, trailing = line.split(" :", 1)
    parts = line.split()
    if trailing is not None:
        parts.append(trailing)
    return prefix.split("!", 1)[0], parts[0].upper(), parts[1:]


def msg_from(nick, cmd, *params):
    def pred(line):
        p, c, rest = words(line)
        return p == nick and c == cmd and tuple(rest[:len(params)]) == params
    return pred


def expect_long(pyc):
    """LONG from wee in #t, in several PRIVMSGs: their texts, spaces aside
    (WeeChat splits at one), make LONG again."""
    want, got, parts = LONG.replace(" ", ""), "", 0
    while len(got) < len(want):
        line = pyc.expect(msg_from("wee", "PRIVMSG", CHAN), f"part {parts + 1} of the long line")
        if len(line.encode()) + 2 > 512:
            raise Failure(f"a relayed line of {len(line.encode()) + 2} bytes: {line!r}")
        got += words(line)[2][1].replace(" ", "")
        parts += 1
    if got != want or parts < 2:
        raise Failure(f"long line: {parts} parts, {got!r} instead of {want!r}")


def weechat_options(tls12):
    """Server options; WeeChat 4.0 renamed ssl* to tls* and made
    anti_flood one value in milliseconds."""
    out = subprocess.run([WEECHAT, "--version"], capture_output=True,
                         text=True, timeout=STEP).stdout.strip()
    major = int(out.split(".")[0]) if out[:1].isdigit() else 3
    tls = "tls" if major >= 4 else "ssl"
    opts = f"-{tls} -{tls}_verify"
    if tls12:
        opts += f" -{tls}_priorities=NORMAL:-VERS-ALL:+VERS-TLS1.2"
    if major >= 4:
        return opts + " -anti_flood=0"
    return opts + " -anti_flood_prio_high=0 -anti_flood_prio_low=0"


def die_with_parent():
    """WeeChat gets SIGTERM if this script dies first: no orphan."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_weechat(port, cafile, home, tls12):
    connect_cmds = "\\;".join([
        f"/join {CHAN}", f"/msg {CHAN} hello from weechat",
        "/msg pyc private hello from weechat", f"/ctcp {CHAN} action waves",
        f"/msg {CHAN} {LONG}", "/whois pyc"])
    cmds = [
        "/set logger.file.flush_delay 0",
        f"/set weechat.network.gnutls_ca_user {cafile}",
        f"/server add muxd 127.0.0.1/{port} {weechat_options(tls12)} -nicks=wee "
        "-username=wee -realname=WeeChat -autoreconnect=off",
        f'/set irc.server.muxd.command "{connect_cmds}"',
        "/connect muxd",
    ]
    argv = [WEECHAT, "--stdout", "-a", "-s", "-d", home]
    for c in cmds:
        argv += ["-r", c]
    with open(os.path.join(home, "stdout.txt"), "wb") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def wait_log(path, pred, what):
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        for line in read(path).splitlines():
            if pred(line.split("\t")):
                return
        time.sleep(0.02)
    raise Failure(f"weechat: no {what} in {os.path.basename(path)} within {STEP:.0f} s")


def said(nick, text):
    """A logger line "date<TAB>[@+]nick<TAB>text"."""
    return lambda f: len(f) >= 3 and f[1].lstrip("@+") == nick and f[2] == text


def shown(*texts):
    """A logger line "date<TAB>prefix<TAB>text" with one of texts."""
    return lambda f: len(f) >= 3 and f[2] in texts


def check_logs(logs):
    bad = []
    for name in sorted(os.listdir(logs)):
        for line in read(os.path.join(logs, name)).splitlines():
            f = line.split("\t")
            if (len(f) >= 2 and f[1] == "=!=") or "Unknown command" in line:
                bad.append(f"{name}: {line}")
    if bad:
        raise Failure("weechat logged complaints:\n  " + "\n  ".join(bad))


def stop(proc, timeout):
    """SIGTERM by pid (WeeChat runs /quit -yes on it), SIGKILL if it lingers.
    True when it quit on SIGTERM."""
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
        return True
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        return False


def dump(home):
    for root, _, files in os.walk(home):
        for name in sorted(files):
            if name.endswith(".weechatlog") or name == "stdout.txt":
                path = os.path.join(root, name)
                text = read(path)
                lines = [l for l in text.splitlines() if "New key binding" not in l]
                sys.stderr.write(f"--- {path} (last 40 lines)\n")
                sys.stderr.write("\n".join(lines[-40:]) + "\n")


def run(port, cafile, home, tls12):
    t0 = time.monotonic()
    pyc = Client(port, cafile, "pyc")
    pyc.expect(lambda l: words(l)[1] == "001", "001")
    pyc.send(f"JOIN {CHAN}")
    pyc.expect(lambda l: words(l)[1] == "366", "366 after JOIN")

    wee = start_weechat(port, cafile, home, tls12)
    try:
        logs = os.path.join(home, "logs")
        pyc.expect(msg_from("wee", "JOIN", CHAN), "JOIN from weechat")
        pyc.expect(msg_from("wee", "PRIVMSG", CHAN, "hello from weechat"),
                   "channel PRIVMSG from weechat")
        pyc.expect(msg_from("wee", "PRIVMSG", "pyc", "private hello from weechat"),
                   "private PRIVMSG from weechat")
        pyc.expect(msg_from("wee", "PRIVMSG", CHAN, "\x01ACTION waves\x01"),
                   "CTCP ACTION from weechat")
        expect_long(pyc)
        pyc.send(f"PRIVMSG {CHAN} :hello from python")
        pyc.send("PRIVMSG wee :private hello from python")
        pyc.send(f"PRIVMSG {CHAN} :\x01ACTION waves back\x01")
        pyc.send("PRIVMSG wee :\x01VERSION\x01")
        pyc.expect(lambda l: msg_from("wee", "NOTICE", "pyc")(l)
                   and words(l)[2][1].startswith("\x01VERSION WeeChat"), "CTCP VERSION reply")
        wait_log(os.path.join(logs, "irc.muxd.#t.weechatlog"),
                 said("pyc", "hello from python"), "channel line from pyc")
        wait_log(os.path.join(logs, "irc.muxd.#t.weechatlog"),
                 lambda f: len(f) >= 3 and f[1].strip() == "*" and f[2] == "pyc waves back",
                 "ACTION from pyc")
        wait_log(os.path.join(logs, "irc.muxd.pyc.weechatlog"),
                 said("pyc", "private hello from python"), "private line from pyc")
        server_log = os.path.join(logs, "irc.server.muxd.weechatlog")
        wait_log(server_log, shown("gnutls: peer's certificate is trusted"),
                 "verified certificate")
        wait_log(server_log, shown("[pyc] (pyc@127.0.0.1): Python pyc"), "WHOIS 311 for pyc")
        wait_log(server_log, shown(f"[pyc] {CHAN}", f"[pyc] @{CHAN}"), "WHOIS 319 for pyc")
        wait_log(server_log, shown("[pyc] End of WHOIS list"), "WHOIS 318 for pyc")
        check_logs(logs)
        if not stop(wee, STEP):
            raise Failure("weechat did not quit on SIGTERM")
        pyc.expect(msg_from("wee", "QUIT"), "QUIT from weechat")
        check_logs(logs)
    finally:
        stop(wee, 1)
    pyc.send("QUIT :bye")
    pyc.expect(lambda l: words(l)[1] == "ERROR", "ERROR after QUIT")
    pyc.s.close()
    print(f"weechat ok: channel and private lines both ways, /whois, quit "
          f"({time.monotonic() - t0:.2f} s)")


if __name__ == "__main__":
    port, cafile, home = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    try:
        run(port, cafile, home, sys.argv[4:] == ["1.2"])
    except (Failure, OSError, ssl.SSLError, subprocess.SubprocessError) as e:
        sys.stderr.write(f"weechat_client.py: {e}\n")
        dump(home)
        sys.exit(1)
