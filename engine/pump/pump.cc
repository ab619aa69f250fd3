#include "engine/pump/pump.h"

namespace pvb {

Pump::Pump(Transport& a, Transport& b, Options options, DoneFn done)
    : options_(options), done_(std::move(done)) {
  a_.pump = this;
  a_.side = Side::a;
  a_.t = &a;
  b_.pump = this;
  b_.side = Side::b;
  b_.t = &b;
}

Pump::~Pump() {
  // Detach so a transport that outlives us never calls into freed memory.
  for (End* e : {&a_, &b_}) {
    if (e->t && e->t->sink() == e) e->t->set_sink(nullptr);
  }
}

void Pump::start(ByteChain initial_to_a, ByteChain initial_to_b) {
  for (End* e : {&a_, &b_}) {
    e->t->set_sink(e);
    e->t->set_write_watermarks(options_.high_mark, options_.low_mark);
  }
  if (!initial_to_b.empty()) forward(a_, initial_to_b);
  if (!initial_to_a.empty()) forward(b_, initial_to_a);
  // A transport that ended before we took over is reported by its own on_closed; one that is
  // already closed gets no more callbacks, so account for it now.
  for (End* e : {&a_, &b_}) {
    if (e->t->closed() && !e->closed) {
      e->ended = e->closed = true;
      Error err = e->t->failure();
      auto weak = alive_.weak();
      e->t->loop().post([this, weak, e, err] {
        if (!weak.expired()) side_ended(*e, err);
      });
    }
  }
}

void Pump::stop() {
  if (ending_) return;
  ending_ = true;
  for (End* e : {&a_, &b_}) {
    if (!e->closed) e->t->close(CloseMode::Flush);
  }
}

void Pump::forward(End& from, ByteChain& data) {
  End& to = other(from);
  size_t n = data.size();
  if (to.closed || to.ended) {
    // The other side is gone: nothing can carry these bytes. Drop them; the session is ending.
    data.clear();
    return;
  }
  if (from.side == Side::a) {
    result_.bytes_a_to_b += n;
  } else {
    result_.bytes_b_to_a += n;
  }
  to.t->write(data);
  check_pressure(to);
}

// Disables reading on the side that feeds `writer` while writer's queue is above the high mark.
void Pump::check_pressure(End& writer) {
  End& reader = other(writer);
  if (!reader.paused && !reader.closed && writer.t->pending_write_bytes() > options_.high_mark) {
    reader.paused = true;
    ++reader.pauses;
    reader.t->read_disable(true);
  }
}

void Pump::End::on_data(ByteChain& data, bool end_stream) {
  if (data.size() > 0) pump->forward(*this, data);
  if (end_stream && !ended) pump->side_ended(*this, Error());
}

void Pump::End::on_write_high() {
  pump->check_pressure(*this);
}

void Pump::End::on_write_low() {
  End& reader = pump->other(*this);
  if (reader.paused && !reader.closed) {
    reader.paused = false;
    reader.t->read_disable(false);
  }
}

void Pump::End::on_closed(const Error& error) {
  closed = true;
  if (!ended) {
    pump->side_ended(*this, error);
  } else {
    pump->maybe_done();
  }
}

void Pump::side_ended(End& e, const Error& error) {
  e.ended = true;
  if (!ending_) {
    ending_ = true;
    result_.ended_first = e.side;
    result_.error = error;
    // What e delivered is already queued on the other side: Flush sends it before closing.
    End& o = other(e);
    if (!o.closed) o.t->close(CloseMode::Flush);
    if (!e.closed) e.t->close(error.ok() ? CloseMode::Flush : CloseMode::Abort);
  }
  maybe_done();
}

void Pump::maybe_done() {
  if (done_called_ || !a_.closed || !b_.closed) return;
  done_called_ = true;
  if (done_) done_(result_);
}

}  // namespace pvb
