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

TEST(changes_params, message_names_the_parameter) {
    auto r = parse_changes_params({{"limit", "0"}}, 500);
    ASSERT_TRUE(std::holds_alternative<param_error>(r));
    EXPECT_NE(std::get<param_error>(r).message.find("'limit'"), std::string::npos);
    EXPECT_NE(std::get<param_error>(r).message.find("500"), std::string::npos);
}

}  // namespace
}  // namespace changefeed::feed
