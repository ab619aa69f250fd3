#include "tests/engine/seams/in_process_rig.h"

#include <glib.h>

#include <algorithm>

#include "engine/proxmox/spice_reply.h"
#include "transports/testing/mem_pipe.h"

namespace pvb::seams {
namespace {

class FakeListener final : public Listener {
 public:
  explicit FakeListener(FakeListeners::Listening& l) : l_(l) {}
  uint16_t port() const override { return l_.port; }
  void close() override { l_.closed = true; }

 private:
  FakeListeners::Listening& l_;
};

// A pipe whose far end is gone before it starts: the connection is lost at once.
std::unique_ptr<Transport> lost_connection(Loop& loop) {
  auto [near, far] = make_mem_pipe(loop);
  far->close(CloseMode::Abort);
  return std::move(near);
}

}  // namespace

InProcessCluster::InProcessCluster(mock::MockOptions options)
    : mock_(std::move(options)),
      spiceproxy_(mock::SpiceProxyServer::unbound(
          mock_.loop, *mock_.api, nullptr,
          [this](const std::string& line) { mock_.logs.push_back(line); })),
      dialer_(
          mock_.loop, [this](const ApiHost& h) { return connect(h); }, mock_.random,
          [this](const ApiHost& h) { return open_stream(h); }) {}

InProcessCluster::~InProcessCluster() = default;

std::unique_ptr<Transport> InProcessCluster::connect(const ApiHost& host) {
  ++connections;
  if (std::find(unreachable.begin(), unreachable.end(), host.host) != unreachable.end()) {
    return lost_connection(mock_.loop);
  }
  if (fault_for) {
    if (std::optional<FaultPlan> plan = fault_for(connections)) {
      return std::make_unique<FaultInjector>(mock_.open_connection(), *plan);
    }
  }
  return mock_.open_connection();
}

std::unique_ptr<Transport> InProcessCluster::open_stream(const ApiHost& host) {
  ++streams;
  if (host.port != kSpiceProxyPort ||
      std::find(unreachable.begin(), unreachable.end(), host.host) != unreachable.end()) {
    return lost_connection(mock_.loop);
  }
  auto [near, far] = make_mem_pipe(mock_.loop);
  spiceproxy_->accept(std::move(far));
  return std::move(near);
}

std::unique_ptr<ProxmoxClient> InProcessCluster::password_client() {
  Credentials c;
  c.user = "root@pam";
  c.password = "mock-root-password";
  ProxmoxClientOptions o;
  o.timeout_ms = 5000;
  return std::make_unique<ProxmoxClient>(mock_.loop, std::vector<ApiHost>{{"pve1", 8006}}, dialer_,
                                         std::move(c), o);
}

std::unique_ptr<ProxmoxClient> InProcessCluster::client(std::vector<ApiHost> hosts) {
  Credentials c;
  c.token = *parse_api_token(std::string(mock::test::kRootToken));
  ProxmoxClientOptions o;
  o.timeout_ms = 5000;
  return std::make_unique<ProxmoxClient>(mock_.loop, std::move(hosts), dialer_, std::move(c), o);
}

Result<std::unique_ptr<Listener>> FakeListeners::listen(const std::string& host, uint16_t port,
                                                        AcceptFn on_accept) {
  auto l = std::make_unique<Listening>();
  l->host = host;
  l->port = port != 0 ? port : static_cast<uint16_t>(5900 + listening_.size());
  l->on_accept = std::move(on_accept);
  listening_.push_back(std::move(l));
  return std::unique_ptr<Listener>(std::make_unique<FakeListener>(*listening_.back()));
}

std::string vv_value(const std::string& path, const char* key) {
  GKeyFile* kf = g_key_file_new();
  std::string value;
  if (g_key_file_load_from_file(kf, path.c_str(), G_KEY_FILE_NONE, nullptr)) {
    gchar* v = g_key_file_get_string(kf, "virt-viewer", key, nullptr);
    if (v != nullptr) value = v;
    g_free(v);
  }
  g_key_file_free(kf);
  return value;
}

bool run_until(Loop& loop, const std::function<bool()>& pred) {
  return loop.run_until(pred);
}

}  // namespace pvb::seams
