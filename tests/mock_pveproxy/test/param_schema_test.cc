#include "tests/mock_pveproxy/param_schema.h"

#include <gtest/gtest.h>

namespace pvb::mock {
namespace {

TEST(ParamSchema, BooleansAsProxmoxSpellsThem) {
  for (const char* t : {"1", "on", "yes", "true", "TRUE", "Yes"})
    EXPECT_EQ(parse_pve_boolean(t), true) << t;
  for (const char* t : {"0", "off", "no", "false", "False"})
    EXPECT_EQ(parse_pve_boolean(t), false) << t;
  for (const char* t : {"", "2", "y", "truth"}) EXPECT_FALSE(parse_pve_boolean(t)) << t;
}

TEST(ParamSchema, IntegersAreDigitsOnly) {
  EXPECT_EQ(parse_pve_integer("5900"), 5900);
  EXPECT_EQ(parse_pve_integer("-3"), -3);
  EXPECT_EQ(parse_pve_integer("+7"), 7);
  EXPECT_FALSE(parse_pve_integer("59x"));
  EXPECT_FALSE(parse_pve_integer(""));
  EXPECT_FALSE(parse_pve_integer("-"));
  EXPECT_FALSE(parse_pve_integer("99999999999999999999"));
}

ParamSpec spec(std::string_view name, ParamType type, bool required = false) {
  ParamSpec s;
  s.name = name;
  s.type = type;
  s.required = required;
  return s;
}

TEST(ParamSchema, ReportsEachProblemWithProxmoxMessages) {
  ParamSpec port = spec("port", ParamType::integer, true);
  port.minimum = 5900;
  port.maximum = 5999;
  ParamSpec type = spec("type", ParamType::enumeration);
  type.values = "vm, storage, node, sdn";
  ParamSpec name = spec("name", ParamType::string);
  name.max_length = 3;
  const ParamSpec specs[] = {port, spec("websocket", ParamType::boolean),
                             spec("vncticket", ParamType::string, true), type, name};

  FormFields ok = {{"port", "5901"}, {"vncticket", "x"}, {"websocket", "1"}, {"type", "vm"}};
  EXPECT_TRUE(check_params(ok, specs).empty());

  FormFields bad = {{"port", "6000"},
                    {"websocket", "maybe"},
                    {"type", "disk"},
                    {"name", "long"},
                    {"generate-password", "1"}};
  ParamErrors errors = check_params(bad, specs);
  ParamErrors expected = {
      {"port", "value must have a maximum value of 5999"},
      {"websocket", "type check ('boolean') failed - got 'maybe'"},
      {"vncticket", "property is missing and it is not optional"},
      {"type", "value 'disk' does not have a value in the enumeration 'vm, storage, node, sdn'"},
      {"name", "value may only be 3 characters long"},
      {"generate-password",
       "property is not defined in schema and the schema does not allow additional properties"},
  };
  EXPECT_EQ(errors, expected);

  EXPECT_EQ(check_params({{"port", "abc"}, {"vncticket", "x"}}, specs),
            (ParamErrors{{"port", "type check ('integer') failed - got 'abc'"}}));
  EXPECT_EQ(check_params({{"port", "80"}, {"vncticket", "x"}}, specs),
            (ParamErrors{{"port", "value must have a minimum value of 5900"}}));
}

TEST(ParamSchema, LaterValuesOverrideEarlierOnes) {
  FormFields f = {{"websocket", "0"}, {"websocket", "1"}};
  EXPECT_TRUE(boolean_param(f, "websocket"));
  EXPECT_FALSE(boolean_param(f, "generate-password"));
  set_field(f, "websocket", "0");
  EXPECT_EQ(f.size(), 1u);
  EXPECT_FALSE(boolean_param(f, "websocket"));
}

}  // namespace
}  // namespace pvb::mock
