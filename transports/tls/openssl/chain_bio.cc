#include "transports/tls/openssl/chain_bio.h"

#include "transports/tls/tls_engine.h"

namespace pvb {
namespace {

ChainBioEnds* ends_of(BIO* bio) {
  return static_cast<ChainBioEnds*>(BIO_get_data(bio));
}

int chain_write(BIO* bio, const char* data, size_t len, size_t* written) {
  BIO_clear_retry_flags(bio);
  // A record (or handshake flight) we did not write ourselves: appended uncounted in copy_stats(),
  // counted below as the library's copy.
  ends_of(bio)->out.append_header(data, len);
  count_tls_out(len);
  *written = len;
  return 1;
}

int chain_read(BIO* bio, char* buf, size_t len, size_t* read) {
  BIO_clear_retry_flags(bio);
  *read = tls_take_ciphertext(ends_of(bio)->in, buf, len);
  if (*read == 0) {
    BIO_set_retry_read(bio);
    return 0;
  }
  return 1;
}

long chain_ctrl(BIO* bio, int cmd, long, void*) {
  switch (cmd) {
    case BIO_CTRL_FLUSH:  // records are in the output chain already
      return 1;
    case BIO_CTRL_PENDING:
      return static_cast<long>(ends_of(bio)->in.size());
    case BIO_CTRL_WPENDING:
      return static_cast<long>(ends_of(bio)->out.size());
    default:  // no kTLS, no EOF, no push/pop
      return 0;
  }
}

// Made once per process and never freed: every chain BIO points at it.
BIO_METHOD* chain_bio_method() {
  static BIO_METHOD* const method = [] {
    const int index = BIO_get_new_index();
    if (index == -1) return static_cast<BIO_METHOD*>(nullptr);
    BIO_METHOD* m = BIO_meth_new(index | BIO_TYPE_SOURCE_SINK, "pvebridge ByteChain");
    if (m == nullptr) return m;
    BIO_meth_set_write_ex(m, &chain_write);
    BIO_meth_set_read_ex(m, &chain_read);
    BIO_meth_set_ctrl(m, &chain_ctrl);
    return m;
  }();
  return method;
}

}  // namespace

BIO* new_chain_bio(ChainBioEnds* ends) {
  BIO_METHOD* method = chain_bio_method();
  if (method == nullptr) return nullptr;
  BIO* bio = BIO_new(method);
  if (bio == nullptr) return nullptr;
  BIO_set_data(bio, ends);
  BIO_set_init(bio, 1);
  return bio;
}

}  // namespace pvb
