/* test_config_chat.c - what only chat listeners have: [oper] sections,
 * K-line files, the WebSocket transport and share_with. */
#include "config_fixture.h"

/* ---- [oper NAME] --------------------------------------------------------- */

#define HASH6 "$6$muxdtestsalt$Jq4M2C1lUg0mS0Yy1Tj6nV7y9p5r3R4eL8b2Z1xWq0aS5dF7gH9jK2lM4nB6vC8xZ0qW2eR4tY6uI8oP0aS2dF."
#define HASHY "$y$j9T$abcdefghijklmnopqrstuv$ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmno01"

Test(config, oper_sections_are_read)
{
    struct mx_config cfg;
    load_ok(&cfg, LISTENER "[oper alice]\npassword = " HASH6 "\nhosts = *!*@127.0.0.1\n"
                  "[oper bob]\nhosts = *!*@10.*,*!*@::1\npassword = " HASHY "\n");
    cr_assert_eq(cfg.nopers, 2);
    cr_assert_str_eq(cfg.opers[0].name, "alice");
    cr_assert_str_eq(cfg.opers[0].password, HASH6);
    cr_assert_str_eq(cfg.opers[1].hosts, "*!*@10.*,*!*@::1");
}

/* A plain-text password is refused where it stands, and not repeated. */
Test(config, oper_plain_text_password_is_refused)
{
    struct mx_config cfg;
    cr_assert_eq(load_text(&cfg, LISTENER "[oper alice]\nhosts = *\npassword = hunter2\n"), -1);
    cr_assert(strstr(err, ":5: [oper alice] password: expected a crypt(3) hash"), "%s", err);
    cr_assert_null(strstr(err, "hunter2"), "%s", err);
    /* Other schemes (MD5, DES) and a bare prefix are refused too. */
    cr_assert_eq(load_text(&cfg, LISTENER "[oper a]\nhosts = *\npassword = $1$ab$cdefghijklmnopqrstuvwx\n"), -1);
    cr_assert_eq(load_text(&cfg, LISTENER "[oper a]\nhosts = *\npassword = $6$\n"), -1);
    cr_assert_eq(load_text(&cfg, LISTENER "[oper a]\nhosts = *\npassword = $6$salt$short\n"), -1);
}

Test(config, oper_needs_password_hosts_and_a_name)
{
    expect_error(LISTENER "[oper alice]\nhosts = *\n",
                 ":3: [oper alice] password: missing; expected a crypt(3) hash");
    expect_error(LISTENER "[oper alice]\npassword = " HASH6 "\n",
                 ":3: [oper alice] hosts: missing; expected nick!user@host masks");
    struct mx_config cfg;
    cr_assert_eq(load_text(&cfg, LISTENER "[oper]\nhosts = *\n"), -1);
    cr_assert(strstr(err, ":3: [oper]: needs a name"), "%s", err);
    expect_error(LISTENER "[oper a]\nhosts = *\npassword = " HASH6 "\n"
                 "[oper a]\nhosts = *\npassword = " HASH6 "\n",
                 ":6: [oper a]: duplicate oper name");
    expect_error(LISTENER "[oper a]\nhosts = *\nhosts = x\n",
                 ":5: [oper a] hosts: duplicate key (first at line 4)");
    expect_error(LISTENER "[oper a]\nlisten = 1\n", ":4: [oper a] listen: unknown key");
}

Test(config, cloak_hosts_needs_a_long_secret)
{
    struct mx_config cfg;
    cr_assert_eq(load_text(&cfg, "[listener c]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                                 "cloak_hosts = on\ncloak_secret = short\n"), -1);
    cr_assert(strstr(err, "[listener c] cloak_secret: cloak_hosts = on needs a secret"), "%s", err);
    load_ok(&cfg, "[listener c]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
                  "cloak_hosts = on\ncloak_secret = 0123456789abcdef\n");
}

Test(config, oper_die_is_off_unless_on)
{
    struct mx_config cfg;
    load_ok(&cfg, LISTENER "[oper a]\npassword = " HASH6 "\nhosts = *\n"
                  "[oper b]\npassword = " HASH6 "\nhosts = *\ndie = on\n");
    cr_assert_eq(cfg.opers[0].die, 0);
    cr_assert_eq(cfg.opers[1].die, 1);
    expect_error(LISTENER "[oper a]\npassword = " HASH6 "\nhosts = *\ndie = yes\n",
                 ":6: [oper a] die: expected one of off, on, got 'yes'");
}

#define CHAT_L(name) "[listener " name "]\nlisten = 127.0.0.1:0\nprotocol = chat\n"

/* Each chat listener is a network of its own: one file for two would
 * have each overwrite the other's K-lines. The defaults differ by name. */
Test(config, two_chat_listeners_cannot_share_a_kline_file)
{
    struct mx_config cfg;
    load_ok(&cfg, CHAT_L("a") CHAT_L("b"));
    load_ok(&cfg, CHAT_L("a") "kline_file = off\n" CHAT_L("b") "kline_file = off\n");
    expect_error(CHAT_L("a") "kline_file = bans\n" CHAT_L("b") "kline_file = bans\n",
                 ": [listener b] kline_file: 'bans' is listener a's already; give each chat "
                 "listener its own");
    expect_error(CHAT_L("a") CHAT_L("b") "kline_file = a.klines\n",
                 ": [listener b] kline_file: 'a.klines' is listener a's already; give each chat "
                 "listener its own");
    expect_error(CHAT_L("a") "max_klines = 0\n",
                 ":4: [listener a] max_klines: expected a number from 1 to 1000000, got '0'");
}

Test(config, websocket_transport)
{
    struct mx_config cfg;
    load_ok(&cfg, "[listener irc]\nlisten = *:0\nprotocol = chat\n"
            "[listener web]\nlisten = *:0\nprotocol = chat\ntransport = websocket\n"
            "share_with = irc\nallowed_origins = https://a.example,http://localhost:8067\n"
            "ws_max_message = 4k\n");
    cr_assert_eq(cfg.listeners[0].transport, MX_TRANSPORT_TCP);
    cr_assert_eq(cfg.listeners[1].transport, MX_TRANSPORT_WEBSOCKET);
    cr_assert_str_eq(cfg.listeners[1].share_with, "irc");
    cr_assert_str_eq(cfg.listeners[1].allowed_origins, "https://a.example,http://localhost:8067");
    cr_assert_eq(cfg.listeners[1].ws_max_message, 4096);
    expect_error("[listener a]\nlisten = *:0\ntransport = http\n",
                 ":3: [listener a] transport: expected one of tcp, websocket, got 'http'");
    expect_error("[listener a]\nlisten = *:0\nallowed_origins = https://a.example\n",
                 ":3: [listener a] allowed_origins: only with transport = websocket");
    expect_error("[listener a]\nlisten = *:0\ntransport = websocket\n"
                 "allowed_origins = https://a.example, https://b.example\n",
                 ":4: [listener a] allowed_origins: expected one word without spaces or "
                 "control characters, got 'https://a.example, https://b.example'");
}

Test(config, share_with)
{
    expect_error("[listener web]\nlisten = *:0\nprotocol = chat\nshare_with = irc\n"
                 "[listener irc]\nlisten = *:0\nprotocol = chat\n",
                 ":4: [listener web] share_with: no [listener irc] before this one");
    expect_error("[listener e]\nlisten = *:0\nprotocol = echo\n"
                 "[listener web]\nlisten = *:0\nprotocol = chat\nshare_with = e\n",
                 ":7: [listener web] share_with: [listener e] speaks echo, this one chat");
    expect_error("[listener a]\nlisten = *:0\nprotocol = chat\n"
                 "[listener b]\nlisten = *:0\nprotocol = chat\nshare_with = a\n"
                 "[listener c]\nlisten = *:0\nprotocol = chat\nshare_with = b\n",
                 ":11: [listener c] share_with: [listener b] shares [listener a]'s state; "
                 "name that one");
    expect_error("[listener a]\nlisten = *:0\nprotocol = chat\n"
                 "[listener b]\nlisten = *:0\nprotocol = chat\nshare_with = a\n"
                 "server_name = other.example\n",
                 ":8: [listener b] server_name: this listener shares [listener a]'s state, so "
                 "its chat keys are that one's");
}
