/* test_load_opts.c - muxd-load's command line: every mode's defaults and
 * options, help, and mistakes that must be refused (main exits 2 on them). */
#include <criterion/criterion.h>

#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "opts.h"

static struct ld_opts o;
static char err[512];

#define PARSE(...) parse((char *[]){ "muxd-load", __VA_ARGS__, NULL })

static int parse(char **argv)
{
    int argc = 0;
    while (argv[argc])
        argc++;
    return ld_parse_args(&o, argc, argv, err, sizeof err);
}

static void ok(int rc)
{
    cr_assert_eq(rc, LD_PARSE_OK, "refused: %s", err);
}

/* Refused, with a reason that names what was wrong. */
static void refused(int rc, const char *needle)
{
    cr_assert_eq(rc, LD_PARSE_ERROR, "accepted (wanted an error about '%s')", needle);
    cr_assert(strstr(err, needle), "reason '%s' lacks '%s'", err, needle);
}

Test(load_opts, echo_defaults)
{
    ok(PARSE("echo", "127.0.0.1:7000"));
    cr_assert_eq(o.mode, LD_ECHO);
    cr_assert_eq(o.conns, 100);
    cr_assert_eq(o.threads, 1);
    cr_assert_eq(o.size, 64);
    cr_assert_eq(o.depth, 1);
    cr_assert_eq(o.rate, 0.0);
    cr_assert_eq(o.duration, 5.0);
    cr_assert_eq(o.warmup, 1.0);
    cr_assert_eq(o.heavy, 0);
    cr_assert_not(o.json);
    cr_assert_str_eq(o.target, "127.0.0.1:7000");
    cr_assert_eq(o.ntargets, 1);
    cr_assert_eq(o.nserver_pids, 0);
    const struct sockaddr_in *a = (const struct sockaddr_in *)&o.targets[0].addr;
    cr_assert_eq(a->sin_family, AF_INET);
    cr_assert_eq(ntohs(a->sin_port), 7000);
}

Test(load_opts, echo_every_option)
{
    ok(PARSE("echo", "-c", "20", "-t", "4", "-s", "4k", "-d", "8", "--duration", "2.5",
             "--warmup", "0", "--json", "--src-ips", "3", "--server-pid", "42", "--lines",
             "--connect-rate", "500", "--max-connect-failures", "2", "127.0.0.1:9"));
    cr_assert_eq(o.conns, 20);
    cr_assert_eq(o.threads, 4);
    cr_assert_eq(o.size, 4096);
    cr_assert_eq(o.depth, 8);
    cr_assert_eq(o.duration, 2.5);
    cr_assert_eq(o.warmup, 0.0);
    cr_assert(o.json && o.lines);
    cr_assert_eq(o.src_ips, 3);
    cr_assert_eq(o.nserver_pids, 1);
    cr_assert_eq(o.server_pids[0], 42);
    cr_assert_eq(o.ntargets, 1);
    cr_assert_str_eq(o.targets[0].text, "127.0.0.1:9");
    cr_assert_eq(o.connect_rate, 500.0);
    cr_assert_eq(o.max_connect_failures, 2);
    ok(PARSE("echo", "--rate", "1e4", "-s", "1m", "[::1]:7000"));
    cr_assert_eq(o.rate, 10000.0);
    cr_assert_eq(o.size, 1024 * 1024);
    cr_assert_eq(o.targets[0].addr.ss_family, AF_INET6);
}

Test(load_opts, idle_and_work)
{
    ok(PARSE("idle", "-c", "5000", "--duration", "10", "127.0.0.1:7000"));
    cr_assert_eq(o.mode, LD_IDLE);
    cr_assert_eq(o.conns, 5000);
    cr_assert_eq(o.duration, 10.0);
    ok(PARSE("work", "-c", "200", "127.0.0.1:7001"));
    cr_assert_eq(o.mode, LD_WORK);
    cr_assert_eq(o.heavy, 1);
    cr_assert(o.lines, "work is a line protocol");
    cr_assert_str_eq(o.heavy_req, "SPIN 50\n");
    cr_assert_str_eq(o.heavy_reply, "DONE 50\n");
    ok(PARSE("work", "--heavy", "3", "--heavy-line", "SLEEP 007", "127.0.0.1:7001"));
    cr_assert_eq(o.heavy, 3);
    cr_assert_str_eq(o.heavy_req, "SLEEP 7\n");
    cr_assert_str_eq(o.heavy_reply, "DONE 7\n");
}

Test(load_opts, chat)
{
    ok(PARSE("chat", "127.0.0.1:6667"));
    cr_assert_eq(o.mode, LD_CHAT);
    cr_assert_eq(o.rate, 100.0);
    cr_assert_eq(o.channels, 1);
    cr_assert_eq(o.senders, 1);
    cr_assert_eq(o.drain, 2.0);
    cr_assert_str_eq(o.nick_prefix, "ld");
    cr_assert_str_eq(o.chan_prefix, "load");
    ok(PARSE("chat", "-c", "50", "--channels", "5", "--senders", "10", "--rate", "1000", "-s",
             "400", "--drain", "0.5", "--nick-prefix", "bot", "--chan-prefix", "room",
             "--connect-rate", "100", "127.0.0.1:6667"));
    cr_assert_eq(o.channels, 5);
    cr_assert_eq(o.senders, 10);
    cr_assert_eq(o.size, 400);
    cr_assert_eq(o.drain, 0.5);
    cr_assert_str_eq(o.nick_prefix, "bot");
    cr_assert_str_eq(o.chan_prefix, "room");
    cr_assert_str_eq(o.caps, "");
    ok(PARSE("chat", "--caps", "server-time message-tags", "127.0.0.1:6667"));
    cr_assert_str_eq(o.caps, "server-time message-tags");
    cr_assert_eq(PARSE("chat", "--caps", "a\r\nQUIT", "127.0.0.1:6667"), LD_PARSE_ERROR);
    cr_assert_eq(PARSE("echo", "--caps", "x", "127.0.0.1:6667"), LD_PARSE_ERROR);
}

static unsigned short port_of(const struct ld_target *t)
{
    if (t->addr.ss_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)&t->addr)->sin6_port);
    return ntohs(((const struct sockaddr_in *)&t->addr)->sin_port);
}

Test(load_opts, chat_servers_list)
{
    ok(PARSE("chat", "-c", "10", "127.0.0.1:6667,127.0.0.2:6668,[::1]:6669", "--senders", "2"));
    cr_assert_eq(o.ntargets, 3);
    cr_assert_str_eq(o.target, "127.0.0.1:6667,127.0.0.2:6668,[::1]:6669");
    cr_assert_str_eq(o.targets[0].text, "127.0.0.1:6667");
    cr_assert_str_eq(o.targets[1].text, "127.0.0.2:6668");
    cr_assert_str_eq(o.targets[2].text, "[::1]:6669");
    cr_assert_eq(o.targets[0].addr.ss_family, AF_INET);
    cr_assert_eq(o.targets[2].addr.ss_family, AF_INET6);
    cr_assert_eq(port_of(&o.targets[1]), 6668);
    /* client i connects to entry i % n */
    cr_assert_eq(ld_target_of(&o, 0), &o.targets[0]);
    cr_assert_eq(ld_target_of(&o, 4), &o.targets[1]);
    cr_assert_eq(ld_target_of(&o, 8), &o.targets[2]);
    cr_assert_eq(ld_target_of(&o, 9), &o.targets[0]);
    /* a server may take a larger share by being listed twice */
    ok(PARSE("chat", "127.0.0.1:1,127.0.0.1:1,127.0.0.1:2"));
    cr_assert_eq(o.ntargets, 3);
    ok(PARSE("chat", "--src-ips", "4", "127.0.0.1:1,127.0.0.1:2"));
    /* sixteen at most */
    ok(PARSE("chat", "1.0.0.1:1,1.0.0.2:1,1.0.0.3:1,1.0.0.4:1,1.0.0.5:1,1.0.0.6:1,1.0.0.7:1,"
                     "1.0.0.8:1,1.0.0.9:1,1.0.0.10:1,1.0.0.11:1,1.0.0.12:1,1.0.0.13:1,"
                     "1.0.0.14:1,1.0.0.15:1,1.0.0.16:1"));
    cr_assert_eq(o.ntargets, LD_MAX_TARGETS);
    cr_assert_eq(port_of(&o.targets[15]), 1);
}

Test(load_opts, servers_list_refusals)
{
    /* chat only */
    refused(PARSE("echo", "127.0.0.1:1,127.0.0.1:2"), "for chat mode only");
    refused(PARSE("idle", "127.0.0.1:1,127.0.0.1:2"), "idle mode takes one HOST:PORT");
    refused(PARSE("work", "127.0.0.1:1,127.0.0.1:2"), "for chat mode only");
    refused(PARSE("hostile", "--proto", "chat", "127.0.0.1:1,127.0.0.1:2"), "chat mode only");
    /* the bad entry is named */
    refused(PARSE("chat", "127.0.0.1:1,localhost:2"), "'localhost:2'");
    refused(PARSE("chat", "127.0.0.1:1,127.0.0.1:0"), "'127.0.0.1:0'");
    refused(PARSE("chat", "127.0.0.1:1,127.0.0.1:70000,127.0.0.1:3"), "'127.0.0.1:70000'");
    refused(PARSE("chat", "127.0.0.1:1,127.0.0.1"), "expected HOST:PORT, got '127.0.0.1'");
    refused(PARSE("chat", "127.0.0.1:1,[::1:2"), "'[::1:2'");
    refused(PARSE("chat", "127.0.0.1:1,,127.0.0.1:2"), "an empty entry");
    refused(PARSE("chat", "127.0.0.1:1,"), "an empty entry");
    refused(PARSE("chat", ",127.0.0.1:1"), "an empty entry");
    refused(PARSE("chat", ""), "expected HOST:PORT");
    refused(PARSE("chat", "127.0.0.1:1,1234567890123456789012345678901234567890123456789012345678"
                          "90123456789012345678:1"), "at most 72 characters");
    refused(PARSE("chat", "1.0.0.1:1,1.0.0.2:1,1.0.0.3:1,1.0.0.4:1,1.0.0.5:1,1.0.0.6:1,1.0.0.7:1,"
                          "1.0.0.8:1,1.0.0.9:1,1.0.0.10:1,1.0.0.11:1,1.0.0.12:1,1.0.0.13:1,"
                          "1.0.0.14:1,1.0.0.15:1,1.0.0.16:1,1.0.0.17:1"), "at most 16 servers");
    refused(PARSE("chat", "--src-ips", "2", "127.0.0.1:1,[::1]:2"), "got '[::1]:2'");
}

Test(load_opts, server_pid_list)
{
    ok(PARSE("chat", "--server-pid", "101,202,303", "127.0.0.1:1,127.0.0.1:2"));
    cr_assert_eq(o.nserver_pids, 3);
    cr_assert_eq(o.server_pids[0], 101);
    cr_assert_eq(o.server_pids[1], 202);
    cr_assert_eq(o.server_pids[2], 303);
    /* any mode that takes --server-pid sums a list; the last option counts */
    ok(PARSE("echo", "--server-pid", "7,8", "--server-pid", "9", "127.0.0.1:1"));
    cr_assert_eq(o.nserver_pids, 1);
    cr_assert_eq(o.server_pids[0], 9);
    ok(PARSE("work", "--server-pid", "1,2", "127.0.0.1:1"));
    cr_assert_eq(o.nserver_pids, 2);
    refused(PARSE("chat", "--server-pid", "12,x3", "127.0.0.1:1"), "got 'x3'");
    refused(PARSE("chat", "--server-pid", "12,0", "127.0.0.1:1"), "got '0'");
    refused(PARSE("chat", "--server-pid", "12,,13", "127.0.0.1:1"), "--server-pid: an empty entry");
    refused(PARSE("chat", "--server-pid", "12,", "127.0.0.1:1"), "--server-pid: an empty entry");
    refused(PARSE("chat", "--server-pid", "12,13,12", "127.0.0.1:1"), "process 12 is listed twice");
    refused(PARSE("echo", "--server-pid", "1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17",
                  "127.0.0.1:1"), "at most 16");
    refused(PARSE("hostile", "--server-pid", "1,2", "127.0.0.1:1"), "not an option of hostile");
}

Test(load_opts, help)
{
    cr_assert_eq(PARSE("--help"), LD_PARSE_HELP);
    cr_assert_eq(o.mode, LD_NMODES);
    cr_assert_eq(PARSE("chat", "--help"), LD_PARSE_HELP);
    cr_assert_eq(o.mode, LD_CHAT);
    cr_assert_eq(PARSE("work", "-h"), LD_PARSE_HELP);
    cr_assert_eq(o.mode, LD_WORK);
}

Test(load_opts, help_lists_each_modes_options)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);
    ld_print_usage(f, LD_CHAT);
    fclose(f);
    cr_assert(strstr(text, "--senders"));
    cr_assert(strstr(text, "--nick-prefix"));
    cr_assert_null(strstr(text, "--heavy"), "chat help lists a work option");
    free(text);
    f = open_memstream(&text, &len);
    ld_print_usage(f, LD_WORK);
    fclose(f);
    cr_assert(strstr(text, "--heavy-line"));
    cr_assert_null(strstr(text, "--senders"));
    free(text);
}

Test(load_opts, bad_mode_and_target)
{
    refused(PARSE("bogus", "127.0.0.1:1"), "unknown mode 'bogus'");
    refused(parse((char *[]){ "muxd-load", NULL }), "MODE missing");
    refused(PARSE("echo"), "HOST:PORT missing");
    refused(PARSE("echo", "localhost:7000"), "numeric");
    refused(PARSE("echo", "127.0.0.1"), "HOST:PORT");
    refused(PARSE("echo", "127.0.0.1:0"), "port");
    refused(PARSE("echo", "127.0.0.1:65536"), "port");
    refused(PARSE("echo", "127.0.0.1:1", "127.0.0.1:2"), "one HOST:PORT");
    refused(PARSE("echo", "--bogus", "127.0.0.1:1"), "unknown option '--bogus'");
    refused(PARSE("echo", "-c"), "-c needs a value");
}

Test(load_opts, bad_numbers)
{
    refused(PARSE("echo", "-c", "0", "127.0.0.1:1"), "-c: expected a number from 1");
    refused(PARSE("echo", "-c", "-5", "127.0.0.1:1"), "-c");
    refused(PARSE("echo", "-c", "12x", "127.0.0.1:1"), "-c");
    refused(PARSE("echo", "-t", "257", "127.0.0.1:1"), "-t");
    refused(PARSE("echo", "-s", "2m", "127.0.0.1:1"), "-s");
    refused(PARSE("echo", "-s", "0", "127.0.0.1:1"), "-s");
    refused(PARSE("echo", "-d", "0", "127.0.0.1:1"), "-d");
    refused(PARSE("echo", "--rate", "0", "127.0.0.1:1"), "--rate");
    refused(PARSE("echo", "--rate", "fast", "127.0.0.1:1"), "--rate");
    refused(PARSE("echo", "--duration", "0", "127.0.0.1:1"), "--duration");
    refused(PARSE("echo", "--duration", "-1", "127.0.0.1:1"), "--duration");
    refused(PARSE("echo", "--warmup", "x", "127.0.0.1:1"), "--warmup");
    refused(PARSE("echo", "--src-ips", "255", "127.0.0.1:1"), "--src-ips");
    refused(PARSE("echo", "--server-pid", "0", "127.0.0.1:1"), "--server-pid");
    refused(PARSE("chat", "-s", "401", "127.0.0.1:1"), "-s");
    refused(PARSE("chat", "--drain", "-1", "127.0.0.1:1"), "--drain");
    refused(PARSE("work", "--heavy-line", "SPIN", "127.0.0.1:1"), "--heavy-line");
    refused(PARSE("work", "--heavy-line", "NAP 5", "127.0.0.1:1"), "--heavy-line");
    refused(PARSE("work", "--heavy-line", "SPIN 60001", "127.0.0.1:1"), "--heavy-line");
    refused(PARSE("chat", "--nick-prefix", "1ab", "127.0.0.1:1"), "--nick-prefix");
    refused(PARSE("chat", "--nick-prefix", "a b", "127.0.0.1:1"), "--nick-prefix");
    refused(PARSE("chat", "--chan-prefix", "a,b", "127.0.0.1:1"), "--chan-prefix");
}

Test(load_opts, options_of_other_modes)
{
    refused(PARSE("echo", "--heavy", "1", "127.0.0.1:1"), "--heavy is not an option of echo");
    refused(PARSE("idle", "-d", "2", "127.0.0.1:1"), "--depth is not an option of idle");
    refused(PARSE("idle", "--rate", "2", "127.0.0.1:1"), "--rate is not an option of idle");
    refused(PARSE("chat", "--lines", "127.0.0.1:1"), "--lines is not an option of chat");
    refused(PARSE("work", "--senders", "2", "127.0.0.1:1"), "--senders is not an option of work");
    refused(PARSE("chat", "--max-connect-failures", "1", "127.0.0.1:1"), "chat");
}

Test(load_opts, combinations)
{
    refused(PARSE("echo", "-d", "2", "--rate", "100", "127.0.0.1:1"), "exclude");
    refused(PARSE("echo", "--src-ips", "2", "[::1]:1"), "IPv4");
    refused(PARSE("echo", "-c", "3", "--max-connect-failures", "3", "127.0.0.1:1"), "below -c");
    refused(PARSE("echo", "--lines", "-s", "1", "127.0.0.1:1"), "at least 2");
    refused(PARSE("chat", "-c", "1", "127.0.0.1:1"), "at least 2 clients");
    refused(PARSE("chat", "-c", "4", "--senders", "5", "127.0.0.1:1"), "--senders 5");
    refused(PARSE("chat", "-c", "4", "--channels", "5", "127.0.0.1:1"), "--channels 5");
}

Test(load_opts, hostile)
{
    ok(PARSE("hostile", "127.0.0.1:7000"));
    cr_assert_eq(o.mode, LD_HOSTILE);
    cr_assert_eq(o.conns, 8);
    cr_assert_eq(o.duration, 3.0);
    cr_assert_eq(o.rate, 200.0);
    cr_assert_eq(o.hproto, LD_HP_ECHO);
    cr_assert_eq(o.hcases, ld_hcase_default(LD_HP_ECHO));
    cr_assert_eq(o.hcases & (1u << HC_FLOOD), 0, "a chat case under --proto echo");
    cr_assert_eq(o.abusers, 1);
    ok(PARSE("hostile", "--proto", "chat", "127.0.0.1:6667"));
    cr_assert_eq(o.rate, 32.0);
    cr_assert_eq(o.hcases, (1u << HC_COUNT) - 1);
    ok(PARSE("hostile", "--cases", "slowloris,flood", "--proto", "chat", "--abusers", "3",
             "--flood-conns", "50", "-c", "4", "--duration", "1", "--json", "[::1]:6667"));
    cr_assert_eq(o.hcases, (1u << HC_SLOWLORIS) | (1u << HC_FLOOD));
    cr_assert_eq(o.abusers, 3);
    cr_assert_eq(o.flood_conns, 50);
    ok(PARSE("hostile", "127.9.8.7:1"));
}

Test(load_opts, hostile_refusals)
{
    refused(PARSE("hostile", "10.0.0.1:7000"), "loopback only");
    refused(PARSE("hostile", "[2001:db8::1]:7000"), "--allow-remote");
    ok(PARSE("hostile", "--allow-remote", "10.0.0.1:7000"));
    refused(PARSE("hostile", "--cases", "flood", "127.0.0.1:1"), "no case 'flood' for --proto echo");
    refused(PARSE("hostile", "--cases", "slowloris,bogus", "127.0.0.1:1"), "'bogus'");
    refused(PARSE("hostile", "--cases", "", "127.0.0.1:1"), "--cases");
    refused(PARSE("hostile", "--proto", "http", "127.0.0.1:1"), "--proto");
    refused(PARSE("hostile", "--abusers", "0", "127.0.0.1:1"), "--abusers");
    refused(PARSE("hostile", "-t", "2", "127.0.0.1:1"), "--threads is not an option of hostile");
    refused(PARSE("echo", "--cases", "garbage", "127.0.0.1:1"), "not an option of echo");
    refused(PARSE("hostile", "-s", "401", "127.0.0.1:1"), "-s");
}
