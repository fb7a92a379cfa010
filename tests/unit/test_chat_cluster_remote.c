/* test_chat_cluster_remote.c - what the chat core does with what its
 * cluster bus brings from other nodes (chat_remote.c, docs/cluster.md):
 * channel lines, QUIT and NICK lines of other nodes' clients, and NAMES
 * with other nodes' members. The bus is test_chat_cluster.c's recorder
 * (cluster_recorder.h), chat runs for real without sockets on the fake
 * backend, and lines from "other nodes" are handed in as the bus's thread
 * would hand them over.
 */
#include "cluster_recorder.h"

/* ==== 3. what other nodes published ======================================= */

TestSuite(remote, .init = start_with_bus, .fini = stop);

#define REMOTE_LINE ":zed!z@far.example PRIVMSG #chan :from afar\r\n"
#define REMOTE(node) node "\n0\n\n" REMOTE_LINE

/* Members of #Chan on both workers (three on worker 1, one of them with
 * server-time: a line that is empty or broken still gets a tag in front,
 * so it shows), and one client elsewhere; all their output taken. */
struct crowd {
    struct client a, b, c, timed, loner;
};

static struct crowd crowd(void)
{
    struct crowd k = {
        .a = user("alice", 0, NULL), .b = user("bob", 1, NULL), .c = user("carol", 1, NULL),
        .timed = user("tim", 1, "server-time"), .loner = user("loner", 0, NULL),
    };
    join(&k.a, "#Chan");
    join(&k.b, "#chan");
    join(&k.c, "#chan");
    join(&k.timed, "#chan");
    join(&k.loner, "#other");
    take_each((const struct client *[]){ &k.a, &k.b, &k.c, &k.timed, &k.loner, NULL });
    forget_calls();
    return k;
}

static void assert_nobody_got_anything(const struct crowd *k, const char *why)
{
    assert_none_got((const struct client *[]){ &k->a, &k->b, &k->c, &k->timed, &k->loner, NULL },
                    why);
}

Test(remote, a_line_reaches_every_local_member_once_on_every_worker)
{
    struct crowd k = crowd();
    post_from_bus(SUBJ("#chan"), REMOTE(OTHER));
    /* Posted, as from the bus's thread: nobody has it before the loops
     * run. */
    cr_assert_str_eq(take(&k.a), "");
    settle();
    cr_assert_str_eq(take(&k.a), REMOTE_LINE);
    cr_assert_str_eq(take(&k.b), REMOTE_LINE);
    cr_assert_str_eq(take(&k.c), REMOTE_LINE);
    /* server-time: stamped here, on delivery. */
    const char *t = take(&k.timed);
    cr_assert(strncmp(t, "@time=", 6) == 0, "no @time: %s", t);
    cr_assert(strchr(t, ' ') && strcmp(strchr(t, ' ') + 1, REMOTE_LINE) == 0, "got %s", t);
    cr_assert_str_eq(take(&k.loner), "", "a non-member got it");
    /* Never published again: two nodes would echo it forever. */
    cr_assert_eq(rec.npub, 0, "a remote line was published");
}

Test(remote, lines_keep_their_order)
{
    struct crowd k = crowd();
    post_from_bus(SUBJ("#chan"), OTHER "\n0\n\n:z!z@h PRIVMSG #chan :1\r\n");
    post_from_bus(SUBJ("#chan"), OTHER "\n0\n\n:z!z@h PRIVMSG #chan :2\r\n");
    settle();
    const char *want = ":z!z@h PRIVMSG #chan :1\r\n:z!z@h PRIVMSG #chan :2\r\n";
    cr_assert_str_eq(take(&k.a), want);
    cr_assert_str_eq(take(&k.b), want);
}

Test(remote, what_this_node_published_itself_is_ignored)
{
    struct crowd k = crowd();
    from_bus(SUBJ("#chan"), REMOTE(NODE));
    assert_nobody_got_anything(&k, "its own node");
    /* A name that only starts like this node's is another node. */
    from_bus(SUBJ("#chan"), REMOTE(NODE "2"));
    cr_assert_str_eq(take(&k.a), REMOTE_LINE);
}

Test(remote, a_channel_without_members_here_gets_nothing)
{
    struct crowd k = crowd();
    from_bus(SUBJ("#nobody"), REMOTE(OTHER));
    assert_nobody_got_anything(&k, "a channel that is not here");
    /* Nor one that was here and emptied (the unsubscribe is in flight). */
    join(&k.loner, "#gone");
    say(&k.loner, "PART #gone\r\n");
    take(&k.loner);
    from_bus(SUBJ("#gone"), REMOTE(OTHER));
    assert_nobody_got_anything(&k, "an emptied channel");
}

/* Each is something a node of this version never publishes; none may
 * reach anyone (or crash). */
Test(remote, malformed_payloads_deliver_nothing)
{
    struct crowd k = crowd();
    static const char *const bad[][2] = {
        { "an empty payload", "" },
        { "no newline at all", OTHER },
        { "the node only", OTHER "\n" },
        { "no tags field", OTHER "\n0\n" REMOTE_LINE },
        { "no line", OTHER "\n0\n\n" },
        { "the node alone before the line", OTHER "\n" REMOTE_LINE },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_bus(SUBJ("#chan"), bad[i][1]);
        assert_nobody_got_anything(&k, bad[i][0]);
    }
}

/* The line goes to clients as it is: one that does not end its line
 * (a stray PUBLISH, another version) would run into the next line each
 * member is sent. */
Test(remote, a_line_without_its_crlf_delivers_nothing)
{
    struct crowd k = crowd();
    from_bus(SUBJ("#chan"), OTHER "\n0\n\n:z!z@h PRIVMSG #chan :no end");
    assert_nobody_got_anything(&k, "a line without CRLF");
}

Test(remote, tags_too_long_deliver_nothing)
{
    struct crowd k = crowd();
    static char payload[8192];
    int n = snprintf(payload, sizeof payload, "%s\n0\n+x=", OTHER);
    memset(payload + n, 'v', 4200);
    snprintf(payload + n + 4200, sizeof payload - (size_t)n - 4200, "\n%s", REMOTE_LINE);
    from_bus(SUBJ("#chan"), payload);
    assert_nobody_got_anything(&k, "tags of 4 KiB and more");
}

Test(remote, subjects_that_name_no_channel_of_ours_deliver_nothing)
{
    struct crowd k = crowd();
    static const char *const bad[][2] = {
        { "the prefix alone", SUBJ("") },
        { "shorter than the prefix", "#chan" },
        { "no subject", "" },
        /* 51 characters: longer than any channel (CHANLEN 50). */
        { "an over-long channel name",
          SUBJ("#chan0123456789012345678901234567890123456789012345") },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_bus(bad[i][1], REMOTE(OTHER));
        assert_nobody_got_anything(&k, bad[i][0]);
    }
    /* Far longer: the name is copied to the stack only after its bound
     * is checked (this one would smash it). */
    char subject[600];
    int n = snprintf(subject, sizeof subject, "%s#", SUBJ(""));
    memset(subject + n, 'c', 500);
    subject[n + 500] = '\0';
    from_bus(subject, REMOTE(OTHER));
    assert_nobody_got_anything(&k, "a channel name of 500 bytes");
}

/* A subject of another network (or another prefix) whose tail after
 * strlen(prefix) bytes happens to be one of our channels: it is not ours. */
Test(remote, a_subject_without_our_prefix_delivers_nothing)
{
    struct crowd k = crowd();
    cr_assert_eq(strlen("muxd:web:c:#chan"), strlen(SUBJ("#chan")));
    from_bus("muxd:web:c:#chan", REMOTE(OTHER));
    assert_nobody_got_anything(&k, "another network's subject");
    from_bus("xxxxxxxxxxx#chan", REMOTE(OTHER));
    assert_nobody_got_anything(&k, "a subject of no prefix");
}

Test(remote, the_longest_channel_name_is_delivered)
{
    /* The bound on the name is CHANLEN, inclusive. */
    struct client a = user("alice", 1, NULL);
    const char *name = "#chan012345678901234567890123456789012345678901234";
    cr_assert_eq(strlen(name), CHAT_CHANLEN);
    join(&a, name);
    take(&a);
    char subject[128], payload[256], line[128];
    snprintf(subject, sizeof subject, PREFIX "c:%s", name);
    snprintf(line, sizeof line, ":z!z@h PRIVMSG %s :long\r\n", name);
    snprintf(payload, sizeof payload, OTHER "\n0\n\n%s", line);
    from_bus(subject, payload);
    cr_assert_str_eq(take(&a), line);
}

Test(remote, a_tagmsg_reaches_only_members_with_message_tags)
{
    struct client a = user("alice", 0, "message-tags"), b = user("bob", 1, NULL),
                  c = user("carol", 1, "message-tags"), d = user("dave", 0, NULL);
    join(&a, "#chan");
    join(&b, "#chan");
    join(&c, "#chan");
    join(&d, "#chan");
    take(&a);
    take(&b);
    take(&c);
    take(&d);
    char payload[256];
    snprintf(payload, sizeof payload, "%s\n%u\n+react=x\n:z!z@h TAGMSG #chan\r\n", OTHER,
             (unsigned)CAP_MESSAGE_TAGS);
    from_bus(SUBJ("#chan"), payload);
    cr_assert_str_eq(take(&a), "@+react=x :z!z@h TAGMSG #chan\r\n");
    cr_assert_str_eq(take(&c), "@+react=x :z!z@h TAGMSG #chan\r\n");
    cr_assert_str_eq(take(&b), "", "a TAGMSG reached a member without message-tags");
    cr_assert_str_eq(take(&d), "", "a TAGMSG reached a member without message-tags");
}

/* Another node's JOIN carries its extended-join form: each member gets
 * the form it asked for; and its AT is the @time of those with
 * server-time. */
Test(remote, a_join_comes_in_the_form_each_member_asked_for_at_its_time)
{
    struct client a = user("alice", 0, "extended-join"), b = user("bob", 1, NULL),
                  c = user("carol", 1, "server-time");
    join(&a, "#chan");
    join(&b, "#chan");
    join(&c, "#chan");
    take(&a);
    take(&b);
    take(&c);
    from_bus(SUBJ("#chan"), OTHER "\n0 1796342947.250000000\n\n:z!z@h JOIN :#chan\r\n"
                            ":z!z@h JOIN #chan * :Zed Z\r\n");
    cr_assert_str_eq(take(&a), ":z!z@h JOIN #chan * :Zed Z\r\n");
    cr_assert_str_eq(take(&b), ":z!z@h JOIN :#chan\r\n");
    cr_assert_str_eq(take(&c), "@time=2026-12-04T00:09:07.250Z :z!z@h JOIN :#chan\r\n");
    /* Without AT (a netsplit QUIT from Redis's script), or with one that
     * is no time: now. */
    from_bus(SUBJ("#chan"), OTHER "\n0 soon\n\n:z!z@h PRIVMSG #chan :hi\r\n");
    char *t = take(&c);
    cr_assert(strncmp(t, "@time=20", 8) == 0 && !strstr(t, "00:09:07.250Z"), "%s", t);
}

/* Only a JOIN may have a second line, and only its own extended form. */
Test(remote, a_second_line_that_is_no_join_form_delivers_nothing)
{
    struct client a = user("alice", 0, "extended-join"), b = user("bob", 1, NULL);
    join(&a, "#chan");
    join(&b, "#chan");
    take(&a);
    take(&b);
    static const char *const bad[] = {
        OTHER "\n0\n\n:z!z@h PRIVMSG #chan :hi\r\n:z!z@h PRIVMSG #chan :two\r\n",
        OTHER "\n0\n\n:z!z@h JOIN :#chan\r\n:y!y@h JOIN #chan * :Other\r\n",
        OTHER "\n0\n\n:z!z@h JOIN :#chan\r\n:z!z@h JOIN #chan * :no crlf",
        OTHER "\n0\n\n:z!z@h JOIN :#chan\r\n:z!z@h JOIN #chan\r\n:z!z@h KICK #chan alice\r\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_bus(SUBJ("#chan"), bad[i]);
        cr_assert_str_eq(take(&a), "", "payload %zu delivered", i);
        cr_assert_str_eq(take(&b), "", "payload %zu delivered", i);
    }
}

Test(remote, client_tags_of_a_privmsg_go_only_to_members_with_message_tags)
{
    struct client a = user("alice", 0, "message-tags"), b = user("bob", 1, NULL);
    join(&a, "#chan");
    join(&b, "#chan");
    take(&a);
    take(&b);
    from_bus(SUBJ("#chan"), OTHER "\n0\n+x=1\n:z!z@h PRIVMSG #chan :hi\r\n");
    cr_assert_str_eq(take(&a), "@+x=1 :z!z@h PRIVMSG #chan :hi\r\n");
    cr_assert_str_eq(take(&b), ":z!z@h PRIVMSG #chan :hi\r\n");
}

/* ==== 6. QUIT and NICK lines of other nodes' clients ====================== */

TestSuite(network, .init = start_with_bus, .fini = stop);

#define NET_QUIT ":z!z@h QUIT :gone\r\n"

/* Members of #c and #d on both workers (c0, c1), of #d alone (d1), of
 * #c alone (c0only) and of neither (e0, on #e); their output taken. */
struct net_crowd {
    struct client c0, c1, d1, c0only, e0;
};

static struct net_crowd net_crowd(void)
{
    struct net_crowd k = {
        .c0 = user("cd0", 0, NULL), .c1 = user("cd1", 1, NULL), .d1 = user("d1", 1, NULL),
        .c0only = user("c0", 0, NULL), .e0 = user("e0", 0, NULL),
    };
    join(&k.c0, "#c");
    join(&k.c0, "#d");
    join(&k.c1, "#C");
    join(&k.c1, "#D");
    join(&k.d1, "#d");
    join(&k.c0only, "#c");
    join(&k.e0, "#e");
    take_each((const struct client *[]){ &k.c0, &k.c1, &k.d1, &k.c0only, &k.e0, NULL });
    forget_calls();
    return k;
}

static void assert_net_nothing(const struct net_crowd *k, const char *why)
{
    assert_none_got((const struct client *[]){ &k->c0, &k->c1, &k->d1, &k->c0only, &k->e0, NULL },
                    why);
}

Test(network, a_quit_reaches_each_member_of_its_channels_once)
{
    struct net_crowd k = net_crowd();
    post_from_bus(USUBJ, OTHER "\n0\n\n#c,#d\n" NET_QUIT);
    cr_assert_str_eq(take(&k.c0), "", "delivered before the loops ran");
    settle();
    cr_assert_str_eq(take(&k.c0), NET_QUIT, "a member of both, worker 0");
    cr_assert_str_eq(take(&k.c1), NET_QUIT, "a member of both, worker 1");
    cr_assert_str_eq(take(&k.d1), NET_QUIT, "a member of #d only");
    cr_assert_str_eq(take(&k.c0only), NET_QUIT, "a member of #c only");
    cr_assert_str_eq(take(&k.e0), "", "a member of neither got it");
    cr_assert_eq(rec.npub, 0, "a line of another node was published again");
    /* The channels as the other node named them: any case; one that is
     * not here is left out. */
    from_bus(USUBJ, OTHER "\n0\n\n#nowhere,#D\n:z!z@h NICK :y\r\n");
    cr_assert_str_eq(take(&k.c0), ":z!z@h NICK :y\r\n");
    cr_assert_str_eq(take(&k.c1), ":z!z@h NICK :y\r\n");
    cr_assert_str_eq(take(&k.d1), ":z!z@h NICK :y\r\n");
    cr_assert_str_eq(take(&k.c0only), "", "a member of #c only got #d's line");
    cr_assert_str_eq(take(&k.e0), "");
}

Test(network, what_this_node_published_itself_is_ignored)
{
    struct net_crowd k = net_crowd();
    from_bus(USUBJ, NODE "\n0\n\n#c,#d\n" NET_QUIT);
    assert_net_nothing(&k, "its own node");
    from_bus(USUBJ, NODE "2\n0\n\n#c\n" NET_QUIT);
    cr_assert_str_eq(take(&k.c0only), NET_QUIT, "node-a2 is another node");
}

Test(network, malformed_payloads_deliver_nothing)
{
    struct net_crowd k = net_crowd();
    static const char *const bad[][2] = {
        { "an empty payload", "" },
        { "the node only", OTHER "\n" },
        { "no channel field", OTHER "\n0\n\n" NET_QUIT },
        { "no line", OTHER "\n0\n\n#c,#d\n" },
        { "a line without CRLF", OTHER "\n0\n\n#c,#d\n:z!z@h QUIT :gone" },
        { "a line with LF alone", OTHER "\n0\n\n#c,#d\n:z!z@h QUIT :gone\n" },
        { "two lines", OTHER "\n0\n\n#c,#d\n:z!z@h QUIT :a\r\n:z!z@h QUIT :b\r\n" },
        { "a bare CR inside", OTHER "\n0\n\n#c,#d\n:z!z@h QUIT :a\rb\r\n" },
        { "no channels", OTHER "\n0\n\n\n" NET_QUIT },
        { "commas alone", OTHER "\n0\n\n,,,\n" NET_QUIT },
        /* 51 characters: longer than any channel (CHANLEN 50). */
        { "a channel name over CHANLEN",
          OTHER "\n0\n\n#c0123456789012345678901234567890123456789012345678\n" NET_QUIT },
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        from_bus(USUBJ, bad[i][1]);
        assert_net_nothing(&k, bad[i][0]);
    }
    /* A line of more than 512 bytes. */
    static char payload[1024];
    int n = snprintf(payload, sizeof payload, "%s\n0\n\n#c\n:z!z@h QUIT :", OTHER);
    memset(payload + n, 'x', 520);
    snprintf(payload + n + 520, sizeof payload - (size_t)n - 520, "\r\n");
    from_bus(USUBJ, payload);
    assert_net_nothing(&k, "a line over 512 bytes");
}

Test(network, a_channel_list_over_its_bound_delivers_nothing)
{
    /* 128 channels of 50 and their commas at most: a list longer than
     * that is refused whole (it would not fit the stack's copy), even
     * when it names our channels. */
    struct net_crowd k = net_crowd();
    static char payload[16384];
    int n = snprintf(payload, sizeof payload, "%s\n0\n\n", OTHER);
    while (n < 8000)
        n += snprintf(payload + n, sizeof payload - (size_t)n, "#c,#d,");
    snprintf(payload + n, sizeof payload - (size_t)n, "#c\n%s", NET_QUIT);
    from_bus(USUBJ, payload);
    assert_net_nothing(&k, "a channel list of 8 KB");
}

Test(network, the_longest_channel_name_is_delivered)
{
    struct client a = user("alice", 1, NULL);
    const char *name = "#chan012345678901234567890123456789012345678901234";
    cr_assert_eq(strlen(name), CHAT_CHANLEN);
    join(&a, name);
    take(&a);
    char payload[256];
    snprintf(payload, sizeof payload, "%s\n0\n\n#x,%s\n%s", OTHER, name, NET_QUIT);
    from_bus(USUBJ, payload);
    cr_assert_str_eq(take(&a), NET_QUIT);
}

/* ==== 7. NAMES: the members of other nodes too ============================ */

TestSuite(names, .init = start_with_bus, .fini = stop);

#define NAMES_END(nick, chan) ":test.local 366 " nick " " chan " :End of NAMES list\r\n"

/* alice (worker 0, the channel's first: @) and bob (worker 1) on #c,
 * their output taken; the network answers with zed of node-b and alice
 * herself (this node's entries are its own tables' business). */
static void names_world(struct client *a, struct client *b)
{
    *a = user("alice", 0, NULL);
    *b = user("bob", 1, NULL);
    join(a, "#c");
    join(b, "#c");
    take(a);
    take(b);
    static char mine[512];
    snprintf(mine, sizeof mine, "%s %llu\n%s", NODE,
             (unsigned long long)chat_client_of(a)->uid, who_of(a));
    rec.answer[0] = OTHER " 7\nzed!z@h";
    rec.answer[1] = mine;
    rec.nanswer = 2;
    forget_calls();
}

Test(names, other_nodes_members_come_after_this_nodes)
{
    struct client a, b;
    names_world(&a, &b);
    unsigned asked = rec.nmembers;
    say(&a, "NAMES #C\r\n");
    cr_assert_eq(rec.nmembers, asked + 1, "NAMES asked the network %u times",
                 rec.nmembers - asked);
    cr_assert_str_eq(rec.members[asked].chan, "#c", "asked for another channel");
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob zed\r\n"
                               NAMES_END("alice", "#c"));
}

/* Other nodes' members with their status there (the entry's last
 * line); an invisible one only to the channel's members. */
Test(names, other_nodes_members_show_their_status)
{
    struct client a, b;
    names_world(&a, &b);
    rec.answer[0] = OTHER " 7\nzed!z@h\nZed\nov";
    rec.answer[2] = OTHER " 8\nyan!y@h\nYan\nv";
    rec.answer[3] = OTHER " 9\nxi!x@h\nXi\ni";
    rec.nanswer = 4;
    say(&a, "NAMES #c\r\n");
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob @zed +yan xi\r\n"
                               NAMES_END("alice", "#c"));
    struct client m = user("mo", 1, "multi-prefix");
    say(&m, "NAMES #c\r\n");
    cr_assert_str_eq(take(&m), ":test.local 353 mo = #c :@alice bob @+zed +yan\r\n"
                               NAMES_END("mo", "#c"));
}

Test(names, userhost_in_names_shows_other_nodes_members_whole)
{
    struct client a, b;
    names_world(&a, &b);
    struct client c = user("carol", 1, "userhost-in-names");
    join(&c, "#c");
    take(&a);
    char *t = take(&c);
    cr_assert(strstr(t, ":test.local 353 carol = #c :@alice!alice@127.0.0.1 bob!bob@127.0.0.1 "
                        "carol!carol@127.0.0.1 zed!z@h\r\n" NAMES_END("carol", "#c")),
              "carol's JOIN: %s", t);
    say(&c, "NAMES #c\r\n");
    cr_assert_str_eq(take(&c), ":test.local 353 carol = #c :@alice!alice@127.0.0.1 "
                               "bob!bob@127.0.0.1 carol!carol@127.0.0.1 zed!z@h\r\n"
                               NAMES_END("carol", "#c"));
}

Test(names, a_joins_names_lists_other_nodes_members)
{
    struct client a, b;
    names_world(&a, &b);
    struct client c = user("carol", 0, NULL);
    join(&c, "#c");
    cr_assert_str_eq(take(&c), ":carol!carol@127.0.0.1 JOIN :#c\r\n"
                               ":test.local 353 carol = #c :@alice bob carol zed\r\n"
                               NAMES_END("carol", "#c"));
}

Test(names, the_clients_next_lines_wait_for_the_answer)
{
    struct client a, b;
    names_world(&a, &b);
    rec.hold_members = true;
    say(&a, "NAMES #c\r\nPING :after\r\n");
    cr_assert_str_eq(take(&a), "", "sent before the network answered");
    /* Another client goes on meanwhile. */
    say(&b, "PING :bob\r\n");
    cr_assert_str_eq(take(&b), ":test.local PONG test.local :bob\r\n");
    cr_assert_str_eq(take(&a), "");
    rec.hold_members = false;
    settle();
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob zed\r\n"
                               NAMES_END("alice", "#c")
                               ":test.local PONG test.local :after\r\n");
}

Test(names, without_the_networks_answer_this_nodes_members_are_listed)
{
    struct client a, b;
    names_world(&a, &b);
    rec.members_fail = true;
    say(&a, "NAMES #c\r\nPING :after\r\n");
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob\r\n"
                               NAMES_END("alice", "#c")
                               ":test.local PONG test.local :after\r\n");
}

Test(names, entries_that_are_not_nick_user_host_are_skipped)
{
    struct client a, b;
    names_world(&a, &b);
    rec.answer[0] = OTHER " 7\nzed!z@h";
    rec.answer[1] = OTHER " 8\nnobang";
    rec.answer[2] = OTHER " 9\nsp ace!s@h";
    rec.answer[3] = "no newline at all";
    rec.answer[4] = OTHER " 10\n";
    rec.answer[5] = NODE "2 11\nyan!y@h";   /* another node whose name starts like ours */
    rec.nanswer = 6;
    say(&a, "NAMES #c\r\n");
    cr_assert_str_eq(take(&a), ":test.local 353 alice = #c :@alice bob zed yan\r\n"
                               NAMES_END("alice", "#c"));
}

Test(names, a_client_gone_before_the_answer_is_no_trouble)
{
    struct client a, b;
    names_world(&a, &b);
    rec.hold_members = true;
    say(&a, "NAMES #c\r\n");
    mx__conn_hangup(conn_of(&a));
    settle();
    take(&b);
    rec.hold_members = false;
    settle();
    cr_assert_eq(rec.nmembers_answered, rec.nmembers);
    say(&b, "NAMES #c\r\n");
    /* alice's place is gone here (bob keeps no @: no one gave it). */
    cr_assert_str_eq(take(&b), ":test.local 353 bob = #c :bob zed\r\n"
                               NAMES_END("bob", "#c"));
}
