#include "transports/stack/stack_dialer.h"

#include "transports/http/rest_client.h"
#include "transports/ws/ws_transport.h"

namespace pvb {

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
  return std::make_unique<RestClient>(
      loop_, [connector = connector_, host] { return connector(host); }, host.authority());
}

std::unique_ptr<WebSocketStream> StackDialer::open_websocket(const ApiHost& host,
                                                             WebSocketRequest request) {
  std::unique_ptr<Transport> lower = connector_(host);
  if (!lower) return nullptr;
  WsClientOptions options;
  options.host_header = host.authority();
  options.path = std::move(request.path);
  options.headers = std::move(request.headers);
  options.codec.max_frame_payload = request.max_frame_payload;
  options.handshake_timeout_ms = request.handshake_timeout_ms;
  return WsTransport::client(std::move(lower), std::move(options), rng_);
}

}  // namespace pvb
