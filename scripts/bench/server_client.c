// Load client for the --server endpoint: T threads, each N sequential GETs
// (a new connection per request, as the SDKs do with Connection: close).
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

static int port, n_per, threads;
static char req[512];
static double *lat;
static int fails;

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec + t.tv_nsec / 1e9; }

static void *run(void *arg) {
  long id = (long)arg;
  char buf[4096];
  for (int i = 0; i < n_per; i++) {
    double t0 = now();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {0}; a.sin_family = AF_INET; a.sin_port = htons(port); a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int one = 1; setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(s, (void *)&a, sizeof a) != 0) { __sync_fetch_and_add(&fails, 1); close(s); continue; }
    write(s, req, strlen(req));
    size_t got = 0; ssize_t r;
    while ((r = read(s, buf + got, sizeof buf - 1 - got)) > 0) got += r;
    buf[got] = 0;
    close(s);
    if (strncmp(buf, "HTTP/1.1 200", 12) != 0 || !strstr(buf, "AccessKeyId")) __sync_fetch_and_add(&fails, 1);
    lat[id * n_per + i] = now() - t0;
  }
  return NULL;
}

static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return x < y ? -1 : x > y; }

int main(int argc, char **argv) {
  // client URL TOKEN THREADS N
  const char *url = argv[1], *token = argv[2];
  threads = atoi(argv[3]); n_per = atoi(argv[4]);
  const char *p = strstr(url, "127.0.0.1:") + 10; port = atoi(p);
  const char *path = strchr(p, '/');
  snprintf(req, sizeof req, "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: %s\r\nAccept: */*\r\n\r\n", path, port, token);
  lat = calloc((size_t)threads * n_per, sizeof(double));
  pthread_t th[256];
  double t0 = now();
  for (long i = 0; i < threads; i++) pthread_create(&th[i], NULL, run, (void *)i);
  for (int i = 0; i < threads; i++) pthread_join(th[i], NULL);
  double wall = now() - t0;
  int n = threads * n_per;
  qsort(lat, n, sizeof(double), cmp);
  printf("requests %d, failures %d, clients %d, wall %.3f s, %.0f req/s\n", n, fails, threads, wall, n / wall);
  printf("latency median %.0f us, p90 %.0f us, p99 %.0f us, max %.0f us\n", lat[n / 2] * 1e6, lat[n * 90 / 100] * 1e6, lat[n * 99 / 100] * 1e6, lat[n - 1] * 1e6);
  return fails != 0;
}
