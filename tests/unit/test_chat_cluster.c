/* test_chat_cluster.c - the chat core's side of its cluster bus
 * (chat_cluster.c, docs/cluster.md): what it asks of the bus and what it
 * does with what the bus brings. The bus here is a recorder: plain
 * functions that note each subscribe and publish (and grant nick claims),
 * each channel membership, and answer the question of a channel's members
 * on other nodes; the real one (Redis, on a thread of its own) is the
 * integration tests' business.
 *
 * Chat runs for real, without sockets: a server of two workers on the
 * fake backend (fake_backend.h), one chat listener, clients fed bytes
 * through mx__conn_recv (chat_fixture.h, as tests/fuzz/fuzz_chat_cmd.c and
 * fuzz_cluster_msg.c make it). The test plays both workers' loops on its
 * own thread: after each input it drains
 * both inboxes (the posts between workers, and those the bus's thread
 * would make) and ends their turns. What a client was sent stays in its
 * output queue (the backend writes nothing) until the test takes it.
 * The recorder and the clients are in cluster_recorder.h; what other
 * nodes bring is test_chat_cluster_remote.c's.
 */
#include "cluster_recorder.h"

/* ==== 1. subscribing while the channel has members here =================== */

TestSuite(subscribe, .init = start_with_bus, .fini = stop);

Test(subscribe, the_first_join_subscribes_the_casefolded_subject_once)
{
    struct client a = user("alice", 0, NULL);
    cr_assert_eq(rec.nsub, 0, "a client alone subscribed something");
    join(&a, "#Chan");
    cr_assert_eq(rec.nsub, 1);
    assert_sub(0, SUBJ("#chan"), true);
    /* The JOIN goes to the other nodes' members as a line of the channel. */
    cr_assert_eq(rec.npub, 1, "the JOIN was published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#chan"));
    cr_assert_str_eq(rec.pub[0].payload, join_payload_of(&a, "#Chan"));
    /* When it happened, for the others' @time: SECONDS.NANOSECONDS. */
    long long sec;
    long nsec;
    char tail;
    cr_assert_eq(sscanf(rec.pub[0].at, "%lld.%ld%c", &sec, &nsec, &tail), 2, "AT '%s'",
                 rec.pub[0].at);
    cr_assert(sec > 1700000000LL && nsec >= 0 && nsec < 1000000000L, "AT '%s'", rec.pub[0].at);
}

Test(subscribe, casefolding_is_rfc1459)
{
    struct client a = user("alice", 0, NULL);
    /* rfc1459: "[]\^" are the capitals of "{}|~". */
    join(&a, "#Foo[X]\\^");
    cr_assert_eq(rec.nsub, 1);
    assert_sub(0, SUBJ("#foo{x}|~"), true);
}

Test(subscribe, a_second_member_does_not_subscribe_again)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL),
                  c = user("carol", 0, NULL);
    join(&a, "#chan");
    join(&b, "#CHAN");      /* another worker, another case: the same channel */
    join(&c, "#chan");      /* the first one's worker */
    cr_assert_eq(rec.nsub, 1, "subscribed %u times", rec.nsub);
}

Test(subscribe, the_last_part_unsubscribes)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#Chan");
    join(&b, "#chan");
    say(&a, "PART #chan\r\n");
    cr_assert_eq(rec.nsub, 1, "a PART with a member left unsubscribed");
    say(&b, "PART #CHAN :bye\r\n");
    cr_assert_eq(rec.nsub, 2);
    assert_sub(1, SUBJ("#chan"), false);
}

Test(subscribe, the_last_quit_unsubscribes)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#chan");
    join(&b, "#chan");
    say(&b, "QUIT :later\r\n");
    cr_assert_eq(rec.nsub, 1, "a QUIT with a member left unsubscribed");
    say(&a, "QUIT\r\n");
    cr_assert_eq(rec.nsub, 2);
    assert_sub(1, SUBJ("#chan"), false);
}

Test(subscribe, a_lost_connection_of_the_last_member_unsubscribes)
{
    struct client a = user("alice", 1, NULL);
    join(&a, "#chan");
    mx__conn_hangup(conn_of(&a));   /* a reset, no QUIT: on_close quits it */
    settle();
    cr_assert_eq(rec.nsub, 2);
    assert_sub(1, SUBJ("#chan"), false);
}

Test(subscribe, a_channel_joined_again_after_emptying_subscribes_again)
{
    struct client a = user("alice", 0, NULL);
    join(&a, "#chan");
    say(&a, "PART #chan\r\n");
    join(&a, "#chan");
    cr_assert_eq(rec.nsub, 3);
    assert_sub(0, SUBJ("#chan"), true);
    assert_sub(1, SUBJ("#chan"), false);
    assert_sub(2, SUBJ("#chan"), true);
}

/* ==== 2. publishing a channel message ===================================== */

TestSuite(publish, .init = start_with_bus, .fini = stop);

/* alice (worker 0) and bob (worker 1) on #c, their output taken. */
static void two_members(struct client *a, struct client *b, const char *acaps)
{
    *a = user("alice", 0, acaps);
    *b = user("bob", 1, NULL);
    join(a, "#c");
    join(b, "#c");
    take(a);
    take(b);
    forget_calls();
}

Test(publish, a_privmsg_is_published_once_on_its_channels_subject)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&a, "PRIVMSG #C :hello there\r\n");
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    /* The line names the channel as it was created, not as the sender
     * typed it. */
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PRIVMSG #c :hello there"));
    cr_assert_eq(rec.pub[0].len, strlen(rec.pub[0].payload), "a NUL inside the payload");
    cr_assert_eq(rec.nsub, 0);
    /* Local delivery goes on as before. */
    char want[320];
    snprintf(want, sizeof want, "%s PRIVMSG #c :hello there\r\n", source_of(&a));
    cr_assert_str_eq(take(&b), want);
    cr_assert_str_eq(take(&a), "", "the sender got its own line");
}

Test(publish, a_member_alone_here_still_publishes)
{
    /* No one else on this node: the other nodes' members are why. */
    struct client a = user("alice", 1, NULL);
    join(&a, "#c");
    forget_calls();
    say(&a, "PRIVMSG #c :anyone out there?\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PRIVMSG #c :anyone out there?"));
}

Test(publish, a_notice_is_published_too)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&b, "NOTICE #c :psst\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&b, 0, "", "NOTICE #c :psst"));
}

Test(publish, each_target_channel_is_published_on_its_own_subject)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    join(&a, "#d");
    forget_calls();
    say(&a, "PRIVMSG #c,#d :both\r\n");
    cr_assert_eq(rec.npub, 2);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PRIVMSG #c :both"));
    cr_assert_str_eq(rec.pub[1].subject, SUBJ("#d"));
    cr_assert_str_eq(rec.pub[1].payload, payload_of(&a, 0, "", "PRIVMSG #d :both"));
}

Test(publish, a_tagmsg_carries_its_client_tags_and_needs_message_tags)
{
    struct client a, b;
    two_members(&a, &b, "message-tags");
    say(&a, "@+draft/react=lol;+x=1 TAGMSG #c\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    cr_assert_str_eq(rec.pub[0].payload,
                     payload_of(&a, CAP_MESSAGE_TAGS, "+draft/react=lol;+x=1", "TAGMSG #c"));
    /* The bit itself, so that a change of the enum shows here: other
     * nodes (maybe another version) read this number. */
    cr_assert_eq(CAP_MESSAGE_TAGS, 2);
}

Test(publish, a_privmsg_with_client_tags_needs_nothing)
{
    struct client a, b;
    two_members(&a, &b, "message-tags");
    say(&a, "@+x=1 PRIVMSG #c :tagged\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "+x=1", "PRIVMSG #c :tagged"));
}

Test(publish, client_tags_of_a_client_without_message_tags_are_not_published)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&a, "@+x=1 PRIVMSG #c :untagged\r\n");
    cr_assert_eq(rec.npub, 1);
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PRIVMSG #c :untagged"));
}

Test(publish, a_refused_privmsg_publishes_nothing)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    struct client out = user("outsider", 0, NULL);
    forget_calls();
    /* #c is +n (the default): an outsider may not speak there. */
    say(&out, "PRIVMSG #c :let me in\r\n");
    cr_assert(strstr(take(&out), " 404 "), "no 404 for the outsider");
    say(&out, "PRIVMSG #nowhere :anyone?\r\n");
    cr_assert(strstr(take(&out), " 401 "), "no 401 for a channel that is not");
    cr_assert_eq(rec.npub, 0, "a refused message was published");
    cr_assert_str_eq(take(&a), "");
    cr_assert_str_eq(take(&b), "");
}

Test(publish, a_privmsg_to_a_nick_publishes_nothing)
{
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&a, "PRIVMSG bob :just you\r\n");
    cr_assert_eq(rec.npub, 0);
    cr_assert(strstr(take(&b), "PRIVMSG bob :just you\r\n"), "bob did not get it");
    /* A nick not here is the bus's to_nick's business (the recorder's
     * reaches no node: 401), never a channel's subject. */
    say(&a, "PRIVMSG nobody :hello?\r\n");
    cr_assert(strstr(take(&a), " 401 "), "no 401 for a nick that is nowhere");
    cr_assert_eq(rec.npub, 0);
}

Test(publish, a_statusmsg_stays_on_this_node)
{
    /* docs/cluster.md: STATUSMSG reaches this node's members only. */
    struct client a, b;
    two_members(&a, &b, NULL);
    say(&a, "PRIVMSG @#c :ops only\r\n");
    cr_assert_eq(rec.npub, 0);
}

/* Without a bus chat is a single node: nothing calls the recorder, and
 * messages flow as before. */
TestSuite(no_bus, .init = start_without_bus, .fini = stop);

static void chat_works_and_calls_nothing(void)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    take(&a);
    take(&b);
    say(&a, "PRIVMSG #c :hello\r\n");
    char want[320];
    snprintf(want, sizeof want, "%s PRIVMSG #c :hello\r\n", source_of(&a));
    cr_assert_str_eq(take(&b), want);
    say(&a, "PART #c\r\n");
    say(&b, "QUIT\r\n");
    cr_assert_eq(rec.ncalls, 0, "a bus that was not set was called");
}

Test(no_bus, never_set)
{
    cr_assert_null(mx_chat_get_bus(S.chat));
    chat_works_and_calls_nothing();
}

Test(no_bus, set_then_unset)
{
    cr_assert_eq(mx_chat_set_bus(S.chat, &rec_bus, NODE, PREFIX), 0);
    cr_assert_not_null(mx_chat_get_bus(S.chat));
    cr_assert_eq(mx_chat_set_bus(S.chat, NULL, NULL, NULL), 0);
    cr_assert_null(mx_chat_get_bus(S.chat));
    chat_works_and_calls_nothing();
}

Test(no_bus, get_bus_gives_a_copy_of_the_one_set)
{
    cr_assert_eq(mx_chat_set_bus(S.chat, &rec_bus, NODE, PREFIX), 0);
    const struct mx_chat_bus *b = mx_chat_get_bus(S.chat);
    cr_assert_not_null(b);
    cr_assert_eq(b->arg, rec_bus.arg);
    cr_assert_eq(b->publish, rec_publish);
    cr_assert_eq(b->subscribe, rec_subscribe);
}

/* ==== 4. Redis reached again ============================================== */

TestSuite(bus_up, .init = start_with_bus, .fini = stop);

/* How many subscribe calls named subject, and whether every one of them
 * turned it on. */
static unsigned subscribed(const char *subject, bool *all_on)
{
    unsigned n = 0;
    *all_on = true;
    for (unsigned i = 0; i < rec.nsub; i++)
        if (strcmp(rec.sub[i].subject, subject) == 0) {
            n++;
            *all_on &= rec.sub[i].on;
        }
    return n;
}

/* Channel subjects among the subscribe calls; what else the bus hears
 * (lines to this node's nicks) is not the channels' business. */
static unsigned channel_subscribes(void)
{
    unsigned n = 0;
    for (unsigned i = 0; i < rec.nsub; i++)
        n += strncmp(rec.sub[i].subject, SUBJ(""), strlen(SUBJ(""))) == 0;
    return n;
}

Test(bus_up, every_channel_here_subscribes_once)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#One");
    join(&b, "#one");       /* members on both workers: still one channel */
    join(&a, "#two");
    join(&b, "#three");
    join(&a, "#gone");
    say(&a, "PART #gone\r\n");
    forget_calls();
    mx_chat_bus_up(S.chat);
    settle();
    cr_assert_eq(channel_subscribes(), 3, "%u channel subscribe calls", channel_subscribes());
    const char *want[] = { SUBJ("#one"), SUBJ("#two"), SUBJ("#three") };
    for (unsigned w = 0; w < 3; w++) {
        bool on;
        unsigned n = subscribed(want[w], &on);
        cr_assert_eq(n, 1, "%s subscribed %u times", want[w], n);
        cr_assert(on, "%s unsubscribed", want[w]);
    }
    cr_assert_eq(rec.npub, 0);
}

Test(bus_up, no_channels_no_channel_subscribes)
{
    user("alice", 0, NULL);
    mx_chat_bus_up(S.chat);
    settle();
    cr_assert_eq(channel_subscribes(), 0);
    cr_assert_eq(rec.npub, 0);
}

Test(bus_up, every_member_is_recorded_again)
{
    /* Redis may have restarted empty: the lists get this node's members
     * back, each channel of each once. */
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#One");
    join(&b, "#one");
    join(&a, "#two");
    forget_calls();
    mx_chat_bus_up(S.chat);
    settle();
    cr_assert_eq(rec.nmember, 3, "%u member calls", rec.nmember);
    unsigned seen_a = 0, seen_b = 0;
    for (unsigned i = 0; i < rec.nmember; i++) {
        const struct member_call *m = &rec.member[i];
        cr_assert(m->on, "bus_up recorded %s leaving %s", m->who, m->chan);
        if (m->uid == chat_client_of(&a)->uid) {
            seen_a |= strcmp(m->chan, "#one") == 0 ? 1 : strcmp(m->chan, "#two") == 0 ? 2 : 4;
            cr_assert_str_eq(m->who, source_of(&a) + 1);
        } else {
            cr_assert_eq(m->uid, chat_client_of(&b)->uid, "a member call of no client");
            seen_b |= strcmp(m->chan, "#one") == 0 ? 1 : 4;
            cr_assert_str_eq(m->who, source_of(&b) + 1);
        }
    }
    cr_assert_eq(seen_a, 3, "alice's channels recorded: %u", seen_a);
    cr_assert_eq(seen_b, 1, "bob's channels recorded: %u", seen_b);
}

/* The network gave alice's nick to another node's client while this node
 * was cut off: her claim, made again, is refused; she takes a guest nick
 * (claimed too), told why, and her channel hears the NICK, here and on
 * the other nodes. */
Test(bus_up, a_nick_held_elsewhere_meanwhile_becomes_a_guest)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    take(&a);
    take(&b);
    forget_calls();
    char old[256];
    snprintf(old, sizeof old, "%s", source_of(&a));
    unsigned claims = rec.nclaim;
    rec.refuse_claims = 1;
    mx_chat_bus_up(S.chat);
    settle();
    const char *nick = chat_client_of(&a)->nick;
    cr_assert(strncmp(nick, "Guest", 5) == 0 && strlen(nick) == 10, "alice is now '%s'", nick);
    /* Two claims again (alice's refused, bob's) and the guest one. */
    cr_assert_eq(rec.nclaim, claims + 3, "%u claims", rec.nclaim - claims);
    char want[512];
    snprintf(want, sizeof want, ":test.local NOTICE alice :*** Your nick was taken by a user of "
             "another server of this network while this one was cut off from it: you are %s "
             "now\r\n%s NICK :%s\r\n", nick, old, nick);
    cr_assert_str_eq(take(&a), want);
    snprintf(want, sizeof want, "%s NICK :%s\r\n", old, nick);
    cr_assert_str_eq(take(&b), want);
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, USUBJ);
    /* bob kept his. */
    cr_assert_str_eq(chat_client_of(&b)->nick, "bob");
}

/* Back after the others took this node for dead: as bus_up, and a JOIN of
 * each member on each of its channels, published on the channel's subject. */
Test(bus_up, coming_back_publishes_a_join_per_member)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    join(&a, "#D");
    take(&a);
    forget_calls();
    mx_chat_bus_rejoin(S.chat);
    settle();
    cr_assert_eq(rec.nmember, 3, "%u member calls", rec.nmember);
    cr_assert_eq(rec.npub, 3, "published %u times", rec.npub);
    unsigned seen = 0;
    for (unsigned i = 0; i < rec.npub; i++) {
        const struct pub_call *p = &rec.pub[i];
        if (strcmp(p->subject, SUBJ("#d")) == 0 &&
            strcmp(p->payload, join_payload_of(&a, "#D")) == 0)
            seen |= 1;
        else if (strcmp(p->subject, SUBJ("#c")) == 0 &&
                 strcmp(p->payload, join_payload_of(&a, "#c")) == 0)
            seen |= 2;
        else if (strcmp(p->subject, SUBJ("#c")) == 0 &&
                 strcmp(p->payload, join_payload_of(&b, "#c")) == 0)
            seen |= 4;
        else
            cr_assert_fail("published %s: %s", p->subject, p->payload);
    }
    cr_assert_eq(seen, 7, "JOINs published: %u of 7", seen);
    /* Nothing to this node's own clients: they never saw anyone leave. */
    cr_assert_str_eq(take(&a), "");
}

/* ==== 5. memberships on the network ======================================= */

TestSuite(membership, .init = start_with_bus, .fini = stop);

static void assert_member(unsigned i, const char *chan, uint64_t uid, const char *who)
{
    cr_assert_lt(i, rec.nmember, "member call %u was not made", i);
    const struct member_call *m = &rec.member[i];
    cr_assert_str_eq(m->chan, chan);
    cr_assert_eq(m->uid, uid, "member %s: uid %llu, want %llu", chan,
                 (unsigned long long)m->uid, (unsigned long long)uid);
    if (who) {
        cr_assert(m->on, "member %s: recorded as gone, want %s", chan, who);
        cr_assert_str_eq(m->who, who);
    } else {
        cr_assert(!m->on, "member %s: recorded as %s, want gone", chan, m->who);
    }
}

Test(membership, a_join_records_the_member_on_the_casefolded_channel)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    cr_assert_eq(rec.nmember, 0, "registering recorded %u memberships", rec.nmember);
    uint64_t ua = chat_client_of(&a)->uid, ub = chat_client_of(&b)->uid;
    cr_assert_neq(ua, ub, "two clients share uid %llu", (unsigned long long)ua);
    join(&a, "#Chan[1]");
    cr_assert_eq(rec.nmember, 1, "%u member calls", rec.nmember);
    assert_member(0, "#chan{1}", ua, "alice!alice@127.0.0.1");
    cr_assert_str_eq(who_of(&a), "alice!alice@127.0.0.1");
    join(&b, "#chan{1}");
    cr_assert_eq(rec.nmember, 2);
    assert_member(1, "#chan{1}", ub, who_of(&b));
    /* Joining again changes nothing. */
    join(&b, "#CHAN[1]");
    cr_assert_eq(rec.nmember, 2, "a JOIN of a member recorded it again");
}

Test(membership, a_part_records_the_member_gone_and_publishes_the_part)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#Chan");
    join(&b, "#chan");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid;
    say(&a, "PART #chan :bye\r\n");
    cr_assert_eq(rec.nmember, 1, "%u member calls", rec.nmember);
    assert_member(0, "#chan", ua, NULL);
    /* The line to the channel's members on other nodes, on its subject. */
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#chan"));
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "PART #Chan :bye"));
}

Test(membership, a_kick_records_the_target_gone_and_publishes_the_kick)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    forget_calls();
    uint64_t ub = chat_client_of(&b)->uid;
    say(&a, "KICK #c bob :out\r\n");
    cr_assert_eq(rec.nmember, 1, "%u member calls", rec.nmember);
    assert_member(0, "#c", ub, NULL);
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, SUBJ("#c"));
    cr_assert_str_eq(rec.pub[0].payload, payload_of(&a, 0, "", "KICK #c bob :out"));
}

Test(membership, a_nick_change_records_each_channel_again_and_publishes_once)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&a, "#D");
    join(&b, "#c");
    join(&b, "#d");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid;
    char old[256];
    snprintf(old, sizeof old, "%s", source_of(&a));
    say(&a, "NICK alice2\r\n");
    cr_assert_str_eq(chat_client_of(&a)->nick, "alice2", "the NICK was not granted");
    cr_assert_eq(rec.nmember, 2, "%u member calls", rec.nmember);
    assert_member(0, "#c", ua, "alice2!alice@127.0.0.1");
    assert_member(1, "#d", ua, "alice2!alice@127.0.0.1");
    /* Once on the network's subject with both channels, never on the
     * channels' own subjects: a member of both hears it once. */
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, USUBJ);
    char want[512];
    snprintf(want, sizeof want, "%s\n0\n\n#c,#D\n%s NICK :alice2\r\n", NODE, old);
    cr_assert_str_eq(rec.pub[0].payload, want);
    /* Without channels: nobody elsewhere to tell. */
    struct client c = user("carol", 1, NULL);
    forget_calls();
    say(&c, "NICK carol2\r\n");
    cr_assert_str_eq(chat_client_of(&c)->nick, "carol2");
    cr_assert_eq(rec.nmember, 0);
    cr_assert_eq(rec.npub, 0);
}

/* What the network's lists show of a member's status goes there again
 * whenever it changes: NAMES and WHO on other nodes read it. */
Test(membership, a_status_change_records_the_member_again)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&b, "#c");
    join(&b, "#d");
    cr_assert_eq(rec.nmember, 3);
    cr_assert_str_eq(rec.member[0].status, "o", "the channel's creator: '%s'",
                     rec.member[0].status);
    cr_assert_str_eq(rec.member[1].status, "");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid, ub = chat_client_of(&b)->uid;
    say(&a, "MODE #c +v bob\r\n");
    cr_assert_eq(rec.nmember, 1, "%u member calls", rec.nmember);
    assert_member(0, "#c", ub, "bob!bob@127.0.0.1");
    cr_assert_str_eq(rec.member[0].status, "v");
    say(&a, "MODE #c -o alice\r\n");
    cr_assert_eq(rec.nmember, 2, "%u member calls", rec.nmember);
    assert_member(1, "#c", ua, "alice!alice@127.0.0.1");
    cr_assert_str_eq(rec.member[1].status, "");
    /* +i: on each of bob's channels (#d his own: o); a user mode that changes nothing
     * there (+w) records nothing. */
    say(&b, "MODE bob +i\r\n");
    cr_assert_eq(rec.nmember, 4, "%u member calls", rec.nmember);
    cr_assert_str_eq(rec.member[2].status, strcmp(rec.member[2].chan, "#c") ? "oi" : "vi");
    cr_assert_str_eq(rec.member[3].status, strcmp(rec.member[3].chan, "#c") ? "oi" : "vi");
    say(&b, "MODE bob +w\r\n");
    cr_assert_eq(rec.nmember, 4, "+w recorded %u members", rec.nmember - 4);
}

Test(membership, a_quit_records_each_channel_gone_and_publishes_once)
{
    struct client a = user("alice", 0, NULL), b = user("bob", 1, NULL);
    join(&a, "#c");
    join(&a, "#d");
    join(&b, "#c");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid;
    char src[256];
    snprintf(src, sizeof src, "%s", source_of(&a));
    say(&a, "QUIT :gone\r\n");
    cr_assert_eq(rec.nmember, 2, "%u member calls", rec.nmember);
    unsigned seen = 0;
    for (unsigned i = 0; i < 2; i++) {
        const struct member_call *m = &rec.member[i];
        cr_assert_eq(m->uid, ua);
        cr_assert(!m->on, "the QUIT recorded %s on %s", m->who, m->chan);
        seen |= strcmp(m->chan, "#c") == 0 ? 1 : strcmp(m->chan, "#d") == 0 ? 2 : 4;
    }
    cr_assert_eq(seen, 3, "channels recorded gone: %u (1 #c, 2 #d, 4 another)", seen);
    cr_assert_eq(rec.npub, 1, "published %u times", rec.npub);
    cr_assert_str_eq(rec.pub[0].subject, USUBJ);
    char want[512];
    snprintf(want, sizeof want, "%s\n0\n\n#c,#d\n%s QUIT :Quit: gone\r\n", NODE, src);
    cr_assert_str_eq(rec.pub[0].payload, want);
}

Test(membership, a_lost_connection_records_its_channels_gone)
{
    struct client a = user("alice", 1, NULL);
    join(&a, "#c");
    join(&a, "#d");
    forget_calls();
    uint64_t ua = chat_client_of(&a)->uid;
    mx__conn_hangup(conn_of(&a));
    settle();
    cr_assert_eq(rec.nmember, 2, "%u member calls", rec.nmember);
    assert_member(0, "#c", ua, NULL);
    assert_member(1, "#d", ua, NULL);
}
