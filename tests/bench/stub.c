/* libnss_stub.so.2, the floors of tests/bench/nss.sh:
 * - getpwnam_r answers NOTFOUND at once: the floor of a glibc NSS lookup;
 * - enumeration hands out STUB_USERS (default 1,000,000) entries shaped like make_snapshot's,
 *   formatted with one snprintf each and nothing looked up: the floor of `getent passwd`
 *   (glibc's getpwent plumbing plus getent's own printing). */
#include <errno.h>
#include <nss.h>
#include <pwd.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum nss_status _nss_stub_getpwnam_r(const char *n, struct passwd *p, char *b, size_t l, int *e) {
    (void)n; (void)p; (void)b; (void)l;
    *e = ENOENT;
    return NSS_STATUS_NOTFOUND;
}

static long next_user, user_count;

enum nss_status _nss_stub_setpwent(int stayopen) {
    (void)stayopen;
    const char *n = getenv("STUB_USERS");
    next_user = 0;
    user_count = n ? atol(n) : 1000000;
    return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_stub_endpwent(void) { return NSS_STATUS_SUCCESS; }

enum nss_status _nss_stub_getpwent_r(struct passwd *p, char *b, size_t l, int *e) {
    if (next_user >= user_count) {
        *e = ENOENT;
        return NSS_STATUS_NOTFOUND;
    }
    static const char home[] = "/var/lib/gatehouse/home", shell[] = "/usr/sbin/gatehouse-sftp";
    int name = snprintf(b, l, "u%ld", next_user);
    int gecos = name < 0 ? -1 : snprintf(b + name + 1, l - (size_t)name - 1, "User number %ld", next_user);
    if (name < 0 || gecos < 0 || (size_t)(name + gecos + 2) > l) {
        *e = ERANGE;
        return NSS_STATUS_TRYAGAIN;
    }
    p->pw_name = b;
    p->pw_passwd = (char *)"*";
    p->pw_uid = p->pw_gid = (uid_t)(1900001000 + next_user);
    p->pw_gecos = b + name + 1;
    p->pw_dir = (char *)home;
    p->pw_shell = (char *)shell;
    next_user++;
    return NSS_STATUS_SUCCESS;
}
