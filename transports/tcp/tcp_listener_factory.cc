#include "transports/tcp/tcp_listener_factory.h"

#include "transports/tcp/socket_owner.h"
#include "transports/tcp/tcp_listener.h"

namespace pvb {
namespace {

class LoopbackListener final : public Listener {
 public:
  explicit LoopbackListener(std::unique_ptr<TcpListener> tcp) : tcp_(std::move(tcp)) {}
  uint16_t port() const override { return tcp_->port(); }
  void close() override { tcp_->close(); }

 private:
  std::unique_ptr<TcpListener> tcp_;
};

}  // namespace

Result<std::unique_ptr<Listener>> TcpListenerFactory::listen(const std::string& host, uint16_t port,
                                                             AcceptFn on_accept) {
  auto tcp = TcpListener::listen(
      loop_, host, port, [on_accept = std::move(on_accept)](std::unique_ptr<TcpTransport> c) {
        AcceptedClient client;
        client.peer = c->peer_address() + ":" + std::to_string(c->peer_port());
        if (auto uid = loopback_peer_uid(*c)) client.peer_uid = *uid;
        client.transport = std::move(c);
        on_accept(std::move(client));
      });
  if (!tcp.ok()) return tcp.error();
  return std::unique_ptr<Listener>(std::make_unique<LoopbackListener>(std::move(*tcp)));
}

}  // namespace pvb
