// The whole byte-moving stack, both directions at once, byte-exact:
//   client: WsTransport(client) ▶ TlsTransport(client, pinned) ▶ [ChunkLimiter] ▶ TCP or MemPipe
//   server: TCP or MemPipe ▶ TlsTransport(server) ▶ upgrade head ▶ WsTransport(server)
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "engine/core/random.h"
#include "transports/http/http_message.h"
#include "transports/tcp/tcp_listener.h"
#include "transports/tcp/tcp_transport.h"
#include "transports/testing/cert_gen.h"
#include "transports/testing/chunk_limiter.h"
#include "transports/testing/mem_pipe.h"
#include "transports/tls/tls_transport.h"
#include "transports/ws/handshake.h"
#include "transports/ws/ws_transport.h"

namespace pvb {
namespace {

std::string random_bytes(size_t n, uint64_t seed) {
  std::string s(n, '\0');
  SeededRandom r(seed);
  r.fill(s.data(), s.size());
  return s;
}

struct Certs {
  GeneratedCert cert;
  Sha256Fingerprint fp{};
  static const Certs& get() {
    static Certs c = [] {
      Certs x;
      CertSpec spec;
      spec.common_name = "localhost";
      spec.dns_sans = {"localhost"};
      spec.ip_sans = {"127.0.0.1"};
      auto g = generate_cert(spec);
      EXPECT_TRUE(g.ok());
      x.cert = std::move(*g);
      x.fp = x.cert.fingerprint;
      return x;
    }();
    return c;
  }
};

// Collects everything one end receives, and sends its own data once connected.
struct End : TransportSink {
  std::string to_send;
  std::string got;
  bool connected = false;
  bool ended = false;
  Error closed_with;
  bool closed = false;
  Transport* t = nullptr;
  void on_connected() override {
    connected = true;
    ByteChain c(to_send);
    t->write(c);
  }
  void on_data(ByteChain& data, bool end) override {
    got += data.to_string();
    data.clear();
    ended |= end;
  }
  void on_closed(const Error& e) override {
    closed = true;
    closed_with = e;
  }
};

// The server side of the upgrade: reads the request head through TLS, answers 101, then hands
// the TLS transport to a server-role WsTransport.
struct Upgrader : TransportSink {
  std::unique_ptr<Transport> tls;
  std::unique_ptr<WsTransport> ws;
  End* end = nullptr;
  Random* rng = nullptr;
  Error failed;
  void on_data(ByteChain& data, bool) override {
    if (ws) return;
    auto head = parse_request_head(data, HttpLimits{});
    if (!head.ok()) {
      failed = head.error();
      return;
    }
    if (!*head) return;  // need more
    auto hs = validate_client_handshake(**head);
    if (!hs.ok()) {
      failed = hs.error();
      return;
    }
    ByteChain out;
    write_response_head(build_server_response(hs->key, "binary"), out);
    tls->write(out);
    ByteChain leftover;
    leftover.move_from(data);
    tls->set_sink(nullptr);
    ws = WsTransport::server(std::move(tls), std::move(leftover), WsServerOptions{}, *rng);
    end->t = ws.get();
    ws->set_sink(end);
    ws->start();  // reports on_connected to `end`, which then sends its data
  }
  void on_closed(const Error& e) override { failed = e; }
};

enum class Lower { tcp, mem_pipe, chunked_mem_pipe };

// The largest transfer: 64 MiB each way; 16 MiB under the sanitizers, which are ~10x slower.
#ifdef PVB_SANITIZED
constexpr size_t kLargest = 16u << 20;
#else
constexpr size_t kLargest = 64u << 20;
#endif

struct Stack {
  Loop loop;
  SeededRandom rng{7};
  std::shared_ptr<TlsContext> server_ctx, client_ctx;
  std::unique_ptr<TcpListener> listener;
  Upgrader upgrader;
  End server, client;
  std::unique_ptr<WsTransport> client_ws;

  explicit Stack(Lower lower, std::string up, std::string down) {
    const Certs& certs = Certs::get();
    TlsServerConfig sc;
    sc.cert_chain_pem = certs.cert.cert_pem;
    sc.key_pem = certs.cert.key_pem;
    server_ctx = *TlsContext::create_server(sc);
    TlsClientConfig cc;
    cc.verify = TlsVerify::pinned;
    cc.pins = {certs.fp};
    client_ctx = *TlsContext::create_client(cc);
    client.to_send = std::move(up);
    server.to_send = std::move(down);
    upgrader.end = &server;
    upgrader.rng = &rng;

    std::unique_ptr<Transport> client_lower;
    if (lower == Lower::tcp) {
      auto l = TcpListener::listen(
          loop, "127.0.0.1", 0, [this](std::unique_ptr<TcpTransport> t) { serve(std::move(t)); });
      EXPECT_TRUE(l.ok());
      listener = std::move(*l);
      client_lower = TcpTransport::connect(loop, {"127.0.0.1", listener->port(), 5000});
    } else {
      auto [a, b] = make_mem_pipe(loop, MemPipeOptions{16 * 1024});
      serve(std::move(b));
      client_lower = std::move(a);
      if (lower == Lower::chunked_mem_pipe) {
        client_lower = std::make_unique<ChunkLimiter>(std::move(client_lower), 7);
      }
    }
    auto tls = std::make_unique<TlsTransport>(std::move(client_lower), client_ctx, "localhost");
    WsClientOptions wo;
    wo.host_header = "localhost";
    wo.path = "/api2/json/nodes/pve1/qemu/100/vncwebsocket?port=5900&vncticket=x";
    client_ws = WsTransport::client(std::move(tls), wo, rng);
    client.t = client_ws.get();
    client_ws->set_sink(&client);
    client_ws->start();
  }

  void serve(std::unique_ptr<Transport> raw) {
    upgrader.tls = std::make_unique<TlsTransport>(std::move(raw), server_ctx, "");
    upgrader.tls->set_sink(&upgrader);
    upgrader.tls->start();
  }

  bool run(size_t up, size_t down) {
    return loop.run_until([&] {
      return (server.got.size() >= up && client.got.size() >= down) || upgrader.failed.failed() ||
             client.closed;
    });
  }
};

struct StackCase {
  Lower lower;
  size_t size;
};

class StackTest : public ::testing::TestWithParam<StackCase> {};

TEST_P(StackTest, BothDirectionsAtOnceByteExact) {
  const StackCase& c = GetParam();
  std::string up = random_bytes(c.size, 1 + c.size);
  std::string down = random_bytes(c.size + 3, 2 + c.size);
  Stack s(c.lower, up, down);
  ASSERT_TRUE(s.run(up.size(), down.size()))
      << "server got " << s.server.got.size() << ", client got " << s.client.got.size() << ", "
      << s.upgrader.failed.message() << s.client.closed_with.message();
  EXPECT_TRUE(s.upgrader.failed.ok()) << s.upgrader.failed.message();
  EXPECT_EQ(s.server.got.size(), up.size());
  EXPECT_TRUE(s.server.got == up);
  EXPECT_EQ(s.client.got.size(), down.size());
  EXPECT_TRUE(s.client.got == down);
}

std::string case_name(const ::testing::TestParamInfo<StackCase>& info) {
  const char* l = info.param.lower == Lower::tcp        ? "Tcp"
                  : info.param.lower == Lower::mem_pipe ? "MemPipe"
                                                        : "ChunkLimiter";
  return std::string(l) + "_" + std::to_string(info.param.size);
}

INSTANTIATE_TEST_SUITE_P(
    Sizes, StackTest,
    ::testing::Values(StackCase{Lower::tcp, 0}, StackCase{Lower::tcp, 1},
                      StackCase{Lower::tcp, 16 * 1024 + 1}, StackCase{Lower::tcp, 1 << 20},
                      StackCase{Lower::tcp, kLargest}, StackCase{Lower::mem_pipe, 1},
                      StackCase{Lower::mem_pipe, 4u << 20}, StackCase{Lower::chunked_mem_pipe, 1},
                      StackCase{Lower::chunked_mem_pipe, 200 * 1024}),
    case_name);

}  // namespace
}  // namespace pvb
