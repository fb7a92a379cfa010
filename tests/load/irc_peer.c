/* irc_peer.c - a small fake IRC server for muxd-load's chat tests. It
 * registers clients (NICK + USER -> 001, 433 for a nick in use), answers
 * PING, lets them JOIN channels (the JOIN is echoed to every member) and
 * relays channel PRIVMSGs to the other members - with faults on request:
 *
 *   load_irc_peer [--drop K] [--dup K] [--swap K] [--spoof K] [--slow R]
 *     --drop K  every K-th delivery is not sent (loss)
 *     --dup K   every K-th delivery is sent twice (duplication)
 *     --swap K  every K-th delivery is held back and sent after the next
 *               one to the same receiver (reordering)
 *     --spoof K every K-th delivery names another sender: a '0' after
 *               the nick (ld1 -> ld10, ld0 -> ld00) (corruption)
 *     --slow R  relays at most R PRIVMSGs a second, the rest waiting in
 *               the socket, as flood control would (lateness, no loss)
 *
 * Prints "port N" once listening on 127.0.0.1. One thread, level-triggered
 * epoll, blocking sends (test loads are small). Runs until killed. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "net.h"

#define MAX_CLIENTS 4096
#define MAX_CHANS 64
#define LINE_MAX 1024

struct client {
    bool used, registered, user_seen;
    char nick[32];
    char in[LINE_MAX];
    size_t in_len;
    char held[LINE_MAX + 256]; /* --swap: a delivery held back */
};

struct chan {
    char name[64];
    int members[MAX_CLIENTS];
    int n;
};

static struct client clients[MAX_CLIENTS]; /* indexed by fd */
static struct chan chans[MAX_CHANS];
static int nchans;
static unsigned long drop_k, dup_k, swap_k, spoof_k, slow_r, deliveries;

static void say(int fd, const char *line)
{
    size_t n = strlen(line);
    for (size_t sent = 0; sent < n;) {
        ssize_t k = send(fd, line + sent, n - sent, MSG_NOSIGNAL);
        if (k <= 0)
            return;
        sent += (size_t)k;
    }
}

static struct chan *chan_get(const char *name)
{
    for (int i = 0; i < nchans; i++)
        if (strcmp(chans[i].name, name) == 0)
            return &chans[i];
    if (nchans == MAX_CHANS)
        return NULL;
    struct chan *c = &chans[nchans++];
    snprintf(c->name, sizeof c->name, "%s", name);
    return c;
}

/* One delivery to fd, with the fault asked for. */
static void deliver(int fd, const char *line)
{
    deliveries++;
    struct client *c = &clients[fd];
    if (drop_k && deliveries % drop_k == 0)
        return;
    char spoofed[LINE_MAX + 256];
    const char *bang = strchr(line, '!');
    if (spoof_k && deliveries % spoof_k == 0 && bang) {
        snprintf(spoofed, sizeof spoofed, "%.*s0%s", (int)(bang - line), line, bang);
        line = spoofed;
    }
    if (swap_k && deliveries % swap_k == 0 && !c->held[0]) {
        snprintf(c->held, sizeof c->held, "%s", line);
        return;
    }
    say(fd, line);
    if (dup_k && deliveries % dup_k == 0)
        say(fd, line);
    if (c->held[0]) {
        say(fd, c->held);
        c->held[0] = '\0';
    }
}

static void maybe_welcome(int fd)
{
    struct client *c = &clients[fd];
    if (c->registered || !c->nick[0] || !c->user_seen)
        return;
    c->registered = true;
    char line[128];
    snprintf(line, sizeof line, ":peer 001 %s :Welcome to the fake net %s\r\n", c->nick, c->nick);
    say(fd, line);
}

static void on_nick(int fd, const char *nick)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (clients[i].used && i != fd && strcmp(clients[i].nick, nick) == 0) {
            char line[128];
            snprintf(line, sizeof line, ":peer 433 * %s :Nickname is already in use\r\n", nick);
            say(fd, line);
            return;
        }
    snprintf(clients[fd].nick, sizeof clients[fd].nick, "%s", nick);
    maybe_welcome(fd);
}

static void on_join(int fd, const char *name)
{
    struct chan *ch = chan_get(name);
    if (!ch)
        return;
    ch->members[ch->n++] = fd;
    char line[160];
    snprintf(line, sizeof line, ":%s!u@peer JOIN :%s\r\n", clients[fd].nick, name);
    for (int i = 0; i < ch->n; i++)
        say(ch->members[i], line);
}

static void on_privmsg(int fd, const char *target, const char *text)
{
    struct chan *ch = chan_get(target);
    if (!ch)
        return;
    if (slow_r) /* the whole peer waits: nothing is read meanwhile */
        nanosleep(&(struct timespec){ .tv_nsec = (long)(1000000000ul / slow_r) }, NULL);
    char line[LINE_MAX + 200];
    snprintf(line, sizeof line, ":%s!u@peer PRIVMSG %s :%s\r\n", clients[fd].nick, target, text);
    for (int i = 0; i < ch->n; i++)
        if (ch->members[i] != fd)
            deliver(ch->members[i], line);
}

/* One line without its CR LF. */
static void on_line(int fd, char *line)
{
    char *cmd = strtok(line, " ");
    char *arg = strtok(NULL, " ");
    char *rest = strtok(NULL, "");
    if (!cmd)
        return;
    if (strcmp(cmd, "NICK") == 0 && arg) {
        on_nick(fd, arg);
    } else if (strcmp(cmd, "USER") == 0) {
        clients[fd].user_seen = true;
        maybe_welcome(fd);
    } else if (strcmp(cmd, "PING") == 0) {
        char out[128];
        snprintf(out, sizeof out, ":peer PONG peer :%s\r\n", arg ? arg : "");
        say(fd, out);
    } else if (strcmp(cmd, "JOIN") == 0 && arg) {
        on_join(fd, arg);
    } else if (strcmp(cmd, "PRIVMSG") == 0 && arg && rest) {
        on_privmsg(fd, arg, rest[0] == ':' ? rest + 1 : rest);
    }
}

static void drop_client(int ep, int fd)
{
    for (int i = 0; i < nchans; i++)
        for (int k = 0; k < chans[i].n; k++)
            if (chans[i].members[k] == fd)
                chans[i].members[k--] = chans[i].members[--chans[i].n];
    memset(&clients[fd], 0, sizeof clients[fd]);
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
}

static void on_readable(int ep, int fd)
{
    struct client *c = &clients[fd];
    ssize_t n = recv(fd, c->in + c->in_len, sizeof c->in - 1 - c->in_len, 0);
    if (n <= 0) {
        drop_client(ep, fd);
        return;
    }
    c->in_len += (size_t)n;
    c->in[c->in_len] = '\0';
    char *start = c->in, *nl;
    while ((nl = strchr(start, '\n'))) {
        *nl = '\0';
        if (nl > start && nl[-1] == '\r')
            nl[-1] = '\0';
        on_line(fd, start);
        if (!clients[fd].used)
            return;
        start = nl + 1;
    }
    c->in_len = strlen(start);
    memmove(c->in, start, c->in_len + 1);
    if (c->in_len == sizeof c->in - 1)
        drop_client(ep, fd); /* a line too long */
}

static void parse_args(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        unsigned long v = strtoul(argv[i + 1], NULL, 10);
        if (strcmp(argv[i], "--drop") == 0)
            drop_k = v;
        else if (strcmp(argv[i], "--dup") == 0)
            dup_k = v;
        else if (strcmp(argv[i], "--swap") == 0)
            swap_k = v;
        else if (strcmp(argv[i], "--spoof") == 0)
            spoof_k = v;
        else if (strcmp(argv[i], "--slow") == 0)
            slow_r = v > 1 ? v : 2;
    }
}

static bool admit(int fd)
{
    if (fd >= MAX_CLIENTS)
        return false;
    int one = 1; /* line by line, as a real server sends them */
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    clients[fd] = (struct client){ .used = true };
    return true;
}

int main(int argc, char **argv)
{
    parse_args(argc, argv);
    int lfd = mx_listen_announced("irc_peer");
    mx_serve_forever(lfd, admit, on_readable);
    perror("irc_peer: epoll");
    return 1;
}
