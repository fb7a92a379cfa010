/* chat_cmd.c - the command table and the commands that act: messages,
 * channels, moderation (registration, modes, operators, K-lines and the
 * queries have files of their own; chat_int.h lists them).
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

/* s's length cut to max bytes (TOPICLEN, KICKLEN, AWAYLEN), never inside a
 * UTF-8 sequence. */
static int text_len(const char *s, size_t max)
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

/* Under mu: only registered clients can be talked to or about. */
static struct chat_client *nick_find(struct mx_chat *chat, const char *nick)
{
    struct chat_client *cl = cl_by_nick(chat, nick);
    return cl && cl->registered ? cl : NULL;
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
    struct chat_client *to = nick_find(chat, nick);
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
    char *text = set ? strndup(m->params[0], (size_t)text_len(m->params[0], CHAT_AWAYLEN))
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

/* The reply for a channel command refused with num (0: none). */
static void chan_refusal(struct chat_client *cl, unsigned num, const char *name)
{
    static const char *const text[] = {
        [0] = "No such channel",                /* 403 */
        [1] = "You're not on that channel",     /* 442 */
        [2] = "You're not channel operator",    /* 482 */
    };
    int i = num == 403 ? 0 : num == 442 ? 1 : num == 482 ? 2 : -1;
    if (i >= 0)
        cl_numeric(cl, num, "%s :%s", name, text[i]);
}

/* Under mu: is cl an operator of ch? */
static bool is_op(struct chat_channel *ch, const struct chat_client *cl)
{
    const struct chat_member *m = chan_member(ch, cl);
    return m && (m->modes & MEM_OP);
}

/* Under mu: the numeric that refuses cl's TOPIC on ch (set: a change),
 * or 0. An outsider may read the topic of a channel LIST shows it. */
static unsigned topic_refusal(struct chat_channel *ch, struct chat_client *cl, bool set)
{
    if (!ch)
        return 403;
    if (!cl_on(cl, ch) && (set || (ch->modes & CM_S)))
        return 442;
    return set && (ch->modes & CM_T) && !is_op(ch, cl) ? 482 : 0;
}

static void cmd_topic(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    struct chat_aud a;
    aud_init(&a, cl, 1);
    const char *name = m->params[0];
    bool set = m->nparams >= 2;
    int len = set ? text_len(m->params[1], CHAT_TOPICLEN) : 0;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    unsigned err = topic_refusal(ch, cl, set);
    if (!err && !set)
        chan_topic_reply(cl, ch, true);
    if (!err && set) {
        /* An empty topic clears it; everyone sees "TOPIC #a :". */
        free(ch->topic);
        ch->topic = len ? strndup(m->params[1], (size_t)len) : NULL;
        snprintf(ch->topic_by, sizeof ch->topic_by, "%s!%s@%s", PFX(cl));
        ch->topic_at = time(NULL);
        wire_topic(chat, ch);
        aud_add(&a, ch);
    }
    chat_unlock(chat);
    chan_refusal(cl, err, name);
    if (!a.n)
        return;
    struct mx_chunk *line = chat_line(":%s!%s@%s TOPIC %s :%.*s", PFX(cl), ch->name, len,
                                      m->params[1]);
    wire_chan_line(chat, ch->name, line);
    aud_line(&a, line, NULL);
    mx_chunk_unref(line);
}

/* ---- moderation ---------------------------------------------------------- */

/* Under mu: the numeric that stops cl kicking from ch, or 0. */
static unsigned kick_refusal(struct chat_channel *ch, struct chat_client *cl)
{
    if (!ch)
        return 403;
    if (!cl_on(cl, ch))
        return 442;
    return is_op(ch, cl) ? 0 : 482;
}

/* KICKs of nicks not on this node, waiting for the network's list of
 * the channel's members elsewhere. */
struct kick_net {
    unsigned n;
    char nick[MAX_TARGETS][CHAT_NICKLEN + 1];
    char why[CHAT_TOPICLEN + 1];
};

/* Is nick one of who's "nick!user@host"? */
static bool among(const char *nick, const char *const *who, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        size_t k = strcspn(who[i], "!");
        char one[CHAT_NICKLEN + 1];
        if (k >= sizeof one)
            continue;
        memcpy(one, who[i], k);
        one[k] = '\0';
        if (irc_casecmp(one, nick) == 0)
            return true;
    }
    return false;
}

/* The network answered: each nick on the channel elsewhere is kicked
 * there (its node carries it out, chat_remote.c); the line goes to this
 * node's members now. */
static void kick_of_network(struct chat_client *cl, const char *chan,
                            const struct chat_netchan *nc, void *arg)
{
    struct kick_net *k = arg;
    for (unsigned i = 0; cl && i < k->n; i++) {
        struct mx_chat *chat = cl->chat;
        struct chat_aud a;
        aud_init(&a, cl, 1);
        chat_lock(chat);
        struct chat_channel *ch = chan_find(chat, chan);
        bool ok = !kick_refusal(ch, cl) && among(k->nick[i], nc->who, nc->n);
        if (ok)
            aud_add(&a, ch);
        chat_unlock(chat);
        if (!ok) {
            cl_numeric(cl, 441, "%s %s :They aren't on that channel", k->nick[i], chan);
            continue;
        }
        struct mx_chunk *line = chat_line(":%s!%s@%s KICK %s %s :%s", PFX(cl), a.v[0]->name,
                                          k->nick[i], k->why);
        wire_chan_line(chat, a.v[0]->name, line);
        aud_line(&a, line, NULL);
        mx_chunk_unref(line);
    }
    free(k);
}

static void kick_remote(struct chat_client *cl, const char *chan, struct kick_net *k)
{
    if (chat_cluster_names(cl, chan, kick_of_network, k) == 0)
        return;
    for (unsigned i = 0; i < k->n; i++)
        cl_numeric(cl, 441, "%s %s :They aren't on that channel", k->nick[i], chan);
    free(k);
}

static void cmd_kick(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    const char *name = m->params[0];
    const char *why = m->nparams > 2 && m->params[2][0] ? m->params[2] : cl->nick;
    int wlen = text_len(why, CHAT_TOPICLEN); /* KICKLEN */
    char *nicks[MAX_TARGETS];
    struct chat_client *local[MAX_TARGETS];
    unsigned n = chat_split_commas(m->params[1], nicks, MAX_TARGETS), nlocal = 0;
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, name);
    unsigned err = kick_refusal(ch, cl);
    struct kick_net *remote = !err && chat->has_bus ? calloc(1, sizeof *remote) : NULL;
    for (unsigned i = 0; !err && i < n; i++) {
        struct chat_client *t = nick_find(chat, nicks[i]);
        if (!t && remote && irc_nick_valid(nicks[i], CHAT_NICKLEN)) {
            snprintf(remote->nick[remote->n++], sizeof remote->nick[0], "%s", nicks[i]);
            continue;
        }
        if (!t || !cl_on(t, ch)) {
            cl_numeric(cl, 441, "%s %s :They aren't on that channel", nicks[i], name);
            continue;
        }
        if (t->worker == cl->worker)
            local[nlocal++] = t;
        else
            chat_kick_post(chat, t->id, ch, chat_line(":%s!%s@%s KICK %s %s :%.*s", PFX(cl),
                                                      ch->name, t->nick, wlen, why), true);
    }
    if (nlocal)
        chan_ref(ch);
    chat_unlock(chat);
    chan_refusal(cl, err, name);
    for (unsigned i = 0; i < nlocal; i++) {
        struct mx_chunk *line = chat_line(":%s!%s@%s KICK %s %s :%.*s", PFX(cl), ch->name,
                                          local[i]->nick, wlen, why);
        chat_kick_apply(local[i], ch, line, true);
        mx_chunk_unref(line);
    }
    if (nlocal)
        chan_unref(ch);
    if (remote && remote->n) {
        snprintf(remote->why, sizeof remote->why, "%.*s", wlen, why);
        kick_remote(cl, name, remote);
    } else {
        free(remote);
    }
}

/* An INVITE of a client of another node: the line goes to the nick's
 * node, and once delivered the invitation is kept in the network's copy
 * of the channel (a JOIN there looks it up); 401 later if no client
 * anywhere holds the nick. */
static void invite_remote(struct chat_client *cl, const char *nick, const char *name,
                          struct mx_chunk *line)
{
    struct chat_msg *m = chat_msg_new(mx_chunk_ref(line), NULL, NULL, 0);
    if (!m || !chat_cluster_to_nick(cl, nick, m, false, name)) {
        cl_numeric(cl, 401, "%s :No such nick/channel", nick);
        chat_msg_unref(m);
        return;
    }
    chat_msg_unref(m);
    cl_numeric(cl, 341, "%s %s", nick, name);
}

static void cmd_invite(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    const char *nick = m->params[0], *name = m->params[1];
    unsigned err = 0;
    chat_lock(chat);
    struct chat_client *t = nick_find(chat, nick);
    struct chat_channel *ch = chan_find(chat, name);
    /* Perhaps a client of another node: asked there (invite_remote). */
    bool remote = !t && chat->has_bus && irc_nick_valid(nick, CHAT_NICKLEN);
    if (!t && !remote)
        err = 401;
    else if (ch && !cl_on(cl, ch))
        err = 442;
    else if (ch && t && cl_on(t, ch))
        err = 443;
    else if (ch && (ch->modes & CM_I) && !is_op(ch, cl))
        err = 482;
    uint64_t tid = t ? t->id : 0;
    unsigned tw = t ? t->worker : 0;
    if (!err && ch && !remote && ch->ninvites < 64) {
        uint64_t *v = realloc(ch->invites, (ch->ninvites + 1) * sizeof *v);
        if (v) {
            v[ch->ninvites++] = tid;
            ch->invites = v;
        }
    }
    chat_unlock(chat);
    switch (err) {
    case 401: cl_numeric(cl, 401, "%s :No such nick/channel", nick); return;
    case 442: cl_numeric(cl, 442, "%s :You're not on that channel", name); return;
    case 443: cl_numeric(cl, 443, "%s %s :is already on channel", nick, name); return;
    case 482: cl_numeric(cl, 482, "%s :You're not channel operator", name); return;
    }
    struct mx_chunk *line = chat_line(":%s!%s@%s INVITE %s :%s", PFX(cl), nick, name);
    if (remote) {
        invite_remote(cl, nick, name, line);
        mx_chunk_unref(line);
        return;
    }
    cl_numeric(cl, 341, "%s %s", nick, name);
    chat_send_to(chat, cl->worker, t, tw, tid, line);
    if (ch) /* cl is on it: it stays (only this worker can change that) */
        chat_invite_notify(cl, ch, tid, line);
    mx_chunk_unref(line);
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
    { "TOPIC", cmd_topic, 1, false },
    { "WHO", chat_cmd_who, 0, false },
    { "WHOIS", chat_cmd_whois, 1, false },
    { "KICK", cmd_kick, 2, false },
    { "INVITE", cmd_invite, 2, false },
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
