#!/usr/bin/env python3
"""Writes the seed inputs of fuzz_chat_cmd (tests/fuzz/corpus/fuzz_chat_cmd/):
two clients register (alice on worker 0, bob on worker 1), then every
command of chat_cmd.c's table runs at least once: one seed that runs them
all in a row (and its variants under other settings), and one seed per
command. fuzz_chat_cmd.c's header says how the input is coded. Run from
anywhere; rewrites the seeds (other files there, inputs that once
crashed, are kept)."""
import os
import re

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus", "fuzz_chat_cmd")

# After the bytes, the backend: nothing, writes part, writes all, flushes,
# ends the turn, closes, opens, drains the inboxes.
NONE, PART, ALL, FLUSH, TURN, CLOSE, OPEN, INBOX = range(8)

# Settings byte: bit 0 flood control, 1 password, 2 utf8_only, 3-4 overflow
# policy, 5-7 output_max (2 KiB steps from 2 KiB).
PLAIN = 3 << 5


def rec(conn, text=b"", act=NONE, arg=0):
    """Records for conn carrying text (split at 255 bytes), the last one
    followed by act."""
    if isinstance(text, str):
        text = text.encode()
    out = b""
    while len(text) > 255:
        out += bytes([conn, 255, 0]) + text[:255]
        text = text[255:]
    return out + bytes([conn | (act << 2), len(text), arg]) + text


def lines(conn, *ls):
    """Lines from conn, then the turn ends and everything is written."""
    return (rec(conn, "".join(l + "\r\n" for l in ls), TURN, 1) + rec(conn, "", ALL))


REGISTER = (lines(0, "PASS sesame", "NICK alice", "USER alice 0 * :Alice A")
            + lines(1, "PASS sesame", "NICK bob", "USER bob 0 * :Bob B")
            + lines(0, "JOIN #fuzz") + lines(1, "JOIN #fuzz"))

# (command, the lines that use it, from alice unless said) - every row of
# chat_cmd.c's table.
COMMANDS = [
    ("PRIVMSG", [(0, "PRIVMSG #fuzz :hello all"), (0, "PRIVMSG bob :hi bob"),
                 (0, "PRIVMSG @#fuzz :ops only")]),
    ("NOTICE", [(0, "NOTICE #fuzz :a notice"), (1, "NOTICE alice :psst")]),
    ("PING", [(0, "PING :token")]),
    ("PONG", [(0, "PONG :fuzz.local")]),
    ("JOIN", [(0, "JOIN #two,#three key"), (1, "JOIN #two"), (0, "PART #two,#three")]),
    ("PART", [(1, "PART #fuzz :leaving")]),
    ("QUIT", [(1, "QUIT :bye now")]),
    ("NICK", [(0, "NICK alice2"), (1, "NICK alice2")]),
    ("USER", [(0, "USER again 0 * :Again")]),
    ("PASS", [(0, "PASS late")]),
    ("CAP", [(0, "CAP LS 302"), (0, "CAP REQ :message-tags echo-message server-time "
              "labeled-response batch away-notify multi-prefix"), (0, "CAP LIST"),
             (0, "CAP END")]),
    ("MODE", [(0, "MODE #fuzz +o bob"), (0, "MODE #fuzz +ntk-t secret"), (0, "MODE #fuzz +b *!*@x"),
              (0, "MODE #fuzz"), (0, "MODE alice +i"), (0, "MODE #fuzz +l 5")]),
    ("NAMES", [(0, "NAMES #fuzz"), (0, "NAMES")]),
    ("LIST", [(0, "LIST"), (0, "LIST #fuzz")]),
    ("TOPIC", [(0, "TOPIC #fuzz :the topic"), (1, "TOPIC #fuzz")]),
    ("WHO", [(0, "WHO #fuzz"), (0, "WHO bob %tnuhiar,42")]),
    ("WHOIS", [(0, "WHOIS bob"), (1, "WHOIS alice alice")]),
    ("KICK", [(0, "KICK #fuzz bob :out")]),
    ("INVITE", [(0, "MODE #fuzz +i"), (0, "INVITE bob #fuzz"), (0, "INVITE bob #other")]),
    ("AWAY", [(1, "AWAY :gone"), (0, "PRIVMSG bob :there?"), (1, "AWAY")]),
    ("MOTD", [(0, "MOTD")]),
    ("OPER", [(0, "OPER op wrong"), (0, "OPER op sesame-oper")]),
    ("KILL", [(0, "OPER op sesame-oper"), (0, "KILL bob :enough"), (0, "KILL bobby :too")]),
    ("WALLOPS", [(0, "OPER op sesame-oper"), (1, "MODE bob +w"), (0, "WALLOPS :hear this")]),
    ("REHASH", [(0, "REHASH"), (0, "OPER op sesame-oper"), (0, "REHASH")]),
    ("STATS", [(0, "OPER op sesame-oper"), (0, "STATS m"), (0, "STATS u"), (0, "STATS l"),
               (0, "STATS k")]),
    ("KLINE", [(0, "OPER op sesame-oper"), (0, "KLINE *@127.0.0.3 :go away"),
               (0, "KLINE 1h *@127.0.0.9 :later"), (0, "STATS k")]),
    ("UNKLINE", [(0, "OPER op sesame-oper"), (0, "KLINE *@127.0.0.9 :x"),
                 (0, "UNKLINE *@127.0.0.9")]),
    ("DIE", [(0, "DIE"), (0, "OPER op sesame-oper"), (0, "DIE wrong.name"),
             (0, "DIE fuzz.local")]),
    ("WHOWAS", [(1, "NICK bobby"), (0, "WHOWAS bob")]),
    ("ISON", [(0, "ISON bob nobody")]),
    ("USERHOST", [(0, "USERHOST bob alice")]),
    ("LUSERS", [(0, "LUSERS")]),
    ("TIME", [(0, "TIME")]),
    ("VERSION", [(0, "VERSION")]),
    ("ADMIN", [(0, "ADMIN")]),
    ("INFO", [(0, "INFO")]),
    ("HELP", [(0, "HELP"), (0, "HELP JOIN")]),
    ("LINKS", [(0, "LINKS")]),
    ("TAGMSG", [(0, "CAP REQ :message-tags"), (1, "CAP REQ :message-tags"),
                (0, "@+typing=active TAGMSG #fuzz"), (0, "@+typing=paused TAGMSG bob")]),
    ("SETNAME", [(0, "CAP REQ :setname"), (0, "SETNAME :Alice Again")]),
]


def table_names():
    """The command names in chat_cmd.c's table, to check none is missed."""
    src = open(os.path.join(HERE, "..", "..", "src", "proto", "chat", "chat_cmd.c")).read()
    table = src[src.index("static const struct cmd cmds[]"):]
    table = table[:table.index("};")]
    return re.findall(r'\{ "([A-Z]+)",', table)


def body(uses):
    out = b""
    for conn, line in uses:
        out += lines(conn, line)
    return out


missing = set(table_names()) - {name for name, _ in COMMANDS}
assert not missing, f"no seed for {sorted(missing)}"

SEEDS = {}
for name, uses in COMMANDS:
    SEEDS["cmd_" + name.lower()] = bytes([PLAIN]) + REGISTER + body(uses)
# All of them in a row, the ones that end things last.
last = ("KICK", "KILL", "QUIT", "DIE")
everything = REGISTER
for name, uses in COMMANDS:
    if name not in last:
        everything += body(uses)
for name in last:
    everything += body(dict(COMMANDS)[name])
# JOIN 0 leaves every channel.
SEEDS["cmd_join0"] = bytes([PLAIN]) + REGISTER + lines(0, "JOIN #two", "JOIN 0", "NAMES #fuzz")
SEEDS["all"] = bytes([PLAIN]) + everything
# The same under other settings: flood control, a password, utf8_only,
# drop_oldest, pause_producer, the smallest output_max.
SEEDS["all_flood"] = bytes([PLAIN | 1]) + everything
SEEDS["all_password_utf8"] = bytes([PLAIN | 2 | 4]) + everything
SEEDS["all_drop_oldest"] = bytes([1 << 3]) + everything
SEEDS["all_pause_producer"] = bytes([2 << 3]) + everything
SEEDS["all_small"] = bytes([0]) + everything
# IRCv3: labeled-response (with batch), every capability, a WebSocket-less
# client-tag relay.
CAPS = ("message-tags echo-message server-time labeled-response batch away-notify "
        "setname invite-notify cap-notify multi-prefix userhost-in-names extended-join")
SEEDS["labeled"] = (bytes([PLAIN]) + REGISTER
                    + lines(0, "CAP LS 302", "CAP REQ :" + CAPS)
                    + lines(1, "CAP REQ :" + CAPS)
                    + lines(0, "@label=a1 WHOIS bob", "@label=a2 PRIVMSG #fuzz :hi",
                            "@label=a3 NAMES #fuzz", "@label=a4 PING x",
                            "@label=a5;+draft/reply=1 PRIVMSG bob :re",
                            "@label=a6 JOIN #new", "@label=a7 NOSUCH")
                    + lines(1, "AWAY :afk", "MODE #fuzz +v alice", "INVITE alice #new",
                            "SETNAME :Bob Again", "PART #fuzz"))
# A third client from 127.0.0.2 (K-lined) and a fourth over IPv6; bob's
# link closes; time passes past the registration and ping deadlines.
SEEDS["links"] = (bytes([PLAIN]) + REGISTER + rec(2, "", OPEN, 0) + rec(3, "", OPEN, 1)
                  + lines(2, "NICK carol", "USER carol 0 * :C")
                  + lines(0, "OPER op sesame-oper", "KLINE *@127.0.0.2 :no")
                  + lines(3, "NICK dave") + rec(1, "", CLOSE, 1) + rec(0, "", TURN, 200)
                  + rec(0, "", TURN, 255) + rec(0, "", TURN, 255))

os.makedirs(OUT, exist_ok=True)
for name, data in SEEDS.items():
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
