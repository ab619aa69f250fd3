#include "tests/mock_pveproxy/server/spice_proxy.h"

#include "engine/console/spice_relay.h"
#include "engine/pump/pump.h"
#include "transports/tcp/tcp_transport.h"

namespace pvb::mock {

class SpiceProxyServer::Connection : public TransportSink {
 public:
  Connection(SpiceProxyServer& server, std::unique_ptr<Transport> t)
      : server_(server), t_(std::move(t)) {}
  ~Connection() override {
    pump_.reset();
    t_->set_sink(nullptr);
    if (qemu_) qemu_->set_sink(nullptr);
  }
  void start() {
    t_->set_sink(this);
    t_->start();
  }

 private:
  enum class State { head, arming, echo, pumping, closing };

  // The QEMU side before the pump takes it.
  struct QemuSink : TransportSink {
    Connection* c = nullptr;
    void on_connected() override { c->qemu_connected(); }
    void on_data(ByteChain& data, bool) override { c->early_.move_from(data); }
    void on_closed(const Error& e) override { c->qemu_failed(e); }
  };

  void on_data(ByteChain& data, bool end_stream) override {
    if (state_ == State::echo) {
      // The echo "guest": every byte back, as it came.
      t_->write(data, end_stream);
      if (end_stream) t_->close(CloseMode::Flush);
      return;
    }
    if (state_ != State::head) {
      data.clear();
      return;
    }
    head_ += data.to_string();
    data.clear();
    auto parsed = parse_connect_head(head_);
    if (!parsed.ok() || (!*parsed && end_stream)) return reply("HTTP/1.0 400 bad request", true);
    if (!*parsed) return;
    const ConnectHead& h = **parsed;
    version_ = h.version;
    std::optional<SpiceGrant> grant =
        h.host ? server_.api_.verify_spice_connect(*h.host) : std::nullopt;
    if (!grant) {
      ++server_.refused_;
      server_.log_("spiceproxy: refused a CONNECT: invalid ticket");
      return reply(h.version + " 401 invalid ticket", true);
    }
    ++server_.granted_;
    std::string rest = head_.substr(h.length);
    if (server_.qemu_ == nullptr) {
      server_.log_("spiceproxy: CONNECT vm " + std::to_string(grant->vmid) + " tls-port " +
                   std::to_string(grant->tls_port) + " granted (echo)");
      state_ = State::echo;
      reply(h.version + " 200 OK", false);
      if (!rest.empty()) {
        ByteChain echo(rest);
        t_->write(echo);
      }
      return;
    }
    pending_.append(rest);
    arm(*grant);
  }

  void arm(const SpiceGrant& grant) {
    state_ = State::arming;
    t_->read_disable(true);
    vm_ = server_.qemu_->vm_for(
        grant.vmid, grant.name.empty() ? "vm" + std::to_string(grant.vmid) : grant.name);
    std::string expire = qmp_expire_time(grant.password_expires, server_.api_.unix_now());
    auto weak = alive_.weak();
    vm_->when_ready([this, weak, password = grant.password, expire](const Error& e) {
      if (weak.expired() || state_ != State::arming) return;
      if (e.failed()) return qemu_failed(e);
      vm_->arm_spice_password(password, expire, [this, weak](const Error& armed) {
        if (weak.expired() || state_ != State::arming) return;
        if (armed.failed()) return qemu_failed(armed);
        qemu_ = TcpTransport::connect(
            server_.loop_, TcpConnectOptions{"127.0.0.1", vm_->config().spice_port, 5000});
        qemu_sink_.c = this;
        qemu_->set_sink(&qemu_sink_);
        qemu_->start();
      });
    });
  }

  void qemu_connected() {
    if (state_ != State::arming) return;
    state_ = State::pumping;
    server_.log_("spiceproxy: CONNECT vm " + std::to_string(vm_->config().vmid) +
                 " relayed to QEMU's SPICE port " + std::to_string(vm_->config().spice_port));
    std::string ok = version_ + " 200 OK\r\n\r\n";
    ByteChain to_client;
    to_client.append(ok);
    to_client.move_from(early_);
    ByteChain to_qemu(pending_);
    pump_ = std::make_unique<Pump>(*t_, *qemu_, Pump::Options{}, [this](const Pump::Result&) {
      server_.loop_.post([s = &server_, self = this, weak = alive_.weak()] {
        if (!weak.expired()) s->done(self);
      });
    });
    pump_->start(std::move(to_client), std::move(to_qemu));
    t_->read_disable(false);
  }

  void qemu_failed(const Error& e) {
    if (state_ != State::arming) return;
    server_.log_("spiceproxy: the guest's SPICE server: " + e.message());
    reply(version_ + " 500 " + e.message(), true);
  }

  void on_closed(const Error&) override {
    if (state_ == State::pumping) return;  // the pump's
    state_ = State::closing;
    if (qemu_ && !qemu_->closed()) qemu_->close(CloseMode::Abort);
    server_.done(this);
  }

  void reply(const std::string& status, bool close) {
    if (close) state_ = State::closing;
    std::string text = status + "\r\n\r\n";
    ByteChain out;
    out.append(text);
    t_->write(out, close);
    if (close) t_->close(CloseMode::Flush);
  }

  SpiceProxyServer& server_;
  std::unique_ptr<Transport> t_;
  State state_ = State::head;
  std::string head_;
  std::string version_ = "HTTP/1.0";
  std::string pending_;
  ByteChain early_;
  std::shared_ptr<QemuVm> vm_;
  std::unique_ptr<TcpTransport> qemu_;
  QemuSink qemu_sink_;
  std::unique_ptr<Pump> pump_;
  AliveToken alive_;
};

SpiceProxyServer::SpiceProxyServer(Loop& loop, MockApi& api, QemuFleet* qemu, LogFn log)
    : loop_(loop), api_(api), qemu_(qemu), log_(std::move(log)) {}

Result<std::unique_ptr<SpiceProxyServer>> SpiceProxyServer::listen(Loop& loop, MockApi& api,
                                                                   QemuFleet* qemu,
                                                                   const std::string& host,
                                                                   uint16_t port, LogFn log) {
  std::unique_ptr<SpiceProxyServer> s(new SpiceProxyServer(loop, api, qemu, std::move(log)));
  SpiceProxyServer* raw = s.get();
  auto l = TcpListener::listen(
      loop, host, port, [raw](std::unique_ptr<TcpTransport> t) { raw->accept(std::move(t)); });
  if (!l.ok()) return l.error();
  s->listener_ = std::move(*l);
  return s;
}

std::unique_ptr<SpiceProxyServer> SpiceProxyServer::unbound(Loop& loop, MockApi& api,
                                                            QemuFleet* qemu, LogFn log) {
  return std::unique_ptr<SpiceProxyServer>(new SpiceProxyServer(loop, api, qemu, std::move(log)));
}

SpiceProxyServer::~SpiceProxyServer() {
  close();
  connections_.clear();
}

void SpiceProxyServer::close() {
  if (listener_) listener_->close();
}

void SpiceProxyServer::accept(std::unique_ptr<Transport> t) {
  connections_.push_back(std::make_unique<Connection>(*this, std::move(t)));
  connections_.back()->start();
}

void SpiceProxyServer::done(Connection* c) {
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == c) {
      loop_.defer_delete(std::move(*it));
      connections_.erase(it);
      return;
    }
  }
}

}  // namespace pvb::mock
