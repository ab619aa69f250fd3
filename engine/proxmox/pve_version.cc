#include "engine/proxmox/pve_version.h"

#include <charconv>

namespace pvb {

namespace {

// Reads a decimal number at the front of `s` (at most 4 digits: no version part is larger).
std::optional<int> take_number(std::string_view& s) {
  size_t n = 0;
  while (n < s.size() && n < 5 && s[n] >= '0' && s[n] <= '9') ++n;
  if (n == 0 || n > 4) return std::nullopt;
  int v = 0;
  std::from_chars(s.data(), s.data() + n, v);
  s.remove_prefix(n);
  return v;
}

}  // namespace

std::string PveVersion::text() const {
  return std::to_string(major) + "." + std::to_string(minor) + "." + std::to_string(patch);
}

std::optional<PveVersion> parse_pve_version(std::string_view s) {
  PveVersion v;
  auto major = take_number(s);
  if (!major || s.empty() || s.front() != '.') return std::nullopt;
  s.remove_prefix(1);
  auto minor = take_number(s);
  if (!minor) return std::nullopt;
  v.major = *major;
  v.minor = *minor;
  if (!s.empty() && (s.front() == '.' || s.front() == '-')) {
    s.remove_prefix(1);
    auto patch = take_number(s);
    if (!patch) return std::nullopt;
    v.patch = *patch;
  }
  return v;
}

bool vncproxy_wants_generate_password(const std::optional<PveVersion>& v) {
  if (!v) return true;
  if (*v < PveVersion{6, 2, 0}) return false;
  if (*v < PveVersion{8, 4, 7}) return true;
  if (*v < PveVersion{9, 0, 0}) return false;
  return *v < PveVersion{9, 1, 7};
}

}  // namespace pvb
