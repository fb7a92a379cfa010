#!/usr/bin/python3
"""real_client.py - a real IRC client library (Debian's python3-irc)
against muxd's chat service: two irc.client connections register, join a
channel, exchange channel and private messages both ways and see each
other's JOIN, NICK, PART and QUIT.

The script starts muxd itself ($MUXD_BIN, with -b $MUXD_TEST_BACKEND when
set) on an ephemeral loopback port read from its log, and stops it with
SIGTERM by pid. Exit 0 = pass, 1 = fail, 77 = skip (no python3-irc, or a
backend this machine cannot run). Every wait is bounded.

Run it with /usr/bin/python3: the irc module is Debian's.
"""
import os
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time

SKIP = 77
STEP_TIMEOUT = 10.0    # seconds for any one expected event
TOTAL_TIMEOUT = 90     # the whole script, sanitizer builds included

try:
    import irc.client
except ImportError as e:
    print("SKIP: python3-irc is not installed (%s); scripts/setup.sh installs it" % e)
    sys.exit(SKIP)

CONFIG = """\
[server]
workers = 2
[listener chat]
listen = 127.0.0.1:0
protocol = chat
server_name = test.muxd
[log]
level = info
"""

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "WARNING: ThreadSanitizer", "runtime error:")


class Failure(Exception):
    pass


class Daemon:
    """muxd on a temporary config; its log collected by a thread."""

    def __init__(self):
        binary = os.environ.get("MUXD_BIN")
        if not binary or not os.access(binary, os.X_OK):
            raise Failure("MUXD_BIN is not set to an executable muxd (%r)" % binary)
        fd, self.conf = tempfile.mkstemp(prefix="muxd-chat-", suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write(CONFIG)
        argv = [binary, "-c", self.conf]
        self.backend = os.environ.get("MUXD_TEST_BACKEND", "")
        if self.backend:
            argv += ["-b", self.backend]
        self.lines = []
        self.lock = threading.Lock()
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT)
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self):
        for raw in self.proc.stdout:
            with self.lock:
                self.lines.append(raw.decode("utf-8", "replace").rstrip("\n"))

    def log(self):
        with self.lock:
            return "\n".join(self.lines)

    def wait_started(self, timeout=10.0):
        """The chat listener's port, once muxd logged 'started:'."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if " started: " in text:
                m = re.search(r"listener chat on 127\.0\.0\.1:(\d+) \(protocol chat\)", text)
                if not m:
                    raise Failure("no 'listener chat on 127.0.0.1:PORT' line")
                return int(m.group(1))
            if self.proc.poll() is not None:
                if "cannot run here" in text:
                    print("SKIP: backend %s cannot run on this machine" % self.backend)
                    self.cleanup()
                    sys.exit(SKIP)
                raise Failure("muxd exited with %s before starting" % self.proc.returncode)
            time.sleep(0.05)
        raise Failure("muxd did not log 'started:' within %.0f s" % timeout)

    def stop(self, timeout=10.0):
        """SIGTERM by pid; the exit status must be 0 and the log clean."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("muxd still running %.0f s after SIGTERM" % timeout)
        self.reader.join(5)
        if rc != 0:
            raise Failure("muxd exit status %d" % rc)
        for mark in SANITIZER_MARKS:
            if mark in self.log():
                raise Failure("sanitizer report in the muxd log: %r" % mark)

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        try:
            os.unlink(self.conf)
        except OSError:
            pass


class Client:
    """One irc.client connection and the events it has seen."""

    def __init__(self, reactor, port, nick):
        self.nick = nick
        self.events = []
        self.conn = reactor.server()
        for kind in ("welcome", "join", "part", "quit", "nick", "pubmsg", "privmsg",
                     "disconnect", "error", "nicknameinuse"):
            self.conn.add_global_handler(kind, self._on_event)
        self.conn.connect("127.0.0.1", port, nick, username="u" + nick, ircname="Real " + nick)

    def _on_event(self, conn, event):
        if conn is self.conn:
            self.events.append(event)


class Session:
    def __init__(self, port):
        factory = getattr(irc.client, "Reactor", None) or irc.client.IRC
        self.reactor = factory()
        self.port = port

    def client(self, nick):
        return Client(self.reactor, self.port, nick)

    def expect(self, client, what, pred, timeout=STEP_TIMEOUT):
        """Pumps the reactor until an event of client's matches pred; the
        event is removed from its list and returned."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(client.events):
                if pred(ev):
                    return client.events.pop(i)
            if time.monotonic() >= deadline:
                seen = ["%s %s %s %s" % (e.type, e.source, e.target, e.arguments)
                        for e in client.events[-10:]]
                raise Failure("%s: no %s within %.0f s; last events:\n  %s"
                              % (client.nick, what, timeout, "\n  ".join(seen) or "(none)"))
            self.reactor.process_once(0.05)


def nick_of(source):
    return str(source).split("!", 1)[0]


def is_event(kind, source=None, target=None, text=None):
    def pred(ev):
        if ev.type != kind:
            return False
        if source is not None and nick_of(ev.source) != source:
            return False
        if target is not None and (ev.target or "").lower() != target.lower():
            return False
        if text is not None and not any(text in str(a) for a in ev.arguments):
            return False
        return True
    return pred


def scenario(s):
    alice = s.client("alice")
    bob = s.client("bob")
    s.expect(alice, "welcome", is_event("welcome"))
    s.expect(bob, "welcome", is_event("welcome"))

    # JOIN: each sees its own, alice sees bob's.
    alice.conn.join("#room")
    s.expect(alice, "own join", is_event("join", "alice", "#room"))
    bob.conn.join("#room")
    s.expect(bob, "own join", is_event("join", "bob", "#room"))
    ev = s.expect(alice, "bob's join", is_event("join", "bob", "#room"))
    if str(ev.source) != "bob!ubob@127.0.0.1":
        raise Failure("join source %r, want bob!ubob@127.0.0.1" % str(ev.source))

    # Channel messages both ways, then private ones both ways.
    alice.conn.privmsg("#room", "hello from alice")
    ev = s.expect(bob, "alice's pubmsg", is_event("pubmsg", "alice", "#room", "hello from alice"))
    if ev.arguments != ["hello from alice"]:
        raise Failure("pubmsg arguments %r" % ev.arguments)
    bob.conn.privmsg("#room", "hi alice, bob here")
    s.expect(alice, "bob's pubmsg", is_event("pubmsg", "bob", "#room", "hi alice, bob here"))
    alice.conn.privmsg("bob", "psst, bob")
    s.expect(bob, "alice's privmsg", is_event("privmsg", "alice", "bob", "psst, bob"))
    bob.conn.privmsg("alice", "psst yourself")
    s.expect(alice, "bob's privmsg", is_event("privmsg", "bob", "alice", "psst yourself"))

    # NICK: both see it, and messages carry the new nick.
    bob.conn.nick("robert")
    s.expect(alice, "bob's nick change", is_event("nick", "bob", "robert"))
    s.expect(bob, "own nick change", is_event("nick", "bob", "robert"))
    bob.conn.privmsg("#room", "call me robert")
    s.expect(alice, "robert's pubmsg", is_event("pubmsg", "robert", "#room", "call me robert"))

    # PART with a reason, JOIN again.
    bob.conn.part("#room", "brb")
    s.expect(bob, "own part", is_event("part", "robert", "#room"))
    s.expect(alice, "robert's part", is_event("part", "robert", "#room", "brb"))
    bob.conn.join("#room")
    s.expect(alice, "robert's join", is_event("join", "robert", "#room"))

    # QUIT with a reason: alice sees it, robert's connection ends.
    bob.conn.quit("see you later")
    s.expect(alice, "robert's quit", is_event("quit", "robert", None, "see you later"))
    s.expect(bob, "own disconnect", is_event("disconnect"))

    # alice parts and quits too.
    alice.conn.part("#room")
    s.expect(alice, "own part", is_event("part", "alice", "#room"))
    alice.conn.quit("done")
    s.expect(alice, "own disconnect", is_event("disconnect"))


def main():
    def on_alarm(signum, frame):
        raise Failure("the whole script took over %d s" % TOTAL_TIMEOUT)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TOTAL_TIMEOUT)
    daemon = None
    try:
        daemon = Daemon()
        port = daemon.wait_started()
        scenario(Session(port))
        daemon.stop()
        print("PASS: python3-irc registered, joined, talked, changed nick, parted and quit "
              "(backend %s)" % (daemon.backend or "default"))
        return 0
    except Failure as e:
        print("FAIL: %s" % e)
        if daemon:
            print("---- muxd log ----\n%s\n---- end of muxd log ----" % daemon.log()[-16384:])
        return 1
    finally:
        signal.alarm(0)
        if daemon:
            daemon.cleanup()


if __name__ == "__main__":
    sys.exit(main())
