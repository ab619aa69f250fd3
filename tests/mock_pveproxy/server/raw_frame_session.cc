#include "tests/mock_pveproxy/server/raw_frame_session.h"

#include <array>

namespace pvb::mock {

namespace {

constexpr std::string_view kGreeting = "RFB 003.008\n";

void add(ByteChain& out, std::initializer_list<uint8_t> bytes) {
  out.append_header(std::data(bytes), bytes.size());
}

void add_greeting(ByteChain& out, uint8_t first_byte) {
  add(out, {first_byte, static_cast<uint8_t>(kGreeting.size())});
  out.append_header(kGreeting.data(), kGreeting.size());
}

// Ping flood batches: small enough to keep the loop responsive, and the flood stops while this
// much waits to be sent.
constexpr uint64_t kPingsPerBatch = 1000;
constexpr size_t kFloodHighMark = 64 * 1024;
constexpr size_t kFloodLowMark = 16 * 1024;

}  // namespace

ByteChain raw_frame_bytes(RawFrameKind kind) {
  ByteChain out;
  switch (kind) {
    case RawFrameKind::masked_frame: {
      // Servers must never mask (RFC 6455 5.1).
      const std::array<uint8_t, 4> key = {0x12, 0x34, 0x56, 0x78};
      add(out, {0x82, static_cast<uint8_t>(0x80 | kGreeting.size())});
      out.append_header(key.data(), key.size());
      for (size_t i = 0; i < kGreeting.size(); ++i) {
        const uint8_t b = static_cast<uint8_t>(kGreeting[i]) ^ key[i % 4];
        out.append_header(&b, 1);
      }
      break;
    }
    case RawFrameKind::rsv_bits:
      add_greeting(out, 0xF2);  // FIN, RSV1-3, binary
      break;
    case RawFrameKind::huge_length:
      add(out, {0x82, 0x7F, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF});
      out.append_header(kGreeting.data(), kGreeting.size());
      break;
    case RawFrameKind::reserved_opcode:
      add_greeting(out, 0x83);
      break;
    case RawFrameKind::ping_flood:
      add(out, {0x89, 0x04, 'p', 'i', 'n', 'g'});
      break;
    case RawFrameKind::never_close:
      break;  // not a frame: CloseFrameFilter's job
    case RawFrameKind::silent:
      break;  // nothing at all, ever
    case RawFrameKind::deaf_ping_flood:
    case RawFrameKind::deaf:
      add_greeting(out, 0x82);  // the RFB banner in a binary frame, as a real console starts
      break;
  }
  return out;
}

RawFrameSession::RawFrameSession(std::unique_ptr<Transport> lower, RawFrameKind kind,
                                 std::function<void(const Error&)> done)
    : lower_(std::move(lower)), kind_(kind), done_(std::move(done)) {}

RawFrameSession::~RawFrameSession() {
  if (lower_->sink() == this) lower_->set_sink(nullptr);
}

bool RawFrameSession::floods() const {
  return kind_ == RawFrameKind::ping_flood || kind_ == RawFrameKind::deaf_ping_flood;
}

void RawFrameSession::start() {
  lower_->set_sink(this);
  lower_->set_write_watermarks(kFloodHighMark, kFloodLowMark);
  // A deaf server never reads: whatever the client sends piles up in the kernel's buffers.
  if (kind_ == RawFrameKind::deaf_ping_flood || kind_ == RawFrameKind::deaf) {
    lower_->read_disable(true);
  }
  if (kind_ == RawFrameKind::ping_flood) {
    flood();
    return;
  }
  ByteChain out = raw_frame_bytes(kind_);
  lower_->write(out);
  if (kind_ == RawFrameKind::deaf_ping_flood) flood();
}

void RawFrameSession::flood() {
  if (closing_) return;
  static const std::string ping = raw_frame_bytes(RawFrameKind::ping_flood).to_string();
  // The deaf flood never ends; the plain one stops after kPingFloodCount.
  const uint64_t limit = kind_ == RawFrameKind::deaf_ping_flood ? UINT64_MAX : kPingFloodCount;
  while (pings_sent_ < limit && lower_->pending_write_bytes() <= kFloodHighMark) {
    ByteChain batch;
    const uint64_t n = std::min(kPingsPerBatch, limit - pings_sent_);
    for (uint64_t i = 0; i < n; ++i) batch.append_header(ping.data(), ping.size());
    pings_sent_ += n;
    lower_->write(batch);
  }
  if (pings_sent_ == limit) return;
  // Waiting for on_write_low is only safe once on_write_high has fired: the lower transport
  // posts "high" and drops it if the queue drained first. This check runs after that post, so
  // if the queue is still above the mark now, "high" has fired and "low" will follow.
  lower_->loop().post([this, weak = alive_.weak()] {
    if (!weak.expired() && lower_->pending_write_bytes() <= kFloodHighMark) flood();
  });
}

void RawFrameSession::on_data(ByteChain& data, bool end_stream) {
  data.clear();
  if (end_stream && !closing_) {
    closing_ = true;
    lower_->close(CloseMode::Flush);
  }
}

void RawFrameSession::on_write_low() {
  if (floods()) flood();
}

void RawFrameSession::on_closed(const Error& error) {
  closing_ = true;
  if (auto done = std::move(done_)) {
    done_ = nullptr;
    done(error);
  }
}

}  // namespace pvb::mock
