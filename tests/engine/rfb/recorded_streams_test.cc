// The delimiters over real QEMU sessions recorded by tools/record_qemu_streams.py: QEMU 7.2 as
// Proxmox runs it, with remote-viewer's encoding list and variations that make it use each of
// its encodings (Tight with and without JPEG, at 32 and 16 bpp, ZRLE, Zlib, Hextile at 8 bpp,
// WMVi). Every byte must be delimited, whole and however it is cut.
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/client_stream.h"
#include "engine/rfb/encodings.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_stream.h"
#include "tests/engine/rfb/rfb_test_util.h"

namespace pvb::rfb {
namespace {

std::string read_file(const std::string& name) {
  std::ifstream f(std::string(PVB_RFB_TEST_DATA) + "/" + name, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

struct Recording {
  std::string client, server;  // server: ServerInit first
  PixelFormat init_format;
  uint16_t width = 0, height = 0;
  size_t init_length = 0;
};

Recording load(const std::string& name) {
  Recording r;
  r.client = read_file(name + ".client");
  r.server = read_file(name + ".server");
  if (r.server.size() < 24) return r;
  const auto* p = reinterpret_cast<const uint8_t*>(r.server.data());
  r.width = get_u16(p);
  r.height = get_u16(p + 2);
  r.init_format = PixelFormat::read(p + 4);
  r.init_length = 24 + get_u32(p + 20);
  return r;
}

struct Expectation {
  const char* name;
  int32_t encoding;  // the encoding QEMU must have used for pixels
  int32_t also = 0;  // another encoding that must appear (0: none)
};

class RecordedQemuStream : public ::testing::TestWithParam<Expectation> {};

TEST_P(RecordedQemuStream, EveryByteIsDelimited) {
  const Expectation& e = GetParam();
  Recording rec = load(e.name);
  ASSERT_GT(rec.server.size(), rec.init_length) << "missing recording " << e.name;

  // What we sent: SetPixelFormat, SetEncodings, update requests.
  RfbClientStream client(rec.init_format);
  auto sent = testing::delimit<ClientMessage>(client, rec.client);
  ASSERT_FALSE(sent.error.failed()) << sent.error.message();
  EXPECT_EQ(sent.end, rec.client.size());
  EXPECT_EQ(filter_encodings(client.encodings()), client.encodings())
      << "the recordings use only encodings the bridge lets through";

  std::string_view messages = std::string_view(rec.server).substr(rec.init_length);
  auto make_stream = [&] {
    RfbServerStream s(rec.init_format, rec.width, rec.height);
    s.set_pixel_format(client.pixel_format());
    s.set_client_encodings(client.encodings());
    return s;
  };
  auto whole_stream = make_stream();
  auto whole = testing::delimit<ServerUnit>(whole_stream, messages);
  ASSERT_FALSE(whole.error.failed()) << whole.error.message();
  EXPECT_EQ(whole.contract_violation, "");
  EXPECT_EQ(whole.end, messages.size()) << "the recording ends on a boundary";
  for (size_t piece : {size_t{1}, size_t{1000}}) {
    auto s = make_stream();
    auto split = testing::delimit<ServerUnit>(s, messages, piece);
    EXPECT_EQ(split.offsets, whole.offsets) << "piece " << piece;
    EXPECT_EQ(split.contract_violation, "");
  }

  std::map<int32_t, int> rects;
  std::map<int, int> tight_methods;  // the control byte's high nibble
  int updates = 0;
  for (const ServerUnit& u : whole.units) {
    if (u.kind == ServerUnitKind::rect) ++rects[u.rect.encoding];
    if (u.kind == ServerUnitKind::rect && u.rect.encoding == kEncodingTight) {
      ++tight_methods[u.info.tight.control >> 4];
    }
    if (u.kind == ServerUnitKind::update_header) ++updates;
  }
  EXPECT_GE(updates, 2);
  EXPECT_GT(rects[e.encoding], 0) << "no " << encoding_name(e.encoding) << " rectangle";
  if (e.also != 0) {
    EXPECT_GT(rects[e.also], 0) << "no " << encoding_name(e.also) << " rectangle";
  }
  std::string seen;
  for (auto [enc, n] : rects) seen += encoding_name(enc) + " x" + std::to_string(n) + "; ";
  for (auto [method, n] : tight_methods) {
    seen += "tight method " + std::to_string(method) + " x" + std::to_string(n) + "; ";
  }
  RecordProperty("rectangles", seen);
  std::cout << e.name << ": " << whole.units.size() << " units; " << seen << "\n";
}

INSTANTIATE_TEST_SUITE_P(Qemu, RecordedQemuStream,
                         ::testing::Values(Expectation{"qemu_tight_remote_viewer", kEncodingTight,
                                                       kPseudoVmwareDisplayModeChange},
                                           Expectation{"qemu_tight_jpeg", kEncodingTight},
                                           Expectation{"qemu_tight_16bpp", kEncodingTight},
                                           Expectation{"qemu_zrle", kEncodingZrle},
                                           Expectation{"qemu_zlib", kEncodingZlib},
                                           Expectation{"qemu_hextile_8bpp", kEncodingHextile},
                                           Expectation{"qemu_wmvi_hextile", kEncodingHextile}),
                         [](const auto& info) { return std::string(info.param.name); });

// The fake VM's encoders (tests/fake_vm, recorded by tools/record_fake_vm_streams.py): every
// method of each encoding, a resize by ExtendedDesktopSize, several updates on one zlib stream.
INSTANTIATE_TEST_SUITE_P(FakeVm, RecordedQemuStream,
                         ::testing::Values(Expectation{"fakevm_tight", kEncodingTight},
                                           Expectation{"fakevm_tight_jpeg", kEncodingTight},
                                           Expectation{"fakevm_tight_16bpp", kEncodingTight},
                                           Expectation{"fakevm_zrle", kEncodingZrle},
                                           Expectation{"fakevm_hextile_16bpp", kEncodingHextile},
                                           Expectation{"fakevm_zlib", kEncodingZlib},
                                           Expectation{"fakevm_zrle_resize", kEncodingZrle,
                                                       kPseudoExtendedDesktopSize},
                                           Expectation{"fakevm_tight_wmvi_resize", kEncodingTight,
                                                       kPseudoVmwareDisplayModeChange}),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace pvb::rfb
