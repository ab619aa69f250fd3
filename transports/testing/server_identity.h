// The mock's TLS identity and the directory it writes into.
//
// By default the mock makes its own PKI at start, like a fresh Proxmox node: a CA ("the cluster
// CA", also handed out as vncproxy's `cert`) and a leaf for localhost, 127.0.0.1 and ::1 signed
// by it, both ECDSA P-256 so startup takes milliseconds. Clients verify with the CA file or pin
// the leaf's SHA-256 fingerprint, exactly as with a real node.
#pragma once

#include <string>

#include "engine/core/error.h"
#include "engine/io/fingerprint.h"

namespace pvb {

struct ServerIdentity {
  std::string chain_pem;  // what the server sends: leaf, then the CA
  std::string key_pem;    // the leaf's private key (never written to disk by us)
  std::string ca_pem;     // what clients trust: the CA (or the given chain)
  // vncproxy's `cert`, as pveproxy hands out /etc/pve/pve-root-ca.pem: the CA (or, for a given
  // chain, the certificates after its leaf; the chain itself when it is the leaf alone).
  std::string cluster_ca_pem;
  Sha256Fingerprint fingerprint{};  // of the leaf's DER
};

// A fresh CA and leaf (SANs localhost, 127.0.0.1, ::1).
Result<ServerIdentity> generate_server_identity();
// A PEM chain (leaf first) and its key from files; the clients' trust file is the chain itself.
Result<ServerIdentity> load_server_identity(const std::string& cert_file,
                                            const std::string& key_file);
// The leaf of a PEM chain (its first certificate) as PEM: what a server sending only its own
// certificate, as stock pveproxy does, presents (--leaf-only).
Result<std::string> leaf_only_pem(const std::string& chain_pem);
// The PEM certificates of a file, for vncproxy's `cert` (--cluster-ca).
Result<std::string> load_cluster_ca(const std::string& file);
// SHA-256 of the DER of the first certificate in a PEM text.
Result<Sha256Fingerprint> first_cert_fingerprint(const std::string& pem);

// Where the mock writes files (ca.pem). A given directory is created if missing and left in
// place; without one, a private temporary directory (mode 0700) is made and removed on
// destruction.
class StateDir {
 public:
  static Result<StateDir> open(const std::string& dir);  // dir empty: a temporary one
  StateDir(StateDir&& other) noexcept;
  StateDir& operator=(StateDir&&) = delete;
  StateDir(const StateDir&) = delete;
  ~StateDir();

  const std::string& path() const { return path_; }
  // Writes `content` to path()/name (replacing it); returns the full path.
  Result<std::string> write_file(const std::string& name, const std::string& content) const;

 private:
  StateDir(std::string path, bool temporary) : path_(std::move(path)), temporary_(temporary) {}
  std::string path_;
  bool temporary_ = false;
};

}  // namespace pvb
