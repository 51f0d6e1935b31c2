#include "core/change_event.hpp"
#include "core/secret.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace changefeed::core {
namespace {

TEST(event_id, is_a_deterministic_version5_uuid) {
    auto a = make_event_id({"pennylane", "customers", "4711", "update", "2026-11-20T09:15:02.123Z"});
    auto b = make_event_id({"pennylane", "customers", "4711", "update", "2026-11-20T09:15:02.123Z"});
    EXPECT_EQ(a, b);
    ASSERT_EQ(a.size(), 36u);
    EXPECT_EQ(a[14], '5');
    EXPECT_TRUE(a[19] == '8' || a[19] == '9' || a[19] == 'a' || a[19] == 'b');
}

// Stored ids dedupe redeliveries across upgrades: the value must never change (it is RFC 4122's
// version 5 of the joined parts, as Python's uuid.uuid5 computes it).
TEST(event_id, is_stable_across_releases) {
    EXPECT_EQ(make_event_id({"pennylane", "customers", "4711", "update", "2026-11-20T09:15:02.123Z"}),
              "ba4644b4-1c26-5fee-b8d4-a2746dd441f3");
}

TEST(event_id, parts_never_run_into_each_other) {
    EXPECT_NE(make_event_id({"ab", "c"}), make_event_id({"a", "bc"}));
    EXPECT_NE(make_event_id({"s", "r", "1"}), make_event_id({"s", "r", "2"}));
}

TEST(change_event, payload_round_trips_through_json) {
    change_event e;
    e.event_id = make_event_id({"x"});
    e.source = "retailcrm";
    e.source_kind = "retailcrm";
    e.resource = "orders";
    e.resource_id = "2031";
    e.operation = "update";
    e.occurred_at = "2026-11-20T09:15:02.123Z";
    e.changes = boost::json::parse(R"([{"field":"status","old":{"code":"new"},"new":null}])");
    e.actor = boost::json::parse(R"({"type":"user","id":"123"})");
    e.data = nullptr;
    e.upstream = boost::json::parse(R"({"id":7038,"field":"status"})");
    auto text = boost::json::serialize(to_payload(e, "2026-11-20T09:15:04.870Z"));
    auto back = boost::json::parse(text).as_object();
    EXPECT_EQ(back.at("event_id").as_string(), e.event_id);
    EXPECT_EQ(back.at("operation").as_string(), "update");
    EXPECT_EQ(back.at("recorded_at").as_string(), "2026-11-20T09:15:04.870Z");
    EXPECT_EQ(back.at("changes"), *e.changes);
    EXPECT_TRUE(back.at("data").is_null());
    EXPECT_EQ(back.at("upstream"), e.upstream);
    EXPECT_FALSE(back.contains("snapshot"));
}

TEST(change_event, absent_optionals_are_omitted) {
    change_event e;
    e.operation = "delete";
    auto o = to_payload(e, "t");
    EXPECT_FALSE(o.contains("changes"));
    EXPECT_FALSE(o.contains("actor"));
    EXPECT_FALSE(o.contains("data"));
}

TEST(secret, compares_contents) {
    EXPECT_TRUE(constant_time_equals("s3cret", "s3cret"));
    EXPECT_FALSE(constant_time_equals("s3cret", "s3creT"));
    EXPECT_FALSE(constant_time_equals("s3cret", "s3cret2"));
    EXPECT_FALSE(constant_time_equals("", "x"));
}

}  // namespace
}  // namespace changefeed::core
