#include "engine/proxmox/guest.h"

#include <charconv>

#include "engine/core/text.h"

namespace pvb {

std::string_view guest_type_name(GuestType t) {
  return t == GuestType::qemu ? "qemu" : "lxc";
}

std::string Guest::api_path() const {
  return "/nodes/" + node + "/" + std::string(guest_type_name(type)) + "/" + std::to_string(vmid);
}

std::string Guest::display_name() const {
  if (name.empty()) return std::to_string(vmid);
  return name + " (" + std::to_string(vmid) + ")";
}

static std::optional<uint32_t> parse_vmid(std::string_view s) {
  if (s.empty() || s.size() > 9 || s[0] == '0') return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  return v;
}

static bool plausible_name(std::string_view s) {
  if (s.empty() || s.size() > 255) return false;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || c == '/') return false;
  }
  return true;
}

Result<GuestSpec> parse_guest_spec(std::string_view spec) {
  GuestSpec out;
  if (auto slash = spec.find('/'); slash != std::string_view::npos) {
    std::string_view node = spec.substr(0, slash);
    std::string_view rest = spec.substr(slash + 1);
    auto vmid = parse_vmid(rest);
    if (node.empty() || !plausible_name(node) || !vmid) {
      return Error(Errc::usage, "invalid guest '" + printable(spec) +
                                    "': expected a vmid (100), a name (web01) or node/vmid "
                                    "(pve1/100)");
    }
    out.node = std::string(node);
    out.vmid = vmid;
    return out;
  }
  if (auto vmid = parse_vmid(spec)) {
    out.vmid = vmid;
    return out;
  }
  if (!plausible_name(spec)) {
    return Error(Errc::usage,
                 "invalid guest '" + printable(spec) +
                     "': expected a vmid (100), a name (web01) or node/vmid (pve1/100)");
  }
  out.name = std::string(spec);
  return out;
}

static std::string describe(const Guest& g) {
  std::string s = g.node + "/" + std::to_string(g.vmid) + " " +
                  std::string(guest_type_name(g.type)) + " " +
                  (g.status.empty() ? "unknown" : g.status);
  if (!g.name.empty()) s += " '" + g.name + "'";
  return s;
}

Result<Guest> resolve_guest(const GuestSpec& spec, std::string_view spec_text,
                            const std::vector<Guest>& guests) {
  std::vector<const Guest*> matches;
  for (const Guest& g : guests) {
    if (spec.vmid && g.vmid != *spec.vmid) continue;
    if (spec.node && g.node != *spec.node) continue;
    if (spec.name && g.name != *spec.name) continue;
    matches.push_back(&g);
  }
  std::vector<const Guest*> usable;
  for (const Guest* g : matches) {
    if (!g->is_template) usable.push_back(g);
  }
  if (usable.empty()) {
    if (!matches.empty()) {
      return Error(Errc::template_guest, "guest '" + printable(spec_text) + "' is a template (" +
                                             describe(*matches.front()) +
                                             "); templates have no console");
    }
    return Error(Errc::not_found, "no guest '" + printable(spec_text) +
                                      "' visible to this user (try 'pvebridge list')");
  }
  if (usable.size() > 1) {
    std::string msg = "guest name '" + printable(spec_text) + "' is ambiguous: ";
    for (size_t i = 0; i < usable.size(); ++i) {
      if (i) msg += ", ";
      msg += describe(*usable[i]);
    }
    msg += "; name it by vmid or node/vmid";
    return Error(Errc::ambiguous, msg);
  }
  return *usable.front();
}

}  // namespace pvb
