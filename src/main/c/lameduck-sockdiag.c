/*
 * lameduck-sockdiag PORT...
 *
 * The TCP connections of this network namespace whose local port is one of PORT, with what each has received, read
 * from the kernel's NETLINK_SOCK_DIAG (inet_diag) in one short process. The agent runs it once per poll of a drain
 * (every 100 ms) instead of `ss`, which links fifteen shared libraries and spends most of its 5 ms of CPU per run
 * loading them; this one is static and spends about 2.3 ms, most of it in the kernel's walk of its connection table
 * (docs/performance.md). The JDK 17 runtime cannot open a netlink socket itself.
 *
 * Output: one line per socket, in the shape of `ss -t -i -n -H -O -o state connected '( sport = :PORT ... )'` for the
 * fields the agent reads (io.lameduck.sockets.SocketStatsConnections parses both):
 *   STATE RECV-Q SEND-Q LOCAL PEER [timer:(timewait,TIME,0)] [bytes_received:N lastrcv:MS]
 * STATE as ss names it (ESTAB, SYN-RECV, TIME-WAIT, ...); LOCAL and PEER as 10.0.0.5:8080 or [fd00::5]:8080; the
 * timer only for TIME-WAIT (what is left of it, as 1min0.000ms or 58.123ms); bytes_received and lastrcv (ms since
 * data last arrived) from TCP_INFO, for the sockets that have it (not TIME-WAIT, not a request still in its
 * handshake). Every state but LISTEN and CLOSE, both address families.
 *
 * Exit: 0 listed; 1 the kernel refused (the reason on stderr, e.g. a seccomp profile without netlink); 2 bad arguments.
 * Bounded: at most 64 ports; the output is one line per socket (the agent reads at most 16 MiB and kills a run after 2 s).
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>
#include <linux/tcp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_PORTS 64
/* The kernel's TCP states (include/net/tcp_states.h), as ss prints them. */
static const char *const STATE_NAMES[] = {
    "UNKNOWN", "ESTAB", "SYN-SENT", "SYN-RECV", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
    "UNCONN", "CLOSE-WAIT", "LAST-ACK", "LISTEN", "CLOSING", "SYN-RECV" /* TCP_NEW_SYN_RECV: a request socket */
};
#define STATE_COUNT (sizeof STATE_NAMES / sizeof STATE_NAMES[0])
#define STATE_CLOSE 7
#define STATE_LISTEN 10
/* idiag_timer of a socket in TIME-WAIT (net/ipv4/inet_diag.c). */
#define TIMER_TIME_WAIT 3

static int ports[MAX_PORTS];
static int port_count;
/* Whether a socket of that family listens on one of the ports: AF_INET, AF_INET6. */
static int listens_ipv4, listens_ipv6;

static int usage(const char *why) {
    fprintf(stderr, "lameduck-sockdiag: %s\nusage: lameduck-sockdiag PORT... (1 to %d ports, each 1-65535)\n", why, MAX_PORTS);
    return 2;
}

static int wanted(int port) {
    for (int i = 0; i < port_count; i++) {
        if (ports[i] == port) {
            return 1;
        }
    }
    return 0;
}

/* 10.0.0.5:8080 or [fd00::5]:8080 */
static void print_endpoint(int family, const __be32 address[4], __be16 port) {
    char text[INET6_ADDRSTRLEN];
    inet_ntop(family, address, text, sizeof text);
    if (family == AF_INET6) {
        printf(" [%s]:%u", text, ntohs(port));
    } else {
        printf(" %s:%u", text, ntohs(port));
    }
}

/* Milliseconds to the millisecond, in a shape ss's own timers also take: 1min0.000ms, 58.123ms. */
static void print_ms(unsigned int ms) {
    unsigned int minutes = ms / 60000;
    if (minutes) {
        printf("%umin", minutes);
    }
    printf("%u.%03ums", (ms / 1000) % 60, ms % 1000);
}

static void print_socket(int family, const struct nlmsghdr *header) {
    const struct inet_diag_msg *msg = NLMSG_DATA(header);
    if (header->nlmsg_len < NLMSG_LENGTH(sizeof *msg) || !wanted(ntohs(msg->id.idiag_sport))) {
        return;
    }
    if (msg->idiag_state == STATE_LISTEN) {
        *(family == AF_INET6 ? &listens_ipv6 : &listens_ipv4) = 1;
        return;
    }
    if (msg->idiag_state == STATE_CLOSE) {
        return;
    }
    const struct tcp_info *info = NULL;
    size_t info_length = 0;
    int attributes_length = (int)(header->nlmsg_len - NLMSG_LENGTH(sizeof *msg));
    for (const struct rtattr *attribute = (const struct rtattr *)(msg + 1); RTA_OK(attribute, attributes_length);
         attribute = RTA_NEXT(attribute, attributes_length)) {
        if (attribute->rta_type == INET_DIAG_INFO) {
            info = RTA_DATA(attribute);
            info_length = RTA_PAYLOAD(attribute);
        }
    }
    printf("%s %u %u", msg->idiag_state < STATE_COUNT ? STATE_NAMES[msg->idiag_state] : "UNKNOWN",
           msg->idiag_rqueue, msg->idiag_wqueue);
    print_endpoint(family, msg->id.idiag_src, msg->id.idiag_sport);
    print_endpoint(family, msg->id.idiag_dst, msg->id.idiag_dport);
    if (msg->idiag_timer == TIMER_TIME_WAIT) {
        printf(" timer:(timewait,");
        print_ms(msg->idiag_expires);
        printf(",0)");
    }
    /* tcpi_bytes_received came with Linux 4.1; an older kernel's shorter TCP_INFO is left out rather than misread. */
    if (info != NULL && info_length >= offsetof(struct tcp_info, tcpi_bytes_received) + sizeof info->tcpi_bytes_received) {
        printf(" bytes_received:%llu lastrcv:%u", (unsigned long long)info->tcpi_bytes_received, info->tcpi_last_data_recv);
    }
    putchar('\n');
}

/* One dump of one address family's sockets in `states` (a bit per TCP state): 0 when complete, else the errno. */
static int dump(int fd, int family, unsigned int states, unsigned int sequence) {
    struct {
        struct nlmsghdr header;
        struct inet_diag_req_v2 request;
    } message;
    memset(&message, 0, sizeof message);
    message.header.nlmsg_len = sizeof message;
    message.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    message.header.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.header.nlmsg_seq = sequence;
    message.request.sdiag_family = (__u8)family;
    message.request.sdiag_protocol = IPPROTO_TCP;
    message.request.idiag_ext = 1 << (INET_DIAG_INFO - 1);
    message.request.idiag_states = states;
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    if (sendto(fd, &message, sizeof message, 0, (struct sockaddr *)&kernel, sizeof kernel) < 0) {
        return errno;
    }
    /* The kernel fills a dump's messages up to 32 KiB each (NLMSG_GOODSIZE or the reader's buffer): nothing is cut. */
    static char buffer[64 * 1024] __attribute__((aligned(NLMSG_ALIGNTO)));
    for (;;) {
        ssize_t n = recv(fd, buffer, sizeof buffer, 0);
        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return errno;
        }
        if (n == 0) {
            return EPIPE;
        }
        int left = (int)n;
        for (const struct nlmsghdr *header = (const struct nlmsghdr *)buffer; NLMSG_OK(header, left);
             header = NLMSG_NEXT(header, left)) {
            if (header->nlmsg_seq != sequence) {
                continue;
            }
            if (header->nlmsg_type == NLMSG_DONE) {
                return 0;
            }
            if (header->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *error = NLMSG_DATA(header);
                return header->nlmsg_len >= NLMSG_LENGTH(sizeof *error) && error->error < 0 ? -error->error : EPROTO;
            }
            if (header->nlmsg_type == SOCK_DIAG_BY_FAMILY) {
                print_socket(family, header);
            }
        }
    }
}

/* A kernel without IPv6 has no inet6 dump: that family has no sockets to list. */
static int no_family(int family, int error) {
    return family == AF_INET6 && (error == ENOENT || error == EAFNOSUPPORT);
}

static int refused(int family, int error) {
    fprintf(stderr, "lameduck-sockdiag: the kernel refused the %s socket dump: %s\n", family == AF_INET ? "IPv4" : "IPv6",
            strerror(error));
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        return usage("no port given");
    }
    if (argc - 1 > MAX_PORTS) {
        return usage("too many ports");
    }
    for (int i = 1; i < argc; i++) {
        char *end;
        errno = 0;
        long port = strtol(argv[i], &end, 10);
        if (errno != 0 || end == argv[i] || *end != '\0' || argv[i][0] == '-' || argv[i][0] == '+' || port < 1 || port > 65535) {
            char why[128];
            snprintf(why, sizeof why, "not a port: \"%.40s\"", argv[i]);
            return usage(why);
        }
        ports[port_count++] = (int)port;
    }
    int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (fd < 0) {
        fprintf(stderr, "lameduck-sockdiag: cannot open a NETLINK_SOCK_DIAG socket: %s\n", strerror(errno));
        return 1;
    }
    /*
     * Listing connected sockets walks the kernel's whole established hash table, once per family (262,144 buckets on
     * the 24 GiB test machine: about 1 ms each, most of this program's time), whatever the ports; listening sockets
     * sit in a small table of their own. So the listeners come first: an app that listens in one family (0.0.0.0,
     * or [::] for both: its IPv4 clients then arrive on IPv6 sockets) has its connections walked in that family only.
     * With no listener on the ports, both are walked.
     */
    const int families[] = {AF_INET, AF_INET6};
    unsigned int sequence = 0;
    for (unsigned int i = 0; i < 2; i++) {
        int error = dump(fd, families[i], 1u << STATE_LISTEN, ++sequence);
        if (error != 0 && !no_family(families[i], error)) {
            return refused(families[i], error);
        }
    }
    int both = !listens_ipv4 && !listens_ipv6;
    /* Every state but CLOSE and LISTEN, request sockets (bit 12) included: ss's "connected". */
    unsigned int connected = ((1u << 13) - 1) & ~(1u << 0) & ~(1u << STATE_CLOSE) & ~(1u << STATE_LISTEN);
    for (unsigned int i = 0; i < 2; i++) {
        if (!both && !(families[i] == AF_INET ? listens_ipv4 : listens_ipv6)) {
            continue;
        }
        int error = dump(fd, families[i], connected, ++sequence);
        if (error != 0 && !no_family(families[i], error)) {
            return refused(families[i], error);
        }
    }
    close(fd);
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "lameduck-sockdiag: cannot write the list: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
