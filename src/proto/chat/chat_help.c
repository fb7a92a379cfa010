/* chat_help.c - HELP (704-706, 524) and LINKS (364, 365): what a client
 * may ask about the server itself beyond chat_query.c's replies.
 *
 * HELP's texts are short synopses, one per command muxd answers; a
 * network of one server links to itself alone.
 */
#include <string.h>
#include <strings.h>

#include "proto/chat/chat_int.h"

struct help {
    const char *subject;
    const char *lines[3];
};

static const struct help topics[] = {
    { "index", { "Commands: ADMIN AWAY CAP DIE HELP INFO INVITE ISON JOIN KICK KILL",
                 "KLINE LINKS LIST LUSERS MODE MOTD NAMES NICK NOTICE OPER PART PASS PING",
                 "PONG PRIVMSG QUIT REHASH STATS TIME TOPIC UNKLINE USER USERHOST VERSION" } },
    { "more", { "... WALLOPS WHO WHOIS WHOWAS. HELP <command> says more.", NULL, NULL } },
    { "AWAY", { "AWAY [:message]: marks you away (306) or back (305)", NULL, NULL } },
    { "INVITE", { "INVITE <nick> <channel>: lets nick join your +i channel", NULL, NULL } },
    { "ISON", { "ISON <nick> ...: which of the nicks are online (303)", NULL, NULL } },
    { "JOIN", { "JOIN <#chan>[,#chan] [key,...]: enters channels; JOIN 0 leaves all", NULL,
                NULL } },
    { "KICK", { "KICK <#chan> <nick>[,nick] [:reason]: removes members (ops only)", NULL,
                NULL } },
    { "LIST", { "LIST [#mask|>n|<n|!mask][,...]: channels, their sizes and topics", NULL,
                NULL } },
    { "MODE", { "MODE <#chan> [+-modes [args]]: channel modes b e I k l i m n s t o v",
                "MODE <nick> [+-modes]: your own modes i w (o from OPER)", NULL } },
    { "NAMES", { "NAMES [#chan[,#chan]]: who is on a channel", NULL, NULL } },
    { "NICK", { "NICK <nick>: takes or changes your nick", NULL, NULL } },
    { "NOTICE", { "NOTICE <target> :text: like PRIVMSG, never answered", NULL, NULL } },
    { "PART", { "PART <#chan>[,#chan] [:reason]: leaves channels", NULL, NULL } },
    { "PRIVMSG", { "PRIVMSG <nick|#chan|@#chan|+#chan>[,...] :text: sends a message", NULL,
                   NULL } },
    { "QUIT", { "QUIT [:reason]: leaves the server", NULL, NULL } },
    { "TOPIC", { "TOPIC <#chan> [:text]: shows or sets the topic", NULL, NULL } },
    { "WHO", { "WHO <#chan|mask> [o][%fields[,token]]: lists users (352, or 354 with WHOX)",
               NULL, NULL } },
    { "WHOIS", { "WHOIS <nick>[,nick]: who a user is (311 ... 318)", NULL, NULL } },
    { "WHOWAS", { "WHOWAS <nick> [count]: who had a nick (314 ... 369)", NULL, NULL } },
};

static const struct help *find(const char *subject)
{
    for (size_t i = 0; i < sizeof topics / sizeof *topics; i++)
        if (strcasecmp(topics[i].subject, subject) == 0)
            return &topics[i];
    return NULL;
}

void chat_cmd_help(struct chat_client *cl, struct irc_msg *m)
{
    const char *subject = m->nparams && m->params[0][0] ? m->params[0] : "index";
    const struct help *h = find(subject);
    if (!h) {
        /* Echoed as a middle parameter: one that would not survive as
         * one (a trailing with spaces) is named "*". */
        bool middle = subject[0] != ':' && !strchr(subject, ' ') && strlen(subject) < 64;
        cl_numeric(cl, 524, "%s :No help available on this topic", middle ? subject : "*");
        return;
    }
    cl_numeric(cl, 704, "%s :%s", subject, h->lines[0]);
    for (int i = 1; i < 3 && h->lines[i]; i++)
        cl_numeric(cl, 705, "%s :%s", subject, h->lines[i]);
    if (h == &topics[0])
        cl_numeric(cl, 705, "%s :%s", subject, topics[1].lines[0]);
    cl_numeric(cl, 706, "%s :End of /HELP", subject);
}

void chat_cmd_links(struct chat_client *cl, struct irc_msg *m)
{
    (void)m;
    const char *srv = cl_set(cl)->o.server_name;
    cl_numeric(cl, 364, "%s %s :0 muxd", srv, srv);
    cl_numeric(cl, 365, "* :End of /LINKS list");
}
