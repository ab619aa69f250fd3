#include "transports/ws/wslay_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/transports/ws/ws_wire.h"

namespace pvb {
namespace {

using wstest::make_frame;
using wstest::parse_frames;
using wstest::pattern;
using wstest::WireFrame;

constexpr std::array<uint8_t, 4> kMask{0x37, 0xfa, 0x21, 0x3d};

// Records everything a codec decodes.
struct Recorder : WsCodecSink {
  std::string data;
  int message_ends = 0;
  bool last_text = false;
  std::vector<std::string> pings, pongs;
  std::vector<WsFrameInfo> frames;
  std::optional<std::pair<uint16_t, std::string>> close;

  void on_frame_start(const WsFrameInfo& f) override { frames.push_back(f); }
  void on_message_data(ByteChain& p, bool text, bool end) override {
    data += p.to_string();
    p.clear();
    last_text = text;
    message_ends += end ? 1 : 0;
  }
  void on_ping(ByteChain& p) override { pings.push_back(p.to_string()); }
  void on_pong(ByteChain& p) override { pongs.push_back(p.to_string()); }
  void on_close(uint16_t code, std::string_view reason) override {
    close.emplace(code, std::string(reason));
  }
};

struct Codec {
  explicit Codec(WsRole role, uint64_t seed = 42, WsCodecOptions o = {}) : rng(seed) {
    o.role = role;
    codec = make_wslay_codec(o, rec, rng);
  }
  Error decode(const std::string& wire) {
    ByteChain in(wire);
    Error e = codec->decode(in);
    leftover = in.to_string();
    return e;
  }
  std::string encode_data(const std::string& payload) {
    ByteChain p(payload), out;
    codec->encode_data(p, out);
    EXPECT_TRUE(p.empty());
    return out.to_string();
  }
  SeededRandom rng;
  Recorder rec;
  std::unique_ptr<WsCodec> codec;
  std::string leftover;
};

std::vector<WireFrame> frames_of(const std::string& wire) {
  auto f = parse_frames(wire);
  EXPECT_TRUE(f.has_value()) << "wire bytes do not end on a frame boundary";
  return f.value_or(std::vector<WireFrame>{});
}

class WsCodecRoundTrip : public ::testing::TestWithParam<size_t> {};

TEST_P(WsCodecRoundTrip, ClientFramesAreMaskedBoundedAndDecodeOnTheServer) {
  const size_t n = GetParam();
  const std::string payload = pattern(n, static_cast<uint32_t>(n));
  Codec client(WsRole::client, /*seed=*/99);
  const std::string wire = client.encode_data(payload);

  // Check the wire bytes ourselves.
  std::vector<WireFrame> frames = frames_of(wire);
  const size_t expected_frames = n == 0 ? 1 : (n + 16 * 1024 - 1) / (16 * 1024);
  ASSERT_EQ(frames.size(), expected_frames);
  SeededRandom masks(99);  // the codec's masks come from the injected Random, in order
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
  EXPECT_EQ(joined, payload);

  Codec server(WsRole::server);
  ASSERT_TRUE(server.decode(wire).ok());
  EXPECT_TRUE(server.leftover.empty());
  EXPECT_EQ(server.rec.data, payload);
  EXPECT_EQ(server.rec.message_ends, static_cast<int>(expected_frames));
  EXPECT_FALSE(server.rec.last_text);
  ASSERT_EQ(server.rec.frames.size(), expected_frames);
  EXPECT_TRUE(server.rec.frames[0].masked);
}

TEST_P(WsCodecRoundTrip, ServerFramesAreUnmaskedAndDecodeOnTheClient) {
  const size_t n = GetParam();
  const std::string payload = pattern(n, 3);
  Codec server(WsRole::server);
  const std::string wire = server.encode_data(payload);
  for (const WireFrame& f : frames_of(wire)) {
    EXPECT_FALSE(f.masked);
    EXPECT_TRUE(f.fin);
    EXPECT_EQ(f.opcode, ws_opcode::kBinary);
    EXPECT_LE(f.payload.size(), 16u * 1024);
  }
  Codec client(WsRole::client);
  ASSERT_TRUE(client.decode(wire).ok());
  EXPECT_EQ(client.rec.data, payload);
}

INSTANTIATE_TEST_SUITE_P(Sizes, WsCodecRoundTrip,
                         ::testing::Values(0, 1, 125, 126, 65535, 65536, 16 * 1024, 16 * 1024 + 1,
                                           1024 * 1024));

TEST(WsCodec, FramePayloadIsClampedBelow64KiBOnTheWire) {
  WsCodecOptions o;
  o.max_frame_payload = 1024 * 1024;
  Codec client(WsRole::client, 1, o);
  const std::string payload = pattern(300 * 1024);
  std::vector<WireFrame> frames = frames_of(client.encode_data(payload));
  ASSERT_GT(frames.size(), 4u);
  std::string joined;
  for (const WireFrame& f : frames) {
    EXPECT_LE(f.wire_size, 64u * 1024);
    joined += f.payload;
  }
  EXPECT_EQ(joined, payload);
}

TEST(WsCodec, SmallerFramePayloadOption) {
  WsCodecOptions o;
  o.max_frame_payload = 1000;
  Codec server(WsRole::server, 1, o);
  std::vector<WireFrame> frames = frames_of(server.encode_data(pattern(2500)));
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].payload.size(), 1000u);
  EXPECT_EQ(frames[2].payload.size(), 500u);
}

TEST(WsCodec, PayloadSpanningSlicesIsFramedInOrder) {
  Codec client(WsRole::client);
  const std::string payload = pattern(40000, 5);
  ByteChain p, out;
  for (size_t off = 0; off < payload.size(); off += 777) {
    ByteChain piece(payload.substr(off, 777));
    p.move_from(piece);
  }
  client.codec->encode_data(p, out);
  std::string joined;
  for (const WireFrame& f : frames_of(out.to_string())) joined += f.payload;
  EXPECT_EQ(joined, payload);
}

TEST(WsCodec, OneByteFeedingDecodesEverything) {
  Codec client(WsRole::client);
  const std::string data1 = pattern(70000, 1), data2(300, 't');  // text: valid UTF-8
  const std::string wire =
      make_frame(ws_opcode::kBinary, data1) + make_frame(ws_opcode::kPing, "are you there") +
      make_frame(ws_opcode::kText, data2, false) + make_frame(ws_opcode::kPong, "pong!") +
      make_frame(ws_opcode::kContinuation, "tail") +
      make_frame(ws_opcode::kClose, std::string("\x03\xe8", 2) + "bye");
  ByteChain in;
  for (char c : wire) {
    ByteChain one(std::string(1, c));
    in.move_from(one);
    Error e = client.codec->decode(in);
    ASSERT_TRUE(e.ok()) << e.message();
    // Only an incomplete header, or an incomplete control frame (held until whole, at most
    // 14 + 125 bytes), may stay.
    ASSERT_LE(in.size(), 14u + 125u);
  }
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(client.rec.data, data1 + data2 + "tail");
  EXPECT_EQ(client.rec.message_ends, 2);
  EXPECT_TRUE(client.rec.last_text);
  EXPECT_EQ(client.rec.pings, std::vector<std::string>{"are you there"});
  EXPECT_EQ(client.rec.pongs, std::vector<std::string>{"pong!"});
  ASSERT_TRUE(client.rec.close.has_value());
  EXPECT_EQ(client.rec.close->first, 1000);
  EXPECT_EQ(client.rec.close->second, "bye");
}

TEST(WsCodec, IncompleteHeaderStaysInTheInput) {
  Codec client(WsRole::client);
  const std::string f = make_frame(ws_opcode::kBinary, std::string(1000, 'z'));
  EXPECT_TRUE(client.decode(f.substr(0, 3)).ok());
  EXPECT_EQ(client.leftover, f.substr(0, 3));
  EXPECT_TRUE(client.rec.data.empty());
}

TEST(WsCodec, PingPongAndCloseRoundTrip) {
  Codec client(WsRole::client), server(WsRole::server);
  ByteChain wire;
  const std::string ping = "keepalive-1";
  client.codec->encode_ping({reinterpret_cast<const uint8_t*>(ping.data()), ping.size()}, wire);
  client.codec->encode_pong({reinterpret_cast<const uint8_t*>(ping.data()), 4}, wire);
  client.codec->encode_close(1000, "done", wire);
  const std::string bytes = wire.to_string();
  std::vector<WireFrame> frames = frames_of(bytes);
  ASSERT_EQ(frames.size(), 3u);
  EXPECT_EQ(frames[0].opcode, ws_opcode::kPing);
  EXPECT_EQ(frames[2].opcode, ws_opcode::kClose);
  EXPECT_EQ(frames[2].payload, std::string("\x03\xe8", 2) + "done");
  for (const WireFrame& f : frames) EXPECT_TRUE(f.masked && f.fin);

  ASSERT_TRUE(server.decode(bytes).ok());
  EXPECT_EQ(server.rec.pings, std::vector<std::string>{ping});
  EXPECT_EQ(server.rec.pongs, std::vector<std::string>{"keep"});
  ASSERT_TRUE(server.rec.close.has_value());
  EXPECT_EQ(*server.rec.close, std::make_pair(uint16_t{1000}, std::string("done")));
}

TEST(WsCodec, CloseWithoutStatusReports1005) {
  Codec server(WsRole::server), client(WsRole::client);
  ByteChain wire;
  server.codec->encode_close(kWsCloseNoStatus, "ignored", wire);
  std::vector<WireFrame> frames = frames_of(wire.to_string());
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_TRUE(frames[0].payload.empty());
  ASSERT_TRUE(client.decode(wire.to_string()).ok());
  ASSERT_TRUE(client.rec.close.has_value());
  EXPECT_EQ(client.rec.close->first, kWsCloseNoStatus);
}

TEST(WsCodec, NothingIsDecodedAfterClose) {
  Codec client(WsRole::client);
  const std::string wire = make_frame(ws_opcode::kClose, std::string("\x03\xe9", 2)) +
                           make_frame(ws_opcode::kBinary, "late");
  ASSERT_TRUE(client.decode(wire).ok());
  EXPECT_TRUE(client.leftover.empty());  // consumed and ignored
  EXPECT_TRUE(client.rec.data.empty());
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kBinary, "later")).ok());
  EXPECT_TRUE(client.rec.data.empty());
  EXPECT_EQ(client.rec.close->first, 1001);
}

TEST(WsCodec, NothingIsEncodedAfterClose) {
  Codec client(WsRole::client);
  ByteChain out;
  client.codec->encode_close(1000, "", out);
  const size_t close_size = out.size();
  ByteChain data("more");
  client.codec->encode_data(data, out);
  client.codec->encode_ping({}, out);
  client.codec->encode_close(1000, "again", out);
  EXPECT_TRUE(data.empty());
  EXPECT_EQ(out.size(), close_size);
}

TEST(WsCodec, ReceivingCloseDoesNotStopEncoding) {
  // wslay would answer the peer's Close itself and refuse anything after; our encoder is separate.
  Codec client(WsRole::client);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kClose, "")).ok());
  std::vector<WireFrame> frames = frames_of(client.encode_data("still here"));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].payload, "still here");
}

TEST(WsCodec, DecodingNeverWritesAutomaticReplies) {
  // A Ping decoded now must not make a Pong appear in the next encoded output.
  Codec client(WsRole::client);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kPing, "p")).ok());
  std::vector<WireFrame> frames = frames_of(client.encode_data("x"));
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].opcode, ws_opcode::kBinary);
}

TEST(WsCodec, FragmentedMessagesFromThePeerStream) {
  Codec client(WsRole::client);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kBinary, "Hel", false)).ok());
  EXPECT_EQ(client.rec.data, "Hel");  // streamed before the message ends
  EXPECT_EQ(client.rec.message_ends, 0);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kContinuation, "lo")).ok());
  EXPECT_EQ(client.rec.data, "Hello");
  EXPECT_EQ(client.rec.message_ends, 1);
}

TEST(WsCodec, EmptyMessageEndsWithEmptyPayload) {
  Codec client(WsRole::client);
  ASSERT_TRUE(client.decode(make_frame(ws_opcode::kBinary, "")).ok());
  EXPECT_EQ(client.rec.message_ends, 1);
  EXPECT_TRUE(client.rec.data.empty());
}

TEST(WsCodec, FrameStartReportsEveryHeader) {
  Codec server(WsRole::server);
  ASSERT_TRUE(server
                  .decode(make_frame(ws_opcode::kText, "ab", false, kMask) +
                          make_frame(ws_opcode::kContinuation, "c", true, kMask))
                  .ok());
  ASSERT_EQ(server.rec.frames.size(), 2u);
  EXPECT_FALSE(server.rec.frames[0].fin);
  EXPECT_EQ(server.rec.frames[0].opcode, ws_opcode::kText);
  EXPECT_TRUE(server.rec.frames[0].masked);
  EXPECT_EQ(server.rec.frames[0].payload_length, 2u);
  EXPECT_EQ(server.rec.frames[1].opcode, ws_opcode::kContinuation);
  EXPECT_EQ(server.rec.data, "abc");
  EXPECT_TRUE(server.rec.last_text);
}

TEST(WsCodec, CountsThePayloadCopies) {
  Codec client(WsRole::client);
  const CopyStats before = copy_stats();
  client.encode_data(pattern(32 * 1024));
  // At least wslay's queue_msg copy of every payload byte.
  EXPECT_GE(copy_stats().bytes - before.bytes, 32u * 1024);
}

// --- hostile input ------------------------------------------------------------------------

struct Hostile {
  const char* name;
  WsRole decoder;
  std::string wire;
  Errc code;
  const char* words;  // expected in the error detail
  uint64_t max_message = 16 * 1024 * 1024;
};

class WsCodecHostile : public ::testing::TestWithParam<Hostile> {};

TEST_P(WsCodecHostile, IsRejectedWithAClearError) {
  const Hostile& h = GetParam();
  WsCodecOptions o;
  o.max_message = h.max_message;
  Codec c(h.decoder, 1, o);
  Error e = c.decode(h.wire);
  EXPECT_EQ(e.code(), h.code) << e.message();
  EXPECT_NE(e.detail().find(h.words), std::string::npos) << e.detail();
  // Dead after: the same error again, whatever comes next.
  EXPECT_EQ(c.decode(make_frame(ws_opcode::kBinary, "ok")).code(), h.code);
  EXPECT_TRUE(c.rec.data.empty() || std::string(h.name) == "good_then_bad");
}

const std::string kGood = make_frame(ws_opcode::kBinary, "fine");

INSTANTIATE_TEST_SUITE_P(
    Frames, WsCodecHostile,
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
        Hostile{"text_not_utf8", WsRole::client, make_frame(ws_opcode::kText, "\xff\xfe"),
                Errc::protocol, "not valid UTF-8"},
        Hostile{"too_large_frame", WsRole::client, make_frame(2, std::string(1001, 'a')),
                Errc::too_large, "exceeds the limit of 1000", 1000},
        Hostile{"too_large_declared", WsRole::client,
                make_frame(2, "", true, {}, 0, uint64_t{1} << 40), Errc::too_large,
                "exceeds the limit"},
        Hostile{"too_large_message", WsRole::client,
                make_frame(2, std::string(600, 'a'), false) + make_frame(0, std::string(600, 'b')),
                Errc::too_large, "at least 1200 bytes", 1000},
        Hostile{"good_then_bad", WsRole::client, kGood + make_frame(3, ""), Errc::protocol,
                "reserved opcode"}),
    [](const ::testing::TestParamInfo<Hostile>& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace pvb
