/* chat_mode.c - MODE: user mode +i, channel modes +n +t +s +i +m +k +l,
 * the mask lists +b +e +I and member modes +o +v, with their queries and
 * errors.
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
    if (c == 'i') {
        cl->flags = add ? cl->flags | CL_INVISIBLE : cl->flags & ~(uint32_t)CL_INVISIBLE;
        cl_umode_set(cl, UM_INVISIBLE, add); /* others' view, and LUSERS */
    } else if (c == 'w')
        cl->umodes = add ? cl->umodes | UM_WALLOPS : cl->umodes & ~(unsigned)UM_WALLOPS;
    else if (c == 'o' && !add)
        cl_umode_set(cl, UM_OPER, false);
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
    /* Other nodes hide it from outsiders' NAMES too. */
    for (unsigned i = 0; (umodes ^ cl->umodes) & UM_INVISIBLE && i < cl->nchans; i++)
        wire_member(chat, cl->chans[i], cl, true);
    chat_unlock(chat);
    if (unknown)
        cl_numeric(cl, 501, ":Unknown MODE flag");
    umode_diff(cl, flags, umodes, diff, sizeof diff);
    if (diff[0])
        cl_printf(cl, ":%s MODE %s :%s", cl->nick, cl->nick, diff);
}

/* ---- channel modes ------------------------------------------------------- */

/* The longest list mask (+b +e +I) kept, in its full nick!user@host form. */
#define CHAT_BANLEN 100
/* The highest +l: past any real membership, and few enough digits that
 * parsing cannot overflow. */
#define CHAT_MAX_LIMIT 1000000u

/* The applied changes, as they go out in the MODE line. A change is
 * applied only when it fits in that line (budget), so what members are
 * told is always exactly what was stored. */
struct change {
    char modes[IRC_LINE_MAX];
    size_t nm;
    char sign;
    char args[IRC_LINE_MAX];
    size_t na;
    size_t budget;                  /* room for modes + args in the line */
    unsigned nargs;                 /* parameters taken (at most CHAT_MODES) */
    unsigned listed;                /* the lists that went out: 1 << LIST_* */
    bool unknown;                   /* 472 went out */
    struct mx_chat *chat;
};

/* Would the change (arg: its parameter as broadcast, or NULL) fit? */
static bool room(const struct change *c, bool add, const char *arg)
{
    size_t need = 1 + (arg ? 1 + strlen(arg) : 0);
    if (c->sign != (add ? '+' : '-'))
        need++;
    return c->nm + c->na + need <= c->budget;
}

/* Callers checked room(). */
static void note(struct change *c, bool add, char mode, const char *arg)
{
    char sign = add ? '+' : '-';
    if (c->sign != sign)
        c->modes[c->nm++] = c->sign = sign;
    c->modes[c->nm++] = mode;
    c->modes[c->nm] = '\0';
    if (arg)
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

/* Can s be a middle parameter of every line that carries it? The
 * parser's 15th parameter can hold spaces, and a trailing one can be
 * empty or start with ':'. */
static bool middle_ok(const char *s)
{
    if (s[0] == '\0' || s[0] == ':')
        return false;
    for (; *s; s++)
        if ((unsigned char)*s <= ' ' || *s == 0x7f)
            return false;
    return true;
}

/* 696 ERR_INVALIDMODEPARAM: the change is not made. The parameter is
 * echoed only when it cannot break the line. */
static void invalid_param(struct chat_client *cl, const struct chat_channel *ch, char mode,
                          const char *arg, const char *why)
{
    bool echo = middle_ok(arg) && strlen(arg) <= CHAT_BANLEN;
    if (cl)  /* NULL: another node's change, told to no one here */
        cl_numeric(cl, 696, "%s %c %s :%s", ch->name, mode, echo ? arg : "*", why);
}

/* "+l N": decimal digits only, 1 to CHAT_MAX_LIMIT; 0 when not. */
static unsigned limit_parse(const char *s)
{
    unsigned v = 0;
    if (!*s)
        return 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return 0;
        v = v * 10 + (unsigned)(*s - '0');
        if (v > CHAT_MAX_LIMIT)
            return 0;
    }
    return v;
}

/* What each mask list answers with: its letter, its list and end
 * numerics (Modern IRC: 367/368, 348/349, 346/347) and texts. */
static const struct list_kind {
    char letter;
    unsigned item, end;
    const char *end_text, *full_text, *bad_text;
} kinds[CHAT_NLISTS] = {
    [LIST_BAN] = { 'b', 367, 368, "End of channel ban list", "Channel ban list is full",
                   "Invalid ban mask" },
    [LIST_EXCEPT] = { 'e', 348, 349, "End of channel exception list",
                      "Channel exception list is full", "Invalid exception mask" },
    [LIST_INVEX] = { 'I', 346, 347, "End of channel invite list",
                     "Channel invite list is full", "Invalid invite exception mask" },
};

/* The list of a mode letter, or -1. */
static int list_of(char mode)
{
    for (int l = 0; l < CHAT_NLISTS; l++)
        if (kinds[l].letter == mode)
            return l;
    return -1;
}

/* Under mu. */
static void list_send(struct chat_client *cl, struct chat_channel *ch, enum chat_list l)
{
    const struct chat_masks *ml = &ch->lists[l];
    for (unsigned i = 0; i < ml->n; i++)
        cl_numeric(cl, kinds[l].item, "%s %s", ch->name, ml->v[i]);
    cl_numeric(cl, kinds[l].end, "%s :%s", ch->name, kinds[l].end_text);
}

enum { MASK_SAME, MASK_CHANGED, MASK_FULL };

/* mask is in its full form: bob and bob!*@* are one entry. */
static int mask_set(struct chat_masks *ml, const char *mask, bool add)
{
    for (unsigned i = 0; i < ml->n; i++) {
        if (irc_casecmp(ml->v[i], mask) == 0) {
            if (add)
                return MASK_SAME;
            free(ml->v[i]);
            ml->v[i] = ml->v[--ml->n];
            return MASK_CHANGED;
        }
    }
    if (!add)
        return MASK_SAME;
    if (ml->n >= CHAT_MAX_LIST)
        return MASK_FULL;
    char **v = realloc(ml->v, (ml->n + 1) * sizeof *v);
    if (v)
        ml->v = v;
    char *s = v ? strdup(mask) : NULL;
    if (!s)
        return MASK_SAME;
    ml->v[ml->n++] = s;
    return MASK_CHANGED;
}

/* Under mu: +b / -b mask (or e, I), or that list (once per command: a
 * line of b's must not repeat it). */
static void list_mode(struct chat_client *cl, struct chat_channel *ch, bool add,
                      enum chat_list l, const char *arg, struct change *c)
{
    char mask[CHAT_BANLEN + 1];
    char mode = kinds[l].letter;
    if (!arg) {
        if (cl && !(c->listed & 1u << l))
            list_send(cl, ch, l);
        c->listed |= 1u << l;
    } else if (!irc_mask_normalise(arg, mask, sizeof mask)) {
        invalid_param(cl, ch, mode, arg, kinds[l].bad_text);
    } else if (room(c, add, mask)) {
        int r = mask_set(&ch->lists[l], mask, add);
        if (r == MASK_CHANGED)
            note(c, add, mode, mask);
        else if (r == MASK_FULL && cl)
            cl_numeric(cl, 478, "%s %c :%s", ch->name, mode, kinds[l].full_text);
    }
}

/* Under mu: +k key / -k [key]. */
static void key_mode(struct chat_client *cl, struct chat_channel *ch, bool add,
                     const char *arg, struct change *c)
{
    char key[CHAT_KEYLEN + 1];
    if (add && !arg)
        return;
    if (add && !middle_ok(arg)) {
        invalid_param(cl, ch, 'k', arg, "Invalid key");
        return;
    }
    snprintf(key, sizeof key, "%s", add ? arg : "");
    if (!room(c, add, add ? key : "*"))
        return;
    memcpy(ch->key, key, sizeof key);
    note(c, add, 'k', add ? ch->key : "*");
}

/* Under mu: +l N / -l. The line carries the number stored, not the text
 * given. */
static void limit_mode(struct chat_client *cl, struct chat_channel *ch, bool add,
                       const char *arg, struct change *c)
{
    char num[16];
    unsigned v = add && arg ? limit_parse(arg) : 0;
    if (add && !arg)
        return;
    if (add && !v) {
        invalid_param(cl, ch, 'l', arg, "Invalid limit: 1 to 1000000");
        return;
    }
    snprintf(num, sizeof num, "%u", v);
    if ((!add && !ch->limit) || !room(c, add, add ? num : NULL))
        return;
    ch->limit = v;
    note(c, add, 'l', add ? num : NULL);
}

/* Under mu: +o / +v on the member named nick. */
static void member_mode(struct chat_client *cl, struct chat_channel *ch, bool add, char mode,
                        const char *nick, struct change *c)
{
    struct chat_client *t = cl_by_nick(c->chat, nick);
    struct chat_member *mb = t ? chan_member(ch, t) : NULL;
    if (!cl && !mb)  /* another node's change, to a member of its own */
        return;
    if (!t && c->chat->has_bus && irc_nick_valid(nick, CHAT_NICKLEN)) {
        /* Perhaps a member on another node: the line goes there, and that
         * node makes the change (chat_mode_remote). */
        if (room(c, add, nick))
            note(c, add, mode, nick);
        return;
    }
    if (!t) {
        cl_numeric(cl, 401, "%s :No such nick/channel", nick);
        return;
    }
    if (!mb) {
        cl_numeric(cl, 441, "%s %s :They aren't on that channel", t->nick, ch->name);
        return;
    }
    unsigned bit = mode == 'o' ? MEM_OP : MEM_VOICE;
    if (!!(mb->modes & bit) == add || !room(c, add, t->nick))
        return;
    mb->modes ^= bit;
    wire_member(c->chat, ch, t, true);  /* the network's lists show it */
    note(c, add, mode, t->nick);
}

/* Does the letter take the next parameter (when there is one)? */
static bool takes_arg(bool add, char mode)
{
    return list_of(mode) >= 0 || mode == 'k' || mode == 'o' || mode == 'v' ||
           (mode == 'l' && add);
}

/* Under mu: one mode letter with its parameter (NULL if none). */
static void apply_one(struct chat_client *cl, struct chat_channel *ch, bool add, char mode,
                      const char *arg, struct change *c)
{
    unsigned f = flag_of(mode);
    if (f) {
        if (!!(ch->modes & f) != add && room(c, add, NULL)) {
            ch->modes ^= f;
            note(c, add, mode, NULL);
        }
        return;
    }
    switch (mode) {
    case 'k': key_mode(cl, ch, add, arg, c); break;
    case 'l': limit_mode(cl, ch, add, arg, c); break;
    case 'b':
    case 'e':
    case 'I': list_mode(cl, ch, add, (enum chat_list)list_of(mode), arg, c); break;
    case 'o':
    case 'v':
        if (arg)
            member_mode(cl, ch, add, mode, arg, c);
        break;
    default:
        /* Once per command, as each reply would be a line of output. */
        if (!c->unknown && cl)
            cl_numeric(cl, 472, "%c :is unknown mode char to me for %s", mode, ch->name);
        c->unknown = true;
    }
}

/* Is this only a request for lists ("b", "+b", "+bbeI")? Anyone may ask
 * that, and each list asked for is answered once, in the order asked. */
static bool list_query(const struct irc_msg *m)
{
    const char *s = m->params[1];
    return m->nparams == 2 && strpbrk(s, "beI") && strspn(s, "+beI") == strlen(s);
}

static void lists_send(struct chat_client *cl, struct chat_channel *ch, const char *s)
{
    unsigned sent = 0;
    for (; *s; s++) {
        int l = list_of(*s);
        if (l >= 0 && !(sent & 1u << l))
            list_send(cl, ch, (enum chat_list)l);
        if (l >= 0)
            sent |= 1u << l;
    }
}

/* Under mu: the letters of params[1], each taking its parameter in turn.
 * Past CHAT_MODES parameters (ISUPPORT MODES) a letter that would take
 * one is dropped, so one line cannot make a list of replies. */
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
        const char *arg = NULL;
        if (takes_arg(add, *p) && next < m->nparams) {
            if (c->nargs == CHAT_MODES)
                continue;
            arg = m->params[next++];
            c->nargs++;
        }
        apply_one(cl, ch, add, *p, arg, c);
    }
}

/* Room for modes and parameters in ":nick!user@host MODE #chan ...". */
static size_t line_budget(const struct chat_client *cl, const struct chat_channel *ch)
{
    int pre = snprintf(NULL, 0, ":%s!%s@%s MODE %s ", PFX(cl), ch->name);
    size_t max = IRC_LINE_MAX - 2;
    return pre > 0 && (size_t)pre < max ? max - (size_t)pre : 0;
}

static void channel_mode(struct chat_client *cl, struct irc_msg *m)
{
    struct mx_chat *chat = cl->chat;
    struct change c = { .sign = 0, .chat = chat };
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
    } else if (list_query(m)) {
        lists_send(cl, ch, m->params[1]);
    } else if (!chan_member(ch, cl) || !(chan_member(ch, cl)->modes & MEM_OP)) {
        cl_numeric(cl, 482, "%s :You're not channel operator", ch->name);
    } else {
        c.budget = line_budget(cl, ch);
        apply_all(cl, ch, m, &c);
    }
    if (c.nm) {
        aud_add(&a, ch);
        wire_modes(chat, ch);
    }
    chat_unlock(chat);
    if (!a.n)
        return;
    struct mx_chunk *line = chat_line(":%s!%s@%s MODE %s %s%s", PFX(cl), ch->name, c.modes,
                                      c.args);
    wire_chan_line(chat, ch->name, line);
    aud_line(&a, line, NULL);
    mx_chunk_unref(line);
}

void chat_mode_remote(struct mx_chat *chat, const char *chan, char *line)
{
    struct irc_msg m;
    if (irc_parse(line, &m) != IRC_OK || strcmp(m.cmd, "MODE") != 0 || m.nparams < 2 ||
        m.params[0][0] != '#')
        return;
    /* Every change the line carries was made there: all of them fit. */
    struct change c = { .sign = 0, .chat = chat, .budget = IRC_LINE_MAX };
    chat_lock(chat);
    struct chat_channel *ch = chan_find(chat, chan);
    if (ch)
        apply_all(NULL, ch, &m, &c);
    chat_unlock(chat);
}

void chat_cmd_mode(struct chat_client *cl, struct irc_msg *m)
{
    if (m->params[0][0] == '#')
        channel_mode(cl, m);
    else
        user_mode(cl, m);
}
