// ViewerRfbLink across a reconnect of the node (issue 14), between a real RFB client (the test
// viewer, tests/fake_vm/rfb_client.h) and a node the test plays by hand: the viewer's update cut
// short is completed, keys typed while the node is away reach the new node after the resume's
// replays, in order, and a size change the viewer cannot follow is refused.
#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "engine/console/viewer_rfb_link.h"
#include "engine/rfb/big_endian.h"
#include "engine/rfb/client_stream.h"
#include "engine/rfb/rfb_wire.h"
#include "tests/fake_vm/rfb_client.h"
#include "transports/testing/mem_pipe.h"

namespace pvb {
namespace {

// What the link sends up to the node.
struct NodeSide : TransportSink {
  ByteChain data;
  bool ended = false;
  void on_data(ByteChain& chain, bool end_stream) override {
    data.move_from(chain);
    ended = ended || end_stream;
  }
  void on_closed(const Error&) override {}
};

struct Message {
  uint8_t type = 0;
  std::string bytes;
};

// The viewer's messages as the node receives them, delimited by the splice's own client stream.
std::vector<Message> messages(const ByteChain& in) {
  std::vector<Message> out;
  rfb::RfbClientStream stream(PixelFormat::rgb888());
  size_t at = 0;
  while (at < in.size()) {
    auto step = stream.next(in, at);
    if (!step.ok() || !step->found()) break;
    Message m;
    m.type = step->unit->type;
    m.bytes.resize(step->unit->length);
    in.copy_out(m.bytes.data(), m.bytes.size(), at);
    at += step->unit->length;
    out.push_back(std::move(m));
  }
  return out;
}

uint32_t keysym_of(const Message& m) {
  return get_u32(reinterpret_cast<const uint8_t*>(m.bytes.data()) + 4);
}
bool key_down(const Message& m) {
  return m.bytes[1] != 0;
}

constexpr uint16_t kW = 4, kH = 4;

class LinkAcrossReconnect : public ::testing::Test {
 protected:
  void SetUp() override {
    auto [viewer_end, link_end] = make_mem_pipe(loop_);
    rfb::ServerHandshakeConfig config;  // None: the test is about what follows the handshake
    ViewerRfbLink::Events events;
    events.on_handshake_done = [this] { handshake_done_ = true; };
    events.on_handshake_failed = [](const Error& e) { ADD_FAILURE() << e.message(); };
    link_ = std::make_unique<ViewerRfbLink>(std::move(link_end), config, std::move(events));
    link_->set_sink(&node_);
    RfbClientOptions o;
    viewer_ = std::make_unique<RfbTestClient>(std::move(viewer_end), o,
                                              [this](Result<RfbSnapshot> s) { screen_ = s; });
    link_->start();
    viewer_->start();
    ASSERT_TRUE(loop_.run_until([&] { return handshake_done_; }));
    rfb::ServerInit init;
    init.width = kW;
    init.height = kH;
    init.name = "node";
    link_->begin_splice(init);
    // The viewer's SetPixelFormat, SetEncodings and first update request reach the node.
    ASSERT_TRUE(loop_.run_until([&] {
      auto m = messages(node_.data);
      return !m.empty() && m.back().type == rfb::kFramebufferUpdateRequest;
    }));
    node_.data.clear();
  }

  // The node's bytes toward the viewer.
  void from_node(std::string bytes) {
    ByteChain c;
    c.append(bytes);
    link_->write(c);
  }
  static std::string update_header(uint16_t rects) {
    std::string s = {0, 0, static_cast<char>(rects >> 8), static_cast<char>(rects & 0xFF)};
    return s;
  }
  // x=0 y=0 w h, encoding 0 (Raw).
  static std::string raw_rect_header(uint16_t w, uint16_t h) {
    std::string s(12, '\0');
    s[5] = static_cast<char>(w);
    s[7] = static_cast<char>(h);
    return s;
  }

  Loop loop_;
  NodeSide node_;
  std::unique_ptr<ViewerRfbLink> link_;
  std::unique_ptr<RfbTestClient> viewer_;
  std::optional<Result<RfbSnapshot>> screen_;
  bool handshake_done_ = false;
};

TEST_F(LinkAcrossReconnect, TheCutUpdateIsCompletedAndKeysTypedMeanwhileFollowTheResumeInOrder) {
  // The node is lost 10 bytes into the pixels of a 4x4 Raw rectangle (64 bytes).
  from_node(update_header(1) + raw_rect_header(kW, kH) + std::string(10, '\x7f'));
  loop_.run_until([] { return false; });
  EXPECT_FALSE(screen_.has_value());
  ASSERT_TRUE(link_->suspend().ok());
  ASSERT_TRUE(loop_.run_until([&] { return screen_.has_value(); }));
  ASSERT_TRUE(screen_->ok()) << screen_->error().message();
  EXPECT_EQ(screen_->value().width, kW);

  // Typed while the node is away: nothing reaches a node.
  ASSERT_TRUE(viewer_->send_key('a', true));
  ASSERT_TRUE(viewer_->send_key('a', false));
  ASSERT_TRUE(viewer_->send_key('b', true));
  ASSERT_TRUE(viewer_->send_pointer(1, 1, 0));
  ASSERT_TRUE(viewer_->send_pointer(2, 2, 0));
  loop_.run_until([] { return false; });
  EXPECT_TRUE(node_.data.empty());
  EXPECT_EQ(link_->queue().messages(), 4u);  // the two moves coalesced

  rfb::ServerInit init;
  init.width = kW;
  init.height = kH;
  ASSERT_TRUE(link_->resume(init).ok());
  ASSERT_TRUE(viewer_->send_key('c', true));  // live again: after everything kept
  ASSERT_TRUE(loop_.run_until([&] {
    auto m = messages(node_.data);
    return !m.empty() && m.back().type == rfb::kKeyEvent && keysym_of(m.back()) == 'c';
  }));
  std::vector<Message> m = messages(node_.data);
  ASSERT_GE(m.size(), 4u);
  EXPECT_EQ(m[0].type, rfb::kSetPixelFormat);
  EXPECT_EQ(m[1].type, rfb::kSetEncodings);
  // A full, non-incremental update request before the kept input.
  size_t request = m.size();
  for (size_t i = 0; i < m.size(); ++i) {
    if (m[i].type == rfb::kFramebufferUpdateRequest && m[i].bytes[1] == 0) request = i;
  }
  ASSERT_LT(request, m.size());
  std::vector<std::pair<uint32_t, bool>> keys_after;
  for (size_t i = request + 1; i < m.size(); ++i) {
    if (m[i].type == rfb::kKeyEvent) keys_after.emplace_back(keysym_of(m[i]), key_down(m[i]));
  }
  std::vector<std::pair<uint32_t, bool>> want = {
      {'a', true}, {'a', false}, {'b', true}, {'c', true}};
  EXPECT_EQ(keys_after, want);
  // The update request came before any kept key.
  for (size_t i = 0; i < request; ++i) {
    if (m[i].type == rfb::kKeyEvent) {
      EXPECT_FALSE(key_down(m[i])) << "only releases before it";
    }
  }

  // The new node's updates reach the viewer, which is in step.
  const uint64_t before = viewer_->updates_received();
  from_node(update_header(1) + raw_rect_header(kW, kH) + std::string(kW * kH * 4, '\x10'));
  ASSERT_TRUE(loop_.run_until([&] { return viewer_->updates_received() > before; }));
  EXPECT_TRUE(viewer_->ready());
}

TEST_F(LinkAcrossReconnect, KeysDownAtTheCutAreReleasedOnTheNewSession) {
  from_node(update_header(1) + raw_rect_header(kW, kH) + std::string(kW * kH * 4, '\x10'));
  ASSERT_TRUE(loop_.run_until([&] { return screen_.has_value(); }));
  ASSERT_TRUE(viewer_->send_key('x', true));
  ASSERT_TRUE(loop_.run_until([&] { return !messages(node_.data).empty(); }));
  node_.data.clear();
  ASSERT_TRUE(link_->suspend().ok());
  rfb::ServerInit init;
  init.width = kW;
  init.height = kH;
  ASSERT_TRUE(link_->resume(init).ok());
  ASSERT_TRUE(loop_.run_until([&] { return !messages(node_.data).empty(); }));
  bool released = false;
  for (const Message& m : messages(node_.data)) {
    if (m.type == rfb::kKeyEvent && keysym_of(m) == 'x' && !key_down(m)) released = true;
  }
  EXPECT_TRUE(released);
}

TEST_F(LinkAcrossReconnect, ASizeChangeTheViewerCannotFollowIsRefused) {
  ASSERT_TRUE(link_->suspend().ok());
  rfb::ServerInit bigger;
  bigger.width = 8;
  bigger.height = 6;
  // The test viewer announces Raw only: neither DesktopSize nor ExtendedDesktopSize.
  Error e = link_->resume(bigger);
  EXPECT_EQ(e.code(), Errc::protocol);
  EXPECT_TRUE(link_->suspended());
}

TEST_F(LinkAcrossReconnect, AViewerThatLeavesWhileTheNodeIsAwayEndsTheSplice) {
  ASSERT_TRUE(link_->suspend().ok());
  viewer_->close();
  ASSERT_TRUE(loop_.run_until([&] { return node_.ended; }));
}

}  // namespace
}  // namespace pvb
