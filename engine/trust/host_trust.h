// Trust on first use for the Proxmox hosts of one command, like ssh's known_hosts.
//
// A host without an entry in known_hosts is verified with the system CAs; a host with one, by its
// entry alone (one pinned certificate, or its cluster CA and the host name): entries are
// authoritative, as in ssh. When verification refuses a host, the handshake fails before a single
// byte (let alone a credential) is sent, and resolve_refusal() decides what happens next:
//  - the host has an entry: its certificate changed. A loud error names the trusted and the
//    presented fingerprints and the line to delete; never a question (that is what someone in the
//    middle would hope for).
//  - the host is unknown and we may ask (a terminal, not --json): the certificate is shown
//    (subject, issuer, validity, SHA-256) and so is the CA that signed it when the server sent it
//    and it verifies the chain for this host name. The answer is saved, and the caller connects
//    again: with the pinned certificate, or with the CA (so node certificate renewals keep working;
//    the CA is also recorded for the command's other hosts that have no entry, the other nodes).
//  - the host is unknown and we may not ask: an error with the fingerprint, for scripts to pin.
// Stock pveproxy sends only the node's certificate, not the CA: then only the certificate can be
// trusted at first contact. (Over the connection pinned to it, vncproxy's `cert` later names the
// cluster CA; offering it then is a possible follow-up, not done here.)
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "engine/proxmox/api_host.h"
#include "engine/trust/known_hosts.h"
#include "transports/tls/tls_engine.h"

namespace pvb {

struct HostTrustOptions {
  std::string known_hosts_path;  // the file; its directory is made (0700) when first written
  // Backend, system CA bundle, session cache, suites: verify, pins and ca_pem are set per host.
  TlsClientConfig tls;
};

// Shows `question` (several lines) on the terminal and returns the answer line. Null: never ask.
using TrustPrompt = std::function<Result<std::string>(const std::string& question)>;

class HostTrust {
 public:
  // Reads known_hosts (a missing file is empty). Errc::usage when it cannot be read or group or
  // others may write it (then anyone could add a server).
  static Result<std::unique_ptr<HostTrust>> open(HostTrustOptions options, TrustPrompt prompt);

  // Makes each host's TLS context from its entry. Errc::usage for a malformed line naming a host.
  Error prepare(const std::vector<ApiHost>& hosts);
  // The context for connections to a prepared host (null for one that was not prepared).
  std::shared_ptr<TlsContext> context(const ApiHost& host) const;

  // A connection to `host` failed with `error`. ok: the host is trusted now, connect again.
  // Otherwise the error to report (`error` itself when it was not our verification refusing).
  // `cluster`: the command's hosts (a trusted CA is recorded for those without an entry too).
  Error resolve_refusal(const ApiHost& host, const Error& error,
                        const std::vector<ApiHost>& cluster);

  const std::string& path() const { return options_.known_hosts_path; }

 private:
  HostTrust(HostTrustOptions options, TrustPrompt prompt, KnownHosts known);
  Result<std::shared_ptr<TlsContext>> make_context(const std::string& key, const KnownHost* entry);
  Error changed(const std::string& key, const KnownHost& entry, const TlsRejection& r) const;
  Error first_contact(const ApiHost& host, const TlsRejection& r,
                      const std::vector<ApiHost>& cluster);
  Error save(const std::vector<KnownHost>& entries);

  HostTrustOptions options_;
  TrustPrompt prompt_;
  KnownHosts known_;
  std::map<std::string, ApiHost> hosts_;                         // by key, as prepared
  std::map<std::string, std::shared_ptr<TlsContext>> contexts_;  // by key
  // What verification refused, by key; filled from inside handshakes
  // (TlsClientConfig::on_rejected).
  std::shared_ptr<std::map<std::string, TlsRejection>> rejections_;
  std::set<std::string> asked_;  // hosts asked about during this command (never twice)
};

// The texts, apart so tests read them without a terminal.
struct FirstContact {
  std::string server;                       // "pve1:8006"
  std::vector<std::vector<uint8_t>> chain;  // as sent, leaf first
  std::string reason;                       // why the system CAs refused it
  std::optional<size_t> ca_index;           // the CA in `chain` we may offer
  std::vector<std::string> ca_servers;      // where a trusted CA would be recorded
};
// The CA we may offer: a self-issued CA certificate in the chain (the last one first) with which
// the chain verifies for `host_name`.
std::optional<size_t> offerable_ca(const std::vector<std::vector<uint8_t>>& chain,
                                   std::string_view host_name);
std::string first_contact_question(const FirstContact& c);

}  // namespace pvb
