// MockServer: the I/O side of the mock pveproxy. Each client connection gets TLS (the server's
// certificate, TLS 1.2+, AES-GCM preferred), then an HttpConnection answering through MockApi;
// a granted console upgrade becomes a ConsoleWebsocket. When a console ends, MockApi hears
// release_console() so its port is free again and its vncproxy task ends.
//
// Connections come from the program's TcpListener, or from tests as MemPipe ends (with or
// without TLS). Everything runs on one Loop.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "engine/core/clock.h"
#include "engine/core/loop.h"
#include "engine/core/random.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/server/connection_faults.h"
#include "tests/mock_pveproxy/server/console_websocket.h"
#include "tests/mock_pveproxy/server/http_connection.h"
#include "transports/tls/tls_engine.h"

namespace pvb::mock {

class MockServer {
 public:
  // `tls` null: plain HTTP (tests). `api`, `clock` and `random` must outlive the server.
  MockServer(Loop& loop, MockApi& api, std::shared_ptr<TlsContext> tls, Clock& clock,
             Random& random, LogFn log);
  ~MockServer();
  MockServer(const MockServer&) = delete;
  MockServer& operator=(const MockServer&) = delete;

  // A new client connection, not started yet. `peer` names it in the log ("127.0.0.1:40000").
  // `listener` says which of the program's listening addresses took it (0: --listen, 1.. the
  // --also-listen ones), so a restart of one drops only its connections.
  void accept(std::unique_ptr<Transport> connection, std::string peer, int listener = 0);
  // The faults below HTTP (null: none); consulted for every connection accepted from now on.
  void set_connection_faults(std::unique_ptr<ConnectionFaults> faults) {
    connection_faults_ = std::move(faults);
  }
  ConnectionFaults* connection_faults() { return connection_faults_.get(); }
  // Drops every connection and console now (SIGTERM, end of stdin): they are destroyed, so call
  // it from outside their callbacks. Nothing is released in the API: the process is about to
  // exit.
  void shut_down();
  // Drops every connection and console that came through `listener` now, as a pveproxy that
  // restarts does (restart_api); their consoles are released in the API. Call it from outside
  // their callbacks (a timer). `reset`: each connection ends with a TCP reset instead of a FIN.
  // Returns how many HTTP connections and consoles went.
  std::pair<size_t, size_t> drop_listener(int listener, bool reset = false);
  // Called each time a console WebSocket opens (after its 101).
  void set_on_console_open(std::function<void(const ConsoleGrant&)> cb) {
    on_console_open_ = std::move(cb);
  }

  size_t http_connections() const { return http_.size(); }
  // Connections whose transport came up (with TLS: completed handshakes), since the start.
  uint64_t connections_up() const { return connections_up_; }
  size_t console_sessions() const { return consoles_.size(); }
  // cut_ws=...,armed: arms the cut of every console open now; how many were armed.
  size_t arm_console_cuts();
  // The running console session on that port, or null.
  ConsoleWebsocket* find_console(uint16_t port);
  const std::vector<ConsoleSummary>& finished_consoles() const { return finished_; }
  // Called when a console session has ended (after release_console).
  void set_on_console_end(std::function<void(const ConsoleSummary&)> cb) {
    on_console_end_ = std::move(cb);
  }

 private:
  void connection_closed(HttpConnection& connection);
  void connection_upgraded(HttpConnection& connection, std::unique_ptr<Transport> transport,
                           ByteChain leftover, ConsoleGrant grant);
  void console_done(ConsoleWebsocket& session, const ConsoleSummary& summary);
  void console_cut(const ConsoleGrant& grant, const CutSpec& cut);

  Loop& loop_;
  MockApi& api_;
  std::shared_ptr<TlsContext> tls_;
  Clock& clock_;
  Random& random_;
  LogFn log_;
  std::unique_ptr<ConnectionFaults> connection_faults_;
  std::map<HttpConnection*, std::unique_ptr<HttpConnection>> http_;
  std::map<ConsoleWebsocket*, std::unique_ptr<ConsoleWebsocket>> consoles_;
  std::vector<ConsoleSummary> finished_;
  std::function<void(const ConsoleSummary&)> on_console_end_;
  std::function<void(const ConsoleGrant&)> on_console_open_;
  // Which listener each connection and console came through (see accept()).
  std::map<const HttpConnection*, int> http_listener_;
  std::map<const ConsoleWebsocket*, int> console_listener_;
  uint64_t connections_up_ = 0;
  uint64_t consoles_opened_ = 0;  // console WebSockets so far (the reconnect faults count them)
};

// One line about an ended console for the log: port, guest, mode, bytes, how it ended.
std::string describe_console_end(const ConsoleSummary& summary);

}  // namespace pvb::mock
