// The reconnect cores of engine/rfb together (ServerGate, ViewerQueue, InputStateTracker, the
// resume rewrites), driven the way the splice will drive them through upstream losses: a recorded
// QEMU session (tests/engine/rfb/data, compiled in) replayed on every server session, cut where
// the input says, while the viewer types, clicks and asks for updates.
//
// Input: byte 0 picks the recording; byte 1 is flags (bit 0: the viewer did not announce
// LastRect; bit 1: the gate holds at most 64 bytes, so larger units stream; bit 2: forward only
// half of what the gate releases each time; bit 3: a queue cap of 96 bytes; bit 4: a new session
// may come with another framebuffer size); then a script of operations, one byte each plus an
// argument byte:
//   0 the server sends (arg + 1) * 8 more bytes of its recording;
//   1 a key event (arg: bit 7 down, low 4 bits the key); 2 a QEMU extended key event (same);
//   3 a pointer event (arg: low 5 bits the button mask, high 3 bits the position);
//   4 an update request or a clipboard (arg bit 0);
//   5 the node processes what reached it so far;
//   6 the link breaks: of the messages handed to the old link and not yet processed, the node
//     gets the first arg (the rest are lost; never past a button change, see input_state.h);
//   7 the reconnect: a new session (arg: its size, when bit 4 allows a change).
// While the link is down, viewer messages go to the queue; else to the tracker and the link.
//
// Invariants: the bytes the viewer received parse as a well-formed RFB stream by a fresh
// RfbServerStream, ending on a message boundary after the final completion (no half
// rectangles), at the size the gate says; after a reconnect the first Tight rectangle of each
// zlib stream carries its reset bit; what the new server is sent parses as viewer messages; the
// queue never exceeds its cap; in the end no key or button is down in the guest that the viewer
// does not hold (a model of QEMU: keyboard state per display, key-ups of keys not down ignored,
// buttons compared with the connection's last mask).
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "engine/rfb/big_endian.h"
#include "engine/rfb/client_stream.h"
#include "engine/rfb/input_state.h"
#include "engine/rfb/resume.h"
#include "engine/rfb/rfb_wire.h"
#include "engine/rfb/server_gate.h"
#include "engine/rfb/server_stream.h"
#include "engine/rfb/viewer_queue.h"
#include "fuzz/rfb_fuzz.h"
#include "fuzz/rfb_recordings.h"

namespace pvb::fuzz {
namespace {

using namespace pvb::rfb;

// A model of the guest behind QEMU's VNC server.
struct Guest {
  std::set<uint64_t> keys;  // down; plain keysyms and extended keycodes apart
  uint8_t buttons = 0;      // down, wheel excluded
  uint8_t last_mask = 0;    // the current connection's, as QEMU keeps it

  static uint64_t key_id(bool extended, uint32_t keysym, uint32_t keycode) {
    return extended ? (uint64_t{1} << 32) | keycode : keysym;
  }
  void new_connection() { last_mask = 0; }
  void receive(std::string_view m) {
    const auto* p = reinterpret_cast<const uint8_t*>(m.data());
    if (p[0] == kKeyEvent) {
      key(key_id(false, get_u32(p + 4), 0), p[1] != 0);
    } else if (p[0] == kClientQemu && p[1] == kQemuExtendedKeyEvent) {
      key(key_id(true, get_u32(p + 4), get_u32(p + 8)), get_u16(p + 2) != 0);
    } else if (p[0] == kPointerEvent) {
      const uint8_t mask = p[1];
      const uint8_t changed = static_cast<uint8_t>((mask ^ last_mask) & ~kWheelButtons);
      buttons = static_cast<uint8_t>((buttons & ~changed) | (mask & changed));
      last_mask = mask;
    }
  }
  void key(uint64_t id, bool down) {
    if (down) {
      keys.insert(id);
    } else {
      keys.erase(id);  // QEMU ignores the release of a key that is not down
    }
  }
};

// What the viewer means: every message it sent, in order.
struct Viewer {
  std::set<uint64_t> keys;
  uint8_t mask = 0;
};

struct Session {
  std::string_view stream;  // the recording's messages
  size_t sent = 0;          // bytes of it the server has sent
};

class Run {
 public:
  Run(const Recording& rec, uint8_t flags) : flags_(flags) {
    const auto* s = rec.server;
    width_ = get_u16(s);
    height_ = get_u16(s + 2);
    init_format_ = PixelFormat::read(s + 4);
    messages_ = std::string_view(reinterpret_cast<const char*>(s), rec.server_size)
                    .substr(24 + get_u32(s + 20));
    RfbClientStream client(init_format_);
    const std::string_view client_bytes(reinterpret_cast<const char*>(rec.client), rec.client_size);
    auto sent = delimit<ClientMessage>(client, client_bytes, {});
    FUZZ_CHECK(sent.error == Errc::ok, "the recording's client side does not parse");
    viewer_format_ = client.pixel_format();
    encodings_ = client.encodings();
    if (flags_ & 1) std::erase(encodings_, kPseudoLastRect);
    extended_keys_ = client.announced(kPseudoQemuExtendedKeyEvent);
    gate_.emplace(init_format_, width_, height_, (flags_ & 2) ? 64 : ServerGate::kDefaultMaxHeld);
    gate_->set_pixel_format(viewer_format_);
    gate_->set_client_encodings(encodings_);
    queue_.emplace((flags_ & 8) ? 96 : ViewerQueue::kDefaultCap);
    session_.stream = messages_;
  }

  // False when the session ended (the script stops).
  bool step(uint8_t op, uint8_t arg) {
    switch (op % 8) {
      case 0:
        return server_sends((size_t{arg} + 1) * 8);
      case 1:
      case 2: {
        const bool down = arg & 0x80;
        const uint32_t k = arg & 0x0F;
        // Extended key events only from a viewer that announced them (else a plain one).
        const bool extended = op % 8 == 2 && extended_keys_;
        std::string m = !extended
                            ? Bytes8{kKeyEvent, uint8_t(down), 0, 0}.with_u32(4, 0x61 + k).str()
                            : qemu_key(down, 0x61 + k, 16 + k);
        const uint64_t id = Guest::key_id(extended, 0x61 + k, 16 + k);
        if (down) {
          viewer_.keys.insert(id);
        } else {
          viewer_.keys.erase(id);
        }
        return viewer_sends(m);
      }
      case 3: {
        const uint8_t mask = arg & 0x1F;
        viewer_.mask = mask;
        uint8_t b[6] = {kPointerEvent, mask};
        put_u16(b + 2, static_cast<uint16_t>((arg >> 5) * 37));
        put_u16(b + 4, static_cast<uint16_t>((arg >> 5) * 11));
        return viewer_sends(std::string(reinterpret_cast<char*>(b), sizeof b));
      }
      case 4: {
        ByteChain m;
        if (arg & 1) {
          uint8_t b[8 + 5] = {kClientCutText};
          put_u32(b + 4, 5);
          std::fill(b + 8, b + 13, uint8_t{'c'});
          m.append_header(b, sizeof b);
        } else {
          write_update_request(true, 0, 0, width_, height_, m);
        }
        return viewer_sends(m.to_string());
      }
      case 5:
        process(in_flight_.size());
        return true;
      case 6:
        return cut(arg);
      case 7:
        return reconnect(arg);
    }
    return true;
  }

  // The end of the script: the link comes back if it was down, the node processes everything,
  // and a last completion closes what the viewer got (as at a final disconnect).
  void finish() {
    if (!link_up_ && !ended_) reconnect(0);
    if (!ended_) {
      process(in_flight_.size());
      ByteChain rest;
      Error e = gate_->finish_cut(in_, rest);
      append_viewer(rest);
      if (e.failed()) {
        FUZZ_CHECK(e.code() == Errc::connection_lost && (flags_ & 2), e.message());
        check_viewer(false);
        return;
      }
    }
    check_viewer(!ended_ || end_clean_);
    if (ended_) return;
    for (uint64_t k : guest_.keys) {
      FUZZ_CHECK(viewer_.keys.count(k), "a key stays down in the guest: " + std::to_string(k));
    }
    const uint8_t held = viewer_.mask & static_cast<uint8_t>(~kWheelButtons);
    FUZZ_CHECK((guest_.buttons & ~held) == 0,
               "a button stays down in the guest: " + std::to_string(guest_.buttons));
  }

 private:
  struct Bytes8 {
    uint8_t b[8];
    Bytes8(uint8_t a0, uint8_t a1, uint8_t a2, uint8_t a3) : b{a0, a1, a2, a3} {}
    Bytes8& with_u32(size_t at, uint32_t v) {
      put_u32(b + at, v);
      return *this;
    }
    std::string str() const { return std::string(reinterpret_cast<const char*>(b), 8); }
  };
  static std::string qemu_key(bool down, uint32_t keysym, uint32_t keycode) {
    ByteChain c;
    write_qemu_key_event(down, keysym, keycode, c);
    return c.to_string();
  }

  bool server_sends(size_t n) {
    if (!link_up_) return true;
    n = std::min(n, session_.stream.size() - session_.sent);
    if (n == 0) return true;
    append_chunk(in_, session_.stream.substr(session_.sent, n));
    session_.sent += n;
    auto ready = gate_->advance(in_);
    FUZZ_CHECK(ready.ok(), "a recorded stream failed to delimit: " + ready.error().message());
    FUZZ_CHECK(*ready <= in_.size(), "more released than arrived");
    const uint64_t take = (flags_ & 4) ? *ready / 2 : *ready;
    ByteChain out;
    out.move_from(in_, static_cast<size_t>(take));
    gate_->forwarded(take);
    append_viewer(out);
    return true;
  }

  bool viewer_sends(const std::string& m) {
    if (link_up_) {
      input_.sent(m);
      in_flight_.push_back(m);
      return true;
    }
    ClientMessage cm;
    cm.type = static_cast<uint8_t>(m[0]);
    cm.subtype = cm.type == kClientQemu ? static_cast<uint8_t>(m[1]) : 0;
    cm.length = m.size();
    const QueuePush r = queue_->push(cm, m);
    FUZZ_CHECK(queue_->bytes() <= queue_->cap(), "the queue exceeds its cap");
    if (r == QueuePush::overflow) {
      // The session ends: the viewer keeps what it got, whole.
      FUZZ_CHECK(cm.type != kFramebufferUpdateRequest && cm.type != kClientCutText,
                 "a droppable message overflowed");
      ended_ = true;
      end_clean_ = true;
      return false;
    }
    return true;
  }

  // The node processes the first n messages in flight.
  void process(size_t n) {
    n = std::min(n, in_flight_.size());
    for (size_t i = 0; i < n; ++i) guest_.receive(in_flight_[i]);
    in_flight_.erase(in_flight_.begin(), in_flight_.begin() + static_cast<std::ptrdiff_t>(n));
  }

  bool cut(uint8_t arg) {
    if (!link_up_) return true;
    // What was handed over may be lost, but not past a button change (a lost button release is
    // not replayed by design: see input_state.h).
    size_t delivered = std::min<size_t>(arg, in_flight_.size());
    uint8_t mask = guest_.last_mask;
    for (size_t i = 0; i < in_flight_.size(); ++i) {
      const std::string& m = in_flight_[i];
      if (static_cast<uint8_t>(m[0]) != kPointerEvent) continue;
      const uint8_t next = static_cast<uint8_t>(m[1]);
      if ((next ^ mask) & ~kWheelButtons) delivered = std::max(delivered, i + 1);
      mask = next;
    }
    process(delivered);
    in_flight_.clear();
    link_up_ = false;
    ByteChain rest;
    Error e = gate_->finish_cut(in_, rest);
    append_viewer(rest);
    if (e.failed()) {
      FUZZ_CHECK(e.code() == Errc::connection_lost && (flags_ & 2),
                 "finish_cut failed: " + e.message());
      ended_ = true;
      return false;
    }
    FUZZ_CHECK(!gate_->in_update(), "an update left open after the cut");
    check_viewer(true);
    queue_->set_button_mask_before(input_.button_mask());
    return true;
  }

  bool reconnect(uint8_t arg) {
    if (link_up_) return true;
    uint16_t w = gate_->viewer_width(), h = gate_->viewer_height();
    if ((flags_ & 16) && (arg & 1)) {
      w = static_cast<uint16_t>(320 + 16 * (arg >> 1));
      h = static_cast<uint16_t>(200 + 8 * (arg >> 1));
    }
    const std::vector<int32_t> sent = filter_encodings_for_resume(encodings_, &viewer_format_);
    ByteChain to_viewer;
    const ResizeResult resize = gate_->resume_session(w, h, sent, to_viewer);
    const bool can_resize =
        std::count(encodings_.begin(), encodings_.end(), kPseudoDesktopSize) +
            std::count(encodings_.begin(), encodings_.end(), kPseudoExtendedDesktopSize) >
        0;
    if (resize == ResizeResult::cannot_resize) {
      FUZZ_CHECK(!can_resize, "cannot_resize for a viewer that can");
      FUZZ_CHECK(to_viewer.empty(), "bytes written for a resize that cannot be");
      ended_ = true;
      end_clean_ = true;
      return false;
    }
    append_viewer(to_viewer);
    session_starts_.push_back(viewer_bytes_.size());
    // What the new server gets, as it would read it.
    ByteChain to_server;
    write_resume_to_server(viewer_format_, sent, w, h, input_, *queue_, to_server);
    FUZZ_CHECK(queue_->empty(), "the queue was not drained");
    RfbClientStream server_view(init_format_);
    const std::string bytes = to_server.to_string();
    auto parsed = delimit<ClientMessage>(server_view, bytes, {});
    FUZZ_CHECK(parsed.error == Errc::ok && parsed.end == bytes.size(),
               "the resume to the server does not parse: " + parsed.error_detail);
    FUZZ_CHECK(server_view.pixel_format() == viewer_format_, "wrong pixel format replayed");
    FUZZ_CHECK(server_view.encodings() == sent, "wrong encodings replayed");
    guest_.new_connection();
    for (size_t i = 0; i < parsed.units.size(); ++i) {
      in_flight_.push_back(bytes.substr(parsed.starts[i], parsed.units[i].length));
    }
    link_up_ = true;
    session_ = Session{messages_, 0};
    return true;
  }

  void append_viewer(const ByteChain& c) { viewer_bytes_ += c.to_string(); }

  // The viewer's bytes, parsed from the start by a fresh delimiter. `closed`: a completion was
  // just written, so they must end on a message boundary.
  void check_viewer(bool closed) {
    RfbServerStream parser(init_format_, width_, height_);
    parser.set_pixel_format(viewer_format_);
    parser.set_client_encodings(encodings_);
    auto b = delimit<ServerUnit>(parser, viewer_bytes_, {});
    FUZZ_CHECK(b.error == Errc::ok, "the viewer's stream does not parse: " + b.error_detail);
    if (!closed) return;
    FUZZ_CHECK(b.end == viewer_bytes_.size(),
               "a half unit at the viewer: " + std::to_string(b.end) + " of " +
                   std::to_string(viewer_bytes_.size()));
    FUZZ_CHECK(!parser.in_update(), "the viewer is left inside an update");
    if (!ended_) {
      FUZZ_CHECK(
          parser.width() == gate_->viewer_width() && parser.height() == gate_->viewer_height(),
          "the viewer's size differs from the gate's");
    }
    // Each session after the first resets each Tight zlib stream on its first use.
    size_t session = 0;
    uint8_t used = 0;
    for (size_t i = 0; i < b.units.size(); ++i) {
      while (session < session_starts_.size() && b.starts[i] >= session_starts_[session]) {
        ++session;
        used = 0;
      }
      const ServerUnit& u = b.units[i];
      if (session == 0 || u.kind != ServerUnitKind::rect || u.rect.encoding != kEncodingTight) {
        continue;
      }
      const auto c = static_cast<uint8_t>(viewer_bytes_[b.starts[i] + kRectHeaderLength]);
      if (c & 0x80) continue;
      const uint8_t bit = static_cast<uint8_t>(1u << ((c >> 4) & 3));
      if (!(used & bit)) FUZZ_CHECK(c & bit, "a Tight stream not reset on its first use");
      used |= bit;
    }
  }

  uint8_t flags_;
  uint16_t width_ = 0, height_ = 0;
  PixelFormat init_format_, viewer_format_;
  std::string_view messages_;
  std::vector<int32_t> encodings_;
  std::optional<ServerGate> gate_;
  std::optional<ViewerQueue> queue_;
  InputStateTracker input_;
  Guest guest_;
  Viewer viewer_;
  Session session_;
  ByteChain in_;
  std::vector<std::string> in_flight_;
  std::string viewer_bytes_;
  std::vector<size_t> session_starts_;
  bool extended_keys_ = false;
  bool link_up_ = true;
  bool ended_ = false, end_clean_ = false;
};

}  // namespace
}  // namespace pvb::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace pvb::fuzz;
  if (size < 2) return 0;
  Run run(kRecordings[data[0] % kRecordingCount], data[1]);
  for (size_t i = 2; i + 1 < size; i += 2) {
    if (!run.step(data[i], data[i + 1])) break;
  }
  run.finish();
  return 0;
}
