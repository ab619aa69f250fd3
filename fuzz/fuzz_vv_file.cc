// build_vv_file with every field taken from the input, then GLib's own key-file parser (what
// remote-viewer uses) as the oracle.
//
// Invariants:
// - the text loads, has exactly one group, [virt-viewer], and exactly the keys we wrote (a value
//   can never inject a key or a group);
// - every key reads back (g_key_file_get_string, as virt-viewer reads it) as exactly the string
//   we put in, after the documented rules: invalid UTF-8 becomes U+FFFD, then control characters
//   other than \n, \t and \r (and DEL) are dropped.
#include <fuzzer/FuzzedDataProvider.h>
#include <glib.h>

#include <cstdint>
#include <map>
#include <string>

#include "engine/console/vv_file.h"
#include "engine/core/text.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

std::string drop_control_characters(std::string_view s) {
  std::string out;
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f) continue;
    out.push_back(ch);
  }
  return out;
}

std::map<std::string, std::string> expected_keys(const VvFileSpec& s) {
  std::map<std::string, std::string> keys = {
      {"type", "vnc"},
      {"host", s.host},
      {"port", std::to_string(s.port)},
      {"password", s.password},
  };
  if (!s.title.empty()) keys["title"] = s.title;
  if (s.fullscreen) keys["fullscreen"] = "1";
  if (s.delete_this_file) keys["delete-this-file"] = "1";
  if (!s.toggle_fullscreen.empty()) keys["toggle-fullscreen"] = s.toggle_fullscreen;
  if (!s.release_cursor.empty()) keys["release-cursor"] = s.release_cursor;
  if (!s.secure_attention.empty()) keys["secure-attention"] = s.secure_attention;
  for (auto& [key, value] : keys) value = drop_control_characters(valid_utf8(value));
  return keys;
}

void check_with_glib(const std::string& text, const std::map<std::string, std::string>& want) {
  GKeyFile* kf = g_key_file_new();
  GError* err = nullptr;
  bool loaded = g_key_file_load_from_data(kf, text.data(), text.size(), G_KEY_FILE_NONE, &err);
  std::string load_error = err ? err->message : "";
  g_clear_error(&err);
  if (!loaded) {
    g_key_file_free(kf);
    FUZZ_CHECK(false, "GLib cannot load our file (" + load_error + "): " + printable(text, 2000));
  }

  gsize groups = 0;
  gchar** names = g_key_file_get_groups(kf, &groups);
  const bool one_group = groups == 1 && std::string_view(names[0]) == "virt-viewer";
  g_strfreev(names);
  gsize nkeys = 0;
  gchar** keys = g_key_file_get_keys(kf, "virt-viewer", &nkeys, nullptr);
  g_strfreev(keys);

  std::string mismatch;
  for (const auto& [key, value] : want) {
    gchar* got = g_key_file_get_string(kf, "virt-viewer", key.c_str(), &err);
    if (!got) {
      mismatch =
          key + ": " + (err ? err->message : "missing") + " (wrote '" + printable(value) + "')";
      g_clear_error(&err);
      break;
    }
    std::string got_text(got);
    g_free(got);
    if (got_text != value) {
      mismatch =
          key + ": wrote '" + printable(value) + "', GLib read '" + printable(got_text) + "'";
      break;
    }
  }
  g_key_file_free(kf);

  FUZZ_CHECK(one_group, "not exactly one [virt-viewer] group: " + printable(text, 2000));
  FUZZ_CHECK(nkeys == want.size(), std::to_string(nkeys) + " keys, wrote " +
                                       std::to_string(want.size()) + ": " + printable(text, 2000));
  FUZZ_CHECK(mismatch.empty(), mismatch);
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  FuzzedDataProvider p(bytes, size);
  VvFileSpec spec;
  spec.port = p.ConsumeIntegral<uint16_t>();
  spec.fullscreen = p.ConsumeBool();
  spec.delete_this_file = p.ConsumeBool();
  spec.host = p.ConsumeRandomLengthString(64);
  spec.password = p.ConsumeRandomLengthString(128);
  spec.title = p.ConsumeRandomLengthString(512);
  spec.toggle_fullscreen = p.ConsumeRandomLengthString(32);
  spec.release_cursor = p.ConsumeRandomLengthString(32);
  spec.secure_attention = p.ConsumeRandomLengthString(32);

  std::string text = build_vv_file(spec);
  check_with_glib(text, expected_keys(spec));
  return 0;
}
