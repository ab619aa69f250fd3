#include "transports/testing/server_identity.h"

#include <mbedtls/x509_crt.h>
#include <stdlib.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "engine/io/server_certificate.h"
#include "transports/testing/cert_gen.h"

namespace pvb {

namespace fs = std::filesystem;

Result<ServerIdentity> generate_server_identity() {
  Result<GeneratedCert> ca =
      generate_cert({.common_name = "mock-pveproxy cluster CA", .is_ca = true, .valid_days = 3650});
  if (!ca.ok()) return Error(ca.error()).context("generating the CA");
  Result<GeneratedCert> leaf = generate_cert({.common_name = "localhost",
                                              .dns_sans = {"localhost"},
                                              .ip_sans = {"127.0.0.1", "::1"},
                                              .issuer = &ca.value(),
                                              .valid_days = 365});
  if (!leaf.ok()) return Error(leaf.error()).context("generating the server certificate");
  ServerIdentity id;
  id.chain_pem = leaf->cert_pem + ca->cert_pem;
  id.key_pem = leaf->key_pem;
  id.ca_pem = ca->cert_pem;
  id.cluster_ca_pem = ca->cert_pem;
  id.fingerprint = leaf->fingerprint;
  return id;
}

namespace {

Result<std::string> read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Error(Errc::io, "cannot open " + path);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Error(Errc::io, "cannot read " + path);
  return text.str();
}

}  // namespace

Result<Sha256Fingerprint> first_cert_fingerprint(const std::string& pem) {
  mbedtls_x509_crt crt;
  mbedtls_x509_crt_init(&crt);
  // mbedtls_x509_crt_parse wants the terminating NUL counted in the length for PEM.
  int ret = mbedtls_x509_crt_parse(&crt, reinterpret_cast<const unsigned char*>(pem.c_str()),
                                   pem.size() + 1);
  Result<Sha256Fingerprint> out = Error(Errc::usage, "no certificate in the PEM text");
  if (ret >= 0 && crt.raw.p != nullptr) {
    out = sha256_fingerprint(std::span<const uint8_t>(crt.raw.p, crt.raw.len));
  }
  mbedtls_x509_crt_free(&crt);
  return out;
}

Result<std::string> leaf_only_pem(const std::string& chain_pem) {
  auto certificates = certificates_from_pem(chain_pem);
  if (!certificates.ok()) return certificates.error();
  return certificate_pem(certificates->front());
}

Result<std::string> load_cluster_ca(const std::string& file) {
  Result<std::string> pem = read_file(file);
  if (!pem.ok()) return pem.error();
  auto certificates = certificates_from_pem(*pem);
  if (!certificates.ok()) return Error(certificates.error()).context(file);
  return pem;
}

Result<ServerIdentity> load_server_identity(const std::string& cert_file,
                                            const std::string& key_file) {
  Result<std::string> chain = read_file(cert_file);
  if (!chain.ok()) return chain.error();
  Result<std::string> key = read_file(key_file);
  if (!key.ok()) return key.error();
  Result<Sha256Fingerprint> fp = first_cert_fingerprint(*chain);
  if (!fp.ok()) return Error(fp.error()).context(cert_file);
  auto certificates = certificates_from_pem(*chain);
  if (!certificates.ok()) return Error(certificates.error()).context(cert_file);
  ServerIdentity id;
  if (certificates->size() > 1) {
    for (size_t i = 1; i < certificates->size(); ++i) {
      id.cluster_ca_pem += certificate_pem((*certificates)[i]);
    }
  } else {
    id.cluster_ca_pem = *chain;
  }
  id.chain_pem = *chain;
  id.key_pem = std::move(*key);
  id.ca_pem = std::move(*chain);
  id.fingerprint = *fp;
  return id;
}

Result<StateDir> StateDir::open(const std::string& dir) {
  if (dir.empty()) {
    std::string tmpl = (fs::temp_directory_path() / "mock-pveproxy-XXXXXX").string();
    if (mkdtemp(tmpl.data()) == nullptr) {
      return Error(Errc::io,
                   "cannot create a temporary directory: " + std::string(strerror(errno)));
    }
    return StateDir(tmpl, true);
  }
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Error(Errc::io, "cannot create --state-dir " + dir + ": " + ec.message());
  return StateDir(fs::absolute(dir, ec).string(), false);
}

StateDir::StateDir(StateDir&& other) noexcept
    : path_(std::move(other.path_)), temporary_(other.temporary_) {
  other.temporary_ = false;
  other.path_.clear();
}

StateDir::~StateDir() {
  if (!temporary_ || path_.empty()) return;
  std::error_code ec;
  fs::remove_all(path_, ec);
}

Result<std::string> StateDir::write_file(const std::string& name,
                                         const std::string& content) const {
  std::string full = (fs::path(path_) / name).string();
  std::ofstream out(full, std::ios::binary | std::ios::trunc);
  out << content;
  out.close();
  if (!out) return Error(Errc::io, "cannot write " + full);
  return full;
}

}  // namespace pvb
