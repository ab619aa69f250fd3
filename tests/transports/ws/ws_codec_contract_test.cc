// The behaviour every WsCodec behind the seam (ws_codec.h) must have, written once and run on
// every implementation, built through make_ws_codec(). What one implementation does beyond it
// (copy counts, what it holds back, its own error wording) is tested in its own file.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <tuple>
#include <vector>

#include "tests/transports/ws/codec_test_support.h"
#include "tests/transports/ws/ws_wire.h"
#include "transports/ws/ws_codec.h"
#include "transports/ws/wslay_codec.h"
#include "transports/ws/zero_copy_codec.h"

namespace pvb {
namespace {

using wstest::bytes_of;
using wstest::Codec;
using wstest::EventLog;
using wstest::frame_to;
using wstest::frames_of;
using wstest::impl_name;
using wstest::kAllImpls;
using wstest::kBothRoles;
using wstest::kMask;
using wstest::make_frame;
using wstest::pattern;
using wstest::peer_of;
using wstest::role_name;
using wstest::WireFrame;

TEST(WsCodecFactory, ImplementationOptionSelectsTheCodec) {
  SeededRandom rng(1);
  EventLog log;
  WsCodecOptions o;
  EXPECT_EQ(o.implementation, WsCodecImpl::zero_copy);  // the default
  EXPECT_NE(dynamic_cast<ZeroCopyCodec*>(make_ws_codec(o, log, rng).get()), nullptr);
  o.implementation = WsCodecImpl::wslay;
  EXPECT_NE(dynamic_cast<WslayCodec*>(make_ws_codec(o, log, rng).get()), nullptr);
}

// --- round trips: what a codec writes, every codec reads ---------------------------------------

class WsCodecRoundTrip : public ::testing::TestWithParam<std::tuple<WsCodecImpl, size_t>> {};

TEST_P(WsCodecRoundTrip, ClientFramesAreMaskedBoundedAndDecodeOnEveryServer) {
  const auto [impl, n] = GetParam();
  const std::string payload = pattern(n, static_cast<uint32_t>(n));
  Codec client(impl, WsRole::client, /*seed=*/99);
  const std::string wire = client.encode_data(payload);

  // Check the wire bytes ourselves.
  std::vector<WireFrame> frames = frames_of(wire);
  const size_t expected_frames = n == 0 ? 1 : (n + 16 * 1024 - 1) / (16 * 1024);
  ASSERT_EQ(frames.size(), expected_frames);
  SeededRandom masks(99);  // mask keys come from the injected Random, 4 bytes per frame, in order
  std::string joined;
  for (const WireFrame& f : frames) {
    EXPECT_TRUE(f.fin);
    EXPECT_EQ(f.rsv, 0);
    EXPECT_EQ(f.opcode, ws_opcode::kBinary);  // never a continuation frame
    EXPECT_TRUE(f.masked);
    EXPECT_LE(f.payload.size(), 16u * 1024);
    EXPECT_LE(f.wire_size, 64u * 1024);
    uint8_t expect_mask[4];
    masks.fill(expect_mask, 4);
    EXPECT_EQ(std::memcmp(f.mask, expect_mask, 4), 0);
    joined += f.payload;
  }
  EXPECT_TRUE(joined == payload);

  for (WsCodecImpl peer : kAllImpls) {
    SCOPED_TRACE(impl_name(peer));
    Codec server(peer, WsRole::server);
    ASSERT_TRUE(server.decode(wire).ok());
    EXPECT_TRUE(server.leftover.empty());
    EXPECT_TRUE(server.log.data == payload);
    EXPECT_EQ(server.log.message_ends, static_cast<int>(expected_frames));
    EXPECT_FALSE(server.log.last_text);
    ASSERT_EQ(server.log.frames.size(), expected_frames);
    EXPECT_TRUE(server.log.frames[0].masked);
  }
}

TEST_P(WsCodecRoundTrip, ServerFramesAreUnmaskedAndDecodeOnEveryClient) {
  const auto [impl, n] = GetParam();
  const std::string payload = pattern(n, 3);
  Codec server(impl, WsRole::server);
  const std::string wire = server.encode_data(payload);
  for (const WireFrame& f : frames_of(wire)) {
    EXPECT_FALSE(f.masked);
    EXPECT_TRUE(f.fin);
    EXPECT_EQ(f.rsv, 0);
    EXPECT_EQ(f.opcode, ws_opcode::kBinary);
    EXPECT_LE(f.payload.size(), 16u * 1024);
  }
  for (WsCodecImpl peer : kAllImpls) {
    SCOPED_TRACE(impl_name(peer));
    Codec client(peer, WsRole::client);
    ASSERT_TRUE(client.decode(wire).ok());
    EXPECT_TRUE(client.leftover.empty());
    EXPECT_TRUE(client.log.data == payload);
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, WsCodecRoundTrip,
                         ::testing::Combine(::testing::ValuesIn(kAllImpls),
                                            ::testing::Values(0, 1, 125, 126, 65535, 65536,
                                                              16 * 1024, 16 * 1024 + 1,
                                                              1024 * 1024)),
                         [](const ::testing::TestParamInfo<std::tuple<WsCodecImpl, size_t>>& info) {
                           return std::string(impl_name(std::get<0>(info.param))) + "_" +
                                  std::to_string(std::get<1>(info.param));
                         });

// --- everything else, on each implementation in each role ---------------------------------------

class WsCodecContract : public ::testing::TestWithParam<std::tuple<WsCodecImpl, WsRole>> {
 protected:
  WsCodecImpl impl() const { return std::get<0>(GetParam()); }
  WsRole role() const { return std::get<1>(GetParam()); }
  // A codec of the implementation under test, in the role under test.
  Codec make(uint64_t seed = 42, WsCodecOptions o = {}) { return Codec(impl(), role(), seed, o); }
  // The same implementation on the other end.
  Codec make_peer() { return Codec(impl(), peer_of(role())); }
  // A frame as our peer sends it: masked towards a server.
  std::string from_peer(uint8_t opcode, const std::string& payload, bool fin = true) {
    return frame_to(role(), opcode, payload, fin);
  }
};

INSTANTIATE_TEST_SUITE_P(Impls, WsCodecContract,
                         ::testing::Combine(::testing::ValuesIn(kAllImpls),
                                            ::testing::ValuesIn(kBothRoles)),
                         [](const ::testing::TestParamInfo<std::tuple<WsCodecImpl, WsRole>>& info) {
                           return std::string(impl_name(std::get<0>(info.param))) + "_" +
                                  role_name(std::get<1>(info.param));
                         });

// --- encoding data

TEST_P(WsCodecContract, FramePayloadIsClampedBelow64KiBOnTheWire) {
  WsCodecOptions o;
  o.max_frame_payload = 1024 * 1024;
  const std::string payload = pattern(300 * 1024);
  Codec c = make(1, o);
  std::vector<WireFrame> frames = frames_of(c.encode_data(payload));
  ASSERT_EQ(frames.size(), 5u);  // 300 KiB in frames of 64 KiB - 14
  std::string joined;
  for (const WireFrame& f : frames) {
    EXPECT_LE(f.wire_size, 64u * 1024);
    joined += f.payload;
  }
  EXPECT_TRUE(joined == payload);
}

TEST_P(WsCodecContract, SmallerFramePayloadOption) {
  WsCodecOptions o;
  o.max_frame_payload = 1000;
  Codec c = make(1, o);
  std::vector<WireFrame> frames = frames_of(c.encode_data(pattern(2500)));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload.size(), 1000u);
  EXPECT_EQ(frames[1].payload.size(), 1000u);
  EXPECT_EQ(frames[2].payload.size(), 500u);
}

TEST_P(WsCodecContract, PayloadSpanningSlicesIsFramedInOrder) {
  const std::string payload = pattern(40000, 5);
  Codec c = make();
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

// --- decoding data

TEST_P(WsCodecContract, OneByteFeedingDecodesEverything) {
  // data1 needs the 8-byte length form; data2 is text, valid UTF-8.
  const std::string data1 = pattern(70000, 1), data2(300, 't');
  Codec c = make();
  const wstest::BytewiseDecode r =
      wstest::decode_byte_by_byte(*c.codec, wstest::mixed_frames(role(), data1, data2));
  ASSERT_TRUE(r.error.ok()) << r.error.message();
  // At most an incomplete header, or an incomplete control frame (a codec may hold one back until
  // it is whole: at most 14 + 125 bytes), stays in the input.
  EXPECT_LE(r.most_held, 14u + 125u);
  EXPECT_EQ(r.left, 0u);
  EXPECT_TRUE(c.log.data == data1 + data2 + "tail \xe2\x82\xac");
  EXPECT_EQ(c.log.message_ends, 2);
  EXPECT_TRUE(c.log.last_text);
  EXPECT_EQ(c.log.pings, std::vector<std::string>{"are you there"});
  EXPECT_EQ(c.log.pongs, std::vector<std::string>{"pong!"});
  ASSERT_TRUE(c.log.close.has_value());
  EXPECT_EQ(*c.log.close, std::make_pair(uint16_t{1000}, std::string("bye")));
}

TEST_P(WsCodecContract, IncompleteHeaderStaysInTheInput) {
  Codec c = make();
  const std::string f = from_peer(ws_opcode::kBinary, std::string(1000, 'z'));
  const size_t header = f.size() - 1000;  // 4 bytes to a client, 8 (masked) to a server
  for (size_t n = 1; n < header; ++n) {
    EXPECT_TRUE(c.decode(f.substr(0, n)).ok());
    EXPECT_EQ(c.leftover, f.substr(0, n));
  }
  EXPECT_TRUE(c.log.data.empty());
  EXPECT_TRUE(c.log.frames.empty());
}

TEST_P(WsCodecContract, PartialPayloadIsStreamedAsItArrives) {
  const std::string body = pattern(5000, 2);
  Codec c = make();
  const std::string f = from_peer(ws_opcode::kBinary, body);
  const size_t first = f.size() - body.size() + 1000;  // the header and 1000 payload bytes
  ByteChain in(f.substr(0, first));
  ASSERT_TRUE(c.codec->decode(in).ok());
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(c.log.data, body.substr(0, 1000));
  EXPECT_EQ(c.log.message_ends, 0);
  ByteChain rest(f.substr(first));
  ASSERT_TRUE(c.codec->decode(rest).ok());
  EXPECT_TRUE(c.log.data == body);
  EXPECT_EQ(c.log.message_ends, 1);
}

TEST_P(WsCodecContract, FragmentedMessagesFromThePeerStream) {
  Codec c = make();
  ASSERT_TRUE(c.decode(from_peer(ws_opcode::kBinary, "Hel", false)).ok());
  EXPECT_EQ(c.log.data, "Hel");  // streamed before the message ends
  EXPECT_EQ(c.log.message_ends, 0);
  ASSERT_TRUE(c.decode(from_peer(ws_opcode::kContinuation, "lo")).ok());
  EXPECT_EQ(c.log.data, "Hello");
  EXPECT_EQ(c.log.message_ends, 1);
}

TEST_P(WsCodecContract, EmptyMessageEndsWithEmptyPayload) {
  Codec c = make();
  ASSERT_TRUE(c.decode(from_peer(ws_opcode::kBinary, "")).ok());
  EXPECT_EQ(c.log.message_ends, 1);
  EXPECT_TRUE(c.log.data.empty());
}

TEST_P(WsCodecContract, FrameStartReportsEveryHeader) {
  Codec c = make();
  ASSERT_TRUE(
      c.decode(from_peer(ws_opcode::kText, "ab", false) + from_peer(ws_opcode::kContinuation, "c"))
          .ok());
  ASSERT_EQ(c.log.frames.size(), 2u);
  EXPECT_FALSE(c.log.frames[0].fin);
  EXPECT_EQ(c.log.frames[0].opcode, ws_opcode::kText);
  EXPECT_EQ(c.log.frames[0].masked, role() == WsRole::server);
  EXPECT_EQ(c.log.frames[0].payload_length, 2u);
  EXPECT_TRUE(c.log.frames[1].fin);
  EXPECT_EQ(c.log.frames[1].opcode, ws_opcode::kContinuation);
  EXPECT_EQ(c.log.data, "abc");
  EXPECT_TRUE(c.log.last_text);
}

// --- control frames

TEST_P(WsCodecContract, PingPongAndCloseRoundTrip) {
  const std::string ping = "keepalive-1";
  Codec a = make(), b = make_peer();
  ByteChain wire;
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
    EXPECT_EQ(f.masked, role() == WsRole::client);
  }
  ASSERT_TRUE(b.decode(bytes).ok());
  EXPECT_EQ(b.log.pings, std::vector<std::string>{ping});
  EXPECT_EQ(b.log.pongs, std::vector<std::string>{"keep"});
  ASSERT_TRUE(b.log.close.has_value());
  EXPECT_EQ(*b.log.close, std::make_pair(uint16_t{1000}, std::string("done")));
}

TEST_P(WsCodecContract, ControlPayloadsAreTruncatedTo125Bytes) {
  const std::string big(300, 'p');
  Codec c = make();
  ByteChain wire;
  c.codec->encode_ping(bytes_of(big), wire);
  c.codec->encode_pong(bytes_of(big), wire);
  c.codec->encode_close(4000, std::string(200, 'r'), wire);
  std::vector<WireFrame> frames = frames_of(wire.to_string());
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload, std::string(125, 'p'));
  EXPECT_EQ(frames[1].payload, std::string(125, 'p'));
  EXPECT_EQ(frames[2].payload, std::string("\x0f\xa0", 2) + std::string(123, 'r'));
}

TEST_P(WsCodecContract, CloseReasonIsNeverCutInsideACharacter) {
  // 122 ASCII bytes and a 2-byte character: the 123-byte limit falls inside the character, which
  // is then left out whole (a cut character would make the peer reject the Close).
  Codec c = make(3);
  ByteChain wire;
  c.codec->encode_close(1001, std::string(122, 'a') + "\xc3\xa9", wire);
  std::vector<WireFrame> frames = frames_of(wire.to_string());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, std::string("\x03\xe9", 2) + std::string(122, 'a'));
}

TEST_P(WsCodecContract, CloseWithoutStatusReports1005) {
  for (uint16_t code : {kWsCloseNoStatus, uint16_t{0}}) {  // both mean "no status code"
    SCOPED_TRACE(code);
    Codec a = make(), b = make_peer();
    ByteChain wire;
    a.codec->encode_close(code, "ignored", wire);
    std::vector<WireFrame> frames = frames_of(wire.to_string());
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].opcode, ws_opcode::kClose);
    EXPECT_TRUE(frames[0].payload.empty());
    ASSERT_TRUE(b.decode(wire.to_string()).ok());
    ASSERT_TRUE(b.log.close.has_value());
    EXPECT_EQ(*b.log.close, std::make_pair(kWsCloseNoStatus, std::string()));
  }
}

TEST_P(WsCodecContract, CloseReasonSplitAcrossReadsIsJudgedWhole) {
  // wslay 1.1.1 checks a Close reason piece by piece, skipping the first two bytes of every piece
  // as if each began with the status code. Every codec must accept a valid reason however it is
  // split.
  const std::string frame = from_peer(ws_opcode::kClose, std::string("\x03\xe8\xc3\xa9", 4));
  for (size_t cut = 1; cut < frame.size(); ++cut) {
    SCOPED_TRACE(cut);
    Codec c = make();
    ASSERT_TRUE(c.feed(frame, {cut}).ok());
    ASSERT_TRUE(c.log.close.has_value());
    EXPECT_EQ(*c.log.close, std::make_pair(uint16_t{1000}, std::string("\xc3\xa9")));
  }
}

TEST_P(WsCodecContract, DataBeforeACloseIsDeliveredFirst) {
  Codec c = make();
  ASSERT_TRUE(
      c.decode(from_peer(ws_opcode::kBinary, "part", false) + from_peer(ws_opcode::kClose, ""))
          .ok());
  ASSERT_EQ(c.log.events.size(), 4u);  // two frame starts, then the data, then the Close
  EXPECT_EQ(c.log.events[2].rfind("binary part bytes=4", 0), 0u) << c.log.events[2];
  EXPECT_EQ(c.log.events[3].rfind("close 1005", 0), 0u) << c.log.events[3];
}

TEST_P(WsCodecContract, NothingIsDecodedAfterClose) {
  Codec c = make();
  ASSERT_TRUE(c.decode(from_peer(ws_opcode::kClose, std::string("\x03\xe9", 2)) +
                       from_peer(ws_opcode::kBinary, "late"))
                  .ok());
  EXPECT_TRUE(c.leftover.empty());  // consumed and ignored
  EXPECT_TRUE(c.log.data.empty());
  ASSERT_TRUE(c.decode(from_peer(ws_opcode::kBinary, "later")).ok());
  EXPECT_TRUE(c.leftover.empty());
  EXPECT_TRUE(c.log.data.empty());
  ASSERT_TRUE(c.log.close.has_value());
  EXPECT_EQ(c.log.close->first, 1001);
}

TEST_P(WsCodecContract, NothingIsEncodedAfterClose) {
  Codec c = make();
  ByteChain out;
  c.codec->encode_close(1000, "", out);
  const size_t close_size = out.size();
  ByteChain data("more");
  c.codec->encode_data(data, out);
  c.codec->encode_ping({}, out);
  c.codec->encode_pong({}, out);
  c.codec->encode_close(1000, "again", out);
  EXPECT_TRUE(data.empty());
  EXPECT_EQ(out.size(), close_size);
}

TEST_P(WsCodecContract, DecodingNeitherRepliesNorStopsEncoding) {
  // wslay's receive path answers a Ping with a Pong and a Close with a Close, and refuses to send
  // after a Close: a codec must leave the replies to WsTransport and keep framing our data.
  for (const uint8_t opcode : {ws_opcode::kPing, ws_opcode::kClose}) {
    SCOPED_TRACE(opcode == ws_opcode::kPing ? "after a Ping" : "after a Close");
    Codec c = make();
    ASSERT_TRUE(c.decode(from_peer(opcode, opcode == ws_opcode::kPing ? "p" : "")).ok());
    std::vector<WireFrame> frames = frames_of(c.encode_data("still here"));
    ASSERT_EQ(frames.size(), 1u);
    EXPECT_EQ(frames[0].opcode, ws_opcode::kBinary);
    EXPECT_EQ(frames[0].payload, "still here");
  }
}

// --- hostile input ------------------------------------------------------------------------------

class WsCodecHostile : public ::testing::TestWithParam<std::tuple<WsCodecImpl, wstest::Hostile>> {};

TEST_P(WsCodecHostile, IsRejectedWithAClearErrorAndStaysDead) {
  const auto& [impl, h] = GetParam();
  WsCodecOptions o;
  o.max_message = h.max_message;
  Codec c(impl, h.decoder, 1, o);
  Error e = c.decode(h.wire);
  EXPECT_EQ(e.code(), h.code) << e.message();
  EXPECT_NE(e.detail().find(h.words), std::string::npos) << e.detail();
  // Dead after: the same error again, whatever comes next, and nothing more is handed over.
  EXPECT_EQ(c.decode(make_frame(ws_opcode::kBinary, "ok", true, kMask)).code(), h.code);
  EXPECT_EQ(c.decode(make_frame(ws_opcode::kBinary, "ok")).code(), h.code);
  EXPECT_EQ(c.log.data, h.delivered);
}

INSTANTIATE_TEST_SUITE_P(
    Frames, WsCodecHostile,
    ::testing::Combine(::testing::ValuesIn(kAllImpls),
                       ::testing::ValuesIn(wstest::hostile_frames())),
    [](const ::testing::TestParamInfo<std::tuple<WsCodecImpl, wstest::Hostile>>& info) {
      return std::string(impl_name(std::get<0>(info.param))) + "_" + std::get<1>(info.param).name;
    });

}  // namespace
}  // namespace pvb
