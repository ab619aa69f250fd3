#include "transports/tty/stdio_transport.h"

#include <uv.h>

#include <unistd.h>
#include <cerrno>
#include <cstring>

namespace pvb {

namespace {
constexpr size_t kReadRoom = 16 * 1024;
constexpr size_t kFileReadChunk = 64 * 1024;
constexpr unsigned kMaxIovecs = 64;
}  // namespace

struct StdioTransport::Handle {
  union {
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } u;
  uv_write_t write_req;
  ByteChain in_flight;  // the slices of the current uv_write, pinned until its callback
  StdioTransport* owner = nullptr;
  uv_stream_t* stream() { return &u.stream; }
  static Handle* of(uv_handle_t* h) { return static_cast<Handle*>(h->data); }
  static Handle* of(uv_stream_t* h) { return static_cast<Handle*>(h->data); }
};

StdioTransport::StdioTransport(Loop& loop, int fd, Direction direction)
    : Transport(loop), fd_(fd), direction_(direction) {
  // A write in flight still counts as pending until libuv is done with it.
  write_queue().set_below([this] { return handle_ ? handle_->in_flight.size() : 0; });
}

StdioTransport::~StdioTransport() {
  release();
}

void StdioTransport::release() {
  if (!handle_) return;
  handle_->owner = nullptr;
  uv_handle_t* h = reinterpret_cast<uv_handle_t*>(handle_->stream());
  if (!uv_is_closing(h)) {
    uv_close(h, [](uv_handle_t* hh) { delete Handle::of(hh); });
  }
  handle_ = nullptr;
}

void StdioTransport::fail_io(const std::string& what, int uv_error) {
  release();
  // A pipe whose reader went away (`pvebridge term 200 | head`) is the other end leaving, not a
  // local I/O failure.
  Errc code = uv_error == UV_EPIPE ? Errc::connection_lost : Errc::io;
  finish(Error(code, what + ": " + uv_strerror(uv_error), uv_error));
}

void StdioTransport::start() {
  if (started_) return;
  started_ = true;
  const char* name = direction_ == Direction::read ? "standard input" : "standard output";
  uv_handle_type type = uv_guess_handle(fd_);
  if (type == UV_TTY || type == UV_NAMED_PIPE || type == UV_TCP) {
    auto* h = new Handle;
    int r = type == UV_TTY
                ? uv_tty_init(loop().raw(), &h->u.tty, fd_, direction_ == Direction::read ? 1 : 0)
                : uv_pipe_init(loop().raw(), &h->u.pipe, 0);
    if (r == 0 && type != UV_TTY) r = uv_pipe_open(&h->u.pipe, fd_);
    if (r != 0) {
      // An initialised handle must be closed; one that failed init was never registered.
      delete h;
      post([this, r, name] { fail_io(std::string("cannot use ") + name, r); });
      return;
    }
    h->stream()->data = h;
    h->owner = this;
    handle_ = h;
  } else if (type == UV_FILE) {
    is_file_ = true;
  } else {
    post([this, name] {
      finish(Error(Errc::io, std::string(name) + " is neither a terminal, a pipe nor a file"));
    });
    return;
  }
  post([this] {
    emit_connected();
    if (closed()) return;
    if (direction_ == Direction::read && reading_enabled()) start_reading();
    flush_writes();
  });
}

// --- reading ----------------------------------------------------------------------------------

void StdioTransport::start_reading() {
  if (closed() || eof_ || reading_ || flushing_) return;
  if (!rx_.empty()) {
    // Leftovers the sink did not take: offer them again first.
    emit_data(rx_, false);
    if (closed() || !reading_enabled()) return;
  }
  if (is_file_) {
    if (!file_read_posted_) {
      file_read_posted_ = true;
      post([this] {
        file_read_posted_ = false;
        read_file_chunk();
      });
    }
    return;
  }
  auto on_alloc = [](uv_handle_t* hh, size_t, uv_buf_t* buf) {
    StdioTransport* t = Handle::of(hh)->owner;
    if (!t) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    auto room = t->rx_.reserve(kReadRoom);
    *buf = uv_buf_init(reinterpret_cast<char*>(room.data()), static_cast<unsigned>(room.size()));
  };
  auto on_read = [](uv_stream_t* st, ssize_t nread, const uv_buf_t*) {
    StdioTransport* t = Handle::of(st)->owner;
    if (!t) return;
    if (nread > 0) {
      t->rx_.commit(static_cast<size_t>(nread));
      t->emit_data(t->rx_, false);
      return;
    }
    if (nread == 0 || nread == UV_ENOBUFS) {
      t->rx_.drop_reservation();
      return;
    }
    t->rx_.drop_reservation();
    t->reading_ = false;
    uv_read_stop(st);
    // A terminal that went away (EIO on a hung-up tty) ends input like an EOF.
    t->eof_ = true;
    t->emit_data(t->rx_, true);
  };
  if (uv_read_start(handle_->stream(), on_alloc, on_read) == 0) reading_ = true;
}

void StdioTransport::read_file_chunk() {
  if (closed() || eof_ || !reading_enabled() || flushing_) return;
  auto room = rx_.reserve(kFileReadChunk);
  ssize_t n;
  do {
    n = ::read(fd_, room.data(), room.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    int e = errno;
    rx_.drop_reservation();
    release();
    finish(Error(Errc::io, std::string("reading standard input: ") + std::strerror(e), e));
    return;
  }
  if (n == 0) {
    rx_.drop_reservation();
    eof_ = true;
    emit_data(rx_, true);
    return;
  }
  rx_.commit(static_cast<size_t>(n));
  emit_data(rx_, false);
  if (!closed() && reading_enabled() && !file_read_posted_) {
    file_read_posted_ = true;
    post([this] {
      file_read_posted_ = false;
      read_file_chunk();
    });
  }
}

void StdioTransport::on_read_enable_changed(bool enabled) {
  if (direction_ != Direction::read || !connected() || closed()) return;
  if (enabled) {
    post([this] {
      if (reading_enabled()) start_reading();
    });
    return;
  }
  if (reading_ && handle_) {
    uv_read_stop(handle_->stream());
    reading_ = false;
  }
}

// --- writing ----------------------------------------------------------------------------------

void StdioTransport::write(ByteChain& data, bool) {
  if (closed()) {
    data.clear();
    return;
  }
  write_queue().move_from(data);
  flush_writes();
}

void StdioTransport::flush_writes() {
  if (!connected() || closed()) return;
  if (is_file_) {
    while (!write_queue().empty()) {
      const Slice& s = write_queue().front();
      ssize_t n = ::write(fd_, s.data(), s.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        int e = errno;
        finish(Error(e == EPIPE ? Errc::connection_lost : Errc::io,
                     std::string("writing standard output: ") + std::strerror(e), e));
        write_queue().clear();
        return;
      }
      write_queue().drain(static_cast<size_t>(n));
    }
    if (flushing_) finish(Error());
    return;
  }
  if (!handle_ || !handle_->in_flight.empty()) return;
  if (write_queue().empty()) {
    if (flushing_) {
      release();
      finish(Error());
    }
    return;
  }
  size_t bytes = 0;
  unsigned count = 0;
  for (const Slice& s : write_queue().chain().slices()) {
    if (count == kMaxIovecs) break;
    bytes += s.size();
    ++count;
  }
  write_queue().move_to(handle_->in_flight, bytes);
  uv_buf_t bufs[kMaxIovecs];
  unsigned n = 0;
  handle_->in_flight.for_each_slice([&](const Slice& s) {
    bufs[n++] = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(s.data())),
                            static_cast<unsigned>(s.size()));
  });
  auto on_write = [](uv_write_t* req, int status) {
    Handle* h = Handle::of(req->handle);
    h->in_flight.clear();
    if (h->owner) h->owner->write_cb(status);
  };
  int r = uv_write(&handle_->write_req, handle_->stream(), bufs, n, on_write);
  if (r != 0) {
    handle_->in_flight.clear();
    fail_io("writing standard output", r);
  }
}

void StdioTransport::write_cb(int status) {
  if (status != 0) {
    if (status == UV_ECANCELED) return;
    fail_io("writing standard output", status);
    write_queue().clear();
    return;
  }
  write_queue().recheck();  // the write in flight is done: it no longer counts
  flush_writes();
}

// --- closing ----------------------------------------------------------------------------------

void StdioTransport::close(CloseMode mode) {
  if (closed()) return;
  if (mode == CloseMode::Abort || !started_ || !connected()) {
    release();
    finish(Error());
    write_queue().clear();
    return;
  }
  flushing_ = true;
  if (reading_ && handle_) {
    uv_read_stop(handle_->stream());
    reading_ = false;
  }
  post([this] { flush_writes(); });
}

}  // namespace pvb
