/* NSS lookup benchmark for tests/bench/nss.sh (compiled at bench time; not part of CI).
 *   nssbench direct N LIBNSS_GATEHOUSE   the modules' own functions, called directly:
 *                                        _nss_gatehouse_getpw{nam,uid}_r (dlopen of the .so) and
 *                                        glibc's _nss_files_getpw{nam,uid}_r (dlsym in libc.so.6;
 *                                        it reads /etc/passwd, bind-mounted by the script)
 *   nssbench glibc N SERVICE             getpwnam_r through glibc, passwd: SERVICE
 *                                        (__nss_configure_lookup)
 *   nssbench groups USER SERVICE         getgrouplist through glibc, passwd/group: SERVICE
 *   nssbench count N LIBNSS_GATEHOUSE OP CALLS
 *                                        exactly CALLS calls of the module's OP (nam-hit, nam-miss,
 *                                        uid-hit, uid-miss), printing nothing: for instruction
 *                                        counts under callgrind (tests/bench/nss_instructions.sh)
 * Users are u0..u(N-1) with uids 1900001000+i (make_snapshot and the script's passwd file). */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <errno.h>

typedef enum nss_status (*nam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef enum nss_status (*uid_fn)(uid_t, struct passwd *, char *, size_t, int *);
extern int __nss_configure_lookup(const char *db, const char *service);

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + t.tv_nsec / 1e9;
}

#define KEYS 4096
static char names[KEYS][32];
static uid_t uids[KEYS];
static char buf[4096];

static unsigned long long rng = 88172645463325252ULL;
static unsigned long long next(void) { rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17; return rng; }

/* Keys spread over the whole table (random), so a large table is measured cache-cold-ish. */
static void keys(long n, int hit) {
    for (int k = 0; k < KEYS; k++) {
        long i = (long)(next() % (unsigned long long)n);
        if (hit) {
            snprintf(names[k], sizeof names[k], "u%ld", i);
            uids[k] = 1900001000u + (uid_t)i;
        } else {
            snprintf(names[k], sizeof names[k], "nx%ld", i);
            uids[k] = 1800000000u + (uid_t)i;
        }
    }
}

/* Runs calls until `budget` seconds pass (at least 3 calls); returns ns per call. */
static double run_nam(nam_fn f, double budget, int want) {
    struct passwd pw; int err; long calls = 0; double t0 = now(), t;
    do {
        for (int k = 0; k < 64; k++, calls++) {
            int s = f(names[(calls) % KEYS], &pw, buf, sizeof buf, &err);
            if ((s == NSS_STATUS_SUCCESS) != want) { fprintf(stderr, "unexpected status %d for %s\n", s, names[calls % KEYS]); exit(1); }
            if (calls >= 3 && now() - t0 > budget) goto done;
        }
    } while ((t = now()) - t0 < budget);
done:
    return (now() - t0) / (double)calls * 1e9;
}

static double run_uid(uid_fn f, double budget, int want) {
    struct passwd pw; int err; long calls = 0; double t0 = now(), t;
    do {
        for (int k = 0; k < 64; k++, calls++) {
            int s = f(uids[calls % KEYS], &pw, buf, sizeof buf, &err);
            if ((s == NSS_STATUS_SUCCESS) != want) { fprintf(stderr, "unexpected status %d for %u\n", s, uids[calls % KEYS]); exit(1); }
            if (calls >= 3 && now() - t0 > budget) goto done;
        }
    } while ((t = now()) - t0 < budget);
done:
    return (now() - t0) / (double)calls * 1e9;
}

static enum nss_status glibc_nam(const char *name, struct passwd *pw, char *b, size_t l, int *e) {
    struct passwd *r = NULL;
    *e = getpwnam_r(name, pw, b, l, &r);
    return r ? NSS_STATUS_SUCCESS : NSS_STATUS_NOTFOUND;
}

static void fmt(char *out, double ns) {
    if (ns < 10000) sprintf(out, "%8.0f ns", ns);
    else if (ns < 1e7) sprintf(out, "%8.1f us", ns / 1e3);
    else sprintf(out, "%8.1f ms", ns / 1e6);
}

int main(int argc, char **argv) {
    if (argc < 4) { fprintf(stderr, "usage: see the comment at the top\n"); return 2; }
    char a[32], b[32];
    if (!strcmp(argv[1], "direct")) {
        long n = atol(argv[2]);
        void *gh = dlopen(argv[3], RTLD_NOW);
        void *libc = dlopen("libc.so.6", RTLD_NOW);
        if (!gh || !libc) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
        nam_fn gnam = (nam_fn)dlsym(gh, "_nss_gatehouse_getpwnam_r");
        uid_fn guid = (uid_fn)dlsym(gh, "_nss_gatehouse_getpwuid_r");
        nam_fn fnam = (nam_fn)dlsym(libc, "_nss_files_getpwnam_r");
        uid_fn fuid = (uid_fn)dlsym(libc, "_nss_files_getpwuid_r");
        if (!gnam || !guid || !fnam || !fuid) { fprintf(stderr, "dlsym failed\n"); return 1; }
        const char *what[4] = {"getpwnam_r hit ", "getpwnam_r miss", "getpwuid_r hit ", "getpwuid_r miss"};
        for (int m = 0; m < 4; m++) {
            int hit = !(m & 1);
            keys(n, hit);
            double g = m < 2 ? run_nam(gnam, 0.5, hit) : run_uid(guid, 0.5, hit);
            double f = m < 2 ? run_nam(fnam, 0.5, hit) : run_uid(fuid, 0.5, hit);
            fmt(a, g); fmt(b, f);
            printf("  %8ld users  %s  gatehouse %s   files %s\n", n, what[m], a, b);
        }
    } else if (!strcmp(argv[1], "count")) {
        if (argc < 6) { fprintf(stderr, "usage: nssbench count N LIB OP CALLS\n"); return 2; }
        long n = atol(argv[2]), calls = atol(argv[5]);
        void *gh = dlopen(argv[3], RTLD_NOW);
        if (!gh) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 1; }
        nam_fn gnam = (nam_fn)dlsym(gh, "_nss_gatehouse_getpwnam_r");
        uid_fn guid = (uid_fn)dlsym(gh, "_nss_gatehouse_getpwuid_r");
        if (!gnam || !guid) { fprintf(stderr, "dlsym failed\n"); return 1; }
        const char *op = argv[4];
        int hit = strstr(op, "hit") != NULL, by_name = !strncmp(op, "nam", 3);
        keys(n, hit);
        struct passwd pw; int err; long found = 0;
        for (long c = 0; c < calls; c++) {
            enum nss_status st = by_name ? gnam(names[c % KEYS], &pw, buf, sizeof buf, &err)
                                         : guid(uids[c % KEYS], &pw, buf, sizeof buf, &err);
            found += st == NSS_STATUS_SUCCESS;
        }
        if (found != (hit ? calls : 0)) { fprintf(stderr, "%s: %ld of %ld found\n", op, found, calls); return 1; }
    } else if (!strcmp(argv[1], "glibc")) {
        long n = atol(argv[2]);
        __nss_configure_lookup("passwd", argv[3]);
        for (int hit = 1; hit >= 0; hit--) {
            keys(n, hit);
            double g = run_nam(glibc_nam, 0.5, hit && strcmp(argv[3], "stub"));
            fmt(a, g);
            printf("%s", a);
            if (hit) printf(" ");
        }
        printf("\n");
    } else if (!strcmp(argv[1], "groups")) {
        __nss_configure_lookup("passwd", argv[3]);
        __nss_configure_lookup("group", argv[3]);
        static gid_t gl[20000];
        int ng = 20000, calls = 0;
        double t0 = now();
        while (calls < 3 || now() - t0 < 0.5) {
            ng = 20000;
            if (getgrouplist(argv[2], 1900001000, gl, &ng) < 0) { fprintf(stderr, "getgrouplist failed\n"); return 1; }
            calls++;
        }
        fmt(a, (now() - t0) / calls * 1e9);
        printf("%s (%d groups)\n", a, ng);
    }
    return 0;
}
