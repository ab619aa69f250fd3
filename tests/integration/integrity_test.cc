// Data integrity through the whole stack — local TCP, pvebridge, TLS, WebSocket, the mock's relay
// — 1 GiB each way:
// - to the guest and back: seeded random bytes through the echo guest, checksummed where they
//   are written and where they come back, and compared byte for byte (the first wrong offset is
//   reported); the mock's own count of what reached its VM side is checked too;
// - from the guest: 1 GiB of the source guest's counter pattern, checked byte for byte.
// Release builds only (label long): too slow under sanitizers.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "engine/core/random.h"
#include "tests/integration/fault_helpers.h"

namespace pvb::testing {
namespace {

constexpr uint64_t kTotal = uint64_t{1} << 30;
// At most this much is on its way at once: the mock's relay drops a console when more than
// 640 KiB wait for its VM side (pveproxy has no backpressure toward the VM).
constexpr uint64_t kWindow = 512 * 1024;

// FNV-1a, 64 bits: the checksum each end keeps of what it saw.
struct Checksum {
  uint64_t h = 0xcbf29ce484222325ull;
  void add(const uint8_t* p, size_t n) {
    for (size_t i = 0; i < n; ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  }
};

// A seeded stream whose every offset can be regenerated: a 16 MiB random block, varied per lap so
// that laps cannot be confused with each other.
class RandomStream {
 public:
  static constexpr size_t kBlock = 16 * 1024 * 1024;
  explicit RandomStream(uint64_t seed) : block_(kBlock) {
    SeededRandom rng(seed);
    rng.fill(block_.data(), block_.size());
  }
  uint8_t at(uint64_t i) const {
    return block_[i % kBlock] ^ static_cast<uint8_t>((i / kBlock) * 0x9D);
  }
  void fill(uint64_t offset, uint8_t* out, size_t n) const {
    for (size_t k = 0; k < n; ++k) out[k] = at(offset + k);
  }

 private:
  std::vector<uint8_t> block_;
};

class Integrity : public FaultTest {
 protected:
  // Starts pvebridge --no-viewer on `guest` and connects a local client to it.
  void open(const MockPveproxy& m, const std::string& guest) {
    start_ = now_ms();
    bridge_ = start_pvebridge(args(m, {"connect", guest, "--no-viewer", "--json", "--passthrough"}),
                              token_env(m));
    std::optional<std::string> listening = find_line(*bridge_, "\"listening\"");
    ASSERT_TRUE(listening) << bridge_->stderr_text();
    client_ = std::make_unique<LocalClient>(std::stoi(json_get(*listening, "port").value_or("0")));
    ASSERT_TRUE(client_->connected());
    ASSERT_TRUE(find_line(*bridge_, "client_connected"));
    fcntl(client_->fd(), F_SETFL, fcntl(client_->fd(), F_GETFL) | O_NONBLOCK);
  }
  // Closes the client and returns pvebridge's closed event.
  std::string finish(Outcome& o) {
    peak_kib_ = process_status_kib(bridge_->pid(), "VmHWM");
    client_->close();
    o = finish_bounded(*bridge_, start_, 60000);
    for (const std::string& l : o.out) {
      if (json_get(l, "event") == "closed") return l;
    }
    return "";
  }

  int64_t start_ = 0;
  int64_t peak_kib_ = 0;
  std::unique_ptr<ChildProcess> bridge_;
  std::unique_ptr<LocalClient> client_;
};

TEST_F(Integrity, OneGibibyteToTheGuestAndBack) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  ASSERT_NO_FATAL_FAILURE(open(m, "echo"));
  const RandomStream stream(0x1D2C3B4A59687766ull);
  Checksum sent_sum, received_sum;
  uint64_t sent = 0, received = 0;
  int64_t first_wrong = -1;
  std::vector<uint8_t> out(64 * 1024), in(256 * 1024);
  const int fd = client_->fd();
  while (received < kTotal) {
    const bool may_send = sent < kTotal && sent - received < kWindow;
    pollfd p{fd, static_cast<short>(POLLIN | (may_send ? POLLOUT : 0)), 0};
    ASSERT_GT(poll(&p, 1, 20000), 0) << "stalled at " << received << " bytes back";
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      ssize_t n = ::read(fd, in.data(), in.size());
      ASSERT_TRUE(n > 0 || (n < 0 && errno == EAGAIN)) << "the echo ended after " << received;
      for (ssize_t i = 0; i < n && first_wrong < 0; ++i) {
        if (in[static_cast<size_t>(i)] != stream.at(received + i)) {
          first_wrong = static_cast<int64_t>(received + i);
        }
      }
      if (n > 0) {
        received_sum.add(in.data(), static_cast<size_t>(n));
        received += static_cast<uint64_t>(n);
      }
    }
    if (may_send && (p.revents & POLLOUT)) {
      const size_t chunk = static_cast<size_t>(
          std::min<uint64_t>({out.size(), kTotal - sent, kWindow - (sent - received)}));
      stream.fill(sent, out.data(), chunk);
      ssize_t n = ::write(fd, out.data(), chunk);
      ASSERT_TRUE(n > 0 || (n < 0 && errno == EAGAIN));
      if (n > 0) {
        sent_sum.add(out.data(), static_cast<size_t>(n));
        sent += static_cast<uint64_t>(n);
      }
    }
  }
  Outcome o;
  std::string closed = finish(o);
  record("1 GiB to the guest and back",
         "seeded random bytes through the echo guest, FNV-1a on both ends", o);
  EXPECT_EQ(first_wrong, -1) << "first wrong byte at offset " << first_wrong;
  EXPECT_EQ(received, kTotal);
  EXPECT_EQ(sent_sum.h, received_sum.h);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_EQ(json_get(closed, "bytes_to_guest"), std::to_string(kTotal)) << closed;
  EXPECT_EQ(json_get(closed, "bytes_from_guest"), std::to_string(kTotal)) << closed;
  EXPECT_TRUE(wait_for_stderr(m.process(), std::to_string(kTotal) + " bytes to the VM, " +
                                               std::to_string(kTotal) + " to the client"))
      << m.process().stderr_text();
  EXPECT_LT(peak_kib_, kMemoryBoundKib);
  GTEST_LOG_(INFO) << "1 GiB each way in " << o.elapsed_ms << " ms, checksum " << std::hex
                   << sent_sum.h << ", pvebridge peak " << std::dec << peak_kib_ << " KiB";
}

TEST_F(Integrity, OneGibibyteFromTheGuest) {
  MockPveproxy m;
  ASSERT_TRUE(m.ok());
  ASSERT_NO_FATAL_FAILURE(open(m, "source"));
  Checksum expected_sum, received_sum;
  uint64_t received = 0;
  int64_t first_wrong = -1;
  std::vector<uint8_t> in(256 * 1024), want(256 * 1024);
  while (received < kTotal) {
    pollfd p{client_->fd(), POLLIN, 0};
    ASSERT_GT(poll(&p, 1, 20000), 0) << "stalled at " << received;
    const size_t room = static_cast<size_t>(std::min<uint64_t>(in.size(), kTotal - received));
    ssize_t n = ::read(client_->fd(), in.data(), room);
    if (n < 0 && errno == EAGAIN) continue;
    ASSERT_GT(n, 0) << "the stream ended after " << received;
    for (ssize_t i = 0; i < n; ++i) want[static_cast<size_t>(i)] = (received + i) & 0xFF;
    if (first_wrong < 0 && std::memcmp(in.data(), want.data(), static_cast<size_t>(n)) != 0) {
      for (ssize_t i = 0; i < n; ++i) {
        if (in[static_cast<size_t>(i)] != want[static_cast<size_t>(i)]) {
          first_wrong = static_cast<int64_t>(received + i);
          break;
        }
      }
    }
    expected_sum.add(want.data(), static_cast<size_t>(n));
    received_sum.add(in.data(), static_cast<size_t>(n));
    received += static_cast<uint64_t>(n);
  }
  Outcome o;
  std::string closed = finish(o);
  record("1 GiB from the guest", "the source guest's counter pattern, checked byte for byte", o);
  EXPECT_EQ(first_wrong, -1) << "first wrong byte at offset " << first_wrong;
  EXPECT_EQ(expected_sum.h, received_sum.h);
  EXPECT_EQ(o.exit_code, 0) << o.err;
  EXPECT_GE(std::stoull(json_get(closed, "bytes_from_guest").value_or("0")), kTotal) << closed;
  EXPECT_LT(peak_kib_, kMemoryBoundKib);
  GTEST_LOG_(INFO) << "1 GiB in " << o.elapsed_ms << " ms, pvebridge peak " << peak_kib_ << " KiB";
}

}  // namespace
}  // namespace pvb::testing
