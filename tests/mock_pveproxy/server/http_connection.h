// One client connection of the mock pveproxy, from the first request to its end or its upgrade to
// a console websocket.
//
// Requests are read with HttpRequestParser under pveproxy's limits (request head under 8 KiB and
// 64 lines, bodies up to 64 KiB), handed to MockApi, and answered one at a time in arrival order,
// keep-alive as pveproxy does it (PVE::APIServer::AnyEvent): at most 100 requests per connection,
// `Connection: close` after any status of 400 or more, and a connection idle for
// MockOptions::keepalive_timeout_ms after a reply is closed. A reply the API wants delayed (the 401
// delay, the slow fault) is sent when its Timer fires; meanwhile reading stops, so pipelined
// requests wait their turn and nothing else on the connection moves. Other connections are not held
// up.
//
// A GET with Upgrade headers goes to MockApi::accept_vncwebsocket, on a fresh connection or on one
// that already served requests (pveproxy accepts both): a refusal is an ordinary HTTP
// reply (then the connection closes: what follows the head is not HTTP); a grant writes the 101
// and hands the transport, the bytes after the request head and the grant to `upgraded`.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "engine/core/clock.h"
#include "engine/core/loop.h"
#include "engine/io/transport.h"
#include "tests/mock_pveproxy/mock_api.h"
#include "tests/mock_pveproxy/server/hostile_reply.h"
#include "transports/http/http_parser.h"

namespace pvb::mock {

// Where log lines go (stderr in the program; tests collect them). Never given secrets.
using LogFn = std::function<void(const std::string&)>;

// pveproxy's request limits (PVE::APIServer::AnyEvent): fewer than 64 head lines, fewer than
// 8 KiB of head, at most 64 KiB of body.
HttpLimits pveproxy_request_limits();

class HttpConnection final : private TransportSink {
 public:
  struct Events {
    // The transport is up (for TLS: the handshake is done).
    std::function<void(HttpConnection&)> connected;
    // The connection is over (closed by either side, or failed). Called once, last.
    std::function<void(HttpConnection&)> closed;
    // A console websocket was granted and the 101 written. The connection is over too: the
    // transport (reading enabled, its sink to be set by the taker) and the bytes that followed
    // the request head now belong to the callee.
    std::function<void(HttpConnection&, std::unique_ptr<Transport>, ByteChain, ConsoleGrant)>
        upgraded;
  };

  // `transport` is started already or will be by start(); `peer` names the client in logs.
  HttpConnection(std::unique_ptr<Transport> transport, MockApi& api, Clock& clock, LogFn log,
                 std::string peer, Events events);
  ~HttpConnection() override;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  void start();
  // Ends the connection with a TCP reset (restart_api=...,rst); `closed` follows.
  void abort();

  uint64_t requests_answered() const { return requests_; }

 private:
  // TransportSink
  void on_connected() override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_closed(const Error& error) override;
  void on_write_low() override;

  // Parses and answers what is buffered, as long as no reply is being delayed.
  void process();
  void handle_request();
  // The faults that replace the answer (reset_upgrade, no_reply, the hostile replies): true when
  // one took the request.
  bool start_fault_reply(bool upgrade);
  // Sends now, or after reply.delay_ms; then the next request (or the close).
  void respond(MockResponse reply, bool keep_alive);
  void send_reply(const MockResponse& reply, bool keep_alive);
  void grant_upgrade(ConsoleGrant grant);
  void upgrade_now(ConsoleGrant grant);
  void after_reply(bool keep_alive);
  void pause_reading(bool pause);
  void idle_timed_out();
  void log_request(int status);

  Loop& loop_;
  std::unique_ptr<Transport> transport_;
  MockApi& api_;
  Clock& clock_;
  LogFn log_;
  std::string peer_;
  Events events_;
  HttpRequestParser parser_;
  ByteChain in_;    // received, not parsed yet
  ByteChain body_;  // the current request's body
  Timer delay_timer_;
  Timer idle_timer_;  // pveproxy's keep-alive timeout, running while we wait for a request
  std::unique_ptr<HostileReply> hostile_;  // a hostile reply being streamed (faults)
  bool started_ = false;
  bool waiting_ = false;  // a delayed reply is pending
  bool paused_ = false;   // we disabled reading
  bool peer_ended_ = false;
  bool closing_ = false;  // no more requests: closing, closed, or upgraded
  bool continue_sent_ = false;
  bool closed_reported_ = false;
  uint64_t requests_ = 0;
  AliveToken alive_;
};

}  // namespace pvb::mock
