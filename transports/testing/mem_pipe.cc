#include "transports/testing/mem_pipe.h"

#include <algorithm>

namespace pvb {

std::pair<std::unique_ptr<MemPipeEnd>, std::unique_ptr<MemPipeEnd>> make_mem_pipe(
    Loop& loop, MemPipeOptions options) {
  auto a = std::make_unique<MemPipeEnd>(loop, options);
  auto b = std::make_unique<MemPipeEnd>(loop, options);
  a->peer_ = b.get();
  b->peer_ = a.get();
  return {std::move(a), std::move(b)};
}

MemPipeEnd::MemPipeEnd(Loop& loop, MemPipeOptions options) : Transport(loop), options_(options) {}

MemPipeEnd::~MemPipeEnd() {
  if (peer_) {
    // A destroyed end looks like a reset to the other side, unless an orderly end reached it.
    MemPipeEnd* p = peer_;
    p->peer_ = nullptr;
    p->post([p] { p->peer_gone(); });
  }
}

void MemPipeEnd::start() {
  if (started_) return;
  started_ = true;
  post([this] {
    if (!closed()) emit_connected();
    // Anything already delivered while we were not started is offered now.
    if (rx_.size() > 0 || (rx_end_ && !rx_end_told_)) {
      receive_end_and_maybe_finish();
    }
  });
  if (!write_queue().empty() || out_end_) schedule_delivery();
  // The peer may have written before we started: pull that in too.
  if (peer_) peer_->schedule_delivery();
}

void MemPipeEnd::write(ByteChain& data, bool end_stream) {
  if (closed() || closing_ || out_end_) {
    data.clear();
    return;
  }
  if (end_stream) out_end_ = true;
  write_queue().move_from(data);
  schedule_delivery();
}

void MemPipeEnd::close(CloseMode mode) {
  if (closed()) return;
  if (mode == CloseMode::Abort || !peer_) {
    MemPipeEnd* p = peer_;
    if (p) {
      p->peer_ = nullptr;
      peer_ = nullptr;
      p->post([p] {
        if (!p->closed()) p->finish(Error(Errc::connection_lost, "connection reset by peer"));
      });
    }
    finish(Error());
    write_queue().clear();  // after finish: nothing is reported from inside close()
    return;
  }
  closing_ = true;
  out_end_ = true;
  schedule_delivery();
}

void MemPipeEnd::on_read_enable_changed(bool enabled) {
  if (enabled && peer_) {
    peer_->schedule_delivery();
  }
  if (enabled && (rx_.size() > 0 || (rx_end_ && !rx_end_told_))) {
    post([this] {
      if (reading_enabled()) receive_end_and_maybe_finish();
    });
  }
}

void MemPipeEnd::schedule_delivery() {
  if (delivery_scheduled_ || !started_) return;
  delivery_scheduled_ = true;
  post([this] {
    delivery_scheduled_ = false;
    deliver();
  });
}

void MemPipeEnd::deliver() {
  if (!peer_) {
    // The peer is gone: nothing more can be delivered; a flushed close is complete.
    if (closing_ && !closed()) finish(Error());
    return;
  }
  MemPipeEnd* p = peer_;
  if (!p->reading_enabled() || !p->started_) return;  // resumed by the peer's read_disable(false)
  size_t n = std::min(write_queue().size(), options_.max_delivery);
  if (n > 0) write_queue().move_to(p->rx_, n);
  bool end_now = out_end_ && write_queue().empty() && !out_end_sent_;
  if (end_now) {
    out_end_sent_ = true;
    p->rx_end_ = true;
  }
  if (n > 0 || end_now) p->receive_end_and_maybe_finish();
  if (!write_queue().empty()) schedule_delivery();
  if (end_now && closing_ && !closed()) {
    // A flushed close: our side is done. The peer keeps its end until it closes. Its sink may
    // have closed or aborted its end from inside that last delivery, clearing peer_ already.
    if (peer_) peer_->peer_ = nullptr;
    peer_ = nullptr;
    finish(Error());
  }
}

void MemPipeEnd::receive_end_and_maybe_finish() {
  if (closed() || !started_ || !reading_enabled()) return;
  bool end = rx_end_ && !rx_end_told_;
  if (rx_.size() == 0 && !end) return;
  if (end) rx_end_told_ = true;
  emit_data(rx_, end);
}

void MemPipeEnd::peer_gone() {
  if (closed()) return;
  if (rx_end_) return;  // an orderly end already arrived; the peer just went away after it
  finish(Error(Errc::connection_lost, "connection reset by peer"));
}

}  // namespace pvb
