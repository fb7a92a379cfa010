/* bench/peers/libevent_echo.c - a raw echo server as libevent's manual
 * writes one: an evconnlistener and one bufferevent per connection, the
 * input buffer moved to the output buffer as it arrives.
 *
 *   libevent_echo HOST:PORT   (PORT 0: any free port; prints where it listens)
 *
 * Single-threaded, the backend libevent picks (epoll on Linux), up to
 * 64 KiB per read or write call (libevent's default is 4 KiB). A
 * connection with more than 256 KiB queued stops being read until its
 * output drains to 64 KiB, so a client that does not read cannot grow it
 * without bound. SIGTERM or SIGINT: exit 0.
 */
#include "peer_addr.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <signal.h>
#include <stdio.h>

enum { HIGH = 256 * 1024, LOW = 64 * 1024 };

static void on_read(struct bufferevent *bev, void *arg)
{
    struct evbuffer *out = bufferevent_get_output(bev);
    evbuffer_add_buffer(out, bufferevent_get_input(bev));
    if (evbuffer_get_length(out) > HIGH) {
        bufferevent_disable(bev, EV_READ);
        bufferevent_setwatermark(bev, EV_WRITE, LOW, 0);
    }
}

static void on_write(struct bufferevent *bev, void *arg)
{
    /* Called when the output drained to the write low-water mark. */
    bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
    bufferevent_enable(bev, EV_READ);
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
        bufferevent_free(bev);
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd, struct sockaddr *sa,
                      int salen, void *arg)
{
    struct event_base *base = evconnlistener_get_base(l);
    struct bufferevent *bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
    if (bev == NULL) {
        evutil_closesocket(fd);
        return;
    }
    /* libevent 2.1 reads and writes at most 4 KiB per call by default; muxd
     * and epoll_echo move up to 64 KiB per call, so give it the same. */
    bufferevent_set_max_single_read(bev, 64 * 1024);
    bufferevent_set_max_single_write(bev, 64 * 1024);
    bufferevent_setcb(bev, on_read, on_write, on_event, NULL);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    event_base_loopbreak(arg);
}

int main(int argc, char **argv)
{
    if (argc != 2 || argv[1][0] == '-') {
        fprintf(stderr, "usage: libevent_echo HOST:PORT   (port 0: any; prints the port bound)\n");
        return 2;
    }
    int lfd = peer_listen("libevent_echo", argv[1]);
    if (lfd < 0)
        return 1;
    struct event_base *base = event_base_new();
    struct evconnlistener *l =
        /* backlog 0: lfd is listening already (with 4096); -1 would redo
         * listen() with libevent's 128 and drop SYNs in a burst */
        base ? evconnlistener_new(base, on_accept, NULL, LEV_OPT_CLOSE_ON_FREE, 0, lfd) : NULL;
    struct event *term = base ? evsignal_new(base, SIGTERM, on_signal, base) : NULL;
    struct event *intr = base ? evsignal_new(base, SIGINT, on_signal, base) : NULL;
    if (l == NULL || term == NULL || intr == NULL || event_add(term, NULL) != 0 ||
        event_add(intr, NULL) != 0) {
        fprintf(stderr, "libevent_echo: setting up libevent failed\n");
        return 1;
    }
    peer_announce(lfd);
    event_base_dispatch(base);
    event_free(term);
    event_free(intr);
    evconnlistener_free(l);
    event_base_free(base);
    return 0;
}
