#include "transports/tcp/tcp_transport.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <csignal>
#include <cstring>
#include <mutex>

namespace pvb {

namespace {

// close(Flush) drops at most this much unread input before closing (see drop_unread_input).
constexpr size_t kMaxDrainOnClose = 1024 * 1024;
// After our FIN, close(Flush) waits this long for the peer's, reading and dropping what it still
// sends (see flushed).
constexpr uint64_t kLingerMs = 1000;

std::string ip_string(const sockaddr_storage& ss) {
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  uv_ip_name(reinterpret_cast<const sockaddr*>(&ss), buf, sizeof buf);
  return buf;
}

// TcpKeepalive on a connected socket. Best effort: a socket the system refuses it for works as
// before, only later to notice a vanished peer.
void set_keepalive(int fd, const TcpKeepalive& k) {
  auto set = [fd](int level, int name, int value) {
    setsockopt(fd, level, name, &value, sizeof value);
  };
  set(SOL_SOCKET, SO_KEEPALIVE, 1);
  set(IPPROTO_TCP, TCP_KEEPIDLE, static_cast<int>(k.idle_s));
  set(IPPROTO_TCP, TCP_KEEPINTVL, static_cast<int>(k.interval_s));
  set(IPPROTO_TCP, TCP_KEEPCNT, static_cast<int>(k.probes));
  set(IPPROTO_TCP, TCP_USER_TIMEOUT,
      static_cast<int>(std::min<uint64_t>(k.detection_ms(), INT32_MAX)));
}

uint16_t port_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

// libuv writes with writev(), which raises SIGPIPE on a socket the peer has reset; by default
// that kills the process. Ignore it (unless the application installed a handler of its own) so a
// reset is reported as a write error like any other.
void ignore_sigpipe_once() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction current {};
    if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) {
      std::signal(SIGPIPE, SIG_IGN);
    }
  });
}

}  // namespace

struct TcpTransport::DnsRequest {
  uv_getaddrinfo_t req;
  TcpTransport* owner = nullptr;  // nullptr once cancelled: the callback then only frees
};

std::unique_ptr<TcpTransport> TcpTransport::connect(Loop& loop, TcpConnectOptions options) {
  return std::unique_ptr<TcpTransport>(new TcpTransport(loop, std::move(options)));
}

TcpTransport::TcpTransport(Loop& loop, TcpConnectOptions options)
    : UvStreamTransport(loop), options_(std::move(options)) {}

// Makes stream_ a new TCP socket (not yet connected); false if libuv cannot.
bool TcpTransport::make_socket() {
  ignore_sigpipe_once();
  auto* s = new Stream;
  if (uv_tcp_init(loop().raw(), &s->u.tcp) != 0) {
    delete s;
    return false;
  }
  s->attach(this);
  stream_ = s;
  return true;
}

std::unique_ptr<TcpTransport> TcpTransport::accept_from(Loop& loop, uv_stream_t* server) {
  std::unique_ptr<TcpTransport> t(new TcpTransport(loop, TcpConnectOptions{}));
  if (!t->make_socket()) return nullptr;
  if (uv_accept(server, t->stream_->stream()) != 0) {
    t->release_stream(false);
    return nullptr;
  }
  uv_tcp_nodelay(&t->stream_->u.tcp, 1);
  t->remember_addresses();
  // Messages about an accepted connection name the client.
  t->options_.host = t->peer_address();
  t->options_.port = t->peer_port();
  return t;
}

TcpTransport::~TcpTransport() {
  cancel_connect_steps();  // the stream itself is released by ~UvStreamTransport
}

// --- connecting ----------------------------------------------------------------------------------

void TcpTransport::start() {
  if (started_ || state_ != State::idle) return;
  started_ = true;
  if (stream_) {
    // Accepted: announce the connection on the next iteration, never from inside start().
    state_ = State::connecting;
    post([this] {
      if (state_ == State::connecting) became_open();
    });
    return;
  }
  state_ = State::resolving;
  uv_update_time(loop().raw());  // the deadline counts from now, not from the last iteration
  deadline_ms_ = loop().now_ms() + options_.connect_timeout_ms;
  connect_timer_ = std::make_unique<Timer>(loop());
  connect_timer_->start(options_.connect_timeout_ms, [this] { connect_timed_out(); });

  dns_ = new DnsRequest;
  dns_->owner = this;
  dns_->req.data = dns_;
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_protocol = IPPROTO_TCP;
  auto on_resolved = [](uv_getaddrinfo_t* req, int status, addrinfo* result) {
    auto* d = static_cast<DnsRequest*>(req->data);
    TcpTransport* owner = d->owner;
    delete d;
    if (owner) {
      owner->dns_ = nullptr;
      owner->resolved(status, result);
    }
    uv_freeaddrinfo(result);
  };
  int r =
      uv_getaddrinfo(loop().raw(), &dns_->req, on_resolved, options_.host.c_str(), nullptr, &hints);
  if (r != 0) {
    delete dns_;
    dns_ = nullptr;
    fail(Errc::dns, "cannot resolve " + options_.host + ": " + uv_message(r), r);
  }
}

void TcpTransport::resolved(int status, const addrinfo* result) {
  if (state_ != State::resolving) return;
  if (status != 0) {
    fail(Errc::dns, "cannot resolve " + options_.host + ": " + uv_message(status), status);
    return;
  }
  if (deadline_passed()) return connect_timed_out();
  std::vector<sockaddr_storage> addresses;
  for (const addrinfo* ai = result; ai; ai = ai->ai_next) {
    if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6) continue;
    sockaddr_storage ss{};
    std::memcpy(&ss, ai->ai_addr, ai->ai_addrlen);
    if (ss.ss_family == AF_INET) {
      reinterpret_cast<sockaddr_in&>(ss).sin_port = htons(options_.port);
    } else {
      reinterpret_cast<sockaddr_in6&>(ss).sin6_port = htons(options_.port);
    }
    addresses.push_back(ss);
  }
  if (addresses.empty()) {
    fail(Errc::dns, "cannot resolve " + options_.host + ": no IPv4 or IPv6 address", UV_EAI_NODATA);
    return;
  }
  connect_to(std::move(addresses));
}

void TcpTransport::connect_to(std::vector<sockaddr_storage> addresses) {
  addresses_ = std::move(addresses);
  next_address_ = 0;
  try_next_address();
}

void TcpTransport::try_next_address() {
  while (next_address_ < addresses_.size()) {
    const auto* addr = reinterpret_cast<const sockaddr*>(&addresses_[next_address_++]);
    if (!make_socket()) {
      last_connect_error_ = UV_ENOMEM;
      continue;
    }
    uv_tcp_nodelay(&stream_->u.tcp, 1);  // remembered by libuv, applied when the socket exists
    auto on_connect = [](uv_connect_t* req, int status) {
      Stream* s = Stream::of(req->handle);
      if (s->owner) static_cast<TcpTransport*>(s->owner)->connected_cb(status);
    };
    int r = uv_tcp_connect(&stream_->connect_req, &stream_->u.tcp, addr, on_connect);
    if (r == 0) {
      state_ = State::connecting;
      return;
    }
    last_connect_error_ = r;
    release_stream(false);
  }
  int err = last_connect_error_ ? last_connect_error_ : UV_ECONNREFUSED;
  Errc code = err == UV_ETIMEDOUT ? Errc::timeout : Errc::connect;
  fail(code, "connect to " + peer_name() + ": " + uv_message(err), err);
}

void TcpTransport::connected_cb(int status) {
  if (state_ != State::connecting) return;
  if (status != 0) {
    // This address failed: try the next one, if time is left.
    last_connect_error_ = status;
    release_stream(false);
    if (deadline_passed()) return connect_timed_out();
    try_next_address();
    return;
  }
  connect_timer_.reset();
  uv_tcp_nodelay(&stream_->u.tcp, 1);
  if (options_.keepalive.idle_s != 0) set_keepalive(fd(), options_.keepalive);
  remember_addresses();
  became_open();
}

bool TcpTransport::deadline_passed() {
  return connect_timer_ && loop().now_ms() >= deadline_ms_;
}

void TcpTransport::connect_timed_out() {
  if (state_ != State::resolving && state_ != State::connecting) return;
  std::string what = "connect to " + peer_name() + ": timed out after " +
                     std::to_string(options_.connect_timeout_ms) + " ms";
  if (state_ == State::resolving) what += " resolving the name";
  fail(Errc::timeout, what, UV_ETIMEDOUT);
}

void TcpTransport::cancel_connect_steps() {
  connect_timer_.reset();
  if (dns_) {
    dns_->owner = nullptr;  // its callback still runs (cancelled or not) and frees it
    uv_cancel(reinterpret_cast<uv_req_t*>(&dns_->req));
    dns_ = nullptr;
  }
}

// --- the stream's TCP specifics -----------------------------------------------------------------

// Our last bytes (a WebSocket Close, a TLS close_notify) are sent and so is our FIN. Closing the
// socket now while the peer is still sending makes Linux answer its next segment with an RST,
// and a peer that gets an RST may drop what it had not read yet: our last bytes. So wait for the
// peer's FIN (pveproxy closes once it reads a Close), reading and dropping, up to kLingerMs.
void TcpTransport::flushed() {
  if (eof_received_) {
    finish_flushed_close();
    return;
  }
  if (linger_timer_) return;
  linger_timer_ = std::make_unique<Timer>(loop());
  linger_timer_->start(kLingerMs, [this] { finish_flushed_close(); });
}

// libuv reports EOF when the kernel signals hang-up right after a short read, and that is also
// what a reset looks like: the socket's pending error tells the two apart.
int TcpTransport::pending_error_at_eof() const {
  int so_error = 0;
  socklen_t len = sizeof so_error;
  int f = fd();
  if (f >= 0 && getsockopt(f, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0) return so_error;
  return 0;
}

// Closing a socket whose receive queue holds unread bytes makes Linux send an RST rather than a
// FIN, and an RST may destroy what we just flushed before the peer read it. Drop that input.
void TcpTransport::drop_unread_input() {
  int f = fd();
  if (f < 0) return;
  char buf[16 * 1024];
  size_t dropped = 0;
  while (dropped < kMaxDrainOnClose) {
    ssize_t n = recv(f, buf, sizeof buf, MSG_DONTWAIT);
    if (n <= 0) break;
    dropped += static_cast<size_t>(n);
  }
}

// --- addresses -----------------------------------------------------------------------------------

void TcpTransport::remember_addresses() {
  int len = sizeof local_;
  uv_tcp_getsockname(&stream_->u.tcp, reinterpret_cast<sockaddr*>(&local_), &len);
  len = sizeof peer_;
  uv_tcp_getpeername(&stream_->u.tcp, reinterpret_cast<sockaddr*>(&peer_), &len);
}

std::string TcpTransport::peer_name() const {
  const std::string& h = options_.host;
  std::string host = h.find(':') != std::string::npos ? "[" + h + "]" : h;
  return host + ":" + std::to_string(options_.port);
}

std::string TcpTransport::local_address() const {
  return ip_string(local_);
}
uint16_t TcpTransport::local_port() const {
  return port_of(local_);
}
std::string TcpTransport::peer_address() const {
  return ip_string(peer_);
}
uint16_t TcpTransport::peer_port() const {
  return port_of(peer_);
}

int TcpTransport::fd() const {
  return stream_fd();
}

}  // namespace pvb
