// TransportOverlay: the base of every Transport that sits on another one (TLS over TCP, a WebSocket
// over TLS, the CONNECT tunnel, the test overlays). The model: Envoy's PassthroughSocket. It owns
// the lower transport, is its sink, and forwards everything by default, so an overlay overrides
// only what it changes:
//
// - start() / close(mode) go down; on_connected, on_data and on_closed come up (emit_connected,
//   emit_data, finish), so on_closed still comes once, last, posted (the lower's was).
// - read_disable() is passed down (on_read_enable_changed).
// - Writes go down through write_lower(). pending_write_bytes() is the overlay's own write_queue()
//   (bytes it holds back: a TLS plaintext queue, a WebSocket's writes before the handshake) plus
//   the lower's pending bytes. The lower's marks are 0/0, so it reports when its queue fills and
//   when it is empty again; each report, and each write_lower(), re-checks our level.
//
// Interface is Transport or an interface derived from it (WebSocketStream).
#pragma once

#include <memory>
#include <utility>

#include "engine/io/transport.h"

namespace pvb {

template <class Interface>
class TransportOverlayOf : public Interface, protected TransportSink {
 public:
  explicit TransportOverlayOf(std::unique_ptr<Transport> lower) : Interface(lower->loop()) {
    attach_lower(std::move(lower));
  }
  ~TransportOverlayOf() override {
    this->write_queue().set_below(nullptr);
    if (lower_ && lower_->sink() == this) lower_->set_sink(nullptr);
  }

  void start() override { lower_->start(); }
  void write(ByteChain& data, bool end_stream = false) override {
    if (this->closed()) {
      data.clear();
      return;
    }
    write_lower(data, end_stream);
  }
  void close(CloseMode mode) override { lower_->close(mode); }

  // The transport underneath (named so as not to hide WebSocketStream::lower()).
  Transport& lower_transport() { return *lower_; }

 protected:
  void on_read_enable_changed(bool enabled) override { lower_->read_disable(!enabled); }

  // The lower transport's sink.
  void on_connected() override { this->emit_connected(); }
  void on_data(ByteChain& data, bool end_stream) override { this->emit_data(data, end_stream); }
  void on_write_high() override { this->write_queue().recheck(); }
  void on_write_low() override { this->write_queue().recheck(); }
  void on_closed(const Error& error) override { this->finish(error); }

  // For an overlay whose lower transport comes later (it must then override start, write, close
  // and on_read_enable_changed, which assume one).
  explicit TransportOverlayOf(Loop& loop) : Interface(loop) {}
  void attach_lower(std::unique_ptr<Transport> lower) {
    lower_ = std::move(lower);
    lower_->set_sink(this);
    lower_->set_write_watermarks(0, 0);
    this->write_queue().set_below([this] { return lower_->pending_write_bytes(); });
  }

  // Hands bytes to the lower transport and re-checks our level (which includes them).
  void write_lower(ByteChain& data, bool end_stream = false) {
    lower_->write(data, end_stream);
    this->write_queue().recheck();
  }

  std::unique_ptr<Transport> lower_;
};

using TransportOverlay = TransportOverlayOf<Transport>;

}  // namespace pvb
