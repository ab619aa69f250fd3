// SpiceRelay in process: the listener and the dialer are fakes handing out MemPipe ends, so every
// byte the relay sends to "spiceproxy" and to "remote-viewer" is seen, and nothing is a socket.
#include "engine/console/spice_relay.h"

#include <gtest/gtest.h>

#include <deque>
#include <vector>

#include "engine/core/platform.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

// parse_connect_head ---------------------------------------------------------------------------

TEST(ConnectHead, RemoteViewersRequest) {
  const std::string text =
      "CONNECT pvespiceproxy:6745abcd:100:pve1:61000::0123:61000 HTTP/1.0\r\n"
      "Host: pvespiceproxy:6745abcd:100:pve1:61000::0123:61000\r\n"
      "Proxy-Connection: keep-alive\r\n\r\nTLS...";
  auto h = parse_connect_head(text);
  ASSERT_TRUE(h.ok());
  ASSERT_TRUE(h->has_value());
  EXPECT_EQ((*h)->target, "pvespiceproxy:6745abcd:100:pve1:61000::0123:61000");
  EXPECT_EQ((*h)->version, "HTTP/1.0");
  EXPECT_EQ((*h)->host, "pvespiceproxy:6745abcd:100:pve1:61000::0123:61000");
  EXPECT_EQ((*h)->length, text.size() - 6);  // up to "TLS..."
}

TEST(ConnectHead, IncompleteThenTooLarge) {
  auto h = parse_connect_head("CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\n");
  ASSERT_TRUE(h.ok());
  EXPECT_FALSE(h->has_value());
  std::string big = "CONNECT a:1 HTTP/1.1\r\nX: " + std::string(SpiceRelayOptions::kMaxHead, 'x');
  auto t = parse_connect_head(big);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().code(), Errc::too_large);
}

TEST(ConnectHead, RefusesWhatIsNotAConnect) {
  for (const std::string& bad : std::vector<std::string>{
           "GET / HTTP/1.1\r\n\r\n", "CONNECT a:1\r\n\r\n", "CONNECT a:1 HTTP/2\r\n\r\n",
           "CONNECT  a:1 HTTP/1.1\r\n\r\n", "CONNECT a:1 HTTP/1.1\r\nno colon\r\n\r\n",
           "CONNECT a:1 HTTP/1.1\r\nHost: a:1\r\nHost: b:2\r\n\r\n",
           "CONNECT a:1 HTTP/1.1\r\nHo st: a\r\n\r\n",
           std::string("CONNECT a:1 HTTP/1.1\r\nX: \0\r\n\r\n", 31)}) {
    auto h = parse_connect_head(bad);
    EXPECT_FALSE(h.ok()) << bad;
    if (!h.ok()) {
      EXPECT_EQ(h.error().code(), Errc::protocol) << bad;
    }
  }
}

// The relay ------------------------------------------------------------------------------------

struct Collector : TransportSink {
  std::string got;
  bool ended = false;
  bool closed = false;
  bool connected = false;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& d, bool end) override {
    got += d.to_string();
    d.clear();
    ended |= end;
  }
  void on_closed(const Error&) override { closed = true; }
};

class FakeListeners final : public ListenerFactory {
 public:
  class FakeListener final : public Listener {
   public:
    uint16_t port() const override { return 40000; }
    void close() override { closed = true; }
    bool closed = false;
  };
  Result<std::unique_ptr<Listener>> listen(const std::string&, uint16_t,
                                           AcceptFn on_accept) override {
    accept = std::move(on_accept);
    auto l = std::make_unique<FakeListener>();
    listener = l.get();
    return std::unique_ptr<Listener>(std::move(l));
  }
  AcceptFn accept;
  FakeListener* listener = nullptr;
};

// "spiceproxy": each open_stream is a MemPipe whose far end the test holds.
class FakeDialer final : public Dialer {
 public:
  explicit FakeDialer(Loop& loop) : loop_(loop) {}
  std::unique_ptr<HttpExchange> open_http(const ApiHost&) override { return nullptr; }
  std::unique_ptr<WebSocketStream> open_websocket(const ApiHost&, WebSocketRequest) override {
    return nullptr;
  }
  std::unique_ptr<Transport> open_stream(const ApiHost& host) override {
    dialed.push_back(host.authority());
    if (unreachable) return nullptr;
    auto [ours, theirs] = make_mem_pipe(loop_);
    far.push_back(std::move(theirs));
    sinks.push_back(std::make_unique<Collector>());
    far.back()->set_sink(sinks.back().get());
    far.back()->start();
    return std::move(ours);
  }
  Loop& loop_;
  bool unreachable = false;
  std::vector<std::string> dialed;
  std::vector<std::unique_ptr<MemPipeEnd>> far;
  std::vector<std::unique_ptr<Collector>> sinks;
};

constexpr char kTarget[] = "pvespiceproxy:6745abcd:100:pve1:61000::0123456789:61000";

class SpiceRelayTest : public ::testing::Test {
 protected:
  SpiceRelayTest() : dialer_(loop_) {
    options_.upstream = ApiHost{"pve1", 3128};
    options_.allowed_target = kTarget;
    options_.on_tunnel_open = [this] { ++opened_; };
    options_.on_tunnel_closed = [this] { ++closed_; };
    options_.on_refused = [this](std::string_view why) { refusals_.emplace_back(why); };
  }
  void start() {
    relay_ = std::make_unique<SpiceRelay>(loop_, listeners_, dialer_, options_);
    ASSERT_TRUE(relay_->listen().ok());
  }
  // A local client of `uid`; returns the viewer's end.
  MemPipeEnd* client(std::optional<uint32_t> uid, MemPipeOptions o = {}) {
    auto [viewer, relay_side] = make_mem_pipe(loop_, o);
    viewers_.push_back(std::move(viewer));
    viewer_sinks_.push_back(std::make_unique<Collector>());
    viewers_.back()->set_sink(viewer_sinks_.back().get());
    viewers_.back()->start();
    listeners_.accept(AcceptedClient{std::move(relay_side), "127.0.0.1:5555", uid});
    return viewers_.back().get();
  }
  void send(MemPipeEnd* end, const std::string& text) {
    ByteChain c(text);
    end->write(c);
  }
  bool run_until(std::function<bool()> pred) { return loop_.run_until(pred); }

  Loop loop_;
  FakeListeners listeners_;
  FakeDialer dialer_;
  SpiceRelayOptions options_;
  std::unique_ptr<SpiceRelay> relay_;
  std::vector<std::unique_ptr<MemPipeEnd>> viewers_;
  std::vector<std::unique_ptr<Collector>> viewer_sinks_;
  int opened_ = 0;
  int closed_ = 0;
  std::vector<std::string> refusals_;
};

TEST_F(SpiceRelayTest, TunnelsTheConsolesTargetBothWays) {
  start();
  // One byte at a time: the head may arrive in any pieces.
  MemPipeOptions slow;
  slow.max_delivery = 1;
  MemPipeEnd* viewer = client(current_user_id(), slow);
  std::string head = std::string("CONNECT ") + kTarget + " HTTP/1.1\r\nHost: " + kTarget +
                     "\r\nUser-Agent: remote-viewer\r\nX-Secret: not forwarded\r\n\r\n";
  send(viewer, head + "early");
  ASSERT_TRUE(
      run_until([&] { return dialer_.sinks.size() == 1 && dialer_.sinks[0]->got.size() >= 5; }));
  EXPECT_EQ(dialer_.dialed, std::vector<std::string>{"pve1:3128"});
  // Our own head (no header of the client's), then what the client sent after its head.
  const std::string ours =
      std::string("CONNECT ") + kTarget + " HTTP/1.1\r\nHost: " + kTarget + "\r\n\r\n";
  ASSERT_TRUE(run_until([&] { return dialer_.sinks[0]->got.size() == ours.size() + 5; }));
  EXPECT_EQ(dialer_.sinks[0]->got, ours + "early");
  EXPECT_EQ(opened_, 1);
  EXPECT_EQ(relay_->tunnels_open(), 1u);
  send(dialer_.far[0].get(), "HTTP/1.1 200 OK\r\n\r\nserver hello");
  ASSERT_TRUE(run_until([&] { return viewer_sinks_[0]->got.size() == 31; }));
  EXPECT_EQ(viewer_sinks_[0]->got, "HTTP/1.1 200 OK\r\n\r\nserver hello");
  send(viewer, "client data");
  ASSERT_TRUE(run_until([&] { return dialer_.sinks[0]->got.size() == ours.size() + 16; }));
  // The viewer goes: the tunnel ends, and the relay with nothing left is idle.
  viewer->close(CloseMode::Flush);
  ASSERT_TRUE(run_until([&] { return closed_ == 1 && relay_->idle(); }));
  EXPECT_EQ(relay_->tunnels_open(), 0u);
  EXPECT_EQ(relay_->bytes_from_guest(), 31u);
  EXPECT_TRUE(refusals_.empty());
}

TEST_F(SpiceRelayTest, RefusesOtherTargetsAndOtherUsers) {
  start();
  MemPipeEnd* other = client(current_user_id());
  send(other, "CONNECT pve1:22 HTTP/1.1\r\nHost: pve1:22\r\n\r\n");
  // The right target in the request line but another ticket in Host (spiceproxy reads Host).
  MemPipeEnd* smuggler = client(current_user_id());
  send(smuggler, std::string("CONNECT ") + kTarget + " HTTP/1.1\r\nHost: pve1:22\r\n\r\n");
  MemPipeEnd* garbage = client(current_user_id());
  send(garbage, "GET / HTTP/1.1\r\n\r\n");
  client(current_user_id() + 1);
  client(std::nullopt);
  ASSERT_TRUE(run_until([&] { return refusals_.size() == 5 && relay_->idle(); }));
  EXPECT_EQ(viewer_sinks_[0]->got.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_EQ(viewer_sinks_[1]->got.rfind("HTTP/1.1 403 Forbidden\r\n", 0), 0u);
  EXPECT_EQ(viewer_sinks_[2]->got.rfind("HTTP/1.1 400 Bad Request\r\n", 0), 0u);
  EXPECT_EQ(viewer_sinks_[3]->got, "");  // another user: dropped without a word
  EXPECT_TRUE(dialer_.dialed.empty()) << "nothing refused may reach spiceproxy";
  EXPECT_EQ(opened_, 0);
  for (const auto& r : refusals_) {
    EXPECT_EQ(r.find("pve1:22"), std::string::npos) << "a refusal echoes the target: " << r;
  }
}

TEST_F(SpiceRelayTest, UnreachableSpiceproxyIs502) {
  dialer_.unreachable = true;
  start();
  send(client(current_user_id()),
       std::string("CONNECT ") + kTarget + " HTTP/1.0\r\nHost: " + kTarget + "\r\n\r\n");
  // The relay closed its side: the viewer sees the end of the stream.
  ASSERT_TRUE(run_until([&] { return viewer_sinks_[0]->ended && relay_->idle(); }));
  EXPECT_EQ(viewer_sinks_[0]->got.rfind("HTTP/1.1 502 Bad Gateway\r\n", 0), 0u);
}

TEST_F(SpiceRelayTest, CloseEndsEveryTunnelAndStopsListening) {
  start();
  for (int i = 0; i < 3; ++i) {
    send(client(current_user_id()),
         std::string("CONNECT ") + kTarget + " HTTP/1.1\r\nHost: " + kTarget + "\r\n\r\n");
  }
  ASSERT_TRUE(run_until([&] { return opened_ == 3; }));
  relay_->close();
  EXPECT_TRUE(listeners_.listener->closed);
  ASSERT_TRUE(run_until([&] { return relay_->idle(); }));
  EXPECT_EQ(closed_, 3);
  for (auto& s : viewer_sinks_) EXPECT_TRUE(s->ended);
}

TEST_F(SpiceRelayTest, HeadTimeout) {
  options_.head_timeout_ms = 20;
  start();
  send(client(current_user_id()), "CONNECT ");
  ASSERT_TRUE(run_until([&] { return refusals_.size() == 1 && relay_->idle(); }));
  ASSERT_TRUE(run_until([&] { return viewer_sinks_[0]->ended || viewer_sinks_[0]->closed; }));
}

}  // namespace
}  // namespace pvb
