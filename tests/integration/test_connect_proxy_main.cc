// test-connect-proxy: a small HTTP CONNECT proxy for the end-to-end tests, on the project's own
// transports (tinyproxy is the independent one). It tells the test what it saw, so a test can
// check that both the API connections and the console's WebSocket went through it.
//
//   test-connect-proxy [--listen HOST:PORT] [--credentials USER:PASSWORD] [--refuse STATUS]
//
// Prints {"port":N} once listening, then one line per request:
//   {"method":"CONNECT","target":"127.0.0.1:8006","authorization":"Basic ..."|null}
// --credentials: CONNECTs without the matching Proxy-Authorization get 407. --refuse: every
// CONNECT gets that status. Anything but CONNECT gets 405. It runs until killed.
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>

#include "engine/core/base64.h"
#include "engine/core/json_writer.h"
#include "engine/core/loop.h"
#include "engine/pump/pump.h"
#include "transports/http/http_message.h"
#include "transports/tcp/tcp_listener.h"
#include "transports/tcp/tcp_transport.h"

namespace pvb {
namespace {

struct Config {
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 0;
  std::string authorization;  // the expected Proxy-Authorization, or "" for none
  int refuse = 0;
};

void print_line(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

class Tunnel;
std::set<Tunnel*>& tunnels() {
  static std::set<Tunnel*> all;
  return all;
}

// One client connection: its CONNECT head, then a Pump between it and the target.
class Tunnel : private TransportSink {
 public:
  Tunnel(Loop& loop, const Config& config, std::unique_ptr<TcpTransport> client)
      : loop_(loop), config_(config), client_(std::move(client)), upstream_sink_(*this) {
    tunnels().insert(this);
    client_->set_sink(this);
    client_->start();
  }
  ~Tunnel() override { tunnels().erase(this); }

 private:
  struct UpstreamSink : TransportSink {
    explicit UpstreamSink(Tunnel& t) : tunnel(t) {}
    void on_connected() override { tunnel.upstream_connected(); }
    void on_data(ByteChain& data, bool) override { data.clear(); }
    void on_closed(const Error&) override { tunnel.answer(502, "Bad Gateway"); }
    Tunnel& tunnel;
  };

  void on_data(ByteChain& data, bool end_stream) override {
    if (head_seen_) return;  // the pump reads from here on
    auto head = parse_request_head(data, HttpLimits{}, progress_);
    if (!head.ok()) return answer(400, "Bad Request");
    if (!*head) {
      if (end_stream) finish();
      return;
    }
    head_seen_ = true;
    early_.move_from(data);  // bytes after the head belong to the tunnel
    const HttpRequestHead& h = **head;
    JsonWriter w;
    w.begin_object().key("method").value(h.method).key("target").value(h.target);
    w.key("authorization");
    if (auto a = h.headers.get("Proxy-Authorization")) {
      w.value(std::string(*a));
    } else {
      w.null();
    }
    w.end_object();
    print_line(w.str());
    if (h.method != "CONNECT") return answer(405, "Method Not Allowed");
    if (!config_.authorization.empty() &&
        h.headers.get("Proxy-Authorization") != config_.authorization) {
      return answer(407, "Proxy Authentication Required");
    }
    if (config_.refuse != 0) return answer(config_.refuse, "Refused By Test");
    const auto colon = h.target.rfind(':');
    if (colon == std::string::npos) return answer(400, "Bad Request");
    std::string host = h.target.substr(0, colon);
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    const int port = std::atoi(h.target.c_str() + colon + 1);
    upstream_ = TcpTransport::connect(loop_, {host, static_cast<uint16_t>(port), 5000});
    upstream_->set_sink(&upstream_sink_);
    upstream_->start();
  }
  void on_closed(const Error&) override {
    if (!pump_) finish();
  }

  void upstream_connected() {
    ByteChain ok("HTTP/1.1 200 Connection established\r\n\r\n");
    client_->write(ok);
    pump_ = std::make_unique<Pump>(*client_, *upstream_, Pump::Options{},
                                   [this](const Pump::Result&) { finish(); });
    pump_->start({}, std::move(early_));
  }

  void answer(int status, const std::string& reason) {
    if (answered_) return;
    answered_ = true;
    HttpResponseHead head;
    head.status = status;
    head.reason = reason;
    if (status == 407) head.headers.add("Proxy-Authenticate", "Basic realm=\"test\"");
    head.headers.add("Content-Length", "0");
    ByteChain out;
    write_response_head(head, out);
    client_->write(out);
    client_->close(CloseMode::Flush);  // its on_closed, once the answer is out, ends the tunnel
  }

  void finish() {
    if (finishing_) return;
    finishing_ = true;
    loop_.post([this] { delete this; });
  }

  Loop& loop_;
  const Config& config_;
  std::unique_ptr<TcpTransport> client_;
  std::unique_ptr<TcpTransport> upstream_;
  UpstreamSink upstream_sink_;
  std::unique_ptr<Pump> pump_;
  HttpHeadProgress progress_;
  ByteChain early_;
  bool head_seen_ = false;
  bool answered_ = false;
  bool finishing_ = false;
};

int run(int argc, char** argv) {
  Config config;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    const std::string value = argv[i + 1];
    if (flag == "--listen") {
      const auto colon = value.rfind(':');
      config.listen_host = value.substr(0, colon);
      config.listen_port = static_cast<uint16_t>(std::atoi(value.c_str() + colon + 1));
    } else if (flag == "--credentials") {
      config.authorization = "Basic " + base64_encode(value);
    } else if (flag == "--refuse") {
      config.refuse = std::atoi(value.c_str());
    } else {
      std::fprintf(stderr, "test-connect-proxy: unknown flag %s\n", flag.c_str());
      return 2;
    }
  }
  Loop loop;
  auto listener = TcpListener::listen(
      loop, config.listen_host, config.listen_port,
      [&](std::unique_ptr<TcpTransport> client) { new Tunnel(loop, config, std::move(client)); });
  if (!listener.ok()) {
    std::fprintf(stderr, "test-connect-proxy: %s\n", listener.error().message().c_str());
    return 1;
  }
  print_line("{\"port\":" + std::to_string((*listener)->port()) + "}");
  loop.run();
  return 0;
}

}  // namespace
}  // namespace pvb

int main(int argc, char** argv) {
  return pvb::run(argc, argv);
}
