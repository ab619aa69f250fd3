// TlsTransport: TLS over any Transport (TCP, a MemPipe in tests). It owns the lower transport and
// is its sink; a TlsEngine from the shared TlsContext does the cryptography.
//
// - start() starts the lower transport; the handshake runs once it is connected; on_connected
//   comes after the handshake AND our verification (pin, or chain + host name) succeeded.
// - Plaintext is decrypted until the engine wants more ciphertext, into our receive chain
//   (leftovers are re-offered). A close_notify from the peer is end_stream; so is the lower
//   transport's end of stream without one (many servers just close), except during the handshake.
// - write() queues plaintext; a posted flush encrypts it one record (<= 16 KiB) at a time and hands
//   the ciphertext of the whole batch to the lower transport in one write. At most kLowerBudget
//   bytes of ciphertext wait in the lower transport: the rest stays plaintext (moved, not copied)
//   until it drains, which the lower's watermarks (0/0, see TransportOverlay) announce.
// - pending_write_bytes() = plaintext not yet encrypted (write_queue()) + the lower transport's
//   pending bytes.
// - read_disable() stops decrypting and is passed down to the lower transport — from the end of
//   the handshake on (the handshake itself must read, whatever our sink wants).
// - end_stream: close_notify after the pending data, then the lower's end_stream (half-close: the
//   peer's reply can still be read). close(Flush): the same, then the lower is closed with Flush;
//   while plaintext still waits for room below, a peer that takes nothing for kFlushGraceMs ends
//   it (the lower is aborted, on_closed carries Errc::timeout).
// - Failures: Errc::tls / Errc::tls_verify from the engine (with the mbedTLS text and any alert),
//   or the lower transport's error unchanged. A handshake answered by a plain-HTTP server (its
//   first bytes "HTTP/") fails with Errc::not_tls, whatever the backend made of those bytes.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/io/transport_overlay.h"
#include "transports/tls/tls_engine.h"

namespace pvb {

class TlsTransport : public TransportOverlay {
 public:
  // Ciphertext allowed to wait in the lower transport before we stop encrypting.
  static constexpr size_t kLowerBudget = 256 * 1024;
  // Plaintext decrypted per delivery to our sink (then we check read_disable again).
  static constexpr size_t kDeliverBatch = 64 * 1024;
  // Queued slices shorter than this are gathered (copied) into fuller records; longer ones are
  // encrypted in place.
  static constexpr size_t kGatherBelow = 4096;

  // server_name: host name or IP literal the client connects to; empty for the server role.
  TlsTransport(std::unique_ptr<Transport> lower, std::shared_ptr<TlsContext> ctx,
               std::string server_name);

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

  // After on_connected.
  std::optional<Sha256Fingerprint> peer_fingerprint() const;
  std::vector<std::vector<uint8_t>> peer_chain_der() const;
  std::string cipher_suite() const;
  std::string protocol_version() const;
  bool session_resumed() const;
  // Null when the context could not make an engine (the transport then fails at start()).
  const TlsEngine* engine() const { return engine_.get(); }

 protected:
  void on_read_enable_changed(bool enabled) override;
  // The lower transport's sink.
  void on_connected() override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_write_low() override;
  void on_closed(const Error& error) override;

 private:
  // Handshake, then plaintext to the sink, then queued writes. From I/O paths and posted tasks.
  void progress();
  void deliver_plaintext(bool reoffer);
  void flush_writes();
  void schedule_flush();
  std::span<const uint8_t> next_record();
  void send_engine_output();
  void sync_lower_reading();
  void fail(Error error);
  // A failed handshake's error: Errc::not_tls when the peer's first bytes were "HTTP/".
  Error handshake_failure(Error error) const;
  void arm_flush_grace();

  std::shared_ptr<TlsContext> ctx_;
  std::string server_name_;
  std::unique_ptr<TlsEngine> engine_;
  Error engine_error_;
  ByteChain rx_;  // decrypted, not yet consumed by our sink
  // write_queue(): plaintext accepted by write(), not yet encrypted.
  std::unique_ptr<uint8_t[]> gather_;  // assembles one record from small slices
  bool started_ = false;
  bool lower_connected_ = false;
  bool handshake_done_ = false;
  bool lower_eof_ = false;
  bool peer_close_notify_ = false;
  bool end_told_ = false;
  bool end_requested_ = false;    // write(..., end_stream = true)
  bool close_requested_ = false;  // close(Flush)
  bool close_notify_sent_ = false;
  bool lower_read_disabled_ = false;
  bool flush_posted_ = false;
  std::string peer_first_bytes_;        // the first few bytes the peer sent (handshake diagnosis)
  std::unique_ptr<Timer> flush_grace_;  // close(Flush) until our close_notify is handed down
};

}  // namespace pvb
