// BenchConsole: the far end of the throughput benchmark (source, sink, echo, rfb_source, rfb_echo).
#include "transports/testing/bench_console.h"

#include <gtest/gtest.h>

#include <string>

namespace pvb {
namespace {

struct Collector : TransportSink {
  std::string data;
  bool ended = false;
  bool closed = false;
  Error error;
  void on_data(ByteChain& chain, bool end_stream) override {
    data += chain.to_string();
    chain.clear();
    if (end_stream) ended = true;
  }
  void on_closed(const Error& e) override {
    closed = true;
    error = e;
  }
};

TEST(BenchConsoleTest, SourceEmitsThePatternAndStopsWhenReadingIsDisabled) {
  Loop loop;
  BenchConsole source(loop, BenchConsole::Kind::source);
  struct Reader : TransportSink {
    BenchConsole* console = nullptr;
    std::string data;
    size_t stop_after = 0;
    void on_data(ByteChain& chain, bool) override {
      data += chain.to_string();
      chain.clear();
      if (data.size() >= stop_after && console->reading_enabled()) console->read_disable(true);
    }
    void on_closed(const Error&) override {}
  } reader;
  reader.console = &source;
  reader.stop_after = 600 * 1024;
  source.set_sink(&reader);
  source.start();
  loop.run_until([] { return false; });  // stops by itself once reading is disabled
  EXPECT_GE(reader.data.size(), reader.stop_after);
  EXPECT_LT(reader.data.size(), reader.stop_after + BenchConsole::kSourceBurst + 1);
  for (size_t i = 0; i < reader.data.size(); ++i) {
    ASSERT_EQ(static_cast<uint8_t>(reader.data[i]), BenchConsole::source_byte(i)) << i;
  }
  EXPECT_EQ(source.bytes_out(), reader.data.size());
  const size_t before = reader.data.size();
  reader.stop_after = before + 1;
  source.read_disable(false);
  loop.run_until([&] { return reader.data.size() > before; });
  EXPECT_GT(reader.data.size(), before);
  source.close(CloseMode::Abort);
}

TEST(BenchConsoleTest, EchoHandsBackWhatItGetsAndHoldsItWhilePaused) {
  Loop loop;
  BenchConsole echo(loop, BenchConsole::Kind::echo);
  Collector c;
  echo.set_sink(&c);
  echo.start();
  echo.read_disable(true);
  ByteChain in("hello, echo");
  echo.write(in);
  loop.run_until([] { return false; });
  EXPECT_EQ(c.data, "");
  EXPECT_EQ(echo.pending_write_bytes(), 11u);
  echo.read_disable(false);
  ByteChain end;
  echo.write(end, /*end_stream=*/true);
  ASSERT_TRUE(loop.run_until([&] { return c.ended; }));
  EXPECT_EQ(c.data, "hello, echo");
  EXPECT_EQ(echo.pending_write_bytes(), 0u);
  EXPECT_EQ(echo.bytes_in(), 11u);
}

TEST(BenchConsoleTest, SinkCountsAndSaysNothing) {
  Loop loop;
  BenchConsole sink(loop, BenchConsole::Kind::sink);
  Collector c;
  sink.set_sink(&c);
  sink.start();
  ByteChain in(std::string(100000, 'z'));
  sink.write(in);
  loop.run_until([] { return false; });
  EXPECT_TRUE(in.empty());
  EXPECT_EQ(sink.bytes_in(), 100000u);
  EXPECT_EQ(c.data, "");
  sink.close(CloseMode::Flush);
  ASSERT_TRUE(loop.run_until([&] { return c.closed; }));
  EXPECT_TRUE(c.error.ok());
}

}  // namespace

// The client's side of the handshake, as pvebridge's pipelined one sends it (3.8, VNC
// Authentication, a response the bench does not check, shared).
std::string rfb_client_hello() {
  return std::string("RFB 003.008\n") + '\x02' + std::string(16, 'r') + '\x01';
}

constexpr size_t kVersion = 12, kTypes = 2, kChallenge = 16, kResult = 4, kServerInit = 24 + 5;

TEST(BenchConsoleTest, RfbSourceShakesHandsThenStreamsRawUpdatesOnceAsked) {
  Loop loop;
  BenchConsole source(loop, BenchConsole::Kind::rfb_source);
  Collector c;
  source.set_sink(&c);
  source.start();
  ASSERT_TRUE(loop.run_until([&] { return c.data.size() >= kVersion; }));
  EXPECT_EQ(c.data, "RFB 003.008\n");
  ByteChain hello(rfb_client_hello());
  source.write(hello);
  loop.run_until([] { return false; });
  const size_t handshake = kVersion + kTypes + kChallenge + kResult + kServerInit;
  ASSERT_EQ(c.data.size(), handshake);  // nothing streams before an update request
  EXPECT_EQ(c.data.substr(kVersion, kTypes), std::string("\x01\x02", 2));  // VNC auth only
  EXPECT_EQ(c.data.substr(kVersion + kTypes + kChallenge, kResult), std::string(4, '\0'));
  const std::string init = c.data.substr(kVersion + kTypes + kChallenge + kResult);
  EXPECT_EQ(init.substr(0, 4), std::string("\x04\x00\x03\x00", 4));  // 1024x768
  EXPECT_EQ(init.substr(24), "bench");
  // SetEncodings [Raw] split across writes, then a request: the stream starts.
  ByteChain part1(std::string("\x02\x00\x00\x01\x00\x00", 6));
  ByteChain part2(std::string("\x00\x00\x03\x00\x00\x00\x00\x00\x04\x00\x03\x00", 12));
  source.write(part1);
  source.write(part2);
  const size_t want = 3 * BenchConsole::kRfbUpdateBytes;
  ASSERT_TRUE(loop.run_until([&] { return c.data.size() >= handshake + want; }));
  for (size_t u = 0; u < 3; ++u) {
    const std::string update =
        c.data.substr(handshake + u * BenchConsole::kRfbUpdateBytes, BenchConsole::kRfbUpdateBytes);
    EXPECT_EQ(update.substr(0, 16),
              std::string("\x00\x00\x00\x01\x00\x00\x00\x00\x04\x00\x00\x10\x00\x00\x00\x00", 16));
    for (size_t i = 0; i < BenchConsole::kPatternBytes; ++i) {
      ASSERT_EQ(static_cast<uint8_t>(update[16 + i]), BenchConsole::source_byte(i))
          << u << " " << i;
    }
  }
  source.close(CloseMode::Abort);
}

TEST(BenchConsoleTest, RfbEchoAnswersEachRequestWithANumberedPixel) {
  Loop loop;
  BenchConsole echo(loop, BenchConsole::Kind::rfb_echo);
  Collector c;
  echo.set_sink(&c);
  echo.start();
  ByteChain hello(rfb_client_hello());
  echo.write(hello);
  const size_t handshake = kVersion + kTypes + kChallenge + kResult + kServerInit;
  ASSERT_TRUE(loop.run_until([&] { return c.data.size() >= handshake; }));
  const std::string request("\x03\x01\x00\x00\x00\x00\x04\x00\x03\x00", 10);
  ByteChain two(request + request);
  echo.write(two);
  ASSERT_TRUE(loop.run_until(
      [&] { return c.data.size() >= handshake + 2 * BenchConsole::kRfbEchoReplyBytes; }));
  const std::string header("\x00\x00\x00\x01\x00\x00\x00\x00\x00\x01\x00\x01\x00\x00\x00\x00", 16);
  EXPECT_EQ(c.data.substr(handshake), header + std::string("\x00\x00\x00\x00", 4) + header +
                                          std::string("\x01\x00\x00\x00", 4));
  echo.close(CloseMode::Abort);
}

TEST(BenchConsoleTest, RfbConsoleRefusesAMessageItDoesNotKnow) {
  Loop loop;
  BenchConsole echo(loop, BenchConsole::Kind::rfb_echo);
  Collector c;
  echo.set_sink(&c);
  echo.start();
  ByteChain hello(rfb_client_hello() + '\x01' + std::string("\xfe", 1));
  echo.write(hello);
  ASSERT_TRUE(loop.run_until([&] { return c.closed; }));
  EXPECT_EQ(c.error.code(), Errc::protocol);
}

}  // namespace pvb
