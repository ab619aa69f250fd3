// ViewerRfbLink: the local viewer's connection, spoken to in RFB. It sits on the accepted
// transport (an overlay) and
//
//   1. answers the viewer's handshake itself: RFB 3.3/3.7/3.8 with the local one-time password
//      (VNC authentication) or None, then the viewer's ClientInit;
//   2. once the session has the node's ServerInit (begin_splice), sends it down and splices:
//      - up (on_data → sink): the viewer's messages, delimited; SetEncodings is rewritten to the
//        encodings the server delimiter can measure (everything else moves as slices, uncopied);
//      - down (write): the node's messages go to the viewer unchanged and at once, while the
//        delimiter walks shared references to the same slices, so a rectangle it cannot measure
//        ends the session loudly instead of desynchronising the viewer.
//
// Memory: the down direction references at most the unit being measured (a header, or a Hextile
// rectangle, whose length is known only at its last tile); the up direction holds at most one
// SetEncodings or SetPixelFormat message.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/io/transport_overlay.h"
#include "engine/rfb/client_handshake.h"
#include "engine/rfb/client_stream.h"
#include "engine/rfb/server_handshake.h"
#include "engine/rfb/server_stream.h"

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
  void measure_down(const ByteChain& data);
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
  // Down: the server delimiter, the bytes of the unit it measures (shared, not copied), how many
  // bytes it needs before it can say more, and how many of a measured unit have yet to pass.
  std::optional<rfb::RfbServerStream> down_;
  ByteChain down_unit_;
  uint64_t down_need_ = 0;
  uint64_t down_skip_ = 0;
};

}  // namespace pvb
