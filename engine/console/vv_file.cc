#include "engine/console/vv_file.h"

#include "engine/core/text.h"

namespace pvb {

std::string escape_keyfile_value(std::string_view raw) {
  // GLib refuses a whole file with invalid UTF-8 in it: never write one.
  std::string value = valid_utf8(raw);
  std::string out;
  out.reserve(value.size() + 8);
  for (size_t i = 0; i < value.size(); ++i) {
    char c = value[i];
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\r':
        out += "\\r";
        break;
      case ' ':
        // GLib strips leading white space from values unless escaped.
        out += out.empty() ? "\\s" : " ";
        break;
      default:
        // GKeyFile has no escape for other control characters and they cannot stand raw in a
        // line, so they are dropped (titles and passwords never need them).
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) break;
        out += c;
    }
  }
  return out;
}

static void line(std::string& out, std::string_view key, std::string_view value) {
  out += key;
  out += '=';
  out += escape_keyfile_value(value);
  out += '\n';
}

std::string build_vv_file(const VvFileSpec& spec) {
  std::string out = "[virt-viewer]\n";
  line(out, "type", "vnc");
  line(out, "host", spec.host);
  line(out, "port", std::to_string(spec.port));
  line(out, "password", spec.password);
  if (!spec.title.empty()) line(out, "title", spec.title);
  if (spec.fullscreen) line(out, "fullscreen", "1");
  if (spec.delete_this_file) line(out, "delete-this-file", "1");
  if (!spec.toggle_fullscreen.empty()) line(out, "toggle-fullscreen", spec.toggle_fullscreen);
  if (!spec.release_cursor.empty()) line(out, "release-cursor", spec.release_cursor);
  if (!spec.secure_attention.empty()) line(out, "secure-attention", spec.secure_attention);
  return out;
}

}  // namespace pvb
