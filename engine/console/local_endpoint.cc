#include "engine/console/local_endpoint.h"

#include "engine/core/platform.h"

namespace pvb {

LocalEndpoint::LocalEndpoint(Loop& loop, ListenerFactory& listeners, bool require_same_uid)
    : loop_(loop), listeners_(listeners), require_same_uid_(require_same_uid) {}

LocalEndpoint::~LocalEndpoint() {
  close();
}

Error LocalEndpoint::listen(const std::string& host, uint16_t port, AdmitFn admit,
                            RefuseFn refuse) {
  admit_ = std::move(admit);
  refuse_ = std::move(refuse);
  auto weak = alive_.weak();
  auto l = listeners_.listen(host, port, [this, weak](AcceptedClient c) {
    if (!weak.expired()) accepted(std::move(c));
  });
  if (!l.ok()) return l.error();
  listener_ = std::move(*l);
  port_ = listener_->port();
  listening_ = true;
  return Error();
}

void LocalEndpoint::close() {
  // Kept (closed) until we go: this may run inside the listener's own accept callback.
  if (listener_) listener_->close();
  listening_ = false;
}

void LocalEndpoint::accepted(AcceptedClient client) {
  if (!listening_)
    return refuse(std::move(client), "refused a local connection: the console is closing",
                  "the console is closing");
  if (require_same_uid_) {
    const auto& uid = client.peer_uid;
    if (!uid || *uid != current_user_id()) {
      std::string who = uid ? "user id " + std::to_string(*uid) : "an unknown user";
      return refuse(std::move(client), "refused a local connection from " + who,
                    "connection from " + who + " refused");
    }
  }
  admit_(std::move(client));
}

void LocalEndpoint::refuse(AcceptedClient client, const std::string& line, const std::string& why) {
  refuse_(line, why);
  client.transport->close(CloseMode::Abort);
  loop_.defer_delete(std::move(client.transport));
}

}  // namespace pvb
