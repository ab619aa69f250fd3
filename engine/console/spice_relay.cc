#include "engine/console/spice_relay.h"

#include "engine/core/platform.h"

namespace pvb {

namespace {

bool is_token_char(char c) {
  // RFC 9110 tchar, enough for header names.
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

bool equals_ignoring_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    char x = a[i], y = b[i];
    if (x >= 'A' && x <= 'Z') x = static_cast<char>(x - 'A' + 'a');
    if (y >= 'A' && y <= 'Z') y = static_cast<char>(y - 'A' + 'a');
    if (x != y) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

Error malformed(const std::string& what) {
  return Error(Errc::protocol, "not an HTTP CONNECT request: " + what);
}

}  // namespace

Result<std::optional<ConnectHead>> parse_connect_head(std::string_view bytes) {
  size_t end = bytes.find("\r\n\r\n");
  size_t term = 4;
  if (end == std::string_view::npos) {
    end = bytes.find("\n\n");
    term = 2;
  }
  if (end == std::string_view::npos) {
    if (bytes.size() >= SpiceRelayOptions::kMaxHead) {
      return Error(Errc::too_large, "CONNECT request head over " +
                                        std::to_string(SpiceRelayOptions::kMaxHead) + " bytes");
    }
    return std::optional<ConnectHead>();
  }
  if (end + term > SpiceRelayOptions::kMaxHead) {
    return Error(Errc::too_large, "CONNECT request head over " +
                                      std::to_string(SpiceRelayOptions::kMaxHead) + " bytes");
  }
  ConnectHead head;
  head.length = end + term;
  std::string_view text = bytes.substr(0, end);
  bool first = true;
  while (true) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    for (char c : line) {
      if ((static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7f) {
        return malformed("a control character in the head");
      }
    }
    if (first) {
      first = false;
      if (line.find('\t') != std::string_view::npos) return malformed("a tab in the request line");
      size_t sp1 = line.find(' ');
      size_t sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
      if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) {
        return malformed("the request line is not METHOD TARGET VERSION");
      }
      if (line.substr(0, sp1) != "CONNECT") return malformed("the method is not CONNECT");
      head.target = std::string(line.substr(sp1 + 1, sp2 - sp1 - 1));
      head.version = std::string(line.substr(sp2 + 1));
      if (head.version != "HTTP/1.1" && head.version != "HTTP/1.0") {
        return malformed("unknown version");
      }
      if (head.target.empty()) return malformed("no target");
    } else {
      size_t colon = line.find(':');
      if (colon == 0 || colon == std::string_view::npos) return malformed("a bad header line");
      std::string_view name = line.substr(0, colon);
      for (char c : name) {
        if (!is_token_char(c)) return malformed("a bad header name");
      }
      if (equals_ignoring_case(name, "Host")) {
        if (head.host) return malformed("two Host headers");
        head.host = std::string(trim(line.substr(colon + 1)));
      }
    }
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
  return std::optional<ConnectHead>(std::move(head));
}

// One local connection: its CONNECT head, then (if it is the allowed target) a tunnel to
// spiceproxy pumped both ways.
class SpiceRelay::Connection {
 public:
  Connection(SpiceRelay& relay, std::unique_ptr<Transport> client, std::string peer)
      : relay_(relay),
        client_(std::move(client)),
        peer_(std::move(peer)),
        head_timer_(relay.loop_) {
    client_sink_.c = this;
    upstream_sink_.c = this;
  }
  ~Connection() {
    pump_.reset();
    if (client_) client_->set_sink(nullptr);
    if (upstream_) upstream_->set_sink(nullptr);
  }

  void start() {
    client_->set_sink(&client_sink_);
    client_->start();
    head_timer_.start(relay_.options_.head_timeout_ms, [this] {
      if (state_ != State::head) return;
      relay_.refused("a local connection sent no CONNECT request within " +
                     std::to_string(relay_.options_.head_timeout_ms / 1000) + " s");
      abort_all();
    });
  }

  // The relay is closing: end now (a tunnel flushes what it has).
  void close() {
    if (state_ == State::pumping && pump_) {
      pump_->stop();
      return;
    }
    abort_all();
  }

  bool done() const { return state_ == State::done; }

 private:
  enum class State { head, dialing, pumping, refusing, done };

  struct ClientSink : TransportSink {
    Connection* c = nullptr;
    void on_data(ByteChain& data, bool end_stream) override { c->client_data(data, end_stream); }
    void on_closed(const Error&) override { c->client_closed(); }
  };
  struct UpstreamSink : TransportSink {
    Connection* c = nullptr;
    void on_connected() override { c->upstream_connected(); }
    void on_data(ByteChain& data, bool) override { data.clear(); }  // nothing before the pump
    void on_closed(const Error& e) override { c->upstream_closed(e); }
  };

  void client_data(ByteChain& data, bool end_stream) {
    if (state_ != State::head) {
      // Read is paused while dialing; whatever still came waits for the tunnel.
      if (state_ == State::dialing) {
        early_.move_from(data);
      } else {
        data.clear();
      }
      return;
    }
    size_t room =
        SpiceRelayOptions::kMaxHead + 1 - std::min(head_.size(), SpiceRelayOptions::kMaxHead);
    std::string more = data.to_string(room);
    head_ += more;
    data.drain(more.size());
    auto parsed = parse_connect_head(head_);
    if (!parsed.ok()) {
      relay_.refused("a local connection: " + parsed.error().message());
      return refuse("400 Bad Request");
    }
    if (!*parsed) {
      if (end_stream || !data.empty()) {
        relay_.refused("a local connection ended before its CONNECT request did");
        abort_all();
      }
      return;
    }
    head_timer_.stop();
    const ConnectHead& h = **parsed;
    const std::string& allowed = relay_.options_.allowed_target;
    if (h.target != allowed || (h.host && *h.host != allowed)) {
      // Never echo the target: it may be another console's ticket.
      relay_.refused("refused a CONNECT to another target than this console's SPICE channel");
      return refuse("403 Forbidden");
    }
    version_ = h.version;
    early_.append(std::string_view(head_).substr(h.length));
    data.clear();
    wipe(head_);
    client_->read_disable(true);
    dial();
  }

  void dial() {
    state_ = State::dialing;
    upstream_ = relay_.dialer_.open_stream(relay_.options_.upstream);
    if (!upstream_) {
      relay_.log("no transport to the SPICE proxy " + relay_.options_.upstream.authority());
      return refuse("502 Bad Gateway");
    }
    upstream_->set_sink(&upstream_sink_);
    upstream_->start();
  }

  void upstream_connected() {
    if (state_ != State::dialing) return;
    state_ = State::pumping;
    const std::string& target = relay_.options_.allowed_target;
    std::string request = "CONNECT " + target + " " + version_ + "\r\nHost: " + target + "\r\n\r\n";
    ByteChain to_upstream;
    to_upstream.append_header(request.data(), request.size());
    to_upstream.move_from(early_);
    auto weak = alive_.weak();
    pump_ = std::make_unique<Pump>(*client_, *upstream_, relay_.options_.pump,
                                   [this, weak](const Pump::Result& r) {
                                     if (!weak.expired()) pumped(r);
                                   });
    pump_->start(ByteChain(), std::move(to_upstream));
    client_->read_disable(false);
    ++relay_.open_;
    ++relay_.made_;
    relay_.log("SPICE channel from " + peer_ + " tunnelled to " +
               relay_.options_.upstream.authority());
    if (relay_.options_.on_tunnel_open) relay_.options_.on_tunnel_open();
  }

  void upstream_closed(const Error& e) {
    if (state_ != State::dialing) return;
    relay_.log("the SPICE proxy " + relay_.options_.upstream.authority() +
               " could not be reached: " + e.message());
    refuse("502 Bad Gateway");
  }

  void pumped(const Pump::Result& r) {
    relay_.bytes_to_guest_ += r.bytes_a_to_b;
    relay_.bytes_from_guest_ += r.bytes_b_to_a;
    --relay_.open_;
    finish();
    if (relay_.options_.on_tunnel_closed) relay_.options_.on_tunnel_closed();
  }

  void client_closed() {
    if (state_ == State::pumping || state_ == State::done) return;
    if (upstream_ && !upstream_->closed()) upstream_->close(CloseMode::Abort);
    finish();
  }

  // Answers the client with a status line and no body, then closes it.
  void refuse(const char* status) {
    head_timer_.stop();
    state_ = State::refusing;
    if (upstream_) {
      upstream_->set_sink(nullptr);
      if (!upstream_->closed()) upstream_->close(CloseMode::Abort);
      relay_.loop_.defer_delete(std::move(upstream_));
    }
    std::string reply =
        "HTTP/1.1 " + std::string(status) + "\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    ByteChain out;
    out.append_header(reply.data(), reply.size());
    client_->write(out, true);
    client_->close(CloseMode::Flush);
  }

  void abort_all() {
    head_timer_.stop();
    if (state_ == State::done) return;
    state_ = State::refusing;  // the client's on_closed finishes
    if (upstream_ && !upstream_->closed()) upstream_->close(CloseMode::Abort);
    if (!client_->closed()) {
      client_->close(CloseMode::Abort);
    } else {
      finish();
    }
  }

  void finish() {
    if (state_ == State::done) return;
    state_ = State::done;
    head_timer_.stop();
    wipe(head_);
    relay_.loop_.post([weak = relay_.alive_.weak(), relay = &relay_, self = this] {
      if (!weak.expired()) relay->connection_done(self);
    });
  }

  SpiceRelay& relay_;
  std::unique_ptr<Transport> client_;
  std::string peer_;
  Timer head_timer_;
  ClientSink client_sink_;
  UpstreamSink upstream_sink_;
  State state_ = State::head;
  std::string head_;
  std::string version_;
  ByteChain early_;
  std::unique_ptr<Transport> upstream_;
  std::unique_ptr<Pump> pump_;
  AliveToken alive_;
};

SpiceRelay::SpiceRelay(Loop& loop, ListenerFactory& listeners, Dialer& dialer,
                       SpiceRelayOptions options)
    : loop_(loop), listeners_(listeners), dialer_(dialer), options_(std::move(options)) {}

SpiceRelay::~SpiceRelay() {
  if (listener_) listener_->close();
  connections_.clear();
}

void SpiceRelay::log(const std::string& line) const {
  if (options_.log) options_.log(line);
}

Error SpiceRelay::listen() {
  auto weak = alive_.weak();
  auto l =
      listeners_.listen(options_.listen_host, options_.listen_port, [this, weak](AcceptedClient c) {
        if (!weak.expired()) accept(std::move(c));
      });
  if (!l.ok()) return l.error();
  listener_ = std::move(*l);
  port_ = listener_->port();
  return Error();
}

void SpiceRelay::refused(const std::string& why) {
  log(why);
  if (options_.on_refused) options_.on_refused(why);
}

void SpiceRelay::accept(AcceptedClient accepted) {
  auto drop = [&] {
    accepted.transport->close(CloseMode::Abort);
    loop_.defer_delete(std::move(accepted.transport));
  };
  if (closing_) return drop();
  if (options_.require_same_uid) {
    const auto& uid = accepted.peer_uid;
    if (!uid || *uid != current_user_id()) {
      refused("refused a local connection from " +
              (uid ? "user id " + std::to_string(*uid) : std::string("an unknown user")));
      return drop();
    }
  }
  connections_.push_back(
      std::make_unique<Connection>(*this, std::move(accepted.transport), accepted.peer));
  connections_.back()->start();
}

void SpiceRelay::connection_done(Connection* c) {
  for (auto it = connections_.begin(); it != connections_.end(); ++it) {
    if (it->get() == c) {
      // Its transports may still be inside a callback of theirs up the stack: not here, but
      // destroying through the loop costs nothing.
      loop_.defer_delete(std::move(*it));
      connections_.erase(it);
      return;
    }
  }
}

void SpiceRelay::close() {
  if (closing_) return;
  closing_ = true;
  if (listener_) listener_->close();
  for (auto& c : connections_) {
    if (!c->done()) c->close();
  }
}

}  // namespace pvb
