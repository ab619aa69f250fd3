// The virt-viewer connection file (.vv): a GKeyFile with one [virt-viewer] group. Building it is
// pure (no I/O) so it can be fuzzed against GLib's own parser; where it goes (a private file, or
// the viewer's stdin) is the console session's business.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace pvb {

struct VvFileSpec {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  std::string password;  // the one-shot VNC password
  std::string title;     // e.g. "web01 (100) - pvebridge"
  bool fullscreen = false;
  bool delete_this_file = true;
  // Hotkeys as remote-viewer spells them; empty = leave the viewer's default.
  std::string toggle_fullscreen = "shift+f11";
  std::string release_cursor = "shift+f12";
  std::string secure_attention = "ctrl+alt+end";
};

// The file's text.
std::string build_vv_file(const VvFileSpec& spec);

// GKeyFile value escaping: \\ \n \t \r, and a leading space as \s.
std::string escape_keyfile_value(std::string_view value);

}  // namespace pvb
