#include "tests/mock_pveproxy/server/mock_server.h"

#include <cstdio>
#include <ctime>

#include "tests/fake_vm/fake_vm_screens.h"
#include "transports/tls/tls_transport.h"

namespace pvb::mock {

MockServer::MockServer(Loop& loop, MockApi& api, std::shared_ptr<TlsContext> tls, Clock& clock,
                       Random& random, LogFn log)
    : loop_(loop),
      api_(api),
      tls_(std::move(tls)),
      clock_(clock),
      random_(random),
      log_(std::move(log)) {}

MockServer::~MockServer() {
  shut_down();
}

void MockServer::accept(std::unique_ptr<Transport> connection, std::string peer, int listener) {
  std::unique_ptr<Transport> transport = std::move(connection);
  std::shared_ptr<TlsContext> tls = tls_;
  if (connection_faults_) {
    transport = connection_faults_->prepare(std::move(transport), peer, tls);
    if (!transport) return;  // a fault session serves it
  }
  if (tls) {
    transport = std::make_unique<TlsTransport>(std::move(transport), tls, std::string());
  }
  HttpConnection::Events events;
  events.connected = [this, peer](HttpConnection&) {
    ++connections_up_;
    // Tests count these lines: one per TLS handshake the clients made.
    if (tls_) log_(peer + ": TLS handshake done (" + std::to_string(connections_up_) + " so far)");
  };
  events.closed = [this](HttpConnection& c) { connection_closed(c); };
  events.upgraded = [this](HttpConnection& c, std::unique_ptr<Transport> t, ByteChain leftover,
                           ConsoleGrant grant) {
    connection_upgraded(c, std::move(t), std::move(leftover), std::move(grant));
  };
  auto http = std::make_unique<HttpConnection>(std::move(transport), api_, clock_, log_,
                                               std::move(peer), std::move(events));
  HttpConnection* raw = http.get();
  http_.emplace(raw, std::move(http));
  http_listener_[raw] = listener;
  raw->start();
}

void MockServer::shut_down() {
  // Destroying a transport drops its connection; nothing calls back into us afterwards (their
  // posted callbacks check that they are still alive).
  consoles_.clear();
  http_.clear();
  console_listener_.clear();
  http_listener_.clear();
  if (connection_faults_) connection_faults_->shut_down();
}

std::pair<size_t, size_t> MockServer::drop_listener(int listener, bool reset) {
  std::vector<HttpConnection*> connections;
  for (auto& [raw, l] : http_listener_) {
    if (l == listener) connections.push_back(const_cast<HttpConnection*>(raw));
  }
  std::vector<ConsoleWebsocket*> consoles;
  for (auto& [raw, l] : console_listener_) {
    if (l == listener) consoles.push_back(const_cast<ConsoleWebsocket*>(raw));
  }
  if (reset) {
    // Each reports its end at once (connection_closed, console_done: deferred deletes), so the
    // loops below find only what did not; the pointers stay valid until the loop runs again.
    for (HttpConnection* c : connections) c->abort();
    for (ConsoleWebsocket* c : consoles) c->abort();
  }
  for (HttpConnection* c : connections) {
    http_listener_.erase(c);
    http_.erase(c);  // destroyed: its TCP connection closes
  }
  for (ConsoleWebsocket* c : consoles) {
    console_listener_.erase(c);
    auto it = consoles_.find(c);
    if (it == consoles_.end()) continue;
    // The node's side of the console (qm vncproxy) ends with its websocket.
    api_.release_console(it->second->grant().port);
    log_("console " + std::to_string(it->second->grant().port) + " dropped (restart_api)");
    consoles_.erase(it);
  }
  return {connections.size(), consoles.size()};
}

ConsoleWebsocket* MockServer::find_console(uint16_t port) {
  for (auto& [raw, session] : consoles_) {
    if (session->grant().port == port) return raw;
  }
  return nullptr;
}

void MockServer::connection_closed(HttpConnection& connection) {
  auto it = http_.find(&connection);
  if (it == http_.end()) return;
  loop_.defer_delete(std::move(it->second));
  http_.erase(it);
  http_listener_.erase(&connection);
}

void MockServer::connection_upgraded(HttpConnection& connection,
                                     std::unique_ptr<Transport> transport, ByteChain leftover,
                                     ConsoleGrant grant) {
  auto origin = http_listener_.find(&connection);
  const int listener = origin == http_listener_.end() ? 0 : origin->second;
  connection_closed(connection);
  log_("console " + std::to_string(grant.port) + ": " + std::string(guest_kind_name(grant.type)) +
       "/" + std::to_string(grant.vmid) + " (" + std::string(console_kind_name(grant.console)) +
       ") opened by " + grant.authid);
  auto session = std::make_unique<ConsoleWebsocket>(
      std::move(transport), std::move(leftover), std::move(grant), api_.options(), clock_, random_,
      log_,
      [this](ConsoleWebsocket& s, const ConsoleSummary& summary) { console_done(s, summary); },
      ++consoles_opened_);
  ConsoleWebsocket* raw = session.get();
  raw->set_on_cut([this](const ConsoleGrant& g, const CutSpec& cut) { console_cut(g, cut); });
  consoles_.emplace(raw, std::move(session));
  console_listener_[raw] = listener;
  raw->start();
  if (on_console_open_) on_console_open_(raw->grant());
}

size_t MockServer::arm_console_cuts() {
  size_t armed = 0;
  for (auto& [raw, session] : consoles_) {
    if (std::optional<std::string> how = session->arm_cut()) {
      ++armed;
      log_("console " + std::to_string(session->grant().port) + ": cut armed: " + *how);
    }
  }
  return armed;
}

void MockServer::console_cut(const ConsoleGrant& grant, const CutSpec& cut) {
  // On the system's monotonic clock, which other local processes log on too (benches time the
  // viewer's first picture after the cut with it).
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  char at[48];
  std::snprintf(at, sizeof at, "%.3f", now.tv_sec * 1e3 + now.tv_nsec / 1e6);
  log_("console " + std::to_string(grant.port) + ": cut at monotonic " + at + " ms");
  if (cut.resize_width != 0) {
    if (std::shared_ptr<FakeScreen> screen = fake_vm_screens().find(grant.vmid)) {
      screen->resize(cut.resize_width, cut.resize_height);
      log_("console " + std::to_string(grant.port) + ": cut; the guest's screen is now " +
           std::to_string(cut.resize_width) + "x" + std::to_string(cut.resize_height));
    }
  }
  if (api_.options().expire_auth()) {
    api_.expire_auth();
    log_("console " + std::to_string(grant.port) +
         ": cut; every login ticket expired, every API token revoked (fault expire_auth)");
  }
  if (cut.stop_guest) {
    api_.stop_guest(grant.vmid);
    log_("console " + std::to_string(grant.port) + ": cut; guest " + std::to_string(grant.vmid) +
         " stopped");
  }
}

void MockServer::console_done(ConsoleWebsocket& session, const ConsoleSummary& summary) {
  api_.release_console(summary.port);
  log_(describe_console_end(summary));
  finished_.push_back(summary);
  auto it = consoles_.find(&session);
  if (it != consoles_.end()) {
    loop_.defer_delete(std::move(it->second));
    consoles_.erase(it);
  }
  console_listener_.erase(&session);
  if (on_console_end_) on_console_end_(summary);
}

std::string describe_console_end(const ConsoleSummary& s) {
  std::string line = "console " + std::to_string(s.port) + " (vmid " + std::to_string(s.vmid) +
                     ", " + s.mode + ") ended by " + relay_end_name(s.relay.ended_by) + ": " +
                     std::to_string(s.relay.to_vm) + " bytes to the VM, " +
                     std::to_string(s.relay.to_client) + " to the client";
  if (s.error.failed()) line += " (" + s.error.message() + ")";
  if (s.client_close_code) {
    line += ", client Close " + std::to_string(*s.client_close_code);
  } else if (s.mode.rfind("raw:", 0) != 0) {
    line += ", no Close frame from the client";
  }
  return line;
}

}  // namespace pvb::mock
