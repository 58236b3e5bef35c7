/*
 * The example agent of the test images: a pod's agent container, small enough to run without a
 * shell or a runtime. It reports to the metrics sidecar as an agent does, over loopback inside its
 * pod, at AGENTMETRICS_EVENTS_ENDPOINT (the injector sets http://127.0.0.1:4318/v1/events):
 *
 * - Every AGENT_INTERVAL_MS (default 1000; 0: never) it finishes a task and POSTs it as a JSON
 *   event, and logs the answer's status line. With AGENT_OBSERVATION set it also POSTs that event
 *   after each task: an observation of a custom metric.
 * - With AGENT_WORK_PORT set, it also takes work from outside the pod, as an agent behind a Service
 *   takes requests: each POST to that port, on every address of the pod, is what the agent reports
 *   of the work it did. It sends the body, with its Content-Type, to the same path on the sidecar's
 *   host and port (/v1/events for events, /v1/metrics for OTLP metrics) and answers with the
 *   sidecar's answer, byte for byte. Tests and the demo drive an agent's reports through it.
 *
 * Only the http://IPV4:PORT/PATH form is read: inside a pod the sidecar is always on loopback.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The largest report taken from outside: an OTLP request of a thousand metrics fits. */
#define MAX_BODY (16L * 1024 * 1024)
#define MAX_HEAD 16384
/* How long a relayed report may wait for the sidecar's answer. */
#define UPSTREAM_TIMEOUT_SECONDS 30

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

static int write_all(int fd, const char *data, size_t length) {
    while (length > 0) {
        ssize_t wrote = write(fd, data, length);
        if (wrote < 0 && errno == EINTR) continue;
        if (wrote <= 0) return -1;
        data += wrote;
        length -= (size_t)wrote;
    }
    return 0;
}

static void set_timeout(int fd, int seconds) {
    struct timeval timeout = {.tv_sec = seconds};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof timeout);
}

/* Opens a connection to the sidecar and sends one POST; returns the socket, or -1. */
static int send_post(const struct sockaddr_in *address, const char *path, const char *content_type, const char *body,
                     size_t body_length) {
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    set_timeout(fd, 5);
    if (connect(fd, (const struct sockaddr *)address, sizeof *address) != 0) {
        close(fd);
        return -1;
    }
    char head[1024];
    int length = snprintf(head, sizeof head,
                          "POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: %s\r\n"
                          "Content-Length: %zu\r\nConnection: close\r\n\r\n",
                          path, content_type, body_length);
    if (length <= 0 || length >= (int)sizeof head || write_all(fd, head, (size_t)length) != 0 ||
        write_all(fd, body, body_length) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* POSTs one event; returns the HTTP status, or -1 when the sidecar cannot be reached. */
static int post(const struct sockaddr_in *address, const char *path, const char *body) {
    int fd = send_post(address, path, "application/json", body, strlen(body));
    if (fd < 0) return -1;
    int status = -1;
    char answer[256];
    ssize_t got = read(fd, answer, sizeof answer - 1);
    if (got > 0) {
        answer[got] = '\0';
        if (sscanf(answer, "HTTP/1.%*d %d", &status) != 1) status = -1;
    }
    close(fd);
    return status;
}

static void answer(int client, int status, const char *reason, const char *message) {
    char text[512];
    int length = snprintf(text, sizeof text,
                          "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                          "Connection: close\r\n\r\n%s",
                          status, reason, strlen(message), message);
    if (length > 0 && length < (int)sizeof text) write_all(client, text, (size_t)length);
}

/* The value of header NAME in HEAD (lines ending in \r\n), copied into VALUE; 0 when it is there. */
static int header(const char *head, const char *name, char *value, size_t value_size) {
    size_t name_length = strlen(name);
    for (const char *line = strstr(head, "\r\n"); line && line[2] != '\r'; line = strstr(line + 2, "\r\n")) {
        const char *start = line + 2;
        if (strncasecmp(start, name, name_length) == 0 && start[name_length] == ':') {
            start += name_length + 1;
            while (*start == ' ' || *start == '\t') start++;
            size_t length = strcspn(start, "\r");
            if (length >= value_size) return -1;
            memcpy(value, start, length);
            value[length] = '\0';
            return 0;
        }
    }
    return -1;
}

/* Takes one request of work from outside the pod and relays its report to the sidecar. */
static void relay(int client, const struct sockaddr_in *sidecar) {
    set_timeout(client, 5);
    char head[MAX_HEAD + 1];
    size_t have = 0;
    char *end = NULL;
    while (!end) {
        if (have == MAX_HEAD) {
            answer(client, 431, "Request Header Fields Too Large", "{\"error\":\"the request's head is over 16 KiB\"}");
            return;
        }
        ssize_t got = read(client, head + have, MAX_HEAD - have);
        if (got <= 0) return;
        have += (size_t)got;
        head[have] = '\0';
        end = strstr(head, "\r\n\r\n");
    }
    char method[8], path[256], value[256];
    if (sscanf(head, "%7s %255s HTTP/1.", method, path) != 2 || strcmp(method, "POST") != 0 || path[0] != '/') {
        answer(client, 405, "Method Not Allowed", "{\"error\":\"only POST /PATH is taken: the body is relayed to the sidecar\"}");
        return;
    }
    char *number_end = NULL;
    long length = header(head, "Content-Length", value, sizeof value) == 0 ? strtol(value, &number_end, 10) : -1;
    if (length < 0 || length > MAX_BODY || !number_end || *number_end != '\0') {
        answer(client, 411, "Length Required", "{\"error\":\"Content-Length must be given, up to 16 MiB\"}");
        return;
    }
    char content_type[128];
    if (header(head, "Content-Type", content_type, sizeof content_type) != 0) strcpy(content_type, "application/json");
    char *body = malloc((size_t)length + 1);
    if (!body) {
        answer(client, 503, "Service Unavailable", "{\"error\":\"out of memory\"}");
        return;
    }
    size_t already = have - (size_t)(end + 4 - head);
    if (already > (size_t)length) already = (size_t)length;
    memcpy(body, end + 4, already);
    while (already < (size_t)length) {
        ssize_t got = read(client, body + already, (size_t)length - already);
        if (got <= 0) {
            free(body);
            return;
        }
        already += (size_t)got;
    }
    int upstream = send_post(sidecar, path, content_type, body, (size_t)length);
    free(body);
    if (upstream < 0) {
        answer(client, 502, "Bad Gateway", "{\"error\":\"the sidecar is not reachable\"}");
        return;
    }
    /* A loaded node can take the sidecar seconds to answer; the client hears why when it does not. */
    set_timeout(upstream, UPSTREAM_TIMEOUT_SECONDS);
    char buffer[65536];
    ssize_t got;
    size_t relayed = 0;
    while ((got = read(upstream, buffer, sizeof buffer)) > 0 && write_all(client, buffer, (size_t)got) == 0) {
        relayed += (size_t)got;
    }
    int timed_out = got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    close(upstream);
    if (relayed == 0 && timed_out) {
        answer(client, 504, "Gateway Timeout", "{\"error\":\"the sidecar did not answer within 30 s\"}");
    } else if (relayed == 0) {
        answer(client, 502, "Bad Gateway", "{\"error\":\"the sidecar closed the connection without an answer\"}");
    }
}

static long long now_ms(void) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int listen_on(const char *port_text) {
    char *end = NULL;
    long port = strtol(port_text, &end, 10);
    if (!end || *end != '\0' || port <= 0 || port > 65535) return -1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    int yes = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port), .sin_addr = {INADDR_ANY}};
    if (bind(fd, (const struct sockaddr *)&any, sizeof any) != 0 || listen(fd, 64) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

int main(void) {
    const char *endpoint = getenv("AGENTMETRICS_EVENTS_ENDPOINT");
    const char *interval_text = getenv("AGENT_INTERVAL_MS");
    const char *observation = getenv("AGENT_OBSERVATION");
    const char *work_port = getenv("AGENT_WORK_PORT");
    long interval_ms = interval_text && *interval_text ? strtol(interval_text, NULL, 10) : 1000;
    struct sockaddr_in address;
    char path[256];
    if (!endpoint || parse_endpoint(endpoint, &address, path, sizeof path) != 0) {
        fprintf(stderr, "AGENTMETRICS_EVENTS_ENDPOINT must be http://IPV4:PORT/PATH, got %s\n", endpoint ? endpoint : "nothing");
        return 2;
    }
    if (interval_ms < 0) {
        fprintf(stderr, "AGENT_INTERVAL_MS must be 0 or more, got %s\n", interval_text);
        return 2;
    }

    struct sigaction action = {.sa_handler = on_term};
    sigaction(SIGTERM, &action, NULL);
    sigaction(SIGINT, &action, NULL);
    signal(SIGPIPE, SIG_IGN);
    setvbuf(stdout, NULL, _IOLBF, 0);

    int listener = -1;
    if (work_port && *work_port) {
        listener = listen_on(work_port);
        if (listener < 0) {
            fprintf(stderr, "AGENT_WORK_PORT must be a port this agent can listen on, got %s\n", work_port);
            return 2;
        }
        printf("taking work on port %s, reported to the sidecar at %s\n", work_port, endpoint);
    }

    const char *event = "{\"type\":\"task\",\"task_type\":\"triage\",\"outcome\":\"success\",\"duration_seconds\":1.5,"
                        "\"tokens_in\":900,\"tokens_out\":120,\"cost\":0.004,\"model\":\"gpt-4o\"}";
    long long next = now_ms();
    for (unsigned long task = 1; !stopping;) {
        if (interval_ms > 0 && now_ms() >= next) {
            int status = post(&address, path, event);
            if (status < 0)
                printf("task %lu: the sidecar at %s is not reachable yet\n", task, endpoint);
            else
                printf("task %lu: HTTP %d\n", task, status);
            if (observation && *observation) printf("observation %lu: HTTP %d\n", task, post(&address, path, observation));
            task++;
            next += interval_ms;
            if (next < now_ms()) next = now_ms() + interval_ms;
        }
        long long wait = interval_ms > 0 ? next - now_ms() : 1000;
        if (wait < 0) wait = 0;
        struct pollfd ready = {.fd = listener, .events = POLLIN};
        if (poll(&ready, listener >= 0 ? 1 : 0, (int)wait) > 0 && (ready.revents & POLLIN)) {
            int client = accept(listener, NULL, NULL);
            if (client >= 0) {
                relay(client, &address);
                close(client);
            }
        }
    }
    return 0;
}
