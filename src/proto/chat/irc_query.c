/* irc_query.c - the pure parts of the queries: WHO's options (WHOX) and
 * LIST's conditions (ELIST). No state; unit-tested on their own.
 */
#include <stdlib.h>
#include <string.h>

#include "proto/chat/irc.h"

/* A WHOX token: 1 to 3 digits (the spec's limit), else "0". */
static void who_token(const char *s, char *out)
{
    size_t n = strspn(s, "0123456789");
    if (n == 0 || n > 3 || s[n] != '\0') {
        strcpy(out, "0");
        return;
    }
    memcpy(out, s, n);
    out[n] = '\0';
}

void irc_who_opts_parse(const char *s, struct irc_who_opts *o)
{
    memset(o, 0, sizeof *o);
    strcpy(o->token, "0");
    if (!s)
        return;
    for (; *s && *s != '%'; s++)
        if (*s == 'o')
            o->opers = true;
    if (*s != '%')
        return;
    o->whox = true;
    for (s++; *s && *s != ','; s++) {
        const char *at = strchr(IRC_WHOX_ORDER, *s);
        if (at)
            o->fields |= 1u << (at - IRC_WHOX_ORDER);
    }
    if (*s == ',')
        who_token(s + 1, o->token);
}

/* "n" as a count of users: digits only, and not absurd. */
static bool users_count(const char *s, unsigned long *out)
{
    if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 9)
        return false;
    *out = strtoul(s, NULL, 10);
    return true;
}

static void list_cond(char *c, struct irc_list_query *q)
{
    unsigned long n;
    if (c[0] == '>' && users_count(c + 1, &n))
        q->more_than = n > q->more_than ? n : q->more_than;
    else if (c[0] == '<' && users_count(c + 1, &n))
        q->less_than = q->less_than && q->less_than < n ? q->less_than : n;
    else if (c[0] == '!' && c[1] && q->nnots < IRC_LIST_MASKS)
        q->nots[q->nnots++] = c + 1;
    else if (c[0] != '>' && c[0] != '<' && c[0] != '!' && q->nmasks < IRC_LIST_MASKS)
        q->masks[q->nmasks++] = c;
}

void irc_list_parse(char *s, struct irc_list_query *q)
{
    char *save = NULL;
    for (char *c = strtok_r(s, ",", &save); c; c = strtok_r(NULL, ",", &save))
        list_cond(c, q);
}

bool irc_list_match(const struct irc_list_query *q, const char *name, unsigned long users)
{
    if (users <= q->more_than && q->more_than)
        return false;
    if (q->less_than && users >= q->less_than)
        return false;
    for (unsigned i = 0; i < q->nnots; i++)
        if (irc_mask_match(q->nots[i], name))
            return false;
    if (q->nmasks == 0)
        return true;
    for (unsigned i = 0; i < q->nmasks; i++)
        if (irc_mask_match(q->masks[i], name))
            return true;
    return false;
}
