"""irc_session.py - what the python3-irc scripts beside it share
(real_client.py against one muxd, cluster_client.py against two muxd nodes
sharing one network through Redis): the exit codes and timeouts, muxd as a
child process with its log, irc.client connections that keep the events
they see, and bounded waits for those events. Each script keeps its own
scenario; nothing here is a test by itself.

Imported, not run: the scripts put this directory first on sys.path, so
it is found whatever the working directory. Debian's irc module is
imported here, once, so the scripts need /usr/bin/python3 as before.
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

SANITIZER_MARKS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                   "WARNING: ThreadSanitizer", "runtime error:")

# The events every Client keeps; a script may ask for more.
EVENTS = ("welcome", "join", "part", "quit", "nick", "pubmsg", "privmsg",
          "disconnect", "error", "nicknameinuse")


class Failure(Exception):
    pass


class Skip(Exception):
    """The script cannot run here (exit SKIP), e.g. a backend this machine
    refuses."""


def arm_alarm():
    """Bounds the whole script: a Failure after TOTAL_TIMEOUT seconds
    (signal.alarm(0) disarms it)."""
    def on_alarm(signum, frame):
        raise Failure("the whole script took over %d s" % TOTAL_TIMEOUT)
    signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TOTAL_TIMEOUT)


class Daemon:
    """muxd ($MUXD_BIN, with -b $MUXD_TEST_BACKEND when set) on a temporary
    file holding config; its log collected by a thread. A cluster node
    names its node and the Redis port from its [cluster] section:
    wait_started then also waits for the node to reach Redis, and every
    failure says which node."""

    def __init__(self, config, node=None, redis_port=None):
        binary = os.environ.get("MUXD_BIN")
        if not binary or not os.access(binary, os.X_OK):
            raise Failure("MUXD_BIN is not set to an executable muxd (%r)" % binary)
        self.node = node
        self.redis_port = redis_port
        self.who = "node %s: " % node if node else ""    # prefixes failures
        prefix = "muxd-cluster-%s-" % node if node else "muxd-chat-"
        fd, self.conf = tempfile.mkstemp(prefix=prefix, suffix=".conf")
        with os.fdopen(fd, "w") as f:
            f.write(config)
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
        """The chat listener's port, once muxd logged 'started:' (and, for a
        cluster node, that it reached Redis). Skip if the backend cannot run
        on this machine."""
        up = None
        if self.redis_port is not None:
            up = "cluster: node %s: redis 127.0.0.1:%d up" % (self.node, self.redis_port)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log()
            if " started: " in text and (up is None or up in text):
                m = re.search(r"listener chat on 127\.0\.0\.1:(\d+) \(protocol chat\)", text)
                if not m:
                    raise Failure("%sno 'listener chat on 127.0.0.1:PORT' line" % self.who)
                return int(m.group(1))
            if self.proc.poll() is not None:
                if "cannot run here" in text:
                    raise Skip("backend %s cannot run on this machine" % self.backend)
                raise Failure("%smuxd exited with %s before starting"
                              % (self.who, self.proc.returncode))
            time.sleep(0.05)
        raise Failure("%smuxd did not log 'started:'%s within %.0f s"
                      % (self.who, " and %r" % up if up else "", timeout))

    def stop(self, timeout=10.0):
        """SIGTERM by pid; the exit status must be 0 and the log clean."""
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("%smuxd still running %.0f s after SIGTERM" % (self.who, timeout))
        self.reader.join(5)
        if rc != 0:
            raise Failure("%smuxd exit status %d" % (self.who, rc))
        self.check_sanitizers()

    def check_sanitizers(self):
        for mark in SANITIZER_MARKS:
            if mark in self.log():
                raise Failure("%ssanitizer report in the muxd log: %r" % (self.who, mark))

    def cleanup(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        try:
            os.unlink(self.conf)
        except OSError:
            pass


class Client:
    """One irc.client connection and the events (of the kinds asked for)
    it has seen."""

    def __init__(self, reactor, port, nick, label=None, kinds=EVENTS, realname="Real"):
        self.nick = nick
        self.label = label or nick  # for messages: who this is (and on which node)
        self.events = []
        self.conn = reactor.server()
        for kind in kinds:
            self.conn.add_global_handler(kind, self._on_event)
        self.conn.connect("127.0.0.1", port, nick, username="u" + nick,
                          ircname="%s %s" % (realname, nick))

    def _on_event(self, conn, event):
        if conn is self.conn:
            self.events.append(event)


class Session:
    """One reactor for all the clients, and bounded waits on their events."""

    def __init__(self, port=None):
        factory = getattr(irc.client, "Reactor", None) or irc.client.IRC
        self.reactor = factory()
        self.port = port

    def client(self, nick):
        return Client(self.reactor, self.port, nick)

    def fail(self, client, what, timeout):
        seen = ["%s %s %s %s" % (e.type, e.source, e.target, e.arguments)
                for e in client.events[-10:]]
        raise Failure("%s: no %s within %.0f s; last events:\n  %s"
                      % (client.label, what, timeout, "\n  ".join(seen) or "(none)"))

    def expect(self, client, what, pred, timeout=STEP_TIMEOUT):
        """Pumps the reactor until an event of client's matches pred; the
        event is removed from its list and returned."""
        deadline = time.monotonic() + timeout
        while True:
            for i, ev in enumerate(client.events):
                if pred(ev):
                    return client.events.pop(i)
            if time.monotonic() >= deadline:
                self.fail(client, what, timeout)
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
