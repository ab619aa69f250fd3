// Certificate writing is mbedTLS-specific (x509write); it lives here rather than behind the backend
// seam because only tests and the mock server use it.
#include "transports/testing/cert_gen.h"

#include <mbedtls/asn1write.h>
#include <mbedtls/bignum.h>
#include <mbedtls/ecp.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/x509_crt.h>

#include <ctime>
#include <memory>

#include "engine/core/host_name.h"
#include "transports/tls/mbedtls/mbedtls_random.h"

namespace pvb {
namespace {

// RAII holders for the mbedTLS structures used here.
struct Pk {
  Pk() { mbedtls_pk_init(&v); }
  ~Pk() { mbedtls_pk_free(&v); }
  mbedtls_pk_context v;
};
struct Crt {
  Crt() { mbedtls_x509_crt_init(&v); }
  ~Crt() { mbedtls_x509_crt_free(&v); }
  mbedtls_x509_crt v;
};
struct CrtWriter {
  CrtWriter() { mbedtls_x509write_crt_init(&v); }
  ~CrtWriter() { mbedtls_x509write_crt_free(&v); }
  mbedtls_x509write_cert v;
};
struct Mpi {
  Mpi() { mbedtls_mpi_init(&v); }
  ~Mpi() { mbedtls_mpi_free(&v); }
  mbedtls_mpi v;
};

Error fail(std::string_view what, int ret) {
  return Error(Errc::internal,
               "certificate generation: " + std::string(what) + ": " + mbedtls_error_text(ret),
               ret);
}

// "YYYYMMDDhhmmss" in UTC, as x509write_crt_set_validity wants it.
std::string x509_time(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char text[32];
  strftime(text, sizeof text, "%Y%m%d%H%M%S", &tm);
  return text;
}

// mbedTLS's name parser splits at commas; it only understands "\," as an escape.
std::string subject_name(const std::string& cn) {
  std::string out = "CN=";
  for (char c : cn) {
    if (c == ',') out += '\\';
    out += c;
  }
  return out;
}

// One GeneralName with an implicit context tag ([2] dNSName, [7] iPAddress): value, length, tag,
// written backwards as mbedTLS's ASN.1 writer does. Returns the bytes written or an mbedTLS error.
int write_general_name(unsigned char** p, unsigned char* start, int tag, const unsigned char* data,
                       size_t n) {
  int ret = 0;
  size_t len = 0;
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_raw_buffer(p, start, data, n));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONTEXT_SPECIFIC | tag));
  return static_cast<int>(len);
}

// SubjectAltName ::= SEQUENCE OF GeneralName. mbedTLS 2.28's x509write has no SAN helper, so we
// write the DER ourselves, last entry first.
int write_san_sequence(unsigned char** p, unsigned char* start, const std::vector<std::string>& dns,
                       const std::vector<std::vector<uint8_t>>& ips) {
  int ret = 0;
  size_t len = 0;
  for (auto it = ips.rbegin(); it != ips.rend(); ++it) {
    MBEDTLS_ASN1_CHK_ADD(len, write_general_name(p, start, 7, it->data(), it->size()));
  }
  for (auto it = dns.rbegin(); it != dns.rend(); ++it) {
    MBEDTLS_ASN1_CHK_ADD(
        len, write_general_name(p, start, 2, reinterpret_cast<const unsigned char*>(it->data()),
                                it->size()));
  }
  MBEDTLS_ASN1_CHK_ADD(len, mbedtls_asn1_write_len(p, start, len));
  MBEDTLS_ASN1_CHK_ADD(
      len, mbedtls_asn1_write_tag(p, start, MBEDTLS_ASN1_CONSTRUCTED | MBEDTLS_ASN1_SEQUENCE));
  return static_cast<int>(len);
}

Result<std::vector<unsigned char>> san_extension(const CertSpec& spec) {
  std::vector<std::vector<uint8_t>> ips;
  for (const std::string& ip : spec.ip_sans) {
    auto bytes = parse_ip_literal(ip);
    if (!bytes) return Error(Errc::usage, "certificate generation: not an IP address: " + ip);
    ips.push_back(*bytes);
  }
  size_t size = 16;  // room for the headers: each length takes at most 5 bytes here
  for (const std::string& d : spec.dns_sans) size += d.size() + 8;
  for (const auto& ip : ips) size += ip.size() + 8;
  std::vector<unsigned char> buf(size);
  unsigned char* p = buf.data() + buf.size();
  const int ret = write_san_sequence(&p, buf.data(), spec.dns_sans, ips);
  if (ret < 0) return fail("writing subjectAltName", ret);
  return std::vector<unsigned char>(p, buf.data() + buf.size());
}

}  // namespace

Result<GeneratedCert> generate_cert(const CertSpec& spec) {
  MbedtlsRandom random;
  if (Error e = random.seed("pvebridge cert_gen"); e.failed()) return e;
  void* rng = random.drbg();

  Pk key;
  int ret = mbedtls_pk_setup(&key.v, mbedtls_pk_info_from_type(MBEDTLS_PK_ECKEY));
  if (ret == 0) {
    ret = mbedtls_ecp_gen_key(MBEDTLS_ECP_DP_SECP256R1, mbedtls_pk_ec(key.v),
                              &MbedtlsRandom::generate, rng);
  }
  if (ret != 0) return fail("key generation", ret);

  // The issuer's key signs; its subject becomes our issuer name.
  Pk issuer_key;
  std::string issuer_name = subject_name(spec.common_name);
  if (spec.issuer) {
    ret = mbedtls_pk_parse_key(&issuer_key.v,
                               reinterpret_cast<const unsigned char*>(spec.issuer->key_pem.c_str()),
                               spec.issuer->key_pem.size() + 1, nullptr, 0);
    if (ret != 0) return fail("parsing the issuer key", ret);
    Crt issuer_crt;
    ret =
        mbedtls_x509_crt_parse_der(&issuer_crt.v, spec.issuer->der.data(), spec.issuer->der.size());
    if (ret != 0) return fail("parsing the issuer certificate", ret);
    issuer_name = mbedtls_subject(issuer_crt.v);
  }

  CrtWriter w;
  mbedtls_x509write_crt_set_version(&w.v, MBEDTLS_X509_CRT_VERSION_3);
  mbedtls_x509write_crt_set_md_alg(&w.v, MBEDTLS_MD_SHA256);
  mbedtls_x509write_crt_set_subject_key(&w.v, &key.v);
  mbedtls_x509write_crt_set_issuer_key(&w.v, spec.issuer ? &issuer_key.v : &key.v);
  if (!spec.common_name.empty()) {
    ret = mbedtls_x509write_crt_set_subject_name(&w.v, subject_name(spec.common_name).c_str());
    if (ret != 0) return fail("subject name", ret);
  }
  if (!issuer_name.empty() && issuer_name != "CN=") {
    ret = mbedtls_x509write_crt_set_issuer_name(&w.v, issuer_name.c_str());
    if (ret != 0) return fail("issuer name", ret);
  }

  unsigned char serial_bytes[16];
  MbedtlsRandom::generate(rng, serial_bytes, sizeof serial_bytes);
  serial_bytes[0] &= 0x7F;  // positive
  serial_bytes[0] |= 0x01;  // and no leading zero byte
  Mpi serial;
  ret = mbedtls_mpi_read_binary(&serial.v, serial_bytes, sizeof serial_bytes);
  if (ret == 0) ret = mbedtls_x509write_crt_set_serial(&w.v, &serial.v);
  if (ret != 0) return fail("serial number", ret);

  const int64_t not_before = static_cast<int64_t>(time(nullptr)) + spec.not_before_offset;
  const int64_t not_after = not_before + static_cast<int64_t>(spec.valid_days) * 86400;
  ret = mbedtls_x509write_crt_set_validity(&w.v, x509_time(not_before).c_str(),
                                           x509_time(not_after).c_str());
  if (ret != 0) return fail("validity", ret);

  ret = mbedtls_x509write_crt_set_basic_constraints(&w.v, spec.is_ca ? 1 : 0, -1);
  if (ret == 0) {
    const unsigned usage = spec.is_ca ? MBEDTLS_X509_KU_KEY_CERT_SIGN | MBEDTLS_X509_KU_CRL_SIGN |
                                            MBEDTLS_X509_KU_DIGITAL_SIGNATURE
                                      : MBEDTLS_X509_KU_DIGITAL_SIGNATURE;
    ret = mbedtls_x509write_crt_set_key_usage(&w.v, usage);
  }
  if (ret == 0) ret = mbedtls_x509write_crt_set_subject_key_identifier(&w.v);
  if (ret == 0) ret = mbedtls_x509write_crt_set_authority_key_identifier(&w.v);
  if (ret != 0) return fail("extensions", ret);

  if (!spec.dns_sans.empty() || !spec.ip_sans.empty()) {
    auto san = san_extension(spec);
    if (!san.ok()) return san.error();
    // Critical when the subject is empty (RFC 5280 4.2.1.6).
    ret = mbedtls_x509write_crt_set_extension(
        &w.v, MBEDTLS_OID_SUBJECT_ALT_NAME, MBEDTLS_OID_SIZE(MBEDTLS_OID_SUBJECT_ALT_NAME),
        spec.common_name.empty() ? 1 : 0, san->data(), san->size());
    if (ret != 0) return fail("subjectAltName", ret);
  }

  GeneratedCert out;
  std::vector<unsigned char> pem(8192);
  ret = mbedtls_x509write_crt_pem(&w.v, pem.data(), pem.size(), &MbedtlsRandom::generate, rng);
  if (ret != 0) return fail("writing the certificate", ret);
  out.cert_pem = reinterpret_cast<const char*>(pem.data());
  ret = mbedtls_pk_write_key_pem(&key.v, pem.data(), pem.size());
  if (ret != 0) return fail("writing the key", ret);
  out.key_pem = reinterpret_cast<const char*>(pem.data());
  mbedtls_platform_zeroize(pem.data(), pem.size());

  // Parsing our own output back both checks it and gives the DER.
  Crt parsed;
  ret = mbedtls_x509_crt_parse(&parsed.v,
                               reinterpret_cast<const unsigned char*>(out.cert_pem.c_str()),
                               out.cert_pem.size() + 1);
  if (ret != 0) return fail("parsing the generated certificate", ret);
  out.der.assign(parsed.v.raw.p, parsed.v.raw.p + parsed.v.raw.len);
  out.fingerprint = sha256_fingerprint(out.der);
  return out;
}

}  // namespace pvb
