/* chat_reg.c - registration (PASS, CAP, NICK, USER, the welcome burst),
 * nick changes, and closing a link with an ERROR line.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "muxd/log.h"
#include "muxd/muxd.h"
#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->vhost

/* Completes registration if everything it needs is there. */
static void try_register(struct chat_client *cl);

void chat_cmd_pass(struct chat_client *cl, struct irc_msg *m)
{
    const char *want = cl_set(cl)->o.password;
    if (cl->flags & CL_REG)
        cl_numeric(cl, 462, ":You may not reregister");
    else if (m->nparams < 1)
        cl_numeric(cl, 461, "PASS :Not enough parameters");
    else if (want && strcmp(m->params[0], want) == 0)
        cl->flags |= CL_PASS;
    else
        cl->flags &= ~CL_PASS;
}

void chat_cmd_cap(struct chat_client *cl, struct irc_msg *m)
{
    if (m->nparams && strcasecmp(m->params[0], "END") == 0) {
        cl->flags &= ~CL_CAP;
        try_register(cl);
    } else {
        chat_cap(cl, m);
    }
}

static void send_motd(struct chat_client *cl)
{
    const struct chat_settings *set = cl_set(cl);
    if (!set->motd) {
        cl_numeric(cl, 422, ":MOTD File is missing");
        return;
    }
    cl_numeric(cl, 375, ":- %s Message of the day - ", set->o.server_name);
    for (const char *p = set->motd; *p;) {
        size_t n = strcspn(p, "\n");
        cl_numeric(cl, 372, ":- %.*s", (int)(n > 400 ? 400 : n), p);
        p += n + (p[n] == '\n');
    }
    cl_numeric(cl, 376, ":End of MOTD command");
}

void chat_cmd_motd(struct chat_client *cl, struct irc_msg *m)
{
    (void)m;
    send_motd(cl);
}

static void welcome(struct chat_client *cl)
{
    const struct mx_chat *chat = cl->chat;
    const char *srv = cl_set(cl)->o.server_name;
    cl_numeric(cl, 1, ":Welcome to the Internet Relay Network %s!%s@%s", PFX(cl));
    cl_numeric(cl, 2, ":Your host is %s, running version muxd-%s", srv, MUXD_VERSION);
    cl_numeric(cl, 3, ":This server was created %s", chat->created_str);
    cl_numeric(cl, 4, "%s muxd-%s iow biklmnopstv", srv, MUXD_VERSION);
    /* 13 tokens: the most a line holds beside the nick and the trailing
     * text (RFC 2812 2.3: 15 parameters). A 14th needs a second 005. */
    cl_numeric(cl, 5, "CHANTYPES=# PREFIX=(ov)@+ CHANMODES=b,k,l,imnst NICKLEN=%d "
               "CHANNELLEN=%d TOPICLEN=%d KICKLEN=%d AWAYLEN=%d CHANLIMIT=#:%u "
               "MODES=%d MAXLIST=b:%d "
               "CASEMAPPING=rfc1459 NETWORK=muxd :are supported by this server",
               CHAT_NICKLEN, CHAT_CHANLEN, CHAT_TOPICLEN, CHAT_TOPICLEN, CHAT_AWAYLEN,
               cl_set(cl)->o.max_channels, CHAT_MODES, CHAT_MAX_BANS);
    send_motd(cl);
}

static void try_register(struct chat_client *cl)
{
    struct mx_chat *chat = cl->chat;
    if ((cl->flags & (CL_REG | CL_CAP)) || (cl->flags & (CL_NICK | CL_USER)) != (CL_NICK | CL_USER))
        return;
    if (cl_set(cl)->o.password && !(cl->flags & CL_PASS)) {
        cl_numeric(cl, 464, ":Password incorrect");
        chat_close_link(cl, "Bad password", true);
        return;
    }
    cl->flags |= CL_REG;
    mx_debug("chat: %s registered as %s!%s", mx_conn_peer_str(cl->c), cl->nick, cl->user);
    chat_lock(chat);
    cl->registered = true;
    chat->nusers++;
    chat_unlock(chat);
    welcome(cl);
}

void chat_cmd_user(struct chat_client *cl, struct irc_msg *m)
{
    if (cl->flags & (CL_REG | CL_USER)) {
        cl_numeric(cl, 462, ":You may not reregister");
        return;
    }
    if (m->nparams < 4 || !m->params[0][0]) {
        cl_numeric(cl, 461, "USER :Not enough parameters");
        return;
    }
    /* The user name goes into nick!user@host: keep it to safe bytes. */
    size_t n = 0;
    for (const char *p = m->params[0]; *p && n < CHAT_USERLEN; p++)
        if (*p != '@' && *p != '!' && *p != ':' && (unsigned char)*p > ' ')
            cl->user[n++] = *p;
    cl->user[n] = '\0';
    if (n == 0)
        snprintf(cl->user, sizeof cl->user, "user");
    snprintf(cl->real, sizeof cl->real, "%s", m->params[3]);
    cl->flags |= CL_USER;
    try_register(cl);
}

/* Under mu: those who hear of cl's new nick, everyone sharing a channel
 * with it, cl included. Without memory for all, some miss it. */
static void nick_audience(struct chat_client *cl, struct chat_aud *a)
{
    for (unsigned i = 0; i < cl->nchans; i++) {
        if (!aud_add(a, cl->chans[i])) {
            mx_warn("chat: out of memory: %s's NICK reaches %u of its %u channels", cl->nick,
                    i, cl->nchans);
            return;
        }
    }
}

void chat_cmd_nick(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    if (m->nparams < 1 || !m->params[0][0]) {
        cl_numeric(cl, 431, ":No nickname given");
        return;
    }
    const char *nick = m->params[0];
    if (!irc_nick_valid(nick, CHAT_NICKLEN)) {
        cl_numeric(cl, 432, "%s :Erroneous nickname", nick);
        return;
    }
    if ((cl->flags & CL_NICK) && strcmp(nick, cl->nick) == 0)
        return;
    /* Formatted now: it names the old nick. */
    struct mx_chunk *line = (cl->flags & CL_REG)
        ? chat_line(":%s!%s@%s NICK :%s", PFX(cl), nick) : NULL;
    struct chat_aud a;
    aud_init(&a, cl, line ? cl->nchans : 0);
    chat_lock(chat);
    struct chat_client *other = cl_by_nick(chat, nick);
    bool taken = other && other != cl;
    if (!taken)
        cl_rename(cl, nick);
    if (!taken && line)
        nick_audience(cl, &a);
    chat_unlock(chat);
    if (taken)
        cl_numeric(cl, 433, "%s :Nickname is already in use", nick);
    else if (line && !a.n)
        cl_send_chunk(cl, line);
    aud_line(&a, line, NULL);
    mx_chunk_unref(line);
    if (!taken)
        try_register(cl);
}
