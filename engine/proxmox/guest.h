// What pvebridge knows of a guest (from /cluster/resources), and how a user names one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"

namespace pvb {

enum class GuestType { qemu, lxc };
std::string_view guest_type_name(GuestType t);  // "qemu" / "lxc"

struct Guest {
  std::string node;
  uint32_t vmid = 0;
  GuestType type = GuestType::qemu;
  std::string name;    // may be empty (Proxmox omits it)
  std::string status;  // running, stopped, ...
  bool is_template = false;
  std::string tags;  // ';'-separated, as Proxmox sends it
  std::string pool;
  std::string lock;

  // "/nodes/pve1/qemu/100"
  std::string api_path() const;
  // "web01 (100)" or "100" when unnamed
  std::string display_name() const;
};

// How the user named the guest: "100", "web01", or "pve1/100".
struct GuestSpec {
  std::optional<std::string> node;
  std::optional<uint32_t> vmid;
  std::optional<std::string> name;
};

// Parses a guest spec. Numbers 1..999999999 are vmids; "node/vmid" pins the node; anything else
// that is a plausible name (no '/', no control characters, not empty) is a name.
Result<GuestSpec> parse_guest_spec(std::string_view spec);

// Picks the one guest the spec means. Templates are never chosen. Errors: Errc::not_found (with the
// spec), Errc::ambiguous (listing node, vmid, type and status of each candidate),
// Errc::template_guest.
Result<Guest> resolve_guest(const GuestSpec& spec, std::string_view spec_text,
                            const std::vector<Guest>& guests);

}  // namespace pvb
