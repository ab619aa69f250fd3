// BenchConsole: the far end of the throughput benchmark (source, sink, echo).
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
}  // namespace pvb
