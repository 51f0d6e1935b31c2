#include "core/json_diff.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace changefeed::core {
namespace {

namespace json = boost::json;

std::string diff(std::string_view before, std::string_view after, const diff_options& o = {}) {
    return json::serialize(json_diff(json::parse(before), json::parse(after), o));
}

TEST(json_diff, equal_states_have_no_changes) {
    EXPECT_EQ(diff(R"({"a":1,"b":{"c":[1,2]}})", R"({"b":{"c":[1,2]},"a":1})"), "[]");
}

TEST(json_diff, leaves_are_named_by_json_pointer) {
    EXPECT_EQ(diff(R"({"status":"draft","billing_address":{"city":"Paris","zip":"75002"},"n":1})",
                   R"({"status":"finalized","billing_address":{"city":"Lyon","zip":"75002"},"n":1})"),
              R"([{"field":"/billing_address/city","old":"Paris","new":"Lyon"},)"
              R"({"field":"/status","old":"draft","new":"finalized"}])");
}

TEST(json_diff, an_absent_key_counts_as_null) {
    EXPECT_EQ(diff(R"({"a":1})", R"({"b":2})"),
              R"([{"field":"/a","old":1,"new":null},{"field":"/b","old":null,"new":2}])");
    EXPECT_EQ(diff(R"({"a":null})", R"({})"), "[]");
}

TEST(json_diff, an_object_that_appears_names_its_leaves) {
    EXPECT_EQ(diff(R"({"addr":null})", R"({"addr":{"city":"Lille"}})"),
              R"([{"field":"/addr/city","old":null,"new":"Lille"}])");
}

TEST(json_diff, types_change_too) {
    EXPECT_EQ(diff(R"({"amount":"10.00"})", R"({"amount":10})"),
              R"([{"field":"/amount","old":"10.00","new":10}])");
    EXPECT_EQ(diff(R"({"x":{"y":1}})", R"({"x":[1]})"), R"([{"field":"/x","old":{"y":1},"new":[1]}])");
}

TEST(json_diff, arrays_compare_whole_unless_keyed) {
    std::string before = R"({"lines":[{"id":1,"qty":2},{"id":2,"qty":5}]})";
    std::string after = R"({"lines":[{"id":2,"qty":6},{"id":1,"qty":2},{"id":3,"qty":1}]})";
    EXPECT_EQ(diff(before, after),
              R"([{"field":"/lines","old":[{"id":1,"qty":2},{"id":2,"qty":5}],)"
              R"("new":[{"id":2,"qty":6},{"id":1,"qty":2},{"id":3,"qty":1}]}])");
    diff_options o;
    o.array_keys["/lines"] = "id";
    EXPECT_EQ(diff(before, after, o),
              R"([{"field":"/lines/2/qty","old":5,"new":6},)"
              R"({"field":"/lines/3/id","old":null,"new":3},{"field":"/lines/3/qty","old":null,"new":1}])");
    // Elements without the key fall back to the whole-array comparison.
    EXPECT_EQ(diff(R"({"lines":[{"qty":1}]})", R"({"lines":[{"qty":2}]})", o),
              R"([{"field":"/lines","old":[{"qty":1}],"new":[{"qty":2}]}])");
}

TEST(json_diff, pointer_tokens_are_escaped) {
    EXPECT_EQ(diff(R"({"a/b":{"~c":1}})", R"({"a/b":{"~c":2}})"),
              R"([{"field":"/a~1b/~0c","old":1,"new":2}])");
}

TEST(json_diff, non_object_states_compare_at_the_root) {
    EXPECT_EQ(diff("1", "2"), R"([{"field":"","old":1,"new":2}])");  // "" is the whole document
}

TEST(json_diff, array_keys_come_from_pointer_equals_key_entries) {
    auto parsed = parse_array_keys({"/invoice_lines=id", "/billing/tags=code"});
    ASSERT_TRUE(std::holds_alternative<diff_options>(parsed));
    const auto& keys = std::get<diff_options>(parsed).array_keys;
    ASSERT_EQ(keys.size(), 2u);
    EXPECT_EQ(keys.at("/invoice_lines"), "id");
    EXPECT_EQ(keys.at("/billing/tags"), "code");
    for (const std::string bad : {"invoice_lines=id", "/invoice_lines", "/invoice_lines=", "=id"}) {
        auto refused = parse_array_keys({bad});
        ASSERT_TRUE(std::holds_alternative<std::string>(refused)) << bad;
        EXPECT_NE(std::get<std::string>(refused).find("'" + bad + "'"), std::string::npos);
    }
    EXPECT_TRUE(std::get<diff_options>(parse_array_keys({})).array_keys.empty());
}

}  // namespace
}  // namespace changefeed::core
