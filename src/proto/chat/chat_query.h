/* chat_query.h - what the two query files share: chat_query.c (WHO,
 * NAMES, LIST, LUSERS, ...) and chat_nicks.c (WHOIS, WHOWAS, ISON,
 * USERHOST). Included by those two only, after chat_int.h.
 *
 * A query about nicks (struct nick_q) is answered from this node's tables
 * and, with other nodes, from what the network holds for the nicks that
 * are not here: the reply waits for that answer (the client's next lines
 * with it), then is made whole in the order the nicks were asked.
 */
#ifndef MUXD_PROTO_CHAT_QUERY_H
#define MUXD_PROTO_CHAT_QUERY_H

#define NICKS_MAX 5         /* nicks in one WHOIS or USERHOST */
/* Room for the list in a 319, 302 or 303: a line is 512 bytes in all. */
#define LIST_ROOM 400

const char *query_server(const struct chat_client *cl);
bool query_is_oper(const struct chat_client *cl);
/* Under mu: may cl see ch's members (it is not secret, or cl is in)? */
bool query_chan_visible(const struct chat_client *cl, const struct chat_channel *ch);
uint64_t query_idle_secs(const struct chat_client *who, time_t now);

struct nick_q;
/* Not under mu: the reply to q; who is the network's answer (NULL: none
 * asked, or none came), who[q->remote[i]] the one for q->nick[i]. */
typedef void nick_reply_fn(struct chat_client *cl, struct nick_q *q,
                           const struct chat_who *who);
struct nick_q {
    nick_reply_fn *reply;
    unsigned n;
    char nick[CHAT_LOOKUP_MAX][CHAT_NICKLEN + 1];
    int remote[CHAT_LOOKUP_MAX];    /* set by nick_q_run: index in who, or -1 */
    char asked[IRC_LINE_MAX];       /* WHOIS: the list as sent; WHO: the mask */
    struct irc_who_opts o;          /* WHO's options */
};
/* Not under mu: takes q (malloc'd, its reply and nicks set): runs
 * q->reply now, or once the network has answered for those of its nicks
 * that are not here, then frees q. */
void nick_q_run(struct chat_client *cl, struct nick_q *q);

#endif
