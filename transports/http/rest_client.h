// RestClient: HTTP/1.1 requests over one keep-alive connection at a time, for the Proxmox API.
//
// The client knows nothing of TCP or TLS: a Connector hands it a fresh, unstarted Transport
// (TLS over TCP in production, a MemPipe end in tests). Requests are queued and sent one at a time;
// the connection is reused while the server keeps it open.
//
// Retry policy (the keep-alive race: the server closes an idle connection just as we send on it):
// - A connection seen to end while idle is dropped; the next request opens a new one. Nothing is
//   retried because nothing was sent.
// - Before sending, a connection whose transport has already ended (closed() or end_stream seen)
//   is not used: a request is never written onto a connection known to be dead.
// - A request that was written on a *reused* connection which then ended before a single response
//   byte arrived is retried once on a new connection, but only if its method is idempotent (GET,
//   HEAD, PUT, DELETE, OPTIONS, TRACE; RFC 9110 section 9.2.2). A POST in that situation may have
//   reached the server and been acted on (a vncproxy, a guest start), so it fails with
//   Errc::connection_lost and the caller decides.
// - A fresh connection that fails, or any connection that ends after response bytes arrived, is an
//   error, never retried.
//
// Any HTTP status is a response (the Proxmox layer maps statuses); transport failures, timeouts,
// malformed responses and limit breaches are Errors. Callbacks come from loop callbacks, never from
// inside request(); none is made after close() or destruction.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/core/loop.h"
#include "engine/core/url.h"
#include "engine/io/transport.h"
#include "transports/http/http_message.h"
#include "transports/http/http_parser.h"

namespace pvb {

class RestClient final : public HttpExchange {
 public:
  using Connector = std::function<std::unique_ptr<Transport>()>;

  // host_port is the Host header ("pve1.example.com:8006"). Default headers are Host,
  // User-Agent "pvebridge/<version>" and Accept "application/json".
  RestClient(Loop& loop, Connector connector, std::string host_port, HttpLimits limits = {});
  ~RestClient();
  RestClient(const RestClient&) = delete;
  RestClient& operator=(const RestClient&) = delete;

  // Sets (replacing any previous value) a header sent with every request.
  void set_default_header(std::string name, std::string value);

  // For --verbose: one line per event with method, path, status, byte counts and timing. Header
  // values, query values and bodies are never passed to it (they carry tickets and passwords).
  void set_logger(Logger logger) override { logger_ = std::move(logger); }

  // Queues a request; `done` is called exactly once (unless the client is closed or destroyed
  // first). Invalid requests (a header value with CR/LF, a path without a leading '/', both a form
  // and a JSON body) fail with Errc::usage, also through `done`.
  void request(RestRequest request, Done done) override;

  // Drops queued and in-flight requests without calling their callbacks and closes the
  // connection. Later request() calls are ignored.
  void close() override;

  // Hands over the kept-alive connection when it is idle and healthy: it has served at least one
  // response, no request is queued or in flight, the server has not ended it and nothing waits to
  // be written. The transport is started and connected, its sink unset (the taker sets its own);
  // this client opens a new connection for its next request. Null otherwise. The WebSocket of a
  // console takes the connection its REST calls used this way (one TLS handshake per console).
  std::unique_ptr<Transport> take_idle_transport();

  size_t queued_requests() const { return queue_.size() + (active_ ? 1 : 0); }
  // Connections opened so far (for tests and --verbose).
  uint64_t connections_opened() const { return connections_opened_; }

 private:
  class Connection;
  struct Pending;

  void dispatch();
  void send_active();
  Connection* ensure_connection();  // nullptr when the connector gives no transport
  void retire_connection(CloseMode mode);
  ByteChain serialize(const RestRequest& r) const;
  void on_conn_data(Connection& conn, ByteChain& data, bool end_stream);
  void on_conn_closed(Connection& conn, const Error& error);
  void connection_lost(Error error);
  void on_timeout();
  void complete_active(Result<RestResponse> result);
  RestResponse take_response();
  void log(const std::string& line);
  void fail_later(Done done, Error error);

  Loop& loop_;
  Connector connector_;
  HttpHeaders default_headers_;
  Logger logger_;
  Timer timer_;
  AliveToken alive_;

  std::deque<std::unique_ptr<Pending>> queue_;
  std::unique_ptr<Pending> active_;
  std::unique_ptr<Connection> conn_;
  // Connections closing gracefully (Flush); each is deleted once its on_closed arrives.
  std::list<std::unique_ptr<Connection>> retiring_;
  HttpResponseParser parser_;
  ByteChain body_;
  uint64_t connections_opened_ = 0;
  bool closed_ = false;
};

}  // namespace pvb
