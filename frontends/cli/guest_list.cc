#include "frontends/cli/guest_list.h"

#include <algorithm>
#include <cstdint>
#include <cwchar>
#include <string>

#include "engine/core/json_writer.h"
#include "engine/core/text.h"

namespace pvb {

namespace {

// One character of UTF-8 text at s[i]: its code point and length (an invalid byte stands for
// itself, length 1, so any text can be matched).
struct Char {
  uint32_t cp;
  size_t len;
};

Char char_at(std::string_view s, size_t i) {
  size_t len = utf8_sequence_length(s, i);
  auto c = static_cast<unsigned char>(s[i]);
  if (len <= 1) return {c, 1};
  uint32_t cp = c & (0xFF >> (len + 1));
  for (size_t k = 1; k < len; ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  return {cp, len};
}

// Matches the bracket expression starting at pattern[p] == '[' against code point cp. Sets `end`
// past the closing ']'; returns nullopt when there is none ('[' is then an ordinary character).
std::optional<bool> match_class(std::string_view pattern, size_t p, uint32_t cp, size_t& end) {
  size_t i = p + 1;
  bool negate = i < pattern.size() && (pattern[i] == '!' || pattern[i] == '^');
  if (negate) ++i;
  bool found = false;
  bool first = true;
  while (i < pattern.size() && (pattern[i] != ']' || first)) {
    first = false;
    if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
    Char lo = char_at(pattern, i);
    i += lo.len;
    uint32_t hi = lo.cp;
    if (i + 1 < pattern.size() && pattern[i] == '-' && pattern[i + 1] != ']') {
      ++i;
      if (pattern[i] == '\\' && i + 1 < pattern.size()) ++i;
      Char h = char_at(pattern, i);
      i += h.len;
      hi = h.cp;
    }
    found |= cp >= lo.cp && cp <= hi;
  }
  if (i >= pattern.size()) return std::nullopt;
  end = i + 1;
  return found != negate;
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

// A value for a tab-separated line: no tab, newline or other control character inside.
std::string field_text(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u == 0x7f) c = ' ';
  }
  return out;
}

constexpr std::string_view kStatusWords[] = {
    // Proxmox (cluster/resources) and the run states QEMU reports for a VM (qmpstatus), which
    // Proxmox lists as the status of a running VM.
    "running", "stopped", "unknown", "paused", "suspended", "prelaunch", "inmigrate", "postmigrate",
    "finish-migrate", "io-error", "internal-error", "guest-panicked", "shutdown", "watchdog",
    "debug", "restore-vm", "save-vm", "colo",
    // ours
    "template"};

constexpr std::string_view kFieldNames[] = {"vmid", "name", "node", "type",    "status",
                                            "tags", "pool", "lock", "template"};

std::string field_of(const Guest& g, std::string_view field) {
  if (field == "vmid") return std::to_string(g.vmid);
  if (field == "name") return g.name;
  if (field == "node") return g.node;
  if (field == "type") return std::string(guest_type_name(g.type));
  if (field == "status") return listed_status(g);
  if (field == "pool") return g.pool;
  if (field == "lock") return g.lock;
  if (field == "template") return g.is_template ? "1" : "0";
  std::string tags;
  for (const std::string& t : guest_tags(g)) tags += (tags.empty() ? "" : ",") + t;
  return tags;
}

}  // namespace

bool ListFilter::active() const {
  return !patterns.empty() || !node.empty() || type || !status.empty() || !tags.empty() ||
         !pool.empty();
}

std::string listed_status(const Guest& g) {
  if (g.is_template) return "template";
  return g.status.empty() ? "unknown" : g.status;
}

std::vector<std::string> split_tags(std::string_view t) {
  std::vector<std::string> out;
  while (!t.empty()) {
    auto sep = t.find_first_of(";, ");
    if (sep != 0) out.emplace_back(t.substr(0, sep));
    if (sep == std::string_view::npos) break;
    t.remove_prefix(sep + 1);
  }
  return out;
}

bool glob_match(std::string_view pattern, std::string_view text) {
  size_t p = 0, t = 0;
  // Where to resume after the last '*': the pattern after it, and the text it swallowed up to.
  size_t star_p = std::string_view::npos, star_t = 0;
  while (t < text.size()) {
    Char c = char_at(text, t);
    if (p < pattern.size()) {
      char pc = pattern[p];
      if (pc == '*') {
        star_p = ++p;
        star_t = t;
        continue;
      }
      if (pc == '?') {
        ++p;
        t += c.len;
        continue;
      }
      if (pc == '[') {
        size_t end = 0;
        if (auto m = match_class(pattern, p, c.cp, end)) {
          if (*m) {
            p = end;
            t += c.len;
            continue;
          }
        } else if (c.cp == '[') {
          ++p;
          t += c.len;
          continue;
        }
      } else {
        size_t q = p;
        if (pc == '\\' && q + 1 < pattern.size()) ++q;
        Char want = char_at(pattern, q);
        if (want.cp == c.cp && want.len == c.len) {
          p = q + want.len;
          t += c.len;
          continue;
        }
      }
    }
    if (star_p == std::string_view::npos) return false;
    // Let the last '*' swallow one more character and try again from there.
    p = star_p;
    star_t += char_at(text, star_t).len;
    t = star_t;
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool guest_matches(const Guest& g, const ListFilter& f) {
  if (!f.patterns.empty()) {
    std::string vmid = std::to_string(g.vmid);
    bool any = std::any_of(f.patterns.begin(), f.patterns.end(), [&](const std::string& p) {
      return glob_match(p, g.name) || glob_match(p, vmid);
    });
    if (!any) return false;
  }
  if (!f.node.empty() && g.node != f.node) return false;
  if (f.type && g.type != *f.type) return false;
  if (!f.status.empty() && listed_status(g) != f.status) return false;
  if (!f.pool.empty() && g.pool != f.pool) return false;
  if (!f.tags.empty()) {
    std::vector<std::string> have = guest_tags(g);
    for (std::string& t : have) t = lower_ascii(t);
    for (const std::string& want : f.tags) {
      if (std::find(have.begin(), have.end(), lower_ascii(want)) == have.end()) return false;
    }
  }
  return true;
}

std::vector<Guest> filter_guests(const std::vector<Guest>& guests, const ListFilter& filter) {
  std::vector<Guest> out;
  for (const Guest& g : guests) {
    if (guest_matches(g, filter)) out.push_back(g);
  }
  return out;
}

Error check_status_word(std::string_view status) {
  for (std::string_view w : kStatusWords) {
    if (w == status) return Error();
  }
  return Error(Errc::usage, "unknown status '" + printable(status, 40) +
                                "' (running, stopped, paused, suspended, template, ...)");
}

std::optional<GuestType> parse_guest_type(std::string_view text) {
  if (text == "qemu") return GuestType::qemu;
  if (text == "lxc") return GuestType::lxc;
  return std::nullopt;
}

Result<std::vector<std::string>> parse_guest_format(std::string_view spec) {
  std::vector<std::string> fields;
  while (true) {
    auto comma = spec.find(',');
    std::string_view f = spec.substr(0, comma);
    while (!f.empty() && f.front() == ' ') f.remove_prefix(1);
    while (!f.empty() && f.back() == ' ') f.remove_suffix(1);
    bool known =
        std::find(std::begin(kFieldNames), std::end(kFieldNames), f) != std::end(kFieldNames);
    if (!known) {
      std::string what = f.empty() ? "an empty field" : "unknown field '" + printable(f, 40) + "'";
      return Error(Errc::usage, what + "; fields: " + std::string(kGuestFields));
    }
    fields.emplace_back(f);
    if (comma == std::string_view::npos) break;
    spec.remove_prefix(comma + 1);
  }
  return fields;
}

std::string guests_formatted(const std::vector<Guest>& guests,
                             const std::vector<std::string>& fields) {
  std::string out;
  for (const Guest& g : guests) {
    for (size_t i = 0; i < fields.size(); ++i) {
      if (i) out += '\t';
      out += field_text(field_of(g, fields[i]));
    }
    out += '\n';
  }
  return out;
}

void guest_identity_json(JsonWriter& w, const Guest& g) {
  w.key("node").value(g.node).key("vmid").value(static_cast<int64_t>(g.vmid));
  w.key("type").value(guest_type_name(g.type));
  if (g.name.empty()) {
    w.key("name").null();
  } else {
    w.key("name").value(g.name);
  }
}

std::string guests_json(const std::vector<Guest>& guests) {
  JsonWriter w;
  w.begin_array();
  for (const Guest& g : guests) {
    w.begin_object();
    guest_identity_json(w, g);
    w.key("status").value(listed_status(g)).key("template").value(g.is_template);
    w.key("tags").begin_array();
    std::string_view t = g.tags;
    while (!t.empty()) {
      auto semi = t.find_first_of(";, ");
      if (semi != 0) w.value(t.substr(0, semi));
      if (semi == std::string_view::npos) break;
      t.remove_prefix(semi + 1);
    }
    w.end_array();
    if (!g.pool.empty()) w.key("pool").value(g.pool);
    if (!g.lock.empty()) w.key("lock").value(g.lock);
    w.end_object();
  }
  w.end_array();
  return w.take();
}

size_t display_width(std::string_view s) {
  // wcswidth in the user's locale (main sets LC_CTYPE): wide CJK glyphs take two columns.
  std::string text(s);
  std::mbstate_t state{};
  const char* src = text.c_str();
  size_t n = std::mbsrtowcs(nullptr, &src, 0, &state);
  if (n != static_cast<size_t>(-1)) {
    std::wstring wide(n, L'\0');
    src = text.c_str();
    state = {};
    std::mbsrtowcs(wide.data(), &src, n, &state);
    int w = ::wcswidth(wide.c_str(), n);
    if (w >= 0) return static_cast<size_t>(w);
  }
  // Not text in this locale (or a character it cannot print): count code points.
  size_t points = 0;
  for (unsigned char c : s) points += (c & 0xC0) != 0x80;
  return points;
}

std::string guests_table(const std::vector<Guest>& guests) {
  std::vector<std::vector<std::string>> rows = {{"NODE", "VMID", "TYPE", "NAME", "STATUS", "TAGS"}};
  for (const Guest& g : guests) {
    std::string status = listed_status(g);
    std::string tags = g.tags;
    for (char& c : tags) c = (c == ';') ? ',' : c;
    rows.push_back({g.node, std::to_string(g.vmid), std::string(guest_type_name(g.type)),
                    g.name.empty() ? "-" : g.name, status, tags});
  }
  std::vector<size_t> width(6, 0);
  for (const auto& r : rows) {
    for (size_t i = 0; i < r.size(); ++i) width[i] = std::max(width[i], display_width(r[i]));
  }
  std::string out;
  for (const auto& r : rows) {
    std::string line;
    for (size_t i = 0; i < r.size(); ++i) {
      line += r[i];
      if (i + 1 < r.size()) line += std::string(width[i] - display_width(r[i]) + 2, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

}  // namespace pvb
