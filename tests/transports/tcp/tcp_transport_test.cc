#include "transports/tcp/tcp_transport.h"

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <ostream>

#include <string>
#include <vector>

#include "tests/transports/tcp/tcp_test_support.h"
#include "transports/tcp/tcp_listener.h"

namespace pvb {
namespace {

using testing::Collector;
using testing::connect_pair;
using testing::have_ipv6_loopback;
using testing::random_chain;
using testing::RandomVerifier;
using testing::TcpPair;

constexpr size_t kMiB = 1024 * 1024;

// --- byte-exact transfers, both directions at once -----------------------------------------------

struct TransferCase {
  const char* host;
  size_t size;
};

void PrintTo(const TransferCase& c, std::ostream* os) {
  *os << c.host << ", " << c.size << " B";
}

class TcpTransfer : public ::testing::TestWithParam<TransferCase> {};

TEST_P(TcpTransfer, BothDirectionsAtOnceByteExact) {
  const TransferCase c = GetParam();
  Loop loop;
  if (std::string(c.host) == "::1" && !have_ipv6_loopback(loop)) {
    GTEST_SKIP() << "no IPv6 loopback on this machine";
  }
  RandomVerifier at_client(2), at_server(1);
  TcpPair p = connect_pair(loop, c.host, at_client, at_server);
  ASSERT_TRUE(p.server);
  ByteChain up = random_chain(1, c.size), down = random_chain(2, c.size);
  p.client->write(up, true);
  p.server->write(down, true);
  EXPECT_TRUE(up.empty());  // the transport took the slices
  ASSERT_TRUE(loop.run_until([&] { return at_client.ended && at_server.ended; }));
  EXPECT_TRUE(at_client.connected && at_server.connected);
  EXPECT_EQ(at_server.received, c.size);
  EXPECT_EQ(at_client.received, c.size);
  EXPECT_FALSE(at_server.mismatch);
  EXPECT_FALSE(at_client.mismatch);
  ASSERT_TRUE(loop.run_until([&] {
    return p.client->pending_write_bytes() == 0 && p.server->pending_write_bytes() == 0;
  }));
  p.client->close(CloseMode::Flush);
  p.server->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return at_client.closed && at_server.closed; }));
  EXPECT_TRUE(at_client.error.ok()) << at_client.error.message();
  EXPECT_TRUE(at_server.error.ok()) << at_server.error.message();
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, TcpTransfer,
    ::testing::Values(TransferCase{"127.0.0.1", 0}, TransferCase{"127.0.0.1", 1},
                      TransferCase{"127.0.0.1", kMiB}, TransferCase{"127.0.0.1", 64 * kMiB},
                      TransferCase{"::1", 0}, TransferCase{"::1", 1}, TransferCase{"::1", kMiB},
                      TransferCase{"::1", 64 * kMiB}),
    [](const auto& info) {
      std::string family = std::string(info.param.host) == "::1" ? "v6" : "v4";
      return family + "_" + std::to_string(info.param.size) + "B";
    });

// --- connection setup ----------------------------------------------------------------------------

TEST(TcpTransport, ReportsAddressesAndPorts) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  EXPECT_EQ(p.client->peer_address(), "127.0.0.1");
  EXPECT_EQ(p.client->peer_port(), p.listener->port());
  EXPECT_EQ(p.server->local_port(), p.listener->port());
  EXPECT_EQ(p.server->peer_address(), p.client->local_address());
  EXPECT_EQ(p.server->peer_port(), p.client->local_port());
  EXPECT_NE(p.client->local_port(), 0);
}

TEST(TcpTransport, SetsNoDelayOnBothEnds) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  for (TcpTransport* t : {p.client.get(), p.server.get()}) {
    int on = 0;
    socklen_t len = sizeof on;
    ASSERT_GE(t->fd(), 0);
    ASSERT_EQ(getsockopt(t->fd(), IPPROTO_TCP, TCP_NODELAY, &on, &len), 0);
    EXPECT_NE(on, 0);
  }
}

// TcpKeepalive reaches the socket once it is connected, and a connection that did not ask has
// none (the kernel's default: never probes).
TEST(TcpTransport, SetsKeepaliveOnlyWhenAsked) {
  Loop loop;
  std::vector<std::unique_ptr<TcpTransport>> accepted;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&](std::unique_ptr<TcpTransport> t) {
    accepted.push_back(std::move(t));
  });
  ASSERT_TRUE(l.ok()) << l.error().message();
  Collector with_sink, without_sink;
  auto with =
      TcpTransport::connect(loop, {"127.0.0.1", (*l)->port(), 15000, TcpKeepalive{30, 10, 6}});
  auto without = TcpTransport::connect(loop, {"127.0.0.1", (*l)->port()});
  with->set_sink(&with_sink);
  without->set_sink(&without_sink);
  with->start();
  without->start();
  ASSERT_TRUE(loop.run_until([&] { return with_sink.connected && without_sink.connected; }));
  auto option = [](const TcpTransport& t, int level, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    EXPECT_EQ(getsockopt(t.fd(), level, name, &value, &len), 0);
    return value;
  };
  EXPECT_EQ(option(*with, SOL_SOCKET, SO_KEEPALIVE), 1);
  EXPECT_EQ(option(*with, IPPROTO_TCP, TCP_KEEPIDLE), 30);
  EXPECT_EQ(option(*with, IPPROTO_TCP, TCP_KEEPINTVL), 10);
  EXPECT_EQ(option(*with, IPPROTO_TCP, TCP_KEEPCNT), 6);
  EXPECT_EQ(option(*with, IPPROTO_TCP, TCP_USER_TIMEOUT), 90000);  // = the probes' end
  EXPECT_EQ(TcpKeepalive({30, 10, 6}).detection_ms(), 90000u);
  EXPECT_EQ(option(*without, SOL_SOCKET, SO_KEEPALIVE), 0);
  EXPECT_EQ(option(*without, IPPROTO_TCP, TCP_USER_TIMEOUT), 0);
}

TEST(TcpTransport, FdIsMinusOneWhenNotOpen) {
  Loop loop;
  auto t = TcpTransport::connect(loop, {"127.0.0.1", 1});
  EXPECT_EQ(t->fd(), -1);
  EXPECT_EQ(t->peer_address(), "");
}

TEST(TcpTransport, WritesBeforeConnectedAreQueued) {
  Loop loop;
  Collector sc;
  std::unique_ptr<TcpTransport> server;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&](std::unique_ptr<TcpTransport> t) {
    server = std::move(t);
    server->set_sink(&sc);
    server->start();
  });
  ASSERT_TRUE(l.ok());
  Collector cc;
  auto client = TcpTransport::connect(loop, {"localhost", l.value()->port()});
  client->set_sink(&cc);
  ByteChain early("written before start");
  client->write(early, true);
  EXPECT_EQ(client->pending_write_bytes(), 20u);
  client->start();
  ASSERT_TRUE(loop.run_until([&] { return sc.ended; }));
  EXPECT_EQ(sc.data, "written before start");
  EXPECT_TRUE(cc.connected);
}

TEST(TcpTransport, ConnectRefusedIsConnectError) {
  // A bound socket that does not listen: connecting to it is refused, and nobody else can take
  // the port meanwhile.
  int s = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(s, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
  socklen_t len = sizeof a;
  ASSERT_EQ(getsockname(s, reinterpret_cast<sockaddr*>(&a), &len), 0);
  const uint16_t port = ntohs(a.sin_port);

  Loop loop;
  Collector cc;
  auto t = TcpTransport::connect(loop, {"127.0.0.1", port});
  t->set_sink(&cc);
  t->start();
  ASSERT_TRUE(loop.run_until([&] { return cc.closed; }));
  ::close(s);
  EXPECT_FALSE(cc.connected);
  EXPECT_EQ(cc.error.code(), Errc::connect);
  EXPECT_EQ(cc.error.native(), UV_ECONNREFUSED);
  EXPECT_EQ(cc.error.detail(),
            "connect to 127.0.0.1:" + std::to_string(port) + ": connection refused");
  EXPECT_EQ(t->failure().code(), Errc::connect);
}

TEST(TcpTransport, UnresolvableNameIsDnsError) {
  // Not "nonexistent.invalid": the resolver would send that to the configured (non-loopback)
  // name server. A label longer than 63 bytes fails inside the local resolver, no packet sent.
  const std::string host = std::string(70, 'a') + ".invalid";
  Loop loop;
  Collector cc;
  auto t = TcpTransport::connect(loop, {host, 80});
  t->set_sink(&cc);
  t->start();
  ASSERT_TRUE(loop.run_until([&] { return cc.closed; }));
  EXPECT_EQ(cc.error.code(), Errc::dns);
  EXPECT_NE(cc.error.native(), 0);
  EXPECT_EQ(cc.error.detail().rfind("cannot resolve " + host + ": ", 0), 0u) << cc.error.detail();
}

TEST(TcpTransport, ConnectTimeoutIsTimeoutError) {
  // A zero timeout has expired before the resolver thread can answer for "localhost".
  Loop loop;
  Collector cc;
  auto t = TcpTransport::connect(loop, {"localhost", 5900, 0});
  t->set_sink(&cc);
  t->start();
  ASSERT_TRUE(loop.run_until([&] { return cc.closed; }));
  EXPECT_FALSE(cc.connected);
  EXPECT_EQ(cc.error.code(), Errc::timeout);
  EXPECT_NE(cc.error.detail().find("localhost:5900"), std::string::npos) << cc.error.detail();
}

TEST(TcpTransport, ConnectsByNameToIpv4Listener) {
  // "localhost" may resolve to ::1 first; the IPv6 attempt is refused and the next address used.
  Loop loop;
  Collector sc;
  std::unique_ptr<TcpTransport> server;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&](std::unique_ptr<TcpTransport> t) {
    server = std::move(t);
    server->set_sink(&sc);
    server->start();
  });
  ASSERT_TRUE(l.ok());
  Collector cc;
  auto client = TcpTransport::connect(loop, {"localhost", l.value()->port()});
  client->set_sink(&cc);
  client->start();
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  EXPECT_EQ(client->peer_address(), "127.0.0.1");
}

}  // namespace

// Connects to a fixed address list, as if the resolver had returned it.
struct TcpTransportTestAccess {
  static void start_with_addresses(TcpTransport& t, const std::vector<std::string>& ips,
                                   uint16_t port) {
    std::vector<sockaddr_storage> list;
    for (const std::string& ip : ips) {
      sockaddr_storage ss{};
      if (uv_ip4_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in*>(&ss)) != 0) {
        uv_ip6_addr(ip.c_str(), port, reinterpret_cast<sockaddr_in6*>(&ss));
      }
      list.push_back(ss);
    }
    t.started_ = true;
    t.state_ = TcpTransport::State::resolving;
    t.connect_to(std::move(list));
  }
};

namespace {

TEST(TcpTransport, TriesEachAddressInOrder) {
  Loop loop;
  const bool v6 = have_ipv6_loopback(loop);
  Collector sc;
  std::unique_ptr<TcpTransport> server;
  auto l = TcpListener::listen(loop, "127.0.0.2", 0, [&](std::unique_ptr<TcpTransport> t) {
    server = std::move(t);
    server->set_sink(&sc);
    server->start();
  });
  ASSERT_TRUE(l.ok());
  const uint16_t port = l.value()->port();
  // Nothing listens on the first addresses (same port, other loopback addresses): refused, next.
  std::vector<std::string> ips = {"127.0.0.3", "127.0.0.2"};
  if (v6) ips.insert(ips.begin(), "::1");
  Collector cc;
  auto client = TcpTransport::connect(loop, {"multi.test", port});
  client->set_sink(&cc);
  TcpTransportTestAccess::start_with_addresses(*client, ips, port);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  EXPECT_EQ(client->peer_address(), "127.0.0.2");

  // When every address fails, the last error is reported with the name and port.
  Collector refused;
  auto nowhere = TcpTransport::connect(loop, {"multi.test", port});
  nowhere->set_sink(&refused);
  TcpTransportTestAccess::start_with_addresses(*nowhere, {"127.0.0.3", "127.0.0.4"}, port);
  ASSERT_TRUE(loop.run_until([&] { return refused.closed; }));
  EXPECT_EQ(refused.error.code(), Errc::connect);
  EXPECT_EQ(refused.error.detail(),
            "connect to multi.test:" + std::to_string(port) + ": connection refused");
}

// --- half-close, close, reset --------------------------------------------------------------------

TEST(TcpTransport, HalfCloseKeepsTheOtherDirection) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ByteChain q("question");
  p.client->write(q, true);
  ASSERT_TRUE(loop.run_until([&] { return sc.ended; }));
  EXPECT_EQ(sc.data, "question");
  // The server can still answer after the client ended its direction, several times.
  ByteChain a1("answer, "), a2("and more");
  p.server->write(a1);
  ASSERT_TRUE(loop.run_until([&] { return cc.data == "answer, "; }));
  p.server->write(a2, true);
  ASSERT_TRUE(loop.run_until([&] { return cc.ended; }));
  EXPECT_EQ(cc.data, "answer, and more");
  EXPECT_FALSE(cc.closed);
  EXPECT_FALSE(sc.closed);
  // Writing after end_stream is dropped, not an error.
  ByteChain late("late");
  p.client->write(late);
  EXPECT_TRUE(late.empty());
  EXPECT_EQ(p.client->pending_write_bytes(), 0u);
}

TEST(TcpTransport, FlushCloseDeliversPendingThenEnds) {
  Loop loop;
  RandomVerifier sc(7);
  Collector cc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ByteChain big = random_chain(7, 4 * kMiB);
  p.client->write(big);
  p.client->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return sc.ended && cc.closed; }));
  EXPECT_EQ(sc.received, 4 * kMiB);
  EXPECT_FALSE(sc.mismatch);
  EXPECT_TRUE(cc.error.ok());
  EXPECT_EQ(p.client->fd(), -1);
  EXPECT_FALSE(sc.closed);  // the other side just saw end of stream
}

TEST(TcpTransport, FlushCloseTowardAPeerThatNeverReadsGivesUp) {
  // The server side stops reading: the client's bytes fill every buffer and stay. close(Flush)
  // must not wait for ever: with nothing moving for kFlushGraceMs it aborts with a timeout.
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  p.server->read_disable(true);
  ByteChain big = random_chain(3, 64 * kMiB);  // more than loopback's socket buffers hold
  p.client->write(big);
  p.client->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return cc.closed; }));
  EXPECT_EQ(cc.error.code(), Errc::timeout) << cc.error.message();
  EXPECT_EQ(p.client->fd(), -1);
}

TEST(TcpTransport, FlushCloseWhileConnectingSendsQueuedBytes) {
  Loop loop;
  Collector sc;
  std::unique_ptr<TcpTransport> server;
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [&](std::unique_ptr<TcpTransport> t) {
    server = std::move(t);
    server->set_sink(&sc);
    server->start();
  });
  ASSERT_TRUE(l.ok());
  Collector cc;
  auto client = TcpTransport::connect(loop, {"127.0.0.1", l.value()->port()});
  client->set_sink(&cc);
  client->start();
  ByteChain bye("goodbye");
  client->write(bye);
  client->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return sc.ended && cc.closed; }));
  EXPECT_EQ(sc.data, "goodbye");
  EXPECT_TRUE(cc.error.ok());
}

// A peer that is still sending when we close (pveproxy streaming the picture when the viewer
// leaves) must still read our last bytes: we wait for its FIN, reading and dropping, instead of
// closing at once, which would answer its next segment with an RST that can destroy them.
TEST(TcpTransport, FlushCloseWaitsForThePeersFinWhileItStillSends) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  p.server->read_disable(true);  // busy sending: it reads our last bytes only later
  ByteChain last("bye");
  p.client->write(last);
  p.client->close(CloseMode::Flush);
  Timer stream(loop);
  int chunks = 0;
  stream.start_repeat(5, 5, [&] {
    ByteChain more = random_chain(chunks, 64 * 1024);
    if (!sc.closed) p.server->write(more);
    if (++chunks == 40) stream.stop();
  });
  ASSERT_TRUE(loop.run_until([&] { return chunks == 40 || sc.closed; }));
  EXPECT_FALSE(sc.closed) << sc.error.message();  // no reset while it sent for 200 ms
  EXPECT_FALSE(cc.closed);                        // still waiting for the peer's FIN
  p.server->read_disable(false);
  ASSERT_TRUE(loop.run_until([&] { return sc.ended || sc.closed; }));
  EXPECT_EQ(sc.data, "bye");
  EXPECT_TRUE(sc.ended);
  p.server->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return cc.closed && sc.closed; }));
  EXPECT_TRUE(cc.error.ok()) << cc.error.message();
  EXPECT_TRUE(sc.error.ok()) << sc.error.message();
}

// A peer that never closes costs at most the linger time (1 s), then the close completes.
TEST(TcpTransport, FlushCloseGivesUpWaitingForASilentPeer) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  p.client->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return sc.ended; }));
  ASSERT_TRUE(loop.run_until([&] { return cc.closed; }));  // the peer never closed
  EXPECT_TRUE(cc.error.ok()) << cc.error.message();
  EXPECT_EQ(p.client->fd(), -1);
}

TEST(TcpTransport, AbortResetsPeerAsConnectionLost) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  ByteChain unsent = random_chain(3, kMiB);
  p.server->write(unsent);
  p.server->close(CloseMode::Abort);
  EXPECT_EQ(p.server->pending_write_bytes(), 0u);
  ASSERT_TRUE(loop.run_until([&] { return cc.closed && sc.closed; }));
  EXPECT_TRUE(sc.error.ok());
  EXPECT_EQ(cc.error.code(), Errc::connection_lost);
  EXPECT_EQ(cc.error.native(), UV_ECONNRESET);
  EXPECT_NE(cc.error.detail().find("127.0.0.1:" + std::to_string(p.listener->port())),
            std::string::npos)
      << cc.error.detail();
}

TEST(TcpTransport, WriteToResetPeerIsConnectionLost) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected && sc.connected; }));
  // The client does not read, so only its writes can discover the reset.
  p.client->read_disable(true);
  p.server->close(CloseMode::Abort);
  ASSERT_TRUE(loop.run_until([&] { return sc.closed; }));
  for (int i = 0; i < 4 && !cc.closed; ++i) {
    ByteChain more = random_chain(4, kMiB);
    p.client->write(more);
    ASSERT_TRUE(loop.run_until([&] { return cc.closed || p.client->pending_write_bytes() == 0; }));
  }
  ASSERT_TRUE(cc.closed);
  EXPECT_EQ(cc.error.code(), Errc::connection_lost);
  EXPECT_TRUE(cc.error.native() == UV_ECONNRESET || cc.error.native() == UV_EPIPE)
      << cc.error.message();
  struct sigaction sa {};
  ASSERT_EQ(sigaction(SIGPIPE, nullptr, &sa), 0);
  EXPECT_EQ(sa.sa_handler, SIG_IGN);  // a further write must not kill the process
}

TEST(TcpTransport, OnClosedComesOnceAndNeverFromInsideClose) {
  Loop loop;
  struct CountingSink : Collector {
    int closes = 0;
    void on_closed(const Error& e) override {
      ++closes;
      Collector::on_closed(e);
    }
  } cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  ASSERT_TRUE(loop.run_until([&] { return cc.connected; }));
  p.client->close(CloseMode::Abort);
  p.client->close(CloseMode::Flush);
  EXPECT_EQ(cc.closes, 0);  // posted, not re-entrant
  ASSERT_TRUE(loop.run_until([&] { return cc.closes > 0 && sc.closed; }));
  p.listener->close();
  loop.run_until([] { return false; });  // run until nothing is left to do
  EXPECT_EQ(cc.closes, 1);
}

// --- reading rules -------------------------------------------------------------------------------

TEST(TcpTransport, LeftoverBytesAreOfferedAgainOnResume) {
  Loop loop;
  // Takes one byte per offer and pauses; a resume must re-offer the rest without new data.
  struct OneAtATime : TransportSink {
    Transport* t = nullptr;
    std::string got;
    bool paused = false;
    void on_data(ByteChain& c, bool) override {
      if (c.empty()) return;
      got += static_cast<char>(c.at(0));
      c.drain(1);
      if (!paused) {
        paused = true;
        t->read_disable(true);
      }
    }
    void on_closed(const Error&) override {}
  } sc;
  Collector cc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  sc.t = p.server.get();
  ByteChain msg("abc");
  p.client->write(msg);
  ASSERT_TRUE(loop.run_until([&] { return sc.got == "a"; }));
  for (char expected : std::string("bc")) {
    sc.paused = false;
    p.server->read_disable(false);
    ASSERT_TRUE(loop.run_until([&] { return sc.got.back() == expected; }));
  }
  EXPECT_EQ(sc.got, "abc");
}

TEST(TcpTransport, ReadDisableIsCounted) {
  Loop loop;
  Collector cc, sc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  p.server->read_disable(true);
  p.server->read_disable(true);
  ByteChain msg("hello");
  p.client->write(msg, true);
  ASSERT_TRUE(loop.run_until([&] { return p.client->pending_write_bytes() == 0; }));
  p.server->read_disable(false);  // one reason to pause remains
  // Give the loop a chance to (wrongly) deliver: the flush-close of the client is I/O we can await.
  p.client->close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return cc.closed; }));
  EXPECT_TRUE(sc.data.empty());
  p.server->read_disable(false);
  ASSERT_TRUE(loop.run_until([&] { return sc.ended; }));
  EXPECT_EQ(sc.data, "hello");
}

// --- backpressure --------------------------------------------------------------------------------

TEST(TcpTransport, BackpressureRaisesPendingAndResumes) {
  Loop loop;
  RandomVerifier reader_sink(11);
  Collector writer_sink;
  TcpPair p = connect_pair(loop, "127.0.0.1", writer_sink, reader_sink);
  ASSERT_TRUE(p.server);
  TcpTransport& writer = *p.client;
  TcpTransport& reader = *p.server;
  reader.read_disable(true);
  ByteChain data = random_chain(11, 64 * kMiB);
  writer.write(data);
  EXPECT_EQ(writer.pending_write_bytes(), 64 * kMiB);
  ASSERT_TRUE(loop.run_until([&] { return writer_sink.highs == 1; }));
  EXPECT_TRUE(writer.above_write_high());
  // Kernel buffers hold at most a few tens of MiB (tcp_wmem + tcp_rmem): the rest stays queued.
  EXPECT_GT(writer.pending_write_bytes(), 16 * kMiB);
  EXPECT_EQ(reader_sink.received, 0u);
  reader.read_disable(false);
  ASSERT_TRUE(loop.run_until([&] { return reader_sink.received == 64 * kMiB; }));
  EXPECT_FALSE(reader_sink.mismatch);
  ASSERT_TRUE(loop.run_until([&] { return writer_sink.lows == 1; }));
  EXPECT_EQ(writer.pending_write_bytes(), 0u);
  EXPECT_EQ(writer_sink.highs, 1);
}

// --- destruction from inside callbacks -----------------------------------------------------------

TEST(TcpTransport, DestroyedInsideItsOwnOnData) {
  Loop loop;
  struct SelfDestruct : TransportSink {
    Loop* loop = nullptr;
    std::unique_ptr<TcpTransport>* owner = nullptr;
    size_t seen = 0;
    void on_data(ByteChain& c, bool) override {
      seen += c.size();
      c.clear();
      // With a megabyte of its own still in flight: the slices must outlive the transport.
      ByteChain reply = random_chain(5, kMiB);
      (*owner)->write(reply);
      loop->defer_delete(std::move(*owner));
    }
    void on_closed(const Error&) override { ADD_FAILURE() << "on_closed after destruction"; }
  } sc;
  Collector cc;
  TcpPair p = connect_pair(loop, "127.0.0.1", cc, sc);
  ASSERT_TRUE(p.server);
  sc.loop = &loop;
  sc.owner = &p.server;
  ByteChain ping("ping");
  p.client->write(ping);
  ASSERT_TRUE(loop.run_until([&] { return cc.closed || cc.ended; }));
  EXPECT_EQ(p.server, nullptr);
  EXPECT_GT(sc.seen, 0u);
}

TEST(TcpTransport, DestroyedWhileResolvingAndConnecting) {
  Loop loop;
  Collector cc;
  auto resolving = TcpTransport::connect(loop, {"localhost", 1});
  resolving->set_sink(&cc);
  resolving->start();
  resolving.reset();  // the resolver callback still comes, and must not touch it
  auto l = TcpListener::listen(loop, "127.0.0.1", 0, [](std::unique_ptr<TcpTransport>) {});
  ASSERT_TRUE(l.ok());
  auto connecting = TcpTransport::connect(loop, {"127.0.0.1", l.value()->port()});
  connecting->set_sink(&cc);
  connecting->start();
  ASSERT_TRUE(loop.run_until([&] { return connecting->fd() >= 0; }));
  connecting.reset();
  l.value()->close();
  loop.run_until([] { return false; });  // run until nothing is left to do
  EXPECT_FALSE(cc.closed);
  EXPECT_FALSE(cc.connected);
}

}  // namespace
}  // namespace pvb
