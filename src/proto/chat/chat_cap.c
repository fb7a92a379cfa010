/* chat_cap.c - IRCv3 capability negotiation (CAP LS, LIST, REQ; END is
 * registration's, in chat_reg.c), SETNAME, and the membership prefixes.
 *
 * A client's capabilities are one bitmask (cl->caps). Its owner writes
 * it under mu (invite-notify reads other clients' under mu) and reads it
 * without: fan-out to a member runs on that member's own worker. The
 * set offered never changes while muxd runs, so cap-notify is accepted
 * (and implied by CAP LS 302, as the spec says) but never has a CAP NEW
 * or DEL to send. Only what is implemented is offered: no chghost (hosts
 * and user names never change after registration), no account-notify or
 * account-tag (there are no accounts). multi-prefix and
 * userhost-in-names change NAMES, WHO and WHOIS (chat_prefixes,
 * chan_names).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "proto/chat/chat_int.h"

#define PFX(cl) (cl)->nick, (cl)->user, (cl)->vhost

/* Sorted by name, as CAP LS shows them. None has a value (LS 302's
 * "name=value"): were one to, value would hold it. */
static const struct cap {
    const char *name;
    uint32_t bit;
    const char *value;
} caps[] = {
    { "away-notify", CAP_AWAY_NOTIFY, NULL },
    { "batch", CAP_BATCH, NULL },
    { "cap-notify", CAP_CAP_NOTIFY, NULL },
    { "echo-message", CAP_ECHO_MESSAGE, NULL },
    { "extended-join", CAP_EXTENDED_JOIN, NULL },
    { "invite-notify", CAP_INVITE_NOTIFY, NULL },
    { "labeled-response", CAP_LABELED_RESPONSE, NULL },
    { "message-tags", CAP_MESSAGE_TAGS, NULL },
    { "multi-prefix", CAP_MULTI_PREFIX, NULL },
    { "server-time", CAP_SERVER_TIME, NULL },
    { "setname", CAP_SETNAME, NULL },
    { "userhost-in-names", CAP_USERHOST_IN_NAMES, NULL },
};
#define NCAPS (sizeof caps / sizeof caps[0])
/* "name=value" at most. */
#define CAP_TOKEN 64

static const struct cap *cap_find(const char *name, size_t n)
{
    for (size_t i = 0; i < NCAPS; i++)
        if (strlen(caps[i].name) == n && memcmp(caps[i].name, name, n) == 0)
            return &caps[i];
    return NULL;
}

/* "CAP nick SUB [*] :words", as many lines as the words need: with 302,
 * every line but the last says " *" (more to come); an older client gets
 * all on one line, cut if it must be (the list fits one today). */
static void send_words(struct chat_client *cl, const char *sub, const char *const *w,
                       unsigned n)
{
    const char *srv = cl_set(cl)->o.server_name;
    size_t width = IRC_LINE_MAX - 2 - strlen(srv) - strlen(cl_target(cl)) - strlen(sub) - 12;
    char buf[IRC_LINE_MAX];
    unsigned i = 0;
    do {
        unsigned k = cl->cap302 ? irc_words_fit(w + i, n - i, width) : n - i;
        size_t len = 0;
        for (unsigned j = 0; j < k && len < sizeof buf; j++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s%s", j ? " " : "", w[i + j]);
        if (len >= sizeof buf)
            len = sizeof buf - 1;
        buf[len] = '\0';
        i += k;
        cl_printf(cl, ":%s CAP %s %s %s:%s", srv, cl_target(cl), sub, i < n ? "* " : "", buf);
    } while (i < n);
}

static void cap_ls(struct chat_client *cl, const char *version)
{
    char tok[NCAPS][CAP_TOKEN];
    const char *w[NCAPS];
    if (version && strtol(version, NULL, 10) >= 302) {
        cl->cap302 = true;
        chat_lock(cl->chat);
        cl->caps |= CAP_CAP_NOTIFY; /* implied by 302 (cap-notify's spec) */
        chat_unlock(cl->chat);
    }
    for (size_t i = 0; i < NCAPS; i++) {
        bool v = cl->cap302 && caps[i].value;
        snprintf(tok[i], sizeof tok[i], "%s%s%s", caps[i].name, v ? "=" : "",
                 v ? caps[i].value : "");
        w[i] = tok[i];
    }
    send_words(cl, "LS", w, NCAPS);
}

static void cap_list(struct chat_client *cl)
{
    const char *w[NCAPS];
    unsigned n = 0;
    for (size_t i = 0; i < NCAPS; i++)
        if (cl->caps & caps[i].bit)
            w[n++] = caps[i].name;
    if (n)
        send_words(cl, "LIST", w, n);
    else
        cl_printf(cl, ":%s CAP %s LIST :", cl_set(cl)->o.server_name, cl_target(cl));
}

/* The caps list asks to enable *on and disable *off: false if a name is
 * unknown, or would turn off what 302 made permanent. */
static bool req_parse(const struct chat_client *cl, const char *list, uint32_t *on,
                      uint32_t *off)
{
    *on = *off = 0;
    for (const char *p = list; *p;) {
        p += strspn(p, " ");
        size_t n = strcspn(p, " ");
        if (n == 0)
            break;
        bool minus = *p == '-';
        const struct cap *c = cap_find(p + minus, n - minus);
        if (!c || (minus && c->bit == CAP_CAP_NOTIFY && cl->cap302))
            return false;
        *(minus ? off : on) |= c->bit;
        p += n;
    }
    return (*on | *off) != 0;
}

/* All or nothing (the spec): one unknown name NAKs the whole list. */
static void cap_req(struct chat_client *cl, const char *list)
{
    const char *srv = cl_set(cl)->o.server_name;
    uint32_t on, off;
    if (!req_parse(cl, list, &on, &off)) {
        cl_printf(cl, ":%s CAP %s NAK :%s", srv, cl_target(cl), list);
        return;
    }
    chat_lock(cl->chat);
    cl->caps = (cl->caps | on) & ~off;
    chat_unlock(cl->chat);
    cl_printf(cl, ":%s CAP %s ACK :%s", srv, cl_target(cl), list);
}

void chat_cap(struct chat_client *cl, struct irc_msg *m)
{
    const char *sub = m->nparams ? m->params[0] : "";
    /* LS and REQ hold registration until CAP END (the spec). */
    bool holds = strcasecmp(sub, "LS") == 0 || strcasecmp(sub, "REQ") == 0;
    if (holds && !(cl->flags & CL_REG))
        cl->flags |= CL_CAP;
    if (strcasecmp(sub, "LS") == 0)
        cap_ls(cl, m->nparams > 1 ? m->params[1] : NULL);
    else if (strcasecmp(sub, "LIST") == 0)
        cap_list(cl);
    else if (strcasecmp(sub, "REQ") == 0)
        cap_req(cl, m->nparams > 1 ? m->params[1] : "");
    else
        cl_numeric(cl, 410, "%s :Invalid CAP command", *sub ? sub : "*");
}

/* ---- SETNAME ------------------------------------------------------------- */

void chat_cmd_setname(struct chat_client *cl, struct irc_msg *m)
{
    const char *real = m->params[0];
    size_t n = strlen(real);
    if (n == 0 || n > CHAT_REALLEN) {
        /* Without the cap, silence (the spec): as older servers did. */
        if (cl->caps & CAP_SETNAME)
            cl_printf(cl, ":%s FAIL SETNAME INVALID_REALNAME :Realname is not valid",
                      cl_set(cl)->o.server_name);
        return;
    }
    chat_lock(cl->chat);
    memcpy(cl->real, real, n + 1);
    chat_unlock(cl->chat);
    /* To peers with the cap, and back to cl if it has it: the change's
     * confirmation. */
    chat_tell_peers(cl, chat_msg_new(chat_line(":%s!%s@%s SETNAME :%s", PFX(cl), cl->real),
                                     NULL, NULL, CAP_SETNAME), true);
}
