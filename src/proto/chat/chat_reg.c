/* chat_reg.c - registration (PASS, CAP, NICK, USER, the welcome burst),
 * nick changes, and closing a link with an ERROR line.
 */
#include <stdarg.h>
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

/* RPL_ISUPPORT: at most 13 tokens a line (RFC 2812 2.3: 15 parameters,
 * less the nick and the trailing text), and well under 512 bytes. */
#define ISUPPORT_PER_LINE 13
#define ISUPPORT_TOKEN 96
#define ISUPPORT_MAX 32

struct isupport {
    char tok[ISUPPORT_MAX][ISUPPORT_TOKEN];
    unsigned n;
};

static void tok_add(struct isupport *is, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tok_add(struct isupport *is, const char *fmt, ...)
{
    if (is->n == ISUPPORT_MAX)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(is->tok[is->n++], ISUPPORT_TOKEN, fmt, ap);
    va_end(ap);
}

/* Each token is a promise the code keeps: every number is a bound it
 * enforces (chat_int.h), every letter a mode chat_mode.c knows. */
static void isupport_tokens(const struct chat_client *cl, struct isupport *is)
{
    const struct chat_settings *set = cl_set(cl);
    unsigned t = CHAT_MAX_TARGETS;
    tok_add(is, "AWAYLEN=%d", CHAT_AWAYLEN);
    tok_add(is, "CASEMAPPING=rfc1459");
    tok_add(is, "CHANLIMIT=#:%u", set->o.max_channels);
    tok_add(is, "CHANMODES=beI,k,l,imnst");
    tok_add(is, "CHANNELLEN=%d", CHAT_CHANLEN);
    tok_add(is, "CHANTYPES=#");
    tok_add(is, "ELIST=MNU");
    tok_add(is, "EXCEPTS=e");
    tok_add(is, "INVEX=I");
    tok_add(is, "KICKLEN=%d", CHAT_TOPICLEN);
    tok_add(is, "MAXLIST=b:%d,e:%d,I:%d", CHAT_MAX_LIST, CHAT_MAX_LIST, CHAT_MAX_LIST);
    tok_add(is, "MODES=%d", CHAT_MODES);
    tok_add(is, "NAMELEN=%d", CHAT_REALLEN);
    tok_add(is, "NETWORK=muxd");
    tok_add(is, "NICKLEN=%d", CHAT_NICKLEN);
    tok_add(is, "PREFIX=(ov)@+");
    tok_add(is, "STATUSMSG=@+");
    tok_add(is, "TARGMAX=JOIN:%u,KICK:%u,LIST:%u,NAMES:%u,NOTICE:%u,PART:%u,PRIVMSG:%u,"
            "WHOIS:5", t, t, t, t, t, t, t);
    tok_add(is, "TOPICLEN=%d", CHAT_TOPICLEN);
    if (set->o.utf8_only)
        tok_add(is, "UTF8ONLY");
    tok_add(is, "WHOX");
}

/* As many 005 lines as the tokens need: in the welcome burst and after
 * VERSION's 351. */
static void send_isupport(struct chat_client *cl)
{
    struct isupport is = { .n = 0 };
    isupport_tokens(cl, &is);
    for (unsigned i = 0; i < is.n;) {
        char line[IRC_LINE_MAX];
        size_t len = 0;
        for (unsigned k = 0; i < is.n && k < ISUPPORT_PER_LINE && len + ISUPPORT_TOKEN < 400;
             i++, k++)
            len += (size_t)snprintf(line + len, sizeof line - len, "%s ", is.tok[i]);
        cl_numeric(cl, 5, "%s:are supported by this server", line);
    }
}

static void welcome_head(struct chat_client *cl)
{
    const struct mx_chat *chat = cl->chat;
    const char *srv = cl_set(cl)->o.server_name;
    cl_numeric(cl, 1, ":Welcome to the Internet Relay Network %s!%s@%s", PFX(cl));
    cl_numeric(cl, 2, ":Your host is %s, running version muxd-%s", srv, MUXD_VERSION);
    cl_numeric(cl, 3, ":This server was created %s", chat->created_str);
    cl_numeric(cl, 4, "%s muxd-%s iow Ibeiklmnopstv", srv, MUXD_VERSION);
}

/* 001 to 005, LUSERS (as other servers send it), then the MOTD. */
static void welcome(struct chat_client *cl)
{
    welcome_head(cl);
    send_isupport(cl);
    chat_lusers(cl);
    send_motd(cl);
}

void chat_cmd_version(struct chat_client *cl, struct irc_msg *m)
{
    if (!chat_target_here(cl, m->nparams ? m->params[0] : NULL))
        return;
    cl_numeric(cl, 351, "muxd-%s %s :muxd chat", MUXD_VERSION, cl_set(cl)->o.server_name);
    send_isupport(cl);
}


static void unreachable(struct chat_client *cl)
{
    cl_numeric(cl, 400, "NICK :The chat network cannot be reached to check that nick; "
               "try again later");
}

/* On registration: the nick's claim across the network came back. */
static void nick_claimed(struct chat_client *cl, int r, const char *nick)
{
    if (r == 1) {
        cl->flags |= CL_CLAIMED;
        try_register(cl);
        return;
    }
    chat_lock(cl->chat);
    cl_unname(cl);  /* first: the replies name the client "*" again */
    chat_unlock(cl->chat);
    if (r == 0)
        cl_numeric(cl, 433, "%s :Nickname is already in use", nick);
    else
        unreachable(cl);
}

/* With other nodes, a nick is claimed across the network before the
 * welcome (chat_cluster.c); false while that is out or refused. */
static bool network_nick(struct chat_client *cl)
{
    if (cl->flags & CL_CLAIMED)
        return true;
    int rc = chat_cluster_claim(cl, cl->nick, nick_claimed);
    if (rc < 0) {
        chat_lock(cl->chat);
        cl_unname(cl);
        chat_unlock(cl->chat);
        unreachable(cl);
    }
    return rc == 1;
}

static void try_register(struct chat_client *cl)
{
    struct mx_chat *chat = cl->chat;
    if ((cl->flags & (CL_REG | CL_CAP | CL_CLAIMING)) ||
        (cl->flags & (CL_NICK | CL_USER)) != (CL_NICK | CL_USER))
        return;
    if (cl_set(cl)->o.password && !(cl->flags & CL_PASS)) {
        cl_numeric(cl, 464, ":Password incorrect");
        chat_close_link(cl, "Bad password", true);
        return;
    }
    if (chat_kline_refuse(cl) || !network_nick(cl))
        return;
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
    /* An empty user name or real name is a missing one (Modern IRC). */
    if (m->nparams < 4 || !m->params[0][0] || !m->params[3][0]) {
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

/* cl takes nick if no one here has it (433 if someone has). Returns
 * whether it did. */
static bool nick_apply(struct chat_client *cl, const char *nick)
{
    struct mx_chat *chat = cl->chat;
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
    wire_user_line(chat, a.v, a.n, line);
    aud_line(&a, line, NULL);
    mx_chunk_unref(line);
    return !taken;
}

/* A registered client's new nick, claimed across the network first: the
 * old claim goes once the new one is held. */
static void nick_changed(struct chat_client *cl, int r, const char *nick)
{
    if (r != 1) {
        if (r == 0)
            cl_numeric(cl, 433, "%s :Nickname is already in use", nick);
        else
            unreachable(cl);
        return;
    }
    char old[CHAT_NICKLEN + 1];
    snprintf(old, sizeof old, "%s", cl->nick);
    bool had = cl->flags & CL_CLAIMED;
    if (!nick_apply(cl, nick)) {  /* taken here meanwhile */
        chat_cluster_let_go(cl->chat, cl->uid, nick);
        return;
    }
    if (had)
        chat_cluster_let_go(cl->chat, cl->uid, old);
    cl->flags |= CL_CLAIMED;
}

static bool taken_here(struct chat_client *cl, const char *nick)
{
    chat_lock(cl->chat);
    struct chat_client *other = cl_by_nick(cl->chat, nick);
    chat_unlock(cl->chat);
    return other && other != cl;
}

/* A guest nick claimed for a client whose nick went to another. */
static void guest_claimed(struct chat_client *cl, int r, const char *nick)
{
    if (r == 0 || (r == 1 && !nick_apply(cl, nick))) {
        if (r == 1)
            chat_cluster_let_go(cl->chat, cl->uid, nick);
        chat_nick_collided(cl);  /* that one was taken: other digits */
        return;
    }
    if (r == 1)
        cl->flags |= CL_CLAIMED;
    /* r < 0, the network lost again: cl keeps the nick it shares until
     * it changes it or the network is back (it claims it again then). */
}

void chat_nick_collided(struct chat_client *cl)
{
    cl->flags &= ~CL_CLAIMED;  /* the claim is the other client's */
    char guest[CHAT_NICKLEN + 1];
    snprintf(guest, sizeof guest, "Guest%05u", (unsigned)arc4random_uniform(100000));
    cl_printf(cl, ":%s NOTICE %s :*** Your nick was taken by a user of another server of this "
              "network while this one was cut off from it: you are %s now", cl_set(cl)->o.server_name,
              cl->nick, guest);
    if (taken_here(cl, guest))
        chat_nick_collided(cl);
    else if (chat_cluster_claim(cl, guest, guest_claimed) == 1)
        nick_apply(cl, guest);  /* no network any more: this node's word */
}

void chat_cmd_nick(struct chat_client *cl, struct irc_msg *m)
{
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
    /* Registered, with other nodes, and not a change of case only (the
     * claim is on the casefolded nick, held already): claim it first. */
    if ((cl->flags & CL_REG) && cl->chat->has_bus && irc_casecmp(nick, cl->nick) != 0) {
        if (taken_here(cl, nick))
            cl_numeric(cl, 433, "%s :Nickname is already in use", nick);
        else if (chat_cluster_claim(cl, nick, nick_changed) < 0)
            unreachable(cl);
        return;
    }
    if (nick_apply(cl, nick))
        try_register(cl);
}
