/* The floor of a cached run, in C (issue 24): read both AWS files, find one
 * section header in each, exec the command. No parsing beyond that, no
 * freshness check: what any tool with mfa-exec's job must at least do.
 * Built by scripts/bench.sh: gcc -O2 -static. Usage: floor-c PROFILE CMD ARGS... */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int has_header(const char *path, const char *header) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return 0;
    static char buf[1 << 20];
    ssize_t n, len = 0;
    while ((n = read(fd, buf + len, sizeof buf - 1 - len)) > 0) len += n;
    close(fd);
    buf[len] = 0;
    size_t hl = strlen(header);
    for (char *p = buf; (p = strstr(p, header)) != NULL; p += hl)
        if (p == buf || p[-1] == '\n') return 1;
    return 0;
}

int main(int argc, char **argv) {
    if (argc < 3) return 125;
    const char *home = getenv("HOME");
    const char *cfg = getenv("AWS_CONFIG_FILE");
    const char *cred = getenv("AWS_SHARED_CREDENTIALS_FILE");
    char a[4096], b[4096], h1[256], h2[256];
    if (!cfg) { snprintf(a, sizeof a, "%s/.aws/config", home); cfg = a; }
    if (!cred) { snprintf(b, sizeof b, "%s/.aws/credentials", home); cred = b; }
    snprintf(h1, sizeof h1, "[profile %s]", argv[1]);
    snprintf(h2, sizeof h2, "[%s]", argv[1]);
    int found = has_header(cfg, h1) + has_header(cred, h2);
    if (!found) return 125;
    execvp(argv[2], argv + 2);
    return 127;
}
