#include "tests/mock_pveproxy/server/unix_stream_transport.h"

#include <sys/un.h>

namespace pvb::mock {

namespace {

// Reads get at least this much room (as TcpTransport: fewer syscalls and callbacks).
constexpr size_t kMinReadRoom = 4096;
// iovecs per uv_write.
constexpr size_t kMaxIovecs = 64;

}  // namespace

// The libuv handle and every request made on it. libuv cancels pending requests before the close
// callback, which frees the block: the slices being written stay pinned here until libuv is done
// with them, even if the transport is gone.
struct UnixStreamTransport::Pipe {
  uv_pipe_t pipe;
  uv_connect_t connect_req;
  uv_write_t write_req;
  uv_shutdown_t shutdown_req;
  ByteChain in_flight;
  UnixStreamTransport* owner = nullptr;  // nullptr once the transport let go of the pipe

  static Pipe* of(uv_handle_t* h) { return static_cast<Pipe*>(h->data); }
  static Pipe* of(uv_stream_t* h) { return static_cast<Pipe*>(h->data); }
  uv_stream_t* stream() { return reinterpret_cast<uv_stream_t*>(&pipe); }
  uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&pipe); }

  void close() {
    owner = nullptr;
    if (!uv_is_closing(handle())) uv_close(handle(), [](uv_handle_t* h) { delete Pipe::of(h); });
  }
};

std::unique_ptr<UnixStreamTransport> UnixStreamTransport::connect(Loop& loop, std::string path) {
  return std::unique_ptr<UnixStreamTransport>(new UnixStreamTransport(loop, std::move(path)));
}

UnixStreamTransport::UnixStreamTransport(Loop& loop, std::string path)
    : Transport(loop), path_(std::move(path)) {}

UnixStreamTransport::~UnixStreamTransport() {
  release_pipe();
}

// --- connecting ----------------------------------------------------------------------------------

void UnixStreamTransport::start() {
  if (state_ != State::idle) return;
  state_ = State::connecting;
  if (path_.empty() || path_.size() >= sizeof(sockaddr_un{}.sun_path)) {
    // libuv would silently connect to a truncated path.
    fail(Errc::connect, "connect to " + path_ + ": path too long for a Unix socket",
         UV_ENAMETOOLONG);
    return;
  }
  auto* p = new Pipe;
  if (uv_pipe_init(loop().raw(), &p->pipe, 0) != 0) {
    delete p;
    fail(Errc::connect, "connect to " + path_ + ": cannot make a pipe handle", UV_ENOMEM);
    return;
  }
  p->pipe.data = p;
  p->owner = this;
  pipe_ = p;
  uv_pipe_connect(&p->connect_req, &p->pipe, path_.c_str(), [](uv_connect_t* req, int status) {
    Pipe* pipe = Pipe::of(req->handle);
    if (pipe->owner) pipe->owner->connected_cb(status);
  });
}

void UnixStreamTransport::connected_cb(int status) {
  if (state_ != State::connecting) return;
  if (status != 0) {
    fail(Errc::connect, "connect to " + path_ + ": " + uv_strerror(status), status);
    return;
  }
  state_ = State::open;
  emit_connected();
  if (state_ != State::open) return;  // the sink closed us
  if (close_requested_) return begin_flush();
  if (reading_enabled()) start_reading();
  flush_writes();
}

// --- reading -------------------------------------------------------------------------------------

void UnixStreamTransport::start_reading() {
  if (!pipe_ || reading_ || eof_received_) return;
  auto on_alloc = [](uv_handle_t* h, size_t, uv_buf_t* buf) {
    UnixStreamTransport* t = Pipe::of(h)->owner;
    if (!t) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    std::span<uint8_t> room = t->rx_.reserve(kMinReadRoom);
    *buf = uv_buf_init(reinterpret_cast<char*>(room.data()), static_cast<unsigned>(room.size()));
  };
  auto on_read = [](uv_stream_t* st, ssize_t nread, const uv_buf_t*) {
    UnixStreamTransport* t = Pipe::of(st)->owner;
    if (t) t->read_cb(nread);
  };
  int r = uv_read_start(pipe_->stream(), on_alloc, on_read);
  if (r != 0) {
    fail(Errc::connection_lost, "read from " + path_ + ": " + uv_strerror(r), r);
    return;
  }
  reading_ = true;
}

void UnixStreamTransport::stop_reading() {
  if (!pipe_ || !reading_) return;
  uv_read_stop(pipe_->stream());
  reading_ = false;
}

void UnixStreamTransport::read_cb(ssize_t nread) {
  if (nread > 0) {
    rx_.commit(static_cast<size_t>(nread));
    if (state_ == State::flushing) {
      rx_.clear();  // we are closing: nobody wants it
      return;
    }
    emit_data(rx_, false);
    return;
  }
  if (nread == 0) return;  // EAGAIN
  if (nread == UV_EOF) {
    eof_received_ = true;
    reading_ = false;  // libuv stopped reading
    if (state_ == State::flushing) {
      rx_.clear();
      return;
    }
    emit_data(rx_, true);
    return;
  }
  const int err = static_cast<int>(nread);
  fail(Errc::connection_lost, "connection to " + path_ + " lost: " + uv_strerror(err), err);
}

void UnixStreamTransport::on_read_enable_changed(bool enabled) {
  if (state_ != State::open) return;  // connected_cb and begin_flush decide for themselves
  if (!enabled) {
    stop_reading();
    return;
  }
  start_reading();
  reoffer_leftovers();
}

void UnixStreamTransport::reoffer_leftovers() {
  // What the sink left is offered again even if the peer sends nothing more.
  if (rx_.empty() || reoffer_posted_) return;
  reoffer_posted_ = true;
  post([this] {
    reoffer_posted_ = false;
    if (state_ == State::open && reading_enabled() && !rx_.empty()) emit_data(rx_, false);
  });
}

// --- writing -------------------------------------------------------------------------------------

size_t UnixStreamTransport::pending_write_bytes() const {
  return pending_.size() + (pipe_ ? pipe_->in_flight.size() : 0);
}

void UnixStreamTransport::write(ByteChain& data, bool end_stream) {
  if (state_ == State::closed || state_ == State::flushing || end_requested_) {
    data.clear();
    return;
  }
  pending_.move_from(data);
  if (end_stream) end_requested_ = true;
  update_write_level();
  flush_writes();
}

void UnixStreamTransport::flush_writes() {
  if (!pipe_ || write_in_flight_) return;
  if (state_ != State::open && state_ != State::flushing) return;
  if (!pending_.empty()) {
    size_t bytes = 0, count = 0;
    for (const Slice& s : pending_.slices()) {
      if (count == kMaxIovecs) break;
      bytes += s.size();
      ++count;
    }
    ByteChain& in_flight = pipe_->in_flight;
    in_flight.move_from(pending_, bytes);
    uv_buf_t bufs[kMaxIovecs];
    unsigned n = 0;
    in_flight.for_each_slice([&](const Slice& s) {
      bufs[n++] = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(s.data())),
                              static_cast<unsigned>(s.size()));
    });
    int r = uv_write(&pipe_->write_req, pipe_->stream(), bufs, n, [](uv_write_t* req, int status) {
      UnixStreamTransport* t = Pipe::of(req->handle)->owner;
      if (t) t->write_cb(status);
    });
    if (r != 0) {
      fail(Errc::connection_lost, "write to " + path_ + ": " + uv_strerror(r), r);
      return;
    }
    write_in_flight_ = true;
    return;
  }
  if (end_requested_ && !shutdown_sent_) {
    int r = uv_shutdown(&pipe_->shutdown_req, pipe_->stream(), [](uv_shutdown_t* req, int status) {
      UnixStreamTransport* t = Pipe::of(req->handle)->owner;
      if (t) t->shutdown_cb(status);
    });
    if (r != 0) {
      fail(Errc::connection_lost, "shutdown of " + path_ + ": " + uv_strerror(r), r);
      return;
    }
    shutdown_sent_ = true;
  }
}

void UnixStreamTransport::write_cb(int status) {
  write_in_flight_ = false;
  pipe_->in_flight.clear();
  if (status != 0) {
    fail(Errc::connection_lost, "connection to " + path_ + " lost: " + uv_strerror(status), status);
    return;
  }
  flush_writes();
  update_write_level();
}

void UnixStreamTransport::shutdown_cb(int status) {
  if (status != 0 && state_ != State::flushing) {
    fail(Errc::connection_lost, "connection to " + path_ + " lost: " + uv_strerror(status), status);
    return;
  }
  shutdown_done_ = true;
  // Flushing: everything went out (or the peer is gone, which a flush does not care about).
  if (state_ == State::flushing) finish_closed();
}

// --- closing -------------------------------------------------------------------------------------

void UnixStreamTransport::close(CloseMode mode) {
  if (state_ == State::closed) return;
  if (state_ == State::idle || mode == CloseMode::Abort) {
    finish_closed();
    return;
  }
  if (state_ == State::connecting) {
    close_requested_ = true;  // flushed once connected
    end_requested_ = true;
    return;
  }
  if (state_ == State::open) begin_flush();
}

void UnixStreamTransport::begin_flush() {
  state_ = State::flushing;
  end_requested_ = true;
  start_reading();  // drop incoming bytes: a peer writing to us must not block our flush
  if (state_ != State::flushing) return;
  flush_writes();
  // An end_stream written earlier may have shut our direction down already.
  if (state_ == State::flushing && shutdown_done_) finish_closed();
}

void UnixStreamTransport::finish_closed() {
  release_pipe();
  pending_.clear();
  state_ = State::closed;
  finish(Error());
}

void UnixStreamTransport::fail(Errc code, const std::string& what, int uv_error) {
  if (state_ == State::closed) return;
  release_pipe();
  pending_.clear();
  state_ = State::closed;
  finish(Error(code, what, uv_error));
}

void UnixStreamTransport::release_pipe() {
  if (!pipe_) return;
  Pipe* p = pipe_;
  pipe_ = nullptr;
  reading_ = false;
  write_in_flight_ = false;
  p->close();
}

}  // namespace pvb::mock
