#include "transports/tcp/tcp_transport.h"

#include <netdb.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <csignal>
#include <cstring>
#include <mutex>

namespace pvb {

namespace {

// Reads get at least this much room: tiny reads would cost a syscall and a callback per few bytes.
constexpr size_t kMinReadRoom = 4096;
// While a stream is bulk (a read filled all the room it had), reads get at least this much room in
// 64 KiB blocks: a quarter of the read() calls of 16 KiB blocks. An interactive stream (reads
// well under a block) goes back to small blocks so an idle or chatty session pins little memory.
constexpr size_t kBulkReadRoom = 16 * 1024;
constexpr size_t kBulkBlock = Block::kLargeCapacity;
// iovecs per uv_write: enough to send 1 MiB of 16 KiB blocks at once, few enough for the stack.
constexpr size_t kMaxIovecs = 64;
// close(Flush) drops at most this much unread input before closing (see finish_flushed_close).
constexpr size_t kMaxDrainOnClose = 1024 * 1024;
// After our FIN, close(Flush) waits this long for the peer's, reading and dropping what it still
// sends (see linger_or_finish).
constexpr uint64_t kLingerMs = 1000;

std::string ip_string(const sockaddr_storage& ss) {
  if (ss.ss_family != AF_INET && ss.ss_family != AF_INET6) return "";
  char buf[INET6_ADDRSTRLEN] = {};
  uv_ip_name(reinterpret_cast<const sockaddr*>(&ss), buf, sizeof buf);
  return buf;
}

uint16_t port_of(const sockaddr_storage& ss) {
  if (ss.ss_family == AF_INET) return ntohs(reinterpret_cast<const sockaddr_in&>(ss).sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(reinterpret_cast<const sockaddr_in6&>(ss).sin6_port);
  return 0;
}

std::string uv_message(int uv_error) {
  return uv_strerror(uv_error);
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

// The libuv handle and every request made on it. libuv cancels pending requests (their callbacks
// run with UV_ECANCELED) before the close callback, which frees the block: so the slices being
// written stay pinned here until libuv is done with them, even if the transport is gone.
struct TcpTransport::Socket {
  uv_tcp_t tcp;
  uv_connect_t connect_req;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  ByteChain in_flight;            // the slices of the current uv_write
  TcpTransport* owner = nullptr;  // nullptr once the transport let go of the socket

  static Socket* create(Loop& loop, TcpTransport* owner) {
    ignore_sigpipe_once();
    auto* s = new Socket;
    if (uv_tcp_init(loop.raw(), &s->tcp) != 0) {
      delete s;
      return nullptr;
    }
    s->tcp.data = s;
    s->owner = owner;
    return s;
  }
  static Socket* of(uv_handle_t* h) { return static_cast<Socket*>(h->data); }
  static Socket* of(uv_stream_t* h) { return static_cast<Socket*>(h->data); }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&tcp); }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&tcp); }

  // Detaches the owner and closes the handle; reset = send an RST instead of a FIN.
  void close(bool reset) {
    owner = nullptr;
    if (uv_is_closing(handle())) return;
    auto on_closed = [](uv_handle_t* h) { delete Socket::of(h); };
    if (reset) {
      if (uv_tcp_close_reset(&tcp, on_closed) == 0) return;
      // libuv refuses once a shutdown was issued; SO_LINGER 0 still turns close into an RST.
      uv_os_fd_t fd;
      if (uv_fileno(handle(), &fd) == 0) {
        linger l{1, 0};
        setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
      }
    }
    uv_close(handle(), on_closed);
  }
};

struct TcpTransport::DnsRequest {
  uv_getaddrinfo_t req;
  TcpTransport* owner = nullptr;  // nullptr once cancelled: the callback then only frees
};

std::unique_ptr<TcpTransport> TcpTransport::connect(Loop& loop, TcpConnectOptions options) {
  return std::unique_ptr<TcpTransport>(new TcpTransport(loop, std::move(options)));
}

TcpTransport::TcpTransport(Loop& loop, TcpConnectOptions options)
    : Transport(loop), options_(std::move(options)) {}

std::unique_ptr<TcpTransport> TcpTransport::accept_from(Loop& loop, uv_stream_t* server) {
  std::unique_ptr<TcpTransport> t(new TcpTransport(loop, TcpConnectOptions{}));
  Socket* s = Socket::create(loop, t.get());
  if (!s) return nullptr;
  if (uv_accept(server, s->stream()) != 0) {
    s->close(false);
    return nullptr;
  }
  uv_tcp_nodelay(&s->tcp, 1);
  t->socket_ = s;
  t->remember_addresses();
  // Messages about an accepted connection name the client.
  t->options_.host = t->peer_address();
  t->options_.port = t->peer_port();
  return t;
}

TcpTransport::~TcpTransport() {
  cancel_connect_steps();
  release_socket(false);
}

// --- connecting ----------------------------------------------------------------------------------

void TcpTransport::start() {
  if (started_ || state_ != State::idle) return;
  started_ = true;
  if (socket_) {
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
    socket_ = Socket::create(loop(), this);
    if (!socket_) {
      last_connect_error_ = UV_ENOMEM;
      continue;
    }
    uv_tcp_nodelay(&socket_->tcp, 1);  // remembered by libuv, applied when the socket exists
    auto on_connect = [](uv_connect_t* req, int status) {
      Socket* s = Socket::of(req->handle);
      if (s->owner) s->owner->connected_cb(status);
    };
    int r = uv_tcp_connect(&socket_->connect_req, &socket_->tcp, addr, on_connect);
    if (r == 0) {
      state_ = State::connecting;
      return;
    }
    last_connect_error_ = r;
    release_socket(false);
  }
  int err = last_connect_error_ ? last_connect_error_ : UV_ECONNREFUSED;
  Errc code = err == UV_ETIMEDOUT ? Errc::timeout : Errc::connect;
  fail(code, "connect to " + endpoint_name() + ": " + uv_message(err), err);
}

void TcpTransport::connected_cb(int status) {
  if (state_ != State::connecting) return;
  if (status != 0) {
    // This address failed: try the next one, if time is left.
    last_connect_error_ = status;
    release_socket(false);
    if (deadline_passed()) return connect_timed_out();
    try_next_address();
    return;
  }
  connect_timer_.reset();
  uv_tcp_nodelay(&socket_->tcp, 1);
  remember_addresses();
  became_open();
}

bool TcpTransport::deadline_passed() {
  return connect_timer_ && loop().now_ms() >= deadline_ms_;
}

void TcpTransport::connect_timed_out() {
  if (state_ != State::resolving && state_ != State::connecting) return;
  std::string what = "connect to " + endpoint_name() + ": timed out after " +
                     std::to_string(options_.connect_timeout_ms) + " ms";
  if (state_ == State::resolving) what += " resolving the name";
  fail(Errc::timeout, what, UV_ETIMEDOUT);
}

void TcpTransport::became_open() {
  state_ = State::open;
  emit_connected();
  if (state_ != State::open) return;  // the sink closed us
  if (close_requested_) return begin_flush();
  if (reading_enabled()) start_reading();
  flush_writes();
}

void TcpTransport::cancel_connect_steps() {
  connect_timer_.reset();
  if (dns_) {
    dns_->owner = nullptr;  // its callback still runs (cancelled or not) and frees it
    uv_cancel(reinterpret_cast<uv_req_t*>(&dns_->req));
    dns_ = nullptr;
  }
}

// --- reading -------------------------------------------------------------------------------------

void TcpTransport::start_reading() {
  if (!socket_ || reading_ || eof_received_) return;
  auto on_alloc = [](uv_handle_t* h, size_t, uv_buf_t* buf) {
    TcpTransport* t = Socket::of(h)->owner;
    if (!t) {
      *buf = uv_buf_init(nullptr, 0);  // libuv reports UV_ENOBUFS, which is dropped below
      return;
    }
    std::span<uint8_t> room =
        t->bulk_reads_ ? t->rx_.reserve(kBulkReadRoom, kBulkBlock) : t->rx_.reserve(kMinReadRoom);
    t->last_read_room_ = room.size();
    *buf = uv_buf_init(reinterpret_cast<char*>(room.data()), static_cast<unsigned>(room.size()));
  };
  auto on_read = [](uv_stream_t* st, ssize_t nread, const uv_buf_t*) {
    TcpTransport* t = Socket::of(st)->owner;
    if (t) t->read_cb(nread);
  };
  int r = uv_read_start(socket_->stream(), on_alloc, on_read);
  if (r != 0) {
    fail(Errc::connection_lost, "read from " + endpoint_name() + ": " + uv_message(r), r);
    return;
  }
  reading_ = true;
}

void TcpTransport::stop_reading() {
  if (!socket_ || !reading_) return;
  uv_read_stop(socket_->stream());
  reading_ = false;
}

void TcpTransport::read_cb(ssize_t nread) {
  if (nread > 0) {
    const auto n = static_cast<size_t>(nread);
    if (n == last_read_room_ && n >= kMinReadRoom) {
      bulk_reads_ = true;  // the kernel had more than we took: take more per call
    } else if (n < kMinReadRoom) {
      bulk_reads_ = false;
    }
    rx_.commit(n);
    if (state_ == State::flushing) {
      rx_.clear();  // we are closing: nobody wants it
      return;
    }
    emit_data(rx_, false);
    return;
  }
  if (nread == 0) {  // EAGAIN: the socket is drained for now
    rx_.drop_reservation();
    return;
  }
  if (state_ == State::flushing && shutdown_done_) {
    // Lingering after our FIN: the peer's FIN (it read all we sent) or a reset ends the wait.
    finish_flushed_close();
    return;
  }
  if (nread == UV_EOF) {
    // libuv reports EOF when the kernel signals hang-up right after a short read, and that is also
    // what a reset looks like: the socket's pending error tells the two apart.
    int so_error = 0;
    socklen_t len = sizeof so_error;
    int f = fd();
    if (f >= 0 && getsockopt(f, SOL_SOCKET, SO_ERROR, &so_error, &len) == 0 && so_error != 0) {
      fail(Errc::connection_lost,
           "connection to " + endpoint_name() + " lost: " + uv_message(-so_error), -so_error);
      return;
    }
    eof_received_ = true;
    reading_ = false;  // libuv stopped reading
    if (state_ == State::flushing) {
      rx_.clear();
      if (shutdown_done_) finish_flushed_close();  // the peer's FIN ends the linger
      return;
    }
    emit_data(rx_, true);
    return;
  }
  fail(Errc::connection_lost,
       "connection to " + endpoint_name() + " lost: " + uv_message(static_cast<int>(nread)),
       static_cast<int>(nread));
}

void TcpTransport::on_read_enable_changed(bool enabled) {
  // Before the connection is announced, became_open() looks at reading_enabled() itself; while
  // flushing we read (and drop) regardless.
  if (state_ != State::open || !connected()) return;
  if (!enabled) {
    stop_reading();
    return;
  }
  start_reading();
  reoffer_leftovers();
}

void TcpTransport::reoffer_leftovers() {
  // What the sink left is offered again even if the peer sends nothing more: it may be a whole
  // message the sink paused in front of.
  if (rx_.empty() || reoffer_posted_) return;
  reoffer_posted_ = true;
  post([this] {
    reoffer_posted_ = false;
    if (state_ == State::open && reading_enabled() && !rx_.empty()) emit_data(rx_, false);
  });
}

// --- writing -------------------------------------------------------------------------------------

size_t TcpTransport::pending_write_bytes() const {
  return pending_.size() + (socket_ ? socket_->in_flight.size() : 0);
}

void TcpTransport::write(ByteChain& data, bool end_stream) {
  if (state_ == State::closed || state_ == State::flushing || end_requested_) {
    data.clear();
    return;
  }
  pending_.move_from(data);
  if (end_stream) end_requested_ = true;
  update_write_level();
  flush_writes();
}

void TcpTransport::flush_writes() {
  if (!socket_ || write_in_flight_ || !connected()) return;
  if (state_ != State::open && state_ != State::flushing) return;
  if (!pending_.empty()) {
    // One uv_write at a time, of whole slices: they stay pinned in in_flight until write_cb.
    size_t bytes = 0, count = 0;
    for (const Slice& s : pending_.slices()) {
      if (count == kMaxIovecs) break;
      bytes += s.size();
      ++count;
    }
    ByteChain& in_flight = socket_->in_flight;
    in_flight.move_from(pending_, bytes);
    uv_buf_t bufs[kMaxIovecs];
    unsigned n = 0;
    in_flight.for_each_slice([&](const Slice& s) {
      bufs[n++] = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(s.data())),
                              static_cast<unsigned>(s.size()));
    });
    auto on_write = [](uv_write_t* req, int status) {
      TcpTransport* t = Socket::of(req->handle)->owner;
      if (t) t->write_cb(status);
    };
    int r = uv_write(&socket_->write_req, socket_->stream(), bufs, n, on_write);
    if (r != 0) {
      fail(Errc::connection_lost, "write to " + endpoint_name() + ": " + uv_message(r), r);
      return;
    }
    write_in_flight_ = true;
    return;
  }
  if (end_requested_ && !shutdown_sent_) {
    auto on_shutdown = [](uv_shutdown_t* req, int status) {
      TcpTransport* t = Socket::of(req->handle)->owner;
      if (t) t->shutdown_cb(status);
    };
    int r = uv_shutdown(&socket_->shutdown_req, socket_->stream(), on_shutdown);
    if (r != 0) {
      fail(Errc::connection_lost, "shutdown of " + endpoint_name() + ": " + uv_message(r), r);
      return;
    }
    shutdown_sent_ = true;
  }
}

void TcpTransport::write_cb(int status) {
  write_in_flight_ = false;
  socket_->in_flight.clear();
  if (status != 0) {
    fail(Errc::connection_lost, "connection to " + endpoint_name() + " lost: " + uv_message(status),
         status);
    return;
  }
  flush_writes();
  update_write_level();
}

void TcpTransport::shutdown_cb(int status) {
  if (status != 0) {
    fail(Errc::connection_lost, "connection to " + endpoint_name() + " lost: " + uv_message(status),
         status);
    return;
  }
  shutdown_done_ = true;
  if (state_ == State::flushing) linger_or_finish();
}

// --- closing -------------------------------------------------------------------------------------

void TcpTransport::close(CloseMode mode) {
  if (state_ == State::closed) return;
  if (state_ == State::idle || mode == CloseMode::Abort) {
    cancel_connect_steps();
    release_socket(mode == CloseMode::Abort);
    pending_.clear();
    state_ = State::closed;
    finish(Error());
    return;
  }
  if (state_ == State::resolving || state_ == State::connecting) {
    // Flush once connected: what was written before still goes out.
    close_requested_ = true;
    end_requested_ = true;
    return;
  }
  if (state_ == State::open) begin_flush();
}

void TcpTransport::begin_flush() {
  state_ = State::flushing;
  end_requested_ = true;
  start_reading();  // drop incoming bytes; a peer that floods us must not block our flush
  if (state_ != State::flushing) return;
  flush_writes();
  if (state_ == State::flushing && shutdown_done_) linger_or_finish();
}

// Our last bytes (a WebSocket Close, a TLS close_notify) are sent and so is our FIN. Closing the
// socket now while the peer is still sending makes Linux answer its next segment with an RST,
// and a peer that gets an RST may drop what it had not read yet: our last bytes. So wait for the
// peer's FIN (pveproxy closes once it reads a Close), reading and dropping, up to kLingerMs.
void TcpTransport::linger_or_finish() {
  if (eof_received_) {
    finish_flushed_close();
    return;
  }
  if (linger_timer_) return;
  linger_timer_ = std::make_unique<Timer>(loop());
  linger_timer_->start(kLingerMs, [this] { finish_flushed_close(); });
}

void TcpTransport::finish_flushed_close() {
  if (state_ == State::closed) return;
  // Closing a socket whose receive queue holds unread bytes makes Linux send an RST rather than a
  // FIN, and an RST may destroy what we just flushed before the peer read it. Drop that input.
  int f = fd();
  if (f >= 0) {
    char buf[16 * 1024];
    size_t dropped = 0;
    while (dropped < kMaxDrainOnClose) {
      ssize_t n = recv(f, buf, sizeof buf, MSG_DONTWAIT);
      if (n <= 0) break;
      dropped += static_cast<size_t>(n);
    }
  }
  release_socket(false);
  pending_.clear();
  state_ = State::closed;
  finish(Error());
}

void TcpTransport::fail(Errc code, const std::string& what, int uv_error) {
  if (state_ == State::closed) return;
  cancel_connect_steps();
  release_socket(false);
  pending_.clear();
  state_ = State::closed;
  finish(Error(code, what, uv_error));
}

void TcpTransport::release_socket(bool reset) {
  if (!socket_) return;
  Socket* s = socket_;
  socket_ = nullptr;
  reading_ = false;
  write_in_flight_ = false;
  s->close(reset);
}

// --- addresses -----------------------------------------------------------------------------------

void TcpTransport::remember_addresses() {
  int len = sizeof local_;
  uv_tcp_getsockname(&socket_->tcp, reinterpret_cast<sockaddr*>(&local_), &len);
  len = sizeof peer_;
  uv_tcp_getpeername(&socket_->tcp, reinterpret_cast<sockaddr*>(&peer_), &len);
}

std::string TcpTransport::endpoint_name() const {
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
  if (!socket_) return -1;
  uv_os_fd_t fd;
  if (uv_fileno(socket_->handle(), &fd) != 0) return -1;
  return fd;
}

}  // namespace pvb
