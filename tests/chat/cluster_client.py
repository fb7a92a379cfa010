#!/usr/bin/python3
"""cluster_client.py - a real IRC client library (Debian's python3-irc)
against two muxd chat nodes sharing one network through Redis
(docs/cluster.md): nicks are unique network-wide (433 across nodes),
channel PRIVMSG and CTCP ACTION reach the other node's members in each
sender's order, PRIVMSG and NOTICE to a nick reach the node holding it,
401 when nobody holds it, a member's status given on one node shows in
NAMES on both, WHOIS, ISON and LIST answer for the other node's users and
channels, and a nick let go on one node can be taken on the other.

The rest of docs/cluster.md's table (JOIN/PART/QUIT/NICK lines, WHO,
topics, KICK, INVITE, a node's death) is checked by the C tests
test_cluster.c and test_cluster_chan.c.

The script starts /usr/bin/redis-server itself on a free loopback port
(no persistence, a temporary --dir) and two muxd nodes ($MUXD_BIN, with
-b $MUXD_TEST_BACKEND when set) on ephemeral loopback ports read from their
logs, and stops all three with SIGTERM by pid. Exit 0 = pass, 1 = fail,
77 = skip (no python3-irc, no redis-server, or a backend this machine
cannot run). Every wait is bounded. The muxd nodes, the clients and the
waits are irc_session.py's (shared with real_client.py); Redis and the
scenario are this script's.

Run it with /usr/bin/python3: the irc module is Debian's.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

# irc_session.py sits beside this script, which CTest runs by absolute
# path from the build tree: the script's directory goes first on sys.path
# whatever the working directory (and even under PYTHONSAFEPATH). No
# bytecode beside the sources, as CMake's PYTHONDONTWRITEBYTECODE says.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from irc_session import (EVENTS, SKIP, STEP_TIMEOUT, Client, Daemon,  # noqa: E402
                         Failure, Session, Skip, arm_alarm, is_event)

REDIS_SERVER = "/usr/bin/redis-server"
LINES = 20             # numbered channel lines each way

CONFIG = """\
[server]
workers = 2
[cluster]
redis = 127.0.0.1:{redis_port}
node_name = {node}
heartbeat = 500ms
redis_timeout = 2s
[listener chat]
listen = 127.0.0.1:0
protocol = chat
server_name = {node}.test.muxd
flood_rate = 0
[log]
level = info
"""


def free_port():
    """A loopback TCP port nobody listens on right now."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


class Redis:
    """redis-server on a free loopback port, no persistence, its log in a
    temporary directory."""

    def __init__(self):
        if not os.access(REDIS_SERVER, os.X_OK):
            raise Skip("%s is not installed (Debian's redis-server)" % REDIS_SERVER)
        self.dir = tempfile.mkdtemp(prefix="muxd-redis-")
        self.logpath = os.path.join(self.dir, "redis.log")
        self.proc = None
        self.port = None

    def start(self, timeout=10.0):
        """Starts it and waits for +PONG; a port taken meanwhile is retried."""
        for attempt in range(3):
            self.port = free_port()
            argv = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
                    "--save", "", "--appendonly", "no", "--protected-mode", "no",
                    "--dir", self.dir]
            with open(self.logpath, "ab") as logf:
                self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=logf,
                                             stderr=subprocess.STDOUT)
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                if self._ping():
                    return self.port
                time.sleep(0.05)
            else:
                raise Failure("redis-server on port %d did not answer PING within %.0f s"
                              % (self.port, timeout))
            # It exited: the port was taken between free_port() and its bind?
            if "Address already in use" not in self.log():
                raise Failure("redis-server exited with %s" % self.proc.returncode)
        raise Failure("redis-server found no free port in 3 tries")

    def _ping(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1.0) as s:
                s.sendall(b"PING\r\n")
                return s.recv(64).startswith(b"+PONG")
        except OSError:
            return False

    def log(self):
        try:
            with open(self.logpath, "r", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self, timeout=10.0):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise Failure("redis-server still running %.0f s after SIGTERM" % timeout)

    def cleanup(self):
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        shutil.rmtree(self.dir, ignore_errors=True)


class ClusterSession(Session):
    """Clients on either node (each keeping the events the cross-node checks
    need), and the waits only this scenario uses."""

    def __init__(self, ports):
        super().__init__()
        self.ports = ports      # node name -> chat port

    def client(self, node, nick):
        return Client(self.reactor, self.ports[node], nick, "%s (node %s)" % (nick, node),
                      kinds=EVENTS + ("pubnotice", "privnotice", "action", "nosuchnick",
                                      "mode", "namreply", "whoisuser", "whoisserver", "ison",
                                      "userhost", "list"),
                      realname="Cluster")

    def collect(self, client, what, pred, n, timeout=STEP_TIMEOUT):
        """The first n events of client's matching pred, in the order they
        arrived (each removed from its list)."""
        got = []
        deadline = time.monotonic() + timeout
        while True:
            i = 0
            while i < len(client.events) and len(got) < n:
                if pred(client.events[i]):
                    got.append(client.events.pop(i))
                else:
                    i += 1
            if len(got) == n:
                return got
            if time.monotonic() >= deadline:
                self.fail(client, "%s (%d of %d seen)" % (what, len(got), n), timeout)
            self.reactor.process_once(0.05)

    def names(self, client, channel, good, timeout=STEP_TIMEOUT):
        """client asks NAMES channel every 100 ms until good(sorted names)
        holds: a member's status is written by its own node, a moment after
        the MODE line."""
        deadline = time.monotonic() + timeout
        while True:
            client.conn.names([channel])
            ev = self.expect(client, "NAMES %s" % channel, is_event("namreply"))
            got = sorted(ev.arguments[2].split())
            if good(got):
                return got
            if time.monotonic() >= deadline:
                raise Failure("%s: NAMES %s gives %r" % (client.label, channel, got))
            time.sleep(0.1)

    def sync(self, sender, receiver, channel, timeout=STEP_TIMEOUT):
        """sender says 'sync' in channel every 200 ms until receiver sees
        one: subscribing to a channel is asynchronous (docs/cluster.md)."""
        deadline = time.monotonic() + timeout
        pred = is_event("pubmsg", sender.conn.get_nickname(), channel, "sync")
        while time.monotonic() < deadline:
            sender.conn.privmsg(channel, "sync")
            step = time.monotonic() + 0.2
            while time.monotonic() < step:
                for i, ev in enumerate(receiver.events):
                    if pred(ev):
                        receiver.events.pop(i)
                        return
                self.reactor.process_once(0.05)
        self.fail(receiver, "'sync' from %s in %s" % (sender.label, channel), timeout)


def not_sync(pred):
    return lambda ev: pred(ev) and ev.arguments != ["sync"]


def listed(s, client, channel, timeout=STEP_TIMEOUT):
    """client asks LIST every 200 ms until channel is in it: the network
    has the channel."""
    deadline = time.monotonic() + timeout
    while True:
        client.conn.list()
        end = time.monotonic() + 0.2
        while time.monotonic() < end:
            s.reactor.process_once(0.05)
        found = any(e.type == "list" and e.arguments[:1] == [channel] for e in client.events)
        client.events[:] = [e for e in client.events if e.type != "list"]
        if found:
            return
        if time.monotonic() >= deadline:
            raise Failure("%s: %s not in LIST within %d s" % (client.label, channel, timeout))

def check_order(lines, want, who):
    got = [ev.arguments[0] if ev.arguments else None for ev in lines]
    if got != want:
        raise Failure("%s saw the lines out of order or changed:\n  got  %r\n  want %r"
                      % (who, got, want))


def scenario(s):
    # 1. Registration on both nodes; a nick held on a is refused on b (433).
    alice = s.client("a", "alice")
    bob = s.client("b", "bob")
    s.expect(alice, "welcome", is_event("welcome"))
    s.expect(bob, "welcome", is_event("welcome"))
    carol = s.client("b", "alice")
    carol.label = "carol (node b)"
    ev = s.expect(carol, "433 for 'alice' held on node a", is_event("nicknameinuse"))
    if not ev.arguments or ev.arguments[0].lower() != "alice":
        raise Failure("433 arguments %r, want the nick 'alice' first" % ev.arguments)
    if any(e.type == "welcome" for e in carol.events):
        raise Failure("carol was welcomed as 'alice' although alice holds it on node a")
    carol.conn.nick("carol")
    ev = s.expect(carol, "welcome as carol", is_event("welcome"))
    if ev.target != "carol":
        raise Failure("carol welcomed as %r, want 'carol'" % ev.target)

    # 2. A channel across the nodes: each sender's lines in order.
    alice.conn.join("#x")
    s.expect(alice, "own join", is_event("join", "alice", "#x"))
    # Node a writes the new channel to Redis a moment after alice's JOIN;
    # a JOIN on node b before that would make a second channel of the
    # name there, with bob its operator too (docs/cluster.md).
    listed(s, bob, "#x")
    bob.conn.join("#x")
    s.expect(bob, "own join", is_event("join", "bob", "#x"))
    s.sync(alice, bob, "#x")
    s.sync(bob, alice, "#x")

    want = ["line %02d from alice" % i for i in range(1, LINES + 1)]
    for text in want:
        alice.conn.privmsg("#x", text)
    got = s.collect(bob, "alice's numbered lines in #x",
                    not_sync(is_event("pubmsg", "alice", "#x")), LINES)
    check_order(got, want, "bob (node b)")

    want = ["line %02d from bob" % i for i in range(1, LINES + 1)]
    for text in want:
        bob.conn.privmsg("#x", text)
    got = s.collect(alice, "bob's numbered lines in #x",
                    not_sync(is_event("pubmsg", "bob", "#x")), LINES)
    check_order(got, want, "alice (node a)")

    bob.conn.action("#x", "waves from node b")
    ev = s.expect(alice, "bob's ACTION in #x", is_event("action", "bob", "#x"))
    if ev.arguments != ["waves from node b"]:
        raise Failure("action arguments %r, want ['waves from node b']" % ev.arguments)

    # 3. Lines to a nick on the other node; 401 when nobody holds it.
    alice.conn.privmsg("bob", "hi bob")
    ev = s.expect(bob, "alice's privmsg", is_event("privmsg", "alice", "bob", "hi bob"))
    if ev.arguments != ["hi bob"]:
        raise Failure("privmsg arguments %r" % ev.arguments)
    if str(ev.source) != "alice!ualice@127.0.0.1":
        raise Failure("privmsg source %r, want alice!ualice@127.0.0.1" % str(ev.source))
    bob.conn.notice("alice", "notice from bob")
    ev = s.expect(alice, "bob's notice", is_event("privnotice", "bob", "alice", "notice from bob"))
    if ev.arguments != ["notice from bob"]:
        raise Failure("notice arguments %r" % ev.arguments)
    alice.conn.privmsg("nobody", "anyone there?")
    ev = s.expect(alice, "401 for 'nobody'", is_event("nosuchnick"))
    if not ev.arguments or ev.arguments[0].lower() != "nobody":
        raise Failure("401 arguments %r, want the nick 'nobody' first" % ev.arguments)

    # 4. Status and queries across the nodes: alice (a) created #x and is
    # its operator; she voices bob (b), whose node writes it to the
    # network's list, so NAMES on a shows it once that is through.
    s.names(bob, "#x", lambda n: n == ["@alice", "bob"])
    alice.conn.mode("#x", "+v bob")
    s.expect(bob, "alice's +v on him", is_event("mode", "alice", "#x", "bob"))
    s.names(alice, "#x", lambda n: n == ["+bob", "@alice"])
    bob.conn.whois(["alice"])
    ev = s.expect(bob, "WHOIS alice (node a): 311", is_event("whoisuser"))
    if ev.arguments[:2] != ["alice", "ualice"] or ev.arguments[-1] != "Cluster alice":
        raise Failure("311 arguments %r" % ev.arguments)
    ev = s.expect(bob, "WHOIS alice: 312", is_event("whoisserver"))
    if ev.arguments[:2] != ["alice", "a"]:
        raise Failure("312 arguments %r, want alice's node 'a'" % ev.arguments)
    bob.conn.ison(["nobody", "alice", "bob"])
    ev = s.expect(bob, "ISON reply", is_event("ison"))
    if ev.arguments != ["alice bob"]:
        raise Failure("ISON gives %r, want ['alice bob']" % ev.arguments)
    alice.conn.list()
    ev = s.expect(alice, "LIST: #x", is_event("list"))
    if ev.arguments[:2] != ["#x", "2"]:
        raise Failure("LIST gives %r, want #x with 2 users" % ev.arguments)

    # 5. A nick let go on a can be taken on b; the new nick is reached.
    alice.conn.nick("alice2")
    s.expect(alice, "own nick change", is_event("nick", "alice", "alice2"))
    alice.nick = "alice2"
    # Node a lets go of "alice" right after the NICK line, without waiting
    # for Redis (docs/cluster.md): a claim from b may arrive first and get
    # 433, so carol tries again for up to 2 s.
    deadline = time.monotonic() + 2.0
    while True:
        carol.conn.nick("alice")
        ev = s.expect(carol, "own nick change to 'alice' (freed on node a), or 433",
                      lambda e: is_event("nick", "carol", "alice")(e) or
                      e.type == "nicknameinuse")
        if ev.type != "nicknameinuse":
            break
        if time.monotonic() >= deadline:
            raise Failure("carol still gets 433 for 'alice' 2 s after alice became alice2")
        time.sleep(0.1)
    bob.conn.privmsg("alice2", "still there?")
    s.expect(alice, "bob's privmsg to alice2",
             is_event("privmsg", "bob", "alice2", "still there?"))

    # 6. Everyone quits.
    for c, text in ((alice, "bye from a"), (bob, "bye from b"), (carol, "bye from carol")):
        c.conn.quit(text)
    for c in (alice, bob, carol):
        s.expect(c, "own disconnect", is_event("disconnect"))


def main():
    arm_alarm()
    redis = None
    daemons = []
    try:
        redis = Redis()
        redis_port = redis.start()
        for node in ("a", "b"):
            daemons.append(Daemon(CONFIG.format(node=node, redis_port=redis_port),
                                  node, redis_port))
        ports = {d.node: d.wait_started() for d in daemons}
        scenario(ClusterSession(ports))
        for d in daemons:
            d.stop()
        redis.stop()
        print("PASS: python3-irc on two muxd nodes through Redis: 433 across nodes, "
              "channel lines in order both ways, ACTION, PRIVMSG/NOTICE to a remote nick, "
              "401, a freed nick taken on the other node (backend %s)"
              % (daemons[0].backend or "default"))
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
    except Failure as e:
        print("FAIL: %s" % e)
        for d in daemons:
            print("---- muxd node %s log ----\n%s\n---- end of node %s log ----"
                  % (d.node, d.log()[-16384:], d.node))
        if redis:
            print("---- redis log ----\n%s\n---- end of redis log ----" % redis.log()[-4096:])
        return 1
    finally:
        signal.alarm(0)
        for d in daemons:
            d.cleanup()
        if redis:
            redis.cleanup()


if __name__ == "__main__":
    sys.exit(main())
