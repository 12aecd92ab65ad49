/*
 * echo_client.c - epoll load client for TCP echo servers on 127.0.0.1.
 *
 * protoloop's copy of the yardstick client (/work/shared/perf/echo_client.c),
 * built by bench/run.ts at benchmark time. Additions over the yardstick:
 * the `conn` and `idle` modes and a comma-separated --server-pid list
 * (a cluster's primary and workers; their CPU times are summed).
 *
 * Modes
 *   rr      N connections; each sends a message of S bytes, waits until all
 *           S bytes have been echoed back, records the latency, repeats.
 *   stream  N connections; each writes continuously (chunks of S bytes) and
 *           reads continuously; counts echoed bytes per second. Flow control
 *           is whatever the kernel socket buffers and the server impose.
 *   conn    N concurrent slots; each connects, sends 1 byte, waits for the
 *           echo, closes, and starts again: connections accepted and closed
 *           per second (reported as rps; latency = one whole cycle).
 *   drain   N concurrent slots; each connects, reads until the server closes
 *           (a file download), closes, and starts again (rps = downloads/s).
 *   idle    opens N connections (at most 64 handshakes in flight), echoes
 *           1 byte on each, prints one JSON line {"ready":N,...} and keeps
 *           them open until stdin reaches EOF or --duration passes.
 *
 * Before the measured connections it opens and closes one short "priming"
 * connection (1-byte echo), unless --no-prime; see prime_server().
 * Runs W seconds of warm-up (not counted) then T seconds of measurement,
 * then prints ONE JSON line on stdout and exits. Hard-bounded in time by
 * alarm(). Targets 127.0.0.1 only (there is no host option on purpose).
 *
 * Build: gcc -O2 -Wall -o echo_client echo_client.c
 * Usage: echo_client --port P [--conns N] [--size S] [--duration T]
 *        [--warmup W] [--mode rr|stream|conn|idle|drain] [--verify] [--label NAME]
 *        [--server-pid PID] [--connect-timeout SEC] [--no-prime]
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PATLEN 251u            /* stream pattern period (prime) */
#define STREAM_RBUF (256 * 1024)
#define MAXEV 256

typedef struct {
    int fd;
    int alive;
    int want_out;              /* EPOLLOUT currently registered */
    /* rr */
    size_t sent, got;
    uint64_t t0;
    uint64_t seq;
    unsigned char *sbuf, *rbuf;
    /* stream */
    uint64_t s_sent, s_recv;
} conn_t;

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double rusage_cpu_s(void) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 +
           ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
}

/* utime+stime of a whole process (all threads), seconds; -1 if unknown */
static double proc_cpu_s(int pid) {
    if (pid <= 0) return -1;
    char path[64], buf[4096];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    char *p = strrchr(buf, ')');
    if (!p) return -1;
    /* after ") " : field 3 is state; utime is field 14, stime field 15 */
    unsigned long utime = 0, stime = 0;
    int field = 2;
    for (char *tok = strtok(p + 1, " "); tok; tok = strtok(NULL, " ")) {
        field++;
        if (field == 14) utime = strtoul(tok, NULL, 10);
        if (field == 15) { stime = strtoul(tok, NULL, 10); break; }
    }
    return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

static int opt_server_pids[16], n_server_pids;   /* --server-pid PID[,PID...] */

/* summed over the --server-pid list; -1 if any is unknown */
static double servers_cpu_s(void) {
    if (n_server_pids == 0) return -1;
    double sum = 0;
    for (int i = 0; i < n_server_pids; i++) {
        double v = proc_cpu_s(opt_server_pids[i]);
        if (v < 0) return -1;
        sum += v;
    }
    return sum;
}

/* Machine-wide CPU accounting from /proc/stat (all CPUs summed), seconds:
 * user_sys = user+nice+system; softirq (loopback TCP work lands there), irq,
 * steal, idle(+iowait); busy[] per CPU for CPUs 0 and 1. Used to detect other
 * processes competing for the two CPUs during the window. */
typedef struct { double user_sys, irq, softirq, steal, idle; double busy[2]; int ok; } sysstat_t;

static sysstat_t read_sysstat(void) {
    sysstat_t st = {0};
    FILE *f = fopen("/proc/stat", "r");
    if (!f) return st;
    char line[512];
    double tck = (double)sysconf(_SC_CLK_TCK);
    while (fgets(line, sizeof line, f)) {
        if (strncmp(line, "cpu", 3) != 0) break;
        if (line[3] == ' ') continue;                  /* aggregate line: skip, sum per-CPU */
        int cpu;
        unsigned long long v[8] = {0};
        if (sscanf(line, "cpu%d %llu %llu %llu %llu %llu %llu %llu %llu", &cpu,
                   &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 9) continue;
        st.user_sys += (v[0] + v[1] + v[2]) / tck;
        st.idle += (v[3] + v[4]) / tck;
        st.irq += v[5] / tck;
        st.softirq += v[6] / tck;
        st.steal += v[7] / tck;
        if (cpu >= 0 && cpu < 2) st.busy[cpu] = (v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / tck;
    }
    fclose(f);
    st.ok = 1;
    return st;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- options / state ---- */
static int opt_port = 0, opt_conns = 10, opt_verify = 0, opt_prime = 1;
static size_t opt_size = 1024;
static double opt_duration = 5.0, opt_warmup = 1.0, opt_connect_timeout = 10.0;
static const char *opt_mode = "rr";
static const char *opt_label = "";

static int ep;
static conn_t *conns;
static int stream_mode;
static int conn_mode;               /* mode conn */
static int idle_mode;               /* mode idle */
static int drain_mode;              /* mode drain */
static int measuring;
static uint64_t errors, verify_failures;
static uint64_t m_requests, m_bytes;     /* counted in the window only */
static uint64_t *lat; static size_t lat_n, lat_cap;
static unsigned char *pattern;           /* stream: opt_size + PATLEN bytes */
static unsigned char *stream_rbuf;

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "{\"error\":\"echo_client: hard time limit hit\"}\n";
    ssize_t r = write(1, msg, sizeof msg - 1);
    (void)r;
    _exit(3);
}

static void set_events(conn_t *c, int want_out) {
    if (c->want_out == want_out) return;
    struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0),
                              .data.ptr = c };
    epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
    c->want_out = want_out;
}

static void conn_fail(conn_t *c, const char *why) {
    if (!c->alive) return;
    fprintf(stderr, "echo_client: connection error: %s (%s)\n", why, strerror(errno));
    errors++;
    c->alive = 0;
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
}

/* ---------------- request/response mode ---------------- */
static void rr_send(conn_t *c) {
    while (c->sent < opt_size) {
        ssize_t n = send(c->fd, c->sbuf + c->sent, opt_size - c->sent, MSG_NOSIGNAL);
        if (n > 0) { c->sent += (size_t)n; continue; }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) { set_events(c, 1); return; }
        if (n < 0 && errno == EINTR) continue;
        conn_fail(c, "send");
        return;
    }
    set_events(c, 0);
}

static void rr_start(conn_t *c) {
    c->sent = c->got = 0;
    c->seq++;
    memcpy(c->sbuf, &c->seq, sizeof c->seq);       /* stamp request number */
    c->t0 = now_ns();
    rr_send(c);
}

static void rr_recv(conn_t *c) {
    size_t room = opt_size - c->got;
    if (room == 0) {   /* server sent more than was asked: protocol error */
        errno = EPROTO; conn_fail(c, "unexpected extra bytes"); return;
    }
    ssize_t n = recv(c->fd, c->rbuf + c->got, room, 0);
    if (n > 0) {
        c->got += (size_t)n;
        if (c->got == opt_size && c->sent == opt_size) {
            uint64_t t1 = now_ns();
            uint64_t echoed;
            memcpy(&echoed, c->rbuf, sizeof echoed);
            if (echoed != c->seq ||
                (opt_verify && memcmp(c->rbuf, c->sbuf, opt_size) != 0)) {
                verify_failures++;
                errno = EPROTO; conn_fail(c, "echo mismatch"); return;
            }
            if (measuring) {
                m_requests++;
                m_bytes += opt_size;
                if (lat_n == lat_cap) {
                    lat_cap = lat_cap ? lat_cap * 2 : (1u << 16);
                    lat = realloc(lat, lat_cap * sizeof *lat);
                    if (!lat) { perror("realloc"); exit(1); }
                }
                lat[lat_n++] = t1 - c->t0;
            }
            rr_start(c);
        }
        return;
    }
    if (n == 0) { errno = ECONNRESET; conn_fail(c, "server closed connection"); return; }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    conn_fail(c, "recv");
}

/* ---------------- stream mode ---------------- */
static void stream_send(conn_t *c) {
    ssize_t n = send(c->fd, pattern + (c->s_sent % PATLEN), opt_size, MSG_NOSIGNAL);
    if (n > 0) { c->s_sent += (uint64_t)n; return; }
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return;
    conn_fail(c, "send");
}

static void stream_recv(conn_t *c) {
    ssize_t n = recv(c->fd, stream_rbuf, STREAM_RBUF, 0);
    if (n > 0) {
        if (opt_verify) {
            uint64_t off = c->s_recv;
            for (ssize_t i = 0; i < n; i++) {
                if (stream_rbuf[i] != pattern[(off + (uint64_t)i) % PATLEN]) {
                    verify_failures++;
                    errno = EPROTO; conn_fail(c, "stream echo mismatch"); return;
                }
            }
        }
        c->s_recv += (uint64_t)n;
        if (measuring) m_bytes += (uint64_t)n;
        return;
    }
    if (n == 0) { errno = ECONNRESET; conn_fail(c, "server closed connection"); return; }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
    conn_fail(c, "recv");
}

/* ---------------- connection-rate mode ---------------- */
static struct sockaddr_in target_addr(void) {
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);       /* 127.0.0.1 only */
    return sa;
}

static uint64_t cc_failures_logged;

/* Start a non-blocking connect on slot c (sent = 0: connecting). */
static void cc_start(conn_t *c) {
    struct sockaddr_in sa = target_addr();
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (fd < 0) { perror("socket"); exit(1); }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    c->fd = fd;
    c->sent = 0;
    c->t0 = now_ns();
    c->alive = 1;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0 && errno != EINPROGRESS) {
        /* reported through SO_ERROR on the first event */
    }
    struct epoll_event ev = { .events = EPOLLOUT, .data.ptr = c };
    c->want_out = 1;
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) { perror("epoll_ctl"); exit(1); }
}

/* A failed cycle: count it, log the first few, start over on this slot. */
static void cc_retry(conn_t *c, const char *why, int restart) {
    errors++;
    if (cc_failures_logged++ < 5) fprintf(stderr, "echo_client: conn cycle failed: %s (%s)\n", why, strerror(errno));
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    c->alive = 0;
    if (restart) cc_start(c);
}

/* One event on a conn/idle slot. Returns 1 when the 1-byte echo completed. */
static int cc_event(conn_t *c, uint32_t e, int restart) {
    if (c->sent == 0) {                               /* connecting */
        if (!(e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return 0;
        int err = 0; socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) { errno = err; cc_retry(c, "connect", restart); return 0; }
        char b = 'x';
        if (send(c->fd, &b, 1, MSG_NOSIGNAL) != 1) { cc_retry(c, "send", restart); return 0; }
        c->sent = 1;
        set_events(c, 0);
        return 0;
    }
    if (e & EPOLLIN) {
        char b;
        ssize_t n = recv(c->fd, &b, 1, 0);
        if (n == 1) return 1;
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return 0;
        if (n == 0) errno = ECONNRESET;
        cc_retry(c, n == 0 ? "server closed connection" : "recv", restart);
    } else if (e & (EPOLLERR | EPOLLHUP)) {
        cc_retry(c, "EPOLLERR/HUP", restart);
    }
    return 0;
}

/* conn mode: the echo came back; close and start the next cycle. */
static void cc_done(conn_t *c) {
    uint64_t t1 = now_ns();
    epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
    close(c->fd);
    if (measuring) {
        m_requests++;
        if (lat_n == lat_cap) {
            lat_cap = lat_cap ? lat_cap * 2 : (1u << 16);
            lat = realloc(lat, lat_cap * sizeof *lat);
            if (!lat) { perror("realloc"); exit(1); }
        }
        lat[lat_n++] = t1 - c->t0;
    }
    cc_start(c);
}

/* drain mode: one event on a download slot */
static void dr_event(conn_t *c, uint32_t e) {
    if (c->sent == 0) {                               /* connecting */
        if (!(e & (EPOLLOUT | EPOLLERR | EPOLLHUP))) return;
        int err = 0; socklen_t l = sizeof err;
        getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
        if (err) { errno = err; cc_retry(c, "connect", 1); return; }
        c->sent = 1;
        set_events(c, 0);
        return;
    }
    if (!(e & (EPOLLIN | EPOLLHUP | EPOLLERR))) return;
    for (;;) {
        ssize_t n = recv(c->fd, stream_rbuf, STREAM_RBUF, 0);
        if (n > 0) { if (measuring) m_bytes += (uint64_t)n; continue; }
        if (n == 0) { cc_done(c); return; }           /* whole file received */
        if (errno == EAGAIN || errno == EINTR) return;
        cc_retry(c, "recv", 1);
        return;
    }
}

/* idle mode: open opt_conns connections, echo 1 byte on each, report, hold. */
static int run_idle(void) {
    const int inflight_max = 64;
    int started = 0, ready = 0, inflight = 0;
    uint64_t t0 = now_ns();
    struct epoll_event evs[MAXEV];
    while (ready < opt_conns) {
        while (inflight < inflight_max && started < opt_conns) { cc_start(&conns[started++]); inflight++; }
        int n = epoll_wait(ep, evs, MAXEV, 100);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            if (!c->alive) continue;
            if (cc_event(c, evs[i].events, 1)) {       /* live: drop it from epoll, keep it open */
                epoll_ctl(ep, EPOLL_CTL_DEL, c->fd, NULL);
                ready++;
                inflight--;
            }
        }
        if (errors > (uint64_t)opt_conns) { fprintf(stderr, "echo_client: too many failures\n"); break; }
    }
    printf("{\"ready\":%d,\"errors\":%llu,\"open_s\":%.3f}\n", ready, (unsigned long long)errors, (now_ns() - t0) / 1e9);
    fflush(stdout);
    /* hold until stdin reaches EOF (the orchestrator closes it) or --duration */
    alarm(0);
    alarm((unsigned)opt_duration + 1);
    char b[64];
    while (read(0, b, sizeof b) > 0) {}
    for (int i = 0; i < opt_conns; i++) if (conns[i].alive) close(conns[i].fd);
    return ready == opt_conns ? 0 : 4;
}

/* ---------------- setup ---------------- */
static int connect_one(double deadline_s) {
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)opt_port) };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);       /* 127.0.0.1 only */
    uint64_t deadline = now_ns() + (uint64_t)(deadline_s * 1e9);
    for (;;) {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0) { perror("socket"); exit(1); }
        if (connect(fd, (struct sockaddr *)&sa, sizeof sa) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            int fl = fcntl(fd, F_GETFL, 0);
            if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) { perror("fcntl"); exit(1); }
            return fd;
        }
        int e = errno;
        close(fd);
        if ((e == ECONNREFUSED || e == EINTR) && now_ns() < deadline) {
            usleep(20000);
            continue;
        }
        errno = e;
        perror("connect 127.0.0.1");
        exit(1);
    }
}

/* One short-lived connection before the measured ones: 1-byte echo, close,
 * 100 ms pause. Puts every server in the state of "has already served and
 * closed a connection", which is the steady state of a real server. (It
 * matters for CPython 3.11 asyncio: until the first 256 KiB recv() buffer is
 * freed whole - on a connection's EOF - glibc's dynamic mmap threshold is not
 * raised and every recv(256 KiB) costs an mmap+mremap+munmap.) */
static void prime_server(void) {
    int fd = connect_one(opt_connect_timeout);
    int fl = fcntl(fd, F_GETFL, 0);
    fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
    struct timeval tv = { .tv_sec = 2, .tv_usec = 0 };
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char b = 'x';
    if (send(fd, &b, 1, MSG_NOSIGNAL) == 1) {
        ssize_t r = recv(fd, &b, 1, 0);
        (void)r;
    }
    close(fd);
    usleep(100000);
}

static void usage(const char *argv0) {
    fprintf(stderr,
        "usage: %s --port P [--conns N] [--size BYTES] [--duration SEC] [--warmup SEC]\n"
        "          [--mode rr|stream|conn|idle|drain] [--verify] [--label NAME] [--server-pid PID[,PID...]]\n"
        "          [--connect-timeout SEC] [--no-prime]\n"
        "Target is always 127.0.0.1. Prints one JSON line.\n", argv0);
    exit(2);
}

static void json_str(const char *s) {
    putchar('"');
    for (; *s; s++) {
        if (*s == '"' || *s == '\\') { putchar('\\'); putchar(*s); }
        else if ((unsigned char)*s < 0x20) printf("\\u%04x", *s);
        else putchar(*s);
    }
    putchar('"');
}

int main(int argc, char **argv) {
    static struct option lo[] = {
        {"port", 1, 0, 'p'}, {"conns", 1, 0, 'c'}, {"size", 1, 0, 's'},
        {"duration", 1, 0, 'd'}, {"warmup", 1, 0, 'w'}, {"mode", 1, 0, 'm'},
        {"verify", 0, 0, 'v'}, {"label", 1, 0, 'l'}, {"server-pid", 1, 0, 'P'},
        {"connect-timeout", 1, 0, 't'}, {"no-prime", 0, 0, 'N'}, {"help", 0, 0, 'h'}, {0, 0, 0, 0}};
    int o;
    while ((o = getopt_long(argc, argv, "p:c:s:d:w:m:vl:P:t:h", lo, NULL)) != -1) {
        switch (o) {
        case 'p': opt_port = atoi(optarg); break;
        case 'c': opt_conns = atoi(optarg); break;
        case 's': opt_size = (size_t)strtoull(optarg, NULL, 10); break;
        case 'd': opt_duration = atof(optarg); break;
        case 'w': opt_warmup = atof(optarg); break;
        case 'm': opt_mode = optarg; break;
        case 'v': opt_verify = 1; break;
        case 'l': opt_label = optarg; break;
        case 'P': {
            char *save = NULL;
            for (char *tok = strtok_r(optarg, ",", &save); tok && n_server_pids < 16; tok = strtok_r(NULL, ",", &save))
                opt_server_pids[n_server_pids++] = atoi(tok);
            break;
        }
        case 't': opt_connect_timeout = atof(optarg); break;
        case 'N': opt_prime = 0; break;
        default: usage(argv[0]);
        }
    }
    if (opt_port <= 0 || opt_port > 65535 || opt_conns <= 0 || opt_conns > 20000 ||
        opt_size < 8 || opt_size > (64u << 20) || opt_duration <= 0 || opt_duration > 600 ||
        opt_warmup < 0 || opt_warmup > 600)
        usage(argv[0]);
    if (strcmp(opt_mode, "rr") == 0) stream_mode = 0;
    else if (strcmp(opt_mode, "stream") == 0) stream_mode = 1;
    else if (strcmp(opt_mode, "conn") == 0) conn_mode = 1;
    else if (strcmp(opt_mode, "idle") == 0) idle_mode = 1;
    else if (strcmp(opt_mode, "drain") == 0) { drain_mode = 1; conn_mode = 1; opt_prime = 0; }
    else usage(argv[0]);

    /* hard bound on total run time, whatever happens */
    signal(SIGALRM, on_alarm);
    signal(SIGPIPE, SIG_IGN);
    alarm((unsigned)(opt_connect_timeout + opt_warmup + opt_duration + 15));

    ep = epoll_create1(0);
    if (ep < 0) { perror("epoll_create1"); return 1; }
    conns = calloc((size_t)opt_conns, sizeof *conns);
    if (drain_mode) stream_rbuf = malloc(STREAM_RBUF);
    if (stream_mode) {
        pattern = malloc(opt_size + PATLEN);
        for (size_t i = 0; i < opt_size + PATLEN; i++) pattern[i] = (unsigned char)((i % PATLEN) * 7 + 1);
        stream_rbuf = malloc(STREAM_RBUF);
    }
    if (idle_mode) {
        /* idle: the hold time is --duration; the alarm is re-armed in run_idle */
        alarm((unsigned)(opt_connect_timeout + 120));
        return run_idle();
    }
    if (opt_prime) prime_server();
    for (int i = 0; i < opt_conns && !conn_mode; i++) {
        conn_t *c = &conns[i];
        c->fd = connect_one(opt_connect_timeout);
        c->alive = 1;
        if (!stream_mode) {
            c->sbuf = malloc(opt_size);
            c->rbuf = malloc(opt_size);
            for (size_t k = 0; k < opt_size; k++) c->sbuf[k] = (unsigned char)(k * 31 + i);
        }
        struct epoll_event ev = { .events = EPOLLIN | (stream_mode ? EPOLLOUT : 0), .data.ptr = c };
        c->want_out = stream_mode;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) { perror("epoll_ctl"); return 1; }
    }

    uint64_t t_start = now_ns();
    uint64_t t_warm_end = t_start + (uint64_t)(opt_warmup * 1e9);
    uint64_t t_end = t_warm_end + (uint64_t)(opt_duration * 1e9);
    uint64_t t_meas0 = 0, t_meas1 = 0;
    double cpu0 = 0, cpu1 = 0, scpu0 = -1, scpu1 = -1;
    sysstat_t ss0 = {0}, ss1 = {0};

    if (drain_mode) {
        /* wait until the server listens (connect_one retries ECONNREFUSED) */
        close(connect_one(opt_connect_timeout));
        usleep(100000);
    }
    if (conn_mode)
        for (int i = 0; i < opt_conns; i++) cc_start(&conns[i]);
    else if (!stream_mode)
        for (int i = 0; i < opt_conns; i++) rr_start(&conns[i]);

    struct epoll_event evs[MAXEV];
    for (;;) {
        uint64_t t = now_ns();
        if (!measuring && t >= t_warm_end) {
            measuring = 1;
            t_meas0 = t;
            cpu0 = rusage_cpu_s();
            scpu0 = servers_cpu_s();
            ss0 = read_sysstat();
        }
        if (t >= t_end) { t_meas1 = t; break; }
        uint64_t next = measuring ? t_end : t_warm_end;
        int timeout_ms = (int)((next - t) / 1000000ull) + 1;
        if (timeout_ms > 100) timeout_ms = 100;
        int n = epoll_wait(ep, evs, MAXEV, timeout_ms);
        if (n < 0) { if (errno == EINTR) continue; perror("epoll_wait"); return 1; }
        for (int i = 0; i < n; i++) {
            conn_t *c = evs[i].data.ptr;
            uint32_t e = evs[i].events;
            if (!c->alive) continue;
            if (conn_mode) {
                if (drain_mode) dr_event(c, e);
                else if (cc_event(c, e, 1)) cc_done(c);
            } else if (stream_mode) {
                if (e & EPOLLIN) stream_recv(c);
                if (c->alive && (e & EPOLLOUT)) stream_send(c);
                if (c->alive && (e & (EPOLLERR | EPOLLHUP)) && !(e & EPOLLIN)) conn_fail(c, "EPOLLERR/HUP");
            } else {
                if (e & EPOLLOUT) rr_send(c);
                if (c->alive && (e & EPOLLIN)) rr_recv(c);
                if (c->alive && (e & (EPOLLERR | EPOLLHUP)) && !(e & EPOLLIN)) conn_fail(c, "EPOLLERR/HUP");
            }
        }
        int alive = 0;
        for (int i = 0; i < opt_conns; i++) alive += conns[i].alive;
        if (!alive && !conn_mode) { t_meas1 = now_ns(); break; }
    }
    cpu1 = rusage_cpu_s();
    scpu1 = servers_cpu_s();
    ss1 = read_sysstat();
    if (!measuring) { t_meas0 = t_meas1; cpu0 = cpu1; ss0 = ss1; }
    for (int i = 0; i < opt_conns; i++) if (conns[i].alive) close(conns[i].fd);

    double win = (t_meas1 - t_meas0) / 1e9;
    if (win <= 0) win = 1e-9;
    printf("{\"label\":"); json_str(opt_label);
    printf(",\"mode\":\"%s\",\"port\":%d,\"conns\":%d,\"size\":%zu,\"warmup_s\":%.3f,\"window_s\":%.4f",
           stream_mode ? "stream" : drain_mode ? "drain" : conn_mode ? "conn" : "rr", opt_port, opt_conns, opt_size, opt_warmup, win);
    printf(",\"requests\":%llu,\"bytes\":%llu", (unsigned long long)m_requests, (unsigned long long)m_bytes);
    printf(",\"rps\":%.1f,\"mib_s\":%.2f", stream_mode ? 0.0 : (double)m_requests / win, m_bytes / win / 1048576.0);
    if (!stream_mode && lat_n > 0) {
        qsort(lat, lat_n, sizeof *lat, cmp_u64);
        double sum = 0;
        for (size_t i = 0; i < lat_n; i++) sum += (double)lat[i];
#define PCT(p) (lat[(size_t)((p) * (double)(lat_n - 1) + 0.5)] / 1e3)
        printf(",\"lat_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"p999\":%.1f,\"max\":%.1f,\"mean\":%.1f}",
               PCT(0.50), PCT(0.90), PCT(0.99), PCT(0.999), lat[lat_n - 1] / 1e3, sum / lat_n / 1e3);
    } else {
        printf(",\"lat_us\":null");
    }
    printf(",\"client_cpu\":%.3f", (cpu1 - cpu0) / win);
    if (scpu0 >= 0 && scpu1 >= 0) printf(",\"server_cpu\":%.3f", (scpu1 - scpu0) / win);
    else printf(",\"server_cpu\":null");
    if (ss0.ok && ss1.ok) {
        /* others_cpu: CPU time of everything except this client and the server.
         * Tick-based accounting charges softirq/irq ticks to the interrupted
         * task's stime too, while /proc/stat files them under softirq/irq, so
         * those columns are added back before subtracting the two processes. */
        double others = (ss1.user_sys - ss0.user_sys + ss1.softirq - ss0.softirq + ss1.irq - ss0.irq) / win -
                        (cpu1 - cpu0) / win -
                        ((scpu0 >= 0 && scpu1 >= 0) ? (scpu1 - scpu0) / win : 0);
        printf(",\"machine\":{\"others_cpu\":%.3f,\"softirq\":%.3f,\"irq\":%.3f,\"steal\":%.3f,\"idle\":%.3f,\"cpu0_busy\":%.3f,\"cpu1_busy\":%.3f}",
               others, (ss1.softirq - ss0.softirq) / win, (ss1.irq - ss0.irq) / win,
               (ss1.steal - ss0.steal) / win, (ss1.idle - ss0.idle) / win,
               (ss1.busy[0] - ss0.busy[0]) / win, (ss1.busy[1] - ss0.busy[1]) / win);
    }
    printf(",\"primed\":%s,\"verify\":%s,\"errors\":%llu,\"verify_failures\":%llu}\n", opt_prime ? "true" : "false", opt_verify ? "true" : "false",
           (unsigned long long)errors, (unsigned long long)verify_failures);
    fflush(stdout);
    return errors ? 4 : 0;
}
