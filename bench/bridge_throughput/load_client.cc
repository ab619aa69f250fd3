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

}  // namespace

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
    if (!is_source_stream(buf.get(), static_cast<size_t>(n), offset + got)) {
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

Result<std::vector<double>> ClientSocket::echo_round_trips(size_t count, size_t size) {
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
      if (!is_source_stream(buf.get(), static_cast<size_t>(k), p.got)) {
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
