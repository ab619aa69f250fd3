#include "transports/ws/zero_copy_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/transports/ws/ws_wire.h"
#include "transports/testing/mem_pipe.h"
#include "transports/ws/ws_transport.h"
#include "transports/ws/wslay_codec.h"

namespace pvb {
namespace {

using wstest::make_frame;
using wstest::parse_frames;
using wstest::pattern;
using wstest::WireFrame;

using Mask = std::array<uint8_t, 4>;
constexpr Mask kMask{0x37, 0xfa, 0x21, 0x3d};

const char* impl_name(WsCodecImpl impl) {
  return impl == WsCodecImpl::zero_copy ? "zero_copy" : "wslay";
}

uint64_t fnv1a(const std::string& s) {
  uint64_t h = 1469598103934665603ull;
  for (char c : s) h = (h ^ static_cast<uint8_t>(c)) * 1099511628211ull;
  return h;
}

// Records every callback in order, as one line each, so two codecs can be compared event by event.
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

// One codec of either implementation with its recorder.
struct Codec {
  Codec(WsCodecImpl impl, WsRole role, uint64_t seed = 42, WsCodecOptions o = {}) : rng(seed) {
    o.role = role;
    o.implementation = impl;
    codec = make_ws_codec(o, log, rng);
  }
  Codec(Codec&&) = delete;  // the codec holds references to rng and log
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

Codec zero_copy(WsRole role, uint64_t seed = 42, WsCodecOptions o = {}) {
  return Codec(WsCodecImpl::zero_copy, role, seed, o);
}

std::vector<WireFrame> frames_of(const std::string& wire) {
  auto f = parse_frames(wire);
  EXPECT_TRUE(f.has_value()) << "wire bytes do not end on a frame boundary";
  return f.value_or(std::vector<WireFrame>{});
}

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

// --- masking and validation helpers ---------------------------------------------------------

TEST(WsMask, AllShapesAgreeWithTheDefinitionAtEveryPhaseLengthAndAlignment) {
  const std::string src = pattern(300, 9);
  const uint8_t key[4] = {0x01, 0x80, 0xfe, 0x5a};
  using MaskFn = void (*)(const uint8_t*, uint8_t*, size_t, const uint8_t*, size_t);
  const MaskFn shapes[] = {ws_mask_bytewise, ws_mask_words, ws_mask_vectorizable};
  for (size_t phase = 0; phase < 4; ++phase) {
    for (size_t offset = 0; offset < 8; ++offset) {
      for (size_t n : {0, 1, 3, 7, 8, 9, 31, 32, 33, 64, 100, 255, 292}) {
        const auto* s = reinterpret_cast<const uint8_t*>(src.data()) + offset;
        std::vector<uint8_t> want(n);
        for (size_t i = 0; i < n; ++i) want[i] = s[i] ^ key[(phase + i) % 4];
        for (MaskFn fn : shapes) {
          std::vector<uint8_t> out(n + 1, 0xee);
          fn(s, out.data(), n, key, phase);
          EXPECT_TRUE(std::equal(want.begin(), want.end(), out.begin())) << phase << " " << n;
          EXPECT_EQ(out[n], 0xee) << "wrote past the end";
          std::vector<uint8_t> in_place(s, s + n);  // dst == src
          fn(in_place.data(), in_place.data(), n, key, phase);
          EXPECT_EQ(in_place, want);
        }
      }
    }
  }
}

TEST(WsMask, MaskingInPiecesEqualsMaskingAtOnce) {
  const std::string src = pattern(1000, 4);
  const uint8_t key[4] = {9, 8, 7, 6};
  std::vector<uint8_t> whole(src.size()), pieces(src.size());
  const auto* s = reinterpret_cast<const uint8_t*>(src.data());
  ws_mask_vectorizable(s, whole.data(), src.size(), key, 0);
  for (size_t pos = 0, step = 1; pos < src.size(); pos += step, step = step % 37 + 1) {
    const size_t n = std::min(step, src.size() - pos);
    ws_mask_vectorizable(s + pos, pieces.data() + pos, n, key, pos);
  }
  EXPECT_EQ(whole, pieces);
}

bool valid_utf8(const std::string& s) {
  Utf8Validator v;
  return v.feed(reinterpret_cast<const uint8_t*>(s.data()), s.size()) && v.at_boundary();
}

TEST(Utf8Validator, AcceptsWellFormedAndRejectsEverythingElse) {
  EXPECT_TRUE(valid_utf8(""));
  EXPECT_TRUE(valid_utf8("plain ASCII, longer than one 8-byte word"));
  EXPECT_TRUE(valid_utf8("\xc2\x80 \xdf\xbf \xe0\xa0\x80 \xed\x9f\xbf \xee\x80\x80 \xef\xbf\xbf"));
  EXPECT_TRUE(valid_utf8("\xf0\x90\x80\x80 \xf4\x8f\xbf\xbf \xe2\x82\xac"));
  EXPECT_FALSE(valid_utf8("\x80"));              // lone continuation
  EXPECT_FALSE(valid_utf8("\xc0\xaf"));          // overlong '/'
  EXPECT_FALSE(valid_utf8("\xc1\xbf"));          // overlong
  EXPECT_FALSE(valid_utf8("\xe0\x9f\xbf"));      // overlong 3-byte
  EXPECT_FALSE(valid_utf8("\xed\xa0\x80"));      // surrogate U+D800
  EXPECT_FALSE(valid_utf8("\xf0\x8f\xbf\xbf"));  // overlong 4-byte
  EXPECT_FALSE(valid_utf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(valid_utf8("\xf5\x80\x80\x80"));
  EXPECT_FALSE(valid_utf8("\xff"));
  EXPECT_FALSE(valid_utf8("\xe2\x82"));  // unfinished
  EXPECT_FALSE(valid_utf8("\xc3("));     // continuation missing
}

TEST(Utf8Validator, RejectsAtTheFirstImpossibleByteWhenFedOneByteAtATime) {
  // ED A0: no character can continue like that, even though the sequence is not complete.
  Utf8Validator v;
  const uint8_t bytes[] = {'a', 0xed, 0xa0, 0x80};
  EXPECT_TRUE(v.feed(bytes, 1));
  EXPECT_TRUE(v.feed(bytes + 1, 1));
  EXPECT_FALSE(v.at_boundary());
  EXPECT_FALSE(v.feed(bytes + 2, 1));
  EXPECT_FALSE(v.feed(bytes + 3, 1));  // stays failed
}

TEST(WsCloseCode, FollowsWhatAPeerMaySend) {
  for (uint16_t ok : {1000, 1001, 1002, 1003, 1007, 1011, 3000, 4999}) {
    EXPECT_TRUE(ws_close_code_is_valid(ok)) << ok;
  }
  for (uint16_t bad : {0, 999, 1004, 1005, 1006, 1012, 2999, 5000, 65535}) {
    EXPECT_FALSE(ws_close_code_is_valid(bad)) << bad;
  }
}

TEST(WsCodecFactory, ImplementationOptionSelectsTheCodec) {
  SeededRandom rng(1);
  EventLog log;
  WsCodecOptions o;
  EXPECT_EQ(o.implementation, WsCodecImpl::zero_copy);  // the default
  EXPECT_NE(dynamic_cast<ZeroCopyCodec*>(make_ws_codec(o, log, rng).get()), nullptr);
  o.implementation = WsCodecImpl::wslay;
  EXPECT_NE(dynamic_cast<WslayCodec*>(make_ws_codec(o, log, rng).get()), nullptr);
}

// --- round trips ----------------------------------------------------------------------------

class ZeroCopyRoundTrip : public ::testing::TestWithParam<size_t> {};

TEST_P(ZeroCopyRoundTrip, ClientFramesAreMaskedBoundedAndDecodeOnBothServers) {
  const size_t n = GetParam();
  const std::string payload = pattern(n, static_cast<uint32_t>(n));
  Codec client = zero_copy(WsRole::client, /*seed=*/99);
  const std::string wire = client.encode_data(payload);

  std::vector<WireFrame> frames = frames_of(wire);
  const size_t expected_frames = n == 0 ? 1 : (n + 16 * 1024 - 1) / (16 * 1024);
  ASSERT_EQ(frames.size(), expected_frames);
  SeededRandom masks(99);  // mask keys come from the injected Random, 4 bytes per frame, in order
  std::string joined;
  for (const WireFrame& f : frames) {
    EXPECT_TRUE(f.fin);
    EXPECT_EQ(f.rsv, 0);
    EXPECT_EQ(f.opcode, ws_opcode::kBinary);
    EXPECT_TRUE(f.masked);
    EXPECT_LE(f.payload.size(), 16u * 1024);
    EXPECT_LE(f.wire_size, 64u * 1024);
    uint8_t expect_mask[4];
    masks.fill(expect_mask, 4);
    EXPECT_EQ(std::memcmp(f.mask, expect_mask, 4), 0);
    joined += f.payload;
  }
  EXPECT_EQ(joined, payload);

  // The wslay codec, given the same seed, writes the very same bytes.
  Codec wslay_client(WsCodecImpl::wslay, WsRole::client, 99);
  EXPECT_TRUE(wslay_client.encode_data(payload) == wire);

  for (WsCodecImpl impl : {WsCodecImpl::zero_copy, WsCodecImpl::wslay}) {
    Codec server(impl, WsRole::server);
    ASSERT_TRUE(server.decode(wire).ok()) << impl_name(impl);
    EXPECT_TRUE(server.leftover.empty());
    EXPECT_TRUE(server.log.data == payload) << impl_name(impl);
    EXPECT_EQ(server.log.message_ends, static_cast<int>(expected_frames));
    EXPECT_FALSE(server.log.last_text);
    ASSERT_EQ(server.log.frames.size(), expected_frames);
    EXPECT_TRUE(server.log.frames[0].masked);
  }
}

TEST_P(ZeroCopyRoundTrip, ServerFramesAreUnmaskedAndDecodeOnBothClients) {
  const size_t n = GetParam();
  const std::string payload = pattern(n, 3);
  Codec server = zero_copy(WsRole::server);
  const std::string wire = server.encode_data(payload);
  for (const WireFrame& f : frames_of(wire)) {
    EXPECT_FALSE(f.masked);
    EXPECT_TRUE(f.fin);
    EXPECT_EQ(f.opcode, ws_opcode::kBinary);
    EXPECT_LE(f.payload.size(), 16u * 1024);
  }
  Codec wslay_server(WsCodecImpl::wslay, WsRole::server);
  EXPECT_TRUE(wslay_server.encode_data(payload) == wire);
  for (WsCodecImpl impl : {WsCodecImpl::zero_copy, WsCodecImpl::wslay}) {
    Codec client(impl, WsRole::client);
    ASSERT_TRUE(client.decode(wire).ok()) << impl_name(impl);
    EXPECT_TRUE(client.log.data == payload) << impl_name(impl);
  }
}

TEST_P(ZeroCopyRoundTrip, WslayClientFramesDecodeOnTheZeroCopyServer) {
  const std::string payload = pattern(GetParam(), 8);
  Codec wslay_client(WsCodecImpl::wslay, WsRole::client, 5);
  Codec server = zero_copy(WsRole::server);
  ASSERT_TRUE(server.decode(wslay_client.encode_data(payload)).ok());
  EXPECT_TRUE(server.log.data == payload);
}

INSTANTIATE_TEST_SUITE_P(Sizes, ZeroCopyRoundTrip,
                         ::testing::Values(0, 1, 125, 126, 65535, 65536, 16 * 1024, 16 * 1024 + 1,
                                           1024 * 1024));

TEST(ZeroCopyCodec, FramePayloadIsClampedBelow64KiBOnTheWire) {
  WsCodecOptions o;
  o.max_frame_payload = 1024 * 1024;
  for (WsRole role : {WsRole::client, WsRole::server}) {
    Codec c = zero_copy(role, 1, o);
    const std::string payload = pattern(300 * 1024);
    std::vector<WireFrame> frames = frames_of(c.encode_data(payload));
    ASSERT_EQ(frames.size(), 5u);  // 300 KiB in frames of 64 KiB - 14
    std::string joined;
    for (const WireFrame& f : frames) {
      EXPECT_LE(f.wire_size, 64u * 1024);
      joined += f.payload;
    }
    EXPECT_TRUE(joined == payload);
  }
}

TEST(ZeroCopyCodec, SmallerFramePayloadOption) {
  WsCodecOptions o;
  o.max_frame_payload = 1000;
  Codec server = zero_copy(WsRole::server, 1, o);
  std::vector<WireFrame> frames = frames_of(server.encode_data(pattern(2500)));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload.size(), 1000u);
  EXPECT_EQ(frames[2].payload.size(), 500u);
}

TEST(ZeroCopyCodec, PayloadSpanningSlicesIsFramedInOrderInBothRoles) {
  const std::string payload = pattern(40000, 5);
  for (WsRole role : {WsRole::client, WsRole::server}) {
    Codec c = zero_copy(role);
    ByteChain p, out;
    for (size_t off = 0; off < payload.size(); off += 777) {
      ByteChain piece(payload.substr(off, 777));
      p.move_from(piece);
    }
    c.codec->encode_data(p, out);
    EXPECT_TRUE(p.empty());
    std::string joined;
    for (const WireFrame& f : frames_of(out.to_string())) joined += f.payload;
    EXPECT_TRUE(joined == payload);
  }
}

// The frames the one-byte tests feed, as seen from `decoder`'s side.
std::string mixed_wire(WsRole decoder, const std::string& data1, const std::string& data2) {
  std::optional<Mask> m;
  if (decoder == WsRole::server) m = kMask;
  return make_frame(ws_opcode::kBinary, data1, true, m) +
         make_frame(ws_opcode::kPing, "are you there", true, m) +
         make_frame(ws_opcode::kText, data2, false, m) +
         make_frame(ws_opcode::kPong, "pong!", true, m) +
         make_frame(ws_opcode::kContinuation, "tail \xe2\x82\xac", true, m) +
         make_frame(ws_opcode::kClose, std::string("\x03\xe8", 2) + "bye", true, m);
}

TEST(ZeroCopyCodec, OneByteFeedingDecodesEverythingInBothRoles) {
  const std::string data1 = pattern(20000, 1), data2(300, 't');
  for (WsRole role : {WsRole::client, WsRole::server}) {
    Codec c = zero_copy(role);
    ByteChain in;
    for (char ch : mixed_wire(role, data1, data2)) {
      ByteChain one(std::string(1, ch));
      in.move_from(one);
      Error e = c.codec->decode(in);
      ASSERT_TRUE(e.ok()) << e.message();
      ASSERT_LT(in.size(), 14u);  // only an incomplete header may stay
    }
    EXPECT_TRUE(in.empty());
    EXPECT_TRUE(c.log.data == data1 + data2 + "tail \xe2\x82\xac");
    EXPECT_EQ(c.log.message_ends, 2);
    EXPECT_TRUE(c.log.last_text);
    EXPECT_EQ(c.log.pings, std::vector<std::string>{"are you there"});
    EXPECT_EQ(c.log.pongs, std::vector<std::string>{"pong!"});
    ASSERT_TRUE(c.log.close.has_value());
    EXPECT_EQ(*c.log.close, std::make_pair(uint16_t{1000}, std::string("bye")));
  }
}

TEST(ZeroCopyCodec, IncompleteHeaderStaysInTheInput) {
  Codec server = zero_copy(WsRole::server);
  const std::string f = make_frame(ws_opcode::kBinary, std::string(1000, 'z'), true, kMask);
  for (size_t n = 1; n < 8; ++n) {
    EXPECT_TRUE(server.decode(f.substr(0, n)).ok());
    EXPECT_EQ(server.leftover, f.substr(0, n));
  }
  EXPECT_TRUE(server.log.data.empty());
  EXPECT_TRUE(server.log.frames.empty());
}

TEST(ZeroCopyCodec, PartialPayloadIsStreamedAsItArrives) {
  Codec client = zero_copy(WsRole::client);
  const std::string body = pattern(5000, 2);
  const std::string f = make_frame(ws_opcode::kBinary, body);
  ByteChain in(f.substr(0, 1004));
  ASSERT_TRUE(client.codec->decode(in).ok());
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(client.log.data, body.substr(0, 1000));
  EXPECT_EQ(client.log.message_ends, 0);
  ByteChain rest(f.substr(1004));
  ASSERT_TRUE(client.codec->decode(rest).ok());
  EXPECT_TRUE(client.log.data == body);
  EXPECT_EQ(client.log.message_ends, 1);
}

TEST(ZeroCopyCodec, PingPongAndCloseRoundTripInBothDirections) {
  for (WsRole sender : {WsRole::client, WsRole::server}) {
    const WsRole receiver = sender == WsRole::client ? WsRole::server : WsRole::client;
    Codec a = zero_copy(sender), b = zero_copy(receiver);
    ByteChain wire;
    const std::string ping = "keepalive-1";
    a.codec->encode_ping(bytes_of(ping), wire);
    a.codec->encode_pong(bytes_of(ping).first(4), wire);
    a.codec->encode_close(1000, "done", wire);
    const std::string bytes = wire.to_string();
    std::vector<WireFrame> frames = frames_of(bytes);
    ASSERT_EQ(frames.size(), 3u);
    EXPECT_EQ(frames[0].opcode, ws_opcode::kPing);
    EXPECT_EQ(frames[1].opcode, ws_opcode::kPong);
    EXPECT_EQ(frames[2].opcode, ws_opcode::kClose);
    EXPECT_EQ(frames[2].payload, std::string("\x03\xe8", 2) + "done");
    for (const WireFrame& f : frames) {
      EXPECT_TRUE(f.fin);
      EXPECT_EQ(f.masked, sender == WsRole::client);
    }
    ASSERT_TRUE(b.decode(bytes).ok());
    EXPECT_EQ(b.log.pings, std::vector<std::string>{ping});
    EXPECT_EQ(b.log.pongs, std::vector<std::string>{"keep"});
    ASSERT_TRUE(b.log.close.has_value());
    EXPECT_EQ(*b.log.close, std::make_pair(uint16_t{1000}, std::string("done")));
  }
}

TEST(ZeroCopyCodec, ControlPayloadsAreTruncatedTo125Bytes) {
  Codec client = zero_copy(WsRole::client);
  ByteChain wire;
  const std::string big(300, 'p');
  client.codec->encode_ping(bytes_of(big), wire);
  client.codec->encode_close(4000, std::string(200, 'r'), wire);
  std::vector<WireFrame> frames = frames_of(wire.to_string());
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0].payload, std::string(125, 'p'));
  EXPECT_EQ(frames[1].payload, std::string("\x0f\xa0", 2) + std::string(123, 'r'));
}

TEST(ZeroCopyCodec, CloseReasonIsNeverCutInsideACharacter) {
  // 122 ASCII bytes and a 2-byte character: the 123-byte limit falls inside the character, which
  // is then left out whole (a cut character would make the peer reject the Close).
  const std::string reason = std::string(122, 'a') + "\xc3\xa9";
  for (WsRole role : {WsRole::client, WsRole::server}) {
    Codec ours = zero_copy(role, 3), wslay(WsCodecImpl::wslay, role, 3);
    ByteChain a, b;
    ours.codec->encode_close(1001, reason, a);
    wslay.codec->encode_close(1001, reason, b);
    const std::string wire = a.to_string();
    EXPECT_TRUE(wire == b.to_string());
    std::vector<WireFrame> frames = frames_of(wire);
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].payload, std::string("\x03\xe9", 2) + std::string(122, 'a'));
  }
}

TEST(ZeroCopyCodec, CloseWithoutStatusReports1005) {
  Codec server = zero_copy(WsRole::server), client = zero_copy(WsRole::client);
  ByteChain wire;
  server.codec->encode_close(kWsCloseNoStatus, "ignored", wire);
  std::vector<WireFrame> frames = frames_of(wire.to_string());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload.empty());
  ASSERT_TRUE(client.decode(wire.to_string()).ok());
  ASSERT_TRUE(client.log.close.has_value());
  EXPECT_EQ(client.log.close->first, kWsCloseNoStatus);
}

TEST(ZeroCopyCodec, NothingIsDecodedAfterClose) {
  Codec client = zero_copy(WsRole::client);
  const std::string wire = make_frame(ws_opcode::kClose, std::string("\x03\xe9", 2)) +
                           make_frame(ws_opcode::kBinary, "late");
  ASSERT_TRUE(client.decode(wire).ok());
  EXPECT_TRUE(client.leftover.empty());  // consumed and ignored
  EXPECT_TRUE(client.log.data.empty());
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kBinary, "later")).ok());
  EXPECT_TRUE(client.leftover.empty());
  EXPECT_TRUE(client.log.data.empty());
  EXPECT_EQ(client.log.close->first, 1001);
}

TEST(ZeroCopyCodec, DataBeforeACloseIsDeliveredFirst) {
  Codec client = zero_copy(WsRole::client);
  ASSERT_TRUE(
      client
          .decode(make_frame(ws_opcode::kBinary, "part", false) + make_frame(ws_opcode::kClose, ""))
          .ok());
  ASSERT_EQ(client.log.events.size(), 4u);
  EXPECT_EQ(client.log.events[2].rfind("binary part bytes=4", 0), 0u) << client.log.events[2];
  EXPECT_EQ(client.log.events[3].rfind("close 1005", 0), 0u);
}

TEST(ZeroCopyCodec, NothingIsEncodedAfterClose) {
  Codec client = zero_copy(WsRole::client);
  ByteChain out;
  client.codec->encode_close(1000, "", out);
  const size_t close_size = out.size();
  ByteChain data("more");
  client.codec->encode_data(data, out);
  client.codec->encode_ping({}, out);
  client.codec->encode_pong({}, out);
  client.codec->encode_close(1000, "again", out);
  EXPECT_TRUE(data.empty());
  EXPECT_EQ(out.size(), close_size);
}

TEST(ZeroCopyCodec, ReceivingCloseDoesNotStopEncoding) {
  Codec client = zero_copy(WsRole::client);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kClose, "")).ok());
  std::vector<WireFrame> frames = frames_of(client.encode_data("still here"));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, "still here");
}

TEST(ZeroCopyCodec, DecodingNeverWritesAutomaticReplies) {
  Codec client = zero_copy(WsRole::client);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kPing, "p")).ok());
  std::vector<WireFrame> frames = frames_of(client.encode_data("x"));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, ws_opcode::kBinary);
}

TEST(ZeroCopyCodec, FragmentedMessagesFromThePeerStream) {
  Codec client = zero_copy(WsRole::client);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kBinary, "Hel", false)).ok());
  EXPECT_EQ(client.log.data, "Hel");  // streamed before the message ends
  EXPECT_EQ(client.log.message_ends, 0);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kContinuation, "lo")).ok());
  EXPECT_EQ(client.log.data, "Hello");
  EXPECT_EQ(client.log.message_ends, 1);
}

TEST(ZeroCopyCodec, EmptyMessageEndsWithEmptyPayload) {
  Codec client = zero_copy(WsRole::client);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kBinary, "")).ok());
  EXPECT_EQ(client.log.message_ends, 1);
  EXPECT_TRUE(client.log.data.empty());
}

TEST(ZeroCopyCodec, FrameStartReportsEveryHeader) {
  Codec server = zero_copy(WsRole::server);
  ASSERT_TRUE(server
                  .decode(make_frame(ws_opcode::kText, "ab", false, kMask) +
                          make_frame(ws_opcode::kContinuation, "c", true, kMask))
                  .ok());
  ASSERT_EQ(server.log.frames.size(), 2u);
  EXPECT_FALSE(server.log.frames[0].fin);
  EXPECT_EQ(server.log.frames[0].opcode, ws_opcode::kText);
  EXPECT_TRUE(server.log.frames[0].masked);
  EXPECT_EQ(server.log.frames[0].payload_length, 2u);
  EXPECT_EQ(server.log.frames[1].opcode, ws_opcode::kContinuation);
  EXPECT_EQ(server.log.data, "abc");
  EXPECT_TRUE(server.log.last_text);
}

// --- copies ---------------------------------------------------------------------------------

// Takes payloads without copying them (the recorder's to_string would count).
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

std::string wire_for(WsRole sender, const std::string& payload, uint64_t seed = 7) {
  Codec enc = zero_copy(sender, seed);
  return enc.encode_data(payload);
}

TEST(ZeroCopyCodecCopies, DecodingUnmaskedPayloadCopiesNothing) {
  const std::string payload = pattern(1024 * 1024, 6);
  ByteChain in(wire_for(WsRole::server, payload));  // 16 KiB blocks: frames straddle them
  SeededRandom rng(1);
  DiscardSink sink;
  sink.keep = true;
  ZeroCopyCodec client(WsCodecOptions{WsRole::client}, sink, rng);
  const CopyStats before = copy_stats();
  ASSERT_TRUE(client.decode(in).ok());
  EXPECT_EQ(copy_stats().bytes - before.bytes, 0u);
  EXPECT_EQ(sink.bytes, payload.size());
  std::string got;
  for (const ByteChain& c : sink.kept) got += c.to_string();
  EXPECT_TRUE(got == payload);
}

TEST(ZeroCopyCodecCopies, DecodingMaskedPayloadUnmasksInPlaceWhenTheBlocksAreOurs) {
  // Frames as big as the input blocks: each block holds the end of one frame and the start of the
  // next, so this checks that the previous frame's slices count as ours.
  const std::string payload = pattern(1024 * 1024, 6);
  for (bool sink_keeps : {false, true}) {
    ByteChain in(wire_for(WsRole::client, payload));
    SeededRandom rng(1);
    DiscardSink sink;
    sink.keep = sink_keeps;
    ZeroCopyCodec server(WsCodecOptions{WsRole::server}, sink, rng);
    const CopyStats before = copy_stats();
    ASSERT_TRUE(server.decode(in).ok());
    EXPECT_EQ(copy_stats().bytes - before.bytes, 0u) << "sink keeps: " << sink_keeps;
    EXPECT_EQ(sink.bytes, payload.size());
    if (sink_keeps) {
      std::string got;
      for (const ByteChain& c : sink.kept) got += c.to_string();
      EXPECT_TRUE(got == payload);
    }
  }
}

TEST(ZeroCopyCodecCopies, MaskedPayloadInASharedBlockIsCopiedOnceAndLeftIntact) {
  const std::string payload = pattern(5000, 3);
  const std::string wire = make_frame(ws_opcode::kBinary, payload, true, kMask);
  ByteChain in(wire);
  ASSERT_EQ(in.slice_count(), 1u);
  const Slice alias = in.front();  // someone else looking at the same bytes
  Codec server = zero_copy(WsRole::server);
  const CopyStats before = copy_stats();
  ASSERT_TRUE(server.codec->decode(in).ok());
  const uint64_t copied = copy_stats().bytes - before.bytes;
  EXPECT_EQ(copied, payload.size() + payload.size());  // ours, then the recorder's to_string
  EXPECT_TRUE(server.log.data == payload);
  EXPECT_EQ(std::memcmp(alias.data(), wire.data(), wire.size()), 0) << "the shared bytes changed";
}

TEST(ZeroCopyCodecCopies, EncodingCopiesOnlyToMaskInTheClientRole) {
  const std::string text = pattern(1024 * 1024, 2);
  for (WsRole role : {WsRole::client, WsRole::server}) {
    ByteChain payload(text), out;
    SeededRandom rng(1);
    DiscardSink sink;
    ZeroCopyCodec codec(WsCodecOptions{role}, sink, rng);
    const CopyStats before = copy_stats();
    codec.encode_data(payload, out);
    const uint64_t copied = copy_stats().bytes - before.bytes;
    EXPECT_EQ(copied, role == WsRole::client ? text.size() : 0u);
    EXPECT_EQ(out.size(), text.size() + 64 * (role == WsRole::client ? 8 : 4));
  }
}

TEST(ZeroCopyCodecCopies, WslayCopiesEveryPayloadByteTwiceEachWay) {
  // The baseline the zero-copy codec is measured against.
  const std::string text = pattern(256 * 1024, 2);
  ByteChain payload(text), out;
  SeededRandom rng(1);
  DiscardSink sink;
  WslayCodec enc(WsCodecOptions{WsRole::client}, sink, rng);
  CopyStats before = copy_stats();
  enc.encode_data(payload, out);
  EXPECT_GE(copy_stats().bytes - before.bytes, 2 * text.size());
  WslayCodec dec(WsCodecOptions{WsRole::server}, sink, rng);
  before = copy_stats();
  ASSERT_TRUE(dec.decode(out).ok());
  EXPECT_GE(copy_stats().bytes - before.bytes, 2 * text.size());
  EXPECT_EQ(sink.bytes, text.size());
}

// --- hostile input: both codecs, the same errors ----------------------------------------------

struct Hostile {
  const char* name;
  WsRole decoder;
  std::string wire;
  Errc code;
  const char* words;  // expected in the zero-copy codec's error detail
  uint64_t max_message = 16 * 1024 * 1024;
};

void PrintTo(const Hostile& h, std::ostream* os) {
  *os << h.name;
}

class ZeroCopyHostile : public ::testing::TestWithParam<Hostile> {};

TEST_P(ZeroCopyHostile, IsRejectedLikeWslayRejectsIt) {
  const Hostile& h = GetParam();
  WsCodecOptions o;
  o.max_message = h.max_message;
  Codec ours = zero_copy(h.decoder, 1, o);
  Codec wslay(WsCodecImpl::wslay, h.decoder, 1, o);
  Error e = ours.decode(h.wire);
  EXPECT_EQ(e.code(), h.code) << e.message();
  EXPECT_NE(e.detail().find(h.words), std::string::npos) << e.detail();
  EXPECT_EQ(wslay.decode(h.wire).code(), h.code);
  EXPECT_EQ(ours.log.events, wslay.log.events);
  // Dead after: the same error again, whatever comes next.
  EXPECT_EQ(ours.decode(make_frame(ws_opcode::kBinary, "ok")).code(), h.code);
  EXPECT_EQ(ours.log.events, wslay.log.events);
}

const std::string kGood = make_frame(ws_opcode::kBinary, "fine");

INSTANTIATE_TEST_SUITE_P(
    Frames, ZeroCopyHostile,
    ::testing::Values(
        Hostile{"masked_server_frame", WsRole::client, make_frame(2, "x", true, kMask),
                Errc::protocol, "masked frame from the server"},
        Hostile{"unmasked_client_frame", WsRole::server, make_frame(2, "x"), Errc::protocol,
                "unmasked frame from the client"},
        Hostile{"rsv1", WsRole::client, make_frame(2, "x", true, {}, 4), Errc::protocol, "RSV"},
        Hostile{"rsv3", WsRole::client, make_frame(2, "x", true, {}, 1), Errc::protocol, "RSV"},
        Hostile{"opcode_3", WsRole::client, make_frame(3, "x"), Errc::protocol,
                "reserved opcode 0x3"},
        Hostile{"opcode_b", WsRole::client, make_frame(0xb, "x"), Errc::protocol,
                "reserved opcode 0xb"},
        Hostile{"fragmented_ping", WsRole::client, make_frame(ws_opcode::kPing, "x", false),
                Errc::protocol, "fragmented control frame"},
        Hostile{"fragmented_close", WsRole::client, make_frame(ws_opcode::kClose, "", false),
                Errc::protocol, "fragmented control frame"},
        Hostile{"control_126", WsRole::client, make_frame(ws_opcode::kPing, std::string(126, 'p')),
                Errc::protocol, "at most 125"},
        Hostile{"length_2_63", WsRole::client, make_frame(2, "", true, {}, 0, uint64_t{1} << 63),
                Errc::protocol, "2^63"},
        Hostile{"length_max", WsRole::client, make_frame(2, "", true, {}, 0, ~uint64_t{0}),
                Errc::protocol, "2^63"},
        Hostile{"non_minimal_length", WsRole::client, make_frame(2, "abc", true, {}, 0, {}, true),
                Errc::protocol, "shortest encoding"},
        Hostile{"orphan_continuation", WsRole::client, make_frame(0, "x"), Errc::protocol,
                "continuation frame without a message"},
        Hostile{"interrupted_message", WsRole::client,
                make_frame(2, "a", false) + make_frame(2, "b"), Errc::protocol,
                "unfinished fragmented message"},
        Hostile{"close_one_byte", WsRole::client, make_frame(ws_opcode::kClose, "x"),
                Errc::protocol, "1-byte"},
        Hostile{"close_bad_code", WsRole::client,
                make_frame(ws_opcode::kClose, std::string("\x03\xe7", 2)), Errc::protocol,
                "invalid status code"},
        Hostile{"close_code_1005", WsRole::server,
                make_frame(ws_opcode::kClose, std::string("\x03\xed", 2), true, kMask),
                Errc::protocol, "invalid status code"},
        Hostile{"close_reason_not_utf8", WsRole::client,
                make_frame(ws_opcode::kClose, std::string("\x03\xe8\xc0\xaf", 4)), Errc::protocol,
                "not valid UTF-8"},
        Hostile{"close_reason_cut_character", WsRole::client,
                make_frame(ws_opcode::kClose, std::string("\x03\xe8\xe2\x82", 4)), Errc::protocol,
                "not valid UTF-8"},
        Hostile{"text_not_utf8", WsRole::client, make_frame(ws_opcode::kText, "\xff\xfe"),
                Errc::protocol, "not valid UTF-8"},
        Hostile{"text_surrogate", WsRole::server,
                make_frame(ws_opcode::kText, "ok \xed\xa0\x80", true, kMask), Errc::protocol,
                "not valid UTF-8"},
        Hostile{"text_ends_inside_a_character", WsRole::client,
                make_frame(ws_opcode::kText, "euro \xe2\x82"), Errc::protocol, "not valid UTF-8"},
        Hostile{"text_bad_in_continuation", WsRole::client,
                make_frame(ws_opcode::kText, "fine ", false) + make_frame(0, "\x80"),
                Errc::protocol, "not valid UTF-8"},
        Hostile{"good_message_then_bad_text", WsRole::client,
                kGood + make_frame(ws_opcode::kText, "\xc3("), Errc::protocol, "not valid UTF-8"},
        Hostile{"too_large_frame", WsRole::client, make_frame(2, std::string(1001, 'a')),
                Errc::too_large, "exceeds the limit of 1000", 1000},
        Hostile{"too_large_declared", WsRole::client,
                make_frame(2, "", true, {}, 0, uint64_t{1} << 40), Errc::too_large,
                "exceeds the limit"},
        Hostile{"too_large_message", WsRole::client,
                make_frame(2, std::string(600, 'a'), false) + make_frame(0, std::string(600, 'b')),
                Errc::too_large, "at least 1200 bytes", 1000},
        Hostile{"good_then_bad", WsRole::client, kGood + make_frame(3, ""), Errc::protocol,
                "reserved opcode"},
        Hostile{"partial_then_bad", WsRole::client,
                make_frame(2, "handed over before the ping", false) +
                    make_frame(ws_opcode::kPing, "p") + make_frame(0, "dropped", false) +
                    make_frame(3, ""),
                Errc::protocol, "reserved opcode"}),
    [](const ::testing::TestParamInfo<Hostile>& info) { return std::string(info.param.name); });

// --- differential: the same wire bytes through both codecs ------------------------------------

// Feeds the same bytes in the same pieces to both codecs and expects the same callbacks, in the
// same order, and the same outcome of every decode() call.
void expect_same_decoding(WsRole role, const std::string& wire, const std::vector<size_t>& pieces,
                          uint64_t max_message, const std::string& what) {
  WsCodecOptions o;
  o.max_message = max_message;
  Codec ours = zero_copy(role, 1, o);
  Codec wslay(WsCodecImpl::wslay, role, 1, o);
  ours.feed(wire, pieces);
  wslay.feed(wire, pieces);
  ASSERT_EQ(ours.log.events, wslay.log.events) << what;
  EXPECT_TRUE(ours.log.data == wslay.log.data) << what;
}

TEST(ZeroCopyDifferential, CloseStatusCodesAreJudgedLikeWslay) {
  std::vector<uint32_t> codes;
  for (uint32_t code = 0; code <= 1100; ++code) codes.push_back(code);
  for (uint32_t base : {2000u, 3000u, 4000u, 5000u}) {
    for (uint32_t code = base - 10; code <= base + 10; ++code) codes.push_back(code);
  }
  for (uint32_t code : codes) {
    const std::string payload{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
    expect_same_decoding(WsRole::client, make_frame(ws_opcode::kClose, payload + "why"), {}, 1000,
                         "code " + std::to_string(code));
  }
  expect_same_decoding(WsRole::client, make_frame(ws_opcode::kClose, "\xff\xff"), {}, 1000,
                       "65535");
}

TEST(ZeroCopyDifferential, Utf8EdgeCasesSplitAtEveryByte) {
  const std::vector<std::string> texts = {
      "",
      "ascii only",
      "\xc2\x80\xdf\xbf",
      "\xe0\xa0\x80\xed\x9f\xbf\xef\xbf\xbf",
      "\xf0\x90\x80\x80\xf4\x8f\xbf\xbf",
      "\xc0\xaf",
      "\xe0\x9f\xbf",
      "\xed\xa0\x80",
      "\xf0\x8f\xbf\xbf",
      "\xf4\x90\x80\x80",
      "\xf5\x80",
      "x\xe2\x82",
      "\xe2\x82\xac\x80",
      "ok then \xff",
  };
  for (const std::string& text : texts) {
    // As one frame, and split over two frames at every byte, each fed whole and in two pieces.
    for (size_t cut = 0; cut <= text.size(); ++cut) {
      const std::string wire = cut == 0 ? make_frame(ws_opcode::kText, text)
                                        : make_frame(ws_opcode::kText, text.substr(0, cut), false) +
                                              make_frame(0, text.substr(cut));
      for (size_t piece = 0; piece <= wire.size(); ++piece) {
        expect_same_decoding(WsRole::client, wire, {piece}, 1000,
                             "text " + ::testing::PrintToString(text) + " cut " +
                                 std::to_string(cut) + " piece " + std::to_string(piece));
      }
    }
  }
}

TEST(ZeroCopyDifferential, CloseReasonSplitAcrossReadsIsJudgedWhole) {
  // wslay 1.1.1 checks a Close reason piece by piece, skipping the first two bytes of every piece
  // as if each began with the status code; our wslay codec therefore hands it control frames
  // whole. Both codecs must accept a valid reason however it is split.
  const std::string frame = make_frame(ws_opcode::kClose, std::string("\x03\xe8\xc3\xa9", 4));
  for (size_t cut = 1; cut < frame.size(); ++cut) {
    for (WsCodecImpl impl : {WsCodecImpl::zero_copy, WsCodecImpl::wslay}) {
      Codec c(impl, WsRole::client);
      ASSERT_TRUE(c.feed(frame, {cut}).ok()) << cut;
      ASSERT_TRUE(c.log.close.has_value());
      EXPECT_EQ(*c.log.close, std::make_pair(uint16_t{1000}, std::string("\xc3\xa9")));
    }
  }
}

// Random frame sequences, mostly valid; with `faults`, every kind of fault now and then.
class WireGenerator {
 public:
  WireGenerator(uint64_t seed, WsRole decoder, bool faults)
      : rng_(seed), decoder_(decoder), faults_(faults) {}

  uint32_t below(uint32_t n) { return rng_.next_u32() % n; }
  bool chance(uint32_t percent) { return below(100) < percent; }
  bool fault(uint32_t percent) { return faults_ && chance(percent); }

  // `any_close_reason`: reasons may be any bytes (only when fed whole: wslay checks a Close
  // reason per piece, skipping the first two bytes of each, so it differs when split).
  std::string wire(size_t frames, bool any_close_reason) {
    std::string out;
    for (size_t i = 0; i < frames; ++i) out += frame(any_close_reason);
    return out;
  }

 private:
  std::string payload(size_t n, bool text) {
    static const char* kChars[] = {"a", "Z", " ", "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80"};
    std::string s;
    if (text && !fault(10)) {
      while (s.size() < n) s += kChars[below(6)];
      return s;  // valid UTF-8 (its pieces land across frames: cuts may split characters)
    }
    for (size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(below(256)));
    return s;
  }
  size_t size() {
    static const size_t kSizes[] = {0, 1, 2, 7, 125, 126, 127, 1000, 4095, 4097, 20000, 65536};
    return kSizes[below(chance(80) ? 7 : 12)];
  }
  std::optional<Mask> mask() {
    const bool masked = (decoder_ == WsRole::server) != fault(2);
    if (!masked) return std::nullopt;
    Mask m;
    rng_.fill(m.data(), 4);
    return m;
  }
  std::string frame(bool any_close_reason) {
    const uint32_t kind = below(100);
    if (kind < 60) {
      uint8_t opcode = in_message_ ? ws_opcode::kContinuation
                                   : (chance(30) ? ws_opcode::kText : ws_opcode::kBinary);
      if (fault(3)) opcode = static_cast<uint8_t>(below(3));  // maybe out of order
      if (opcode == ws_opcode::kText) text_ = true;
      if (opcode == ws_opcode::kBinary) text_ = false;
      const bool fin = chance(70);
      in_message_ = !fin;
      const uint8_t rsv = fault(2) ? static_cast<uint8_t>(below(8)) : 0;
      std::string body = payload(size(), text_);
      if (fault(2)) return make_frame(opcode, body, fin, mask(), rsv, std::nullopt, true);
      return make_frame(opcode, body, fin, mask(), rsv);
    }
    if (kind < 85) {
      const uint8_t opcode = chance(50) ? ws_opcode::kPing : ws_opcode::kPong;
      return make_frame(opcode, payload(fault(3) ? 126 : below(126), false), !fault(2), mask());
    }
    if (kind < (faults_ ? 95 : 87)) {
      static const uint16_t kCodes[] = {0,    999,  1000, 1001, 1004, 1005, 1006,
                                        1011, 1012, 2999, 3000, 4999, 5000};
      const uint16_t code = faults_ ? kCodes[below(13)] : 1000;
      std::string body;
      if (code != 0) {
        body = {static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
        body += any_close_reason ? payload(below(20), chance(50)) : std::string(below(20), 'r');
      } else if (fault(10)) {
        body = "x";  // a 1-byte Close payload
      }
      return make_frame(ws_opcode::kClose, body, true, mask());
    }
    if (!faults_) return make_frame(ws_opcode::kPong, "", true, mask());
    return make_frame(static_cast<uint8_t>(3 + below(5) + (chance(50) ? 8 : 0)), "?", true,
                      mask());  // a reserved opcode
  }

  SeededRandom rng_;
  WsRole decoder_;
  bool faults_;
  bool in_message_ = false;
  bool text_ = false;
};

TEST(ZeroCopyDifferential, RandomFrameSequencesDecodeTheSameInAnyPieces) {
  SeededRandom pick(2024);
  for (uint64_t seed = 1; seed <= 300; ++seed) {
    const WsRole role = seed % 2 ? WsRole::client : WsRole::server;
    const uint32_t split = pick.next_u32() % 4;  // whole, one byte, small, large pieces
    WireGenerator gen(seed, role, /*faults=*/seed % 3 != 0);
    const std::string wire = gen.wire(1 + seed % 12, split == 0);
    std::vector<size_t> pieces;
    if (split == 1 && wire.size() < 4000) {
      pieces.assign(wire.size(), 1);
    } else if (split >= 1) {
      for (size_t total = 0; total < wire.size();) {
        const size_t n = 1 + pick.next_u32() % (split == 3 ? 9000 : 40);
        pieces.push_back(n);
        total += n;
      }
    }
    const uint64_t max_message = seed % 5 == 0 ? 3000 : 16 * 1024 * 1024;
    expect_same_decoding(role, wire, pieces, max_message, "seed " + std::to_string(seed));
  }
}

TEST(ZeroCopyDifferential, EncodersWriteTheSameBytesAndEachDecodesTheOther) {
  for (uint64_t seed = 1; seed <= 25; ++seed) {
    for (WsRole sender : {WsRole::client, WsRole::server}) {
      Codec ours = zero_copy(sender, seed), wslay(WsCodecImpl::wslay, sender, seed);
      ByteChain a, b;
      SeededRandom ops(seed * 7919);
      std::string sent;
      for (int i = 0; i < 12; ++i) {
        const uint32_t op = ops.next_u32() % 10;
        if (op < 7) {
          static const size_t kSizes[] = {0, 1, 125, 126, 16384, 16385, 70000};
          const std::string data = pattern(kSizes[ops.next_u32() % 7], static_cast<uint32_t>(i));
          sent += data;
          ByteChain pa(data), pb(data);
          ours.codec->encode_data(pa, a);
          wslay.codec->encode_data(pb, b);
        } else if (op < 9) {
          const std::string body = pattern(ops.next_u32() % 140, 1);
          ours.codec->encode_ping(bytes_of(body), a);
          wslay.codec->encode_ping(bytes_of(body), b);
          ours.codec->encode_pong(bytes_of(body), a);
          wslay.codec->encode_pong(bytes_of(body), b);
        } else {
          const uint16_t code = ops.next_u32() % 2 ? 1000 : kWsCloseNoStatus;
          ours.codec->encode_close(code, "bye", a);
          wslay.codec->encode_close(code, "bye", b);
        }
      }
      const std::string wire = a.to_string();
      ASSERT_TRUE(wire == b.to_string()) << "seed " << seed;
      const WsRole receiver = sender == WsRole::client ? WsRole::server : WsRole::client;
      Codec our_decoder = zero_copy(receiver), wslay_decoder(WsCodecImpl::wslay, receiver);
      ASSERT_TRUE(our_decoder.decode(wire).ok());
      ASSERT_TRUE(wslay_decoder.decode(wire).ok());
      EXPECT_EQ(our_decoder.log.events, wslay_decoder.log.events);
      EXPECT_TRUE(sent.substr(0, our_decoder.log.data.size()) == our_decoder.log.data);
    }
  }
}

// --- through WsTransport ----------------------------------------------------------------------

struct StreamSink : TransportSink {
  std::string data;
  bool connected = false;
  void on_connected() override { connected = true; }
  void on_data(ByteChain& c, bool) override {
    data += c.to_string();
    c.clear();
  }
  void on_closed(const Error&) override {}
};

class ZeroCopyTransport : public ::testing::TestWithParam<WsCodecImpl> {};

TEST_P(ZeroCopyTransport, ServerTransportRunsOnTheSelectedCodec) {
  Loop loop;
  SeededRandom rng(5);
  auto [raw, lower] = make_mem_pipe(loop, MemPipeOptions{3000});  // frames arrive in pieces
  StreamSink raw_sink, ws_sink;
  raw->set_sink(&raw_sink);
  raw->start();
  lower->start();
  WsServerOptions options;
  options.codec.implementation = GetParam();
  auto ws = WsTransport::server(std::move(lower), ByteChain(), std::move(options), rng);
  ws->set_sink(&ws_sink);
  ws->start();
  ASSERT_TRUE(loop.run_until([&] { return ws_sink.connected; }));

  // In: client frames, masked.
  const std::string up = pattern(200000, 12);
  Codec client = zero_copy(WsRole::client, 3);
  ByteChain wire(client.encode_data(up));
  raw->write(wire);
  ASSERT_TRUE(loop.run_until([&] { return ws_sink.data.size() >= up.size(); }));
  EXPECT_TRUE(ws_sink.data == up);

  // Out: server frames, decoded by the other implementation.
  const std::string down = pattern(150000, 13);
  ByteChain d(down);
  ws->write(d);
  Codec reader(GetParam() == WsCodecImpl::wslay ? WsCodecImpl::zero_copy : WsCodecImpl::wslay,
               WsRole::client);
  const size_t frames = (down.size() + 16 * 1024 - 1) / (16 * 1024);
  const size_t wire_size = down.size() + 4 * frames;  // 4-byte headers: 126 < payload < 64 KiB
  ASSERT_TRUE(loop.run_until([&] { return raw_sink.data.size() >= wire_size; }));
  EXPECT_EQ(raw_sink.data.size(), wire_size);
  ASSERT_TRUE(reader.decode(raw_sink.data).ok());
  EXPECT_TRUE(reader.log.data == down);
  ws->close(CloseMode::Abort);
}

INSTANTIATE_TEST_SUITE_P(Codecs, ZeroCopyTransport,
                         ::testing::Values(WsCodecImpl::zero_copy, WsCodecImpl::wslay),
                         [](const ::testing::TestParamInfo<WsCodecImpl>& info) {
                           return std::string(impl_name(info.param));
                         });

}  // namespace
}  // namespace pvb
