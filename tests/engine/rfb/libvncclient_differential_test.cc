// Differential test: the same server streams through RfbServerStream and through libvncclient
// (an independent, complete decoder: Remmina's and vncsnapshot's library), and every boundary
// must match: where each message ends, and where each pixel rectangle ends (libvncclient calls
// GotFrameBufferUpdate right after decoding one; pseudo-encodings it handles silently, so only
// the message ends count for those).
//
// libvncclient reads from a socket: we write the stream into one end of a socketpair and feed
// libvncclient the other, as if its handshake were done. "Consumed so far" is the bytes written
// minus what is still in the socket (FIONREAD) minus libvncclient's own read-ahead buffer.
//
// Streams: the real QEMU recordings libvncclient can decode (it lacks QEMU's LED state, audio
// and pointer-type pseudo-encodings, WMVi), and generated ones with real zlib data for every
// encoding both sides know: Raw, CopyRect, RRE, CoRRE, Hextile (every subencoding), Zlib, Tight
// (fill, copy, palette of 2 and 4 colours, gradient, below and above 12 bytes), ZRLE, cursors,
// DesktopSize, LastRect, Bell, ServerCutText.
// And the reconnect's rewrites (ServerGate): a session cut at every byte and completed, then a
// new session whose fresh Tight deflaters the gate's reset bits put in step with libvncclient's
// inflaters.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <rfb/rfbclient.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <zlib.h>

#include <cstdarg>
#include <fstream>
#include <sstream>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/client_stream.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_gate.h"
#include "engine/rfb/server_stream.h"
#include "tests/engine/rfb/rfb_test_util.h"

// libvncclient 0.9.14 (Debian 12) never frees its JPEG decompressor (fixed upstream after
// 0.9.14: LibVNC/libvncserver 7c1a422e "libvncclient: fix possible memory leak"). It exports its
// bundled turbojpeg wrapper, so we free the handle ourselves before rfbClientCleanup.
extern "C" int tjDestroy(void* handle);

namespace pvb::rfb {
namespace {

using testing::Bytes;

struct Boundaries {
  std::vector<uint64_t> message_ends;
  std::vector<uint64_t> pixel_rect_ends;
  std::string failure;
  bool operator==(const Boundaries& o) const {
    return message_ends == o.message_ends && pixel_rect_ends == o.pixel_rect_ends;
  }
};

bool is_pixel_encoding(int32_t e) {
  return e == kEncodingRaw || e == kEncodingCopyRect || e == kEncodingRre || e == kEncodingCoRre ||
         e == kEncodingHextile || e == kEncodingZlib || e == kEncodingTight || e == kEncodingZrle;
}

Boundaries ours(const PixelFormat& pf, uint16_t w, uint16_t h, std::string_view data) {
  RfbServerStream s(pf, w, h);
  auto run = testing::delimit<ServerUnit>(s, data, 1000);
  Boundaries b;
  if (run.error.failed()) b.failure = run.error.message();
  for (size_t i = 0; i < run.units.size(); ++i) {
    const ServerUnit& u = run.units[i];
    const uint64_t end = run.offsets[i] + u.length;
    if (u.kind == ServerUnitKind::rect && is_pixel_encoding(u.rect.encoding)) {
      b.pixel_rect_ends.push_back(end);
    }
    const bool message_done =
        u.kind != ServerUnitKind::rect && u.kind != ServerUnitKind::update_header ? true
                                                                                  : u.ends_update;
    if (message_done) b.message_ends.push_back(end);
  }
  return b;
}

struct LibvncRun {
  rfbClient* client = nullptr;
  int fd = -1;
  uint64_t total = 0;
  Boundaries b;
  uint64_t consumed() const {
    int pending = 0;
    ioctl(fd, FIONREAD, &pending);
    return total - static_cast<uint64_t>(pending) - client->buffered;
  }
};

int tag;  // rfbClientSetClientData's key

void got_update(rfbClient* c, int, int, int, int) {
  auto* run = static_cast<LibvncRun*>(rfbClientGetClientData(c, &tag));
  run->b.pixel_rect_ends.push_back(run->consumed());
}

// libvncclient leaves each new cursor shape to the application, which owns it from then on.
void got_cursor_shape(rfbClient* c, int, int, int, int, int) {
  free(c->rcSource);
  free(c->rcMask);
  c->rcSource = c->rcMask = nullptr;
}

void quiet(const char*, ...) {}

Boundaries libvncclient(const PixelFormat& pf, uint16_t w, uint16_t h, std::string_view data) {
  rfbClientLog = quiet;
  rfbClientErr = quiet;
  int sv[2];
  EXPECT_EQ(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
  int big = 4 << 20;
  setsockopt(sv[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
  setsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof big);
  // Our end must not block: libvncclient writes its update requests back into it.
  fcntl(sv[1], F_SETFL, O_NONBLOCK);
  size_t written = 0;
  while (written < data.size()) {
    ssize_t n = write(sv[1], data.data() + written, data.size() - written);
    if (n <= 0) break;
    written += static_cast<size_t>(n);
  }
  EXPECT_EQ(written, data.size()) << "the stream must fit in the socket buffer";
  shutdown(sv[1], SHUT_WR);

  LibvncRun run;
  run.client = rfbGetClient(8, 3, 4);
  run.fd = sv[0];
  run.total = written;
  rfbClient* c = run.client;
  c->sock = sv[0];
  c->width = w;
  c->height = h;
  c->format.bitsPerPixel = pf.bits_per_pixel;
  c->format.depth = pf.depth;
  c->format.bigEndian = pf.big_endian;
  c->format.trueColour = pf.true_colour;
  c->format.redMax = pf.red_max;
  c->format.greenMax = pf.green_max;
  c->format.blueMax = pf.blue_max;
  c->format.redShift = pf.red_shift;
  c->format.greenShift = pf.green_shift;
  c->format.blueShift = pf.blue_shift;
  c->si.format = c->format;
  c->si.framebufferWidth = w;
  c->si.framebufferHeight = h;
  c->MallocFrameBuffer(c);
  c->GotFrameBufferUpdate = got_update;
  c->GotCursorShape = got_cursor_shape;
  rfbClientSetClientData(c, &tag, &run);
  while (run.consumed() < run.total) {
    if (!HandleRFBServerMessage(c)) {
      run.b.failure = "libvncclient failed at byte " + std::to_string(run.consumed());
      break;
    }
    run.b.message_ends.push_back(run.consumed());
  }
  close(sv[1]);
  // The application owns the framebuffer and the cursor shape; rfbClientCleanup frees neither.
  free(c->frameBuffer);
  free(c->rcSource);
  free(c->rcMask);
  c->frameBuffer = nullptr;
  c->rcSource = c->rcMask = nullptr;
  if (c->tjhnd) tjDestroy(c->tjhnd);
  c->tjhnd = nullptr;
  rfbClientCleanup(c);  // closes sv[0]
  return run.b;
}

std::string read_file(const std::string& name) {
  std::ifstream f(std::string(PVB_RFB_TEST_DATA) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

void expect_same_boundaries(const PixelFormat& pf, uint16_t w, uint16_t h, std::string_view data) {
  Boundaries a = ours(pf, w, h, data);
  Boundaries b = libvncclient(pf, w, h, data);
  ASSERT_EQ(a.failure, "");
  ASSERT_EQ(b.failure, "");
  EXPECT_FALSE(a.message_ends.empty());
  EXPECT_EQ(a.message_ends, b.message_ends);
  EXPECT_EQ(a.pixel_rect_ends, b.pixel_rect_ends);
  EXPECT_EQ(a.message_ends.back(), data.size());
}

// --- recorded QEMU sessions -------------------------------------------------------------------

class LibvncclientOnQemuRecording : public ::testing::TestWithParam<const char*> {};

TEST_P(LibvncclientOnQemuRecording, SameBoundaries) {
  std::string server = read_file(std::string(GetParam()) + ".server");
  std::string client = read_file(std::string(GetParam()) + ".client");
  ASSERT_GT(server.size(), 24u);
  const auto* p = reinterpret_cast<const uint8_t*>(server.data());
  const size_t init = 24 + get_u32(p + 20);
  RfbClientStream sent(PixelFormat::read(p + 4));
  testing::delimit<ClientMessage>(sent, client);
  std::string_view messages = std::string_view(server).substr(init);
  Boundaries a = ours(sent.pixel_format(), get_u16(p), get_u16(p + 2), messages);
  expect_same_boundaries(sent.pixel_format(), get_u16(p), get_u16(p + 2), messages);
  EXPECT_GE(a.pixel_rect_ends.size(), 5u);
}

INSTANTIATE_TEST_SUITE_P(Qemu, LibvncclientOnQemuRecording,
                         ::testing::Values("qemu_tight_16bpp", "qemu_zrle", "qemu_zlib",
                                           "qemu_hextile_8bpp", "qemu_wmvi_hextile"));

// The fake VM's recorded sessions (tools/record_fake_vm_streams.py): every encoder it has.
INSTANTIATE_TEST_SUITE_P(FakeVm, LibvncclientOnQemuRecording,
                         ::testing::Values("fakevm_tight", "fakevm_tight_jpeg",
                                           "fakevm_tight_16bpp", "fakevm_zrle",
                                           "fakevm_hextile_16bpp", "fakevm_zlib",
                                           "fakevm_zrle_resize"));

// --- generated streams with real compressed data ----------------------------------------------

// One deflate stream, flushed per rectangle, as a server keeps one per encoding (or per Tight
// stream id) for the whole connection.
class Deflater {
 public:
  Deflater() { deflateInit(&z_, 6); }
  ~Deflater() { deflateEnd(&z_); }
  std::string compress(const std::string& in) {
    std::string out(in.size() + 1024, '\0');
    z_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_.avail_in = static_cast<uInt>(in.size());
    z_.next_out = reinterpret_cast<Bytef*>(out.data());
    z_.avail_out = static_cast<uInt>(out.size());
    deflate(&z_, Z_SYNC_FLUSH);
    out.resize(out.size() - z_.avail_out);
    return out;
  }

 private:
  z_stream z_{};
};

std::string pattern(size_t n, uint8_t seed) {
  std::string s(n, '\0');
  for (size_t i = 0; i < n; ++i) s[i] = static_cast<char>((i * 7 + seed) % 251);
  return s;
}

Bytes update_header(uint16_t rects) {
  Bytes b;
  b.u8(kFramebufferUpdate).u8(0).u16(rects);
  return b;
}

TEST(LibvncclientGenerated, ClassicEncodingsAtEveryDepth) {
  PixelFormat bgr233;
  bgr233.bits_per_pixel = 8;
  bgr233.depth = 8;
  bgr233.red_max = bgr233.green_max = 7;
  bgr233.blue_max = 3;
  bgr233.red_shift = 0;
  bgr233.green_shift = 3;
  bgr233.blue_shift = 6;
  for (const PixelFormat& pf : {PixelFormat::rgb888(), PixelFormat::rgb565(), bgr233}) {
    const size_t bpp = pf.bits_per_pixel / 8;
    Bytes b = update_header(5);
    b.rect(0, 0, 7, 5, kEncodingRaw).raw(pattern(7 * 5 * bpp, 1));
    b.rect(10, 10, 7, 5, kEncodingCopyRect).u16(0).u16(0);
    b.rect(0, 0, 20, 20, kEncodingRre).u32(2).fill(bpp, 1);
    for (int i = 0; i < 2; ++i) b.fill(bpp, 2).u16(1).u16(1).u16(3).u16(3);
    b.rect(0, 0, 20, 20, kEncodingCoRre).u32(1).fill(bpp, 1).fill(bpp, 3).u8(0).u8(0).u8(5).u8(5);
    // Hextile 33x20: 3x2 tiles with every subencoding.
    b.rect(0, 0, 33, 20, kEncodingHextile);
    b.u8(1).raw(pattern(16 * 16 * bpp, 2));                                   // raw
    b.u8(2 | 4 | 8).fill(bpp, 1).fill(bpp, 2).u8(2).u16(0x0011).u16(0x2233);  // bg fg 2 subrects
    b.u8(8 | 16).u8(1).fill(bpp, 5).u8(0x00).u8(0x00);                        // coloured subrect
    b.u8(0);                                                                  // same background
    b.u8(2).fill(bpp, 9);                                                     // background only
    b.u8(1).raw(pattern(1 * 4 * bpp, 3));                                     // raw 1x4
    b.u8(kBell);
    b.u8(kServerCutText).fill(3, 0).u32(5).raw("hello");
    expect_same_boundaries(pf, 64, 48, b.str());
  }
}

// Zlib and ZRLE in separate sessions: libvncclient inflates both with one shared stream, so a
// server mixing them would confuse it (QEMU keeps one per encoding).
TEST(LibvncclientGenerated, Zlib) {
  Deflater zlib;
  Bytes b = update_header(2);
  for (int i = 0; i < 2; ++i) {
    std::string z = zlib.compress(pattern(10 * 6 * 4, static_cast<uint8_t>(i)));
    b.rect(0, 0, 10, 6, kEncodingZlib).u32(z.size()).raw(z);
  }
  expect_same_boundaries(PixelFormat::rgb888(), 100, 50, b.str());
}

TEST(LibvncclientGenerated, Zrle) {
  Deflater zrle;
  Bytes b = update_header(2);
  for (int i = 0; i < 2; ++i) {
    // One 70x3 rect: two tiles (64 and 6 wide), each raw (subencoding 0) in 3-byte CPIXELs.
    std::string tiles;
    tiles += '\0';
    tiles += pattern(64 * 3 * 3, 1);
    tiles += '\0';
    tiles += pattern(6 * 3 * 3, 2);
    std::string z = zrle.compress(tiles);
    b.rect(0, 0, 70, 3, kEncodingZrle).u32(z.size()).raw(z);
  }
  expect_same_boundaries(PixelFormat::rgb888(), 100, 50, b.str());
}

TEST(LibvncclientGenerated, TightEveryMethod) {
  for (const PixelFormat& pf : {PixelFormat::rgb888(), PixelFormat::rgb565()}) {
    const size_t tpixel = pf.bits_per_pixel == 32 ? 3 : 2;
    Deflater streams[4];
    Bytes b = update_header(0xFFFF);                                // ended by LastRect
    b.rect(0, 0, 50, 40, kEncodingTight).u8(0x80).fill(tpixel, 7);  // fill
    // Copy, below 12 bytes: raw.
    b.rect(0, 0, 1, 2, kEncodingTight).u8(0x00).raw(pattern(2 * tpixel, 1));
    // Copy, compressed, stream 1, explicit filter.
    std::string copy = streams[1].compress(pattern(20 * 10 * tpixel, 2));
    b.rect(0, 0, 20, 10, kEncodingTight).u8(0x50).u8(0).compact(copy.size()).raw(copy);
    // Palette of 2: one bit per pixel, 20x10 -> 3 bytes a row, compressed, stream 2.
    std::string mono = streams[2].compress(pattern(3 * 10, 3));
    b.rect(0, 0, 20, 10, kEncodingTight)
        .u8(0x60)
        .u8(1)
        .u8(1)
        .fill(2 * tpixel, 4)
        .compact(mono.size())
        .raw(mono);
    // Palette of 4 colours, 3x3: 9 bytes, raw.
    b.rect(0, 0, 3, 3, kEncodingTight)
        .u8(0x40)
        .u8(1)
        .u8(3)
        .fill(4 * tpixel, 5)
        .raw(std::string("\0\1\2\3\0\1\2\3\0", 9));
    // Gradient, compressed, stream 3.
    std::string grad = streams[3].compress(pattern(8 * 8 * tpixel, 4));
    b.rect(0, 0, 8, 8, kEncodingTight).u8(0x70).u8(2).compact(grad.size()).raw(grad);
    // A second rect on stream 1: the deflater's state carries over.
    std::string copy2 = streams[1].compress(pattern(30 * 30 * tpixel, 9));
    b.rect(0, 0, 30, 30, kEncodingTight).u8(0x50).u8(0).compact(copy2.size()).raw(copy2);
    b.rect(0, 0, 0, 0, kPseudoLastRect);
    expect_same_boundaries(pf, 64, 48, b.str());
  }
}

TEST(LibvncclientGenerated, CursorsDesktopSizeAndLastRect) {
  const PixelFormat pf = PixelFormat::rgb565();
  Bytes b = update_header(5);
  b.rect(1, 1, 10, 3, kPseudoRichCursor).raw(pattern(10 * 3 * 2, 1)).fill(2 * 3, 0xFF);
  b.rect(1, 1, 9, 2, kPseudoXCursor).fill(6, 0).fill(2 * 2 * 2, 0xF0);
  b.rect(0, 0, 2, 2, kEncodingRaw).fill(8);
  b.rect(0, 0, 128, 96, kPseudoDesktopSize);
  b.rect(0, 0, 100, 90, kEncodingRaw).raw(pattern(100 * 90 * 2, 3));
  Bytes c = update_header(0xFFFF);
  c.rect(0, 0, 1, 1, kEncodingRaw).fill(2);
  c.rect(0, 0, 0, 0, kPseudoLastRect);
  expect_same_boundaries(pf, 64, 48, b.str() + c.str());
}

// --- a cut session completed, then a new one (ServerGate, issue 14) -----------------------------

// Session 1 cut after `cut` bytes and completed by the gate; then session 2 through the gate.
std::string cut_and_resumed(std::string_view session1, size_t cut, std::string_view session2,
                            const std::vector<int32_t>& encodings) {
  ServerGate gate(PixelFormat::rgb888(), 64, 48);
  gate.set_client_encodings(encodings);
  ByteChain in, viewer;
  testing::append_piece(in, session1.substr(0, cut));
  auto ready = gate.advance(in);
  EXPECT_TRUE(ready.ok());
  EXPECT_TRUE(gate.finish_cut(in, viewer).ok());
  EXPECT_EQ(gate.resume_session(64, 48, encodings, viewer), ResizeResult::same_size);
  testing::append_piece(in, session2);
  ready = gate.advance(in);
  EXPECT_TRUE(ready.ok());
  EXPECT_EQ(*ready, session2.size());
  viewer.move_from(in);
  return viewer.to_string();
}

TEST(LibvncclientReconnect, CutAnywhereCompletedAndResumedDecodes) {
  const size_t tpixel = 3;
  Deflater old_streams[4], new_streams[4];
  Bytes one = update_header(4);
  one.rect(0, 0, 4, 2, kEncodingRaw).raw(pattern(4 * 2 * 4, 1));
  std::string a = old_streams[1].compress(pattern(20 * 10 * tpixel, 2));
  one.rect(0, 0, 20, 10, kEncodingTight).u8(0x10).compact(a.size()).raw(a);
  one.rect(0, 0, 17, 16, kEncodingHextile).u8(2).fill(4, 1).u8(1).raw(pattern(1 * 16 * 4, 3));
  std::string b = old_streams[2].compress(pattern(8 * 8 * tpixel, 4));
  one.rect(0, 0, 8, 8, kEncodingTight).u8(0x20).compact(b.size()).raw(b);
  one.u8(kBell);
  // The new server's deflaters start afresh; it sets no reset bit (QEMU never does).
  Bytes two = update_header(3);
  for (int stream : {1, 2, 1}) {
    std::string z = new_streams[stream].compress(pattern(16 * 9 * tpixel, uint8_t(stream)));
    two.rect(0, 0, 16, 9, kEncodingTight).u8(uint8_t(stream << 4)).compact(z.size()).raw(z);
  }
  const std::vector<int32_t> with_last_rect = {kEncodingTight, kPseudoLastRect, kEncodingRaw};
  const std::vector<int32_t> without = {kEncodingTight, kEncodingHextile, kEncodingRaw};
  for (const auto* encodings : {&with_last_rect, &without}) {
    for (size_t cut = 0; cut <= one.size(); ++cut) {
      const std::string stream = cut_and_resumed(one.str(), cut, two.str(), *encodings);
      Boundaries theirs = libvncclient(PixelFormat::rgb888(), 64, 48, stream);
      ASSERT_EQ(theirs.failure, "") << "cut at " << cut;
      Boundaries mine = ours(PixelFormat::rgb888(), 64, 48, stream);
      ASSERT_EQ(mine.failure, "");
      EXPECT_EQ(theirs.message_ends, mine.message_ends) << "cut at " << cut;
      ASSERT_FALSE(theirs.message_ends.empty());
      EXPECT_EQ(theirs.message_ends.back(), stream.size()) << "cut at " << cut;
    }
  }
  // Without the gate's reset bits, libvncclient's inflaters are out of step: the check above
  // would catch a missing reset.
  const std::string whole = one.str();
  Boundaries broken = libvncclient(PixelFormat::rgb888(), 64, 48, whole + two.str());
  EXPECT_NE(broken.failure, "");
}

}  // namespace
}  // namespace pvb::rfb
