/* test_chat_timeouts.c - the chat service's timeouts: a client that does
 * not register in register_timeout is cut off, and so is one that does
 * not answer a PING in ping_timeout, while the others stay.
 *
 * Times are checked from below only (this runs on busy shared machines,
 * under sanitizers): never "it took at most". */
#include "harness.h"
#include "irc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>

TestSuite(chat_limits, .init = mx_init, .fini = mx_fini, .timeout = 120);

#define T 5000

static void login(struct irc *c, int port, const char *nick) { IRC_LOGIN(c, port, nick, T); }

static void join(struct irc *c, const char *chan) { IRC_JOIN(c, chan, T); }

/* ---- timeouts ------------------------------------------------------------ */

Test(chat_limits, registration_timeout)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
        "server_name = test.muxd\nregister_timeout = 1s\n");
    int port = mx_port(d, "chat");
    struct irc idle, half, ok;
    int64_t t0 = mx_now_ms();
    MX_REQUIRE(irc_open(&idle, port) == 0);
    MX_REQUIRE(irc_open(&half, port) == 0);
    MX_REQUIRE(irc_send(&half, "NICK halfway") == 0);
    login(&ok, port, "intime");
    struct irc *late[] = { &idle, &half };
    /* A client with a nick is named by it, one without by its address. */
    const char *named[] = { ":Closing Link: 127.0.0.1 (Registration timed out)",
                            ":Closing Link: halfway (Registration timed out)" };
    for (int i = 0; i < 2; i++) {
        IRC_EXPECT(late[i], "ERROR", named[i], T);
        int64_t waited = mx_now_ms() - t0;
        MX_REQUIRE(waited >= 900, "cut after %lld ms, register_timeout is 1 s",
                   (long long)waited);
        MX_REQUIRE(irc_wait_eof(late[i], T), "no EOF after the ERROR line");
    }
    /* The nick of the one cut off is free; the registered one stays. */
    mx_sleep_ms(1000);
    MX_REQUIRE(irc_send(&ok, "NICK halfway") == 0);
    IRC_EXPECT_NEXT(&ok, "NICK", ":intime!uintime@127.0.0.1 NICK :halfway", T);
    MX_REQUIRE(irc_send(&ok, "PING :still") == 0);
    IRC_EXPECT_NEXT(&ok, "PONG", ":still", T);
    irc_close(&idle);
    irc_close(&half);
    irc_close(&ok);
    mx_stop_ok(d, 10000);
}

/* One line from whichever of two clients has one within ms: 1 (in
 * *which), 0 at EOF of *which, -ETIMEDOUT. */
static int next_of_two(struct irc *c[2], int *which, int ms)
{
    int64_t deadline = mx_now_ms() + ms;
    for (;;) {
        for (int i = 0; i < 2; i++) {
            if (c[i]->eof && c[i]->rlen == 0)
                continue;
            int rc = irc_next(c[i], 0);
            if (rc != -ETIMEDOUT) {
                *which = i;
                return rc;
            }
        }
        int left = (int)(deadline - mx_now_ms());
        if (left <= 0)
            return -ETIMEDOUT;
        struct pollfd p[2] = { { .fd = c[0]->eof ? -1 : c[0]->fd, .events = POLLIN },
                               { .fd = c[1]->eof ? -1 : c[1]->fd, .events = POLLIN } };
        poll(p, 2, left);
    }
}

/* mute never answers the server's PING and is cut off; alive answers
 * every one and stays, over 4 s of 1 s ping intervals. */
Test(chat_limits, ping_timeout)
{
    struct mx_daemon *d = mx_boot(
        "[server]\nworkers = 2\n"
        "[listener chat]\nlisten = 127.0.0.1:0\nprotocol = chat\n"
        "server_name = test.muxd\nping_interval = 1s\nping_timeout = 1s\n");
    int port = mx_port(d, "chat");
    struct irc mute, alive;
    login(&mute, port, "mute");
    login(&alive, port, "alive");
    join(&mute, "#p");
    join(&alive, "#p");
    IRC_EXPECT(&mute, "JOIN", ":alive!", T);
    struct irc *both[2] = { &mute, &alive };
    int64_t t0 = mx_now_ms(), pinged = 0, cut = 0;
    int pings = 0, quits = 0, which;
    bool mute_eof = false;
    while (mx_now_ms() - t0 < 4500 || !mute_eof) {
        MX_REQUIRE(mx_now_ms() - t0 < 20000, "mute still connected after 20 s; last lines:\n%s",
                   irc_recent(&mute));
        int rc = next_of_two(both, &which, 200);
        if (rc == -ETIMEDOUT)
            continue;
        struct irc *c = both[which];
        MX_REQUIRE(rc == 1 || c == &mute, "alive was disconnected; last lines:\n%s",
                   irc_recent(&alive));
        if (rc == 0) {
            MX_REQUIRE(cut, "mute: EOF without an ERROR line; last lines:\n%s",
                       irc_recent(&mute));
            mute_eof = true;
        } else if (c == &mute) {
            if (irc_line_is(mute.line, "PING", NULL)) {
                MX_REQUIRE(!pinged && strcmp(mute.line, "PING :test.muxd") == 0, "mute: %s",
                           mute.line);
                pinged = mx_now_ms();
            } else {
                MX_REQUIRE(pinged && strcmp(mute.line, "ERROR :Closing Link: mute "
                                                       "(Ping timeout)") == 0,
                           "mute: %s", mute.line);
                cut = mx_now_ms();
                MX_REQUIRE(cut - pinged >= 800, "cut %lld ms after the PING, ping_timeout is 1 s",
                           (long long)(cut - pinged));
            }
        } else if (irc_line_is(alive.line, "PING", NULL)) {
            pings++;
            MX_REQUIRE(irc_send(&alive, "PONG :test.muxd") == 0);
        } else {
            MX_REQUIRE(strcmp(alive.line, ":mute!umute@127.0.0.1 QUIT :Ping timeout") == 0,
                       "alive got: %s", alive.line);
            quits++;
        }
    }
    MX_REQUIRE(pings >= 2, "alive got %d PINGs in 4.5 s with ping_interval = 1s", pings);
    MX_REQUIRE(quits == 1, "alive saw mute's QUIT %d times", quits);
    MX_REQUIRE(irc_send(&alive, "PING :still") == 0);
    IRC_EXPECT(&alive, "PONG", ":still", T);
    irc_close(&mute);
    irc_close(&alive);
    mx_stop_ok(d, 10000);
}
