#include "engine/console/spice_vv.h"

#include "engine/console/vv_file.h"
#include "engine/core/text.h"

namespace pvb {

std::string keyfile_value_as_sent(std::string_view raw) {
  std::string value = valid_utf8(raw);
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\n') {
      out += "\\n";
    } else if (static_cast<unsigned char>(c) >= 0x20 && c != 0x7f) {
      out += c;
    }
  }
  size_t trailing = 0;
  while (trailing < out.size() && out[out.size() - 1 - trailing] == '\\') ++trailing;
  if (trailing % 2 == 1) out.pop_back();
  if (!out.empty() && out.front() == ' ') out = "\\s" + out.substr(1);
  return out;
}

std::string build_spice_vv_file(const SpiceTicket& ticket, const SpiceVvSpec& spec) {
  std::string out = "[virt-viewer]\n";
  auto ours = [&](std::string_view key, std::string_view value) {
    out += key;
    out += '=';
    out += escape_keyfile_value(value);
    out += '\n';
  };
  ours("type", "spice");
  bool had_title = false;
  for (const auto& [key, value] : ticket.keys) {
    // Ours, below; and key names that are not plain words are never written.
    if (key == "type" || key == "proxy" || key == "fullscreen" || key == "delete-this-file") {
      continue;
    }
    if (key.empty() ||
        key.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-_") != std::string::npos) {
      continue;
    }
    if (key == "title") {
      had_title = true;
      if (!spec.title.empty()) {
        ours("title", spec.title);
        continue;
      }
    }
    out += key;
    out += '=';
    out += keyfile_value_as_sent(value);
    out += '\n';
  }
  if (!had_title && !spec.title.empty()) ours("title", spec.title);
  ours("proxy", spec.proxy);
  if (spec.fullscreen) ours("fullscreen", "1");
  if (spec.delete_this_file) ours("delete-this-file", "1");
  return out;
}

}  // namespace pvb
