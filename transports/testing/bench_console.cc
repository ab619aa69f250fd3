#include "transports/testing/bench_console.h"

#include <cassert>
#include <cstdlib>
#include <cstring>

namespace pvb {

namespace {

void put16(uint8_t* p, uint16_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t get16(const char* p) {
  return static_cast<uint16_t>((static_cast<uint8_t>(p[0]) << 8) | static_cast<uint8_t>(p[1]));
}

uint32_t get32(const char* p) {
  return (static_cast<uint32_t>(get16(p)) << 16) | get16(p + 2);
}

// What the RFB kinds hold of one client message at most (they buffer until it is whole).
constexpr size_t kMaxCutText = 1 << 20;

// FramebufferUpdate with one rectangle at (0, 0) of w x h, Raw: the 16 bytes before its pixels.
void update_header(uint8_t* p, uint16_t w, uint16_t h) {
  std::memset(p, 0, BenchConsole::kRfbUpdateHeader);
  p[3] = 1;  // one rectangle
  put16(p + 8, w);
  put16(p + 10, h);
}

}  // namespace

BenchConsole::BenchConsole(Loop& loop, Kind kind) : Transport(loop), kind_(kind) {
  if (kind_ == Kind::source) {
    ByteChain block;
    std::span<uint8_t> room = block.reserve(kPatternBytes);
    for (size_t i = 0; i < kPatternBytes; ++i) room[i] = source_byte(i);
    block.commit(kPatternBytes);
    pattern_ = block.front();
  }
  if (kind_ == Kind::rfb_source) {
    // One block holds a whole update, so that each goes out as one slice (the far end must not
    // be what limits a measurement: a 16-byte slice of its own costs it a TLS record).
    ByteChain block;
    std::span<uint8_t> room = block.reserve(kRfbUpdateBytes);
    update_header(room.data(), kRfbWidth, kRfbUpdateRows);
    for (size_t i = 0; i < kPatternBytes; ++i) room[kRfbUpdateHeader + i] = source_byte(i);
    block.commit(kRfbUpdateBytes);
    update_ = block.front();
  }
}

void BenchConsole::start() {
  if (started_) return;
  started_ = true;
  post([this] {
    if (closed()) return;
    emit_connected();
    if (is_rfb()) out_.append(std::string_view("RFB 003.008\n"));
    schedule_emit();
  });
}

void BenchConsole::write(ByteChain& data, bool end_stream) {
  if (closed() || end_written_) {
    data.clear();
    return;
  }
  bytes_in_ += data.size();
  if (is_rfb()) {
    rfb_in_ += data.to_string();
    data.clear();
    if (!parse_rfb()) return;
    if (end_stream) end_written_ = true;
    schedule_emit();
    return;
  }
  if (kind_ == Kind::echo) {
    write_queue().move_from(data);
  } else {
    data.clear();
  }
  if (end_stream) end_written_ = true;
  if (kind_ == Kind::echo || end_stream) schedule_emit();
}

void BenchConsole::close(CloseMode) {
  out_.clear();
  finish(Error());
  write_queue().clear();  // after finish: nothing is reported from inside close()
}

void BenchConsole::on_read_enable_changed(bool enabled) {
  if (enabled) schedule_emit();
}

void BenchConsole::schedule_emit() {
  if (emit_posted_ || !started_ || closed()) return;
  emit_posted_ = true;
  post([this] {
    emit_posted_ = false;
    emit();
  });
}

void BenchConsole::emit() {
  if (closed() || !connected() || !reading_enabled()) return;
  if (kind_ == Kind::source && !end_written_) {
    while (out_.size() < kSourceBurst) out_.append_slice(pattern_);
  } else if (kind_ == Kind::rfb_source && streaming_ && !end_written_) {
    while (out_.size() < kSourceBurst) out_.append_slice(update_);
  } else if (kind_ == Kind::echo) {
    write_queue().move_to(out_);
  }
  const bool end_now = end_written_ && !end_emitted_ && write_queue().empty();
  if (out_.empty() && !end_now) return;
  const size_t before = out_.size();
  if (end_now) end_emitted_ = true;
  emit_data(out_, end_now);
  bytes_out_ += before - out_.size();
  // The source goes on next iteration, so that reads and writes of other connections interleave.
  const bool streams = kind_ == Kind::source || (kind_ == Kind::rfb_source && streaming_);
  if (streams && !end_written_ && reading_enabled()) schedule_emit();
}

// --- the RFB kinds ----------------------------------------------------------------------------

void BenchConsole::rfb_reply(const void* bytes, size_t n) {
  out_.append(bytes, n);
}

void BenchConsole::fail_rfb(const std::string& why) {
  rfb_step_ = RfbStep::failed;
  rfb_in_.clear();
  // Not from inside write(): the writer learns of the end from its own loop turn.
  post([this, why] {
    if (closed()) return;
    out_.clear();
    finish(Error(Errc::protocol, "bench RFB console: " + why));
    write_queue().clear();
  });
}

void BenchConsole::send_rfb_challenge() {
  const uint8_t challenge[16] = {'p', 'v', 'b', '-', 'b', 'e', 'n', 'c',
                                 'h', '-', 'c', 'h', 'a', 'l', 'l', 'g'};
  rfb_reply(challenge, sizeof challenge);
  rfb_step_ = RfbStep::auth_response;
}

bool BenchConsole::parse_rfb() {
  size_t at = 0;
  auto have = [&](size_t n) { return rfb_in_.size() - at >= n; };
  for (;;) {
    if (rfb_step_ == RfbStep::failed) return false;
    if (rfb_step_ == RfbStep::version) {
      if (!have(12)) break;
      const std::string v = rfb_in_.substr(at, 12);
      at += 12;
      if (v.compare(0, 4, "RFB ") != 0 || v[11] != '\n') {
        fail_rfb("not an RFB version");
        return false;
      }
      const int minor = std::atoi(v.substr(8, 3).c_str());
      rfb_minor_ = minor >= 8 ? 8 : minor == 7 ? 7 : 3;
      // VNC Authentication, as every Proxmox node's VNC server asks (the bench does not check
      // the response: it measures the bridge, not DES).
      if (rfb_minor_ == 3) {
        const uint8_t vnc_auth[4] = {0, 0, 0, 2};
        rfb_reply(vnc_auth, 4);
        send_rfb_challenge();
      } else {
        const uint8_t types[2] = {1, 2};  // one type: VNC Authentication
        rfb_reply(types, 2);
        rfb_step_ = RfbStep::security;
      }
    } else if (rfb_step_ == RfbStep::security) {
      if (!have(1)) break;
      if (rfb_in_[at++] != 2) {
        fail_rfb("the client chose a security type other than VNC Authentication");
        return false;
      }
      send_rfb_challenge();
    } else if (rfb_step_ == RfbStep::auth_response) {
      if (!have(16)) break;
      at += 16;
      const uint8_t ok[4] = {0, 0, 0, 0};
      rfb_reply(ok, 4);
      rfb_step_ = RfbStep::client_init;
    } else if (rfb_step_ == RfbStep::client_init) {
      if (!have(1)) break;
      ++at;  // shared or not: the same
      static constexpr char kName[] = "bench";
      uint8_t init[24 + sizeof kName - 1] = {};
      put16(init, kRfbWidth);
      put16(init + 2, kRfbHeight);
      // 32 bits per pixel, depth 24, little-endian, true colour, 8 bits each, red at 16.
      const uint8_t format[16] = {32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0};
      std::memcpy(init + 4, format, sizeof format);
      init[23] = sizeof kName - 1;
      std::memcpy(init + 24, kName, sizeof kName - 1);
      rfb_reply(init, sizeof init);
      rfb_step_ = RfbStep::messages;
    } else {
      if (!have(1)) break;
      const auto type = static_cast<uint8_t>(rfb_in_[at]);
      size_t length = 0;
      switch (type) {
        case 0:  // SetPixelFormat
          length = 20;
          break;
        case 2:  // SetEncodings
          if (!have(4)) {
            rfb_in_.erase(0, at);
            return true;
          }
          length = 4 + 4 * size_t{get16(rfb_in_.data() + at + 2)};
          break;
        case 3:  // FramebufferUpdateRequest
          length = 10;
          break;
        case 4:  // KeyEvent
          length = 8;
          break;
        case 5:  // PointerEvent
          length = 6;
          break;
        case 6:  // ClientCutText
          if (!have(8)) {
            rfb_in_.erase(0, at);
            return true;
          }
          length = 8 + size_t{get32(rfb_in_.data() + at + 4)};
          if (length > kMaxCutText) {
            fail_rfb("a ClientCutText of " + std::to_string(length) + " bytes");
            return false;
          }
          break;
        default:
          fail_rfb("client message type " + std::to_string(type) + " is not one it knows");
          return false;
      }
      if (!have(length)) break;
      at += length;
      if (type != 3) continue;
      if (kind_ == Kind::rfb_source) {
        streaming_ = true;
      } else {
        uint8_t reply[kRfbEchoReplyBytes];
        update_header(reply, 1, 1);
        const uint32_t n = echo_requests_++;
        for (int i = 0; i < 4; ++i) reply[16 + i] = static_cast<uint8_t>(n >> (8 * i));
        rfb_reply(reply, sizeof reply);
      }
    }
  }
  rfb_in_.erase(0, at);
  return true;
}

}  // namespace pvb
