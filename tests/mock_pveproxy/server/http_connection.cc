#include "tests/mock_pveproxy/server/http_connection.h"

#include "engine/core/url.h"
#include "tests/mock_pveproxy/server/hostile_reply.h"
#include "tests/mock_pveproxy/server/http_reply.h"

namespace pvb::mock {

HttpLimits pveproxy_request_limits() {
  HttpLimits limits;
  limits.max_head_bytes = 8 * 1024 - 1;  // "under 8 KiB"
  // The parser counts header fields after the request line; with the request line and the blank
  // line the head then stays under 64 lines.
  limits.max_header_lines = 61;
  limits.max_body_bytes = 64 * 1024;
  return limits;
}

HttpConnection::HttpConnection(std::unique_ptr<Transport> transport, MockApi& api, Clock& clock,
                               LogFn log, std::string peer, Events events)
    : loop_(transport->loop()),
      transport_(std::move(transport)),
      api_(api),
      clock_(clock),
      log_(std::move(log)),
      peer_(std::move(peer)),
      events_(std::move(events)),
      parser_(pveproxy_request_limits()),
      delay_timer_(loop_),
      idle_timer_(loop_) {}

HttpConnection::~HttpConnection() {
  if (transport_ && transport_->sink() == this) transport_->set_sink(nullptr);
}

void HttpConnection::abort() {
  if (transport_) transport_->close(CloseMode::Abort);
}

void HttpConnection::start() {
  if (started_) return;
  started_ = true;
  transport_->set_sink(this);
  transport_->start();
}

void HttpConnection::on_connected() {
  if (events_.connected) events_.connected(*this);
}

void HttpConnection::on_data(ByteChain& data, bool end_stream) {
  if (!data.empty()) idle_timer_.stop();
  in_.move_from(data);
  if (end_stream) peer_ended_ = true;
  process();
}

void HttpConnection::on_closed(const Error& error) {
  delay_timer_.stop();
  idle_timer_.stop();
  closing_ = true;
  if (error.failed() && requests_ == 0) log_(peer_ + ": connection failed: " + error.message());
  if (closed_reported_) return;
  closed_reported_ = true;
  if (events_.closed) events_.closed(*this);
}

void HttpConnection::process() {
  while (transport_ && !closing_ && !waiting_) {
    Result<HttpParseState> state = parser_.feed(in_, body_);
    if (!state.ok()) {
      const bool had_head = parser_.has_head();
      MockResponse reply = request_error_reply(state.error(), had_head);
      log_(peer_ + ": unreadable request (" + state.error().message() +
           "): " + std::to_string(reply.status));
      send_reply(reply, false);
      after_reply(false);
      return;
    }
    if (*state == HttpParseState::complete) {
      handle_request();
      continue;
    }
    if (*state == HttpParseState::body && !continue_sent_) {
      std::optional<std::string_view> expect = parser_.head().headers.get("Expect");
      if (expect && (*expect == "100-continue" || *expect == "100-Continue")) {
        continue_sent_ = true;
        ByteChain out;
        out.append_header("HTTP/1.1 100 Continue\r\n\r\n", 25);
        transport_->write(out);
      }
    }
    if (peer_ended_) {
      // The client ended its direction: nothing more will complete a request.
      closing_ = true;
      transport_->close(CloseMode::Flush);
    }
    return;
  }
}

void HttpConnection::handle_request() {
  const HttpRequestHead& head = parser_.head();
  const bool keep_alive = parser_.keep_alive();
  const bool upgrade = parser_.upgrade_requested() && head.method == "GET";
  if (start_fault_reply(upgrade)) return;
  std::string body = body_.to_string();
  body_.clear();

  std::variant<MockRequest, MockResponse> parsed =
      api_.parse(head.method, head.target, head.headers, std::move(body));
  if (auto* reply = std::get_if<MockResponse>(&parsed)) {
    respond(std::move(*reply), keep_alive && !parser_.upgrade_requested());
    return;
  }
  const MockRequest& request = std::get<MockRequest>(parsed);
  if (!upgrade) {
    // An upgrade request that is not a GET is answered like any request; what follows its head
    // is not HTTP, so the connection ends after the reply.
    respond(api_.handle(request), keep_alive && !parser_.upgrade_requested());
    return;
  }
  std::variant<ConsoleGrant, MockResponse> result = api_.accept_vncwebsocket(request);
  if (auto* grant = std::get_if<ConsoleGrant>(&result)) {
    grant_upgrade(std::move(*grant));
  } else {
    respond(std::move(std::get<MockResponse>(result)), false);
  }
}

bool HttpConnection::start_fault_reply(bool upgrade) {
  const MockOptions& options = api_.options();
  const std::string path = split_target(parser_.head().target).path;
  if (requests_ > 0 && options.path_fault(FaultKind::close_reused, path)) {
    log_(peer_ + ": " + parser_.head().method + " " + path + " on a connection after " +
         std::to_string(requests_) + " replies: closed unanswered (fault close_reused)");
    closing_ = true;
    transport_->close(CloseMode::Flush);
    return true;
  }
  if (upgrade && options.reset_upgrade()) {
    log_(peer_ + ": GET " + path + ": a TCP reset instead of the 101 (fault reset_upgrade)");
    closing_ = true;
    transport_->close(CloseMode::Abort);
    return true;
  }
  std::optional<FaultKind> hostile = options.hostile_reply_for(path);
  if (!hostile) return false;
  // No more requests on this connection: what the client sends from now on is ignored.
  ++requests_;
  closing_ = true;
  log_(peer_ + ": " + parser_.head().method + " " + path + ": " +
       std::string(fault_name(*hostile)) + " (fault)");
  if (*hostile == FaultKind::no_reply) return true;
  hostile_ = std::make_unique<HostileReply>(*transport_, *hostile);
  hostile_->start();
  return true;
}

void HttpConnection::on_write_low() {
  if (hostile_) hostile_->on_write_low();
}

void HttpConnection::respond(MockResponse reply, bool keep_alive) {
  // pveproxy: "Connection: close" after an error status, and after its 100th request.
  keep_alive =
      keep_alive && reply.status < 400 && requests_ + 1 < MockOptions::keepalive_max_requests;
  if (reply.delay_ms == 0) {
    send_reply(reply, keep_alive);
    after_reply(keep_alive);
    return;
  }
  waiting_ = true;
  pause_reading(true);
  const uint64_t delay = reply.delay_ms;
  delay_timer_.start(delay, [this, reply = std::move(reply), keep_alive] {
    waiting_ = false;
    send_reply(reply, keep_alive);
    after_reply(keep_alive);
    pause_reading(false);
    process();
  });
}

void HttpConnection::send_reply(const MockResponse& reply, bool keep_alive) {
  if (!transport_) return;
  ++requests_;
  log_request(reply.status);
  ByteChain out;
  const std::string path = split_target(parser_.head().target).path;
  if (parser_.has_head() && api_.options().path_fault(FaultKind::wrong_types, path)) {
    MockResponse retyped = reply;
    retyped.body = retype_json(reply.body);
    write_mock_reply(retyped, keep_alive, clock_.unix_seconds(), out);
  } else {
    write_mock_reply(reply, keep_alive, clock_.unix_seconds(), out);
  }
  transport_->write(out);
}

void HttpConnection::after_reply(bool keep_alive) {
  if (!transport_ || closing_) return;
  if (!keep_alive || (peer_ended_ && in_.empty())) {
    closing_ = true;
    transport_->close(CloseMode::Flush);
    return;
  }
  parser_.reset();
  continue_sent_ = false;
  // Waiting for the next request: pveproxy's handle timeout runs again from its reply on.
  const uint64_t idle_ms = api_.options().keepalive_timeout_ms;
  if (idle_ms > 0 && in_.empty()) idle_timer_.start(idle_ms, [this] { idle_timed_out(); });
}

void HttpConnection::idle_timed_out() {
  if (!transport_ || closing_) return;
  log_(peer_ + ": idle for " + std::to_string(api_.options().keepalive_timeout_ms) + " ms after " +
       std::to_string(requests_) + " replies: closed (keep-alive timeout)");
  closing_ = true;
  transport_->close(CloseMode::Flush);
}

void HttpConnection::grant_upgrade(ConsoleGrant grant) {
  if (grant.delay_ms == 0) {
    upgrade_now(std::move(grant));
    return;
  }
  waiting_ = true;
  pause_reading(true);
  const uint64_t delay = grant.delay_ms;
  delay_timer_.start(delay, [this, grant = std::move(grant)]() mutable {
    waiting_ = false;
    upgrade_now(std::move(grant));
  });
}

void HttpConnection::upgrade_now(ConsoleGrant grant) {
  ++requests_;
  log_request(101);
  ByteChain out;
  if (api_.options().bad_ws_accept()) {
    // Still base64 of 20 bytes, but not the key's: the client must refuse the upgrade.
    grant.ws_accept[0] = grant.ws_accept[0] == 'A' ? 'B' : 'A';
    log_(peer_ + ": 101 with a wrong Sec-WebSocket-Accept (fault bad_ws_accept)");
  }
  write_upgrade_reply(grant, out);
  transport_->write(out);
  // The taker starts with a transport whose reading is enabled (read_disable is counted).
  pause_reading(false);
  closing_ = true;
  closed_reported_ = true;  // `upgraded` replaces `closed`
  std::unique_ptr<Transport> transport = std::move(transport_);
  transport->set_sink(nullptr);
  ByteChain leftover = std::move(in_);
  if (events_.upgraded) {
    events_.upgraded(*this, std::move(transport), std::move(leftover), std::move(grant));
  }
}

void HttpConnection::pause_reading(bool pause) {
  if (!transport_ || pause == paused_) return;
  paused_ = pause;
  transport_->read_disable(pause);
}

void HttpConnection::log_request(int status) {
  // The path only: the query may hold a vncticket.
  const HttpRequestHead& head = parser_.head();
  std::string path = parser_.has_head() ? split_target(head.target).path : "-";
  log_(peer_ + ": " + (parser_.has_head() ? head.method : std::string("-")) + " " + path + " " +
       std::to_string(status));
}

}  // namespace pvb::mock
