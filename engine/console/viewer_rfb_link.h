// ViewerRfbLink: the local viewer's connection, spoken to in RFB. It sits on the accepted
// transport (an overlay) and
//
//   1. answers the viewer's handshake itself: RFB 3.3/3.7/3.8 with the local one-time password
//      (VNC authentication) or None, then the viewer's ClientInit;
//   2. once the session has the node's ServerInit (begin_splice), sends it down and splices:
//      - up (on_data → sink): the viewer's messages, delimited; SetEncodings is rewritten to the
//        encodings the server delimiter can measure (everything else moves as slices, uncopied);
//        key and pointer events pass the InputStateTracker;
//      - down (write): the node's messages go to the viewer through the ServerGate, in whole
//        units (rectangles, headers, other messages; Raw rectangles stream), as slices, so a
//        rectangle it cannot measure ends the session loudly instead of desynchronising the
//        viewer, and a lost node never leaves the viewer inside a message;
//   3. across a reconnect of the node (issue 14; engine/rfb/resume.h): suspend() completes what
//      the viewer was receiving and from then on keeps the viewer's messages in the ViewerQueue;
//      resume() brings the new node session into the viewer's state and releases them.
//
// Memory: the down direction holds at most the unit being gated (a rectangle whose body is
// compressed: bounded by the gate's max_held; Raw streams); the up direction holds at most one
// SetEncodings or SetPixelFormat message, and while the node is away the queue's cap.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/io/transport_overlay.h"
#include "engine/rfb/client_handshake.h"
#include "engine/rfb/client_stream.h"
#include "engine/rfb/input_state.h"
#include "engine/rfb/server_gate.h"
#include "engine/rfb/server_handshake.h"
#include "engine/rfb/viewer_queue.h"

namespace pvb {

class ViewerRfbLink : public TransportOverlay {
 public:
  struct Events {
    // The viewer's ClientInit arrived: it waits for the ServerInit now.
    std::function<void()> on_handshake_done;
    // The handshake failed (Errc::auth: a wrong password; the viewer was told) or the viewer left
    // before it ended. The link closes itself; on_closed follows.
    std::function<void(const Error&)> on_handshake_failed;
  };

  ViewerRfbLink(std::unique_ptr<Transport> viewer, rfb::ServerHandshakeConfig config,
                Events events);

  // Starts the transport below and offers our ProtocolVersion.
  void start() override;
  // The node's ServerInit: sent to the viewer, and the splice begins. What the viewer sent after
  // its ClientInit goes to the sink next (posted). Call once, after on_handshake_done.
  void begin_splice(const rfb::ServerInit& init);
  // The node's bytes toward the viewer (only after begin_splice).
  void write(ByteChain& data, bool end_stream = false) override;

  // The node is lost: completes the update the viewer is in the middle of (its parser ends at a
  // message boundary) and keeps the viewer's messages from now on. An error (a unit the gate
  // could not hold was cut) ends the splice: the link closes itself.
  Error suspend();
  // A new node session, whose ServerInit is `init` (consumed): tells the viewer about a changed
  // size, and sends the new node the viewer's pixel format, encodings (without Zlib/ZRLE), the
  // releases of keys and buttons, a full update request and the kept messages, before anything
  // the viewer sends next (posted: the caller attaches the new connection first). An error
  // (the viewer cannot follow a size change) leaves the link suspended: the caller ends it.
  Error resume(const rfb::ServerInit& init);
  bool suspended() const { return away_; }
  const rfb::ViewerQueue& queue() const { return queue_; }

  bool handshake_done() const { return handshake_done_; }
  bool splicing() const { return splicing_; }
  // Why the splice stopped on its own: a message it could not delimit (either direction).
  // The link closes itself then; the session reports this error rather than "viewer closed".
  const Error& splice_error() const { return splice_error_; }
  // The viewer's answers, for tests and logs.
  const rfb::RfbServerHandshake& handshake() const { return handshake_; }

 protected:
  void on_connected() override;
  void on_data(ByteChain& data, bool end_stream) override;
  void on_closed(const Error& error) override;

 private:
  void feed_handshake(bool end_stream);
  void splice_up(bool end_stream);
  // The next viewer message is `m`: queued (node away) or passed on. False: wait for more bytes.
  bool relay_up(const rfb::ClientMessage& m, ByteChain& up);
  void fail_splice(Error e);

  rfb::RfbServerHandshake handshake_;
  Events events_;
  bool handshake_done_ = false;
  bool handshake_failed_ = false;
  bool splicing_ = false;
  bool viewer_ended_ = false;  // the viewer ended its direction before the splice began
  ByteChain from_viewer_;      // viewer bytes not yet delivered up
  Error splice_error_;

  // Up: the client delimiter and how much of the current message still passes unread.
  std::optional<rfb::RfbClientStream> up_;
  uint64_t up_pass_ = 0;
  uint64_t up_discard_ = 0;  // the rest of a message half sent to a node that was lost
  rfb::InputStateTracker input_;
  rfb::ViewerQueue queue_;
  bool away_ = false;     // between suspend() and resume(): the node is lost
  bool resumed_ = false;  // a reconnect happened: SetEncodings leave out Zlib and ZRLE
  ByteChain resume_out_;  // resume()'s bytes for the new node, sent before anything else
  // Down: the gate, and the node's bytes it has not released yet (shared slices, not copies).
  std::optional<rfb::ServerGate> gate_;
  ByteChain down_in_;
};

}  // namespace pvb
