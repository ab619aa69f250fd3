// Who owns the other end of a loopback connection. On a shared machine any local user can connect
// to our 127.0.0.1 listener; the bridge uses this to refuse clients of other users.
#pragma once

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace pvb {

class TcpTransport;

// The uid owning the *client* end of an accepted loopback connection, looked up with
// NETLINK_SOCK_DIAG (inet_diag, matching the 4-tuple, IPv4 and IPv6), falling back to parsing
// /proc/net/tcp{,6}. nullopt when the connection is not a loopback one or cannot be found.
// Linux only.
std::optional<uid_t> loopback_peer_uid(const TcpTransport& accepted);

// The two lookups, separately, for tests.
namespace socket_owner_detail {

// One TCP socket seen from its own side. Addresses in network byte order (4 or 16 bytes used),
// ports in host byte order. An IPv4-mapped IPv6 address is given as plain IPv4.
struct SocketId {
  int family = 0;  // AF_INET or AF_INET6
  std::array<uint8_t, 16> local_addr{};
  uint16_t local_port = 0;
  std::array<uint8_t, 16> remote_addr{};
  uint16_t remote_port = 0;
};

// The id of the client socket at the other end of an accepted connection; nullopt if fd is not a
// connected TCP socket.
std::optional<SocketId> client_socket_of(int accepted_fd);
std::optional<uid_t> uid_by_sock_diag(const SocketId& id);
// table: the text of /proc/net/tcp (IPv4 ids) or /proc/net/tcp6 (IPv6 ids).
std::optional<uid_t> uid_in_proc_net_tcp(std::string_view table, const SocketId& id);
std::optional<uid_t> uid_by_proc_net_tcp(const SocketId& id);

}  // namespace socket_owner_detail
}  // namespace pvb
