/*
 * The example agent of the test images: a pod's agent container, small enough to run without a
 * shell or a runtime. Every AGENT_INTERVAL_MS (default 1000) it finishes a task and reports it to
 * the metrics sidecar as an agent does, with a JSON event POSTed to AGENTMETRICS_EVENTS_ENDPOINT
 * (the injector sets http://127.0.0.1:4318/v1/events), and logs the answer's status line. With
 * AGENT_OBSERVATION set it also POSTs that event after each task: an observation of a custom metric.
 * Only the http://IPV4:PORT/PATH form is read: inside a pod the sidecar is always on loopback.
 */
#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stopping;

/* As pid 1 of its container, the agent would ignore SIGTERM without a handler of its own. */
static void on_term(int signal_number) { (void)signal_number; stopping = 1; }

static int parse_endpoint(const char *url, struct sockaddr_in *address, char *path, size_t path_size) {
    char host[64];
    unsigned port;
    int consumed = 0;
    if (sscanf(url, "http://%63[0-9.]:%u%n", host, &port, &consumed) != 2 || port == 0 || port > 65535) return -1;
    memset(address, 0, sizeof *address);
    address->sin_family = AF_INET;
    address->sin_port = htons((unsigned short)port);
    if (inet_pton(AF_INET, host, &address->sin_addr) != 1) return -1;
    snprintf(path, path_size, "%s", url[consumed] == '/' ? url + consumed : "/");
    return 0;
}

/* POSTs one event; returns the HTTP status, or -1 when the sidecar cannot be reached. */
static int post(const struct sockaddr_in *address, const char *path, const char *body) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    struct timeval timeout = {.tv_sec = 5};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (connect(fd, (const struct sockaddr *)address, sizeof *address) != 0) {
        close(fd);
        return -1;
    }
    char request[1024];
    int length = snprintf(request, sizeof request,
                          "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n%s",
                          path, strlen(body), body);
    int status = -1;
    char answer[256];
    ssize_t got;
    if (length > 0 && length < (int)sizeof request && write(fd, request, (size_t)length) == length &&
        (got = read(fd, answer, sizeof answer - 1)) > 0) {
        answer[got] = '\0';
        if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1) status = -1;
    }
    close(fd);
    return status;
}

int main(void) {
    const char *endpoint = getenv("AGENTMETRICS_EVENTS_ENDPOINT");
    const char *interval_text = getenv("AGENT_INTERVAL_MS");
    const char *observation = getenv("AGENT_OBSERVATION");
    long interval_ms = interval_text ? strtol(interval_text, NULL, 10) : 1000;
    struct sockaddr_in address;
    char path[256];
    if (!endpoint || parse_endpoint(endpoint, &address, path, sizeof path) != 0) {
        fprintf(stderr, "AGENTMETRICS_EVENTS_ENDPOINT must be http://IPV4:PORT/PATH, got %s\n", endpoint ? endpoint : "nothing");
        return 2;
    }
    if (interval_ms <= 0) interval_ms = 1000;

    struct sigaction action = {.sa_handler = on_term};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    setvbuf(stdout, NULL, _IOLBF, 0);

    const char *event = "{\"type\":\"task\",\"task_type\":\"triage\",\"outcome\":\"success\",\"duration_seconds\":1.5,"
                        "\"tokens_in\":900,\"tokens_out\":120,\"cost\":0.004,\"model\":\"gpt-4o\"}";
    for (unsigned long task = 1; !stopping; task++) {
        int status = post(&address, path, event);
        if (status < 0)
            printf("task %lu: the sidecar at %s is not reachable yet\n", task, endpoint);
        else
            printf("task %lu: HTTP %d\n", task, status);
        if (observation && *observation) printf("observation %lu: HTTP %d\n", task, post(&address, path, observation));
        struct timespec pause_for = {.tv_sec = interval_ms / 1000, .tv_nsec = (interval_ms % 1000) * 1000000L};
        while (!stopping && nanosleep(&pause_for, &pause_for) != 0) {
        }
    }
    return 0;
}
