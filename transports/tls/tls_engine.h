// The backend seam. A TlsContext (one per process and role: CA chain, random generator, library
// configuration, session cache) makes one TlsEngine per connection. An engine does no I/O: it is
// a memory-BIO state machine — ciphertext is fed in and taken out, plaintext is read into and
// written from ByteChains — so TlsTransport drives any backend the same way and tests can pump two
// engines by hand.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/core/error.h"
#include "engine/io/fingerprint.h"
#include "transports/tls/tls_config.h"

namespace pvb {

// Bytes copied into and out of the TLS library on this thread (ciphertext fed in, plaintext handed
// to encryption; plaintext decrypted out, ciphertext produced). Kept apart from copy_stats(): these
// copies are the library's price, not ours.
struct TlsCopyStats {
  uint64_t bytes_in = 0;
  uint64_t bytes_out = 0;
  uint64_t calls_in = 0;
  uint64_t calls_out = 0;
};
TlsCopyStats& tls_copy_stats();
// Every backend counts its copies with these: into the library (ciphertext fed to it, plaintext
// to encrypt) and out of it (plaintext decrypted, ciphertext produced).
inline void count_tls_in(size_t n) {
  tls_copy_stats().bytes_in += n;
  tls_copy_stats().calls_in += 1;
}
inline void count_tls_out(size_t n) {
  tls_copy_stats().bytes_out += n;
  tls_copy_stats().calls_out += 1;
}
// A backend's read callback: up to `len` bytes of ciphertext fed to the engine, copied into the
// library's buffer and drained from `in` (counted as the library's copy). Returns the bytes taken.
inline size_t tls_take_ciphertext(ByteChain& in, void* buf, size_t len) {
  const size_t n = in.take_into(buf, len, ByteChain::CopyCounter::caller);
  if (n > 0) count_tls_in(n);
  return n;
}

// Handshakes completed on this thread (both roles), for tests and benchmarks.
struct TlsHandshakeStats {
  uint64_t full = 0;
  uint64_t resumed = 0;
};
TlsHandshakeStats& tls_handshake_stats();

enum class TlsRole { client, server };

// What one read() call found.
enum class TlsReadStatus {
  want_read,     // every decryptable byte was taken; feed more ciphertext
  more,          // stopped at `max`; call again
  close_notify,  // the peer ended its direction cleanly; nothing more will come
};

class TlsEngine {
 public:
  // The largest plaintext one record carries; write() never takes more per call.
  static constexpr size_t kMaxRecordPlaintext = 16 * 1024;

  virtual ~TlsEngine() = default;

  // Ciphertext from the peer: every slice is moved in.
  virtual void feed(ByteChain& ciphertext) = 0;
  // Ciphertext fed but not yet consumed by the library.
  virtual size_t buffered_input() const = 0;
  // Moves the ciphertext produced so far (handshake, records, alerts) to the end of `out`.
  virtual void take_output(ByteChain& out) = 0;
  virtual size_t output_size() const = 0;

  // Advances the handshake as far as the fed bytes allow. true = finished (and verified).
  // Failures: Errc::tls_verify for the peer's certificate, Errc::tls for everything else.
  virtual Result<bool> handshake() = 0;
  virtual bool handshake_done() const = 0;

  // Decrypts into `out` until the library wants more ciphertext, or at least `max` bytes were
  // appended. Errors (bad record MAC, fatal alert, renegotiation refused...) are Errc::tls.
  virtual Result<TlsReadStatus> read(ByteChain& out, size_t max) = 0;
  // Encrypts up to kMaxRecordPlaintext bytes of `plaintext` as one record; returns the bytes taken.
  virtual Result<size_t> write(std::span<const uint8_t> plaintext) = 0;
  // Queues a close_notify alert (output is then available through take_output).
  virtual void close_notify() = 0;

  // After the handshake.
  virtual bool session_resumed() const = 0;
  virtual std::string cipher_suite() const = 0;      // IANA name, "TLS_ECDHE_..."
  virtual std::string protocol_version() const = 0;  // "TLSv1.2"
  // The peer's chain as received, leaf first (after a resumed handshake: the leaf only).
  virtual std::vector<std::vector<uint8_t>> peer_chain_der() const = 0;
  std::optional<Sha256Fingerprint> peer_fingerprint() const;
};

class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> create_client(const TlsClientConfig& config);
  static Result<std::shared_ptr<TlsContext>> create_server(const TlsServerConfig& config);

  virtual ~TlsContext() = default;
  virtual TlsRole role() const = 0;
  virtual TlsBackendKind backend() const = 0;
  // One engine per connection. server_name: DNS name or IP literal the client connects to (SNI,
  // name check, session cache key); empty for the server role.
  virtual Result<std::unique_ptr<TlsEngine>> new_engine(std::string_view server_name) = 0;
  // Drops cached client sessions (all of them, or one server name's).
  virtual void forget_sessions(std::string_view server_name = {}) = 0;
};

}  // namespace pvb
