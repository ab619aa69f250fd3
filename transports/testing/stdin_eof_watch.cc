#include "transports/testing/stdin_eof_watch.h"

#include <memory>

namespace pvb {

struct StdinEofWatch::Handle {
  union {
    uv_stream_t stream;
    uv_pipe_t pipe;
    uv_tty_t tty;
  } u;
  std::function<void()> on_eof;
  char buffer[1024];

  static void alloc(uv_handle_t* h, size_t, uv_buf_t* buf) {
    auto* self = static_cast<Handle*>(h->data);
    *buf = uv_buf_init(self->buffer, sizeof self->buffer);
  }
  static void read(uv_stream_t* s, ssize_t n, const uv_buf_t*) {
    if (n >= 0) return;  // what arrives is ignored; only the end matters
    uv_read_stop(s);
    auto* self = static_cast<Handle*>(s->data);
    if (auto cb = std::move(self->on_eof)) {
      self->on_eof = nullptr;
      cb();
    }
  }
  static void close(Handle* h) {
    h->on_eof = nullptr;
    uv_close(reinterpret_cast<uv_handle_t*>(&h->u.stream),
             [](uv_handle_t* handle) { delete static_cast<Handle*>(handle->data); });
  }
};

StdinEofWatch::StdinEofWatch(Loop& loop, std::function<void()> on_eof) {
  auto h = std::make_unique<Handle>();
  h->on_eof = on_eof;
  h->u.stream.data = h.get();
  int rc = UV_EINVAL;
  bool initialized = false;
  switch (uv_guess_handle(0)) {
    case UV_NAMED_PIPE:
      rc = uv_pipe_init(loop.raw(), &h->u.pipe, 0);
      initialized = rc == 0;
      if (rc == 0) rc = uv_pipe_open(&h->u.pipe, 0);
      break;
    case UV_TTY:
      rc = uv_tty_init(loop.raw(), &h->u.tty, 0, 1);
      initialized = rc == 0;
      break;
    default:
      break;
  }
  h->u.stream.data = h.get();
  if (rc == 0) rc = uv_read_start(&h->u.stream, &Handle::alloc, &Handle::read);
  if (rc == 0) {
    h_ = h.release();
    return;
  }
  if (initialized) Handle::close(h.release());
  loop.post([weak = alive_.weak(), on_eof] {
    if (!weak.expired()) on_eof();
  });
}

StdinEofWatch::~StdinEofWatch() {
  if (h_) Handle::close(h_);
}

}  // namespace pvb
