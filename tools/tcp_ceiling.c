/* tcp_ceiling: the copy-path ceiling of one TCP stream on this machine.
 *
 * The least a bulk sender and receiver can do: two processes (like iperf3's
 * client and server), one connection over loopback, send() of a fixed buffer
 * in a loop, recv() into a fixed buffer in a loop, no threads, no timers, no
 * per-interval reports, kernel buffer autotuning. Whatever sonda or iperf3
 * measure above this is not possible on the copy path; tools/peers.py
 * reports sonda's stream as a fraction of it.
 *
 *   tcp_ceiling [-t SECONDS] [-l BYTES] [-r BYTES]
 *
 * -l is the send() size, -r the recv() size (default: -l's, as iperf3's
 * -l sets both). On loopback the read size matters more than the write
 * size: 64 KiB reads moved ~1.3x the bytes of 1 MiB reads here (README).
 *
 * Prints one JSON line: bytes received, seconds (receiver: first byte to
 * EOF), bits_per_sec, and the CPU seconds of sender and receiver (getrusage),
 * so that bytes per CPU-second compare too.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_s(const struct rusage* ru) {
  return (double)ru->ru_utime.tv_sec + (double)ru->ru_utime.tv_usec / 1e6 + (double)ru->ru_stime.tv_sec +
         (double)ru->ru_stime.tv_usec / 1e6;
}

static void die(const char* what) {
  fprintf(stderr, "tcp_ceiling: %s: %s\n", what, strerror(errno));
  exit(1);
}

int main(int argc, char** argv) {
  double seconds = 3.0;
  size_t len = 1 << 20;
  size_t rlen = 0;
  int opt;
  while ((opt = getopt(argc, argv, "t:l:r:")) != -1) {
    if (opt == 't') {
      seconds = atof(optarg);
    } else if (opt == 'l') {
      len = (size_t)strtoull(optarg, NULL, 10);
    } else if (opt == 'r') {
      rlen = (size_t)strtoull(optarg, NULL, 10);
      if (rlen == 0) {
        fprintf(stderr, "tcp_ceiling: -r must be positive\n");
        return 2;
      }
    } else {
      fprintf(stderr, "usage: tcp_ceiling [-t SECONDS] [-l BYTES] [-r BYTES]\n");
      return 2;
    }
  }
  if (seconds <= 0 || len == 0) {
    fprintf(stderr, "tcp_ceiling: -t and -l must be positive\n");
    return 2;
  }
  if (rlen == 0) {
    rlen = len;
  }
  signal(SIGPIPE, SIG_IGN);
  const int lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (lfd < 0) {
    die("socket");
  }
  struct sockaddr_in addr;
  memset(&addr, 0, sizeof addr);
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t alen = sizeof addr;
  if (bind(lfd, (struct sockaddr*)&addr, sizeof addr) != 0 || listen(lfd, 1) != 0 ||
      getsockname(lfd, (struct sockaddr*)&addr, &alen) != 0) {
    die("bind/listen");
  }
  const pid_t sender = fork();
  if (sender < 0) {
    die("fork");
  }
  if (sender == 0) {
    /* The sender: its own process, its own buffer. */
    close(lfd);
    const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr*)&addr, sizeof addr) != 0) {
      die("connect");
    }
    char* buf = malloc(len);
    memset(buf, 0x5a, len);
    const double end = now_s() + seconds;
    /* One clock read per send: a 1 MiB send takes ~30 us here. */
    while (now_s() < end) {
      size_t off = 0;
      while (off < len) {
        const ssize_t n = send(fd, buf + off, len - off, 0);
        if (n < 0) {
          if (errno == EINTR) {
            continue;
          }
          die("send");
        }
        off += (size_t)n;
      }
    }
    close(fd);
    _exit(0);
  }
  const int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC);
  if (fd < 0) {
    die("accept");
  }
  close(lfd);
  char* buf = malloc(rlen);
  uint64_t bytes = 0;
  double first = 0;
  for (;;) {
    const ssize_t n = recv(fd, buf, rlen, 0);
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      die("recv");
    }
    if (n == 0) {
      break;
    }
    if (bytes == 0) {
      first = now_s();
    }
    bytes += (uint64_t)n;
  }
  const double took = now_s() - first;
  close(fd);
  int status = 0;
  while (waitpid(sender, &status, 0) < 0 && errno == EINTR) {
  }
  struct rusage self, child;
  getrusage(RUSAGE_SELF, &self);
  getrusage(RUSAGE_CHILDREN, &child);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || took <= 0) {
    fprintf(stderr, "tcp_ceiling: the sender failed\n");
    return 1;
  }
  printf("{\"bytes\":%llu,\"seconds\":%.6f,\"bits_per_sec\":%.0f,\"message_size\":%zu,\"recv_size\":%zu,"
         "\"cpu\":{\"sender_s\":%.6f,\"receiver_s\":%.6f}}\n",
         (unsigned long long)bytes, took, (double)bytes * 8 / took, len, rlen, cpu_s(&child), cpu_s(&self));
  return 0;
}
