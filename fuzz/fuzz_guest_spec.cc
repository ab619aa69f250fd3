// parse_guest_spec + resolve_guest against a fixed guest list (the whole input is the spec, as
// typed after "pvebridge connect").
//
// Invariants:
// - a parsed spec is exactly one form: a vmid, node/vmid, or a plausible name; a vmid is the
//   canonical decimal text of a number in 1..999999999 (no sign, no leading zero);
// - resolution agrees with a brute-force oracle over the list: the one usable match, or
//   not_found / template_guest / ambiguous exactly when the oracle says so; a template is never
//   chosen;
// - every error is one line (a spec is echoed back, so control characters must not pass through).
#include <cstdint>
#include <string>
#include <vector>

#include "engine/proxmox/guest.h"
#include "fuzz/fuzz_support.h"

namespace pvb::fuzz {
namespace {

Guest guest(std::string node, uint32_t vmid, GuestType type, std::string name, bool tmpl = false) {
  Guest g;
  g.node = std::move(node);
  g.vmid = vmid;
  g.type = type;
  g.name = std::move(name);
  g.status = "running";
  g.is_template = tmpl;
  return g;
}

// Names shared across nodes, a template sharing a name with a guest, unnamed guests, a name that
// looks like a number, UTF-8 and spaces.
const std::vector<Guest>& guests() {
  static const std::vector<Guest> list = {
      guest("pve1", 100, GuestType::qemu, "web01"),
      guest("pve2", 101, GuestType::qemu, "web01"),
      guest("pve1", 102, GuestType::lxc, "db"),
      guest("pve3", 103, GuestType::qemu, ""),
      guest("pve1", 9000, GuestType::qemu, "debian-template", true),
      guest("pve2", 9001, GuestType::qemu, "db", true),
      guest("pve2", 200, GuestType::lxc, "123"),
      guest("pve-node.example", 999999999, GuestType::qemu, "max"),
      guest("pve1", 1, GuestType::lxc, "ünïcødé 数据库"),
      guest("pve3", 104, GuestType::lxc, "with space"),
      guest("pve3", 105, GuestType::qemu, "tmpl-only", true),
  };
  return list;
}

void check_spec(std::string_view text, const GuestSpec& spec) {
  const int forms = (spec.vmid && !spec.node && !spec.name) +
                    (spec.vmid && spec.node && !spec.name) +
                    (spec.name && !spec.vmid && !spec.node);
  FUZZ_CHECK(forms == 1, "spec is not exactly one form");
  if (spec.vmid) {
    FUZZ_CHECK(*spec.vmid >= 1 && *spec.vmid <= 999999999, "vmid " + std::to_string(*spec.vmid));
    std::string_view digits = spec.node ? text.substr(text.find('/') + 1) : text;
    FUZZ_CHECK(digits == std::to_string(*spec.vmid),
               "vmid " + std::to_string(*spec.vmid) + " from '" + printable(text) + "'");
  }
  if (spec.node) {
    FUZZ_CHECK(text.substr(0, text.find('/')) == *spec.node && !spec.node->empty(),
               "node '" + printable(*spec.node) + "'");
  }
  if (spec.name) {
    FUZZ_CHECK(*spec.name == text, "name differs from the spec text");
    FUZZ_CHECK(!spec.name->empty() && spec.name->size() <= 255, "implausible name length");
    for (unsigned char c : *spec.name) {
      FUZZ_CHECK(c >= 0x20 && c != 0x7f && c != '/', "name with a control character or '/'");
    }
  }
}

void check_resolution(std::string_view text, const GuestSpec& spec) {
  std::vector<const Guest*> matches;
  std::vector<const Guest*> usable;
  for (const Guest& g : guests()) {
    bool match = (!spec.vmid || g.vmid == *spec.vmid) && (!spec.node || g.node == *spec.node) &&
                 (!spec.name || g.name == *spec.name);
    if (!match) continue;
    matches.push_back(&g);
    if (!g.is_template) usable.push_back(&g);
  }
  auto r = resolve_guest(spec, text, guests());
  if (r.ok()) {
    FUZZ_CHECK(usable.size() == 1,
               "resolved though " + std::to_string(usable.size()) + " usable guests match");
    FUZZ_CHECK(r->vmid == usable[0]->vmid && r->node == usable[0]->node,
               "resolved the wrong guest");
    FUZZ_CHECK(!r->is_template, "resolved a template");
    return;
  }
  const Error& e = r.error();
  FUZZ_CHECK(is_one_line(e.message()), "multi-line error: " + printable(e.message()));
  Errc want = usable.size() > 1  ? Errc::ambiguous
              : !usable.empty()  ? Errc::ok
              : !matches.empty() ? Errc::template_guest
                                 : Errc::not_found;
  FUZZ_CHECK(e.code() == want, std::string("resolution failed with ") + errc_name(e.code()) +
                                   ", expected " + errc_name(want));
}

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace pvb;
  using namespace pvb::fuzz;
  std::string_view text(reinterpret_cast<const char*>(bytes), size);
  auto spec = parse_guest_spec(text);
  if (!spec.ok()) {
    FUZZ_CHECK(spec.error().code() == Errc::usage, "spec refused with a wrong code");
    FUZZ_CHECK(is_one_line(spec.error().message()),
               "multi-line error: " + printable(spec.error().message()));
    return 0;
  }
  check_spec(text, *spec);
  check_resolution(text, *spec);
  return 0;
}
