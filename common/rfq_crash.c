/* rfq_crash: a process that dies on a fatal signal says so in its log, with a backtrace, before
 * the default action (a core dump where enabled) runs. A silent death under load leaves
 * nothing to go on; the frames name shared-library functions and give offsets into our own
 * binaries (`addr2line -e <binary> <offset>` turns those into file:line). */
#include "rfq_crash.h"

#include <errno.h>
#include <execinfo.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* AddressSanitizer reports these signals itself, with better frames: leave them to it. */
#if defined(__SANITIZE_ADDRESS__)
#define RFQ_CRASH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RFQ_CRASH_ASAN 1
#endif
#endif

#define CRASH_FRAMES 64

static const int fatal_signals[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT};
static char crash_component[32] = "process";

/* Only async-signal-safe calls from here on: write(2), backtrace (preloaded), raise. */
static void write_str(const char *s)
{
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, s, len);
        if (n <= 0 && errno != EINTR)
            return;
        if (n > 0) {
            s += n;
            len -= (size_t)n;
        }
    }
}

static const char *signal_name(int sig)
{
    switch (sig) {
    case SIGSEGV:
        return "SIGSEGV";
    case SIGBUS:
        return "SIGBUS";
    case SIGILL:
        return "SIGILL";
    case SIGFPE:
        return "SIGFPE";
    case SIGABRT:
        return "SIGABRT";
    default:
        return "?";
    }
}

static void on_fatal_signal(int sig)
{
    int saved = errno;
    char num[8];
    int i = sizeof(num) - 1;
    num[i] = '\0';
    int v = sig;
    do {
        num[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0 && i > 0);
    write_str("{\"level\":\"fatal\",\"component\":\"");
    write_str(crash_component);
    write_str("\",\"msg\":\"fatal signal ");
    write_str(&num[i]);
    write_str(" (");
    write_str(signal_name(sig));
    write_str("); backtrace follows\"}\n");
    void *frames[CRASH_FRAMES];
    int n = backtrace(frames, CRASH_FRAMES);
    backtrace_symbols_fd(frames, n, STDERR_FILENO);
    errno = saved;
    /* SA_RESETHAND put the default action back: this ends the process as the signal would
     * have (with a core dump where enabled). */
    raise(sig);
}

bool rfq_crash_report_available(void)
{
#ifndef RFQ_CRASH_ASAN
    return true;
#else
    return false;
#endif
}

void rfq_crash_report_install(const char *component)
{
#ifndef RFQ_CRASH_ASAN
    snprintf(crash_component, sizeof(crash_component), "%s", component ? component : "process");
    /* backtrace() loads libgcc on its first call, which allocates: do it now, not in the
     * handler. */
    void *warm[2];
    (void)backtrace(warm, 2);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_fatal_signal;
    sa.sa_flags = (int)SA_RESETHAND;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < sizeof(fatal_signals) / sizeof(fatal_signals[0]); i++)
        sigaction(fatal_signals[i], &sa, NULL);
#else
    (void)component;
    (void)fatal_signals;
    (void)on_fatal_signal;
#endif
}
