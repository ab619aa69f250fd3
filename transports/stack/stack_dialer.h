// StackDialer: the engine's Dialer over a HostConnector, the function that makes the stream to a
// host (TCP or an HTTP proxy's tunnel, then TLS with the host's trust, in pvebridge; MemPipe ends
// in tests). REST goes through a RestClient on it, consoles through a WsTransport on it.
//
// One TLS connection per console: a console's WebSocket upgrade goes over the kept-alive
// connection its REST calls used (pveproxy accepts an upgrade on a connection that has already
// served requests), taken from an idle RestClient of the same host; only when none is idle (a
// request in flight, the server closed it, none made yet) is a new connection dialled. If the
// server closes the reused connection before answering the upgrade (its 5 s idle timeout firing
// just then), the upgrade is sent again, once, on a new connection (WsClientOptions::redial).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "engine/io/dialer.h"

namespace pvb {

class RestClient;

// Makes an unstarted transport to a host; null when none can be made.
using HostConnector = std::function<std::unique_ptr<Transport>(const ApiHost&)>;

class StackDialer final : public Dialer {
 public:
  // `rng` masks the WebSocket frames; it and `loop` must outlive every exchange and stream made.
  // `stream_connector` makes the plain streams of open_stream() (no TLS); none: open_stream()
  // gives null.
  StackDialer(Loop& loop, HostConnector connector, Random& rng,
              HostConnector stream_connector = nullptr);

  std::unique_ptr<HttpExchange> open_http(const ApiHost& host) override;
  std::unique_ptr<WebSocketStream> open_websocket(const ApiHost& host,
                                                  WebSocketRequest request) override;
  std::unique_ptr<Transport> open_stream(const ApiHost& host) override;

  // WebSockets opened over a connection REST calls had used (for tests and measurements).
  uint64_t websockets_on_reused_connections() const { return reused_; }

  // The RestClients alive, by host authority (shared with the exchanges, which may outlive us).
  using Exchanges = std::vector<std::pair<std::string, RestClient*>>;

 private:
  std::unique_ptr<Transport> take_idle_connection(const ApiHost& host);

  Loop& loop_;
  HostConnector connector_;
  Random& rng_;
  HostConnector stream_connector_;
  std::shared_ptr<Exchanges> exchanges_ = std::make_shared<Exchanges>();
  uint64_t reused_ = 0;
};

}  // namespace pvb
