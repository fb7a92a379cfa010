/* chat_mode.c - MODE: user mode +i, channel modes +n +t +s +i +m +k +l
 * +b and member modes +o +v, with their queries and errors.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->vhost

/* ---- user modes ---------------------------------------------------------- */

/* "+iow" as far as cl has them; the owner reads umodes without mu. */
static void umode_string(const struct chat_client *cl, char *out)
{
    size_t n = 0;
    out[n++] = '+';
    if (cl->flags & CL_INVISIBLE)
        out[n++] = 'i';
    if (cl->umodes & UM_OPER)
        out[n++] = 'o';
    if (cl->umodes & UM_WALLOPS)
        out[n++] = 'w';
    out[n] = '\0';
}

/* Under mu for umodes. +o comes only from OPER (ignored here, RFC 2812
 * 3.1.5); -o drops it. */
static bool umode_one(struct chat_client *cl, bool add, char c)
{
    if (c == 'i')
        cl->flags = add ? cl->flags | CL_INVISIBLE : cl->flags & ~(uint32_t)CL_INVISIBLE;
    else if (c == 'w')
        cl->umodes = add ? cl->umodes | UM_WALLOPS : cl->umodes & ~(unsigned)UM_WALLOPS;
    else if (c == 'o' && !add)
        cl->umodes &= ~(unsigned)UM_OPER;
    else if (c != 'o')
        return false;
    return true;
}

/* The change as one MODE line, e.g. "+w-i". */
static void umode_diff(const struct chat_client *cl, uint32_t flags, unsigned umodes,
                       char *out, size_t cap)
{
    static const struct { char c; bool flag; unsigned bit; } letters[] = {
        { 'i', true, CL_INVISIBLE }, { 'o', false, UM_OPER }, { 'w', false, UM_WALLOPS },
    };
    size_t n = 0;
    char sign = 0;
    for (size_t i = 0; i < sizeof letters / sizeof letters[0] && n + 3 < cap; i++) {
        bool was = letters[i].flag ? flags & letters[i].bit : umodes & letters[i].bit;
        bool now = letters[i].flag ? cl->flags & letters[i].bit : cl->umodes & letters[i].bit;
        if (was == now)
            continue;
        if (sign != (now ? '+' : '-'))
            out[n++] = sign = now ? '+' : '-';
        out[n++] = letters[i].c;
    }
    out[n] = '\0';
}

static void user_mode(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    if (irc_casecmp(m->params[0], cl->nick) != 0) {
        chat_lock(chat);
        bool exists = cl_by_nick(chat, m->params[0]) != NULL;
        chat_unlock(chat);
        if (exists)
            cl_numeric(cl, 502, ":Cant change mode for other users");
        else
            cl_numeric(cl, 401, "%s :No such nick/channel", m->params[0]);
        return;
    }
    char modes[8], diff[16];
    if (m->nparams < 2) {
        umode_string(cl, modes);
        cl_numeric(cl, 221, "%s", modes);
        return;
    }
    bool add = true, unknown = false;
    uint32_t flags = cl->flags;
    unsigned umodes = cl->umodes;
    chat_lock(chat);
    for (const char *p = m->params[1]; *p; p++) {
        if (*p == '+' || *p == '-')
            add = *p == '+';
        else if (!umode_one(cl, add, *p))
            unknown = true;
    }
    chat_unlock(chat);
    if (unknown)
        cl_numeric(cl, 501, ":Unknown MODE flag");
    umode_diff(cl, flags, umodes, diff, sizeof diff);
    if (diff[0])
        cl_printf(cl, ":%s MODE %s :%s", cl->nick, cl->nick, diff);
}

/* ---- channel modes ------------------------------------------------------- */

/* The applied changes, as they go out in the MODE line. */
struct change {
    char modes[64];
    size_t nm;
    char sign;
    char args[IRC_LINE_MAX];
    size_t na;
};

static void note(struct change *c, bool add, char mode, const char *arg)
{
    if (c->nm + 3 >= sizeof c->modes)
        return;
    char sign = add ? '+' : '-';
    if (c->sign != sign)
        c->modes[c->nm++] = c->sign = sign;
    c->modes[c->nm++] = mode;
    c->modes[c->nm] = '\0';
    if (arg && c->na + strlen(arg) + 2 < sizeof c->args)
        c->na += (size_t)snprintf(c->args + c->na, sizeof c->args - c->na, " %s", arg);
}

static unsigned flag_of(char c)
{
    switch (c) {
    case 'n': return CM_N;
    case 't': return CM_T;
    case 's': return CM_S;
    case 'i': return CM_I;
    case 'm': return CM_M;
    default: return 0;
    }
}

/* Under mu: "+ntk key" as 324 shows it (the key only to members). */
static void mode_string(const struct chat_channel *ch, bool member, char *out, size_t cap)
{
    static const char letters[] = "ntsim";
    size_t n = 0;
    out[n++] = '+';
    for (unsigned i = 0; letters[i]; i++)
        if (ch->modes & flag_of(letters[i]))
            out[n++] = letters[i];
    if (ch->key[0])
        out[n++] = 'k';
    if (ch->limit)
        out[n++] = 'l';
    out[n] = '\0';
    if (ch->key[0])
        n += (size_t)snprintf(out + n, cap - n, " %s", member ? ch->key : "*");
    if (ch->limit)
        snprintf(out + n, cap - n, " %u", ch->limit);
}

/* Under mu. */
static void ban_list(struct chat_client *cl, struct chat_channel *ch)
{
    for (unsigned i = 0; i < ch->nbans; i++)
        cl_numeric(cl, 367, "%s %s", ch->name, ch->bans[i]);
    cl_numeric(cl, 368, "%s :End of channel ban list", ch->name);
}

static bool ban_set(struct chat_channel *ch, const char *mask, bool add)
{
    for (unsigned i = 0; i < ch->nbans; i++) {
        if (irc_casecmp(ch->bans[i], mask) == 0) {
            if (add)
                return false;
            free(ch->bans[i]);
            ch->bans[i] = ch->bans[--ch->nbans];
            return true;
        }
    }
    if (!add || ch->nbans >= CHAT_MAX_BANS)
        return false;
    char **v = realloc(ch->bans, (ch->nbans + 1) * sizeof *v);
    char *s = strndup(mask, 100);
    if (!v || !s) {
        free(s);
        if (v)
            ch->bans = v;
        return false;
    }
    ch->bans = v;
    ch->bans[ch->nbans++] = s;
    return true;
}

/* Under mu: +o / +v on the member named nick. */
static void member_mode(struct chat_client *cl, struct chat_channel *ch, bool add, char mode,
                        const char *nick, struct change *c)
{
    struct chat_client *t = cl_by_nick(cl->chat, nick);
    struct chat_member *mb = t ? chan_member(ch, t) : NULL;
    if (!t) {
        cl_numeric(cl, 401, "%s :No such nick/channel", nick);
        return;
    }
    if (!mb) {
        cl_numeric(cl, 441, "%s %s :They aren't on that channel", t->nick, ch->name);
        return;
    }
    unsigned bit = mode == 'o' ? MEM_OP : MEM_VOICE;
    if (!!(mb->modes & bit) == add)
        return;
    mb->modes ^= bit;
    note(c, add, mode, t->nick);
}

/* Under mu: one mode letter with its argument (NULL if none left).
 * Returns whether the argument was used. */
static bool apply_one(struct chat_client *cl, struct chat_channel *ch, bool add, char mode,
                      const char *arg, struct change *c)
{
    unsigned f = flag_of(mode);
    if (f) {
        if (!!(ch->modes & f) != add) {
            ch->modes ^= f;
            note(c, add, mode, NULL);
        }
        return false;
    }
    switch (mode) {
    case 'k':
        if (add && (!arg || !arg[0] || strchr(arg, ' ')))
            return arg != NULL;
        snprintf(ch->key, sizeof ch->key, "%s", add ? arg : "");
        note(c, add, 'k', add ? ch->key : "*");
        return arg != NULL;
    case 'l': {
        long v = add && arg ? strtol(arg, NULL, 10) : 0;
        if (add && v <= 0)
            return arg != NULL;
        ch->limit = (unsigned)v;
        note(c, add, 'l', add ? arg : NULL);
        return add;
    }
    case 'b':
        if (!arg)
            ban_list(cl, ch);
        else if (ban_set(ch, arg, add))
            note(c, add, 'b', arg);
        return arg != NULL;
    case 'o':
    case 'v':
        if (arg)
            member_mode(cl, ch, add, mode, arg, c);
        return arg != NULL;
    default:
        cl_numeric(cl, 472, "%c :is unknown mode char to me for %s", mode, ch->name);
        return false;
    }
}

/* Under mu: is this only a request for the ban list ("+b", "b")? */
static bool ban_query(const struct irc_msg *m)
{
    const char *s = m->params[1];
    return m->nparams == 2 && (strcmp(s, "b") == 0 || strcmp(s, "+b") == 0);
}

/* Under mu: the letters of params[1], each taking its argument in turn. */
static void apply_all(struct chat_client *cl, struct chat_channel *ch, const struct irc_msg *m,
                      struct change *c)
{
    bool add = true;
    int next = 2;
    for (const char *p = m->params[1]; *p; p++) {
        if (*p == '+' || *p == '-') {
            add = *p == '+';
            continue;
        }
        const char *arg = next < m->nparams ? m->params[next] : NULL;
        if (apply_one(cl, ch, add, *p, arg, c))
            next++;
    }
}

static void channel_mode(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    struct change c = { .sign = 0 };
    struct chat_aud a;
    aud_init(&a, cl, 1);
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, m->params[0]);
    if (!ch) {
        chat_unlock(chat);
        cl_numeric(cl, 403, "%s :No such channel", m->params[0]);
        return;
    }
    if (m->nparams < 2) {
        char modes[96];
        mode_string(ch, cl_on(cl, ch), modes, sizeof modes);
        cl_numeric(cl, 324, "%s %s", ch->name, modes);
        cl_numeric(cl, 329, "%s %lld", ch->name, (long long)ch->created);
    } else if (ban_query(m)) {
        ban_list(cl, ch);
    } else if (!chan_member(ch, cl) || !(chan_member(ch, cl)->modes & MEM_OP)) {
        cl_numeric(cl, 482, "%s :You're not channel operator", ch->name);
    } else {
        apply_all(cl, ch, m, &c);
    }
    if (c.nm)
        aud_add(&a, ch);
    chat_unlock(chat);
    if (a.n)
        aud_send(&a, NULL, ":%s!%s@%s MODE %s %s%s", PFX(cl), ch->name, c.modes, c.args);
}

void chat_cmd_mode(struct chat_client *cl, struct irc_msg *m)
{
    if (m->params[0][0] == '#')
        channel_mode(cl, m);
    else
        user_mode(cl, m);
}
