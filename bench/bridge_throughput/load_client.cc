#include "bench/bridge_throughput/load_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <memory>
#include <string>

#include "bench/bridge_throughput/proc_stats.h"
#include "engine/rfb/vnc_auth.h"
#include "transports/testing/bench_console.h"

namespace pvb::bench {

namespace {

constexpr size_t kIoBuffer = 256 * 1024;
constexpr size_t kPatternPeriod = 256;
constexpr size_t kPatternTable = 64 * 1024;

// Byte i is i mod 256, and long enough to compare kPatternTable bytes from any phase.
const std::array<uint8_t, kPatternTable + kPatternPeriod>& pattern_table() {
  static const auto table = [] {
    std::array<uint8_t, kPatternTable + kPatternPeriod> t{};
    for (size_t i = 0; i < t.size(); ++i) t[i] = static_cast<uint8_t>(i % kPatternPeriod);
    return t;
  }();
  return table;
}

Error sys_error(const std::string& what) {
  if (errno == EAGAIN || errno == EWOULDBLOCK) {
    return Error(Errc::timeout, what + ": timed out");
  }
  return Error(Errc::connection_lost, what + ": " + std::strerror(errno));
}

Error wrong_byte(uint64_t offset) {
  return Error(Errc::protocol, "the source stream is wrong near byte " + std::to_string(offset) +
                                   " (a byte was lost, repeated or changed on the way)");
}

// One rfb_source update: its header, then the pattern.
const std::vector<uint8_t>& rfb_update_table() {
  static const auto table = [] {
    std::vector<uint8_t> t(BenchConsole::kRfbUpdateBytes, 0);
    t[3] = 1;  // one rectangle at (0, 0), Raw
    t[8] = BenchConsole::kRfbWidth >> 8;
    t[9] = BenchConsole::kRfbWidth & 0xFF;
    t[10] = BenchConsole::kRfbUpdateRows >> 8;
    t[11] = BenchConsole::kRfbUpdateRows & 0xFF;
    for (size_t i = 0; i < BenchConsole::kPatternBytes; ++i) {
      t[BenchConsole::kRfbUpdateHeader + i] = BenchConsole::source_byte(i);
    }
    return t;
  }();
  return table;
}

bool is_stream(bool rfb, const uint8_t* data, size_t n, uint64_t offset) {
  return rfb ? is_rfb_source_stream(data, n, offset) : is_source_stream(data, n, offset);
}

}  // namespace

bool is_rfb_source_stream(const uint8_t* data, size_t n, uint64_t offset) {
  const auto& table = rfb_update_table();
  while (n > 0) {
    const size_t phase = static_cast<size_t>(offset % table.size());
    const size_t k = std::min(n, table.size() - phase);
    if (std::memcmp(data, table.data() + phase, k) != 0) return false;
    data += k;
    n -= k;
    offset += k;
  }
  return true;
}

bool is_source_stream(const uint8_t* data, size_t n, uint64_t offset) {
  const auto& table = pattern_table();
  while (n > 0) {
    const size_t k = std::min(n, kPatternTable);
    if (std::memcmp(data, table.data() + offset % kPatternPeriod, k) != 0) return false;
    data += k;
    n -= k;
    offset += k;
  }
  return true;
}

Result<ClientSocket> ClientSocket::connect_loopback(uint16_t port, double io_timeout_s) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return sys_error("socket");
  ClientSocket s(fd);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    return sys_error("connect to 127.0.0.1:" + std::to_string(port));
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(io_timeout_s);
  tv.tv_usec = static_cast<suseconds_t>((io_timeout_s - static_cast<double>(tv.tv_sec)) * 1e6);
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  return s;
}

ClientSocket& ClientSocket::operator=(ClientSocket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    rfb_ = o.rfb_;
    rfb_requests_ = o.rfb_requests_;
    o.fd_ = -1;
  }
  return *this;
}

void ClientSocket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

void ClientSocket::shutdown_write() {
  if (fd_ >= 0) ::shutdown(fd_, SHUT_WR);
}

Error ClientSocket::read_source(uint64_t bytes, uint64_t offset) {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[kIoBuffer]);
  uint64_t got = 0;
  while (got < bytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kIoBuffer, bytes - got));
    ssize_t n = ::recv(fd_, buf.get(), want, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("reading the source stream");
    if (n == 0) {
      return Error(Errc::connection_lost, "the source stream ended after " + std::to_string(got) +
                                              " of " + std::to_string(bytes) + " bytes");
    }
    if (!is_stream(rfb_, buf.get(), static_cast<size_t>(n), offset + got)) {
      return wrong_byte(offset + got);
    }
    got += static_cast<uint64_t>(n);
  }
  return Error();
}

Error ClientSocket::write_bytes(uint64_t bytes) {
  const auto& table = pattern_table();
  uint64_t sent = 0;
  while (sent < bytes) {
    const size_t want = static_cast<size_t>(std::min<uint64_t>(kPatternTable, bytes - sent));
    ssize_t n = ::send(fd_, table.data(), want, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return sys_error("writing to the bridge");
    sent += static_cast<uint64_t>(n);
  }
  return Error();
}

Result<uint64_t> ClientSocket::read_to_end() {
  std::unique_ptr<uint8_t[]> buf(new uint8_t[kIoBuffer]);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = ::recv(fd_, buf.get(), kIoBuffer, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == ECONNRESET) return total;
    if (n < 0) return sys_error("reading to the end");
    if (n == 0) return total;
    total += static_cast<uint64_t>(n);
  }
}

Error ClientSocket::read_exactly(void* dst, size_t n, const char* what) {
  auto* p = static_cast<uint8_t*>(dst);
  size_t got = 0;
  while (got < n) {
    ssize_t k = ::recv(fd_, p + got, n - got, 0);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return sys_error(std::string("reading ") + what);
    if (k == 0) return Error(Errc::connection_lost, std::string("the end, reading ") + what);
    got += static_cast<size_t>(k);
  }
  return Error();
}

Error ClientSocket::send_all(const void* src, size_t n, const char* what) {
  const auto* p = static_cast<const uint8_t*>(src);
  size_t sent = 0;
  while (sent < n) {
    ssize_t k = ::send(fd_, p + sent, n - sent, MSG_NOSIGNAL);
    if (k < 0 && errno == EINTR) continue;
    if (k < 0) return sys_error(std::string("sending ") + what);
    sent += static_cast<size_t>(k);
  }
  return Error();
}

namespace {

uint32_t be32(const uint8_t* p) {
  return (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16) | (uint32_t{p[2]} << 8) | p[3];
}

// FramebufferUpdateRequest of the whole 1024x768 screen.
std::array<uint8_t, 10> update_request(bool incremental) {
  return {3, static_cast<uint8_t>(incremental ? 1 : 0), 0, 0, 0, 0, 4, 0, 3, 0};
}

}  // namespace

Error ClientSocket::rfb_handshake(const std::string& password, bool stream) {
  uint8_t version[12];
  if (Error e = read_exactly(version, 12, "the RFB version"); e.failed()) return e;
  if (std::memcmp(version, "RFB 003.", 8) != 0) {
    return Error(Errc::protocol, "not an RFB server");
  }
  if (Error e = send_all("RFB 003.008\n", 12, "the RFB version"); e.failed()) return e;
  uint8_t count = 0;
  if (Error e = read_exactly(&count, 1, "the security types"); e.failed()) return e;
  if (count == 0) return Error(Errc::protocol, "the server refused the connection");
  std::vector<uint8_t> types(count);
  if (Error e = read_exactly(types.data(), count, "the security types"); e.failed()) return e;
  const bool none = std::find(types.begin(), types.end(), 1) != types.end();
  const bool vnc = std::find(types.begin(), types.end(), 2) != types.end();
  if (!none && !vnc) return Error(Errc::protocol, "neither None nor VNC authentication offered");
  const uint8_t chosen = none ? 1 : 2;
  if (Error e = send_all(&chosen, 1, "the security type"); e.failed()) return e;
  if (chosen == 2) {
    std::array<uint8_t, 16> challenge{};
    if (Error e = read_exactly(challenge.data(), 16, "the challenge"); e.failed()) return e;
    const auto response = vnc_auth_response(password, challenge);
    if (Error e = send_all(response.data(), 16, "the response"); e.failed()) return e;
  }
  uint8_t result[4];
  if (Error e = read_exactly(result, 4, "the security result"); e.failed()) return e;
  if (be32(result) != 0) return Error(Errc::auth, "RFB authentication failed");
  const uint8_t shared = 1;
  if (Error e = send_all(&shared, 1, "ClientInit"); e.failed()) return e;
  uint8_t init[24];
  if (Error e = read_exactly(init, 24, "ServerInit"); e.failed()) return e;
  std::vector<uint8_t> name(be32(init + 20));
  if (name.size() > 4096) return Error(Errc::protocol, "ServerInit: a name too long");
  if (Error e = read_exactly(name.data(), name.size(), "ServerInit"); e.failed()) return e;
  // SetEncodings [Raw], then the first request.
  const uint8_t encodings[8] = {2, 0, 0, 1, 0, 0, 0, 0};
  if (Error e = send_all(encodings, sizeof encodings, "SetEncodings"); e.failed()) return e;
  if (stream) {
    const auto request = update_request(false);
    if (Error e = send_all(request.data(), request.size(), "the update request"); e.failed()) {
      return e;
    }
  }
  rfb_ = true;
  return Error();
}

Result<std::vector<double>> ClientSocket::echo_round_trips(size_t count, size_t size) {
  if (rfb_) {
    std::vector<double> micros;
    micros.reserve(count);
    uint8_t reply[BenchConsole::kRfbEchoReplyBytes];
    for (size_t i = 0; i < count; ++i) {
      const auto request = update_request(true);
      const double t0 = now_seconds();
      if (Error e = send_all(request.data(), request.size(), "an update request"); e.failed()) {
        return e;
      }
      if (Error e = read_exactly(reply, sizeof reply, "the 1x1 update"); e.failed()) return e;
      micros.push_back((now_seconds() - t0) * 1e6);
      const uint32_t n = uint32_t{reply[16]} | (uint32_t{reply[17]} << 8) |
                         (uint32_t{reply[18]} << 16) | (uint32_t{reply[19]} << 24);
      if (reply[0] != 0 || reply[3] != 1 || n != rfb_requests_) {
        return Error(Errc::protocol, "update " + std::to_string(rfb_requests_) +
                                         " came back wrong (pixel " + std::to_string(n) + ")");
      }
      ++rfb_requests_;
    }
    return micros;
  }
  std::vector<uint8_t> out(size), in(size);
  std::vector<double> micros;
  micros.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    for (size_t k = 0; k < size; ++k) out[k] = static_cast<uint8_t>(i + k * 7);
    const double t0 = now_seconds();
    if (::send(fd_, out.data(), size, MSG_NOSIGNAL) != static_cast<ssize_t>(size)) {
      return sys_error("sending an echo request");
    }
    size_t got = 0;
    while (got < size) {
      ssize_t n = ::recv(fd_, in.data() + got, size - got, 0);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return sys_error("waiting for the echo");
      if (n == 0) return Error(Errc::connection_lost, "the echo stream ended");
      got += static_cast<size_t>(n);
    }
    micros.push_back((now_seconds() - t0) * 1e6);
    if (in != out) {
      return Error(Errc::protocol, "echo " + std::to_string(i) + " came back changed");
    }
  }
  return micros;
}

Error read_source_many(const std::vector<ClientSocket*>& sockets, uint64_t bytes_each,
                       double stall_timeout_s) {
  int ep = ::epoll_create1(EPOLL_CLOEXEC);
  if (ep < 0) return sys_error("epoll_create1");
  struct Progress {
    uint64_t got = 0;
  };
  std::vector<Progress> progress(sockets.size());
  size_t open = 0;
  for (size_t i = 0; i < sockets.size(); ++i) {
    if (bytes_each == 0) break;
    int fd = sockets[i]->fd();
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    if (::epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0) {
      ::close(ep);
      return sys_error("epoll_ctl");
    }
    ++open;
  }
  std::unique_ptr<uint8_t[]> buf(new uint8_t[kIoBuffer]);
  std::vector<epoll_event> events(256);
  double last_progress = now_seconds();
  Error error;
  while (open > 0 && error.ok()) {
    int n = ::epoll_wait(ep, events.data(), static_cast<int>(events.size()), 1000);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = sys_error("epoll_wait");
      break;
    }
    if (n == 0 && now_seconds() - last_progress > stall_timeout_s) {
      error = Error(Errc::timeout, std::to_string(open) + " connections made no progress");
      break;
    }
    for (int e = 0; e < n && error.ok(); ++e) {
      const size_t i = events[e].data.u64;
      Progress& p = progress[i];
      const int fd = sockets[i]->fd();
      // One read per event and connection: every connection gets its turn.
      const size_t want = static_cast<size_t>(std::min<uint64_t>(kIoBuffer, bytes_each - p.got));
      ssize_t k = ::recv(fd, buf.get(), want, 0);
      if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
      if (k < 0) {
        error = sys_error("reading connection " + std::to_string(i));
        break;
      }
      if (k == 0) {
        error = Error(Errc::connection_lost, "connection " + std::to_string(i) + " ended after " +
                                                 std::to_string(p.got) + " bytes");
        break;
      }
      if (!is_stream(sockets[i]->rfb(), buf.get(), static_cast<size_t>(k), p.got)) {
        error = wrong_byte(p.got);
        break;
      }
      p.got += static_cast<uint64_t>(k);
      last_progress = now_seconds();
      if (p.got == bytes_each) {
        ::epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        --open;
      }
    }
  }
  ::close(ep);
  // Back to blocking for whoever uses the sockets next.
  for (ClientSocket* s : sockets)
    ::fcntl(s->fd(), F_SETFL, ::fcntl(s->fd(), F_GETFL) & ~O_NONBLOCK);
  return error;
}

}  // namespace pvb::bench
