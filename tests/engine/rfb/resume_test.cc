// The resume rewrites (engine/rfb/resume.h): the encodings of a resumed session, and what the new
// server is sent before live traffic.
#include "engine/rfb/resume.h"

#include <gtest/gtest.h>

#include "engine/rfb/client_stream.h"
#include "engine/rfb/input_state.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/viewer_queue.h"
#include "tests/engine/rfb/rfb_test_util.h"

namespace pvb::rfb {
namespace {

using testing::Bytes;

TEST(Resume, EncodingsLeaveOutTheStreamsThatCannotReset) {
  const auto& list = testing::remote_viewer_encoding_list();
  std::vector<int32_t> expected;
  for (int32_t e : list) {
    if (e != kEncodingZrle && e != kEncodingZlib) expected.push_back(e);
  }
  EXPECT_EQ(filter_encodings_for_resume(list), expected);
  const std::vector<int32_t> zlib_first = {kEncodingZlib, kEncodingZrle, kEncodingHextile, 12345};
  EXPECT_EQ(filter_encodings_for_resume(zlib_first), std::vector<int32_t>{kEncodingHextile});
  // Tight stays (its streams reset), unless the format makes it ambiguous, as on a first session.
  PixelFormat depth32 = PixelFormat::rgb888();
  depth32.depth = 32;
  const std::vector<int32_t> tight = {kEncodingTight, kEncodingRaw};
  EXPECT_EQ(filter_encodings_for_resume(tight), tight);
  EXPECT_EQ(filter_encodings_for_resume(tight, &depth32), std::vector<int32_t>{kEncodingRaw});
}

TEST(Resume, WritesWhatTheNewServerNeedsInOrder) {
  PixelFormat viewer_format = PixelFormat::rgb565();
  const std::vector<int32_t> sent =
      filter_encodings_for_resume(testing::remote_viewer_encoding_list());
  InputStateTracker input;
  input.sent(Bytes().u8(kKeyEvent).u8(1).u16(0).u32('k').str());
  ViewerQueue queue;
  const std::string typed = Bytes().u8(kKeyEvent).u8(1).u16(0).u32('z').str();
  queue.push(ClientMessage{kKeyEvent, 0, 8}, typed);
  ByteChain out;
  write_resume_to_server(viewer_format, sent, 1280, 800, input, queue, out);
  EXPECT_TRUE(queue.empty());
  EXPECT_EQ(input.keys_down(), 1u) << "the queued key went through the tracker";

  RfbClientStream server_view(PixelFormat::rgb888());  // the new server's ServerInit format
  const std::string bytes = out.to_string();
  auto run = testing::delimit<ClientMessage>(server_view, bytes);
  ASSERT_FALSE(run.error.failed()) << run.error.message();
  EXPECT_EQ(run.end, bytes.size());
  std::vector<uint8_t> types;
  for (const ClientMessage& m : run.units) types.push_back(m.type);
  EXPECT_EQ(types, (std::vector<uint8_t>{kSetPixelFormat, kSetEncodings, kKeyEvent,
                                         kFramebufferUpdateRequest, kKeyEvent}));
  EXPECT_EQ(server_view.pixel_format(), viewer_format);
  EXPECT_EQ(server_view.encodings(), sent);
  const size_t request = run.offsets[3];
  EXPECT_EQ(bytes.substr(request, 10),
            Bytes().u8(kFramebufferUpdateRequest).u8(0).u16(0).u16(0).u16(1280).u16(800).str())
      << "non-incremental, the whole new framebuffer";
  EXPECT_EQ(bytes.substr(run.offsets[2], 8), Bytes().u8(kKeyEvent).u8(0).u16(0).u32('k').str());
  EXPECT_EQ(bytes.substr(run.offsets[4]), typed);
}

TEST(Resume, ResizeIsTheViewersKindOrCannotResize) {
  ByteChain out;
  const std::vector<int32_t> both = {kPseudoDesktopSize, kPseudoExtendedDesktopSize};
  EXPECT_EQ(write_resize(800, 600, 800, 600, both, out), ResizeResult::same_size);
  EXPECT_TRUE(out.empty());
  EXPECT_EQ(write_resize(800, 600, 1024, 768, both, out), ResizeResult::announced);
  EXPECT_EQ(out.to_string(), Bytes()
                                 .u8(kFramebufferUpdate)
                                 .u8(0)
                                 .u16(1)
                                 .rect(0, 0, 1024, 768, kPseudoExtendedDesktopSize)
                                 .u8(1)
                                 .fill(3, 0)
                                 .u32(1)  // screen id 1: libvncclient 0.9.14 ignores id 0
                                 .u16(0)
                                 .u16(0)
                                 .u16(1024)
                                 .u16(768)
                                 .u32(0)
                                 .str());
  out.clear();
  const std::vector<int32_t> plain = {kEncodingRaw, kPseudoDesktopSize};
  EXPECT_EQ(write_resize(800, 600, 1024, 600, plain, out), ResizeResult::announced);
  EXPECT_EQ(
      out.to_string(),
      Bytes().u8(kFramebufferUpdate).u8(0).u16(1).rect(0, 0, 1024, 600, kPseudoDesktopSize).str());
  out.clear();
  const std::vector<int32_t> neither = {kEncodingRaw, kPseudoLastRect};
  EXPECT_EQ(write_resize(800, 600, 1024, 600, neither, out), ResizeResult::cannot_resize);
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace pvb::rfb
