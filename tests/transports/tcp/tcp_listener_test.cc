#include "transports/tcp/tcp_listener.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/transports/tcp/tcp_test_support.h"

namespace pvb {
namespace {

using testing::Collector;
using testing::have_ipv6_loopback;

void ignore(std::unique_ptr<TcpTransport>) {}

TEST(TcpListener, RefusesNonLoopbackAddressesBeforeBinding) {
  Loop loop;
  for (const char* host : {"0.0.0.0", "192.0.2.1", "::", "2001:db8::1", "::ffff:127.0.0.1"}) {
    auto l = TcpListener::listen(loop, host, 0, ignore);
    ASSERT_FALSE(l.ok()) << host;
    EXPECT_EQ(l.error().code(), Errc::usage) << host;
    EXPECT_NE(l.error().detail().find("only loopback"), std::string::npos) << l.error().detail();
    EXPECT_NE(l.error().detail().find(host), std::string::npos) << l.error().detail();
  }
}

TEST(TcpListener, RefusesNames) {
  Loop loop;
  auto l = TcpListener::listen(loop, "example.org", 0, ignore, {.loopback_only = false});
  ASSERT_FALSE(l.ok());
  EXPECT_EQ(l.error().code(), Errc::usage);
  EXPECT_NE(l.error().detail().find("not an IP address"), std::string::npos);
}

TEST(TcpListener, AcceptsAnyLoopbackAddress) {
  Loop loop;
  for (const char* host : {"127.0.0.1", "127.1.2.3", "localhost"}) {
    auto l = TcpListener::listen(loop, host, 0, ignore);
    ASSERT_TRUE(l.ok()) << host << ": " << l.error().message();
    EXPECT_NE(l.value()->port(), 0);
    EXPECT_EQ(l.value()->address(), std::string(host) == "localhost" ? "127.0.0.1" : host);
  }
}

TEST(TcpListener, ReportsRandomPortAndAcceptsOnIt) {
  Loop loop;
  std::vector<std::unique_ptr<TcpTransport>> accepted;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&](std::unique_ptr<TcpTransport> t) {
    accepted.push_back(std::move(t));
  });
  ASSERT_TRUE(l.ok());
  const uint16_t port = l.value()->port();
  EXPECT_NE(port, 0);
  Collector cc;
  auto client = TcpTransport::connect(loop, {"127.0.0.1", port});
  client->set_sink(&cc);
  client->start();
  ASSERT_TRUE(loop.run_until([&] { return accepted.size() == 1 && cc.connected; }));
  // Handed over unstarted: nothing is announced until the caller starts it.
  Collector sc;
  accepted[0]->set_sink(&sc);
  EXPECT_FALSE(accepted[0]->connected());
  EXPECT_EQ(accepted[0]->local_port(), port);
  accepted[0]->start();
  EXPECT_FALSE(sc.connected);  // posted, not from inside start()
  ASSERT_TRUE(loop.run_until([&] { return sc.connected; }));
}

TEST(TcpListener, Ipv6Loopback) {
  Loop loop;
  if (!have_ipv6_loopback(loop)) GTEST_SKIP() << "no IPv6 loopback on this machine";
  std::unique_ptr<TcpTransport> server;
  auto l = TcpListener::listen(loop, "::1", 0,
                               [&](std::unique_ptr<TcpTransport> t) { server = std::move(t); });
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l.value()->address(), "::1");
  Collector cc;
  auto client = TcpTransport::connect(loop, {"::1", l.value()->port()});
  client->set_sink(&cc);
  client->start();
  ASSERT_TRUE(loop.run_until([&] { return server && cc.connected; }));
  EXPECT_EQ(server->peer_address(), "::1");
  EXPECT_EQ(client->peer_address(), "::1");
}

TEST(TcpListener, PortInUseIsIoError) {
  Loop loop;
  auto first = TcpListener::listen(loop, "127.0.0.1", 0, ignore);
  ASSERT_TRUE(first.ok());
  auto second = TcpListener::listen(loop, "127.0.0.1", first.value()->port(), ignore);
  ASSERT_FALSE(second.ok());
  EXPECT_EQ(second.error().code(), Errc::io);
  EXPECT_EQ(second.error().native(), UV_EADDRINUSE);
}

TEST(TcpListener, CloseStopsAccepting) {
  Loop loop;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, ignore);
  ASSERT_TRUE(l.ok());
  const uint16_t port = l.value()->port();
  l.value()->close();
  l.value()->close();  // idempotent
  ASSERT_TRUE(loop.run_until([] { return true; }));
  Collector cc;
  auto client = TcpTransport::connect(loop, {"127.0.0.1", port});
  client->set_sink(&cc);
  client->start();
  ASSERT_TRUE(loop.run_until([&] { return cc.closed; }));
  EXPECT_EQ(cc.error.code(), Errc::connect);
}

TEST(TcpListener, MayBeDestroyedInsideOnAccept) {
  Loop loop;
  std::unique_ptr<TcpListener> listener;
  std::unique_ptr<TcpTransport> server;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&](std::unique_ptr<TcpTransport> t) {
    server = std::move(t);
    listener.reset();  // this callback lives with the libuv handle, so it may go on running
  });
  ASSERT_TRUE(l.ok());
  listener = std::move(l.value());
  Collector cc, sc;
  auto client = TcpTransport::connect(loop, {"127.0.0.1", listener->port()});
  client->set_sink(&cc);
  client->start();
  ASSERT_TRUE(loop.run_until([&] { return server != nullptr; }));
  EXPECT_EQ(listener, nullptr);
  server->set_sink(&sc);
  server->start();
  ByteChain hi("hi");
  server->write(hi, true);
  ASSERT_TRUE(loop.run_until([&] { return cc.ended; }));
  EXPECT_EQ(cc.data, "hi");
}

}  // namespace
}  // namespace pvb
