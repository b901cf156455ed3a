/* Test driver for libnss_gatehouse.so.2, compiled by tests/nss.rs and run inside a private
 * mount namespace (tmpfs on /var/lib/gatehouse). Modes:
 *   probe lookup ARGS...      glibc lookups through __nss_configure_lookup, one line per answer
 *   probe direct SO           calls the module's functions directly (status and errno codes)
 *   probe replace N FILES...  replaces the snapshot N times (temp, fsync, rename, mark the old)
 *   probe stress NUSERS NGROUPS  16 threads + forked children check every record until
 *                             /var/lib/gatehouse/done exists; checks the fd count
 * Snapshots for stress encode their generation g in every record (see tests/nss.rs). */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <nss.h>
#include <pthread.h>
#include <pwd.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern int __nss_configure_lookup(const char *db, const char *service);

#define DB "/var/lib/gatehouse/nss.db"
#define UID_BASE 1900100000u
#define GID_BASE 1900050000u

static void configure(void) {
    if (__nss_configure_lookup("passwd", "gatehouse") || __nss_configure_lookup("group", "gatehouse")) {
        fprintf(stderr, "__nss_configure_lookup failed\n");
        exit(2);
    }
}

static void print_pw(struct passwd *p) {
    printf("pw %s:%s:%u:%u:%s:%s:%s\n", p->pw_name, p->pw_passwd, p->pw_uid, p->pw_gid, p->pw_gecos, p->pw_dir,
           p->pw_shell);
}

static void print_gr(struct group *g) {
    printf("gr %s:%s:%u:", g->gr_name, g->gr_passwd, g->gr_gid);
    for (char **m = g->gr_mem; *m; m++) printf("%s%s", m == g->gr_mem ? "" : ",", *m);
    printf("\n");
}

static int mode_lookup(int argc, char **argv) {
    configure();
    for (int i = 0; i + 1 < argc; i += 2) {
        const char *op = argv[i], *arg = argv[i + 1];
        if (!strcmp(op, "pwnam") || !strcmp(op, "pwuid")) {
            struct passwd *p = !strcmp(op, "pwnam") ? getpwnam(arg) : getpwuid((uid_t)strtoul(arg, 0, 10));
            if (p) print_pw(p); else printf("pw none\n");
        } else if (!strcmp(op, "grnam") || !strcmp(op, "grgid")) {
            struct group *g = !strcmp(op, "grnam") ? getgrnam(arg) : getgrgid((gid_t)strtoul(arg, 0, 10));
            if (g) print_gr(g); else printf("gr none\n");
        } else if (!strcmp(op, "pwent")) {
            struct passwd *p;
            setpwent();
            while ((p = getpwent())) print_pw(p);
            endpwent();
        } else if (!strcmp(op, "grent")) {
            struct group *g;
            setgrent();
            while ((g = getgrent())) print_gr(g);
            endgrent();
        } else if (!strcmp(op, "groups")) {
            struct passwd *p = getpwnam(arg);
            gid_t gs[64];
            int n = 64;
            if (!p || getgrouplist(arg, p->pw_gid, gs, &n) < 0) { printf("groups none\n"); continue; }
            printf("groups");
            for (int k = 0; k < n; k++) printf(" %u", gs[k]);
            printf("\n");
        } else if (!strcmp(op, "sleep")) {
            usleep((useconds_t)atoi(arg) * 1000u);
        } else if (!strcmp(op, "wait")) {
            for (int k = 0; k < 3000 && access(arg, F_OK); k++) usleep(10000);
        } else if (!strcmp(op, "touch")) {
            close(open(arg, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
        } else {
            fprintf(stderr, "unknown op %s\n", op);
            return 2;
        }
    }
    return 0;
}

typedef int (*pwnam_fn)(const char *, struct passwd *, char *, size_t, int *);
typedef int (*grnam_fn)(const char *, struct group *, char *, size_t, int *);

/* Direct calls: "name buflen -> status errno" lines. */
static int mode_direct(const char *so, int argc, char **argv) {
    void *h = dlopen(so, RTLD_NOW | RTLD_LOCAL);
    if (!h) { fprintf(stderr, "dlopen: %s\n", dlerror()); return 2; }
    pwnam_fn pwnam = (pwnam_fn)dlsym(h, "_nss_gatehouse_getpwnam_r");
    grnam_fn grnam = (grnam_fn)dlsym(h, "_nss_gatehouse_getgrnam_r");
    if (!pwnam || !grnam) return 2;
    for (int i = 0; i + 2 < argc; i += 3) {
        size_t len = strtoul(argv[i + 2], 0, 10);
        char *buf = malloc(len ? len : 1);
        int err = 0, st;
        if (!strcmp(argv[i], "pw")) {
            struct passwd p;
            st = pwnam(argv[i + 1], &p, buf, len, &err);
        } else {
            struct group g;
            st = grnam(argv[i + 1], &g, buf, len, &err);
        }
        printf("%s %s %zu -> %d %s\n", argv[i], argv[i + 1], len, st,
               st == NSS_STATUS_SUCCESS ? "-" : err == ERANGE ? "ERANGE" : err == ENOENT ? "ENOENT" : "other");
        free(buf);
    }
    /* A null result pointer and a null name must not crash. */
    int err = 0;
    char b[64];
    printf("null result -> %d\n", pwnam("x", NULL, b, sizeof b, &err));
    printf("null name -> %d\n", pwnam(NULL, (struct passwd *)b, b, sizeof b, &err));
    return 0;
}

static int write_all(int fd, const char *p, size_t n) {
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0) return -1;
        p += w; n -= (size_t)w;
    }
    return 0;
}

/* The same sequence as server/src/export.rs: temp file, write, fsync, 0644, rename, then mark
 * the old file replaced through an fd opened before the rename. */
static int mode_replace(int n, int nfiles, char **files) {
    char *data[16];
    size_t len[16];
    for (int f = 0; f < nfiles && f < 16; f++) {
        FILE *fp = fopen(files[f], "rb");
        if (!fp) return 2;
        fseek(fp, 0, SEEK_END);
        len[f] = (size_t)ftell(fp);
        fseek(fp, 0, SEEK_SET);
        data[f] = malloc(len[f]);
        if (fread(data[f], 1, len[f], fp) != len[f]) return 2;
        fclose(fp);
    }
    for (int i = 0; i < n; i++) {
        int f = i % nfiles;
        int fd = open(DB ".tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (fd < 0 || write_all(fd, data[f], len[f]) || fsync(fd) || fchmod(fd, 0644)) return 3;
        close(fd);
        int old = open(DB, O_WRONLY | O_CLOEXEC);
        if (rename(DB ".tmp", DB)) return 4;
        if (old >= 0) {
            static const unsigned char one[4] = {1, 0, 0, 0};
            if (pwrite(old, one, 4, 12) != 4) return 5;
            close(old);
        }
        if (i % 4 == 0) usleep(200);
    }
    int d = open("/var/lib/gatehouse/done", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    close(d);
    return 0;
}

static int nusers, ngroups;
static atomic_long lookups, failures;
static atomic_int stop;

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    if (!d) return -1;
    while (readdir(d)) n++;
    closedir(d);
    return n;
}

static unsigned rnd(unsigned *s) {
    *s = *s * 1103515245u + 12345u;
    return *s >> 8;
}

#define BAD(...) do { fprintf(stderr, __VA_ARGS__); atomic_fetch_add(&failures, 1); return; } while (0)

/* One random lookup, checked against the generation the record itself claims. */
static void one_check(unsigned *seed) {
    char buf[4096], name[32], want[64];
    int err;
    unsigned i = rnd(seed) % (unsigned)nusers, kind = rnd(seed) % 4;
    atomic_fetch_add(&lookups, 1);
    if (kind == 0 || kind == 1) {
        struct passwd pw, *p = NULL;
        if (kind == 0) {
            snprintf(name, sizeof name, "u%u", i);
            err = getpwnam_r(name, &pw, buf, sizeof buf, &p);
            if (err || !p) BAD("getpwnam %s: err %d, missing\n", name, err);
        } else {
            unsigned g = rnd(seed) % 4;
            err = getpwuid_r(UID_BASE + g * 100000u + i, &pw, buf, sizeof buf, &p);
            if (err) BAD("getpwuid err %d\n", err);
            if (!p) return; /* another generation is current */
            snprintf(name, sizeof name, "u%u", i);
        }
        unsigned g, j;
        if (sscanf(p->pw_gecos, "g%u u%u", &g, &j) != 2) BAD("bad gecos %s\n", p->pw_gecos);
        snprintf(want, sizeof want, "g%u u%u", g, i);
        if (strcmp(p->pw_name, name) || j != i || strcmp(p->pw_gecos, want) || p->pw_uid != UID_BASE + g * 100000u + i ||
            p->pw_gid != p->pw_uid || strcmp(p->pw_passwd, "*") || strcmp(p->pw_dir, "/var/lib/gatehouse/home") ||
            strcmp(p->pw_shell, "/usr/sbin/gatehouse-sftp"))
            BAD("mixed passwd record %s %u %s\n", p->pw_name, p->pw_uid, p->pw_gecos);
    } else if (kind == 2) {
        struct group gr, *g = NULL;
        unsigned j = i % (unsigned)ngroups;
        snprintf(name, sizeof name, "grp%u", j);
        err = getgrnam_r(name, &gr, buf, sizeof buf, &g);
        if (err || !g) BAD("getgrnam %s: err %d\n", name, err);
        unsigned gen = (g->gr_gid - GID_BASE) / 1000u;
        if (g->gr_gid != GID_BASE + gen * 1000u + j || strcmp(g->gr_name, name)) BAD("mixed group %s %u\n", g->gr_name, g->gr_gid);
        /* members: u{k} for every k with (k + gen) % ngroups == j, ascending by name */
        int n = 0;
        for (char **m = g->gr_mem; *m; m++, n++) {
            unsigned k;
            if (sscanf(*m, "u%u", &k) != 1 || (k + gen) % (unsigned)ngroups != j) BAD("mixed member %s in %s gen %u\n", *m, name, gen);
        }
        int expect = 0;
        for (int k = 0; k < nusers; k++) expect += ((unsigned)k + gen) % (unsigned)ngroups == j;
        if (n != expect) BAD("group %s has %d members, want %d\n", name, n, expect);
    } else {
        gid_t gs[16];
        int n = 16;
        snprintf(name, sizeof name, "u%u", i);
        if (getgrouplist(name, 1, gs, &n) < 0) BAD("getgrouplist %s overflow\n", name);
        /* 1 (the passed primary), gatehouse-users, and exactly one grp gid consistent with its gen */
        int found = 0;
        for (int k = 0; k < n; k++) {
            if (gs[k] >= GID_BASE && gs[k] < GID_BASE + 4000u) {
                unsigned gen = (gs[k] - GID_BASE) / 1000u, j = (gs[k] - GID_BASE) % 1000u;
                if ((i + gen) % (unsigned)ngroups != j) BAD("mixed initgroups for %s: %u\n", name, gs[k]);
                found++;
            }
        }
        if (n != 3 || found != 1) BAD("initgroups for %s: %d groups, %d grp\n", name, n, found);
    }
}

static void *worker(void *arg) {
    unsigned seed = (unsigned)(size_t)arg * 7919u + 1u;
    while (!atomic_load(&stop)) one_check(&seed);
    return NULL;
}

/* Mappings of the snapshot file in this process (the current one, and any replaced ones not
 * unmapped yet). */
static int count_maps(void) {
    int maps = 0;
    FILE *m = fopen("/proc/self/maps", "r");
    char line[512];
    while (m && fgets(line, sizeof line, m))
        if (strstr(line, "nss.db")) { maps++; if (getenv("SHOWMAPS")) printf("MAP %s", line); }
    if (m) fclose(m);
    return maps;
}

static int mode_stress(void) {
    configure();
    int fds_before = count_fds();
    pthread_t t[16];
    for (size_t k = 0; k < 16; k++)
        if (pthread_create(&t[k], NULL, worker, (void *)k)) return 2;
    int forks = 0, child_fail = 0;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (;;) {
        pid_t pid = fork();
        if (pid == 0) {
            unsigned seed = (unsigned)getpid();
            for (int k = 0; k < 300; k++) one_check(&seed);
            _exit(atomic_load(&failures) ? 1 : 0);
        }
        int status = 0;
        if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) || WEXITSTATUS(status)) child_fail++;
        forks++;
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
        if ((access("/var/lib/gatehouse/done", F_OK) == 0 && forks >= 20) || secs > 40) break;
    }
    /* The replacements are over, the 16 threads still look names up: every replaced mapping
     * must be unmapped under that load, not only once it stops. */
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int maps_busy = count_maps();
    atomic_store(&stop, 1);
    for (int k = 0; k < 16; k++) pthread_join(t[k], NULL);
    /* a few more lookups so the module reclaims retired mappings now that no thread is inside */
    unsigned seed = 1;
    for (int k = 0; k < 10; k++) one_check(&seed);
    int fds_after = count_fds();
    int maps = count_maps();
    printf("lookups=%ld failures=%ld forks=%d child_failures=%d fds_before=%d fds_after=%d mappings_busy=%d mappings=%d\n",
           atomic_load(&lookups), atomic_load(&failures), forks, child_fail, fds_before, fds_after, maps_busy, maps);
    return atomic_load(&failures) || child_fail || fds_before != fds_after ? 1 : 0;
}

int main(int argc, char **argv) {
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (argc >= 2 && !strcmp(argv[1], "lookup")) return mode_lookup(argc - 2, argv + 2);
    if (argc >= 3 && !strcmp(argv[1], "direct")) return mode_direct(argv[2], argc - 3, argv + 3);
    if (argc >= 4 && !strcmp(argv[1], "replace")) return mode_replace(atoi(argv[2]), argc - 3, argv + 3);
    if (argc == 4 && !strcmp(argv[1], "stress")) {
        nusers = atoi(argv[2]);
        ngroups = atoi(argv[3]);
        return mode_stress();
    }
    fprintf(stderr, "usage: probe lookup|direct|replace|stress ...\n");
    return 2;
}
