/*
 * http_ceiling: the fastest HTTP keep-alive "tracker" this machine can run, for scripts/bench.ts.
 * It answers every request with a fixed bencoded body of the size a real announce reply has (30
 * IPv4 peers) or a one-torrent scrape, and does nothing else: per request one read and one send,
 * one epoll instance and SO_REUSEPORT listener per thread. What it reaches on a machine is the
 * ceiling of any tracker's keep-alive rate there (the kernel's loopback TCP and the generator
 * share the CPUs); bench.ts puts it beside ours so that a keep-alive figure can be read against
 * what the machine allows.
 *
 *   http_ceiling PORT THREADS        (threads pinned by the caller, e.g. with taskset)
 *
 * Build: gcc -O2 -Wall -pthread -o http_ceiling http_ceiling.c
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define FDS_MAX 65536
#define PENDING_BYTES 4096

static int port;
static char announce[512], scrape[512];
static int announce_len, scrape_len;

/* Bytes of a request that has not ended yet, per descriptor (requests rarely span reads). */
struct pending {
    int len;
    char buf[PENDING_BYTES];
};
static struct pending *pending[FDS_MAX];

static int reply(char *out, size_t size, const char *body) {
    return snprintf(out, size, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: %zu\r\n\r\n%s",
                    strlen(body), body);
}

static void drop(int ep, int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, NULL);
    close(fd);
    if (fd < FDS_MAX && pending[fd]) pending[fd]->len = 0;
}

/* Answers every complete request in p->buf and keeps the rest. */
static void answer(int ep, int fd, struct pending *p) {
    char *start = p->buf, *end = p->buf + p->len, *e;
    while ((e = memmem(start, (size_t)(end - start), "\r\n\r\n", 4)) != NULL) {
        int is_scrape = memmem(start, (size_t)(e - start), "/scrape", 7) != NULL;
        const char *r = is_scrape ? scrape : announce;
        int n = is_scrape ? scrape_len : announce_len;
        if (send(fd, r, (size_t)n, MSG_NOSIGNAL) != n) { drop(ep, fd); return; }
        start = e + 4;
    }
    p->len = (int)(end - start);
    memmove(p->buf, start, (size_t)p->len);
    if (p->len == PENDING_BYTES) drop(ep, fd);
}

static void *serve(void *arg) {
    (void)arg;
    int one = 1;
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    setsockopt(l, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    if (bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 4096)) { perror("bind"); exit(1); }
    int ep = epoll_create1(0);
    struct epoll_event ev = { .events = EPOLLIN, .data.fd = l };
    epoll_ctl(ep, EPOLL_CTL_ADD, l, &ev);
    struct epoll_event evs[256];
    for (;;) {
        int n = epoll_wait(ep, evs, 256, -1);
        for (int i = 0; i < n; i++) {
            int fd = evs[i].data.fd;
            if (fd == l) {
                int c;
                while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0) {
                    if (c >= FDS_MAX) { close(c); continue; }
                    setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
                    if (!pending[c]) pending[c] = calloc(1, sizeof(struct pending));
                    pending[c]->len = 0;
                    struct epoll_event ce = { .events = EPOLLIN, .data.fd = c };
                    epoll_ctl(ep, EPOLL_CTL_ADD, c, &ce);
                }
                continue;
            }
            struct pending *p = pending[fd];
            ssize_t r = read(fd, p->buf + p->len, (size_t)(PENDING_BYTES - p->len));
            if (r < 0 && errno == EAGAIN) continue;
            if (r <= 0) { drop(ep, fd); continue; }
            p->len += (int)r;
            answer(ep, fd, p);
        }
    }
    return NULL;
}

int main(int argc, char **argv) {
    if (argc != 3) { fprintf(stderr, "usage: http_ceiling PORT THREADS\n"); return 2; }
    port = atoi(argv[1]);
    int threads = atoi(argv[2]);
    if (threads < 1 || threads > 256) { fprintf(stderr, "THREADS: 1 to 256\n"); return 2; }
    char body[512], peers[181];
    for (int i = 0; i < 180; i++) peers[i] = (char)('A' + i % 26);
    peers[180] = 0;
    snprintf(body, sizeof body,
             "d8:completei20e10:downloadedi3e10:incompletei7e8:intervali1800e12:min intervali900e5:peers180:%se",
             peers);
    announce_len = reply(announce, sizeof announce, body);
    scrape_len = reply(scrape, sizeof scrape,
                       "d5:filesd20:ABCDEFGHIJKLMNOPQRSTd8:completei20e10:downloadedi3e10:incompletei7eeee");
    pthread_t t[256];
    for (int i = 0; i < threads; i++) pthread_create(&t[i], NULL, serve, NULL);
    pthread_join(t[0], NULL);
    return 0;
}
