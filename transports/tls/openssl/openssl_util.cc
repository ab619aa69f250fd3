#include "transports/tls/openssl/openssl_util.h"

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <cstdio>
#include <cstring>

namespace pvb {
namespace {

// No passphrase: an encrypted key is an error, never a prompt on the controlling terminal.
int no_password(char*, int, int, void*) {
  return -1;
}

std::string name_text(X509_NAME* name) {
  std::unique_ptr<BIO, OpensslFree> bio(BIO_new(BIO_s_mem()));
  if (!bio || name == nullptr) return "(unprintable name)";
  // One line, "CN=x, O=y": RFC 2253 escaping without the spaces around '=' of XN_FLAG_ONELINE.
  const unsigned long flags = XN_FLAG_ONELINE & ~static_cast<unsigned long>(XN_FLAG_SPC_EQ);
  if (X509_NAME_print_ex(bio.get(), name, 0, flags) < 0) return "(unprintable name)";
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio.get(), &data);
  return n > 0 ? std::string(data, static_cast<size_t>(n)) : std::string();
}

}  // namespace

std::string openssl_error_text(unsigned long code) {
  if (ERR_SYSTEM_ERROR(code)) {
    // A failed system call (fopen of a CA file...): the reason is the errno.
    const int errno_value = ERR_GET_REASON(code);
    return std::string(std::strerror(errno_value)) + " (errno " + std::to_string(errno_value) + ")";
  }
  const char* lib = ERR_lib_error_string(code);
  const char* reason = ERR_reason_error_string(code);
  char hex[32];
  std::snprintf(hex, sizeof hex, " (0x%08lX)", code);
  std::string text = lib ? lib : "OpenSSL";
  text += " - ";
  text += reason ? reason : "reason " + std::to_string(ERR_GET_REASON(code));
  return text + hex;
}

OpensslError take_openssl_error() {
  unsigned long first = 0;
  unsigned long first_ssl = 0;
  for (unsigned long e = ERR_get_error(); e != 0; e = ERR_get_error()) {
    if (first == 0) first = e;
    if (first_ssl == 0 && ERR_GET_LIB(e) == ERR_LIB_SSL) first_ssl = e;
  }
  OpensslError error;
  error.code = first_ssl != 0 ? first_ssl : first;
  error.text = error.code != 0 ? openssl_error_text(error.code) : "no OpenSSL error reported";
  return error;
}

Result<std::vector<X509Ptr>> openssl_parse_certs(std::string_view pem) {
  ERR_clear_error();
  std::unique_ptr<BIO, OpensslFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error(Errc::internal, take_openssl_error().text);
  std::vector<X509Ptr> certs;
  for (;;) {
    X509Ptr crt(PEM_read_bio_X509(bio.get(), nullptr, &no_password, nullptr));
    if (crt) {
      certs.push_back(std::move(crt));
      continue;
    }
    // The normal end: no further "-----BEGIN" after at least one certificate.
    const unsigned long last = ERR_peek_last_error();
    if (!certs.empty() && ERR_GET_LIB(last) == ERR_LIB_PEM &&
        ERR_GET_REASON(last) == PEM_R_NO_START_LINE) {
      ERR_clear_error();
      return certs;
    }
    OpensslError e = take_openssl_error();
    return Error(Errc::usage, certs.empty() && e.code == 0 ? "no certificate found" : e.text,
                 static_cast<int>(e.code));
  }
}

Result<EvpPkeyPtr> openssl_parse_key(std::string_view pem) {
  ERR_clear_error();
  std::unique_ptr<BIO, OpensslFree> bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (!bio) return Error(Errc::internal, take_openssl_error().text);
  EvpPkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, &no_password, nullptr));
  if (!key) {
    OpensslError e = take_openssl_error();
    return Error(Errc::usage, e.text, static_cast<int>(e.code));
  }
  return key;
}

std::vector<uint8_t> openssl_der(X509* crt) {
  const int n = i2d_X509(crt, nullptr);
  if (n <= 0) return {};
  std::vector<uint8_t> der(static_cast<size_t>(n));
  unsigned char* p = der.data();
  i2d_X509(crt, &p);
  return der;
}

CertNames openssl_cert_names(X509* crt) {
  CertNames names;
  names.has_san = X509_get_ext_by_NID(crt, NID_subject_alt_name, -1) >= 0;
  auto* sans =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(crt, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; sans != nullptr && i < sk_GENERAL_NAME_num(sans); ++i) {
    const GENERAL_NAME* gn = sk_GENERAL_NAME_value(sans, i);
    if (gn->type == GEN_DNS) {
      const ASN1_STRING* s = gn->d.dNSName;
      names.dns.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                             static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (gn->type == GEN_IPADD) {
      const ASN1_STRING* s = gn->d.iPAddress;
      const int len = ASN1_STRING_length(s);
      if (len == 4 || len == 16) {
        const unsigned char* p = ASN1_STRING_get0_data(s);
        names.ips.emplace_back(p, p + len);
      }
    }
  }
  GENERAL_NAMES_free(sans);
  // The most specific (last) CN, as the mbedTLS backend and browsers before SANs.
  X509_NAME* subject = X509_get_subject_name(crt);
  int last = -1;
  for (int i = X509_NAME_get_index_by_NID(subject, NID_commonName, -1); i >= 0;
       i = X509_NAME_get_index_by_NID(subject, NID_commonName, i)) {
    last = i;
  }
  if (last >= 0) {
    unsigned char* utf8 = nullptr;
    const int n =
        ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, last)));
    if (n > 0)
      names.common_name.assign(reinterpret_cast<const char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  return names;
}

std::string openssl_subject(X509* crt) {
  return name_text(X509_get_subject_name(crt));
}

std::string openssl_issuer(X509* crt) {
  return name_text(X509_get_issuer_name(crt));
}

}  // namespace pvb
