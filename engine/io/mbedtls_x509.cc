#include "engine/io/mbedtls_x509.h"

#include <mbedtls/asn1.h>
#include <mbedtls/error.h>
#include <mbedtls/oid.h>

#include <cstdio>
#include <cstring>

namespace pvb {

std::string mbedtls_error_text(int ret) {
  char text[256] = {};
  mbedtls_strerror(ret, text, sizeof text);
  char code[32];
  std::snprintf(code, sizeof code, " (-0x%04X)", static_cast<unsigned>(ret < 0 ? -ret : ret));
  return std::string(text) + code;
}

CertNames mbedtls_cert_names(const mbedtls_x509_crt& crt) {
  CertNames names;
  names.has_san = (crt.ext_types & MBEDTLS_X509_EXT_SUBJECT_ALT_NAME) != 0;
  for (const mbedtls_x509_sequence* s = &crt.subject_alt_names; s != nullptr; s = s->next) {
    if (s->buf.p == nullptr) continue;
    const int tag = s->buf.tag;
    if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2)) {  // dNSName, IA5String
      names.dns.emplace_back(reinterpret_cast<const char*>(s->buf.p), s->buf.len);
    } else if (tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7)) {  // iPAddress, 4 or 16 octets
      if (s->buf.len == 4 || s->buf.len == 16)
        names.ips.emplace_back(s->buf.p, s->buf.p + s->buf.len);
    }
  }
  // The most specific (last) CN, as browsers did before SANs were mandatory.
  for (const mbedtls_x509_name* n = &crt.subject; n != nullptr; n = n->next) {
    if (n->oid.p != nullptr && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &n->oid) == 0) {
      names.common_name.assign(reinterpret_cast<const char*>(n->val.p), n->val.len);
    }
  }
  return names;
}

static std::string dn_text(const mbedtls_x509_name* dn) {
  char text[512] = {};
  if (mbedtls_x509_dn_gets(text, sizeof text, dn) < 0) return "(unprintable name)";
  return text;
}

std::string mbedtls_subject(const mbedtls_x509_crt& crt) {
  return dn_text(&crt.subject);
}
std::string mbedtls_issuer(const mbedtls_x509_crt& crt) {
  return dn_text(&crt.issuer);
}

std::string mbedtls_verify_flags_text(uint32_t flags) {
  char text[1024] = {};
  if (mbedtls_x509_crt_verify_info(text, sizeof text, "", flags) < 0) return "verification failed";
  std::string out;
  for (std::string_view rest = text; !rest.empty();) {
    size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    if (!line.empty()) {
      if (!out.empty()) out += "; ";
      out += line;
    }
    if (nl == std::string_view::npos) break;
    rest.remove_prefix(nl + 1);
  }
  return out.empty() ? "verification failed" : out;
}

}  // namespace pvb
