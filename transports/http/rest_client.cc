#include "transports/http/rest_client.h"

#include <algorithm>

#ifndef PVB_VERSION
#define PVB_VERSION "0"
#endif

namespace pvb {

namespace {

bool is_idempotent(std::string_view method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" ||
         method == "OPTIONS" || method == "TRACE";
}

bool is_token(std::string_view s) {
  static constexpr std::string_view kSpecials = "!#$%&'*+-.^_`|~";
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           kSpecials.find(c) != std::string_view::npos;
  });
}

bool is_field_value(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](char ch) {
    auto c = static_cast<unsigned char>(ch);
    return c == '\t' || (c >= 0x20 && c != 0x7f);
  });
}

// Checks what the caller controls; the message names the offending part but never its value.
Error validate(const RestRequest& r, const HttpHeaders& defaults) {
  if (!is_token(r.method)) return Error(Errc::usage, "invalid HTTP method");
  bool path_ok = !r.path.empty() && r.path.front() == '/' &&
                 std::all_of(r.path.begin(), r.path.end(),
                             [](char c) { return c > 0x20 && c < 0x7f && c != '?' && c != '#'; });
  if (!path_ok) return Error(Errc::usage, "invalid request path");
  if (r.form && r.json_body) {
    return Error(Errc::usage, "a request has either a form or a JSON body");
  }
  for (const HttpHeaders* headers : {&r.headers, &defaults}) {
    for (const auto& [name, value] : headers->fields()) {
      if (!is_token(name)) return Error(Errc::usage, "invalid request header name");
      if (!is_field_value(value)) {
        return Error(Errc::usage, "invalid value for request header '" + name + "'");
      }
    }
  }
  return Error();
}

}  // namespace

// One request from queue to callback.
struct RestClient::Pending {
  RestRequest request;
  Done done;
  std::string what;  // "POST /path" for messages and logs: no query (it may hold a ticket)
  uint64_t started_ms = 0;
  uint64_t sent_bytes = 0;
  bool sent_on_reused = false;  // the current attempt went out on a connection used before
  bool response_started = false;
  bool retried = false;
};

// The sink of one transport; forwards to the client, which knows whether it is current.
class RestClient::Connection final : public TransportSink {
 public:
  Connection(RestClient& owner, std::unique_ptr<Transport> transport, uint64_t id)
      : owner_(owner), transport_(std::move(transport)), id_(id) {
    transport_->set_sink(this);
  }
  ~Connection() override {
    if (transport_) transport_->set_sink(nullptr);
  }

  Transport& transport() { return *transport_; }
  uint64_t id() const { return id_; }
  // Neither side may use it for another request.
  bool dead() const { return ended_ || transport_->closed(); }
  uint64_t responses = 0;

  bool closed_seen() const { return closed_seen_; }
  // Gives the transport away (its sink unset); this connection is then an empty shell.
  std::unique_ptr<Transport> release() {
    transport_->set_sink(nullptr);
    return std::move(transport_);
  }
  // Detaches from the client: no more callbacks reach it.
  void orphan() { orphaned_ = true; }

  void on_data(ByteChain& data, bool end_stream) override {
    if (end_stream) ended_ = true;
    if (orphaned_) {
      data.clear();
      return;
    }
    owner_.on_conn_data(*this, data, end_stream);
  }
  void on_closed(const Error& error) override {
    ended_ = true;
    closed_seen_ = true;
    if (!orphaned_) owner_.on_conn_closed(*this, error);
  }

 private:
  RestClient& owner_;
  std::unique_ptr<Transport> transport_;
  uint64_t id_;
  bool ended_ = false;
  bool orphaned_ = false;
  bool closed_seen_ = false;
};

RestClient::RestClient(Loop& loop, Connector connector, std::string host_port, HttpLimits limits)
    : loop_(loop), connector_(std::move(connector)), timer_(loop), parser_(limits) {
  default_headers_.add("Host", std::move(host_port));
  default_headers_.add("User-Agent", "pvebridge/" PVB_VERSION);
  default_headers_.add("Accept", "application/json");
}

RestClient::~RestClient() {
  // We may be inside one of our transports' callbacks: transports (and their sinks) are deleted
  // on a later loop iteration, detached first so nothing calls back into this dead client.
  if (conn_) retiring_.push_back(std::move(conn_));
  for (auto& c : retiring_) {
    c->orphan();
    c->transport().close(CloseMode::Abort);
    loop_.defer_delete(std::move(c));
  }
}

std::unique_ptr<Transport> RestClient::take_idle_transport() {
  const bool idle = !closed_ && !active_ && queue_.empty() && conn_ && conn_->responses > 0 &&
                    !conn_->dead() && conn_->transport().connected() &&
                    conn_->transport().pending_write_bytes() == 0;
  if (!idle) return nullptr;
  std::unique_ptr<Connection> c = std::move(conn_);
  log("connection #" + std::to_string(c->id()) + ": handed over after " +
      std::to_string(c->responses) + (c->responses == 1 ? " response" : " responses"));
  std::unique_ptr<Transport> t = c->release();
  // We may be inside that transport's callback to the shell (a response's `done` opening the
  // console): the shell goes on a later iteration.
  loop_.defer_delete(std::move(c));
  return t;
}

void RestClient::set_default_header(std::string name, std::string value) {
  default_headers_.remove(name);
  default_headers_.add(std::move(name), std::move(value));
}

void RestClient::log(const std::string& line) {
  if (logger_) logger_(line);
}

void RestClient::fail_later(Done done, Error error) {
  loop_.post([weak = alive_.weak(), this, done = std::move(done), error = std::move(error)] {
    if (!weak.expired() && !closed_) done(error);
  });
}

void RestClient::request(RestRequest request, Done done) {
  if (closed_) return;
  auto p = std::make_unique<Pending>();
  p->what = request.method + " " + request.path;
  if (Error e = validate(request, default_headers_); e.failed()) {
    fail_later(std::move(done), e.context(p->what));
    return;
  }
  p->request = std::move(request);
  p->done = std::move(done);
  queue_.push_back(std::move(p));
  dispatch();
}

void RestClient::dispatch() {
  if (closed_ || active_ || queue_.empty()) return;
  active_ = std::move(queue_.front());
  queue_.pop_front();
  active_->started_ms = loop_.now_ms();
  timer_.start(active_->request.timeout_ms, [this] { on_timeout(); });
  send_active();
}

RestClient::Connection* RestClient::ensure_connection() {
  // Never write onto a connection already known to be over (closed by the server while idle).
  if (conn_ && conn_->dead()) retire_connection(CloseMode::Abort);
  if (!conn_) {
    std::unique_ptr<Transport> t = connector_ ? connector_() : nullptr;
    if (!t) return nullptr;
    uint64_t id = ++connections_opened_;
    conn_ = std::make_unique<Connection>(*this, std::move(t), id);
    log("connection #" + std::to_string(id) + ": opening");
    conn_->transport().start();
  }
  return conn_.get();
}

void RestClient::retire_connection(CloseMode mode) {
  if (!conn_) return;
  std::unique_ptr<Connection> c = std::move(conn_);
  if (c->closed_seen()) {
    // Its on_closed has come already: nothing more will arrive.
    c->orphan();
    loop_.defer_delete(std::move(c));
    return;
  }
  c->transport().close(mode);  // its on_closed (posted) removes it from retiring_
  retiring_.push_back(std::move(c));
}

ByteChain RestClient::serialize(const RestRequest& r) const {
  HttpRequestHead head;
  head.method = r.method;
  head.target = r.path;
  if (!r.query.empty()) head.target += "?" + form_encode(r.query);

  std::string body;
  std::string_view content_type;
  if (r.form) {
    body = form_encode(*r.form);
    content_type = "application/x-www-form-urlencoded";
  } else if (r.json_body) {
    body = *r.json_body;
    content_type = "application/json";
  }
  for (const auto& [name, value] : default_headers_.fields()) {
    if (!r.headers.get(name)) head.headers.add(name, value);
  }
  for (const auto& [name, value] : r.headers.fields()) head.headers.add(name, value);
  // Framing is ours alone: a caller's Content-Length or Transfer-Encoding could only disagree.
  head.headers.remove("Content-Length");
  head.headers.remove("Transfer-Encoding");
  if (!content_type.empty() && !head.headers.get("Content-Type")) {
    head.headers.add("Content-Type", std::string(content_type));
  }
  if (!body.empty() || (r.method != "GET" && r.method != "HEAD")) {
    head.headers.add("Content-Length", std::to_string(body.size()));
  }
  ByteChain wire;
  write_request_head(head, wire);
  wire.append(body);  // one small counted copy: REST bodies are forms and short JSON
  return wire;
}

void RestClient::send_active() {
  Pending& p = *active_;
  Connection* conn = ensure_connection();
  if (!conn) {
    // Not from inside request(): report on the next loop iteration.
    loop_.post([weak = alive_.weak(), this, attempt = active_.get()] {
      if (weak.expired() || active_.get() != attempt) return;
      complete_active(Error(Errc::connect, "no transport to connect with").context(active_->what));
    });
    return;
  }
  p.sent_on_reused = conn->responses > 0;
  p.response_started = false;
  parser_.reset(p.request.method);
  body_.clear();
  ByteChain wire = serialize(p.request);
  p.sent_bytes = wire.size();
  log(p.what + ": sending " + std::to_string(p.sent_bytes) + " bytes on connection #" +
      std::to_string(conn->id()) + (p.sent_on_reused ? " (reused)" : ""));
  conn->transport().write(wire);
}

void RestClient::on_conn_data(Connection& conn, ByteChain& data, bool end_stream) {
  if (&conn != conn_.get()) {
    data.clear();  // a retiring connection: nothing it says matters any more
    return;
  }
  if (data.empty() && !end_stream) return;
  if (!active_) {
    // Idle: the server may close, but must not speak unasked. Either way this connection is done.
    log("connection #" + std::to_string(conn.id()) +
        (data.empty() ? ": closed by the server while idle" : ": unexpected bytes while idle"));
    CloseMode mode = data.empty() ? CloseMode::Flush : CloseMode::Abort;
    data.clear();
    retire_connection(mode);
    return;
  }
  Pending& p = *active_;
  if (!data.empty()) p.response_started = true;
  auto state = parser_.feed(data, body_);
  if (state.ok() && *state != HttpParseState::complete && end_stream) state = parser_.finish();
  if (!state.ok()) {
    if (state.error().code() == Errc::connection_lost) {
      connection_lost(state.error());
    } else {
      retire_connection(CloseMode::Abort);
      Error e = state.error();
      complete_active(e.context(p.what));
    }
    return;
  }
  if (*state != HttpParseState::complete) return;

  ++conn.responses;
  // Bytes after a complete response were never asked for: do not trust this connection again.
  bool keep = parser_.keep_alive() && !end_stream && data.empty() &&
              !p.request.headers.has_token("Connection", "close");
  if (!keep) {
    data.clear();
    retire_connection(CloseMode::Flush);
  }
  complete_active(take_response());
}

void RestClient::on_conn_closed(Connection& conn, const Error& error) {
  if (&conn != conn_.get()) {
    // A retiring connection finished closing.
    for (auto it = retiring_.begin(); it != retiring_.end(); ++it) {
      if (it->get() == &conn) {
        loop_.defer_delete(std::move(*it));
        retiring_.erase(it);
        break;
      }
    }
    return;
  }
  if (!active_) {
    if (error.failed()) log("connection #" + std::to_string(conn.id()) + ": " + error.message());
    retire_connection(CloseMode::Abort);
    return;
  }
  connection_lost(error.failed() ? error
                                 : Error(Errc::connection_lost, "connection closed by the peer"));
}

void RestClient::connection_lost(Error error) {
  Pending& p = *active_;
  // The peer has ended or reset it: nothing of ours is pending that an Abort would need to drop.
  retire_connection(CloseMode::Flush);
  bool maybe_race = !p.response_started && p.sent_on_reused;
  if (maybe_race && !p.retried && is_idempotent(p.request.method)) {
    p.retried = true;
    log(p.what + ": reused connection closed before any response byte; retrying once");
    send_active();
    return;
  }
  if (maybe_race && !is_idempotent(p.request.method)) {
    error = Error(Errc::connection_lost,
                  "reused connection closed before any response byte (not retried: the "
                  "request may have been processed)");
  } else if (error.ok()) {
    error = Error(Errc::connection_lost, "connection closed before the response was complete");
  }
  complete_active(error.context(p.what));
}

void RestClient::on_timeout() {
  if (!active_) return;
  // Say which step hung: a host that never completes the TCP and TLS handshakes (down, filtered,
  // not a TLS server) is another problem than a server that takes the request and never answers.
  const bool connected = conn_ && conn_->transport().connected();
  Error e(Errc::timeout, active_->what +
                             (connected ? ": no response within "
                                        : ": could not connect (TCP and TLS handshakes) within ") +
                             describe_timeout(active_->request.timeout_ms));
  // The response may still be on its way: this connection is out of step and cannot be reused.
  retire_connection(CloseMode::Abort);
  complete_active(std::move(e));
}

RestResponse RestClient::take_response() {
  RestResponse r;
  r.status = parser_.head().status;
  r.reason = parser_.head().reason;
  r.headers = parser_.head().headers;
  r.body = body_.to_string();  // reserves once, one counted copy
  body_.clear();
  return r;
}

void RestClient::complete_active(Result<RestResponse> result) {
  timer_.stop();
  std::unique_ptr<Pending> p = std::move(active_);
  body_.clear();
  std::string elapsed = std::to_string(loop_.now_ms() - p->started_ms) + " ms";
  if (result.ok()) {
    log(p->what + ": " + std::to_string(result->status) + ", " + std::to_string(p->sent_bytes) +
        " bytes sent, " + std::to_string(result->body.size()) + " body bytes received in " +
        elapsed);
  } else {
    log(p->what + ": failed after " + elapsed + " (" + errc_name(result.error().code()) + ")");
  }
  auto alive = alive_.weak();
  p->done(std::move(result));  // may close or destroy this client, or queue more requests
  if (alive.expired()) return;
  dispatch();
}

void RestClient::close() {
  if (closed_) return;
  closed_ = true;
  timer_.stop();
  queue_.clear();
  bool busy = active_ != nullptr;
  active_.reset();
  body_.clear();
  retire_connection(busy ? CloseMode::Abort : CloseMode::Flush);
}

}  // namespace pvb
