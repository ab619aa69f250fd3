#include "engine/console/upstream_slot.h"

namespace pvb {

UpstreamSlot::UpstreamSlot(Loop& loop, LostFn on_lost)
    : Transport(loop), on_lost_(std::move(on_lost)) {}

UpstreamSlot::~UpstreamSlot() {
  detach();
}

void UpstreamSlot::attach(WebSocketStream& ws, ByteChain early) {
  detach();
  ws_ = &ws;
  ws.set_sink(this);
  ws.set_write_watermarks(0, 0);
  write_queue().set_below([this] { return ws_ ? ws_->pending_write_bytes() : 0; });
  // The pump paused our reading while the previous WebSocket was attached: keep it paused.
  if (!reading_enabled()) ws.read_disable(true);
  if (!connected()) emit_connected();
  if (!early.empty()) {
    auto chain = std::make_shared<ByteChain>(std::move(early));
    post([this, chain] {
      if (ws_ && !failed_) emit_data(*chain, false);
    });
  }
  write_queue().recheck();
}

void UpstreamSlot::detach() {
  if (!ws_) return;
  if (ws_->sink() == this) ws_->set_sink(nullptr);
  ws_ = nullptr;
  write_queue().set_below(nullptr);
  write_queue().recheck();
}

void UpstreamSlot::start() {}

void UpstreamSlot::write(ByteChain& data, bool end_stream) {
  if (closed() || !ws_) {
    data.clear();
    return;
  }
  ws_->write(data, end_stream);
  write_queue().recheck();
}

void UpstreamSlot::close(CloseMode mode) {
  if (closed()) return;
  closing_ = true;
  if (ws_ && !ws_->closed()) return ws_->close(mode);
  // Nothing attached (a reconnect in progress): ends now.
  detach();
  post([this] { finish(Error()); });
}

void UpstreamSlot::on_read_enable_changed(bool enabled) {
  if (ws_) ws_->read_disable(!enabled);
}

void UpstreamSlot::on_data(ByteChain& data, bool end_stream) {
  if (!data.empty()) emit_data(data, false);
  if (!end_stream) return;
  if (closing_) {
    ByteChain none;
    return emit_data(none, true);
  }
  lost(Error(), true);
}

void UpstreamSlot::on_closed(const Error& error) {
  if (closing_ || failed_) {
    ws_ = nullptr;
    write_queue().set_below(nullptr);
    return finish(error);
  }
  lost(error, error.ok());
}

void UpstreamSlot::lost(const Error& error, bool clean) {
  detach();
  on_lost_(error, clean);
}

void UpstreamSlot::fail(const Error& error, bool clean) {
  if (failed_ || closed()) return;
  failed_ = true;
  detach();
  if (clean) {
    // As the node's end of stream would have come: the pump flushes toward the viewer and
    // closes us (close() then ends us).
    post([this] {
      ByteChain none;
      emit_data(none, true);
    });
    return;
  }
  finish(error.failed() ? error : Error(Errc::connection_lost, "the server closed the console"));
}

}  // namespace pvb
