#include "transports/stack/stack_dialer.h"

#include <algorithm>

#include "transports/http/rest_client.h"
#include "transports/ws/ws_transport.h"

namespace pvb {

namespace {

// A RestClient listed in the dialer's exchanges for as long as it lives, so that a console's
// WebSocket can take its idle connection.
class ListedExchange final : public HttpExchange {
 public:
  ListedExchange(std::unique_ptr<RestClient> rest, std::shared_ptr<StackDialer::Exchanges> list,
                 std::string authority)
      : rest_(std::move(rest)), list_(std::move(list)) {
    list_->emplace_back(std::move(authority), rest_.get());
  }
  ~ListedExchange() override {
    std::erase_if(*list_, [this](const auto& e) { return e.second == rest_.get(); });
  }
  void request(RestRequest request, Done done) override {
    rest_->request(std::move(request), std::move(done));
  }
  void close() override { rest_->close(); }
  void set_logger(Logger logger) override { rest_->set_logger(std::move(logger)); }

 private:
  std::unique_ptr<RestClient> rest_;
  std::shared_ptr<StackDialer::Exchanges> list_;
};

}  // namespace

StackDialer::StackDialer(Loop& loop, HostConnector connector, Random& rng,
                         HostConnector stream_connector)
    : loop_(loop),
      connector_(std::move(connector)),
      rng_(rng),
      stream_connector_(std::move(stream_connector)) {}

std::unique_ptr<Transport> StackDialer::open_stream(const ApiHost& host) {
  return stream_connector_ ? stream_connector_(host) : nullptr;
}

std::unique_ptr<HttpExchange> StackDialer::open_http(const ApiHost& host) {
  auto rest = std::make_unique<RestClient>(
      loop_, [connector = connector_, host] { return connector(host); }, host.authority());
  return std::make_unique<ListedExchange>(std::move(rest), exchanges_, host.authority());
}

std::unique_ptr<Transport> StackDialer::take_idle_connection(const ApiHost& host) {
  const std::string authority = host.authority();
  // The most recent exchange first: it is the one whose connection is the freshest.
  for (auto it = exchanges_->rbegin(); it != exchanges_->rend(); ++it) {
    if (it->first != authority) continue;
    if (std::unique_ptr<Transport> t = it->second->take_idle_transport()) return t;
  }
  return nullptr;
}

std::unique_ptr<WebSocketStream> StackDialer::open_websocket(const ApiHost& host,
                                                             WebSocketRequest request) {
  WsClientOptions options;
  std::unique_ptr<Transport> lower = take_idle_connection(host);
  if (lower) {
    ++reused_;
    options.redial = [connector = connector_, host] { return connector(host); };
  } else {
    lower = connector_(host);
  }
  if (!lower) return nullptr;
  options.host_header = host.authority();
  options.path = std::move(request.path);
  options.headers = std::move(request.headers);
  options.codec.max_frame_payload = request.max_frame_payload;
  options.handshake_timeout_ms = request.handshake_timeout_ms;
  return WsTransport::client(std::move(lower), std::move(options), rng_);
}

}  // namespace pvb
