// UvStreamTransport: the part of a Transport over a connected libuv stream (a TCP socket, a Unix
// stream socket) that does not depend on what the stream is. Subclasses make and connect the
// stream (TcpTransport: DNS, an address list, a timeout; a Unix transport: a path), then call
// became_open(); everything after that lives here:
//
// - Reads land directly in the receive ByteChain (libuv's alloc callback reserves at least 4 KiB of
//   it, the read callback commits). While a stream is bulk (reads fill all their room) they get
//   64 KiB blocks; EAGAIN gives the unused reservation back. EOF is delivered as end_stream and we
//   may still write. Leftovers the sink did not consume are offered again when reading resumes.
// - write() moves the slices into write_queue(); they go out as uv_write iovecs of whole slices,
//   pinned by a second reference in an in-flight chain, and leave the queue at libuv's write
//   callback: pending_write_bytes() = queued + in flight.
// - close(Flush) sends what is pending, shuts our direction down, then calls flushed() (by default:
//   close); incoming bytes are read and dropped meanwhile, so two sides flushing towards each other
//   cannot deadlock; a peer that takes nothing for kFlushGraceMs gets an RST instead (on_closed:
//   Errc::timeout). close(Abort) drops what is pending and closes (a TCP stream with an RST).
// - The libuv handle and its requests live in a heap block freed by libuv's close callback, so the
//   transport may be destroyed at any time (from inside its own callbacks via Loop::defer_delete).
#pragma once

#include <uv.h>

#include <memory>
#include <string>

#include "engine/io/transport.h"

namespace pvb {

class UvStreamTransport : public Transport {
 public:
  ~UvStreamTransport() override;

  void write(ByteChain& data, bool end_stream = false) override;
  void close(CloseMode mode) override;

 protected:
  // The libuv handle and every request made on it. libuv cancels pending requests (their callbacks
  // run with UV_ECANCELED) before the close callback, which frees the block: so the slices being
  // written stay pinned here until libuv is done with them, even if the transport is gone.
  struct Stream {
    union {
      uv_stream_t stream;
      uv_tcp_t tcp;
      uv_pipe_t pipe;
    } u;
    uv_connect_t connect_req;
    uv_write_t write_req;
    uv_shutdown_t shutdown_req;
    ByteChain in_flight;                 // references to the slices of the current uv_write
    UvStreamTransport* owner = nullptr;  // nullptr once the transport let go of the stream

    // Call after uv_tcp_init / uv_pipe_init succeeded on `u`.
    void attach(UvStreamTransport* transport);
    static Stream* of(uv_handle_t* h) { return static_cast<Stream*>(h->data); }
    static Stream* of(uv_stream_t* h) { return static_cast<Stream*>(h->data); }
    uv_stream_t* stream() { return &u.stream; }
    uv_handle_t* handle() { return reinterpret_cast<uv_handle_t*>(&u.stream); }
    // Detaches the owner and closes the handle; reset = send an RST instead of a FIN (TCP only: a
    // Unix stream has no reset and is just closed).
    void close(bool reset);
  };

  enum class State {
    idle,        // not started
    resolving,   // looking up a name (TcpTransport)
    connecting,  // connecting the stream (or accepted, not announced yet)
    open,        // connected
    flushing,    // close(Flush): sending what is pending, then shutdown, then flushed()
    closed,
  };

  explicit UvStreamTransport(Loop& loop);

  void on_read_enable_changed(bool enabled) override;

  // --- what a subclass says about its stream ---
  // Names the other end in error messages: "host:port", a socket path.
  virtual std::string peer_name() const = 0;
  // Our last bytes and our FIN are out (close(Flush)): finish_flushed_close() by default.
  virtual void flushed();
  // At EOF: the stream's pending error (positive errno), 0 if the EOF is a real end of stream.
  virtual int pending_error_at_eof() const { return 0; }
  // Just before a flushed stream is closed: drop unread input the OS still holds.
  virtual void drop_unread_input() {}
  // close() and fail(): stop what is still connecting (DNS, timers).
  virtual void cancel_connect_steps() {}

  // --- for subclasses ---
  // The connection is established: announce it, then read and write (or flush, if close(Flush)
  // came while connecting).
  void became_open();
  void begin_flush();
  void finish_flushed_close();
  void fail(Errc code, const std::string& what, int uv_error);
  // Lets go of the stream (closed by libuv later); reset as in Stream::close.
  void release_stream(bool reset);
  int stream_fd() const;                        // -1 if not open
  static std::string uv_message(int uv_error);  // libuv's text for an error code

  State state_ = State::idle;
  Stream* stream_ = nullptr;
  bool close_requested_ = false;  // close(Flush) before the connection was open
  bool shutdown_done_ = false;
  bool eof_received_ = false;

 private:
  void start_reading();
  void stop_reading();
  void read_cb(ssize_t nread);
  void reoffer_leftovers();
  void flush_writes();
  void write_cb(int status);
  void shutdown_cb(int status);
  void arm_flush_grace();
  void give_up_flush();

  ByteChain rx_;  // received, not yet consumed by the sink
  bool reading_ = false;
  bool bulk_reads_ = false;    // the last reads filled their room: read into 64 KiB blocks
  size_t last_read_room_ = 0;  // room handed to the latest read
  bool write_in_flight_ = false;
  bool end_requested_ = false;  // end_stream written or close(Flush): shutdown once flushed
  bool shutdown_sent_ = false;
  bool reoffer_posted_ = false;
  std::unique_ptr<Timer> flush_grace_;  // close(Flush): restarted whenever a write completes
};

}  // namespace pvb
