// The Proxmox VE version a server reports (GET /version), and what pvebridge decides from it.
//
// /version answers `version` (pve-manager's full version: "8.4.1"; "6.2-4" before 8.0, which put
// the last part after a dash), `release` ("8.4": too coarse, the thresholds below are point
// releases) and `repoid` (a git commit). We read `version`. It is pve-manager's, not
// qemu-server's (whose version only GET /nodes/{node}/apt/versions tells, with Sys.Audit): the two
// are released together but their point numbers differ, so the thresholds are a good guess, not a
// fact, and ProxmoxClient::vncproxy covers a wrong guess both ways (PROTOCOL.md section 3).
#pragma once

#include <compare>
#include <optional>
#include <string>
#include <string_view>

namespace pvb {

struct PveVersion {
  int major = 0;
  int minor = 0;
  int patch = 0;
  auto operator<=>(const PveVersion&) const = default;
  std::string text() const;  // "8.4.1"
};

// "8.4.1", "6.2-4", "9.1.7~rc1" (anything after the third number is ignored), "8.4" (patch 0).
// nullopt for anything else.
std::optional<PveVersion> parse_pve_version(std::string_view text);

// Whether a qemu vncproxy should carry `generate-password=1`. qemu-server before 6.2 does not know
// it (400); from 6.2 it must be asked for a random VNC password (else the password is the ticket,
// whose first 8 bytes are predictable); 8.4.7 and 9.1.7 deprecated it (they always generate one)
// and the next major rejects it (400 Parameter verification failed). So: 6.2 <= v < 8.4.7 or
// 9.0 <= v < 9.1.7. An unknown version sends it (a 400 naming it is retried without).
bool vncproxy_wants_generate_password(const std::optional<PveVersion>& version);

}  // namespace pvb
