/* libnss_stub.so.2: answers NOTFOUND at once; the floor of a glibc NSS lookup (tests/bench/nss.sh). */
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>
enum nss_status _nss_stub_getpwnam_r(const char *n, struct passwd *p, char *b, size_t l, int *e) {
    (void)n; (void)p; (void)b; (void)l;
    *e = ENOENT;
    return NSS_STATUS_NOTFOUND;
}
