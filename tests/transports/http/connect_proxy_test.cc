// ConnectProxyTransport against a fake proxy on the far end of a MemPipe: the CONNECT request,
// the tunnel, the proxy's refusals, and the Transport contract around them.
#include "transports/http/connect_proxy.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "transports/http/http_parser.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

// The proxy side: reads the CONNECT head, then answers what the test says; afterwards it collects
// the tunnelled bytes.
class FakeProxy : public TransportSink {
 public:
  explicit FakeProxy(std::unique_ptr<MemPipeEnd> end) : end_(std::move(end)) {
    end_->set_sink(this);
    end_->start();
  }
  void on_data(ByteChain& data, bool end_stream) override {
    if (!head) {
      auto h = parse_request_head(data, HttpLimits{}, progress_);
      if (!h.ok()) {
        end_->close(CloseMode::Abort);
        return;
      }
      if (!*h) return;
      head = std::move(**h);
      if (!answer.empty()) send(answer);
    }
    tunnelled += data.to_string();
    data.clear();
    if (end_stream) ended = true;
  }
  void on_closed(const Error&) override { closed = true; }
  void send(std::string_view bytes) {
    ByteChain out(bytes);
    end_->write(out);
  }
  MemPipeEnd& end() { return *end_; }

  std::string answer = "HTTP/1.1 200 Connection established\r\n\r\n";
  std::optional<HttpRequestHead> head;
  std::string tunnelled;
  bool ended = false;
  bool closed = false;

 private:
  std::unique_ptr<MemPipeEnd> end_;
  HttpHeadProgress progress_;
};

struct Client : TransportSink {
  std::string data;
  bool connected = false;
  bool ended = false;
  bool closed = false;
  Error error;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& d, bool end_stream) override {
    data += d.to_string();
    d.clear();
    ended |= end_stream;
  }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

class ConnectProxyTest : public ::testing::Test {
 protected:
  void make(ConnectProxyOptions options = {}, MemPipeOptions pipe = {}) {
    if (options.target.empty()) options.target = "pve1.example.com:8006";
    if (options.proxy_name.empty()) options.proxy_name = "proxy.example.com:3128";
    auto [near, far] = make_mem_pipe(loop, pipe);
    lower = near.get();
    proxy = std::make_unique<FakeProxy>(std::move(far));
    tunnel = std::make_unique<ConnectProxyTransport>(std::move(near), std::move(options));
    tunnel->set_sink(&client);
  }
  void write(std::string_view bytes, bool end = false) {
    ByteChain c(bytes);
    tunnel->write(c, end);
  }
  void run_until_closed() {
    loop.run_until([&] { return client.closed; });
  }

  Loop loop;
  Client client;
  MemPipeEnd* lower = nullptr;
  std::unique_ptr<FakeProxy> proxy;
  std::unique_ptr<ConnectProxyTransport> tunnel;
};

TEST_F(ConnectProxyTest, TunnelCarriesBytesBothWaysAfterTheConnectHead) {
  make();
  write("client hello");  // queued until the tunnel is open
  EXPECT_EQ(tunnel->pending_write_bytes(), 12u);
  tunnel->start();
  loop.run_until([&] { return proxy->tunnelled == "client hello"; });
  ASSERT_TRUE(proxy->head);
  EXPECT_EQ(proxy->head->method, "CONNECT");
  EXPECT_EQ(proxy->head->target, "pve1.example.com:8006");
  EXPECT_EQ(proxy->head->headers.get("Host"), "pve1.example.com:8006");
  EXPECT_FALSE(proxy->head->headers.get("Proxy-Authorization"));
  EXPECT_TRUE(client.connected);
  EXPECT_TRUE(tunnel->tunnel_open());
  proxy->send("server hello");
  loop.run_until([&] { return client.data == "server hello"; });
  write("bye", true);
  loop.run_until([&] { return proxy->ended; });
  EXPECT_EQ(proxy->tunnelled, "client hellobye");
}

TEST_F(ConnectProxyTest, CredentialsGoInProxyAuthorization) {
  make({.proxy_authorization = "Basic dXNlcjpwYXNz"});
  tunnel->start();
  loop.run_until([&] { return client.connected; });
  ASSERT_TRUE(proxy->head);
  EXPECT_EQ(proxy->head->headers.get("Proxy-Authorization"), "Basic dXNlcjpwYXNz");
}

TEST_F(ConnectProxyTest, AnswerByteByByteAndBytesRightAfterIt) {
  make({}, MemPipeOptions{.max_delivery = 1});
  proxy->answer = "HTTP/1.0 200 OK\r\nContent-Length: 1000\r\nX: y\r\n\r\nearly";
  tunnel->start();
  loop.run_until([&] { return client.data == "early"; });
  EXPECT_TRUE(client.connected);
  EXPECT_FALSE(client.closed);  // the Content-Length of a CONNECT answer means nothing
}

TEST_F(ConnectProxyTest, RefusalsAreConnectErrorsWithTheStatusLine) {
  const std::pair<const char*, const char*> refusals[] = {
      {"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!", "403 Forbidden"},
      {"HTTP/1.1 502 Bad Gateway\r\n\r\n", "502 Bad Gateway"},
      {"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n", "407 Proxy Authentication Required"},
      {"HTTP/1.1 101 Switching Protocols\r\n\r\n", "101 Switching Protocols"},
  };
  for (auto [answer, status] : refusals) {
    client = Client{};
    make();
    proxy->answer = answer;
    write("must never reach the server");
    tunnel->start();
    run_until_closed();
    EXPECT_FALSE(client.connected) << answer;
    EXPECT_EQ(client.error.code(), Errc::connect) << client.error.message();
    const std::string m = client.error.message();
    EXPECT_NE(m.find(status), std::string::npos) << m;
    EXPECT_NE(m.find("proxy.example.com:3128"), std::string::npos) << m;
    EXPECT_NE(m.find("pve1.example.com:8006"), std::string::npos) << m;
    EXPECT_EQ(proxy->tunnelled, "") << "bytes went into a tunnel that was refused";
  }
}

TEST_F(ConnectProxyTest, RefusedCredentialsAreNamedButNeverShown) {
  // 407 is the standard answer; tinyproxy says 401.
  for (const char* answer : {"HTTP/1.1 407 Proxy Authentication Required\r\n\r\n",
                             "HTTP/1.1 401 Unauthorized\r\n\r\n"}) {
    client = Client{};
    make({.proxy_authorization = "Basic dXNlcjpwYXNz"});
    proxy->answer = answer;
    tunnel->start();
    run_until_closed();
    const std::string m = client.error.message();
    EXPECT_EQ(client.error.code(), Errc::connect);
    EXPECT_NE(m.find("credentials were refused"), std::string::npos) << m;
    EXPECT_EQ(m.find("dXNlcjpwYXNz"), std::string::npos) << m;
  }
}

TEST_F(ConnectProxyTest, ProxyHangsUpBeforeAnswering) {
  make();
  proxy->answer = "HTTP/1.1 200 Conn";  // half a head, then the end
  tunnel->start();
  loop.run_until([&] { return proxy->head.has_value(); });
  proxy->end().close(CloseMode::Flush);
  run_until_closed();
  EXPECT_EQ(client.error.code(), Errc::connection_lost) << client.error.message();
  EXPECT_NE(client.error.message().find("before answering CONNECT"), std::string::npos);
}

TEST_F(ConnectProxyTest, MalformedAndOversizedAnswers) {
  make();
  proxy->answer = "SSH-2.0-OpenSSH_9.2\r\n\r\n";
  tunnel->start();
  run_until_closed();
  EXPECT_EQ(client.error.code(), Errc::protocol) << client.error.message();

  client = Client{};
  make();
  proxy->answer = "HTTP/1.1 200 OK\r\nX-Padding: " + std::string(9000, 'a') + "\r\n\r\n";
  tunnel->start();
  run_until_closed();
  EXPECT_EQ(client.error.code(), Errc::too_large) << client.error.message();
}

TEST_F(ConnectProxyTest, NoAnswerInTimeIsATimeout) {
  make({.answer_timeout_ms = 20});
  proxy->answer = "";  // the proxy reads the request and says nothing
  tunnel->start();
  run_until_closed();
  EXPECT_EQ(client.error.code(), Errc::timeout) << client.error.message();
  EXPECT_NE(client.error.message().find("did not open a tunnel"), std::string::npos);
}

TEST_F(ConnectProxyTest, LowerFailureBeforeTheTunnelNamesTheProxy) {
  make();
  proxy->answer = "";
  tunnel->start();
  loop.run_until([&] { return proxy->head.has_value(); });
  proxy.reset();  // the far end vanishes: a reset for us
  run_until_closed();
  EXPECT_TRUE(client.error.failed());
  EXPECT_EQ(client.error.message().rfind("HTTP proxy", 0), 0u) << client.error.message();
}

TEST_F(ConnectProxyTest, ReadDisableReachesTheProxyConnection) {
  make();
  tunnel->start();
  loop.run_until([&] { return client.connected; });
  tunnel->read_disable(true);
  proxy->send("held back");
  loop.run_until([&] { return lower->buffered_read_bytes() == 9; });
  EXPECT_EQ(client.data, "");
  tunnel->read_disable(false);
  loop.run_until([&] { return client.data == "held back"; });
}

TEST_F(ConnectProxyTest, FlushCloseSendsWhatIsPendingFirst) {
  make();
  tunnel->start();
  loop.run_until([&] { return client.connected; });
  write(std::string(100000, 'x'));
  tunnel->close(CloseMode::Flush);
  loop.run_until([&] { return client.closed && proxy->ended; });
  EXPECT_TRUE(client.error.ok()) << client.error.message();
  EXPECT_EQ(proxy->tunnelled.size(), 100000u);
}

TEST_F(ConnectProxyTest, AbortBeforeTheTunnelEndsQuietly) {
  make();
  write("queued");
  tunnel->start();
  tunnel->close(CloseMode::Abort);
  run_until_closed();
  EXPECT_TRUE(client.error.ok());
  EXPECT_FALSE(client.connected);
  EXPECT_EQ(tunnel->pending_write_bytes(), 0u);
}

}  // namespace
}  // namespace pvb
