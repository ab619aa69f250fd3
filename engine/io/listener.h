// The local side's seam: a listener that hands over each accepted connection with who made it,
// so the engine can admit only the user's own clients without knowing sockets.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "engine/core/error.h"
#include "engine/io/transport.h"

namespace pvb {

struct AcceptedClient {
  std::unique_ptr<Transport> transport;  // not yet started
  std::string peer;                      // "127.0.0.1:51234", for logs
  std::optional<uint32_t> peer_uid;      // the connecting process's user, when it can be known
};

class Listener {
 public:
  virtual ~Listener() = default;
  virtual uint16_t port() const = 0;
  // Stops accepting (also in the destructor). Safe from inside the accept callback.
  virtual void close() = 0;
};

class ListenerFactory {
 public:
  using AcceptFn = std::function<void(AcceptedClient)>;
  virtual ~ListenerFactory() = default;
  // Listens on host:port (port 0: any free one); loopback only. Errc::usage for another address.
  virtual Result<std::unique_ptr<Listener>> listen(const std::string& host, uint16_t port,
                                                   AcceptFn on_accept) = 0;
};

}  // namespace pvb
