/* Unit tests of rfq_crash: a child process that dies on a fatal signal writes the fatal log
 * line and its backtrace to stderr, and still dies of that signal (so a core dump and the
 * parent's wait status stay true). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rfq_crash.h"

/* Run a child that installs the handlers and raises sig; *out gets its stderr. Returns the
 * child's wait status. */
static int crash_child(int sig, char *out, size_t cap)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        rfq_crash_report_install("unit-test");
        if (sig == SIGABRT)
            abort();
        raise(sig);
        _exit(0); /* not reached */
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fds[0], out + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    out[len] = '\0';
    close(fds[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    return st;
}

static void check_crash(int sig, const char *line)
{
    if (!rfq_crash_report_available())
        skip(); /* the sanitizer owns fatal signals in this build */
    char out[16384];
    int st = crash_child(sig, out, sizeof(out));
    assert_true(WIFSIGNALED(st));
    assert_int_equal(WTERMSIG(st), sig);
    assert_non_null(strstr(out, "\"level\":\"fatal\",\"component\":\"unit-test\""));
    assert_non_null(strstr(out, line));
    /* At least one frame after the log line. */
    const char *nl = strchr(out, '\n');
    assert_non_null(nl);
    assert_true(strlen(nl + 1) > 0);
}

static void test_segv_reported(void **state)
{
    (void)state;
    check_crash(SIGSEGV, "fatal signal 11 (SIGSEGV); backtrace follows");
}

static void test_abort_reported(void **state)
{
    (void)state;
    check_crash(SIGABRT, "fatal signal 6 (SIGABRT); backtrace follows");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_segv_reported),
        cmocka_unit_test(test_abort_reported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
