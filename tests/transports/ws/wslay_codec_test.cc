// What only the wslay-backed codec does. The behaviour every codec shares is tested once, on both
// implementations, in ws_codec_contract_test.cc.
#include "transports/ws/wslay_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/transports/ws/codec_test_support.h"
#include "tests/transports/ws/ws_wire.h"

namespace pvb {
namespace {

using wstest::Codec;
using wstest::DiscardSink;
using wstest::frame_to;
using wstest::kBothRoles;
using wstest::pattern;
using wstest::role_name;

TEST(WslayCodec, CopiesEveryPayloadByteTwiceEachWay) {
  // The baseline the zero-copy codec is measured against: wslay's queue_msg copies the payload,
  // then the send callback appends it (masked) to the output; decoding copies into wslay's
  // receive buffer, then out of it.
  for (size_t n : {32 * 1024, 256 * 1024}) {
    SCOPED_TRACE(n);
    const std::string text = pattern(n, 2);
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
}

TEST(WslayCodec, HoldsAControlFrameBackUntilItIsWhole) {
  // wslay 1.1.1 judges a Close reason per chunk it is given, so control frames (at most 139 bytes)
  // are handed to it whole: the bytes stay in the input until the frame is complete.
  for (WsRole role : kBothRoles) {
    SCOPED_TRACE(role_name(role));
    Codec c(WsCodecImpl::wslay, role);
    const std::string f = frame_to(role, ws_opcode::kPing, std::string(125, 'p'));
    ByteChain in(f.substr(0, f.size() - 1));
    ASSERT_TRUE(c.codec->decode(in).ok());
    EXPECT_EQ(in.size(), f.size() - 1);
    EXPECT_TRUE(c.log.pings.empty());
    ByteChain last(f.substr(f.size() - 1));
    in.move_from(last);
    ASSERT_TRUE(c.codec->decode(in).ok());
    EXPECT_TRUE(in.empty());
    EXPECT_EQ(c.log.pings, std::vector<std::string>{std::string(125, 'p')});
  }
}

}  // namespace
}  // namespace pvb
