#include "engine/core/json_writer.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

TEST(JsonWriter, NestedContainers) {
  JsonWriter w;
  w.begin_object().key("event").value("listening").key("port").value(5901);
  w.key("guest").begin_object().key("vmid").value(100).key("name").null().end_object();
  w.key("list").begin_array().value(true).value(false).value(uint64_t{7}).end_array();
  w.end_object();
  EXPECT_EQ(w.str(), R"({"event":"listening","port":5901,"guest":{"vmid":100,"name":null},)"
                     R"("list":[true,false,7]})");
}

TEST(JsonWriter, EscapesControlAndQuotes) {
  JsonWriter w;
  w.value(std::string_view("a\"b\\c\n\x01", 7));
  EXPECT_EQ(w.str(), R"("a\"b\\c\n\u0001")");
}

TEST(JsonWriter, KeepsValidUtf8ReplacesInvalid) {
  JsonWriter w;
  w.begin_array()
      .value(
          "\xC3\xBC"
          "ber")
      .value(
          "\xFF"
          "x")
      .value("\xED\xA0\x80")
      .end_array();
  EXPECT_EQ(w.str(),
            "[\"\xC3\xBC"
            "ber\",\"\xEF\xBF\xBDx\",\"\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\"]");
}

}  // namespace
}  // namespace pvb
