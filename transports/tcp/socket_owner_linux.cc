// Linux: find the uid of a local TCP socket by its 4-tuple, from the kernel's socket tables.
#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "transports/tcp/socket_owner.h"
#include "transports/tcp/tcp_transport.h"

namespace pvb {
namespace socket_owner_detail {
namespace {

size_t addr_len(int family) {
  return family == AF_INET ? 4 : 16;
}

// Fills addr/port from a sockaddr; an IPv4-mapped IPv6 address becomes IPv4. Returns the family.
int read_endpoint(const sockaddr_storage& ss, std::array<uint8_t, 16>& addr, uint16_t& port) {
  if (ss.ss_family == AF_INET) {
    const auto& in = reinterpret_cast<const sockaddr_in&>(ss);
    std::memcpy(addr.data(), &in.sin_addr, 4);
    port = ntohs(in.sin_port);
    return AF_INET;
  }
  if (ss.ss_family == AF_INET6) {
    const auto& in6 = reinterpret_cast<const sockaddr_in6&>(ss);
    port = ntohs(in6.sin6_port);
    if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr)) {
      std::memcpy(addr.data(), in6.sin6_addr.s6_addr + 12, 4);
      return AF_INET;
    }
    std::memcpy(addr.data(), in6.sin6_addr.s6_addr, 16);
    return AF_INET6;
  }
  return 0;
}

bool is_loopback(int family, const std::array<uint8_t, 16>& addr) {
  if (family == AF_INET) return addr[0] == 127;
  static const std::array<uint8_t, 16> kLoopback6{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
  return family == AF_INET6 && addr == kLoopback6;
}

// How the kernel prints an address:port in /proc/net/tcp{,6}: each 32-bit word of the address as
// the CPU reads it (%08X), the port in host order (%04X).
std::string proc_endpoint(int family, const std::array<uint8_t, 16>& addr, uint16_t port) {
  std::string out;
  char word[16];
  for (size_t i = 0; i < addr_len(family); i += 4) {
    uint32_t w;
    std::memcpy(&w, addr.data() + i, 4);
    std::snprintf(word, sizeof word, "%08X", static_cast<unsigned>(w));
    out += word;
  }
  std::snprintf(word, sizeof word, ":%04X", static_cast<unsigned>(port));
  return out + word;
}

}  // namespace

std::optional<SocketId> client_socket_of(int accepted_fd) {
  sockaddr_storage ours{}, theirs{};
  socklen_t len = sizeof ours;
  if (getsockname(accepted_fd, reinterpret_cast<sockaddr*>(&ours), &len) != 0) return std::nullopt;
  len = sizeof theirs;
  if (getpeername(accepted_fd, reinterpret_cast<sockaddr*>(&theirs), &len) != 0) {
    return std::nullopt;
  }
  // The client's socket: its local end is our peer, its remote end is us.
  SocketId id;
  int f1 = read_endpoint(theirs, id.local_addr, id.local_port);
  int f2 = read_endpoint(ours, id.remote_addr, id.remote_port);
  if (f1 == 0 || f1 != f2) return std::nullopt;
  id.family = f1;
  return id;
}

std::optional<uid_t> uid_by_sock_diag(const SocketId& id) {
  int fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
  if (fd < 0) return std::nullopt;
  struct {
    nlmsghdr header;
    inet_diag_req_v2 req;
  } msg{};
  msg.header.nlmsg_len = sizeof msg;
  msg.header.nlmsg_type = SOCK_DIAG_BY_FAMILY;
  msg.header.nlmsg_flags = NLM_F_REQUEST;  // no NLM_F_DUMP: an exact lookup by 4-tuple
  msg.header.nlmsg_seq = 1;
  msg.req.sdiag_family = static_cast<uint8_t>(id.family);
  msg.req.sdiag_protocol = IPPROTO_TCP;
  msg.req.idiag_states = ~0u;
  msg.req.id.idiag_sport = htons(id.local_port);
  msg.req.id.idiag_dport = htons(id.remote_port);
  std::memcpy(msg.req.id.idiag_src, id.local_addr.data(), addr_len(id.family));
  std::memcpy(msg.req.id.idiag_dst, id.remote_addr.data(), addr_len(id.family));
  msg.req.id.idiag_cookie[0] = INET_DIAG_NOCOOKIE;
  msg.req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;

  // The kernel answers while handling sendto; the timeout only guards against surprises.
  timeval tv{1, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_nl kernel{};
  kernel.nl_family = AF_NETLINK;
  std::optional<uid_t> uid;
  if (sendto(fd, &msg, sizeof msg, 0, reinterpret_cast<sockaddr*>(&kernel), sizeof kernel) ==
      static_cast<ssize_t>(sizeof msg)) {
    alignas(nlmsghdr) char buf[8192];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    size_t left = n > 0 ? static_cast<size_t>(n) : 0;
    const char* p = buf;
    while (left >= sizeof(nlmsghdr)) {
      const auto* h = reinterpret_cast<const nlmsghdr*>(p);
      if (h->nlmsg_len < sizeof(nlmsghdr) || h->nlmsg_len > left) break;
      if (h->nlmsg_type == SOCK_DIAG_BY_FAMILY &&
          h->nlmsg_len >= NLMSG_LENGTH(sizeof(inet_diag_msg))) {
        const auto* m = static_cast<const inet_diag_msg*>(NLMSG_DATA(h));
        // Trust the answer only if it is the socket we asked about.
        if (m->id.idiag_sport == htons(id.local_port) &&
            m->id.idiag_dport == htons(id.remote_port) &&
            std::memcmp(m->id.idiag_src, id.local_addr.data(), addr_len(id.family)) == 0 &&
            std::memcmp(m->id.idiag_dst, id.remote_addr.data(), addr_len(id.family)) == 0) {
          uid = m->idiag_uid;
        }
        break;
      }
      if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_DONE) break;
      size_t step = NLMSG_ALIGN(h->nlmsg_len);
      if (step >= left) break;
      p += step;
      left -= step;
    }
  }
  ::close(fd);
  return uid;
}

std::optional<uid_t> uid_in_proc_net_tcp(std::string_view table, const SocketId& id) {
  const std::string local = proc_endpoint(id.family, id.local_addr, id.local_port);
  const std::string remote = proc_endpoint(id.family, id.remote_addr, id.remote_port);
  // Columns: sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode ...
  std::istringstream lines{std::string(table)};
  std::string line;
  std::getline(lines, line);  // the header
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string sl, l, r, st, queues, timer, retrnsmt, uid;
    if (!(fields >> sl >> l >> r >> st >> queues >> timer >> retrnsmt >> uid)) continue;
    if (l != local || r != remote) continue;
    char* end = nullptr;
    unsigned long v = std::strtoul(uid.c_str(), &end, 10);
    if (end == uid.c_str() || *end != '\0') return std::nullopt;
    return static_cast<uid_t>(v);
  }
  return std::nullopt;
}

std::optional<uid_t> uid_by_proc_net_tcp(const SocketId& id) {
  std::ifstream file(id.family == AF_INET ? "/proc/net/tcp" : "/proc/net/tcp6");
  if (!file) return std::nullopt;
  std::ostringstream text;
  text << file.rdbuf();
  return uid_in_proc_net_tcp(text.str(), id);
}

}  // namespace socket_owner_detail

std::optional<uid_t> loopback_peer_uid(const TcpTransport& accepted) {
  using namespace socket_owner_detail;
  int fd = accepted.fd();
  if (fd < 0) return std::nullopt;
  std::optional<SocketId> id = client_socket_of(fd);
  if (!id || !is_loopback(id->family, id->local_addr)) return std::nullopt;
  if (auto uid = uid_by_sock_diag(*id)) return uid;
  return uid_by_proc_net_tcp(*id);
}

}  // namespace pvb
