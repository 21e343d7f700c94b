/*
 * ws_load: a WebTorrent (WebSocket tracker protocol) load generator in C, for side-by-side
 * throughput runs (scripts/bench_ws.ts builds it into .tools/ and runs it). The workload is
 * scripts/load.ts's `--ws` mode: N connections, each a peer of 5 torrents drawn with aquatic's
 * skewed popularity, announcing in them in turn with K offers of about 500 bytes of SDP and
 * waiting for each reply (closed loop); every offer a connection receives it answers, as a
 * browser does. load.ts does the same in TypeScript, where the generator costs about as much CPU
 * as the tracker it measures; this one costs a small part of it, so the tracker saturates first.
 *
 * One thread, non-blocking sockets on epoll. Client frames are masked (RFC 6455) with a random
 * key per connection. A received message is told apart by its keys, not parsed: an offer is
 * answered by copying its info_hash, peer_id and offer_id as they came (JSON string contents are
 * valid as they are).
 *
 *   ws_load -a 127.0.0.1 -p 6969 [-c 200] [-o 5] [-d 10] [-W 2] [-n 10000] [-P 100000] [-j]
 *
 * -c connections, -o offers per announce, -d measured seconds after -W warm-up seconds,
 * -n torrents, -P peers (the popularity floor), -j one JSON line instead of text.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define IN_MAX (1 << 20)   /* bytes of unread frames one connection may hold */
#define OUT_MAX (4 << 20)  /* bytes of unsent frames one connection may hold */
#define LATENCIES_MAX 20000000

enum { CONNECTING, HANDSHAKE, OPEN, DEAD };

struct conn {
  int fd, state;
  uint8_t mask[4];
  char peer_id[20 * 6 + 1]; /* JSON-escaped */
  int torrents[5], next;
  int waiting;          /* an announce is out, its reply not in */
  double sent_at;
  uint8_t *in;
  size_t in_len, in_cap;
  uint8_t *out;
  size_t out_len, out_off, out_cap;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

/* A 20-byte binary string as WebTorrent clients write it in JSON: one character per byte. */
static void json_binary(char *out, const uint8_t *b) {
  char *o = out;
  for (int i = 0; i < 20; i++) {
    uint8_t c = b[i];
    if (c == '"' || c == '\\') { *o++ = '\\'; *o++ = c; }
    else if (c < 0x20) o += sprintf(o, "\\u%04x", c);
    else if (c < 0x80) *o++ = c;
    else { *o++ = 0xc0 | (c >> 6); *o++ = 0x80 | (c & 0x3f); }
  }
  *o = 0;
}

static void random_binary(char *out) {
  uint8_t b[20];
  for (int i = 0; i < 20; i++) b[i] = rnd() & 0xff;
  json_binary(out, b);
}

/* Torrents and aquatic's popularity: w(i) = N/peers + exp(6.5 - 500 i / N). */
static int torrents_n = 10000;
static char (*hashes)[20 * 6 + 1];
static double *cumulative;

static int pick_torrent(void) {
  double x = (rnd() >> 11) * (1.0 / 9007199254740992.0) * cumulative[torrents_n - 1];
  int lo = 0, hi = torrents_n - 1;
  while (lo < hi) {
    int mid = (lo + hi) / 2;
    if (cumulative[mid] < x) lo = mid + 1; else hi = mid;
  }
  return lo;
}

static int offers_n = 5;
static char sdp_json[1024];
static long responses, offers_in, answers_in, errors;
static int measuring;
static double *latencies;
static long latencies_n;

/* Appends a masked frame of `payload` to the connection's output. */
static void send_frame(struct conn *c, int opcode, const char *payload, size_t n) {
  size_t need = n + 14;
  if (c->out_len + need > c->out_cap) {
    if (c->out_len - c->out_off + need > OUT_MAX) { fprintf(stderr, "output over limit\n"); exit(1); }
    memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
    c->out_len -= c->out_off;
    c->out_off = 0;
    while (c->out_len + need > c->out_cap) c->out_cap *= 2;
    c->out = realloc(c->out, c->out_cap);
  }
  uint8_t *o = c->out + c->out_len;
  size_t h = 0;
  o[h++] = 0x80 | opcode;
  if (n <= 125) o[h++] = 0x80 | n;
  else if (n <= 0xffff) { o[h++] = 0x80 | 126; o[h++] = n >> 8; o[h++] = n & 0xff; }
  else { o[h++] = 0x80 | 127; for (int i = 7; i >= 0; i--) o[h++] = (uint64_t)n >> (8 * i); }
  memcpy(o + h, c->mask, 4);
  h += 4;
  for (size_t i = 0; i < n; i++) o[h + i] = payload[i] ^ c->mask[i & 3];
  c->out_len += h + n;
}

static void send_text(struct conn *c, const char *payload, size_t n) {
  send_frame(c, 1, payload, n);
}

static char msg[65536];

static void announce(struct conn *c) {
  int t = c->torrents[c->next++ % 5];
  int len = snprintf(msg, sizeof msg,
    "{\"action\":\"announce\",\"info_hash\":\"%s\",\"peer_id\":\"%s\",\"numwant\":%d,"
    "\"uploaded\":0,\"downloaded\":0,\"left\":%d,\"offers\":[",
    hashes[t], c->peer_id, offers_n, (rnd() & 3) == 0 ? 1 : 0);
  for (int i = 0; i < offers_n; i++) {
    char id[20 * 6 + 1];
    random_binary(id);
    len += snprintf(msg + len, sizeof msg - len,
      "%s{\"offer_id\":\"%s\",\"offer\":{\"type\":\"offer\",\"sdp\":\"%s\"}}",
      i ? "," : "", id, sdp_json);
  }
  len += snprintf(msg + len, sizeof msg - len, "]}");
  send_text(c, msg, len);
  c->waiting = 1;
  c->sent_at = now_s();
}

/* The raw contents of the JSON string value of `key` in `p[0, n)`, or NULL. */
static const char *string_value(const char *p, size_t n, const char *key, size_t *len) {
  const char *k = memmem(p, n, key, strlen(key));
  if (k == NULL) return NULL;
  const char *s = k + strlen(key), *end = p + n;
  const char *e = s;
  while (e < end && *e != '"') e += *e == '\\' ? 2 : 1;
  if (e >= end) return NULL;
  *len = e - s;
  return s;
}

static int told;

static void on_message(struct conn *c, const char *p, size_t n) {
  if (memmem(p, n, "\"offer\":{", 9) != NULL) {
    size_t hl, pl, ol;
    const char *h = string_value(p, n, "\"info_hash\":\"", &hl);
    const char *from = string_value(p, n, "\"peer_id\":\"", &pl);
    const char *oid = string_value(p, n, "\"offer_id\":\"", &ol);
    if (h == NULL || from == NULL || oid == NULL) { errors++; return; }
    if (measuring) offers_in++;
    int len = snprintf(msg, sizeof msg,
      "{\"action\":\"announce\",\"info_hash\":\"%.*s\",\"peer_id\":\"%s\",\"to_peer_id\":\"%.*s\","
      "\"offer_id\":\"%.*s\",\"answer\":{\"type\":\"answer\",\"sdp\":\"%s\"}}",
      (int)hl, h, c->peer_id, (int)pl, from, (int)ol, oid, sdp_json);
    send_text(c, msg, len);
  } else if (memmem(p, n, "\"answer\":{", 10) != NULL) {
    if (measuring) answers_in++;
  } else if (c->waiting) {
    int failed = memmem(p, n, "\"failure reason\"", 16) != NULL;
    if (failed || memmem(p, n, "\"interval\":", 11) != NULL) {
      if (measuring) {
        if (failed) errors++; else responses++;
        if (latencies_n < LATENCIES_MAX) latencies[latencies_n++] = (now_s() - c->sent_at) * 1000;
      }
      c->waiting = 0;
    }
  } else if (memmem(p, n, "\"failure reason\"", 16) != NULL) {
    errors++;
  }
  if (errors == 1 && !told) {
    told = 1;
    fprintf(stderr, "ws_load: first error: %.*s\n", (int)(n < 300 ? n : 300), p);
  }
}

/* Handles the whole frames in the connection's input. */
static void read_frames(struct conn *c) {
  size_t off = 0;
  while (c->in_len - off >= 2) {
    uint8_t *f = c->in + off;
    int opcode = f[0] & 0x0f;
    uint64_t n = f[1] & 0x7f;
    size_t h = 2;
    if (n == 126) {
      if (c->in_len - off < 4) break;
      n = (f[2] << 8) | f[3];
      h = 4;
    } else if (n == 127) {
      if (c->in_len - off < 10) break;
      n = 0;
      for (int i = 0; i < 8; i++) n = (n << 8) | f[2 + i];
      h = 10;
    }
    if (n > IN_MAX - 16) { fprintf(stderr, "frame of %lu bytes\n", (unsigned long)n); exit(1); }
    if (c->in_len - off < h + n) break;
    const char *p = (const char *)f + h;
    if (opcode == 1) on_message(c, p, n);
    else if (opcode == 9) send_frame(c, 0xa, p, n < 125 ? n : 125); /* ping: a pong */ else if (opcode == 8) { c->state = DEAD; errors++; return; }
    off += h + n;
  }
  memmove(c->in, c->in + off, c->in_len - off);
  c->in_len -= off;
}

static int cmp_double(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static int epfd;

static void want_out(struct conn *c, int on) {
  struct epoll_event ev = { .events = EPOLLIN | (on ? EPOLLOUT : 0), .data.ptr = c };
  if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl");
}

/* Writes what the socket takes; asks for EPOLLOUT when some is left. */
static void flush(struct conn *c) {
  while (c->out_off < c->out_len) {
    ssize_t w = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
    if (w < 0) {
      if (errno == EAGAIN) { want_out(c, 1); return; }
      if (errno == EINTR) continue;
      c->state = DEAD;
      errors++;
      return;
    }
    c->out_off += w;
  }
  c->out_off = c->out_len = 0;
}

int main(int argc, char **argv) {
  const char *host = "127.0.0.1";
  int port = 6969, conns_n = 200, json = 0;
  double seconds = 10, warmup = 2;
  long peers = 100000;
  int opt;
  while ((opt = getopt(argc, argv, "a:p:c:o:d:W:n:P:j")) != -1) {
    switch (opt) {
      case 'a': host = optarg; break;
      case 'p': port = atoi(optarg); break;
      case 'c': conns_n = atoi(optarg); break;
      case 'o': offers_n = atoi(optarg); break;
      case 'd': seconds = atof(optarg); break;
      case 'W': warmup = atof(optarg); break;
      case 'n': torrents_n = atoi(optarg); break;
      case 'P': peers = atol(optarg); break;
      case 'j': json = 1; break;
      default:
        fprintf(stderr, "usage: ws_load -a HOST -p PORT [-c conns] [-o offers] [-d s] [-W s] [-n torrents] [-P peers] [-j]\n");
        return 2;
    }
  }
  if (offers_n < 0 || offers_n > 10 || conns_n < 1 || torrents_n < 1) {
    fprintf(stderr, "ws_load: -o 0..10, -c and -n at least 1\n");
    return 2;
  }
  rng_state ^= (uint64_t)time(NULL) * 0x2545f4914f6cdd1dULL ^ (uint64_t)getpid();
  /* The SDP of load.ts, as a JSON string's contents. */
  char sdp[512];
  int sl = snprintf(sdp, sizeof sdp, "v=0\\r\\no=- 1 2 IN IP4 127.0.0.1\\r\\ns=-\\r\\na=x:");
  for (int i = 4; i < 440; i++) sdp[sl++] = 'y';
  sdp[sl] = 0;
  snprintf(sdp_json, sizeof sdp_json, "%s\\r\\n", sdp);

  hashes = malloc(sizeof *hashes * torrents_n);
  cumulative = malloc(sizeof *cumulative * torrents_n);
  double total = 0;
  for (int i = 0; i < torrents_n; i++) {
    random_binary(hashes[i]);
    total += (double)torrents_n / peers + exp(6.5 - 500.0 * i / torrents_n);
    cumulative[i] = total;
  }
  latencies = malloc(sizeof *latencies * LATENCIES_MAX);

  struct sockaddr_storage addr;
  socklen_t addr_len;
  memset(&addr, 0, sizeof addr);
  struct sockaddr_in *a4 = (struct sockaddr_in *)&addr;
  struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&addr;
  if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
    a4->sin_family = AF_INET;
    a4->sin_port = htons(port);
    addr_len = sizeof *a4;
  } else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
    a6->sin6_family = AF_INET6;
    a6->sin6_port = htons(port);
    addr_len = sizeof *a6;
  } else {
    fprintf(stderr, "ws_load: -a takes an IP address\n");
    return 2;
  }

  epfd = epoll_create1(0);
  if (epfd < 0) die("epoll_create1");
  struct conn *conns = calloc(conns_n, sizeof *conns);
  char request[512];
  int request_len = snprintf(request, sizeof request,
    "GET /announce HTTP/1.1\r\nHost: %s:%d\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
    host, port);
  for (int i = 0; i < conns_n; i++) {
    struct conn *c = &conns[i];
    c->fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (c->fd < 0) die("socket");
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, (struct sockaddr *)&addr, addr_len) < 0 && errno != EINPROGRESS) die("connect");
    for (int k = 0; k < 4; k++) c->mask[k] = rnd() & 0xff;
    random_binary(c->peer_id);
    for (int k = 0; k < 5; k++) c->torrents[k] = pick_torrent();
    c->in_cap = 65536;
    c->in = malloc(c->in_cap);
    c->out_cap = 65536;
    c->out = malloc(c->out_cap);
    memcpy(c->out, request, request_len);
    c->out_len = request_len;
    c->state = CONNECTING;
    struct epoll_event ev = { .events = EPOLLIN | EPOLLOUT, .data.ptr = c };
    if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl");
  }

  double started = now_s(), measure_from = started + warmup, until = measure_from + seconds;
  struct epoll_event events[256];
  while (1) {
    double t = now_s();
    if (!measuring && t >= measure_from) measuring = 1;
    if (t >= until) break;
    int ready = epoll_wait(epfd, events, 256, 100);
    if (ready < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int e = 0; e < ready; e++) {
      struct conn *c = events[e].data.ptr;
      if (c->state == DEAD) continue;
      if (events[e].events & EPOLLOUT) {
        if (c->state == CONNECTING) c->state = HANDSHAKE;
        want_out(c, 0);
        flush(c);
      }
      if (events[e].events & (EPOLLIN | EPOLLHUP | EPOLLERR)) {
        while (c->state != DEAD) {
          if (c->in_cap - c->in_len < 16384) {
            if (c->in_cap >= IN_MAX) { fprintf(stderr, "input over limit\n"); return 1; }
            c->in_cap *= 2;
            c->in = realloc(c->in, c->in_cap);
          }
          ssize_t r = read(c->fd, c->in + c->in_len, c->in_cap - c->in_len);
          if (r < 0 && errno == EINTR) continue;
          if (r < 0 && errno == EAGAIN) break;
          if (r <= 0) { c->state = DEAD; errors++; break; }
          c->in_len += r;
          if ((size_t)r < c->in_cap - c->in_len + r) break; /* short read: nothing more now */
        }
        if (c->state == HANDSHAKE) {
          uint8_t *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
          if (end != NULL) {
            if (c->in_len < 12 || memcmp(c->in + 9, "101", 3) != 0) {
              fprintf(stderr, "ws_load: handshake refused: %.*s\n", (int)(end - c->in), c->in);
              return 1;
            }
            size_t head = end + 4 - c->in;
            memmove(c->in, c->in + head, c->in_len - head);
            c->in_len -= head;
            c->state = OPEN;
          }
        }
        if (c->state == OPEN) read_frames(c);
      }
      if (c->state == OPEN && !c->waiting) announce(c);
      if (c->state != DEAD && c->out_len > c->out_off) flush(c);
    }
  }
  double elapsed = seconds;
  int dead = 0;
  for (int i = 0; i < conns_n; i++) dead += conns[i].state == DEAD;
  /* Percentiles of the measured replies. */
  qsort(latencies, latencies_n, sizeof *latencies, cmp_double);
  double p50 = latencies_n ? latencies[latencies_n / 2] : 0;
  double p99 = latencies_n ? latencies[(long)(latencies_n * 0.99)] : 0;
  if (json) {
    printf("{\"responses_per_s\":%.1f,\"offers_received_per_s\":%.1f,\"answers_received_per_s\":%.1f,"
           "\"errors\":%ld,\"closed\":%d,\"p50_ms\":%.2f,\"p99_ms\":%.2f}\n",
           responses / elapsed, offers_in / elapsed, answers_in / elapsed, errors, dead, p50, p99);
  } else {
    printf("WebSocket %s:%d: %ld responses in %.1f s = %.0f/s; offers received %.0f/s, answers "
           "received %.0f/s, %ld errors, %d connections closed; latency p50 %.2f ms, p99 %.2f ms\n",
           host, port, responses, elapsed, responses / elapsed, offers_in / elapsed,
           answers_in / elapsed, errors, dead, p50, p99);
  }
  return 0;
}
