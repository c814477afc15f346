/*
 * The machine's floor for Confab's fan-out: how many small writes to many
 * loopback TCP sockets one core can do per CPU-second, with nothing but the
 * kernel in the way. A chat server fanning one message out to N members does
 * at least N of these, so no Node server can beat this number.
 *
 *   floor <connections> <message_bytes> <seconds> [--batch K]
 *
 * The parent opens <connections> TCP connections to a listener on
 * 127.0.0.1:0; a forked reader process accepts them and drains them with
 * epoll so send buffers never fill. The parent then writes one message to
 * each connection in turn (one write() per recipient) for <seconds>. With
 * --batch K it writes K messages in one write() per connection, which is what
 * corking/coalescing buys. Prints one JSON line; cpuSeconds is the writer's
 * own user+system time (RUSAGE_SELF), so the reader's work is not counted.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Each side holds one fd per connection, plus a handful of others. */
#define FD_HEADROOM 32

static void die(const char *what) {
  fprintf(stderr, "floor: %s: %s\n", what, strerror(errno));
  exit(1);
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_seconds(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

static void write_all(int fd, const char *buf, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("write");
    }
    buf += n;
    len -= (size_t)n;
  }
}

/* Accepts `connections` sockets, then drains all of them until every one is closed. */
static void reader(int listener, long connections, int ready_fd) {
  int ep = epoll_create1(0);
  if (ep < 0) die("epoll_create1");
  for (long i = 0; i < connections; i++) {
    int fd = accept(listener, NULL, NULL);
    if (fd < 0) {
      if (errno == EINTR) { i--; continue; }
      die("accept");
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) die("epoll_ctl");
  }
  close(listener);
  write_all(ready_fd, "r", 1);
  close(ready_fd);

  static char buf[1 << 16];
  struct epoll_event events[512];
  long open = connections;
  while (open > 0) {
    int n = epoll_wait(ep, events, 512, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      die("epoll_wait");
    }
    for (int i = 0; i < n; i++) {
      int fd = events[i].data.fd;
      ssize_t r = read(fd, buf, sizeof buf);
      if (r > 0 || (r < 0 && errno == EINTR)) continue;
      close(fd); /* EOF or error: the writer is done with it */
      open--;
    }
  }
  exit(0);
}

int main(int argc, char **argv) {
  long connections = 0, message_bytes = 0, batch = 1;
  double seconds = 0;
  int positional = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batch") == 0 && i + 1 < argc) {
      batch = atol(argv[++i]);
    } else if (positional == 0) {
      connections = atol(argv[i]), positional++;
    } else if (positional == 1) {
      message_bytes = atol(argv[i]), positional++;
    } else if (positional == 2) {
      seconds = atof(argv[i]), positional++;
    } else {
      positional = 99;
    }
  }
  if (positional != 3 || connections < 1 || message_bytes < 1 || seconds <= 0 || batch < 1) {
    fprintf(stderr, "usage: floor <connections> <message_bytes> <seconds> [--batch K]\n");
    return 2;
  }

  /* Raise the fd limit as far as allowed; each process needs one fd per connection. */
  struct rlimit rl;
  if (getrlimit(RLIMIT_NOFILE, &rl) < 0) die("getrlimit");
  rl.rlim_cur = rl.rlim_max;
  if (setrlimit(RLIMIT_NOFILE, &rl) < 0) die("setrlimit");
  long max_connections = rl.rlim_cur == RLIM_INFINITY ? 1000000 : (long)rl.rlim_cur - FD_HEADROOM;
  long requested = connections;
  if (connections > max_connections) connections = max_connections;

  int listener = socket(AF_INET, SOCK_STREAM, 0);
  if (listener < 0) die("socket");
  struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK), .sin_port = 0};
  socklen_t addr_len = sizeof addr;
  if (bind(listener, (struct sockaddr *)&addr, sizeof addr) < 0) die("bind");
  if (listen(listener, 4096) < 0) die("listen");
  if (getsockname(listener, (struct sockaddr *)&addr, &addr_len) < 0) die("getsockname");

  int ready[2];
  if (pipe(ready) < 0) die("pipe");
  pid_t child = fork();
  if (child < 0) die("fork");
  if (child == 0) {
    /* The reader must not outlive the writer. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    close(ready[0]);
    reader(listener, connections, ready[1]);
  }
  close(ready[1]);
  close(listener);

  int *fds = malloc(sizeof(int) * (size_t)connections);
  if (fds == NULL) die("malloc");
  int one = 1;
  for (long i = 0; i < connections; i++) {
    fds[i] = socket(AF_INET, SOCK_STREAM, 0);
    if (fds[i] < 0) die("socket");
    /* Node (and so ws, Socket.IO and Confab) sets TCP_NODELAY: every write is a segment. */
    setsockopt(fds[i], IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(fds[i], (struct sockaddr *)&addr, sizeof addr) < 0) die("connect");
  }
  char c;
  if (read(ready[0], &c, 1) != 1) die("reader did not accept every connection");
  close(ready[0]);

  size_t chunk = (size_t)message_bytes * (size_t)batch;
  char *buf = malloc(chunk);
  if (buf == NULL) die("malloc");
  memset(buf, 'x', chunk);

  long long writes = 0;
  double cpu0 = cpu_seconds(), t0 = now(), deadline = t0 + seconds;
  /* Check the clock once per round over all connections, so timing costs nothing measurable. */
  while (now() < deadline) {
    for (long i = 0; i < connections; i++) write_all(fds[i], buf, chunk);
    writes += connections;
  }
  double cpu = cpu_seconds() - cpu0, wall = now() - t0;

  for (long i = 0; i < connections; i++) close(fds[i]);
  int status;
  waitpid(child, &status, 0);

  long long messages = writes * batch;
  printf("{\"connections\":%ld,\"requestedConnections\":%ld,\"messageBytes\":%ld,\"batch\":%ld,"
         "\"writes\":%lld,\"messages\":%lld,\"cpuSeconds\":%.3f,\"writesPerCpuSecond\":%.0f,"
         "\"messagesPerCpuSecond\":%.0f,\"wallSeconds\":%.3f}\n",
         connections, requested, message_bytes, batch, writes, messages, cpu, cpu > 0 ? writes / cpu : 0,
         cpu > 0 ? messages / cpu : 0, wall);
  return 0;
}
