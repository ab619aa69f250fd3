// LocalEndpoint: the console's loopback listener and who may use it. Connections from another
// user (or one the system cannot name) are refused before a byte is read; the rest are handed
// on, one by one, to the session.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "engine/core/loop.h"
#include "engine/io/listener.h"

namespace pvb {

class LocalEndpoint {
 public:
  using AdmitFn = std::function<void(AcceptedClient)>;
  // A refused connection: a log line and the reason for the observer.
  using RefuseFn = std::function<void(const std::string& line, const std::string& why)>;

  LocalEndpoint(Loop& loop, ListenerFactory& listeners, bool require_same_uid);
  ~LocalEndpoint();

  Error listen(const std::string& host, uint16_t port, AdmitFn admit, RefuseFn refuse);
  uint16_t port() const { return port_; }
  bool listening() const { return listening_; }
  void close();

  // Refuses `client` (closes it at once), with the reasons given.
  void refuse(AcceptedClient client, const std::string& line, const std::string& why);

 private:
  void accepted(AcceptedClient client);

  Loop& loop_;
  ListenerFactory& listeners_;
  bool require_same_uid_;
  std::unique_ptr<Listener> listener_;
  uint16_t port_ = 0;
  bool listening_ = false;
  AdmitFn admit_;
  RefuseFn refuse_;
  AliveToken alive_;
};

}  // namespace pvb
