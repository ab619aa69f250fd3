#include "engine/trust/known_hosts.h"

#include <charconv>

#include "engine/core/base64.h"
#include "engine/core/host_name.h"
#include "engine/core/text.h"

namespace pvb {
namespace {

constexpr const char* kHeader =
    "# pvebridge known_hosts: Proxmox servers trusted on first use (see pvebridge(1)).\n"
    "# One line per server, HOST:PORT then either\n"
    "#   sha256 FINGERPRINT          this certificate only (`cluster-ca=declined` after it: do "
    "not\n"
    "#                               offer the cluster CA again), or\n"
    "#   ca FINGERPRINT CERTIFICATE  certificates signed by this CA (base64 DER; the fingerprint "
    "is\n"
    "#                               its SHA-256).\n"
    "# Delete a server's line to be asked again.\n";

// A CA certificate is a few hundred bytes; a line this long is not one of ours.
constexpr size_t kMaxLine = 64 * 1024;

// The optional last field of a `sha256` line: the cluster CA was offered and declined.
constexpr std::string_view kDeclinedField = "cluster-ca=declined";

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::vector<std::string_view> fields_of(std::string_view line) {
  std::vector<std::string_view> fields;
  size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
    size_t start = i;
    while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
    if (i > start) fields.push_back(line.substr(start, i - start));
  }
  return fields;
}

bool host_name_char(unsigned char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
}

// The entry on one line, or why not.
Result<KnownHost> parse_entry(const std::vector<std::string_view>& f) {
  auto server = parse_known_host_key(f[0]);
  if (!server) return Error(Errc::usage, "'" + printable(f[0]) + "' is not HOST:PORT");
  KnownHost e;
  e.server = *server;
  if (f.size() < 2) return Error(Errc::usage, "no trust given for " + e.server);
  const std::string kind = lower(f[1]);
  if (kind == "sha256") {
    if (f.size() != 3 && f.size() != 4) {
      return Error(Errc::usage, "expected: HOST:PORT sha256 FINGERPRINT [cluster-ca=declined]");
    }
    if (f.size() == 4) {
      if (lower(f[3]) != kDeclinedField) {
        return Error(Errc::usage,
                     "unknown field '" + printable(f[3], 40) + "' (expected cluster-ca=declined)");
      }
      e.cluster_ca_declined = true;
    }
    e.kind = TrustKind::certificate;
  } else if (kind == "ca") {
    if (f.size() != 4) return Error(Errc::usage, "expected: HOST:PORT ca FINGERPRINT CERTIFICATE");
    e.kind = TrustKind::ca;
  } else {
    return Error(Errc::usage, "unknown kind '" + printable(f[1]) + "' (expected sha256 or ca)");
  }
  auto fp = parse_fingerprint(f[2]);
  if (!fp.ok()) return fp.error();
  e.fingerprint = *fp;
  if (e.kind == TrustKind::ca) {
    auto der = base64_decode(f[3]);
    if (!der || der->empty()) return Error(Errc::usage, "the CA certificate is not base64");
    if (sha256_fingerprint(*der) != e.fingerprint) {
      return Error(Errc::usage, "the CA certificate does not match its fingerprint");
    }
    e.ca_der = std::move(*der);
  }
  return e;
}

}  // namespace

std::string known_host_key(std::string_view host, uint16_t port) {
  const bool v6 = host.find(':') != std::string_view::npos;
  return (v6 ? "[" + lower(host) + "]" : lower(host)) + ":" + std::to_string(port);
}

std::optional<std::string> parse_known_host_key(std::string_view text) {
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  unsigned port = 0;
  auto [p, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (port_text.empty() || ec != std::errc() || p != port_text.data() + port_text.size() ||
      port == 0 || port > 65535) {
    return std::nullopt;
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    std::string_view inner = host.substr(1, host.size() - 2);
    auto address = parse_ip_literal(inner);
    if (!address || address->size() != 16) return std::nullopt;
    // Kept as written (lower case), not re-formatted: the key is compared as text.
    return known_host_key(inner, static_cast<uint16_t>(port));
  }
  const std::string name = lower(host);
  for (unsigned char c : name) {
    if (!host_name_char(c)) return std::nullopt;
  }
  return known_host_key(name, static_cast<uint16_t>(port));
}

std::string format_known_host(const KnownHost& e) {
  std::string line = e.server;
  if (e.kind == TrustKind::certificate) {
    line += " sha256 " + format_fingerprint(e.fingerprint);
    if (e.cluster_ca_declined) line += " " + std::string(kDeclinedField);
  } else {
    line += " ca " + format_fingerprint(e.fingerprint) + " " + base64_encode(e.ca_der);
  }
  return line;
}

KnownHosts KnownHosts::parse(std::string_view text) {
  KnownHosts kh;
  size_t number = 0;
  while (!text.empty()) {
    const auto nl = text.find('\n');
    std::string_view raw = text.substr(0, nl);
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
    ++number;
    Line line;
    line.text = std::string(raw);
    std::string_view content = raw;
    if (!content.empty() && content.back() == '\r') content.remove_suffix(1);
    std::vector<std::string_view> f = fields_of(content);
    if (f.empty() || f[0].front() == '#') {
      kh.lines_.push_back(std::move(line));
      continue;
    }
    if (auto server = parse_known_host_key(f[0])) line.server = *server;
    Result<KnownHost> entry = raw.size() > kMaxLine
                                  ? Result<KnownHost>(Error(Errc::usage, "line too long"))
                                  : parse_entry(f);
    if (entry.ok()) {
      entry->line = number;
      line.entry = std::move(*entry);
    } else {
      kh.problems_.push_back({number, line.server, entry.error().message()});
    }
    kh.lines_.push_back(std::move(line));
  }
  return kh;
}

std::string KnownHosts::format() const {
  std::string out;
  for (const Line& l : lines_) {
    out += l.text;
    out += '\n';
  }
  return out;
}

Result<const KnownHost*> KnownHosts::find(std::string_view server) const {
  const KnownHost* found = nullptr;
  for (const Line& l : lines_) {
    if (l.server != server) continue;
    if (!l.entry) {
      for (const KnownHostsProblem& p : problems_) {
        if (p.server == server) {
          return Error(Errc::usage, "line " + std::to_string(p.line) + " (" + std::string(server) +
                                        ") does not parse: " + p.what);
        }
      }
    }
    if (!found && l.entry) found = &*l.entry;
  }
  return found;
}

void KnownHosts::set(KnownHost entry) {
  const std::string server = entry.server;
  const std::string text = format_known_host(entry);
  bool placed = false;
  std::vector<Line> kept;
  if (lines_.empty()) {
    // A new file starts with a comment saying what the lines mean.
    for (std::string_view header = kHeader; !header.empty();) {
      const auto nl = header.find('\n');
      kept.push_back(Line{std::string(header.substr(0, nl)), std::nullopt, ""});
      header.remove_prefix(nl + 1);
    }
  }
  for (Line& l : lines_) {
    if (l.server != server) {
      kept.push_back(std::move(l));
    } else if (!placed) {
      kept.push_back(Line{text, std::nullopt, server});
      placed = true;
    }
  }
  if (!placed) kept.push_back(Line{text, std::nullopt, server});
  lines_ = std::move(kept);
  // Read back what would be written: line numbers and problems then describe the new text.
  *this = parse(format());
}

std::vector<KnownHost> KnownHosts::entries() const {
  std::vector<KnownHost> out;
  for (const Line& l : lines_) {
    if (l.entry) out.push_back(*l.entry);
  }
  return out;
}

}  // namespace pvb
