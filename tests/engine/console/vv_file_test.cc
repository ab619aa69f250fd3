#include "engine/console/vv_file.h"

#include <glib.h>
#include <gtest/gtest.h>

namespace pvb {
namespace {

// GLib's own parser is the oracle: what remote-viewer will read.
std::string keyfile_get(const std::string& text, const char* key) {
  GKeyFile* kf = g_key_file_new();
  GError* err = nullptr;
  std::string out = "<missing>";
  if (g_key_file_load_from_data(kf, text.data(), text.size(), G_KEY_FILE_NONE, &err)) {
    gchar* v = g_key_file_get_string(kf, "virt-viewer", key, nullptr);
    if (v) {
      out = v;
      g_free(v);
    }
  } else {
    out = std::string("<parse error: ") + err->message + ">";
    g_error_free(err);
  }
  g_key_file_free(kf);
  return out;
}

TEST(VvFile, HasTheKeysRemoteViewerReads) {
  VvFileSpec s;
  s.port = 41234;
  s.password = "Ab3:x/=+";
  s.title = "web01 (100) - pvebridge";
  std::string text = build_vv_file(s);
  EXPECT_EQ(text.rfind("[virt-viewer]\n", 0), 0u);
  EXPECT_EQ(keyfile_get(text, "type"), "vnc");
  EXPECT_EQ(keyfile_get(text, "host"), "127.0.0.1");
  EXPECT_EQ(keyfile_get(text, "port"), "41234");
  EXPECT_EQ(keyfile_get(text, "password"), "Ab3:x/=+");
  EXPECT_EQ(keyfile_get(text, "title"), "web01 (100) - pvebridge");
  EXPECT_EQ(keyfile_get(text, "delete-this-file"), "1");
  EXPECT_EQ(keyfile_get(text, "toggle-fullscreen"), "shift+f11");
  EXPECT_EQ(keyfile_get(text, "fullscreen"), "<missing>");
}

TEST(VvFile, EscapesSurviveGlib) {
  VvFileSpec s;
  s.port = 1;
  s.password = " lead\\back";
  s.title = "tab\there\nnewline ü 数据库";
  s.fullscreen = true;
  std::string text = build_vv_file(s);
  EXPECT_EQ(keyfile_get(text, "password"), " lead\\back");
  EXPECT_EQ(keyfile_get(text, "title"), "tab\there\nnewline ü 数据库");
  EXPECT_EQ(keyfile_get(text, "fullscreen"), "1");
}

TEST(VvFile, AValueCannotInjectAKey) {
  VvFileSpec s;
  s.port = 1;
  s.title = "x\npassword=stolen\n[virt-viewer]\nhost=evil";
  std::string text = build_vv_file(s);
  EXPECT_EQ(keyfile_get(text, "host"), "127.0.0.1");
  EXPECT_EQ(keyfile_get(text, "title"), s.title);
}

}  // namespace
}  // namespace pvb

namespace pvb {
namespace {

// Regressions found by fuzz_vv_file.
TEST(VvFile, SpaceAfterADroppedControlCharacterIsStillLeading) {
  VvFileSpec s;
  s.port = 1;
  s.title = std::string("\x01 x");
  EXPECT_EQ(keyfile_get(build_vv_file(s), "title"), " x");
}

TEST(VvFile, InvalidUtf8IsReplacedSoGlibReadsTheFile) {
  VvFileSpec s;
  s.port = 1;
  s.title = std::string("bad \xff title");
  EXPECT_EQ(keyfile_get(build_vv_file(s), "title"), "bad \xEF\xBF\xBD title");
  EXPECT_EQ(keyfile_get(build_vv_file(s), "type"), "vnc");
}

}  // namespace
}  // namespace pvb
