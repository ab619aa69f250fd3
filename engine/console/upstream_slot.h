// UpstreamSlot: the node side of a spliced client's pump, as one transport that outlives the
// console WebSockets behind it (issue 14). The pump sees one connection for the whole session;
// the slot forwards to whichever WebSocket is attached, and when that one is lost (closed by the
// node, reset, TLS or TCP failure) it does not end: it tells the session, which either reconnects
// (detach, then attach a new WebSocket) or gives the loss to the pump as it would have come
// (fail()).
//
// While nothing is attached, writes are dropped (the viewer link keeps the viewer's messages in
// its queue meanwhile, so only bytes already on their way to the lost connection go) and the
// pump's read pauses are remembered, to be applied to the next WebSocket.
#pragma once

#include <functional>

#include "engine/io/transport.h"
#include "engine/io/websocket.h"

namespace pvb {

class UpstreamSlot final : public Transport, private TransportSink {
 public:
  // `clean`: the node ended the console in order (a WebSocket Close or end of stream).
  using LostFn = std::function<void(const Error& error, bool clean)>;

  UpstreamSlot(Loop& loop, LostFn on_lost);
  ~UpstreamSlot() override;

  // Becomes the WebSocket's sink. `early`: bytes it delivered before (after its ServerInit),
  // passed up first (posted).
  void attach(WebSocketStream& ws, ByteChain early);
  // Lets go of the WebSocket (which its owner then closes).
  void detach();
  bool attached() const { return ws_ != nullptr; }
  // The loss reported by on_lost becomes the pump's: an end of stream (clean) or a failure.
  void fail(const Error& error, bool clean);

  void start() override;
  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

 protected:
  void on_read_enable_changed(bool enabled) override;

 private:
  void on_data(ByteChain& data, bool end_stream) override;
  void on_write_high() override { write_queue().recheck(); }
  void on_write_low() override { write_queue().recheck(); }
  void on_closed(const Error& error) override;
  void lost(const Error& error, bool clean);

  LostFn on_lost_;
  WebSocketStream* ws_ = nullptr;
  bool closing_ = false;  // close() was called: the next on_closed is ours
  bool failed_ = false;
};

}  // namespace pvb
