/* harness: servers, engine processes, clients and cleanup for the integration scenarios. */
#define _XOPEN_SOURCE 700 /* nftw */
#include "harness.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>

#include "rfq_ids.h"
#include "rfq_jwt.h"
#include "rfq_redis_acl.h"
#include "rfq_tenant_kv.h"

#ifndef RFQ_IT_NATS_SERVER
#define RFQ_IT_NATS_SERVER "nats-server"
#endif
#ifndef RFQ_IT_REDIS_SERVER
#define RFQ_IT_REDIS_SERVER "redis-server"
#endif
#ifndef RFQ_IT_REQUESTER_BIN
#define RFQ_IT_REQUESTER_BIN "rfq-requester"
#endif
#ifndef RFQ_IT_AGGREGATOR_BIN
#define RFQ_IT_AGGREGATOR_BIN "rfq-aggregator"
#endif
#ifndef RFQ_IT_RESPONDER_BIN
#define RFQ_IT_RESPONDER_BIN "rfq-responder"
#endif
#ifndef RFQ_IT_SOURCE_DIR
#define RFQ_IT_SOURCE_DIR "."
#endif

#define H_MAX_PROCS 32
#define H_STOP_BOUND_MS 5000   /* SIGTERM grace before SIGKILL */
#define H_READY_BOUND_MS 20000 /* how long a process may take to become ready */
#define H_LOG_TAIL 12000       /* bytes of each log printed on failure */
#define H_ISS "rfq-dev"
#define H_AUD "rfq-engine"
#define H_PW_LEN 32       /* random passwords: a letter, then letters and digits */
#define H_SECRET_HEX 64   /* tenant secret: 32 random bytes as hex */
#define H_MAX_TENANTS 128 /* tenants one scenario registers */
#define H_URL_MAX 192

/* NATS users of deploy/nats/rfq-nats.conf, in the order of H.nats_pw. */
enum { H_ROLE_ADMIN, H_ROLE_REQUESTER, H_ROLE_AGGREGATOR, H_ROLE_RESPONDER, H_ROLE_APP, H_ROLES };
static const char *const role_names[H_ROLES] = {"admin", "requester", "aggregator", "responder",
                                                "app"};
static const char *const role_env[H_ROLES] = {"RFQ_NATS_PASS_ADMIN", "RFQ_NATS_PASS_REQUESTER",
                                              "RFQ_NATS_PASS_AGGREGATOR", "RFQ_NATS_PASS_RESPONDER",
                                              "RFQ_NATS_PASS_APP"};

/* A tenant the scenario registered: KV record and Redis user, each made once its server runs. */
struct h_tenant_reg {
    char tenant[RFQ_TENANT_MAX + 1];
    char pw[RFQ_ACL_PASSWORD_LEN + 1]; /* derived from the tenant secret */
    char tier[RFQ_TIER_MAX];           /* tier override to write, "" = none */
    bool kv_done, acl_done;
};

extern char **environ;

static struct {
    char scenario[64];
    char tmpdir[256];
    int64_t t0_ns;
    _Atomic int64_t bound_ns;
    struct h_proc *procs[H_MAX_PROCS]; /* every process, in start order */
    int nprocs;
    struct h_proc *nats_srv, *redis_srv;
    char nats_url[H_URL_MAX];               /* admin user */
    char nats_role_url[H_ROLES][H_URL_MAX]; /* one per user of rfq-nats.conf */
    char redis_url[H_URL_MAX];              /* default (admin) user */
    char redis_svc_url[H_URL_MAX];          /* service user rfq-svc */
    int redis_port;
    char nats_pw[H_ROLES][H_PW_LEN + 1]; /* random per scenario */
    char redis_admin_pw[H_PW_LEN + 1], redis_svc_pw[H_PW_LEN + 1];
    char secret[H_SECRET_HEX + 1]; /* RFQ_TENANT_SECRET_FILE's content */
    char secret_path[300], acl_path[300];
    kvStore *kv; /* bucket RFQ_TENANTS, admin connection */
    pthread_mutex_t reg_mu;
    struct h_tenant_reg reg[H_MAX_TENANTS]; /* guarded by reg_mu */
    int n_reg;
    const char *leaks[H_ROLES + 4 + H_MAX_TENANTS];
    natsConnection *nc;
    jsCtx *js;
    natsSubscription *ev_sub;
    redisContext *rc;
    char priv_path[300], pub_path[300];
    char *priv_pem, *pub_pem;
    size_t priv_len, pub_len;
    int n_requesters, n_aggregators, n_responders;
    pthread_mutex_t ev_mu;
    json_t *events;          /* array of event objects, guarded by ev_mu */
    char ev_bad[256];        /* first event whose subject disagrees with its body */
    struct h_dlq_entry *dlq; /* cache of DLQ entries read so far */
    int n_dlq, cap_dlq;
    uint64_t dlq_next_seq;
    atomic_int failing;
    atomic_int cleaned;
    volatile sig_atomic_t got_signal;
} H = {.ev_mu = PTHREAD_MUTEX_INITIALIZER, .reg_mu = PTHREAD_MUTEX_INITIALIZER};

/* ---- time and logging ------------------------------------------------------------------ */

static int64_t mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t h_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void h_sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

static double elapsed_s(void)
{
    return (double)(mono_ns() - H.t0_ns) / 1e9;
}

void h_log(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("[%7.3f] ", elapsed_s());
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

void h_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("[%7.3f] NOTE: ", elapsed_s());
    vprintf(fmt, ap);
    printf("\n");
    fflush(stdout);
    va_end(ap);
}

/* ---- failure and cleanup --------------------------------------------------------------- */

static void describe_status(int st, char *out, size_t cap)
{
    if (WIFEXITED(st))
        snprintf(out, cap, "exit code %d", WEXITSTATUS(st));
    else if (WIFSIGNALED(st))
        snprintf(out, cap, "killed by signal %d", WTERMSIG(st));
    else
        snprintf(out, cap, "status 0x%x", st);
}

/* Print the last H_LOG_TAIL bytes of a process log, under a header that says whether the
 * process runs or how it ended. */
static void dump_log(const struct h_proc *p)
{
    FILE *f = fopen(p->log_path, "r");
    if (!f) {
        fprintf(stderr, "---- %s: no log (%s)\n", p->name, p->log_path);
        return;
    }
    fseek(f, 0, SEEK_END);
    long size = ftell(f);
    long from = size > H_LOG_TAIL ? size - H_LOG_TAIL : 0;
    fseek(f, from, SEEK_SET);
    char state[64] = "running";
    if (p->pid <= 0)
        describe_status(p->exit_status, state, sizeof(state));
    fprintf(stderr, "---- log of %s (pid %ld, %s, %ld bytes%s) ----\n", p->name, (long)p->pid,
            state, size, from ? ", tail" : "");
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
        fwrite(buf, 1, n, stderr);
    fprintf(stderr, "---- end of %s ----\n", p->name);
    fclose(f);
}

/* Remove one path found by nftw (files before their directories thanks to FTW_DEPTH). */
static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    remove(path);
    return 0;
}

static bool proc_reap(struct h_proc *p, int bound_ms)
{
    int64_t until = mono_ns() + (int64_t)bound_ms * 1000000;
    for (;;) {
        int st = 0;
        pid_t r = waitpid(p->pid, &st, WNOHANG);
        if (r == p->pid || (r < 0 && errno == ECHILD)) {
            p->exit_status = r == p->pid ? st : 0;
            p->pid = 0;
            return true;
        }
        if (mono_ns() >= until)
            return false;
        h_sleep_ms(10);
    }
}

/* Stop every process still running: engines first (newest first), servers last, each with
 * SIGTERM then SIGKILL after a bound. Used by the exit path and by h_finish. */
static void stop_all(void)
{
    for (int pass = 0; pass < 2; pass++) {
        for (int i = H.nprocs - 1; i >= 0; i--) {
            struct h_proc *p = H.procs[i];
            if (p->pid > 0 && p->is_engine == (pass == 0))
                kill(p->pid, SIGTERM);
        }
        for (int i = H.nprocs - 1; i >= 0; i--) {
            struct h_proc *p = H.procs[i];
            if (p->pid <= 0 || p->is_engine != (pass == 0))
                continue;
            if (!proc_reap(p, H_STOP_BOUND_MS)) {
                fprintf(stderr, "%s (pid %ld) ignored SIGTERM for %d ms: SIGKILL\n", p->name,
                        (long)p->pid, H_STOP_BOUND_MS);
                kill(p->pid, SIGKILL);
                proc_reap(p, H_STOP_BOUND_MS);
            }
        }
    }
}

static void remove_tmpdir(void)
{
    if (!H.tmpdir[0])
        return;
    const char *keep = getenv("RFQ_IT_KEEP");
    if (keep && *keep && strcmp(keep, "0") != 0) {
        fprintf(stderr, "RFQ_IT_KEEP set: temp dir kept at %s\n", H.tmpdir);
        return;
    }
    nftw(H.tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* atexit: whatever happened, no process and no temp dir outlives the scenario. */
static void cleanup_at_exit(void)
{
    if (atomic_exchange(&H.cleaned, 1))
        return;
    stop_all();
    remove_tmpdir();
}

void h_fail(const char *file, int line, const char *fmt, ...)
{
    if (atomic_exchange(&H.failing, 1)) {
        for (;;)
            pause(); /* another thread is already failing the scenario and will exit */
    }
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fflush(stdout);
    fprintf(stderr, "\nFAIL [%s] %s:%d (at %.3f s): %s\n", H.scenario, file, line, elapsed_s(),
            msg);
    for (int i = 0; i < H.nprocs; i++)
        dump_log(H.procs[i]);
    fprintf(stderr, "FAIL [%s]: %s\n", H.scenario, msg);
    fflush(stderr);
    exit(1);
}

static void on_signal(int sig)
{
    H.got_signal = sig;
}

/* Watchdog: turns a hung scenario or a stop signal into an ordinary failure, so the exit
 * path (logs, process stop, temp dir removal) runs before CTest's own timeout kills us. */
static void *watchdog_main(void *arg)
{
    (void)arg;
    for (;;) {
        h_sleep_ms(100);
        if (H.got_signal)
            h_fail(__FILE__, __LINE__, "interrupted by signal %d", (int)H.got_signal);
        if (mono_ns() - H.t0_ns > H.bound_ns)
            h_fail(__FILE__, __LINE__, "scenario did not finish within its bound of %lld s",
                   (long long)(H.bound_ns / 1000000000));
    }
    return NULL;
}

/* A random password of H_PW_LEN characters: a letter first, then letters and digits (safe in
 * URLs, ACL rules and nats-server's variable parsing, which would turn "123" into a number). */
static void random_password(char *out)
{
    static const char alnum[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char rnd[H_PW_LEN];
    H_CHECK(RAND_bytes(rnd, sizeof(rnd)) == 1, "RAND_bytes");
    for (int i = 0; i < H_PW_LEN; i++)
        out[i] = i == 0 ? alnum[rnd[i] % 52] : alnum[rnd[i] % 62];
    out[H_PW_LEN] = '\0';
}

/* Every credential of the scenario, and the tenant secret file (0600) the requester reads. */
static void make_credentials(void)
{
    for (int i = 0; i < H_ROLES; i++)
        random_password(H.nats_pw[i]);
    random_password(H.redis_admin_pw);
    random_password(H.redis_svc_pw);
    unsigned char rnd[H_SECRET_HEX / 2];
    H_CHECK(RAND_bytes(rnd, sizeof(rnd)) == 1, "RAND_bytes");
    for (size_t i = 0; i < sizeof(rnd); i++)
        snprintf(H.secret + 2 * i, 3, "%02x", rnd[i]);
    snprintf(H.secret_path, sizeof(H.secret_path), "%s/tenant.secret", H.tmpdir);
    int fd = open(H.secret_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    H_CHECK(fd >= 0, "create %s: %s", H.secret_path, strerror(errno));
    char line[H_SECRET_HEX + 2];
    int n = snprintf(line, sizeof(line), "%s\n", H.secret);
    H_CHECK(write(fd, line, (size_t)n) == n && close(fd) == 0, "write %s", H.secret_path);
}

void h_bound_extend(int s)
{
    H.bound_ns += (int64_t)s * 1000000000;
}

void h_init(const char *scenario, int bound_s)
{
    snprintf(H.scenario, sizeof(H.scenario), "%s", scenario);
    H.t0_ns = mono_ns();
    H.bound_ns = (int64_t)bound_s * 1000000000;
    setvbuf(stdout, NULL, _IOLBF, 0);

    const char *base = getenv("TMPDIR");
    snprintf(H.tmpdir, sizeof(H.tmpdir), "%s/rfq-it-%s-XXXXXX", base && *base ? base : "/tmp",
             scenario);
    if (!mkdtemp(H.tmpdir)) {
        H.tmpdir[0] = '\0';
        h_fail(__FILE__, __LINE__, "mkdtemp: %s", strerror(errno));
    }
    atexit(cleanup_at_exit);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);

    H.events = json_array();
    H.dlq_next_seq = 1;
    make_credentials();
    curl_global_init(CURL_GLOBAL_DEFAULT);
    natsStatus ns = nats_Open(0); /* no lock spinning, as the engines (rfq_nats.c) */
    H_CHECK(ns == NATS_OK, "nats_Open: %s", natsStatus_GetText(ns));

    pthread_t wd;
    H_CHECK(pthread_create(&wd, NULL, watchdog_main, NULL) == 0, "cannot start watchdog");
    pthread_detach(wd);
    h_log("scenario %s: temp dir %s, bound %d s", scenario, H.tmpdir, bound_s);
}

const char *h_tmpdir(void)
{
    return H.tmpdir;
}

/* ---- processes ------------------------------------------------------------------------- */

int h_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    H_CHECK(fd >= 0, "socket: %s", strerror(errno));
    struct sockaddr_in a;
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = 0;
    H_CHECK(bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0, "bind: %s", strerror(errno));
    socklen_t alen = sizeof(a);
    H_CHECK(getsockname(fd, (struct sockaddr *)&a, &alen) == 0, "getsockname: %s", strerror(errno));
    close(fd);
    return ntohs(a.sin_port);
}

static char **strv_dup(const char *const *v)
{
    int n = 0;
    while (v[n])
        n++;
    char **out = calloc((size_t)n + 1, sizeof(char *));
    H_CHECK(out != NULL, "out of memory");
    for (int i = 0; i < n; i++)
        out[i] = strdup(v[i]);
    return out;
}

static bool env_has_name(const char *const *list, const char *entry)
{
    size_t n = strcspn(entry, "=");
    for (int i = 0; list && list[i]; i++)
        if (strncmp(list[i], entry, n) == 0 && list[i][n] == '=')
            return true;
    return false;
}

/* The child environment: ours without any RFQ_* variable (the test decides them all), then
 * the harness defaults unless the scenario overrides them, then the scenario's values. */
static char **build_env(const char *const *defaults, const char *const *extra)
{
    int n = 0;
    for (char **e = environ; *e; e++)
        n++;
    for (int i = 0; defaults && defaults[i]; i++)
        n++;
    for (int i = 0; extra && extra[i]; i++)
        n++;
    char **out = calloc((size_t)n + 1, sizeof(char *));
    H_CHECK(out != NULL, "out of memory");
    int k = 0;
    for (char **e = environ; *e; e++)
        if (strncmp(*e, "RFQ_", 4) != 0)
            out[k++] = strdup(*e);
    for (int i = 0; defaults && defaults[i]; i++)
        if (!env_has_name(extra, defaults[i]))
            out[k++] = strdup(defaults[i]);
    for (int i = 0; extra && extra[i]; i++)
        out[k++] = strdup(extra[i]);
    return out;
}

/* fork/exec with stdout+stderr appended to the log file. The child dies with us
 * (PR_SET_PDEATHSIG) even if we are SIGKILLed, and gets its own process group so a terminal
 * ^C reaches only the test, which then stops it in order. */
static void proc_spawn(struct h_proc *p)
{
    if (p->ready_path[0])
        unlink(p->ready_path);
    int fd = open(p->log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    H_CHECK(fd >= 0, "open %s: %s", p->log_path, strerror(errno));
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    H_CHECK(devnull >= 0, "open /dev/null: %s", strerror(errno));
    long maxfd = sysconf(_SC_OPEN_MAX);
    if (maxfd < 0 || maxfd > 4096)
        maxfd = 4096;
    pid_t parent = getpid();
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    H_CHECK(pid >= 0, "fork: %s", strerror(errno));
    if (pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (getppid() != parent)
            _exit(127);
        setpgid(0, 0);
        struct sigaction dfl;
        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        sigaction(SIGPIPE, &dfl, NULL);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        dup2(devnull, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        for (long i = 3; i < maxfd; i++)
            close((int)i);
        execve(p->path, p->argv, p->envp);
        _exit(127);
    }
    close(fd);
    close(devnull);
    p->pid = pid;
}

static struct h_proc *proc_new(const char *name, const char *path, const char *const *argv,
                               char **envp, bool is_engine)
{
    H_CHECK(H.nprocs < H_MAX_PROCS, "too many processes");
    struct h_proc *p = calloc(1, sizeof(*p));
    H_CHECK(p != NULL, "out of memory");
    snprintf(p->name, sizeof(p->name), "%s", name);
    snprintf(p->path, sizeof(p->path), "%s", path);
    snprintf(p->log_path, sizeof(p->log_path), "%s/%s.log", H.tmpdir, name);
    p->argv = strv_dup(argv);
    p->envp = envp;
    p->is_engine = is_engine;
    H.procs[H.nprocs++] = p;
    return p;
}

void h_proc_check_alive(struct h_proc *p)
{
    H_CHECK(p->pid > 0, "%s is not running", p->name);
    int st = 0;
    pid_t r = waitpid(p->pid, &st, WNOHANG);
    if (r == p->pid) {
        char why[64];
        describe_status(st, why, sizeof(why));
        p->pid = 0;
        p->exit_status = st;
        h_fail(__FILE__, __LINE__, "%s exited unexpectedly (%s)", p->name, why);
    }
}

void h_check_all_alive(void)
{
    for (int i = 0; i < H.nprocs; i++)
        if (H.procs[i]->pid > 0)
            h_proc_check_alive(H.procs[i]);
}

/* Wait for the engine's ready file (its pid, written once serving). */
static void proc_wait_ready(struct h_proc *p)
{
    int64_t t0 = mono_ns();
    for (;;) {
        h_proc_check_alive(p);
        FILE *f = fopen(p->ready_path, "r");
        if (f) {
            long pid = 0;
            int n = fscanf(f, "%ld", &pid);
            fclose(f);
            if (n == 1) {
                H_CHECK(pid == (long)p->pid, "%s wrote pid %ld to its ready file, expected %ld",
                        p->name, pid, (long)p->pid);
                h_log("%s ready (pid %ld) after %.0f ms", p->name, pid,
                      (double)(mono_ns() - t0) / 1e6);
                return;
            }
        }
        H_CHECK(mono_ns() - t0 < (int64_t)H_READY_BOUND_MS * 1000000,
                "%s did not write its ready file %s within %d ms", p->name, p->ready_path,
                H_READY_BOUND_MS);
        h_sleep_ms(20);
    }
}

void h_proc_signal(struct h_proc *p, int sig)
{
    H_CHECK(p->pid > 0 && kill(p->pid, sig) == 0, "cannot signal %s", p->name);
}

void h_proc_freeze(struct h_proc *p)
{
    h_proc_signal(p, SIGSTOP);
    char path[64], buf[512];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)p->pid);
    int64_t until = h_now_ms() + 5000;
    for (;;) {
        FILE *f = fopen(path, "r");
        H_CHECK(f != NULL, "%s: cannot read %s", p->name, path);
        size_t n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        const char *rp = strrchr(buf, ')'); /* "pid (comm) S ..." */
        if (rp && (rp[2] == 'T' || rp[2] == 't'))
            return;
        H_CHECK(h_now_ms() < until, "%s not stopped 5 s after SIGSTOP (%.80s)", p->name, buf);
        h_sleep_ms(5);
    }
}

void h_proc_kill9(struct h_proc *p)
{
    H_CHECK(p->pid > 0, "%s is not running", p->name);
    kill(p->pid, SIGKILL);
    H_CHECK(proc_reap(p, H_STOP_BOUND_MS), "%s survived SIGKILL", p->name);
    h_log("%s killed with SIGKILL", p->name);
}

int h_proc_stop(struct h_proc *p)
{
    if (p->pid <= 0)
        return p->exit_status;
    kill(p->pid, SIGTERM);
    if (!proc_reap(p, H_STOP_BOUND_MS)) {
        h_note("%s did not exit within %d ms of SIGTERM: SIGKILL", p->name, H_STOP_BOUND_MS);
        kill(p->pid, SIGKILL);
        proc_reap(p, H_STOP_BOUND_MS);
        return -1;
    }
    return p->exit_status;
}

void h_proc_restart(struct h_proc *p)
{
    H_CHECK(p->pid <= 0, "%s is still running", p->name);
    proc_spawn(p);
    if (p->ready_path[0])
        proc_wait_ready(p);
    h_log("%s restarted (pid %ld)", p->name, (long)p->pid);
}

/* ---- tenants --------------------------------------------------------------------------- */

/* Make what t still lacks (KV record, with t->tier when set; Redis user) on whichever servers
 * run now; the rest follows when the server starts. Called with reg_mu held. */
static void tenant_sync_locked(struct h_tenant_reg *t)
{
    struct rfq_err err = {{0}, {0}};
    const char *tier = t->tier[0] ? t->tier : NULL;
    if (!t->kv_done && H.kv && H.nats_srv && H.nats_srv->pid > 0) {
        struct rfq_tenant_rec rec;
        rfq_status st = rfq_tenant_get(H.kv, t->tenant, &rec, &err);
        if (st == RFQ_ENOTFOUND)
            rfq_tenant_rec_init(&rec, t->tenant);
        else
            H_CHECK(st == RFQ_OK, "read the record of tenant %s: %s", t->tenant, err.message);
        if (st == RFQ_ENOTFOUND || (tier && strcmp(rec.tier, tier) != 0)) {
            if (tier)
                snprintf(rec.tier, sizeof(rec.tier), "%s", tier);
            st = rfq_tenant_put(H.kv, &rec, &err);
            H_CHECK(st == RFQ_OK, "register tenant %s: %s", t->tenant, err.message);
        }
        t->kv_done = true;
        t->tier[0] = '\0';
    }
    if (!t->acl_done && H.rc && H.redis_srv && H.redis_srv->pid > 0) {
        rfq_status st = rfq_acl_tenant_create(H.rc, t->tenant, t->pw, &err);
        H_CHECK(st == RFQ_OK, "create the Redis user of tenant %s: %s", t->tenant, err.message);
        t->acl_done = true;
    }
}

/* The entry of tenant, added when new (NULL when new and add is false). reg_mu held. */
static struct h_tenant_reg *tenant_entry_locked(const char *tenant, bool add)
{
    for (int i = 0; i < H.n_reg; i++)
        if (strcmp(H.reg[i].tenant, tenant) == 0)
            return &H.reg[i];
    if (!add)
        return NULL;
    H_CHECK(H.n_reg < H_MAX_TENANTS, "more than %d tenants registered", H_MAX_TENANTS);
    struct h_tenant_reg *t = &H.reg[H.n_reg++];
    memset(t, 0, sizeof(*t));
    snprintf(t->tenant, sizeof(t->tenant), "%s", tenant);
    H_CHECK(rfq_acl_tenant_password(t->pw, (const unsigned char *)H.secret, strlen(H.secret),
                                    tenant) == RFQ_OK,
            "derive the Redis password of tenant %s", tenant);
    return t;
}

/* Called when a server (re)starts: registrations made while it was down catch up. */
static void tenants_sync(void)
{
    pthread_mutex_lock(&H.reg_mu);
    for (int i = 0; i < H.n_reg; i++)
        tenant_sync_locked(&H.reg[i]);
    pthread_mutex_unlock(&H.reg_mu);
}

void h_tenant_register(const char *tenant, const char *tier_override)
{
    H_CHECK(tenant && rfq_tenant_valid(tenant), "h_tenant_register: invalid tenant id");
    pthread_mutex_lock(&H.reg_mu);
    struct h_tenant_reg *t = tenant_entry_locked(tenant, true);
    /* Explicit: check both again (a scenario may have deleted the record or the user). */
    t->kv_done = t->acl_done = false;
    snprintf(t->tier, sizeof(t->tier), "%s", tier_override ? tier_override : "");
    tenant_sync_locked(t);
    pthread_mutex_unlock(&H.reg_mu);
}

void h_tenant_put(const struct rfq_tenant_rec *rec)
{
    H_CHECK(H.kv && H.nats_srv && H.nats_srv->pid > 0, "h_tenant_put: nats-server is not running");
    struct rfq_tenant_rec copy = *rec;
    struct rfq_err err = {{0}, {0}};
    rfq_status st = rfq_tenant_put(H.kv, &copy, &err);
    H_CHECK(st == RFQ_OK, "write the record of tenant %s: %s", rec->tenant, err.message);
    pthread_mutex_lock(&H.reg_mu);
    struct h_tenant_reg *t = tenant_entry_locked(rec->tenant, true);
    t->kv_done = true;
    tenant_sync_locked(t);
    pthread_mutex_unlock(&H.reg_mu);
}

/* Tokens register their tenant once: a scenario's calls work without ceremony, and a
 * scenario that deletes the record afterwards keeps it deleted. Invalid ids are left alone
 * (the negative cases). */
static void tenant_auto_register(const char *tenant)
{
    if (!tenant || !rfq_tenant_valid(tenant))
        return;
    pthread_mutex_lock(&H.reg_mu);
    if (!tenant_entry_locked(tenant, false))
        tenant_sync_locked(tenant_entry_locked(tenant, true));
    pthread_mutex_unlock(&H.reg_mu);
}

/* ---- servers --------------------------------------------------------------------------- */

static const char *server_path(const char *env, const char *def)
{
    const char *v = getenv(env);
    return v && *v ? v : def;
}

void h_nats_start(void)
{
    int port = h_free_port();
    char port_s[16], store[300];
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(store, sizeof(store), "%s/nats-store", H.tmpdir);
    mkdir(store, 0700);
    const char *path = server_path("RFQ_IT_NATS_SERVER", RFQ_IT_NATS_SERVER);
    /* The deployment's configuration (users and permissions), passwords in the server's
     * environment, listener and storage from the command line. */
    const char *conf = RFQ_IT_SOURCE_DIR "/deploy/nats/rfq-nats.conf";
    const char *argv[] = {path, "-c",   conf,  "-js", "-a", "127.0.0.1",
                          "-p", port_s, "-sd", store, NULL};
    char pw_env[H_ROLES][80];
    const char *env[H_ROLES + 1];
    for (int i = 0; i < H_ROLES; i++) {
        snprintf(pw_env[i], sizeof(pw_env[i]), "%s=%s", role_env[i], H.nats_pw[i]);
        env[i] = pw_env[i];
        snprintf(H.nats_role_url[i], sizeof(H.nats_role_url[i]), "nats://%s:%s@127.0.0.1:%d",
                 role_names[i], H.nats_pw[i], port);
    }
    env[H_ROLES] = NULL;
    H.nats_srv = proc_new("nats-server", path, argv, build_env(NULL, env), false);
    proc_spawn(H.nats_srv);
    snprintf(H.nats_url, sizeof(H.nats_url), "%s", H.nats_role_url[H_ROLE_ADMIN]);

    /* Ready when a client connects and JetStream answers an account-info request. */
    int64_t t0 = mono_ns();
    natsStatus s = NATS_ERR;
    while (mono_ns() - t0 < (int64_t)15000 * 1000000) {
        h_proc_check_alive(H.nats_srv);
        natsOptions *o = NULL;
        natsOptions_Create(&o);
        natsOptions_SetURL(o, H.nats_url);
        natsOptions_SetName(o, "rfq-integration-test");
        natsOptions_SetMaxReconnect(o, -1);
        natsOptions_SetReconnectWait(o, 100);
        natsOptions_SetSendAsap(o, true);
        s = natsConnection_Connect(&H.nc, o);
        natsOptions_Destroy(o);
        if (s == NATS_OK)
            break;
        h_sleep_ms(50);
    }
    H_CHECK(s == NATS_OK, "nats-server on port %d does not accept clients: %s", port,
            natsStatus_GetText(s));
    H_CHECK(natsConnection_JetStream(&H.js, H.nc, NULL) == NATS_OK, "JetStream context");
    for (;;) {
        jsAccountInfo *ai = NULL;
        s = js_GetAccountInfo(&ai, H.js, NULL, NULL);
        jsAccountInfo_Destroy(ai);
        if (s == NATS_OK)
            break;
        H_CHECK(mono_ns() - t0 < (int64_t)15000 * 1000000, "JetStream not ready: %s",
                natsStatus_GetText(s));
        h_sleep_ms(50);
    }
    /* The tenant registry exists before any requester starts (it watches the bucket). */
    H_CHECK(rfq_tenant_bucket_open(&H.kv, H.js, true) == RFQ_OK, "create the KV bucket %s",
            RFQ_TENANTS_BUCKET);
    h_log("nats-server ready on 127.0.0.1:%d (pid %ld, users of rfq-nats.conf)", port,
          (long)H.nats_srv->pid);
    tenants_sync();
}

void h_nats_stop(void)
{
    int st = h_proc_stop(H.nats_srv);
    h_log("nats-server stopped (status 0x%x)", st);
}

void h_nats_kill9(void)
{
    H_CHECK(H.nats_srv && H.nats_srv->pid > 0, "nats-server is not running");
    h_proc_kill9(H.nats_srv);
}

int h_nats_restart(void)
{
    H_CHECK(H.nats_srv && H.nats_srv->pid <= 0, "nats-server is still running");
    int64_t t0 = mono_ns();
    proc_spawn(H.nats_srv); /* same argv and environment: port, store dir, conf, passwords */
    /* The test's client reconnects by itself (forever, 100 ms apart); JetStream restores its
     * streams from the store dir before the server takes clients. */
    natsStatus s = NATS_ERR, ss = NATS_ERR;
    for (;;) {
        h_proc_check_alive(H.nats_srv);
        if (natsConnection_Status(H.nc) == NATS_CONN_STATUS_CONNECTED) {
            jsOptions jo;
            jsOptions_Init(&jo);
            jo.Wait = 1000;
            jsAccountInfo *ai = NULL;
            s = js_GetAccountInfo(&ai, H.js, &jo, NULL);
            jsAccountInfo_Destroy(ai);
            jsStreamInfo *si = NULL;
            jsErrCode jerr = 0;
            ss = s == NATS_OK ? js_GetStreamInfo(&si, H.js, RFQ_STREAM_QUOTES, &jo, &jerr) : s;
            jsStreamInfo_Destroy(si);
            if (ss == NATS_OK || ss == NATS_NOT_FOUND)
                break;
        }
        H_CHECK(mono_ns() - t0 < (int64_t)20000 * 1000000,
                "nats-server restarted but JetStream not back within 20 s: %s / %s",
                natsStatus_GetText(s), natsStatus_GetText(ss));
        h_sleep_ms(20);
    }
    int ms = (int)((mono_ns() - t0) / 1000000);
    h_log("nats-server restarted (pid %ld), JetStream back after %d ms%s", (long)H.nats_srv->pid,
          ms, ss == NATS_OK ? ", stream " RFQ_STREAM_QUOTES " recovered" : "");
    return ms;
}

const char *h_nats_url(void)
{
    return H.nats_url;
}

const char *h_nats_url_as(const char *role)
{
    H_CHECK(H.nats_url[0], "start nats-server first");
    for (int i = 0; i < H_ROLES; i++)
        if (strcmp(role, role_names[i]) == 0)
            return H.nats_role_url[i];
    h_fail(__FILE__, __LINE__, "no NATS user \"%s\" in rfq-nats.conf", role);
}

natsConnection *h_nc(void)
{
    return H.nc;
}

natsMsg *h_nats_submit_request(const char *authorization, const char *body, size_t len)
{
    natsMsg *m = NULL, *reply = NULL;
    natsStatus s = natsMsg_Create(&m, RFQ_SUBJECT_SUBMIT, NULL, body, (int)len);
    if (s == NATS_OK && authorization)
        s = natsMsgHeader_Set(m, RFQ_HDR_AUTH, authorization);
    if (s == NATS_OK)
        s = natsConnection_RequestMsg(&reply, H.nc, m, 5000);
    natsMsg_Destroy(m);
    H_CHECK(s == NATS_OK, "request on %s: %s", RFQ_SUBJECT_SUBMIT, natsStatus_GetText(s));
    return reply;
}

int h_nats_reply_status(natsMsg *reply)
{
    const char *v = NULL;
    if (natsMsgHeader_Get(reply, RFQ_HDR_STATUS, &v) != NATS_OK || !v)
        return 0;
    return (int)strtol(v, NULL, 10);
}

pid_t h_nats_pid(void)
{
    return H.nats_srv ? H.nats_srv->pid : 0;
}

pid_t h_redis_pid(void)
{
    return H.redis_srv ? H.redis_srv->pid : 0;
}

jsCtx *h_js(void)
{
    return H.js;
}

/* Wait until redis-server answers PING, then keep a connection (admin) for inspection. */
static void redis_wait_ready(void)
{
    int64_t t0 = mono_ns();
    for (;;) {
        h_proc_check_alive(H.redis_srv);
        struct timeval tv = {1, 0};
        redisContext *c = redisConnectWithTimeout("127.0.0.1", H.redis_port, tv);
        if (c && !c->err) {
            redisReply *r = redisCommand(c, "AUTH default %s", H.redis_admin_pw);
            H_CHECK(!r || r->type != REDIS_REPLY_ERROR, "redis AUTH as default: %s", r->str);
            if (r)
                freeReplyObject(r);
            r = redisCommand(c, "PING");
            bool ok = r && r->type == REDIS_REPLY_STATUS && strcmp(r->str, "PONG") == 0;
            if (r)
                freeReplyObject(r);
            if (ok) {
                redisSetTimeout(c, (struct timeval){5, 0});
                H.rc = c;
                return;
            }
        }
        if (c)
            redisFree(c);
        H_CHECK(mono_ns() - t0 < (int64_t)15000 * 1000000,
                "redis-server on port %d does not answer PING", H.redis_port);
        h_sleep_ms(50);
    }
}

/* The rules of the service user: the first line of deploy/redis/service.acl that is not a
 * comment, as the local stack reads it. */
static void service_acl_rules(char *out, size_t cap)
{
    const char *path = RFQ_IT_SOURCE_DIR "/deploy/redis/service.acl";
    FILE *f = fopen(path, "r");
    H_CHECK(f != NULL, "open %s: %s", path, strerror(errno));
    out[0] = '\0';
    char line[2048];
    while (fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\r\n")] = '\0';
        if (line[0] && line[0] != '#') {
            snprintf(out, cap, "%s", line);
            break;
        }
    }
    fclose(f);
    H_CHECK(out[0], "%s holds no rule line", path);
}

/* Redis's aclfile, in the temp dir so ACL SAVE (tenant users) can rewrite it: the default user
 * is the password-protected admin, rfq-svc the engine's service user. */
static void write_aclfile(void)
{
    char rules[2048], text[2400];
    service_acl_rules(rules, sizeof(rules));
    snprintf(H.acl_path, sizeof(H.acl_path), "%s/redis-users.acl", H.tmpdir);
    int n =
        snprintf(text, sizeof(text), "user default on >%s ~* &* +@all\nuser rfq-svc on >%s %s\n",
                 H.redis_admin_pw, H.redis_svc_pw, rules);
    H_CHECK(n > 0 && (size_t)n < sizeof(text), "aclfile too long");
    int fd = open(H.acl_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    H_CHECK(fd >= 0 && write(fd, text, (size_t)n) == n && close(fd) == 0, "write %s", H.acl_path);
}

void h_redis_start(void)
{
    int port = h_free_port();
    char port_s[16], dir[300];
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(dir, sizeof(dir), "%s/redis-data", H.tmpdir);
    mkdir(dir, 0700);
    const char *path = server_path("RFQ_IT_REDIS_SERVER", RFQ_IT_REDIS_SERVER);
    write_aclfile();
    const char *argv[] = {
        path,  "--bind",        "127.0.0.1", "--port",    port_s,     "--appendonly",
        "yes", "--appendfsync", "everysec",  "--dir",     dir,        "--save",
        "",    "--daemonize",   "no",        "--aclfile", H.acl_path, NULL};
    H.redis_srv = proc_new("redis-server", path, argv, build_env(NULL, NULL), false);
    proc_spawn(H.redis_srv);
    H.redis_port = port;
    snprintf(H.redis_url, sizeof(H.redis_url), "redis://default:%s@127.0.0.1:%d", H.redis_admin_pw,
             port);
    snprintf(H.redis_svc_url, sizeof(H.redis_svc_url), "redis://rfq-svc:%s@127.0.0.1:%d",
             H.redis_svc_pw, port);

    redis_wait_ready();
    h_log("redis-server ready on 127.0.0.1:%d (pid %ld, aclfile %s)", port, (long)H.redis_srv->pid,
          H.acl_path);
    tenants_sync();
}

void h_redis_stop(void)
{
    if (H.rc) {
        redisFree(H.rc);
        H.rc = NULL;
    }
    int st = h_proc_stop(H.redis_srv);
    h_log("redis-server stopped (status 0x%x)", st);
}

void h_redis_kill9(void)
{
    H_CHECK(H.redis_srv && H.redis_srv->pid > 0, "redis-server is not running");
    if (H.rc) {
        redisFree(H.rc);
        H.rc = NULL;
    }
    h_proc_kill9(H.redis_srv);
}

void h_redis_restart(void)
{
    H_CHECK(H.redis_srv && H.redis_srv->pid <= 0, "redis-server is still running");
    proc_spawn(H.redis_srv); /* same aclfile: ACL SAVE kept the tenants' users */
    redis_wait_ready();
    h_log("redis-server restarted (pid %ld)", (long)H.redis_srv->pid);
    tenants_sync();
}

const char *h_redis_url(void)
{
    return H.redis_url;
}

const char *h_redis_admin_url(void)
{
    return H.redis_url;
}

const char *h_redis_service_url(void)
{
    return H.redis_svc_url;
}

const char *h_secret_path(void)
{
    return H.secret_path;
}

const char *const *h_passwords_for_leak_check(void)
{
    int n = 0;
    for (int i = 0; i < H_ROLES; i++)
        H.leaks[n++] = H.nats_pw[i];
    H.leaks[n++] = H.redis_admin_pw;
    H.leaks[n++] = H.redis_svc_pw;
    H.leaks[n++] = H.secret;
    pthread_mutex_lock(&H.reg_mu);
    for (int i = 0; i < H.n_reg; i++)
        H.leaks[n++] = H.reg[i].pw;
    pthread_mutex_unlock(&H.reg_mu);
    H.leaks[n] = NULL;
    return H.leaks;
}

redisContext *h_redis(void)
{
    H_CHECK(H.rc != NULL, "redis is not running");
    return H.rc;
}

/* ---- keys and tokens ------------------------------------------------------------------- */

static char *read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    H_CHECK(f != NULL, "open %s: %s", path, strerror(errno));
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *buf = malloc((size_t)n + 1);
    H_CHECK(buf && fread(buf, 1, (size_t)n, f) == (size_t)n, "read %s", path);
    buf[n] = '\0';
    fclose(f);
    *len = (size_t)n;
    return buf;
}

/* New P-256 key pair; private key PEM (PKCS#8) and public key PEM as new strings. */
static void gen_es256(char **priv, size_t *priv_len, char **pub, size_t *pub_len)
{
    EVP_PKEY *pk = EVP_EC_gen("P-256");
    H_CHECK(pk != NULL, "EC key generation failed");
    BIO *b = BIO_new(BIO_s_mem());
    H_CHECK(b && PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL) == 1,
            "PEM_write_bio_PrivateKey");
    char *data = NULL;
    long n = BIO_get_mem_data(b, &data);
    *priv = malloc((size_t)n + 1);
    memcpy(*priv, data, (size_t)n);
    (*priv)[n] = '\0';
    *priv_len = (size_t)n;
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    H_CHECK(b && PEM_write_bio_PUBKEY(b, pk) == 1, "PEM_write_bio_PUBKEY");
    n = BIO_get_mem_data(b, &data);
    *pub = malloc((size_t)n + 1);
    memcpy(*pub, data, (size_t)n);
    (*pub)[n] = '\0';
    *pub_len = (size_t)n;
    BIO_free(b);
    EVP_PKEY_free(pk);
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    H_CHECK(f && fwrite(data, 1, len, f) == len && fclose(f) == 0, "write %s", path);
}

/* The scenario's signing key pair, created on first use. */
static void ensure_keys(void)
{
    if (H.priv_pem)
        return;
    gen_es256(&H.priv_pem, &H.priv_len, &H.pub_pem, &H.pub_len);
    snprintf(H.priv_path, sizeof(H.priv_path), "%s/jwt-private.pem", H.tmpdir);
    snprintf(H.pub_path, sizeof(H.pub_path), "%s/jwt-public.pem", H.tmpdir);
    write_file(H.priv_path, H.priv_pem, H.priv_len);
    write_file(H.pub_path, H.pub_pem, H.pub_len);
    size_t n = 0;
    free(read_file(H.pub_path, &n));
    H_CHECK(n == H.pub_len, "public key file");
}

static char *mint(const char *alg, const char *key, size_t key_len, const char *tenant,
                  const char *tier, const char *iss, const char *aud, int64_t ttl_s)
{
    struct rfq_jwt_claims c = {
        .issuer = iss,
        .audience = aud,
        .tenant = tenant,
        .tier = tier,
        .subject = "integration-test",
        .iat = h_now_ms() / 1000,
        .ttl_s = ttl_s,
    };
    if (ttl_s < 0) {
        /* An expired token: issued an hour ago, expired |ttl_s| seconds ago. */
        c.iat = h_now_ms() / 1000 - 3600;
        c.ttl_s = 3600 + ttl_s;
    }
    char *tok = NULL;
    rfq_status st = rfq_jwt_mint(&tok, alg, (const unsigned char *)key, key_len, &c);
    H_CHECK(st == RFQ_OK && tok, "rfq_jwt_mint(%s, %s): %s", alg, tenant, rfq_status_str(st));
    return tok;
}

char *h_token(const char *tenant, const char *tier, int64_t ttl_s)
{
    ensure_keys();
    tenant_auto_register(tenant);
    return mint("ES256", H.priv_pem, H.priv_len, tenant, tier, H_ISS, H_AUD, ttl_s);
}

char *h_token_claims(const char *tenant, const char *issuer, const char *audience)
{
    ensure_keys();
    tenant_auto_register(tenant);
    return mint("ES256", H.priv_pem, H.priv_len, tenant, "enterprise", issuer, audience, 3600);
}

char *h_token_foreign_key(const char *tenant)
{
    char *priv, *pub;
    size_t priv_len, pub_len;
    tenant_auto_register(tenant);
    gen_es256(&priv, &priv_len, &pub, &pub_len);
    char *tok = mint("ES256", priv, priv_len, tenant, "enterprise", H_ISS, H_AUD, 3600);
    free(priv);
    free(pub);
    return tok;
}

char *h_token_hs256_pubkey(const char *tenant)
{
    ensure_keys();
    tenant_auto_register(tenant);
    return mint("HS256", H.pub_pem, H.pub_len, tenant, "enterprise", H_ISS, H_AUD, 3600);
}

/* ---- engine processes ------------------------------------------------------------------ */

/* kind is also the process's NATS user (requester, aggregator, responder); Redis is the
 * service user; only the requester gets the tenant secret (its per-tenant reads). */
static struct h_proc *engine_start(const char *kind, int *counter, const char *path,
                                   const char *const *extra)
{
    ensure_keys();
    H_CHECK(H.nats_url[0] && H.redis_url[0], "start nats-server and redis-server first");
    char name[64], ready[600], e_nats[H_URL_MAX + 16], e_redis[H_URL_MAX + 16], e_ready[700],
        e_key[400], e_http[64], e_level[64], e_secret[400];
    snprintf(name, sizeof(name), "%s-%d", kind, ++*counter);
    snprintf(ready, sizeof(ready), "%s/%s.ready", H.tmpdir, name);
    int http_port = h_free_port();
    snprintf(e_nats, sizeof(e_nats), "RFQ_NATS_URL=%s", h_nats_url_as(kind));
    snprintf(e_redis, sizeof(e_redis), "RFQ_REDIS_URL=%s", H.redis_svc_url);
    snprintf(e_secret, sizeof(e_secret), "RFQ_TENANT_SECRET_FILE=%s", H.secret_path);
    snprintf(e_ready, sizeof(e_ready), "RFQ_READY_FILE=%s", ready);
    snprintf(e_key, sizeof(e_key), "RFQ_JWT_KEY=%s", H.pub_path);
    snprintf(e_http, sizeof(e_http), "RFQ_HTTP_ADDR=127.0.0.1:%d", http_port);
    const char *lvl = getenv("RFQ_IT_LOG_LEVEL");
    snprintf(e_level, sizeof(e_level), "RFQ_LOG_LEVEL=%s", lvl && *lvl ? lvl : "info");
    const char *defaults[] = {e_nats,
                              e_redis,
                              e_ready,
                              e_key,
                              e_http,
                              e_level,
                              "RFQ_JWT_ALG=ES256",
                              "RFQ_JWT_ISS=" H_ISS,
                              "RFQ_JWT_AUD=" H_AUD,
                              strcmp(kind, "requester") == 0 ? e_secret : NULL,
                              NULL};
    /* RFQ_IT_WRAP_<KIND> (e.g. RFQ_IT_WRAP_AGGREGATOR="/usr/bin/valgrind --tool=callgrind"):
     * run the engine under a tool, for profiling; words split on spaces, the first an
     * absolute path. */
    char wrap_var[64], wrap[512] = "";
    snprintf(wrap_var, sizeof(wrap_var), "RFQ_IT_WRAP_%s", kind);
    for (char *c = wrap_var; *c; c++)
        *c = (char)toupper((unsigned char)*c);
    const char *wrap_env = getenv(wrap_var);
    snprintf(wrap, sizeof(wrap), "%s", wrap_env ? wrap_env : "");
    const char *argv[24];
    int argc = 0;
    for (char *save = NULL, *w = strtok_r(wrap, " ", &save); w && argc < 22;
         w = strtok_r(NULL, " ", &save))
        argv[argc++] = w;
    const char *exe = argc ? argv[0] : path;
    argv[argc++] = path;
    argv[argc] = NULL;
    struct h_proc *p = proc_new(name, exe, argv, build_env(defaults, extra), true);
    snprintf(p->ready_path, sizeof(p->ready_path), "%s", ready);
    /* The scenario may override the HTTP address: read back what the process really got. */
    const char *addr = NULL;
    for (char **e = p->envp; *e; e++)
        if (strncmp(*e, "RFQ_HTTP_ADDR=", 14) == 0)
            addr = *e + 14;
    snprintf(p->http_base, sizeof(p->http_base), "http://%s", addr ? addr : "127.0.0.1:8080");
    proc_spawn(p);
    proc_wait_ready(p);
    return p;
}

struct h_proc *h_requester_start(const char *const *extra_env)
{
    return engine_start("requester", &H.n_requesters,
                        server_path("RFQ_IT_REQUESTER", RFQ_IT_REQUESTER_BIN), extra_env);
}

struct h_proc *h_aggregator_start(const char *const *extra_env)
{
    return engine_start("aggregator", &H.n_aggregators,
                        server_path("RFQ_IT_AGGREGATOR", RFQ_IT_AGGREGATOR_BIN), extra_env);
}

struct h_proc *h_responder_start(const char *const *extra_env)
{
    return engine_start("responder", &H.n_responders,
                        server_path("RFQ_IT_RESPONDER", RFQ_IT_RESPONDER_BIN), extra_env);
}

/* ---- orderly finish -------------------------------------------------------------------- */

void h_finish(void)
{
    h_log("scenario checks passed; stopping processes");
    h_check_all_alive();
    /* Engines first: each must honour SIGTERM with a clean exit. */
    char bad[1024] = "";
    for (int i = H.nprocs - 1; i >= 0; i--) {
        struct h_proc *p = H.procs[i];
        if (!p->is_engine || p->pid <= 0)
            continue;
        int st = h_proc_stop(p);
        if (st != 0) {
            char why[64];
            if (st < 0)
                snprintf(why, sizeof(why), "still running %d ms after SIGTERM", H_STOP_BOUND_MS);
            else
                describe_status(st, why, sizeof(why));
            size_t n = strlen(bad);
            snprintf(bad + n, sizeof(bad) - n, "%s%s: %s", n ? "; " : "", p->name, why);
        }
    }
    H_CHECK(bad[0] == '\0', "engine processes did not exit cleanly and promptly on SIGTERM: %s",
            bad);
    if (H.ev_sub) {
        natsSubscription_Unsubscribe(H.ev_sub);
        natsSubscription_Destroy(H.ev_sub);
        H.ev_sub = NULL;
    }
    kvStore_Destroy(H.kv);
    H.kv = NULL;
    jsCtx_Destroy(H.js);
    H.js = NULL;
    natsConnection_Destroy(H.nc);
    H.nc = NULL;
    if (H.rc) {
        redisFree(H.rc);
        H.rc = NULL;
    }
    atomic_store(&H.cleaned, 1);
    stop_all();
    remove_tmpdir();
    for (int i = 0; i < H.n_dlq; i++)
        h_dlq_entry_free(&H.dlq[i]);
    free(H.dlq);
    json_decref(H.events);
    free(H.priv_pem);
    free(H.pub_pem);
    curl_global_cleanup();
    nats_Close();
    printf("PASS [%s] in %.2f s\n", H.scenario, elapsed_s());
    fflush(stdout);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

size_t h_buf_write(char *data, size_t size, size_t nmemb, void *ud)
{
    struct h_buf *b = ud;
    size_t add = size * nmemb;
    char *np = realloc(b->p, b->n + add + 1);
    if (!np)
        return 0;
    memcpy(np + b->n, data, add);
    b->p = np;
    b->n += add;
    b->p[b->n] = '\0';
    return add;
}

void h_http(struct h_resp *r, const struct h_proc *req, const char *method, const char *path,
            const char *token, const char *content_type, const char *body, size_t body_len)
{
    char *auth = NULL;
    if (token) {
        auth = malloc(strlen(token) + 8);
        H_CHECK(auth != NULL, "out of memory");
        sprintf(auth, "Bearer %s", token);
    }
    h_http_auth(r, req, method, path, auth, content_type, body, body_len);
    free(auth);
}

void h_http_auth(struct h_resp *r, const struct h_proc *req, const char *method, const char *path,
                 const char *authorization, const char *content_type, const char *body,
                 size_t body_len)
{
    memset(r, 0, sizeof(*r));
    CURL *c = curl_easy_init();
    H_CHECK(c != NULL, "curl_easy_init");
    char url[1024], auth[RFQ_JWT_MAX + 2048], ctype[256];
    snprintf(url, sizeof(url), "%s%s", req->http_base, path);
    struct curl_slist *hl = NULL;
    if (authorization) {
        snprintf(auth, sizeof(auth), "Authorization: %s", authorization);
        hl = curl_slist_append(hl, auth);
    }
    if (content_type) {
        snprintf(ctype, sizeof(ctype), "Content-Type: %s", content_type);
        hl = curl_slist_append(hl, ctype);
    } else if (body) {
        hl = curl_slist_append(hl, "Content-Type:"); /* suppress curl's form default */
    }
    hl = curl_slist_append(hl, "Expect:");
    struct h_buf hb = {0}, bb = {0};
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 10000L);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, h_buf_write);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &hb);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, h_buf_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &bb);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0)
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (body) {
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)body_len);
    }
    CURLcode cc = curl_easy_perform(c);
    H_CHECK(cc == CURLE_OK, "%s %s failed: %s", method, url, curl_easy_strerror(cc));
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    curl_slist_free_all(hl);
    curl_easy_cleanup(c);
    r->headers = hb.p ? hb.p : strdup("");
    r->body = bb.p ? bb.p : strdup("");
    r->body_len = bb.n;
    if (r->body_len > 0)
        r->json = json_loadb(r->body, r->body_len, 0, NULL);
}

void h_resp_free(struct h_resp *r)
{
    free(r->headers);
    free(r->body);
    json_decref(r->json);
    memset(r, 0, sizeof(*r));
}

bool h_resp_header(const struct h_resp *r, const char *name, char *out, size_t cap)
{
    bool found = false;
    size_t nl = strlen(name);
    const char *line = r->headers;
    while (line && *line) {
        const char *eol = strstr(line, "\r\n");
        size_t len = eol ? (size_t)(eol - line) : strlen(line);
        if (len > nl && strncasecmp(line, name, nl) == 0 && line[nl] == ':') {
            const char *v = line + nl + 1;
            while (*v == ' ' || *v == '\t')
                v++;
            size_t vl = len - (size_t)(v - line);
            while (vl > 0 && (v[vl - 1] == ' ' || v[vl - 1] == '\t'))
                vl--;
            if (vl >= cap)
                vl = cap - 1;
            memcpy(out, v, vl);
            out[vl] = '\0';
            found = true; /* keep going: the last response block wins */
        }
        line = eol ? eol + 2 : NULL;
    }
    return found;
}

void h_check_error(const struct h_resp *r, long status, const char *code, const char *what)
{
    H_CHECK(r->status == status, "%s: HTTP status %ld, expected %ld (body: %.300s)", what,
            r->status, status, r->body);
    char ct[128];
    H_CHECK(h_resp_header(r, "Content-Type", ct, sizeof(ct)) &&
                strncasecmp(ct, "application/json", 16) == 0,
            "%s: error Content-Type is \"%s\", expected application/json", what,
            h_resp_header(r, "Content-Type", ct, sizeof(ct)) ? ct : "(none)");
    H_CHECK(r->json != NULL, "%s: error body is not JSON: %.300s", what, r->body);
    json_t *err = json_object_get(r->json, "error");
    H_CHECK(json_is_object(err), "%s: body has no \"error\" object: %.300s", what, r->body);
    H_CHECK_STR(h_jstr(err, "code"), code, what);
    const char *msg = h_jstr(err, "message");
    H_CHECK(msg && *msg, "%s: error.message missing or empty: %.300s", what, r->body);
}

char *h_submit_body(const char *region, int max_quotes, int timeout_ms)
{
    json_t *j =
        json_pack("{s:s,s:{s:f,s:f},s:{s:f,s:f},s:i}", "region", region, "pickup", "lat", 52.5200,
                  "lon", 13.4050, "dropoff", "lat", 52.5076, "lon", 13.3904, "passengers", 2);
    if (max_quotes > 0)
        json_object_set_new(j, "max_quotes", json_integer(max_quotes));
    if (timeout_ms > 0)
        json_object_set_new(j, "timeout_ms", json_integer(timeout_ms));
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

const char *h_jstr(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

long long h_jint(const json_t *obj, const char *key, long long def)
{
    json_t *v = json_object_get(obj, key);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

json_t *h_submit(const struct h_proc *req, const char *token, const char *body, char *id_out)
{
    struct h_resp r;
    h_http(&r, req, "POST", "/v1/rfqs", token, "application/json", body, strlen(body));
    H_CHECK(r.status == 202, "POST /v1/rfqs: HTTP %ld, expected 202 (body: %.400s)", r.status,
            r.body);
    H_CHECK(r.json != NULL, "POST /v1/rfqs: body is not JSON: %.300s", r.body);
    const char *id = h_jstr(r.json, "rfq_id");
    H_CHECK(id && rfq_ident_valid(id), "POST /v1/rfqs: bad rfq_id in %.300s", r.body);
    snprintf(id_out, RFQ_ID_MAX + 1, "%s", id);
    json_t *out = json_incref(r.json);
    h_resp_free(&r);
    return out;
}

json_t *h_get_json(const struct h_proc *req, const char *token, const char *path)
{
    struct h_resp r;
    h_http(&r, req, "GET", path, token, NULL, NULL, 0);
    H_CHECK(r.status == 200, "GET %s: HTTP %ld, expected 200 (body: %.400s)", path, r.status,
            r.body);
    H_CHECK(json_is_object(r.json), "GET %s: body is not a JSON object: %.300s", path, r.body);
    json_t *out = json_incref(r.json);
    h_resp_free(&r);
    return out;
}

json_t *h_wait_closed(const struct h_proc *req, const char *token, const char *id, int bound_ms)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    int64_t t0 = mono_ns();
    for (;;) {
        json_t *j = h_get_json(req, token, path);
        const char *st = h_jstr(j, "status");
        if (st && strcmp(st, "open") != 0)
            return j;
        if (mono_ns() - t0 > (int64_t)bound_ms * 1000000) {
            char *dump = json_dumps(j, JSON_COMPACT);
            h_fail(__FILE__, __LINE__, "RFQ %s still open after %d ms: %.500s", id, bound_ms, dump);
        }
        json_decref(j);
        h_check_all_alive();
        h_sleep_ms(50);
    }
}

json_t *h_wait_quote_count(const struct h_proc *req, const char *token, const char *id, int n,
                           int bound_ms)
{
    char path[128];
    snprintf(path, sizeof(path), "/v1/rfqs/%s", id);
    int64_t t0 = mono_ns();
    for (;;) {
        json_t *j = h_get_json(req, token, path);
        if (h_jint(j, "quote_count", -1) >= n)
            return j;
        if (mono_ns() - t0 > (int64_t)bound_ms * 1000000) {
            char *dump = json_dumps(j, JSON_COMPACT);
            h_fail(__FILE__, __LINE__, "RFQ %s has fewer than %d quotes after %d ms: %.500s", id, n,
                   bound_ms, dump);
        }
        json_decref(j);
        h_check_all_alive();
        h_sleep_ms(50);
    }
}

void h_check_ranked(const json_t *ans, const char *rfq_id, int expect_n)
{
    H_CHECK_STR(h_jstr(ans, "rfq_id"), rfq_id, "quotes answer rfq_id");
    json_t *qs = json_object_get(ans, "quotes");
    H_CHECK(json_is_array(qs), "quotes answer has no \"quotes\" array");
    H_CHECK_INT(json_array_size(qs), expect_n, "number of ranked quotes");
    long long pa = -1, pe = -1, parr = -1;
    for (size_t i = 0; i < json_array_size(qs); i++) {
        json_t *q = json_array_get(qs, i);
        H_CHECK_INT(h_jint(q, "rank", -1), (long long)i + 1, "rank field");
        H_CHECK_STR(h_jstr(q, "rfq_id"), rfq_id, "quote rfq_id");
        const char *rid = h_jstr(q, "responder_id");
        H_CHECK(rid && *rid, "quote %zu has no responder_id", i);
        for (size_t k = 0; k < i; k++)
            H_CHECK(strcmp(rid, h_jstr(json_array_get(qs, k), "responder_id")) != 0,
                    "responder %s appears twice in the ranking", rid);
        json_t *price = json_object_get(q, "price");
        long long a = h_jint(price, "amount_minor", -1);
        long long e = h_jint(q, "eta_s", -1);
        long long arr = h_jint(q, "arrival", -1);
        H_CHECK(a >= 0 && e >= 0 && arr >= 0,
                "quote %zu lacks price.amount_minor, eta_s or arrival", i);
        if (i > 0) {
            bool ordered = a > pa || (a == pa && (e > pe || (e == pe && arr > parr)));
            H_CHECK(ordered,
                    "ranking order broken at rank %zu: (%lld, %lld, %lld) after (%lld, %lld, "
                    "%lld) [amount, eta, arrival]",
                    i + 1, a, e, arr, pa, pe, parr);
        }
        pa = a;
        pe = e;
        parr = arr;
    }
}

/* ---- NATS helpers ---------------------------------------------------------------------- */

void h_js_publish(const char *subject, const char *const *hdrs, const void *data, size_t len,
                  uint64_t *seq, bool *duplicate)
{
    natsMsg *m = NULL;
    natsStatus s = natsMsg_Create(&m, subject, NULL, data, (int)len);
    for (int i = 0; s == NATS_OK && hdrs && hdrs[i]; i += 2)
        s = natsMsgHeader_Set(m, hdrs[i], hdrs[i + 1]);
    jsPubAck *pa = NULL;
    jsErrCode jerr = 0;
    if (s == NATS_OK)
        s = js_PublishMsg(&pa, H.js, m, NULL, &jerr);
    natsMsg_Destroy(m);
    H_CHECK(s == NATS_OK, "JetStream publish to %s: %s (js error %d; is stream %s there?)", subject,
            natsStatus_GetText(s), (int)jerr, RFQ_STREAM_QUOTES);
    if (seq)
        *seq = pa->Sequence;
    if (duplicate)
        *duplicate = pa->Duplicate;
    jsPubAck_Destroy(pa);
}

char *h_quote_body(const char *rfq_id, const char *responder, long long amount, int eta_s,
                   const char *currency)
{
    json_t *j = json_pack("{s:s,s:s,s:{s:I,s:s},s:i,s:[]}", "rfq_id", rfq_id, "responder_id",
                          responder, "price", "amount_minor", (json_int_t)amount, "currency",
                          currency, "eta_s", eta_s, "perks");
    char *s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

void h_publish_quote(const char *tenant, const char *rfq_id, const char *responder,
                     long long amount, int eta_s, const char *msg_id)
{
    char subject[RFQ_KEY_MAX], mid[200];
    H_CHECK(rfq_subject_quote(subject, sizeof(subject), tenant, rfq_id) == RFQ_OK, "quote subject");
    snprintf(mid, sizeof(mid), "%s.%s", rfq_id, responder);
    char *body = h_quote_body(rfq_id, responder, amount, eta_s, "USD");
    const char *hdrs[] = {
        RFQ_HDR_ID, rfq_id,        RFQ_HDR_TENANT,        tenant, RFQ_HDR_RESPONDER,
        responder,  "Nats-Msg-Id", msg_id ? msg_id : mid, NULL};
    h_js_publish(subject, hdrs, body, strlen(body), NULL, NULL);
    free(body);
}

bool h_quotes_drained(int bound_ms, uint64_t *pending, int64_t *ack_pending)
{
    int64_t t0 = mono_ns();
    for (;;) {
        jsConsumerInfo *ci = NULL;
        jsErrCode jerr = 0;
        natsStatus s =
            js_GetConsumerInfo(&ci, H.js, RFQ_STREAM_QUOTES, RFQ_CONSUMER_AGG, NULL, &jerr);
        H_CHECK(s == NATS_OK, "consumer %s on %s: %s (js error %d)", RFQ_CONSUMER_AGG,
                RFQ_STREAM_QUOTES, natsStatus_GetText(s), (int)jerr);
        uint64_t np = ci->NumPending;
        int64_t na = ci->NumAckPending;
        jsConsumerInfo_Destroy(ci);
        if (pending)
            *pending = np;
        if (ack_pending)
            *ack_pending = na;
        if (np == 0 && na == 0)
            return true;
        if (mono_ns() - t0 > (int64_t)bound_ms * 1000000)
            return false;
        h_sleep_ms(50);
    }
}

/* Subscriber callback: keep every event, checking its subject names its tenant and RFQ. */
static void on_event(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    (void)closure;
    json_t *j = json_loadb(natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), 0, NULL);
    pthread_mutex_lock(&H.ev_mu);
    if (!json_is_object(j)) {
        if (!H.ev_bad[0])
            snprintf(H.ev_bad, sizeof(H.ev_bad), "non-JSON event on %s: %.120s",
                     natsMsg_GetSubject(msg), natsMsg_GetData(msg));
    } else {
        char want[RFQ_KEY_MAX];
        const char *t = h_jstr(j, "tenant"), *id = h_jstr(j, "rfq_id");
        if (!t || !id || rfq_subject_event(want, sizeof(want), t, id) != RFQ_OK ||
            strcmp(want, natsMsg_GetSubject(msg)) != 0) {
            if (!H.ev_bad[0])
                snprintf(H.ev_bad, sizeof(H.ev_bad), "event on %s names tenant %s rfq %s",
                         natsMsg_GetSubject(msg), t ? t : "(none)", id ? id : "(none)");
        }
        json_array_append(H.events, j);
    }
    pthread_mutex_unlock(&H.ev_mu);
    json_decref(j);
    natsMsg_Destroy(msg);
}

void h_events_start(void)
{
    natsStatus s =
        natsConnection_Subscribe(&H.ev_sub, H.nc, RFQ_SUBJECT_EVENTS_ALL, on_event, NULL);
    if (s == NATS_OK)
        s = natsSubscription_SetPendingLimits(H.ev_sub, -1, -1);
    if (s == NATS_OK)
        s = natsConnection_Flush(H.nc);
    H_CHECK(s == NATS_OK, "subscribe %s: %s", RFQ_SUBJECT_EVENTS_ALL, natsStatus_GetText(s));
}

static int events_count_locked(const char *rfq_id, const char *type)
{
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(H.events, i, e)
    {
        const char *id = h_jstr(e, "rfq_id"), *t = h_jstr(e, "type");
        if (id && t && strcmp(id, rfq_id) == 0 && strcmp(t, type) == 0)
            n++;
    }
    return n;
}

static void events_check_bad(void)
{
    char bad[256];
    pthread_mutex_lock(&H.ev_mu);
    snprintf(bad, sizeof(bad), "%s", H.ev_bad);
    pthread_mutex_unlock(&H.ev_mu);
    H_CHECK(bad[0] == '\0', "malformed event: %s", bad);
}

int h_events_count(const char *rfq_id, const char *type)
{
    events_check_bad();
    pthread_mutex_lock(&H.ev_mu);
    int n = events_count_locked(rfq_id, type);
    pthread_mutex_unlock(&H.ev_mu);
    return n;
}

bool h_events_wait(const char *rfq_id, const char *type, int n, int bound_ms)
{
    int64_t t0 = mono_ns();
    while (h_events_count(rfq_id, type) < n) {
        if (mono_ns() - t0 > (int64_t)bound_ms * 1000000)
            return false;
        h_sleep_ms(20);
    }
    return true;
}

json_t *h_events_get(const char *rfq_id, const char *type, int idx)
{
    json_t *found = NULL;
    int n = 0;
    size_t i;
    json_t *e;
    pthread_mutex_lock(&H.ev_mu);
    json_array_foreach(H.events, i, e)
    {
        const char *id = h_jstr(e, "rfq_id"), *t = h_jstr(e, "type");
        if (id && t && strcmp(id, rfq_id) == 0 && strcmp(t, type) == 0 && n++ == idx) {
            found = e;
            break;
        }
    }
    pthread_mutex_unlock(&H.ev_mu);
    return found;
}

/* ---- DLQ ------------------------------------------------------------------------------- */

static void hdr_copy(natsMsg *m, const char *key, char *out, size_t cap)
{
    const char *v = NULL;
    out[0] = '\0';
    if (natsMsgHeader_Get(m, key, &v) == NATS_OK && v)
        snprintf(out, cap, "%s", v);
}

/* Read DLQ messages we have not seen yet into the cache. */
static void dlq_refresh(void)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, H.js, RFQ_STREAM_DLQ, NULL, &jerr);
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr) {
        jsStreamInfo_Destroy(si);
        return; /* no DLQ stream (yet) */
    }
    H_CHECK(s == NATS_OK, "stream info %s: %s (js error %d)", RFQ_STREAM_DLQ, natsStatus_GetText(s),
            (int)jerr);
    uint64_t last = si->State.LastSeq;
    if (H.dlq_next_seq < si->State.FirstSeq)
        H.dlq_next_seq = si->State.FirstSeq;
    jsStreamInfo_Destroy(si);
    for (; H.dlq_next_seq <= last; H.dlq_next_seq++) {
        natsMsg *m = NULL;
        s = js_GetMsg(&m, H.js, RFQ_STREAM_DLQ, H.dlq_next_seq, NULL, &jerr);
        if (s != NATS_OK)
            continue; /* deleted message */
        if (H.n_dlq == H.cap_dlq) {
            H.cap_dlq = H.cap_dlq ? H.cap_dlq * 2 : 16;
            H.dlq = realloc(H.dlq, (size_t)H.cap_dlq * sizeof(*H.dlq));
            H_CHECK(H.dlq != NULL, "out of memory");
        }
        struct h_dlq_entry *e = &H.dlq[H.n_dlq++];
        memset(e, 0, sizeof(*e));
        e->seq = H.dlq_next_seq;
        snprintf(e->subject, sizeof(e->subject), "%s", natsMsg_GetSubject(m));
        hdr_copy(m, RFQ_HDR_DLQ_REASON, e->reason, sizeof(e->reason));
        hdr_copy(m, RFQ_HDR_DLQ_DETAIL, e->detail, sizeof(e->detail));
        hdr_copy(m, RFQ_HDR_DLQ_SUBJECT, e->orig, sizeof(e->orig));
        hdr_copy(m, RFQ_HDR_TENANT, e->tenant, sizeof(e->tenant));
        hdr_copy(m, RFQ_HDR_ID, e->rfq_id, sizeof(e->rfq_id));
        e->len = (size_t)natsMsg_GetDataLength(m);
        e->data = malloc(e->len + 1);
        memcpy(e->data, natsMsg_GetData(m), e->len);
        e->data[e->len] = '\0';
        natsMsg_Destroy(m);
    }
}

uint64_t h_stream_msgs(const char *stream)
{
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    natsStatus s = js_GetStreamInfo(&si, h_js(), stream, NULL, &jerr);
    H_CHECK(s == NATS_OK, "stream info %s: %s (js error %d)", stream, natsStatus_GetText(s),
            (int)jerr);
    uint64_t n = si->State.Msgs;
    jsStreamInfo_Destroy(si);
    return n;
}

bool h_dlq_wait(const char *orig_subject, const void *data, size_t len, int bound_ms,
                struct h_dlq_entry *out)
{
    int64_t t0 = mono_ns();
    for (;;) {
        dlq_refresh();
        for (int i = 0; i < H.n_dlq; i++) {
            struct h_dlq_entry *e = &H.dlq[i];
            if (strcmp(e->orig, orig_subject) == 0 && e->len == len &&
                memcmp(e->data, data, len) == 0) {
                *out = *e;
                out->data = malloc(e->len + 1);
                memcpy(out->data, e->data, e->len + 1);
                return true;
            }
        }
        if (mono_ns() - t0 > (int64_t)bound_ms * 1000000)
            return false;
        h_sleep_ms(50);
    }
}

int h_dlq_count_subject(const char *orig_subject, const char *reason)
{
    dlq_refresh();
    int n = 0;
    for (int i = 0; i < H.n_dlq; i++)
        if (strcmp(H.dlq[i].orig, orig_subject) == 0 &&
            (!reason || strcmp(H.dlq[i].reason, reason) == 0))
            n++;
    return n;
}

void h_dlq_entry_free(struct h_dlq_entry *e)
{
    free(e->data);
    e->data = NULL;
}

/* ---- Redis ----------------------------------------------------------------------------- */

bool h_redis_hget(const char *key, const char *field, char *out, size_t cap)
{
    redisReply *r = redisCommand(h_redis(), "HGET %s %s", key, field);
    H_CHECK(r != NULL, "redis HGET %s %s: %s", key, field, h_redis()->errstr);
    bool ok = r->type == REDIS_REPLY_STRING;
    if (ok)
        snprintf(out, cap, "%s", r->str);
    freeReplyObject(r);
    return ok;
}

long long h_redis_hget_int(const char *key, const char *field, long long def)
{
    char v[64];
    if (!h_redis_hget(key, field, v, sizeof(v)))
        return def;
    return strtoll(v, NULL, 10);
}

long long h_redis_int_cmd(const char *cmd, const char *key)
{
    redisReply *r = redisCommand(h_redis(), "%s %s", cmd, key);
    H_CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER, "redis %s %s: unexpected reply", cmd, key);
    long long v = r->integer;
    freeReplyObject(r);
    return v;
}

long long h_redis_zscore(const char *key, const char *member)
{
    redisReply *r = redisCommand(h_redis(), "ZSCORE %s %s", key, member);
    H_CHECK(r != NULL, "redis ZSCORE: %s", h_redis()->errstr);
    long long v = r->type == REDIS_REPLY_STRING ? strtoll(r->str, NULL, 10) : -1;
    freeReplyObject(r);
    return v;
}

/* ---- rfqctl ---------------------------------------------------------------------------- */

void h_read_file(const char *path, char *buf, size_t cap)
{
    buf[0] = '\0';
    FILE *f = fopen(path, "r");
    if (!f)
        return;
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fclose(f);
}

#ifdef RFQ_IT_RFQCTL_BIN
void h_rfqctl(struct h_ctl_run *o, const char *const *env, const char *const *args)
{
    char out_path[600], err_path[600];
    snprintf(out_path, sizeof(out_path), "%s/rfqctl.out", h_tmpdir());
    snprintf(err_path, sizeof(err_path), "%s/rfqctl.err", h_tmpdir());
    const char *argv[24] = {RFQ_IT_RFQCTL_BIN};
    int n = 1;
    for (; args[n - 1] && n < 23; n++)
        argv[n] = args[n - 1];
    argv[n] = NULL;
    pid_t pid = fork();
    H_CHECK(pid >= 0, "fork rfqctl");
    if (pid == 0) {
        int fo = open(out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int fe = open(err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (fo < 0 || fe < 0)
            _exit(127);
        dup2(fo, 1);
        dup2(fe, 2);
        setenv("RFQ_NATS_URL", h_nats_url(), 1);
        unsetenv("RFQ_REDIS_ADMIN_URL");
        unsetenv("RFQ_TENANT_SECRET_FILE");
        for (int i = 0; env && env[i]; i++)
            putenv((char *)env[i]);
        execv(argv[0], (char *const *)argv);
        _exit(127);
    }
    int status = 0;
    int64_t t0 = h_now_ms();
    while (waitpid(pid, &status, WNOHANG) == 0) {
        if (h_now_ms() - t0 > 20000) {
            kill(pid, SIGKILL);
            waitpid(pid, &status, 0);
            h_fail(__FILE__, __LINE__, "rfqctl %s %s did not finish in 20 s", args[0],
                   args[0] && args[1] ? args[1] : "");
        }
        h_sleep_ms(5);
    }
    o->rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    h_read_file(out_path, o->out, sizeof(o->out));
    h_read_file(err_path, o->err, sizeof(o->err));
}
#endif

void h_check_no_secret(const char *out, const char *err, const char *what)
{
    for (const char *const *p = h_passwords_for_leak_check(); *p; p++)
        H_CHECK(!**p || (!strstr(out, *p) && !strstr(err, *p)), "%s: printed a password or secret",
                what);
}
