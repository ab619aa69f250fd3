#include "transports/tcp/uv_stream_transport.h"

#include <sys/socket.h>

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

}  // namespace

std::string UvStreamTransport::uv_message(int uv_error) {
  return uv_strerror(uv_error);
}

void UvStreamTransport::Stream::attach(UvStreamTransport* transport) {
  u.stream.data = this;
  owner = transport;
}

void UvStreamTransport::Stream::close(bool reset) {
  owner = nullptr;
  if (uv_is_closing(handle())) return;
  auto on_closed = [](uv_handle_t* h) { delete Stream::of(h); };
  if (reset && u.stream.type == UV_TCP) {
    if (uv_tcp_close_reset(&u.tcp, on_closed) == 0) return;
    // libuv refuses once a shutdown was issued; SO_LINGER 0 still turns close into an RST.
    uv_os_fd_t fd;
    if (uv_fileno(handle(), &fd) == 0) {
      linger l{1, 0};
      setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    }
  }
  uv_close(handle(), on_closed);
}

UvStreamTransport::UvStreamTransport(Loop& loop) : Transport(loop) {}

UvStreamTransport::~UvStreamTransport() {
  release_stream(false);
}

void UvStreamTransport::became_open() {
  state_ = State::open;
  emit_connected();
  if (state_ != State::open) return;  // the sink closed us
  if (close_requested_) return begin_flush();
  if (reading_enabled()) start_reading();
  flush_writes();
}

// --- reading -------------------------------------------------------------------------------------

void UvStreamTransport::start_reading() {
  if (!stream_ || reading_ || eof_received_) return;
  auto on_alloc = [](uv_handle_t* h, size_t, uv_buf_t* buf) {
    UvStreamTransport* t = Stream::of(h)->owner;
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
    UvStreamTransport* t = Stream::of(st)->owner;
    if (t) t->read_cb(nread);
  };
  int r = uv_read_start(stream_->stream(), on_alloc, on_read);
  if (r != 0) {
    fail(Errc::connection_lost, "read from " + peer_name() + ": " + uv_message(r), r);
    return;
  }
  reading_ = true;
}

void UvStreamTransport::stop_reading() {
  if (!stream_ || !reading_) return;
  uv_read_stop(stream_->stream());
  reading_ = false;
}

void UvStreamTransport::read_cb(ssize_t nread) {
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
  if (nread == 0) {  // EAGAIN: the stream is drained for now
    rx_.drop_reservation();
    return;
  }
  if (state_ == State::flushing && shutdown_done_) {
    // Lingering after our FIN (see flushed()): the peer's FIN or a reset ends the wait.
    finish_flushed_close();
    return;
  }
  if (nread == UV_EOF) {
    // A reset can look like an EOF (TcpTransport): the stream's pending error tells them apart.
    if (int err = pending_error_at_eof(); err != 0) {
      fail(Errc::connection_lost, "connection to " + peer_name() + " lost: " + uv_message(-err),
           -err);
      return;
    }
    eof_received_ = true;
    reading_ = false;  // libuv stopped reading
    if (state_ == State::flushing) {
      rx_.clear();  // flushed() sees the EOF once our FIN is out
      return;
    }
    emit_data(rx_, true);
    return;
  }
  fail(Errc::connection_lost,
       "connection to " + peer_name() + " lost: " + uv_message(static_cast<int>(nread)),
       static_cast<int>(nread));
}

void UvStreamTransport::on_read_enable_changed(bool enabled) {
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

void UvStreamTransport::reoffer_leftovers() {
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

void UvStreamTransport::write(ByteChain& data, bool end_stream) {
  if (state_ == State::closed || state_ == State::flushing || end_requested_) {
    data.clear();
    return;
  }
  if (end_stream) end_requested_ = true;
  write_queue().move_from(data);
  flush_writes();
}

void UvStreamTransport::flush_writes() {
  if (!stream_ || write_in_flight_ || !connected()) return;
  if (state_ != State::open && state_ != State::flushing) return;
  if (!write_queue().empty()) {
    // One uv_write at a time, of whole slices: in_flight holds a second reference to each, so
    // they stay pinned until libuv is done even if we are gone; they leave the queue (and its
    // level) in write_cb.
    ByteChain& in_flight = stream_->in_flight;
    for (const Slice& s : write_queue().chain().slices()) {
      if (in_flight.slice_count() == kMaxIovecs) break;
      in_flight.append_slice(s);
    }
    uv_buf_t bufs[kMaxIovecs];
    unsigned n = 0;
    in_flight.for_each_slice([&](const Slice& s) {
      bufs[n++] = uv_buf_init(const_cast<char*>(reinterpret_cast<const char*>(s.data())),
                              static_cast<unsigned>(s.size()));
    });
    auto on_write = [](uv_write_t* req, int status) {
      UvStreamTransport* t = Stream::of(req->handle)->owner;
      if (t) t->write_cb(status);
    };
    int r = uv_write(&stream_->write_req, stream_->stream(), bufs, n, on_write);
    if (r != 0) {
      fail(Errc::connection_lost, "write to " + peer_name() + ": " + uv_message(r), r);
      return;
    }
    write_in_flight_ = true;
    return;
  }
  if (end_requested_ && !shutdown_sent_) {
    auto on_shutdown = [](uv_shutdown_t* req, int status) {
      UvStreamTransport* t = Stream::of(req->handle)->owner;
      if (t) t->shutdown_cb(status);
    };
    int r = uv_shutdown(&stream_->shutdown_req, stream_->stream(), on_shutdown);
    if (r != 0) {
      fail(Errc::connection_lost, "shutdown of " + peer_name() + ": " + uv_message(r), r);
      return;
    }
    shutdown_sent_ = true;
  }
}

void UvStreamTransport::write_cb(int status) {
  write_in_flight_ = false;
  const size_t sent = stream_->in_flight.size();
  stream_->in_flight.clear();
  if (status != 0) {
    fail(Errc::connection_lost, "connection to " + peer_name() + " lost: " + uv_message(status),
         status);
    return;
  }
  if (state_ == State::flushing) arm_flush_grace();  // bytes moved: the peer reads
  {
    // One check for the bytes sent and the next uv_write: the level does not dip in between.
    WatermarkChain::Batch batch(write_queue());
    write_queue().drain(sent);
    flush_writes();
  }
}

void UvStreamTransport::arm_flush_grace() {
  if (!flush_grace_) flush_grace_ = std::make_unique<Timer>(loop());
  flush_grace_->start(kFlushGraceMs, [this] { give_up_flush(); });
}

void UvStreamTransport::give_up_flush() {
  if (state_ != State::flushing) return;
  const size_t dropped = pending_write_bytes();
  cancel_connect_steps();
  release_stream(true);
  state_ = State::closed;
  finish(Error(Errc::timeout, "gave up closing the connection to " + peer_name() + ": " +
                                  std::to_string(dropped) + " bytes not taken within " +
                                  std::to_string(kFlushGraceMs / 1000) + " s"));
  write_queue().clear();
}

void UvStreamTransport::shutdown_cb(int status) {
  if (status != 0) {
    fail(Errc::connection_lost, "connection to " + peer_name() + " lost: " + uv_message(status),
         status);
    return;
  }
  shutdown_done_ = true;
  if (state_ == State::flushing) flushed();
}

// --- closing -------------------------------------------------------------------------------------

void UvStreamTransport::close(CloseMode mode) {
  if (state_ == State::closed) return;
  if (state_ == State::idle || mode == CloseMode::Abort) {
    cancel_connect_steps();
    release_stream(mode == CloseMode::Abort);
    state_ = State::closed;
    finish(Error());
    write_queue().clear();  // after finish: nothing is reported from inside close()
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

void UvStreamTransport::begin_flush() {
  state_ = State::flushing;
  end_requested_ = true;
  arm_flush_grace();
  start_reading();  // drop incoming bytes; a peer that floods us must not block our flush
  if (state_ != State::flushing) return;
  flush_writes();
  // An end_stream written earlier may have shut our direction down already.
  if (state_ == State::flushing && shutdown_done_) flushed();
}

void UvStreamTransport::flushed() {
  finish_flushed_close();
}

void UvStreamTransport::finish_flushed_close() {
  if (state_ == State::closed) return;
  drop_unread_input();
  release_stream(false);
  state_ = State::closed;
  finish(Error());
  write_queue().clear();
}

void UvStreamTransport::fail(Errc code, const std::string& what, int uv_error) {
  if (state_ == State::closed) return;
  cancel_connect_steps();
  release_stream(false);
  state_ = State::closed;
  finish(Error(code, what, uv_error));
  write_queue().clear();
}

void UvStreamTransport::release_stream(bool reset) {
  if (!stream_) return;
  Stream* s = stream_;
  stream_ = nullptr;
  reading_ = false;
  write_in_flight_ = false;
  s->close(reset);
}

int UvStreamTransport::stream_fd() const {
  if (!stream_) return -1;
  uv_os_fd_t fd;
  if (uv_fileno(stream_->handle(), &fd) != 0) return -1;
  return fd;
}

}  // namespace pvb
