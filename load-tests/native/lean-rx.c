// Batch receiver for counting load viewers (see load-tests/src/lean-rx.ts).
//
// Node's dgram costs a counting viewer ~6 µs of CPU per packet however little
// the handler does (one recvmsg, one buffer, one call into JS per datagram).
// This helper takes over, for many viewers at once, the packets the SFU sends
// them: for each viewer it binds a socket to the viewer's own UDP port
// (SO_REUSEPORT: werift's socket was made with it) and connects it to the SFU's
// address, so the kernel hands it every datagram of that 5-tuple, and werift's
// socket keeps sending (STUN consent, RTCP). It reads them with recvmmsg and
// writes records to stdout in batches:
//   u8 kind, u8 0, u16 id, u16 wire length, u16 captured length, f64 ms (CLOCK_MONOTONIC, kernel receive time), bytes
// kind 0: RTP/RTCP (first byte 128-191), captured up to SNAP bytes (header + extensions; the payload is encrypted anyway)
// kind 1: anything else (STUN, DTLS), captured whole: Node hands it back to werift
// kind 2: error text for id; kind 3: id is attached; kind 4: CPU ms of this process so far (in the f64), id 0
// Commands on stdin, one per line: "add ID LOCAL_IP LOCAL_PORT REMOTE_IP REMOTE_PORT", "del ID".
// stdin's EOF (the viewer process is gone) ends it.
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_IDS 65536
#define BATCH 64
#define DGRAM_MAX 2048
#define SNAP 160
#define HDR 16
#define OUT_MAX (1 << 20)
#define STDIN_TAG 0xffffffffu
// Between rounds packets gather in the sockets (1 MiB each), so one recvmmsg reads several: with one
// socket per viewer at ~160 packets/s, the round's length, not the batch size, sets the syscalls per
// packet. Receive times come from the kernel (SO_TIMESTAMPNS), not from the round. argv[1] overrides (ms).
#define ROUND_MS 20

static int fds[MAX_IDS];
static unsigned char out[OUT_MAX + DGRAM_MAX + HDR];
static size_t outLen = 0;

static double monoMs(clockid_t c) {
  struct timespec ts;
  clock_gettime(c, &ts);
  return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void flush(void) {
  size_t off = 0;
  while (off < outLen) {
    ssize_t n = write(1, out + off, outLen - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      exit(0);  // Node is gone
    }
    off += (size_t)n;
  }
  outLen = 0;
}

static void record(uint8_t kind, uint16_t id, uint16_t wire, const void *data, uint16_t cap, double ms) {
  if (outLen + HDR + cap > OUT_MAX) flush();
  unsigned char *p = out + outLen;
  p[0] = kind;
  p[1] = 0;
  memcpy(p + 2, &id, 2);
  memcpy(p + 4, &wire, 2);
  memcpy(p + 6, &cap, 2);
  memcpy(p + 8, &ms, 8);
  if (cap) memcpy(p + HDR, data, cap);
  outLen += HDR + cap;
}

static void fail(uint16_t id, const char *what) {
  char msg[200];
  int n = snprintf(msg, sizeof msg, "%s: %s", what, strerror(errno));
  record(2, id, (uint16_t)n, msg, (uint16_t)n, 0);
}

static void add(int ep, unsigned id, const char *lip, int lport, const char *rip, int rport) {
  if (id >= MAX_IDS) return;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return fail(id, "socket");
  int one = 1, rcvbuf = 1 << 20;
  setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
  setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
  struct sockaddr_in l = {.sin_family = AF_INET, .sin_port = htons(lport)}, r = {.sin_family = AF_INET, .sin_port = htons(rport)};
  if (inet_pton(AF_INET, lip, &l.sin_addr) != 1 || inet_pton(AF_INET, rip, &r.sin_addr) != 1) {
    errno = EINVAL;
    close(fd);
    return fail(id, "address");
  }
  if (bind(fd, (struct sockaddr *)&l, sizeof l) < 0) {
    fail(id, "bind");
    close(fd);
    return;
  }
  if (connect(fd, (struct sockaddr *)&r, sizeof r) < 0) {
    fail(id, "connect");
    close(fd);
    return;
  }
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = id};
  if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
    fail(id, "epoll");
    close(fd);
    return;
  }
  if (fds[id] >= 0) close(fds[id]);
  fds[id] = fd;
  record(3, (uint16_t)id, 0, NULL, 0, 0);
}

static void command(int ep, char *line) {
  unsigned id;
  char lip[64], rip[64];
  int lport, rport;
  if (sscanf(line, "add %u %63s %d %63s %d", &id, lip, &lport, rip, &rport) == 5) {
    add(ep, id, lip, lport, rip, rport);
  } else if (sscanf(line, "del %u", &id) == 1 && id < MAX_IDS && fds[id] >= 0) {
    close(fds[id]);  // also leaves the epoll set
    fds[id] = -1;
  }
}

static char inBuf[1 << 16];
static size_t inLen = 0;

static void readCommands(int ep) {
  for (;;) {
    ssize_t n = read(0, inBuf + inLen, sizeof inBuf - 1 - inLen);
    if (n == 0) {
      flush();
      exit(0);
    }
    if (n < 0) return;  // EAGAIN
    inLen += (size_t)n;
    char *start = inBuf, *nl;
    while ((nl = memchr(start, '\n', inLen - (size_t)(start - inBuf)))) {
      *nl = 0;
      command(ep, start);
      start = nl + 1;
    }
    inLen -= (size_t)(start - inBuf);
    memmove(inBuf, start, inLen);
  }
}

static unsigned char bufs[BATCH][DGRAM_MAX];
static unsigned char ctl[BATCH][64];
static struct mmsghdr msgs[BATCH];
static struct iovec iovs[BATCH];

static void drain(uint16_t id, int fd) {
  for (;;) {
    for (int i = 0; i < BATCH; i++) {
      iovs[i] = (struct iovec){.iov_base = bufs[i], .iov_len = DGRAM_MAX};
      msgs[i].msg_hdr = (struct msghdr){.msg_iov = &iovs[i], .msg_iovlen = 1, .msg_control = ctl[i], .msg_controllen = sizeof ctl[i]};
    }
    int n = recvmmsg(fd, msgs, BATCH, MSG_DONTWAIT, NULL);
    if (n <= 0) return;
    // Kernel receive times are CLOCK_REALTIME; Node's clock is monotonic.
    double offset = monoMs(CLOCK_MONOTONIC) - monoMs(CLOCK_REALTIME);
    double fallback = monoMs(CLOCK_MONOTONIC);
    for (int i = 0; i < n; i++) {
      unsigned len = msgs[i].msg_len;
      double at = fallback;
      for (struct cmsghdr *c = CMSG_FIRSTHDR(&msgs[i].msg_hdr); c; c = CMSG_NXTHDR(&msgs[i].msg_hdr, c)) {
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
          struct timespec ts;
          memcpy(&ts, CMSG_DATA(c), sizeof ts);
          at = ts.tv_sec * 1e3 + ts.tv_nsec / 1e6 + offset;
        }
      }
      unsigned char b0 = len ? bufs[i][0] : 0;
      int media = b0 >= 128 && b0 <= 191;
      unsigned cap = media ? (len < SNAP ? len : SNAP) : len;
      record(media ? 0 : 1, id, (uint16_t)len, bufs[i], (uint16_t)cap, at);
    }
    if (n < BATCH) return;
  }
}

int main(int argc, char **argv) {
  long roundMs = argc > 1 ? atol(argv[1]) : ROUND_MS;
  for (int i = 0; i < MAX_IDS; i++) fds[i] = -1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  fcntl(0, F_SETFL, fcntl(0, F_GETFL) | O_NONBLOCK);
  struct epoll_event ev = {.events = EPOLLIN, .data.u32 = STDIN_TAG};
  epoll_ctl(ep, EPOLL_CTL_ADD, 0, &ev);
  struct epoll_event events[256];
  double lastCpu = 0;
  for (;;) {
    int n = epoll_wait(ep, events, 256, 500);
    for (int i = 0; i < n; i++) {
      uint32_t tag = events[i].data.u32;
      if (tag == STDIN_TAG) readCommands(ep);
      else if (fds[tag] >= 0) drain((uint16_t)tag, fds[tag]);
    }
    double now = monoMs(CLOCK_MONOTONIC);
    if (now - lastCpu >= 500) {
      lastCpu = now;
      struct rusage ru;
      getrusage(RUSAGE_SELF, &ru);
      double cpu = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3 + ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;
      record(4, 0, 0, NULL, 0, cpu);
    }
    flush();
    struct timespec pause = {roundMs / 1000, (roundMs % 1000) * 1000000L};
    nanosleep(&pause, NULL);
  }
}
