#include "tests/mock_pveproxy/server/test/qemu_fake_unix_server.h"

#include <memory>

namespace pvb::mock::test {

// Handles live on the heap until libuv's close callback, which frees them; `owner` is cleared
// when the server goes first.
struct FakeUnixServer::Listener {
  uv_pipe_t pipe;
  FakeUnixServer* owner = nullptr;
};

struct FakeUnixServer::Connection {
  uv_pipe_t pipe;
  FakeUnixServer* owner = nullptr;
  std::string received;
  std::string partial_line;
  bool ended = false;
  bool closed = false;         // close_connection() was called
  bool handle_closed = false;  // libuv is done with it: the server frees it
  char buffer[16 * 1024];
};

namespace {

struct WriteRequest {
  uv_write_t req;
  std::string data;
};

}  // namespace

// A connection closed while the server lives stays allocated (the test may still look at what
// it received); whichever of the server and libuv's close callback comes last frees it.
static void close_connection_handle(FakeUnixServer::Connection* c) {
  auto* handle = reinterpret_cast<uv_handle_t*>(&c->pipe);
  if (uv_is_closing(handle)) return;
  uv_close(handle, [](uv_handle_t* x) {
    auto* conn = static_cast<FakeUnixServer::Connection*>(x->data);
    if (conn->owner == nullptr) {
      delete conn;
    } else {
      conn->handle_closed = true;
    }
  });
}

FakeUnixServer::FakeUnixServer(Loop& loop, std::string path) : loop_(loop) {
  listener_ = new Listener;
  uv_pipe_init(loop.raw(), &listener_->pipe, 0);
  listener_->pipe.data = listener_;
  listener_->owner = this;
  if (uv_pipe_bind(&listener_->pipe, path.c_str()) != 0) return;
  int r = uv_listen(reinterpret_cast<uv_stream_t*>(&listener_->pipe), 8,
                    [](uv_stream_t* s, int status) {
                      auto* l = static_cast<Listener*>(s->data);
                      if (status == 0 && l->owner) l->owner->accepted();
                    });
  listening_ = r == 0;
}

FakeUnixServer::~FakeUnixServer() {
  uv_close(reinterpret_cast<uv_handle_t*>(&listener_->pipe),
           [](uv_handle_t* x) { delete static_cast<Listener*>(x->data); });
  for (Connection* c : connections_) {
    if (c->handle_closed) {
      delete c;
      continue;
    }
    c->owner = nullptr;  // (a close already under way then frees it)
    close_connection_handle(c);
  }
}

void FakeUnixServer::accepted() {
  auto* c = new Connection;
  uv_pipe_init(loop_.raw(), &c->pipe, 0);
  c->pipe.data = c;
  c->owner = this;
  if (uv_accept(reinterpret_cast<uv_stream_t*>(&listener_->pipe),
                reinterpret_cast<uv_stream_t*>(&c->pipe)) != 0) {
    c->owner = nullptr;
    close_connection_handle(c);
    return;
  }
  connections_.push_back(c);
  uv_read_start(
      reinterpret_cast<uv_stream_t*>(&c->pipe),
      [](uv_handle_t* h, size_t, uv_buf_t* buf) {
        auto* conn = static_cast<Connection*>(h->data);
        *buf = uv_buf_init(conn->buffer, sizeof conn->buffer);
      },
      [](uv_stream_t* s, ssize_t n, const uv_buf_t* buf) {
        auto* conn = static_cast<Connection*>(s->data);
        if (n < 0) {
          conn->ended = true;
          uv_read_stop(s);
          return;
        }
        if (conn->owner && !conn->closed) {
          conn->owner->read(*conn, std::string_view(buf->base, static_cast<size_t>(n)));
        }
      });
  if (on_accept) on_accept(connections_.size() - 1);
}

void FakeUnixServer::read(Connection& c, std::string_view data) {
  c.received.append(data);
  if (!on_line) return;
  c.partial_line.append(data);
  size_t index = 0;
  while (index < connections_.size() && connections_[index] != &c) ++index;
  size_t newline;
  while ((newline = c.partial_line.find('\n')) != std::string::npos) {
    std::string line = c.partial_line.substr(0, newline);
    c.partial_line.erase(0, newline + 1);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    on_line(index, line);
  }
}

const std::string& FakeUnixServer::received(size_t i) const {
  return connections_.at(i)->received;
}

bool FakeUnixServer::ended(size_t i) const {
  return connections_.at(i)->ended;
}

void FakeUnixServer::send(size_t i, std::string_view data) {
  Connection* c = connections_.at(i);
  if (c->closed) return;
  auto* w = new WriteRequest;
  w->data.assign(data);
  uv_buf_t buf = uv_buf_init(w->data.data(), static_cast<unsigned>(w->data.size()));
  w->req.data = w;
  uv_write(&w->req, reinterpret_cast<uv_stream_t*>(&c->pipe), &buf, 1,
           [](uv_write_t* req, int) { delete static_cast<WriteRequest*>(req->data); });
}

void FakeUnixServer::close_connection(size_t i) {
  Connection* c = connections_.at(i);
  if (c->closed) return;
  c->closed = true;
  close_connection_handle(c);
}

void FakeUnixServer::pause_reading(size_t i) {
  if (connections_.at(i)->closed) return;
  uv_read_stop(reinterpret_cast<uv_stream_t*>(&connections_.at(i)->pipe));
}

}  // namespace pvb::mock::test
