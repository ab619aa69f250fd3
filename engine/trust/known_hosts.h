// The known_hosts file of trust on first use, as text in and text out (no I/O), so it is
// unit-tested and fuzzed on its own. One line per server:
//
//   # comments and blank lines are kept as they are
//   pve1.example.com:8006 sha256 AA:BB:...:FF
//   pve2.example.com:8006 sha256 CC:DD:...:99 cluster-ca=declined
//   [fd00::10]:8006 ca 11:22:...:EE MIIBmjCCAUCgAwIBAgIU...
//
// - `sha256 FINGERPRINT`: trust this one certificate (the node's own), whatever its chain and name.
//   An optional last field `cluster-ca=declined` records that the user was offered the cluster CA
//   named by a console's vncproxy reply and said no (host_trust.h): the offer is not made again
//   while the line stays (delete that field, or the line, to be asked again). It changes nothing
//   about how the server is verified. Files without it read as before; pvebridge versions before
//   this field refuse such a line (delete the field to use one).
// - `ca FINGERPRINT CERTIFICATE`: trust certificates for this server's name signed by that CA (the
//   cluster's pve-root-ca): node renewals keep working. CERTIFICATE is the CA's DER in base64 on
//   the same line, FINGERPRINT its SHA-256, checked against it.
// The server is HOST:PORT as pvebridge connects to it: a lower-case name or IPv4 address, or an
// IPv6 address in brackets. Fields are separated by spaces or tabs. A line that does not parse is
// kept (and written back) as it is, and makes its server's lookup fail: a damaged entry is never
// mistaken for "not known yet".
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/error.h"
#include "engine/io/fingerprint.h"

namespace pvb {

enum class TrustKind { certificate, ca };

struct KnownHost {
  std::string server{};  // "pve1.example.com:8006", "[fd00::10]:8006"
  TrustKind kind = TrustKind::certificate;
  Sha256Fingerprint fingerprint{};  // of the certificate, or of the CA
  std::vector<uint8_t> ca_der{};    // TrustKind::ca
  // TrustKind::certificate: the user declined to trust the cluster CA instead
  // (`cluster-ca=declined`).
  bool cluster_ca_declined = false;
  size_t line = 0;  // 1-based line in the text it was read from; 0 if new
};

// A line that does not parse.
struct KnownHostsProblem {
  size_t line = 0;
  std::string server;  // the first field when it names a server, else ""
  std::string what;
};

// "HOST:PORT" as known_hosts spells it: lower case, IPv6 in brackets.
std::string known_host_key(std::string_view host, uint16_t port);
// Normalizes a server field ("PVE1:8006" -> "pve1:8006"); nullopt if it is not HOST:PORT.
std::optional<std::string> parse_known_host_key(std::string_view text);
// One line, without the newline.
std::string format_known_host(const KnownHost& entry);

class KnownHosts {
 public:
  // Never fails: lines that do not parse become problems() and are kept verbatim.
  static KnownHosts parse(std::string_view text);
  // The whole text, line by line as read or set (a file begun by set() starts with a comment
  // explaining the format).
  std::string format() const;

  // The server's entry; nullptr when it has none. A malformed line naming the server is
  // Errc::usage (with its line number): the file must be fixed first.
  Result<const KnownHost*> find(std::string_view server) const;
  // Adds or replaces the server's entry: the first line for the server is replaced in place,
  // any other line for it (duplicates, malformed ones) is dropped; new servers are appended.
  void set(KnownHost entry);

  std::vector<KnownHost> entries() const;
  const std::vector<KnownHostsProblem>& problems() const { return problems_; }

 private:
  struct Line {
    std::string text;                // as read (or as formatted, for entries set later)
    std::optional<KnownHost> entry;  // a valid entry
    std::string server;              // the server it names (valid or not), else ""
  };
  std::vector<Line> lines_;
  std::vector<KnownHostsProblem> problems_;
};

}  // namespace pvb
