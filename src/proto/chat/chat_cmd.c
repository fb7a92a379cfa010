/* chat_cmd.c - the command table and the commands that act: messages,
 * JOIN and PART, AWAY, PING (registration, modes, TOPIC, KICK and
 * INVITE, operators, K-lines and the queries have files of their own;
 * chat_int.h lists them).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->vhost
/* Targets in one PRIVMSG, KICK or JOIN at most (005 TARGMAX): more are
 * dropped silently. */
#define MAX_TARGETS CHAT_MAX_TARGETS

unsigned chat_split_commas(char *s, char **out, unsigned max)
{
    unsigned n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(s, ",", &save); tok && n < max; tok = strtok_r(NULL, ",", &save))
        out[n++] = tok;
    return n;
}

int chat_text_len(const char *s, size_t max)
{
    size_t n = strlen(s);
    return (int)(n > max ? irc_utf8_cut(s, max) : n);
}

/* ---- PRIVMSG and NOTICE -------------------------------------------------- */

/* Under mu: may cl speak on ch? */
static bool may_speak(struct chat_channel *ch, const struct chat_client *cl)
{
    bool member = cl_on(cl, ch);
    if ((ch->modes & CM_N) && !member)
        return false;
    if (!(ch->modes & CM_M) && !ch->lists[LIST_BAN].n)
        return true;
    const struct chat_member *m = member ? chan_member(ch, cl) : NULL;
    if (m && (m->modes & (MEM_OP | MEM_VOICE)))
        return true;
    return !(ch->modes & CM_M) && !chan_banned(ch, cl);
}

/* Why a message to a channel went nowhere; NOTICE is never answered. */
static void msg_refused(struct chat_client *cl, const char *target, bool exists, bool quiet)
{
    if (quiet)
        return;
    if (!exists)
        cl_numeric(cl, 401, "%s :No such nick/channel", target);
    else
        cl_numeric(cl, 404, "%s :Cannot send to channel", target);
}

/* What a PRIVMSG, NOTICE or TAGMSG (text NULL) relays: the client tags
 * go only to members with message-tags, TAGMSG only to them at all. */
struct relay {
    const char *cmd, *text, *tags;
    bool quiet;                     /* NOTICE: no error replies */
};

static struct chat_msg *relay_msg(struct chat_client *cl, const struct relay *r,
                                  const char *target)
{
    struct mx_chunk *line = r->text
        ? chat_line(":%s!%s@%s %s %s :%s", PFX(cl), r->cmd, target, r->text)
        : chat_line(":%s!%s@%s %s %s", PFX(cl), r->cmd, target);
    return chat_msg_new(line, NULL, r->tags, r->text ? 0 : CAP_MESSAGE_TAGS);
}

/* echo-message: the sender's copy, as its peers see it. */
static void echo(struct chat_client *cl, struct chat_msg *msg)
{
    if ((cl->caps & CAP_ECHO_MESSAGE) && msg)
        cl_send_msg(cl, msg);
}

/* STATUSMSG: the status "@#c" (operators) or "+#c" (voiced members and
 * operators) asks for, 0 for a plain name; with both, the lower one
 * holds ("@+#c" is "+#c", as Modern IRC has it). *name skips them. */
static unsigned status_wanted(const char **name)
{
    bool op = false, voice = false;
    for (; **name == '@' || **name == '+'; (*name)++) {
        if (**name == '+')
            voice = true;
        else
            op = true;
    }
    return voice ? MEM_OP | MEM_VOICE : op ? MEM_OP : 0;
}

struct status_to {
    struct chat_client *cl;
    unsigned worker;
    uint64_t id;
};

/* Under mu: ch's members (but cl) with a status in need, into a new
 * array (NULL without memory: nobody hears it). */
static struct status_to *status_members(struct chat_channel *ch, const struct chat_client *cl,
                                        unsigned need, unsigned *n)
{
    struct status_to *v = malloc(ch->n * sizeof *v);
    *n = 0;
    for (unsigned i = 0; v && i < ch->n; i++) {
        const struct chat_member *mb = &ch->m[i];
        if (mb->cl != cl && (mb->modes & need))
            v[(*n)++] = (struct status_to){ mb->cl, mb->cl->worker, mb->cl->id };
    }
    return v;
}

/* A STATUSMSG goes to each such member by itself (a post to each on
 * another worker), not through the channel's fan-out, whose workers
 * know their members but not their status: operators and voiced
 * members are few. The sender must be able to speak on the channel. */
static void msg_status(struct chat_client *cl, const struct relay *r, const char *target,
                       const char *name, unsigned need)
{
    struct mx_chat *chat = cl->chat;
    char to_name[CHAT_CHANLEN + 2] = "";
    struct status_to *to = NULL;
    unsigned n = 0;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    bool ok = ch && may_speak(ch, cl);
    if (ok) {
        snprintf(to_name, sizeof to_name, "%c%s", need == MEM_OP ? '@' : '+', ch->name);
        to = status_members(ch, cl, need, &n);
    }
    chat_unlock(chat);
    if (!ok) {
        msg_refused(cl, target, ch != NULL, r->quiet);
        return;
    }
    struct chat_msg *msg = relay_msg(cl, r, to_name);
    for (unsigned i = 0; i < n; i++)
        chat_send_msg_to(chat, cl->worker, to[i].cl, to[i].worker, to[i].id, msg);
    echo(cl, msg);
    chat_msg_unref(msg);
    free(to);
}

static void msg_channel(struct chat_client *cl, const struct relay *r, const char *target)
{
    struct mx_chat *chat = cl->chat;
    const char *name = target;
    unsigned need = status_wanted(&name);
    if (need) {
        msg_status(cl, r, target, name, need);
        return;
    }
    struct chat_aud a;
    aud_init(&a, cl, 1);
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    bool ok = ch && may_speak(ch, cl);
    if (ok)
        aud_add(&a, ch);
    chat_unlock(chat);
    if (ok) {
        struct chat_msg *msg = relay_msg(cl, r, ch->name);
        wire_chan_msg(chat, ch->name, msg);
        echo(cl, msg);
        aud_msg(&a, msg, cl);
    } else {
        msg_refused(cl, name, ch != NULL, r->quiet);
    }
}

/* Not here: perhaps on another node (chat_cluster.c answers 401 then). */
static void msg_remote_nick(struct chat_client *cl, const struct relay *r, const char *nick)
{
    struct chat_msg *msg = cl->chat->has_bus && irc_nick_valid(nick, CHAT_NICKLEN)
        ? relay_msg(cl, r, nick) : NULL;
    if (msg && chat_cluster_to_nick(cl, nick, msg, r->quiet, NULL))
        echo(cl, msg);
    else if (!r->quiet)
        cl_numeric(cl, 401, "%s :No such nick/channel", nick);
    chat_msg_unref(msg);
}

static void msg_nick(struct chat_client *cl, const struct relay *r, const char *nick)
{
    struct mx_chat *chat = cl->chat;
    char away[CHAT_AWAYLEN + 1] = "";
    chat_lock(chat);
    struct chat_client *to = cl_registered(chat, nick);
    unsigned to_worker = to ? to->worker : 0;
    uint64_t to_id = to ? to->id : 0;
    if (to && to->away)
        snprintf(away, sizeof away, "%s", to->away);
    chat_unlock(chat);
    if (!to) {
        msg_remote_nick(cl, r, nick);
        return;
    }
    struct chat_msg *msg = relay_msg(cl, r, nick);
    chat_send_msg_to(chat, cl->worker, to, to_worker, to_id, msg);
    echo(cl, msg);
    chat_msg_unref(msg);
    if (away[0] && !r->quiet && r->text)
        cl_numeric(cl, 301, "%s :%s", nick, away);
}

static void cmd_message(struct chat_client *cl, struct irc_msg *m)
{
    bool tagmsg = m->cmd[0] == 'T';
    struct relay r = { .cmd = m->cmd, .quiet = m->cmd[0] == 'N' };
    if (m->nparams < 1 || !m->params[0][0]) {
        if (!r.quiet)
            cl_numeric(cl, 411, ":No recipient given (%s)", m->cmd);
        return;
    }
    if (!tagmsg && (m->nparams < 2 || !m->params[1][0])) {
        if (!r.quiet)
            cl_numeric(cl, 412, ":No text to send");
        return;
    }
    r.text = tagmsg ? NULL : m->params[1];
    /* Client-only tags, from a client that negotiated them. */
    char tags[IRC_CLIENT_TAGS_MAX + 1];
    tags[0] = '\0'; /* not "= \"\"": that would clear all 4 KiB per message */
    if (m->tags && (cl->caps & CAP_MESSAGE_TAGS) &&
        irc_client_tags(m->tags, tags, sizeof tags) == SIZE_MAX)
        tags[0] = '\0';
    r.tags = tags;
    char *targets[MAX_TARGETS];
    unsigned n = chat_split_commas(m->params[0], targets, MAX_TARGETS);
    for (unsigned i = 0; i < n; i++) {
        if (strchr("#@+", targets[i][0]))
            msg_channel(cl, &r, targets[i]);
        else
            msg_nick(cl, &r, targets[i]);
    }
}

/* ---- simple ones --------------------------------------------------------- */

static void cmd_ping(struct chat_client *cl, struct irc_msg *m)
{
    const char *srv = cl_set(cl)->o.server_name;
    if (m->nparams < 1)
        cl_numeric(cl, 409, ":No origin specified");
    else
        cl_printf(cl, ":%s PONG %s :%s", srv, srv, m->params[0]);
}

static void cmd_pong(struct chat_client *cl, struct irc_msg *m)
{
    /* Any input already counted as a sign of life (chat.c). */
    (void)cl;
    (void)m;
}

static void cmd_quit(struct chat_client *cl, struct irc_msg *m)
{
    char why[IRC_LINE_MAX];
    snprintf(why, sizeof why, "Quit: %s", m->nparams ? m->params[0] : "");
    chat_close_link(cl, m->nparams ? why : "Client Quit", false);
}

static void cmd_away(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    bool set = m->nparams > 0 && m->params[0][0];
    char *text = set ? strndup(m->params[0], (size_t)chat_text_len(m->params[0], CHAT_AWAYLEN))
                     : NULL;
    chat_lock(chat);
    free(cl->away);
    cl->away = text;
    chat_unlock(chat);
    if (text)
        cl_numeric(cl, 306, ":You have been marked as being away");
    else
        cl_numeric(cl, 305, ":You are no longer marked as being away");
    /* away-notify: cl->away is the owner's to read. */
    chat_tell_peers(cl, chat_msg_new(text ? chat_line(":%s!%s@%s AWAY :%s", PFX(cl), text)
                                          : chat_line(":%s!%s@%s AWAY", PFX(cl)),
                                     NULL, NULL, CAP_AWAY_NOTIFY), false);
}

/* ---- channels ------------------------------------------------------------ */

static void cmd_join(struct chat_client *cl, struct irc_msg *m)
{
    if (strcmp(m->params[0], "0") == 0) {
        chat_part_all(cl);
        return;
    }
    char *names[MAX_TARGETS], *keys[MAX_TARGETS];
    unsigned n = chat_split_commas(m->params[0], names, MAX_TARGETS);
    unsigned nk = m->nparams > 1 ? chat_split_commas(m->params[1], keys, MAX_TARGETS) : 0;
    chat_join_list(cl, names, keys, n, nk);
}

static void cmd_part(struct chat_client *cl, struct irc_msg *m)
{
    char *names[MAX_TARGETS];
    unsigned n = chat_split_commas(m->params[0], names, MAX_TARGETS);
    /* An empty reason is none: "PART #a :" relays no empty trailing. */
    const char *reason = m->nparams > 1 && m->params[1][0] ? m->params[1] : NULL;
    for (unsigned i = 0; i < n; i++)
        chat_part(cl, names[i], reason);
}

/* ---- STATS --------------------------------------------------------------- */

static void stats_m(struct chat_client *cl);

static void cmd_stats(struct chat_client *cl, struct irc_msg *m)
{
    char q = m->params[0][0];
    switch (q) {
    case 'u': chat_stats_u(cl); break;
    case 'l': chat_stats_l(cl); break;
    case 'k': chat_stats_k(cl); break;
    case 'm': stats_m(cl); break;
    default: break; /* unknown letters: only the end (Modern IRC) */
    }
    cl_numeric(cl, 219, "%c :End of STATS report", q ? q : '*');
}

/* ---- the table ----------------------------------------------------------- */

struct cmd {
    const char *name;
    void (*fn)(struct chat_client *, struct irc_msg *);
    unsigned minparams;
    bool before_reg;            /* allowed before registration */
};

/* The hot ones first: the table is searched in order. */
static const struct cmd cmds[] = {
    { "PRIVMSG", cmd_message, 0, false },
    { "NOTICE", cmd_message, 0, false },
    { "PING", cmd_ping, 0, true },
    { "PONG", cmd_pong, 0, true },
    { "JOIN", cmd_join, 1, false },
    { "PART", cmd_part, 1, false },
    { "QUIT", cmd_quit, 0, true },
    { "NICK", chat_cmd_nick, 0, true },
    { "USER", chat_cmd_user, 0, true },
    { "PASS", chat_cmd_pass, 0, true },
    { "CAP", chat_cmd_cap, 0, true },
    { "MODE", chat_cmd_mode, 1, false },
    { "NAMES", chat_cmd_names, 0, false },
    { "LIST", chat_cmd_list, 0, false },
    { "TOPIC", chat_cmd_topic, 1, false },
    { "WHO", chat_cmd_who, 0, false },
    { "WHOIS", chat_cmd_whois, 1, false },
    { "KICK", chat_cmd_kick, 2, false },
    { "INVITE", chat_cmd_invite, 2, false },
    { "AWAY", cmd_away, 0, false },
    { "MOTD", chat_cmd_motd, 0, false },
    { "OPER", chat_cmd_oper, 2, false },
    { "KILL", chat_cmd_kill, 1, false },
    { "WALLOPS", chat_cmd_wallops, 1, false },
    { "REHASH", chat_cmd_rehash, 0, false },
    { "STATS", cmd_stats, 1, false },
    { "KLINE", chat_cmd_kline, 1, false },
    { "UNKLINE", chat_cmd_unkline, 1, false },
    { "DIE", chat_cmd_die, 0, false },
    { "WHOWAS", chat_cmd_whowas, 0, false },
    { "ISON", chat_cmd_ison, 1, false },
    { "USERHOST", chat_cmd_userhost, 1, false },
    { "LUSERS", chat_cmd_lusers, 0, false },
    { "TIME", chat_cmd_time, 0, false },
    { "VERSION", chat_cmd_version, 0, false },
    { "ADMIN", chat_cmd_admin, 0, false },
    { "INFO", chat_cmd_info, 0, false },
    { "HELP", chat_cmd_help, 0, false },
    { "LINKS", chat_cmd_links, 0, false },
    { "TAGMSG", cmd_message, 0, false },
    { "SETNAME", chat_cmd_setname, 1, false },
};

#define NCMDS (sizeof cmds / sizeof cmds[0])
_Static_assert(NCMDS <= CHAT_MAX_CMDS, "every command has a counter (chat_int.h)");

/* 212 for each command used: every worker's count, retired ones too
 * (relaxed reads of counters only their workers write). */
static void stats_m(struct chat_client *cl)
{
    struct mx_chat *chat = cl->chat;
    chat_lock(chat);
    unsigned seen = chat->wseen;
    chat_unlock(chat);
    for (size_t i = 0; i < NCMDS; i++) {
        uint64_t n = 0;
        for (unsigned w = 0; w < seen; w++)
            n += chat_counter_get(&chat->wk[w].n.cmds[i]);
        if (n)
            cl_numeric(cl, 212, "%s %llu", cmds[i].name, (unsigned long long)n);
    }
}

/* utf8_only (IRCv3 UTF8ONLY): a line with a parameter that is not UTF-8
 * is refused whole, so nothing that is not UTF-8 (text, channel name)
 * is ever relayed: FAIL INVALID_UTF8, except for NOTICE, which is never
 * answered and only dropped. A QUIT still quits, without its reason. */
static bool utf8_refused(struct chat_client *cl, struct irc_msg *m)
{
    if (!cl_set(cl)->o.utf8_only)
        return false;
    int bad = 0;
    while (bad < m->nparams && irc_utf8_valid(m->params[bad]))
        bad++;
    if (bad == m->nparams)
        return false;
    if (strcmp(m->cmd, "NOTICE") != 0)
        cl_printf(cl, ":%s FAIL %s INVALID_UTF8 :Message rejected, your IRC software MUST "
                  "use UTF-8 encoding on this network", cl_set(cl)->o.server_name, m->cmd);
    if (strcmp(m->cmd, "QUIT") != 0)
        return true;
    m->nparams = 0;
    return false;
}

void chat_dispatch(struct chat_client *cl, struct irc_msg *m)
{
    for (size_t i = 0; i < NCMDS; i++) {
        const struct cmd *c = &cmds[i];
        if (strcmp(c->name, m->cmd) != 0)
            continue;
        if (!c->before_reg && !(cl->flags & CL_REG)) {
            /* NOTICE is never answered, not even with 451 (Modern IRC). */
            if (strcmp(c->name, "NOTICE") != 0)
                cl_numeric(cl, 451, ":You have not registered");
        } else if ((unsigned)m->nparams < c->minparams)
            cl_numeric(cl, 461, "%s :Not enough parameters", c->name);
        else if (!utf8_refused(cl, m))
            c->fn(cl, m);
        chat_count(&cl->chat->wk[cl->worker].n.cmds[i]);
        return;
    }
    if (cl->flags & CL_REG)
        cl_numeric(cl, 421, "%s :Unknown command", m->cmd);
    else
        cl_numeric(cl, 451, ":You have not registered");
}
