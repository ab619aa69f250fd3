// WebSocket round trip: a list of operations derived from the input (data payloads of any size
// and slice layout, pings, pongs, a close) is encoded with one role's codec and decoded with the
// other's, both ways (client -> server, server -> client), and across implementations: the
// zero-copy encoder into the wslay decoder, the wslay encoder into the zero-copy decoder.
//
// Invariants:
// - the decoder hears exactly what was sent: each data payload as binary messages of at most the
//   clamped max_frame_payload bytes (one empty message for an empty payload), control payloads
//   truncated to 125 bytes, a close with its code (1005 when none) and a reason that is a prefix
//   of the one given, valid UTF-8, at most 123 bytes; nothing after the close;
// - on the wire every frame has FIN set, RSV clear, no continuation opcode, the shortest length
//   encoding, a mask exactly in the client role, and no frame exceeds 64 KiB in total (pveproxy
//   before 8.3 dies on bigger ones);
// - both encoders produce the very same wire bytes from the same random seed.
#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "engine/core/random.h"
#include "fuzz/fuzz_support.h"
#include "fuzz/ws_decode_fuzz.h"
#include "transports/ws/ws_codec.h"

namespace pvb::fuzz {
namespace {

enum class OpKind { data, ping, pong, close };

struct Op {
  OpKind kind;
  std::vector<std::string> slices;  // data: the payload, as the slices of its chain
  std::string payload;              // ping/pong payload, close reason
  uint16_t code = 0;
};

constexpr size_t kMaxOps = 24;
constexpr size_t kMaxDataBytes = 80 * 1024;  // per input, repetition included: over one frame
constexpr size_t kMaxDataFrames = 1024;      // keeps tiny frame limits fast

// Codes a sender may put in a Close frame, plus 0 and 1005 ("no status code").
constexpr uint16_t kCloseCodes[] = {0,    1005, 1000, 1001, 1002, 1003, 1007,
                                    1008, 1009, 1010, 1011, 3000, 4000, 4999};

// Turns arbitrary bytes into valid UTF-8 of 1- to 4-byte characters, so that truncating a close
// reason can land inside a character.
std::string utf8_from_bytes(const std::string& bytes) {
  std::string out;
  auto put = [&](uint32_t cp) {
    if (cp < 0x80) {
      out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
      out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else if (cp < 0x10000) {
      out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    } else {
      out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
      out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
    }
  };
  for (unsigned char b : bytes) {
    if (b < 0x80) {
      put(b);
    } else if (b < 0xC0) {
      put(0x80 + b);  // 2 bytes
    } else if (b < 0xF0) {
      put(0x4E00 + b);  // 3 bytes
    } else {
      put(0x1F600 + (b & 0xF));  // 4 bytes
    }
  }
  return out;
}

bool is_valid_utf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<unsigned char>(s[i]);
    size_t n = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : (c >> 3) == 0x1E ? 4 : 0;
    if (n == 0 || i + n > s.size()) return false;
    for (size_t k = 1; k < n; ++k) {
      if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80) return false;
    }
    i += n;
  }
  return true;
}

std::vector<Op> make_ops(FuzzedDataProvider& p, size_t max_data_bytes) {
  std::vector<Op> ops;
  size_t data_bytes = 0;
  while (p.remaining_bytes() > 0 && ops.size() < kMaxOps) {
    Op op{};
    switch (p.ConsumeIntegralInRange<int>(0, 9)) {
      case 6:
        op.kind = OpKind::ping;
        op.payload = p.ConsumeRandomLengthString(200);
        break;
      case 7:
        op.kind = OpKind::pong;
        op.payload = p.ConsumeRandomLengthString(200);
        break;
      case 8:
        op.kind = OpKind::close;
        op.code = p.PickValueInArray(kCloseCodes);
        op.payload = utf8_from_bytes(p.ConsumeRandomLengthString(160));
        break;
      default: {
        op.kind = OpKind::data;
        // Several slices make the encoder gather a frame from more than one.
        int slices = p.ConsumeIntegralInRange<int>(1, 4);
        for (int i = 0; i < slices; ++i) {
          std::string piece = p.ConsumeRandomLengthString(1024);
          // Repetition reaches payloads above the 64 KiB frame limit with small inputs.
          size_t reps = p.ConsumeIntegralInRange<size_t>(1, 96);
          const size_t room = max_data_bytes - data_bytes;
          if (piece.size() > room) piece.resize(room);
          reps = piece.empty() ? 1 : std::min(reps, room / piece.size());
          std::string slice;
          for (size_t r = 0; r < reps; ++r) slice += piece;
          data_bytes += slice.size();
          op.slices.push_back(std::move(slice));
        }
        break;
      }
    }
    ops.push_back(std::move(op));
  }
  return ops;
}

// Walks the wire bytes frame by frame (independently of the codec's own header parser).
void check_wire(std::string_view wire, bool masked, size_t frame_limit) {
  size_t pos = 0;
  while (pos < wire.size()) {
    FUZZ_CHECK(wire.size() - pos >= 2, "truncated frame header");
    auto b0 = static_cast<uint8_t>(wire[pos]);
    auto b1 = static_cast<uint8_t>(wire[pos + 1]);
    const uint8_t opcode = b0 & 0xF;
    FUZZ_CHECK((b0 & 0x80) != 0, "frame without FIN");
    FUZZ_CHECK((b0 & 0x70) == 0, "frame with RSV bits");
    FUZZ_CHECK(opcode != 0, "continuation frame on the wire");
    FUZZ_CHECK(opcode == 2 || opcode >= 8, "unexpected opcode " + std::to_string(opcode));
    FUZZ_CHECK(((b1 & 0x80) != 0) == masked, "masking does not match the role");
    uint64_t len = b1 & 0x7F;
    size_t header = 2;
    if (len == 126 || len == 127) {
      size_t ext = len == 126 ? 2 : 8;
      FUZZ_CHECK(wire.size() - pos >= 2 + ext, "truncated frame length");
      len = 0;
      for (size_t i = 0; i < ext; ++i) len = (len << 8) | static_cast<uint8_t>(wire[pos + 2 + i]);
      FUZZ_CHECK(ext == 2 ? len >= 126 : len > 0xFFFF, "length not in its shortest encoding");
      header += ext;
    }
    if (masked) header += 4;
    FUZZ_CHECK(header + len <= kWsMaxWireFrame,
               "frame of " + std::to_string(header + len) + " bytes on the wire (over 64 KiB)");
    if (opcode == 2) {
      FUZZ_CHECK(len <= frame_limit, "data frame over max_frame_payload");
    } else {
      FUZZ_CHECK(len <= 125, "control frame over 125 bytes");
    }
    FUZZ_CHECK(wire.size() - pos >= header + len, "truncated frame payload");
    pos += header + len;
  }
}

// Returns every byte put on the wire.
std::string round_trip(WsRole sender, WsCodecImpl encoder_impl, WsCodecImpl decoder_impl,
                       const std::vector<Op>& ops, size_t max_frame_payload, uint64_t seed) {
  const WsRole receiver = sender == WsRole::client ? WsRole::server : WsRole::client;
  const size_t frame_limit = std::clamp<size_t>(max_frame_payload, 1, kWsMaxFramePayload);
  SeededRandom encoder_rng(seed);
  SeededRandom decoder_rng(~seed);
  RecordingWsSink unused_sink(sender, UINT64_MAX);  // the encoder never decodes
  auto encoder = make_ws_codec(
      WsCodecOptions{
          .role = sender, .max_frame_payload = max_frame_payload, .implementation = encoder_impl},
      unused_sink, encoder_rng);
  RecordingWsSink sink(receiver, WsCodecOptions{}.max_message);
  auto decoder = make_ws_codec(WsCodecOptions{.role = receiver, .implementation = decoder_impl},
                               sink, decoder_rng);
  const std::string route = std::string(impl_name(encoder_impl)) + " encoder -> " +
                            impl_name(decoder_impl) + " decoder: ";
  std::string all_wire;

  std::vector<std::string> expected;
  bool closed = false;
  for (const Op& op : ops) {
    ByteChain wire;
    switch (op.kind) {
      case OpKind::data: {
        ByteChain payload;
        std::string all;
        for (const std::string& s : op.slices) {
          append_chunk(payload, s);
          all += s;
        }
        encoder->encode_data(payload, wire);
        FUZZ_CHECK(payload.empty(), "encode_data left payload bytes behind");
        if (closed) break;
        if (all.empty()) expected.push_back("binary:");
        for (size_t i = 0; i < all.size(); i += frame_limit) {
          expected.push_back("binary:" + all.substr(i, frame_limit));
        }
        break;
      }
      case OpKind::ping:
      case OpKind::pong: {
        std::span<const uint8_t> bytes(reinterpret_cast<const uint8_t*>(op.payload.data()),
                                       op.payload.size());
        if (op.kind == OpKind::ping) {
          encoder->encode_ping(bytes, wire);
        } else {
          encoder->encode_pong(bytes, wire);
        }
        if (!closed) {
          expected.push_back((op.kind == OpKind::ping ? "ping:" : "pong:") +
                             op.payload.substr(0, 125));
        }
        break;
      }
      case OpKind::close:
        encoder->encode_close(op.code, op.payload, wire);
        if (!closed) {
          bool no_status = op.code == 0 || op.code == kWsCloseNoStatus;
          expected.push_back("close:" + std::to_string(no_status ? kWsCloseNoStatus : op.code) +
                             ":" + (no_status ? std::string() : op.payload));
        }
        closed = true;
        break;
    }
    std::string wire_text = chain_string(wire);
    all_wire += wire_text;
    if (closed && op.kind != OpKind::close) {
      FUZZ_CHECK(wire_text.empty(), "bytes encoded after the close");
    }
    check_wire(wire_text, sender == WsRole::client, frame_limit);
    Error e = decoder->decode(wire);
    FUZZ_CHECK(e.ok(), route + "the peer codec rejected what we encoded: " + e.message());
    FUZZ_CHECK(wire.empty(), route + "the peer codec left encoded bytes undecoded");
  }
  FUZZ_CHECK(sink.partial.empty(), route + "a message was left unfinished");

  // The close reason may be cut to 123 bytes (at a character boundary, to stay UTF-8).
  FUZZ_CHECK(sink.events.size() == expected.size(),
             route + std::to_string(expected.size()) + " events sent, " +
                 std::to_string(sink.events.size()) + " received");
  for (size_t i = 0; i < expected.size(); ++i) {
    const std::string& got = sink.events[i];
    const std::string& want = expected[i];
    if (want.rfind("close:", 0) == 0 && got != want) {
      FUZZ_CHECK(got.size() < want.size() && want.compare(0, got.size(), got) == 0,
                 route + "close reason is not a prefix of the one sent");
      std::string_view reason = std::string_view(got).substr(got.find(':', 6) + 1);
      FUZZ_CHECK(reason.size() <= 123 && reason.size() + 3 >= 123 && is_valid_utf8(reason),
                 route + "close reason cut badly: " + printable(reason));
      continue;
    }
    FUZZ_CHECK(got == want, route + "event " + std::to_string(i) + " sent '" + printable(want) +
                                "', received '" + printable(got) + "'");
  }
  return all_wire;
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  FuzzedDataProvider p(bytes, size);
  const uint64_t seed = p.ConsumeIntegral<uint64_t>();
  // Mostly interesting limits, sometimes any value (0 and > 64 KiB must be clamped).
  static constexpr size_t kLimits[] = {
      1, 2, 125, 126, 127, 4096, 16 * 1024, 65535, kWsMaxFramePayload, kWsMaxWireFrame, 1 << 20};
  const size_t max_frame_payload =
      p.ConsumeBool() ? p.PickValueInArray(kLimits) : p.ConsumeIntegralInRange<size_t>(0, 1 << 17);
  const size_t frame_limit = std::clamp<size_t>(max_frame_payload, 1, kWsMaxFramePayload);
  const std::vector<Op> ops = make_ops(p, std::min(kMaxDataBytes, frame_limit * kMaxDataFrames));
  for (WsRole sender : {WsRole::client, WsRole::server}) {
    std::string zero_copy_wire = round_trip(sender, WsCodecImpl::zero_copy, WsCodecImpl::wslay, ops,
                                            max_frame_payload, seed);
    std::string wslay_wire = round_trip(sender, WsCodecImpl::wslay, WsCodecImpl::zero_copy, ops,
                                        max_frame_payload, seed);
    FUZZ_CHECK(zero_copy_wire == wslay_wire,
               std::string("the encoders disagree in the ") +
                   (sender == WsRole::client ? "client" : "server") + " role: zero-copy '" +
                   printable(zero_copy_wire, 80) + "', wslay '" + printable(wslay_wire, 80) + "'");
  }
  return 0;
}
