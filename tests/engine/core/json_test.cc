#include "engine/core/json.h"

#include <gtest/gtest.h>

namespace pvb {
namespace {

constexpr std::string_view kWhat = "vncproxy reply";

JsonElement data_of(const JsonDocument& doc) {
  auto d = json_field(doc.root(), "data", doc.what());
  EXPECT_TRUE(d.ok()) << d.error().message();
  return d.ok() ? *d : JsonElement();
}

TEST(Json, VncproxyReplyWithStringPort) {
  auto doc = JsonDocument::parse(
      R"({"data":{"port":"5900","ticket":"PVEVNC:6745ABCD::sig+/=","user":"root@pam",
          "upid":"UPID:pve1:0001:0002:6745ABCD:vncproxy:100:root@pam:","password":"abcdefgh"}})",
      kWhat);
  ASSERT_TRUE(doc.ok()) << doc.error().message();
  JsonElement data = data_of(*doc);
  EXPECT_EQ(json_int(data, "port", kWhat).value(), 5900);
  EXPECT_EQ(json_string(data, "ticket", kWhat).value(), "PVEVNC:6745ABCD::sig+/=");
  EXPECT_EQ(json_optional_string(data, "password", kWhat).value().value(), "abcdefgh");
  EXPECT_FALSE(json_optional_string(data, "cert", kWhat).value().has_value());
}

TEST(Json, LenientInts) {
  auto doc = JsonDocument::parse(
      R"({"a":5900,"b":"5900","c":"-1","d":5900.0,"e":"59x","f":"","g":59.5,"h":true,
          "i":null,"j":"+5","k":18446744073709551615,"l":[1]})",
      kWhat);
  ASSERT_TRUE(doc.ok());
  JsonElement r = doc->root();
  EXPECT_EQ(json_int(r, "a", kWhat).value(), 5900);
  EXPECT_EQ(json_int(r, "b", kWhat).value(), 5900);
  EXPECT_EQ(json_int(r, "c", kWhat).value(), -1);
  EXPECT_EQ(json_int(r, "d", kWhat).value(), 5900);
  for (const char* bad : {"e", "f", "g", "h", "j", "k", "l"}) {
    auto v = json_int(r, bad, kWhat);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.error().code(), Errc::protocol);
    EXPECT_EQ(v.error().detail(),
              std::string("vncproxy reply: field '") + bad + "' is not a number");
  }
  auto null = json_int(r, "i", kWhat);
  ASSERT_FALSE(null.ok());
  EXPECT_EQ(null.error().detail(), "vncproxy reply: field 'i' is null");
  auto missing = json_int(r, "port", kWhat);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code(), Errc::protocol);
  EXPECT_EQ(missing.error().detail(), "vncproxy reply: field 'port' is missing");
  EXPECT_FALSE(json_optional_int(r, "i", kWhat).value().has_value());
  EXPECT_FALSE(json_optional_int(r, "zz", kWhat).value().has_value());
  EXPECT_EQ(json_optional_int(r, "b", kWhat).value().value(), 5900);
  EXPECT_FALSE(json_optional_int(r, "e", kWhat).ok());  // present but wrong: still an error
}

TEST(Json, LenientBools) {
  auto doc = JsonDocument::parse(
      R"({"t":true,"f":false,"one":1,"zero":0,"s1":"1","s0":"0","two":2,"yes":"yes","n":null})",
      kWhat);
  ASSERT_TRUE(doc.ok());
  JsonElement r = doc->root();
  EXPECT_TRUE(json_bool(r, "t", kWhat).value());
  EXPECT_FALSE(json_bool(r, "f", kWhat).value());
  EXPECT_TRUE(json_bool(r, "one", kWhat).value());
  EXPECT_FALSE(json_bool(r, "zero", kWhat).value());
  EXPECT_TRUE(json_bool(r, "s1", kWhat).value());
  EXPECT_FALSE(json_bool(r, "s0", kWhat).value());
  for (const char* bad : {"two", "yes", "n", "missing"}) {
    auto v = json_bool(r, bad, kWhat);
    ASSERT_FALSE(v.ok()) << bad;
    EXPECT_EQ(v.error().code(), Errc::protocol);
  }
  EXPECT_EQ(json_bool(r, "two", kWhat).error().detail(),
            "vncproxy reply: field 'two' is not a boolean");
  EXPECT_FALSE(json_optional_bool(r, "template", kWhat).value().has_value());
  EXPECT_TRUE(json_optional_bool(r, "one", kWhat).value().value());
}

TEST(Json, StringsAndWrongTypes) {
  auto doc = JsonDocument::parse(R"({"name":"web","num":123,"obj":{},"arr":[],"b":false})", kWhat);
  ASSERT_TRUE(doc.ok());
  JsonElement r = doc->root();
  EXPECT_EQ(json_string(r, "name", kWhat).value(), "web");
  EXPECT_EQ(json_string(r, "num", kWhat).value(), "123");
  for (const char* bad : {"obj", "arr", "b"}) {
    auto v = json_string(r, bad, kWhat);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.error().detail(),
              std::string("vncproxy reply: field '") + bad + "' is not a string");
  }
  // A field of something that is not an object.
  auto arr = json_field(r, "arr", kWhat);
  ASSERT_TRUE(arr.ok());
  auto inner = json_int(*arr, "x", kWhat);
  ASSERT_FALSE(inner.ok());
  EXPECT_EQ(inner.error().code(), Errc::protocol);
}

TEST(Json, DataMayBeNullOrAString) {
  auto doc = JsonDocument::parse(R"({"data":null})", "start reply");
  ASSERT_TRUE(doc.ok());
  auto d = json_field(doc->root(), "data", doc->what());
  ASSERT_FALSE(d.ok());  // null data is an error to whoever wanted data
  EXPECT_EQ(d.error().detail(), "start reply: field 'data' is null");
  auto upid = JsonDocument::parse(R"({"data":"UPID:pve1:00001:0002:0003:qmstart:100:root@pam:"})",
                                  "start reply");
  ASSERT_TRUE(upid.ok());
  auto s = json_as_string(data_of(*upid), "data", "start reply");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(*s, "UPID:pve1:00001:0002:0003:qmstart:100:root@pam:");
  auto nodata = JsonDocument::parse(R"({"errors":{"vmid":"invalid"}})", "start reply");
  ASSERT_TRUE(nodata.ok());
  EXPECT_EQ(json_field(nodata->root(), "data", nodata->what()).error().detail(),
            "start reply: field 'data' is missing");
}

TEST(Json, InvalidJsonIsProtocolError) {
  for (const char* bad : {"", "{", "{\"data\":}", "nul", "{\"a\":1}x", "\xff"}) {
    auto doc = JsonDocument::parse(bad, kWhat);
    ASSERT_FALSE(doc.ok()) << bad;
    EXPECT_EQ(doc.error().code(), Errc::protocol);
    EXPECT_EQ(doc.error().detail().rfind("vncproxy reply: invalid JSON", 0), 0u);
  }
}

TEST(Json, DocumentOutlivesItsInputAndMoves) {
  std::string text = R"({"data":[{"vmid":100,"name":"a"},{"vmid":"101"}]})";
  auto doc = JsonDocument::parse(text, "resources");
  ASSERT_TRUE(doc.ok());
  text.assign(text.size(), 'x');  // the document keeps its own copy
  JsonDocument moved = std::move(*doc);
  auto data = json_field(moved.root(), "data", moved.what());
  ASSERT_TRUE(data.ok());
  simdjson::dom::array items;
  ASSERT_EQ(data->get(items), simdjson::SUCCESS);
  std::vector<int64_t> ids;
  for (JsonElement item : items) ids.push_back(json_int(item, "vmid", "resources").value());
  EXPECT_EQ(ids, (std::vector<int64_t>{100, 101}));
}

}  // namespace
}  // namespace pvb
