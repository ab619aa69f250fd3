#include "transports/tcp/socket_owner.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "tests/transports/tcp/tcp_test_support.h"

namespace pvb {
namespace {

using socket_owner_detail::client_socket_of;
using socket_owner_detail::SocketId;
using testing::Collector;
using testing::connect_pair;
using testing::have_ipv6_loopback;
using testing::TcpPair;

class LoopbackPeerUid : public ::testing::TestWithParam<const char*> {};

TEST_P(LoopbackPeerUid, ClientOfThisProcessIsOurUid) {
  Loop loop;
  if (std::string(GetParam()) == "::1" && !have_ipv6_loopback(loop)) {
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  }
  Collector cc, sc;
  TcpPair p = connect_pair(loop, GetParam(), cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));

  std::optional<uid_t> uid = loopback_peer_uid(*p.server);
  ASSERT_TRUE(uid.has_value());
  EXPECT_EQ(*uid, getuid());

  // Both lookups, separately, find the client's socket.
  std::optional<SocketId> id = client_socket_of(p.server->fd());
  ASSERT_TRUE(id.has_value());
  EXPECT_EQ(id->local_port, p.client->local_port());
  EXPECT_EQ(id->remote_port, p.server->local_port());
  std::optional<uid_t> by_proc = socket_owner_detail::uid_by_proc_net_tcp(*id);
  ASSERT_TRUE(by_proc.has_value());
  EXPECT_EQ(*by_proc, getuid());
  std::optional<uid_t> by_diag = socket_owner_detail::uid_by_sock_diag(*id);
  if (!by_diag) GTEST_SKIP() << "NETLINK_SOCK_DIAG (inet_diag) not available in this kernel";
  EXPECT_EQ(*by_diag, getuid());
}

INSTANTIATE_TEST_SUITE_P(Families, LoopbackPeerUid, ::testing::Values("127.0.0.1", "::1"),
                         [](const auto& info) {
                           return std::string(info.param) == "::1" ? "v6" : "v4";
                         });

TEST(LoopbackPeerUid, NotOpenIsUnknown) {
  Loop loop;
  auto t = TcpTransport::connect(loop, {"127.0.0.1", 1});
  EXPECT_FALSE(loopback_peer_uid(*t).has_value());
}

TEST(LoopbackPeerUid, SockDiagDoesNotMatchAnotherTuple) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  std::optional<SocketId> id = client_socket_of(p.server->fd());
  ASSERT_TRUE(id.has_value());
  id->local_port = static_cast<uint16_t>(id->local_port ^ 1);  // no such socket
  EXPECT_FALSE(socket_owner_detail::uid_by_sock_diag(*id).has_value());
  EXPECT_FALSE(socket_owner_detail::uid_by_proc_net_tcp(*id).has_value());
}

SocketId make_id(int family, const char* local, uint16_t lport, const char* remote,
                 uint16_t rport) {
  SocketId id;
  id.family = family;
  inet_pton(family, local, id.local_addr.data());
  inet_pton(family, remote, id.remote_addr.data());
  id.local_port = lport;
  id.remote_port = rport;
  return id;
}

TEST(ProcNetTcp, FindsTheMatchingLineIpv4) {
  // Two sockets of one connection (uid 1000 is the client at 127.0.0.1:40000) plus a listener.
  // Addresses are printed as the CPU reads the 32-bit word, so the text differs by endianness.
  uint32_t lo;
  inet_pton(AF_INET, "127.0.0.1", &lo);
  char lo_hex[9];
  std::snprintf(lo_hex, sizeof lo_hex, "%08X", static_cast<unsigned>(lo));
  const std::string l(lo_hex);
  const std::string table =
      "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  "
      "timeout inode\n"
      "   0: " +
      l +
      ":1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000   999  "
      "      0 100 1 0000000000000000 100 0 0 10 0\n"
      "   1: " +
      l + ":1F90 " + l +
      ":9C40 01 00000000:00000000 00:00000000 00000000   999  "
      "      0 101 1 0000000000000000 20 4 30 10 -1\n"
      "   2: " +
      l + ":9C40 " + l +
      ":1F90 01 00000000:00000000 00:00000000 00000000  1000  "
      "      0 102 1 0000000000000000 20 4 30 10 -1\n";
  auto client = make_id(AF_INET, "127.0.0.1", 40000, "127.0.0.1", 8080);
  EXPECT_EQ(socket_owner_detail::uid_in_proc_net_tcp(table, client), std::optional<uid_t>(1000));
  auto server = make_id(AF_INET, "127.0.0.1", 8080, "127.0.0.1", 40000);
  EXPECT_EQ(socket_owner_detail::uid_in_proc_net_tcp(table, server), std::optional<uid_t>(999));
  auto absent = make_id(AF_INET, "127.0.0.1", 40001, "127.0.0.1", 8080);
  EXPECT_FALSE(socket_owner_detail::uid_in_proc_net_tcp(table, absent).has_value());
}

TEST(ProcNetTcp, FindsTheMatchingLineIpv6) {
  in6_addr lo;
  inet_pton(AF_INET6, "::1", &lo);
  std::string l;
  for (int i = 0; i < 4; ++i) {
    uint32_t w;
    std::memcpy(&w, lo.s6_addr + 4 * i, 4);
    char hex[9];
    std::snprintf(hex, sizeof hex, "%08X", static_cast<unsigned>(w));
    l += hex;
  }
  const std::string table =
      "  sl  local_address                         remote_address                        st "
      "tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
      "   0: " +
      l + ":D431 " + l +
      ":170C 01 00000000:00000000 00:00000000 00000000  4242  "
      "      0 55 1 0000000000000000 20 4 30 10 -1\n";
  auto client = make_id(AF_INET6, "::1", 0xD431, "::1", 5900);
  EXPECT_EQ(socket_owner_detail::uid_in_proc_net_tcp(table, client), std::optional<uid_t>(4242));
  EXPECT_FALSE(socket_owner_detail::uid_in_proc_net_tcp("", client).has_value());
}

}  // namespace
}  // namespace pvb
