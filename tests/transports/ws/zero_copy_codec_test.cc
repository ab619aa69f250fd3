// What only the zero-copy codec does: its masking shapes and UTF-8 validator, how few bytes it
// copies and holds back, and differential tests that it decodes and encodes exactly as the wslay
// codec does. The behaviour every codec shares is tested once, on both implementations, in
// ws_codec_contract_test.cc.
#include "transports/ws/zero_copy_codec.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "tests/transports/ws/codec_test_support.h"
#include "tests/transports/ws/ws_wire.h"
#include "transports/testing/mem_pipe.h"
#include "transports/ws/ws_transport.h"

namespace pvb {
namespace {

using wstest::bytes_of;
using wstest::Codec;
using wstest::DiscardSink;
using wstest::frames_of;
using wstest::impl_name;
using wstest::kBothRoles;
using wstest::kMask;
using wstest::make_frame;
using wstest::Mask;
using wstest::pattern;
using wstest::role_name;

Codec zero_copy(WsRole role, uint64_t seed = 42, WsCodecOptions o = {}) {
  return Codec(WsCodecImpl::zero_copy, role, seed, o);
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

// --- what it holds back -----------------------------------------------------------------------

TEST(ZeroCopyCodec, OnlyAnIncompleteHeaderIsHeldBack) {
  // Unlike the wslay codec (which holds a control frame back until it is whole), every payload
  // byte is taken as it arrives: control payloads are collected in the codec.
  for (WsRole role : kBothRoles) {
    SCOPED_TRACE(role_name(role));
    Codec c = zero_copy(role);
    const wstest::BytewiseDecode r = wstest::decode_byte_by_byte(
        *c.codec, wstest::mixed_frames(role, pattern(20000, 1), std::string(300, 't')));
    ASSERT_TRUE(r.error.ok()) << r.error.message();
    EXPECT_LT(r.most_held, 14u);
    EXPECT_EQ(r.left, 0u);
    EXPECT_EQ(c.log.pings.size(), 1u);
    EXPECT_TRUE(c.log.close.has_value());
  }
}

// --- copies ---------------------------------------------------------------------------------

std::string wire_for(WsRole sender, const std::string& payload, uint64_t seed = 7) {
  Codec enc = zero_copy(sender, seed);
  return enc.encode_data(payload);
}

// Decodes `in` with a zero-copy codec in `role` into `sink`; returns the bytes copied meanwhile.
uint64_t bytes_copied_decoding(WsRole role, ByteChain& in, DiscardSink& sink) {
  SeededRandom rng(1);
  ZeroCopyCodec codec(WsCodecOptions{role}, sink, rng);
  const CopyStats before = copy_stats();
  EXPECT_TRUE(codec.decode(in).ok());
  return copy_stats().bytes - before.bytes;
}

std::string kept_by(const DiscardSink& sink) {
  std::string got;
  for (const ByteChain& c : sink.kept) got += c.to_string();
  return got;
}

TEST(ZeroCopyCodecCopies, DecodingUnmaskedPayloadCopiesNothing) {
  const std::string payload = pattern(1024 * 1024, 6);
  ByteChain in(wire_for(WsRole::server, payload));  // 16 KiB blocks: frames straddle them
  DiscardSink sink;
  sink.keep = true;
  EXPECT_EQ(bytes_copied_decoding(WsRole::client, in, sink), 0u);
  EXPECT_EQ(sink.bytes, payload.size());
  EXPECT_TRUE(kept_by(sink) == payload);
}

TEST(ZeroCopyCodecCopies, DecodingMaskedPayloadUnmasksInPlaceWhenTheBlocksAreOurs) {
  // Frames as big as the input blocks: each block holds the end of one frame and the start of the
  // next, so this checks that the previous frame's slices count as ours.
  const std::string payload = pattern(1024 * 1024, 6);
  for (bool sink_keeps : {false, true}) {
    SCOPED_TRACE(sink_keeps ? "the sink keeps the payload" : "the sink drops the payload");
    ByteChain in(wire_for(WsRole::client, payload));
    DiscardSink sink;
    sink.keep = sink_keeps;
    EXPECT_EQ(bytes_copied_decoding(WsRole::server, in, sink), 0u);
    EXPECT_EQ(sink.bytes, payload.size());
    if (sink_keeps) {
      EXPECT_TRUE(kept_by(sink) == payload);
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

// The hostile frames every codec rejects (codec_test_support.h): the same callbacks before the
// error, the same error code, and the zero-copy codec's more precise words where wslay's are vague.
class ZeroCopyHostile : public ::testing::TestWithParam<wstest::Hostile> {};

TEST_P(ZeroCopyHostile, IsRejectedLikeWslayRejectsIt) {
  const wstest::Hostile& h = GetParam();
  WsCodecOptions o;
  o.max_message = h.max_message;
  Codec ours = zero_copy(h.decoder, 1, o);
  Codec wslay(WsCodecImpl::wslay, h.decoder, 1, o);
  Error e = ours.decode(h.wire);
  if (h.zero_copy_words != nullptr) {
    EXPECT_NE(e.detail().find(h.zero_copy_words), std::string::npos) << e.detail();
  }
  EXPECT_EQ(wslay.decode(h.wire).code(), e.code());
  EXPECT_EQ(ours.log.events, wslay.log.events);
  ours.decode(make_frame(ws_opcode::kBinary, "ok"));
  wslay.decode(make_frame(ws_opcode::kBinary, "ok"));
  EXPECT_EQ(ours.log.events, wslay.log.events);
}

INSTANTIATE_TEST_SUITE_P(Frames, ZeroCopyHostile, ::testing::ValuesIn(wstest::hostile_frames()),
                         [](const ::testing::TestParamInfo<wstest::Hostile>& info) {
                           return std::string(info.param.name);
                         });

class ZeroCopyEncodesLikeWslay : public ::testing::TestWithParam<size_t> {};

TEST_P(ZeroCopyEncodesLikeWslay, SameSeedSameWireBytesInBothRoles) {
  const std::string payload = pattern(GetParam(), static_cast<uint32_t>(GetParam()));
  for (WsRole role : kBothRoles) {
    SCOPED_TRACE(role_name(role));
    Codec ours = zero_copy(role, 99), wslay(WsCodecImpl::wslay, role, 99);
    EXPECT_TRUE(ours.encode_data(payload) == wslay.encode_data(payload));
  }
}

INSTANTIATE_TEST_SUITE_P(Sizes, ZeroCopyEncodesLikeWslay,
                         ::testing::Values(0, 1, 125, 126, 65535, 65536, 16 * 1024, 16 * 1024 + 1,
                                           1024 * 1024));

TEST(ZeroCopyDifferential, ControlFramesAreTruncatedLikeWslayDoes) {
  const std::string big(300, 'p');
  const std::string cut_character = std::string(122, 'a') + "\xc3\xa9";
  auto write_controls = [&](WsCodecImpl impl, WsRole role) {
    Codec c(impl, role, 3);
    ByteChain wire;
    c.codec->encode_ping(bytes_of(big), wire);
    c.codec->encode_pong(bytes_of(big), wire);
    c.codec->encode_close(1001, cut_character, wire);
    return wire.to_string();
  };
  for (WsRole role : kBothRoles) {
    SCOPED_TRACE(role_name(role));
    const std::string ours = write_controls(WsCodecImpl::zero_copy, role);
    EXPECT_TRUE(ours == write_controls(WsCodecImpl::wslay, role));
    EXPECT_EQ(frames_of(ours).size(), 3u);
  }
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
