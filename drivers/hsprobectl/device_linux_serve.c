/*
 * device_linux_serve.c: `hsprobectl serve PORT`, the Linux stand-in's resident hsprobectl.
 *
 * It runs each request in its own process image instead of a new process: no fork, no exec.
 * That matters after a snapshot revert under TCG, where QEMU has thrown away every piece of
 * guest code it had translated and a fork plus exec runs the kernel's slowest paths through
 * the translator again (docs/lab-target.md has the figures). Started by the lab before it
 * saves the ready snapshot, it waits in read() in every revert of that snapshot.
 *
 * PORT: a virtio-serial port's name (found under /sys/class/virtio-ports), or "-" for
 * stdin and stdout (the host-side tests). One request is the arguments of one hsprobectl
 * command separated by 0x1F and ended by a newline; the answer is a line
 * "HSPS STATUS OUTLEN ERRLEN" then OUTLEN bytes of standard output and ERRLEN bytes of
 * standard error, exactly what the command would have printed as a process (its standard
 * output and error are memory files meanwhile, so `trace --raw /proc/self/fd/1` works too).
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "device.h"

#define SERVE_MAX_REQUEST 65536
#define SERVE_MAX_ARGS 256

int hsp_main(int argc, char **argv);

/* the /dev node of the virtio-serial port named `name`, or -1 */
static int open_port(const char *name)
{
    char path[512], found[256];
    DIR *dir = opendir("/sys/class/virtio-ports");
    struct dirent *e;
    int fd = -1;
    if (!dir)
        return -1;
    while (fd < 0 && (e = readdir(dir)) != NULL) {
        FILE *f;
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof path, "/sys/class/virtio-ports/%s/name", e->d_name);
        if (!(f = fopen(path, "r")))
            continue;
        if (fgets(found, sizeof found, f)) {
            found[strcspn(found, "\n")] = 0;
            if (!strcmp(found, name)) {
                snprintf(path, sizeof path, "/dev/%s", e->d_name);
                fd = open(path, O_RDWR | O_CLOEXEC);
            }
        }
        fclose(f);
    }
    closedir(dir);
    return fd;
}

static int write_all(int fd, const char *data, size_t len)
{
    while (len) {
        ssize_t n = write(fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        data += n;
        len -= (size_t)n;
    }
    return 0;
}

/* the whole content of memory file `fd`, malloc'd (NULL on failure); its length in *len */
static char *slurp(int fd, size_t *len)
{
    off_t size = lseek(fd, 0, SEEK_END);
    char *data;
    ssize_t got = 0;
    if (size < 0 || lseek(fd, 0, SEEK_SET) < 0 || !(data = malloc((size_t)size + 1)))
        return NULL;
    while (got < size) {
        ssize_t n = read(fd, data + got, (size_t)(size - got));
        if (n <= 0)
            break;
        got += n;
    }
    *len = (size_t)got;
    return data;
}

/* runs one request (the command's words in `line`, 0x1F between them) and answers on `port` */
static int answer(int port, char *line)
{
    char *argv[SERVE_MAX_ARGS + 2], head[96];
    int argc = 1, status, out = memfd_create("hsps-out", MFD_CLOEXEC),
        err = memfd_create("hsps-err", MFD_CLOEXEC), saved_out, saved_err;
    char *out_data = NULL, *err_data = NULL, *word = line;
    size_t out_len = 0, err_len = 0;
    if (out < 0 || err < 0)
        return -1;
    argv[0] = "hsprobectl";
    while (word && argc <= SERVE_MAX_ARGS) {
        char *next = strchr(word, '\x1f');
        if (next)
            *next++ = 0;
        argv[argc++] = word;
        word = next;
    }
    argv[argc] = NULL;
    fflush(stdout);
    fflush(stderr);
    saved_out = dup(1);
    saved_err = dup(2);
    dup2(out, 1);
    dup2(err, 2);
    status = word ? (fputs("hsprobectl serve: too many arguments\n", stderr), HSP_EXIT_USAGE)
                  : hsp_main(argc, argv);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_out, 1);
    dup2(saved_err, 2);
    close(saved_out);
    close(saved_err);
    out_data = slurp(out, &out_len);
    err_data = slurp(err, &err_len);
    close(out);
    close(err);
    snprintf(head, sizeof head, "HSPS %d %zu %zu\n", status, out_len, err_len);
    status = write_all(port, head, strlen(head)) ||
             write_all(port, out_data ? out_data : "", out_len) ||
             write_all(port, err_data ? err_data : "", err_len);
    free(out_data);
    free(err_data);
    return status ? -1 : 0;
}

int hsp_serve(int argc, char **argv)
{
    static char buffer[SERVE_MAX_REQUEST];
    size_t used = 0;
    int in, out, piped;
    if (argc != 1)
        return fputs("hsprobectl: serve PORT (a virtio-serial port's name, or -)\n", stderr),
               HSP_EXIT_USAGE;
    /* requests in and answers out, on descriptors the commands' redirection leaves alone */
    piped = !strcmp(argv[0], "-");
    in = piped ? fcntl(0, F_DUPFD_CLOEXEC, 10) : open_port(argv[0]);
    out = piped ? fcntl(1, F_DUPFD_CLOEXEC, 10) : in;
    if (in < 0 || out < 0)
        return fprintf(stderr, "hsprobectl: serve: no virtio-serial port named %s\n", argv[0]),
               HSP_EXIT_UNAVAILABLE;
    for (;;) {
        char *end;
        ssize_t n = read(in, buffer + used, sizeof buffer - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return hsp_fail_last("serve: reading a request");
        if (n == 0) {
            if (piped)
                return 0; /* stdin closed */
            usleep(50000); /* the host end is not connected: wait for it */
            continue;
        }
        used += (size_t)n;
        while ((end = memchr(buffer, '\n', used)) != NULL) {
            size_t taken = (size_t)(end - buffer) + 1;
            *end = 0;
            if (answer(out, buffer))
                return hsp_fail_last("serve: answering");
            memmove(buffer, buffer + taken, used - taken);
            used -= taken;
        }
        if (used == sizeof buffer) /* a request that long is no request: drop it */
            used = 0;
    }
}
