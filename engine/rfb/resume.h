// Bringing a new server session into the state the viewer is in (issue 14; shared/RFB.md "State
// that outlives a message"): what the bridge sends the new server, and what it tells the viewer
// when the new session differs.
//
// Order toward the new server, after its ServerInit was consumed (write_resume_to_server):
//   SetPixelFormat (the format the viewer decodes with: a new server starts in its own),
//   SetEncodings (filter_encodings_for_resume: no Zlib/ZRLE, whose zlib streams cannot be reset),
//   the releases of InputStateTracker (the extended key event needs SetEncodings first),
//   a full non-incremental FramebufferUpdateRequest (the viewer's picture may be stale anywhere),
//   then the messages ViewerQueue kept.
// Toward the viewer, before any byte of the new session: ServerGate::finish_cut() output, then a
// DesktopSize or ExtendedDesktopSize when the size changed (ServerGate::resume_session).
//
// How a splice uses the cores (engine/rfb/{server_gate,viewer_queue,input_state}.h):
//   live:    server bytes -> gate.advance() / forwarded(); each viewer message forwarded ->
//            input.sent(); its SetPixelFormat -> gate.set_pixel_format(); its SetEncodings,
//            filtered (filter_encodings_for_resume once resumed) -> gate.set_client_encodings().
//   loss:    gate.finish_cut(server_in, to_viewer) (an error ends the session);
//            queue.set_button_mask_before(input.button_mask()).
//   away:    each viewer message -> queue.push() (overflow ends the session); RfbClientStream
//            still records SetPixelFormat (-> gate.set_pixel_format()) and SetEncodings.
//   resumed: the new ServerInit's size w x h; sent = filter_encodings_for_resume(
//            client.encodings(), &gate.viewer_format()); gate.resume_session(w, h, sent,
//            to_viewer) (cannot_resize ends the session); write_resume_to_server(
//            gate.viewer_format(), sent, w, h, input, queue, to_server); live again.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "engine/core/byte_chain.h"
#include "engine/rfb/pixel_format.h"

namespace pvb::rfb {

class InputStateTracker;
class ViewerQueue;

// The encodings a session after a reconnect may use: filter_encodings(), then without Zlib and
// ZRLE. Their zlib streams live as long as a server connection and have no reset: the viewer's
// inflater would be in step with the old server's deflater, not the new one's. (Tight resets its
// streams: ServerGate sets the bits.) Every SetEncodings of a resumed viewer goes through this,
// not only the replayed one: a later SetEncodings must not bring ZRLE back.
std::vector<int32_t> filter_encodings_for_resume(std::span<const int32_t> requested,
                                                 const PixelFormat* format = nullptr);

void write_set_pixel_format(const PixelFormat& format, ByteChain& out);
void write_update_request(bool incremental, uint16_t x, uint16_t y, uint16_t w, uint16_t h,
                          ByteChain& out);

enum class ResizeResult : uint8_t {
  same_size,      // nothing to tell
  announced,      // a FramebufferUpdate with one DesktopSize or ExtendedDesktopSize rectangle
  cannot_resize,  // the viewer announced neither: it cannot follow; end the session
};

// Tells the viewer the framebuffer is now new_w x new_h when that differs: ExtendedDesktopSize
// (one screen, id 0, covering it; reason 0 = the server's change, status 0) when the viewer
// announced it, else DesktopSize. `viewer_encodings`: the list the viewer announced (or the
// filtered one sent on: both keep these two).
ResizeResult write_resize(uint16_t old_w, uint16_t old_h, uint16_t new_w, uint16_t new_h,
                          std::span<const int32_t> viewer_encodings, ByteChain& to_viewer);

// Everything the new server gets before live traffic resumes, in the order above.
// `encodings_to_send`: filter_encodings_for_resume() of the viewer's latest list. Drains `queue`
// (its messages go through `input` as sent, after the releases).
void write_resume_to_server(const PixelFormat& viewer_format,
                            std::span<const int32_t> encodings_to_send, uint16_t width,
                            uint16_t height, InputStateTracker& input, ViewerQueue& queue,
                            ByteChain& to_server);

}  // namespace pvb::rfb
