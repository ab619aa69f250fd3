#include "tests/mock_pveproxy/server/unix_stream_transport.h"

#include <sys/un.h>

namespace pvb::mock {

std::unique_ptr<UnixStreamTransport> UnixStreamTransport::connect(Loop& loop, std::string path) {
  return std::unique_ptr<UnixStreamTransport>(new UnixStreamTransport(loop, std::move(path)));
}

UnixStreamTransport::UnixStreamTransport(Loop& loop, std::string path)
    : UvStreamTransport(loop), path_(std::move(path)) {}

UnixStreamTransport::~UnixStreamTransport() = default;

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
  auto* s = new Stream;
  if (uv_pipe_init(loop().raw(), &s->u.pipe, 0) != 0) {
    delete s;
    fail(Errc::connect, "connect to " + path_ + ": cannot make a pipe handle", UV_ENOMEM);
    return;
  }
  s->attach(this);
  stream_ = s;
  uv_pipe_connect(&s->connect_req, &s->u.pipe, path_.c_str(), [](uv_connect_t* req, int status) {
    Stream* stream = Stream::of(req->handle);
    if (stream->owner) static_cast<UnixStreamTransport*>(stream->owner)->connected_cb(status);
  });
}

void UnixStreamTransport::connected_cb(int status) {
  if (state_ != State::connecting) return;
  if (status != 0) {
    fail(Errc::connect, "connect to " + path_ + ": " + uv_strerror(status), status);
    return;
  }
  became_open();
}

}  // namespace pvb::mock
