// Test-side helpers shared by the WebSocket codec tests (the contract suite and each
// implementation's own file): a sink that records every callback, a codec of either
// implementation wired to it, and the hostile frames every codec must reject.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/core/random.h"
#include "tests/transports/ws/ws_wire.h"
#include "transports/ws/ws_codec.h"

namespace pvb::wstest {

using Mask = std::array<uint8_t, 4>;
inline constexpr Mask kMask{0x37, 0xfa, 0x21, 0x3d};

inline constexpr std::array<WsCodecImpl, 2> kAllImpls{WsCodecImpl::zero_copy, WsCodecImpl::wslay};
inline constexpr std::array<WsRole, 2> kBothRoles{WsRole::client, WsRole::server};

inline const char* impl_name(WsCodecImpl impl) {
  return impl == WsCodecImpl::zero_copy ? "zero_copy" : "wslay";
}
inline const char* role_name(WsRole role) {
  return role == WsRole::client ? "client" : "server";
}
inline WsRole peer_of(WsRole role) {
  return role == WsRole::client ? WsRole::server : WsRole::client;
}

inline uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

inline std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// A frame as the peer of `decoder` sends it: masked towards a server, unmasked towards a client.
inline std::string frame_to(WsRole decoder, uint8_t opcode, const std::string& payload,
                            bool fin = true) {
  std::optional<Mask> mask;
  if (decoder == WsRole::server) mask = kMask;
  return make_frame(opcode, payload, fin, mask);
}

// A bit of everything, as seen from `decoder`'s side: a binary message, a Ping, a text message in
// two frames with a Pong between them (its last character is multi-byte), and a Close 1000 "bye".
inline std::string mixed_frames(WsRole decoder, const std::string& data1,
                                const std::string& data2) {
  return frame_to(decoder, ws_opcode::kBinary, data1) +
         frame_to(decoder, ws_opcode::kPing, "are you there") +
         frame_to(decoder, ws_opcode::kText, data2, false) +
         frame_to(decoder, ws_opcode::kPong, "pong!") +
         frame_to(decoder, ws_opcode::kContinuation, "tail \xe2\x82\xac") +
         frame_to(decoder, ws_opcode::kClose, std::string("\x03\xe8", 2) + "bye");
}

inline std::vector<WireFrame> frames_of(const std::string& wire) {
  auto f = parse_frames(wire);
  EXPECT_TRUE(f.has_value()) << "wire bytes do not end on a frame boundary";
  return f.value_or(std::vector<WireFrame>{});
}

// Records every callback, and each one in order as a line, so two codecs can be compared event by
// event.
struct EventLog : WsCodecSink {
  std::vector<std::string> events;
  std::string data;
  int message_ends = 0;
  bool last_text = false;
  std::vector<std::string> pings, pongs;
  std::vector<WsFrameInfo> frames;
  std::optional<std::pair<uint16_t, std::string>> close;

  void on_frame_start(const WsFrameInfo& f) override {
    frames.push_back(f);
    events.push_back("start op=" + std::to_string(f.opcode) + " fin=" + std::to_string(f.fin) +
                     " masked=" + std::to_string(f.masked) +
                     " len=" + std::to_string(f.payload_length));
  }
  void on_message_data(ByteChain& p, bool text, bool end) override {
    const std::string s = p.to_string();
    p.clear();
    data += s;
    last_text = text;
    message_ends += end ? 1 : 0;
    events.push_back(std::string(text ? "text" : "binary") + (end ? " end" : " part") +
                     " bytes=" + std::to_string(s.size()) + " hash=" + std::to_string(fnv1a(s)));
  }
  void on_ping(ByteChain& p) override {
    pings.push_back(p.to_string());
    events.push_back("ping " + pings.back());
  }
  void on_pong(ByteChain& p) override {
    pongs.push_back(p.to_string());
    events.push_back("pong " + pongs.back());
  }
  void on_close(uint16_t code, std::string_view reason) override {
    close.emplace(code, std::string(reason));
    events.push_back("close " + std::to_string(code) + " " + std::string(reason));
  }
};

// One codec of either implementation (built by make_ws_codec) with its recorder.
struct Codec {
  Codec(WsCodecImpl impl, WsRole role, uint64_t seed = 42, WsCodecOptions o = {}) : rng(seed) {
    o.role = role;
    o.implementation = impl;
    codec = make_ws_codec(o, log, rng);
  }
  Codec(Codec&&) = delete;  // the codec holds references to rng and log

  // Decodes `wire` in one call; what the codec left in its input is in `leftover`.
  Error decode(const std::string& wire) {
    ByteChain in(wire);
    Error e = codec->decode(in);
    leftover = in.to_string();
    return e;
  }
  // Feeds `wire` in pieces of the given sizes (the rest in one last piece), keeping what a decode
  // leaves for the next one, and logs every call's outcome. Returns the last error.
  Error feed(const std::string& wire, const std::vector<size_t>& pieces) {
    ByteChain in;
    size_t pos = 0;
    Error last;
    for (size_t i = 0; pos < wire.size() || i == 0; ++i) {
      const size_t n =
          i < pieces.size() ? std::min(pieces[i], wire.size() - pos) : wire.size() - pos;
      ByteChain piece(wire.substr(pos, n));
      in.move_from(piece);
      pos += n;
      last = codec->decode(in);
      // How many bytes a codec holds back is its own business (wslay's holds control frames
      // until whole); what it decodes and rejects is what must agree.
      log.events.push_back(last.failed() ? std::string("error ") + errc_name(last.code())
                                         : std::string("ok"));
    }
    return last;
  }
  std::string encode_data(const std::string& payload) {
    ByteChain p(payload), out;
    codec->encode_data(p, out);
    EXPECT_TRUE(p.empty());
    return out.to_string();
  }

  SeededRandom rng;
  EventLog log;
  std::unique_ptr<WsCodec> codec;
  std::string leftover;
};

// Takes payloads without copying them (EventLog's to_string would count as copies).
struct DiscardSink : WsCodecSink {
  uint64_t bytes = 0;
  std::vector<ByteChain> kept;  // when keep is set: holds on to the payload like WsTransport does
  bool keep = false;
  void on_message_data(ByteChain& p, bool, bool) override {
    bytes += p.size();
    if (keep) {
      kept.emplace_back();
      kept.back().move_from(p);
    }
    p.clear();
  }
  void on_ping(ByteChain&) override {}
  void on_pong(ByteChain&) override {}
  void on_close(uint16_t, std::string_view) override {}
};

// Feeds `wire` one byte per decode() call, as the slowest network would, until the first error.
struct BytewiseDecode {
  Error error;           // of the last call
  size_t most_held = 0;  // the most bytes a decode() left in its input
  size_t left = 0;       // what the last decode() left
};
inline BytewiseDecode decode_byte_by_byte(WsCodec& codec, const std::string& wire) {
  BytewiseDecode r;
  ByteChain in;
  for (char ch : wire) {
    ByteChain one(std::string(1, ch));
    in.move_from(one);
    r.error = codec.decode(in);
    if (r.error.failed()) break;
    r.most_held = std::max(r.most_held, in.size());
  }
  r.left = in.size();
  return r;
}

// --- hostile input ----------------------------------------------------------------------------

struct Hostile {
  const char* name;
  WsRole decoder;
  std::string wire;
  Errc code;
  const char* words;  // expected in every codec's error detail
  uint64_t max_message = 16 * 1024 * 1024;
  std::string delivered = "";  // message data handed over before the error
  // Where the zero-copy codec says more than wslay's codec can (wslay only reports that it
  // refused a frame): expected in the zero-copy codec's detail (zero_copy_codec_test.cc).
  const char* zero_copy_words = nullptr;
};

inline void PrintTo(const Hostile& h, std::ostream* os) {
  *os << h.name;
}

// Frames every codec must reject, with the error and the clear words it must give.
inline const std::vector<Hostile>& hostile_frames() {
  static const std::string good = make_frame(ws_opcode::kBinary, "fine");
  static const std::vector<Hostile> cases = {
      {"masked_server_frame", WsRole::client, make_frame(2, "x", true, kMask), Errc::protocol,
       "masked frame from the server"},
      {"unmasked_client_frame", WsRole::server, make_frame(2, "x"), Errc::protocol,
       "unmasked frame from the client"},
      {"rsv1", WsRole::client, make_frame(2, "x", true, {}, 4), Errc::protocol, "RSV"},
      {"rsv3", WsRole::client, make_frame(2, "x", true, {}, 1), Errc::protocol, "RSV"},
      {"opcode_3", WsRole::client, make_frame(3, "x"), Errc::protocol, "reserved opcode 0x3"},
      {"opcode_b", WsRole::client, make_frame(0xb, "x"), Errc::protocol, "reserved opcode 0xb"},
      {"fragmented_ping", WsRole::client, make_frame(ws_opcode::kPing, "x", false), Errc::protocol,
       "fragmented control frame"},
      {"fragmented_close", WsRole::client, make_frame(ws_opcode::kClose, "", false), Errc::protocol,
       "fragmented control frame"},
      {"control_126", WsRole::client, make_frame(ws_opcode::kPing, std::string(126, 'p')),
       Errc::protocol, "at most 125"},
      {"length_2_63", WsRole::client, make_frame(2, "", true, {}, 0, uint64_t{1} << 63),
       Errc::protocol, "2^63"},
      {"length_max", WsRole::client, make_frame(2, "", true, {}, 0, ~uint64_t{0}), Errc::protocol,
       "2^63"},
      {"non_minimal_length", WsRole::client, make_frame(2, "abc", true, {}, 0, {}, true),
       Errc::protocol, "shortest encoding"},
      {"orphan_continuation", WsRole::client, make_frame(0, "x"), Errc::protocol,
       "continuation frame without a message"},
      {"interrupted_message", WsRole::client, make_frame(2, "a", false) + make_frame(2, "b"),
       Errc::protocol, "unfinished fragmented message"},
      {"close_one_byte", WsRole::client, make_frame(ws_opcode::kClose, "x"), Errc::protocol,
       "1-byte"},
      {"close_bad_code", WsRole::client, make_frame(ws_opcode::kClose, std::string("\x03\xe7", 2)),
       Errc::protocol, "invalid status code"},
      {"close_code_1005", WsRole::server,
       make_frame(ws_opcode::kClose, std::string("\x03\xed", 2), true, kMask), Errc::protocol,
       "invalid status code"},
      {"close_reason_not_utf8", WsRole::client,
       make_frame(ws_opcode::kClose, std::string("\x03\xe8\xc0\xaf", 4)), Errc::protocol,
       "reason that is not", 16 * 1024 * 1024, "", "reason that is not valid UTF-8"},
      {"close_reason_cut_character", WsRole::client,
       make_frame(ws_opcode::kClose, std::string("\x03\xe8\xe2\x82", 4)), Errc::protocol,
       "reason that is not", 16 * 1024 * 1024, "", "reason that is not valid UTF-8"},
      {"text_not_utf8", WsRole::client, make_frame(ws_opcode::kText, "\xff\xfe"), Errc::protocol,
       "not valid UTF-8"},
      {"text_surrogate", WsRole::server,
       make_frame(ws_opcode::kText, "ok \xed\xa0\x80", true, kMask), Errc::protocol,
       "not valid UTF-8"},
      {"text_ends_inside_a_character", WsRole::client,
       make_frame(ws_opcode::kText, "euro \xe2\x82"), Errc::protocol, "not valid UTF-8"},
      {"text_bad_in_continuation", WsRole::client,
       make_frame(ws_opcode::kText, "fine ", false) + make_frame(0, "\x80"), Errc::protocol,
       "not valid UTF-8"},
      {"good_message_then_bad_text", WsRole::client, good + make_frame(ws_opcode::kText, "\xc3("),
       Errc::protocol, "not valid UTF-8", 16 * 1024 * 1024, "fine"},
      {"too_large_frame", WsRole::client, make_frame(2, std::string(1001, 'a')), Errc::too_large,
       "exceeds the limit of 1000", 1000},
      {"too_large_declared", WsRole::client, make_frame(2, "", true, {}, 0, uint64_t{1} << 40),
       Errc::too_large, "exceeds the limit"},
      {"too_large_message", WsRole::client,
       make_frame(2, std::string(600, 'a'), false) + make_frame(0, std::string(600, 'b')),
       Errc::too_large, "at least 1200 bytes", 1000},
      {"good_then_bad", WsRole::client, good + make_frame(3, ""), Errc::protocol, "reserved opcode",
       16 * 1024 * 1024, "fine"},
      // What was handed over before the Ping stays delivered; what came after it is dropped.
      {"partial_then_bad", WsRole::client,
       make_frame(2, "handed over before the ping", false) + make_frame(ws_opcode::kPing, "p") +
           make_frame(0, "dropped", false) + make_frame(3, ""),
       Errc::protocol, "reserved opcode", 16 * 1024 * 1024, "handed over before the ping"},
  };
  return cases;
}

}  // namespace pvb::wstest
