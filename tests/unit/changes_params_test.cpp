#include "feed/changes_params.hpp"

#include <gtest/gtest.h>

namespace changefeed::feed {
namespace {

using query = std::vector<std::pair<std::string, std::string>>;

changes_params ok(const query& q) {
    auto r = parse_changes_params(q, 1000);
    EXPECT_TRUE(std::holds_alternative<changes_params>(r));
    return std::get<changes_params>(r);
}

std::string rejected(const query& q) {
    auto r = parse_changes_params(q, 1000);
    EXPECT_TRUE(std::holds_alternative<param_error>(r));
    return std::holds_alternative<param_error>(r) ? std::get<param_error>(r).parameter : "";
}

TEST(changes_params, defaults) {
    auto p = ok({});
    EXPECT_EQ(p.since, 0);
    EXPECT_EQ(p.limit, 100u);
    EXPECT_EQ(p.wait_seconds, 0u);
    EXPECT_TRUE(p.filter.sources.empty());
}

TEST(changes_params, reads_every_parameter) {
    auto p = ok({{"since", "42"}, {"limit", "1000"}, {"wait", "60"}, {"source", "a,b"},
                 {"resource", "orders"}, {"operation", "insert,delete"}});
    EXPECT_EQ(p.since, 42);
    EXPECT_EQ(p.limit, 1000u);
    EXPECT_EQ(p.wait_seconds, 60u);
    EXPECT_EQ(p.filter.sources, (std::vector<std::string>{"a", "b"}));
    EXPECT_EQ(p.filter.resources, (std::vector<std::string>{"orders"}));
    EXPECT_EQ(p.filter.operations, (std::vector<std::string>{"insert", "delete"}));
}

TEST(changes_params, since_now_starts_at_the_head) {
    auto p = ok({{"since", "now"}});
    EXPECT_TRUE(p.since_now);
    EXPECT_FALSE(p.since);
}

TEST(changes_params, malformed_values_name_their_parameter) {
    EXPECT_EQ(rejected({{"since", "-1"}}), "since");
    EXPECT_EQ(rejected({{"since", "1e3"}}), "since");
    EXPECT_EQ(rejected({{"since", ""}}), "since");
    EXPECT_EQ(rejected({{"since", "99999999999999999999"}}), "since");
    EXPECT_EQ(rejected({{"limit", "0"}}), "limit");
    EXPECT_EQ(rejected({{"limit", "1001"}}), "limit");
    EXPECT_EQ(rejected({{"limit", "ten"}}), "limit");
    EXPECT_EQ(rejected({{"wait", "61"}}), "wait");
    EXPECT_EQ(rejected({{"wait", "1.5"}}), "wait");
    EXPECT_EQ(rejected({{"operation", "upsert"}}), "operation");
    EXPECT_EQ(rejected({{"source", "a,,b"}}), "source");
    EXPECT_EQ(rejected({{"resource", "x;drop"}}), "resource");
}

TEST(changes_params, a_single_valued_parameter_given_twice_is_refused) {
    // Whichever value would be used, the other one was ignored silently.
    EXPECT_EQ(rejected({{"since", "5"}, {"since", "abc"}}), "since");
    EXPECT_EQ(rejected({{"limit", "5"}, {"limit", "5"}}), "limit");
    EXPECT_EQ(rejected({{"wait", "1"}, {"since", "3"}, {"wait", "2"}}), "wait");
    EXPECT_EQ(rejected({{"consumer", "a"}, {"consumer", "b"}}), "consumer");
    auto r = parse_changes_params({{"since", "1"}, {"since", "2"}}, 1000);
    ASSERT_TRUE(std::holds_alternative<param_error>(r));
    EXPECT_NE(std::get<param_error>(r).message.find("more than once"), std::string::npos);
}

TEST(changes_params, a_filter_given_twice_adds_up) {
    auto p = ok({{"source", "a"}, {"operation", "insert"}, {"source", "b,c"},
                 {"operation", "delete"}});
    EXPECT_EQ(p.filter.sources, (std::vector<std::string>{"a", "b", "c"}));
    EXPECT_EQ(p.filter.operations, (std::vector<std::string>{"insert", "delete"}));
    EXPECT_EQ(rejected({{"source", "a"}, {"source", "a,,b"}}), "source");
}

TEST(changes_params, leading_zeros_do_not_count_against_the_length) {
    EXPECT_EQ(ok({{"since", "000000000000000000000042"}}).since, 42);
    EXPECT_EQ(ok({{"since", "00"}}).since, 0);
    EXPECT_EQ(ok({{"limit", "0007"}}).limit, 7u);
    EXPECT_EQ(rejected({{"since", "0099999999999999999999"}}), "since");
    EXPECT_EQ(rejected({{"since", "+5"}}), "since");
    EXPECT_EQ(rejected({{"since", " 5"}}), "since");
}

TEST(changes_params, message_names_the_parameter) {
    auto r = parse_changes_params({{"limit", "0"}}, 500);
    ASSERT_TRUE(std::holds_alternative<param_error>(r));
    EXPECT_NE(std::get<param_error>(r).message.find("'limit'"), std::string::npos);
    EXPECT_NE(std::get<param_error>(r).message.find("500"), std::string::npos);
}

}  // namespace
}  // namespace changefeed::feed
