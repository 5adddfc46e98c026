/* rfq_crash: a log line and a backtrace on stderr when the process dies on SIGSEGV, SIGBUS,
 * SIGILL, SIGFPE or SIGABRT; then the signal's default action (core dump) runs. */
#ifndef RFQ_CRASH_H
#define RFQ_CRASH_H

#include <stdbool.h>

/* False in AddressSanitizer builds, where the sanitizer reports fatal signals instead. */
bool rfq_crash_report_available(void);

/* Install the handlers; component names the process in the log line. Not in ASan builds. */
void rfq_crash_report_install(const char *component);

#endif
