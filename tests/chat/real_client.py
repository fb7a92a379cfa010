#!/usr/bin/python3
"""real_client.py - a real IRC client library (Debian's python3-irc)
against muxd's chat service: two irc.client connections register, join a
channel, exchange channel and private messages both ways and see each
other's JOIN, NICK, PART and QUIT.

The script starts muxd itself ($MUXD_BIN, with -b $MUXD_TEST_BACKEND when
set) on an ephemeral loopback port read from its log, and stops it with
SIGTERM by pid. Exit 0 = pass, 1 = fail, 77 = skip (no python3-irc, or a
backend this machine cannot run). Every wait is bounded. The muxd
process, the clients and the waits are irc_session.py's (shared with
cluster_client.py); the scenario is this script's.

Run it with /usr/bin/python3: the irc module is Debian's.
"""
import os
import signal
import sys

# irc_session.py sits beside this script, which CTest runs by absolute
# path from the build tree: the script's directory goes first on sys.path
# whatever the working directory (and even under PYTHONSAFEPATH). No
# bytecode beside the sources, as CMake's PYTHONDONTWRITEBYTECODE says.
sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from irc_session import (SKIP, Daemon, Failure, Session, Skip,  # noqa: E402
                         arm_alarm, is_event)

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
    arm_alarm()
    daemon = None
    try:
        daemon = Daemon(CONFIG)
        port = daemon.wait_started()
        scenario(Session(port))
        daemon.stop()
        print("PASS: python3-irc registered, joined, talked, changed nick, parted and quit "
              "(backend %s)" % (daemon.backend or "default"))
        return 0
    except Skip as e:
        print("SKIP: %s" % e)
        return SKIP
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
