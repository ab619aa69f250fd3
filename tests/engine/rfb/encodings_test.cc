#include "engine/rfb/encodings.h"
#include "tests/engine/rfb/rfb_test_util.h"

#include <gtest/gtest.h>

#include "engine/rfb/client_stream.h"
#include "engine/rfb/rfb_wire.h"

namespace pvb::rfb {
namespace {

TEST(RfbEncodings, FilterKeepsWhatTheDelimiterKnowsInOrder) {
  const std::vector<int32_t> requested = {
      kEncodingTight,        17 /* ZYWRLE */,          kPseudoXvp,  kPseudoTightPng,
      -247 /* compress 9 */, -23 /* quality 9 */,      -22,         -305,
      kEncodingZrle,         kPseudoExtendedClipboard, kEncodingRaw};
  EXPECT_EQ(filter_encodings(requested),
            (std::vector<int32_t>{kEncodingTight, kPseudoXvp, -247, -23, kEncodingZrle,
                                  kPseudoExtendedClipboard, kEncodingRaw}));
}

TEST(RfbEncodings, TightDroppedForAnAmbiguousPixelFormat) {
  const std::vector<int32_t> requested = {kEncodingTight, kEncodingRaw};
  PixelFormat pf = PixelFormat::rgb888();
  EXPECT_EQ(filter_encodings(requested, &pf), requested);
  pf.depth = 32;
  EXPECT_EQ(filter_encodings(requested, &pf), (std::vector<int32_t>{kEncodingRaw}));
}

TEST(RfbEncodings, RemoteViewerListIsKeptWhole) {
  const std::vector<int32_t>& list = testing::remote_viewer_encoding_list();
  PixelFormat pf = PixelFormat::rgb888();
  EXPECT_EQ(filter_encodings(list, &pf), list);
}

TEST(RfbEncodings, WrittenMessageParsesBack) {
  const std::vector<int32_t> list = {kEncodingTight, kPseudoLastRect, kEncodingRaw};
  ByteChain out;
  write_set_encodings(list, out);
  EXPECT_EQ(out.size(), 16u);
  EXPECT_EQ(out.to_string().substr(0, 4), std::string("\x02\x00\x00\x03", 4));
  RfbClientStream s(PixelFormat::rgb888());
  auto r = s.next(out);
  ASSERT_TRUE(r.ok() && r->found());
  EXPECT_EQ(r->unit->length, 16u);
  EXPECT_EQ(s.encodings(), list);
}

TEST(RfbEncodings, NamesForErrors) {
  EXPECT_EQ(encoding_name(kEncodingTight), "Tight (7)");
  EXPECT_EQ(encoding_name(kPseudoLastRect), "LastRect (-224)");
  EXPECT_EQ(encoding_name(-247), "compression level 9 (-247)");
  EXPECT_EQ(encoding_name(-32), "JPEG quality 0 (-32)");
  EXPECT_EQ(encoding_name(12345), "unknown (12345)");
}

}  // namespace
}  // namespace pvb::rfb
