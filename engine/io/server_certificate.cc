// cert_inspect.h on mbedTLS: parsing, summaries and a chain check against one anchor.
#include <mbedtls/oid.h>
#include <mbedtls/pem.h>
#include <mbedtls/x509_crt.h>

#include <algorithm>
#include <cstdio>

#include "engine/io/mbedtls_x509.h"
#include "engine/io/server_certificate.h"

namespace pvb {
namespace {

// Owns one parsed list of certificates.
struct CrtList {
  CrtList() { mbedtls_x509_crt_init(&crt); }
  ~CrtList() { mbedtls_x509_crt_free(&crt); }
  CrtList(const CrtList&) = delete;
  CrtList& operator=(const CrtList&) = delete;
  // DER, exactly one certificate.
  int add(std::span<const uint8_t> der) {
    return mbedtls_x509_crt_parse_der(&crt, der.data(), der.size());
  }
  mbedtls_x509_crt crt;
};

std::string date(const mbedtls_x509_time& t) {
  char text[16];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", t.year, t.mon, t.day);
  return text;
}

}  // namespace

Result<CertSummary> summarize_certificate(std::span<const uint8_t> der) {
  CrtList list;
  if (int ret = list.add(der); ret != 0) {
    return Error(Errc::protocol, "not an X.509 certificate: " + mbedtls_error_text(ret), ret);
  }
  const mbedtls_x509_crt& crt = list.crt;
  CertSummary s;
  s.subject = mbedtls_subject(crt);
  s.issuer = mbedtls_issuer(crt);
  s.not_before = date(crt.valid_from);
  s.not_after = date(crt.valid_to);
  s.is_ca = (crt.ext_types & MBEDTLS_X509_EXT_BASIC_CONSTRAINTS) != 0 && crt.ca_istrue != 0;
  s.self_issued =
      crt.issuer_raw.len == crt.subject_raw.len &&
      std::equal(crt.issuer_raw.p, crt.issuer_raw.p + crt.issuer_raw.len, crt.subject_raw.p);
  s.fingerprint = sha256_fingerprint(der);
  return s;
}

std::string certificate_pem(std::span<const uint8_t> der) {
  // Base64 grows 4/3, plus a newline per 64 characters and the two armour lines.
  std::string out(der.size() * 2 + 128, '\0');
  size_t written = 0;
  int ret = mbedtls_pem_write_buffer(
      "-----BEGIN CERTIFICATE-----\n", "-----END CERTIFICATE-----\n", der.data(), der.size(),
      reinterpret_cast<unsigned char*>(out.data()), out.size(), &written);
  if (ret != 0) return "";
  out.resize(written > 0 ? written - 1 : 0);  // `written` counts the terminating NUL
  return out;
}

Result<std::vector<std::vector<uint8_t>>> certificates_from_pem(std::string_view pem) {
  CrtList list;
  // mbedTLS wants PEM text with its terminating NUL counted in the length.
  std::string text(pem);
  int ret = mbedtls_x509_crt_parse(&list.crt, reinterpret_cast<const unsigned char*>(text.c_str()),
                                   text.size() + 1);
  if (ret != 0 || list.crt.raw.p == nullptr) {
    return Error(Errc::usage,
                 "not PEM certificates: " +
                     (ret < 0   ? mbedtls_error_text(ret)
                      : ret > 0 ? std::to_string(ret) + " certificate(s) failed to parse"
                                : std::string("none found")),
                 ret);
  }
  std::vector<std::vector<uint8_t>> out;
  for (const mbedtls_x509_crt* c = &list.crt; c != nullptr && c->raw.p != nullptr; c = c->next) {
    out.emplace_back(c->raw.p, c->raw.p + c->raw.len);
  }
  return out;
}

Error verify_chain_with_ca(const std::vector<std::vector<uint8_t>>& chain,
                           std::span<const uint8_t> ca, std::string_view server_name) {
  if (chain.empty()) return Error(Errc::tls_verify, "no certificate to verify");
  CrtList presented;
  for (const auto& der : chain) {
    if (int ret = presented.add(der); ret != 0) {
      return Error(Errc::tls_verify, "unparsable certificate: " + mbedtls_error_text(ret), ret);
    }
  }
  CrtList anchor;
  if (int ret = anchor.add(ca); ret != 0) {
    return Error(Errc::tls_verify, "unparsable CA certificate: " + mbedtls_error_text(ret), ret);
  }
  uint32_t flags = 0;
  // No expected name here (mbedTLS ignores IP SANs): check_host_name below does it for both.
  int ret = mbedtls_x509_crt_verify(&presented.crt, &anchor.crt, nullptr, nullptr, &flags, nullptr,
                                    nullptr);
  if (ret != 0 || flags != 0) {
    return Error(Errc::tls_verify,
                 "does not verify with that CA: " +
                     (flags != 0 ? mbedtls_verify_flags_text(flags) : mbedtls_error_text(ret)),
                 ret);
  }
  if (server_name.empty()) return Error();
  return check_host_name(server_name, mbedtls_cert_names(presented.crt));
}

}  // namespace pvb
