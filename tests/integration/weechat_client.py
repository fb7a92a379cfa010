#!/usr/bin/python3
"""weechat_client.py - WeeChat (weechat-headless) as a real IRC client over
TLS, for test_tls_weechat.c, beside a Python ssl client in one channel.

  weechat_client.py PORT CAFILE DIR [1.2]

PORT is a TLS chat listener on 127.0.0.1 whose certificate is CAFILE
(self-signed, with IP:127.0.0.1 in its subjectAltName, so WeeChat verifies
it for real); DIR is an empty directory for WeeChat's home, which the
caller removes. With 1.2, WeeChat's GnuTLS offers TLS 1.2 only (else
its defaults: TLS 1.3). Steps, each bounded by STEP seconds:

  1. "gone" registers and quits (a nick for WHOWAS). "pyc" (Python's ssl
     module) registers, takes message-tags, joins #t, voices itself (so
     it is @+: multi-prefix shows both) and makes the topic free (-t).
  2. WeeChat starts with that home, no autoconnect, no scripts, configured
     only by -r commands: a server with TLS and verification on, the
     capabilities in CAPS, no anti-flood delay, logger flushing at once,
     and a connect command (CONNECT_CMDS) that asks /who #t, joins #t,
     says lines there, whispers to pyc, sets the topic and runs the usual
     queries: /whois, /names, /notify add, /whowas, /away and back,
     /version, /time, /lusers, /links, /list, /userhost, /ison, /admin,
     /info.
  3. pyc sees WeeChat's JOIN, channel PRIVMSG, private PRIVMSG, a CTCP
     ACTION, a long UTF-8 line split by WeeChat, whole, and its TOPIC.
  4. pyc answers in #t (once with a client tag, and a TAGMSG), with an
     ACTION and in private: the lines must appear in WeeChat's logger
     files (logs/irc.muxd.#t.weechatlog and, for the query buffer,
     logs/irc.muxd.pyc.weechatlog); a CTCP VERSION to WeeChat gets its
     NOTICE back.
  5. WeeChat's logs show what the capabilities did (check_caps) and each
     query's reply (check_queries).
  6. pyc goes away (away-notify) and says one more line. On the TLS 1.3
     run, WeeChat is stopped (SIGSTOP) meanwhile until the wall clock is
     in a later second than muxd's @time for that line: the logged time
     must be the stamp's second, not the second WeeChat read it.
  7. No log of WeeChat has an error line (=!=: a TLS warning, a refused
     command, a message it could not parse) or a 421 ("Unknown command").
  8. SIGTERM to WeeChat's pid: it quits (/quit -yes), pyc sees its QUIT.

WeeChat 3.8 (Debian 12) does not implement echo-message (its /help cap
lists what it does): it asks for it because CAPS names it, then shows
both its own copy of a line (in the server buffer as "MSG(#t): ..." when
it is not in #t yet) and the server's echo (in #t). What it does with
the others: server-time gives a line's time, extended-join the real name
in a JOIN line, multi-prefix "@+" in WHO flags and WHOIS channels,
userhost-in-names nick!user@host entries in NAMES that WeeChat reads as
nicks, message-tags tags and TAGMSG it parses, away-notify AWAY lines.

Exit 0 on success; why on stderr otherwise, with WeeChat's logs.
"""
import calendar
import ctypes
import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time

STEP = 5.0             # seconds for any one expected event (sanitizer builds)
WEECHAT = "/usr/bin/weechat-headless"
CHAN = "#t"
TOPIC = "set by weechat"
# Over 512 bytes, not ASCII: WeeChat splits it into lines that must reach
# pyc whole, within 512 bytes each as muxd relays them, split between
# characters, never inside one.
LONG = " ".join(f"wörd{i:03d}" for i in range(150))
# What WeeChat asks for: all it implements that muxd offers, and
# echo-message, which 3.8 does not implement (see above).
CAPS = ("away-notify cap-notify echo-message extended-join invite-notify message-tags "
        "multi-prefix server-time setname userhost-in-names")
# Run at 001, in order, in one burst (muxd answers each in turn). /who
# comes before /join: WeeChat sends its own WHO #t %cuhsnfdar on joining
# (away-notify) and hides the first WHO replies for #t that arrive after
# it, whoever asked; before the JOIN, the replies are /who's alone.
CONNECT_CMDS = [
    f"/who {CHAN}", f"/join {CHAN}", f"/msg {CHAN} hello from weechat",
    "/msg pyc private hello from weechat", f"/ctcp {CHAN} action waves",
    f"/msg {CHAN} {LONG}", "/whois pyc", f"/names {CHAN}", f"/topic {CHAN} {TOPIC}",
    "/notify add pyc", "/whowas gone", "/away gone fishing", "/away", "/version", "/time",
    "/lusers", "/links", "/list", "/userhost pyc", "/ison pyc", "/admin", "/info"]


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
        self.expect(lambda l: words(l)[1] == "001", "001")

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

    def quit(self):
        self.send("QUIT :bye")
        self.expect(lambda l: words(l)[1] == "ERROR", "ERROR after QUIT")
        self.s.close()


def words(line):
    """(prefix nick, command, params) of a raw IRC line (no tags: pyc
    asks for none that muxd puts on the lines it reads)."""
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
    opts = f"-{tls} -{tls}_verify -capabilities={CAPS.replace(' ', ',')}"
    if tls12:
        opts += f" -{tls}_priorities=NORMAL:-VERS-ALL:+VERS-TLS1.2"
    if major >= 4:
        return opts + " -anti_flood=0"
    return opts + " -anti_flood_prio_high=0 -anti_flood_prio_low=0"


def die_with_parent():
    """WeeChat gets SIGTERM if this script dies first: no orphan."""
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_weechat(port, cafile, home, tls12):
    cmds = [
        "/set logger.file.flush_delay 0",
        f"/set weechat.network.gnutls_ca_user {cafile}",
        f"/server add muxd 127.0.0.1/{port} {weechat_options(tls12)} -nicks=wee "
        "-username=wee -realname=WeeChat -autoreconnect=off",
        '/set irc.server.muxd.command "{}"'.format("\\;".join(CONNECT_CMDS)),
        "/connect muxd",
    ]
    argv = [WEECHAT, "--stdout", "-a", "-s", "-d", home]
    for c in cmds:
        argv += ["-r", c]
    # Logged times in UTC, as muxd's @time.
    env = dict(os.environ, TZ="UTC")
    with open(os.path.join(home, "stdout.txt"), "wb") as out:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=out, env=env,
                                stderr=subprocess.STDOUT, preexec_fn=die_with_parent)


def read(path):
    try:
        with open(path, errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return ""


def log_lines(path):
    """A logger file's lines as [date, prefix, text] lists."""
    return [line.split("\t", 2) for line in read(path).splitlines()]


def wait_log(path, pred, what, count=1):
    """The first line of path that pred accepts, once count lines are
    accepted, within STEP."""
    deadline = time.monotonic() + STEP
    while time.monotonic() < deadline:
        found = [f for f in log_lines(path) if pred(f)]
        if len(found) >= count:
            return found[0]
        time.sleep(0.02)
    raise Failure(f"weechat: no {what} in {os.path.basename(path)} within {STEP:.0f} s")


def said(nick, text):
    """A logger line "date<TAB>[@+]nick<TAB>text"."""
    return lambda f: len(f) >= 3 and f[1].lstrip("@+") == nick and f[2] == text


def shown(*texts):
    """A logger line "date<TAB>prefix<TAB>text" with one of texts."""
    return lambda f: len(f) >= 3 and f[2] in texts


def matches(pattern):
    """A logger line whose text is all of the regular expression."""
    rx = re.compile(pattern)
    return lambda f: len(f) >= 3 and rx.fullmatch(f[2]) is not None


# What WeeChat 3.8 writes when it refuses or cannot read something: its
# error prefix "=!=" (a command it does not know, "failed to parse", too
# few parameters, TLS warnings), the text of a 421, an unknown CTCP.
COMPLAINTS = re.compile(r"Unknown command|Unknown CTCP|failed to parse|not found:|"
                        r"Too few arguments|please report")


def check_logs(logs):
    bad = []
    for name in sorted(os.listdir(logs)):
        for f in log_lines(os.path.join(logs, name)):
            if (len(f) >= 2 and f[1] == "=!=") or COMPLAINTS.search("\t".join(f)):
                bad.append(f"{name}: " + "\t".join(f))
    if bad:
        raise Failure("weechat logged complaints:\n  " + "\n  ".join(bad))


def check_caps(logs):
    """What the capabilities did, as WeeChat shows it."""
    server_log = os.path.join(logs, "irc.server.muxd.weechatlog")
    chan_log = os.path.join(logs, f"irc.muxd.{CHAN}.weechatlog")
    acked = "irc: client capability, enabled: "
    f = wait_log(server_log, lambda f: len(f) >= 3 and f[2].startswith(acked), "CAP ACK")
    enabled = f[2][len(acked):].split()
    if sorted(enabled) != sorted(CAPS.split()):
        raise Failure(f"weechat: capabilities enabled {enabled}, asked for {CAPS}")
    # extended-join: the real name is in WeeChat's own JOIN line.
    wait_log(chan_log, shown(f"wee (WeeChat) (wee@127.0.0.1) has joined {CHAN}"),
             "JOIN with the real name (extended-join)")
    # echo-message: WeeChat showed its copy in the server buffer (#t was
    # not open yet); the one line in #t is muxd's echo, sent once.
    wait_log(server_log, shown(f"MSG({CHAN}): hello from weechat"), "WeeChat's own copy")
    wait_log(chan_log, said("wee", "hello from weechat"), "the echo of wee's line")
    echoes = [f for f in log_lines(chan_log) if said("wee", "hello from weechat")(f)]
    if len(echoes) != 1:
        raise Failure(f"weechat: {len(echoes)} echoes of its line in {CHAN}, not 1")
    wait_log(os.path.join(logs, "irc.muxd.pyc.weechatlog"),
             said("wee", "private hello from weechat"), "the echo of wee's private line")
    # multi-prefix: pyc, op and voiced, as @+ in WHO flags and WHOIS.
    wait_log(server_log, shown(f"[{CHAN}] pyc (pyc@127.0.0.1) H@+ 0 (Python pyc)"),
             "WHO 352 for pyc with H@+")
    wait_log(server_log, shown(f"[pyc] @+{CHAN}"), "WHOIS 319 for pyc with @+")
    # userhost-in-names: nick!user@host entries, read as nicks.
    wait_log(chan_log, shown(f"Nicks {CHAN}: [@pyc wee]"), "NAMES as nicks")
    # message-tags: a tagged PRIVMSG is shown (the TAGMSG beside it
    # shows nothing; check_logs finds no complaint about it).
    wait_log(chan_log, said("pyc", "tagged hello"), "tagged line from pyc")


def check_queries(logs):
    """Each query of CONNECT_CMDS has its reply in the server buffer."""
    server_log = os.path.join(logs, "irc.server.muxd.weechatlog")
    chan_log = os.path.join(logs, f"irc.muxd.{CHAN}.weechatlog")
    for pred, what, *count in [
        (shown(f"[{CHAN}] End of WHO list"), "WHO 315"),
        (shown("[pyc] (pyc@127.0.0.1): Python pyc"), "WHOIS 311 for pyc"),
        (shown("[pyc] End of WHOIS list"), "WHOIS 318 for pyc"),
        (shown("notify: pyc is connected"), "notify (ISON 303) for pyc"),
        (shown("[gone] (gone@127.0.0.1) was Python gone"), "WHOWAS 314 for gone"),
        (shown("[gone] End of WHOWAS"), "WHOWAS 369"),
        (shown("You have been marked as being away"), "AWAY 306"),
        (shown("You are no longer marked as being away"), "AWAY 305"),
        (matches(r"muxd-\S+ muxd\.local \(muxd chat\)"), "VERSION 351"),
        (matches(r"muxd\.local \d+ \w+ \w+ \d\d \d{4} -- \d\d:\d\d:\d\d \+00:00"), "TIME 391"),
        # The welcome burst has one, /lusers the other.
        (matches(r"2 \d+ Current global users 2, max \d+"), "LUSERS 266 (twice)", 2),
        (shown("muxd.local muxd.local 0 muxd"), "LINKS 364"),
        (shown("* End of /LINKS list"), "LINKS 365"),
        (shown(f"{CHAN}(2): {TOPIC}"), "LIST 322"),
        (shown("End of LIST"), "LIST 323"),
        (shown("pyc=+pyc@127.0.0.1"), "USERHOST 302"),
        (shown("Users online: pyc"), "ISON 303"),
        (shown("muxd.local Administrative info"), "ADMIN 256"),
        (shown("End of INFO list"), "INFO 374"),
    ]:
        wait_log(server_log, pred, what, *count)
    wait_log(chan_log, shown(f'wee has changed topic for {CHAN} to "{TOPIC}"'), "TOPIC")


def stamped_line(pyc, wee, chan_log, pause):
    """pyc's last line. With pause, WeeChat is stopped until the wall clock
    is in a later second than muxd's stamp (taken between pyc's send and
    its PONG): WeeChat must log the stamp's second, not its own."""
    if pause:
        wee.send_signal(signal.SIGSTOP)
    try:
        lo = int(time.time())
        pyc.send(f"PRIVMSG {CHAN} :stamped")
        pyc.send("PING :stamp")
        pyc.expect(lambda l: words(l)[1] == "PONG", "PONG")
        hi = int(time.time())
        if pause:
            time.sleep(max(0.0, hi + 1.05 - time.time()))
    finally:
        if pause:
            wee.send_signal(signal.SIGCONT)
    f = wait_log(chan_log, said("pyc", "stamped"), "stamped line from pyc")
    if not pause:
        return
    logged = calendar.timegm(time.strptime(f[0], "%Y-%m-%d %H:%M:%S"))
    if not lo <= logged <= hi:
        raise Failure(f"weechat logged pyc's stamped line at {f[0]}, muxd stamped it in "
                      f"[{lo}, {hi}] (unix seconds): not the server-time")


def stop(proc, timeout):
    """SIGTERM by pid (WeeChat runs /quit -yes on it), SIGKILL if it lingers.
    True when it quit on SIGTERM."""
    if proc.poll() is not None:
        return False
    proc.send_signal(signal.SIGCONT)
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
                sys.stderr.write(f"--- {path} (last 60 lines)\n")
                sys.stderr.write("\n".join(lines[-60:]) + "\n")


def run(port, cafile, home, tls12):
    t0 = time.monotonic()
    Client(port, cafile, "gone").quit()
    pyc = Client(port, cafile, "pyc")
    pyc.send("CAP REQ :message-tags")
    pyc.expect(lambda l: words(l)[1] == "CAP", "CAP ACK")
    pyc.send(f"JOIN {CHAN}")
    pyc.expect(lambda l: words(l)[1] == "366", "366 after JOIN")
    pyc.send(f"MODE {CHAN} +v-t pyc")
    pyc.expect(msg_from("pyc", "MODE", CHAN), "MODE +v-t")

    wee = start_weechat(port, cafile, home, tls12)
    try:
        logs = os.path.join(home, "logs")
        chan_log = os.path.join(logs, f"irc.muxd.{CHAN}.weechatlog")
        pyc.expect(msg_from("wee", "JOIN", CHAN), "JOIN from weechat")
        pyc.expect(msg_from("wee", "PRIVMSG", CHAN, "hello from weechat"),
                   "channel PRIVMSG from weechat")
        pyc.expect(msg_from("wee", "PRIVMSG", "pyc", "private hello from weechat"),
                   "private PRIVMSG from weechat")
        pyc.expect(msg_from("wee", "PRIVMSG", CHAN, "\x01ACTION waves\x01"),
                   "CTCP ACTION from weechat")
        expect_long(pyc)
        pyc.expect(msg_from("wee", "TOPIC", CHAN, TOPIC), "TOPIC from weechat")
        pyc.send(f"PRIVMSG {CHAN} :hello from python")
        pyc.send(f"@+muxd.test/x=1 PRIVMSG {CHAN} :tagged hello")
        pyc.send(f"@+typing=active TAGMSG {CHAN}")
        pyc.send("PRIVMSG wee :private hello from python")
        pyc.send(f"PRIVMSG {CHAN} :\x01ACTION waves back\x01")
        pyc.send("PRIVMSG wee :\x01VERSION\x01")
        pyc.expect(lambda l: msg_from("wee", "NOTICE", "pyc")(l)
                   and words(l)[2][1].startswith("\x01VERSION WeeChat"), "CTCP VERSION reply")
        wait_log(chan_log, said("pyc", "hello from python"), "channel line from pyc")
        wait_log(chan_log,
                 lambda f: len(f) >= 3 and f[1].strip() == "*" and f[2] == "pyc waves back",
                 "ACTION from pyc")
        wait_log(os.path.join(logs, "irc.muxd.pyc.weechatlog"),
                 said("pyc", "private hello from python"), "private line from pyc")
        wait_log(os.path.join(logs, "irc.server.muxd.weechatlog"),
                 shown("gnutls: peer's certificate is trusted"), "verified certificate")
        check_caps(logs)
        check_queries(logs)
        pyc.send("AWAY :brb")
        stamped_line(pyc, wee, chan_log, not tls12)
        check_logs(logs)
        if not stop(wee, STEP):
            raise Failure("weechat did not quit on SIGTERM")
        pyc.expect(msg_from("wee", "QUIT"), "QUIT from weechat")
        check_logs(logs)
    finally:
        stop(wee, 1)
    pyc.quit()
    print(f"weechat ok: capabilities, lines both ways, queries, quit "
          f"({time.monotonic() - t0:.2f} s)")


if __name__ == "__main__":
    port, cafile, home = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    try:
        run(port, cafile, home, sys.argv[4:] == ["1.2"])
    except (Failure, OSError, ssl.SSLError, subprocess.SubprocessError) as e:
        sys.stderr.write(f"weechat_client.py: {e}\n")
        dump(home)
        sys.exit(1)
